#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A process whose main thread exits first (pthread_exit) while another thread works
# is still alive: record follows it until its last thread ends, for -p and -- CMD,
# instead of stopping at once because the leader is a zombie.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=99

run_smolder cmd 60 record -F "$HZ" -o "$WORK/cmd.folded" -- "$FIXTURES/leader_exits" 3
assert_rc 0 "record -- leader_exits 3"
# The worker burns ~3 s of CPU: HZ x 3 samples if record stayed to the end.
assert_ge "$(summary_samples "$T_LAST_STDERR")" $(( HZ * 3 * 70 / 100 )) \
	"samples of a process whose leader exited at once (expected ~$(( HZ * 3 )))"
assert_ge "$(folded_share "$WORK/cmd.folded" worker)" 90 "samples in the worker thread (%)"

start_fixture leader_exits 4
run_smolder pid 60 record -F "$HZ" -p "$FIXTURE_PID" -d 30 -o "$WORK/pid.folded"
assert_rc 0 "record -p leader_exits"
assert_ge "$(summary_samples "$T_LAST_STDERR")" $(( HZ * 3 * 70 / 100 )) \
	"samples with -p of a process whose leader exited at once"
t_log "PASS"
