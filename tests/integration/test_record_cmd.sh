#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record -- CMD: smolder starts the command once sampling is attached, profiles it
# until it exits, then ends by itself and writes the profile.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# The shares are checked to +-5 points: HZ is high enough that they rest on many
# samples (hundreds) even when the machine is busy and the fixture gets half a CPU
# (at 99 Hz, 130-190 samples in 3 s then: func_a's share varied by 2.4 points rms).
HZ=499
SECS=4
[[ -x $FIXTURES/shares_fp ]] || t_fail "fixture not built: $FIXTURES/shares_fp"

# Guard of 30 s: the child runs 4 s; a run still going at 30 s did not end by itself.
run_smolder cmd 30 record -F "$HZ" -o "$WORK/out.folded" -- "$FIXTURES/shares_fp" "$SECS"
assert_rc 0 "record -- shares_fp $SECS"

# The child inherits smolder's stdout and announces its pid there.
child=$(grep -oE '^shares_fp: pid [0-9]+$' "$WORK/cmd.stdout" | grep -oE '[0-9]+$')
[[ -n $child ]] || t_fail "the command did not run (no 'shares_fp: pid N' on stdout)"
if t_running "$child" && [[ $(cat "/proc/$child/comm" 2>/dev/null) == shares_fp ]]; then
	t_fail "record returned while its command (pid $child) is still running"
fi
# It ended because the command exited, well before the guard.
assert_le "$ELAPSED_MS" 15000 "duration of record -- CMD with a ${SECS} s command (ms)"

# Every sample is the command's: record leaves out those of the forked child before
# its exec (they show smolder starting it, under smolder's name).
assert_folded "$WORK/out.folded" shares_fp

# Sampling is attached before the command starts and lasts until it exits: its whole
# life is in the profile.  The command reports the CPU time it used when it exits.
samples=$(summary_samples "$T_LAST_STDERR")
[[ -n $samples ]] || t_fail "no 'N samples' in the summary on stderr"
t_log "summary: $samples samples, $(summary_lost "$T_LAST_STDERR") lost"
assert_eq "$(folded_total "$WORK/out.folded")" "$samples" "sum of the folded counts vs the summary's sample count"
cpu=$(grep -oE '^shares_fp: cpu [0-9]+ ms$' "$WORK/cmd.stdout" | grep -oE '[0-9]+ ms$' | grep -oE '^[0-9]+')
[[ -n $cpu ]] || t_fail "the command did not report its CPU time (did it exit by itself?)"
assert_sample_count "$samples" "$HZ" "$cpu"

assert_shares "$WORK/out.folded"
t_finish
