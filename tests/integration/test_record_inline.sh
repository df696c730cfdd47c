#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record --inline shows functions inlined into a sampled frame, from DWARF, as perf
# does ("NAME (inlined)", after the function they were inlined into); without
# --inline, no such frame appears. debug_fixture's smolder_dbg_burn spends its time
# in smolder_dbg_inlined_leaf, which is always inlined into it.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

fx=$FIXTURES/debug_fixture
[[ -x $fx ]] || t_fail "fixture not built: $fx"

run_smolder inline 60 record --inline -F 199 -o "$WORK/inline.folded" -- "$fx" burn 2000
assert_rc 0 "record --inline -- debug_fixture burn"
# Every sample is the command's: record leaves out those of the forked child before
# its exec (they show smolder starting it).
assert_folded "$WORK/inline.folded" debug_fixture
grep '^debug_fixture;' "$WORK/inline.folded" >"$WORK/fixture.folded"
# The inlined frame sits right after the function it was inlined into.
inlined=$(awk '{ n = $NF; t += n } /;smolder_dbg_burn;smolder_dbg_inlined_leaf \(inlined\)( |;)/ { i += n }
	END { if (t) printf "%.1f\n", 100 * i / t; else print 0 }' "$WORK/fixture.folded")
assert_ge "$inlined" 20 "samples in smolder_dbg_inlined_leaf, inlined into smolder_dbg_burn (%)"

run_smolder plain 60 record -F 199 -o "$WORK/plain.folded" -- "$fx" burn 1000
assert_rc 0 "record -- debug_fixture burn"
assert_eq "$(grep -c '(inlined)' "$WORK/plain.folded")" 0 "stacks with inlined frames without --inline"
assert_ge "$(folded_share "$WORK/plain.folded" smolder_dbg_burn)" 90 "samples in smolder_dbg_burn (%)"
t_log "PASS"
