# SPDX-License-Identifier: Apache-2.0
# agent_lib.sh: what the test_agent*.sh tests share, sourced after lib.sh and t_init:
# starting `smolder agent` on a store with a random loopback port, reading /metrics,
# stopping it.
FLUSH=1
HZ=99

# start_agent NAME STORE [ARGS..]: start the agent in the background; sets AGENT_PID
# and PORT (from its log line) and AGENT_LOG.
start_agent() {
	local name=$1 store=$2 i
	shift 2
	AGENT_LOG=$WORK/$name.log
	"$SMOLDER" agent --store "$store" --listen 127.0.0.1:0 --flush $FLUSH -F $HZ "$@" \
		>"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	t_bg_register "$AGENT_PID"
	T_LAST_CMD="smolder agent --store $store --listen 127.0.0.1:0 --flush $FLUSH -F $HZ $*"
	T_LAST_STDERR=$AGENT_LOG
	PORT=
	for (( i = 0; i < 300; i++ )); do
		PORT=$(sed -n 's/.*http endpoint on .* (port \([0-9]*\)).*/\1/p' "$AGENT_LOG")
		[[ -n $PORT ]] && return 0
		t_running "$AGENT_PID" || t_fail "agent $name exited at start"
		sleep 0.1
	done
	t_fail "agent $name did not report its port within 30 s"
}

# metric NAME: the value of an unlabelled metric on /metrics.
metric() {
	curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v n="smolder_$1" '$1 == n { print $2 }'
}

# wait_metric NAME MIN SECONDS: until metric NAME >= MIN.
wait_metric() {
	local i v
	for (( i = 0; i < $3 * 10; i++ )); do
		v=$(metric "$1")
		[[ -n $v ]] && awk -v v="$v" -v m="$2" 'BEGIN { exit !(v >= m) }' && return 0
		sleep 0.1
	done
	t_fail "metric $1 did not reach $2 within $3 s (last: ${v:-none})"
}

# stop_agent SECONDS: SIGTERM and wait; sets RC and STOP_MS.
stop_agent() {
	local t0
	t0=$(t_now_ms)
	kill -TERM "$AGENT_PID"
	wait_bounded "$AGENT_PID" "$1"
	STOP_MS=$(( $(t_now_ms) - t0 ))
	assert_no_crash
}

