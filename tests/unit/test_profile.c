/* SPDX-License-Identifier: Apache-2.0 */
/* test_profile.c - the profile data model and the folded text writer and reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile.h"

/* Render @p as folded text into a malloc'd string. */
static char *folded(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(profile__write_folded(p, f), 0);
	fclose(f);
	return buf;
}

static void add(struct profile *p, const char *comm, const char *const *names,
		const enum frame_kind *kinds, size_t n, uint64_t weight)
{
	uint32_t ids[16];
	struct sample_meta m = { .comm = comm, .pid = 42, .tid = 43, .time_ns = 1 };

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(profile__intern_frame(p, names[i], kinds[i], &ids[i]), 0);
	assert_int_equal(profile__add_sample(p, ids, n, &m, weight), 0);
}

static void test_folded_writer_aggregates_sorts_and_suffixes(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	const char *user[] = { "main", "work" };
	const char *mixed[] = { "main", "read", "ksys_read" };
	const enum frame_kind uu[] = { FRAME_USER, FRAME_USER };
	const enum frame_kind uuk[] = { FRAME_USER, FRAME_USER, FRAME_KERNEL };
	const char *jit[] = { "main", "LazyCompile:foo" };
	const enum frame_kind uj[] = { FRAME_USER, FRAME_JIT };

	add(p, "app", user, uu, 2, 1);
	add(p, "app", mixed, uuk, 3, 1);
	add(p, "app", user, uu, 2, 2);
	add(p, "app", jit, uj, 2, 1);
	add(p, "zeta", user, uu, 2, 1);
	add(p, "", user, uu, 2, 5);

	char *text = folded(p);
	assert_string_equal(text, "app;main;LazyCompile:foo_[j] 1\n"
				  "app;main;read;ksys_read_[k] 1\n"
				  "app;main;work 3\n"
				  "main;work 5\n"
				  "zeta;main;work 1\n");
	free(text);
	profile__free(p);
}

static void test_folded_writer_keeps_one_frame_per_name(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	const char *names[] = { "main", "LFoo;bar(Ljava/lang/String;)V", "two\nlines" };
	const enum frame_kind k[] = { FRAME_USER, FRAME_JIT, FRAME_USER };

	add(p, "java", names, k, 3, 2);
	char *text = folded(p);
	assert_string_equal(text, "java;main;LFoo:bar(Ljava/lang/String:)V_[j];two lines 2\n");
	free(text);
	profile__free(p);
}

static void test_same_stack_is_stored_once(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	const char *names[] = { "main", "a", "b" };
	const enum frame_kind k[] = { FRAME_USER, FRAME_USER, FRAME_USER };

	for (int i = 0; i < 100; i++)
		add(p, "x", names, k, 3, 1);
	add(p, "x", names, k, 2, 1);
	assert_int_equal(profile__sample_count(p), 101);
	assert_int_equal(profile__stack_count(p), 2);
	assert_int_equal(profile__frame_count(p), 3);
	assert_int_equal(profile__total_weight(p), 101);
	profile__free(p);
}

static void test_add_sample_rejects_unknown_frame(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t bogus = 7;

	assert_int_equal(profile__add_sample(p, &bogus, 1, NULL, 1), -EINVAL);
	assert_int_equal(profile__sample_count(p), 0);
	profile__free(p);
}

static void test_folded_round_trip(void **state)
{
	(void)state;
	const char *in = "app;main;[libc.so.6+0x2a1f0];foo 4\n"
			 "app;main;[unknown] 1\n"
			 "app;main;std::vector<int>::push_back;operator new 2\n"
			 "app;main;syscall;__x64_sys_read_[k] 3\n"
			 "node;main;LazyCompile:*run /app/x.js:10_[j] 6\n";
	FILE *f = fmemopen((void *)in, strlen(in), "r");
	struct profile *p = profile__new();

	assert_int_equal(profile__read_folded(p, f, NULL), 0);
	fclose(f);
	assert_int_equal(profile__total_weight(p), 16);

	/* Kinds are told from suffixes and shapes, and the suffixes are stripped. */
	int kernel = 0, jit = 0, unknown = 0;
	for (uint32_t i = 0; i < profile__frame_count(p); i++) {
		const char *name = profile__frame_name(p, i);
		assert_null(strstr(name, "_[k]"));
		assert_null(strstr(name, "_[j]"));
		switch (profile__frame_kind(p, i)) {
		case FRAME_KERNEL:
			assert_string_equal(name, "__x64_sys_read");
			kernel++;
			break;
		case FRAME_JIT:
			assert_string_equal(name, "LazyCompile:*run /app/x.js:10");
			jit++;
			break;
		case FRAME_UNKNOWN:
			unknown++;
			break;
		default:
			break;
		}
	}
	assert_int_equal(kernel, 1);
	assert_int_equal(jit, 1);
	assert_int_equal(unknown, 2);

	char *out = folded(p);
	assert_string_equal(out, in);
	free(out);
	profile__free(p);
}

static void test_folded_round_trip_keeps_python_frames(void **state)
{
	(void)state;
	const char *in = "python3;_start;_PyEval_EvalFrameDefault;main (app.py:3);"
			 "handle (app/server.py:120)_[p];"
			 "parse (json/decoder.py:353)_[p];read_[k] 7\n";
	FILE *f = fmemopen((void *)in, strlen(in), "r");
	struct profile *p = profile__new();
	int python = 0;

	assert_int_equal(profile__read_folded(p, f, NULL), 0);
	fclose(f);
	for (uint32_t i = 0; i < profile__frame_count(p); i++) {
		const char *name = profile__frame_name(p, i);

		assert_null(strstr(name, "_[p]"));
		if (profile__frame_kind(p, i) == FRAME_PYTHON) {
			assert_true(!strcmp(name, "handle (app/server.py:120)") ||
				    !strcmp(name, "parse (json/decoder.py:353)"));
			python++;
		} else if (!strcmp(name, "main (app.py:3)")) {
			/* No suffix: a user frame, whatever its name looks like. */
			assert_int_equal(profile__frame_kind(p, i), FRAME_USER);
		}
	}
	assert_int_equal(python, 2);

	char *out = folded(p);
	assert_string_equal(out, in);
	free(out);
	profile__free(p);
}

static void test_folded_reader_rejects_malformed_lines(void **state)
{
	(void)state;
	const char *bad[] = {
		"main;foo\n",            /* no count */
		"main;foo 12x\n",        /* count not a number */
		"main;foo 99999999999999999999999\n", /* count overflows */
		"5\n",                   /* count but no stack */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *text = bad[i];
		char two[128];
		snprintf(two, sizeof(two), "ok;line 1\n\n%s", text);
		FILE *f = fmemopen(two, strlen(two), "r");
		struct profile *p = profile__new();
		size_t line = 0;

		assert_int_equal(profile__read_folded(p, f, &line), -EINVAL);
		assert_int_equal(line, 3);
		fclose(f);
		profile__free(p);
	}
}

static void test_total_weight_never_wraps(void **state)
{
	(void)state;
	const char *in = "app;main 18446744073709551000\napp;other 1000\n";
	FILE *f = fmemopen((void *)in, strlen(in), "r");
	struct profile *p = profile__new();

	assert_int_equal(profile__read_folded(p, f, NULL), -EOVERFLOW);
	assert_int_equal(profile__total_weight(p), 18446744073709551000ULL);
	assert_int_equal(profile__sample_count(p), 1);
	fclose(f);
	profile__free(p);
}

static void test_folded_reader_skips_blank_lines_and_crlf(void **state)
{
	(void)state;
	const char *in = "\r\napp;main 2\r\n   \n";
	FILE *f = fmemopen((void *)in, strlen(in), "r");
	struct profile *p = profile__new();

	assert_int_equal(profile__read_folded(p, f, NULL), 0);
	fclose(f);
	char *out = folded(p);
	assert_string_equal(out, "app;main 2\n");
	free(out);
	profile__free(p);
}

static void test_folded_writer_reports_write_errors(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	const char *names[] = { "main" };
	const enum frame_kind k[] = { FRAME_USER };
	FILE *full = fopen("/dev/full", "w");

	if (!full)
		skip();
	add(p, "x", names, k, 1, 1);
	/* The write's own errno comes back: /dev/full says ENOSPC. */
	assert_int_equal(profile__write_folded(p, full), -ENOSPC);
	fclose(full);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_writer_aggregates_sorts_and_suffixes),
		cmocka_unit_test(test_folded_writer_keeps_one_frame_per_name),
		cmocka_unit_test(test_same_stack_is_stored_once),
		cmocka_unit_test(test_add_sample_rejects_unknown_frame),
		cmocka_unit_test(test_folded_round_trip),
		cmocka_unit_test(test_folded_round_trip_keeps_python_frames),
		cmocka_unit_test(test_folded_reader_rejects_malformed_lines),
		cmocka_unit_test(test_folded_reader_skips_blank_lines_and_crlf),
		cmocka_unit_test(test_total_weight_never_wraps),
		cmocka_unit_test(test_folded_writer_reports_write_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
