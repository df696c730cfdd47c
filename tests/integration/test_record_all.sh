#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record -a samples every process on the machine: a busy fixture shows up with its
# whole share of samples and its own stacks beside whatever else ran, and smolder
# itself is never in the profile.
#
# Both are picked out by pid (the profile is written as a smolder file, which keeps
# the pid label), not by name: on a shared machine other shares_fp and smolder
# processes (other test runs) are in the profile too.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# The shares are checked to +-5 points: HZ is high enough that they rest on many
# samples (hundreds) even when the machine is busy and the fixture gets half a CPU
# (at 99 Hz, 130-190 samples in 3 s then: func_a's share varied by 2.4 points rms).
HZ=499
start_fixture shares_fp
pid=$FIXTURE_PID
cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read /proc/$pid/stat"

# In the background, to know smolder's own pid.
T_LAST_CMD="smolder record -a -F $HZ -d 3 -o $WORK/all.smolder"
T_LAST_STDERR=$WORK/all.stderr
t0=$(t_now_ms)
"$SMOLDER" record -a -F "$HZ" -d 3 -o "$WORK/all.smolder" >"$WORK/all.stdout" 2>"$T_LAST_STDERR" &
self=$!
t_bg_register "$self"
wait_bounded "$self" 60
span_ms=$(( $(t_now_ms) - t0 ))
cpu1=$(proc_cpu_ms "$pid") || t_fail "the fixture exited during the run"
t_log "$T_LAST_CMD (pid $self) -> exit $RC in $span_ms ms"
assert_rc 0 "record -a"
window_ms=$(summary_window_ms "$T_LAST_STDERR")
[[ -s $WORK/all.smolder ]] || t_fail "no output"

run_smolder all_folded 60 flamegraph "$WORK/all.smolder" --format folded -o "$WORK/all.folded"
assert_rc 0 "flamegraph all.smolder --format folded"
assert_folded "$WORK/all.folded"

# The fixture's samples: HZ x its CPU time, +-15%, and its known split.
run_smolder fixture 60 flamegraph "$WORK/all.smolder" --pid "$pid" --format folded \
	-o "$WORK/fixture.folded"
assert_rc 0 "flamegraph all.smolder --pid FIXTURE"
assert_folded "$WORK/fixture.folded" shares_fp
assert_sample_count "$(folded_total "$WORK/fixture.folded")" "$HZ" "$(( cpu1 - cpu0 ))" \
	"$span_ms" "$window_ms"
assert_shares "$WORK/fixture.folded"

# None of smolder's own.
run_smolder self 60 flamegraph "$WORK/all.smolder" --pid "$self" --format folded \
	-o "$WORK/self.folded"
assert_rc 0 "flamegraph all.smolder --pid SMOLDER"
assert_eq "$(folded_total "$WORK/self.folded")" 0 "samples of smolder itself (pid $self)"
t_log "PASS"
