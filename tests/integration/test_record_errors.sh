#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record's error cases: bad usage exits 2 and a runtime failure (unknown pid, a command
# that cannot run, an unwritable output) exits 1, each with one line on stderr; a target
# that exits, SIGINT and SIGTERM end the run early with exit 0 and the profile written.
# Never a crash (death by a signal) or a hang.  The cases are independent: each runs
# whatever the others did, and the test fails if any of them failed.
# shellcheck disable=SC2317  # the case_* functions are called through t_case
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

start_fixture shares_fp
live=$FIXTURE_PID

# ---- unknown PID: exit 1, one line naming the pid ----
case_unknown_pid() {
	local nopid
	nopid=$(unused_pid) || t_fail "could not find an unused pid"
	run_smolder unknown_pid 30 record -p "$nopid" -d 2 -o "$WORK/unknown.folded"
	assert_rc 1 "record -p $nopid (no such process)"
	assert_one_line "$T_LAST_STDERR" "record -p $nopid"
	grep -qw -- "$nopid" "$T_LAST_STDERR" || t_fail "the error line does not name pid $nopid"
	t_log "ok: unknown pid -> exit 1: $(cat "$T_LAST_STDERR")"
}

# ---- bad usage: exit 2, one line ----
case_usage() {
	local label=$1
	shift
	run_smolder "$label" 30 "$@"
	assert_rc 2 "smolder $(t_quote "$@")"
	assert_one_line "$T_LAST_STDERR" "smolder $(t_quote "$@")"
	t_log "ok: exit 2: $(cat "$T_LAST_STDERR")"
}

# ---- a command that cannot be run: exit 1, one line naming it ----
case_bad_command() {
	run_smolder bad_cmd 30 record -d 2 -o "$WORK/badcmd.folded" -- /nonexistent/cmd
	assert_rc 1 "record -- /nonexistent/cmd"
	assert_one_line "$T_LAST_STDERR" "record -- /nonexistent/cmd"
	grep -qF /nonexistent/cmd "$T_LAST_STDERR" || t_fail "the error line does not name the command"
	t_log "ok: command not found -> exit 1: $(cat "$T_LAST_STDERR")"
}

# ---- unwritable output: exit 1, one line naming the file, before sampling (a -d 60
# run that only failed at its end would run into the 15 s guard) ----
case_unwritable() {
	run_smolder unwritable 15 record -p "$live" -d 60 -o /nonexistent/dir/x.svg
	assert_rc 1 "record -o /nonexistent/dir/x.svg"
	assert_one_line "$T_LAST_STDERR" "record -o /nonexistent/dir/x.svg"
	grep -qF /nonexistent/dir/x.svg "$T_LAST_STDERR" || t_fail "the error line does not name the output file"
	t_log "ok: unwritable output -> exit 1: $(cat "$T_LAST_STDERR")"
}

# ---- the target exits during the run: record ends then (not at -d), exit 0, output ----
# The target lives 3 s from its start, time enough for smolder to attach to it.
case_target_exits() {
	local short
	start_fixture shares_fp 3
	short=$FIXTURE_PID
	run_smolder target_exits 30 record -p "$short" -d 10 -o "$WORK/exits.folded"
	assert_rc 0 "record -p PID -d 10 with PID exiting after ~3 s"
	if t_running "$short"; then
		t_fail "record returned while its target $short is still running"
	fi
	# A run that lasts until -d (10 s) did not notice that its only target exited.
	assert_le "$ELAPSED_MS" 7000 "duration of record -d 10 with a target living 3 s (ms)"
	assert_folded "$WORK/exits.folded" shares_fp
	grep -q ';func_a' "$WORK/exits.folded" || t_fail "the profile of the exited target has no func_a"
}

# ---- SIGINT and SIGTERM: exit 0 promptly, the profile written ----
# Asynchronous commands of a non-interactive shell start with SIGINT ignored; reset it
# to the default so smolder starts as it would from a terminal.
case_signal() {
	local sig=$1 out=$2 pid t0
	# shellcheck disable=SC2034  # read by t_fail in lib.sh
	T_LAST_CMD="smolder record -p $live -d 60 -o $out, then SIG$sig"
	T_LAST_STDERR=$WORK/sig$sig.stderr
	env --default-signal=INT "$SMOLDER" record -p "$live" -d 60 -o "$out" \
		>"$WORK/sig$sig.stdout" 2>"$T_LAST_STDERR" &
	pid=$!
	t_bg_register "$pid"
	sleep 3
	if ! t_running "$pid"; then
		wait "$pid"
		RC=$?
		t_fail "record -d 60 ended before SIG$sig (exit $RC)"
	fi
	t0=$(t_now_ms)
	kill -"$sig" "$pid"
	wait_bounded "$pid" 10
	t_log "SIG$sig -> exit $RC in $(( $(t_now_ms) - t0 )) ms"
	assert_rc 0 "record -p PID -d 60 stopped by SIG$sig"
	assert_le "$(( $(t_now_ms) - t0 ))" 5000 "time from SIG$sig to exit (ms)"
	[[ -s $out ]] || t_fail "no output written after SIG$sig: $out"
	case $out in
	*.folded)
		assert_folded "$out" shares_fp ;;
	*.svg)
		if ! grep -q '<svg' "$out" || ! grep -q '</svg>' "$out"; then
			t_fail "the SVG written after SIG$sig is not a whole SVG document"
		fi
		t_log "ok: $out is a whole SVG document" ;;
	esac
}

x=$WORK/x.folded
t_case "unknown pid" case_unknown_pid
t_case "unknown flag" case_usage bad_flag record --no-such-flag -p "$live" -d 1 -o "$x"
t_case "-F 0" case_usage freq_zero record -F 0 -p "$live" -d 1 -o "$x"
t_case "no target" case_usage no_target record -d 1 -o "$x"
t_case "-p abc" case_usage pid_abc record -p abc -d 1 -o "$x"
t_case "-p ''" case_usage pid_empty record -p '' -d 1 -o "$x"
t_case "--max-memory too small" case_usage maxmem_small record --max-memory 10M -p "$live" -d 1 -o "$x"
t_case "--max-memory 12X" case_usage maxmem_unit record --max-memory 12X -p "$live" -d 1 -o "$x"
t_case "command not found" case_bad_command
t_case "unwritable -o" case_unwritable
t_case "target exits" case_target_exits
t_case "SIGINT" case_signal INT "$WORK/sigint.folded"
t_case "SIGTERM" case_signal TERM "$WORK/sigterm.svg"

t_running "$live" || t_fail "the profiled process died during the tests"
t_finish
