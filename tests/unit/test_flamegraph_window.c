/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_flamegraph_window.c - unit tests for choosing windows: the busiest window of a
 * length (--peak) and where a new version settles after a deploy (--warmup auto).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flamegraph.h"
#include "profile.h"

#define S 1000000000ull
#define MIN (60 * S)
#define T0 (1795000020ull * S)

/* @weight samples of the stack "main;@leaf" at @t. */
static void add_at(struct profile *p, uint64_t t, const char *leaf, uint64_t weight)
{
	struct sample_meta meta = { .comm = "app", .time_ns = t };
	uint32_t ids[2];

	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &ids[0]), 0);
	assert_int_equal(profile__intern_frame(p, leaf, FRAME_USER, &ids[1]), 0);
	assert_int_equal(profile__add_sample(p, ids, 2, &meta, weight), 0);
}

static void test_peak_finds_the_busy_window(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_window w;

	(void)state;
	/* One sample a second for an hour, ten a second in [T0+1000 s, T0+1300 s). */
	for (uint64_t s = 0; s < 3600; s++)
		add_at(p, T0 + s * S, "x", s >= 1000 && s < 1300 ? 10 : 1);
	assert_int_equal(flamegraph__peak_window(p, 0, 0, 300 * S, &w), 0);
	assert_true(w.start_ns == T0 + 1000 * S && w.end_ns == T0 + 1300 * S);
	assert_int_equal(w.weight, 3000);
	/* A longer window takes the burst and what is around it: ties go to the earliest. */
	assert_int_equal(flamegraph__peak_window(p, 0, 0, 600 * S, &w), 0);
	assert_int_equal(w.weight, 3000 + 300);
	assert_true(w.start_ns == T0 + 700 * S);
	/* Inside a range that cuts the burst, the window stays in the range. */
	assert_int_equal(flamegraph__peak_window(p, T0 + 1200 * S, T0 + 1400 * S, 150 * S, &w), 0);
	assert_true(w.start_ns == T0 + 1200 * S && w.end_ns == T0 + 1350 * S);
	assert_int_equal(w.weight, 1000 + 50);
	/* At the end of the range the window ends with it. */
	assert_int_equal(flamegraph__peak_window(p, T0 + 3000 * S, T0 + 3600 * S, 100 * S, &w), 0);
	assert_true(w.end_ns <= T0 + 3600 * S && w.weight == 100);
	/* A range no longer than the window is the window. */
	assert_int_equal(flamegraph__peak_window(p, T0, T0 + 60 * S, 300 * S, &w), 0);
	assert_true(w.start_ns == T0 && w.end_ns == T0 + 60 * S && w.weight == 60);
	/* Nothing timed in range; bad arguments. */
	assert_int_equal(flamegraph__peak_window(p, T0 + 9000 * S, T0 + 9100 * S, S, &w), -ENODATA);
	assert_int_equal(flamegraph__peak_window(p, 0, 0, 0, &w), -EINVAL);
	assert_int_equal(flamegraph__peak_window(p, T0 + 5, T0, S, &w), -EINVAL);
	profile__free(p);
}

static void test_peak_ignores_untimed_samples(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_window w;

	(void)state;
	add_at(p, 0, "untimed", 1000);
	assert_int_equal(flamegraph__peak_window(p, 0, 0, S, &w), -ENODATA);
	add_at(p, T0, "x", 1);
	assert_int_equal(flamegraph__peak_window(p, 0, 0, S, &w), 0);
	assert_int_equal(w.weight, 1);
	profile__free(p);
}

/*
 * After a deploy at T0: @warm minutes mostly in warm_caches, then a steady mix (with a
 * change from before that must not count as warm-up), 10 samples a second.
 */
static struct profile *after_deploy(int warm, int minutes)
{
	struct profile *p = profile__new();

	for (int s = 0; s < minutes * 60; s++) {
		uint64_t t = T0 + (uint64_t)s * S;

		if (s < warm * 60) {
			add_at(p, t, "warm_caches", 7);
			add_at(p, t, "a", 1);
			add_at(p, t, "b", 2);
		} else {
			add_at(p, t, "a", 6);
			add_at(p, t, "b", 2);
			add_at(p, t, "c", 2);
		}
	}
	return p;
}

static void test_warmup_finds_where_it_settles(void **state)
{
	struct flamegraph_warmup wu;

	(void)state;
	for (int warm = 0; warm <= 4; warm++) {
		struct profile *p = after_deploy(warm, 30);

		assert_int_equal(flamegraph__warmup(p, T0, 15 * MIN, 10 * MIN, 0.1, &wu), 0);
		assert_true(wu.settled);
		assert_int_equal(wu.warmup_ns, warm * MIN);
		if (warm)
			assert_true(wu.first_tv > 0.5);
		assert_true(wu.worst_tv < 0.1);
		profile__free(p);
	}
}

static void test_warmup_is_capped(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_warmup wu;

	(void)state;
	/* Every other minute a different function: it never settles. */
	for (int s = 0; s < 30 * 60; s++)
		add_at(p, T0 + (uint64_t)s * S, (s / 60) % 2 ? "odd" : "even", 10);
	assert_int_equal(flamegraph__warmup(p, T0, 15 * MIN, 10 * MIN, 0.1, &wu), 0);
	assert_false(wu.settled);
	assert_int_equal(wu.warmup_ns, 10 * MIN);
	profile__free(p);
}

static void test_warmup_noise_is_not_warmup(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_warmup wu;
	uint64_t x = 88172645463325252ull;

	(void)state;
	/* 40 functions drawn at random, 3 samples a second: each minute's mix is noisy
	 * (180 samples over 40 frames), but nothing changes. */
	for (int s = 0; s < 30 * 60; s++) {
		for (int k = 0; k < 3; k++) {
			char name[16];

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			snprintf(name, sizeof(name), "f%02u", (unsigned)(x % 40));
			add_at(p, T0 + (uint64_t)s * S, name, 1);
		}
	}
	assert_int_equal(flamegraph__warmup(p, T0, 15 * MIN, 10 * MIN, 0.1, &wu), 0);
	assert_true(wu.settled);
	assert_int_equal(wu.warmup_ns, 0);
	profile__free(p);
}

static void test_warmup_errors_and_sparse_minutes(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_warmup wu;

	(void)state;
	assert_int_equal(flamegraph__warmup(p, T0, MIN, 10 * MIN, 0.1, &wu), -EINVAL);
	assert_int_equal(flamegraph__warmup(p, 0, 15 * MIN, 10 * MIN, 0.1, &wu), -EINVAL);
	assert_int_equal(flamegraph__warmup(p, T0, 15 * MIN, 10 * MIN, -1, &wu), -EINVAL);
	/* No samples at all: nothing can be judged, so nothing settles. */
	assert_int_equal(flamegraph__warmup(p, T0, 15 * MIN, 10 * MIN, 0.1, &wu), 0);
	assert_false(wu.settled);
	assert_int_equal(wu.warmup_ns, 10 * MIN);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peak_finds_the_busy_window),
		cmocka_unit_test(test_peak_ignores_untimed_samples),
		cmocka_unit_test(test_warmup_finds_where_it_settles),
		cmocka_unit_test(test_warmup_is_capped),
		cmocka_unit_test(test_warmup_noise_is_not_warmup),
		cmocka_unit_test(test_warmup_errors_and_sparse_minutes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
