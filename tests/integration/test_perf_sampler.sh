#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The perf_event_open sampler (--sampler perf), smolder's way of sampling where BPF
# cannot be used, gives what the BPF sampler gives: the known split of a program
# without frame pointers with stacks to main (DWARF unwinding over the kernel's
# user-stack copy), HZ samples per CPU second of the target, a run that ends when
# the command (and what it forked) exits, kernel frames unless --no-kernel, and -a.
# --sampler bpf still works beside it, and --sampler auto falls back to perf with a
# one-line note when BPF cannot be loaded (checked without CAP_BPF/CAP_SYS_ADMIN,
# where capsh is installed).
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

# The shares are checked to four standard errors of their sample count, at least 5
# points (assert_share): HZ is high enough that they rest on many samples (hundreds)
# even when the machine is busy and the fixture gets half a CPU (at 99 Hz, 130-190
# samples in 3 s then: func_a's share varied by 2.4 points rms).
HZ=499
SECS=3

# ---- -p on a build without frame pointers: shares, whole stacks, sample count ----
start_fixture unwind_nofp direct
pid=$FIXTURE_PID
cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read the CPU time of pid $pid"
run_smolder pid 60 record --sampler perf -p "$pid" -F "$HZ" -d "$SECS" -o "$WORK/pid.folded"
cpu1=$(proc_cpu_ms "$pid") || t_fail "fixture pid $pid exited during the run"
assert_rc 0 "record --sampler perf -p"
assert_folded "$WORK/pid.folded" unwind_nofp
assert_share "$WORK/pid.folded" func_a 60 "share of func_a (%)"
assert_share "$WORK/pid.folded" func_b 30 "share of func_b (%)"
assert_share "$WORK/pid.folded" func_c 10 "share of func_c (%)"
assert_ge "$(folded_share "$WORK/pid.folded" main)" 95 "samples whose stack reaches main (%)"
samples=$(summary_samples "$T_LAST_STDERR")
assert_eq "$(folded_total "$WORK/pid.folded")" "${samples:-?}" "samples in the folded output vs the summary"
assert_sample_count "${samples:-0}" "$HZ" "$(( cpu1 - cpu0 ))" "$ELAPSED_MS" "$(summary_window_ms "$T_LAST_STDERR")"
assert_le "$(summary_lost "$T_LAST_STDERR")" 0 "samples lost"

# ---- the same fixture with the BPF sampler: still there, same split ----
run_smolder bpf 60 record --sampler bpf -p "$pid" -F "$HZ" -d 2 -o "$WORK/bpf.folded"
assert_rc 0 "record --sampler bpf -p"
assert_folded "$WORK/bpf.folded" unwind_nofp
assert_share "$WORK/bpf.folded" func_a 60 "--sampler bpf: share of func_a (%)"
assert_ge "$(folded_share "$WORK/bpf.folded" main)" 95 "--sampler bpf: samples reaching main (%)"

# ---- -a: every process, ours among them, smolder itself not ----
# By pid, not by name: on a shared machine other runs of this test have processes of
# the same names. In the background, to know smolder's pid.
T_LAST_CMD="smolder record --sampler perf -a -F 99 -d 2 -o $WORK/all.smolder"
T_LAST_STDERR=$WORK/all.stderr
cpu0=$(proc_cpu_ms "$pid") || t_fail "cannot read the CPU time of pid $pid"
t0=$(t_now_ms)
"$SMOLDER" record --sampler perf -a -F 99 -d 2 -o "$WORK/all.smolder" >/dev/null 2>"$T_LAST_STDERR" &
self=$!
t_bg_register "$self"
wait_bounded "$self" 60
span_ms=$(( $(t_now_ms) - t0 ))
cpu1=$(proc_cpu_ms "$pid") || t_fail "fixture pid $pid exited during the run"
assert_rc 0 "record --sampler perf -a"
window_ms=$(summary_window_ms "$T_LAST_STDERR")
run_smolder all 60 flamegraph "$WORK/all.smolder" --format folded -o "$WORK/all.folded"
assert_rc 0 "flamegraph of the -a profile"
assert_folded "$WORK/all.folded"
run_smolder all_fixture 60 flamegraph "$WORK/all.smolder" --pid "$pid" --format folded -o "$WORK/all_fixture.folded"
assert_rc 0 "flamegraph --pid FIXTURE of the -a profile"
assert_sample_count "$(folded_total "$WORK/all_fixture.folded")" 99 "$(( cpu1 - cpu0 ))" "$span_ms" "$window_ms"
run_smolder all_self 60 flamegraph "$WORK/all.smolder" --pid "$self" --format folded -o "$WORK/all_self.folded"
assert_rc 0 "flamegraph --pid SMOLDER of the -a profile"
assert_eq "$(folded_total "$WORK/all_self.folded")" 0 "-a: samples of smolder itself (pid $self)"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# ---- -- CMD: ends when the command exits, children included ----
run_smolder cmd 30 record --sampler perf -F "$HZ" -o "$WORK/cmd.folded" -- "$FIXTURES/unwind_nofp" direct 2
assert_rc 0 "record --sampler perf -- CMD"
assert_le "$ELAPSED_MS" 8000 "run time of a 2 s command (ms)"
assert_folded "$WORK/cmd.folded" unwind_nofp
assert_ge "$(folded_share "$WORK/cmd.folded" main)" 95 "-- CMD: samples reaching main (%)"

# A shell that forks two fixtures, one outliving the other: both are followed
# (inherited events) and the run lasts until the longer one exits.
script="\"$FIXTURES/unwind_nofp\" direct 3 >/dev/null & \"$FIXTURES/unwind_nofp\" direct 1 >/dev/null; wait"
run_smolder fork 30 record --sampler perf -F "$HZ" -o "$WORK/fork.folded" -- sh -c "$script"
assert_rc 0 "record --sampler perf -- sh -c (two children)"
assert_ge "$ELAPSED_MS" 2500 "run time with a child that runs 3 s (ms)"
assert_le "$ELAPSED_MS" 10000 "run time with a child that runs 3 s (ms)"
assert_folded "$WORK/fork.folded"
assert_ge "$(folded_comm_share "$WORK/fork.folded" unwind_nofp)" 90 "samples of the forked fixtures (%)"
nproc=$(grep -oE 'from [0-9]+ process' "$T_LAST_STDERR" | grep -oE '[0-9]+')
assert_ge "${nproc:-0}" 2 "processes sampled under sh -c (the two fixtures)"

# A process that keeps forking short-lived children is still sampled itself. With
# inherited events alone the kernel swaps the parent's events into an exiting child
# and they end with it (0 samples here before the fix, see pin_open).
sh -c 'while :; do /bin/true; done' &
churn=$!
t_bg_register "$churn"
sleep 0.3
cpu0=$(proc_cpu_ms "$churn") || t_fail "cannot read the CPU time of pid $churn"
run_smolder churn 60 record --sampler perf -p "$churn" -F 999 -d 3 -o "$WORK/churn.folded"
cpu1=$(proc_cpu_ms "$churn") || t_fail "the forking shell exited during the run"
assert_rc 0 "record --sampler perf on a forking shell"
assert_folded "$WORK/churn.folded"
# proc_cpu_ms counts the shell's own CPU time only, not its children's. Per-task
# events miss part of a forking parent's time anyway (perf record -p got 59% of
# HZ x CPU time here, smolder 72%), so the bound is loose: what it catches is 0.
expected=$(( 999 * (cpu1 - cpu0) / 1000 ))
got=$(awk '$1 ~ /^sh;/ { n += $NF } END { print n + 0 }' "$WORK/churn.folded")
t_log "the forking shell used $(( cpu1 - cpu0 )) ms of CPU itself: about $expected samples expected"
assert_ge "$got" "$(( expected / 4 ))" "samples of the forking shell itself"
kill "$churn" 2>/dev/null
wait "$churn" 2>/dev/null

# ---- kernel stacks, and none with --no-kernel ----
start_fixture syscalls_fp
pid=$FIXTURE_PID
run_smolder kernel 60 record --sampler perf -p "$pid" -F 99 -d "$SECS" -o "$WORK/kernel.folded"
assert_rc 0 "record --sampler perf on syscalls_fp"
assert_folded "$WORK/kernel.folded" syscalls_fp
kshare=$(awk '/_\[k\] [0-9]+$/ { k += $NF } { t += $NF } END { printf "%.1f\n", t ? 100 * k / t : 0 }' "$WORK/kernel.folded")
assert_ge "$kshare" 25 "samples whose innermost frame is a kernel frame (%)"
assert_ge "$(folded_share "$WORK/kernel.folded" kernel_work)" 25 "samples under kernel_work (%)"
assert_ge "$(folded_share "$WORK/kernel.folded" main)" 95 "syscalls_fp: samples reaching main (%)"

run_smolder nokernel 60 record --sampler perf --no-kernel -p "$pid" -F 99 -d 2 -o "$WORK/nokernel.folded"
assert_rc 0 "record --sampler perf --no-kernel"
assert_folded "$WORK/nokernel.folded" syscalls_fp
bad=$(grep -E '_\[k\](;| )' "$WORK/nokernel.folded" | head -n 3)
[[ -z $bad ]] || t_fail "kernel frames in a --no-kernel profile: $bad"
t_log "ok: no kernel frames with --no-kernel"
# Samples taken in the kernel are still counted, under their user stack.
assert_ge "$(folded_share "$WORK/nokernel.folded" kernel_work)" 25 "--no-kernel: samples under kernel_work (%)"

# ---- errors: a gone PID, an -F above the kernel's limit ----
gone=$(unused_pid) || t_fail "no unused pid found"
run_smolder gone 30 record --sampler perf -p "$gone" -d 1 -o "$WORK/gone.folded"
assert_rc 1 "record --sampler perf -p GONE"
assert_one_line "$T_LAST_STDERR" "record --sampler perf -p GONE"
# -F takes up to 100000, the sysctl's default: only testable once the kernel has
# lowered it (it does after slow perf interrupts). A test does not lower it itself.
max_rate=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
if (( max_rate < 100000 )); then
	run_smolder freq 30 record --sampler perf -p "$pid" -F "$(( max_rate + 1 ))" -d 1 -o "$WORK/freq.folded"
	assert_rc 1 "record --sampler perf -F above perf_event_max_sample_rate"
	assert_one_line "$T_LAST_STDERR" "record --sampler perf -F too high"
	grep -q 'perf_event_max_sample_rate' "$T_LAST_STDERR" ||
		t_fail "-F above the limit: the error does not name kernel.perf_event_max_sample_rate"
else
	t_log "kernel.perf_event_max_sample_rate is $max_rate, -F's own limit: case not run"
fi

# ---- auto falls back to perf, saying so once, when BPF cannot be loaded ----
if command -v capsh >/dev/null; then
	# CAP_SYS_ADMIN also grants BPF: drop both. CAP_PERFMON stays, as perf needs.
	cmd="$(t_quote "$SMOLDER" record -p "$pid" -F 99 -d 2 -o "$WORK/auto.folded")"
	T_LAST_CMD="capsh --drop=cap_bpf,cap_sys_admin -- -c '$cmd'"
	T_LAST_STDERR=$WORK/auto.stderr
	timeout -k 5 60 capsh --drop=cap_bpf,cap_sys_admin -- -c "$cmd" >/dev/null 2>"$T_LAST_STDERR"
	RC=$?
	t_log "$T_LAST_CMD -> exit $RC"
	assert_rc 0 "record --sampler auto without CAP_BPF"
	notes=$(grep -c 'falling back to perf_event_open' "$T_LAST_STDERR")
	assert_eq "$notes" 1 "lines saying that sampling falls back to perf_event_open"
	grep 'falling back' "$T_LAST_STDERR" | grep -q 'CAP_BPF' ||
		t_fail "the fallback note does not say what BPF needs"
	assert_folded "$WORK/auto.folded" syscalls_fp
else
	t_log "capsh not installed (package libcap2-bin): fallback case not run"
fi

kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
t_log "PASS"
