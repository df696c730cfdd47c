# SPDX-License-Identifier: Apache-2.0
# lib.sh: helpers sourced by tests/integration/test_*.sh (as ". "$TESTLIB"").
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   SMOLDER   path of the smolder binary under test
#   FIXTURES  directory of the built fixture programs (tests/fixtures)
# A test exits 0 on pass, 1 on failure, 77 on skip (a missing prerequisite only).
#
# Everything a test starts in the background goes through t_bg_register so that the
# EXIT trap kills it (by pid, nothing else) however the test ends.  Each test works in a
# private directory, $WORK, kept on failure for inspection and removed on success.

set -u -o pipefail

T_NAME=$(basename "$0" .sh)
T_BG_PIDS=()
T_FAILED=0
T_CASES_FAILED=()
WORK=

t_log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }

t_skip() {
	printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2
	exit 77
}

# t_fail MSG: report a failed check, with the last smolder run's stderr for context.
t_fail() {
	printf '[%s] FAIL: %s\n' "$T_NAME" "$*" >&2
	if [[ -n ${T_LAST_CMD:-} ]]; then
		printf '[%s]   last command: %s\n' "$T_NAME" "$T_LAST_CMD" >&2
		printf '[%s]   its exit code: %s, stderr:\n' "$T_NAME" "${RC:-?}" >&2
		sed 's/^/      | /' "${T_LAST_STDERR:-/dev/null}" >&2 2>/dev/null
	fi
	T_FAILED=1
	exit 1
}

# t_kill_bg: kills what this shell started and registered, by pid.
t_kill_bg() {
	local pid
	for pid in "${T_BG_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
}

t_cleanup() {
	t_kill_bg
	if [[ -n $WORK && -d $WORK ]]; then
		if (( T_FAILED )); then
			printf '[%s] outputs kept in %s\n' "$T_NAME" "$WORK" >&2
		else
			rm -rf -- "$WORK"
		fi
	fi
}

t_bg_register() { T_BG_PIDS+=("$1"); }

# t_quote ARGS..: the arguments as one would type them (an empty one shows as '').
t_quote() {
	local out
	printf -v out '%q ' "$@"
	echo "${out% }"
}

# t_case NAME COMMAND [ARGS..]: runs one independent case of a test in a subshell, so
# that a failed check ends that case only and the others still run; t_finish then
# reports every failed case.  What the case starts in the background is killed when it
# ends (the subshell starts with an empty list: the test's own processes stay).
t_case() {
	local name=$1
	shift
	t_log "--- case: $name"
	( T_BG_PIDS=(); trap 't_kill_bg' EXIT; "$@" ) || T_CASES_FAILED+=("$name")
}

# t_finish: ends a test, failing it if any t_case failed.
t_finish() {
	if (( ${#T_CASES_FAILED[@]} )); then
		T_FAILED=1
		printf '[%s] FAIL: %d case(s) failed: %s\n' "$T_NAME" "${#T_CASES_FAILED[@]}" \
			"${T_CASES_FAILED[*]}" >&2
		exit 1
	fi
	t_log "PASS"
	exit 0
}

# t_init: checks the prerequisites every integration test has, makes $WORK, sets traps.
t_init() {
	[[ -n ${SMOLDER:-} ]] || t_fail "SMOLDER is not set (run through ctest)"
	[[ -n ${FIXTURES:-} ]] || t_fail "FIXTURES is not set (run through ctest)"
	[[ -x $SMOLDER ]] || t_fail "smolder binary not found or not executable: $SMOLDER"
	[[ -d $FIXTURES ]] || t_fail "fixtures directory not found: $FIXTURES"
	# Loading BPF programs needs root (CAP_BPF + CAP_PERFMON): without it the test
	# cannot run at all, which is a skip, not a failure.
	(( EUID == 0 )) || t_skip "needs root to load BPF programs (running as uid $EUID)"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
	trap 't_cleanup' EXIT
	trap 'T_FAILED=1; exit 130' INT
	trap 'T_FAILED=1; exit 143' TERM
}

t_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# t_running PID: true while PID exists and is not a zombie (a finished background child
# stays a zombie until waited for, and kill -0 still succeeds on it).
t_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# start_fixture NAME [ARGS..]: runs $FIXTURES/NAME in the background and waits until it
# has exec'd and printed its "NAME: pid N" line (it is then doing its work).
# Sets FIXTURE_PID.  Its stdout/stderr go to $WORK/NAME.out.
start_fixture() {
	local name=$1 i
	shift
	[[ -x $FIXTURES/$name ]] || t_fail "fixture not built: $FIXTURES/$name"
	"$FIXTURES/$name" "$@" >"$WORK/$name.out" 2>&1 &
	FIXTURE_PID=$!
	t_bg_register "$FIXTURE_PID"
	for (( i = 0; i < 100; i++ )); do
		if grep -q "^$name: pid $FIXTURE_PID\$" "$WORK/$name.out" 2>/dev/null; then
			return 0
		fi
		# Checked again once it is not running: a fixture whose main thread exits
		# right after printing its line (leader_exits) may have done both since.
		t_running "$FIXTURE_PID" || grep -q "^$name: pid $FIXTURE_PID\$" "$WORK/$name.out" ||
			t_fail "fixture $name exited at start: $(cat "$WORK/$name.out")"
		sleep 0.05
	done
	t_fail "fixture $name (pid $FIXTURE_PID) did not start within 5 s"
}

# run_smolder LABEL GUARD_SECONDS ARGS..: runs "$SMOLDER ARGS.." in the foreground under
# a timeout guard.  Sets RC (124 if the guard had to stop it), ELAPSED_MS, and leaves
# stdout/stderr in $WORK/LABEL.stdout and $WORK/LABEL.stderr (T_LAST_STDERR).
# The guard's SIGTERM is one smolder handles gracefully, which is why a guard stop is
# reported as 124 by timeout(1) and must be treated as a hang by the caller.
run_smolder() {
	local label=$1 guard=$2 t0
	shift 2
	T_LAST_CMD="smolder $(t_quote "$@")"
	T_LAST_STDERR=$WORK/$label.stderr
	t0=$(t_now_ms)
	timeout -k 5 "$guard" "$SMOLDER" "$@" >"$WORK/$label.stdout" 2>"$T_LAST_STDERR"
	RC=$?
	ELAPSED_MS=$(( $(t_now_ms) - t0 ))
	t_log "$T_LAST_CMD -> exit $RC in ${ELAPSED_MS} ms"
}

# wait_bounded PID SECONDS: waits for the background child PID.  Sets RC to its exit
# code, or to 124 if it was still running after SECONDS (it is then killed).
wait_bounded() {
	local pid=$1 limit_ms=$(( $2 * 1000 )) t0
	t0=$(t_now_ms)
	while t_running "$pid"; do
		if (( $(t_now_ms) - t0 >= limit_ms )); then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			RC=124
			return
		fi
		sleep 0.05
	done
	wait "$pid"
	RC=$?
}

# proc_cpu_ms PID: CPU time (user + system) PID has used so far, in ms.
proc_cpu_ms() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	read -r -a fields <<<"$stat"
	# fields[0] is field 3 (state): utime and stime are fields 14 and 15.
	echo $(( (fields[11] + fields[12]) * 1000 / $(getconf CLK_TCK) ))
}

# assert_sample_count SAMPLES HZ CPU_MS [SPAN_MS WINDOW_MS]: a cpu-clock sampler at HZ
# takes one sample per 1/HZ s of the target's CPU time, so SAMPLES must be HZ x the
# target's CPU seconds within the sampling window, +-15%.  Wall time is no measure of
# it: on a busy machine (other builds and tests, or the other vCPU of a shared host
# core) a busy thread gets much less than a CPU.
#   CPU_MS alone: the target's CPU time within the window, e.g. what a command that
#     record -- CMD ran from start to end reports itself;
#   CPU_MS SPAN_MS WINDOW_MS: CPU_MS of a single-threaded target was measured from
#     outside (proc_cpu_ms before and after the run) over SPAN_MS of wall time that
#     holds the WINDOW_MS sampling window (summary_window_ms) and smolder's start-up
#     and shutdown.  How much of it fell in the window depends on who got the CPU
#     when, so the window's share is bounded: at most CPU_MS and WINDOW_MS, at least
#     CPU_MS less the SPAN_MS - WINDOW_MS outside it (one thread, one CPU at most).
#     On an idle machine both bounds are the window.
#   CPU_MS WINDOW_S (older form): CPU_MS capped at WINDOW_S seconds.
assert_sample_count() {
	local samples=$1 hz=$2 cpu_ms=$3 span_ms=${4:-} window_ms=${5:-} lo_ms hi_ms lo hi
	lo_ms=$cpu_ms
	hi_ms=$cpu_ms
	if (( $# == 4 )); then
		(( cpu_ms <= $4 * 1000 )) || { lo_ms=$(( $4 * 1000 )); hi_ms=$lo_ms; }
		t_log "target used ${cpu_ms} ms of CPU during the run (window $4 s)"
	elif [[ -n $span_ms ]]; then
		[[ $window_ms =~ ^[0-9]+$ ]] || t_fail "assert_sample_count: no sampling window (got '$window_ms')"
		(( hi_ms <= window_ms )) || hi_ms=$window_ms
		lo_ms=$(( cpu_ms - (span_ms - window_ms) ))
		(( lo_ms >= 0 )) || lo_ms=0
		(( lo_ms <= hi_ms )) || lo_ms=$hi_ms
		t_log "target used ${cpu_ms} ms of CPU in ${span_ms} ms: ${lo_ms}..${hi_ms} ms of it" \
			"in the ${window_ms} ms sampling window"
	else
		t_log "target used ${cpu_ms} ms of CPU while sampled"
	fi
	lo=$(( hz * lo_ms * 85 / 100000 ))
	hi=$(( (hz * hi_ms * 115 + 99999) / 100000 ))
	(( hi > 0 )) || t_fail "the target used no CPU time during the run"
	(( samples >= lo && samples <= hi )) ||
		t_fail "samples vs HZ x target CPU time: expected $lo..$hi ($hz Hz x ${lo_ms}..${hi_ms} ms, -15%..+15%), got $samples"
	t_log "ok: samples vs HZ x target CPU time = $samples (expected $lo..$hi)"
}

# ---- checks on a finished smolder run ----

# assert_no_crash: the last run neither hung, nor died of a signal, nor tripped a
# sanitizer (ASan exits 1 by default, so the exit code alone would not show it).
assert_no_crash() {
	(( RC != 124 )) || t_fail "smolder did not finish before the timeout guard (hang)"
	(( RC < 128 )) || t_fail "smolder died of signal $(( RC - 128 )) (exit code $RC)"
	if grep -qE 'Sanitizer|runtime error:|LeakSanitizer' "$T_LAST_STDERR"; then
		t_fail "sanitizer report on stderr"
	fi
}

assert_rc() {
	assert_no_crash
	[[ $RC == "$1" ]] || t_fail "${2:-smolder}: expected exit code $1, got $RC"
}

# assert_one_line FILE WHAT: FILE holds exactly one non-empty line.
assert_one_line() {
	local n
	n=$(awk 'END { print NR }' "$1")
	[[ $n == 1 ]] || t_fail "$2: expected exactly one line on stderr, got $n"
	grep -q '[^[:space:]]' "$1" || t_fail "$2: the stderr line is empty"
}

assert_eq() { [[ $1 == "$2" ]] || t_fail "$3: expected $2, got $1"; }

# assert_within GOT WANT TOL WHAT: |GOT - WANT| <= TOL (decimals allowed).
assert_within() {
	awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= t) }' ||
		t_fail "$4: expected $2 +- $3, got $1"
	t_log "ok: $4 = $1 (expected $2 +- $3)"
}

# share_tolerance N P: how far (percentage points) a share of N samples may be from
# the P% of CPU time it measures: four standard errors of a proportion of N random
# draws, and at least 5. Samples are such draws of where the time went; a fixed 5
# points on a few hundred samples is under two standard errors, which a run misses
# by chance alone now and then.
share_tolerance() {
	awk -v n="$1" -v p="$2" 'BEGIN {
		t = n > 0 ? 400 * sqrt(p / 100 * (1 - p / 100) / n) : 100
		printf "%.1f\n", t < 5 ? 5 : t }'
}

# assert_share FILE FRAME PCT WHAT: the share of FILE's samples with FRAME (folded_share)
# is PCT within share_tolerance of FILE's sample count.
assert_share() {
	local n
	n=$(folded_total "$1")
	assert_within "$(folded_share "$1" "$2")" "$3" "$(share_tolerance "$n" "$3")" "$4 ($n samples)"
}

# assert_ge GOT MIN WHAT / assert_le GOT MAX WHAT (decimals allowed).
assert_ge() {
	awk -v g="$1" -v m="$2" 'BEGIN { exit !(g >= m) }' || t_fail "$3: expected >= $2, got $1"
	t_log "ok: $3 = $1 (expected >= $2)"
}
assert_le() {
	awk -v g="$1" -v m="$2" 'BEGIN { exit !(g <= m) }' || t_fail "$3: expected <= $2, got $1"
	t_log "ok: $3 = $1 (expected <= $2)"
}

# ---- the end-of-run summary on stderr ("smolder: N samples (L lost, ...) ...") ----

summary_samples() { grep -oE '[0-9]+ samples' "$1" | tail -n 1 | grep -oE '^[0-9]+'; }
summary_lost() { grep -oE '[0-9]+ lost' "$1" | tail -n 1 | grep -oE '^[0-9]+'; }
# summary_window_ms FILE: how long smolder sampled ("... in 3.0 s, ..."), in ms.
summary_window_ms() {
	grep -oE ' in [0-9]+(\.[0-9]+)? s,' "$1" | tail -n 1 |
		awk '{ printf "%d\n", $2 * 1000 + 0.5 }'
}

# ---- folded output: "comm;outermost;...;innermost COUNT", one line per stack ----

folded_total() { awk '{ t += $NF } END { print t + 0 }' "$1"; }

# folded_share FILE FRAME: percentage (one decimal) of samples whose stack has a frame
# named exactly FRAME (the comm, field 1, is not a frame).
folded_share() {
	awk -v want="$2" '
	{
		n = $NF; t += n; s = $0; sub(/ [0-9]+$/, "", s)
		k = split(s, f, ";")
		for (i = 2; i <= k; i++) if (f[i] == want) { hit += n; break }
	}
	END { if (t == 0) print "0.0"; else printf "%.1f\n", 100 * hit / t }' "$1"
}

# folded_comm_share FILE COMM: percentage of samples whose comm (field 1) is COMM.
folded_comm_share() {
	awk -v want="$2" '
	{ n = $NF; t += n; s = $0; sub(/;.*/, "", s); sub(/ [0-9]+$/, "", s); if (s == want) hit += n }
	END { if (t == 0) print "0.0"; else printf "%.1f\n", 100 * hit / t }' "$1"
}

# assert_folded FILE [COMM]: FILE is non-empty well-formed folded text (each line
# "stack COUNT" with COUNT >= 1 after the last space - frame names may hold spaces, as
# demangled C++ and JIT names do - and no empty frame), sorted bytewise, one
# line per distinct stack, and, if COMM is given, every stack's first element is COMM.
assert_folded() {
	local f=$1 comm=${2:-} bad
	[[ -s $f ]] || t_fail "folded output $f is missing or empty"
	bad=$(grep -nvE '^[^ ;].* [0-9]+$' "$f" | head -n 3)
	[[ -z $bad ]] || t_fail "malformed folded lines in $f: $bad"
	bad=$(grep -nE ';;|; [0-9]+$' "$f" | head -n 3)
	[[ -z $bad ]] || t_fail "malformed folded lines in $f: $bad"
	bad=$(grep -nE ' 0+$' "$f" | head -n 3)
	[[ -z $bad ]] || t_fail "folded lines with a zero count in $f: $bad"
	LC_ALL=C sort -c "$f" 2>/dev/null || t_fail "folded lines in $f are not sorted: $(LC_ALL=C sort -c "$f" 2>&1)"
	bad=$(sed 's/ [0-9]*$//' "$f" | LC_ALL=C sort | uniq -d | head -n 3)
	[[ -z $bad ]] || t_fail "the same stack appears on several lines in $f: $bad"
	if [[ -n $comm ]]; then
		bad=$(grep -vE "^$comm(;| )" "$f" | head -n 3)
		[[ -z $bad ]] || t_fail "stacks whose comm is not $comm in $f: $bad"
	fi
	t_log "ok: $f is well-formed folded text ($(wc -l <"$f") stacks, $(folded_total "$f") samples)"
}

# assert_shares FILE: shares_fp's split (func_a 60%, func_b 30%, func_c 10% of samples,
# each within share_tolerance of the sample count) and its stacks reach main (>= 95%
# of samples).
assert_shares() {
	local f=$1
	assert_share "$f" func_a 60 "share of func_a (%)"
	assert_share "$f" func_b 30 "share of func_b (%)"
	assert_share "$f" func_c 10 "share of func_c (%)"
	assert_ge "$(folded_share "$f" main)" 95 "samples whose stack reaches main (%)"
}

# unused_pid: a pid that no process has (searched from the top of pid_max down).
unused_pid() {
	local max pid
	max=$(cat /proc/sys/kernel/pid_max)
	for (( pid = max - 1; pid > 300; pid-- )); do
		if [[ ! -e /proc/$pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}
