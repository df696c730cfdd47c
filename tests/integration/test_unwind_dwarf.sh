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

# Frames are cached by their place in a file, shared by the processes that map it:
# two programs whose code is laid out alike (the same source, its functions renamed)
# each keep their own names, recorded together. The twin's functions must be at the
# same addresses, else this case tests nothing.
for f in a b c; do
	addr_alpha=$(nm "$FIXTURES/unwind_alpha" | awk -v f="alpha_$f" '$3 == f { print $1 }')
	addr_beta=$(nm "$FIXTURES/unwind_beta" | awk -v f="beta_$f" '$3 == f { print $1 }')
	[[ -n $addr_alpha && $addr_alpha == "$addr_beta" ]] ||
		t_fail "alpha_$f at '$addr_alpha' and beta_$f at '$addr_beta': the fixtures are not laid out alike"
done
start_fixture unwind_alpha direct
alpha=$FIXTURE_PID
start_fixture unwind_beta direct
beta=$FIXTURE_PID
run_smolder twins 60 record -v -p "$alpha,$beta" -F "$HZ" -d "$SECS" -o "$WORK/twins.folded"
assert_rc 0 "record -p of unwind_alpha and unwind_beta"
assert_eq "$(grep -c '^unwind_alpha;.*beta_' "$WORK/twins.folded")" 0 \
	"unwind_alpha's stacks with a function of unwind_beta"
assert_eq "$(grep -c '^unwind_beta;.*alpha_' "$WORK/twins.folded")" 0 \
	"unwind_beta's stacks with a function of unwind_alpha"
for x in alpha beta; do
	grep "^unwind_$x;" "$WORK/twins.folded" >"$WORK/twins-$x.folded"
	assert_share "$WORK/twins-$x.folded" "${x}_a" 60 "unwind_$x: share of ${x}_a (%)"
	assert_share "$WORK/twins-$x.folded" "${x}_b" 30 "unwind_$x: share of ${x}_b (%)"
	assert_ge "$(folded_share "$WORK/twins-$x.folded" main)" 95 \
		"unwind_$x: samples whose stack reaches main (%)"
done
file_hits=$(grep -oE 'frame_cache_file_hits=[0-9]+' "$T_LAST_STDERR" | grep -oE '[0-9]+$')
assert_ge "${file_hits:-0}" 1 "frames named from the cache by their place in a file"
kill "$alpha" "$beta" 2>/dev/null
wait "$alpha" "$beta" 2>/dev/null

t_log "PASS"
