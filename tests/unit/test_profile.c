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
#include <zstd.h>

#include "profile.h"
#include "profile_text.h"
#include "profile_internal.h" /* profile__read_folded_mem, profile__new_cctx */

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

	char *text = folded_text(p);
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
	char *text = folded_text(p);
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

/* @p as a .smolder file, malloc'd; its size in *@len. */
static char *encoded(const struct profile *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(profile__write_file(p, f, 0), 0);
	fclose(f);
	return buf;
}

/* Fill @p through the whole API: a mapping with an unresolved frame (interned first,
 * so that it has the same id in both fills, and named), named frames, labels, lost
 * samples with their interval, the period and time range. */
static void fill(struct profile *p, const char *lib, uint64_t off, const char *fn,
		 const char *service)
{
	struct profile_mapping map = { .path = lib, .build_id = "abcd", .start = 0x7f0000 };
	struct profile_label labels[] = { { "service", service }, { "exe", "/usr/bin/app" } };
	struct sample_meta m = { .comm = service, .pid = 9, .tid = 9, .labels = labels,
				 .nlabels = 2 };
	struct profile_info info = { .period_ns = 10101010, .start_ns = 7000000000ull,
				     .end_ns = 9000000000ull };
	struct profile_counts c = { .lost = 3, .truncated = 1 };
	uint32_t mapping, ids[3];

	assert_int_equal(profile__intern_mapping(p, &map, &mapping), 0);
	assert_int_equal(profile__intern_unresolved(p, mapping, off, &ids[2]), 0);
	assert_non_null(profile__frame_name(p, ids[2]));
	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &ids[0]), 0);
	assert_int_equal(profile__intern_frame(p, fn, FRAME_USER, &ids[1]), 0);
	for (int i = 0; i < 5; i++) {
		m.time_ns = 7000000000ull + (uint64_t)i * 30000000ull;
		assert_int_equal(profile__add_sample(p, ids, 3 - (i & 1), &m, 1), 0);
	}
	assert_int_equal(profile__add_lost_interval(p, 7500000000ull, 7600000000ull, c.lost), 0);
	profile__add_counts(p, &c);
	profile__set_info(p, &info);
}

/*
 * A recycled profile is a new one that keeps its memory: filled again, it shows and
 * encodes exactly as a fresh profile filled the same way (every table, index,
 * name and counter emptied, the ids handed out from 0 again), in the memory it had.
 */
static void test_recycled_profile_is_a_new_one(void **state)
{
	struct profile *p = profile__new(), *fresh = profile__new();
	const struct profile_lost *la, *lb;
	struct profile_info ia, ib;
	char *a, *b;
	size_t alen, blen, reserved;

	(void)state;
	assert_non_null(p);
	assert_non_null(fresh);
	fill(p, "/usr/lib/libc.so.6", 0x2a1f0, "query", "db");
	reserved = profile__reserved_bytes(p);
	assert_true(reserved > 0);

	profile__recycle(p);
	assert_int_equal(profile__sample_count(p), 0);
	assert_int_equal(profile__stack_count(p), 0);
	assert_int_equal(profile__frame_count(p), 0);
	assert_int_equal(profile__mapping_count(p), 0);
	assert_int_equal(profile__total_weight(p), 0);
	assert_int_equal(profile__counts(p)->lost, 0);
	assert_int_equal(profile__counts(p)->truncated, 0);
	assert_int_equal(profile__lost_intervals(p, &la), 0);
	/* The arrays and tables stay; the unresolved frame's name goes. */
	assert_true(profile__reserved_bytes(p) < reserved);
	assert_true(profile__reserved_bytes(p) > reserved / 2);

	fill(p, "/usr/lib/libssl.so.3", 0x77, "serve", "web");
	fill(fresh, "/usr/lib/libssl.so.3", 0x77, "serve", "web");
	a = folded_text(p);
	b = folded_text(fresh);
	assert_string_equal(a, "web;main;serve 2\nweb;main;serve;[libssl.so.3+0x77] 3\n");
	assert_string_equal(a, b);
	free(a);
	free(b);
	a = encoded(p, &alen);
	b = encoded(fresh, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	profile__info(p, &ia);
	profile__info(fresh, &ib);
	assert_memory_equal(&ia, &ib, sizeof(ia));
	assert_int_equal(profile__lost_intervals(p, &la), 1);
	assert_int_equal(profile__lost_intervals(fresh, &lb), 1);
	assert_memory_equal(la, lb, sizeof(*la));
	/* Filled the same way (the fills are of one size), it holds what a fresh one
	 * does: nothing was lost nor grown twice. */
	assert_int_equal(profile__reserved_bytes(p), profile__reserved_bytes(fresh));
	profile__free(p);
	profile__free(fresh);
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

	char *out = folded_text(p);
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

	char *out = folded_text(p);
	assert_string_equal(out, in);
	free(out);
	profile__free(p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Inputs past the reader's first 4 MiB are read into tables sized from that part:
 * what it reads must not depend on how well the part foretold the rest. Here the
 * first part is all new stacks and the rest repeats them (fewer new ones than
 * foretold) and then brings as many again (more than foretold), in both readers.
 */
static void test_folded_reader_big_input_reads_every_line(void **state)
{
	(void)state;
	enum { DISTINCT = 120000 };
	static const char pad[] = "std::vector<frame_with_a_long_name>::operator[]";
	char *text = NULL, **expect = malloc(DISTINCT * sizeof(*expect));
	size_t len = 0, elen = 0;
	FILE *f = open_memstream(&text, &len);
	uint64_t *counts = calloc(DISTINCT, sizeof(*counts));

	assert_non_null(f);
	assert_non_null(counts);
	assert_non_null(expect);
	/* Stacks 0..D/2 in order, 0..D/2 again in reverse, then D/2..D. */
	for (int pass = 0; pass < 3; pass++) {
		for (int k = 0; k < DISTINCT / 2; k++) {
			int i = pass == 0 ? k : pass == 1 ? DISTINCT / 2 - 1 - k : DISTINCT / 2 + k;

			fprintf(f, "app;main;%s%d;%s;leaf_%07d %d\n", pad, i % 97, pad, i, 1 + i % 5);
			counts[i] += 1 + (uint64_t)(i % 5);
		}
	}
	assert_int_equal(fclose(f), 0);
	assert_true(len > 3 * (4u << 20)); /* past the part the tables are sized from */
	for (int i = 0; i < DISTINCT; i++) {
		char line[256];
		int n = snprintf(line, sizeof(line), "app;main;%s%d;%s;leaf_%07d %llu\n", pad,
				 i % 97, pad, i, (unsigned long long)counts[i]);
		expect[i] = strdup(line);
		assert_non_null(expect[i]);
		elen += (size_t)n;
	}
	qsort(expect, DISTINCT, sizeof(*expect), cmp_str);
	char *want = malloc(elen + 1), *w = want;
	assert_non_null(want);
	for (int i = 0; i < DISTINCT; i++) {
		size_t n = strlen(expect[i]);
		memcpy(w, expect[i], n);
		w += n;
		free(expect[i]);
	}
	*w = '\0';
	free(expect);
	free(counts);

	for (int reader = 0; reader < 2; reader++) {
		struct profile *p = profile__new();
		FILE *in = NULL;

		if (reader == 0) { /* a regular file: its size is known */
			in = tmpfile();
			assert_non_null(in);
			assert_int_equal(fwrite(text, 1, len, in), len);
			rewind(in);
			assert_int_equal(profile__read_folded(p, in, NULL), 0);
			fclose(in);
		} else {
			assert_int_equal(profile__read_folded_mem(p, text, len, NULL), 0);
		}
		assert_int_equal(profile__stack_count(p), DISTINCT);
		char *out = folded_text(p);
		assert_string_equal(out, want);
		free(out);
		profile__free(p);
	}
	free(want);
	free(text);
}

struct scan_ctx {
	struct profile *into; /* NULL: only count */
	size_t lines, stop_at;
};

static int scan_line(const struct profile_sample *s, void *ctx)
{
	struct scan_ctx *c = ctx;
	struct sample_meta meta = { .comm = s->comm };

	assert_int_equal(s->stack, UINT32_MAX);
	assert_int_equal(s->count, 1);
	assert_int_equal(s->time_ns, 0);
	if (++c->lines == c->stop_at)
		return -ECANCELED;
	return c->into ? profile__add_sample(c->into, s->frames, s->nframes, &meta, s->weight)
		       : 0;
}

/*
 * profile__scan_folded() hands over every line, across the reader's 4 MiB chunks,
 * with the frames profile__read_folded() would have added, and keeps no sample.
 */
static void test_folded_scan_hands_over_each_line(void **state)
{
	(void)state;
	enum { LINES = 150000 };
	char *text = NULL, *want, *got;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len), *in;
	struct profile *a = profile__new(), *b = profile__new();
	struct scan_ctx c = { 0 };

	assert_non_null(f);
	for (int i = 0; i < LINES; i++)
		fprintf(f, "%scomm%d;outer_function;mid_%d_[k];jit_%d_[j];[unknown];leaf_%d_[p] %d\n",
			i % 7 ? "" : ";", i % 5, i % 31, (i * 7) % 13, i % 1009, 1 + i % 9);
	assert_int_equal(fclose(f), 0);
	assert_true(len > 2 * (4u << 20));
	in = tmpfile();
	assert_non_null(in);
	assert_int_equal(fwrite(text, 1, len, in), len);
	rewind(in);
	assert_int_equal(profile__read_folded(a, in, NULL), 0);

	rewind(in);
	assert_int_equal(profile__scan_folded(b, in, scan_line, &c, NULL), 0);
	assert_int_equal(c.lines, LINES);
	assert_int_equal(profile__record_count(b), 0);
	assert_int_equal(profile__stack_count(b), 0);
	assert_int_equal(profile__frame_count(b), profile__frame_count(a));

	rewind(in);
	c = (struct scan_ctx){ .into = b };
	assert_int_equal(profile__scan_folded(b, in, scan_line, &c, NULL), 0);
	want = folded_text(a);
	got = folded_text(b);
	assert_string_equal(got, want);
	free(want);
	free(got);

	/* An error from the sink stops the reading. */
	rewind(in);
	c = (struct scan_ctx){ .stop_at = 5 };
	assert_int_equal(profile__scan_folded(b, in, scan_line, &c, NULL), -ECANCELED);
	assert_int_equal(c.lines, 5);
	fclose(in);
	free(text);
	profile__free(a);
	profile__free(b);
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
	char *out = folded_text(p);
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

/* The context .smolder chunks are compressed with (a recording's output, the agent's
 * store) is bounded: level 19 on its own sizes its tables for a chunk of 8 MiB at
 * about 80 MiB, which every write would add to smolder's memory. */
static void test_compression_context_is_bounded(void **state)
{
	(void)state;
	const size_t len = 8u << 20;
	unsigned char *src = malloc(len), *dst = malloc(ZSTD_compressBound(len));
	void *cctx = profile__new_cctx();
	uint64_t x = 88172645463325252ull;
	size_t n;

	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(cctx);
	/* Compressible, as profile columns are: small values from a xorshift. */
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		src[i] = (unsigned char)(x % 7);
	}
	n = ZSTD_compress2(cctx, dst, ZSTD_compressBound(len), src, len);
	assert_false(ZSTD_isError(n));
	print_message("compression context %zu KiB for %zu KiB in, %zu KiB out\n",
		      ZSTD_sizeof_CCtx(cctx) >> 10, len >> 10, n >> 10);
	assert_true(ZSTD_sizeof_CCtx(cctx) <= (24u << 20));
	profile__free_cctx(cctx);
	free(src);
	free(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_writer_aggregates_sorts_and_suffixes),
		cmocka_unit_test(test_folded_writer_keeps_one_frame_per_name),
		cmocka_unit_test(test_same_stack_is_stored_once),
		cmocka_unit_test(test_add_sample_rejects_unknown_frame),
		cmocka_unit_test(test_recycled_profile_is_a_new_one),
		cmocka_unit_test(test_folded_round_trip),
		cmocka_unit_test(test_folded_round_trip_keeps_python_frames),
		cmocka_unit_test(test_folded_reader_big_input_reads_every_line),
		cmocka_unit_test(test_folded_scan_hands_over_each_line),
		cmocka_unit_test(test_folded_reader_rejects_malformed_lines),
		cmocka_unit_test(test_folded_reader_skips_blank_lines_and_crlf),
		cmocka_unit_test(test_total_weight_never_wraps),
		cmocka_unit_test(test_folded_writer_reports_write_errors),
		cmocka_unit_test(test_compression_context_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
