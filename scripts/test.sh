#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install dependencies, build smolder twice (plain, and with ASan+UBSan) and run every
# test through ctest on both builds. Integration tests load real BPF programs and
# need root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
jobs=$(nproc)

for variant in build build-asan; do
	flags=()
	[ "$variant" = build-asan ] && flags+=(-DSMOLDER_SANITIZE=ON)
	echo "=== $variant: configure and build" >&2
	cmake -S . -B "$variant" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" >/dev/null
	cmake --build "$variant" -j "$jobs"
done

status=0
for variant in build build-asan; do
	echo "=== $variant: ctest" >&2
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$variant" --output-on-failure || status=1
done
exit $status
