/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spill.c - a recording's profile on disk while it grows (see profile.h). Each
 * interval is re-expressed in the ids of one dictionary profile that keeps the tables
 * (strings, mappings, frames, stacks, label sets, series) and drops the records once
 * they are encoded, exactly as a store segment is written (store.c), but to an
 * unlinked file, without fsync, and at a fast zstd level: the file is read back once,
 * by this process, at the end of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "profile_internal.h"

#define SPILL_ZSTD_LEVEL 3
/* Table entries the dictionary may hold before the spill starts a new segment (a
 * file of its own, with tables from scratch): what keeps memory flat when every new
 * process brings new series (its pid and threads) or names. */
#define SPILL_TABLE_MAX 4096

struct segment {
	int fd;
	uint64_t len; /* bytes of whole chunks (what a failed write left past them is
			 overwritten by the next, or never read) */
};

struct profile_spill {
	char *dir;
	VEC(struct segment) segs; /* oldest first; the last is written to */
	uint64_t bytes;   /* in all segments */
	uint64_t samples; /* samples appended */
	struct profile *dict;
	struct chunk_marks marks;
	void *cctx;
	struct wbuf w;
};

static int open_unlinked(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	if ((size_t)snprintf(path, sizeof(path), "%s/.smolder-spill.XXXXXX", dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Start a segment: a new file with the preamble, and a dictionary from scratch.
 * @return 0 or a negative errno (the spill is then as it was). */
static int new_segment(struct profile_spill *s)
{
	struct profile *dict = profile__new();
	struct wbuf w = { 0 };
	int fd = open_unlinked(s->dir), err;

	err = fd < 0 ? -errno : dict ? 0 : -ENOMEM;
	if (!err) {
		profile__encode_preamble(&w);
		err = w.err ? w.err : file_pwrite_all(fd, w.buf.v, w.buf.len, 0);
	}
	if (!err && VEC_PUSH(s->segs, ((struct segment){ fd, w.buf.len })))
		err = -ENOMEM;
	if (err) {
		if (fd >= 0)
			close(fd);
		profile__free(dict);
		VEC_FREE(w.buf);
		return err;
	}
	profile__free(s->dict);
	s->dict = dict;
	s->marks = (struct chunk_marks){ 0 };
	s->bytes += w.buf.len;
	VEC_FREE(w.buf);
	return 0;
}

static bool dict_full(const struct profile *d)
{
	return d->strings.len > SPILL_TABLE_MAX || d->frames.len > SPILL_TABLE_MAX ||
	       d->stacks.len > SPILL_TABLE_MAX || d->series.len > SPILL_TABLE_MAX ||
	       d->labelsets.len > SPILL_TABLE_MAX || d->mappings.len > SPILL_TABLE_MAX;
}

struct profile_spill *profile_spill__open(const char *dir)
{
	struct profile_spill *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->dir = strdup(dir);
	s->cctx = profile__new_cctx_level(SPILL_ZSTD_LEVEL);
	err = !s->dir || !s->cctx ? -ENOMEM : new_segment(s);
	if (err) {
		profile_spill__close(s);
		errno = -err;
		return NULL;
	}
	return s;
}

int profile_spill__append(struct profile_spill *s, const struct profile *batch)
{
	struct chunk_marks saved = s->marks;
	struct segment *last = &s->segs.v[s->segs.len - 1];
	size_t nrecords;
	int err;

	profile__drop_samples(s->dict);
	err = profile__merge(s->dict, batch, NULL);
	/* The batch's time range and period go with its chunks. */
	profile__info(batch, &s->dict->info);
	nrecords = s->dict->samples.len;
	s->w.buf.len = 0;
	for (size_t s0 = 0; !err && (s0 < nrecords || s0 == 0);) {
		size_t s1 = nrecords - s0 > SMOLDER_CHUNK_SAMPLES ? s0 + SMOLDER_CHUNK_SAMPLES
								  : nrecords;
		err = profile__encode_chunk(s->dict, &s->marks, s0, s1, s->cctx, &s->w);
		s0 = s1;
		if (s1 == nrecords)
			break;
	}
	profile__drop_samples(s->dict);
	if (!err)
		err = file_pwrite_all(last->fd, s->w.buf.v, s->w.buf.len, (off_t)last->len);
	if (err) {
		/* The tables the lost chunks defined are written again with the next one. */
		s->marks = saved;
		s->dict->counts = saved.counts;
		return err;
	}
	last->len += s->w.buf.len;
	s->bytes += s->w.buf.len;
	s->samples += profile__sample_count(batch);
	/* Failing to start a new segment is no loss: this one goes on growing. */
	if (dict_full(s->dict))
		new_segment(s);
	return 0;
}

/* Add segment @fd, @len bytes, to @out. */
static int read_segment(int fd, uint64_t len, struct profile *out)
{
	void *buf;
	int err;

	if (len > PROFILE_FILE_MAX_BYTES)
		return -EFBIG;
	buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf == MAP_FAILED)
		return -errno;
	err = profile__decode(out, buf, len, NULL, NULL);
	munmap(buf, len);
	return err;
}

int profile_spill__read(struct profile_spill *s, struct profile *out)
{
	int err = 0;

	for (size_t i = 0; !err && i < s->segs.len; i++)
		err = read_segment(s->segs.v[i].fd, s->segs.v[i].len, out);
	return err;
}

uint64_t profile_spill__bytes(const struct profile_spill *s)
{
	return s->bytes;
}

size_t profile_spill__segments(const struct profile_spill *s)
{
	return s->segs.len;
}

uint64_t profile_spill__samples(const struct profile_spill *s)
{
	return s->samples;
}

void profile_spill__close(struct profile_spill *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->segs.len; i++)
		close(s->segs.v[i].fd);
	VEC_FREE(s->segs);
	free(s->dir);
	profile__free(s->dict);
	profile__free_cctx(s->cctx);
	VEC_FREE(s->w.buf);
	free(s);
}
