/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile_unresolved.c - frames no symbol was found for, kept as (mapping,
 * offset) with no name string per address (profile__intern_unresolved), and shown as
 * "[BASENAME+0xOFFSET]" by every output: frame names, folded text, .smolder and pprof
 * round trips. White-box where it counts the profile's strings.
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

#include "profile.h"
#include "profile_text.h"
#include "profile_internal.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

static uint32_t libc_mapping(struct profile *p)
{
	struct profile_mapping m = { .path = LIBC };
	uint32_t id;

	assert_int_equal(profile__intern_mapping(p, &m, &id), 0);
	return id;
}

/* 10 000 addresses in one library: 10 000 frames, not one string more. */
static void test_no_string_per_address(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t m = libc_mapping(p), id, again;
	size_t strings = p->strings.len, chars = p->chars.len;
	char want[64];

	for (uint64_t off = 0x1000; off < 0x1000 + 10000 * 16; off += 16)
		assert_int_equal(profile__intern_unresolved(p, m, off, &id), 0);
	assert_int_equal(profile__frame_count(p), 10000);
	/* Not even "", the name none of them has: the mapping's empty build-id is it. */
	assert_int_equal(p->strings.len, strings);
	assert_int_equal(p->chars.len, chars);

	assert_int_equal(profile__intern_unresolved(p, m, 0x2a1f0, &id), 0);
	assert_int_equal(profile__intern_unresolved(p, m, 0x2a1f0, &again), 0);
	assert_int_equal(id, again);
	assert_string_equal(profile__frame_name(p, id), "[libc.so.6+0x2a1f0]");
	assert_int_equal(profile__frame_kind(p, id), FRAME_UNKNOWN);
	struct profile_frame_info fi;
	profile__frame_info(p, id, &fi);
	assert_string_equal(fi.name, "[libc.so.6+0x2a1f0]");
	assert_int_equal(fi.mapping, m);
	assert_int_equal(fi.address, 0x2a1f0);
	for (uint32_t i = 0; i < 10000; i += 999) {
		snprintf(want, sizeof(want), "[libc.so.6+0x%x]", 0x1000 + i * 16);
		assert_string_equal(profile__frame_name(p, i), want);
	}
	/* Asking for names does not touch the interned strings either. */
	assert_int_equal(p->strings.len, strings);

	/* A path without a directory is its own basename. */
	struct profile_mapping bare = { .path = "dash" };
	uint32_t mb;
	assert_int_equal(profile__intern_mapping(p, &bare, &mb), 0);
	assert_int_equal(profile__intern_unresolved(p, mb, 0x4780, &id), 0);
	assert_string_equal(profile__frame_name(p, id), "[dash+0x4780]");

	assert_int_equal(profile__intern_unresolved(p, 0, 0x10, &id), -EINVAL);
	assert_int_equal(profile__intern_unresolved(p, mb + 1, 0x10, &id), -EINVAL);
	profile__free(p);
}

/* A name handed out stays where it is while more frames are interned and named. */
static void test_names_stay_put(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t m = libc_mapping(p), first, id;

	assert_int_equal(profile__intern_unresolved(p, m, 0x10, &first), 0);
	const char *name = profile__frame_name(p, first);
	for (uint64_t off = 0x20; off < 0x20 + 5000; off++) {
		assert_int_equal(profile__intern_unresolved(p, m, off, &id), 0);
		assert_non_null(profile__frame_name(p, id));
	}
	assert_ptr_equal(profile__frame_name(p, first), name);
	assert_string_equal(name, "[libc.so.6+0x10]");
	profile__free(p);
}

/* A stack with unresolved frames, as the collector makes it. */
static struct profile *make_profile(void)
{
	struct profile *p = profile__new();
	uint32_t m = libc_mapping(p), f[3];
	struct profile_mapping dash = { .path = "/usr/bin/dash" };
	uint32_t md;

	assert_int_equal(profile__intern_mapping(p, &dash, &md), 0);
	assert_int_equal(profile__intern_unresolved(p, md, 0x4780, &f[0]), 0);
	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &f[1]), 0);
	assert_int_equal(profile__intern_unresolved(p, m, 0x2a1f0, &f[2]), 0);
	for (int i = 0; i < 3; i++) {
		struct sample_meta meta = {
			.time_ns = 1795000000000000000ull + (uint64_t)i * 20000000,
			.pid = 7, .tid = 7, .comm = "sh",
		};
		assert_int_equal(profile__add_sample(p, f, 3, &meta, 1), 0);
	}
	return p;
}

#define WANT_FOLDED "sh;[dash+0x4780];main;[libc.so.6+0x2a1f0] 3\n"

static void test_every_output_shows_module_and_offset(void **state)
{
	(void)state;
	struct profile *p = make_profile(), *q = profile__new(), *r = profile__new();
	char *buf = NULL, *text;
	size_t len = 0;
	FILE *f;

	text = folded_text(p);
	assert_string_equal(text, WANT_FOLDED);
	free(text);

	/* .smolder: the frames come back as (mapping, offset), not as names. */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(profile__write_file(p, f, 0), 0);
	fclose(f);
	assert_int_equal(profile__decode(q, buf, len, NULL, NULL), 0);
	free(buf);
	text = folded_text(q);
	assert_string_equal(text, WANT_FOLDED);
	free(text);
	for (uint32_t i = 0; i < profile__frame_count(q); i++) {
		struct profile_frame_info fi;
		struct profile_mapping m;

		profile__frame_info(q, i, &fi);
		if (strcmp(fi.name, "[libc.so.6+0x2a1f0]"))
			continue;
		assert_true(profile__frame_unresolved(q, &q->frames.v[i]));
		assert_int_equal(profile__mapping(q, fi.mapping, &m), 0);
		assert_string_equal(m.path, LIBC);
		assert_int_equal(fi.address, 0x2a1f0);
	}
	for (size_t i = 0; i < q->strings.len; i++)
		assert_null(strstr(profile__string(q, (uint32_t)i), "+0x"));

	/* pprof: the function names are the same text. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(profile__write_pprof(p, f), 0);
	fclose(f);
	assert_int_equal(profile__decode_pprof(r, buf, len, NULL), 0);
	free(buf);
	text = folded_text(r);
	assert_string_equal(text, WANT_FOLDED);
	free(text);
	profile__free(p);
	profile__free(q);
	profile__free(r);
}

/* A frame named "[libc.so.6+0x2a1f0]" (from a 1.0 file or folded text) and an
 * unresolved frame that reads the same are one line of folded text. */
static void test_same_text_is_one_folded_line(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	const char *in = "sh;[dash+0x4780];main;[libc.so.6+0x2a1f0] 2\nsh;main 1\n";
	FILE *f = fmemopen((void *)in, strlen(in), "r");

	assert_non_null(f);
	assert_int_equal(profile__read_folded(p, f, NULL), 0);
	fclose(f);
	char *text = folded_text(p);
	assert_string_equal(text, "sh;[dash+0x4780];main;[libc.so.6+0x2a1f0] 5\nsh;main 1\n");
	free(text);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_string_per_address),
		cmocka_unit_test(test_names_stay_put),
		cmocka_unit_test(test_every_output_shows_module_and_offset),
		cmocka_unit_test(test_same_text_is_one_folded_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
