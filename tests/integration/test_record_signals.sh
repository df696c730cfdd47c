#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A signal that ends a run leaves what a run that ends by itself leaves. SIGHUP,
# SIGTERM and SIGQUIT to `record -p PID -o FILE` of a busy process: exit 0, FILE whole
# and readable (info and export read it) with every sample the closing line counts,
# and no temporary FILE.tmp.* beside it. The same to `record -p PID --store DIR`: the
# store reads back with every sample of the run and no torn tail, and no temporary
# file is left in DIR. (The last segment stays open-ended, .part, as after any run:
# the store keeps it for the next writer, store.h.) SIGQUIT must not dump core: it
# ends the run like SIGTERM. A SIGTERM that comes while record is still starting (its
# temporary output exists, sampling has not begun) ends it the same way.
# (SIGINT and SIGTERM on -o FILE alone: test_record_errors.)
# shellcheck disable=SC2317  # the case_* functions are called through t_case
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

HZ=499
start_fixture shares_fp # busy until killed
TARGET=$FIXTURE_PID

# has_perf_event PID: PID holds a perf event file descriptor.
has_perf_event() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == *perf_event* ]] && return 0
	done
	return 1
}

# start_record LABEL ARGS..: `smolder record -p TARGET ARGS..` in the background, as
# from a terminal (asynchronous commands of a non-interactive shell start with SIGINT
# and SIGQUIT ignored: back to the defaults), and wait until it samples: its sampler
# holds perf events (BPF's or perf's own), then a second more for samples to come in.
# Sets REC and T_LAST_STDERR.
start_record() {
	local label=$1 i
	shift
	# shellcheck disable=SC2034  # read by t_fail in lib.sh
	T_LAST_CMD="smolder record -p $TARGET -F $HZ $*"
	T_LAST_STDERR=$WORK/$label.stderr
	env --default-signal=INT,QUIT "$SMOLDER" record -p "$TARGET" -F "$HZ" "$@" \
		>"$WORK/$label.stdout" 2>"$T_LAST_STDERR" &
	REC=$!
	t_bg_register "$REC"
	for (( i = 0; i < 200; i++ )); do
		has_perf_event "$REC" && break
		t_running "$REC" || t_fail "record ended before it sampled"
		sleep 0.05
	done
	(( i < 200 )) || t_fail "record opened no perf event within 10 s"
	sleep 1
	t_running "$REC" || t_fail "record ended before the signal"
}

# stop_record SIG: send SIG, wait for the exit; it must be 0 (not death by SIG, which
# for SIGQUIT would also mean a core dump) with the closing line.
stop_record() {
	local sig=$1
	kill -"$sig" "$REC"
	wait_bounded "$REC" 15
	assert_rc 0 "record ended by SIG$sig"
	RECORDED=$(summary_samples "$T_LAST_STDERR")
	[[ -n $RECORDED ]] || t_fail "no closing line after SIG$sig"
	assert_ge "$RECORDED" 1 "samples of the busy target before SIG$sig"
}

# info_weight LABEL: the total weight (samples) the last `smolder info` printed.
info_weight() {
	grep -oE '^samples: +[0-9]+ \(total weight [0-9]+\)' "$WORK/$1.stdout" |
		grep -oE '[0-9]+\)$' | tr -d ')'
}

case_file() {
	local sig=$1 out=$WORK/${1,,}.smolder
	start_record "file$sig" -o "$out"
	stop_record "$sig"
	ls "$out".tmp.* >/dev/null 2>&1 && t_fail "a temporary output file was left behind"
	run_smolder "info$sig" 30 info "$out"
	assert_rc 0 "info on the output written after SIG$sig"
	assert_eq "$(info_weight "info$sig")" "$RECORDED" "samples in $out vs the closing line"
	run_smolder "export$sig" 30 export "$out" --format folded -o "$out.folded"
	assert_rc 0 "export of the output written after SIG$sig"
	assert_folded "$out.folded" shares_fp
	assert_eq "$(folded_total "$out.folded")" "$RECORDED" "samples exported"
}

case_store() {
	local sig=$1 dir=$WORK/store-${1,,} left
	# Batches every 0.5 s: the signal comes after some were stored, during another.
	start_record "store$sig" --store "$dir" --flush 0.5
	stop_record "$sig"
	left=$(find "$dir" -name '*.tmp*' | head -n 3)
	[[ -z $left ]] || t_fail "temporary files left in the store after SIG$sig: $left"
	run_smolder "sinfo$sig" 30 info "$dir"
	assert_rc 0 "info on the store after SIG$sig"
	grep -q '^torn tails' "$WORK/sinfo$sig.stdout" && t_fail "torn tails in the store after SIG$sig"
	assert_eq "$(info_weight "sinfo$sig")" "$RECORDED" "samples in the store vs the closing line"
	run_smolder "sfg$sig" 30 flamegraph --store "$dir" --format folded -o "$dir.folded"
	assert_rc 0 "flamegraph --store after SIG$sig"
	assert_folded "$dir.folded" shares_fp
}

# While starting: the temporary output is there before the BPF program is loaded.
case_startup() {
	local out=$WORK/startup.smolder i
	# shellcheck disable=SC2034  # read by t_fail in lib.sh
	T_LAST_CMD="smolder record -p $TARGET -o $out, SIGTERM once $out.tmp.* exists"
	T_LAST_STDERR=$WORK/startup.stderr
	"$SMOLDER" record -p "$TARGET" -F "$HZ" -o "$out" >"$WORK/startup.stdout" \
		2>"$T_LAST_STDERR" &
	REC=$!
	t_bg_register "$REC"
	for (( i = 0; i < 1000; i++ )); do
		compgen -G "$out.tmp.*" >/dev/null && break
		t_running "$REC" || t_fail "record ended before it opened its output"
		sleep 0.01
	done
	(( i < 1000 )) || t_fail "record made no temporary output within 10 s"
	kill -TERM "$REC"
	wait_bounded "$REC" 15
	assert_rc 0 "record ended by SIGTERM while starting"
	ls "$out".tmp.* >/dev/null 2>&1 && t_fail "a temporary output file was left behind"
	run_smolder startup_info 30 info "$out"
	assert_rc 0 "info on the output written after SIGTERM while starting"
}

t_case "SIGTERM while starting" case_startup
for sig in HUP TERM QUIT; do
	t_case "SIG$sig, -o FILE" case_file "$sig"
	t_case "SIG$sig, --store DIR" case_store "$sig"
done
t_finish
