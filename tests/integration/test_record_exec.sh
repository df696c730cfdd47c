#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A process that execs another program keeps its pid: the samples after the exec
# must carry the new program's names and labels (exe), not what was cached for the
# old image. exec_after burns 1 s, then becomes shares_fp for 2 s.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

run_smolder exec 60 record -F 199 -o "$WORK/exec.smolder" -- \
	"$FIXTURES/exec_after" 1 "$FIXTURES/shares_fp" 2
assert_rc 0 "record -- exec_after 1 shares_fp 2"

run_smolder before 30 flamegraph "$WORK/exec.smolder" --label "exe=$FIXTURES/exec_after" \
	--format folded -o "$WORK/before.folded"
assert_rc 0 "flamegraph --label exe=exec_after"
run_smolder after 30 flamegraph "$WORK/exec.smolder" --label "exe=$FIXTURES/shares_fp" \
	--format folded -o "$WORK/after.folded"
assert_rc 0 "flamegraph --label exe=shares_fp"

# Before the exec: exec_after's own function; after it: shares_fp's, under its exe.
assert_ge "$(folded_share "$WORK/before.folded" burn_before_exec)" 90 \
	"samples labelled exe=exec_after in burn_before_exec (%)"
assert_ge "$(folded_total "$WORK/after.folded")" 199 "samples labelled exe=shares_fp (about 2 s at 199 Hz)"
assert_ge "$(folded_share "$WORK/after.folded" main)" 95 "samples of shares_fp that reach its main (%)"
assert_eq "$(grep -c burn_before_exec "$WORK/after.folded")" 0 \
	"stacks labelled shares_fp that carry the old program's names"
t_log "PASS"
