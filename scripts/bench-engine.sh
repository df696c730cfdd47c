#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench-engine.sh - what smolder's sampling engine costs when it runs for a long time
# on a machine with process churn: smolder record -a beside perf record -a -g, in the
# same run, over the same workload, on this machine.
#
# The workload (all of it started here, all of it ended at exit):
#   - two CPU burners, scripts/bench/spin.c copied to engine-spin-1 and engine-spin-2
#     (recognisable in comm, exe and stacks: spin_outer -> spin_inner);
#   - scripts/bench/churn.sh spawn: /bin/true, sh -c 'echo x | wc -c', sleep 0.1, in a
#     loop (5 processes per turn; thousands over a 10-minute run);
#   - scripts/bench/churn.sh workers: every 0.05 s a shell that counts for ~10 ms of
#     CPU and exits (the count is calibrated here first, under the rusage wrapper).
# On 2 CPUs that is more work than CPUs: both profilers compete for CPU with it, as they
# would on a busy production machine.
#
# The profilers, started together and recording for DURATION seconds each:
#   smolder record -a -F 99 -d DURATION -v -o engine.smolder
#   perf record -a -g -F 99 -k CLOCK_REALTIME -N -o perf.data -- sleep DURATION
# (-k CLOCK_REALTIME stamps perf's samples with wall-clock time, so they are counted in
# the same 10 s windows as smolder's; -N keeps perf from copying binaries into
# ~/.debug, which would leave files behind; perf still reads the whole file for
# build-ids at exit, and that is in its exec-to-exit CPU.)
#
# What it measures, for each profiler where it applies:
#   - CPU per sample: the profiler's CPU time (the sum over its threads of
#     /proc/PID/task/TID/schedstat's first field: the same total as utime+stime in
#     /proc/PID/stat, in ns instead of 10 ms ticks, which are too coarse for 10 s
#     windows) divided by the samples taken in the same span (by their timestamps in
#     the output files). Over the run (start to DURATION-3 s), as the median of the 10 s
#     windows (the goal is stated as a median), and exec to exit (wait4 rusage through
#     scripts/bench/rusage.c: start-up, the final write, perf's build-id pass).
#     Windows during which the syscall probes below run, and a profiler's windows from
#     before its first sample (start-up), are left out of its median (tracing slows the
#     traced process) but shown. Samples are counted by when they
#     were taken: a profiler that falls behind spends a window's CPU on earlier
#     samples, so its windows swing, and the ring buffer overflows (lost samples).
#   - BPF run time per sample: kernel.bpf_stats_enabled=1 for the run (restored at
#     exit); run_time_ns and run_cnt of each BPF program smolder holds, from the fdinfo
#     of its program fds, read every 10 s while it runs. This time is charged to the
#     tasks the programs interrupt (sample, fork/exit tracking), except a program run
#     by smolder itself through BPF_PROG_RUN (kernel symbol names), which is also in
#     smolder's own CPU time. perf has no such counter: its sampling work in the
#     interrupt is in none of its figures.
#   - syscalls per sample: perf stat -e raw_syscalls:sys_enter -p PID from 20% to 30%
#     of the run (minute 2-3 of 10) divided by the samples of that span; then the top
#     syscalls over 10 s from perf trace -s -p (strace -c -f if perf trace fails: strace
#     stops the traced process on every syscall, so its counts are right but the
#     process runs slower while traced).
#   - RSS: VmRSS at 10%, 50% and DURATION-3 s (1, 5 and 10 minutes of 10), VmHWM at
#     DURATION-3 s, and the max RSS to exit (rusage).
#   - smolder's engine counters: the `smolder: stats key=value ...` lines of -v at exit;
#     KEY_hits/KEY_misses pairs as hit rates, other keys as printed. Without such lines
#     the row says so.
#   - samples without labels: the share of smolder's samples whose `exe` (and `service`)
#     label is empty or absent, over the whole file, from `smolder export --format
#     pprof` read by `go tool pprof -raw` (folded text carries no labels); split into
#     kernel-only stacks (kernel threads, which have no exe) and samples with no label
#     set at all (the process was gone before its /proc entries were read).
#   - lost samples: smolder's closing line; perf's "lost ... chunks" warnings.
#
# When perf has recorded DURATION s the workload is stopped; smolder may still be
# reading its backlog (it checks -d between ring-buffer drains), and is waited for, with
# a note every minute. This script's own loop runs at nice -10 so that it reads /proc on
# time on a loaded machine; it reports how late its steps ran if they did.
#
# What it cannot see. The perf_event overflow path both profilers share is charged to
# the interrupted tasks and is in no figure. The machine is shared: the windows show
# how steady the figures were.
#
# Usage: sudo [DURATION=600] [OUTDIR=DIR] [SMOLDER=PATH] scripts/bench-engine.sh
#   DURATION  seconds each profiler records (default 600, at least 30)
#   OUTDIR    keep the outputs (engine.smolder, perf.data, logs, windows.tsv) in DIR
#             (default: a temporary directory, removed at exit)
#   SMOLDER   the smolder binary (default build/smolder of this checkout)
# A benchmark, not a test: scripts/test.sh does not run it.
set -Eeuo pipefail
trap 'echo "bench-engine: line $LINENO failed: $BASH_COMMAND" >&2' ERR

D=${DURATION:-600}
HZ=99
OUTDIR=${OUTDIR:-}
TRACE_SECONDS=10
WINDOW=10

die() {
	echo "bench-engine: $*" >&2
	exit 1
}
note() { echo "bench-engine: $*" >&2; }

if ! [[ $D =~ ^[1-9][0-9]*$ ]] || ((D < 30)); then
	die "DURATION must be a whole number of seconds, at least 30, not '$D'"
fi
(($# == 0)) || {
	sed -n '/^# Usage:/,/^# A benchmark/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] ||
	die "must run as root (BPF, perf_event, bpf_stats and /proc of other users need it): sudo $0"

repo=$(cd "$(dirname "$0")/.." && pwd)
bench=$repo/scripts/bench
export PATH=$PATH:/usr/sbin:/sbin
if [ -n "${SMOLDER:-}" ]; then
	if [ ! -f "$SMOLDER" ] || [ ! -x "$SMOLDER" ]; then
		die "SMOLDER=$SMOLDER is not an executable"
	fi
	SMOLDER=$(realpath "$SMOLDER")
else
	SMOLDER=$repo/build/smolder
	[ -x "$SMOLDER" ] || die "no $SMOLDER: build it first" \
		"(cmake -S $repo -B $repo/build && cmake --build $repo/build -j2) or set SMOLDER"
fi
command -v perf >/dev/null ||
	die "perf not found: apt-get install linux-perf (scripts/deps.sh installs it)"
perf version >/dev/null 2>&1 ||
	die "perf is installed but does not run ('perf version' fails): install linux-perf for this kernel"
command -v bpftool >/dev/null ||
	die "bpftool not found: apt-get install bpftool (scripts/deps.sh installs it)"
command -v cc >/dev/null || die "cc not found: apt-get install gcc libc6-dev"
command -v setsid >/dev/null || die "setsid not found: apt-get install util-linux"
[ -r /proc/sys/kernel/bpf_stats_enabled ] ||
	die "no /proc/sys/kernel/bpf_stats_enabled: this kernel cannot count BPF run time"
have_go=""
command -v go >/dev/null && have_go=1
tracer="" # for the top syscalls: perf trace, else strace
if perf trace -s -- true >/dev/null 2>&1; then
	tracer="perf trace -s"
elif command -v strace >/dev/null; then
	tracer="strace -c -f"
fi

# ---- work directory, clean-up ----

if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR"
	work=$(cd "$OUTDIR" && pwd)
	# What an earlier run left there would be read as this run's (perf would also keep
	# the old perf.data as perf.data.old).
	rm -f "$work"/{engine.smolder,engine.pb.gz,perf.data,perf.data.old,perf.times,trace.txt} \
		"$work"/{windows.tsv,table.txt,rusage,engine-spin-1,engine-spin-2,calibrate.ru} \
		"$work"/{smolder,perf}.{ru,log,out} "$work"/{spawn,workers}.count \
		"$work"/churn-{spawn,workers}.log "$work"/{strace-,tids-}{smolder,perf}{,.txt} \
		"$work"/syscalls-{smolder,perf}.csv
else
	work=$(mktemp -d /tmp/smolder-bench-engine.XXXXXX)
fi

sm_wrap="" pf_wrap=""  # rusage wrappers of smolder and perf record (they pass SIGTERM on)
sm="" pf=""            # smolder and perf record themselves
spins=""               # the burners
groups=""              # process groups of the churn loops
probes=""              # perf stat / perf trace / strace in flight
old_bpf_stats=""

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

stop_churn() { # each loop with its group: in-flight commands and workers too. A loop
	local g      # only exits when told to, so its group id is still its own here.
	for g in $groups; do kill -TERM -- "-$g" 2>/dev/null || true; done
	for g in $groups; do { wait "$g"; } 2>/dev/null || true; done
	groups=""
}

ppid_of() { # PID: its parent's pid (empty once it is gone)
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	read -r _ stat _ <<<"$stat"
	echo "$stat"
}

# stop_profilers: SIGTERM to the rusage wrappers (passed on); a profiler that has not
# ended 30 s later is killed (smolder reads its backlog before it stops, which can take
# minutes). Only on an early exit: a finished run has reaped them.
stop_profilers() {
	local pid i w name
	# shellcheck disable=SC2086
	term_children $sm_wrap $pf_wrap
	for ((i = 0; i < 30; i++)); do
		alive "${sm_wrap:-0}" || alive "${pf_wrap:-0}" || break
		sleep 1
	done
	for w in "smolder $sm_wrap $sm" "perf $pf_wrap $pf"; do
		read -r name w pid <<<"$w"
		if [ -z "$pid" ] || [ "$(ppid_of "$pid")" != "$w" ]; then continue; fi
		note "killing $name (pid $pid): still running 30 s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
	done
	# shellcheck disable=SC2086
	for pid in $sm_wrap $pf_wrap; do { wait "$pid"; } 2>/dev/null || true; done
	sm_wrap="" pf_wrap=""
}

cleanup() {
	local rc=$?
	trap - EXIT HUP INT PIPE TERM
	# The workload first: a smolder that is behind catches up and ends sooner.
	# shellcheck disable=SC2086
	kill_wait $probes
	stop_churn
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
alive() { # PID: running and not yet a zombie
	local stat
	read -r -a stat 2>/dev/null <"/proc/$1/stat" && [ "${stat[2]}" != Z ]
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
# Only the program fds are read, one at a time: a glob of all of fdinfo/ races with
# smolder opening and closing files, and mawk stops at the first file it cannot open,
# which dropped programs from a poll now and then (negative per-window BPF times).
bpf_progs() {
	local fd
	find "/proc/$1/fd" -lname 'anon_inode:bpf-prog' -printf '%f\n' 2>/dev/null |
		while read -r fd; do
			cat "/proc/$1/fdinfo/$fd" 2>/dev/null && echo
		done |
		# %.0f: mawk prints numbers past 2^31 (2.1 s of run time) as 2.16501e+09.
		awk 'BEGIN { RS = "" }
			{ t = id = rt = c = ""
			  for (i = 1; i < NF; i++) {
				if ($i == "prog_type:") t = $(i + 1)
				if ($i == "prog_id:") id = $(i + 1)
				if ($i == "run_time_ns:") rt = $(i + 1)
				if ($i == "run_cnt:") c = $(i + 1)
			  }
			  if (t != "" && id != "") printf "%s %s %.0f %.0f\n", id, t, rt, c }' |
		sort -n -u || true
}
# smolder_samples FROM TO: smolder's samples with FROM <= time < TO (unix seconds)
smolder_samples() {
	"$SMOLDER" export "$work/engine.smolder" --from "$1" --to "$2" --format folded -o - |
		awk '{ n += $NF } END { print n + 0 }'
}
# perf_samples FROM TO: perf's samples in [FROM, TO), from the times in $work/perf.times
perf_samples() {
	awk -v a="$1" -v b="$2" '$1 + 0 >= a && $1 + 0 < b { n++ } END { print n + 0 }' \
		"$work/perf.times"
}
div() { # A B SCALE FORMAT: A * SCALE / B, or "-" when B is 0 or empty
	awk -v a="$1" -v b="$2" -v s="$3" -v f="$4" \
		'BEGIN { if (b == "" || a == "" || b + 0 == 0) print "-"; else printf f, a * s / b }'
}
median() { # VALUES..
	printf '%s\n' "$@" | awk '$1 != "" && $1 != "-"' | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() { # VALUES..: "MIN..MAX"
	printf '%s\n' "$@" | awk '$1 != "" && $1 != "-"' | sort -g | awk 'NR == 1 { a = $1 } { b = $1 }
		END { if (NR) print a ".." b; else print "-" }'
}
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }'; }

# ---- build the workload, calibrate the workers ----

cc -O2 -Wall -o "$work/rusage" "$bench/rusage.c"
cc -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -o "$work/engine-spin-1" \
	"$bench/spin.c"
cp "$work/engine-spin-1" "$work/engine-spin-2"

# ~10 ms of CPU per worker: time 200,000 turns of the worker's loop, scale.
cal=200000
# shellcheck disable=SC2016
"$work/rusage" "$work/calibrate.ru" sh -c 'i=0; while [ $i -lt "$1" ]; do i=$((i + 1)); done' \
	worker "$cal"
cal_us=$(awk '{ print $1 + $2 }' "$work/calibrate.ru")
((cal_us > 0)) || die "calibrating the workers failed (no CPU time measured)"
iters=$((cal * 10000 / cal_us))
((iters > 0)) || iters=1

read -r load0 _ </proc/loadavg
guard=$((D + 300)) # the workload ends by itself this long after, should we be killed -9
"$work/engine-spin-1" "$guard" &
spins+=" $!"
"$work/engine-spin-2" "$guard" &
spins+=" $!"
setsid "$bench/churn.sh" spawn "$work/spawn.count" 0.1 "$guard" 2>"$work/churn-spawn.log" &
groups+=" $!"
setsid "$bench/churn.sh" workers "$work/workers.count" 0.05 "$guard" "$iters" \
	2>"$work/churn-workers.log" &
groups+=" $!"
forks0=$(awk '$1 == "processes" { print $2 }' /proc/stat)
sleep 2
for pid in $spins $groups; do
	alive "$pid" || die "a workload process ($pid) exited at once"
done

# ---- the run ----

old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null

echo "bench-engine: $D s at $HZ Hz, $(nproc) CPUs, kernel $(uname -r); $SMOLDER; $(perf version);" \
	"load average before the workload: $load0"
echo "bench-engine: workload: engine-spin-1, engine-spin-2, churn.sh spawn (pause 0.1 s)," \
	"churn.sh workers (every 0.05 s, $iters turns = ~10 ms: $cal turns took $((cal_us / 1000)) ms)"

t0=$(($(now_us) / 1000000 + 1))
sleep_until "$t0"
"$work/rusage" "$work/smolder.ru" "$SMOLDER" record -a -F "$HZ" -d "$D" -v \
	-o "$work/engine.smolder" >"$work/smolder.out" 2>"$work/smolder.log" &
sm_wrap=$!
"$work/rusage" "$work/perf.ru" perf record -a -g -F "$HZ" -k CLOCK_REALTIME -N \
	-o "$work/perf.data" -- sleep "$D" >"$work/perf.out" 2>"$work/perf.log" &
pf_wrap=$!
sm=$(child_of "$sm_wrap") || {
	sed 's/^/  | /' "$work/smolder.log" >&2
	die "smolder did not start"
}
pf=$(child_of "$pf_wrap") || {
	sed 's/^/  | /' "$work/perf.log" >&2
	die "perf record did not start"
}
# This script only reads /proc and starts the probes; on a loaded machine it must still
# do so on time. Above the workload and the profilers (started at nice 0 already); the
# probes go back to nice 0 (nice -n 10).
renice -n -10 -p $$ >/dev/null || true

end=$((D - 3))                                   # last look, before either exits
sys0=$((D * 2 / 10)) sys1=$((D * 3 / 10))        # syscall count
tr0=$sys1 tr1=$((sys1 + TRACE_SECONDS))          # top syscalls
probe0=$sys0 probe1=$((tr1 + 1))                 # windows touching these are "probed"
rss_at=("$((D / 10))" "$((D / 2))" "$end")
declare -A rss hwm
win_s=() win_at=() sm_cpu=() pf_cpu=() bpf_rt=() bpf_cnt=()
declare -A prog_name prog_type prog_rt prog_cnt
sys_at="" late=0

poll() { # S: CPU of both, smolder's BPF counters, and when they were read
	local rt=0 cnt=0 id t r c
	win_s+=("$1")
	win_at+=("$EPOCHREALTIME")
	sm_cpu+=("$(cpu_ns "$sm")")
	pf_cpu+=("$(cpu_ns "$pf")")
	while read -r id t r c; do
		rt=$((rt + r)) cnt=$((cnt + c))
		prog_type[$id]=$t prog_rt[$id]=$r prog_cnt[$id]=$c
		[ -n "${prog_name[$id]:-}" ] ||
			prog_name[$id]=$(bpftool prog show id "$id" 2>/dev/null |
				awk '{ for (i = 1; i < NF; i++) if ($i == "name") { print $(i + 1); exit } }')
	done < <(bpf_progs "$sm")
	bpf_rt+=("$rt")
	bpf_cnt+=("$cnt")
}

start_probes() { # the syscall count: perf stat over [sys0, sys1] s
	sys_at=$EPOCHREALTIME
	nice -n 10 perf stat -e raw_syscalls:sys_enter -x, -o "$work/syscalls-smolder.csv" -p "$sm" \
		-- sleep $((sys1 - sys0)) >/dev/null 2>&1 &
	probes+=" $!"
	nice -n 10 perf stat -e raw_syscalls:sys_enter -x, -o "$work/syscalls-perf.csv" -p "$pf" \
		-- sleep $((sys1 - sys0)) >/dev/null 2>&1 &
	probes+=" $!"
}

start_trace() { # the top syscalls: perf trace -s (else strace -c) for TRACE_SECONDS
	local who
	for who in smolder:$sm perf:$pf; do
		(cd "/proc/${who#*:}/task" 2>/dev/null && echo *) >"$work/tids-${who%%:*}" || true
	done
	if [ "$tracer" = "perf trace -s" ]; then
		nice -n 10 perf trace -s -o "$work/trace.txt" -p "$sm,$pf" -- sleep "$TRACE_SECONDS" \
			>/dev/null 2>&1 &
		probes+=" $!"
	elif [ "$tracer" = "strace -c -f" ]; then
		for who in smolder:$sm perf:$pf; do
			nice -n 10 timeout -s INT "$TRACE_SECONDS" strace -c -f -p "${who#*:}" \
				-o "$work/strace-${who%%:*}.txt" >/dev/null 2>&1 &
			probes+=" $!"
		done
	fi
}

# What to do when, in seconds from t0; done in time order, each as soon as its time
# has come (on a loaded machine a step can be late: the lateness is reported).
declare -A todo
for ((s = WINDOW; s < end; s += WINDOW)); do todo[$s]+=" poll"; done
todo[$end]+=" poll"
todo[$sys0]+=" probes"
todo[$tr0]+=" trace"
for c in "${rss_at[@]}"; do todo[$c]+=" rss"; done

poll 0
for s in $(printf '%s\n' "${!todo[@]}" | sort -n); do
	sleep_until $((t0 + s))
	if ! alive "$sm" || ! alive "$pf"; then break; fi
	l=$(($(now_us) / 1000000 - t0 - s))
	((l <= late)) || late=$l
	for what in ${todo[$s]}; do
		case $what in
		probes) start_probes ;;
		trace) start_trace ;;
		poll) poll "$s" ;;
		rss)
			rss[smolder:$s]=$(status_kib "$sm" VmRSS) rss[perf:$s]=$(status_kib "$pf" VmRSS)
			hwm[smolder]=$(status_kib "$sm" VmHWM) hwm[perf]=$(status_kib "$pf" VmHWM)
			;;
		esac
	done
done
alive "$sm" || note "smolder exited before $end s"
alive "$pf" || note "perf record exited before $end s"

# shellcheck disable=SC2086
for p in $probes; do wait "$p" 2>/dev/null || true; done
probes=""
sm_rc=0 pf_rc=0
wait "$pf_wrap" || pf_rc=$?
pf_wrap=""
# perf has recorded D s: the workload has done its part. Stopping it now lets a smolder
# that is behind catch up (what it still reads has been timestamped when taken).
stop_churn
# shellcheck disable=SC2086
kill_wait $spins
spins=""
waited=0
while alive "$sm"; do
	sleep 1
	waited=$((waited + 1))
	((waited % 60)) || note "smolder still runs, $(($(now_us) / 1000000 - t0)) s after it started for $D s"
done
wait "$sm_wrap" || sm_rc=$?
sm_wrap=""
sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null
old_bpf_stats=""
forks1=$(awk '$1 == "processes" { print $2 }' /proc/stat)

exit_how() { # RU_FILE RC: "exited with N" or "was killed by SIGX", and after how long
	local wall how="exited with status $2"
	wall=$(awk '{ printf "%.1f", $4 / 1e6 }' "$1" 2>/dev/null || echo '?')
	(($2 <= 128)) || how="was killed by SIG$(kill -l $(($2 - 128)) 2>/dev/null || echo $(($2 - 128)))"
	echo "$how after $wall s"
}
if ((sm_rc)); then
	sed 's/^/  | /' "$work/smolder.log" >&2
	die "smolder record $(exit_how "$work/smolder.ru" "$sm_rc") (-d $D)"
fi
((pf_rc == 0)) || {
	sed 's/^/  | /' "$work/perf.log" >&2
	die "perf record $(exit_how "$work/perf.ru" "$pf_rc")"
}

# ---- what the outputs say ----

last=$(grep '^smolder: [0-9]* samples' "$work/smolder.log" | tail -1) ||
	die "no 'smolder: N samples' line in smolder's output ($work/smolder.log)"
sm_total=$(sed -n 's/^smolder: \([0-9]*\) samples.*/\1/p' <<<"$last")
sm_lost=$(sed -n 's/.*(\([0-9]*\) lost.*/\1/p' <<<"$last")
sm_secs=$(sed -n 's/.* in \([0-9.]*\) s,.*/\1/p' <<<"$last")
pf_total=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$work/perf.log" | tail -1)
pf_lost=$(awk '{ for (i = 1; i < NF - 1; i++) if (tolower($i) == "lost" && $(i + 2) ~ /^chunks/) n += $(i + 1) }
	END { print n + 0 }' "$work/perf.log")
perf script -F time -i "$work/perf.data" 2>/dev/null | tr -d ':' >"$work/perf.times"

# When each profiler took its first sample: windows that start before it (plus 1 s, as
# smolder info gives whole seconds) are its start-up, left out of its median too.
sm_first=$("$SMOLDER" info "$work/engine.smolder" |
	sed -n 's/^time range: *\([^ ]*\) .*/\1/p' | head -1)
sm_first=$(date -u -d "$sm_first" +%s 2>/dev/null || echo 0)
pf_first=$(head -1 "$work/perf.times" | awk '{ printf "%.6f", $1 }')

# Per-window samples and figures; windows that overlap a probe or a start-up are marked.
nwin=${#win_s[@]}
sm_win_us=() pf_win_us=() bpf_win_us=()
{
	printf 'from\tto\tsmolder_samples\tsmolder_cpu_ns\tperf_samples\tperf_cpu_ns'
	printf '\tbpf_run_time_ns\tbpf_run_cnt\tleft_out\n'
} >"$work/windows.tsv"
win_lines=() nfull=0
for ((k = 1; k < nwin; k++)); do
	a=${win_s[k - 1]} b=${win_s[k]}
	((b - a == WINDOW)) || continue
	nfull=$((nfull + 1))
	smn=$(smolder_samples "${win_at[k - 1]}" "${win_at[k]}")
	pfn=$(perf_samples "${win_at[k - 1]}" "${win_at[k]}")
	smc=$((sm_cpu[k] - sm_cpu[k - 1])) pfc=$((pf_cpu[k] - pf_cpu[k - 1]))
	brt=$((bpf_rt[k] - bpf_rt[k - 1])) bcn=$((bpf_cnt[k] - bpf_cnt[k - 1]))
	out=""
	((b <= probe0 || a >= probe1)) || out="probed"
	sm_start=$(awk -v a="${win_at[k - 1]}" -v f="$sm_first" 'BEGIN { print (a < f + 1) }')
	pf_start=$(awk -v a="${win_at[k - 1]}" -v f="$pf_first" 'BEGIN { print (a < f + 1) }')
	((!sm_start)) || out+="${out:+, }smolder starting"
	((!pf_start)) || out+="${out:+, }perf starting"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${win_at[k - 1]}" "${win_at[k]}" \
		"$smn" "$smc" "$pfn" "$pfc" "$brt" "$bcn" "$out" >>"$work/windows.tsv"
	smu=$(div "$smc" "$smn" 0.001 %.2f) pfu=$(div "$pfc" "$pfn" 0.001 %.2f)
	bu=$(div "$brt" "$smn" 0.001 %.2f)
	win_lines+=("$(printf '  %4d-%-4d s  %6s %9.1f %9s %8s   %6s %9.1f %9s  %s' "$a" "$b" \
		"$smn" "$(div "$smc" 1 1e-6 %.1f)" "$smu" "$bu" \
		"$pfn" "$(div "$pfc" 1 1e-6 %.1f)" "$pfu" "${out:+(left out: $out)}")")
	if [[ $out != *probed* ]]; then
		((sm_start)) || { sm_win_us+=("$smu"); bpf_win_us+=("$bu"); }
		((pf_start)) || pf_win_us+=("$pfu")
	fi
done

# Over the run: from the start to the last look.
kl=$((nwin - 1))
tl=${win_s[kl]}
sm_run_n=$(smolder_samples "${win_at[0]}" "${win_at[kl]}")
pf_run_n=$(perf_samples "${win_at[0]}" "${win_at[kl]}")
read -r sm_user sm_sys sm_maxrss sm_wall _ <"$work/smolder.ru"
read -r pf_user pf_sys pf_maxrss pf_wall _ <"$work/perf.ru"

# Syscalls.
sys_sm=$(awk -F, '$3 ~ /raw_syscalls:sys_enter/ { print $1 }' "$work/syscalls-smolder.csv" 2>/dev/null || true)
sys_pf=$(awk -F, '$3 ~ /raw_syscalls:sys_enter/ { print $1 }' "$work/syscalls-perf.csv" 2>/dev/null || true)
sys_sm_n="" sys_pf_n=""
if [ -n "$sys_at" ]; then
	sys_to=$(awk -v a="$sys_at" -v d=$((sys1 - sys0)) 'BEGIN { printf "%.6f", a + d }')
	sys_sm_n=$(smolder_samples "$sys_at" "$sys_to")
	sys_pf_n=$(perf_samples "$sys_at" "$sys_to")
fi
# top_syscalls TOOL: "name calls (share), ..." for the 6 most called, from the tracer's
# summary (perf trace: one section per thread, headed "comm (TID), N events").
top_syscalls() {
	local tool=$1 pid tids
	[ "$tool" = smolder ] && pid=$sm || pid=$pf
	if [ "$tracer" = "perf trace -s" ]; then
		[ -s "$work/trace.txt" ] || return 0
		tids=$(cat "$work/tids-$tool" 2>/dev/null || true)
		awk -v tids=" $tids " '
			/^ .* \([0-9]+\), [0-9]+ events/ {
				t = $0; sub(/.*\(/, "", t); sub(/\).*/, "", t); on = index(tids, " " t " ") > 0; next }
			on && NF >= 3 && $2 ~ /^[0-9]+$/ && $1 !~ /^-/ { n[$1] += $2; all += $2 }
			END { for (k = 0; k < 6; k++) { b = ""; bn = 0
				for (s in n) if (n[s] > bn) { bn = n[s]; b = s }
				if (b == "") break
				printf "%s%s %d (%.0f%%)", k ? ", " : "", b, bn, 100 * bn / all; delete n[b] }
			      if (!all) printf "none seen" }' "$work/trace.txt"
	elif [ "$tracer" = "strace -c -f" ]; then
		awk '$NF != "total" && $4 ~ /^[0-9]+$/ && NF >= 5 { n[$NF] += $4; all += $4 }
			END { for (k = 0; k < 6; k++) { b = ""; bn = 0
				for (s in n) if (n[s] > bn) { bn = n[s]; b = s }
				if (b == "") break
				printf "%s%s %d (%.0f%%)", k ? ", " : "", b, bn, 100 * bn / all; delete n[b] }
			      if (!all) printf "none seen" }' "$work/strace-$tool.txt" 2>/dev/null || true
	fi
}

# Labels: per sample of the pprof export, does it have exe / service / any label set,
# and is its stack kernel-only?
labels_report() {
	"$SMOLDER" export "$work/engine.smolder" --format pprof -o "$work/engine.pb.gz"
	go tool pprof -raw "$work/engine.pb.gz" 2>/dev/null | awk '
		/^Samples:/ { sec = "s"; next }
		/^Locations/ { sec = "l"; next }
		/^Mappings/ { sec = "m"; next }
		sec == "s" && /^ +[0-9]+ +[0-9]+: / {
			ns++; w[ns] = $1; st = $0; sub(/^ +[0-9]+ +[0-9]+: /, "", st); stk[ns] = st; next }
		sec == "s" && ns && /:\[/ { lab[ns] = lab[ns] " " $0; next }
		sec == "l" && /^ +[0-9]+: / { id = $1; sub(/:/, "", id)
			locm[id] = ($3 ~ /^M=/) ? substr($3, 3) : ""; next }
		sec == "m" && /^[0-9]+: / && /\[kernel\.kallsyms\]/ { id = $1; sub(/:/, "", id); km[id] = 1 }
		END {
			for (i = 1; i <= ns; i++) {
				total += w[i]
				kern = 1; nloc = split(stk[i], ids, " ")
				for (j = 1; j <= nloc; j++) if (!((ids[j]) in locm) || !km[locm[ids[j]]]) kern = 0
				if (!nloc) kern = 0
				noset = lab[i] !~ /(exe|service|cgroup|unit|build_id):\[/
				if (lab[i] !~ / exe:\[/) {
					noexe += w[i]
					if (kern) noexe_k += w[i]
					else if (noset) noexe_gone += w[i]
					else {
						noexe_other += w[i]; c = lab[i]
						if (match(c, /comm:\[[^]]*\]/)) c = substr(c, RSTART + 6, RLENGTH - 7)
						else c = "?"
						comm[c] += w[i]
					}
				}
				if (lab[i] !~ / service:\[/) { nosvc += w[i]; if (kern) nosvc_k += w[i] }
			}
			top = ""
			for (k = 0; k < 3; k++) { b = ""; bn = 0
				for (c in comm) if (comm[c] > bn) { bn = comm[c]; b = c }
				if (b == "") break
				top = top (k ? ", " : "") b " " bn; delete comm[b] }
			printf "%d %d %d %d %d %d %d\n", total, noexe, noexe_k, noexe_gone, noexe_other, nosvc, nosvc_k
			print (top == "" ? "-" : top)
		}'
}

# ---- the report ----

echo "bench-engine: workload started $(cat "$work/spawn.count" 2>/dev/null || echo '?') short commands" \
	"from the spawn loop and $(cat "$work/workers.count" 2>/dev/null || echo '?') ~10 ms workers;" \
	"$((forks1 - forks0)) processes were created on the machine meanwhile; load average now" \
	"$(cut -d' ' -f1 /proc/loadavg)"
((late <= 2)) || echo "bench-engine: the machine was overloaded: steps of this script ran up to $late s late"
echo
echo "10 s windows (us/smp = profiler CPU per sample; BPF = smolder's BPF run time per sample):"
printf '  %-11s  %6s %9s %9s %8s   %6s %9s %9s\n' window "smolder" "CPU ms" "us/smp" "BPF us" \
	"perf" "CPU ms" "us/smp"
printf '%s\n' "${win_lines[@]}"
echo

row='%-44s %-32s %s\n'
# shellcheck disable=SC2059
{
	printf "$row" "" "smolder record -a" "perf record -a -g"
	printf "$row" "samples (whole run)" "$sm_total" "$pf_total"
	printf "$row" "lost samples" "${sm_lost:-?}" "$pf_lost (from 'lost N chunks' warnings)"
	printf "$row" "CPU per sample, median of 10 s windows" \
		"$(median "${sm_win_us[@]}") us ($(minmax "${sm_win_us[@]}"))" \
		"$(median "${pf_win_us[@]}") us ($(minmax "${pf_win_us[@]}"))"
	printf "$row" "  (windows in the median)" "${#sm_win_us[@]} of $nfull" "${#pf_win_us[@]} of $nfull"
	printf "$row" "CPU per sample, 0-$tl s (with start-up)" \
		"$(div "${sm_cpu[kl]}" "$sm_run_n" 0.001 %.2f) us ($(div "${sm_cpu[kl]}" 1 1e-6 %.0f) ms / $sm_run_n)" \
		"$(div "${pf_cpu[kl]}" "$pf_run_n" 0.001 %.2f) us ($(div "${pf_cpu[kl]}" 1 1e-6 %.0f) ms / $pf_run_n)"
	printf "$row" "CPU per sample, exec to exit (rusage)" \
		"$(div $((sm_user + sm_sys)) "$sm_total" 1 %.2f) us ($(div $((sm_user + sm_sys)) 1 0.001 %.0f) ms, sys $(div "$sm_sys" 1 0.001 %.0f))" \
		"$(div $((pf_user + pf_sys)) "$pf_total" 1 %.2f) us ($(div $((pf_user + pf_sys)) 1 0.001 %.0f) ms, sys $(div "$pf_sys" 1 0.001 %.0f))"
	printf "$row" "recording time, asked $D s" "${sm_secs:-?} s (its closing line)" "$D s (sleep $D)"
	printf "$row" "wall, exec to exit" "$(div "$sm_wall" 1 1e-6 %.1f) s" "$(div "$pf_wall" 1 1e-6 %.1f) s"
	printf "$row" "BPF run time per sample, median of windows" "$(median "${bpf_win_us[@]}") us" \
		"n/a (in the interrupt, no counter)"
	printf "$row" "BPF run time per sample, 0-$tl s (all)" \
		"$(div "${bpf_rt[kl]}" "$sm_run_n" 0.001 %.2f) us ($(div "${bpf_rt[kl]}" 1 1e-6 %.0f) ms)" ""
	for id in $(printf '%s\n' "${!prog_name[@]}" | sort -n); do
		printf "$row" "  prog ${prog_name[$id]:-?} (type ${prog_type[$id]})" \
			"$(div "${prog_rt[$id]}" "$sm_run_n" 0.001 %.2f) us/smp" \
			"${prog_cnt[$id]} runs, $(div "${prog_rt[$id]}" "${prog_cnt[$id]}" 1 %.0f) ns/run"
	done
	printf "$row" "syscalls per sample, $sys0-$sys1 s" \
		"$(div "$sys_sm" "$sys_sm_n" 1 %.2f) (${sys_sm:-?} / $sys_sm_n)" \
		"$(div "$sys_pf" "$sys_pf_n" 1 %.2f) (${sys_pf:-?} / $sys_pf_n)"
	for c in "${rss_at[@]}"; do
		printf "$row" "RSS at $c s (MiB)" "$(mib "${rss[smolder:$c]:-}")" "$(mib "${rss[perf:$c]:-}")"
	done
	printf "$row" "peak RSS: VmHWM at $end s / max RSS to exit" \
		"$(mib "${hwm[smolder]:-}") / $(mib "$sm_maxrss") MiB" "$(mib "${hwm[perf]:-}") / $(mib "$pf_maxrss") MiB"
} | tee "$work/table.txt"

if [ -n "$tracer" ]; then
	echo "top syscalls, $tr0-$tr1 s ($tracer; windows touched are left out of the median):"
	echo "  smolder: $(top_syscalls smolder)"
	echo "  perf:    $(top_syscalls perf)"
else
	echo "top syscalls: n/a (neither perf trace nor strace works here)"
fi

echo "smolder engine counters (-v stats lines):"
stats=$(sed -n 's/^smolder: stats //p' "$work/smolder.log")
if [ -z "$stats" ]; then
	echo "  n/a (smolder prints no stats)"
else
	awk '{ for (i = 1; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = substr($i, length(k) + 2)
			if (!(k in val)) order[++n] = k; val[k] = v } }
		END {
			for (i = 1; i <= n; i++) { k = order[i]
				if (k ~ /_hits$/) { b = substr(k, 1, length(k) - 5)
					if ((b "_misses") in val) { h = val[k]; m = val[b "_misses"]
						printf "  %-34s %s (%s hits, %s misses)\n", b " hit rate",
							(h + m) ? sprintf("%.1f%%", 100 * h / (h + m)) : "-", h, m
						done[k] = done[b "_misses"] = 1; continue } }
				if (k ~ /_misses$/ && ((substr(k, 1, length(k) - 7) "_hits") in val)) continue
				printf "  %-34s %s\n", k, val[k] } }' <<<"$stats"
fi

echo "samples without labels (whole file, smolder):"
if [ -z "$have_go" ]; then
	echo "  n/a (needs 'go tool pprof' to read the labels: apt-get install golang-go)"
else
	{
		read -r l_total l_noexe l_noexe_k l_gone l_other l_nosvc l_nosvc_k
		read -r l_top
	} < <(labels_report)
	pct() { div "$1" "$l_total" 100 %.2f%%; }
	echo "  exe empty:     $(pct "$l_noexe") ($l_noexe of $l_total): kernel-only stacks $l_noexe_k," \
		"no label set (process gone before /proc was read) $l_gone, other $l_other${l_top:+ (top comms: $l_top)}"
	echo "  service empty: $(pct "$l_nosvc") ($l_nosvc of $l_total), kernel-only stacks $l_nosvc_k"
	echo "  without kernel-only stacks: exe empty $(div $((l_noexe - l_noexe_k)) $((l_total - l_noexe_k)) 100 %.2f%%)," \
		"service empty $(div $((l_nosvc - l_nosvc_k)) $((l_total - l_nosvc_k)) 100 %.2f%%)"
fi
echo
echo "smolder's closing lines:"
grep '^smolder: ' "$work/smolder.log" | grep -v '^smolder: stats ' | sed 's/^/  | /' || true
