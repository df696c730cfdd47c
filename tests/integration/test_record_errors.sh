#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record's error cases: bad usage exits 2 and a runtime failure exits 1, each with one
# line on stderr; a target that exits, SIGINT and SIGTERM end the run early with exit 0
# and the profile written.  Never a crash (signal exit) or a hang.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

start_fixture shares_fp
live=$FIXTURE_PID

# ---- unknown PID: exit 1, one line naming the pid ----
nopid=$(unused_pid) || t_fail "could not find an unused pid"
run_smolder unknown_pid 30 record -p "$nopid" -d 2 -o "$WORK/unknown.folded"
assert_rc 1 "record -p $nopid (no such process)"
assert_one_line "$T_LAST_STDERR" "record -p $nopid"
grep -qw -- "$nopid" "$T_LAST_STDERR" || t_fail "the error line does not name pid $nopid"
t_log "ok: unknown pid -> exit 1: $(cat "$T_LAST_STDERR")"

# ---- bad usage: exit 2, one line ----
usage_case() {
	local label=$1
	shift
	run_smolder "$label" 30 "$@"
	assert_rc 2 "smolder $*"
	assert_one_line "$T_LAST_STDERR" "smolder $*"
	t_log "ok: smolder $* -> exit 2: $(cat "$T_LAST_STDERR")"
}
usage_case bad_flag record --no-such-flag -p "$live" -d 1 -o "$WORK/x.folded"
usage_case freq_zero record -F 0 -p "$live" -d 1 -o "$WORK/x.folded"
usage_case no_target record -d 1 -o "$WORK/x.folded"
usage_case pid_abc record -p abc -d 1 -o "$WORK/x.folded"

# ---- unwritable output: exit 1, one line naming the file ----
run_smolder unwritable 30 record -p "$live" -d 2 -o /nonexistent/dir/x.svg
assert_rc 1 "record -o /nonexistent/dir/x.svg"
assert_one_line "$T_LAST_STDERR" "record -o /nonexistent/dir/x.svg"
grep -qF /nonexistent/dir/x.svg "$T_LAST_STDERR" || t_fail "the error line does not name the output file"
t_log "ok: unwritable output -> exit 1: $(cat "$T_LAST_STDERR")"

# ---- the target exits during the run: record ends then (not at -d), exit 0, output ----
start_fixture shares_fp 3
short=$FIXTURE_PID
run_smolder target_exits 30 record -p "$short" -d 10 -o "$WORK/exits.folded"
assert_rc 0 "record -p PID -d 10 with PID exiting after ~3 s"
t_running "$short" && t_fail "record returned while its target $short is still running"
# The target lives ~3 s; a run that lasts until -d (10 s) did not notice it exit.
assert_le "$ELAPSED_MS" 7000 "duration of record -d 10 with a target living 3 s (ms)"
assert_folded "$WORK/exits.folded" shares_fp
grep -q ';func_a' "$WORK/exits.folded" || t_fail "the profile of the exited target has no func_a"

# ---- SIGINT and SIGTERM: exit 0 promptly, the profile written ----
# Asynchronous commands of a non-interactive shell start with SIGINT ignored; reset it
# to the default so smolder starts as it would from a terminal.
signal_case() {
	local sig=$1 out=$2 pid t0
	# shellcheck disable=SC2034  # read by t_fail in lib.sh
	T_LAST_CMD="smolder record -p $live -d 60 -o $out  (then SIG$sig)"
	T_LAST_STDERR=$WORK/sig$sig.stderr
	env --default-signal=INT "$SMOLDER" record -p "$live" -d 60 -o "$out" \
		>"$WORK/sig$sig.stdout" 2>"$T_LAST_STDERR" &
	pid=$!
	t_bg_register "$pid"
	sleep 3
	t_running "$pid" || { wait "$pid"; RC=$?; t_fail "record -d 60 ended before SIG$sig (exit $RC)"; }
	t0=$(t_now_ms)
	kill -"$sig" "$pid"
	wait_bounded "$pid" 10
	t_log "SIG$sig -> exit $RC in $(( $(t_now_ms) - t0 )) ms"
	assert_rc 0 "record -p PID -d 60 stopped by SIG$sig"
	assert_le "$(( $(t_now_ms) - t0 ))" 5000 "time from SIG$sig to exit (ms)"
	[[ -s $out ]] || t_fail "no output written after SIG$sig: $out"
}
signal_case INT "$WORK/sigint.folded"
assert_folded "$WORK/sigint.folded" shares_fp
signal_case TERM "$WORK/sigterm.svg"
if ! grep -q '<svg' "$WORK/sigterm.svg" || ! grep -q '</svg>' "$WORK/sigterm.svg"; then
	t_fail "the SVG written after SIGTERM is not a whole SVG document"
fi
t_log "ok: sigterm.svg is whole"

t_running "$live" || t_fail "the profiled process died during the tests"
t_log "PASS"
