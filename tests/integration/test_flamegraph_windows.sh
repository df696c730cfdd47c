#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_flamegraph_windows.sh: flame graphs of chosen windows of a store with planted
# times (built by tests/tools/mkstore): --baseline-from/--baseline-to against
# --from/--to diff two ranges with the same filters (a frame going 10% -> 60% is red,
# 60% -> 10% blue); --peak picks the planted busy window for the filters given and the
# subtitle names it.
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
command -v python3 >/dev/null || t_skip "python3 (the XML parser of these checks) is not installed"
MKSTORE=$(dirname "$SMOLDER")/tests/mkstore
[[ -x $MKSTORE ]] || t_fail "no $MKSTORE (built with the tests)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT
FRAMES=$(dirname "$TESTLIB")/svg_frames.py
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
field() {
	awk -F'\t' -v n="$2" -v c="$3" '$1 == n { print $c; found = 1; exit } END { exit !found }' \
		"$1.frames" || t_fail "no frame '$2' in $1"
}

T0=1795000020 # a whole minute
# Baseline hour: api runs a 10%, b 60%, c 30%. Next hour: a 60%, b 10%, c 30%, and from
# T0+4800 for 15 minutes a burst of busy_fn; db is busier still, but at T0+6000.
awk -v t0=$T0 'BEGIN {
	print "rate 19"
	for (t = t0; t < t0 + 600; t++) {
		print t, 1, "service=api,build_id=aaaa", "api;main;a"
		print t, 6, "service=api,build_id=aaaa", "api;main;b"
		print t, 3, "service=api,build_id=aaaa", "api;main;c"
	}
	for (t = t0 + 3600; t < t0 + 7200; t++) {
		print t, 6, "service=api,build_id=bbbb", "api;main;a"
		print t, 1, "service=api,build_id=bbbb", "api;main;b"
		print t, 3, "service=api,build_id=bbbb", "api;main;c"
		if (t >= t0 + 4800 && t < t0 + 5700)
			print t, 20, "service=api,build_id=bbbb", "api;main;busy_fn"
		if (t >= t0 + 6000 && t < t0 + 6600)
			print t, 100, "service=db", "db;main;query"
		if (t == t0 + 7000)
			print "lost 7"
	}
}' >"$WORK/spec"
"$MKSTORE" "$WORK/store" <"$WORK/spec" || t_fail "mkstore failed"
S=$WORK/store

t_log "--- two ranges of the store"
run_smolder base 60 flamegraph --store "$S" --service api --baseline-from $T0 --baseline-to $((T0 + 600)) \
	--from $((T0 + 3600)) --to $((T0 + 4200)) -o "$WORK/base.svg"
assert_rc 0 "--baseline-from/--baseline-to"
python3 "$FRAMES" "$WORK/base.svg" >"$WORK/base.svg.frames" || t_fail "base.svg is not well-formed XML"
r=$(field "$WORK/base.svg" a 7) b=$(field "$WORK/base.svg" a 9)
(( r > 200 && b < 100 )) || t_fail "a (10% -> 60%) should be red, is rgb($r,..,$b)"
r=$(field "$WORK/base.svg" b 7) b=$(field "$WORK/base.svg" b 9)
(( b > 200 && r < 100 )) || t_fail "b (60% -> 10%) should be blue, is rgb($r,..,$b)"
assert_eq "$(field "$WORK/base.svg" a 10)" "a (3,600 samples, 60.00%; before 600 samples, 10.00%; +50.00 points)" "tooltip of a"
python3 "$FRAMES" --text "$WORK/base.svg" >"$WORK/base.txt"
grep -q "^before: host $(hostname), $(rfc $T0) to $(rfc $((T0 + 600)))" "$WORK/base.txt" || t_fail "subtitle: before range: $(cat "$WORK/base.txt")"
grep -q "^after: host $(hostname), $(rfc $((T0 + 3600))) to $(rfc $((T0 + 4200)))" "$WORK/base.txt" || t_fail "subtitle: after range"

run_smolder base-e 10 flamegraph --store "$S" --baseline-from $T0 -o "$WORK/x.svg"
assert_rc 2 "--baseline-from alone"
assert_one_line "$WORK/base-e.stderr" "--baseline-from alone"

t_log "--- the busiest window"
run_smolder peak 60 flamegraph --store "$S" --service api --from $((T0 + 3600)) --to $((T0 + 7200)) --peak 15m -o "$WORK/peak.svg"
assert_rc 0 "--peak 15m"
python3 "$FRAMES" --text "$WORK/peak.svg" >"$WORK/peak.txt" || t_fail "peak.svg is not well-formed XML"
grep -qF "peak: the busiest 15m, $(rfc $((T0 + 4800))) to $(rfc $((T0 + 5700)))" "$WORK/peak.txt" ||
	t_fail "subtitle does not name the planted window: $(cat "$WORK/peak.txt")"
run_smolder peakf 60 flamegraph --store "$S" --service api --from $((T0 + 3600)) --to $((T0 + 7200)) --peak 15m --format folded -o "$WORK/peak.folded"
assert_rc 0 "--peak to folded"
assert_eq "$(grep busy_fn "$WORK/peak.folded")" "api;main;busy_fn 18000" "busy_fn in the peak window"
assert_eq "$(folded_total "$WORK/peak.folded")" $((900 * 30)) "samples in the peak window"
# Filters decide what is busy: db's burst is elsewhere.
run_smolder peakdb 60 flamegraph --store "$S" --service db --peak 5m -o "$WORK/peakdb.svg"
assert_rc 0 "--peak for db"
grep -qF "busiest 5m, $(rfc $((T0 + 6000))) to $(rfc $((T0 + 6300)))" "$WORK/peakdb.svg" ||
	t_fail "the peak of db is its own burst"
t_log "--- context on every graph"
run_smolder ctx 60 flamegraph --store "$S" --service api --from $((T0 + 6600)) --to $((T0 + 7200)) -o "$WORK/ctx.svg"
assert_rc 0 "a plain graph of a store"
python3 "$FRAMES" --text "$WORK/ctx.svg" >"$WORK/ctx.txt" || t_fail "ctx.svg is not well-formed XML"
grep -qxF "host $(hostname), $(rfc $((T0 + 6600))) to $(rfc $((T0 + 7200))), service=api, 19 Hz, 6000 samples, 7 lost" "$WORK/ctx.txt" ||
	t_fail "subtitle of a plain graph: $(cat "$WORK/ctx.txt")"
printf 'app;main;x 3\n' >"$WORK/plain.folded"
run_smolder ctxf 60 flamegraph "$WORK/plain.folded" -o "$WORK/ctxf.svg"
assert_rc 0 "a graph of folded text"
python3 "$FRAMES" --text "$WORK/ctxf.svg" | grep -qxF "3 samples" || t_fail "folded text: the subtitle counts the samples"
run_smolder peake 10 flamegraph --store "$S" --peak soon -o "$WORK/x.svg"
assert_rc 2 "--peak soon"
assert_one_line "$WORK/peake.stderr" "--peak soon"
[[ ! -e $WORK/x.svg ]] || t_fail "a usage error left an output file"
exit 0
