#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Stacks are whole on Debian's own binaries, which are built without frame pointers:
# gzip compressing and python3 running a loop are profiled with the default
# --unwind auto, and their stacks must run from the hot code down to the program's
# entry (libc's __libc_start_main, which calls main), as perf --call-graph dwarf
# shows them. With --unwind fp they do not, which shows the case is real.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

GZIP=/usr/bin/gzip
PYTHON=/usr/bin/python3
[[ -x $GZIP ]] || t_skip "$GZIP is not installed"

# gzip -9 reading an endless pipe keeps one CPU busy until the test ends it.
head -c 8M /dev/urandom | base64 >"$WORK/input.txt"
# (The feeding loop ends by itself once gzip is gone: cat then fails with EPIPE.)
(while cat "$WORK/input.txt"; do :; done) | "$GZIP" -9 -c >/dev/null &
gz=$!
t_bg_register "$gz"
sleep 0.3
t_running "$gz" || t_fail "gzip did not start"

run_smolder gzip 60 record -p "$gz" -F 199 -d 3 -o "$WORK/gzip.folded"
assert_rc 0 "record -p gzip"
assert_folded "$WORK/gzip.folded" gzip
assert_ge "$(folded_share "$WORK/gzip.folded" __libc_start_main)" 90 \
	"gzip: samples whose stack reaches __libc_start_main (%)"

run_smolder gzip-fp 60 record --unwind fp -p "$gz" -F 199 -d 1 -o "$WORK/gzip-fp.folded"
assert_rc 0 "record --unwind fp -p gzip"
assert_le "$(folded_share "$WORK/gzip-fp.folded" __libc_start_main)" 50 \
	"gzip with --unwind fp: samples reaching __libc_start_main (%)"
kill "$gz" 2>/dev/null

if [[ -x $PYTHON ]]; then
	# --python-native: the interpreter's native frames are what this checks the
	# unwinding of (by default Python frames take their place).
	run_smolder python 60 record -F 199 --python-native -o "$WORK/python.folded" -- "$PYTHON" -c '
import time
def work(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
t = time.time()
while time.time() - t < 3:
    work(10000)
'
	assert_rc 0 "record -- python3"
	# Python's start-up (imports, before the loop) is a small part of 3 s.
	assert_ge "$(folded_share "$WORK/python.folded" Py_BytesMain)" 85 \
		"python3: samples whose stack reaches Py_BytesMain (%)"
	assert_ge "$(folded_share "$WORK/python.folded" _PyEval_EvalFrameDefault)" 80 \
		"python3: samples in the interpreter loop (%)"
fi
t_log "PASS"
