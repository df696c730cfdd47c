#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-agent.sh - what `smolder agent` costs on a busy machine: its CPU and BPF run
# time at 19 Hz and at 99 Hz beside `perf record -a -g` at the same rates, its memory
# after a long run with a few hundred processes and churn, and its store's bytes per
# sample beside a gzip pprof per flush interval (what the agent's peers send).
#
# The workload, for the whole run (all of it started here, all of it ended at exit):
#   - two CPU burners, scripts/bench/spin.c copied to agent-spin-1 and agent-spin-2;
#   - scripts/bench/churn.sh spawn (/bin/true, sh -c 'echo x | wc -c', sleep 0.1 in a
#     loop) and churn.sh workers (every 0.05 s a shell that counts for ~10 ms of CPU and
#     exits; the count is calibrated here first, under scripts/bench/rusage.c).
# On 2 CPUs that is more work than CPUs: both CPUs are busy throughout.
#
# Phase A, rates: for HZ in 19 and 99, started together on the same workload:
#   smolder agent -F HZ --flush 10 --store A-HZ/store --listen 127.0.0.1:0
#   perf record -a -g -F HZ -k CLOCK_REALTIME -N -o A-HZ/perf.data -- sleep ...
# each under scripts/bench/rusage.c. After SETTLE s (start-up: BPF load, the first /proc
# scan), over RATE_DURATION s:
#   - CPU as % of one core: the sum over the process's threads of
#     /proc/PID/task/TID/schedstat's first field (ns), its change over the span divided
#     by the span; also per sample, and as the range of the 10 s windows;
#   - samples/s: samples taken in the span, by their timestamps (the agent's store read
#     with `smolder export --from --to`; perf's by `perf script -F time`, CLOCK_REALTIME);
#   - BPF run time per sample: kernel.bpf_stats_enabled=1 for the run (restored at exit),
#     run_time_ns of every BPF program the agent holds (fdinfo of its prog fds: the
#     sampler and the process-event programs), over the span, per sample. This time is
#     charged to the tasks the programs interrupt, not to the agent. perf has no such
#     counter: its in-interrupt work (as the agent's perf_event path) is in no figure;
#   - syscalls per sample: perf stat -e raw_syscalls:sys_enter -p PID over the span (an
#     in-kernel count: no record per syscall is copied out, so it costs the counted
#     process little), divided by its samples in the span;
#   - the agent's own /metrics (smolder_cpu_seconds_per_sample,
#     smolder_bpf_run_seconds_per_sample: since its start) as a cross-check.
# Then SIGTERM to both (perf's sleep ends by itself); how long the agent took to exit.
#
# Phase B, long run: the agent alone at 19 Hz, --flush 10, for DURATION s, with the
# workload above plus PROCS live processes (sleep, in a process group of their own) and
# 8 shell loops that wake every second and count for ~5 ms, so they are sampled now and
# then. Reported:
#   - VmRSS at DURATION/10, DURATION/2 and DURATION-3 s (60, 300, 597 s of 600), VmHWM,
#     and /metrics' smolder_resident_memory_bytes (and _peak_) at the end;
#   - CPU % of one core and BPF run time per sample over SETTLE..DURATION-3 s;
#   - store bytes per sample: the size of every file in the store after the agent has
#     stopped, over the samples it holds (`smolder info`);
#   - beside it, a gzip pprof per 10 s interval: each whole 10 s window of the store's
#     time range exported with `smolder export --store DIR --from T --to T+10 --format
#     pprof`, then that file exported again on its own (`smolder export FILE --format
#     pprof`), so that it holds only the mappings, functions and strings its samples use,
#     as a profile per interval does (what a peer pushes); total bytes over total
#     samples. The first export's size is shown too, and the whole run as one pprof.
#
# What it cannot see: the perf_event overflow path both profilers share (charged to the
# interrupted tasks). The machine may be shared: other load makes the figures noisy.
#
# Usage: sudo [QUICK=1] [DURATION=600] [RATE_DURATION=120] [PROCS=300] [OUTDIR=DIR]
#             [SMOLDER=PATH] scripts/bench-agent.sh
#   DURATION       seconds of phase B (default 600; QUICK=1: 30; at least 30)
#   RATE_DURATION  seconds measured at each rate in phase A (default 120; QUICK=1: 20;
#                  at least 10)
#   PROCS          live sleeping processes in phase B (default 300)
#   QUICK=1        short phases, to check the script itself, not for figures
#   OUTDIR         keep the outputs (stores, perf.data, logs, metrics, table.md) in DIR
#                  (default: a temporary directory, removed at exit)
#   SMOLDER        the smolder binary (default build/smolder of this checkout)
# Exits 77 when a tool it needs (perf, bpftool, cc, curl) is missing.
# A benchmark, not a test: scripts/test.sh does not run it.
set -Eeuo pipefail
trap 'echo "bench-agent: line $LINENO failed: $BASH_COMMAND" >&2' ERR

if [ "${QUICK:-0}" = 1 ]; then
	D=${DURATION:-30} R=${RATE_DURATION:-20}
else
	D=${DURATION:-600} R=${RATE_DURATION:-120}
fi
PROCS=${PROCS:-300}
OUTDIR=${OUTDIR:-}
SETTLE=5   # seconds after an agent starts before measuring
WINDOW=10  # poll period and flush interval
WAKERS=8

die() {
	echo "bench-agent: $*" >&2
	exit 1
}
skip() {
	echo "bench-agent: $* (skipped)" >&2
	exit 77
}
note() { echo "bench-agent: $*" >&2; }

(($# == 0)) || {
	sed -n '/^# Usage:/,/^# A benchmark/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
{ [[ $D =~ ^[1-9][0-9]*$ ]] && ((D >= 30)); } ||
	die "DURATION must be a whole number of seconds, at least 30, not '$D'"
{ [[ $R =~ ^[1-9][0-9]*$ ]] && ((R >= 10)); } ||
	die "RATE_DURATION must be a whole number of seconds, at least 10, not '$R'"
{ [[ $PROCS =~ ^[0-9]+$ ]] && ((PROCS <= 5000)); } || die "PROCS must be 0..5000, not '$PROCS'"
[ "$(id -u)" -eq 0 ] ||
	die "must run as root (BPF, perf_event, bpf_stats and /proc of other users need it): sudo $0"

repo=$(cd "$(dirname "$0")/.." && pwd)
bench=$repo/scripts/bench
export PATH=$PATH:/usr/sbin:/sbin
if [ -n "${SMOLDER:-}" ]; then
	{ [ -f "$SMOLDER" ] && [ -x "$SMOLDER" ]; } || die "SMOLDER=$SMOLDER is not an executable"
	SMOLDER=$(realpath "$SMOLDER")
else
	SMOLDER=$repo/build/smolder
	[ -x "$SMOLDER" ] || die "no $SMOLDER: build it first" \
		"(cmake -S $repo -B $repo/build && cmake --build $repo/build -j2) or set SMOLDER"
fi
"$SMOLDER" agent --help >/dev/null 2>&1 || die "$SMOLDER has no 'agent' subcommand"
command -v perf >/dev/null ||
	skip "perf not found: apt-get install linux-perf (scripts/deps.sh installs it)"
perf version >/dev/null 2>&1 ||
	skip "perf is installed but does not run ('perf version' fails): install linux-perf for this kernel"
command -v bpftool >/dev/null || skip "bpftool not found: apt-get install bpftool"
command -v cc >/dev/null || skip "cc not found: apt-get install gcc libc6-dev"
command -v curl >/dev/null || skip "curl not found: apt-get install curl"
command -v setsid >/dev/null || skip "setsid not found: apt-get install util-linux"
[ -r /proc/sys/kernel/bpf_stats_enabled ] ||
	die "no /proc/sys/kernel/bpf_stats_enabled: this kernel cannot count BPF run time"

# ---- work directory, clean-up ----

if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR"
	work=$(cd "$OUTDIR" && pwd)
	# What an earlier run left there would be read as this run's.
	rm -rf "$work"/{A-19,A-99,B,rusage,agent-spin-1,agent-spin-2,calibrate.ru,table.md} \
		"$work"/{spawn,workers}.count "$work"/churn-{spawn,workers}.log
else
	work=$(mktemp -d /tmp/smolder-bench-agent.XXXXXX)
fi

ag_wrap="" pf_wrap="" # rusage wrappers of the agent and perf record (they pass SIGTERM on)
ag="" pf=""           # the agent and perf record themselves
spins=""              # the burners
groups=""             # process groups: churn loops, the sleepers and wakers
old_bpf_stats=""

ppid_of() { # PID: its parent's pid (empty once it is gone)
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	read -r _ stat _ <<<"$stat"
	echo "$stat"
}
alive() { # PID: running and not yet a zombie
	local stat
	read -r -a stat 2>/dev/null <"/proc/$1/stat" && [ "${stat[2]}" != Z ]
}
term_children() { # PID..: SIGTERM each that is still our child (pids wrap fast here)
	local pid
	for pid in "$@"; do
		[ "$(ppid_of "$pid")" != "$$" ] || kill "$pid" 2>/dev/null || true
	done
}
kill_wait() { # PID..: term_children, then reap them
	local pid
	term_children "$@"
	for pid in "$@"; do { wait "$pid"; } 2>/dev/null || true; done
}
stop_groups() { # each group leader only exits when told to: its group id is its own
	local g
	for g in $groups; do kill -TERM -- "-$g" 2>/dev/null || true; done
	for g in $groups; do { wait "$g"; } 2>/dev/null || true; done
	groups=""
}
# stop_profilers: SIGTERM to the rusage wrappers (passed on); one still running 30 s
# later is killed. Only on an early exit: a finished phase has reaped them.
stop_profilers() {
	local pid i w name
	# shellcheck disable=SC2086
	term_children $ag_wrap $pf_wrap
	for ((i = 0; i < 30; i++)); do
		alive "${ag_wrap:-0}" || alive "${pf_wrap:-0}" || break
		sleep 1
	done
	for w in "agent $ag_wrap $ag" "perf $pf_wrap $pf"; do
		read -r name w pid <<<"$w"
		if [ -z "$pid" ] || [ "$(ppid_of "$pid")" != "$w" ]; then continue; fi
		note "killing $name (pid $pid): still running 30 s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
	done
	# shellcheck disable=SC2086
	for pid in $ag_wrap $pf_wrap; do { wait "$pid"; } 2>/dev/null || true; done
	ag_wrap="" pf_wrap="" ag="" pf=""
}
cleanup() {
	local rc=$?
	trap - EXIT HUP INT PIPE TERM
	stop_groups
	# shellcheck disable=SC2086
	kill_wait $spins
	stop_profilers
	if [ -n "$old_bpf_stats" ]; then
		sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null || true
	fi
	if [ -z "$OUTDIR" ]; then
		rm -rf "$work"
	else
		note "outputs kept in $work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE # a closed stdout (| head) must not skip the clean-up
trap 'exit 143' TERM

# ---- helpers ----

now_us() { echo "${EPOCHREALTIME/./}"; }
sleep_until() { # UNIX_SECONDS (integer)
	local d=$(($1 * 1000000 - $(now_us)))
	((d <= 0)) || sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
}
child_of() { # PID: its first child, waiting up to 10 s for it to appear
	local i c
	for ((i = 0; i < 100; i++)); do
		c=$(cat "/proc/$1/task/$1/children" 2>/dev/null || pgrep -P "$1" || true)
		[ -z "$c" ] || {
			echo "${c%% *}"
			return
		}
		alive "$1" || return 1
		sleep 0.1
	done
	return 1
}
cpu_ns() { # PID: CPU time of its live threads, ns (0 once it is gone)
	awk '{ s += $1 } END { printf "%.0f\n", s }' "/proc/$1"/task/*/schedstat 2>/dev/null || echo 0
}
status_kib() { # PID FIELD: a kB field of /proc/PID/status (empty once it is gone)
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true
}
# bpf_progs PID: "prog_id prog_type run_time_ns run_cnt" for each BPF program fd of PID.
# Only its bpf-prog fds are read: the agent opens and closes other files all the time, and
# a file gone between a glob and its read would stop awk.
bpf_progs() {
	local fds
	fds=$(find "/proc/$1/fd" -lname 'anon_inode:bpf-prog' -printf '%f\n' 2>/dev/null || true)
	[ -n "$fds" ] || return 0
	# %.0f: mawk prints numbers past 2^31 as 2.16501e+09.
	awk -v dir="/proc/$1/fdinfo" -v fds="$fds" 'BEGIN {
		n = split(fds, fd, "\n")
		for (i = 1; i <= n; i++) {
			t = id = rt = c = ""; file = dir "/" fd[i]
			while ((getline line < file) > 0) {
				split(line, a)
				if (a[1] == "prog_type:") t = a[2]; else if (a[1] == "prog_id:") id = a[2]
				else if (a[1] == "run_time_ns:") rt = a[2]; else if (a[1] == "run_cnt:") c = a[2]
			}
			close(file)
			if (t != "" && id != "") printf "%s %s %.0f %.0f\n", id, t, rt, c
		} }' | sort -n -u
}
# bpf_total PID: "run_time_ns run_cnt sampler_run_time_ns" summed over its programs (the
# sampler: the perf_event programs, type 7 = BPF_PROG_TYPE_PERF_EVENT)
bpf_total() {
	bpf_progs "$1" | awk '{ rt += $3; c += $4 } $2 == 7 || $2 == "perf_event" { s += $3 }
		END { printf "%.0f %.0f %.0f\n", rt, c, s }'
}
bpf_names() { # PID: "prog_id name" for each of its BPF programs (while they are loaded)
	local id
	bpf_progs "$1" | while read -r id _; do echo "$id $(prog_name "$id")"; done
}
prog_name() { # ID
	{ bpftool prog show id "$1" 2>/dev/null || true; } |
		awk '!n { for (i = 1; i < NF; i++) if ($i == "name") { n = $(i + 1); break } }
			END { print (n == "" ? "?" : n) }'
}
store_samples() { # STORE FROM TO: the agent's samples with FROM <= time < TO
	"$SMOLDER" export --store "$1" --from "$2" --to "$3" --format folded -o - |
		awk '{ n += $NF } END { print n + 0 }'
}
perf_samples() { # TIMES_FILE FROM TO: perf's samples in [FROM, TO)
	awk -v a="$2" -v b="$3" '$1 + 0 >= a && $1 + 0 < b { n++ } END { print n + 0 }' "$1"
}
div() { # A B SCALE FORMAT: A * SCALE / B, or "-" when B is 0 or empty
	awk -v a="$1" -v b="$2" -v s="$3" -v f="$4" \
		'BEGIN { if (b == "" || a == "" || a == "-" || b + 0 == 0) print "-"; else printf f, a * s / b }'
}
nprocs() { # the processes on the machine
	local p=(/proc/[0-9]*)
	echo "${#p[@]}"
}
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }'; }
minmax() { # VALUES..: "MIN..MAX"
	printf '%s\n' "$@" | awk '$1 != "" && $1 != "-"' | sort -g | awk 'NR == 1 { a = $1 } { b = $1 }
		END { if (NR) print a ".." b; else print "-" }'
}
metric() { # FILE NAME: a metric's value from a /metrics scrape (empty when absent)
	awk -v n="$2" '$1 == n { print $2; exit }' "$1" 2>/dev/null || true
}
scrape() { # PORT FILE
	curl -s --max-time 5 "http://127.0.0.1:$1/metrics" >"$2" 2>/dev/null || : >"$2"
}

# start_agent DIR HZ: the agent (and its rusage wrapper) on DIR/store; sets ag_wrap, ag,
# port; waits for its HTTP endpoint
start_agent() {
	local dir=$1 hz=$2 i
	mkdir -p "$dir"
	"$work/rusage" "$dir/agent.ru" "$SMOLDER" agent --store "$dir/store" -F "$hz" \
		--flush "$WINDOW" --listen 127.0.0.1:0 >"$dir/agent.out" 2>"$dir/agent.log" &
	ag_wrap=$!
	ag=$(child_of "$ag_wrap") || {
		sed 's/^/  | /' "$dir/agent.log" >&2
		die "the agent did not start"
	}
	port=""
	for ((i = 0; i < 300; i++)); do
		port=$(sed -n 's/.*http endpoint on .*(port \([0-9]*\)).*/\1/p' "$dir/agent.log" | head -1)
		[ -z "$port" ] || break
		alive "$ag" || break
		sleep 0.1
	done
	[ -n "$port" ] || {
		sed 's/^/  | /' "$dir/agent.log" >&2
		die "the agent did not report its HTTP port within 30 s"
	}
}
# stop_agent DIR: SIGTERM, wait (30 s, then SIGKILL); sets ag_rc and ag_exit_s
stop_agent() {
	local dir=$1 t i
	t=$(now_us)
	kill -TERM "$ag_wrap" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		alive "$ag" || break
		sleep 0.1
	done
	ag_exit_s=$(awk -v a="$t" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	if alive "$ag"; then
		note "killing the agent (pid $ag): still running 30 s after SIGTERM"
		kill -KILL "$ag" 2>/dev/null || true
		ag_exit_s=">30"
	fi
	ag_rc=0
	wait "$ag_wrap" || ag_rc=$?
	ag_wrap="" ag=""
	((ag_rc == 0)) || {
		sed 's/^/  | /' "$dir/agent.log" >&2
		note "the agent exited with status $ag_rc after SIGTERM"
	}
}
lost_of() { # LOG: the lost count of the agent's closing line
	sed -n 's/.*agent stopped: .*(\([0-9]*\) lost).*/\1/p' "$1" | tail -1
}

# ---- build the workload, calibrate the workers ----

cc -O2 -Wall -o "$work/rusage" "$bench/rusage.c"
cc -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -o "$work/agent-spin-1" \
	"$bench/spin.c"
cp "$work/agent-spin-1" "$work/agent-spin-2"

# ~10 ms of CPU per worker: time 200,000 turns of the worker's loop, scale.
cal=200000
# shellcheck disable=SC2016
"$work/rusage" "$work/calibrate.ru" sh -c 'i=0; while [ $i -lt "$1" ]; do i=$((i + 1)); done' \
	worker "$cal"
cal_us=$(awk '{ print $1 + $2 }' "$work/calibrate.ru")
((cal_us > 0)) || die "calibrating the workers failed (no CPU time measured)"
iters=$((cal * 10000 / cal_us))
((iters > 0)) || iters=1

total=$((2 * (SETTLE + R + 40) + SETTLE + D + 120))
guard=$((total + 600)) # the workload ends by itself this long after, should we be killed -9
read -r load0 _ </proc/loadavg
"$work/agent-spin-1" "$guard" &
spins+=" $!"
"$work/agent-spin-2" "$guard" &
spins+=" $!"
setsid "$bench/churn.sh" spawn "$work/spawn.count" 0.1 "$guard" 2>"$work/churn-spawn.log" &
groups+=" $!"
setsid "$bench/churn.sh" workers "$work/workers.count" 0.05 "$guard" "$iters" \
	2>"$work/churn-workers.log" &
groups+=" $!"
sleep 2
for pid in $spins $groups; do
	alive "$pid" || die "a workload process ($pid) exited at once"
done

old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null
# Above the workload and the profilers, so /proc is read on time on a loaded machine.
renice -n -10 -p $$ >/dev/null || true

machine="$(nproc) CPUs, kernel $(uname -r)"
echo "bench-agent: $machine; $SMOLDER; $(perf version); load average before the workload: $load0"
echo "bench-agent: workload: agent-spin-1, agent-spin-2, churn.sh spawn (pause 0.1 s)," \
	"churn.sh workers (every 0.05 s, ~10 ms each); phase A $R s per rate," \
	"phase B $D s with $PROCS sleeping processes + $WAKERS wakers"

# ---- phase A: the agent beside perf record -a -g, at 19 and at 99 Hz ----

declare -A A # results, keyed HZ:what
for hz in 19 99; do
	dir=$work/A-$hz
	mkdir -p "$dir"
	echo "bench-agent: phase A, $hz Hz: agent and perf record -a -g, $R s measured after $SETTLE s"
	tl=$(($(now_us) / 1000000 + 1))
	sleep_until "$tl"
	"$work/rusage" "$dir/perf.ru" perf record -a -g -F "$hz" -k CLOCK_REALTIME -N \
		-o "$dir/perf.data" -- sleep $((SETTLE + R + 3)) >"$dir/perf.out" 2>"$dir/perf.log" &
	pf_wrap=$!
	start_agent "$dir" "$hz"
	pf=$(child_of "$pf_wrap") || {
		sed 's/^/  | /' "$dir/perf.log" >&2
		die "perf record did not start"
	}
	t0=$((tl + SETTLE))
	sleep_until "$t0"
	alive "$ag" || die "the agent exited during start-up (see $dir/agent.log)"
	alive "$pf" || die "perf record exited during start-up (see $dir/perf.log)"
	at=("$EPOCHREALTIME") agc=("$(cpu_ns "$ag")") pfc=("$(cpu_ns "$pf")")
	sys_probes=""
	for who in agent:$ag perf:$pf; do
		perf stat -e raw_syscalls:sys_enter -x, -o "$dir/syscalls-${who%%:*}.csv" \
			-p "${who#*:}" -- sleep "$R" >/dev/null 2>&1 &
		sys_probes+=" $!"
	done
	read -r bpf_rt0 _ bpf_s0 < <(bpf_total "$ag")
	bpf_progs "$ag" >"$dir/bpf0.txt"
	bpf_names "$ag" >"$dir/bpf-names.txt"
	for ((s = WINDOW; s <= R; s += WINDOW)); do
		((s + WINDOW <= R)) || s=$R
		sleep_until $((t0 + s))
		alive "$ag" || die "the agent exited during the run (see $dir/agent.log)"
		alive "$pf" || die "perf record exited during the run (see $dir/perf.log)"
		at+=("$EPOCHREALTIME") agc+=("$(cpu_ns "$ag")") pfc+=("$(cpu_ns "$pf")")
	done
	read -r bpf_rt1 _ bpf_s1 < <(bpf_total "$ag")
	bpf_progs "$ag" >"$dir/bpf1.txt"
	# shellcheck disable=SC2086
	for p in $sys_probes; do wait "$p" 2>/dev/null || true; done
	A[$hz:ag_rss]=$(status_kib "$ag" VmRSS) A[$hz:pf_rss]=$(status_kib "$pf" VmRSS)
	scrape "$port" "$dir/metrics.txt"
	stop_agent "$dir"
	A[$hz:exit]=$ag_exit_s A[$hz:rc]=$ag_rc
	pf_rc=0
	wait "$pf_wrap" || pf_rc=$?
	pf_wrap="" pf=""
	((pf_rc == 0)) || {
		sed 's/^/  | /' "$dir/perf.log" >&2
		die "perf record exited with status $pf_rc"
	}
	perf script -F time -i "$dir/perf.data" 2>/dev/null | tr -d ':' >"$dir/perf.times"

	n=$((${#at[@]} - 1))
	span_ns=$(awk -v a="${at[0]}" -v b="${at[n]}" 'BEGIN { printf "%.0f", (b - a) * 1e9 }')
	A[$hz:span]=$(div "$span_ns" 1 1e-9 %.1f)
	A[$hz:ag_n]=$(store_samples "$dir/store" "${at[0]}" "${at[n]}")
	A[$hz:pf_n]=$(perf_samples "$dir/perf.times" "${at[0]}" "${at[n]}")
	A[$hz:ag_cpu]=$((agc[n] - agc[0])) A[$hz:pf_cpu]=$((pfc[n] - pfc[0]))
	A[$hz:bpf_rt]=$((bpf_rt1 - bpf_rt0)) A[$hz:bpf_s]=$((bpf_s1 - bpf_s0))
	ag_w=() pf_w=()
	for ((k = 1; k <= n; k++)); do
		w=$(awk -v a="${at[k - 1]}" -v b="${at[k]}" 'BEGIN { printf "%.0f", (b - a) * 1e9 }')
		ag_w+=("$(div $((agc[k] - agc[k - 1])) "$w" 100 %.2f)")
		pf_w+=("$(div $((pfc[k] - pfc[k - 1])) "$w" 100 %.2f)")
	done
	A[$hz:ag_wr]=$(minmax "${ag_w[@]}") A[$hz:pf_wr]=$(minmax "${pf_w[@]}")
	A[$hz:ag_pct]=$(div "${A[$hz:ag_cpu]}" "$span_ns" 100 %.2f)
	A[$hz:pf_pct]=$(div "${A[$hz:pf_cpu]}" "$span_ns" 100 %.2f)
	A[$hz:ag_lost]=$(lost_of "$dir/agent.log")
	A[$hz:pf_lost]=$(awk '{ for (i = 1; i < NF - 1; i++) if (tolower($i) == "lost" && $(i + 2) ~ /^chunks/) n += $(i + 1) }
		END { print n + 0 }' "$dir/perf.log")
	for who in ag:agent pf:perf; do
		A[$hz:${who%%:*}_sys]=$(awk -F, '$3 ~ /raw_syscalls:sys_enter/ { print $1 }' \
			"$dir/syscalls-${who#*:}.csv" 2>/dev/null || true)
	done
	A[$hz:m_cpu]=$(metric "$dir/metrics.txt" smolder_cpu_seconds_per_sample)
	A[$hz:m_bpf]=$(metric "$dir/metrics.txt" smolder_bpf_run_seconds_per_sample)
	read -r _ _ "A[$hz:ag_maxrss]" _ <"$dir/agent.ru"
	read -r _ _ "A[$hz:pf_maxrss]" _ <"$dir/perf.ru"
	# Per program: run time over the span per sample, ns per run.
	A[$hz:progs]=$(awk -v n="${A[$hz:ag_n]}" '
		FILENAME == ARGV[1] { name[$1] = $2; next }
		FILENAME == ARGV[2] { r[$1] = $3; c[$1] = $4; next }
		$4 - c[$1] > 0 { rt = $3 - r[$1]; k = $4 - c[$1]
			printf "%s%s (%s) %.1f us/smp, %d runs, %.0f ns/run", (m++ ? "; " : ""),
				name[$1], $2, n ? rt / n / 1000 : 0, k, rt / k }' \
		"$dir/bpf-names.txt" "$dir/bpf0.txt" "$dir/bpf1.txt")
	printf '%s\n' "${at[@]}" >"$dir/polls.txt"
	echo "bench-agent: $hz Hz: agent ${A[$hz:ag_pct]}% of a core, ${A[$hz:ag_n]} samples;" \
		"perf ${A[$hz:pf_pct]}%, ${A[$hz:pf_n]} samples; agent exited ${A[$hz:exit]} s after SIGTERM"
done

# ---- phase B: the agent at 19 Hz for D s, a few hundred processes and churn ----

dir=$work/B
mkdir -p "$dir"
# The sleepers and the wakers, one process group; each ends by itself after the guard.
# shellcheck disable=SC2016
setsid bash -c 'g=$1 n=$2 w=$3 it=$4
	for ((i = 0; i < n; i++)); do sleep "$g" & done
	for ((i = 0; i < w; i++)); do
		(while ((SECONDS < g)); do sleep 1; j=0; while ((j < it)); do j=$((j + 1)); done; done) &
	done
	wait' procs "$guard" "$PROCS" "$WAKERS" $((iters / 2)) </dev/null >/dev/null 2>&1 &
groups+=" $!"
pg=${groups##* }
for ((i = 0; i < 600; i++)); do # until the sleepers have all started (a busy machine is slow)
	(($(pgrep -c -g "$pg" || true) >= PROCS + WAKERS + 1)) && break
	alive "$pg" || die "the sleepers' process group exited at once"
	sleep 0.1
done
nproc_live=$(nprocs)
echo "bench-agent: phase B: agent at 19 Hz for $D s; $nproc_live processes on the machine"
tl=$(($(now_us) / 1000000 + 1))
sleep_until "$tl"
start_agent "$dir" 19
rss_at=("$((D / 10))" "$((D / 2))" "$((D - 3))")
declare -A B
t0=$((tl + SETTLE))
sleep_until "$t0"
alive "$ag" || die "the agent exited during start-up (see $dir/agent.log)"
b_at0=$EPOCHREALTIME b_cpu0=$(cpu_ns "$ag")
read -r b_rt0 _ b_s0 < <(bpf_total "$ag")
for s in "${rss_at[@]}"; do
	((s > SETTLE)) || continue
	sleep_until $((tl + s))
	alive "$ag" || die "the agent exited during the run (see $dir/agent.log)"
	B[rss:$s]=$(status_kib "$ag" VmRSS)
	echo "bench-agent: phase B, $s s: VmRSS $(mib "${B[rss:$s]}") MiB"
done
b_at1=$EPOCHREALTIME b_cpu1=$(cpu_ns "$ag")
read -r b_rt1 _ b_s1 < <(bpf_total "$ag")
B[hwm]=$(status_kib "$ag" VmHWM)
B[live]=$(nprocs)
scrape "$port" "$dir/metrics.txt"
stop_agent "$dir"
B[exit]=$ag_exit_s B[rc]=$ag_rc
forks=$(awk '$1 == "processes" { print $2 }' /proc/stat)

# The workload is done.
stop_groups
# shellcheck disable=SC2086
kill_wait $spins
spins=""
sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null
old_bpf_stats=""

b_span=$(awk -v a="$b_at0" -v b="$b_at1" 'BEGIN { printf "%.0f", (b - a) * 1e9 }')
B[n_span]=$(store_samples "$dir/store" "$b_at0" "$b_at1")
B[pct]=$(div $((b_cpu1 - b_cpu0)) "$b_span" 100 %.2f)
B[cpu_smp]=$(div $((b_cpu1 - b_cpu0)) "${B[n_span]}" 0.001 %.1f)
B[bpf_smp]="$(div $((b_s1 - b_s0)) "${B[n_span]}" 0.001 %.1f) / $(div $((b_rt1 - b_rt0)) "${B[n_span]}" 0.001 %.1f) us"
B[lost]=$(lost_of "$dir/agent.log")
read -r _ _ "B[maxrss]" _ <"$dir/agent.ru"
m=$dir/metrics.txt
B[m_rss]=$(metric "$m" smolder_resident_memory_bytes)
B[m_peak]=$(metric "$m" smolder_resident_memory_peak_bytes)
B[m_tracked]=$(metric "$m" smolder_processes_tracked)
B[m_exits]=$(metric "$m" smolder_process_exits_total)
B[m_budget]=$(metric "$m" smolder_memory_budget_bytes)

# The store, after the agent has stopped: every file in it, over its samples.
"$SMOLDER" info "$dir/store" >"$dir/info.txt"
B[store_bytes]=$(find "$dir/store" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
B[samples]=$(sed -n 's/^samples: *[0-9]* (total weight \([0-9]*\)).*/\1/p' "$dir/info.txt")
[ -n "${B[samples]}" ] || B[samples]=$(sed -n 's/^samples: *\([0-9]*\).*/\1/p' "$dir/info.txt")
B[store_bps]=$(div "${B[store_bytes]}" "${B[samples]}" 1 %.1f)
range=$(sed -n 's/^time range: *\([^ ]*\) \.\. \([^ ]*\) .*/\1 \2/p' "$dir/info.txt")
read -r r0 r1 <<<"$range"
r0=$(date -u -d "$r0" +%s) r1=$(date -u -d "$r1" +%s)

# A gzip pprof per whole 10 s window of the store's time range.
mkdir -p "$dir/pprof"
pp_bytes=0 pp_raw=0 pp_n=0 pp_files=0 pp_ratios=()
printf 'from\tsamples\tpprof_bytes\texport_bytes\n' >"$dir/pprof/windows.tsv"
for ((t = r0; t + WINDOW <= r1; t += WINDOW)); do
	f=$dir/pprof/$t.pb.gz
	"$SMOLDER" export --store "$dir/store" --from "$t" --to $((t + WINDOW)) --format pprof -o "$f"
	n=$(store_samples "$dir/store" "$t" $((t + WINDOW)))
	((n > 0)) || continue
	# Re-encoded from that file alone: a profile of the interval's own samples, with only
	# the mappings, functions and strings they use (what a per-interval push carries).
	"$SMOLDER" export "$f" --format pprof -o "$dir/pprof/$t.own.pb.gz"
	raw=$(stat -c %s "$f") b=$(stat -c %s "$dir/pprof/$t.own.pb.gz")
	pp_raw=$((pp_raw + raw))
	pp_bytes=$((pp_bytes + b)) pp_n=$((pp_n + n)) pp_files=$((pp_files + 1))
	pp_ratios+=("$(div "$b" "$n" 1 %.1f)")
	printf '%s\t%s\t%s\t%s\n' "$t" "$n" "$b" "$raw" >>"$dir/pprof/windows.tsv"
done
B[pp_raw_bps]=$(div "$pp_raw" "$pp_n" 1 %.1f)
B[pp_bps]=$(div "$pp_bytes" "$pp_n" 1 %.1f)
B[pp_range]=$(minmax "${pp_ratios[@]}")
B[pp_file]=$(div "$pp_bytes" "$pp_files" 0.0009765625 %.1f)
"$SMOLDER" export --store "$dir/store" --format pprof -o "$dir/whole.pb.gz"
B[whole_bps]=$(div "$(stat -c %s "$dir/whole.pb.gz")" "${B[samples]}" 1 %.1f)

# ---- the report ----

echo
echo "bench-agent: workload started $(cat "$work/spawn.count" 2>/dev/null || echo '?') short" \
	"commands from the spawn loop and $(cat "$work/workers.count" 2>/dev/null || echo '?')" \
	"~10 ms workers; $forks processes created since boot; load average now $(cut -d' ' -f1 /proc/loadavg)"
for hz in 19 99; do
	echo "bench-agent: $hz Hz BPF programs over the span: ${A[$hz:progs]:-none}"
	echo "bench-agent: $hz Hz agent's /metrics (since its start): cpu_seconds_per_sample" \
		"${A[$hz:m_cpu]:-?}, bpf_run_seconds_per_sample ${A[$hz:m_bpf]:-?}"
done
echo "bench-agent: phase B: smolder info says: $(grep '^segments:' "$dir/info.txt" || true)"
echo

us_smp() { div "$1" "$2" 0.001 %.1f; }
per_s() { div "$1" "$2" 1 %.1f; }
{
	echo "smolder agent on $machine, both CPUs busy (2 spinners + process churn);" \
		"$(date -u +%Y-%m-%d); load average $load0 before the workload," \
		"$(cut -d' ' -f1 /proc/loadavg) at the end; QUICK=${QUICK:-0}"
	echo
	echo "| Phase A: $R s at each rate, side by side | agent 19 Hz | perf -a -g 19 Hz | agent 99 Hz | perf -a -g 99 Hz |"
	echo "|---|---|---|---|---|"
	row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
	row "CPU, % of one core (10 s windows)" \
		"${A[19:ag_pct]}% (${A[19:ag_wr]})" "${A[19:pf_pct]}% (${A[19:pf_wr]})" \
		"${A[99:ag_pct]}% (${A[99:ag_wr]})" "${A[99:pf_pct]}% (${A[99:pf_wr]})"
	row "samples/s (all CPUs)" "$(per_s "${A[19:ag_n]}" "${A[19:span]}")" \
		"$(per_s "${A[19:pf_n]}" "${A[19:span]}")" "$(per_s "${A[99:ag_n]}" "${A[99:span]}")" \
		"$(per_s "${A[99:pf_n]}" "${A[99:span]}")"
	row "CPU per sample" "$(us_smp "${A[19:ag_cpu]}" "${A[19:ag_n]}") us" \
		"$(us_smp "${A[19:pf_cpu]}" "${A[19:pf_n]}") us" "$(us_smp "${A[99:ag_cpu]}" "${A[99:ag_n]}") us" \
		"$(us_smp "${A[99:pf_cpu]}" "${A[99:pf_n]}") us"
	row "BPF run time per sample: sampler / all programs" \
		"$(div "${A[19:bpf_s]}" "${A[19:ag_n]}" 0.001 %.1f) / $(div "${A[19:bpf_rt]}" "${A[19:ag_n]}" 0.001 %.1f) us" \
		"n/a (in the interrupt)" \
		"$(div "${A[99:bpf_s]}" "${A[99:ag_n]}" 0.001 %.1f) / $(div "${A[99:bpf_rt]}" "${A[99:ag_n]}" 0.001 %.1f) us" \
		"n/a (in the interrupt)"
	row "syscalls per sample" "$(div "${A[19:ag_sys]}" "${A[19:ag_n]}" 1 %.2f)" \
		"$(div "${A[19:pf_sys]}" "${A[19:pf_n]}" 1 %.2f)" "$(div "${A[99:ag_sys]}" "${A[99:ag_n]}" 1 %.2f)" \
		"$(div "${A[99:pf_sys]}" "${A[99:pf_n]}" 1 %.2f)"
	row "lost samples" "${A[19:ag_lost]:-?}" "${A[19:pf_lost]}" "${A[99:ag_lost]:-?}" "${A[99:pf_lost]}"
	row "RSS at the end / max (MiB)" "$(mib "${A[19:ag_rss]}") / $(mib "${A[19:ag_maxrss]}")" \
		"$(mib "${A[19:pf_rss]}") / $(mib "${A[19:pf_maxrss]}")" \
		"$(mib "${A[99:ag_rss]}") / $(mib "${A[99:ag_maxrss]}")" \
		"$(mib "${A[99:pf_rss]}") / $(mib "${A[99:pf_maxrss]}")"
	row "SIGTERM to exit" "${A[19:exit]} s" "-" "${A[99:exit]} s" "-"
	echo
	echo "| Phase B: agent at 19 Hz, $D s, $nproc_live..${B[live]} processes + churn | |"
	echo "|---|---|"
	printf '| %s | %s |\n' \
		"RSS at ${rss_at[0]} s / ${rss_at[1]} s / ${rss_at[2]} s" \
		"$(mib "${B[rss:${rss_at[0]}]:-}") / $(mib "${B[rss:${rss_at[1]}]:-}") / $(mib "${B[rss:${rss_at[2]}]:-}") MiB" \
		"peak RSS: VmHWM / max to exit" "$(mib "${B[hwm]}") / $(mib "${B[maxrss]}") MiB" \
		"smolder_resident_memory_bytes (peak), budget" \
		"$(div "${B[m_rss]}" 1048576 1 %.1f) ($(div "${B[m_peak]}" 1048576 1 %.1f)) MiB, budget $(div "${B[m_budget]}" 1048576 1 %.0f) MiB" \
		"processes tracked / exits seen (/metrics)" "${B[m_tracked]:-?} / ${B[m_exits]:-?}" \
		"CPU, % of one core; per sample" "${B[pct]}%; ${B[cpu_smp]} us" \
		"BPF run time per sample: sampler / all programs" "${B[bpf_smp]}" \
		"samples stored (lost)" "${B[samples]} (${B[lost]:-?})" \
		"store: bytes per sample" "${B[store_bps]} (${B[store_bytes]} bytes on disk)" \
		"gzip pprof per 10 s interval: bytes per sample" \
		"${B[pp_bps]} (${B[pp_range]} over $pp_files files, $(div "${B[pp_file]}" 1 1 %.1f) KiB each)" \
		"... as \`smolder export --store --from --to\` writes it" "${B[pp_raw_bps]}" \
		"gzip pprof of the whole run: bytes per sample" "${B[whole_bps]}" \
		"SIGTERM to exit" "${B[exit]} s"
} | tee "$work/table.md"
for hz in 19 99; do
	[ "${A[$hz:rc]}" = 0 ] || note "the agent at $hz Hz exited with status ${A[$hz:rc]}"
done
[ "${B[rc]}" = 0 ] || note "the agent of phase B exited with status ${B[rc]}"
