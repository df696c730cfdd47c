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

#include "profile_internal.h"

#define SPILL_ZSTD_LEVEL 3

struct profile_spill {
	int fd;
	uint64_t len;     /* bytes written (whole chunks only) */
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

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

struct profile_spill *profile_spill__open(const char *dir)
{
	struct profile_spill *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->fd = open_unlinked(dir);
	s->dict = profile__new();
	s->cctx = profile__new_cctx_level(SPILL_ZSTD_LEVEL);
	if (s->fd < 0 || !s->dict || !s->cctx) {
		err = s->fd < 0 ? errno : ENOMEM;
		profile_spill__close(s);
		errno = err;
		return NULL;
	}
	profile__encode_preamble(&s->w);
	err = s->w.err ? s->w.err : write_all(s->fd, s->w.buf.v, s->w.buf.len, 0);
	if (err) {
		profile_spill__close(s);
		errno = -err;
		return NULL;
	}
	s->len = s->w.buf.len;
	s->w.buf.len = 0;
	return s;
}

int profile_spill__append(struct profile_spill *s, const struct profile *batch)
{
	struct chunk_marks saved = s->marks;
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
		err = write_all(s->fd, s->w.buf.v, s->w.buf.len, (off_t)s->len);
	if (err) {
		/* The tables the lost chunks defined are written again with the next one. */
		s->marks = saved;
		s->dict->counts = saved.counts;
		return err;
	}
	s->len += s->w.buf.len;
	s->samples += profile__sample_count(batch);
	return 0;
}

int profile_spill__read(struct profile_spill *s, struct profile *out)
{
	void *buf;
	int err;

	if (s->len > PROFILE_FILE_MAX_BYTES)
		return -EFBIG;
	buf = mmap(NULL, s->len, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (buf == MAP_FAILED)
		return -errno;
	err = profile__decode(out, buf, s->len, NULL, NULL);
	munmap(buf, s->len);
	return err;
}

uint64_t profile_spill__bytes(const struct profile_spill *s)
{
	return s->len;
}

uint64_t profile_spill__samples(const struct profile_spill *s)
{
	return s->samples;
}

void profile_spill__close(struct profile_spill *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	profile__free(s->dict);
	profile__free_cctx(s->cctx);
	VEC_FREE(s->w.buf);
	free(s);
}
