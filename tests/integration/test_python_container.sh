#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12) of an interpreter the host cannot see at its path, as in a
# container: a copy of CPython 3.11+ on a tmpfs mounted in the process's own mount
# namespace (unshare -m), running tests/fixtures/python/shares.py. smolder finds the
# interpreter through /proc/PID/root and /proc/PID/map_files and names its frames:
# Python frames on >= 95% of the samples, hot_a, hot_b and hot_c among them.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

PY=/usr/bin/python3.11
[[ -x $PY ]] || t_skip "Debian's python3.11 (a static build, one file to copy) is not installed"
command -v unshare >/dev/null || t_skip "unshare (util-linux) is not installed"
. "$(dirname "$TESTLIB")/python_lib.sh"
NS=$WORK/ns
mkdir -p "$NS"
HZ=199
SECS=3

case_container() {
	local out=$WORK/fixture.out pid i f total py fn
	# The copy exists only inside the namespace: the host sees an empty $NS.
	unshare -m --propagation private sh -c '
		mount -t tmpfs none "$1" && cp "$2" "$1/python3.11" && exec "$1/python3.11" "$3"' \
		sh "$NS" "$PY" "$SHARES" >"$out" 2>&1 &
	t_bg_register $!
	for (( i = 0; i < 200; i++ )); do
		pid=$(sed -n 's/^shares: pid \([0-9]*\)$/\1/p' "$out" 2>/dev/null)
		[[ -n $pid ]] && break
		sleep 0.05
	done
	[[ -n $pid ]] || t_fail "the fixture did not start in its namespace within 10 s: $(cat "$out")"
	[[ ! -e $NS/python3.11 ]] || t_fail "the host sees $NS/python3.11: the namespace did not hold"
	[[ $(readlink "/proc/$pid/exe") == "$NS/python3.11" ]] ||
		t_fail "pid $pid runs $(readlink "/proc/$pid/exe"), not the copy in the namespace"
	f=$WORK/container.folded
	run_smolder container 60 record -p "$pid" -F "$HZ" -d "$SECS" -o "$f"
	assert_rc 0 "record -p $pid (a Python only its own mount namespace sees)"
	total=$(awk '{ t += $NF } END { print t + 0 }' "$f")
	(( total > 0 )) || t_fail "no samples of pid $pid"
	py=$(awk '/_\[p\]/ { t += $NF } END { print t + 0 }' "$f")
	assert_ge "$(awk -v p="$py" -v t="$total" 'BEGIN { printf "%.1f", 100 * p / t }')" 95 \
		"samples with Python frames (%)"
	for fn in hot_a hot_b hot_c; do
		grep -q ";$fn (shares.py:[0-9]*)_\[p\]" "$f" || t_fail "no frame '$fn (shares.py:N)_[p]'"
	done
	t_running "$pid" || t_fail "the fixture died during profiling"
}

t_case container case_container
t_finish
