/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_agent_mmap_events.c - the kernel's mapping records, end to end: a real fixture
 * process started, made to dlopen a library and killed, all while the records are
 * read; then its addresses must resolve from what the records told, with /proc long
 * gone and never read. Runs as root (system-wide perf events).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mmap_events.h"
#include "symbolizer.h"

#define FIXTURE_PIE FIXTURES_DIR "/symtab_fixture_pie"

struct fixture {
	pid_t pid;
	FILE *out;
	int in;
};

/* The address the fixture printed for @name before its next "ready". */
static uint64_t read_until_ready(struct fixture *f, const char *name)
{
	char line[256], got[64];
	uint64_t found = 0;
	void *addr;

	while (fgets(line, sizeof(line), f->out)) {
		if (!strcmp(line, "ready\n"))
			return found;
		if (sscanf(line, "%63s %p", got, &addr) == 2 && name && !strcmp(got, name))
			found = (uint64_t)(uintptr_t)addr;
	}
	fail_msg("fixture exited before printing ready");
	return 0;
}

static void fixture_start(struct fixture *f)
{
	int to_child[2], from_child[2];

	assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from_child, O_CLOEXEC), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		execl(FIXTURE_PIE, FIXTURE_PIE, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	f->in = to_child[1];
	f->out = fdopen(from_child[0], "r");
	assert_non_null(f->out);
}

static void assert_named(struct symbolizer *s, pid_t pid, uint64_t addr, const char *name)
{
	struct symbol sym;

	assert_true(addr != 0);
	assert_int_equal(symbolizer__resolve_user(s, pid, addr, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, name);
}

/* A reader of the records for a new symbolizer *@s, started (see
 * symbolizer__note_start for @all). */
static struct mmap_events *reader_open(struct symbolizer **s, bool all)
{
	struct mmap_events *m;
	char msg[256];

	*s = symbolizer__new(NULL);
	assert_non_null(*s);
	m = mmap_events__open(*s, msg, sizeof(msg));
	if (!m)
		fail_msg("%s", msg);
	symbolizer__note_start(*s, all);
	return m;
}

static void fixture_stop(struct fixture *f)
{
	int status;

	close(f->in);
	kill(f->pid, SIGKILL);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	fclose(f->out);
}

static void test_exited_process_resolves_from_the_records(void **state)
{
	struct mmap_events_stats mst;
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct mmap_events *m = reader_open(&s, false);
	struct fixture f;
	uint64_t alpha, cbrt;

	(void)state;
	fixture_start(&f);
	alpha = read_until_ready(&f, "smolder_fixture_alpha");
	assert_int_equal(write(f.in, "dlopen\n", 7), 7);
	cbrt = read_until_ready(&f, "cbrt");
	fixture_stop(&f);

	/* Gone, its /proc with it: only the records know its mappings. */
	assert_true(mmap_events__drain_until(m, UINT64_MAX) > 0);
	assert_named(s, f.pid, alpha, "smolder_fixture_alpha");
	assert_named(s, f.pid, cbrt, "cbrt"); /* mapped after it started, by dlopen */

	symbolizer__stats(s, &st);
	assert_int_equal(st.maps_pushed, 1);
	assert_int_equal(st.maps_read, 0);
	mmap_events__stats(m, &mst);
	assert_true(mst.execs >= 1);
	assert_true(mst.forks >= 1);
	assert_true(mst.mmaps >= 4); /* the fixture, ld.so, libc, libm (and the vDSO) */
	assert_int_equal(mst.lost, 0);

	mmap_events__free(m);
	symbolizer__free(s);
}

/* Code of this test binary, for a forked copy of it to be sampled in. */
__attribute__((noinline)) int smolder_test_marker(int x)
{
	volatile int v = x;

	return v + 1;
}

/*
 * A sample taken before a process exec'd is named with the mappings it had then, even
 * when the exec's records are in the rings by the time the sample is read.
 */
static void test_records_after_a_sample_wait_for_it(void **state)
{
	uint64_t marker = (uint64_t)(uintptr_t)smolder_test_marker, before;
	struct symbolizer *s;
	/* This process is read now, so its forks are followed from theirs. */
	struct mmap_events *m = reader_open(&s, true);
	struct timespec ts;
	struct symbol sym;
	char exe[64], link[256] = "";
	int go[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		if (read(go[0], &c, 1) != 1)
			_exit(1);
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	before = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	/* Now let it exec, and wait until it has. */
	assert_int_equal(write(go[1], "x", 1), 1);
	close(go[1]);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 500; i++) {
		ssize_t n = readlink(exe, link, sizeof(link) - 1);

		if (n > 0 && (link[n] = '\0', strstr(link, "sleep")))
			break;
		usleep(10000);
	}
	assert_non_null(strstr(link, "sleep"));

	/* A sample from before the exec: the records up to its time only. */
	mmap_events__drain_until(m, before);
	assert_named(s, pid, marker, "smolder_test_marker");
	/* The exec's first sample: what the registry's forget and the records say now. */
	symbolizer__forget_process(s, pid);
	mmap_events__drain_until(m, UINT64_MAX);
	assert_int_equal(symbolizer__resolve_user(s, pid, marker, &sym), 0);
	assert_true(!sym.name || strcmp(sym.name, "smolder_test_marker"));

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	mmap_events__free(m);
	symbolizer__free(s);
}

/* Records lost mean nothing told is complete: a process is then read from /proc. */
static void test_lost_records_fall_back_to_proc(void **state)
{
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct mmap_events *m = reader_open(&s, false);
	struct fixture f;
	uint64_t alpha;

	(void)state;
	fixture_start(&f);
	alpha = read_until_ready(&f, "smolder_fixture_alpha");
	mmap_events__drain_until(m, UINT64_MAX);
	symbolizer__note_lost(s);
	assert_named(s, f.pid, alpha, "smolder_fixture_alpha");
	symbolizer__stats(s, &st);
	assert_int_equal(st.maps_pushed, 0);
	assert_int_equal(st.maps_read, 1);
	fixture_stop(&f);
	mmap_events__free(m);
	symbolizer__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exited_process_resolves_from_the_records),
		cmocka_unit_test(test_records_after_a_sample_wait_for_it),
		cmocka_unit_test(test_lost_records_fall_back_to_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
