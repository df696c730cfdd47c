#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Stacks through the vDSO: vdso_fixture spends most of its CPU time in clock_gettime,
# which libc serves from the vDSO. The vDSO is no file on disk, so without its image
# the unwinder has no unwind tables there and the symbolizer no names: such stacks
# read "[unknown];clock_gettime;[vdso]". With the vDSO's image (smolder's own copy)
# they name __vdso_clock_gettime and unwind through its .eh_frame and libc's to main,
# as perf --call-graph dwarf does. The fixture has no frame pointers.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=199
SECS=3
FIXTURE=vdso_fixture
grep -q '\[vdso\]' /proc/self/maps || t_skip "this kernel maps no vDSO"

run_smolder vdso 60 record --unwind dwarf -F "$HZ" -o "$WORK/vdso.folded" -- \
	"$FIXTURES/$FIXTURE" "$SECS"
assert_rc 0 "record --unwind dwarf -- $FIXTURE"
# The fixture's samples only (a sample of the child taken before its exec has
# smolder's comm).
grep "^$FIXTURE;" "$WORK/vdso.folded" >"$WORK/fixture.folded"
assert_folded "$WORK/fixture.folded" "$FIXTURE"

# One sample per 1/HZ s of the fixture's own CPU time (it prints it at exit).
cpu_ms=$(sed -n "s/^$FIXTURE: cpu_ms //p" "$WORK/vdso.stdout")
[[ -n $cpu_ms ]] || t_fail "the fixture did not report its CPU time: $(cat "$WORK/vdso.stdout")"
assert_sample_count "$(folded_total "$WORK/fixture.folded")" "$HZ" "$cpu_ms" $(( SECS + 2 ))

# vdso_share FILE WHAT: percentage of the samples in the vDSO (a frame named __vdso_*
# or [vdso]) whose stack also has WHAT ("all": of every sample).
vdso_share() {
	awk -v what="$2" '
	{
		n = $NF; t += n; s = $0; sub(/ [0-9]+$/, "", s)
		k = split(s, f, ";"); in_vdso = 0; has = 0
		for (i = 2; i <= k; i++) {
			if (f[i] ~ /^__vdso_/ || f[i] == "[vdso]") in_vdso = 1
			if (f[i] == what) has = 1
		}
		if (in_vdso) { v += n; if (has) hit += n }
	}
	END {
		if (what == "all") { printf "%.1f\n", t ? 100 * v / t : 0; exit }
		printf "%.1f\n", v ? 100 * hit / v : 0
	}' "$1"
}

f=$WORK/fixture.folded
assert_ge "$(vdso_share "$f" all)" 50 "samples in the vDSO (%)"
assert_ge "$(vdso_share "$f" __vdso_clock_gettime)" 90 \
	"samples in the vDSO that name __vdso_clock_gettime (%)"
assert_ge "$(vdso_share "$f" clock_gettime)" 90 \
	"samples in the vDSO whose stack has libc's clock_gettime (%)"
assert_ge "$(vdso_share "$f" main)" 90 "samples in the vDSO whose stack reaches main (%)"
assert_ge "$(vdso_share "$f" _start)" 85 "samples in the vDSO whose stack reaches _start (%)"
bad=$(grep -c '\[unknown\];clock_gettime;' "$f")
assert_le "$bad" 0 "stacks that lose the frames above libc's clock_gettime"
t_log "PASS"
