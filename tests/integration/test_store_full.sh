#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_store_full.sh: a store on a tiny filesystem that fills up. Writing the deploy
# log and exporting into it fail with one line that says the disk is full and exit 1;
# nothing half-written is left (no torn log line, no partial output file) and what was
# stored before still reads. (The store's segment writer is covered by the unit test
# test_store's full-disk case.) Needs root to mount a tmpfs: skips (77) otherwise.
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
MNT=$WORK/mnt
mkdir "$MNT"
cleanup_mount() { mountpoint -q "$MNT" && umount "$MNT"; t_cleanup; }
trap 'cleanup_mount' EXIT
(( EUID == 0 )) || t_skip "needs root to mount a tmpfs"
mount -t tmpfs -o size=256k tmpfs "$MNT" 2>/dev/null || t_skip "cannot mount a tmpfs here"
DATA=$(dirname "$TESTLIB")/../data
S=$MNT/store
cp -r "$DATA/store" "$S" || t_fail "copying the store fixture"

# Fill the disk, leaving a few KiB.
dd if=/dev/zero of="$MNT/filler" bs=1k count=1000 2>/dev/null
sync

# Deploy events until the disk refuses one; that one fails cleanly.
long=$(head -c 300 /dev/zero | tr '\0' v)
ok=0
for (( i = 0; i < 2000; i++ )); do
	run_smolder "dep$i" 10 deploy --store "$S" --service api --version "$long$i" --time $((1795000000 + i))
	(( RC == 0 )) || break
	ok=$(( ok + 1 ))
done
assert_rc 1 "deploy on a full disk"
assert_one_line "$T_LAST_STDERR" "deploy on a full disk"
grep -q 'No space left on device' "$T_LAST_STDERR" || t_fail "the error does not say the disk is full"
t_log "ok: $ok deploys fitted, then a one-line 'No space left' error"
# Every line in the log is whole: the torn one was cut off (or never reached it).
bad=$(awk 'END { print (substr($0, length($0)) == "}" || NR == 0) ? "" : "torn" }' "$S/deploys.jsonl")
[[ -z $bad ]] || t_fail "the deploy log ends in a torn line"
[[ $(tail -c 1 "$S/deploys.jsonl" | od -An -c | tr -d ' ') == '\n' ]] || t_fail "the deploy log does not end in a newline"
run_smolder info 30 info "$S"
assert_rc 0 "info on the full store"
grep -q 'malformed lines skipped' "$WORK/info.stdout" && t_fail "info found malformed deploy lines"
assert_eq "$(wc -l <"$S/deploys.jsonl")" $(( ok + 2 )) "deploy lines after the disk filled (2 + those that fitted)"
grep -qE '^samples: +250 ' "$WORK/info.stdout" || t_fail "the stored samples no longer read"

# An export into the full filesystem fails with one line and leaves no file behind.
for (( i = 0; i < 3000; i++ )); do echo "p;main;fn_$RANDOM$RANDOM$i 1"; done >"$WORK/big.folded"
run_smolder exp 30 export "$WORK/big.folded" --format pprof -o "$MNT/big.pb.gz"
assert_rc 1 "export into a full filesystem"
assert_one_line "$T_LAST_STDERR" "export into a full filesystem"
grep -q 'No space left on device' "$T_LAST_STDERR" || t_fail "the export error does not say the disk is full"
[[ -z $(ls "$MNT" | grep -v -e '^store$' -e '^filler$') ]] || t_fail "a failed export left files: $(ls "$MNT")"

# Free the space: everything works again.
rm -f "$MNT/filler"
run_smolder after 10 deploy --store "$S" --service api --version after
assert_rc 0 "deploy after space was freed"
run_smolder q 30 flamegraph --store "$S" --format folded -o "$WORK/after.folded"
assert_rc 0 "reading the store after the disk was full"
cmp -s "$WORK/after.folded" "$DATA/golden/store.folded" || t_fail "the store's samples changed"
exit 0
