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

#include "fixture_proc.h"
#include "mmap_events.h"
#include "symbolizer.h"

#define FIXTURE_PIE FIXTURES_DIR "/symtab_fixture_pie"

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

static void test_exited_process_resolves_from_the_records(void **state)
{
	struct mmap_events_stats mst;
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct mmap_events *m = reader_open(&s, false);
	struct fixture f;
	uint64_t alpha, cbrt;
	pid_t pid;

	(void)state;
	fixture_start(&f, FIXTURE_PIE);
	pid = f.pid;
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
	fixture_command(&f, "dlopen\n");
	cbrt = fixture_addr(&f, "cbrt");
	fixture_stop(&f);

	/* Gone, its /proc with it: only the records know its mappings. */
	assert_true(mmap_events__drain_until(m, UINT64_MAX) > 0);
	assert_named(s, pid, alpha, "smolder_fixture_alpha");
	assert_named(s, pid, cbrt, "cbrt"); /* mapped after it started, by dlopen */

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

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t head_reads(const struct mmap_events *m)
{
	struct mmap_events_stats mst;

	mmap_events__stats(m, &mst);
	return mst.head_reads;
}

/*
 * Samples older than the last reading of the rings are answered by it, without
 * reading them again; a record that reading left in a ring is still handed over as
 * soon as a sample is past it, however old that sample is.
 */
static void test_old_samples_do_not_read_the_rings_again(void **state)
{
	struct symbolizer *s;
	struct mmap_events *m = reader_open(&s, false);
	uint64_t alpha, cbrt, t0, before, after;
	struct symbol sym;
	struct fixture f;

	(void)state;
	fixture_start(&f, FIXTURE_PIE);
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
	t0 = boot_ns();
	assert_true(mmap_events__drain_until(m, t0) > 0);
	assert_int_equal(head_reads(m), 1);
	/* A batch of samples taken before that reading. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(mmap_events__drain_until(m, t0 - 2000000 + (uint64_t)i), 0);
	assert_int_equal(head_reads(m), 1);
	assert_named(s, f.pid, alpha, "smolder_fixture_alpha");

	usleep(3000);
	before = boot_ns();
	fixture_command(&f, "dlopen\n");
	cbrt = fixture_addr(&f, "cbrt");
	after = boot_ns();
	usleep(3000);
	/* Younger than the last reading: read again; the dlopen's records wait. */
	mmap_events__drain_until(m, before);
	assert_int_equal(head_reads(m), 2);
	assert_int_equal(symbolizer__resolve_user(s, f.pid, cbrt, &sym), 0);
	assert_true(!sym.name || strcmp(sym.name, "cbrt"));
	/* Older than that reading, but past the records that wait: handed over from
	 * what it found. */
	assert_true(mmap_events__drain_until(m, after) > 0);
	assert_int_equal(head_reads(m), 2);
	assert_named(s, f.pid, cbrt, "cbrt");

	fixture_stop(&f);
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
	fixture_start(&f, FIXTURE_PIE);
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
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
		cmocka_unit_test(test_old_samples_do_not_read_the_rings_again),
		cmocka_unit_test(test_lost_records_fall_back_to_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
