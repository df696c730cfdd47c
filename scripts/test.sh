#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install dependencies, build smolder three times and test each build:
#   build        gcc, RelWithDebInfo            every test (ctest)
#   build-asan   gcc, RelWithDebInfo, ASan+UBSan every test but the pyenv Python variants
#   build-clang  clang, Release (-O3)           unit tests only
# All with -Werror. The clang -O3 build catches what the gcc builds do not warn about
# (and what only shows at -O3); its integration tests would repeat the gcc build's,
# which load real BPF programs and need root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh --tests
jobs=$(nproc)

variants=(build build-asan build-clang)
for variant in "${variants[@]}"; do
	flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	case $variant in
	build-asan) flags+=(-DSMOLDER_SANITIZE=ON) ;;
	build-clang) flags=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang) ;;
	esac
	echo "=== $variant: configure and build" >&2
	cmake -S . -B "$variant" "${flags[@]}" >/dev/null
	cmake --build "$variant" -j "$jobs"
done

status=0
for variant in "${variants[@]}"; do
	only=()
	[ "$variant" = build-clang ] && only=(-R '^unit/')
	# The sanitizer build runs the Python tests on Debian's python3.11 (and the fake
	# and unreadable cases); the pyenv versions go through the same code, with other
	# offsets, in the plain build.
	[ "$variant" = build-asan ] && only=(-E '^integration/test_python_pyenv')
	echo "=== $variant: ctest ${only[*]}" >&2
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$variant" --output-on-failure "${only[@]}" || status=1
done
exit $status
