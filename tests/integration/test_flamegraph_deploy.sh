#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_flamegraph_deploy.sh: `smolder flamegraph --store DIR --service S --diff-deploy V`
# on a store with planted times (tests/tools/mkstore) and deploys recorded with
# `smolder deploy`. Version v2 of api spends its first 3 minutes in warm_caches, then
# settles with a regression in a (40% -> 60% of samples). With --warmup auto (the
# default) warm_caches is not shown as grown and a is red; with --warmup 0 the naive
# diff blames warm_caches. The subtitle carries both windows, the deploy's version and
# time, the build-ids on each side and how the warm-up was chosen.
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
command -v python3 >/dev/null || t_skip "python3 (the XML parser of these checks) is not installed"
MKSTORE=$(dirname "$SMOLDER")/tests/mkstore
[[ -x $MKSTORE ]] || t_fail "no $MKSTORE (built with the tests)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT
FRAMES=$(dirname "$TESTLIB")/svg_frames.py
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
frames() { python3 "$FRAMES" "$1" >"$1.frames" || t_fail "$1 is not well-formed XML"; }
field() {
	awk -F'\t' -v n="$2" -v c="$3" '$1 == n { print $c; found = 1; exit } END { exit !found }' \
		"$1.frames"
}

D=1795003620 # the deploy of v2, a whole minute
BA=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
BB=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
# 30 minutes of v1 (a 40%, b 30%, c 30%; 10 samples a second), then v2: 3 minutes
# mostly warm_caches, then a 60%, b 20%, c 20% for 40 minutes. Another service, db,
# runs throughout and must not count.
awk -v d=$D -v ba=$BA -v bb=$BB 'BEGIN {
	for (t = d - 1800; t < d + 2400; t++) {
		if (t < d) {
			print t, 4, "service=api,build_id=" ba, "api;main;a"
			print t, 3, "service=api,build_id=" ba, "api;main;b"
			print t, 3, "service=api,build_id=" ba, "api;main;c"
		} else if (t < d + 180) {
			print t, 7, "service=api,build_id=" bb, "api;main;warm_caches"
			print t, 1, "service=api,build_id=" bb, "api;main;a"
			print t, 1, "service=api,build_id=" bb, "api;main;b"
			print t, 1, "service=api,build_id=" bb, "api;main;c"
		} else {
			print t, 6, "service=api,build_id=" bb, "api;main;a"
			print t, 2, "service=api,build_id=" bb, "api;main;b"
			print t, 2, "service=api,build_id=" bb, "api;main;c"
		}
		print t, 5, "service=db", "db;main;warm_caches"
	}
}' >"$WORK/spec"
"$MKSTORE" "$WORK/store" <"$WORK/spec" || t_fail "mkstore failed"
S=$WORK/store
run_smolder dep1 10 deploy --store "$S" --service api --version v1 --time $((D - 7200))
assert_rc 0 "deploy v1"
run_smolder dep2 10 deploy --store "$S" --service api --version v2 --time $D
assert_rc 0 "deploy v2"
run_smolder dep3 10 deploy --store "$S" --service db --version v2 --time $((D - 600))
assert_rc 0 "deploy of another service"

t_log "--- --warmup auto (the default)"
run_smolder auto 60 flamegraph --store "$S" --service api --diff-deploy v2 -o "$WORK/auto.svg"
assert_rc 0 "--diff-deploy v2"
frames "$WORK/auto.svg"
if line=$(grep -P '^warm_caches\t' "$WORK/auto.svg.frames"); then
	IFS=$'\t' read -r _ hidden _ _ _ _ r g b _ <<<"$line"
	(( hidden == 1 || (r < 240 && b > r) || (r >= 235 && g >= 235 && b >= 235) )) ||
		t_fail "warm_caches is shown as grown with --warmup auto: rgb($r,$g,$b)"
fi
r=$(field "$WORK/auto.svg" a 7) g=$(field "$WORK/auto.svg" a 8) b=$(field "$WORK/auto.svg" a 9)
(( r > 200 && g < 100 && b < 100 )) || t_fail "a (40% -> 60%) should be red, is rgb($r,$g,$b)"
assert_eq "$(field "$WORK/auto.svg" a 10)" "a (5,400 samples, 60.00%; before 3,600 samples, 40.00%; +20.00 points)" "tooltip of a"
python3 "$FRAMES" --text "$WORK/auto.svg" >"$WORK/auto.txt"
t_log "subtitle: $(tr '\n' '|' <"$WORK/auto.txt")"
grep -qF "Differential Flame Graph: api, deploy of v2" "$WORK/auto.txt" || t_fail "title"
grep -qF "deploy of v2 (replacing v1) at $(rfc $D), 15m windows" "$WORK/auto.txt" || t_fail "subtitle: the deploy's version and time"
grep -qF "before (build $BA): host $(hostname), $(rfc $((D - 900))) to $(rfc $D), service=api" "$WORK/auto.txt" ||
	t_fail "subtitle: the before window and its build-id"
grep -qF "after (build $BB): host $(hostname), $(rfc $((D + 180))) to $(rfc $((D + 1080)))" "$WORK/auto.txt" ||
	t_fail "subtitle: the after window (after 3 minutes of warm-up) and its build-id"
grep -qF "warm-up skipped: 3m (auto:" "$WORK/auto.txt" || t_fail "subtitle: how the warm-up was chosen"

t_log "--- --warmup 0: the naive diff blames the warm-up"
run_smolder zero 60 flamegraph --store "$S" --service api --diff-deploy v2 --warmup 0 -o "$WORK/zero.svg"
assert_rc 0 "--warmup 0"
frames "$WORK/zero.svg"
r=$(field "$WORK/zero.svg" warm_caches 7) b=$(field "$WORK/zero.svg" warm_caches 9)
[[ -n $r ]] && (( r > 200 && b < 150 )) || t_fail "with no warm-up skipped, warm_caches should be red (is rgb($r,..,$b))"
grep -qF "warm-up skipped: 0s (fixed, --warmup)" "$WORK/zero.svg" || t_fail "subtitle: a fixed warm-up"

t_log "--- --warmup 5m --window 10m"
run_smolder fixed 60 flamegraph --store "$S" --service api --diff-deploy v2 --warmup 5m --window 10m -o "$WORK/fixed.svg"
assert_rc 0 "--warmup 5m --window 10m"
python3 "$FRAMES" --text "$WORK/fixed.svg" >"$WORK/fixed.txt" || t_fail "fixed.svg is not well-formed XML"
grep -qF "after (build $BB): host $(hostname), $(rfc $((D + 300))) to $(rfc $((D + 900)))" "$WORK/fixed.txt" ||
	t_fail "subtitle: the after window of a fixed warm-up: $(cat "$WORK/fixed.txt")"
grep -qF "before (build $BA): host $(hostname), $(rfc $((D - 600))) to $(rfc $D)" "$WORK/fixed.txt" || t_fail "subtitle: a 10m before window"

t_log "--- errors"
run_smolder e1 10 flamegraph --store "$S" --service api --diff-deploy v9 -o "$WORK/x.svg"
assert_rc 1 "--diff-deploy of a version never deployed"
assert_one_line "$WORK/e1.stderr" "unknown version"
run_smolder e2 10 flamegraph --store "$S" --diff-deploy v2 -o "$WORK/x.svg"
assert_rc 2 "--diff-deploy without --service"
assert_one_line "$WORK/e2.stderr" "without --service"
run_smolder e3 10 flamegraph --store "$S" --service api --diff-deploy v2 --warmup later -o "$WORK/x.svg"
assert_rc 2 "--warmup later"
assert_one_line "$WORK/e3.stderr" "--warmup later"
run_smolder e4 10 flamegraph --store "$S" --service api --window 5m -o "$WORK/x.svg"
assert_rc 2 "--window without --diff-deploy"
assert_one_line "$WORK/e4.stderr" "--window without --diff-deploy"
[[ ! -e $WORK/x.svg ]] || t_fail "a failed run left an output file"
exit 0
