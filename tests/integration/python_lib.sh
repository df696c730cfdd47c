# SPDX-License-Identifier: Apache-2.0
# python_lib.sh: what the test_python*.sh tests share, sourced after lib.sh and t_init.

# The shares.py fixture (tests/fixtures/python).
SHARES=$(cd "$(dirname "$TESTLIB")/../fixtures/python" && pwd)/shares.py

# first_python311: the first CPython 3.11+ installed (Debian's python3.11, else the
# pyenv builds), or nothing.
first_python311() {
	local c
	for c in /usr/bin/python3.11 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.1[123].*/bin/python3.1[123]; do
		[[ -x $c ]] && { echo "$c"; return; }
	done
}

# start_shares LABEL PYTHON [ARGS..]: run shares.py under PYTHON in the background
# until it works (its "shares: pid N" line). Sets PY_PID and PY_TIDS (its working
# threads); its output goes to $WORK/LABEL.out.
start_shares() {
	local out=$WORK/$1.out py=$2 i
	shift 2
	"$py" "$SHARES" "$@" >"$out" 2>&1 &
	PY_PID=$!
	t_bg_register "$PY_PID"
	for (( i = 0; i < 200; i++ )); do
		if grep -q "^shares: pid $PY_PID\$" "$out" 2>/dev/null; then
			mapfile -t PY_TIDS < <(sed -n 's/^shares: thread \([0-9]*\)$/\1/p' "$out")
			return 0
		fi
		t_running "$PY_PID" || t_fail "the fixture exited at start: $(cat "$out")"
		sleep 0.05
	done
	t_fail "the fixture (pid $PY_PID) did not start within 10 s: $(cat "$out")"
}
