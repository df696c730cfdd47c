/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rusage.c - run a command and write what it cost, for scripts/bench-record.sh.
 *
 *   rusage OUTFILE CMD [ARGS..]
 *
 * Runs CMD, waits for it and writes one line to OUTFILE:
 *   user_us sys_us maxrss_kib wall_us exit_status
 * from wait4()'s rusage, so the CPU time is exact to the microsecond (/usr/bin/time
 * rounds to 10 ms) and includes the children CMD waited for; maxrss is that of the
 * largest single process. SIGINT/SIGTERM are passed on to CMD. Exits with CMD's status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage OUTFILE CMD [ARGS..]\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "rusage: cannot write %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: cannot run %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child = pid;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%lld %lld %ld %lld %d\n",
		(long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
		ru.ru_maxrss,
		(long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000,
		status);
	fclose(out);
	return status;
}
