/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile_spill.c - a run's intervals moved to a spill file (profile/spill.c) and
 * read back whole: the same samples, stacks, labels, lost counts and time range as
 * the intervals merged in memory, also across the new files it starts when new
 * processes fill its tables; the spill holds no records in memory; a write that
 * fails (a file size limit standing in for a full disk) loses nothing appended before.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "profile.h"
#include "profile_text.h"

#define SEC 1000000000ull
#define T0 (1795000000ull * SEC)
#define INTERVALS 5

/* Interval @k: 10 s of samples of processes @pid_base.. (@npids of them) over a few
 * stacks, some shared with other intervals and some its own, in two label sets, with
 * @k lost samples. */
static struct profile *interval_of(int k, int pid_base, int npids)
{
	struct profile *p = profile__new();
	struct profile_label svc[] = { { "service", k % 2 ? "odd" : "even" } };
	struct profile_info info = { .period_ns = 10101010, .start_ns = T0 + k * 10 * SEC,
				     .end_ns = T0 + (k + 1) * 10 * SEC };
	struct profile_counts lost = { .lost = (uint64_t)k };
	char name[64];
	uint32_t f[4], set;

	assert_non_null(p);
	assert_int_equal(profile__intern_labels(p, svc, 1, &set), 0);
	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &f[0]), 0);
	assert_int_equal(profile__intern_frame(p, "work", FRAME_USER, &f[1]), 0);
	snprintf(name, sizeof(name), "step_%d", k);
	assert_int_equal(profile__intern_frame(p, name, FRAME_USER, &f[2]), 0);
	assert_int_equal(profile__intern_frame(p, "schedule", FRAME_KERNEL, &f[3]), 0);
	for (int i = 0; i < 1000; i++) {
		struct sample_meta m = { .time_ns = info.start_ns + (uint64_t)i * 10 * SEC / 1000,
					 .pid = pid_base + i % npids,
					 .tid = pid_base + i % npids, .comm = "app",
					 .label_set = set };
		size_t n = i % 4 == 0 ? 4 : i % 4 == 1 ? 2 : 3;

		assert_int_equal(profile__add_sample(p, f, n, &m, 1), 0);
	}
	profile__add_counts(p, &lost);
	profile__set_info(p, &info);
	return p;
}

static struct profile *interval(int k)
{
	return interval_of(k, 100, 3);
}

static void test_spill_reads_back_the_merged_run(void **state)
{
	struct profile_spill *s = profile_spill__open("/tmp");
	struct profile *merged = profile__new(), *back = profile__new();
	struct profile_info a, b;
	char *want, *got;
	uint64_t bytes = 0;

	(void)state;
	assert_non_null(s);
	for (int k = 0; k < INTERVALS; k++) {
		struct profile *p = interval(k);

		assert_int_equal(profile_spill__append(s, p), 0);
		assert_true(profile_spill__bytes(s) > bytes);
		bytes = profile_spill__bytes(s);
		assert_int_equal(profile__merge(merged, p, NULL), 0);
		profile__free(p);
	}
	assert_int_equal(profile_spill__samples(s), INTERVALS * 1000);
	assert_int_equal(profile_spill__read(s, back), 0);
	assert_int_equal(profile__sample_count(back), profile__sample_count(merged));
	assert_int_equal(profile__sample_count(back), INTERVALS * 1000);
	assert_int_equal(profile__counts(back)->lost, 0 + 1 + 2 + 3 + 4);
	profile__info(back, &b);
	profile__info(merged, &a);
	assert_int_equal(b.start_ns, T0);
	assert_int_equal(b.end_ns, T0 + INTERVALS * 10 * SEC);
	assert_int_equal(b.period_ns, a.period_ns);
	want = folded_text(merged);
	got = folded_text(back);
	assert_string_equal(got, want);
	free(want);
	free(got);
	/* Read again: the file is not consumed. */
	profile__free(back);
	back = profile__new();
	assert_int_equal(profile_spill__read(s, back), 0);
	assert_int_equal(profile__sample_count(back), INTERVALS * 1000);
	profile__free(back);
	profile__free(merged);
	profile_spill__close(s);
}

static void test_spill_write_failure_keeps_what_came_before(void **state)
{
	struct profile_spill *s = profile_spill__open("/tmp");
	struct profile *p = interval(0), *big = profile__new(), *back = profile__new();
	struct rlimit old, lim;
	uint64_t bytes;
	int err;

	(void)state;
	assert_non_null(s);
	assert_int_equal(profile_spill__append(s, p), 0);
	bytes = profile_spill__bytes(s);
	/* An interval too big for what the limit leaves: its write fails (EFBIG, as a
	 * full disk fails with ENOSPC). */
	for (int k = 1; k < 40; k++) {
		struct profile *q = interval(k);
		assert_int_equal(profile__merge(big, q, NULL), 0);
		profile__free(q);
	}
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = bytes + 64;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	err = profile_spill__append(s, big);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(err, -EFBIG);
	assert_int_equal(profile_spill__bytes(s), bytes);
	/* What was appended before reads back whole; the next append works again. */
	assert_int_equal(profile_spill__read(s, back), 0);
	assert_int_equal(profile__sample_count(back), 1000);
	assert_int_equal(profile_spill__append(s, big), 0);
	profile__free(back);
	back = profile__new();
	assert_int_equal(profile_spill__read(s, back), 0);
	assert_int_equal(profile__sample_count(back), 40 * 1000);
	profile__free(back);
	profile__free(big);
	profile__free(p);
	profile_spill__close(s);
}

/* Every interval brings 1,000 new processes: new series, past what one dictionary
 * may hold. The spill starts new files, and reads them all back. */
static void test_spill_starts_new_files_for_new_processes(void **state)
{
	struct profile_spill *s = profile_spill__open("/tmp");
	struct profile *merged = profile__new(), *back = profile__new();
	char *want, *got;

	(void)state;
	assert_non_null(s);
	for (int k = 0; k < 40; k++) {
		struct profile *p = interval_of(k, 1000 + k * 1000, 1000);

		assert_int_equal(profile_spill__append(s, p), 0);
		assert_int_equal(profile__merge(merged, p, NULL), 0);
		profile__free(p);
	}
	assert_true(profile_spill__segments(s) >= 2);
	assert_int_equal(profile_spill__read(s, back), 0);
	assert_int_equal(profile__sample_count(back), 40 * 1000);
	assert_int_equal(profile__counts(back)->lost, 39 * 40 / 2);
	want = folded_text(merged);
	got = folded_text(back);
	assert_string_equal(got, want);
	free(want);
	free(got);
	profile__free(back);
	profile__free(merged);
	profile_spill__close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spill_reads_back_the_merged_run),
		cmocka_unit_test(test_spill_write_failure_keeps_what_came_before),
		cmocka_unit_test(test_spill_starts_new_files_for_new_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
