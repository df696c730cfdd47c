/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_info.c - `smolder info FILE|DIR`: summarise a profile file (any format) or a
 * store: time range, samples, lost/truncated, processes, top functions; for a store
 * also its segments, bytes on disk and bytes per sample, and its deploys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "profile.h"
#include "store.h"
#include "vec.h"

#define TOP_N 10

static const char info_usage[] = "usage: smolder info FILE|DIR\n"
				 "  FILE  a smolder profile, folded stacks or gzip pprof\n"
				 "  DIR   a profile store\n";

struct tally {
	const char *name; /* function name, or comm for processes */
	int32_t pid;
	uint64_t weight;
};

struct tallies {
	VEC(struct tally);
	int err;
};

/* One entry per sample, merged by sorting afterwards (tally_finish). */
static void tally_add(struct tallies *t, const char *name, int32_t pid, uint64_t w)
{
	if (!t->err)
		t->err = VEC_PUSH(*t, ((struct tally){ name, pid, w }));
}

static int cmp_key(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_weight(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return cmp_key(a, b);
}

/* Merge equal keys, then order by weight. */
static void tally_finish(struct tallies *t)
{
	size_t w = 0;

	if (!t->len)
		return;
	qsort(t->v, t->len, sizeof(*t->v), cmp_key);
	for (size_t i = 1; i < t->len; i++) {
		if (!cmp_key(&t->v[w], &t->v[i]))
			t->v[w].weight += t->v[i].weight;
		else
			t->v[++w] = t->v[i];
	}
	t->len = w + 1;
	qsort(t->v, t->len, sizeof(*t->v), cmp_weight);
}

struct summary {
	const struct profile *p;
	struct tallies funcs, procs;
};

static int sum_sample(const struct profile_sample *s, void *ctx)
{
	struct summary *sm = ctx;
	const char *leaf = s->nframes ? profile__frame_name(sm->p, s->frames[s->nframes - 1])
				      : "[no frames]";
	tally_add(&sm->funcs, leaf, 0, s->weight);
	tally_add(&sm->procs, s->comm, s->pid, s->weight);
	return sm->funcs.err ? sm->funcs.err : sm->procs.err;
}

static int print_summary(const struct profile *p)
{
	struct summary sm = { .p = p };
	struct profile_info info;
	const struct profile_counts *c = profile__counts(p);
	uint64_t total = profile__total_weight(p);
	char a[40], b[40];
	int err;

	profile__info(p, &info);
	if (info.start_ns) {
		profile__format_time(info.start_ns, a, sizeof(a));
		profile__format_time(info.end_ns, b, sizeof(b));
		printf("time range:  %s .. %s (%.1f s)\n", a, b,
		       (double)(info.end_ns - info.start_ns) / 1e9);
	} else {
		printf("time range:  unknown (no timestamps)\n");
	}
	if (info.period_ns)
		printf("sampling:    %.0f Hz (period %llu ns)\n", 1e9 / (double)info.period_ns,
		       (unsigned long long)info.period_ns);
	printf("samples:     %zu (total weight %llu), %zu distinct stacks, %zu frames\n",
	       profile__sample_count(p), (unsigned long long)total, profile__stack_count(p),
	       profile__frame_count(p));
	printf("lost:        %llu\ntruncated:   %llu\n", (unsigned long long)c->lost,
	       (unsigned long long)c->truncated);
	err = profile__for_each_sample(p, sum_sample, &sm);
	if (err)
		goto cleanup;
	tally_finish(&sm.procs);
	tally_finish(&sm.funcs);
	printf("processes:   %zu\n", sm.procs.len);
	for (size_t i = 0; i < sm.procs.len && i < TOP_N; i++) {
		char pid[16] = "-";
		if (sm.procs.v[i].pid)
			snprintf(pid, sizeof(pid), "%d", sm.procs.v[i].pid);
		printf("  %6.2f%%  %10llu  pid %-8s %s\n",
		       total ? 100.0 * (double)sm.procs.v[i].weight / (double)total : 0.0,
		       (unsigned long long)sm.procs.v[i].weight, pid, sm.procs.v[i].name);
	}
	printf("top functions (self):\n");
	for (size_t i = 0; i < sm.funcs.len && i < TOP_N; i++)
		printf("  %6.2f%%  %10llu  %s\n",
		       total ? 100.0 * (double)sm.funcs.v[i].weight / (double)total : 0.0,
		       (unsigned long long)sm.funcs.v[i].weight, sm.funcs.v[i].name);
cleanup:
	VEC_FREE(sm.funcs);
	VEC_FREE(sm.procs);
	return err;
}

struct seg_sum {
	size_t segments, open;
	uint64_t bytes;
};

static int sum_segment(const struct store_segment *seg, void *ctx)
{
	struct seg_sum *ss = ctx;
	ss->segments++;
	ss->open += !seg->sealed;
	ss->bytes += seg->bytes;
	return 0;
}

static int count_deploy(const struct deploy_event *ev, void *ctx)
{
	char when[40];
	size_t *n = ctx;
	if ((*n)++ < TOP_N) {
		profile__format_time(ev->time_ns, when, sizeof(when));
		printf("  %s  %s %s\n", when, ev->service, ev->version);
	}
	return 0;
}

static int info_store(const char *dir, struct profile *p)
{
	struct store_opts so = { .read_only = true };
	struct store_query_stats qs = { 0 };
	struct seg_sum ss = { 0 };
	struct store *s = store__open(dir, &so);
	size_t deploys = 0, skipped = 0;
	int err;

	if (!s) {
		cli_error("cannot open store %s: %s", dir, strerror(errno));
		return -errno;
	}
	err = store__for_each_segment(s, sum_segment, &ss);
	if (!err)
		err = store__query(s, NULL, p, &qs);
	store__close(s);
	if (err) {
		cli_error("cannot read store %s: %s", dir, strerror(-err));
		return err;
	}
	printf("store:       %s\n", dir);
	printf("segments:    %zu (%zu open), %llu bytes on disk", ss.segments, ss.open,
	       (unsigned long long)ss.bytes);
	if (profile__sample_count(p))
		printf(", %.2f bytes/sample", (double)ss.bytes / (double)profile__sample_count(p));
	printf("\n");
	if (qs.torn_bytes)
		printf("torn tails:  %llu bytes skipped (unflushed writes of a crashed writer)\n",
		       (unsigned long long)qs.torn_bytes);
	printf("deploys:\n");
	err = store__for_each_deploy(dir, 0, 0, NULL, count_deploy, &deploys, &skipped);
	if (deploys > TOP_N)
		printf("  ... %zu in all\n", deploys);
	if (skipped)
		printf("  (%zu malformed lines skipped)\n", skipped);
	return print_summary(p);
}

static int info_file(const char *path, struct profile *p)
{
	struct profile_read_stats rs = { 0 };
	enum profile_format fmt = PROFILE_FORMAT_NONE;
	size_t bad = 0;
	int err = profile__load(p, path, NULL, &fmt, &rs, &bad);
	static const char *const names[] = {
		[PROFILE_FORMAT_NONE] = "unknown",
		[PROFILE_FORMAT_SVG] = "svg",
		[PROFILE_FORMAT_FOLDED] = "folded",
		[PROFILE_FORMAT_PPROF] = "pprof (gzip)",
		[PROFILE_FORMAT_SMOLDER] = "smolder",
	};

	if (err == -EINVAL && bad)
		cli_error("%s:%zu: not a profile (not smolder, pprof or folded stacks)", path, bad);
	else if (err == -EINVAL)
		cli_error("cannot read %s: malformed profile (damaged smolder or pprof file)", path);
	else if (err)
		cli_error("cannot read %s: %s", path, strerror(-err));
	if (err)
		return err;
	printf("file:        %s (%s", path, names[fmt]);
	if (fmt == PROFILE_FORMAT_SMOLDER) {
		printf(", %zu chunks, %llu bytes", rs.chunks,
		       (unsigned long long)(rs.valid_bytes + rs.torn_bytes));
		if (profile__sample_count(p))
			printf(", %.2f bytes/sample",
			       (double)(rs.valid_bytes + rs.torn_bytes) / (double)profile__sample_count(p));
		if (rs.torn_bytes)
			printf(", torn tail of %llu bytes skipped", (unsigned long long)rs.torn_bytes);
	}
	printf(")\n");
	return print_summary(p);
}

int cmd_info(int argc, char **argv)
{
	struct profile *p;
	struct stat st;
	int err;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(info_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 2) {
		cli_error("info needs exactly one FILE or store DIR (see 'smolder info --help')");
		return EXIT_USAGE;
	}
	p = profile__new();
	if (!p) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode))
		err = info_store(argv[1], p);
	else
		err = info_file(argv[1], p);
	profile__free(p);
	if (!err && (fflush(stdout) == EOF || ferror(stdout))) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		err = -EIO;
	}
	return err ? EXIT_FAIL : EXIT_OK;
}
