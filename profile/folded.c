/* SPDX-License-Identifier: Apache-2.0 */
/*
 * folded.c - folded stack text ("comm;outer;...;inner COUNT"), the interchange format
 * of FlameGraph, inferno and speedscope: writer and reader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
 * instead of being hashed and looked up again, which is most of the reading cost.
 */
struct folded_reader {
	VEC(char) prev;    /* the previous line's stack text (comm;frames), unmodified */
	size_t nelems;     /* elements of the previous line: comm, then frames */
	size_t *ends;      /* ends[k]: offset of the ';' after element k (or the end) */
	uint32_t *frames;  /* frame ids of elements 1..nelems-1 */
};

/* Parse one folded line (without its newline) into the profile. */
static int read_line(struct profile *p, struct folded_reader *rd, char *line, size_t len)
{
	char *end = line + len;
	char *sp, *q;
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
	*end = '\0';
	stack_len = (size_t)(end - line);

	/* Elements whose text and following ';' lie in the prefix shared with the
	 * previous line are the same elements. */
	while (common < stack_len && common < rd->prev.len && line[common] == rd->prev.v[common])
		common++;
	while (reuse < rd->nelems && rd->ends[reuse] < common)
		reuse++;
	if (common == stack_len && common == rd->prev.len)
		reuse = rd->nelems;
	err = VEC_RESERVE(rd->prev, stack_len + 1);
	if (err)
		return err;
	memcpy(rd->prev.v, line, stack_len);
	rd->prev.len = stack_len;

	n = reuse ? reuse - 1 : 0; /* frames already known */
	pos = reuse ? rd->ends[reuse - 1] + 1 : 0;
	rd->nelems = reuse;
	for (size_t k = reuse; pos <= stack_len; k++) {
		char *elem = line + pos;
		char *semi = memchr(elem, ';', stack_len - pos);
		size_t elen = semi ? (size_t)(semi - elem) : stack_len - pos;

		if (k > FOLDED_MAX_FRAMES)
			return -EINVAL;
		rd->ends[k] = pos + elen;
		rd->nelems = k + 1;
		if (k > 0) {
			enum frame_kind kind = folded_kind(elem, &elen);
			char saved = elem[elen];

			elem[elen] = '\0';
			err = profile__intern_frame(p, elem, kind, &rd->frames[n]);
			elem[elen] = saved;
			if (err)
				return err;
			n++;
		}
		if (!semi)
			break;
		pos += elen + 1;
		if (k > 0)
			pos = rd->ends[k] + 1; /* elen lost its suffix in folded_kind */
	}
	/* The first element is the process name; its ';' is no longer needed. */
	line[rd->ends[0]] = '\0';
	meta.comm = line;
	return profile__add_sample(p, rd->frames, n, &meta, count);
}

int profile__read_folded(struct profile *p, FILE *in, size_t *bad_line)
{
	struct folded_reader rd = { 0 };
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int err = 0;

	rd.frames = malloc(FOLDED_MAX_FRAMES * sizeof(*rd.frames));
	rd.ends = malloc((FOLDED_MAX_FRAMES + 1) * sizeof(*rd.ends));
	if (!rd.frames || !rd.ends) {
		err = -ENOMEM;
		goto cleanup;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((size_t)len > FOLDED_MAX_LINE || memchr(line, '\0', (size_t)len)) {
			err = -EINVAL;
			break;
		}
		err = read_line(p, &rd, line, (size_t)len);
		if (err < 0) {
			rd.nelems = rd.prev.len = 0; /* the line was not taken whole */
			break;
		}
		err = 0;
	}
	if (!err && ferror(in))
		err = -EIO;
	if (err == -EINVAL && bad_line)
		*bad_line = lineno;
cleanup:
	free(line);
	free(rd.frames);
	free(rd.ends);
	VEC_FREE(rd.prev);
	return err;
}
