#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12) in the node agent: `smolder agent` runs the same session as
# record, over every process. A CPython 3.11+ running tests/fixtures/python/shares.py
# before the agent starts is found at its start; one started while it runs is found
# by its eval loop frames. In the store, both have Python frames on >= 90% of their
# samples (the first samples of the late one may come before its interpreter is found)
# with hot_a, hot_b and hot_c named, and /metrics counts the interpreters.
# Short-lived scripts (half a second of CPU each) are found and named while they run,
# although the agent reads its samples once a second: their code objects are read
# from their memory, which is gone at their exit. Three in a row, then a worker that
# a CPython process forks (as multiprocessing does). Of each one's samples in the eval
# loop, >= 80% show Python frames rather than the native eval loop (the rest were
# taken before the interpreter was found; the interpreter's start-up, before it runs
# the eval loop, is neither), and hot_a is named. /metrics shows the kernel side's
# counters (the Python wakeups) as they are, not as of a flush, which has not happened.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init
. "$(dirname "$TESTLIB")/agent_lib.sh"

. "$(dirname "$TESTLIB")/python_lib.sh"
PY=$(first_python311)
[[ -n $PY ]] || t_skip "no CPython 3.11+ (Debian's python3.11 or a pyenv build) is installed"
# check_store PID WHAT: the store's samples of PID: Python frames on >= 90%, the three
# hot functions named.
check_store() {
	local f=$WORK/$2.folded total py fn
	run_smolder "$2" 60 flamegraph --store "$WORK/store" --pid "$1" --format folded -o "$f"
	assert_rc 0 "flamegraph --store --pid $1 ($2)"
	total=$(awk '{ t += $NF } END { print t + 0 }' "$f")
	(( total >= 20 )) || t_fail "$2: only $total samples of pid $1 in the store"
	py=$(awk '/_\[p\]/ { t += $NF } END { print t + 0 }' "$f")
	assert_ge "$(awk -v p="$py" -v t="$total" 'BEGIN { printf "%.1f", 100 * p / t }')" 90 \
		"$2: samples with Python frames (%)"
	for fn in hot_a hot_b hot_c; do
		grep -q ";$fn (shares.py:[0-9]*)_\[p\]" "$f" || t_fail "$2: no frame '$fn (shares.py:N)_[p]'"
	done
}

case_agent() {
	local early late
	start_shares early "$PY"
	early=$PY_PID
	start_agent agent "$WORK/store"
	sleep 3
	start_shares late "$PY"
	late=$PY_PID
	# Until both fixtures have been sampled a while (the agent samples every CPU).
	sleep 5
	wait_metric python_processes_total 2 10
	stop_agent 15
	assert_rc 0 "agent exit on SIGTERM"
	check_store "$early" early
	check_store "$late" late
}

case_short() {
	local i pid pids=() f total py eval_native
	# A flush interval longer than the test: the names read while a script runs
	# are what its later samples are named with.
	FLUSH=600 start_agent short "$WORK/short-store"
	sleep 2
	for i in 1 2 3; do
		"$PY" "$SHARES" --cpu-seconds 0.5 >"$WORK/short$i.out" 2>&1 ||
			t_fail "short script $i failed: $(cat "$WORK/short$i.out")"
		pid=$(sed -n 's/^shares: pid \([0-9]*\)$/\1/p' "$WORK/short$i.out")
		[[ -n $pid ]] || t_fail "short script $i printed no pid: $(cat "$WORK/short$i.out")"
		pids+=("$pid")
	done
	# A forked worker: shares.py run in the child of a CPython process, no exec.
	"$PY" -c 'import os, runpy, sys
pid = os.fork()
if pid == 0:
    sys.argv = [sys.argv[1], "--cpu-seconds", "0.5"]
    runpy.run_path(sys.argv[0], run_name="__main__")
    os._exit(0)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))' "$SHARES" >"$WORK/short4.out" 2>&1 ||
		t_fail "the forked worker failed: $(cat "$WORK/short4.out")"
	pid=$(sed -n 's/^shares: pid \([0-9]*\)$/\1/p' "$WORK/short4.out")
	[[ -n $pid ]] || t_fail "the forked worker printed no pid: $(cat "$WORK/short4.out")"
	pids+=("$pid")
	# What the agent counted, for a failure's diagnosis.
	t_log "metrics: $(curl -sf "http://127.0.0.1:$PORT/metrics" | grep '^smolder_python' | tr '\n' ' ')"
	# The kernel side's counters on /metrics are current before any flush.
	[[ $(metric intervals_total) == 0 ]] || t_fail "a flush before the end of the test"
	wait_metric python_wakeups_total 1 5
	stop_agent 15
	assert_rc 0 "agent exit on SIGTERM"
	for i in 0 1 2 3; do
		f=$WORK/short$i.folded
		run_smolder "short$i" 60 flamegraph --store "$WORK/short-store" --pid "${pids[i]}" \
			--format folded -o "$f"
		assert_rc 0 "flamegraph --store --pid ${pids[i]} (short script $((i + 1)))"
		total=$(folded_total "$f")
		(( total >= 20 )) || t_fail "short script $((i + 1)): only $total samples in the store"
		py=$(awk '/_\[p\]/ { t += $NF } END { print t + 0 }' "$f")
		eval_native=$(awk '!/_\[p\]/ && /;_PyEval_EvalFrameDefault(;|$| )/ { t += $NF }
			END { print t + 0 }' "$f")
		assert_ge "$(awk -v p="$py" -v n="$eval_native" \
			'BEGIN { printf "%.1f", p + n ? 100 * p / (p + n) : 0 }')" 80 \
			"short script $((i + 1)): samples in the eval loop with Python frames (%)"
		grep -q ";hot_a (shares.py:[0-9]*)_\[p\]" "$f" ||
			t_fail "short script $((i + 1)): no frame 'hot_a (shares.py:N)_[p]'"
	done
}

t_case agent case_agent
t_case short case_short
t_finish
