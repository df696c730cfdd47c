#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install dependencies, build smolder, profile the bundled demo workload for a few
# seconds and write demo.svg (a flame graph: open it in a browser).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target smolder

# Built as a service would be (-O2 -g, frame pointers); see the workload's header.
cc -O2 -g -fno-omit-frame-pointer -Wall -o build/demo-workload scripts/demo/workload.c

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "demo: profiling the demo workload for 5 s at 99 Hz" >&2
$sudo build/smolder record -F 99 -o demo.svg -- build/demo-workload 5
echo "demo: wrote $(pwd)/demo.svg - open it in a browser (click to zoom, Ctrl-F to search)" >&2
