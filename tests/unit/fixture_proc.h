/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture_proc.h - a fixture program run as a child of a unit test, for the tests
 * that look at a live process: its stdin is a pipe for commands ("dlopen\n"), its
 * stdout a pipe of "NAME 0xADDR" lines, each batch ended by "ready". The fixtures are
 * compiled in the test build (tests/fixtures). Static functions, for the test files
 * that include it after <cmocka.h>; needs _GNU_SOURCE (pipe2).
 */
#ifndef SMOLDER_TESTS_FIXTURE_PROC_H
#define SMOLDER_TESTS_FIXTURE_PROC_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE_MAX_SYMS 16

struct fixture {
	pid_t pid;
	FILE *out; /* the child's stdout */
	int in;    /* the child's stdin */
	int n;     /* the names it printed so far, in order */
	char names[FIXTURE_MAX_SYMS][64];
	uint64_t addrs[FIXTURE_MAX_SYMS];
};

/* Read the "NAME 0xADDR" lines up to the next "ready" (a "...: pid N" line is news,
 * not a name). */
static inline void fixture_read(struct fixture *f)
{
	char line[256];

	while (fgets(line, sizeof(line), f->out)) {
		char name[64];
		void *addr;

		if (!strcmp(line, "ready\n"))
			return;
		if (strstr(line, ": pid "))
			continue;
		assert_int_equal(sscanf(line, "%63s %p", name, &addr), 2);
		assert_true(f->n < FIXTURE_MAX_SYMS);
		snprintf(f->names[f->n], sizeof(f->names[f->n]), "%s", name);
		f->addrs[f->n++] = (uint64_t)(uintptr_t)addr;
	}
	fail_msg("fixture exited before printing ready");
}

/* Run @path with up to two arguments (NULL: none) and read what it prints first. */
static inline void fixture_start_args(struct fixture *f, const char *path, const char *arg,
				      const char *arg2)
{
	int to_child[2], from_child[2];

	memset(f, 0, sizeof(*f));
	assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from_child, O_CLOEXEC), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		execl(path, path, arg, arg2, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	f->in = to_child[1];
	f->out = fdopen(from_child[0], "r");
	assert_non_null(f->out);
	fixture_read(f);
}

static inline void fixture_start(struct fixture *f, const char *path)
{
	fixture_start_args(f, path, NULL, NULL);
}

/* The address the fixture printed first for @name. */
static inline uint64_t fixture_addr(const struct fixture *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->names[i], name)) {
			assert_true(f->addrs[i] != 0);
			return f->addrs[i];
		}
	fail_msg("fixture did not print %s", name);
	return 0;
}

/* Send @cmd (a line) and read the answer, up to "ready". */
static inline void fixture_command(struct fixture *f, const char *cmd)
{
	assert_int_equal(write(f->in, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	fixture_read(f);
}

static inline void fixture_stop(struct fixture *f)
{
	int status;

	if (f->pid <= 0)
		return;
	close(f->in);
	kill(f->pid, SIGKILL);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	fclose(f->out);
	f->pid = 0;
}

#endif /* SMOLDER_TESTS_FIXTURE_PROC_H */
