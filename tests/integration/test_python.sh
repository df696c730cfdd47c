#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12): `smolder record` of a CPython program shows each Python frame
# as `QUALNAME (FILE:LINE)_[p]` in place of the interpreter's _PyEval_EvalFrameDefault
# frames, with the native frames a Python function calls (zlib) above it.
#
# The target is tests/fixtures/python/shares.py: 60/30/10% of its CPU time in hot_a,
# hot_b (zlib.compress) and hot_c, called as <module> -> main -> Worker.run ->
# Worker.step -> hot_X (with --threads, Thread._bootstrap -> ... -> Worker.run -> ... in
# each worker thread); the line each function runs is marked "# LINE:NAME" there.
# Cases, each checking the Python frames:
#   pid      record -p PID of a fixture started before the recording (and the sample
#            count from its CPU time);
#   native   the same with --python-native: the interpreter's frames are kept beside;
#   cmd      record -- PYTHON shares.py --cpu-seconds N (the process starts after sampling);
#   threads  --threads 2: each worker's samples (by tid) have their own chain and split,
#            the main thread's are in main at its join line, never in hot_*;
#   all      record -a, the fixture's samples picked out by pid.
# Checks on the Python frames of a profile (python_frames_check):
#   - every frame of shares.py and threading.py names a function of that file and a
#     line inside it (never a wrong name);
#   - >= 95% of the samples reach the outermost frame (<module> (shares.py:, or
#     Thread._bootstrap (threading.py: in a worker thread); a stack that reaches it has
#     exactly the chain above, with each caller at its marked line for the majority;
#   - shares of hot_a/hot_b/hot_c within 5 points of 60/30/10 among the samples that
#     hold any of them; each at its marked line for the majority of its samples;
#   - zlib's native frames (deflate*, compress*, libz) come after `hot_b (` on the
#     stack, never before it nor under another Python frame, in >= 95% of the samples
#     that have them, and in the majority of hot_b's samples;
#   - no _PyEval_EvalFrameDefault on a stack with Python frames (present on >= 95% of
#     the hot samples with --python-native), and no "python: ... unsupported / cannot
#     read" note on stderr.
#
# This file tests Debian's /usr/bin/python3.11 (statically linked). The other
# test_python_pyenv*.sh set TPY_BIN (the interpreter; empty: none found), TPY_MINOR (its
# version, X.Y), TPY_WHAT (its description) and TPY_EXPECT and source this file: TPY_EXPECT=supported (default) requires Python frames;
# TPY_EXPECT=either (3.10) accepts either Python frames, checked as above, or native
# frames only with the one-line "python: ... unsupported" note. A missing interpreter is
# a skip.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# TPY_BIN set but empty: the wrapper found no such interpreter.
PY=${TPY_BIN-/usr/bin/python3.11}
PY_WHAT=${TPY_WHAT:-Debian\'s python3.11}
PY_MINOR=${TPY_MINOR:-3.11}
PY_EXPECT=${TPY_EXPECT:-supported}
[[ -n $PY && -x $PY ]] || t_skip "$PY_WHAT is not installed (${PY:-no binary found})"
PY_VERSION=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') ||
	t_fail "$PY does not run"
[[ $PY_VERSION == "$PY_MINOR".* ]] || t_fail "$PY is Python $PY_VERSION, not $PY_MINOR"
t_log "interpreter: $PY ($PY_WHAT, Python $PY_VERSION$(ldd "$PY" 2>/dev/null |
	grep -q libpython && echo ', libpython build' || echo ', static build'))"

. "$(dirname "$TESTLIB")/python_lib.sh"
[[ -f $SHARES ]] || t_fail "fixture not found: $SHARES"
PY_COMM=$(basename "$PY" | cut -c1-15)
line_of() {
	local n
	n=$(grep -n "# LINE:$1\$" "$SHARES" | cut -d: -f1)
	[[ $n =~ ^[0-9]+$ ]] || t_fail "no single '# LINE:$1' mark in $SHARES"
	echo "$n"
}
for mark in hot_a hot_b hot_c step run main join module; do
	line_of "$mark" >/dev/null
done

# Shares are checked to four standard errors of their sample count (share_tolerance),
# at least 5 points: the rates give about a thousand samples per profile even when the
# fixture gets half a CPU (the worker threads share one GIL: each gets a higher rate).
HZ=499
HZ_THREADS=999
SECS=4
# record -- PYTHON: the interpreter's start-up (before shares.py's <module> runs: 70-120
# ms of CPU here, twice that on a busy machine) is a fixed cost the run dilutes: the
# fixture runs for CPU time, not wall time, so a busy machine does not shrink the run
# around it (8 s: start-up < 3%). At the rate of the other cases its imports show a
# rare wrongly named frame (a code object read while the import machinery runs; not
# fixed yet), which this rate keeps as rare as it has been.
HZ_CMD=199
CPU_CMD=8
# record -a: the fixture competes with everything else the machine runs; as in
# test_record_all.sh, a higher rate keeps its shares on hundreds of samples.
HZ_ALL=499

# ---- the analysis of a folded profile, by the interpreter under test (its own
# threading.py is the one whose frames are checked) ----
cat >"$WORK/analyze.py" <<'EOF'
import ast
import re
import sys
import threading

folded, src, layout = sys.argv[1], sys.argv[2], sys.argv[3]
QUALNAMES = sys.version_info >= (3, 11)  # co_qualname; 3.10 has co_name only

marks = {}
with open(src) as f:
    for i, line in enumerate(f, 1):
        m = re.search(r"# LINE:(\w+)$", line.rstrip())
        if m:
            marks[m.group(1)] = i


def code_objects(path):
    """qualname -> [(first line, last line)] of every code object of a source file."""
    with open(path) as f:
        text = f.read()
    tree = ast.parse(text, path)
    out = {"<module>": [(1, max(1, len(text.splitlines())))]}
    comps = {ast.ListComp: "<listcomp>", ast.SetComp: "<setcomp>",
             ast.DictComp: "<dictcomp>", ast.GeneratorExp: "<genexpr>"}

    def add(q, node):
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        out.setdefault(q, []).append((first, node.end_lineno))

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = prefix + child.name
                add(q, child)
                walk(child, q + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                q = prefix + child.name
                add(q, child)
                walk(child, q + ".")
            elif isinstance(child, ast.Lambda):
                q = prefix + "<lambda>"
                add(q, child)
                walk(child, q + ".<locals>.")
            elif type(child) in comps:
                # A comprehension's scope adds no ".<locals>" to what it holds.
                q = prefix + comps[type(child)]
                add(q, child)
                walk(child, q + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    if sys.version_info >= (3, 12):  # PEP 709: list/set/dict comprehensions are inlined
        for q, r in list(out.items()):
            inl = re.sub(r"<(listcomp|setcomp|dictcomp)>\.", "", q)
            if inl != q:
                out.setdefault(inl, []).extend(r)
    if not QUALNAMES:  # co_name: the last part of the qualified name
        for q, r in list(out.items()):
            out.setdefault(q.rsplit(".", 1)[-1], []).extend(r)
    return out


known = {"shares.py": code_objects(src), "threading.py": code_objects(threading.__file__)}
PYF = re.compile(r"^(.*) \(([^()]*):([0-9]+)\)_\[p\]$")
ZLIB = re.compile(r"^(deflate\w*|compress\w*|zlib_compress\w*|\[libz\.so[^]]*\])$")
EVAL = re.compile(r"^_PyEval_EvalFrameDefault")


def short(name):
    return name if QUALNAMES else name.rsplit(".", 1)[-1]


HOT = ("hot_a", "hot_b", "hot_c")
if layout == "thread":
    ROOT = ("threading.py", "Thread._bootstrap")
    CHAIN = ["Worker.run", "Worker.step"]
else:
    ROOT = ("shares.py", "<module>")
    CHAIN = ["<module>", "main", "Worker.run", "Worker.step"]
CALLER_MARK = {"<module>": "module", "main": "main", "Worker.run": "run", "Worker.step": "step"}

c = dict.fromkeys(["total", "py", "root", "hot", "eval", "eval_py", "eval_hot", "bad",
                   "chain_bad", "zlib", "zlib_ok", "zlib_nob", "zlib_bad", "main_frames",
                   "main_not_join", "shares_frames"], 0)
for h in HOT:
    c[h] = c[h + "_line"] = c[h + "_zlib"] = 0
for k in CHAIN:
    c["caller " + k] = c["caller_line " + k] = 0
bad_example = chain_example = zlib_example = ""

with open(folded) as f:
    for line in f:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, n = line.rsplit(" ", 1)
        n = int(n)
        frames = stack.split(";")[1:]
        c["total"] += n
        py = []
        for i, fr in enumerate(frames):
            m = PYF.match(fr)
            if m:
                py.append((i, m.group(1), m.group(2), int(m.group(3))))
        ev = any(EVAL.match(fr) for fr in frames)
        c["eval"] += n * ev
        if py:
            c["py"] += n
            c["eval_py"] += n * ev
        # Never a wrong name: frames of a known file name one of its code objects, at a
        # line inside it.
        wrong = [fr for i, name, file, ln in py if file in known and not any(
            a <= ln <= b for a, b in known[file].get(name, []))]
        if wrong:
            c["bad"] += n
            bad_example = bad_example or f"{wrong[0]} in: {stack}"
        if any(file == "shares.py" for _, _, file, _ in py):
            c["shares_frames"] += n
        if any(file == ROOT[0] and short(name) == short(ROOT[1]) for _, name, file, _ in py):
            c["root"] += n
            rooted = True
        else:
            rooted = False
        hot = [(i, name, ln) for i, name, file, ln in py if file == "shares.py" and name in HOT]
        mine = [(name, ln) for _, name, file, ln in py if file == "shares.py"]
        if layout == "mainthread":
            for name, ln in mine:
                if name == "main":
                    c["main_frames"] += n
                    if ln != marks["join"]:
                        c["main_not_join"] += n
        if hot:
            c["hot"] += n
            c["eval_hot"] += n * ev
            hi, hname, hln = hot[-1]
            c[hname] += n
            c[hname + "_line"] += n * (hln == marks[hname])
            if any(ZLIB.match(fr) for fr in frames[hi + 1:]):
                c[hname + "_zlib"] += n
            if rooted:
                want = [short(x) for x in CHAIN] + [hname]
                if [short(nm) for nm, _ in mine] != want:
                    c["chain_bad"] += n
                    chain_example = chain_example or stack
                else:
                    for (nm, ln), k in zip(mine, CHAIN):
                        c["caller " + k] += n
                        c["caller_line " + k] += n * (ln == marks[CALLER_MARK[k]])
        z = next((i for i, fr in enumerate(frames) if ZLIB.match(fr)), None)
        if z is not None:
            c["zlib"] += n
            b = [i for i, name, file, _ in py if file == "shares.py" and name == "hot_b"]
            if any(i > z for i, _, _, _ in py) or (b and b[-1] > z):
                c["zlib_bad"] += n  # a Python frame above the native zlib frames
                zlib_example = zlib_example or stack
            elif not b:
                c["zlib_nob"] += n
            else:
                c["zlib_ok"] += n


def pct(a, b):
    return "%.1f" % (100.0 * a / b) if b else "nan"


for k, v in c.items():
    print(f"{k.replace(' ', ':')}={v}")
for h in HOT:
    print(f"share_{h}={pct(c[h], c['hot'])}")
    print(f"line_{h}={pct(c[h + '_line'], c[h])}")
for k in CHAIN:
    print(f"callerline_{k}={pct(c['caller_line ' + k], c['caller ' + k])}")
print(f"root_pct={pct(c['root'], c['total'])}")
print(f"zlib_ok_pct={pct(c['zlib_ok'], c['zlib'])}")
print(f"hot_b_zlib_pct={pct(c['hot_b_zlib'], c['hot_b'])}")
print(f"eval_hot_pct={pct(c['eval_hot'], c['hot'])}")
print(f"eval_pct={pct(c['eval'], c['total'])}")
print(f"bad_example={bad_example}")
print(f"chain_example={chain_example}")
print(f"zlib_example={zlib_example}")
EOF

# analyze FOLDED LAYOUT: runs the analysis (LAYOUT main: the fixture's main thread does
# the work; thread: a worker thread's samples; mainthread: the main thread's samples with
# --threads) into FOLDED.metrics, and logs it; once per profile (a profile has one
# layout).
analyze() {
	[[ -s $1.metrics ]] && return 0
	"$PY" "$WORK/analyze.py" "$1" "$SHARES" "$2" >"$1.metrics" 2>"$1.metrics.err" ||
		t_fail "the analysis of $1 failed: $(cat "$1.metrics.err")"
	t_log "metrics of $(basename "$1"): $(grep -v '_example=' "$1.metrics" | tr '\n' ' ')"
}
# metric FOLDED KEY: a value from FOLDED.metrics.
metric() { sed -n "s/^$2=//p" "$1.metrics"; }

# NOTE_LINES: how many "python: ... unsupported" lines an unsupported interpreter puts
# on stderr: one (the profile of one process); "some" with -a, where other Python
# programs of the machine may have theirs too.
NOTE_LINES=one

# no_python_note STDERR: a supported interpreter gets no degrade note (with -a, where
# other Python programs may get one, not checked).
no_python_note() {
	local note
	[[ $NOTE_LINES == one ]] || return 0
	note=$(grep -E 'python:.*(unsupported|cannot read)' "$1")
	[[ -z $note ]] || t_fail "Python $PY_VERSION ($PY_WHAT) got the degrade note: $note"
}

# python_frames_check FOLDED LAYOUT STDERR [native]: the checks listed at the top.
python_frames_check() {
	local f=$1 layout=$2 stderr=$3 native=${4:-} h root n
	analyze "$f" "$layout"
	(( $(metric "$f" total) > 0 )) || t_fail "$f: no samples"
	assert_eq "$(metric "$f" bad)" 0 "samples with a wrongly named Python frame (e.g. $(metric "$f" bad_example))"
	(( $(metric "$f" py) > 0 )) || t_fail "$f: no Python frames (_[p]) at all: $(head -c 600 "$f")"
	no_python_note "$stderr"
	if [[ $layout == thread ]]; then
		root='Thread._bootstrap (threading.py:'
	else
		root='<module> (shares.py:'
	fi
	assert_ge "$(metric "$f" root_pct)" 95 "samples that reach '$root' (%)"
	assert_eq "$(metric "$f" chain_bad)" 0 \
		"hot samples reaching the root whose Python chain is not the fixture's (e.g. $(metric "$f" chain_example))"
	n=$(metric "$f" hot)
	assert_within "$(metric "$f" share_hot_a)" 60 "$(share_tolerance "$n" 60)" \
		"share of hot_a among the $n hot samples (%)"
	assert_within "$(metric "$f" share_hot_b)" 30 "$(share_tolerance "$n" 30)" \
		"share of hot_b among the $n hot samples (%)"
	assert_within "$(metric "$f" share_hot_c)" 10 "$(share_tolerance "$n" 10)" \
		"share of hot_c among the $n hot samples (%)"
	for h in hot_a hot_b hot_c; do
		assert_ge "$(metric "$f" "line_$h")" 50.1 \
			"samples of $h at its marked line $(line_of "$h") (%)"
	done
	for h in Worker.run Worker.step; do
		assert_ge "$(metric "$f" "callerline_$h")" 50.1 "hot samples whose $h frame is at its call line (%)"
	done
	if [[ $layout == main ]]; then
		assert_ge "$(metric "$f" "callerline_main")" 50.1 "hot samples whose main frame is at line $(line_of main) (%)"
		assert_ge "$(metric "$f" "callerline_<module>")" 50.1 \
			"hot samples whose <module> frame is at line $(line_of module) (%)"
	fi
	(( $(metric "$f" zlib) > 0 )) || t_fail "$f: no zlib native frame (deflate*, compress*, libz) at all"
	assert_eq "$(metric "$f" zlib_bad)" 0 \
		"samples with a Python frame above zlib's native frames (e.g. $(metric "$f" zlib_example))"
	assert_ge "$(metric "$f" zlib_ok_pct)" 95 "samples with zlib frames that have them after 'hot_b (' (%)"
	assert_ge "$(metric "$f" hot_b_zlib_pct)" 50.1 "hot_b samples with zlib frames after 'hot_b (' (%)"
	if [[ $native == native ]]; then
		assert_ge "$(metric "$f" eval_hot_pct)" 95 \
			"hot samples with _PyEval_EvalFrameDefault beside the Python frames, --python-native (%)"
	else
		assert_eq "$(metric "$f" eval_py)" 0 "samples with both Python frames and _PyEval_EvalFrameDefault (default mode)"
	fi
}

# degraded_check FOLDED STDERR: an unsupported interpreter: native frames only (the
# interpreter's evaluation loop shows), and one note line on stderr.
degraded_check() {
	local f=$1 n
	analyze "$f" main
	assert_eq "$(metric "$f" py)" 0 "samples with Python frames (_[p]) of an unsupported Python $PY_VERSION"
	assert_ge "$(metric "$f" eval_pct)" 90 "samples in the interpreter's _PyEval_EvalFrameDefault (%)"
	n=$(grep -cE 'python:.*unsupported' "$2")
	if [[ $NOTE_LINES == one ]]; then
		assert_eq "$n" 1 "lines on stderr with 'python:' and 'unsupported' (Python $PY_VERSION)"
	else
		assert_ge "$n" 1 "lines on stderr with 'python:' and 'unsupported' (Python $PY_VERSION, -a)"
	fi
}

# profile_check FOLDED LAYOUT STDERR: Python frames for a supported interpreter; with
# TPY_EXPECT=either, Python frames checked the same way if there are any, else the
# degraded output. Never a wrongly named frame.
profile_check() {
	if [[ $PY_EXPECT == either ]]; then
		analyze "$1" "$2"
		assert_eq "$(metric "$1" bad)" 0 "samples with a wrongly named Python frame (e.g. $(metric "$1" bad_example))"
		if (( $(metric "$1" py) == 0 )); then
			t_log "Python $PY_VERSION: no Python frames; checking the degraded output"
			degraded_check "$1" "$3"
			return
		fi
		t_log "Python $PY_VERSION: Python frames; checking them"
	fi
	python_frames_check "$@"
}

# start_py LABEL ARGS..: starts the fixture in the background and waits until it works
# (its "shares: pid N" line). Sets PY_PID and PY_TIDS (its working threads).
start_py() {
	start_shares "$1" "$PY" "${@:2}"
}

# ---- cases ----

case_pid() {
	local pid cpu0 cpu1 samples
	start_py pid
	pid=$PY_PID
	cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read /proc/$pid/stat"
	run_smolder pid 60 record -p "$pid" -F "$HZ" -d "$SECS" -o "$WORK/pid.folded"
	cpu1=$(proc_cpu_ms "$pid") || t_fail "the fixture exited during the run"
	assert_rc 0 "record -p $pid"
	assert_folded "$WORK/pid.folded" "$PY_COMM"
	samples=$(summary_samples "$T_LAST_STDERR")
	[[ -n $samples ]] || t_fail "no 'N samples' in the summary on stderr"
	assert_eq "$(folded_total "$WORK/pid.folded")" "$samples" "sum of the folded counts vs the summary's sample count"
	assert_sample_count "$samples" "$HZ" "$(( cpu1 - cpu0 ))" "$ELAPSED_MS" "$(summary_window_ms "$T_LAST_STDERR")"
	profile_check "$WORK/pid.folded" main "$T_LAST_STDERR"
	if [[ $PY_EXPECT == supported ]]; then
		# A process running Python all along: not a single sample falls back to the
		# interpreter's frames.
		assert_eq "$(metric "$WORK/pid.folded" eval)" 0 "samples with _PyEval_EvalFrameDefault (default mode)"
	fi
	t_running "$pid" || t_fail "the fixture died during profiling"
}

case_native() {
	local pid
	start_py native
	pid=$PY_PID
	run_smolder native 60 record -p "$pid" -F "$HZ" -d "$SECS" --python-native -o "$WORK/native.folded"
	assert_rc 0 "record -p $pid --python-native"
	assert_folded "$WORK/native.folded" "$PY_COMM"
	if [[ $PY_EXPECT == either ]] && (( $(grep -c '_\[p\]' "$WORK/native.folded") == 0 )); then
		degraded_check "$WORK/native.folded" "$T_LAST_STDERR"
		return
	fi
	python_frames_check "$WORK/native.folded" main "$T_LAST_STDERR" native
}

case_cmd() {
	local child cpu samples
	# Guard of 60 s: the fixture uses CPU_CMD s of CPU, which takes longer when the
	# machine is busy; a run still going at 60 s did not end.
	run_smolder cmd 60 record -F "$HZ_CMD" -o "$WORK/cmd.folded" -- "$PY" "$SHARES" --cpu-seconds "$CPU_CMD"
	assert_rc 0 "record -- $PY shares.py --cpu-seconds $CPU_CMD"
	child=$(sed -n 's/^shares: pid \([0-9]*\)$/\1/p' "$WORK/cmd.stdout")
	[[ -n $child ]] || t_fail "the command did not run (no 'shares: pid N' on stdout)"
	assert_folded "$WORK/cmd.folded" "$PY_COMM"
	samples=$(summary_samples "$T_LAST_STDERR")
	[[ -n $samples ]] || t_fail "no 'N samples' in the summary on stderr"
	assert_eq "$(folded_total "$WORK/cmd.folded")" "$samples" "sum of the folded counts vs the summary's sample count"
	cpu=$(sed -n 's/^shares: cpu \([0-9]*\) ms$/\1/p' "$WORK/cmd.stdout")
	[[ -n $cpu ]] || t_fail "the command did not report its CPU time (did it exit by itself?)"
	assert_sample_count "$samples" "$HZ_CMD" "$cpu"
	profile_check "$WORK/cmd.folded" main "$T_LAST_STDERR"
}

case_threads() {
	local pid tid t0 span window f i
	local -A c0 c1
	start_py threads --threads 2
	pid=$PY_PID
	(( ${#PY_TIDS[@]} == 2 )) || t_fail "expected 2 worker tids from the fixture, got: ${PY_TIDS[*]}"
	for tid in "${PY_TIDS[@]}"; do
		c0[$tid]=$(proc_cpu_ms "$pid/task/$tid") || t_fail "cannot read /proc/$pid/task/$tid/stat"
	done
	t0=$(t_now_ms)
	run_smolder threads 60 record -p "$pid" -F "$HZ_THREADS" -d "$SECS" -o "$WORK/threads.smolder"
	span=$(( $(t_now_ms) - t0 ))
	for tid in "${PY_TIDS[@]}"; do
		c1[$tid]=$(proc_cpu_ms "$pid/task/$tid") || t_fail "worker $tid exited during the run"
	done
	assert_rc 0 "record -p $pid (2 worker threads)"
	window=$(summary_window_ms "$T_LAST_STDERR")
	cp "$T_LAST_STDERR" "$WORK/threads.record.stderr"
	# Each worker: its samples from its own CPU time, its own chain and split.
	for i in 0 1; do
		tid=${PY_TIDS[$i]}
		f=$WORK/worker$i.folded
		run_smolder "worker$i" 60 flamegraph "$WORK/threads.smolder" --pid "$pid" --label "tid=$tid" \
			--format folded -o "$f"
		assert_rc 0 "flamegraph threads.smolder --label tid=$tid"
		assert_folded "$f" "$PY_COMM"
		assert_sample_count "$(folded_total "$f")" "$HZ_THREADS" "$(( c1[$tid] - c0[$tid] ))" "$span" "$window"
		profile_check "$f" thread "$WORK/threads.record.stderr"
		if (( $(metric "$f" py) > 0 )); then
			# Not the main thread's chain (that of the thread holding the GIL, or the
			# first thread state).
			assert_eq "$(grep -cE '(^|;)(<module>|main) \(shares\.py:' "$f")" 0 \
				"stacks of worker $tid with the main thread's frames"
		fi
	done
	# The main thread waits in join, waking up every 2 ms (some 1-2% of a CPU): its
	# samples have its own chain, <module> -> main at the join line -> Thread.join.
	f=$WORK/mainthread.folded
	run_smolder mainthread 60 flamegraph "$WORK/threads.smolder" --pid "$pid" --label "tid=$pid" \
		--format folded -o "$f"
	assert_rc 0 "flamegraph threads.smolder --label tid=$pid"
	analyze "$f" mainthread
	t_log "main thread: $(metric "$f" total) samples"
	assert_eq "$(metric "$f" hot)" 0 "samples of the main thread in hot_a/hot_b/hot_c"
	assert_eq "$(metric "$f" bad)" 0 "main thread samples with a wrongly named Python frame (e.g. $(metric "$f" bad_example))"
	assert_eq "$(metric "$f" main_not_join)" 0 "main thread samples whose main frame is not at the join line $(line_of join)"
	if [[ $PY_EXPECT == supported || $(metric "$f" py) -gt 0 ]]; then
		assert_ge "$(metric "$f" main_frames)" 1 "main thread samples with its main (shares.py:$(line_of join)) frame"
	fi
	t_running "$pid" || t_fail "the fixture died during profiling"
}

case_all() {
	local pid cpu0 cpu1 t0 span self
	start_py all
	pid=$PY_PID
	cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read /proc/$pid/stat"
	T_LAST_CMD="smolder record -a -F $HZ_ALL -d 3 -o $WORK/all.smolder"
	T_LAST_STDERR=$WORK/all.stderr
	t0=$(t_now_ms)
	"$SMOLDER" record -a -F "$HZ_ALL" -d 3 -o "$WORK/all.smolder" >"$WORK/all.stdout" 2>"$T_LAST_STDERR" &
	self=$!
	t_bg_register "$self"
	wait_bounded "$self" 60
	span=$(( $(t_now_ms) - t0 ))
	cpu1=$(proc_cpu_ms "$pid") || t_fail "the fixture exited during the run"
	t_log "$T_LAST_CMD (pid $self) -> exit $RC in $span ms"
	assert_rc 0 "record -a"
	cp "$T_LAST_STDERR" "$WORK/all.record.stderr"
	run_smolder all_fixture 60 flamegraph "$WORK/all.smolder" --pid "$pid" --format folded \
		-o "$WORK/all.folded"
	assert_rc 0 "flamegraph all.smolder --pid FIXTURE"
	assert_folded "$WORK/all.folded" "$PY_COMM"
	assert_sample_count "$(folded_total "$WORK/all.folded")" "$HZ_ALL" "$(( cpu1 - cpu0 ))" \
		"$span" "$(summary_window_ms "$WORK/all.record.stderr")"
	# The machine may run other Python programs: a degrade note may be theirs.
	NOTE_LINES=some
	profile_check "$WORK/all.folded" main "$WORK/all.record.stderr"
}

t_case pid case_pid
t_case native case_native
t_case cmd case_cmd
t_case threads case_threads
t_case all case_all
t_finish
