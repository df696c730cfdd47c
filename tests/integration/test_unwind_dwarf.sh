#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# --unwind auto (DWARF over the user-stack snapshot) gives whole stacks where frame
# pointers do not: a build with no frame pointers, a frame-pointer build whose leaf
# has no frame, and a hot function called back from libc (qsort's comparator; Debian's
# libc has no frame pointers). Each case checks the known split of CPU time and that
# the stacks reach main. The same runs with --unwind fp show what was missing, so
# the test also fails if the fixtures stop exercising the case they are named after.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# Shares are checked to four standard errors of the sample count (assert_share): at
# this rate a fixture that gets a sixth of a CPU still has some 500 samples.
HZ=499
SECS=3

# check_case FIXTURE MODE FUNC:SHARE..: profile FIXTURE MODE with auto and fp unwinding.
check_case() {
	local fixture=$1 mode=$2 spec func share
	shift 2
	start_fixture "$fixture" "$mode"
	local pid=$FIXTURE_PID

	run_smolder "$fixture-$mode-auto" 60 record -p "$pid" -F "$HZ" -d "$SECS" -o "$WORK/$fixture-$mode.folded"
	assert_rc 0 "record --unwind auto on $fixture $mode"
	assert_folded "$WORK/$fixture-$mode.folded" "$fixture"
	for spec in "$@"; do
		func=${spec%%:*} share=${spec##*:}
		assert_share "$WORK/$fixture-$mode.folded" "$func" "$share" \
			"$fixture $mode: share of $func (%)"
	done
	assert_ge "$(folded_share "$WORK/$fixture-$mode.folded" main)" 95 \
		"$fixture $mode: samples whose stack reaches main (%)"
	assert_ge "$(folded_share "$WORK/$fixture-$mode.folded" _start)" 90 \
		"$fixture $mode: samples whose stack reaches _start (%)"

	# The frame-pointer walk alone must lose the first function's frame here,
	# otherwise this case does not test DWARF unwinding.
	run_smolder "$fixture-$mode-fp" 60 record --unwind fp -p "$pid" -F "$HZ" -d 1 -o "$WORK/$fixture-$mode-fp.folded"
	assert_rc 0 "record --unwind fp on $fixture $mode"
	func=${1%%:*}
	assert_le "$(folded_share "$WORK/$fixture-$mode-fp.folded" "$func")" 20 \
		"$fixture $mode with --unwind fp: share of $func (%), which frame pointers miss"

	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

check_case unwind_nofp direct func_a:60 func_b:30 func_c:10
check_case unwind_fp_leaf direct func_a:60 func_b:30 func_c:10
check_case unwind_nofp qsort sort_a:70 sort_b:30 compare:100
check_case unwind_fp_leaf qsort sort_a:70 sort_b:30 compare:100

# --unwind dwarf is accepted and gives the same whole stacks.
start_fixture unwind_nofp direct
run_smolder dwarf 60 record --unwind dwarf -p "$FIXTURE_PID" -F "$HZ" -d 2 -o "$WORK/dwarf.folded"
assert_rc 0 "record --unwind dwarf"
assert_ge "$(folded_share "$WORK/dwarf.folded" main)" 95 "--unwind dwarf: samples reaching main (%)"

# A snapshot too small for the stack ends in [truncated], counted in the summary,
# never in a stack that looks whole.
run_smolder small 60 record --stack-bytes 64 -p "$FIXTURE_PID" -F "$HZ" -d 1 -o "$WORK/small.folded"
assert_rc 0 "record --stack-bytes 64"
truncated=$(grep -oE '[0-9]+ truncated' "$T_LAST_STDERR" | grep -oE '^[0-9]+')
assert_ge "${truncated:-0}" 1 "stacks reported truncated with a 64-byte snapshot"
assert_ge "$(folded_share "$WORK/small.folded" '[truncated]')" 50 "samples marked [truncated] (%)"
t_log "PASS"
