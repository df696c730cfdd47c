#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Processes that live less than 100 ms are fully symbolized: `smolder record -- sh -c`
# runs a stripped program (its symbols only in a separate debug file, found through
# SMOLDER_DEBUG_DIRS) 30 times, each burning ~40 ms of CPU and exiting. Its mappings
# and files are captured when its first sample is symbolized (and kept open), so its
# later samples, symbolized after it exited, still resolve: almost every symbolized
# sample of it must name the burning function, and none may be a raw
# "[debug_buildid+0x...]" frame.
#
# A process's first sample wakes the reader at once (the BPF program submits it with
# BPF_RB_FORCE_WAKEUP), so its mappings are read while it still exists: stacks made
# only of "[unknown]" (a process gone before anything was read) count as failures.
# SHORT_LENIENT=1 excludes them, to tell that case apart from others when debugging.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

D=$FIXTURES/debug
[[ -x $D/debug_buildid ]] || t_fail "debug fixtures not built: $D"
RUNS=30
BURN_MS=40

export SMOLDER_DEBUG_DIRS=$D/debugroot
run_smolder short 120 record -F 199 -o "$WORK/out.folded" -- \
	sh -c "for i in \$(seq $RUNS); do '$D/debug_buildid' burn $BURN_MS >/dev/null; done"
assert_rc 0 "record -- sh -c 'for ..; do debug_buildid burn $BURN_MS; done'"
[[ -s $WORK/out.folded ]] || t_fail "no folded output"

# Each run is one process: record saw them all.
procs=$(grep -oE 'from [0-9]+ process' "$T_LAST_STDERR" | grep -oE '[0-9]+')
[[ -n $procs ]] && assert_ge "$procs" "$RUNS" "processes in the profile"

awk '$1 ~ /^debug_buildid;/' "$WORK/out.folded" >"$WORK/all.folded"
if [[ ${SHORT_LENIENT:-0} == 1 ]]; then
	grep -vE '^debug_buildid(;\[unknown\])+ [0-9]+$' "$WORK/all.folded" >"$WORK/short.folded"
else
	cp "$WORK/all.folded" "$WORK/short.folded"
fi
t_log "samples whose process was gone before its first sample was read:" \
	"$(( $(folded_total "$WORK/all.folded") - $(folded_total "$WORK/short.folded") ))" \
	"of $(folded_total "$WORK/all.folded")"
total=$(folded_total "$WORK/short.folded")
# 30 x 40 ms at 199 Hz is ~240 samples; a loaded machine gives fewer, never none.
assert_ge "$total" 60 "samples of the short-lived processes"
assert_ge "$(folded_share "$WORK/short.folded" smolder_dbg_burn)" 90 \
	"samples of the short-lived processes in smolder_dbg_burn (%)"
raw=$(grep -c 'debug_buildid+0x' "$WORK/short.folded")
assert_eq "$raw" 0 "stacks with unsymbolized frames of the stripped binary"
t_log "PASS"
