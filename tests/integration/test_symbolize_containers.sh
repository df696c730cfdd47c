#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Files the host cannot see at the path a process has: a binary deleted after the
# process started, one replaced by a deploy (renamed over), and one that exists only
# in the process's own mount namespace (unshare -m, on a tmpfs mounted there). Each is
# symbolized from outside with `smolder symbolize --pid`, through /proc/PID/map_files
# and /proc/PID/root.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

D=$FIXTURES/debug
[[ -x $D/debug_full ]] || t_fail "debug fixtures not built: $D"

start_bin() {
	local label=$1 i
	shift
	"$@" >"$WORK/$label.out" 2>&1 </dev/null &
	BIN_PID=$!
	t_bg_register "$BIN_PID"
	for (( i = 0; i < 100; i++ )); do
		grep -qx ready "$WORK/$label.out" 2>/dev/null && return 0
		t_running "$BIN_PID" || t_fail "$* exited at start: $(cat "$WORK/$label.out")"
		sleep 0.05
	done
	t_fail "$* did not start within 5 s"
}
out_addr() { awk -v n="$2" '$1 == n { print $2; exit }' "$WORK/$1.out"; }
expect_line() {
	grep -qxF -- "$2" "$WORK/$1.stdout" ||
		t_fail "$1: expected the line '$2', got: $(cat "$WORK/$1.stdout")"
	t_log "ok: $1: $2"
}

# ---- deleted after start ----
mkdir -p "$WORK/del"
cp "$D/debug_full" "$WORK/del/app"
start_bin deleted "$WORK/del/app"
pid=$BIN_PID
rm -f "$WORK/del/app"
grep -q "$WORK/del/app (deleted)" "/proc/$pid/maps" || t_fail "the kernel does not show the binary as deleted"
h=$(out_addr deleted smolder_dbg_hidden)
a=$(out_addr deleted smolder_dbg_alpha)
run_smolder deleted 30 symbolize --pid "$pid" "$h" "$(printf '0x%x' $((a + 3)))"
assert_rc 0 "symbolize --pid of a process whose binary was deleted"
expect_line deleted "$h smolder_dbg_hidden+0x0 ($WORK/del/app)"
expect_line deleted "$(printf '0x%x' $((a + 3))) smolder_dbg_alpha+0x3 ($WORK/del/app)"

# ---- replaced by a deploy: another program renamed over the path ----
mkdir -p "$WORK/rep"
cp "$D/debug_full" "$WORK/rep/app"
start_bin replaced "$WORK/rep/app"
pid=$BIN_PID
cp "$FIXTURES/names_fixture" "$WORK/rep/app.new"
mv "$WORK/rep/app.new" "$WORK/rep/app"
h=$(out_addr replaced smolder_dbg_hidden)
run_smolder replaced 30 symbolize --pid "$pid" "$h"
assert_rc 0 "symbolize --pid of a process whose binary was replaced"
expect_line replaced "$h smolder_dbg_hidden+0x0 ($WORK/rep/app)"

# ---- only visible in its own mount namespace ----
command -v unshare >/dev/null || t_skip "unshare (util-linux) is not installed"
mkdir -p "$WORK/ns"
# unshare execs sh, which execs the app: $! is the app's pid.
start_bin ns unshare -m --propagation private sh -c \
	'mount -t tmpfs smolder-test "$1" && cp "$2" "$1/app" && exec "$1/app"' sh "$WORK/ns" "$D/debug_full"
pid=$BIN_PID
[[ ! -e $WORK/ns/app ]] || t_fail "the namespace's binary is visible on the host: the test proves nothing"
[[ $(readlink "/proc/$pid/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] ||
	t_fail "the process is in our mount namespace"
h=$(out_addr ns smolder_dbg_hidden)
b=$(out_addr ns smolder_dbg_burn)
run_smolder ns 30 symbolize --pid "$pid" "$h" "$(printf '0x%x' $((b + 1)))"
assert_rc 0 "symbolize --pid of a process in another mount namespace"
expect_line ns "$h smolder_dbg_hidden+0x0 ($WORK/ns/app)"
expect_line ns "$(printf '0x%x' $((b + 1))) smolder_dbg_burn+0x1 ($WORK/ns/app)"

# ---- a stripped binary whose debug file is installed only in the container ----
# Inside the namespace a tmpfs over /usr/lib/debug holds the .build-id tree (the
# container's debug package); the host's /usr/lib/debug does not have it. The default
# debug dir is searched under /proc/PID/root first.
bid_dir=$(cd "$D/debugroot/.build-id" && ls -d */ | head -n 1)
[[ -n $bid_dir ]] || t_fail "no .build-id tree in $D/debugroot"
[[ ! -e /usr/lib/debug/.build-id/$bid_dir$(ls "$D/debugroot/.build-id/$bid_dir" | head -n 1) ]] ||
	t_fail "the host has the fixture's debug file installed: the test proves nothing"
mkdir -p "$WORK/ns2" /usr/lib/debug 2>/dev/null
[[ -d /usr/lib/debug ]] || t_skip "/usr/lib/debug cannot be created to mount over"
start_bin ns2 unshare -m --propagation private sh -c \
	'mount -t tmpfs smolder-test "$1" && cp "$2" "$1/app" &&
	 mount -t tmpfs smolder-debug /usr/lib/debug && cp -r "$3/.build-id" /usr/lib/debug/ &&
	 exec "$1/app"' sh "$WORK/ns2" "$D/debug_buildid" "$D/debugroot"
pid=$BIN_PID
h=$(out_addr ns2 smolder_dbg_hidden)
run_smolder ns2 30 symbolize --pid "$pid" "$h"
assert_rc 0 "symbolize --pid of a stripped binary with its debug file in the container"
expect_line ns2 "$h smolder_dbg_hidden+0x0 ($WORK/ns2/app)"
t_log "PASS"
