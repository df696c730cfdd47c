/* SPDX-License-Identifier: Apache-2.0 */
/*
 * folded.c - folded stack text ("comm;outer;...;inner COUNT"), the interchange format
 * of FlameGraph, inferno and speedscope: writer and reader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hash.h"
#include "profile_internal.h"

/* Longest line and deepest stack the reader accepts; beyond them input is malformed. */
#define FOLDED_MAX_LINE (1u << 20)
#define FOLDED_MAX_FRAMES 8192

/* Text builder: a NUL-terminated string in a growable buffer. */
struct buf {
	VEC(char) s;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
	int err = VEC_RESERVE(b->s, b->s.len + n + 1);

	if (err)
		return err;
	memcpy(b->s.v + b->s.len, s, n);
	b->s.len += n;
	b->s.v[b->s.len] = '\0';
	return 0;
}

/* A frame name as folded text shows it: one line, its kind as a suffix. */
static int put_frame(struct buf *b, const char *name, enum frame_kind kind)
{
	size_t start = b->s.len;
	int err = buf_put(b, name, strlen(name));
	if (err)
		return err;
	/* A ';' would split the frame in two when read back (JVM signatures carry
	 * them): it becomes ':'; a line break would end the line. */
	for (size_t i = start; i < b->s.len; i++) {
		if (b->s.v[i] == '\n' || b->s.v[i] == '\r')
			b->s.v[i] = ' ';
		else if (b->s.v[i] == ';')
			b->s.v[i] = ':';
	}
	if (kind == FRAME_KERNEL)
		return buf_put(b, "_[k]", 4);
	if (kind == FRAME_JIT)
		return buf_put(b, "_[j]", 4);
	if (kind == FRAME_PYTHON)
		return buf_put(b, "_[p]", 4);
	return 0;
}

/* A line's stack text and its count. */
struct line {
	char *text;
	uint64_t weight;
};

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int profile__write_folded(const struct profile *p, FILE *out)
{
	struct sample_aggs set = { 0 };
	struct line *lines = NULL;
	size_t nlines = 0;
	int err = profile__aggregate(p, false, &set);

	if (err)
		goto cleanup;

	lines = calloc(set.items.len ? set.items.len : 1, sizeof(*lines));
	if (!lines) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < set.items.len; i++) {
		const struct sample_agg *a = &set.items.v[i];
		const struct pstack *st = &p->stacks.v[a->stack];
		const char *comm = profile__string(p, a->comm);
		struct buf b = { 0 };
		int sep = 0;

		if (*comm) {
			err = put_frame(&b, comm, FRAME_USER);
			sep = 1;
		}
		for (size_t j = 0; !err && j < st->len; j++) {
			uint32_t f = p->stack_frames.v[st->off + j];
			if (sep)
				err = buf_put(&b, ";", 1);
			if (!err)
				err = put_frame(&b, profile__frame_name(p, f), p->frames.v[f].kind);
			sep = 1;
		}
		if (!err && !b.s.v)
			err = buf_put(&b, "", 0); /* an empty stack of no process */
		lines[nlines++] = (struct line){ b.s.v, a->weight };
		if (err)
			goto cleanup;
	}
	/* Frames that differ but read the same (a name from a 1.0 file beside an
	 * unresolved frame, or two source files) make one line: merge by text, then sort
	 * the whole lines bytewise, counts included, as they are printed. */
	qsort(lines, nlines, sizeof(*lines), cmp_lines);
	size_t w = 0;
	for (size_t i = 0, j; i < nlines; i = j, w++) {
		struct buf b = { 0 };
		char count[32];
		uint64_t weight = lines[i].weight;

		for (j = i + 1; j < nlines && !strcmp(lines[i].text, lines[j].text); j++)
			weight += lines[j].weight;
		int n = snprintf(count, sizeof(count), " %llu\n", (unsigned long long)weight);
		err = buf_put(&b, lines[i].text, strlen(lines[i].text));
		if (!err)
			err = buf_put(&b, count, (size_t)n);
		for (size_t k = i; k < j; k++) {
			free(lines[k].text);
			lines[k].text = NULL;
		}
		lines[w].text = b.s.v;
		if (err) {
			for (size_t k = j; k < nlines; k++)
				free(lines[k].text);
			nlines = w + 1;
			goto cleanup;
		}
	}
	nlines = w;
	qsort(lines, nlines, sizeof(*lines), cmp_lines);
	errno = 0;
	for (size_t i = 0; i < nlines; i++)
		if (fputs(lines[i].text, out) == EOF) {
			err = profile__stdio_error(out);
			goto cleanup;
		}
	if (fflush(out) == EOF || ferror(out))
		err = profile__stdio_error(out);

cleanup:
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].text);
	free(lines);
	sample_aggs__free(&set);
	return err;
}

/* Tell a folded element's kind from its suffix or shape; *len loses the suffix. */
static enum frame_kind folded_kind(const char *s, size_t *len)
{
	size_t n = *len;

	if (n >= 4 && s[n - 4] == '_' && s[n - 3] == '[' && s[n - 1] == ']') {
		char k = s[n - 2];
		if (k == 'k') {
			*len = n - 4;
			return FRAME_KERNEL;
		}
		if (k == 'j') {
			*len = n - 4;
			return FRAME_JIT;
		}
		if (k == 'p') {
			*len = n - 4;
			return FRAME_PYTHON;
		}
		if (k == 'i' || k == 'w') { /* inlined / waker frames: plain user code */
			*len = n - 4;
			return FRAME_USER;
		}
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' &&
	    (memmem(s, n, "+0x", 3) || (n == 9 && memcmp(s, "[unknown]", 9) == 0)))
		return FRAME_UNKNOWN;
	return FRAME_USER;
}

/*
 * Reader state kept from line to line. Folded files are usually sorted, so a line
 * mostly repeats the previous line's leading frames: those frames' ids are reused
 * instead of being hashed and looked up again. The other frames are looked up in a
 * table of the element texts met so far (a few thousand distinct names make
 * millions of elements), hashed a word at a time, so the profile's own interning
 * runs once per distinct element. Lines are parsed where they lie, in the caller's
 * buffer or in a chunk buffer refilled from the stream; nothing is allocated per line.
 */

/* Distinct element texts remembered; beyond it new ones go to the profile directly. */
#define FOLDED_CACHE_MAX (1u << 20)
/* Bytes a stream is read by; holds a longest line and its newline. */
#define FOLDED_CHUNK (4u << 20)
/* Input read before the profile's tables are sized for the rest of it. */
#define FOLDED_SAMPLE_BYTES FOLDED_CHUNK

struct elem_slot {
	uint64_t hash; /* 0: empty (a text hashing to 0 is stored as 1) */
	uint32_t off, len; /* its text in folded_reader.keys */
	uint32_t frame;
};

struct folded_reader {
	struct profile *p;
	/* Where each line goes: profile__add_sample(), or a caller's sink. */
	int (*fn)(const struct profile_sample *s, void *ctx);
	void *ctx;
	/* The previous line's stack text (comm;frames), unmodified: where it lies in the
	 * input, or in @kept once the chunk holding it is refilled (keep_prev). */
	const char *prev;
	size_t prev_len;
	VEC(char) kept;
	size_t nelems;     /* elements of the previous line: comm, then frames */
	size_t *ends;      /* ends[k]: offset of the ';' after element k (or the end) */
	uint32_t *frames;  /* frame ids of elements 1..nelems-1 */
	struct elem_slot *slots; /* element text -> frame id, open addressing */
	size_t cap, len;
	VEC(char) keys;    /* the texts of the slots, back to back */
	VEC(char) scratch; /* a NUL-terminated copy for the profile's interning */
	size_t lineno;
	/* The profile's table sizes when reading began, to tell what the input added. */
	size_t stacks0, frames0, series0, records0;
};

/* A word at a time, little-endian: the last partial word is read byte by byte so
 * that nothing past @len is touched (the text may end a mapping). */
static uint64_t elem_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	for (size_t k = 0; i + k < len; k++)
		w |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
	h = hash_mix64(h ^ w);
	return h ? h : 1;
}

static int scratch_set(struct folded_reader *rd, const char *s, size_t n)
{
	int err = VEC_RESERVE(rd->scratch, n + 1);

	if (err)
		return err;
	memcpy(rd->scratch.v, s, n);
	rd->scratch.v[n] = '\0';
	return 0;
}

static int cache_grow(struct folded_reader *rd)
{
	size_t cap = rd->cap ? rd->cap * 2 : 4096;
	struct elem_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < rd->cap; i++) {
		size_t j;

		if (!rd->slots[i].hash)
			continue;
		for (j = rd->slots[i].hash & (cap - 1); slots[j].hash; j = (j + 1) & (cap - 1))
			;
		slots[j] = rd->slots[i];
	}
	free(rd->slots);
	rd->slots = slots;
	rd->cap = cap;
	return 0;
}

/* The frame id of element text @elem (@elen bytes, suffix included). */
static int elem_frame(struct folded_reader *rd, const char *elem, size_t elen, uint32_t *id)
{
	uint64_t h = elem_hash(elem, elen);
	size_t j = 0, nlen = elen;
	enum frame_kind kind;
	int err;

	if (rd->cap) {
		for (j = h & (rd->cap - 1); rd->slots[j].hash; j = (j + 1) & (rd->cap - 1)) {
			const struct elem_slot *sl = &rd->slots[j];

			/* (An empty text may have no key storage behind it.) */
			if (sl->hash == h && sl->len == elen &&
			    (!elen || !memcmp(rd->keys.v + sl->off, elem, elen))) {
				*id = sl->frame;
				return 0;
			}
		}
	}
	kind = folded_kind(elem, &nlen);
	err = scratch_set(rd, elem, nlen);
	if (!err)
		err = profile__intern_frame(rd->p, rd->scratch.v, kind, id);
	if (err || rd->len >= FOLDED_CACHE_MAX || rd->keys.len + elen > UINT32_MAX)
		return err;
	if ((rd->len + 1) * 2 > rd->cap) {
		if ((err = cache_grow(rd)))
			return err;
		for (j = h & (rd->cap - 1); rd->slots[j].hash; j = (j + 1) & (rd->cap - 1))
			;
	}
	err = VEC_APPEND(rd->keys, elem, elen);
	if (err)
		return err;
	rd->slots[j] = (struct elem_slot){ h, (uint32_t)(rd->keys.len - elen), (uint32_t)elen,
					   *id };
	rd->len++;
	return 0;
}

/* The length of the common prefix of @a and @b, @n bytes long: a word at a time, as
 * sorted lines share most of their text with the line before. */
static size_t common_prefix(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(x ^ y) / 8;
#else
			return i + (size_t)__builtin_clzll(x ^ y) / 8;
#endif
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* Parse one folded line (without its newline) into the profile. */
static int read_line(struct folded_reader *rd, const char *line, size_t len)
{
	struct profile *p = rd->p;
	const char *end = line + len;
	const char *sp, *q;
	uint64_t count = 0;
	size_t n = 0, common = 0, reuse = 0, stack_len, pos;
	struct sample_meta meta = { 0 };
	int err;

	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (end == line)
		return 1; /* blank */
	sp = end;
	while (sp > line && sp[-1] != ' ')
		sp--;
	if (sp == line || sp == end)
		return -EINVAL; /* no count */
	for (q = sp; q < end; q++) {
		if (*q < '0' || *q > '9' || count > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		count = count * 10 + (uint64_t)(*q - '0');
	}
	end = sp - 1; /* the space before the count */
	stack_len = (size_t)(end - line);

	/* Elements whose text and following ';' lie in the prefix shared with the
	 * previous line are the same elements. */
	common = common_prefix(line, rd->prev, stack_len < rd->prev_len ? stack_len : rd->prev_len);
	while (reuse < rd->nelems && rd->ends[reuse] < common)
		reuse++;
	if (common == stack_len && common == rd->prev_len)
		reuse = rd->nelems;
	rd->prev = line;
	rd->prev_len = stack_len;

	n = reuse ? reuse - 1 : 0; /* frames already known */
	pos = reuse ? rd->ends[reuse - 1] + 1 : 0;
	rd->nelems = reuse;
	for (size_t k = reuse; pos <= stack_len; k++) {
		const char *elem = line + pos;
		const char *semi = memchr(elem, ';', stack_len - pos);
		size_t elen = semi ? (size_t)(semi - elem) : stack_len - pos;

		if (k > FOLDED_MAX_FRAMES)
			return -EINVAL;
		rd->ends[k] = pos + elen;
		rd->nelems = k + 1;
		if (k > 0) {
			err = elem_frame(rd, elem, elen, &rd->frames[n]);
			if (err)
				return err;
			n++;
		}
		if (!semi)
			break;
		pos += elen + 1;
	}
	/* The first element is the process name. */
	err = scratch_set(rd, line, rd->ends[0]);
	if (err)
		return err;
	if (rd->fn) {
		struct profile_sample s = { .frames = rd->frames, .nframes = n,
					    .comm = rd->scratch.v, .weight = count, .count = 1,
					    .stack = UINT32_MAX };
		return rd->fn(&s, rd->ctx);
	}
	meta.comm = rd->scratch.v;
	return profile__add_sample(p, rd->frames, n, &meta, count);
}

/* One line as the reader meets it, @len bytes without its newline. */
static int feed_line(struct folded_reader *rd, const char *line, size_t len)
{
	int err;

	rd->lineno++;
	if (len > FOLDED_MAX_LINE || memchr(line, '\0', len))
		return -EINVAL;
	err = read_line(rd, line, len);
	if (err < 0)
		rd->nelems = rd->prev_len = 0; /* the line was not taken whole */
	return err < 0 ? err : 0;
}

static int reader_init(struct folded_reader *rd, struct profile *p)
{
	memset(rd, 0, sizeof(*rd));
	rd->p = p;
	rd->stacks0 = p->stacks.len;
	rd->frames0 = p->stack_frames.len;
	rd->series0 = p->series.len;
	rd->records0 = p->samples.len;
	rd->frames = malloc(FOLDED_MAX_FRAMES * sizeof(*rd->frames));
	rd->ends = malloc((FOLDED_MAX_FRAMES + 1) * sizeof(*rd->ends));
	return rd->frames && rd->ends ? 0 : -ENOMEM;
}

static void reader_free(struct folded_reader *rd)
{
	free(rd->frames);
	free(rd->ends);
	free(rd->slots);
	VEC_FREE(rd->keys);
	VEC_FREE(rd->scratch);
	VEC_FREE(rd->kept);
}

/* Copy the previous line out of the chunk buffer about to be refilled. */
static int keep_prev(struct folded_reader *rd)
{
	int err;

	if (!rd->prev_len || rd->prev == rd->kept.v)
		return 0;
	err = VEC_RESERVE(rd->kept, rd->prev_len);
	if (err)
		return err;
	memcpy(rd->kept.v, rd->prev, rd->prev_len);
	rd->prev = rd->kept.v;
	return 0;
}

/*
 * Size the profile's tables for the whole input from what its first @done bytes of
 * @total added: a big file otherwise grows each table (and its index) by doubling,
 * moving and rehashing it a dozen times on the way. Only a hint: a failure to reserve
 * is left for the growth that will need the memory to report.
 */
static void reader_presize(struct folded_reader *rd, size_t done, size_t total)
{
	const struct profile *p = rd->p;
	double scale;

	if (!done || total <= done)
		return;
	scale = (double)(total - done) / (double)done;
	(void)profile__reserve_tables(rd->p, (size_t)((double)(p->stacks.len - rd->stacks0) * scale),
				      (size_t)((double)(p->stack_frames.len - rd->frames0) * scale),
				      (size_t)((double)(p->series.len - rd->series0) * scale),
				      (size_t)((double)(p->samples.len - rd->records0) * scale));
}

/* The complete lines of [@buf, @buf + @len); *@used: the bytes they took. */
static int feed_lines(struct folded_reader *rd, const char *buf, size_t len, size_t *used)
{
	size_t pos = 0;
	int err = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		if (!nl)
			break;
		err = feed_line(rd, buf + pos, (size_t)(nl - (buf + pos)));
		if (err)
			break;
		pos = (size_t)(nl - buf) + 1;
	}
	*used = pos;
	return err;
}

int profile__read_folded_mem(struct profile *p, const char *buf, size_t len, size_t *bad_line)
{
	struct folded_reader rd;
	size_t used = 0;
	int err = reader_init(&rd, p);

	if (!err && len > 2 * FOLDED_SAMPLE_BYTES) {
		err = feed_lines(&rd, buf, FOLDED_SAMPLE_BYTES, &used);
		reader_presize(&rd, used, len);
	}
	if (!err) {
		size_t more;

		err = feed_lines(&rd, buf + used, len - used, &more);
		used += more;
	}
	if (!err && used < len) /* the last line, without a newline */
		err = feed_line(&rd, buf + used, len - used);
	if (err == -EINVAL && bad_line)
		*bad_line = rd.lineno;
	reader_free(&rd);
	return err;
}

/* Read @in through @rd, line by line, in chunks of FOLDED_CHUNK. */
static int read_stream(struct folded_reader *rd, FILE *in, size_t *bad_line)
{
	char *buf = NULL;
	size_t have = 0, used, done = 0, total = 0;
	struct stat st;
	off_t at;
	int err = 0;

	/* A regular file's size says how much comes (reader_presize); a sink keeps
	 * nothing in the profile's tables, so there is nothing to size. */
	if (!rd->fn && !fstat(fileno(in), &st) && S_ISREG(st.st_mode) &&
	    (at = ftello(in)) >= 0 && st.st_size > at)
		total = (size_t)(st.st_size - at);

	if (!(buf = malloc(FOLDED_CHUNK)))
		err = -ENOMEM;
	while (!err) {
		size_t got = fread(buf + have, 1, FOLDED_CHUNK - have, in);

		have += got;
		if (!got) {
			if (ferror(in))
				err = -EIO;
			else if (have) /* the last line, without a newline */
				err = feed_line(rd, buf, have);
			break;
		}
		err = feed_lines(rd, buf, have, &used);
		if (err)
			break;
		if (!done && total > 2 * FOLDED_SAMPLE_BYTES)
			reader_presize(rd, used, total);
		done += used;
		if ((err = keep_prev(rd)))
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
		/* A line longer than the reader takes, whatever comes after it. */
		if (have > FOLDED_MAX_LINE) {
			rd->lineno++;
			err = -EINVAL;
		}
	}
	if (err == -EINVAL && bad_line)
		*bad_line = rd->lineno;
	free(buf);
	return err;
}

int profile__read_folded(struct profile *p, FILE *in, size_t *bad_line)
{
	struct folded_reader rd;
	int err = reader_init(&rd, p);

	if (!err)
		err = read_stream(&rd, in, bad_line);
	reader_free(&rd);
	return err;
}

int profile__scan_folded(struct profile *p, FILE *in,
			 int (*fn)(const struct profile_sample *s, void *ctx), void *ctx,
			 size_t *bad_line)
{
	struct folded_reader rd;
	int err = reader_init(&rd, p);

	rd.fn = fn;
	rd.ctx = ctx;
	if (!err)
		err = read_stream(&rd, in, bad_line);
	reader_free(&rd);
	return err;
}
