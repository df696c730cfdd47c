#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A process whose main thread exits first (pthread_exit) while another thread works
# is still alive: record follows it until its last thread ends, for -p and -- CMD,
# instead of stopping at once because the leader is a zombie. The worker's stacks are
# whole: they reach the thread's outermost frames (clone3, start_thread) and are not
# cut short ([truncated]), though a thread's stack is mapped among the libraries.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=99
SECS=3

# fixture_cpu_ms FILE: the "leader_exits: cpu MS ms" the fixture prints when it is done.
fixture_cpu_ms() {
	grep -oE '^leader_exits: cpu [0-9]+ ms$' "$1" | grep -oE '[0-9]+ ms$' | grep -oE '^[0-9]+'
}

# sampling SMOLDER_PID: smolder has a perf event open on every online CPU.
sampling() {
	local n
	n=$(find "/proc/$1/fd" -lname 'anon_inode:\[perf_event\]' 2>/dev/null | wc -l)
	(( n >= $(getconf _NPROCESSORS_ONLN) ))
}

# stopped PID: every thread of PID that has not exited is stopped.
stopped() {
	local f st
	for f in /proc/"$1"/task/*/stat; do
		st=$(cat "$f" 2>/dev/null) || continue
		st=${st##*) }
		[[ ${st%% *} == [TZ] ]] || return 1
	done
}

# share_among FOLDED FRAME WANT: percentage (one decimal) of the samples whose stack
# has FRAME that also have WANT.
share_among() {
	awk -v have="$2" -v want="$3" '
	{
		n = $NF; s = $0; sub(/ [0-9]+$/, "", s)
		k = split(s, f, ";"); h = w = 0
		for (i = 2; i <= k; i++) { if (f[i] == have) h = 1; if (f[i] == want) w = 1 }
		if (h) { t += n; if (w) hit += n }
	}
	END { if (t == 0) print "0.0"; else printf "%.1f\n", 100 * hit / t }' "$1"
}

# assert_whole_stacks FOLDED: the worker's samples unwind to the thread's start and
# none is cut short. (A sample inside the vDSO, where the worker reads its CPU clock,
# does not unwind past it: smolder has no unwind table for the vDSO; the fixture
# makes those rare.)
assert_whole_stacks() {
	assert_folded "$1"
	assert_ge "$(folded_share "$1" worker)" 90 "samples in the worker thread (%)"
	assert_eq "$(share_among "$1" worker start_thread)" 100.0 "worker samples that reach start_thread (%)"
	assert_eq "$(share_among "$1" worker clone3)" 100.0 "worker samples that reach clone3 (%)"
	assert_eq "$(share_among "$1" worker '[truncated]')" 0.0 "worker samples cut short, [truncated] (%)"
}

# ---- record -- CMD: sampling is attached before the command starts, so its whole
# life is in the profile: one sample per 1/HZ s of the CPU time it reports.
run_smolder cmd 90 record -F "$HZ" -o "$WORK/cmd.folded" -- "$FIXTURES/leader_exits" "$SECS"
assert_rc 0 "record -- leader_exits $SECS"
cpu=$(fixture_cpu_ms "$WORK/cmd.stdout")
[[ -n $cpu ]] || t_fail "leader_exits did not report its CPU time (did it run to the end?)"
assert_sample_count "$(summary_samples "$T_LAST_STDERR")" "$HZ" "$cpu" "$SECS"
assert_whole_stacks "$WORK/cmd.folded"

# ---- record -p: one sample per 1/HZ s of the CPU time the target used while it was
# followed. It is stopped (SIGSTOP) until smolder samples, so smolder's start-up is
# not in that time, however slow a busy machine makes it. A record that stopped when
# the leader exited would have next to nothing.
start_fixture leader_exits "$SECS"
kill -STOP "$FIXTURE_PID"
for (( i = 0; i < 500; i++ )); do
	stopped "$FIXTURE_PID" && break
	sleep 0.01
done
stopped "$FIXTURE_PID" || t_fail "leader_exits (pid $FIXTURE_PID) did not stop on SIGSTOP"
cpu0=$(proc_cpu_ms "$FIXTURE_PID") || t_fail "cannot read /proc/$FIXTURE_PID/stat"
# run_smolder runs in the foreground; this run is in the background, so what t_fail
# reports about it is set here.
# shellcheck disable=SC2034
T_LAST_CMD="smolder record -F $HZ -p $FIXTURE_PID -d 60 -o $WORK/pid.folded"
T_LAST_STDERR=$WORK/pid.stderr
"$SMOLDER" record -F "$HZ" -p "$FIXTURE_PID" -d 60 -o "$WORK/pid.folded" \
	>"$WORK/pid.stdout" 2>"$T_LAST_STDERR" &
spid=$!
t_bg_register "$spid"
for (( i = 0; i < 1000; i++ )); do
	if sampling "$spid" || ! t_running "$spid"; then
		break
	fi
	sleep 0.01
done
sampling "$spid" || t_fail "smolder did not start sampling (no perf event on every CPU)"
# The target is added right after the perf events are opened; it is still stopped,
# so waiting longer than that takes costs nothing.
sleep 1
kill -CONT "$FIXTURE_PID"
wait_bounded "$spid" 90
assert_rc 0 "record -p leader_exits"
cpu1=$(fixture_cpu_ms "$WORK/leader_exits.out")
[[ -n $cpu1 ]] || t_fail "leader_exits did not report its CPU time (did it run to the end?)"
assert_sample_count "$(summary_samples "$T_LAST_STDERR")" "$HZ" "$(( cpu1 - cpu0 ))" "$SECS"
assert_whole_stacks "$WORK/pid.folded"
t_log "PASS"
