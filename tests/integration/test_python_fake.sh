#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12), an unsupported version: a copy of Debian's python3.11 whose
# binary says it is CPython 3.15.0 (tests/fixtures/make_fake_python.sh patches its
# Py_Version and version string; the copy keeps the name python3.11, so only a version
# read from the binary tells it apart).  Recorded running shares.py, started before the
# recording (-p) and by record -- CMD, smolder degrades: exit 0 (no crash), native frames
# only (no `_[p]` frame, the interpreter's _PyEval_EvalFrameDefault shows), and exactly
# one line on stderr with "python:" and "unsupported".
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

REAL=/usr/bin/python3.11
[[ -x $REAL ]] || t_skip "Debian's python3.11 ($REAL) is not installed"
command -v readelf >/dev/null || t_skip "readelf (binutils) is not installed"
SRC=$(cd "$(dirname "$TESTLIB")/../fixtures" && pwd)
. "$(dirname "$TESTLIB")/python_lib.sh"
FAKE=$WORK/fake/python3.11
mkdir -p "$WORK/fake"
bash "$SRC/make_fake_python.sh" "$REAL" "$FAKE" 0x030f00f0 >"$WORK/make_fake.out" 2>&1 ||
	t_fail "make_fake_python.sh failed: $(cat "$WORK/make_fake.out")"
t_log "$(cat "$WORK/make_fake.out")"
[[ $("$FAKE" --version 2>&1) == "Python 3.15.0" ]] ||
	t_fail "the fake says '$("$FAKE" --version 2>&1)', not Python 3.15.0"

HZ=199
SECS=3

# degraded_check FOLDED: the checks above on a finished record.
degraded_check() {
	local f=$1 total py eval n
	assert_folded "$f" python3.11
	total=$(folded_total "$f")
	py=$(awk '/_\[p\]/ { t += $NF } END { print t + 0 }' "$f")
	assert_eq "$py" 0 "samples with Python frames (_[p]) of a Python that says 3.15.0 (e.g. $(grep -m1 -o '[^;]*_\[p\]' "$f"))"
	eval=$(awk '/(^|;)_PyEval_EvalFrameDefault(;| )/ { t += $NF } END { print t + 0 }' "$f")
	assert_ge "$(awk -v e="$eval" -v t="$total" 'BEGIN { printf "%.1f", 100 * e / t }')" 90 \
		"samples in the interpreter's _PyEval_EvalFrameDefault (%)"
	n=$(grep -cE 'python:.*unsupported' "$T_LAST_STDERR")
	assert_eq "$n" 1 "lines on stderr with 'python:' and 'unsupported'"
	t_log "note: $(grep -E 'python:.*unsupported' "$T_LAST_STDERR")"
}

case_pid() {
	local pid cpu0 cpu1
	start_shares pid "$FAKE"
	pid=$PY_PID
	cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read /proc/$pid/stat"
	run_smolder pid 60 record -p "$pid" -F "$HZ" -d "$SECS" -o "$WORK/pid.folded"
	cpu1=$(proc_cpu_ms "$pid") || t_fail "the fixture exited during the run"
	assert_rc 0 "record -p $pid (a fake Python 3.15)"
	assert_sample_count "$(summary_samples "$T_LAST_STDERR")" "$HZ" "$(( cpu1 - cpu0 ))" \
		"$ELAPSED_MS" "$(summary_window_ms "$T_LAST_STDERR")"
	degraded_check "$WORK/pid.folded"
	t_running "$pid" || t_fail "the fixture died during profiling"
}

case_cmd() {
	local cpu
	run_smolder cmd 40 record -F "$HZ" -o "$WORK/cmd.folded" -- "$FAKE" "$SHARES" --cpu-seconds "$SECS"
	assert_rc 0 "record -- python3.11 (a fake 3.15) shares.py"
	cpu=$(sed -n 's/^shares: cpu \([0-9]*\) ms$/\1/p' "$WORK/cmd.stdout")
	[[ -n $cpu ]] || t_fail "the command did not report its CPU time (did it exit by itself?)"
	assert_sample_count "$(summary_samples "$T_LAST_STDERR")" "$HZ" "$cpu"
	degraded_check "$WORK/cmd.folded"
}

t_case pid case_pid
t_case cmd case_cmd
t_finish
