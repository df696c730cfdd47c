#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_flamegraph_diff.sh: `smolder flamegraph --diff BEFORE AFTER` on inputs of every
# kind (folded, pprof, smolder; told apart by content): the SVG is well-formed XML, the
# widths are the after profile's counts, a frame that went from 10% to 60% is red and
# one that went from 60% to 10% blue, a frame that vanished is in the SVG with its
# before shape, --palette blue-orange, hostile names stay inert text, usage errors.
# Colours are read from the parsed fill attributes (tests/integration/svg_frames.py).
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
command -v python3 >/dev/null || t_skip "python3 (the XML parser of these checks) is not installed"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT
FRAMES=$(dirname "$TESTLIB")/svg_frames.py
FULL=1180 # default width less the margins

# frames SVG: the parsed frames (fails the test when the SVG is not well-formed).
frames() {
	if command -v xmllint >/dev/null; then
		xmllint --noout --nonet "$1" || t_fail "$1 is not well-formed XML (xmllint)"
	fi
	python3 "$FRAMES" "$1" >"$1.frames" || t_fail "$1 is not well-formed XML (python)"
}
# field SVG NAME COLUMN: one column of frame NAME (1 name, 2 hidden, 3 x, 4 width,
# 5 before x, 6 before width, 7-9 r g b, 10 title).
field() {
	awk -F'\t' -v n="$2" -v c="$3" '$1 == n { print $c; found = 1; exit } END { exit !found }' \
		"$1.frames" || t_fail "no frame '$2' in $1"
}
assert_red() {
	local r g b
	r=$(field "$1" "$2" 7) g=$(field "$1" "$2" 8) b=$(field "$1" "$2" 9)
	(( r > 200 && g < 100 && b < 100 )) || t_fail "$2 should be red in $1, is rgb($r,$g,$b)"
}
assert_blue() {
	local r g b
	r=$(field "$1" "$2" 7) g=$(field "$1" "$2" 8) b=$(field "$1" "$2" 9)
	(( b > 200 && r < 100 )) || t_fail "$2 should be blue in $1, is rgb($r,$g,$b)"
}

# a 10% -> 60%, b 60% -> 10%, c 25% -> 30%, gone 5% -> vanished; the totals differ.
printf 'app;main;a 10\napp;main;b 60\napp;main;c 25\napp;main;gone 5\n' >"$WORK/before.folded"
printf 'app;main;a 120\napp;main;b 20\napp;main;c 60\n' >"$WORK/after.folded"
run_smolder b2pprof 30 export "$WORK/before.folded" --format pprof -o "$WORK/before.data"
assert_rc 0 "before as pprof"
run_smolder a2smolder 30 export "$WORK/after.folded" --format smolder -o "$WORK/after.data2"
assert_rc 0 "after as smolder"

for pair in "before.folded after.folded" "before.data after.data2"; do
	set -- $pair
	out=$WORK/diff-$1.svg
	run_smolder "diff-$1" 30 flamegraph --diff "$WORK/$1" "$WORK/$2" -o "$out"
	assert_rc 0 "flamegraph --diff $1 $2"
	frames "$out"
	assert_red "$out" a
	assert_blue "$out" b
	assert_within "$(field "$out" a 4)" "$(awk -v f=$FULL 'BEGIN { print f * 120 / 200 }')" 0.001 "width of a (after)"
	assert_within "$(field "$out" b 4)" "$(awk -v f=$FULL 'BEGIN { print f * 20 / 200 }')" 0.001 "width of b (after)"
	assert_within "$(field "$out" a 6)" "$(awk -v f=$FULL 'BEGIN { print f * 10 / 100 }')" 0.001 "width of a (before shape)"
	# The vanished frame: hidden, zero-wide after, its before width behind the button.
	assert_eq "$(field "$out" gone 2)" 1 "gone is hidden in the after shape"
	assert_within "$(field "$out" gone 4)" 0 0 "width of gone (after)"
	assert_within "$(field "$out" gone 6)" "$(awk -v f=$FULL 'BEGIN { print f * 5 / 100 }')" 0.001 "width of gone (before shape)"
	grep -q '<text id="shape"[^>]*>Show before shape</text>' "$out" || t_fail "no before-shape button"
	assert_eq "$(field "$out" a 10)" "a (120 samples, 60.00%; before 10 samples, 10.00%; +50.00 points)" "tooltip of a"
	python3 "$FRAMES" --text "$out" | grep -q '^shrank grew (colour: change in share' || t_fail "no legend"
done

run_smolder palette 30 flamegraph --diff "$WORK/before.folded" "$WORK/after.folded" --palette blue-orange -o "$WORK/bo.svg"
assert_rc 0 "--palette blue-orange"
frames "$WORK/bo.svg"
r=$(field "$WORK/bo.svg" a 7) g=$(field "$WORK/bo.svg" a 8) b=$(field "$WORK/bo.svg" a 9)
(( r > 220 && g > 100 && g < 180 && b < 40 )) || t_fail "a should be orange with blue-orange, is rgb($r,$g,$b)"
assert_blue "$WORK/bo.svg" b

# Hostile names, on both sides and only on one, and a 1 MB name.
{
	printf 'app;main;<script>alert(1)</script> 5\n'
	printf 'app;main;a&b;"q" '"'"'q'"'"' 5\n'
	printf 'app;main;x]]>y 5\n'
} >"$WORK/hb.folded"
{
	printf 'app;main;<script>alert(1)</script> 50\n'
	printf 'app;%s 1\n' "$(head -c 1048000 /dev/zero | tr '\0' '<')"
} >"$WORK/ha.folded"
run_smolder hostile 60 flamegraph --diff "$WORK/hb.folded" "$WORK/ha.folded" -o "$WORK/hostile.svg"
assert_rc 0 "--diff with hostile names"
frames "$WORK/hostile.svg"
python3 - "$WORK/hostile.svg" <<'PY' || t_fail "a hostile name became markup"
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
scripts = list(root.iter(ns + "script"))
assert len(scripts) == 1 and "alert(1)" not in scripts[0].text, "script elements"
titles = [t.text for t in root.iter(ns + "title")]
assert any(t.startswith("<script>alert(1)</script> (") for t in titles), "script name as text"
assert any(t.startswith('"q" \'q\' (') for t in titles), "quotes as text"
assert any(t.startswith("x]]>y (") for t in titles), "]]> as text"
assert any(t.startswith("<" * 1048000 + " (") for t in titles), "1 MB name as text"
PY

# Usage errors: one line, exit 2.
run_smolder e1 10 flamegraph --diff "$WORK/before.folded" -o "$WORK/x.svg"
assert_rc 2 "--diff with one file"
assert_one_line "$WORK/e1.stderr" "--diff with one file"
run_smolder e2 10 flamegraph --diff "$WORK/before.folded" "$WORK/after.folded" --palette rainbow -o "$WORK/x.svg"
assert_rc 2 "--palette rainbow"
assert_one_line "$WORK/e2.stderr" "--palette rainbow"
run_smolder e3 10 flamegraph --diff "$WORK/before.folded" "$WORK/after.folded" -o "$WORK/x.folded"
assert_rc 2 "--diff to folded"
assert_one_line "$WORK/e3.stderr" "--diff to folded"
[[ ! -e $WORK/x.svg && ! -e $WORK/x.folded ]] || t_fail "a usage error left an output file"
exit 0
