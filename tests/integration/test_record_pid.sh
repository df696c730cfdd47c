#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record -p PID: profiling a running process with a known split of CPU time gives the
# expected number of samples, the expected per-function shares, stacks that reach main,
# and well-formed folded and SVG output.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# The shares are checked to +-5 points: HZ is high enough that they rest on many
# samples (hundreds) even when the machine is busy and the fixture gets half a CPU
# (at 99 Hz, 130-190 samples in 3 s then: func_a's share varied by 2.4 points rms).
HZ=499
SECS=5

start_fixture shares_fp
pid=$FIXTURE_PID

# ---- folded ----
cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read /proc/$pid/stat"
run_smolder pid_folded 60 record -p "$pid" -F "$HZ" -d "$SECS" -o "$WORK/out.folded"
cpu1=$(proc_cpu_ms "$pid") || t_fail "the profiled process is gone"
assert_rc 0 "record -p $pid -o out.folded"
assert_folded "$WORK/out.folded" shares_fp

# One process with one busy thread: one sample per 1/HZ s of its CPU time (SECONDS x HZ
# only when the machine is otherwise idle).
samples=$(summary_samples "$T_LAST_STDERR")
[[ -n $samples ]] || t_fail "no 'N samples' in the summary on stderr"
lost=$(summary_lost "$T_LAST_STDERR")
[[ -n $lost ]] || t_fail "no 'L lost' in the summary on stderr"
t_log "summary: $samples samples, $lost lost"
assert_sample_count "$samples" "$HZ" "$(( cpu1 - cpu0 ))" "$ELAPSED_MS" "$(summary_window_ms "$T_LAST_STDERR")"
# The summary counts what was written: the folded counts add up to it.
assert_eq "$(folded_total "$WORK/out.folded")" "$samples" "sum of the folded counts vs the summary's sample count"

assert_shares "$WORK/out.folded"

# ---- SVG, format chosen from the suffix of -o ----
run_smolder pid_svg 60 record -p "$pid" -F "$HZ" -d 2 -o "$WORK/out.svg"
assert_rc 0 "record -p $pid -o out.svg"
[[ -s $WORK/out.svg ]] || t_fail "out.svg is missing or empty"
grep -q '<svg' "$WORK/out.svg" || t_fail "out.svg has no <svg element"
grep -q 'func_a' "$WORK/out.svg" || t_fail "out.svg does not mention func_a"
grep -q '</svg>' "$WORK/out.svg" || t_fail "out.svg is not closed (no </svg>)"
t_log "ok: out.svg is an SVG flame graph with func_a ($(wc -c <"$WORK/out.svg") bytes)"

t_running "$pid" || t_fail "the profiled process died during profiling"
t_finish
