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

# assert_whole_stacks FOLDED: the worker's samples unwind to the thread's start.
assert_whole_stacks() {
	assert_folded "$1"
	assert_ge "$(folded_share "$1" worker)" 90 "samples in the worker thread (%)"
	assert_ge "$(folded_share "$1" start_thread)" 90 "samples whose stack reaches start_thread (%)"
	assert_ge "$(folded_share "$1" clone3)" 90 "samples whose stack reaches clone3 (%)"
	assert_eq "$(folded_share "$1" '[truncated]')" 0.0 "samples cut short, [truncated] (%)"
}

# ---- record -- CMD: sampling is attached before the command starts, so its whole
# life is in the profile: one sample per 1/HZ s of the CPU time it reports.
run_smolder cmd 60 record -F "$HZ" -o "$WORK/cmd.folded" -- "$FIXTURES/leader_exits" "$SECS"
assert_rc 0 "record -- leader_exits $SECS"
cpu=$(fixture_cpu_ms "$WORK/cmd.stdout")
[[ -n $cpu ]] || t_fail "leader_exits did not report its CPU time (did it run to the end?)"
assert_sample_count "$(summary_samples "$T_LAST_STDERR")" "$HZ" "$cpu" "$SECS"
assert_whole_stacks "$WORK/cmd.folded"

# ---- record -p: the CPU time the target used from before smolder started until it
# exited. smolder's start-up (loading BPF) is in it and not sampled, so the count is
# only bounded from below loosely; a record that stopped when the leader exited
# would have next to nothing.
start_fixture leader_exits $(( SECS + 1 ))
cpu0=$(proc_cpu_ms "$FIXTURE_PID") || t_fail "cannot read /proc/$FIXTURE_PID/stat"
run_smolder pid 60 record -F "$HZ" -p "$FIXTURE_PID" -d 30 -o "$WORK/pid.folded"
assert_rc 0 "record -p leader_exits"
cpu1=$(fixture_cpu_ms "$WORK/leader_exits.out")
[[ -n $cpu1 ]] || t_fail "leader_exits did not report its CPU time (did it run to the end?)"
expected=$(( HZ * (cpu1 - cpu0) / 1000 ))
t_log "target used $(( cpu1 - cpu0 )) ms of CPU during the run: up to $expected samples"
samples=$(summary_samples "$T_LAST_STDERR")
assert_ge "$samples" $(( expected * 70 / 100 )) "samples with -p of a process whose leader exited at once"
assert_le "$samples" $(( expected * 115 / 100 )) "samples with -p vs HZ x target CPU time"
assert_whole_stacks "$WORK/pid.folded"
t_log "PASS"
