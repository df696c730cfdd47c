#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The run loop's own behaviour, through record: batches flushed to a store every
# --flush interval add up to the whole run with the right stacks (each flush starts a
# new profile, and the collector must forget the old one's ids), and so do the
# intervals record -o moves to its spill file; -p of a process that
# never runs names its busy child, and --children samples it; SIGHUP ends a run and
# the profile is still written.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=499
[[ -x $FIXTURES/shares_fp ]] || t_fail "fixture not built: $FIXTURES/shares_fp"

# ---- record --store --flush: about 6 batches, together the whole run ----
run_smolder store 60 record -F "$HZ" --store "$WORK/store" --flush 0.5 -- "$FIXTURES/shares_fp" 3
assert_rc 0 "record --store --flush 0.5 -- shares_fp 3"
samples=$(summary_samples "$T_LAST_STDERR")
run_smolder fg 60 flamegraph --store "$WORK/store" --format folded -o "$WORK/store.folded"
assert_rc 0 "flamegraph --store"
assert_folded "$WORK/store.folded" shares_fp
assert_eq "$(folded_total "$WORK/store.folded")" "${samples:-?}" "samples in the store vs the record summary"
# Stacks after the first flush are as right as before it: shares over the whole run.
assert_shares "$WORK/store.folded"
# More than one batch: the store's time range covers most of the 3 s run, and the
# samples of the last second are there too.
run_smolder info 30 info "$WORK/store"
assert_rc 0 "info on the store"
span=$(grep -oE '^time range: .*\(([0-9.]+) s\)' "$WORK/info.stdout" | grep -oE '[0-9.]+ s\)$' | grep -oE '^[0-9.]+')
[[ -n $span ]] || t_fail "info shows no time range: $(cat "$WORK/info.stdout")"
assert_ge "${span%.*}" 2 "seconds covered by the stored batches"

# ---- record -o --flush: intervals moved to a spill file, the output the whole run ----
mkdir -p "$WORK/spill"
run_smolder spill 60 record -v -F "$HZ" --flush 0.5 -o "$WORK/spill/run.folded" -- "$FIXTURES/shares_fp" 3
assert_rc 0 "record -o --flush 0.5 -- shares_fp 3"
samples=$(summary_samples "$T_LAST_STDERR")
spilled=$(grep -oE 'spill_intervals=[0-9]+' "$T_LAST_STDERR" | cut -d= -f2)
assert_ge "${spilled:-0}" 4 "intervals moved to the spill file"
assert_folded "$WORK/spill/run.folded" shares_fp
assert_eq "$(folded_total "$WORK/spill/run.folded")" "${samples:-?}" "samples in the output vs the record summary"
assert_shares "$WORK/spill/run.folded"
# The spill file was never linked into the directory, and nothing else is left there.
assert_eq "$(ls -A "$WORK/spill")" "run.folded" "files beside the output"

# ---- -p of a shell that only waits: the note names its busy child ----
sh -c "'$FIXTURES/shares_fp' 60 >/dev/null & wait" &
SH=$!
t_bg_register "$SH"
for (( i = 0; i < 100; i++ )); do
	kid=$(pgrep -P "$SH" | head -n 1)
	[[ -n $kid ]] && break
	sleep 0.05
done
[[ -n $kid ]] || t_fail "the waiting shell started no child"
t_bg_register "$kid"
sleep 0.3
run_smolder idle 30 record -p "$SH" -F "$HZ" -d 2 -o "$WORK/idle.folded"
assert_rc 0 "record -p of a shell that only waits"
assert_eq "$(summary_samples "$T_LAST_STDERR")" 0 "samples of the waiting shell"
grep -q "rerun with -p $kid" "$T_LAST_STDERR" ||
	t_fail "the closing note does not name the busy child $kid: $(cat "$T_LAST_STDERR")"
run_smolder children 30 record -p "$SH" --children -F "$HZ" -d 2 -o "$WORK/children.folded"
assert_rc 0 "record -p --children"
assert_folded "$WORK/children.folded" shares_fp
assert_ge "$(folded_total "$WORK/children.folded")" 1 "samples of the child with --children"
kill "$kid" "$SH" 2>/dev/null

# ---- SIGHUP ends the run; the profile is written ----
"$SMOLDER" record -F "$HZ" -o "$WORK/hup.folded" -- "$FIXTURES/shares_fp" 30 \
	>"$WORK/hup.stdout" 2>"$WORK/hup.stderr" &
REC=$!
t_bg_register "$REC"
sleep 1.5
kill -HUP "$REC"
wait_bounded "$REC" 15
T_LAST_STDERR=$WORK/hup.stderr
assert_rc 0 "record ended by SIGHUP"
assert_folded "$WORK/hup.folded" shares_fp
ls "$WORK"/hup.folded.tmp.* >/dev/null 2>&1 && t_fail "a temporary output file was left behind"
t_finish
