/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile_format.c - the profile data model's additions (labels, mappings,
 * frame info, filters, merge, TIME) and the round trips through every file format:
 * .smolder (including torn tails and damage), gzip pprof and folded text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile.h"
#include "profile_text.h"

#define GOLDEN_FOLDED TEST_DATA_DIR "/golden/labelled.folded"

/* A small profile with every kind of fact: mappings, file names, labels, times. */
static struct profile *make_profile(void)
{
	struct profile *p = profile__new();
	struct profile_mapping libc = { "/usr/lib/x86_64-linux-gnu/libc.so.6",
					"0123456789abcdef0123456789abcdef01234567", 0x7f0000000000,
					0x7f0000200000, 0x28000 };
	struct profile_info info = { .period_ns = 10101010, .start_ns = 1795000000000000000ull,
				     .end_ns = 1795000010000000000ull };
	uint32_t m, f_main, f_work, f_memcpy, f_k, f_unk;

	assert_non_null(p);
	assert_int_equal(profile__intern_mapping(p, &libc, &m), 0);
	assert_int_equal(m, 1);
	struct profile_frame_info fi = { .name = "main", .file = "/src/app/main.c", .line = 12 };
	assert_int_equal(profile__intern_frame_info(p, &fi, &f_main), 0);
	fi = (struct profile_frame_info){ .name = "work", .file = "/src/app/work.c" };
	assert_int_equal(profile__intern_frame_info(p, &fi, &f_work), 0);
	fi = (struct profile_frame_info){ .name = "__memcpy_avx_unaligned", .mapping = m,
					  .address = 0x1a2b3c };
	assert_int_equal(profile__intern_frame_info(p, &fi, &f_memcpy), 0);
	assert_int_equal(profile__intern_frame(p, "do_syscall_64", FRAME_KERNEL, &f_k), 0);
	assert_int_equal(profile__intern_frame(p, "[libfoo.so+0x1234]", FRAME_UNKNOWN, &f_unk), 0);

	struct profile_label api[] = { { "service", "api" }, { "exe", "/usr/bin/app" },
				       { "build_id", "abc123" } };
	struct profile_label db[] = { { "service", "db" }, { "container_id", "c0ffee" } };
	uint32_t s1[] = { f_main, f_work, f_memcpy };
	uint32_t s2[] = { f_main, f_work, f_k };
	uint32_t s3[] = { f_main, f_unk };
	for (int i = 0; i < 50; i++) {
		struct sample_meta meta = { .time_ns = info.start_ns + (uint64_t)i * 100000000ull,
					    .pid = 100 + i % 2, .tid = 200 + i % 3,
					    .comm = i % 2 ? "app" : "dbd",
					    .labels = i % 2 ? api : db, .nlabels = i % 2 ? 3 : 2 };
		assert_int_equal(profile__add_sample(p, i % 3 == 0 ? s1 : i % 3 == 1 ? s2 : s3,
						     i % 3 == 2 ? 2 : 3, &meta, 1 + i % 4), 0);
	}
	struct profile_counts c = { .lost = 7, .truncated = 3 };
	profile__add_counts(p, &c);
	profile__set_info(p, &info);
	return p;
}

struct digest {
	const struct profile *p;
	FILE *out;
};

static int digest_sample(const struct profile_sample *s, void *ctx)
{
	struct digest *d = ctx;
	fprintf(d->out, "t=%llu pid=%d tid=%d comm=%s w=%llu labels=",
		(unsigned long long)s->time_ns, s->pid, s->tid, s->comm,
		(unsigned long long)s->weight);
	for (size_t i = 0; i < profile__label_set_len(d->p, s->label_set); i++) {
		struct profile_label l;
		assert_int_equal(profile__label_set_get(d->p, s->label_set, i, &l), 0);
		fprintf(d->out, "%s=%s,", l.key, l.value);
	}
	fprintf(d->out, " stack=");
	for (size_t i = 0; i < s->nframes; i++) {
		struct profile_frame_info fi;
		struct profile_mapping m = { 0 };
		profile__frame_info(d->p, s->frames[i], &fi);
		if (fi.mapping)
			assert_int_equal(profile__mapping(d->p, fi.mapping, &m), 0);
		fprintf(d->out, "%s/%d/%s:%u@%s:%s+%llx;", fi.name, fi.kind, fi.file, fi.line,
			m.path ? m.path : "", m.build_id ? m.build_id : "",
			(unsigned long long)fi.address);
	}
	fputc('\n', d->out);
	return 0;
}

static char *digest(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	struct digest d = { p, open_memstream(&buf, &len) };
	assert_non_null(d.out);
	assert_int_equal(profile__for_each_sample(p, digest_sample, &d), 0);
	fclose(d.out);
	return buf;
}

static unsigned char *encode(const struct profile *p, size_t chunk_samples, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	assert_non_null(f);
	assert_int_equal(profile__write_file(p, f, chunk_samples), 0);
	fclose(f);
	return (unsigned char *)buf;
}

static unsigned char *pprof_bytes(const struct profile *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	assert_non_null(f);
	assert_int_equal(profile__write_pprof(p, f), 0);
	fclose(f);
	return (unsigned char *)buf;
}

static void test_smolder_file_round_trip_keeps_everything(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	struct profile *q = profile__new();
	struct profile_read_stats rs;
	struct profile_info a, b;
	size_t len;
	unsigned char *buf = encode(p, 7, &len); /* several chunks */

	assert_true(profile__is_smolder(buf, len));
	assert_int_equal(profile__detect_format(buf, len), PROFILE_FORMAT_SMOLDER);
	if (getenv("SMOLDER_UPDATE_CORPUS")) { /* seeds for tests/fuzz/corpus/profile */
		FILE *c = fopen(TEST_DATA_DIR "/../fuzz/corpus/profile/labelled-v2.smolder", "we");
		assert_non_null(c);
		fwrite(buf, 1, len, c);
		fclose(c);
		size_t plen;
		unsigned char *pb = pprof_bytes(p, &plen);
		c = fopen(TEST_DATA_DIR "/../fuzz/corpus/profile/labelled.pb.gz", "we");
		assert_non_null(c);
		fwrite(pb, 1, plen, c);
		fclose(c);
		free(pb);
	}
	assert_int_equal(profile__decode(q, buf, len, NULL, &rs), 0);
	assert_int_equal(rs.chunks, 8);
	assert_int_equal(rs.torn_bytes, 0);
	assert_int_equal(rs.valid_bytes, len);

	char *x = digest(p), *y = digest(q);
	assert_string_equal(x, y);
	free(x);
	free(y);
	x = folded_text(p);
	y = folded_text(q);
	assert_string_equal(x, y);
	free(x);
	free(y);
	assert_int_equal(profile__counts(q)->lost, 7);
	assert_int_equal(profile__counts(q)->truncated, 3);
	profile__info(p, &a);
	profile__info(q, &b);
	assert_int_equal(a.period_ns, b.period_ns);
	assert_int_equal(a.start_ns, b.start_ns);
	assert_int_equal(a.end_ns, b.end_ns);
	assert_int_equal(profile__stack_count(q), profile__stack_count(p));
	assert_int_equal(profile__label_set_count(q), 2);
	free(buf);
	profile__free(p);
	profile__free(q);
}

static void test_smolder_empty_profile_round_trips(void **state)
{
	(void)state;
	struct profile *p = profile__new(), *q = profile__new();
	size_t len;
	unsigned char *buf = encode(p, 0, &len);

	assert_int_equal(profile__decode(q, buf, len, NULL, NULL), 0);
	assert_int_equal(profile__sample_count(q), 0);
	free(buf);
	profile__free(p);
	profile__free(q);
}

/* A profile with two Python frames on a native one (the interpreter's loop). */
static struct profile *make_python_profile(void)
{
	struct profile *p = profile__new();
	struct profile_frame_info fi = { .name = "handle (app/server.py:120)",
					 .kind = FRAME_PYTHON, .file = "app/server.py",
					 .line = 120 };
	struct sample_meta meta = { .time_ns = 1795000000000000000ull, .pid = 7, .tid = 7,
				    .comm = "python3" };
	uint32_t s[3];

	assert_non_null(p);
	assert_int_equal(profile__intern_frame(p, "_PyEval_EvalFrameDefault", FRAME_USER,
					       &s[0]), 0);
	assert_int_equal(profile__intern_frame_info(p, &fi, &s[1]), 0);
	assert_int_equal(profile__intern_frame(p, "parse (json/decoder.py:353)", FRAME_PYTHON,
					       &s[2]), 0);
	assert_int_equal(profile__add_sample(p, s, 3, &meta, 5), 0);
	return p;
}

/* @q has make_python_profile()'s frames with their kinds, file and line. */
static void assert_python_frames(const struct profile *q)
{
	int python = 0;

	for (uint32_t i = 0; i < profile__frame_count(q); i++) {
		struct profile_frame_info fi;

		profile__frame_info(q, i, &fi);
		if (!strcmp(fi.name, "_PyEval_EvalFrameDefault")) {
			assert_int_equal(fi.kind, FRAME_USER);
		} else {
			assert_int_equal(fi.kind, FRAME_PYTHON);
			python++;
		}
		if (!strcmp(fi.name, "handle (app/server.py:120)")) {
			assert_string_equal(fi.file, "app/server.py");
			assert_int_equal(fi.line, 120);
		}
	}
	assert_int_equal(python, 2);
	char *text = folded_text(q);
	assert_string_equal(text, "python3;_PyEval_EvalFrameDefault;"
				  "handle (app/server.py:120)_[p];"
				  "parse (json/decoder.py:353)_[p] 5\n");
	free(text);
}

static void test_smolder_file_round_trip_keeps_python_frames(void **state)
{
	(void)state;
	struct profile *p = make_python_profile(), *q = profile__new();
	size_t len;
	unsigned char *buf = encode(p, 0, &len);

	assert_int_equal(profile__decode(q, buf, len, NULL, NULL), 0);
	assert_python_frames(q);
	free(buf);
	profile__free(p);
	profile__free(q);
}

static void test_pprof_round_trip_keeps_python_frames(void **state)
{
	(void)state;
	struct profile *p = make_python_profile(), *q = profile__new();
	size_t len;
	unsigned char *buf = pprof_bytes(p, &len);

	assert_int_equal(profile__decode_pprof(q, buf, len, NULL), 0);
	assert_python_frames(q);
	free(buf);
	profile__free(p);
	profile__free(q);
}

/* Cutting the file anywhere loses at most the chunk that was cut, never fails. */
static void test_smolder_torn_tail_is_skipped(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	size_t len, prev_samples = 0;
	unsigned char *buf = encode(p, 5, &len);

	for (size_t cut = 0; cut <= len; cut++) {
		struct profile *q = profile__new();
		struct profile_read_stats rs;
		assert_int_equal(profile__decode(q, buf, cut, NULL, &rs), 0);
		/* Cut inside the preamble: nothing yet, all of it torn. */
		assert_int_equal(rs.valid_bytes + rs.torn_bytes, cut);
		/* Whole chunks only, more as the cut moves on, all only when nothing is cut. */
		size_t n = profile__sample_count(q);
		assert_int_equal(n % 5, 0);
		assert_true(n >= prev_samples);
		assert_int_equal(n == 50, cut == len);
		prev_samples = n;
		profile__free(q);
	}
	free(buf);
	profile__free(p);
}

/* A flipped bit fails the chunk's checksum: it and what follows are skipped. */
static void test_smolder_damaged_chunk_stops_reading(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	size_t len;
	unsigned char *buf = encode(p, 10, &len);

	for (size_t pos = 24; pos < len; pos += 3) {
		struct profile *q = profile__new();
		struct profile_read_stats rs;
		buf[pos] ^= 0x10;
		int err = profile__decode(q, buf, len, NULL, &rs);
		buf[pos] ^= 0x10;
		assert_int_equal(err, 0);
		assert_true(rs.torn_bytes > 0 || profile__sample_count(q) == 50);
		assert_true(profile__sample_count(q) % 10 == 0);
		profile__free(q);
	}
	free(buf);
	profile__free(p);
}

static void test_smolder_rejects_other_files_and_versions(void **state)
{
	(void)state;
	struct profile *p = make_profile(), *q = profile__new();
	size_t len;
	unsigned char *buf = encode(p, 0, &len);
	const char *folded = "a;b 1\n";

	assert_int_equal(profile__decode(q, folded, strlen(folded), NULL, NULL), -EINVAL);
	assert_int_equal(profile__detect_format(folded, strlen(folded)), PROFILE_FORMAT_FOLDED);
	/* This reader knows major versions 1 and 2: neither 3 nor 0 is read. */
	assert_int_equal(buf[16], 2);
	buf[16] = 3;
	assert_int_equal(profile__decode(q, buf, len, NULL, NULL), -EINVAL);
	buf[16] = 0;
	assert_int_equal(profile__decode(q, buf, len, NULL, NULL), -EINVAL);
	assert_int_equal(profile__sample_count(q), 0);
	free(buf);
	profile__free(p);
	profile__free(q);
}

static void test_filters_select_samples(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	struct profile *q;
	struct profile_label want[] = { { "container_id", "c0ffee" } };
	struct profile_label by_tid[] = { { "tid", "201" } };
	uint64_t t0 = 1795000000000000000ull;
	size_t len;
	unsigned char *buf = encode(p, 0, &len);

	struct {
		struct profile_filter f;
		size_t samples;
	} cases[] = {
		{ { .service = "api" }, 25 },
		{ { .service = "nope" }, 0 },
		{ { .pid = 100 }, 25 },
		{ { .comm = "app" }, 25 },
		{ { .labels = want, .nlabels = 1 }, 25 },
		{ { .labels = by_tid, .nlabels = 1 }, 17 },
		{ { .from_ns = t0 + 1000000000ull }, 40 },
		{ { .from_ns = t0, .to_ns = t0 + 500000000ull }, 5 },
		{ { .service = "api", .from_ns = t0 + 1000000000ull, .to_ns = t0 + 2000000000ull }, 5 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = profile__new();
		assert_int_equal(profile__merge(q, p, &cases[i].f), 0);
		assert_int_equal(profile__sample_count(q), cases[i].samples);
		profile__free(q);
		/* The file reader applies the same filter while decoding. */
		q = profile__new();
		assert_int_equal(profile__decode(q, buf, len, &cases[i].f, NULL), 0);
		assert_int_equal(profile__sample_count(q), cases[i].samples);
		profile__free(q);
	}
	free(buf);
	profile__free(p);
}

static void test_labels_are_interned_sorted_and_deduplicated(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	struct profile_label a[] = { { "service", "x" }, { "pid_ns", "1" }, { "service", "y" } };
	struct profile_label b[] = { { "pid_ns", "1" }, { "service", "y" }, { "unit", "" } };
	struct profile_label l;
	uint32_t ia, ib, ie;

	assert_int_equal(profile__intern_labels(p, a, 3, &ia), 0);
	assert_int_equal(profile__intern_labels(p, b, 3, &ib), 0);
	assert_int_equal(profile__intern_labels(p, NULL, 0, &ie), 0);
	assert_int_equal(ia, ib);
	assert_int_equal(ie, 0);
	assert_int_equal(profile__label_set_len(p, ia), 2);
	assert_int_equal(profile__label_set_get(p, ia, 0, &l), 0);
	assert_string_equal(l.key, "pid_ns");
	assert_string_equal(profile__label_value(p, ia, "service"), "y");
	assert_null(profile__label_value(p, ia, "unit"));
	assert_int_equal(profile__label_set_get(p, ia, 2, &l), -EINVAL);
	profile__free(p);
}

static void test_parse_time_formats(void **state)
{
	(void)state;
	uint64_t now = 1795000000ull * 1000000000ull, t;

	assert_int_equal(profile__parse_time("2026-11-23T15:04:05Z", now, &t), 0);
	assert_int_equal(t, 1795446245ull * 1000000000ull);
	assert_int_equal(profile__parse_time("2026-11-23T16:04:05.5+01:00", now, &t), 0);
	assert_int_equal(t, 1795446245ull * 1000000000ull + 500000000ull);
	assert_int_equal(profile__parse_time("1795446245", now, &t), 0);
	assert_int_equal(t, 1795446245ull * 1000000000ull);
	assert_int_equal(profile__parse_time("now", now, &t), 0);
	assert_int_equal(t, now);
	assert_int_equal(profile__parse_time("-15m", now, &t), 0);
	assert_int_equal(t, now - 900ull * 1000000000ull);
	assert_int_equal(profile__parse_time("-2h", now, &t), 0);
	assert_int_equal(t, now - 7200ull * 1000000000ull);
	const char *bad[] = { "", "yesterday", "-15", "-15x", "2026-13-01T00:00:00Z",
			      "2026-11-23T15:04:05", "12abc", "-99999999999999999999h" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(profile__parse_time(bad[i], now, &t), -EINVAL);
	char buf[40];
	profile__format_time(1795446245ull * 1000000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T15:04:05Z");
}

static void test_pprof_round_trip_keeps_stacks_labels_and_mappings(void **state)
{
	(void)state;
	struct profile *p = make_profile(), *q = profile__new();
	size_t len;
	unsigned char *buf = pprof_bytes(p, &len);

	assert_true(len > 2 && buf[0] == 0x1f && buf[1] == 0x8b);
	assert_int_equal(profile__detect_format(buf, len), PROFILE_FORMAT_PPROF);
	assert_int_equal(profile__decode_pprof(q, buf, len, NULL), 0);
	/* Folded output (stacks, kinds, comm, weights) is the same. */
	char *x = folded_text(p), *y = folded_text(q);
	assert_string_equal(x, y);
	free(x);
	free(y);
	assert_int_equal(profile__total_weight(q), profile__total_weight(p));

	struct profile_info info;
	profile__info(q, &info);
	assert_int_equal(info.period_ns, 10101010);
	assert_int_equal(info.start_ns, 1795000000000000000ull);
	assert_int_equal(info.end_ns, 1795000010000000000ull);

	/* Labels, pid and the mapping with its build-id come back. */
	struct profile_filter api = { .service = "api", .pid = 101 };
	struct profile *r = profile__new();
	assert_int_equal(profile__merge(r, q, &api), 0);
	/* Odd samples: weights 2 (i = 1 mod 4, 13 of them) and 4 (12 of them). */
	assert_int_equal(profile__total_weight(r), 13 * 2 + 12 * 4);
	profile__free(r);
	bool found = false;
	for (uint32_t i = 0; i < profile__frame_count(q); i++) {
		struct profile_frame_info fi;
		struct profile_mapping m;
		profile__frame_info(q, i, &fi);
		if (!strcmp(fi.name, "__memcpy_avx_unaligned")) {
			assert_int_equal(profile__mapping(q, fi.mapping, &m), 0);
			assert_string_equal(m.build_id, "0123456789abcdef0123456789abcdef01234567");
			assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
			assert_int_equal(fi.address, 0x1a2b3c);
			found = true;
		}
		if (!strcmp(fi.name, "main"))
			assert_string_equal(fi.file, "/src/app/main.c");
	}
	assert_true(found);
	free(buf);
	profile__free(p);
	profile__free(q);
}

static void test_pprof_reader_rejects_garbage(void **state)
{
	(void)state;
	struct profile *p = make_profile(), *q = profile__new();
	size_t len;
	unsigned char *buf = pprof_bytes(p, &len);

	/* Truncated gzip stream. */
	assert_int_equal(profile__decode_pprof(q, buf, len / 2, NULL), -EINVAL);
	/* Not protobuf at all. */
	const unsigned char junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f };
	assert_int_equal(profile__decode_pprof(q, junk, sizeof(junk), NULL), -EINVAL);
	free(buf);
	profile__free(p);
	profile__free(q);
}

/* Folded output of a labelled profile matches the checked-in golden file. */
static void test_folded_golden(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	char *text = folded_text(p);
	FILE *f;
	char want[4096] = { 0 };

	if (getenv("SMOLDER_UPDATE_GOLDEN")) {
		FILE *w = fopen(GOLDEN_FOLDED, "we");
		assert_non_null(w);
		fputs(text, w);
		fclose(w);
	}
	f = fopen(GOLDEN_FOLDED, "re");
	assert_non_null(f);
	size_t n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = '\0';
	assert_string_equal(text, want);
	free(text);
	profile__free(p);
}

static void test_load_tells_formats_apart_by_content(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	char dir[] = "/tmp/smolder-load.XXXXXX";
	char path[3][64];
	enum profile_format want[3] = { PROFILE_FORMAT_SMOLDER, PROFILE_FORMAT_PPROF,
					PROFILE_FORMAT_FOLDED };

	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 3; i++) {
		/* Misleading names: the content decides. */
		snprintf(path[i], sizeof(path[i]), "%s/profile%d.txt", dir, i);
		FILE *f = fopen(path[i], "we");
		assert_non_null(f);
		int err = i == 0 ? profile__write_file(p, f, 0)
			  : i == 1 ? profile__write_pprof(p, f)
				   : profile__write_folded(p, f);
		assert_int_equal(err, 0);
		fclose(f);
	}
	char *ref = folded_text(p);
	for (int i = 0; i < 3; i++) {
		struct profile *q = profile__new();
		enum profile_format fmt;
		assert_int_equal(profile__load(q, path[i], NULL, &fmt, NULL, NULL), 0);
		assert_int_equal(fmt, want[i]);
		char *got = folded_text(q);
		assert_string_equal(got, ref);
		free(got);
		profile__free(q);
		unlink(path[i]);
	}
	rmdir(dir);
	free(ref);
	profile__free(p);
}

/* A failed write says why (a full disk here), whatever the format. */
static void test_writers_report_the_write_error(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	FILE *full = fopen("/dev/full", "we");

	if (!full) {
		profile__free(p);
		skip();
	}
	assert_int_equal(profile__write_file(p, full, 0), -ENOSPC);
	clearerr(full);
	assert_int_equal(profile__write_pprof(p, full), -ENOSPC);
	clearerr(full);
	assert_int_equal(profile__write_folded(p, full), -ENOSPC);
	fclose(full);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smolder_file_round_trip_keeps_everything),
		cmocka_unit_test(test_smolder_empty_profile_round_trips),
		cmocka_unit_test(test_smolder_file_round_trip_keeps_python_frames),
		cmocka_unit_test(test_pprof_round_trip_keeps_python_frames),
		cmocka_unit_test(test_smolder_torn_tail_is_skipped),
		cmocka_unit_test(test_smolder_damaged_chunk_stops_reading),
		cmocka_unit_test(test_smolder_rejects_other_files_and_versions),
		cmocka_unit_test(test_filters_select_samples),
		cmocka_unit_test(test_labels_are_interned_sorted_and_deduplicated),
		cmocka_unit_test(test_parse_time_formats),
		cmocka_unit_test(test_pprof_round_trip_keeps_stacks_labels_and_mappings),
		cmocka_unit_test(test_pprof_reader_rejects_garbage),
		cmocka_unit_test(test_folded_golden),
		cmocka_unit_test(test_load_tells_formats_apart_by_content),
		cmocka_unit_test(test_writers_report_the_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
