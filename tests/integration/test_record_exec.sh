#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A process that execs another program keeps its pid: the samples after the exec
# must carry the new program's names and labels (exe), not what was cached for the
# old image. exec_after burns 1 s, then becomes shares_fp for 2 s (wall time both).
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

run_smolder exec 60 record -F 199 -o "$WORK/exec.smolder" -- \
	"$FIXTURES/exec_after" 1 "$FIXTURES/shares_fp" 2
assert_rc 0 "record -- exec_after 1 shares_fp 2"
# shares_fp reports the process's CPU time at its end, the 1 s before the exec included
# (a process's CPU clock runs on across exec).
cpu=$(grep -oE '^shares_fp: cpu [0-9]+ ms$' "$WORK/exec.stdout" | grep -oE '[0-9]+ ms$' | grep -oE '^[0-9]+')
[[ -n $cpu ]] || t_fail "shares_fp did not report its CPU time (did the exec happen?)"
assert_sample_count "$(summary_samples "$T_LAST_STDERR")" 199 "$cpu"

run_smolder before 30 flamegraph "$WORK/exec.smolder" --label "exe=$FIXTURES/exec_after" \
	--format folded -o "$WORK/before.folded"
assert_rc 0 "flamegraph --label exe=exec_after"
run_smolder after 30 flamegraph "$WORK/exec.smolder" --label "exe=$FIXTURES/shares_fp" \
	--format folded -o "$WORK/after.folded"
assert_rc 0 "flamegraph --label exe=shares_fp"

# Before the exec: exec_after's own function; after it: shares_fp's, under its exe.
assert_ge "$(folded_share "$WORK/before.folded" burn_before_exec)" 90 \
	"samples labelled exe=exec_after in burn_before_exec (%)"
# The old image ran at most 1 s of wall time, so at most 1000 ms of the CPU time was
# before the exec: the rest, at 199 Hz (-15%), must be labelled shares_fp. (On a machine
# so busy that the process got less than 1 s of CPU in all, at least one sample.)
after_min=$(( 199 * (cpu - 1000) * 85 / 100000 ))
(( after_min >= 1 )) || after_min=1
assert_ge "$(folded_total "$WORK/after.folded")" "$after_min" \
	"samples labelled exe=shares_fp (199 Hz x its CPU time less the 1 s before the exec, -15%)"
assert_ge "$(folded_share "$WORK/after.folded" main)" 95 "samples of shares_fp that reach its main (%)"
assert_eq "$(grep -c burn_before_exec "$WORK/after.folded")" 0 \
	"stacks labelled shares_fp that carry the old program's names"
t_log "PASS"
