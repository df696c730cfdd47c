#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# debuginfod: with DEBUGINFOD_URLS set, `smolder symbolize` fetches a stripped file's
# debug file by build-id through libdebuginfod from a local server (a static file tree
# in debuginfod's URL layout, served by python3's http.server), into the client cache;
# later runs find it there with the network off (--no-debuginfod). A server that
# never answers costs no more than --debuginfod-timeout.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

PY=$(command -v python3) || t_skip "python3 is not installed (it serves the test's debuginfod files)"
D=$FIXTURES/debug
[[ -x $D/debug_buildid ]] || t_fail "debug fixtures not built: $D"
command -v nm >/dev/null || t_skip "nm (binutils) is not installed"

hidden=$(nm "$D/debug_full" | awk '$3 == "smolder_dbg_hidden" { print "0x" $1; exit }')
# The debug file of debug_buildid's own build-id (a build directory may still hold
# those of earlier builds of the fixture).
bid=$(readelf -n "$D/debug_buildid" | awk '/Build ID:/ { print $3; exit }')
dbg=$D/debugroot/.build-id/${bid:0:2}/${bid:2}.debug
[[ -n $hidden && -n $bid && -f $dbg ]] || t_fail "fixture facts missing"
mkdir -p "$WORK/srv/buildid/$bid"
cp "$dbg" "$WORK/srv/buildid/$bid/debuginfo"

# A server on a free port; it says which one it took.
"$PY" -c '
import http.server, socketserver, sys, os
os.chdir(sys.argv[1])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
with socketserver.TCPServer(("127.0.0.1", 0), H) as s:
    print(s.server_address[1], flush=True)
    s.serve_forever()
' "$WORK/srv" >"$WORK/port" 2>"$WORK/server.err" &
t_bg_register $!
for (( i = 0; i < 100; i++ )); do [[ -s $WORK/port ]] && break; sleep 0.05; done
port=$(head -n 1 "$WORK/port")
[[ -n $port ]] || t_fail "the test's HTTP server did not start: $(cat "$WORK/server.err")"

export DEBUGINFOD_CACHE_PATH=$WORK/cache
export DEBUGINFOD_URLS=http://127.0.0.1:$port
expect() {
	grep -qxF -- "$2" "$WORK/$1.stdout" || t_fail "$1: expected '$2', got: $(cat "$WORK/$1.stdout")"
	t_log "ok: $1: $2"
}

# Nothing local: the name comes through debuginfod.
run_smolder fetch 60 symbolize --elf "$D/debug_buildid" --debug-dir /nonexistent "$hidden"
assert_rc 0 "symbolize with DEBUGINFOD_URLS"
expect fetch "$hidden smolder_dbg_hidden+0x0 ($D/debug_buildid)"
[[ -f $WORK/cache/$bid/debuginfo ]] || t_fail "the debug file is not in the debuginfod cache"

# From the cache, with fetching off and no server.
export DEBUGINFOD_URLS=http://127.0.0.1:9
run_smolder cached 60 symbolize --elf "$D/debug_buildid" --debug-dir /nonexistent --no-debuginfod "$hidden"
assert_rc 0 "symbolize from the debuginfod cache"
expect cached "$hidden smolder_dbg_hidden+0x0 ($D/debug_buildid)"

# Fetching off and an empty cache: no name (and no network).
export DEBUGINFOD_CACHE_PATH=$WORK/cache2
export DEBUGINFOD_URLS=http://127.0.0.1:$port
run_smolder off 60 symbolize --elf "$D/debug_buildid" --debug-dir /nonexistent --no-debuginfod "$hidden"
assert_rc 0 "symbolize --no-debuginfod"
expect off "$hidden [unknown] ($D/debug_buildid)"

# A server that accepts and never answers: bounded by the timeout.
"$PY" -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$WORK/port2" 2>/dev/null &
t_bg_register $!
for (( i = 0; i < 100; i++ )); do [[ -s $WORK/port2 ]] && break; sleep 0.05; done
export DEBUGINFOD_URLS=http://127.0.0.1:$(head -n 1 "$WORK/port2")
export DEBUGINFOD_CACHE_PATH=$WORK/cache3
run_smolder hang 60 symbolize --elf "$D/debug_buildid" --debug-dir /nonexistent \
	--debuginfod-timeout 1500 "$hidden"
assert_rc 0 "symbolize against a silent debuginfod server"
expect hang "$hidden [unknown] ($D/debug_buildid)"
assert_le "$ELAPSED_MS" 6000 "time spent on a silent server with a 1.5 s timeout (ms)"
t_log "PASS"
