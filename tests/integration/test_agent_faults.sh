#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_agent_faults.sh: `smolder agent` when things go wrong: a full disk is ridden
# out with a bounded backlog written once there is room; SIGKILL at a random moment
# leaves a store `smolder info` reads, missing at most the last interval, which a new
# agent takes over; in a PID namespace of its own it refuses to start in one line; a
# --config is reread on SIGHUP and a bad one refused.
. "$TESTLIB"
t_init
. "$(dirname "$TESTLIB")/agent_lib.sh"

case_disk_full() {
	local MNT=$WORK/mnt S
	mkdir -p "$MNT"
	mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null || { t_log "cannot mount a tmpfs: case skipped"; return 0; }
	S=$MNT/store
	start_agent full "$S"
	"$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	wait_metric store_appends_total 2 60
	dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
	wait_metric store_write_errors_total 2 60
	wait_metric store_backlog_intervals 1 30
	t_running "$AGENT_PID" || { umount "$MNT"; t_fail "the agent died on a full disk"; }
	rm -f "$MNT/filler"
	local i b
	for (( i = 0; i < 300; i++ )); do
		b=$(metric store_backlog_intervals)
		[[ $b == 0 ]] && break
		sleep 0.1
	done
	[[ $b == 0 ]] || { umount "$MNT"; t_fail "the backlog was not written once the disk had room"; }
	grep -q 'takes writes again' "$AGENT_LOG" || { umount "$MNT"; t_fail "no log line for the recovery"; }
	[[ $(grep -c 'cannot append to the store' "$AGENT_LOG") == 1 ]] ||
		{ umount "$MNT"; t_fail "the write failure was not logged exactly once"; }
	stop_agent 10
	run_smolder info 60 info "$S"
	umount "$MNT"
	assert_rc 0 "info on the store after a full disk"
	t_log "ok: full disk ridden out: errors counted, backlog written after"
}

case_sigkill() {
	local S=$WORK/store4 ms kill_s end
	start_agent kill "$S"
	"$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	wait_metric store_appends_total 2 60
	ms=$(( RANDOM % 2000 ))
	sleep "$(( ms / 1000 )).$(printf '%03d' $(( ms % 1000 )))"
	kill_s=$(date +%s)
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	run_smolder info 60 info "$S"
	assert_rc 0 "info on a store after SIGKILL"
	# Everything up to the last whole interval is there: the store's newest sample is
	# at most two intervals (the one under way and the one being written), plus a
	# second of rounding, before the kill.
	end=$(sed -n 's/^time range: .* \.\. \([^ ]*\) .*/\1/p' "$WORK/info.stdout")
	[[ -n $end ]] || t_fail "info shows no time range: $(cat "$WORK/info.stdout")"
	end=$(date -d "$end" +%s) || t_fail "cannot parse the end time"
	(( end >= kill_s - 2 * FLUSH - 1 )) ||
		t_fail "the store ends at $end, $(( kill_s - end )) s before the SIGKILL at $kill_s"
	run_smolder export 60 export --store "$S" --format folded -o "$WORK/k.folded"
	assert_rc 0 "export after SIGKILL"
	[[ -s $WORK/k.folded ]] || t_fail "no samples survived SIGKILL"
	# A new agent takes over the store (the lock died with the old one).
	start_agent kill2 "$S"
	wait_metric store_appends_total 1 60
	stop_agent 10
	t_log "ok: SIGKILL after ${ms} ms left a readable store ending $(( kill_s - end )) s before it, and a new agent took it over"
}

case_pid_namespace() {
	command -v unshare >/dev/null || { t_log "no unshare: case skipped"; return 0; }
	timeout 30 unshare --pid --fork --mount-proc "$SMOLDER" agent --store "$WORK/store5" \
		--listen off >"$WORK/ns.stdout" 2>"$WORK/ns.stderr"
	RC=$?
	T_LAST_STDERR=$WORK/ns.stderr
	assert_rc 1 "agent in its own PID namespace"
	assert_one_line "$WORK/ns.stderr" "agent in its own PID namespace"
	grep -q 'hostPID' "$WORK/ns.stderr" || t_fail "the error does not mention hostPID"
	t_log "ok: $(cat "$WORK/ns.stderr")"
}

case_config_reload() {
	local S=$WORK/store6 conf=$WORK/agent.conf
	printf '# smolder agent\nretention = 2h\nmax-size = 64M\n' >"$conf"
	start_agent conf "$S" --config "$conf"
	grep -q 'retention 7200 s' "$AGENT_LOG" || t_fail "the config's retention is not in force"
	printf 'retention = 3h\nmax-size = 32M\n' >"$conf"
	kill -HUP "$AGENT_PID"
	local i
	for (( i = 0; i < 100; i++ )); do
		grep -q 'SIGHUP: .* reread; retention 10800 s, max-size 33554432' "$AGENT_LOG" && break
		sleep 0.1
	done
	grep -q 'SIGHUP: .* reread; retention 10800 s' "$AGENT_LOG" || t_fail "SIGHUP did not reload the config"
	t_running "$AGENT_PID" || t_fail "the agent died on SIGHUP"
	printf 'bogus = 1\n' >"$conf"
	kill -HUP "$AGENT_PID"
	for (( i = 0; i < 100; i++ )); do
		grep -q 'kept the running configuration' "$AGENT_LOG" && break
		sleep 0.1
	done
	grep -q 'kept the running configuration' "$AGENT_LOG" || t_fail "a bad config was not refused"
	stop_agent 10
	(( RC == 0 )) || t_fail "agent exited $RC"
	t_log "ok: --config read, SIGHUP rereads it, a bad one is refused"
}

# A full disk with old sealed segments in the store: the agent gives back the oldest
# of them (three quarters of the store stays) and keeps writing the newest intervals.
case_disk_full_makes_room() {
	local MNT=$WORK/mnt2 S now t i before after first
	local MKSTORE
	MKSTORE=$(dirname "$SMOLDER")/tests/mkstore
	[[ -x $MKSTORE ]] || t_fail "the mkstore tool is not built: $MKSTORE"
	mkdir -p "$MNT"
	mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null || { t_log "cannot mount a tmpfs: case skipped"; return 0; }
	S=$MNT/store
	# 48 hours of history two days ago, an hour per segment, names that do not compress.
	now=$(date +%s)
	awk -v start=$(( now - 3 * 86400 )) 'BEGIN {
		srand(7)
		for (h = 0; h < 48; h++)
			for (k = 0; k < 150; k++) {
				st = "old"
				for (f = 0; f < 4; f++)
					st = st sprintf(";fn_%08x%08x", int(rand() * 4294967295), int(rand() * 4294967295))
				printf "%d 1 service=old %s\n", start + h * 3600 + k, st
			}
	}' >"$WORK/history.spec"
	"$MKSTORE" "$S" <"$WORK/history.spec" >/dev/null 2>"$WORK/mkstore.err" ||
		{ umount "$MNT"; t_fail "mkstore failed: $(cat "$WORK/mkstore.err")"; }
	first=$(ls "$S"/seg-*.smolder | head -1)
	start_agent room "$S"
	"$FIXTURES/shares_fp" >/dev/null &
	t_bg_register $!
	wait_metric store_appends_total 2 60
	dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
	wait_metric disk_full_deleted_segments_total 1 60
	before=$(metric store_appends_total)
	for (( i = 0; i < 300; i++ )); do
		after=$(metric store_appends_total)
		(( after >= before + 3 )) && break
		sleep 0.1
	done
	(( after >= before + 3 )) || { umount "$MNT"; t_fail "the agent did not go on writing after making room ($before -> $after appends)"; }
	[[ ! -e $first ]] || { umount "$MNT"; t_fail "the oldest segment $first is still there"; }
	grep -q 'disk full: deleted the [0-9]* oldest segments' "$AGENT_LOG" ||
		{ umount "$MNT"; t_fail "no log line for the segments given back"; }
	stop_agent 10
	run_smolder info 60 info "$S"
	umount "$MNT"
	assert_rc 0 "info on the store after making room"
	t_log "ok: full disk: $(grep -o 'deleted the [0-9]* oldest segments ([0-9]* bytes)' "$AGENT_LOG" | head -1), appends went on ($before -> $after)"
}

t_case disk_full case_disk_full
t_case disk_full_makes_room case_disk_full_makes_room
t_case sigkill case_sigkill
t_case pid_namespace case_pid_namespace
t_case config_reload case_config_reload
t_finish
