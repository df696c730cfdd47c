#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages smolder needs to build, test and demo. Idempotent: only
# missing packages are installed, and apt-get update runs only when something is.
# With --tests, also what only the tests need: Chromium and the browser tests' npm
# packages (those only when their lock file changed). Usage: deps.sh [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	build-essential cmake pkg-config clang llvm
	libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libzstd-dev libunwind-dev
	liblzma-dev libdebuginfod-dev libiberty-dev           # symbolizer
	libprotobuf-c-dev protobuf-c-compiler libjansson-dev  # profile formats, deploy log
	libmicrohttpd-dev libcurl4-openssl-dev libcap-dev   # the node agent
	systemd      # tests check the agent's unit with 'systemd-analyze verify'
	libcmocka-dev
	linux-perf   # the peer that tests and benchmarks compare with
	golang-go    # tests read smolder's pprof output with 'go tool pprof'
)
if [[ ${1:-} == --tests ]]; then
	packages+=(chromium nodejs)  # tests/browser: the SVGs' scripts in headless Chromium
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
apt_install() {
	echo "deps: installing $*" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"$@" >/dev/null
}

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	apt_install "${missing[@]}"
fi

# playwright-core drives the browser tests, at the version tests/browser/package-lock.json
# pins, into tests/browser/node_modules (not committed). Debian's nodejs leaves npm to a
# package of its own; other builds of nodejs carry it.
browser=tests/browser
if [[ ${1:-} == --tests ]] && ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.smolder-lock"; then
	command -v npm >/dev/null || apt_install npm
	echo "deps: npm ci in $browser" >&2
	(cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	cp "$browser/package-lock.json" "$browser/node_modules/.smolder-lock"
fi
