#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Kernel stacks: a process that spends about half of its CPU time in read(2) gets
# stacks whose innermost frames are kernel frames (suffix _[k], after the user frames,
# which reach main through the function that made the syscall); with --no-kernel no
# frame is a kernel frame.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

start_fixture syscalls_fp
pid=$FIXTURE_PID

# check_kernel_order FILE: in every stack, no user frame follows a kernel frame.
check_kernel_order() {
	local bad
	bad=$(awk '{ s = $0; sub(/ [0-9]+$/, "", s); k = split(s, f, ";"); seen = 0
		for (i = 2; i <= k; i++) {
			if (f[i] ~ /_\[k\]$/) seen = 1
			else if (seen) { print; break }
		} }' "$1" | head -n 3)
	[[ -z $bad ]] || t_fail "user frames after kernel frames in $1: $bad"
}

# ---- with kernel stacks (the default) ----
run_smolder kernel 60 record -p "$pid" -F 99 -d 4 -o "$WORK/kernel.folded"
assert_rc 0 "record -p PID (kernel stacks on)"
assert_folded "$WORK/kernel.folded" syscalls_fp
check_kernel_order "$WORK/kernel.folded"
# perf measures ~49% of this fixture's samples in the kernel.
kshare=$(awk '/_\[k\] [0-9]+$/ { k += $NF } { t += $NF } END { printf "%.1f\n", t ? 100 * k / t : 0 }' "$WORK/kernel.folded")
assert_ge "$kshare" 25 "samples whose innermost frame is a kernel frame (%)"
# The user part of a kernel sample is whole: its innermost user frame holds the
# syscall instruction and the stack reaches main. The fixture makes two syscalls:
# read(2) in raw_read under kernel_work, and clock_gettime(CLOCK_THREAD_CPUTIME_ID),
# which the vDSO passes on to the kernel, under thread_cpu_ns.
ushare=$(awk '/_\[k\] [0-9]+$/ {
		t += $NF; s = $0; sub(/ [0-9]+$/, "", s); n = split(s, f, ";"); user = ""
		for (i = 2; i <= n && f[i] !~ /_\[k\]$/; i++) user = user ";" f[i]
		if (user ~ /;main;kernel_work;raw_read$/ ||
		    user ~ /;main;(user|kernel)_work;thread_cpu_ns;clock_gettime;__vdso_clock_gettime$/)
			ok += $NF
	}
	END { printf "%.1f\n", t ? 100 * ok / t : 0 }' "$WORK/kernel.folded")
assert_ge "$ushare" 95 "kernel samples whose user part is whole (main;kernel_work;raw_read or ...;thread_cpu_ns;clock_gettime;__vdso_clock_gettime) (%)"
assert_ge "$(folded_share "$WORK/kernel.folded" main)" 95 "samples whose stack reaches main (%)"

# ---- --no-kernel ----
run_smolder nokernel 60 record -p "$pid" -F 99 -d 3 --no-kernel -o "$WORK/nokernel.folded"
assert_rc 0 "record -p PID --no-kernel"
assert_folded "$WORK/nokernel.folded" syscalls_fp
bad=$(grep -E '_\[k\](;| )' "$WORK/nokernel.folded" | head -n 3)
[[ -z $bad ]] || t_fail "kernel frames in a --no-kernel profile: $bad"
t_log "ok: no kernel frames with --no-kernel"
assert_ge "$(folded_share "$WORK/nokernel.folded" user_work)" 25 "samples in user_work with --no-kernel (%)"
assert_ge "$(folded_share "$WORK/nokernel.folded" main)" 95 "samples whose stack reaches main with --no-kernel (%)"

t_finish
