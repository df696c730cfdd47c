#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-record.sh - what a user pays for one flame graph of one process: smolder beside
# perf, in the same run, on this machine.
#
# What it measures. The profiler's own CPU time (user+sys, from exec to exit: start-up,
# sampling, symbolizing, writing the file), its max RSS and the output size, for
#   smolder record -p PID -F HZ -d D -o out.svg        (and again with -o out.folded)
#   perf record -e cpu-clock -F HZ -g -p PID -- sleep D; perf script; fold; render SVG
# against the same CPU-bound workload (scripts/bench/workload.c: about 15 frames deep,
# frame pointers on, no libc in the hot path). For smolder it also reads the in-kernel
# run time of its BPF program `sample` (kernel.bpf_stats_enabled=1, run_time_ns/run_cnt
# from the fdinfo of smolder's fd for that program, read while smolder runs; the sysctl
# is restored after).
#
# How. CPU and RSS come from wait4()'s rusage via scripts/bench/rusage.c (exact to the
# microsecond; /usr/bin/time rounds to 10 ms). perf's pipeline is measured stage by
# stage: perf record, perf script (to a file), folding, rendering. Debian packages
# neither FlameGraph (stackcollapse-perf.pl, flamegraph.pl) nor the d3 template that
# `perf script report flamegraph` needs (and that template loads d3 from the network),
# so unless flamegraph.pl and stackcollapse-perf.pl are on PATH (or in $FLAMEGRAPH_DIR)
# perf's output is folded by scripts/bench/fold-perf.awk and rendered by
# `smolder flamegraph`; the output says which. Before the rounds, both profilers record
# a process that never runs (a `sleep`) for 3 s: their fixed cost with no samples, and
# the cost of a BPF run that captures nothing, which is taken out of smolder's BPF time
# per captured sample. Samples are compared with HZ x D and with HZ x the CPU time the
# workload actually got (this machine is shared, so the workload may not get a whole CPU).
# The last section compares the two profiles: whole stacks, depth, top leaf functions.
#
# What it cannot see. Both profilers do their per-sample kernel work in the cpu-clock
# timer interrupt, which is charged to the interrupted task (the workload), not to the
# profiler. For smolder the BPF program's share is reported (bpf_stats); perf's in-kernel
# share (frame-pointer callchain walk, copy into its mmap ring buffer) has no such
# counter and is in none of perf's figures. The perf_event overflow path that both
# share is in neither. perf record's CPU includes its `sleep` child (about 1 ms) and the
# build-id collection it does before exiting.
#
# Usage: sudo scripts/bench-record.sh [-d SECONDS] [-F HZ] [-r RUNS] [-t THREADS] [-k DIR]
#   -d  seconds each profiler records (BENCH_SECONDS, default 10)
#   -F  sample rate in Hz (BENCH_HZ, default 99)
#   -r  rounds; each figure is printed per round and the table shows medians
#       (BENCH_RUNS, default 3)
#   -t  busy workload threads (BENCH_THREADS, default 1; as many as there are CPUs
#       makes the profilers compete with the workload)
#   -k  keep the outputs, logs and binaries in DIR (BENCH_KEEP; default: a temporary
#       directory, removed at exit)
# SMOLDER=/path/to/smolder picks the binary (default build/smolder, built if missing).
# A benchmark, not a test: scripts/test.sh does not run it.
set -euo pipefail

D=${BENCH_SECONDS:-10}
HZ=${BENCH_HZ:-99}
RUNS=${BENCH_RUNS:-3}
THREADS=${BENCH_THREADS:-1}
KEEP=${BENCH_KEEP:-}

usage() {
	sed -n '/^# Usage:/,/^# A benchmark/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
die() {
	echo "bench-record: $*" >&2
	exit 1
}

while getopts "d:F:r:t:k:h" opt; do
	case $opt in
	d) D=$OPTARG ;;
	F) HZ=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	k) KEEP=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || usage
for v in "D -d BENCH_SECONDS" "HZ -F BENCH_HZ" "RUNS -r BENCH_RUNS" "THREADS -t BENCH_THREADS"; do
	read -r var opt env <<<"$v"
	[[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$opt ($env) must be a positive integer, not '${!var}'"
done

[ "$(id -u)" -eq 0 ] ||
	die "must run as root (BPF, perf_event and kernel.bpf_stats_enabled need it): sudo $0"

repo=$(cd "$(dirname "$0")/.." && pwd)
bench=$repo/scripts/bench
SMOLDER=${SMOLDER:-$repo/build/smolder}

# ---- dependencies (idempotent: installs only what is missing) ----

export PATH=$PATH:/usr/sbin:/sbin
missing=()
command -v perf >/dev/null || missing+=(linux-perf)
command -v bpftool >/dev/null || missing+=(bpftool)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
if ((${#missing[@]})); then
	echo "bench-record: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

if [ ! -x "$SMOLDER" ]; then
	[ "$SMOLDER" = "$repo/build/smolder" ] || die "SMOLDER=$SMOLDER is not an executable"
	echo "bench-record: building smolder" >&2
	"$repo/scripts/deps.sh"
	cmake -S "$repo" -B "$repo/build" >/dev/null
	cmake --build "$repo/build" -j "$(nproc)" --target smolder
fi

# How perf's samples become an SVG: FlameGraph's scripts if present, else ours.
fg_dir=${FLAMEGRAPH_DIR:-}
if [ -z "$fg_dir" ] && command -v flamegraph.pl >/dev/null &&
	command -v stackcollapse-perf.pl >/dev/null; then
	fg_dir=$(dirname "$(command -v flamegraph.pl)")
fi
if [ -n "$fg_dir" ]; then
	if [ ! -x "$fg_dir/flamegraph.pl" ] || [ ! -x "$fg_dir/stackcollapse-perf.pl" ]; then
		die "FLAMEGRAPH_DIR=$fg_dir has no executable flamegraph.pl and stackcollapse-perf.pl"
	fi
	fold_name="stackcollapse-perf.pl"
	render_name="flamegraph.pl"
else
	fold_name="fold-perf.awk"
	render_name="smolder flamegraph"
fi

# ---- work directory, clean-up ----

running=""     # the measured command in flight (its rusage wrapper)
wl_pid=""      # the workload
idle_pid=""    # a process that never runs, for the fixed costs
old_bpf_stats=""
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	work=$(cd "$KEEP" && pwd)
else
	work=$(mktemp -d /tmp/smolder-bench.XXXXXX)
fi

cleanup() {
	local rc=$?
	if [ -n "$running" ]; then
		kill "$running" 2>/dev/null || true # the wrapper passes SIGTERM on
		wait "$running" 2>/dev/null || true
	fi
	for pid in $wl_pid $idle_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$old_bpf_stats" ]; then
		sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null || true
	fi
	if [ -z "$KEEP" ]; then
		rm -rf "$work"
	else
		echo "bench-record: outputs kept in $work" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers ----

# measure NAME CMD..: run CMD under the rusage wrapper (stdout to $work/NAME.out,
# stderr to $work/NAME.log) and leave "user_us sys_us maxrss_kib wall_us status" in
# $work/NAME.ru. Runs in the background so a poller can watch; see finish.
measure() {
	local name=$1
	shift
	printf '%q ' "$@" >"$work/$name.cmd"
	"$work/rusage" "$work/$name.ru" "$@" >"$work/$name.out" 2>"$work/$name.log" &
	running=$!
}

# finish NAME: wait for the measured command; on failure show it and its output, stop.
finish() {
	local name=$1
	if ! wait "$running"; then
		running=""
		echo "bench-record: this command failed:" >&2
		echo "  $(cat "$work/$name.cmd")" >&2
		sed 's/^/  | /' "$work/$name.log" >&2
		exit 1
	fi
	running=""
}

alive() { # PID: running and not yet a zombie (no fork: this is polled)
	local stat
	read -r -a stat 2>/dev/null <"/proc/$1/stat" && [ "${stat[2]}" != Z ]
}

# sample_prog_fdinfo PID: the /proc fdinfo of PID's fd for its BPF program `sample`
# (type perf_event). Its fdinfo carries run_time_ns and run_cnt while bpf_stats is on;
# reading it there, not in `bpftool prog show`, cannot pick up another smolder's program.
sample_prog_fdinfo() {
	local f id
	for f in "/proc/$1"/fdinfo/*; do
		grep -qx $'prog_type:\t7' "$f" 2>/dev/null || continue
		id=$(awk '$1 == "prog_id:" { print $2 }' "$f")
		if bpftool prog show id "$id" 2>/dev/null | grep -q ' name sample '; then
			echo "$f"
			return
		fi
	done
}

# poll_bpf WRAPPER_PID SECONDS: "run_time_ns run_cnt" of the BPF program `sample` of the
# smolder that the rusage wrapper runs, as last seen before it exits. Read over the last
# second of the SECONDS recorded only (every 0.1 s, so at most ~0.1 s of runs go unseen),
# to take no CPU from the workload before.
poll_bpf() {
	local wrapper=$1 until=$((SECONDS + $2 - 1)) last="" now fdinfo="" pid
	while alive "$wrapper"; do
		if ((SECONDS < until)); then
			sleep 0.5
			continue
		fi
		if [ -z "$fdinfo" ]; then
			pid=$(cat "/proc/$wrapper/task/$wrapper/children" 2>/dev/null || pgrep -P "$wrapper" || true)
			[ -z "$pid" ] || fdinfo=$(sample_prog_fdinfo "${pid%% *}")
		fi
		if [ -n "$fdinfo" ]; then
			now=$(awk '$1 == "run_time_ns:" { t = $2 } $1 == "run_cnt:" { c = $2 }
				END { if (c != "") print t, c }' "$fdinfo" 2>/dev/null) || true
			[ -z "$now" ] || last=$now
		fi
		sleep 0.1
	done
	echo "$last"
}

size_of() { stat -c %s "$1"; }

# Per-round figures: fig[ROW:METRIC] holds one value per round, space-separated.
declare -A fig seen
rows=()
add_fig() { # ROW METRIC VALUE
	[ -n "${seen[$1]:-}" ] || { seen[$1]=1; rows+=("$1"); }
	fig[$1:$2]+="$3 "
}
median() { # VALUES..: the median (mean of the middle two for an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { # ROW METRIC
	# shellcheck disable=SC2086
	median ${fig[$1:$2]:-}
}
medf() { # ROW METRIC PRINTF_FORMAT
	awk -v v="$(med "$1" "$2")" -v f="$3" 'BEGIN { if (v == "-") print v; else printf f, v }'
}

# workload_ticks: the CPU time the workload has used so far, in clock ticks.
workload_ticks() { awk '{ print $14 + $15 }' "/proc/$wl_pid/stat"; }

# by_cpu TICKS_BEFORE TICKS_AFTER: the samples to expect at HZ from the workload's CPU
# time in between (an upper bound: the window includes the profiler's start and end).
by_cpu() { awk -v a="$1" -v b="$2" -v t="$clk_tck" -v hz="$HZ" 'BEGIN { printf "%.0f", (b - a) / t * hz }'; }

# record_row ROW SAMPLES BY_CPU OUT_FILE RU_FILE..: sum CPU and wall, max RSS over the
# stages.
record_row() {
	local row=$1 samples=$2 exp_cpu=$3 out=$4
	shift 4
	local user sys rss wall
	read -r user sys rss wall < <(awk '{ u += $1; s += $2; w += $4; if ($3 > r) r = $3 }
		END { print u, s, r, w }' "$@")
	local cpu_ms
	cpu_ms=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", (u + s) / 1000 }')
	add_fig "$row" samples "$samples"
	add_fig "$row" exp_cpu "$exp_cpu"
	add_fig "$row" cpu_ms "$cpu_ms"
	add_fig "$row" sys_ms "$(awk -v s="$sys" 'BEGIN { printf "%.1f", s / 1000 }')"
	add_fig "$row" per1k "$(awk -v c="$cpu_ms" -v n="$samples" \
		'BEGIN { if (n > 0) printf "%.1f", c * 1000 / n; else print "nan" }')"
	add_fig "$row" rss_kib "$rss"
	add_fig "$row" out_bytes "$(size_of "$out")"
	add_fig "$row" wall_s "$(awk -v w="$wall" 'BEGIN { printf "%.2f", w / 1e6 }')"
	printf '  %-28s %6s samples (%6s by CPU)  CPU %8.1f ms (sys %7.1f)  max RSS %7.1f MiB  %9s B  wall %6.2f s\n' \
		"$row" "$samples" "$exp_cpu" "$cpu_ms" "$(awk -v s="$sys" 'BEGIN { print s / 1000 }')" \
		"$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$(size_of "$out")" \
		"$(awk -v w="$wall" 'BEGIN { print w / 1e6 }')"
}

# ---- one round of each profiler ----

run_smolder() { # ROUND FORMAT
	local n=smolder-$1-$2 bpf samples rt rc t0 t1 ns_run ns_upper ns_est
	t0=$(workload_ticks)
	measure "$n" "$SMOLDER" record -p "$wl_pid" -F "$HZ" -d "$D" -o "$work/$n.$2"
	bpf=$(poll_bpf "$running" "$D")
	finish "$n"
	t1=$(workload_ticks)
	samples=$(sed -n 's/^smolder: \([0-9]*\) samples.*/\1/p' "$work/$n.log")
	[ -n "$samples" ] || {
		echo "bench-record: no 'smolder: N samples' line from: $(cat "$work/$n.cmd")" >&2
		sed 's/^/  | /' "$work/$n.log" >&2
		exit 1
	}
	sed 's/^/  | /' "$work/$n.log"
	record_row "smolder -> $2" "$samples" "$(by_cpu "$t0" "$t1")" "$work/$n.$2" "$work/$n.ru"
	if [ -z "$bpf" ]; then
		echo "  smolder BPF ($2): no run_time_ns seen for smolder's BPF program 'sample'" >&2
		return
	fi
	# Per sample: all run time over captured samples is an upper bound (runs on other
	# CPUs, for other tasks and idle, return early but cost something); the estimate
	# takes those runs out at the filtered-run cost measured on an idle target.
	read -r rt rc <<<"$bpf"
	read -r ns_run ns_upper ns_est < <(awk -v t="$rt" -v c="$rc" -v n="$samples" \
		-v f="${filtered_ns:-}" 'BEGIN {
			printf "%.0f %.0f %s\n", c ? t / c : 0, n ? t / n : 0,
				(f == "" || !n) ? "-" : sprintf("%.0f", (t - (c - n) * f) / n) }')
	add_fig "smolder BPF ($2)" runs "$rc"
	add_fig "smolder BPF ($2)" ms "$(awk -v t="$rt" 'BEGIN { printf "%.2f", t / 1e6 }')"
	add_fig "smolder BPF ($2)" ns_run "$ns_run"
	add_fig "smolder BPF ($2)" ns_upper "$ns_upper"
	[ "$ns_est" = - ] || add_fig "smolder BPF ($2)" ns_est "$ns_est"
	printf '  %-28s %6s runs of BPF prog "sample", %.2f ms: %s ns/run; per captured sample %s ns (at most %s)\n' \
		"smolder BPF ($2)" "$rc" "$(awk -v t="$rt" 'BEGIN { print t / 1e6 }')" \
		"$ns_run" "$ns_est" "$ns_upper"
}

# run_idle: smolder and perf recording a process that never runs (sleep), IDLE_SECONDS
# each: their fixed cost (start-up, the idle loop, writing an empty profile) and, from
# bpf_stats, what a run of smolder's BPF program that captures nothing costs.
IDLE_SECONDS=3
run_idle() {
	local bpf rt rc
	measure idle-smolder "$SMOLDER" record -p "$idle_pid" -F "$HZ" -d "$IDLE_SECONDS" \
		-o "$work/idle-smolder.folded"
	bpf=$(poll_bpf "$running" "$IDLE_SECONDS")
	finish idle-smolder
	measure idle-perf perf record -e cpu-clock -F "$HZ" -g -p "$idle_pid" \
		-o "$work/idle-perf.data" -- sleep "$IDLE_SECONDS"
	finish idle-perf
	if [ -n "$bpf" ]; then
		read -r rt rc <<<"$bpf"
		((rc > 0)) && filtered_ns=$(awk -v t="$rt" -v c="$rc" 'BEGIN { printf "%.0f", t / c }')
	fi
	idle_report=$(awk -v s="$IDLE_SECONDS" '
		FNR == 1 { name = FILENAME; sub(/.*\//, "", name); sub(/\.ru$/, "", name)
			printf "  %-28s CPU %6.1f ms (sys %6.1f)  max RSS %6.1f MiB  wall %5.2f s\n",
				name " (" s " s)", ($1 + $2) / 1000, $2 / 1000, $3 / 1024, $4 / 1e6 }' \
		"$work/idle-smolder.ru" "$work/idle-perf.ru")
	echo "$idle_report"
	echo "  filtered-out BPF run: ${filtered_ns:-?} ns (${rc:-0} runs)"
}

run_perf() { # ROUND
	local n=perf-$1 samples folded_samples t0 t1 exp_cpu
	t0=$(workload_ticks)
	measure "$n-record" perf record -e cpu-clock -F "$HZ" -g -p "$wl_pid" \
		-o "$work/$n.data" -- sleep "$D"
	finish "$n-record"
	t1=$(workload_ticks)
	exp_cpu=$(by_cpu "$t0" "$t1")
	grep -v '^\[ perf record: Woken up' "$work/$n-record.log" | sed 's/^/  | /' || true
	samples=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$work/$n-record.log" | tail -1)
	[ -n "$samples" ] || samples=0

	measure "$n-script" perf script -i "$work/$n.data"
	finish "$n-script"

	if [ -n "$fg_dir" ]; then
		measure "$n-fold" "$fg_dir/stackcollapse-perf.pl" --kernel "$work/$n-script.out"
	else
		measure "$n-fold" awk -f "$bench/fold-perf.awk" "$work/$n-script.out"
	fi
	finish "$n-fold"
	cp "$work/$n-fold.out" "$work/$n.folded"
	folded_samples=$(awk '{ n += $NF } END { print n + 0 }' "$work/$n.folded")

	if [ -n "$fg_dir" ]; then
		measure "$n-render" "$fg_dir/flamegraph.pl" "$work/$n.folded"
		finish "$n-render"
		cp "$work/$n-render.out" "$work/$n.svg"
	else
		measure "$n-render" "$SMOLDER" flamegraph "$work/$n.folded" -o "$work/$n.svg"
		finish "$n-render"
	fi

	record_row "perf -> svg" "$samples" "$exp_cpu" "$work/$n.svg" \
		"$work/$n-record.ru" "$work/$n-script.ru" "$work/$n-fold.ru" "$work/$n-render.ru"
	record_row "perf -> folded" "$folded_samples" "$exp_cpu" "$work/$n.folded" \
		"$work/$n-record.ru" "$work/$n-script.ru" "$work/$n-fold.ru"
	record_row "  perf record" "$samples" "$exp_cpu" "$work/$n.data" "$work/$n-record.ru"
	record_row "  perf script" "$samples" "$exp_cpu" "$work/$n-script.out" "$work/$n-script.ru"
	record_row "  fold ($fold_name)" "$folded_samples" "$exp_cpu" "$work/$n.folded" "$work/$n-fold.ru"
	record_row "  render ($render_name)" "$folded_samples" "$exp_cpu" "$work/$n.svg" "$work/$n-render.ru"
}

# ---- the workload ----

cc -O2 -Wall -o "$work/rusage" "$bench/rusage.c"
cc -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls \
	-pthread -o "$work/workload" "$bench/workload.c"

# It outlives every round with room to spare, and is killed at exit anyway.
"$work/workload" "$THREADS" $((RUNS * 3 * (D + 60) + 60)) &
wl_pid=$!
sleep 0.5
alive "$wl_pid" || die "the workload exited at once"

sleep $((RUNS * 3 * (D + 60) + 60)) &
idle_pid=$!

old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null

expected=$((HZ * D * THREADS))
clk_tck=$(getconf CLK_TCK)
echo "bench-record: $THREADS-thread workload (pid $wl_pid), $D s at $HZ Hz, $RUNS round(s);" \
	"$(nproc) CPUs; kernel $(uname -r); $SMOLDER; $(perf version)"
echo "bench-record: perf's SVG path: perf script | $fold_name | $render_name"

echo "idle target (pid $idle_pid)"
filtered_ns=""
idle_report=""
run_idle
for ((r = 1; r <= RUNS; r++)); do
	echo "round $r/$RUNS"
	# Alternate who goes first, so drift in the machine's load does not favour one.
	if ((r % 2)); then
		run_smolder "$r" svg
		run_smolder "$r" folded
		run_perf "$r"
	else
		run_perf "$r"
		run_smolder "$r" svg
		run_smolder "$r" folded
	fi
done

# ---- the table ----

echo
printf 'Medians of %d round(s). Samples expected: "HZxD" = %d Hz x %d s x %d thread(s);\n' \
	"$RUNS" "$HZ" "$D" "$THREADS"
printf '"by CPU" = %d Hz x the CPU time the workload got while the profiler ran (the machine\n' "$HZ"
printf 'may be busy with other work; this counts the profiler'"'"'s start and end too, so it is high).\n'

line='%-30s %7s %6s %6s %8s %7s %9s %6s %7s %10s %6s\n'
# shellcheck disable=SC2059
printf "$line" tool samples HZxD "by CPU" "CPU ms" "sys ms" "ms/1k smp" "%core" "RSS MiB" output "wall s"
for row in "${rows[@]}"; do
	[[ $row == *BPF* ]] && continue
	# shellcheck disable=SC2059
	printf "$line" "$row" \
		"$(medf "$row" samples %.0f)" "$expected" "$(medf "$row" exp_cpu %.0f)" \
		"$(medf "$row" cpu_ms %.1f)" \
		"$(medf "$row" sys_ms %.1f)" "$(medf "$row" per1k %.1f)" \
		"$(awk -v c="$(med "$row" cpu_ms)" -v d="$D" 'BEGIN { printf "%.2f", c / (d * 10) }')" \
		"$(awk -v k="$(med "$row" rss_kib)" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"$(awk -v b="$(med "$row" out_bytes)" 'BEGIN {
			if (b >= 1048576) printf "%.1f MiB", b / 1048576; else printf "%.1f KiB", b / 1024 }')" \
		"$(medf "$row" wall_s %.2f)"
done
echo
for fmt in svg folded; do
	row="smolder BPF ($fmt)"
	[ -n "${fig[$row:ns_run]:-}" ] || continue
	printf '%-30s %s ns per captured sample (at most %s), %s ns/run over %s runs on all\n' \
		"$row" "$(medf "$row" ns_est %.0f)" "$(medf "$row" ns_upper %.0f)" \
		"$(medf "$row" ns_run %.0f)" "$(medf "$row" runs %.0f)"
	printf '%-30s CPUs, %s ms in all: charged to the interrupted tasks, not in CPU ms above.\n' \
		"" "$(medf "$row" ms %.2f)"
done
printf '%-30s %s ns per run that captures nothing (idle target), taken out of the\n' \
	"smolder BPF, filtered run" "${filtered_ns:-?}"
printf '%-30s per-sample figure; "at most" charges every run to the captured samples.\n' ""
echo
echo "Fixed cost: recording a process that never runs (no samples):"
echo "$idle_report"
echo
cat <<EOF
CPU ms = user+sys of the profiler's processes from exec to exit (rusage); %core = CPU ms
over the $D s recorded; perf rows sum the stages below them, RSS is the largest stage's.
perf's in-kernel sampling cost (callchain walk and ring-buffer copy in the timer
interrupt) is charged to the workload and is not in any perf figure; smolder's BPF line
is the counterpart for smolder. perf's folded/SVG rows use $fold_name and $render_name.
EOF

# ---- do the stacks agree? (last round's folded outputs) ----

echo
echo "Stacks (round $RUNS): share of samples that reach worker() (whole), mean depth, top leaves"
for tool in smolder perf; do
	f=$work/perf-$RUNS.folded
	[ "$tool" = perf ] || f=$work/smolder-$RUNS-folded.folded
	awk -v name="$tool" '
		{
			n = $NF; line = $0; sub(/ [0-9]+$/, "", line)
			k = split(line, fr, ";")
			total += n; depth += (k - 1) * n
			if (line ~ /;worker;/) whole += n
			self[fr[k]] += n
		}
		END {
			if (!total) { printf "  %-8s no samples\n", name; exit }
			printf "  %-8s %5.1f%% whole, depth %.1f, top:", name, 100 * whole / total, depth / total
			for (i = 0; i < 4; i++) {
				best = ""; bn = 0
				for (s in self) if (self[s] > bn) { bn = self[s]; best = s }
				if (best == "") break
				printf " %s %.0f%%", best, 100 * bn / total
				delete self[best]
			}
			printf "\n"
		}' "$f"
done
