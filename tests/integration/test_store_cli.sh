#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_store_cli.sh: `smolder flamegraph|export|info|deploy` against a store: time
# windows and label filters select the right samples, deploys are recorded and shown,
# inputs are told apart by content, and errors are one line with the right exit code.
# Uses the checked-in store tests/data/store (25 batches of 10 samples, one per second
# from 2026-11-18T11:06:40Z, service api on odd batches, db on even ones).
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT
DATA=$(dirname "$TESTLIB")/../data
cp -r "$DATA/store" "$WORK/store"
S=$WORK/store
T0=1795000000

# Everything, as folded: the golden file.
run_smolder all 60 flamegraph --store "$S" --format folded -o "$WORK/all.folded"
assert_rc 0 "flamegraph --store (folded)"
cmp -s "$WORK/all.folded" "$DATA/golden/store.folded" ||
	t_fail "store as folded differs from golden: $(diff "$DATA/golden/store.folded" "$WORK/all.folded")"
assert_eq "$(folded_total "$WORK/all.folded")" 250 "samples in the whole store"

# A window in unix seconds and RFC 3339: [T0+10, T0+12) is batches 10 and 11.
run_smolder win 60 export --store "$S" --from $((T0 + 10)) --to 2026-11-18T11:06:52Z --format folded -o "$WORK/win.folded"
assert_rc 0 "export --from/--to"
assert_eq "$(folded_total "$WORK/win.folded")" 20 "samples in a 2 s window"

# Label filters: service api is the odd batches 1..23 (120 samples).
run_smolder api 60 export --store "$S" --service api --format folded -o "$WORK/api.folded"
assert_rc 0 "export --service"
assert_eq "$(folded_total "$WORK/api.folded")" 120 "samples of service api (12 odd batches of 25)"
run_smolder lbl 60 export --store "$S" --label batch=3 --label service=api --format folded -o "$WORK/lbl.folded"
assert_rc 0 "export --label"
assert_eq "$(folded_total "$WORK/lbl.folded")" 10 "samples with batch=3"
run_smolder pid 60 export --store "$S" --pid 1001 --comm worker --format folded -o "$WORK/pid.folded"
assert_rc 0 "export --pid --comm"
assert_eq "$(folded_total "$WORK/pid.folded")" 60 "samples of pid 1001 (batches 1, 5, .. 21)"
run_smolder none 60 export --store "$S" --service nosuch --format folded -o "$WORK/none.folded"
assert_rc 0 "export with a filter nothing matches"
[[ ! -s $WORK/none.folded ]] || t_fail "a filter that matches nothing gave samples"

# SVG from the store, with a subtitle that says the window and the filter.
run_smolder svg 60 flamegraph --store "$S" --service api -o "$WORK/api.svg"
assert_rc 0 "flamegraph --store -> svg"
grep -q 'service=api' "$WORK/api.svg" || t_fail "the SVG subtitle does not name the filter"
grep -q '2026-11-18T11:06:4' "$WORK/api.svg" || t_fail "the SVG subtitle does not give the time range"

# FILE inputs of every kind, told apart by content (misleading names on purpose).
run_smolder f1 60 export --store "$S" --format smolder -o "$WORK/p1.txt"
assert_rc 0 "export --format smolder"
run_smolder f2 60 export --store "$S" --format pprof -o "$WORK/p2.folded"
assert_rc 0 "export --format pprof"
for f in p1.txt p2.folded all.folded; do
	run_smolder "from-$f" 60 flamegraph "$WORK/$f" --service api --format folded -o "$WORK/$f.out"
	assert_rc 0 "flamegraph $f"
	cmp -s "$WORK/$f.out" "$WORK/api.folded" || [[ $f == all.folded ]] ||
		t_fail "flamegraph of $f with --service api differs from the store's"
done
# (folded text carries no labels: --service over it selects nothing.)
[[ ! -s $WORK/all.folded.out ]] || t_fail "folded input has no service labels, yet --service matched"

# info on the store and on a file.
run_smolder info 60 info "$S"
assert_rc 0 "info DIR"
grep -qE '^segments: +3 \(0 open\), [0-9]+ bytes on disk, [0-9.]+ bytes/sample' "$WORK/info.stdout" ||
	t_fail "info DIR: no segments line: $(cat "$WORK/info.stdout")"
grep -qE '^samples: +250 ' "$WORK/info.stdout" || t_fail "info DIR: sample count"
grep -q 'api v2' "$WORK/info.stdout" || t_fail "info DIR: deploys not listed"
grep -qE '^lost: +25$' "$WORK/info.stdout" || t_fail "info DIR: lost count"
run_smolder infof 60 info "$WORK/p1.txt"
assert_rc 0 "info FILE"
grep -qE '^file: .*\(smolder, [0-9]+ chunks' "$WORK/infof.stdout" || t_fail "info FILE: format line"
grep -qE '^time range: +2026-11-18T11:06:40Z \.\. 2026-11-18T11:07:05Z' "$WORK/infof.stdout" ||
	t_fail "info FILE: time range: $(grep 'time range' "$WORK/infof.stdout")"
grep -qE '^  +[0-9.]+% +[0-9]+ +leaf$' "$WORK/infof.stdout" || t_fail "info FILE: top functions"

# deploy: appended as JSON lines, shown by info.
run_smolder dep 60 deploy --store "$S" --service 'api "edge"' --version v3 --time 2026-11-18T11:07:00Z
assert_rc 0 "deploy"
tail -n 1 "$S/deploys.jsonl" | grep -qF '{"time":"2026-11-18T11:07:00Z","time_ns":1795000020000000000,"service":"api \"edge\"","version":"v3"}' ||
	t_fail "deploy line: $(tail -n 1 "$S/deploys.jsonl")"
run_smolder dep2 60 deploy --store "$WORK/newstore" --service api --version v1
assert_rc 0 "deploy to a new store directory"
[[ $(wc -l <"$WORK/newstore/deploys.jsonl") == 1 ]] || t_fail "deploy did not create the log"

# Errors: one line, exit 2 for usage, 1 for runtime failures.
run_smolder e1 10 flamegraph --store "$S" --from yesterday -o "$WORK/x.svg"
assert_rc 2 "bad --from"
assert_one_line "$WORK/e1.stderr" "bad --from"
run_smolder e2 10 export --store "$WORK/nosuch" --format folded -o "$WORK/x.folded"
assert_rc 1 "missing store"
assert_one_line "$WORK/e2.stderr" "missing store"
run_smolder e3 10 deploy --store "$S" --service api
assert_rc 2 "deploy without --version"
assert_one_line "$WORK/e3.stderr" "deploy without --version"
printf '\x1f\x8bnot really gzip' >"$WORK/bad.pb.gz"
run_smolder e4 10 flamegraph "$WORK/bad.pb.gz" -o "$WORK/x.svg"
assert_rc 1 "damaged pprof input"
assert_one_line "$WORK/e4.stderr" "damaged pprof input"
[[ ! -e $WORK/x.svg ]] || t_fail "a failed run left an output file"
run_smolder e5 10 export --store "$S" -o "$WORK/x.unknown"
assert_rc 2 "export without a format"
assert_one_line "$WORK/e5.stderr" "export without a format"
exit 0
