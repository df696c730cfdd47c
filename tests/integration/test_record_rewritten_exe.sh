#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A program file rewritten in place (the same inode, other contents) between two runs:
# the runs after it must carry the new build-id. Once a program is known, an exec of
# it by the same path is labelled from what the kernel's exec event says of the file
# (device, inode, size, modification time) when its build-id is cached under those,
# without a stat; else the path is checked on disk and the file read again.
# Two runs of shares_fp's contents (the first read from /proc, the second labelled
# from the exec event alone, which a wrong size or time from the BPF side would
# prevent), then syscalls_fp's contents copied over the same file and run.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

prog=$(realpath "$WORK")/prog # as /proc/PID/exe shows it
cp "$FIXTURES/shares_fp" "$prog"
ino_before=$(stat -c %i "$prog")
build_id() { readelf -n "$1" | awk '/Build ID:/ { print $3 }'; }
id_a=$(build_id "$FIXTURES/shares_fp")
id_b=$(build_id "$FIXTURES/syscalls_fp")
[[ -n $id_a && -n $id_b && $id_a != "$id_b" ]] ||
	t_fail "the fixtures need two different build-ids (got '$id_a' and '$id_b')"

run_smolder rewrite 90 record -v -F 199 -o "$WORK/rw.smolder" -- sh -c \
	"'$prog' 3; '$prog' 3; cp '$FIXTURES/syscalls_fp' '$prog'; '$prog' 3; stat -c %i '$prog'"
assert_rc 0 "record -- sh -c 'prog; prog; cp; prog'"
assert_eq "$(tail -n 1 "$WORK/rewrite.stdout")" "$ino_before" "the inode of the rewritten file"
# The second run was labelled from its exec event alone.
known=$(grep -oE 'labels_known=[0-9]+' "$T_LAST_STDERR" | grep -oE '[0-9]+$')
assert_ge "${known:-0}" 2 "runs labelled as a known program (the second and the third)"
unchecked=$(grep -oE 'labels_known_unchecked=[0-9]+' "$T_LAST_STDERR" | grep -oE '[0-9]+$')
assert_ge "${unchecked:-0}" 1 "runs labelled from the exec event without a stat"

run_smolder old 30 flamegraph "$WORK/rw.smolder" --label "build_id=$id_a" \
	--format folded -o "$WORK/old.folded"
assert_rc 0 "flamegraph --label build_id=shares_fp's"
run_smolder new 30 flamegraph "$WORK/rw.smolder" --label "build_id=$id_b" \
	--format folded -o "$WORK/new.folded"
assert_rc 0 "flamegraph --label build_id=syscalls_fp's"

assert_ge "$(grep -c ';func_a;' "$WORK/old.folded")" 1 "stacks of shares_fp under its build-id"
assert_ge "$(grep -c ';user_work;' "$WORK/new.folded")" 1 \
	"stacks of the rewritten file under its new build-id"
assert_eq "$(grep -c ';user_work;\|;kernel_work;' "$WORK/old.folded")" 0 \
	"stacks of the new contents under the old build-id"
assert_eq "$(grep -c ';func_[abc];' "$WORK/new.folded")" 0 \
	"stacks of the old contents under the new build-id"
t_log "PASS"
