#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_flamegraph_folded.sh: `smolder flamegraph FILE.folded` streams the lines of
# regular folded files straight into the graph; standard input, other formats and
# filters go through the profile. Both must draw the same SVG byte for byte: sorted
# and unsorted input with kernel, JIT, Python and unknown frames, lines without a
# comm, several FILEs (the same as their concatenation), --icicle and --width; and a
# malformed line must be reported the same way.
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT

# gen N SEED: N folded lines, 4-20 frames of a few hundred names, every kind of frame.
gen() {
	awk -v N="$1" -v seed="$2" '
	function rnd() { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
	BEGIN {
		split("_[k] _[j] _[p] _[i]", suf, " ")
		for (i = 0; i < N; i++) {
			r = rnd()
			line = r < 0.05 ? "" : r < 0.5 ? "app" : r < 0.8 ? "db" : "worker-1"
			line = line ";main"
			n = 4 + int(rnd() * 16)
			for (d = 0; d < n; d++) {
				f = "fn" int(rnd() * (20 + 30 * d))
				r = rnd()
				if (r < 0.2)
					f = f suf[1 + int(rnd() * 4)]
				else if (r < 0.22)
					f = "[unknown]"
				else if (r < 0.24)
					f = "[libc.so.6+0x" int(rnd() * 4096) "]"
				line = line ";" f
			}
			print line, 1 + int(rnd() * 300)
		}
	}'
}
gen 30000 7 >"$WORK/unsorted.folded" || t_fail "generating the input failed"
LC_ALL=C sort "$WORK/unsorted.folded" >"$WORK/sorted.folded"
gen 5000 11 >"$WORK/more.folded" || t_fail "generating the input failed"

# same LABEL ARGS..: the SVG of ARGS.. on FILE arguments (streamed) and of the same
# input on standard input (through the profile) are the same bytes.
same() {
	local label=$1 input=$2
	shift 2
	run_smolder "$label-file" 60 flamegraph "$input" "$@" -o "$WORK/$label-file.svg"
	assert_rc 0 "flamegraph $label (file)"
	run_smolder "$label-stdin" 60 flamegraph - "$@" -o "$WORK/$label-stdin.svg" <"$input"
	assert_rc 0 "flamegraph $label (standard input)"
	cmp -s "$WORK/$label-file.svg" "$WORK/$label-stdin.svg" ||
		t_fail "$label: the streamed SVG differs from the profile's"
}
same sorted "$WORK/sorted.folded"
same unsorted "$WORK/unsorted.folded"
same icicle "$WORK/unsorted.folded" --icicle --width 640 --title 'a & <b>'
(($(grep -c '<g><title>' "$WORK/sorted-file.svg") > 100)) ||
	t_fail "the sorted input drew too few frames to tell anything"

# Several FILEs are one graph, as their concatenation would be.
cat "$WORK/unsorted.folded" "$WORK/more.folded" >"$WORK/both.folded"
run_smolder multi 60 flamegraph "$WORK/unsorted.folded" "$WORK/more.folded" -o "$WORK/multi.svg"
assert_rc 0 "flamegraph of two FILEs"
run_smolder cat 60 flamegraph - -o "$WORK/cat.svg" <"$WORK/both.folded"
assert_rc 0 "flamegraph of their concatenation"
cmp -s "$WORK/multi.svg" "$WORK/cat.svg" || t_fail "two FILEs differ from their concatenation"

# A malformed line is reported as the profile's reader reports it.
printf 'app;main 3\napp;main;oops\n' >"$WORK/bad.folded"
run_smolder bad 10 flamegraph "$WORK/bad.folded" -o "$WORK/bad.svg"
assert_rc 1 "a malformed line"
assert_one_line "$WORK/bad.stderr" "a malformed line"
grep -q "bad.folded:2: not folded stacks" "$WORK/bad.stderr" ||
	t_fail "malformed line reported as: $(cat "$WORK/bad.stderr")"
[[ ! -e $WORK/bad.svg ]] || t_fail "a failed render left an output file"
exit 0
