#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-engine-ab.sh - two smolder binaries side by side on the churn of
# bench-engine.sh: both run `record -a -F HZ -d SECONDS -v` at the same time over the
# same workload (two CPU burners, churn.sh spawn and churn.sh workers), so that a
# change is measured against the binary before it on the same machine load, which
# two runs of bench-engine.sh, minutes apart on a shared machine, cannot do.
#
#   scripts/bench-engine-ab.sh HZ SECONDS BINARY_A BINARY_B
#
# Prints, per binary: its closing line and us_per_sample (CPU from first sample to
# written file, per sample), the registry's counters, and between 10 s and SECONDS-10 s
# (the steady state, without start-up and the final write): the samples, the CPU (its
# threads' schedstat), system calls (perf stat of raw_syscalls), minor page faults
# (/proc/PID/stat), the median of its 10 s windows' CPU per sample (the form of
# bench-engine.sh's goal), the run time of each of its BPF programs, and its RSS then.
# Outputs stay in OUTDIR (default: a new directory under /tmp). Needs root, perf,
# bpftool and a C compiler.
set -euo pipefail

(($# == 4)) || { sed -n '/^#   scripts/p' "$0" >&2; exit 2; }
HZ=$1 DUR=$2 A=$3 B=$4
if ! [[ $HZ =~ ^[1-9][0-9]*$ && $DUR =~ ^[1-9][0-9]*$ ]] || ((DUR < 30)); then
	echo "bench-engine-ab: HZ and SECONDS are whole numbers, SECONDS at least 30" >&2
	exit 2
fi
for bin in "$A" "$B"; do
	[[ -x $bin ]] || { echo "bench-engine-ab: $bin is not an executable" >&2; exit 2; }
done
for tool in perf bpftool cc; do
	command -v "$tool" >/dev/null || { echo "bench-engine-ab: needs $tool" >&2; exit 2; }
done
BENCH=$(cd "$(dirname "$0")/bench" && pwd)
W=${OUTDIR:-$(mktemp -d /tmp/smolder-ab.XXXXXX)}
mkdir -p "$W"
cc -O2 -o "$W/spin" "$BENCH/spin.c"

old_stats=$(sysctl -n kernel.bpf_stats_enabled)
pids=() groups=()
cleanup() {
	kill -TERM -- "${groups[@]/#/-}" 2>/dev/null || true
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
}
trap cleanup EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

"$W/spin" $((DUR + 30)) & pids+=($!)
"$W/spin" $((DUR + 30)) & pids+=($!)
setsid "$BENCH/churn.sh" spawn "$W/spawn.count" 0.1 $((DUR + 30)) 2>/dev/null & groups+=($!)
setsid "$BENCH/churn.sh" workers "$W/workers.count" 0.05 $((DUR + 30)) 7000 2>/dev/null &
groups+=($!)
sleep 1
"$A" record -a -F "$HZ" -d "$DUR" -v -o "$W/a.smolder" 2>"$W/a.log" & pa=$!
"$B" record -a -F "$HZ" -d "$DUR" -v -o "$W/b.smolder" 2>"$W/b.log" & pb=$!

# prog_stats PID: "id run_time_ns run_cnt" of each BPF program PID holds open.
prog_stats() {
	local fd
	find "/proc/$1/fd" -lname 'anon_inode:bpf-prog' -printf '%f\n' 2>/dev/null |
		while read -r fd; do
			awk '/prog_id|run_time_ns|run_cnt/ { printf "%s ", $2 } END { print "" }' \
				"/proc/$1/fdinfo/$fd"
		done | sort -n
}
# cpu_ns PID: the CPU time of all of PID's threads, in ns (%.0f: mawk's %d stops at
# 2^31-1, 2.1 s).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f", n }'
}
# faults PID: the minor page faults of all of PID's threads (/proc/PID/stat, field 10).
faults() {
	sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | awk '{ n = $8 } END { printf "%.0f", n }'
}
sleep 10
sa0=$(prog_stats $pa) sb0=$(prog_stats $pb)
ca0=$(cpu_ns $pa) cb0=$(cpu_ns $pb)
fa0=$(faults $pa) fb0=$(faults $pb)
perf stat -e raw_syscalls:sys_enter -x, -o "$W/a.sys" -p $pa -- sleep $((DUR - 20)) 2>/dev/null &
perf stat -e raw_syscalls:sys_enter -x, -o "$W/b.sys" -p $pb -- sleep $((DUR - 20)) 2>/dev/null &
t0=$(date +%s.%N)
# 10 s windows: "wall-clock cpu_a cpu_b" at each boundary (the goal is a median of
# them); a last stretch shorter than 10 s is no window.
echo "$t0 $ca0 $cb0" >"$W/windows"
for ((left = DUR - 20; left > 0; left -= 10)); do
	sleep $((left < 10 ? left : 10))
	((left < 10)) || echo "$(date +%s.%N) $(cpu_ns $pa) $(cpu_ns $pb)" >>"$W/windows"
done
t1=$(date +%s.%N)
sa1=$(prog_stats $pa) sb1=$(prog_stats $pb)
ca1=$(cpu_ns $pa) cb1=$(cpu_ns $pb)
fa1=$(faults $pa) fb1=$(faults $pb)
for id in $(echo "$sa1"$'\n'"$sb1" | awk '{ print $1 }'); do
	echo "$id $(bpftool prog show id "$id" | head -1 | awk '{ for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }')"
done >"$W/names"
ra=$(awk '/VmRSS/ { print $2 }' /proc/$pa/status) rb=$(awk '/VmRSS/ { print $2 }' /proc/$pb/status)
wait $pa $pb

for x in a b; do
	if [[ $x == a ]]; then
		bin=$A s0=$sa0 s1=$sa1 rss=$ra cpu=$((ca1 - ca0)) flt=$((fa1 - fa0))
	else
		bin=$B s0=$sb0 s1=$sb1 rss=$rb cpu=$((cb1 - cb0)) flt=$((fb1 - fb0))
	fi
	n=$("$bin" export "$W/$x.smolder" --from "$t0" --to "$t1" --format folded -o - 2>/dev/null |
		awk '{ n += $NF } END { print n + 0 }')
	sys=$(awk -F, '/sys_enter/ { print $1 }' "$W/$x.sys")
	echo "== $x: $bin"
	grep -oE "us_per_sample=[0-9.]+|^smolder: [0-9]+ samples.*" "$W/$x.log" | head -2
	grep 'stats processes_live' "$W/$x.log" | sed 's/smolder: stats //'
	echo "samples $t0..$t1: $n; CPU $((cpu / 1000000)) ms = $(awk -v a="$cpu" -v b="$n" \
		'BEGIN { printf "%.2f", b ? a / b / 1000 : 0 }') us per sample; system calls $sys =" \
		"$(awk -v a="$sys" -v b="$n" 'BEGIN { printf "%.2f", b ? a / b : 0 }') per sample;" \
		"page faults $flt = $(awk -v a="$flt" -v b="$n" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
		"per sample; RSS then ${rss} KiB"
	col=$([[ $x == a ]] && echo 2 || echo 3)
	awk -v c="$col" 'NR > 1 { printf "%s %s %.0f\n", from, $1, $c - cpu } { from = $1; cpu = $c }' \
		"$W/windows" |
		while read -r from to wcpu; do
			"$bin" export "$W/$x.smolder" --from "$from" --to "$to" --format folded -o - \
				2>/dev/null | awk -v c="$wcpu" '{ n += $NF } END { if (n) printf "%.2f\n", c / n / 1000 }'
		done | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "median of %d 10 s windows: %.2f us per sample (%.2f..%.2f)\n", NR, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
	join <(echo "$s0") <(echo "$s1") | while read -r id rt0 c0 rt1 c1; do
		nm=$(awk -v i="$id" '$1 == i { print $2 }' "$W/names")
		echo "  BPF ${nm:-$id}: runs=$((c1 - c0)) ns/run=$(((c1 - c0) ? (rt1 - rt0) / (c1 - c0) : 0))" \
			"us/sample=$(awk -v a=$((rt1 - rt0)) -v b="$n" 'BEGIN { printf "%.1f", b ? a / b / 1000 : 0 }')"
	done
done
echo "bench-engine-ab: outputs kept in $W"
