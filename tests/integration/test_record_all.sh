#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record -a samples every process on the machine: a busy fixture shows up with its
# whole share of samples and its own stacks beside whatever else ran, smolder
# itself is never in the profile, and processes that ran before the recording carry
# their executable even when they end before their samples are read.
#
# Both are picked out by pid (the profile is written as a smolder file, which keeps
# the pid label), not by name: on a shared machine other shares_fp and smolder
# processes (other test runs) are in the profile too.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# The shares are checked to +-5 points: HZ is high enough that they rest on many
# samples (hundreds) even when the machine is busy and the fixture gets half a CPU
# (at 99 Hz, 130-190 samples in 3 s then: func_a's share varied by 2.4 points rms).
HZ=499
start_fixture shares_fp
pid=$FIXTURE_PID
cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read /proc/$pid/stat"

# In the background, to know smolder's own pid.
T_LAST_CMD="smolder record -a -F $HZ -d 3 -o $WORK/all.smolder"
T_LAST_STDERR=$WORK/all.stderr
t0=$(t_now_ms)
"$SMOLDER" record -a -F "$HZ" -d 3 -o "$WORK/all.smolder" >"$WORK/all.stdout" 2>"$T_LAST_STDERR" &
self=$!
t_bg_register "$self"
wait_bounded "$self" 60
span_ms=$(( $(t_now_ms) - t0 ))
cpu1=$(proc_cpu_ms "$pid") || t_fail "the fixture exited during the run"
t_log "$T_LAST_CMD (pid $self) -> exit $RC in $span_ms ms"
assert_rc 0 "record -a"
window_ms=$(summary_window_ms "$T_LAST_STDERR")
[[ -s $WORK/all.smolder ]] || t_fail "no output"

run_smolder all_folded 60 flamegraph "$WORK/all.smolder" --format folded -o "$WORK/all.folded"
assert_rc 0 "flamegraph all.smolder --format folded"
assert_folded "$WORK/all.folded"

# The fixture's samples: HZ x its CPU time, +-15%, and its known split.
run_smolder fixture 60 flamegraph "$WORK/all.smolder" --pid "$pid" --format folded \
	-o "$WORK/fixture.folded"
assert_rc 0 "flamegraph all.smolder --pid FIXTURE"
assert_folded "$WORK/fixture.folded" shares_fp
assert_sample_count "$(folded_total "$WORK/fixture.folded")" "$HZ" "$(( cpu1 - cpu0 ))" \
	"$span_ms" "$window_ms"
assert_shares "$WORK/fixture.folded"

# None of smolder's own.
run_smolder self 60 flamegraph "$WORK/all.smolder" --pid "$self" --format folded \
	-o "$WORK/self.folded"
assert_rc 0 "flamegraph all.smolder --pid SMOLDER"
assert_eq "$(folded_total "$WORK/self.folded")" 0 "samples of smolder itself (pid $self)"

# Processes that were running before the recording started and end before the
# drain that reads their first samples still carry their executable: no event
# announced them, and /proc has nothing left of them by then. Each worker (a fork
# of this shell, its program bash) waits on a FIFO, then, once smolder samples,
# burns ~40 ms of CPU and exits without an exec or a fork.
mkfifo "$WORK/go"
workers=()
for i in 1 2 3 4 5 6 7 8; do
	( read -r _ <"$WORK/go"; n=0; while ((n < 30000)); do ((n++)); done ) &
	workers+=($!)
	t_bg_register "$!"
done
bash_exe=$(readlink "/proc/${workers[0]}/exe")
T_LAST_CMD="smolder record -a -v -F $HZ -d 3 -o $WORK/before.smolder"
T_LAST_STDERR=$WORK/before.stderr
"$SMOLDER" record -a -v -F "$HZ" -d 3 -o "$WORK/before.smolder" >"$WORK/before.stdout" \
	2>"$T_LAST_STDERR" &
self=$!
t_bg_register "$self"
# Released once smolder samples and has read the running processes (it says so with
# -v), which is when a process of theirs may end unseen.
for ((i = 0; i < 400; i++)); do
	grep -q 'read the labels of [0-9]* running processes' "$T_LAST_STDERR" && break
	t_running "$self" || break
	sleep 0.05
done
grep -q 'read the labels of [0-9]* running processes' "$T_LAST_STDERR" ||
	t_fail "smolder did not say it had read the running processes within 20 s"
: >"$WORK/go"
wait "${workers[@]}"
wait_bounded "$self" 60
assert_rc 0 "record -a with workers started before it"
total=0
for w in "${workers[@]}"; do
	run_smolder "worker-$w" 60 export "$WORK/before.smolder" --pid "$w" --format folded \
		-o "$WORK/worker-$w.folded"
	assert_rc 0 "export --pid $w"
	run_smolder "worker-$w-exe" 60 export "$WORK/before.smolder" --pid "$w" \
		--label "exe=$bash_exe" --format folded -o "$WORK/worker-$w-exe.folded"
	assert_rc 0 "export --pid $w --label exe=$bash_exe"
	n=$(folded_total "$WORK/worker-$w.folded")
	assert_eq "$(folded_total "$WORK/worker-$w-exe.folded")" "$n" \
		"samples of worker $w (started before the recording) with exe=$bash_exe"
	total=$((total + n))
done
# The workers burned 8 x ~40 ms while smolder sampled at $HZ Hz.
assert_ge "$total" 20 "samples of the workers started before the recording"
t_log "PASS"
