#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Processes that live less than 100 ms are fully symbolized: `smolder record -- sh -c`
# runs a stripped program (its symbols only in a separate debug file, found through
# SMOLDER_DEBUG_DIRS) 30 times, each burning ~40 ms of CPU and exiting. Its mappings
# and files are captured when its first sample is symbolized (and kept open), so its
# later samples, symbolized after it exited, still resolve: almost every symbolized
# sample of it must name the burning function (all but its start-up and exit, whose
# share follows from the CPU time the processes used), and none may be a raw
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
	sh -c "for i in \$(seq $RUNS); do '$D/debug_buildid' burn $BURN_MS >/dev/null; done; times"
assert_rc 0 "record -- sh -c 'for ..; do debug_buildid burn $BURN_MS; done'"
[[ -s $WORK/out.folded ]] || t_fail "no folded output"
# The shell's `times`: its own user and system time, then its children's, as
# "0m1.230000s 0m0.040000s". The children are the 30 runs (and one seq).
read -r shell_ms child_ms < <(awk 'function ms(t) { split(t, a, "m"); return a[1] * 60000 + a[2] * 1000 }
	/^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ { v[++n] = ms($1) + ms($2) }
	END { printf "%d %d\n", v[1], v[2] }' "$WORK/short.stdout")
(( child_ms > 0 )) || t_fail "no CPU time of the children in the shell's times output: $(cat "$WORK/short.stdout")"
t_log "the shell used $shell_ms ms of CPU, its children $child_ms ms ($RUNS x $BURN_MS ms burning)"
# Every process under record was sampled at 199 Hz of its CPU time.
assert_sample_count "$(folded_total "$WORK/out.folded")" 199 "$(( shell_ms + child_ms ))"

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
(( total > 0 )) || t_fail "no samples of the short-lived processes"
# Each process burns BURN_MS of CPU in smolder_dbg_burn; the rest of its CPU time is
# exec, the dynamic loader, printf and exit, which take longer on a busy machine (the
# share is of CPU time, not of a fixed rate). Less 4 standard deviations of a share
# measured over TOTAL samples.
read -r want tol < <(awk -v b="$(( RUNS * BURN_MS ))" -v c="$child_ms" -v n="$total" 'BEGIN {
	p = b / c; if (p > 1) p = 1
	printf "%.1f %.1f\n", 100 * p, 400 * sqrt(p * (1 - p) / n) }')
t_log "expected share in smolder_dbg_burn: $want% ($RUNS x $BURN_MS ms of $child_ms ms), less $tol points"
assert_ge "$(folded_share "$WORK/short.folded" smolder_dbg_burn)" \
	"$(awk -v w="$want" -v t="$tol" 'BEGIN { printf "%.1f\n", w - t }')" \
	"samples of the short-lived processes in smolder_dbg_burn (%)"
raw=$(grep -c 'debug_buildid+0x' "$WORK/short.folded")
assert_eq "$raw" 0 "stacks with unsymbolized frames of the stripped binary"
t_log "PASS"
