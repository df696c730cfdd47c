#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench-render.sh - how fast `smolder flamegraph FILE.folded -o x.svg` renders folded
# text, beside FlameGraph's flamegraph.pl on the same files in the same run: wall and
# CPU time, the SVG's size and frame count, and the speedup, for 10k, 100k and 1M
# lines (the README's bench input: distinct lines of 15-25 frames, about 361 bytes a
# line).
#
#   scripts/bench-render.sh
#   SIZES="10000 100000 1000000"  line counts
#   ROUNDS=3                      smolder runs per size (the median is shown)
#   PEER_ROUNDS=1                 flamegraph.pl runs per size (minutes at 1M lines)
#   SKIP_PEER_ABOVE=N             run flamegraph.pl only on inputs of at most N lines
#   SMOLDER=path/to/smolder       default: build/smolder
#   FLAMEGRAPH_PL=path            default: ../shared/peers/FlameGraph/flamegraph.pl
#                                 beside the checkout (run where it lies, never copied)
#   BENCH_DIR=dir                 where the generated inputs are kept between runs
#                                 (default: $TMPDIR/smolder-bench-render)
#
# The inputs are generated here, deterministically (a MINSTD generator in awk, fixed
# seed): 4,000 function names built from a vocabulary (C, C++, Java, Python and
# kernel-style, 10% with "_[k]"), 8 processes, stacks of 15-25 frames where each
# frame calls one of 8 callees picked with Zipf weights (so stacks share prefixes as
# real ones do), counts Zipf-distributed in 1..1000, lines sorted bytewise as
# stackcollapse-*.pl writes them. CPU time is user + system from wait4() (exact to
# the microsecond, scripts/bench/rusage.c): less sensitive than wall time to other
# load on a shared machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"10000 100000 1000000"}
ROUNDS=${ROUNDS:-3}
PEER_ROUNDS=${PEER_ROUNDS:-1}
SKIP_PEER_ABOVE=${SKIP_PEER_ABOVE:-}
SMOLDER=${SMOLDER:-$root/build/smolder}
FLAMEGRAPH_PL=${FLAMEGRAPH_PL:-$root/../shared/peers/FlameGraph/flamegraph.pl}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/smolder-bench-render}
GEN_VERSION=1 # bump when the generator changes, so cached inputs are remade

[[ -x $SMOLDER ]] || { echo "bench-render: $SMOLDER not built (cmake --build build)" >&2; exit 1; }
peer=1
if [[ ! -r $FLAMEGRAPH_PL ]]; then
	echo "bench-render: no flamegraph.pl at $FLAMEGRAPH_PL (set FLAMEGRAPH_PL); smolder only" >&2
	peer=0
fi
command -v perl >/dev/null || peer=0

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-render.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$BENCH_DIR"
cc -O2 -Wall -o "$work/rusage" "$root/scripts/bench/rusage.c"

# gen N > FILE: N folded lines, the same for the same N everywhere.
gen() {
	awk -v N="$1" '
	function rnd() { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
	# rank in [0, n): P(k) ~ 1/(k+1), from a log-uniform draw
	function zipf(n,   r) { r = int(exp(rnd() * log(n + 1))) - 1; return r < n ? r : n - 1 }
	BEGIN {
		seed = 20261123; NAMES = 4000; KIDS = 8
		nw = split("ngx http process request read handler event epoll wait send recv " \
			"buffer alloc free copy parse json encode decode hash map insert lookup " \
			"table index query exec plan scan sort merge join commit flush write sync " \
			"lock unlock mutex cond signal thread pool task run loop poll timer tick " \
			"update render draw compose layout style string vector list tree node " \
			"visit walk match regex compile eval call invoke dispatch apply reduce " \
			"filter emit log format print", w, " ")
		np = split("std:: boost:: v8:: org/apache/ __ sys_ do_ java/ rb_ Py", pre, " ")
		for (f = 0; f < NAMES; f++) {
			name[f] = pre[1 + int(rnd() * np)] w[1 + int(rnd() * nw)] "_" w[1 + int(rnd() * nw)]
			if (rnd() < 0.12) name[f] = name[f] "_" w[1 + int(rnd() * nw)]
			if (rnd() < 0.1) name[f] = name[f] "_[k]"
		}
		split("nginx postgres java python3 node redis-server envoy mysqld", comm, " ")
		for (i = 0; i < N; i++) {
			f = zipf(50)
			line = comm[1 + zipf(8)] ";" name[f]
			d = 15 + int(rnd() * 11)
			for (k = 1; k < d; k++) {
				f = (f * 7919 + (1 + zipf(KIDS)) * 104729 + k * 31) % NAMES
				line = line ";" name[f]
			}
			print line, 1 + zipf(1000)
		}
	}' | LC_ALL=C sort -S 25%
}

# measure NAME CMD..: run CMD (stdout to $work/NAME.out) under the rusage wrapper;
# appends "wall_s cpu_s" to $work/NAME.times
measure() {
	local name=$1
	shift
	"$work/rusage" "$work/$name.ru" "$@" >"$work/$name.out"
	awk '{ printf "%.3f %.3f\n", $4 / 1e6, ($1 + $2) / 1e6 }' "$work/$name.ru" >>"$work/$name.times"
}
# median COLUMN FILE
median() { sort -n -k"$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
frames() { grep -o '</title>' "$1" | wc -l; }

echo "smolder: $SMOLDER (checkout: $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'))"
echo "peer:    $( ((peer)) && echo "$FLAMEGRAPH_PL (perl $(perl -e 'print $^V'))" || echo none)"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo
fmt="%-9s %-13s %9s %9s %11s %8s %9s\n"
printf "$fmt" lines tool "wall s" "CPU s" "SVG bytes" frames speedup
rows=()
for n in $SIZES; do
	in=$BENCH_DIR/render-v$GEN_VERSION-$n.folded
	if [[ ! -s $in ]]; then
		gen "$n" >"$in.tmp" && mv "$in.tmp" "$in"
	fi
	rm -f "$work"/*.times
	for ((r = 0; r < ROUNDS; r++)); do
		measure smolder "$SMOLDER" flamegraph "$in" -o "$work/smolder.svg"
	done
	sw=$(median 1 "$work/smolder.times")
	sc=$(median 2 "$work/smolder.times")
	printf "$fmt" "$n" "smolder" "$sw" "$sc" "$(wc -c <"$work/smolder.svg")" \
		"$(frames "$work/smolder.svg")" ""
	if ((peer)) && [[ -z $SKIP_PEER_ABOVE || $n -le $SKIP_PEER_ABOVE ]]; then
		for ((r = 0; r < PEER_ROUNDS; r++)); do
			# Run where it lies: it is there for comparisons, not part of smolder.
			(cd "$(dirname "$FLAMEGRAPH_PL")" &&
				measure peer perl "./$(basename "$FLAMEGRAPH_PL")" "$in")
		done
		pw=$(median 1 "$work/peer.times")
		pc=$(median 2 "$work/peer.times")
		speed=$(awk -v a="$pc" -v b="$sc" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }')
		printf "$fmt" "" "flamegraph.pl" "$pw" "$pc" "$(wc -c <"$work/peer.out")" \
			"$(frames "$work/peer.out")" "$speed"
	elif ((peer)); then
		printf "$fmt" "" "flamegraph.pl" "-" "-" "-" "-" "skipped"
	fi
done
echo
echo "wall and CPU: medians of $ROUNDS smolder run(s) and $PEER_ROUNDS flamegraph.pl run(s);"
echo "speedup: flamegraph.pl CPU / smolder CPU. Input: $BENCH_DIR (generator v$GEN_VERSION)."
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
