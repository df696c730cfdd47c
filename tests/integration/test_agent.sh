#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_agent.sh: `smolder agent` on a temporary store with a random loopback port,
# against real workloads: the store holds their stacks with their labels (service from
# SMOLDER_SERVICE and from OpenTelemetry's variables, version from
# OTEL_RESOURCE_ATTRIBUTES, short-lived processes too); /metrics is Prometheus text
# whose counters move; /healthz fails while the store cannot be written; POST /deploy
# and a replaced binary both become deploy events; /flamegraph and /profile answer
# (go tool pprof reads the latter); SIGTERM ends it within 2 s.
. "$TESTLIB"
t_init
. "$(dirname "$TESTLIB")/agent_lib.sh"

# A CPU burner whose build-id depends on its VERSION: what a rebuilt service is.
build_app() {
	cat >"$WORK/app.c" <<-'EOF'
	#include <stdio.h>
	#include <unistd.h>
	static volatile unsigned long sink;
	__attribute__((noinline)) void app_work(void) { for (int i = 0; i < 1000000; i++) sink += i; }
	int main(void)
	{
		printf("app: pid %d %s\n", (int)getpid(), VERSION);
		fflush(stdout);
		for (;;)
			app_work();
	}
	EOF
	cc -O1 -g -fno-omit-frame-pointer -DVERSION="\"$1\"" -o "$2" "$WORK/app.c" ||
		t_fail "cannot build the app fixture"
}

case_store_labels_http() {
	local S=$WORK/store1 svg prof m1 m2
	start_agent main "$S"
	SMOLDER_SERVICE=svc-fp "$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,service.name=otel-svc,service.version=1.2.3" \
		"$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	OTEL_SERVICE_NAME=otel-named "$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	# Short-lived processes beside them.
	( for (( i = 0; i < 200; i++ )); do sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done'; done ) &
	t_bg_register $!

	wait_metric store_appends_total 3 60
	m1=$(metric samples_total)
	wait_metric intervals_total 5 60
	m2=$(metric samples_total)
	awk -v a="$m1" -v b="$m2" 'BEGIN { exit !(b > a) }' || t_fail "samples_total did not move: $m1 -> $m2"
	t_log "ok: samples_total moved $m1 -> $m2"

	# Prometheus text: every sample line is NAME[{labels}] VALUE and has a TYPE.
	curl -sf "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt" || t_fail "GET /metrics failed"
	awk '
		/^# TYPE / { typed[$3] = 1; next }
		/^# HELP / { next }
		/^$/ { next }
		{
			if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9.eE+-]+$/) { print "bad line: " $0; bad = 1 }
			name = $1; sub(/\{.*/, "", name)
			if (!(name in typed)) { print "no TYPE for " name; bad = 1 }
			n++
		}
		END { if (n < 20) { print "only " n " samples"; bad = 1 } exit bad }
	' "$WORK/metrics.txt" >"$WORK/metrics.check" || t_fail "/metrics is not Prometheus text: $(head -3 "$WORK/metrics.check")"
	for m in samples_total lost_samples_total cpu_seconds_per_sample bpf_run_seconds_per_sample \
		processes_tracked store_bytes store_write_errors_total resident_memory_bytes \
		frame_cache_hits_total process_evictions_total; do
		grep -q "^smolder_$m " "$WORK/metrics.txt" || t_fail "/metrics lacks smolder_$m"
	done
	t_log "ok: /metrics is Prometheus text ($(grep -vc '^#' "$WORK/metrics.txt") samples)"

	curl -sf "http://127.0.0.1:$PORT/healthz" >"$WORK/healthz" || t_fail "/healthz failed while healthy: $(cat "$WORK/healthz")"
	t_log "ok: /healthz: $(cat "$WORK/healthz")"

	# An announced deploy.
	[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST \
		"http://127.0.0.1:$PORT/deploy?service=svc-fp&version=v2.0") == 201 ]] ||
		t_fail "POST /deploy did not answer 201"
	grep -q '"service":"svc-fp","version":"v2.0"' "$S/deploys.jsonl" ||
		t_fail "the POSTed deploy is not in deploys.jsonl"
	[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/deploy?service=x") == 400 ]] ||
		t_fail "POST /deploy without a version was not refused with 400"
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/deploy?service=x&version=y") == 405 ]] ||
		t_fail "GET /deploy did not answer 405"

	svg=$WORK/fg.svg
	curl -sf "http://127.0.0.1:$PORT/flamegraph?service=svc-fp&from=-5m" -o "$svg" ||
		t_fail "GET /flamegraph failed"
	grep -q '<svg' "$svg" && grep -q 'func_a' "$svg" || t_fail "/flamegraph has no func_a of svc-fp"
	grep -q 'otel-svc' "$svg" && t_fail "/flamegraph?service=svc-fp shows another service"
	t_log "ok: /flamegraph?service=svc-fp shows func_a"

	prof=$WORK/p.pb.gz
	curl -sf "http://127.0.0.1:$PORT/profile?service=otel-svc&seconds=300" -o "$prof" ||
		t_fail "GET /profile failed"
	if command -v go >/dev/null; then
		go tool pprof -top "$prof" >"$WORK/top.txt" 2>"$WORK/top.err" ||
			t_fail "go tool pprof cannot read /profile: $(head -3 "$WORK/top.err")"
		grep -q 'burn' "$WORK/top.txt" || t_fail "go tool pprof -top of /profile lacks burn"
		t_log "ok: go tool pprof -top reads /profile"
	fi

	stop_agent 10
	(( RC == 0 )) || t_fail "agent exited $RC on SIGTERM"
	(( STOP_MS <= 2000 )) || t_fail "agent took $STOP_MS ms to exit on SIGTERM (max 2000)"
	t_log "ok: SIGTERM -> exit 0 in $STOP_MS ms"

	# The store: stacks and labels.
	run_smolder export 60 export --store "$S" --service svc-fp --format folded -o "$WORK/fp.folded"
	assert_rc 0 "export svc-fp"
	grep -q 'main;func_a;burn' "$WORK/fp.folded" || t_fail "the store has no main;func_a;burn for svc-fp"
	run_smolder export2 60 export --store "$S" --service otel-svc --label version=1.2.3 \
		--format folded -o "$WORK/otel.folded"
	assert_rc 0 "export otel-svc"
	grep -q 'func_a;burn' "$WORK/otel.folded" ||
		t_fail "no samples with service=otel-svc version=1.2.3 (OTEL_RESOURCE_ATTRIBUTES)"
	run_smolder export3 60 export --store "$S" --service otel-named --format folded -o "$WORK/named.folded"
	assert_rc 0 "export otel-named"
	grep -q 'func_a;burn' "$WORK/named.folded" || t_fail "no samples with service=otel-named (OTEL_SERVICE_NAME)"
	run_smolder export4 60 export --store "$S" --comm sh --format folded -o "$WORK/sh.folded"
	assert_rc 0 "export sh"
	[[ -s $WORK/sh.folded ]] || t_fail "the short-lived sh processes left no samples"
	t_log "ok: store holds the stacks with service/version labels and the short-lived processes"
}

case_deploy_detected() {
	local S=$WORK/store2 bin=$WORK/bin/app
	mkdir -p "$WORK/bin"
	build_app v1 "$WORK/app-v1"
	build_app v2 "$WORK/app-v2"
	cp "$WORK/app-v1" "$bin"
	start_agent deploy "$S"
	SMOLDER_SERVICE=app "$bin" >/dev/null &
	local old=$!
	t_bg_register $old
	wait_metric store_appends_total 3 60
	kill -KILL $old
	# The rebuilt binary replaces the old one at the same path, and a process execs it.
	cp "$WORK/app-v2" "$bin.new" && mv "$bin.new" "$bin"
	SMOLDER_SERVICE=app SMOLDER_VERSION=2.0.0 "$FIXTURES/exec_after" 0.3 "$bin" >/dev/null &
	t_bg_register $!
	local i
	for (( i = 0; i < 600; i++ )); do
		grep -qs '"service":"app","version":"2.0.0"' "$S/deploys.jsonl" && break
		sleep 0.1
	done
	grep -q '"service":"app","version":"2.0.0"' "$S/deploys.jsonl" ||
		t_fail "no deploy event for app 2.0.0: $(cat "$S/deploys.jsonl" 2>/dev/null)"
	grep -q 'deploy detected: app now runs 2.0.0' "$AGENT_LOG" || t_fail "no log line for the deploy"
	# Three more intervals with v2 running: none of them may count as a deploy again.
	wait_metric store_appends_total $(( $(metric store_appends_total) + 3 )) 60
	# The agent sees the whole machine: count the app's events, not every deploy
	# (a build elsewhere that replaces a binary is one too).
	[[ $(grep -c '"service":"app"' "$S/deploys.jsonl") == 1 ]] ||
		t_fail "not exactly one deploy event for app: $(cat "$S/deploys.jsonl")"
	t_log "ok: the replaced binary became one deploy event (app 2.0.0)"
	stop_agent 10
}

case_healthz_unwritable() {
	local S=$WORK/store3 code i
	start_agent health "$S"
	wait_metric store_appends_total 1 60
	chmod 0555 "$S"
	for (( i = 0; i < 100; i++ )); do
		code=$(curl -s -o "$WORK/h.txt" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
		[[ $code == 503 ]] && break
		sleep 0.1
	done
	chmod 0755 "$S"
	[[ $code == 503 ]] || t_fail "/healthz answered $code with the store unwritable"
	grep -q 'not writable' "$WORK/h.txt" || t_fail "/healthz does not say why: $(cat "$WORK/h.txt")"
	t_log "ok: /healthz 503 with the store unwritable: $(cat "$WORK/h.txt")"
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz") == 200 ]] ||
		t_fail "/healthz did not recover"
	stop_agent 10
}

t_case store_labels_http case_store_labels_http
t_case deploy_detected case_deploy_detected
t_case healthz_unwritable case_healthz_unwritable
t_finish
