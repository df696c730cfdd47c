#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12) when the interpreter's memory cannot be read: smolder runs
# under a seccomp filter that fails process_vm_readv with EPERM (fixtures/deny_vm_readv,
# what another user's process without CAP_SYS_PTRACE or an LSM refusal gives), recording
# shares.py on a CPython 3.11+ started before the recording. smolder degrades: exit 0
# (no crash), native frames only (no `_[p]` frame: never a name it could not read; the
# interpreter's _PyEval_EvalFrameDefault shows), and one line on stderr that says it
# cannot read the process's memory.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

. "$(dirname "$TESTLIB")/python_lib.sh"
PY=$(first_python311)
[[ -n $PY ]] || t_skip "no CPython 3.11+ (Debian's python3.11 or a pyenv build) is installed"
DENY=$FIXTURES/deny_vm_readv
[[ -x $DENY ]] || t_fail "fixture $DENY is not built"
HZ=199
SECS=3

# smolder itself, under the filter: every process_vm_readv it makes fails.
REAL_SMOLDER=$SMOLDER
SMOLDER=$WORK/smolder-denied
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$DENY" "$REAL_SMOLDER" >"$SMOLDER"
chmod +x "$SMOLDER"

case_pid() {
	local pid f total py eval n
	start_shares pid "$PY"
	pid=$PY_PID
	f=$WORK/pid.folded
	run_smolder pid 60 record -p "$pid" -F "$HZ" -d "$SECS" -o "$f"
	assert_rc 0 "record -p $pid ($PY) with process_vm_readv refused"
	assert_folded "$f" "$(basename "$PY")"
	total=$(folded_total "$f")
	(( total > 0 )) || t_fail "no samples of the fixture"
	py=$(awk '/_\[p\]/ { t += $NF } END { print t + 0 }' "$f")
	assert_eq "$py" 0 "samples with Python frames (_[p]) although its memory cannot be read"
	eval=$(awk '/(^|;)_PyEval_EvalFrameDefault(;| )/ { t += $NF } END { print t + 0 }' "$f")
	assert_ge "$(awk -v e="$eval" -v t="$total" 'BEGIN { printf "%.1f", 100 * e / t }')" 90 \
		"samples in the interpreter's _PyEval_EvalFrameDefault (%)"
	n=$(grep -cE '^smolder: python: cannot read the memory of pid [0-9]+ \(Operation not permitted\)' \
		"$T_LAST_STDERR")
	assert_eq "$n" 1 "lines on stderr saying the process's memory cannot be read"
	t_log "note: $(grep -E 'python: cannot read' "$T_LAST_STDERR")"
	t_running "$pid" || t_fail "the fixture died during profiling"
}

t_case pid case_pid
t_finish
