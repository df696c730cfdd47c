#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Process churn through one recording, as a node agent sees it all day:
#   churn:     `record -- churn N 300` runs N short processes one after another
#              (CHURN_RUNS, default 20,000; each execs, burns 0.3 ms of CPU and exits).
#              Every sample of them carries its executable as the exe label (read at
#              exec while the process lives, or from the exec event when it is
#              already gone), and the service and version of its environment (which
#              the exec event carries), the process registry frees each one when the
#              kernel says it exited (no evictions, almost none left at the end), and
#              smolder's memory stays flat: RSS at the end within 8 MiB of its RSS when
#              half of the processes had been started (the churn waits there until
#              the test has read it: a point in the churn rather than a time, which a
#              fast machine may be done with; the count-bounded caches, 512
#              processes at the default --max-memory, are full long before).
#              (20,000 took 17-19 s here, with ASan too and beside a CPU hog; the
#              guard and ctest's timeout for this test, 600 s, leave room for a
#              machine many times slower. CHURN_RUNS=2000 for a quick run.)
#   pid reuse: a process gets the pid of one that ran before it (ns_last_pid): its
#              samples carry its own function names and exe label, none of the old
#              process's.
#   scripts:   300 short runs of a script whose "#!" interpreter is a copy of the
#              shell that nothing else runs: most are gone before the reader gets to
#              their samples, so their labels come from the exec event, which must
#              name the interpreter (the file they run), not the script.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

F=$FIXTURES/debug/debug_full
C=$FIXTURES/churn
[[ -x $F && -x $C ]] || t_fail "fixtures not built: $F, $C"
RUNS=${CHURN_RUNS:-20000}
GUARD_S=${CHURN_GUARD_S:-540} # within ctest's timeout for this test (600 s)

# rss_kib PID: VmRSS of PID in KiB (empty once it is gone).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# stat_value FILE KEY: the value of KEY=VALUE in the "smolder: stats" lines of FILE.
stat_value() { grep '^smolder: stats ' "$1" | grep -oE "(^| )$2=[0-9.]+" | cut -d= -f2; }

churn() {
	# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
	# default) before reuse, which would grow RSS by itself: keep it small, so the
	# RSS measured is smolder's. (Ignored by a build without ASan.)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4 \
	"$SMOLDER" record -v -F 499 -o "$WORK/churn.smolder" -- \
		env -i SMOLDER_SERVICE=churn-svc SMOLDER_VERSION=7.1 "$C" "$RUNS" 300 "$WORK/go" \
		>"$WORK/churn.stdout" 2>"$WORK/churn.stderr" &
	local smolder_pid=$! start early_rss= end_rss= rss
	t_bg_register "$smolder_pid"
	T_LAST_CMD="smolder record -v -F 499 -o churn.smolder -- env -i SMOLDER_SERVICE=churn-svc SMOLDER_VERSION=7.1 $C $RUNS 300 $WORK/go"
	T_LAST_STDERR=$WORK/churn.stderr

	# RSS once the caches have filled (half of the processes started: the churn waits
	# for $WORK/go), then at the end.
	start=$(t_now_ms)
	while t_running "$smolder_pid"; do
		rss=$(rss_kib "$smolder_pid")
		[[ -n $rss ]] && end_rss=$rss
		if [[ -z $early_rss && -n $rss ]] &&
			grep -qE '^churn: [0-9]+ of [0-9]+ started$' "$WORK/churn.stdout"; then
			early_rss=$rss
			t_log "smolder RSS half-way through the churn: ${early_rss} KiB"
			: >"$WORK/go"
		fi
		(( $(t_now_ms) - start < GUARD_S * 1000 )) || t_fail "the churn run did not end within $GUARD_S s"
		sleep 0.1
	done
	wait "$smolder_pid"
	RC=$?
	assert_rc 0 "record of $RUNS short processes"
	grep -q "^churn: $RUNS children" "$WORK/churn.stdout" || t_fail "churn did not finish: $(cat "$WORK/churn.stdout")"
	[[ -n $early_rss && -n $end_rss ]] || t_fail "the run ended before its RSS was read"
	t_log "smolder RSS: ${early_rss} KiB half-way, ${end_rss} KiB at the end"
	assert_le "$end_rss" $(( early_rss + 8192 )) \
		"smolder's RSS at the end (KiB; at most 8 MiB over its RSS half-way)"

	local exits live evictions unlabelled envs all labelled served
	exits=$(stat_value "$WORK/churn.stderr" exits)
	envs=$(stat_value "$WORK/churn.stderr" env_from_exec)
	live=$(stat_value "$WORK/churn.stderr" processes_live)
	evictions=$(stat_value "$WORK/churn.stderr" evictions)
	unlabelled=$(stat_value "$WORK/churn.stderr" unlabelled)
	t_log "registry: $exits exits, $live live at the end, $evictions evictions," \
		"$unlabelled unlabelled"
	[[ -n $exits ]] || t_fail "no 'smolder: stats' line with the registry's counters"
	assert_ge "$exits" "$RUNS" "processes freed on their exit event"
	assert_le "$live" 16 "processes still tracked at the end"
	assert_eq "$evictions" 0 "processes evicted from the registry"
	assert_eq "$unlabelled" 0 "process images without an executable"
	assert_ge "$envs" "$RUNS" "exec events that carried the environment"

	# Every sample of the processes is labelled with their executable. Samples
	# taken inside the execve that starts one (kernel frames under
	# __x64_sys_execve) are not checked: until the kernel's exec event they still
	# belong to the program that called execve, whose user frames they show (env's,
	# for the parent, whose samples as env are left out too). The children run
	# /proc/self/exe, so the kernel names them "exe", not "churn": they are found
	# by their stacks (churn_burn) for the count, and every sample of the run is
	# checked for the labels, the parent's and the children's.
	run_smolder fix 60 export "$WORK/churn.smolder" --format folded -o "$WORK/fix.folded"
	assert_rc 0 "export"
	run_smolder fixexe 60 export "$WORK/churn.smolder" --label "exe=$C" \
		--format folded -o "$WORK/fixexe.folded"
	assert_rc 0 "export --label exe=..."
	run_smolder fixsvc 60 export "$WORK/churn.smolder" --label service=churn-svc \
		--label version=7.1 --format folded -o "$WORK/fixsvc.folded"
	assert_rc 0 "export --label service=... --label version=..."
	local burns
	churn_samples() { grep -v '__x64_sys_execve' "$1" | grep -v '^env;' | folded_total /dev/stdin; }
	all=$(churn_samples "$WORK/fix.folded")
	labelled=$(churn_samples "$WORK/fixexe.folded")
	served=$(churn_samples "$WORK/fixsvc.folded")
	burns=$(grep ';churn_burn;\|;churn_burn ' "$WORK/fix.folded" | folded_total /dev/stdin)
	t_log "samples of the churn: $all, with their exe label: $labelled," \
		"with their service and version: $served; of the short processes' churn_burn: $burns"
	# RUNS x 0.3 ms of their own CPU at 499 Hz: ~0.15 samples a process (about 3,000
	# for 20,000; 2,534-3,198 measured), however busy the machine.
	assert_ge "$burns" $((RUNS / 10)) "samples of the short processes in churn_burn"
	assert_eq "$labelled" "$all" "samples of the churn labelled with their executable"
	assert_eq "$served" "$all" "samples of the churn labelled with their environment's service and version"
}

pid_reuse() {
	local P script old new
	[[ -w /proc/sys/kernel/ns_last_pid ]] ||
		t_fail "cannot set the next pid (/proc/sys/kernel/ns_last_pid is not writable)"
	P=$(unused_pid) || t_fail "no unused pid"
	# The old process (shares_fp, 1 s), then a new one with the same pid (debug_full).
	# Another process may take the pid between the write and the fork: try again.
	script="
		at() {
			for try in \$(seq 50); do
				echo $(( P - 1 )) >/proc/sys/kernel/ns_last_pid
				\"\$@\" >/dev/null &
				[ \$! = $P ] && { wait \$!; return 0; }
				kill \$! && wait \$!
			done
			return 1
		}
		at '$FIXTURES/shares_fp' 1 && at '$F' burn 600
	"
	run_smolder reuse 60 record -F 199 -o "$WORK/reuse.smolder" -- sh -c "$script"
	assert_rc 0 "record of two processes with one pid"
	run_smolder old 30 export "$WORK/reuse.smolder" --pid "$P" --comm shares_fp \
		--format folded -o "$WORK/old.folded"
	run_smolder new 30 export "$WORK/reuse.smolder" --pid "$P" --comm debug_full \
		--format folded -o "$WORK/new.folded"
	run_smolder newexe 30 export "$WORK/reuse.smolder" --pid "$P" --comm debug_full \
		--label "exe=$F" --format folded -o "$WORK/newexe.folded"
	# As above, samples inside the execve that starts it belong to the caller.
	old=$(folded_total "$WORK/old.folded")
	new=$(grep -v '__x64_sys_execve' "$WORK/new.folded" | folded_total /dev/stdin)
	t_log "pid $P: $old samples of the old process, $new of the new one"
	(( old > 20 && new > 20 )) ||
		t_fail "the pid was not reused, or too few samples: $old and $new samples"
	assert_ge "$(folded_share "$WORK/new.folded" smolder_dbg_burn)" 80 \
		"the new process's samples in its own function (%)"
	if grep -q 'func_[abc]' "$WORK/new.folded"; then
		t_fail "the new process's stacks carry the old one's names: $(grep -m1 func_ "$WORK/new.folded")"
	fi
	assert_eq "$(grep -v '__x64_sys_execve' "$WORK/newexe.folded" | folded_total /dev/stdin)" "$new" \
		"the new process's samples with its own exe label"
}

scripts() {
	local interp script all labelled unlabelled
	interp=$WORK/scriptsh
	script=$WORK/burn.sh
	cp /bin/sh "$interp"
	printf '#!%s\ni=0; while [ $i -lt 3000 ]; do i=$((i + 1)); done\n' "$interp" >"$script"
	chmod +x "$script"
	run_smolder scripts 120 record -v -F 499 -o "$WORK/scripts.smolder" -- \
		sh -c "for i in \$(seq 300); do '$script'; done"
	assert_rc 0 "record of 300 runs of a script"
	unlabelled=$(stat_value "$T_LAST_STDERR" unlabelled)
	assert_eq "$unlabelled" 0 "process images without an executable"
	run_smolder sall 60 export "$WORK/scripts.smolder" --comm burn.sh --format folded \
		-o "$WORK/sall.folded"
	run_smolder sexe 60 export "$WORK/scripts.smolder" --comm burn.sh \
		--label "exe=$(realpath "$interp")" --format folded -o "$WORK/sexe.folded"
	# Samples inside the execve belong to the shell that called it, which runs
	# /bin/sh: the kernel names the process burn.sh before the exec is over. They
	# are not the script's. Each must be in the exec: its stack shows
	# __x64_sys_execve, or, cut short (one was, in a retpoline thunk), kernel
	# frames under no user frame but [unknown] (the old memory is gone by then).
	local caller exec_n exec_other
	caller=$(realpath /bin/sh)
	run_smolder scaller 60 export "$WORK/scripts.smolder" --comm burn.sh \
		--label "exe=$caller" --format folded -o "$WORK/scaller.folded"
	exec_n=$(folded_total "$WORK/scaller.folded")
	exec_other=$(awk '{
		n = $NF; s = $0; sub(/ [0-9]+$/, "", s)
		if (s ~ /;__x64_sys_execve_\[k\]/)
			next
		k = split(s, f, ";")
		for (i = 2; i <= k && f[i] !~ /_\[k\]$/; i++)
			if (f[i] != "[unknown]") {
				bad += n
				next
			}
		if (i > k)
			bad += n
	} END { print bad + 0 }' "$WORK/scaller.folded")
	all=$(($(folded_total "$WORK/sall.folded") - exec_n))
	labelled=$(folded_total "$WORK/sexe.folded")
	t_log "samples of the script runs: $all, with their interpreter as exe: $labelled;" \
		"in the exec, labelled as the calling shell $caller: $exec_n"
	assert_ge "$all" 50 "samples of the script runs"
	assert_eq "$exec_other" 0 "samples labelled as the calling shell outside its execve"
	assert_eq "$labelled" "$all" "samples of the script runs labelled with their interpreter"
}

t_case "churn" churn
t_case "pid reuse" pid_reuse
t_case "scripts" scripts
t_finish
