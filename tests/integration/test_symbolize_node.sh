#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# JIT code: a Node process run with --perf-basic-prof, in its own mount namespace with
# a private /tmp, so its /tmp/perf-PID.map exists only there. `smolder record -p`
# names its hot JavaScript function, and `smolder symbolize --pid` resolves an address
# of the function's compiled code to the name in the map.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

NODE=$(command -v node || command -v nodejs) || t_skip "node is not installed"
command -v unshare >/dev/null || t_skip "unshare (util-linux) is not installed"

JS='function smolderHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * Math.sin(i); return s; }
console.log("ready");
let t = 0; for (;;) t += smolderHotLoop(1e5);'

"$NODE" --version >/dev/null 2>&1 || t_skip "$NODE does not run"
# From $WORK: node writes an isolate-*-v8.log into its working directory.
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's
(cd "$WORK" && exec unshare -m --propagation private \
	sh -c 'mount -t tmpfs smolder-tmp /tmp && exec "$1" --perf-basic-prof -e "$2"' \
	sh "$NODE" "$JS") >"$WORK/node.out" 2>&1 </dev/null &
pid=$!
t_bg_register "$pid"
map=/proc/$pid/root/tmp/perf-$pid.map
for (( i = 0; i < 200; i++ )); do
	grep -q 'smolderHotLoop' "$map" 2>/dev/null && break
	t_running "$pid" || t_fail "node exited: $(cat "$WORK/node.out")"
	sleep 0.05
done
grep -q 'smolderHotLoop' "$map" 2>/dev/null || t_fail "node wrote no perf map entry for smolderHotLoop in 10 s"
[[ ! -e /tmp/perf-$pid.map ]] || t_fail "the perf map is visible on the host's /tmp: the test proves nothing"
# Let it reach optimized code.
sleep 1

run_smolder record 60 record -p "$pid" -d 3 -o "$WORK/node.folded"
assert_rc 0 "record -p node"
[[ -s $WORK/node.folded ]] || t_fail "no folded output"
share=$(awk '{ n = $NF; t += n } /smolderHotLoop/ { h += n } END { if (t) printf "%.1f\n", 100 * h / t; else print 0 }' "$WORK/node.folded")
assert_ge "$share" 50 "samples with a smolderHotLoop frame (%)"

# The newest compiled version of the function, and an address inside it.
line=$(grep 'smolderHotLoop' "$map" | tail -n 1)
read -r start _ name <<<"$line"
name=${line#* * }
addr=$(printf '0x%x' $(( 0x${start#0x} + 1 )))
run_smolder symbolize 30 symbolize --pid "$pid" "$addr"
assert_rc 0 "symbolize --pid node JIT address"
want="$addr $name+0x1 ([anon])"
grep -qxF -- "$want" "$WORK/symbolize.stdout" ||
	t_fail "expected '$want', got: $(cat "$WORK/symbolize.stdout")"
t_log "ok: $want"
t_log "PASS"
