#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages smolder needs to build, test and demo. Idempotent: only
# missing packages are installed, and apt-get update runs only when something is.
set -euo pipefail

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

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "deps: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
