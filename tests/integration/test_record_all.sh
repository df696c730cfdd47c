#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record -a samples every process on the machine: a busy fixture shows up with its
# whole share of samples and its own stacks beside whatever else ran, and smolder
# itself is never in the profile.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=99
start_fixture shares_fp
pid=$FIXTURE_PID
cpu0=$(proc_cpu_ms "$pid")
run_smolder all 60 record -a -F "$HZ" -d 3 -o "$WORK/all.folded"
cpu1=$(proc_cpu_ms "$pid")
assert_rc 0 "record -a"
[[ -s $WORK/all.folded ]] || t_fail "no output"

# Only the fixture's lines: its samples are HZ x its CPU time, +-15%.
grep '^shares_fp;' "$WORK/all.folded" >"$WORK/fixture.folded" || t_fail "shares_fp is not in the -a profile"
assert_sample_count "$(folded_total "$WORK/fixture.folded")" "$HZ" "$(( cpu1 - cpu0 ))" \
	"$ELAPSED_MS" "$(summary_window_ms "$T_LAST_STDERR")"
assert_shares "$WORK/fixture.folded"
assert_eq "$(grep -c '^smolder;' "$WORK/all.folded")" 0 "stacks of smolder itself"
t_log "PASS"
