#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# churn.sh - process churn for scripts/bench-engine.sh: processes that live for a few
# milliseconds, started without pause, so a profiler sees a stream of new pids, execs
# and exits, the way a busy build or CI machine does.
#
#   churn.sh spawn COUNT_FILE PAUSE MAX_SECONDS
#       a loop that runs /bin/true and `sh -c 'echo x | wc -c'` (sh, a forked echo, wc),
#       then sleeps PAUSE seconds (/bin/sleep: one more short process)
#   churn.sh workers COUNT_FILE PAUSE MAX_SECONDS ITERATIONS
#       a loop that starts, every PAUSE seconds, a shell worker in the background that
#       counts to ITERATIONS (the caller picks ITERATIONS for ~10 ms of CPU) and exits;
#       workers overlap when the machine is busy
#
# Each loop stops on SIGTERM/SIGINT or after MAX_SECONDS (a guard, should its caller
# die without killing it), and then writes to COUNT_FILE the number of commands it
# started: "true", "sh" and "sleep" each count one for spawn, each worker one.
# bench-engine.sh runs each loop in a process group of its own and ends it by its group.
set -euo pipefail

usage() {
	sed -n '/^#   churn.sh spawn/,/^#       workers overlap/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

(($# >= 4)) || usage
mode=$1 count_file=$2 pause=$3 max=$4
n=0
stop() {
	echo "$n" >"$count_file"
	exit 0
}
trap stop TERM INT

case $mode in
spawn)
	(($# == 4)) || usage
	while ((SECONDS < max)); do
		/bin/true
		sh -c 'echo x | wc -c' >/dev/null
		sleep "$pause"
		n=$((n + 3))
	done
	;;
workers)
	(($# == 5)) || usage
	iterations=$5
	[[ $iterations =~ ^[1-9][0-9]*$ ]] || usage
	while ((SECONDS < max)); do
		# shellcheck disable=SC2016 # $i is the worker's, not ours
		sh -c 'i=0; while [ $i -lt "$1" ]; do i=$((i + 1)); done' worker "$iterations" &
		n=$((n + 1))
		# Reap now and then, so the shell's list of finished jobs stays short.
		((n % 64)) || wait
		sleep "$pause"
	done
	;;
*) usage ;;
esac
stop
