#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_timeline.sh: `smolder timeline --store DIR [filters] -o FILE.svg` on a store with
# planted times (tests/tools/mkstore) and deploys recorded with `smolder deploy`. The
# SVG must parse (python3's xml.etree), mark every deploy in range at its time with its
# version, draw the busiest service first and every sample once, draw each batch's lost
# samples under the bars of its interval, keep hostile service names and versions
# inert, say when a range has no samples, and refuse bad usage with exit code 2 and one
# line.
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
command -v python3 >/dev/null || t_skip "python3 (the XML parser of these checks) is not installed"
MKSTORE=$(dirname "$SMOLDER")/tests/mkstore
[[ -x $MKSTORE ]] || t_fail "no $MKSTORE (built with the tests)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT

# check SVG: parse it and print what the checks below look at, one fact a line:
#   plot FROM TO X0 X1 BUCKET        the plot's range (unix s), its x extent, bar width
#   bars NBARS SUM                   bars and their samples (data-n) summed
#   slot N NAME SUM                  a legend entry and the samples of its rects
#   deploy T X LABEL<TAB>TITLE       a deploy marker: time, line x, label, tooltip
#   lostmark T0 T1 N<TAB>TITLE       a lost-samples mark: its bar's range, count, tooltip
#   text ID TEXT                     title, subtitle, lost, nosamples
check() {
	python3 - "$1" <<'EOF' >"$1.facts" || t_fail "$1 is not a well-formed timeline SVG"
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == NS + "svg"
# Nothing a hostile name could smuggle in: one script, the timeline's own, and no
# element or attribute beyond what the writer makes.
assert len(root.findall(".//" + NS + "script")) == 1
allowed = {"svg", "style", "script", "rect", "text", "g", "title", "line"}
for el in root.iter():
    assert el.tag.startswith(NS) and el.tag[len(NS):] in allowed, el.tag
    for a in el.attrib:
        assert not a.lower().startswith("on") or (el.tag == NS + "svg" and a == "onload"), a
for el in root.iter(NS + "text"):
    if el.get("id") in ("title", "subtitle", "lost", "nosamples"):
        print("text", el.get("id"), (el.text or "").replace("\n", " "))
groups = {g.get("id"): g for g in root.iter(NS + "g") if g.get("id")}
plot = groups.get("plot")
if plot is not None:
    print("plot", plot.get("data-from"), plot.get("data-to"), plot.get("data-x0"),
          plot.get("data-x1"), plot.get("data-bucket"))
    slots = {}
    nbars = total = 0
    for bar in groups["bars"].findall(NS + "g"):
        n = int(bar.get("data-n"))
        s = 0
        for r in bar.findall(NS + "rect"):
            if r.get("class") == "hit":
                continue
            s += int(r.get("data-n"))
            slots[r.get("data-s")] = slots.get(r.get("data-s"), 0) + int(r.get("data-n"))
        assert s == n, (bar.get("data-t0"), s, n)
        nbars += 1
        total += n
    print("bars", nbars, total)
    for e in groups["legend"].findall(NS + "g"):
        print("slot", e.get("data-s"), e.find(NS + "text").text, slots.get(e.get("data-s"), 0))
    if "lostmarks" in groups:
        for m in groups["lostmarks"].findall(NS + "g"):
            assert m.find(NS + "rect") is not None
            print("lostmark", m.get("data-t0"), m.get("data-t1"), m.get("data-n") + "\t" +
                  m.find(NS + "title").text)
    for d in groups["deploys"].findall(NS + "g"):
        line = [l for l in d.findall(NS + "line") if l.get("class") == "mark"][0]
        print("deploy", d.get("data-t"), line.get("x1"), d.find(NS + "text").text + "\t" +
              d.find(NS + "title").text)
EOF
}
fact() { grep -F -- "$2" "$1.facts"; }
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

D=1795003620 # the deploy of api v2, a whole minute
EVIL_SVC='<script>alert(1)</script>&"x'
EVIL_VER=$'v3 <img src=x onerror="alert(2)"> & \' "'
# Two hours: api 10 samples a second (the busiest), db 4, worker 1 every other second,
# the hostile service 1 every tenth second; 50 lost samples in the batch (a minute) of
# D+60 and 7 in that of D-1000 (batches carry their minute as their time range: span).
awk -v d=$D -v evil="$EVIL_SVC" 'BEGIN {
	print "span"
	for (t = d - 3600; t < d + 3600; t++) {
		print t, 10, "service=api", "api;main;serve"
		print t, 4, "service=db", "db;main;query"
		if (t % 2 == 0) print t, 1, "service=worker", "worker;main;work"
		if (t % 10 == 0) print t, 1, "service=" evil, "evil;main;x"
		if (t == d + 60) print "lost 50"
		if (t == d - 1000) print "lost 7"
	}
}' >"$WORK/spec"
"$MKSTORE" "$WORK/store" <"$WORK/spec" || t_fail "mkstore failed"
S=$WORK/store
API=$((7200 * 10)) DB=$((7200 * 4)) WORKER=3600 EVIL=720
TOTAL=$((API + DB + WORKER + EVIL))
run_smolder dep1 10 deploy --store "$S" --service api --version v1 --time $((D - 1800))
assert_rc 0 "deploy v1"
run_smolder dep2 10 deploy --store "$S" --service api --version v2 --time $D
assert_rc 0 "deploy v2"
run_smolder dep3 10 deploy --store "$S" --service db --version 7.1 --time $((D + 600))
assert_rc 0 "deploy of db"
run_smolder dep4 10 deploy --store "$S" --service api --version "$EVIL_VER" --time $((D + 1800))
assert_rc 0 "deploy with a hostile version"
run_smolder dep5 10 deploy --store "$S" --service "$EVIL_SVC" --version 1 --time $((D + 2400))
assert_rc 0 "deploy of a hostile service"
run_smolder dep6 10 deploy --store "$S" --service api --version v0 --time $((D - 86400))
assert_rc 0 "deploy long before the samples"

# deploy_at SVG T VERSION: the marker of the deploy at T is at T's x, labelled VERSION
# (as the SVG shows it, maybe cut), and its tooltip names the version and time.
deploy_at() {
	local svg=$1 t=$2 label=$3 from to x0 x1 line
	read -r _ from to x0 x1 _ < <(fact "$svg" "plot ")
	line=$(awk -v t="$t" '$1 == "deploy" && $2 + 0 == t { print; exit }' "$svg.facts")
	[[ -n $line ]] || t_fail "$svg: no marker for the deploy at $(rfc "$t") ($label)"
	read -r _ _ x _ <<<"$line"
	assert_within "$x" "$(awk -v t="$t" -v f="$from" -v e="$to" -v a="$x0" -v b="$x1" \
		'BEGIN { printf "%.2f", a + (t - f) / (e - f) * (b - a) }')" 0.02 "x of the deploy at $t"
	[[ ${line#*	} == *", at $(rfc "$t")" ]] || t_fail "tooltip of the deploy at $t: ${line#*	}"
	local shown=${line#deploy * * }
	[[ ${shown%%	*} == "$label" ]] || t_fail "label of the deploy at $t: '${shown%%	*}', want '$label'"
}

t_log "--- the whole store"
run_smolder all 60 timeline --store "$S" -o "$WORK/all.svg"
assert_rc 0 "timeline of the store"
check "$WORK/all.svg"
read -r _ from to _ _ bucket < <(fact "$WORK/all.svg" "plot ")
assert_eq "${from%.*} ${to%.*} $bucket" "$((D - 3600)) $((D + 3600)) 15" "range and bar width"
assert_eq "$(fact "$WORK/all.svg" "bars ")" "bars 480 $TOTAL" "bars and their samples"
assert_eq "$(fact "$WORK/all.svg" "slot 0 ")" "slot 0 api $API" "the busiest service, drawn first"
assert_eq "$(fact "$WORK/all.svg" "slot 1 ")" "slot 1 db $DB" "the second service"
assert_eq "$(fact "$WORK/all.svg" "slot 3 ")" "slot 3 $EVIL_SVC $EVIL" "the hostile service, as text"
deploy_at "$WORK/all.svg" $((D - 1800)) v1
deploy_at "$WORK/all.svg" $D v2
deploy_at "$WORK/all.svg" $((D + 600)) 7.1
deploy_at "$WORK/all.svg" $((D + 1800)) "${EVIL_VER:0:24}..."
deploy_at "$WORK/all.svg" $((D + 2400)) 1
grep -qF -- "$EVIL_VER" "$WORK/all.svg.facts" || t_fail "the hostile version's tooltip is not whole"
! fact "$WORK/all.svg" $'v0\t' >/dev/null || t_fail "a deploy outside the range is marked"
fact "$WORK/all.svg" "text subtitle host " | grep -qF "$(rfc $((D - 3600))) to " ||
	t_fail "subtitle: host and range: $(fact "$WORK/all.svg" "text subtitle")"
fact "$WORK/all.svg" "text subtitle" | grep -qF "19 Hz, $TOTAL samples, 57 lost" ||
	t_fail "subtitle: rate, samples, lost: $(fact "$WORK/all.svg" "text subtitle")"
fact "$WORK/all.svg" "text lost 57 samples lost" | grep -qF "red marks along the time axis show when," ||
	t_fail "lost samples are not shown in red, or not said to be marked: $(fact "$WORK/all.svg" "text lost")"

# lostmarks SVG: "T0 N" per mark, T0 relative to D, in order
lostmarks() { awk -v d=$D '$1 == "lostmark" { printf "%d %s\n", $2 - d, $4 }' "$1.facts" | cut -f1; }
# The batch of D+60 is [D+60, D+120): 4 bars of 15 s share its 50 (running totals
# 12, 25, 37, 50 rounded down); that of D-1000 is [D-1020, D-960), bars from D-1020.
assert_eq "$(lostmarks "$WORK/all.svg" | tr '\n' ' ')" "-1020 1 -1005 2 -990 2 -975 2 60 12 75 13 90 12 105 13 " \
	"lost samples under the bars of their batches"
fact "$WORK/all.svg" "lostmark $((D + 75)).000 $((D + 90)).000 13	$(rfc $((D + 75))) to $(rfc $((D + 90))): 13 samples lost (" \
	>/dev/null || t_fail "tooltip of a lost mark: $(fact "$WORK/all.svg" "lostmark $((D + 75)).")"

t_log "--- a range that cuts a batch with lost samples"
run_smolder cut 60 timeline --store "$S" --from $((D + 90)) --to $((D + 3600)) -o "$WORK/cut.svg"
assert_rc 0 "timeline from D+90"
check "$WORK/cut.svg"
read -r _ _ _ _ _ bucket < <(fact "$WORK/cut.svg" "plot ")
assert_eq "$bucket" 10 "bar width from D+90"
# [D+90, D+120) of [D+60, D+120): 50 * 40/60 - 50 * 30/60 -> 33 - 25, then 41 - 33, 50 - 41.
assert_eq "$(lostmarks "$WORK/cut.svg" | tr '\n' ' ')" "90 8 100 8 110 9 " "the part of the batch in the range"
# (The batch of D-1000 is in the hour before, a segment the query does not read.)
fact "$WORK/cut.svg" "text lost 50 samples lost" | grep -qF "show when for 25, per recording batch; the rest" ||
	t_fail "the lost line says how many are marked: $(fact "$WORK/cut.svg" "text lost")"

t_log "--- --service api, --from/--to, --top 1"
run_smolder api 60 timeline --store "$S" --service api --from $((D - 600)) --to $((D + 2000)) \
	--top 1 --title "api <deploys>" -o "$WORK/api.svg"
assert_rc 0 "timeline of api"
check "$WORK/api.svg"
assert_eq "$(fact "$WORK/api.svg" "bars ")" "bars 520 $((2600 * 10))" "only api's samples, in range"
assert_eq "$(fact "$WORK/api.svg" "text title")" "text title api <deploys>" "title"
fact "$WORK/api.svg" "text subtitle" | grep -qF "$(rfc $((D - 600))) to $(rfc $((D + 2000))), service=api" ||
	t_fail "subtitle: the range and filter: $(fact "$WORK/api.svg" "text subtitle")"
deploy_at "$WORK/api.svg" $D v2
deploy_at "$WORK/api.svg" $((D + 1800)) "${EVIL_VER:0:24}..."
(( $(grep -c '^deploy ' "$WORK/api.svg.facts") == 2 )) ||
	t_fail "--service api marks only api's deploys in range: $(grep '^deploy ' "$WORK/api.svg.facts")"
run_smolder top 60 timeline --store "$S" --top 1 -o "$WORK/top.svg"
assert_rc 0 "--top 1"
check "$WORK/top.svg"
assert_eq "$(fact "$WORK/top.svg" "slot 1 ")" "slot 1 other (3 services) $((DB + WORKER + EVIL))" \
	"the rest folded into other"

t_log "--- no samples"
run_smolder none 60 timeline --store "$S" --from $((D - 86400 - 600)) --to $((D - 86400 + 600)) \
	-o "$WORK/none.svg"
assert_rc 0 "a range without samples"
check "$WORK/none.svg"
assert_eq "$(fact "$WORK/none.svg" "text nosamples")" "text nosamples No samples in this range" \
	"says there are no samples"
deploy_at "$WORK/none.svg" $((D - 86400)) v0
mkdir "$WORK/empty"
"$MKSTORE" "$WORK/empty" </dev/null || t_fail "mkstore of an empty store failed"
run_smolder empty 60 timeline --store "$WORK/empty" -o "$WORK/empty.svg"
assert_rc 0 "an empty store"
check "$WORK/empty.svg"
fact "$WORK/empty.svg" "text nosamples No samples" >/dev/null || t_fail "an empty store: no 'No samples'"

t_log "--- errors"
usage() { # usage LABEL WHAT ARGS..: exit 2, one line on stderr, no output file
	local label=$1 what=$2
	shift 2
	run_smolder "$label" 10 timeline "$@"
	assert_rc 2 "$what"
	assert_one_line "$WORK/$label.stderr" "$what"
}
usage u1 "no --store" -o "$WORK/x.svg"
usage u2 "FILE arguments" --store "$S" "$WORK/spec" -o "$WORK/x.svg"
usage u3 "an unknown option" --store "$S" --icicle -o "$WORK/x.svg"
usage u4 "--bucket 0.5s" --store "$S" --bucket 0.5s -o "$WORK/x.svg"
usage u5 "--top 13" --store "$S" --top 13 -o "$WORK/x.svg"
usage u6 "--from after --to" --store "$S" --from $D --to $((D - 1)) -o "$WORK/x.svg"
usage u7 "a folded output name" --store "$S" -o "$WORK/x.folded"
usage u8 "--bucket too small for the range" --store "$S" --bucket 1s -o "$WORK/x.svg"
usage u9 "--from without a value" --store "$S" --from
run_smolder e1 10 timeline --store "$WORK/nonexistent" -o "$WORK/x.svg"
assert_rc 1 "a store that does not exist"
assert_one_line "$WORK/e1.stderr" "a store that does not exist"
[[ ! -e $WORK/x.svg && ! -e $WORK/x.folded ]] || t_fail "a failed run left an output file"
compgen -G "$WORK/*.tmp.*" >/dev/null && t_fail "a temporary output file was left behind"
exit 0
