#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-unwind.sh - what whole user stacks without frame pointers cost: smolder's DWARF
# unwinding beside `perf record --call-graph dwarf`, on the same workloads, in one run.
#
# Workloads (each started once, then recorded by every profiler in turn with -p PID):
#   nofp    tests/fixtures/unwind_fixture.c built -O2 -fomit-frame-pointer, run as
#           `unwind_nofp qsort` (main -> sort_a/sort_b -> qsort in libc -> compare ->
#           spin; neither the program nor libc has frame pointers). `direct` with -m.
#   python  Debian's /usr/bin/python3 (no frame pointers) running a recursive Python
#           function. CPython 3.11 does not recurse in C for Python-to-Python calls, so
#           each level goes through C builtins (sum(map(rec, ..))): the C stack grows by
#           5 frames and several hundred bytes per level (depth -p, default 14).
#
# What is measured, per workload:
#   BPF ns/smp   in-kernel run time of smolder's BPF program `sample`: the sysctl
#                kernel.bpf_stats_enabled is set to 1 for the run (and restored at exit),
#                and run_time_ns / run_cnt of the program (found with `bpftool -j prog
#                show` by name and by its owning smolder pid) is read over the last
#                second of each recording, while the program is still loaded.
#   user CPU     the profiler's own CPU time (user+sys from wait4()'s rusage, microsecond
#                resolution; the workload is attached with -p so it is not included),
#                from exec to exit: start-up, unwinding, symbolizing, writing the output.
#                us/smp divides it by the samples. smolder is run with --unwind auto
#                (DWARF over the stack snapshot) and with --unwind fp (no snapshot, no
#                DWARF): the difference per sample is the DWARF unwinding share. Both
#                also with --no-kernel: smolder reads /proc/kallsyms (~40 ms here) at
#                the first kernel frame, a fixed cost that the idle run (no samples)
#                does not pay and that swamps the per-sample figures; the DWARF share
#                is computed from the --no-kernel pair.
#                For perf: `perf record` (writes raw samples), then `perf report --stdio`
#                and `perf script` on the same perf.data, each timed on its own (the
#                DWARF unwinding is done by report/script, not by record).
#   sys/smp      smolder's system calls per sample (`perf stat -e raw_syscalls:sys_enter`
#                attached to it by pid as soon as it runs, until it exits: perf's own
#                start-up makes it miss most of smolder's), net of those of the same
#                command on the idle process (the 100 ms drain timer, writing the output).
#   B/smp        bytes per sample that cross from kernel to user. smolder: the mean
#                ring-buffer record it reports ("KiB per sample from the kernel": the
#                record has room for the stack up to its top, in steps of 1, 4, 8, 16,
#                32 KiB up to --stack-bytes) + the ring buffer's 8-byte header. perf:
#                perf.data size / samples (includes perf.data's headers, mmap and
#                build-id records: a slight overestimate).
#   whole%       share of samples whose user stack reaches `main` or `_start` (Debian's
#                python3 `main` tail-calls Py_BytesMain, so there only `_start` shows).
#                smolder: from its .folded output; perf: from `perf script`.
#   trunc%       share of smolder's samples whose stack ends in a `[truncated]` frame
#                (the "T truncated" of smolder's summary line), at --stack-bytes 8192,
#                16384 (the default) and 32768.
# perf runs with -e cpu-clock (no hardware PMU needed) at the same -F, and its default
# DWARF stack dump (8192 bytes) unless -P gives another size.
#
# What it cannot see: both profilers take their samples in the cpu-clock timer interrupt,
# charged to the workload; only smolder's BPF part has a counter (bpf_stats). perf's
# in-kernel cost (register and stack copy into its mmap ring) is in none of the figures.
# The machine is shared and noisy: expect +-30% run to run.
#
# Usage: sudo scripts/bench-unwind.sh [-d SECONDS] [-F HZ] [-w WORKLOADS] [-m MODE]
#                                      [-p DEPTH] [-P PERF_STACK] [-k DIR]
#   -d  seconds each profiler records (BENCH_SECONDS, default 10)
#   -F  sample rate in Hz (BENCH_HZ, default 99)
#   -w  workloads, comma-separated: nofp,python (BENCH_WORKLOADS, default both)
#   -m  unwind_fixture mode: qsort or direct (BENCH_FIXTURE_MODE, default qsort)
#   -p  Python recursion depth (BENCH_PY_DEPTH, default 14)
#   -P  perf's DWARF stack dump size in bytes (BENCH_PERF_STACK; default: perf's, 8192)
#   -k  keep outputs and logs in DIR (BENCH_KEEP; default: a temporary directory,
#       removed at exit)
# SMOLDER=/path/to/smolder picks the binary (default build/smolder in this repository).
# A benchmark, not a test: scripts/test.sh does not run it.
set -euo pipefail

D=${BENCH_SECONDS:-10}
HZ=${BENCH_HZ:-99}
WORKLOADS=${BENCH_WORKLOADS:-nofp,python}
FIXTURE_MODE=${BENCH_FIXTURE_MODE:-qsort}
PY_DEPTH=${BENCH_PY_DEPTH:-14}
PERF_STACK=${BENCH_PERF_STACK:-}
KEEP=${BENCH_KEEP:-}

usage() {
	sed -n '/^# Usage:/,/^# A benchmark/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
die() {
	echo "bench-unwind: $*" >&2
	exit 1
}

while getopts "d:F:w:m:p:P:k:h" opt; do
	case $opt in
	d) D=$OPTARG ;;
	F) HZ=$OPTARG ;;
	w) WORKLOADS=$OPTARG ;;
	m) FIXTURE_MODE=$OPTARG ;;
	p) PY_DEPTH=$OPTARG ;;
	P) PERF_STACK=$OPTARG ;;
	k) KEEP=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || usage
for v in D HZ PY_DEPTH; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
((D >= 2)) || die "-d must be at least 2 seconds"
[[ -z $PERF_STACK || $PERF_STACK =~ ^[1-9][0-9]*$ ]] ||
	die "-P must be a size in bytes, not '$PERF_STACK'"
[[ $FIXTURE_MODE == qsort || $FIXTURE_MODE == direct ]] ||
	die "-m takes qsort or direct, not '$FIXTURE_MODE'"
IFS=, read -r -a workloads <<<"$WORKLOADS"
((${#workloads[@]})) || die "-w names no workload"
for w in "${workloads[@]}"; do
	[[ $w == nofp || $w == python ]] || die "unknown workload '$w' (nofp, python)"
done

[ "$(id -u)" -eq 0 ] ||
	die "must run as root (BPF, perf_event and kernel.bpf_stats_enabled need it): sudo $0"

repo=$(cd "$(dirname "$0")/.." && pwd)
SMOLDER=${SMOLDER:-$repo/build/smolder}
[ -x "$SMOLDER" ] ||
	die "no smolder binary at $SMOLDER: build it (cmake -S . -B build && cmake --build build) or set SMOLDER=/path/to/smolder"

# ---- dependencies (idempotent: installs only what is missing) ----

export PATH=$PATH:/usr/sbin:/sbin
missing=()
command -v perf >/dev/null || missing+=(linux-perf)
command -v bpftool >/dev/null || missing+=(bpftool)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -e /usr/include/linux/types.h ] || missing+=(linux-libc-dev)
if ((${#missing[@]})); then
	echo "bench-unwind: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
PY=/usr/bin/python3

# ---- work directory, clean-up ----

running=""        # the measured command in flight (its rusage wrapper)
wl_pid=""         # the workload
old_bpf_stats=""  # kernel.bpf_stats_enabled before we set it
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	work=$(cd "$KEEP" && pwd)
else
	work=$(mktemp -d /tmp/smolder-bench-unwind.XXXXXX)
fi

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$running" ]; then
		kill "$running" 2>/dev/null || true # the wrapper passes SIGTERM on
		wait "$running" 2>/dev/null || true
	fi
	if [ -n "$wl_pid" ]; then
		kill "$wl_pid" 2>/dev/null || true
		wait "$wl_pid" 2>/dev/null || true
	fi
	if [ -n "$old_bpf_stats" ]; then
		sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null ||
			echo "bench-unwind: could not restore kernel.bpf_stats_enabled=$old_bpf_stats" >&2
	fi
	if [ -z "$KEEP" ]; then
		rm -rf "$work"
	else
		echo "bench-unwind: outputs kept in $work" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# rusage wrapper: run CMD, write "user_us sys_us maxrss_kib wall_us pid" (wait4's rusage
# of CMD and its descendants) to RU_FILE, and CMD's pid to RU_FILE.pid as soon as it runs.
cat >"$work/rusage.py" <<'EOF'
import os, signal, sys, time
ru_file, argv = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        print(f"rusage: {argv[0]}: {e.strerror}", file=sys.stderr)
        os._exit(127)
def fwd(sig, _):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
signal.signal(signal.SIGTERM, fwd)
signal.signal(signal.SIGINT, fwd)
with open(ru_file + ".pid", "w") as f:
    f.write(f"{pid}\n")
while True:
    try:
        _, status, ru = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
wall = time.monotonic() - t0
with open(ru_file, "w") as f:
    f.write("%d %d %d %d %d\n" % (ru.ru_utime * 1e6, ru.ru_stime * 1e6, ru.ru_maxrss,
                                  wall * 1e6, pid))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
EOF

# bpf_stats PID: "run_time_ns run_cnt" of the BPF program named `sample` that smolder
# process PID holds (its prog ids from /proc/PID/fdinfo: other smolders may be running).
cat >"$work/bpfstats.py" <<'EOF2'
import glob, json, subprocess, sys
ids = set()
for f in glob.glob(f"/proc/{sys.argv[1]}/fdinfo/*"):
    try:
        for line in open(f):
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    except OSError:
        pass
for i in sorted(ids):
    try:
        p = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(i)],
                                      capture_output=True, text=True).stdout)
    except ValueError:
        continue
    if p.get("name") == "sample" and "run_time_ns" in p:
        print(p["run_time_ns"], p["run_cnt"])
        break
EOF2

# The workloads.
cc -O2 -fomit-frame-pointer -o "$work/unwind_nofp" "$repo/tests/fixtures/unwind_fixture.c"
cat >"$work/recurse.py" <<'EOF'
import sys, time
def spin(n):
    a = 0
    for i in range(n):
        a = (a * 31 + i) & 0xffff
    return a
def rec(n):
    # Through C builtins (sum, map) so that the C stack grows with n.
    return sum(map(rec, [n - 1])) if n > 0 else spin(2000)
depth, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
print(f"recurse.py: pid {__import__('os').getpid()}", flush=True)
while time.monotonic() < end:
    rec(depth)
EOF

# sizeof(struct smolder_sample), from the header the BPF program and loader share.
cat >"$work/sizeof.c" <<'EOF'
#include <stdio.h>
#include <linux/types.h>
#include "sample_record.h"
int main(void) { printf("%zu\n", sizeof(struct smolder_sample)); return 0; }
EOF
cc -I"$repo/agent" -o "$work/sizeof" "$work/sizeof.c"
rec_size=$("$work/sizeof")
RB_HDR=8 # BPF_RINGBUF_HDR_SZ

# ---- helpers ----

# measure NAME CMD..: run CMD under the rusage wrapper in the background (stdout to
# $work/NAME.out, stderr to $work/NAME.log); finish NAME waits for it.
measure() {
	local name=$1
	shift
	printf '%q ' "$@" >"$work/$name.cmd"
	rm -f "$work/$name.ru" "$work/$name.ru.pid"
	"$PY" "$work/rusage.py" "$work/$name.ru" "$@" >"$work/$name.out" 2>"$work/$name.log" &
	running=$!
}
finish() {
	local name=$1
	if ! wait "$running"; then
		running=""
		echo "bench-unwind: this command failed:" >&2
		echo "  $(cat "$work/$name.cmd")" >&2
		sed 's/^/  | /' "$work/$name.log" >&2
		exit 1
	fi
	running=""
}
cpu_us() { awk '{ print $1 + $2 }' "$work/$1.ru"; }

alive() { # PID: running and not a zombie
	local stat
	read -r -a stat 2>/dev/null <"/proc/$1/stat" && [ "${stat[2]}" != Z ]
}

# poll_bpf NAME SECONDS: the last "run_time_ns run_cnt" of smolder's `sample` seen while
# the measured command runs; bpftool only runs over its last second (every 0.1 s), so
# as to take no CPU from the workload before.
poll_bpf() {
	local name=$1 until=$((SECONDS + $2 - 1)) last="" now pid=""
	while alive "$running"; do
		[ -n "$pid" ] || pid=$(cat "$work/$name.ru.pid" 2>/dev/null) || true
		if ((SECONDS >= until)) && [ -n "$pid" ]; then
			now=$("$PY" "$work/bpfstats.py" "$pid" 2>/dev/null) || true
			[ -z "$now" ] || last=$now
			sleep 0.1
		else
			sleep 0.25
		fi
	done
	echo "$last"
}

# whole_folded FILE: "samples whole truncated" of a folded file (frames root first).
whole_folded() {
	awk '{ n = $NF; total += n; s = $0; sub(/ [0-9]+$/, "", s)
		if (s ~ /(^|;)(main|_start)(;|$)/) whole += n
		if (s ~ /(^|;)\[truncated\](;|$)/) trunc += n }
		END { print total + 0, whole + 0, trunc + 0 }' "$1"
}

# whole_perf FILE: "samples whole" of `perf script` output (a header line per sample,
# then one frame a line "\tADDR SYM (DSO)", then a blank line).
whole_perf() {
	awk 'function done() { if (in_s) { total++; if (w) whole++ } in_s = 0; w = 0 }
		/^[ \t]*$/ { done(); next }
		/^[^ \t]/ { done(); in_s = 1; next }
		{ sym = $2; sub(/\+0x[0-9a-f]+$/, "", sym); if (sym == "main" || sym == "_start") w = 1 }
		END { done(); print total + 0, whole + 0 }' "$1"
}

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }
div() { # A B FORMAT
	awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (b > 0) printf f, a / b; else print "-" }'
}

# Fixed costs, from recording a process that never runs (a `sleep`) for the same
# duration: idle_cpu[KIND] (us) is taken out of the CPU of each real recording ("net"
# columns), and filtered_ns (a run of `sample` that captures nothing) out of its BPF time.
declare -A idle_cpu idle_sys
filtered_ns=""

# Table rows, printed at the end: one line per measurement.
table=()
fmt='%-7s %-32s %6s %6s %6s %6s %7s %7s %7s %7s %7s %7s\n'
row() { # WORKLOAD TOOL SAMPLES WHOLE% TRUNC% BPF_NS_RUN BPF_NS_SMP CPU_MS US_SMP NET_US_SMP SYS_SMP B_SMP
	# shellcheck disable=SC2059
	table+=("$(printf "$fmt" "$@")")
}

# record_bytes LOG MAX: bytes per sample smolder read from the kernel, from its summary
# line ("X KiB per sample from the kernel"), plus the ring buffer's record header; MAX
# (the largest record) when the summary does not say.
record_bytes() {
	local kib
	kib=$(grep -oE '[0-9.]+ KiB per sample from the kernel' "$1" | tail -n 1 | cut -d' ' -f1)
	if [ -n "$kib" ]; then
		awk -v k="$kib" -v h="$RB_HDR" 'BEGIN { printf "%.0f", k * 1024 + h }'
	else
		echo "$2"
	fi
}

# count_syscalls NAME: the system calls of the measured command NAME from when it runs
# to its exit, into $work/NAME.sys (perf stat attached by pid, so that perf's own CPU
# stays out of the command's rusage). Run in the background.
count_syscalls() {
	local name=$1 pid="" i
	for ((i = 0; i < 250; i++)); do
		pid=$(cat "$work/$name.ru.pid" 2>/dev/null) && [ -n "$pid" ] && break
		sleep 0.02
	done
	[ -n "$pid" ] || return 0
	exec perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$work/$name.sys" 2>/dev/null
}
syscalls_of() { # NAME: the count count_syscalls wrote, or nothing
	awk -F, '$3 == "raw_syscalls:sys_enter" && $1 ~ /^[0-9]+$/ { print $1 }' "$work/$1.sys" 2>/dev/null
}

# run_smolder WORKLOAD TAG IDLE_KIND ARGS..: smolder record -p on the workload, with ARGS.
run_smolder() {
	local wl=$1 tag=$2 kind=$3
	shift 3
	local n="$wl-smolder-$tag" bpf samples whole trunc rt rc ns_run="-" ns_smp="-" cpu
	local sys sys_pid sys_smp="-"
	local sb=16384 unwind=auto a prev=""
	for a in "$@"; do # the snapshot size, for bytes per sample
		[ "$prev" = --stack-bytes ] && sb=$a
		[ "$prev" = --unwind ] && unwind=$a
		prev=$a
	done
	[ "$unwind" = fp ] && sb=0
	measure "$n" "$SMOLDER" record -p "$wl_pid" -F "$HZ" -d "$D" "$@" -o "$work/$n.folded"
	count_syscalls "$n" &
	sys_pid=$!
	bpf=$(poll_bpf "$n" "$D")
	finish "$n"
	wait "$sys_pid" || true
	sys=$(syscalls_of "$n")
	[ -z "$sys" ] || echo "  | system calls: $sys"
	sed 's/^/  | /' "$work/$n.log"
	grep -q '^smolder: [0-9]* samples' "$work/$n.log" ||
		die "no 'smolder: N samples' line from: $(cat "$work/$n.cmd")"
	read -r samples whole trunc < <(whole_folded "$work/$n.folded")
	if [ -n "$bpf" ]; then
		read -r rt rc <<<"$bpf"
		ns_run=$(div "$rt" "$rc" "%.0f")
		# Per captured sample: take the runs that captured nothing (other tasks, idle)
		# out at the cost of a filtered-out run; without that figure, all over samples.
		ns_smp=$(awk -v t="$rt" -v c="$rc" -v n="$samples" -v f="$filtered_ns" 'BEGIN {
			if (n <= 0) { print "-"; exit }
			if (f != "" && c > n) t -= (c - n) * f
			printf "%.0f", t / n }')
		echo "  | BPF prog sample: run_time_ns $rt, run_cnt $rc"
	else
		echo "  | no BPF program 'sample' held by this smolder (did it fall back to perf?)"
	fi
	if [ -z "$kind" ]; then
		idle_cpu[$tag]=$(cpu_us "$n")
		idle_sys[$tag]=$sys
		[ -z "$bpf" ] || ((rc == 0)) || [ -n "$filtered_ns" ] || filtered_ns=$(div "$rt" "$rc" "%.0f")
	fi
	cpu=$(cpu_us "$n")
	if [ -n "$kind" ] && [ -n "$sys" ] && [ -n "${idle_sys[$kind]:-}" ]; then
		sys_smp=$(div "$((sys - ${idle_sys[$kind]}))" "$samples" "%.1f")
	fi
	row "$wl" "smolder ${*:-(auto, 16384)}" "$samples" "$(pct "$whole" "$samples")" \
		"$(pct "$trunc" "$samples")" "$ns_run" "$ns_smp" "$(div "$cpu" 1000 "%.1f")" \
		"$(div "$cpu" "$samples" "%.1f")" "$(net "$cpu" "$kind" "$samples")" "$sys_smp" \
		"$(record_bytes "$work/$n.log" "$((rec_size + sb + RB_HDR))")"
	eval "cpu_$tag=$cpu smp_$tag=$samples"
}

net() { # CPU_US IDLE_KIND SAMPLES: (CPU - idle CPU) / samples
	if [ -z "$2" ] || [ -z "${idle_cpu[$2]:-}" ]; then
		echo "-"
		return
	fi
	div "$(($1 - ${idle_cpu[$2]}))" "$3" "%.1f"
}

run_perf() { # WORKLOAD IDLE(empty for the baseline itself)
	local wl=$1 idle=$2 n="$1-perf" samples whole size cg=dwarf cpu k
	[ -z "$PERF_STACK" ] || cg="dwarf,$PERF_STACK"
	measure "$n-record" perf record -e cpu-clock -F "$HZ" --call-graph "$cg" -p "$wl_pid" \
		-o "$work/$n.data" -- sleep "$D"
	finish "$n-record"
	grep -v '^\[ perf record: Woken up' "$work/$n-record.log" | sed 's/^/  | /' || true
	samples=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$work/$n-record.log" | tail -1)
	[ -n "$samples" ] || samples=0
	size=$(stat -c %s "$work/$n.data")

	measure "$n-report" perf report -i "$work/$n.data" --stdio
	finish "$n-report"
	measure "$n-script" perf script -i "$work/$n.data" -F comm,pid,tid,time,event,ip,sym,dso
	finish "$n-script"
	read -r _ whole < <(whole_perf "$work/$n-script.out")
	local pfx=perf-
	if [ -z "$idle" ]; then
		for k in record report script; do idle_cpu[perf-$k]=$(cpu_us "$n-$k"); done
		pfx=none-
	fi

	cpu=$(cpu_us "$n-record")
	row "$wl" "perf record --call-graph $cg" "$samples" "-" "-" "-" "-" \
		"$(div "$cpu" 1000 "%.1f")" "$(div "$cpu" "$samples" "%.1f")" \
		"$(net "$cpu" "${pfx}record" "$samples")" "-" \
		"$(div "$size" "$samples" "%.0f")"
	cpu=$(cpu_us "$n-report")
	row "$wl" "  perf report --stdio" "$samples" "-" "-" "-" "-" \
		"$(div "$cpu" 1000 "%.1f")" "$(div "$cpu" "$samples" "%.1f")" \
		"$(net "$cpu" "${pfx}report" "$samples")" "-" "-"
	cpu=$(cpu_us "$n-script")
	row "$wl" "  perf script" "$samples" "$(pct "$whole" "$samples")" "-" "-" "-" \
		"$(div "$cpu" 1000 "%.1f")" "$(div "$cpu" "$samples" "%.1f")" \
		"$(net "$cpu" "${pfx}script" "$samples")" "-" "-"
}

start_workload() { # NAME CMD..
	local name=$1
	shift
	"$@" >"$work/$name-workload.out" 2>&1 &
	wl_pid=$!
	sleep 1
	alive "$wl_pid" || die "workload $name died: $(cat "$work/$name-workload.out")"
}
stop_workload() {
	kill "$wl_pid" 2>/dev/null || true
	wait "$wl_pid" 2>/dev/null || true
	wl_pid=""
}

# ---- run ----

old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null

echo "smolder: $SMOLDER"
echo "perf: $(perf version 2>/dev/null)"
echo "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), -F $HZ Hz, $D s per recording;" \
	"sizeof(struct smolder_sample) = $rec_size B"

# Workloads are stopped when their recordings are done; the deadline is only a bound
# for a bench that died. 7 recordings, each with start-up that a busy machine slows
# several times over (a deadline of 9 x D ran out there), + perf report/script.
per_wl_seconds=$((60 * D + 600))
echo
echo "== idle: a sleeping process (fixed costs: start-up, timers, empty output)"
start_workload idle sleep "$((30 * D + 300))"
run_smolder idle auto ""
run_smolder idle fp "" --unwind fp
run_perf idle ""
stop_workload
echo "  | filtered-out BPF run: ${filtered_ns:-?} ns"

for wl in "${workloads[@]}"; do
	case $wl in
	nofp)
		cmd=("$work/unwind_nofp" "$FIXTURE_MODE" "$per_wl_seconds")
		desc="unwind_fixture -O2 -fomit-frame-pointer, mode $FIXTURE_MODE"
		;;
	python)
		cmd=("$PY" "$work/recurse.py" "$PY_DEPTH" "$per_wl_seconds")
		desc="/usr/bin/python3 recursion depth $PY_DEPTH through sum(map(..))"
		;;
	esac
	echo
	echo "== $wl: $desc"
	start_workload "$wl" "${cmd[@]}"
	run_smolder "$wl" auto auto
	run_smolder "$wl" fp fp --unwind fp
	run_smolder "$wl" sb8k auto --stack-bytes 8192
	run_smolder "$wl" sb32k auto --stack-bytes 32768
	run_smolder "$wl" nk auto --no-kernel
	run_smolder "$wl" nkfp fp --no-kernel --unwind fp
	run_perf "$wl" yes
	# shellcheck disable=SC2154 # set by run_smolder's eval
	table+=("$(printf '%-7s %-32s %s' "$wl" "  DWARF share, --no-kernel" \
		"$(awk -v a="$cpu_nk" -v na="$smp_nk" -v f="$cpu_nkfp" -v nf="$smp_nkfp" \
			-v ia="${idle_cpu[auto]}" -v if_="${idle_cpu[fp]}" 'BEGIN {
			if (na > 0 && nf > 0) printf "net %.1f us/sample of user CPU (auto %.1f, fp %.1f, net of idle)", \
				(a - ia) / na - (f - if_) / nf, (a - ia) / na, (f - if_) / nf; else print "-" }')")")
	stop_workload
done

echo
echo "== summary: -F $HZ, $D s per recording; profiler CPU = user+sys of its own process"
# shellcheck disable=SC2059
printf "$fmt" workld "tool / options" smp "whole%" "trunc%" "BPFns" "BPFns" "CPU" "us/smp" "us/smp" "sys/smp" "B/smp"
# shellcheck disable=SC2059
printf "$fmt" "" "" "" "" "" "/run" "/smp" "ms" "gross" "net" "net" ""
printf '%s\n' "${table[@]}"
cat <<EOF2
whole%: samples whose stack reaches main or _start; trunc%: ending in [truncated].
BPFns/run: run_time_ns/run_cnt of prog 'sample' (all runs: CPU timers fire for every
  task, most runs only filter); BPFns/smp: per captured sample, filtered-out runs taken
  out at the idle row's cost.
us/smp net: (CPU - CPU of the same command on the idle process) / samples.
sys/smp net: smolder's system calls, less those on the idle process, / samples.
B/smp: smolder = mean ring-buffer record as smolder reports it (at most $rec_size + --stack-bytes) + $RB_HDR header;
  perf = perf.data size / samples.
EOF2
