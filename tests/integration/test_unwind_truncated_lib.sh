#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A library file truncated under smolder costs the frames that needed it, never the
# run. Two copies of one library (the same build-id, so the unwinder keeps one entry
# for both) are used by two processes: trunc_a spins in its copy from the start, so
# the unwinder's entry is read from trunc_a's file; then that file is truncated to
# its first page (trunc_a dies of SIGBUS in the library it runs) and trunc_b starts
# spinning in its own, intact copy. smolder must exit 0, write its output, and
# unwind trunc_b's stacks through the library to main: an unwinder that reads the
# library through a mapping of trunc_a's file dies of SIGBUS here and loses the whole
# recording. Neither program nor library has frame pointers.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=199
B_SECS=3
src=$FIXTURES/trunc_lib
[[ -x $src/trunc_main && -f $src/libtrunc.so ]] || t_fail "fixture not built: $src"
command -v truncate >/dev/null || t_skip "no truncate(1)"
# trunc_a's SIGBUS is expected: no core file for it.
ulimit -c 0

# Each copy of the program finds the library beside it (rpath $ORIGIN).
for side in a b; do
	mkdir -p "$WORK/$side"
	cp "$src/trunc_main" "$WORK/$side/trunc_$side"
	cp "$src/libtrunc.so" "$WORK/$side/libtrunc.so"
done
cmp -s "$WORK/a/libtrunc.so" "$WORK/b/libtrunc.so" || t_fail "the two copies differ"

FIXTURES=$WORK/a start_fixture trunc_a run 20
A=$FIXTURE_PID
FIXTURES=$WORK/b start_fixture trunc_b wait "$B_SECS"
B=$FIXTURE_PID

T_LAST_CMD="smolder record --unwind dwarf -p $A -p $B -F $HZ -d 30 -o $WORK/out.folded"
T_LAST_STDERR=$WORK/record.stderr
"$SMOLDER" record --unwind dwarf -p "$A" -p "$B" -F "$HZ" -d 30 -o "$WORK/out.folded" \
	>"$WORK/record.stdout" 2>"$T_LAST_STDERR" &
S=$!
t_bg_register "$S"

# smolder has trunc_a's copy of the library open or mapped once it took trunc_a's
# first sample. From then on, 300 ms of trunc_a's CPU time (60 samples) in the
# library, however busy the machine, and it has been unwound there.
for (( i = 0; i < 300; i++ )); do
	if grep -qF "$WORK/a/libtrunc.so" "/proc/$S/maps" 2>/dev/null ||
		ls -l "/proc/$S/fd" 2>/dev/null | grep -qF -- "$WORK/a/libtrunc.so"; then
		break
	fi
	t_running "$S" || break
	sleep 0.05
done
(( i < 300 )) || t_fail "smolder did not open trunc_a's library within 15 s"
a_cpu0=$(proc_cpu_ms "$A") || t_fail "trunc_a exited before its library was truncated"
for (( i = 0; i < 400; i++ )); do
	a_cpu=$(proc_cpu_ms "$A") || t_fail "trunc_a exited before its library was truncated"
	(( a_cpu - a_cpu0 >= 300 )) && break
	sleep 0.05
done

truncate -s 4096 "$WORK/a/libtrunc.so" || t_fail "truncate failed"
t_log "truncated $WORK/a/libtrunc.so to 4096 bytes; trunc_b starts spinning"
kill -USR1 "$B" || t_fail "trunc_b is gone before it was started"

# smolder ends when both targets have: trunc_b after B_SECS, trunc_a at once (SIGBUS).
wait_bounded "$S" 60
t_log "$T_LAST_CMD -> exit $RC"
assert_rc 0 "record with a library truncated under it"
assert_folded "$WORK/out.folded"
grep -q 'wrote' "$T_LAST_STDERR" || t_fail "no summary line saying the output was written"

# The premise: trunc_a was unwound through the library before the truncation (trunc_b
# had not run it yet), so the unwinder's copy of the library came from trunc_a's file.
grep '^trunc_a;' "$WORK/out.folded" >"$WORK/a.folded"
a_lib=$(awk '/;lib_middle;/ { t += $NF } END { print t + 0 }' "$WORK/a.folded")
assert_ge "$a_lib" 10 "trunc_a's samples unwound through the library before the truncation"

# trunc_b: every CPU sample taken, and its stacks whole through the library.
grep '^trunc_b;' "$WORK/out.folded" >"$WORK/b.folded"
assert_folded "$WORK/b.folded" trunc_b
b_cpu=$(sed -n 's/^trunc_b: cpu_ms //p' "$WORK/trunc_b.out")
[[ -n $b_cpu ]] || t_fail "trunc_b did not report its CPU time: $(cat "$WORK/trunc_b.out")"
assert_sample_count "$(folded_total "$WORK/b.folded")" "$HZ" "$b_cpu"
for frame in lib_spin lib_middle lib_outer app_loop main; do
	assert_ge "$(folded_share "$WORK/b.folded" "$frame")" 95 \
		"trunc_b's samples whose stack has $frame (%)"
done
t_log "PASS"
