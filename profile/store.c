/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the on-disk store (store.h): segments appended chunk by chunk and made
 * durable with fdatasync, sealed with fsync + rename, an advisory index, crash
 * recovery of open segments, retention, and queries that read while a writer appends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "profile_internal.h"
#include "store.h"

#define DEFAULT_PARTITION_NS (3600ull * 1000000000ull)
#define DEFAULT_SEGMENT_BYTES (64ull << 20)
/* Seal early when a segment's tables grow this large: the writer keeps them in memory. */
#define MAX_SEGMENT_TABLE_ITEMS (1u << 20)
#define MAX_SEGMENTS 100000 /* a directory listing bound */
#define NAME_LEN 64
#define INDEX_NAME "index"
#define PART_SUFFIX ".part"

struct seg {
	char name[NAME_LEN];
	uint64_t start_ns, seq;
	uint64_t end_ns, samples; /* from the index; 0 when unknown */
	uint64_t bytes;
	bool sealed;
};

struct store {
	char *dir;
	int dirfd, lockfd;
	struct store_opts opts;
	/* The open segment (writer only). */
	int fd;
	char name[NAME_LEN];
	uint64_t part_start, seq, valid_len, samples, min_ns, max_ns;
	struct profile *dict; /* the segment's tables; samples cleared per append */
	struct chunk_marks marks;
	void *cctx;
	uint64_t next_seq;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "seg-<20 digits>-<6+ digits>.smolder[.part]" -> start, seq, sealed. */
static bool parse_seg_name(const char *name, uint64_t *start, uint64_t *seq, bool *sealed)
{
	unsigned long long a, b;
	int n = 0;

	if (strncmp(name, "seg-", 4) || sscanf(name, "seg-%20llu-%20llu.smolder%n", &a, &b, &n) != 2 ||
	    n == 0)
		return false;
	if (!strcmp(name + n, ""))
		*sealed = true;
	else if (!strcmp(name + n, PART_SUFFIX))
		*sealed = false;
	else
		return false;
	*start = a;
	*seq = b;
	return true;
}

/* An open segment's name (or path) -> the name it has once sealed: cut ".part". */
static void strip_part_suffix(char *name)
{
	name[strlen(name) - strlen(PART_SUFFIX)] = '\0';
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Index lines: "NAME START_NS END_NS SAMPLES BYTES". Unknown or bad lines are ignored:
 * the index only ever saves work. */
static void apply_index(struct store *s, struct seg *segs, size_t n)
{
	int fd = openat(s->dirfd, INDEX_NAME, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	char line[256], name[NAME_LEN];
	unsigned long long start, end, samples, bytes;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t lines = 0; lines < MAX_SEGMENTS && fgets(line, sizeof(line), f); lines++) {
		if (sscanf(line, "%63s %llu %llu %llu %llu", name, &start, &end, &samples,
			   &bytes) != 5)
			continue;
		for (size_t i = 0; i < n; i++)
			if (segs[i].sealed && !strcmp(segs[i].name, name) && segs[i].bytes == bytes) {
				segs[i].end_ns = end;
				segs[i].samples = samples;
			}
	}
	fclose(f);
}

/* List the segments, oldest first, with index facts. */
static int list_segments(struct store *s, struct seg **out, size_t *count)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	VEC(struct seg) segs = { 0 };
	struct dirent *e;
	int err = 0;

	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while ((e = readdir(d))) {
		struct seg sg = { 0 };
		struct stat st;

		if (strlen(e->d_name) >= NAME_LEN ||
		    !parse_seg_name(e->d_name, &sg.start_ns, &sg.seq, &sg.sealed))
			continue;
		if (fstatat(s->dirfd, e->d_name, &st, 0))
			continue; /* deleted or renamed since readdir */
		if (segs.len == MAX_SEGMENTS) {
			err = -E2BIG;
			goto cleanup;
		}
		strcpy(sg.name, e->d_name);
		sg.bytes = (uint64_t)st.st_size;
		err = VEC_PUSH(segs, sg);
		if (err)
			goto cleanup;
	}
	if (segs.len)
		qsort(segs.v, segs.len, sizeof(*segs.v), cmp_seg);
	apply_index(s, segs.v, segs.len);
	*out = segs.v;
	*count = segs.len;
	segs.v = NULL;
cleanup:
	free(segs.v);
	closedir(d);
	return err;
}

/* Rewrite the index from @segs (sealed only) atomically. */
static int write_index(struct store *s, const struct seg *segs, size_t n)
{
	char tmp[NAME_LEN];
	FILE *f = NULL;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), INDEX_NAME ".tmp");
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		if (segs[i].sealed)
			fprintf(f, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", segs[i].name,
				segs[i].start_ns, segs[i].end_ns,
				segs[i].samples, segs[i].bytes);
	if (fflush(f) == EOF || ferror(f) || fsync(fileno(f)))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -EIO;
	if (!err && renameat(s->dirfd, tmp, s->dirfd, INDEX_NAME))
		err = -errno;
	if (!err && fsync(s->dirfd))
		err = -errno;
cleanup:
	if (err)
		unlinkat(s->dirfd, tmp, 0);
	return err;
}

/* Read a whole segment to learn its facts (samples, last time, valid length). */
static int scan_segment(struct store *s, const char *name, struct seg *sg,
			struct profile_read_stats *rs)
{
	char path[PATH_MAX];
	struct profile *p = profile__new();
	struct profile_info info;
	int err;

	if (!p)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	err = profile__read_file(p, path, NULL, rs);
	if (!err) {
		profile__info(p, &info);
		sg->end_ns = info.end_ns ? info.end_ns : sg->start_ns + 1;
		sg->samples = profile__sample_count(p);
	}
	profile__free(p);
	return err;
}

int store__rebuild_index(struct store *s)
{
	struct seg *segs = NULL;
	size_t n = 0;
	int err;

	if (s->opts.read_only)
		return -EROFS;
	err = list_segments(s, &segs, &n);
	for (size_t i = 0; !err && i < n; i++) {
		if (!segs[i].sealed)
			continue;
		err = scan_segment(s, segs[i].name, &segs[i], NULL);
		if (err == -ENOENT) {
			segs[i].sealed = false; /* gone: leave it out */
			err = 0;
		}
	}
	if (!err)
		err = write_index(s, segs, n);
	free(segs);
	return err;
}

/* A sealed segment joins the index (re-listing keeps the index in step with the disk). */
static int index_add(struct store *s, const char *name, uint64_t end_ns, uint64_t samples)
{
	struct seg *segs = NULL;
	size_t n = 0;
	int err = list_segments(s, &segs, &n);

	for (size_t i = 0; !err && i < n; i++)
		if (!strcmp(segs[i].name, name)) {
			segs[i].end_ns = end_ns;
			segs[i].samples = samples;
		}
	if (!err)
		err = write_index(s, segs, n);
	free(segs);
	return err;
}

/* Trim a crashed writer's open segment to its last whole chunk and seal it. */
static int recover_part(struct store *s, const struct seg *part)
{
	struct profile_read_stats rs = { 0 };
	struct seg sg = *part;
	char sealed[NAME_LEN];
	int fd, err;

	err = scan_segment(s, part->name, &sg, &rs);
	if (err == -ENOENT)
		return 0;
	if (err == -EINVAL && !rs.chunks) {
		/* Not even a whole preamble (the crash came before it was synced). */
		return unlinkat(s->dirfd, part->name, 0) ? -errno : 0;
	}
	if (err)
		return err;
	if (!rs.chunks)
		return unlinkat(s->dirfd, part->name, 0) ? -errno : 0;
	fd = openat(s->dirfd, part->name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)rs.valid_bytes) || fsync(fd))
		err = -errno;
	close(fd);
	if (err)
		return err;
	strcpy(sealed, part->name);
	strip_part_suffix(sealed);
	if (renameat(s->dirfd, part->name, s->dirfd, sealed) || fsync(s->dirfd))
		return -errno;
	index_add(s, sealed, sg.end_ns, sg.samples); /* advisory: may fail on a full disk */
	return 0;
}

struct store *store__open(const char *dir, const struct store_opts *opts)
{
	struct store *s = calloc(1, sizeof(*s));
	struct seg *segs = NULL;
	size_t n = 0;
	int err = 0;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->dirfd = s->lockfd = s->fd = -1;
	if (opts)
		s->opts = *opts;
	if (!s->opts.partition_ns)
		s->opts.partition_ns = DEFAULT_PARTITION_NS;
	if (!s->opts.max_segment_bytes)
		s->opts.max_segment_bytes = DEFAULT_SEGMENT_BYTES;
	s->dir = strdup(dir);
	if (!s->dir) {
		err = -ENOMEM;
		goto fail;
	}
	if (!s->opts.read_only && mkdir(dir, 0755) && errno != EEXIST) {
		err = -errno;
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		err = -errno;
		goto fail;
	}
	if (s->opts.read_only)
		return s;
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lockfd < 0) {
		err = -errno;
		goto fail;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	s->cctx = profile__new_cctx();
	if (!s->cctx) {
		err = -ENOMEM;
		goto fail;
	}
	err = list_segments(s, &segs, &n);
	for (size_t i = 0; !err && i < n; i++) {
		if (segs[i].seq >= s->next_seq)
			s->next_seq = segs[i].seq + 1;
		/* Best effort: a segment that cannot be recovered now (a full or failing
		 * disk) stays .part, which readers handle, and is tried again next time. */
		if (!segs[i].sealed)
			recover_part(s, &segs[i]);
	}
	free(segs);
	if (err)
		goto fail;
	return s;
fail:
	store__close(s);
	errno = -err;
	return NULL;
}

static void close_segment(struct store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	profile__free(s->dict);
	s->dict = NULL;
	memset(&s->marks, 0, sizeof(s->marks));
	s->name[0] = '\0';
}

void store__close(struct store *s)
{
	if (!s)
		return;
	close_segment(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	profile__free_cctx(s->cctx);
	free(s->dir);
	free(s);
}

int store__seal(struct store *s)
{
	char sealed[NAME_LEN];
	int err = 0;

	if (s->opts.read_only)
		return -EROFS;
	if (s->fd < 0)
		return 0;
	if (fsync(s->fd))
		err = -errno;
	strcpy(sealed, s->name);
	strip_part_suffix(sealed);
	if (!err && (renameat(s->dirfd, s->name, s->dirfd, sealed) || fsync(s->dirfd)))
		err = -errno;
	close_segment(s);
	if (err)
		return err;
	/* The index is advisory: a failure to update it costs readers time, not data. */
	index_add(s, sealed, s->max_ns ? s->max_ns : s->part_start + 1, s->samples);
	if (s->opts.max_age_ns || s->opts.max_bytes)
		store__retention(s, now_ns(), NULL);
	return 0;
}

static int open_segment(struct store *s, uint64_t part_start)
{
	struct wbuf w = { 0 };
	int err = 0;

	snprintf(s->name, sizeof(s->name), "seg-%020" PRIu64 "-%06" PRIu64 ".smolder" PART_SUFFIX,
		 part_start, s->next_seq);
	s->dict = profile__new();
	if (!s->dict) {
		err = -ENOMEM;
		goto fail;
	}
	s->fd = openat(s->dirfd, s->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		err = -errno;
		goto fail;
	}
	profile__encode_preamble(&w);
	if (w.err) {
		err = w.err;
		goto fail_unlink;
	}
	if (write(s->fd, w.buf.v, w.buf.len) != (ssize_t)w.buf.len) {
		err = errno && errno != EINTR ? -errno : -EIO;
		goto fail_unlink;
	}
	if (fdatasync(s->fd) || fsync(s->dirfd)) {
		err = -errno;
		goto fail_unlink;
	}
	s->next_seq++;
	s->part_start = part_start;
	s->valid_len = w.buf.len;
	VEC_FREE(w.buf);
	s->samples = s->min_ns = s->max_ns = 0;
	return 0;
fail_unlink:
	unlinkat(s->dirfd, s->name, 0);
fail:
	VEC_FREE(w.buf);
	close_segment(s);
	return err;
}

int store__append(struct store *s, const struct profile *batch)
{
	struct profile_info info;
	struct chunk_marks saved;
	struct wbuf w = { 0 };
	uint64_t t, part;
	size_t nsamples, nrecords;
	int err;

	if (s->opts.read_only)
		return -EROFS;
	if (!batch)
		return -EINVAL;
	nsamples = profile__sample_count(batch);
	profile__info(batch, &info);
	t = info.start_ns ? info.start_ns : now_ns();
	part = t - t % s->opts.partition_ns;
	if (s->fd >= 0 && (part != s->part_start || s->valid_len >= s->opts.max_segment_bytes ||
			   s->dict->strings.len > MAX_SEGMENT_TABLE_ITEMS ||
			   s->dict->frames.len > MAX_SEGMENT_TABLE_ITEMS ||
			   s->dict->stacks.len > MAX_SEGMENT_TABLE_ITEMS ||
			   s->dict->series.len > MAX_SEGMENT_TABLE_ITEMS)) {
		err = store__seal(s);
		if (err)
			return err;
	}
	if (s->fd < 0) {
		err = open_segment(s, part);
		if (err)
			return err;
	}

	/* Re-express the batch in the segment's ids; only what is new gets written. */
	saved = s->marks;
	profile__drop_samples(s->dict);
	err = profile__merge(s->dict, batch, NULL);
	s->dict->info = info;
	nrecords = s->dict->samples.len;
	for (size_t s0 = 0; !err && (s0 < nrecords || s0 == 0);) {
		size_t s1 = nrecords - s0 > SMOLDER_CHUNK_SAMPLES ? s0 + SMOLDER_CHUNK_SAMPLES
								  : nrecords;
		err = profile__encode_chunk(s->dict, &s->marks, s0, s1, s->cctx, &w);
		s0 = s1;
		if (s1 == nrecords)
			break;
	}
	profile__drop_samples(s->dict);
	if (!err)
		err = file_pwrite_all(s->fd, w.buf.v, w.buf.len, (off_t)s->valid_len);
	if (!err && fdatasync(s->fd))
		err = -errno;
	if (err) {
		/* Take the partial chunk back off so the segment ends on a whole one; if even
		 * that fails, readers still stop at its bad checksum, but no more may be
		 * appended after it: seal the segment as it stands. */
		s->marks = saved;
		s->dict->counts = saved.counts;
		if (ftruncate(s->fd, (off_t)s->valid_len) || fdatasync(s->fd))
			store__seal(s);
		goto cleanup;
	}
	s->valid_len += w.buf.len;
	s->samples += nsamples;
	for (size_t i = 0; i < batch->samples.len; i++) {
		uint64_t ts = batch->samples.v[i].time_ns;
		if (ts && (!s->min_ns || ts < s->min_ns))
			s->min_ns = ts;
		if (ts > s->max_ns)
			s->max_ns = ts;
	}
	if (info.end_ns > s->max_ns)
		s->max_ns = info.end_ns;
cleanup:
	VEC_FREE(w.buf);
	return err;
}

/* Is sealed segment @sg outside @f's time range by the index? */
static bool outside_range(const struct seg *sg, const struct profile_filter *f)
{
	return f && sg->sealed && sg->end_ns &&
	       ((f->from_ns && sg->end_ns < f->from_ns) || (f->to_ns && sg->start_ns >= f->to_ns));
}

/*
 * Read the segment at @path into @out through @f. A segment's tables (strings, frames,
 * mappings) cover its whole time span, and reading them into @out directly would
 * carry all of them into what a narrow query writes (a 10 s window exported as pprof
 * came out 8 times the size of the same samples alone): with a selective filter the
 * segment is read on its own and only the matching samples, with what they use,
 * are merged.
 */
static int read_segment(struct profile *out, const char *path, const struct profile_filter *f,
			struct profile_read_stats *rs)
{
	struct profile *tmp;
	int err;

	if (!f || (!f->from_ns && !f->to_ns && !f->pid && !f->comm && !f->service && !f->nlabels))
		return profile__read_file(out, path, f, rs);
	tmp = profile__new();
	if (!tmp)
		return -ENOMEM;
	err = profile__read_file(tmp, path, f, rs);
	if (!err)
		err = profile__merge(out, tmp, NULL);
	profile__free(tmp);
	return err;
}

int store__query(struct store *s, const struct profile_filter *f, struct profile *out,
		 struct store_query_stats *stats)
{
	struct store_query_stats st = { 0 };
	struct seg *segs = NULL;
	uint64_t expect = 0;
	size_t n = 0;
	int err = list_segments(s, &segs, &n);

	/* Room for the records up front, by the index's sample counts (at least the
	 * records), when nearly all of them will match (no filter but time): growing the
	 * record index step by step costs more than the reading. Best effort: without
	 * the room, the records still fit as they come. */
	if (!f || (!f->pid && !f->comm && !f->service && !f->nlabels)) {
		for (size_t i = 0; !err && i < n; i++)
			if (!outside_range(&segs[i], f))
				expect += segs[i].samples;
		if (!err && expect && expect < SIZE_MAX / 64)
			profile__reserve_samples(out, (size_t)expect);
	}
	for (size_t i = 0; !err && i < n; i++) {
		struct profile_read_stats rs = { 0 };
		char path[PATH_MAX];

		if (outside_range(&segs[i], f)) {
			st.segments_skipped++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", s->dir, segs[i].name);
		err = read_segment(out, path, f, &rs);
		if (err == -ENOENT && !segs[i].sealed) {
			/* Sealed (renamed) since we listed it. */
			strip_part_suffix(path);
			err = read_segment(out, path, f, &rs);
		}
		if (err == -ENOENT) { /* deleted by retention meanwhile */
			err = 0;
			continue;
		}
		st.segments_read++;
		st.bytes_read += rs.valid_bytes + rs.torn_bytes;
		st.torn_bytes += rs.torn_bytes;
	}
	/* The range asked for, not the segments' whole range. */
	if (!err && f && (f->from_ns || f->to_ns)) {
		struct profile_info info;

		profile__info(out, &info);
		if (f->from_ns && info.start_ns < f->from_ns)
			info.start_ns = f->from_ns;
		if (f->to_ns && (!info.end_ns || info.end_ns > f->to_ns))
			info.end_ns = f->to_ns;
		profile__set_info(out, &info);
	}
	if (stats)
		*stats = st;
	free(segs);
	return err;
}

int store__for_each_segment(struct store *s,
			    int (*fn)(const struct store_segment *seg, void *ctx), void *ctx)
{
	struct seg *segs = NULL;
	size_t n = 0;
	int err = list_segments(s, &segs, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct store_segment sg = {
			.name = segs[i].name,
			.start_ns = segs[i].start_ns,
			.end_ns = segs[i].end_ns,
			.samples = segs[i].samples,
			.bytes = segs[i].bytes,
			.sealed = segs[i].sealed,
		};
		err = fn(&sg, ctx);
	}
	free(segs);
	return err;
}

void store__set_retention(struct store *s, uint64_t max_age_ns, uint64_t max_bytes)
{
	s->opts.max_age_ns = max_age_ns;
	s->opts.max_bytes = max_bytes;
}

int store__retention(struct store *s, uint64_t now, struct store_retention_stats *stats)
{
	struct store_retention_stats st = { 0 };
	struct seg *segs = NULL;
	uint64_t total = 0;
	size_t n = 0;
	bool changed = false;
	int err;

	if (s->opts.read_only)
		return -EROFS;
	err = list_segments(s, &segs, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		total += segs[i].bytes;
	for (size_t i = 0; i < n && !err; i++) {
		/* A segment's last sample is at most one partition after its start. */
		uint64_t end = segs[i].end_ns ? segs[i].end_ns : segs[i].start_ns + s->opts.partition_ns;
		bool old = s->opts.max_age_ns && now > s->opts.max_age_ns &&
			   end < now - s->opts.max_age_ns;
		bool big = s->opts.max_bytes && total > s->opts.max_bytes;

		if (!segs[i].sealed || !(old || big))
			continue;
		if (unlinkat(s->dirfd, segs[i].name, 0) && errno != ENOENT) {
			err = -errno;
			break;
		}
		total -= segs[i].bytes;
		st.segments_deleted++;
		st.bytes_deleted += segs[i].bytes;
		segs[i].sealed = false; /* out of the index */
		changed = true;
	}
	if (changed) {
		if (fsync(s->dirfd) && !err)
			err = -errno;
		write_index(s, segs, n);
	}
	if (stats)
		*stats = st;
	free(segs);
	return err;
}
