#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12) in the node agent: `smolder agent` runs the same session as
# record, over every process. A CPython 3.11+ running tests/fixtures/python/shares.py
# before the agent starts is found at its start; one started while it runs is found
# by its eval loop frames. In the store, both have Python frames on >= 90% of their
# samples (the first samples of the late one may come before its interpreter is found)
# with hot_a, hot_b and hot_c named, and /metrics counts the interpreters.
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

t_case agent case_agent
t_finish
