/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile_agg.c - samples aggregated as they are added (one record per stack,
 * thread, label set and 10 ms bucket), the .smolder 2.0 encoding of those records
 * against gzip pprof of the same samples, times kept to 10 ms through a round trip and
 * by filters, and 1.0 files still read.
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

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (1795000000ull * SEC)

/* ---- a system-wide capture, as record -a -F 199 -d 5 makes one ---- */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

struct proc {
	const char *comm, *exe, *module; /* module: the name of exe's functions */
	int pid, nthreads, npaths, nleaves;
};

/* What the generator added, sample by sample, told by text rather than by ids: what a
 * profile read back must still hold. */
struct expected {
	char **lines; /* "BUCKET PID TID COMM STACK" */
	size_t n;
};

static void note_sample(struct expected *e, const struct profile *p, const uint32_t *f,
			size_t n, const struct sample_meta *m)
{
	char line[2048];
	int len = snprintf(line, sizeof(line), "%llu %d %d %s ",
			   (unsigned long long)(m->time_ns / (10 * MS)), m->pid, m->tid, m->comm);

	for (size_t i = 0; i < n; i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s;",
				profile__frame_name(p, f[i]));
	assert_true(len < (int)sizeof(line));
	e->lines = realloc(e->lines, (e->n + 1) * sizeof(*e->lines));
	assert_non_null(e->lines);
	e->lines[e->n] = strdup(line);
	assert_non_null(e->lines[e->n]);
	e->n++;
}

/*
 * Five seconds at 199 Hz on 2 CPUs: three busy processes (a shell loop, sha256sum,
 * awk) share the CPUs, a kworker and sshd take a few percent. Each busy process has
 * a handful of call paths and a few dozen leaf addresses in its stripped executable
 * (unresolved frames), skewed the way a hot loop is; now and then the timer interrupt
 * is on top. Sample times carry the jitter of a real timer.
 */
static void capture(struct profile *p, struct expected *e)
{
	static const struct proc procs[] = {
		{ "sh", "/usr/bin/dash", "dash", 7083, 1, 6, 60 },
		{ "sha256sum", "/usr/bin/sha256sum", "sha256sum", 7085, 1, 3, 25 },
		{ "awk", "/usr/bin/mawk", "mawk", 7087, 1, 5, 45 },
		{ "kworker/1:2", "", "", 4242, 1, 1, 6 },
		{ "sshd", "/usr/sbin/sshd", "sshd", 911, 2, 4, 12 },
	};
	static const char *const irq[] = { "asm_sysvec_apic_timer_interrupt",
					   "sysvec_apic_timer_interrupt",
					   "__sysvec_apic_timer_interrupt", "hrtimer_interrupt",
					   "__hrtimer_run_queues", "tick_sched_timer" };
	const uint64_t period = SEC / 199;
	struct rng r = { 0x9e3779b97f4a7c15ull };
	uint32_t f[64], start, libc_start, main_fn;
	char name[128];

	assert_int_equal(profile__intern_frame(p, "_start", FRAME_USER, &start), 0);
	assert_int_equal(profile__intern_frame(p, "__libc_start_main", FRAME_USER, &libc_start), 0);
	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &main_fn), 0);
	for (int cpu = 0; cpu < 2; cpu++) {
		for (uint64_t tick = 0; tick < 5 * 199; tick++) {
			uint64_t x = rng_next(&r);
			int pi = x % 100 < 4 ? 3 + (int)(x % 2) : (int)((x >> 8) % 3);
			const struct proc *pr = &procs[pi];
			struct profile_label labels[] = { { "exe", pr->exe },
							  { "service", pr->comm },
							  { "unit", "session-3.scope" } };
			struct sample_meta m = {
				.time_ns = T0 + tick * period + (uint64_t)cpu * 1234567 +
					   (x >> 20) % 40000,
				.pid = pr->pid,
				.tid = pr->pid + (int)((x >> 30) % (uint64_t)pr->nthreads),
				.comm = pr->comm,
				.labels = labels,
				.nlabels = 3,
			};
			size_t n = 0;

			if (pr->exe[0]) {
				unsigned c = (unsigned)((x >> 12) % (uint64_t)pr->npaths);
				unsigned leaf = (unsigned)((x >> 40) % (uint64_t)pr->nleaves);

				c = c * c / (unsigned)pr->npaths;
				leaf = leaf * leaf / (unsigned)pr->nleaves;
				f[n++] = start;
				f[n++] = libc_start;
				f[n++] = main_fn;
				for (unsigned d = 0; d < 3 + c % 4; d++) {
					snprintf(name, sizeof(name), "%s_fn%u_%u", pr->module, c,
						 d);
					assert_int_equal(profile__intern_frame(p, name,
									       FRAME_USER,
									       &f[n++]), 0);
				}
				struct profile_mapping exe = { .path = pr->exe };
				uint32_t mapping;
				assert_int_equal(profile__intern_mapping(p, &exe, &mapping), 0);
				assert_int_equal(profile__intern_unresolved(p, mapping,
									    0x4000 + leaf * 0x3b,
									    &f[n++]), 0);
			}
			if (!pr->exe[0] || (x >> 50) % 8 == 0)
				for (size_t k = 0; k < 6; k++)
					assert_int_equal(profile__intern_frame(p, irq[k],
									       FRAME_KERNEL,
									       &f[n++]), 0);
			assert_int_equal(profile__add_sample(p, f, n, &m, 1), 0);
			if (e)
				note_sample(e, p, f, n, &m);
		}
	}
	struct profile_info info = { period, T0, T0 + 5 * SEC };
	profile__set_info(p, &info);
}

static void expected_free(struct expected *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "LINE COUNT" for every distinct line of @e, sorted, in one string. */
static char *expected_counts(struct expected *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	qsort(e->lines, e->n, sizeof(*e->lines), cmp_str);
	for (size_t i = 0, j; i < e->n; i = j) {
		for (j = i + 1; j < e->n && !strcmp(e->lines[i], e->lines[j]); j++)
			;
		fprintf(out, "%s %zu\n", e->lines[i], j - i);
	}
	fclose(out);
	return buf;
}

struct collect {
	const struct profile *p;
	struct expected e;
	size_t records;
};

/* The records of a profile as the same lines, each repeated count times; checks that
 * every record's time is its bucket's start. */
static int collect_record(const struct profile_sample *s, void *ctx)
{
	struct collect *c = ctx;
	struct sample_meta m = { .time_ns = s->time_ns, .pid = s->pid, .tid = s->tid,
				 .comm = s->comm };

	assert_int_equal(s->time_ns % (10 * MS), 0);
	assert_true(s->count >= 1);
	assert_int_equal(s->weight, s->count);
	for (uint64_t i = 0; i < s->count; i++)
		note_sample(&c->e, c->p, s->frames, s->nframes, &m);
	c->records++;
	return 0;
}

static char *record_counts(const struct profile *p, size_t *records)
{
	struct collect c = { .p = p };
	char *text;

	assert_int_equal(profile__for_each_sample(p, collect_record, &c), 0);
	text = expected_counts(&c.e);
	expected_free(&c.e);
	if (records)
		*records = c.records;
	return text;
}

static unsigned char *write_smolder(const struct profile *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(profile__write_file(p, f, 0), 0);
	fclose(f);
	return (unsigned char *)buf;
}

static unsigned char *write_pprof(const struct profile *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(profile__write_pprof(p, f), 0);
	fclose(f);
	return (unsigned char *)buf;
}

/* ---- tests ---- */

static void test_samples_aggregate_per_series_and_bucket(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	struct profile_label l[] = { { "service", "api" } };
	uint32_t f[2];

	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &f[0]), 0);
	assert_int_equal(profile__intern_frame(p, "work", FRAME_USER, &f[1]), 0);
	/* 1000 samples of one thread and stack within 10 ms: one record. */
	for (int i = 0; i < 1000; i++) {
		struct sample_meta m = { .time_ns = T0 + 20 * MS + (uint64_t)i * 9000, .pid = 5,
					 .tid = 6, .comm = "app", .labels = l, .nlabels = 1 };
		assert_int_equal(profile__add_sample(p, f, 2, &m, 1), 0);
	}
	assert_int_equal(profile__record_count(p), 1);
	assert_int_equal(profile__sample_count(p), 1000);
	assert_int_equal(profile__total_weight(p), 1000);

	/* Another bucket, thread, stack, comm or label set each make a record of their own. */
	struct sample_meta next_bucket = { .time_ns = T0 + 30 * MS, .pid = 5, .tid = 6,
					   .comm = "app", .labels = l, .nlabels = 1 };
	struct sample_meta other_tid = { .time_ns = T0 + 25 * MS, .pid = 5, .tid = 7,
					 .comm = "app", .labels = l, .nlabels = 1 };
	struct sample_meta other_comm = { .time_ns = T0 + 25 * MS, .pid = 5, .tid = 6,
					  .comm = "app2", .labels = l, .nlabels = 1 };
	struct sample_meta no_labels = { .time_ns = T0 + 25 * MS, .pid = 5, .tid = 6,
					 .comm = "app" };
	assert_int_equal(profile__add_sample(p, f, 2, &next_bucket, 1), 0);
	assert_int_equal(profile__add_sample(p, f, 2, &other_tid, 1), 0);
	assert_int_equal(profile__add_sample(p, f, 2, &other_comm, 1), 0);
	assert_int_equal(profile__add_sample(p, f, 2, &no_labels, 1), 0);
	assert_int_equal(profile__add_sample(p, f, 1, &next_bucket, 4), 0);
	assert_int_equal(profile__record_count(p), 6);
	assert_int_equal(profile__sample_count(p), 1005);
	assert_int_equal(profile__total_weight(p), 1008);

	/* Unknown times stay unknown; a time in the first bucket after the epoch stays
	 * known (bucket 1). */
	struct sample_meta unknown = { .comm = "app" }, early = { .time_ns = 3, .comm = "app" };
	assert_int_equal(profile__add_sample(p, f, 2, &unknown, 1), 0);
	assert_int_equal(profile__add_sample(p, f, 2, &unknown, 1), 0);
	assert_int_equal(profile__add_sample(p, f, 2, &early, 1), 0);
	assert_int_equal(profile__record_count(p), 8);
	profile__free(p);
}

/* Adding the same samples again and again, bucket after bucket, grows the profile by
 * one record per (series, bucket), whatever the number of samples. */
static void test_records_grow_with_buckets_not_samples(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t f;

	assert_int_equal(profile__intern_frame(p, "spin", FRAME_USER, &f), 0);
	for (uint64_t b = 0; b < 100; b++)
		for (int i = 0; i < 200; i++) {
			struct sample_meta m = { .time_ns = T0 + b * 10 * MS + (uint64_t)i * 1000,
						 .pid = 1 + i % 2, .tid = 1 + i % 2,
						 .comm = "spin" };
			assert_int_equal(profile__add_sample(p, &f, 1, &m, 1), 0);
		}
	assert_int_equal(profile__sample_count(p), 20000);
	assert_int_equal(profile__record_count(p), 200);
	assert_int_equal(profile__stack_count(p), 1);
	profile__free(p);
}

#define NBUCKETS 12000 /* two minutes of 10 ms buckets: far beyond the index's window */
#define NTHREADS 8

struct exact {
	uint32_t want[NBUCKETS][NTHREADS];
	size_t bad;
};

static int check_record(const struct profile_sample *s, void *ctx)
{
	struct exact *e = ctx;
	uint64_t b = (s->time_ns - T0) / (10 * MS);

	if (s->time_ns < T0 || b >= NBUCKETS || s->tid < 1 || s->tid > NTHREADS ||
	    s->count != e->want[b][s->tid - 1])
		e->bad++;
	return 0;
}

/* One record per (series, bucket) whatever the order samples come in: in time order
 * for two minutes, then again at random times long past, then merged in twice. */
static void test_aggregation_is_exact_in_any_order(void **state)
{
	(void)state;
	struct profile *p = profile__new(), *q = profile__new();
	struct exact *e = calloc(1, sizeof(*e));
	struct rng r = { 0x1234567887654321ull };
	uint32_t fr;

	assert_non_null(e);
	assert_int_equal(profile__intern_frame(p, "spin", FRAME_USER, &fr), 0);
	for (uint64_t b = 0; b < NBUCKETS; b++)
		for (int t = 0; t < NTHREADS; t++) {
			struct sample_meta m = {
				.time_ns = T0 + b * 10 * MS + rng_next(&r) % (10 * MS),
				.pid = 1, .tid = 1 + t, .comm = "spin",
			};
			assert_int_equal(profile__add_sample(p, &fr, 1, &m, 1), 0);
			e->want[b][t]++;
		}
	for (int i = 0; i < 20000; i++) {
		uint64_t x = rng_next(&r), b = x % NBUCKETS;
		int t = (int)((x >> 32) % NTHREADS);
		struct sample_meta m = { .time_ns = T0 + b * 10 * MS + (x >> 40) % (10 * MS),
					 .pid = 1, .tid = 1 + t, .comm = "spin" };
		assert_int_equal(profile__add_sample(p, &fr, 1, &m, 1), 0);
		e->want[b][t]++;
	}
	assert_int_equal(profile__record_count(p), NBUCKETS * NTHREADS);
	assert_int_equal(profile__sample_count(p), NBUCKETS * NTHREADS + 20000);
	assert_int_equal(profile__for_each_sample(p, check_record, e), 0);
	assert_int_equal(e->bad, 0);

	assert_int_equal(profile__merge(q, p, NULL), 0);
	assert_int_equal(profile__merge(q, p, NULL), 0);
	for (uint64_t b = 0; b < NBUCKETS; b++)
		for (int t = 0; t < NTHREADS; t++)
			e->want[b][t] *= 2;
	assert_int_equal(profile__record_count(q), NBUCKETS * NTHREADS);
	assert_int_equal(profile__for_each_sample(q, check_record, e), 0);
	assert_int_equal(e->bad, 0);
	free(e);
	profile__free(p);
	profile__free(q);
}

/* The 1.0 format was 2.5 times the size of gzip pprof on such a capture; 2.0 must be
 * no larger, while it keeps every sample's time to 10 ms and pprof keeps none. */
static void test_smolder_no_larger_than_gzip_pprof(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	struct expected e = { 0 };
	size_t slen, plen;

	capture(p, &e);
	assert_int_equal(profile__sample_count(p), 2 * 5 * 199);
	unsigned char *s = write_smolder(p, &slen);
	unsigned char *g = write_pprof(p, &plen);
	assert_true(plen > 2 && g[0] == 0x1f && g[1] == 0x8b); /* pprof is gzip'd */
	print_message(".smolder %zu bytes, gzip pprof %zu bytes (%.2fx), %zu samples in %zu "
		      "records, %zu stacks\n", slen, plen, (double)slen / (double)plen,
		      profile__sample_count(p), profile__record_count(p), profile__stack_count(p));
	assert_true(slen <= plen);
	free(s);
	free(g);
	expected_free(&e);
	profile__free(p);
}

/* Read back, every (stack, thread, 10 ms bucket) has the samples the generator added,
 * told by text and counted by the test, not by the profile. */
static void test_round_trip_keeps_counts_per_stack_and_times_to_10ms(void **state)
{
	(void)state;
	struct profile *p = profile__new(), *q = profile__new();
	struct expected e = { 0 };
	struct profile_read_stats rs;
	size_t len, records;

	capture(p, &e);
	char *want = expected_counts(&e);
	unsigned char *buf = write_smolder(p, &len);

	assert_int_equal(profile__decode(q, buf, len, NULL, &rs), 0);
	assert_int_equal(rs.torn_bytes, 0);
	char *got = record_counts(q, &records);
	assert_string_equal(got, want);
	assert_int_equal(records, profile__record_count(p));
	assert_int_equal(profile__sample_count(q), e.n);
	free(got);
	got = record_counts(p, NULL);
	assert_string_equal(got, want);
	free(got);
	char *a = folded_text(p), *b = folded_text(q);
	assert_string_equal(a, b);
	free(a);
	free(b);

	/* The same, written in many small chunks (next ids across chunk boundaries). */
	profile__free(q);
	q = profile__new();
	char *mbuf = NULL;
	size_t mlen = 0;
	FILE *f = open_memstream(&mbuf, &mlen);
	assert_non_null(f);
	assert_int_equal(profile__write_file(p, f, 37), 0);
	fclose(f);
	assert_int_equal(profile__decode(q, mbuf, mlen, NULL, &rs), 0);
	assert_true(rs.chunks > 10);
	got = record_counts(q, NULL);
	assert_string_equal(got, want);
	free(got);
	free(mbuf);

	free(want);
	free(buf);
	expected_free(&e);
	profile__free(p);
	profile__free(q);
}

/* --from/--to select 10 ms buckets: a sample 3 ms into one is in a range that starts
 * at the bucket, not in one that starts 10 ms later. */
static void test_time_filter_to_10ms(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t fr;
	size_t len;

	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &fr), 0);
	for (int i = 0; i < 30; i++) {
		/* Three samples at 3, 13 and 27 ms into each second. */
		static const uint64_t at[] = { 3 * MS, 13 * MS, 27 * MS };
		struct sample_meta m = { .time_ns = T0 + (uint64_t)(i / 3) * SEC + at[i % 3],
					 .pid = 1, .tid = 1, .comm = "x" };
		assert_int_equal(profile__add_sample(p, &fr, 1, &m, 1), 0);
	}
	unsigned char *buf = write_smolder(p, &len);
	struct {
		struct profile_filter f;
		size_t samples;
	} cases[] = {
		{ { .from_ns = T0, .to_ns = T0 + 10 * MS }, 1 },
		{ { .from_ns = T0 + 10 * MS, .to_ns = T0 + 20 * MS }, 1 },
		{ { .from_ns = T0 + 20 * MS, .to_ns = T0 + 30 * MS }, 1 },
		{ { .from_ns = T0 + 10 * MS, .to_ns = T0 + 30 * MS }, 2 },
		{ { .from_ns = T0 + 30 * MS, .to_ns = T0 + SEC }, 0 },
		{ { .from_ns = T0 + 5 * SEC + 10 * MS }, 14 },
		{ { .to_ns = T0 + 2 * SEC + 20 * MS }, 8 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct profile *q = profile__new();
		assert_int_equal(profile__merge(q, p, &cases[i].f), 0);
		assert_int_equal(profile__sample_count(q), cases[i].samples);
		profile__free(q);
		q = profile__new();
		assert_int_equal(profile__decode(q, buf, len, &cases[i].f, NULL), 0);
		assert_int_equal(profile__sample_count(q), cases[i].samples);
		profile__free(q);
	}
	free(buf);
	profile__free(p);
}

/* Counts and weights apart from each other (weights from pprof or folded input) and
 * unknown times come back as they were. */
static void test_weights_counts_and_unknown_times_round_trip(void **state)
{
	(void)state;
	struct profile *p = profile__new(), *q = profile__new();
	uint32_t fr;
	size_t len;

	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &fr), 0);
	struct sample_meta a = { .time_ns = T0 + 15 * MS, .pid = 1, .tid = 2, .comm = "a" };
	struct sample_meta none = { .pid = 1, .tid = 2, .comm = "a" };
	assert_int_equal(profile__add_sample(p, &fr, 1, &a, 7), 0);
	assert_int_equal(profile__add_sample(p, &fr, 1, &a, 0), 0);
	assert_int_equal(profile__add_sample(p, &fr, 1, &none, 1u << 30), 0);
	assert_int_equal(profile__add_sample(p, &fr, 1, &a, 1), 0);
	unsigned char *buf = write_smolder(p, &len);
	assert_int_equal(profile__decode(q, buf, len, NULL, NULL), 0);
	assert_int_equal(profile__record_count(q), 2);
	assert_int_equal(profile__sample_count(q), 4);
	assert_int_equal(profile__total_weight(q), 8 + (1u << 30));
	struct profile_filter later = { .from_ns = T0 + 20 * MS };
	struct profile *r = profile__new();
	assert_int_equal(profile__merge(r, q, &later), 0);
	assert_int_equal(profile__sample_count(r), 1); /* time unknown: in any range */
	assert_int_equal(profile__total_weight(r), 1u << 30);
	profile__free(r);
	free(buf);
	profile__free(p);
	profile__free(q);
}

/* A 1.0 file (checked in, written before 2.0) reads back whole, and its samples are
 * aggregated as they are read. */
#define V1_FILE TEST_DATA_DIR "/../fuzz/corpus/profile/labelled.smolder"
static void test_version_1_file_still_reads(void **state)
{
	(void)state;
	struct profile *q = profile__new();
	struct profile_read_stats rs;
	FILE *f = fopen(V1_FILE, "rb");
	unsigned char head[24];
	char want[4096] = { 0 };

	assert_non_null(f);
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	assert_int_equal(head[16], 1); /* major version 1 */
	assert_int_equal(profile__read_file(q, V1_FILE, NULL, &rs), 0);
	assert_int_equal(rs.torn_bytes, 0);
	assert_int_equal(profile__sample_count(q), 50);
	f = fopen(TEST_DATA_DIR "/golden/labelled.folded", "re");
	assert_non_null(f);
	assert_true(fread(want, 1, sizeof(want) - 1, f) > 0);
	fclose(f);
	char *got = folded_text(q);
	assert_string_equal(got, want);
	free(got);
	profile__free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_aggregate_per_series_and_bucket),
		cmocka_unit_test(test_records_grow_with_buckets_not_samples),
		cmocka_unit_test(test_aggregation_is_exact_in_any_order),
		cmocka_unit_test(test_smolder_no_larger_than_gzip_pprof),
		cmocka_unit_test(test_round_trip_keeps_counts_per_stack_and_times_to_10ms),
		cmocka_unit_test(test_time_filter_to_10ms),
		cmocka_unit_test(test_weights_counts_and_unknown_times_round_trip),
		cmocka_unit_test(test_version_1_file_still_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
