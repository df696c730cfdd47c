#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_agent_push.sh: `smolder agent --push` to a local stand-in for Grafana
# Pyroscope's /ingest that is down when the agent starts and comes up later: the
# failures are counted, the queued intervals are all delivered once it is up, and a
# body carries the service name, rate and a one-interval window in its query and a
# pprof that go tool pprof reads.
. "$TESTLIB"
t_init
. "$(dirname "$TESTLIB")/agent_lib.sh"

# A Pyroscope stand-in: saves each POST's query string and body as N.query / N.body.
receiver() {
	# exec: the background pid is the server itself, which the cleanup kills.
	exec python3 - "$1" "$2" <<-'EOF'
	import http.server, os, sys
	port, out = int(sys.argv[1]), sys.argv[2]
	class H(http.server.BaseHTTPRequestHandler):
	    n = 0
	    def do_POST(self):
	        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
	        H.n += 1
	        base = os.path.join(out, str(H.n))
	        with open(base + ".body.tmp", "wb") as f:
	            f.write(body)
	        with open(base + ".query", "w") as f:
	            f.write(self.path + "\n")
	        os.rename(base + ".body.tmp", base + ".body")
	        self.send_response(200)
	        self.end_headers()
	    def log_message(self, *a):
	        pass
	http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
	EOF
}

case_push() {
	local S=$WORK/store7 R=$WORK/received rport i q from until
	command -v python3 >/dev/null || { t_log "no python3: case skipped"; return 0; }
	mkdir -p "$R"
	# A port nobody listens on yet: the receiver is down when the agent starts.
	rport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	start_agent push "$S" --push "http://127.0.0.1:$rport"
	SMOLDER_SERVICE=svc-push "$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	wait_metric push_failures_total 1 60
	wait_metric store_appends_total 3 60
	# The backlog: nothing is sent while the receiver is down, so what was sent
	# before plus what is queued now is what must have been sent once it is up. The
	# queue itself need not empty: the agent profiles the whole machine, and on a busy
	# one each interval adds a body per service while the receiver takes them.
	local queued sent0
	sent0=$(metric push_sent_total)
	queued=$(metric push_queue_bodies)
	[[ -n $sent0 && -n $queued ]] || t_fail "no push_sent_total / push_queue_bodies metrics"
	t_log "receiver down: $(metric push_failures_total) failures, $queued bodies queued, $sent0 sent"
	receiver "$rport" "$R" &
	t_bg_register $!
	wait_metric push_sent_total $(( sent0 + queued )) 120
	[[ $(metric push_dropped_total) == 0 ]] || t_fail "bodies were dropped: $(metric push_dropped_total)"
	stop_agent 10
	# The first svc-push body: its query names the service, the rate, and a window of
	# one flush interval; go tool pprof reads the body.
	q=$(grep -l 'name=svc-push' "$R"/*.query | sort -n -t/ -k1 | head -1)
	[[ -n $q ]] || t_fail "no body for svc-push reached the receiver: $(cat "$R"/*.query | head -5)"
	grep -q 'spyName=smolder' "$q" && grep -q "sampleRate=$HZ" "$q" && grep -q 'format=pprof' "$q" ||
		t_fail "the query lacks spyName/sampleRate/format: $(cat "$q")"
	from=$(sed -n 's/.*[?&]from=\([0-9]*\).*/\1/p' "$q")
	until=$(sed -n 's/.*[?&]until=\([0-9]*\).*/\1/p' "$q")
	[[ -n $from && -n $until ]] && (( until - from >= 0 && until - from <= 3 * FLUSH + 1 )) ||
		t_fail "from/until are not one flush interval: $(cat "$q")"
	if command -v go >/dev/null; then
		go tool pprof -raw "${q%.query}.body" >"$WORK/push.raw" 2>"$WORK/push.err" ||
			t_fail "go tool pprof cannot read a pushed body: $(head -3 "$WORK/push.err")"
		grep -q 'func_a' "$WORK/push.raw" || t_fail "the pushed profile lacks func_a"
		grep -q 'svc-push' "$WORK/push.raw" || t_fail "the pushed profile's samples lack service svc-push"
	fi
	t_log "ok: $(ls "$R"/*.body | wc -l) bodies delivered after the receiver came up ($queued were queued), from=$from until=$until"
}

t_case push case_push
t_finish
