#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-python.sh - what Python frames cost: smolder recording a CPU-bound Python program
# with Python frames and without them, beside austin (Debian's package, a Python-only
# sampler that reads the interpreter's memory from outside) sampling the same program at
# the same rate, all in one run on this machine.
#
# The program: tests/fixtures/python/shares.py (one thread, 60/30/10% of its CPU time in
# three functions, one of them in zlib), started once per interpreter and profiled by each
# profiler in turn for D seconds at HZ:
#   smolder record -p PID -F HZ -d D -o X.folded              (Python frames: the default)
#   smolder record -p PID -F HZ -d D --no-python -o X.folded  (native frames only)
#   austin -i 1e6/HZ us -p PID -o X.austin, stopped after D s with SIGINT
# For each: the profiler's CPU time (user+sys, from exec to exit, wait4's rusage through
# scripts/bench/rusage.c), per sample, and its max RSS; the samples it took beside HZ x
# the CPU time the program got meanwhile; for smolder, the share of samples with Python
# frames (_[p]) and the in-kernel run time of its BPF programs (kernel.bpf_stats_enabled=1
# for the run, restored at exit; run_time_ns and run_cnt of each perf_event program
# smolder holds - found by the prog_id in the fdinfo of its fds - from `bpftool prog show
# id N -j`, read while smolder runs): per run and per captured sample (an upper bound:
# runs for other tasks, filtered out, cost too).
# That run time is charged to the interrupted tasks, not to smolder. austin's reads of
# the target's memory (process_vm_readv) are in its own CPU time.
#
# Interpreters: PY (default Debian's /usr/bin/python3.11), and AUSTIN_PY (default the
# newest pyenv 3.10, if there is one; AUSTIN_PY= for none): austin 1.0.1 cannot read
# CPython 3.11+, so its figure comes from a Python it can read, with smolder beside it
# on the same interpreter. Where austin cannot read one, its line says so.
# Without --no-python in this smolder (before it lands) the "without" row says so, and
# SMOLDER_BASE=/path/to/another/smolder (e.g. a build of main before Python frames) adds
# that binary's row, recording the same program the same way.
#
# Usage: sudo [BENCH_SECONDS=20] [BENCH_HZ=99] [PY=..] [AUSTIN_PY=..] [SMOLDER=..]
#             [SMOLDER_BASE=..] [BENCH_KEEP=DIR] scripts/bench-python.sh
#   BENCH_KEEP  keep the outputs in DIR (default: a temporary directory, removed at exit)
# Installs austin (apt-get) and bpftool/gcc if missing. A benchmark, not a test:
# scripts/test.sh does not run it.
set -euo pipefail

D=${BENCH_SECONDS:-20}
HZ=${BENCH_HZ:-99}
KEEP=${BENCH_KEEP:-}
PY=${PY:-/usr/bin/python3.11}

die() {
	echo "bench-python: $*" >&2
	exit 1
}
note() { echo "bench-python: $*" >&2; }

(($# == 0)) || {
	sed -n '/^# Usage:/,/^# scripts\/test.sh/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
[[ $D =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer, not '$D'"
[[ $HZ =~ ^[1-9][0-9]*$ ]] || die "BENCH_HZ must be a positive integer, not '$HZ'"
[ "$(id -u)" -eq 0 ] ||
	die "must run as root (BPF, perf_event and kernel.bpf_stats_enabled need it): sudo $0"

repo=$(cd "$(dirname "$0")/.." && pwd)
shares=$repo/tests/fixtures/python/shares.py
SMOLDER=${SMOLDER:-$repo/build/smolder}
[ -x "$SMOLDER" ] || die "no $SMOLDER: build it first (cmake -B build && cmake --build build -j2) or set SMOLDER"
SMOLDER_BASE=${SMOLDER_BASE:-}
[ -z "$SMOLDER_BASE" ] || [ -x "$SMOLDER_BASE" ] || die "SMOLDER_BASE=$SMOLDER_BASE is not an executable"
[ -x "$PY" ] || die "PY=$PY is not an executable"
if [ -z "${AUSTIN_PY+set}" ]; then
	AUSTIN_PY=$(ls -d "${PYENV_ROOT:-/root/.pyenv}"/versions/3.10.*/bin/python3.10 2>/dev/null |
		sort -V | tail -n 1)
fi
[ -z "$AUSTIN_PY" ] || [ -x "$AUSTIN_PY" ] || die "AUSTIN_PY=$AUSTIN_PY is not an executable"

# ---- dependencies (idempotent: installs only what is missing) ----

export PATH=$PATH:/usr/sbin:/sbin
missing=()
command -v bpftool >/dev/null || missing+=(bpftool)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v austin >/dev/null || missing+=(austin)
if ((${#missing[@]})); then
	note "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null 2>&1 || {
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
	}
fi
command -v bpftool >/dev/null || die "bpftool not found (apt-get install bpftool)"
command -v cc >/dev/null || die "cc not found (apt-get install gcc libc6-dev)"
have_austin=1
command -v austin >/dev/null || { have_austin=0; note "austin could not be installed: its rows are left out"; }
[ -r /proc/sys/kernel/bpf_stats_enabled ] ||
	die "no /proc/sys/kernel/bpf_stats_enabled: this kernel cannot count BPF run time"

smolder_has() { # BINARY OPTION: does BINARY's record take OPTION?
	"$1" record --help 2>&1 | grep -q -- "$2"
}

# ---- work directory, clean-up ----

running="" # the measured command in flight (its rusage wrapper)
target=""  # the Python program being profiled
old_bpf_stats=""
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	work=$(cd "$KEEP" && pwd)
else
	work=$(mktemp -d /tmp/smolder-bench-python.XXXXXX)
fi

cleanup() {
	local rc=$?
	if [ -n "$running" ]; then
		kill "$running" 2>/dev/null || true # the wrapper passes SIGTERM on
		wait "$running" 2>/dev/null || true
	fi
	if [ -n "$target" ]; then
		kill "$target" 2>/dev/null || true
		wait "$target" 2>/dev/null || true
	fi
	if [ -n "$old_bpf_stats" ]; then
		sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null || true
	fi
	if [ -z "$KEEP" ]; then
		rm -rf "$work"
	else
		echo "bench-python: outputs kept in $work" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers ----

alive() { # PID: running and not yet a zombie
	local stat
	read -r -a stat 2>/dev/null <"/proc/$1/stat" && [ "${stat[2]}" != Z ]
}

# measure NAME CMD..: CMD in the background under the rusage wrapper (stdout to
# NAME.out, stderr to NAME.log, "user_us sys_us maxrss_kib wall_us status" to NAME.ru).
measure() {
	local name=$1
	shift
	printf '%q ' "$@" >"$work/$name.cmd"
	"$work/rusage" "$work/$name.ru" "$@" >"$work/$name.out" 2>"$work/$name.log" &
	running=$!
}

# finish NAME: waits for it; returns its exit status (0 when it succeeded).
finish() {
	local rc=0
	wait "$running" || rc=$?
	running=""
	return "$rc"
}

target_ticks() { awk '{ print $14 + $15 }' "/proc/$target/stat"; }

# bpf_poll WRAPPER_PID: while the command under WRAPPER_PID runs, the sums of
# run_time_ns and run_cnt over its perf_event BPF programs (bpftool prog show id N -j),
# as last seen (a program's counters go when smolder exits), as "time_ns runs NAMES".
# The programs are found by the prog_id in the fdinfo of smolder's program and link fds,
# remembered (smolder may close a program's fd once its link holds it).
bpf_poll() {
	local wrapper=$1 pid="" last="" f id json t c names type
	local -A ids=()
	while alive "$wrapper"; do
		[ -n "$pid" ] || pid=$(cat "/proc/$wrapper/task/$wrapper/children" 2>/dev/null | awk '{ print $1 }')
		if [ -n "$pid" ]; then
			for f in "/proc/$pid"/fdinfo/*; do
				id=$(awk '$1 == "prog_id:" { print $2 }' "$f" 2>/dev/null) || continue
				[ -z "$id" ] || ids[$id]=1
			done
			t=0 c=0 names=""
			for id in "${!ids[@]}"; do
				json=$(bpftool prog show id "$id" -j 2>/dev/null) || continue
				type=$(grep -o '"type":"[^"]*"' <<<"$json" | head -n 1 | cut -d'"' -f4)
				[ "$type" = perf_event ] || continue
				t=$((t + $(grep -o '"run_time_ns":[0-9]*' <<<"$json" | grep -o '[0-9]*$' || echo 0)))
				c=$((c + $(grep -o '"run_cnt":[0-9]*' <<<"$json" | grep -o '[0-9]*$' || echo 0)))
				names+="$(grep -o '"name":"[^"]*"' <<<"$json" | head -n 1 | cut -d'"' -f4),"
			done
			[ -z "$names" ] || last="$t $c ${names%,}"
		fi
		sleep 0.2
	done
	echo "$last"
}

# Rows of the table: "name|samples|by_cpu|cpu_ms|us_per_sample|rss_mib|py_pct|bpf_runs|ns_run|ns_sample"
rows=()
add_row() { rows+=("$(
	IFS='|'
	echo "$*"
)"); }

ru_cpu_ms() { awk '{ printf "%.1f", ($1 + $2) / 1000 }' "$1"; }
ru_rss_mib() { awk '{ printf "%.1f", $3 / 1024 }' "$1"; }

# run_smolder LABEL BINARY [OPTIONS..]: one smolder record of the target, one row.
run_smolder() {
	local label=$1 bin=$2 n t0 t1 bpf rt rc names samples cpu py
	shift 2
	n=$(echo "$label" | tr -c 'A-Za-z0-9.\n' '-')
	t0=$(target_ticks)
	measure "$n" "$bin" record -p "$target" -F "$HZ" -d "$D" "$@" -o "$work/$n.folded"
	bpf=$(bpf_poll "$running")
	if ! finish "$n"; then
		note "this command failed: $(cat "$work/$n.cmd")"
		sed 's/^/  | /' "$work/$n.log" >&2
		add_row "$label" failed - - - - - - - -
		return
	fi
	t1=$(target_ticks)
	sed 's/^/  | /' "$work/$n.log"
	samples=$(sed -n 's/^smolder: \([0-9]*\) samples.*/\1/p' "$work/$n.log" | tail -n 1)
	[ -n "$samples" ] || samples=0
	cpu=$(ru_cpu_ms "$work/$n.ru")
	py=$(awk '{ t += $NF } /_\[p\]/ { p += $NF } END { if (t) printf "%.1f", 100 * p / t; else print "-" }' \
		"$work/$n.folded")
	read -r rt rc names <<<"${bpf:-0 0 -}"
	add_row "$label" "$samples" "$(by_cpu "$t0" "$t1")" "$cpu" \
		"$(awk -v c="$cpu" -v n="$samples" 'BEGIN { if (n) printf "%.0f", c * 1000 / n; else print "-" }')" \
		"$(ru_rss_mib "$work/$n.ru")" "$py" "$rc" \
		"$(awk -v t="$rt" -v c="$rc" 'BEGIN { if (c) printf "%.0f", t / c; else print "-" }')" \
		"$(awk -v t="$rt" -v n="$samples" 'BEGIN { if (n && t) printf "%.0f", t / n; else print "-" }')"
	echo "  $label: $samples samples, CPU $cpu ms, BPF ${rt} ns over $rc runs of [$names]"
}

# run_austin LABEL: austin sampling the target every 1e6/HZ us for D s.
run_austin() {
	local label=$1 n t0 t1 samples cpu why
	n=$(echo "$label" | tr -c 'A-Za-z0-9.\n' '-')
	t0=$(target_ticks)
	measure "$n" timeout -s INT "$D" austin -i $((1000000 / HZ)) -p "$target" -o "$work/$n.austin"
	finish "$n" || true
	t1=$(target_ticks)
	samples=$( (grep -c ' [0-9]*$' "$work/$n.austin" 2>/dev/null || true) | head -n 1)
	if [ "${samples:-0}" -eq 0 ]; then
		why=$(grep -v '^$' "$work/$n.log" | head -n 1 || true)
		echo "  $label: austin $(austin --version 2>&1 | awk '{ print $2 }') cannot read" \
			"Python $pyver: ${why:-no samples} (exit $(awk '{ print $5 }' "$work/$n.ru"))"
		add_row "$label" "cannot read Python $pyver" - - - - - - - -
		return
	fi
	cpu=$(ru_cpu_ms "$work/$n.ru")
	add_row "$label" "$samples" "$(by_cpu "$t0" "$t1")" "$cpu" \
		"$(awk -v c="$cpu" -v n="$samples" 'BEGIN { printf "%.0f", c * 1000 / n }')" \
		"$(ru_rss_mib "$work/$n.ru")" - - - -
	echo "  $label: $samples samples, CPU $cpu ms"
	sed 's/^/  | /' "$work/$n.log" | grep -v '^  | $' | tail -n 3
}

clk_tck=$(getconf CLK_TCK)
by_cpu() { awk -v a="$1" -v b="$2" -v t="$clk_tck" -v hz="$HZ" 'BEGIN { printf "%.0f", (b - a) / t * hz }'; }

# bench_interpreter PYTHON: starts the program under PYTHON and runs every profiler on it.
bench_interpreter() {
	local python=$1 i
	pyver=$("$python" -c 'import platform; print(platform.python_version())')
	"$python" "$shares" >"$work/target-$pyver.out" 2>&1 &
	target=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "^shares: pid $target\$" "$work/target-$pyver.out" 2>/dev/null && break
		alive "$target" || die "$python $shares exited: $(cat "$work/target-$pyver.out")"
		sleep 0.1
	done
	echo "Python $pyver ($python, pid $target)"
	run_smolder "smolder, Python $pyver" "$SMOLDER"
	if [ "$no_python" = 1 ]; then
		run_smolder "smolder --no-python, Python $pyver" "$SMOLDER" --no-python
	else
		add_row "smolder --no-python, Python $pyver" "n/a: no --no-python in $SMOLDER" - - - - - - - -
	fi
	[ -z "$SMOLDER_BASE" ] || run_smolder "SMOLDER_BASE, Python $pyver" "$SMOLDER_BASE"
	if ((have_austin)); then
		run_austin "austin, Python $pyver"
	fi
	kill "$target" 2>/dev/null || true
	wait "$target" 2>/dev/null || true
	target=""
}

# ---- the run ----

cc -O2 -Wall -o "$work/rusage" "$repo/scripts/bench/rusage.c"
no_python=0
if smolder_has "$SMOLDER" --no-python; then
	no_python=1
else
	note "$SMOLDER has no --no-python yet: the 'without Python frames' rows cannot be measured" \
		"(set SMOLDER_BASE to a build without Python frames to compare with one)"
fi
old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null

echo "bench-python: $D s at $HZ Hz per profiler; $(nproc) CPUs; kernel $(uname -r); $SMOLDER;" \
	"$( ((have_austin)) && austin --version 2>&1 || echo 'no austin')"
bench_interpreter "$PY"
[ -z "$AUSTIN_PY" ] || bench_interpreter "$AUSTIN_PY"

sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null
old_bpf_stats=""

echo
echo "Each profiler recorded the same single-threaded Python program for $D s at $HZ Hz, one after"
echo "the other: smolder one sample per 1/$HZ s of the program's CPU time, austin one per 1/$HZ s of"
echo "wall time. \"by CPU\": $HZ Hz x the CPU time the program got from just before the profiler"
echo "started to just after it ended (an upper bound; the machine may be busy). CPU: the profiler's"
echo "own user+sys, start to exit (smolder's includes loading BPF: a fixed cost). BPF: smolder's"
echo "perf_event programs (charged to the interrupted tasks, not in smolder's CPU); per sample ="
echo "all their run time over the samples captured (an upper bound: runs for other tasks count)."
echo
line='| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n'
# shellcheck disable=SC2059
printf "$line" profiler samples "by CPU" "CPU ms" "CPU us/sample" "max RSS MiB" "% with Python frames" \
	"BPF runs" "BPF ns/run" "BPF ns/sample"
# shellcheck disable=SC2059
printf "$line" --- --- --- --- --- --- --- --- --- ---
for r in "${rows[@]}"; do
	IFS='|' read -r -a f <<<"$r"
	# shellcheck disable=SC2059
	printf "$line" "${f[@]}"
done
