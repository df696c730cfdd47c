/* SPDX-License-Identifier: Apache-2.0 */
/*
 * format.c - the .smolder file format (docs/format.md): a preamble that names the file
 * and its version, then DATA chunks, each one independent zstd frame with a checksum,
 * that add strings, mappings, frames, stacks, label sets, series and records (samples
 * counted per series and 10 ms bucket) to what earlier chunks defined. A reader stops
 * at the first frame that is cut short or fails its checksum (a torn tail) and keeps
 * everything before it. Version 1 files (one entry per sample) are still read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getCParams: a level's table sizes */
#include <zstd.h>

#include "profile_internal.h"
#include "varint.h"

static const unsigned char smolder_magic[8] = { 'S', 'M', 'O', 'L', 'D', 'E', 'R', 0 };
#define SKIPPABLE_MAGIC 0x184D2A5Eu
#define SKIPPABLE_MASK 0xFFFFFFF0u
#define SKIPPABLE_BASE 0x184D2A50u

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(unsigned char *b, uint32_t v)
{
	b[0] = v & 0xff;
	b[1] = (v >> 8) & 0xff;
	b[2] = (v >> 16) & 0xff;
	b[3] = v >> 24;
}

bool profile__is_smolder(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	return len >= SMOLDER_PREAMBLE_LEN && le32(b) == SKIPPABLE_MAGIC &&
	       le32(b + 4) == SMOLDER_PREAMBLE_LEN - 8 && !memcmp(b + 8, smolder_magic, 8);
}

void profile__encode_preamble(struct wbuf *out)
{
	unsigned char b[SMOLDER_PREAMBLE_LEN] = { 0 };

	put_le32(b, SKIPPABLE_MAGIC);
	put_le32(b + 4, SMOLDER_PREAMBLE_LEN - 8);
	memcpy(b + 8, smolder_magic, 8);
	b[16] = SMOLDER_VERSION_MAJOR & 0xff;
	b[17] = SMOLDER_VERSION_MAJOR >> 8;
	b[18] = SMOLDER_VERSION_MINOR & 0xff;
	b[19] = SMOLDER_VERSION_MINOR >> 8;
	/* b[20..24): flags, none defined */
	wbuf_bytes(out, b, sizeof(b));
}

/* ---- writer ---- */

/*
 * References into a table that fills in first-use order (a frame's name, a stack's
 * frames, a series' stack, a record's series) mostly name the next entry not referred
 * to yet: that one is written as 0, any other as id + 1 (docs/format.md §2.1, "next
 * ids"). @next starts at the table's size before this chunk.
 */
static void put_next_id(struct wbuf *w, uint64_t *next, uint64_t id)
{
	if (id == *next) {
		wbuf_varint(w, 0);
		(*next)++;
		return;
	}
	wbuf_varint(w, id + 1);
	if (id > *next)
		*next = id + 1;
}

/* Tables, series and records go column by column where they have several fields:
 * like values side by side compress far better. */
static void encode_tables(const struct profile *p, const struct chunk_marks *m, struct wbuf *w)
{
	uint64_t next;

	wbuf_varint(w, p->strings.len - m->strings);
	for (size_t i = m->strings; i < p->strings.len; i++) {
		wbuf_varint(w, p->strings.v[i].len);
		wbuf_bytes(w, p->chars.v + p->strings.v[i].off, p->strings.v[i].len);
	}
	wbuf_varint(w, p->mappings.len - m->mappings);
	for (size_t i = m->mappings; i < p->mappings.len; i++) {
		const struct pmapping *mp = &p->mappings.v[i];
		wbuf_varint(w, mp->path);
		wbuf_varint(w, mp->build_id);
		wbuf_varint(w, mp->start);
		wbuf_varint(w, mp->limit);
		wbuf_varint(w, mp->offset);
	}

	const struct pframe *f = p->frames.v;
	size_t nf = p->frames.len;
	wbuf_varint(w, nf - m->frames);
	next = m->strings;
	for (size_t i = m->frames; i < nf; i++)
		put_next_id(w, &next, f[i].name);
	for (size_t i = m->frames; i < nf; i++)
		wbuf_varint(w, f[i].kind);
	for (size_t i = m->frames; i < nf; i++)
		wbuf_varint(w, f[i].mapping);
	for (size_t i = m->frames; i < nf; i++)
		wbuf_varint(w, f[i].address);
	for (size_t i = m->frames; i < nf; i++)
		wbuf_varint(w, f[i].file);
	for (size_t i = m->frames; i < nf; i++)
		wbuf_varint(w, f[i].line);

	wbuf_varint(w, p->stacks.len - m->stacks);
	next = m->frames;
	for (size_t i = m->stacks; i < p->stacks.len; i++) {
		const struct pstack *st = &p->stacks.v[i];
		wbuf_varint(w, st->len);
		for (size_t j = 0; j < st->len; j++)
			put_next_id(w, &next, p->stack_frames.v[st->off + j]);
	}
	wbuf_varint(w, p->labelsets.len - m->labelsets);
	for (size_t i = m->labelsets; i < p->labelsets.len; i++) {
		const struct plabels *ls = &p->labelsets.v[i];
		wbuf_varint(w, ls->len);
		for (size_t j = 0; j < 2 * (size_t)ls->len; j++)
			wbuf_varint(w, p->label_pairs.v[ls->off + j]);
	}
}

static void encode_series(const struct profile *p, const struct chunk_marks *m, struct wbuf *w)
{
	const struct pseries *se = p->series.v;
	size_t n = p->series.len;
	uint64_t next = m->stacks;

	wbuf_varint(w, n - m->series);
	for (size_t i = m->series; i < n; i++)
		put_next_id(w, &next, se[i].stack);
	for (size_t i = m->series; i < n; i++)
		wbuf_varint(w, (uint32_t)se[i].pid);
	for (size_t i = m->series; i < n; i++)
		wbuf_varint(w, varint_zigzag((int64_t)se[i].tid - (int64_t)se[i].pid));
	for (size_t i = m->series; i < n; i++)
		wbuf_varint(w, se[i].comm);
	for (size_t i = m->series; i < n; i++)
		wbuf_varint(w, se[i].labels);
}

/* Times as bucket numbers, each the step from the one before: mostly 0 and 1. The
 * series column starts its next ids at the series this chunk defines: in a profile's
 * own order each record's series is an earlier one or the next new one. */
static void encode_records(const struct profile *p, const struct chunk_marks *m, size_t s0,
			   size_t s1, struct wbuf *w)
{
	const struct psample *s = p->samples.v;
	uint64_t prev = p->info.start_ns / PROFILE_BUCKET_NS, next = m->series;

	wbuf_varint(w, s1 - s0);
	for (size_t i = s0; i < s1; i++) {
		uint64_t k = s[i].time_ns / PROFILE_BUCKET_NS;
		wbuf_varint(w, varint_zigzag((int64_t)(k - prev)));
		prev = k;
	}
	for (size_t i = s0; i < s1; i++)
		put_next_id(w, &next, s[i].series);
	for (size_t i = s0; i < s1; i++)
		wbuf_varint(w, s[i].count);
	/* Weight 1 per sample, the usual case, is all zeros here. */
	for (size_t i = s0; i < s1; i++)
		wbuf_varint(w, varint_zigzag((int64_t)(s[i].weight - s[i].count)));
}

int profile__encode_chunk(const struct profile *p, struct chunk_marks *m, size_t s0,
			  size_t s1, void *cctx, struct wbuf *out)
{
	struct wbuf raw = { 0 };
	unsigned char type = SMOLDER_CHUNK_DATA;
	size_t bound, n;
	int err;

	wbuf_bytes(&raw, &type, 1);
	wbuf_varint(&raw, p->info.period_ns);
	wbuf_varint(&raw, p->info.start_ns);
	wbuf_varint(&raw, p->info.end_ns);
	wbuf_varint(&raw, p->counts.lost - m->counts.lost);
	wbuf_varint(&raw, p->counts.truncated - m->counts.truncated);
	wbuf_varint(&raw, PROFILE_BUCKET_NS);
	encode_tables(p, m, &raw);
	encode_series(p, m, &raw);
	encode_records(p, m, s0, s1, &raw);
	err = raw.err;
	if (err)
		goto cleanup;
	if (raw.buf.len > PROFILE_CHUNK_MAX_BYTES) {
		/* Callers keep chunks far below this; a reader would refuse it. */
		err = -E2BIG;
		goto cleanup;
	}
	bound = ZSTD_compressBound(raw.buf.len);
	err = wbuf_reserve(out, bound);
	if (err)
		goto cleanup;
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	n = ZSTD_compress2(cctx, out->buf.v + out->buf.len, bound, raw.buf.v, raw.buf.len);
	if (ZSTD_isError(n)) {
		err = -EIO;
		goto cleanup;
	}
	out->buf.len += n;
	m->strings = p->strings.len;
	m->mappings = p->mappings.len;
	m->frames = p->frames.len;
	m->stacks = p->stacks.len;
	m->labelsets = p->labelsets.len;
	m->series = p->series.len;
	m->counts = p->counts;
cleanup:
	VEC_FREE(raw.buf);
	return err;
}

void *profile__new_cctx(void)
{
	return profile__new_cctx_level(SMOLDER_ZSTD_LEVEL);
}

/* @v capped to SMOLDER_ZSTD_MAX_LOG. */
static int cap_log(unsigned int v)
{
	return (int)(v < SMOLDER_ZSTD_MAX_LOG ? v : SMOLDER_ZSTD_MAX_LOG);
}

void *profile__new_cctx_level(int level)
{
	/* The level's tables for a source of unknown size, the largest it picks; zstd
	 * still shrinks them for a smaller chunk, whose size it is told. */
	ZSTD_compressionParameters cp = ZSTD_getCParams(level, 0, 0);
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c)
		return NULL;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, cap_log(cp.windowLog))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, cap_log(cp.hashLog))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, cap_log(cp.chainLog))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1))) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	return c;
}

void profile__free_cctx(void *cctx)
{
	ZSTD_freeCCtx(cctx);
}

int profile__write_file(const struct profile *p, FILE *out, size_t chunk_samples)
{
	struct chunk_marks m = { 0 };
	struct wbuf w = { 0 };
	void *cctx = profile__new_cctx();
	size_t s0 = 0;
	int err = 0;

	if (!cctx)
		return -ENOMEM;
	if (!chunk_samples)
		chunk_samples = SMOLDER_CHUNK_SAMPLES;
	profile__encode_preamble(&w);
	/* At least one chunk, so that even an empty profile carries its metadata. */
	do {
		size_t s1 = p->samples.len - s0 > chunk_samples ? s0 + chunk_samples
								 : p->samples.len;
		err = profile__encode_chunk(p, &m, s0, s1, cctx, &w);
		if (err)
			goto cleanup;
		errno = 0;
		if (fwrite(w.buf.v, 1, w.buf.len, out) != w.buf.len) {
			err = profile__stdio_error(out);
			goto cleanup;
		}
		w.buf.len = 0;
		s0 = s1;
	} while (s0 < p->samples.len);
	errno = 0;
	if (fflush(out) == EOF || ferror(out))
		err = profile__stdio_error(out);
cleanup:
	VEC_FREE(w.buf);
	profile__free_cctx(cctx);
	return err;
}

/* ---- reader ---- */

void chunk_decoder__free(struct chunk_decoder *d)
{
	free(d->strings.v);
	free(d->mappings.v);
	free(d->frames.v);
	free(d->stacks.v);
	free(d->labelsets.v);
	free(d->series.v);
	memset(d, 0, sizeof(*d));
}

/* A count of items that each take at least @min_bytes of what is left. */
static size_t read_count(struct rbuf *r, size_t min_bytes)
{
	uint64_t n = rbuf_varint(r);
	if (!r->err && n > (r->len - r->pos) / min_bytes)
		r->err = -EINVAL;
	return r->err ? 0 : (size_t)n;
}

/* A file id that must name an item an earlier entry defined; its profile id. */
static uint32_t map_id(struct rbuf *r, const uint32_t *v, size_t len)
{
	uint64_t i = rbuf_bounded(r, len);
	return r->err ? 0 : v[i];
}
#define MAP(r, vec, what) map_id((r), (vec).v, (vec).len)

/* A next id (put_next_id) that must name an item an earlier entry defined; its
 * profile id. */
static uint32_t map_next_id(struct rbuf *r, uint64_t *next, const uint32_t *v, size_t len)
{
	uint64_t x = rbuf_varint(r), id = x ? x - 1 : *next;

	if (r->err)
		return 0;
	if (id >= len) {
		r->err = -EINVAL;
		return 0;
	}
	if (id >= *next)
		*next = id + 1;
	return v[id];
}
#define MAP_NEXT(r, next, vec) map_next_id((r), (next), (vec).v, (vec).len)

/* The tables' sizes before a chunk: where its next ids start. */
struct chunk_starts {
	uint64_t strings, frames, stacks, series;
};

/* Version 1 frames: one row of six fields each. */
static int read_frames_v1(struct profile *p, struct chunk_decoder *d, struct rbuf *r)
{
	size_t n = read_count(r, 6);
	int err;

	if ((err = VEC_RESERVE(d->frames, d->frames.len + n)))
		return err;
	for (size_t i = 0; i < n && !r->err; i++) {
		struct pframe f = { 0 };
		uint32_t mapping;
		f.name = MAP(r, d->strings, name);
		f.kind = rbuf_bounded(r, FRAME_UNKNOWN + 1); /* 1.0 knew kinds 0-3 */
		mapping = rbuf_bounded(r, d->mappings.len + 1);
		f.address = rbuf_varint(r);
		f.file = MAP(r, d->strings, file);
		f.line = rbuf_bounded(r, UINT32_MAX);
		if (r->err)
			break;
		f.mapping = mapping ? d->mappings.v[mapping - 1] : 0;
		err = profile__intern_pframe(p, &f, &d->frames.v[d->frames.len]);
		if (err)
			return err;
		d->frames.len++;
	}
	return r->err;
}

/* Version 2 frames: six columns, names as next ids into the strings. */
static int read_frames(struct profile *p, struct chunk_decoder *d, struct rbuf *r,
		       const struct chunk_starts *st)
{
	size_t n = read_count(r, 6);
	uint64_t next = st->strings;
	struct pframe *f;
	int err;

	if (r->err)
		return r->err;
	if ((err = VEC_RESERVE(d->frames, d->frames.len + n)))
		return err;
	f = calloc(n ? n : 1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		f[i].name = MAP_NEXT(r, &next, d->strings);
	for (size_t i = 0; i < n; i++)
		f[i].kind = rbuf_bounded(r, FRAME_KIND_MAX + 1);
	for (size_t i = 0; i < n; i++) {
		uint32_t mapping = rbuf_bounded(r, d->mappings.len + 1);
		f[i].mapping = mapping ? d->mappings.v[mapping - 1] : 0;
	}
	for (size_t i = 0; i < n; i++)
		f[i].address = rbuf_varint(r);
	for (size_t i = 0; i < n; i++)
		f[i].file = MAP(r, d->strings, file);
	for (size_t i = 0; i < n; i++)
		f[i].line = rbuf_bounded(r, UINT32_MAX);
	err = r->err;
	for (size_t i = 0; i < n && !err; i++) {
		err = profile__intern_pframe(p, &f[i], &d->frames.v[d->frames.len]);
		if (!err)
			d->frames.len++;
	}
	free(f);
	return err;
}

static int read_tables(struct profile *p, struct chunk_decoder *d, struct rbuf *r, bool v1,
		       const struct chunk_starts *st)
{
	uint64_t next = st->frames;
	size_t n;
	int err = 0;

	n = read_count(r, 1);
	if ((err = VEC_RESERVE(d->strings, d->strings.len + n)))
		return err;
	for (size_t i = 0; i < n && !r->err; i++) {
		size_t len = rbuf_bounded(r, PROFILE_MAX_STRING + 1);
		const unsigned char *s = rbuf_bytes(r, len);
		if (!s)
			break;
		/* A NUL inside would cut the string short wherever it is used. */
		if (memchr(s, 0, len))
			return -EINVAL;
		err = profile__intern_string(p, (const char *)s, len, &d->strings.v[d->strings.len]);
		if (err)
			return err;
		d->strings.len++;
	}

	n = read_count(r, 5);
	if ((err = VEC_RESERVE(d->mappings, d->mappings.len + n)))
		return err;
	for (size_t i = 0; i < n && !r->err; i++) {
		struct pmapping m = { 0 };
		m.path = MAP(r, d->strings, path);
		m.build_id = MAP(r, d->strings, build_id);
		m.start = rbuf_varint(r);
		m.limit = rbuf_varint(r);
		m.offset = rbuf_varint(r);
		if (r->err)
			break;
		err = profile__intern_pmapping(p, &m, &d->mappings.v[d->mappings.len]);
		if (err)
			return err;
		d->mappings.len++;
	}

	err = r->err;
	if (!err)
		err = v1 ? read_frames_v1(p, d, r) : read_frames(p, d, r, st);
	if (err)
		return err;

	n = read_count(r, 1);
	if ((err = VEC_RESERVE(d->stacks, d->stacks.len + n)))
		return err;
	uint32_t *frames = malloc(PROFILE_MAX_STACK_DEPTH * sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	for (size_t i = 0; i < n && !r->err; i++) {
		size_t len = rbuf_bounded(r, PROFILE_MAX_STACK_DEPTH + 1);
		for (size_t j = 0; j < len && !r->err; j++)
			frames[j] = v1 ? MAP(r, d->frames, frame) : MAP_NEXT(r, &next, d->frames);
		if (r->err)
			break;
		err = profile__intern_stack(p, frames, len, &d->stacks.v[d->stacks.len]);
		if (err)
			break;
		d->stacks.len++;
	}
	free(frames);
	if (err)
		return err;

	n = read_count(r, 1);
	if ((err = VEC_RESERVE(d->labelsets, d->labelsets.len + n)))
		return err;
	for (size_t i = 0; i < n && !r->err; i++) {
		struct profile_label labels[PROFILE_MAX_LABELS];
		size_t len = rbuf_bounded(r, PROFILE_MAX_LABELS + 1);
		for (size_t j = 0; j < len && !r->err; j++) {
			uint32_t k = MAP(r, d->strings, key);
			uint32_t v = MAP(r, d->strings, value);
			if (r->err)
				break;
			labels[j].key = profile__string(p, k);
			labels[j].value = profile__string(p, v);
		}
		if (r->err)
			break;
		/* Re-sorted and re-checked here: the file's order is not trusted. */
		err = profile__intern_labels(p, labels, len, &d->labelsets.v[d->labelsets.len]);
		if (err)
			return err;
		d->labelsets.len++;
	}
	return r->err;
}

/* Version 1: one entry per sample, times in ns, each field a column. */
static int read_samples_v1(struct profile *p, struct chunk_decoder *d, struct rbuf *r,
			   uint64_t base_time, const struct profile_filter *f)
{
	/* Seven columns, each value at least one byte. */
	size_t n = read_count(r, 7);
	struct pseries *se = NULL;
	uint64_t *times = NULL, *weights = NULL;
	uint64_t t = base_time;
	int err = 0;

	if (r->err)
		return r->err;
	se = calloc(n ? n : 1, sizeof(*se));
	times = calloc(n ? n : 1, sizeof(*times));
	weights = calloc(n ? n : 1, sizeof(*weights));
	if (!se || !times || !weights) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		t += (uint64_t)varint_unzigzag(rbuf_varint(r));
		times[i] = t;
	}
	for (size_t i = 0; i < n; i++)
		se[i].stack = MAP(r, d->stacks, stack);
	for (size_t i = 0; i < n; i++)
		se[i].pid = (int32_t)rbuf_bounded(r, (uint64_t)UINT32_MAX + 1);
	for (size_t i = 0; i < n; i++)
		se[i].tid = (int32_t)((int64_t)se[i].pid + varint_unzigzag(rbuf_varint(r)));
	for (size_t i = 0; i < n; i++)
		se[i].comm = MAP(r, d->strings, comm);
	for (size_t i = 0; i < n; i++) {
		uint32_t l = rbuf_bounded(r, d->labelsets.len + 1);
		se[i].labels = l ? d->labelsets.v[l - 1] : 0;
	}
	for (size_t i = 0; i < n; i++)
		weights[i] = rbuf_varint(r);
	err = r->err;
	if (!err && !f)
		err = profile__reserve_samples(p, n);
	for (size_t i = 0; i < n && !err; i++) {
		struct psample ps = { .time_ns = profile__bucket_time(times[i]) };

		err = profile__intern_series(p, &se[i], &ps.series);
		if (err)
			break;
		if (f) {
			struct profile_sample view;

			profile__view_sample(p, &ps, &view);
			if (!profile__sample_matches(p, &view, f))
				continue;
		}
		err = profile__push_samples(p, ps.series, ps.time_ns, 1, weights[i]);
	}
cleanup:
	free(se);
	free(times);
	free(weights);
	return err;
}

static int read_series(struct profile *p, struct chunk_decoder *d, struct rbuf *r,
		       const struct chunk_starts *st)
{
	/* Five columns, each value at least one byte. */
	size_t n = read_count(r, 5);
	struct pseries *se = NULL;
	uint64_t next = st->stacks;
	int err = 0;

	if (r->err)
		return r->err;
	if ((err = VEC_RESERVE(d->series, d->series.len + n)))
		return err;
	se = calloc(n ? n : 1, sizeof(*se));
	if (!se)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		se[i].stack = MAP_NEXT(r, &next, d->stacks);
	for (size_t i = 0; i < n; i++)
		se[i].pid = (int32_t)rbuf_bounded(r, (uint64_t)UINT32_MAX + 1);
	for (size_t i = 0; i < n; i++)
		se[i].tid = (int32_t)((int64_t)se[i].pid + varint_unzigzag(rbuf_varint(r)));
	for (size_t i = 0; i < n; i++)
		se[i].comm = MAP(r, d->strings, comm);
	for (size_t i = 0; i < n; i++) {
		uint32_t l = rbuf_bounded(r, d->labelsets.len + 1);
		se[i].labels = l ? d->labelsets.v[l - 1] : 0;
	}
	err = r->err;
	for (size_t i = 0; i < n && !err; i++) {
		err = profile__intern_series(p, &se[i], &d->series.v[d->series.len]);
		if (!err)
			d->series.len++;
	}
	free(se);
	return err;
}

static int read_records(struct profile *p, struct chunk_decoder *d, struct rbuf *r,
			const struct chunk_starts *st, uint64_t base_time, uint64_t bucket_ns,
			const struct profile_filter *f)
{
	/* Four columns, each value at least one byte. */
	size_t n = read_count(r, 4);
	struct psample *s = NULL;
	uint64_t k = base_time / bucket_ns, next = st->series;
	int err = 0;

	if (r->err)
		return r->err;
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		k += (uint64_t)varint_unzigzag(rbuf_varint(r));
		if (k > UINT64_MAX / bucket_ns && !r->err)
			r->err = -EINVAL; /* a time past 2^64 ns */
		s[i].time_ns = profile__bucket_time(k * bucket_ns);
	}
	for (size_t i = 0; i < n; i++)
		s[i].series = MAP_NEXT(r, &next, d->series);
	for (size_t i = 0; i < n; i++) {
		s[i].count = rbuf_varint(r);
		if (!s[i].count && !r->err)
			r->err = -EINVAL; /* a record holds at least one sample */
	}
	for (size_t i = 0; i < n; i++)
		s[i].weight = s[i].count + (uint64_t)varint_unzigzag(rbuf_varint(r));
	err = r->err;
	if (!err && !f)
		err = profile__reserve_samples(p, n);
	for (size_t i = 0; i < n && !err; i++) {
		if (f) {
			struct profile_sample view;

			profile__view_sample(p, &s[i], &view);
			if (!profile__sample_matches(p, &view, f))
				continue;
		}
		err = profile__push_samples(p, s[i].series, s[i].time_ns, s[i].count, s[i].weight);
	}
	free(s);
	return err;
}

int profile__apply_chunk(struct profile *p, struct chunk_decoder *d, const void *chunk,
			 size_t len, const struct profile_filter *f)
{
	struct rbuf r = { .b = chunk, .len = len };
	struct profile_counts c;
	uint64_t period, start, end, bucket;
	const unsigned char *type;
	bool v1 = d->major == 1;
	struct chunk_starts st = { d->strings.len, d->frames.len, d->stacks.len, d->series.len };
	int err = 0;

	type = rbuf_bytes(&r, 1);
	if (!type)
		return -EINVAL;
	if (*type != SMOLDER_CHUNK_DATA)
		/* Types 128-255 are optional additions a reader may skip (format.md). */
		return *type >= 128 ? 0 : -EINVAL;
	period = rbuf_varint(&r);
	start = rbuf_varint(&r);
	end = rbuf_varint(&r);
	c.lost = rbuf_varint(&r);
	c.truncated = rbuf_varint(&r);
	bucket = v1 ? 1 : rbuf_varint(&r);
	if (r.err || !bucket)
		return -EINVAL;
	err = read_tables(p, d, &r, v1, &st);
	if (!err)
		err = v1 ? read_samples_v1(p, d, &r, start, f) : read_series(p, d, &r, &st);
	if (!err && !v1)
		err = read_records(p, d, &r, &st, start, bucket, f);
	if (err)
		return err;
	if (r.pos != r.len)
		return -EINVAL; /* trailing bytes: not what a writer of this version makes */
	if (period)
		p->info.period_ns = period;
	profile__widen_range(p, start, end);
	profile__add_counts(p, &c);
	/* The chunk says when its batch lost them: kept for timelines (format.md). */
	return profile__add_lost_interval(p, start, end, c.lost);
}

int profile__decode(struct profile *p, const void *buf, size_t len,
		    const struct profile_filter *f, struct profile_read_stats *stats)
{
	const unsigned char *b = buf;
	struct chunk_decoder d = { 0 };
	struct profile_read_stats st = { 0 };
	ZSTD_DCtx *dctx = NULL;
	void *out = NULL;
	size_t pos;
	int err = 0;

	if (len < SMOLDER_PREAMBLE_LEN) {
		/* A file cut short inside its preamble (a crash right after it was created)
		 * holds nothing yet: a torn tail, not a foreign file. */
		struct wbuf pre = { 0 };
		profile__encode_preamble(&pre);
		bool prefix = !pre.err && !memcmp(pre.buf.v, buf, len < 16 ? len : 16);
		VEC_FREE(pre.buf);
		if (!prefix)
			return -EINVAL;
		if (stats)
			*stats = (struct profile_read_stats){ .torn_bytes = len };
		return 0;
	}
	if (!profile__is_smolder(buf, len))
		return -EINVAL;
	/* Minor versions only add what older readers may skip; each major version this
	 * reader knows has its own decoder. */
	d.major = b[16] | b[17] << 8;
	if (d.major < SMOLDER_VERSION_MAJOR_OLDEST || d.major > SMOLDER_VERSION_MAJOR)
		return -EINVAL;
	dctx = ZSTD_createDCtx();
	if (!dctx)
		return -ENOMEM;
	pos = SMOLDER_PREAMBLE_LEN;
	st.valid_bytes = pos;
	while (pos < len) {
		const unsigned char *frame = b + pos;
		size_t left = len - pos, csize, n;
		unsigned long long content;

		if (left >= 8 && (le32(frame) & SKIPPABLE_MASK) == SKIPPABLE_BASE) {
			uint64_t skip = 8 + (uint64_t)le32(frame + 4);
			if (skip > left)
				break; /* torn */
			pos += skip;
			st.valid_bytes = pos;
			continue;
		}
		csize = ZSTD_findFrameCompressedSize(frame, left);
		if (ZSTD_isError(csize) || le32(frame) != ZSTD_MAGICNUMBER)
			break; /* cut short: torn tail */
		/* Frame_Header_Descriptor bit 2: Content_Checksum_flag (RFC 8878 3.1.1.1.1).
		 * A frame without one cannot tell damage from data: not ours. */
		content = ZSTD_getFrameContentSize(frame, left);
		if (!(frame[4] & 0x04) || content == ZSTD_CONTENTSIZE_UNKNOWN ||
		    content == ZSTD_CONTENTSIZE_ERROR || content > PROFILE_CHUNK_MAX_BYTES)
			break;
		free(out);
		out = malloc(content ? content : 1);
		if (!out) {
			err = -ENOMEM;
			goto cleanup;
		}
		n = ZSTD_decompressDCtx(dctx, out, content, frame, csize);
		if (ZSTD_isError(n) || n != content)
			break; /* checksum or content failed: torn or damaged */
		err = profile__apply_chunk(p, &d, out, n, f);
		if (err)
			goto cleanup;
		pos += csize;
		st.chunks++;
		st.valid_bytes = pos;
	}
	st.torn_bytes = len - st.valid_bytes;
cleanup:
	if (stats)
		*stats = st;
	free(out);
	ZSTD_freeDCtx(dctx);
	chunk_decoder__free(&d);
	return err;
}

int profile__read_file(struct profile *p, const char *path, const struct profile_filter *f,
		       struct profile_read_stats *stats)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int err = profile__slurp(path, PROFILE_FILE_MAX_BYTES, &buf, &len);

	if (err)
		return err;
	err = profile__decode(p, buf, len, f, stats);
	free(buf);
	return err;
}
