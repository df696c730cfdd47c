/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_agent_flush_queue.c - the writer thread in front of the session's flush
 * callback (agent/flush_queue.c): every profile reaches the callback in order, and the
 * one written last comes back empty for the next interval.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flush_queue.h"
#include "profile.h"

struct seen {
	struct profile *p[4];
	size_t samples[4];
	bool last[4];
	size_t n;
};

static int remember(struct profile *p, bool last, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 4) {
		s->p[s->n] = p;
		s->samples[s->n] = profile__sample_count(p);
		s->last[s->n] = last;
	}
	s->n++;
	return 0;
}

/* A profile with @n samples of one stack. */
static struct profile *filled(size_t n)
{
	struct profile *p = profile__new();
	struct sample_meta m = { .comm = "app", .pid = 42, .tid = 42 };
	uint32_t id;

	assert_non_null(p);
	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &id), 0);
	for (size_t i = 0; i < n; i++) {
		m.time_ns = 1000000000ull + i * 20000000ull;
		assert_int_equal(profile__add_sample(p, &id, 1, &m, 1), 0);
	}
	return p;
}

/*
 * The interval written last comes back, empty and with its memory, through
 * flush_queue__take_spare: once (the caller owns it), and a second written while one
 * is kept is freed, not queued up.
 */
static void test_written_profile_comes_back_empty(void **state)
{
	struct seen seen = { 0 };
	struct flush_queue *q = flush_queue__new(remember, &seen, 4, 1u << 20);
	struct profile *a = filled(100), *b = filled(50), *c = filled(10), *spare;
	size_t reserved = profile__reserved_bytes(a);

	(void)state;
	assert_non_null(q);
	assert_null(flush_queue__take_spare(q));
	flush_queue__push(q, a, false);
	flush_queue__wait(q);
	assert_int_equal(seen.n, 1);
	assert_ptr_equal(seen.p[0], a);
	assert_int_equal(seen.samples[0], 100);

	spare = flush_queue__take_spare(q);
	assert_ptr_equal(spare, a);
	assert_int_equal(profile__sample_count(spare), 0);
	assert_int_equal(profile__frame_count(spare), 0);
	assert_int_equal(profile__reserved_bytes(spare), reserved);
	assert_null(flush_queue__take_spare(q)); /* handed out once */

	/* Refilled, it is written as any other. */
	{
		struct sample_meta m = { .comm = "app", .pid = 7, .tid = 7, .time_ns = 5 };
		uint32_t id;

		assert_int_equal(profile__intern_frame(spare, "other", FRAME_USER, &id), 0);
		assert_int_equal(profile__add_sample(spare, &id, 1, &m, 3), 0);
	}
	flush_queue__push(q, spare, false);
	flush_queue__push(q, c, false); /* freed once written: a spare is kept already */
	flush_queue__push(q, b, true);
	flush_queue__wait(q);
	assert_int_equal(seen.n, 4);
	assert_int_equal(seen.samples[1], 1);
	assert_false(seen.last[1]);
	assert_int_equal(seen.samples[2], 10);
	assert_int_equal(seen.samples[3], 50);
	assert_true(seen.last[3]);
	/* The first written is the one kept; the last is not: the run is over. */
	assert_ptr_equal(flush_queue__take_spare(q), spare);
	profile__free(spare);
	assert_null(flush_queue__take_spare(q));
	flush_queue__free(q);
}

/* No spare from the last interval (the run is over), nor from one larger than the
 * queue may keep. */
static void test_last_or_large_profile_is_not_kept(void **state)
{
	struct seen seen = { 0 };
	struct flush_queue *q = flush_queue__new(remember, &seen, 4, 1u << 20);
	struct profile *big = filled(100);

	(void)state;
	assert_non_null(q);
	flush_queue__push(q, filled(10), true);
	flush_queue__wait(q);
	assert_int_equal(seen.n, 1);
	assert_null(flush_queue__take_spare(q));
	flush_queue__free(q);

	q = flush_queue__new(remember, &seen, 4, profile__reserved_bytes(big) - 1);
	assert_non_null(q);
	flush_queue__push(q, big, false);
	flush_queue__wait(q);
	assert_int_equal(seen.n, 2);
	assert_null(flush_queue__take_spare(q));
	flush_queue__free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_profile_comes_back_empty),
		cmocka_unit_test(test_last_or_large_profile_is_not_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
