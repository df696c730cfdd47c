/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perfmap.c - JIT symbol maps in perf's /tmp/perf-PID.map format, written by Node
 * (--perf-basic-prof), Python 3.12 (-X perf), perf-map-agent for the JVM and others:
 * one "START SIZE NAME" line per compiled function, START and SIZE in hex.
 *
 * The file grows while the process runs, so it is parsed incrementally: appended whole
 * lines are added to an unsorted tail, which is merged into the sorted table at the
 * next lookup. Names live in fixed-size chunks that never move, so a name handed out
 * stays valid while more lines are read. The input is untrusted (any process can write
 * its own map): every field is bounded and malformed lines are skipped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer_int.h"
#include "vec.h"

struct pm_entry {
	uint64_t start, size;
	uint64_t seq;   /* line number: later definitions win */
	const char *name;
};

struct pm_chunk {
	struct pm_chunk *next;
	size_t used, cap;
	char data[];
};

struct perfmap {
	VEC(struct pm_entry) e;
	size_t sorted; /* e.v[0..sorted) is sorted and deduplicated */
	uint64_t seq;
	struct pm_chunk *chunks;
	size_t bytes;  /* names + entries, for the memory limit */
};

#define CHUNK_SIZE (64u << 10)

struct perfmap *perfmap__new(void)
{
	return calloc(1, sizeof(struct perfmap));
}

void perfmap__free(struct perfmap *m)
{
	if (!m)
		return;
	while (m->chunks) {
		struct pm_chunk *c = m->chunks;

		m->chunks = c->next;
		free(c);
	}
	VEC_FREE(m->e);
	free(m);
}

static const char *store_name(struct perfmap *m, const char *s, size_t len)
{
	struct pm_chunk *c = m->chunks;
	char *out;

	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = m->chunks;
		m->chunks = c;
		m->bytes += sizeof(*c) + cap;
	}
	out = c->data + c->used;
	memcpy(out, s, len);
	out[len] = '\0';
	c->used += len + 1;
	return out;
}

/* A perf-map number: hex, with or without "0x". */
static bool hex_field(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;

	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!symbolizer__parse_hex(&s, end, out))
		return false;
	*p = s;
	return true;
}

/* One line without its newline. @return 1 added, 0 skipped, negative errno. */
static int parse_line(struct perfmap *m, const char *p, const char *end)
{
	uint64_t start, size;
	struct pm_entry *e;
	const char *name;
	size_t len, cap;

	if (end > p && end[-1] == '\r')
		end--;
	if (!hex_field(&p, end, &start) || p >= end || *p != ' ')
		return 0;
	while (p < end && *p == ' ')
		p++;
	if (!hex_field(&p, end, &size) || p >= end || *p != ' ')
		return 0;
	while (p < end && *p == ' ')
		p++;
	name = p;
	len = (size_t)(end - p);
	/* A zero size covers nothing; a range that wraps is not code. */
	if (len == 0 || size == 0 || start + size < start)
		return 0;
	if (len > PERFMAP_MAX_NAME)
		len = PERFMAP_MAX_NAME;
	if (memchr(name, '\0', len))
		return 0;
	if (m->e.len >= PERFMAP_MAX_ENTRIES || m->bytes + len + 1 + sizeof(struct pm_entry) >
						       PERFMAP_MAX_BYTES)
		return -E2BIG;
	cap = m->e.cap;
	if (VEC_RESERVE(m->e, m->e.len + 1))
		return -ENOMEM;
	m->bytes += (m->e.cap - cap) * sizeof(*m->e.v);
	e = &m->e.v[m->e.len];
	e->name = store_name(m, name, len);
	if (!e->name)
		return -ENOMEM;
	e->start = start;
	e->size = size;
	e->seq = m->seq++;
	m->e.len++;
	return 1;
}

int perfmap__parse(struct perfmap *m, const char *buf, size_t len, size_t *consumed)
{
	const char *p = buf, *end = buf + len;
	int err = 0;

	*consumed = 0;
	if (!m)
		return -EINVAL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break; /* the writer is mid-line: read it next time */
		err = parse_line(m, p, nl);
		if (err < 0)
			break;
		err = 0;
		p = nl + 1;
	}
	*consumed = (size_t)(p - buf);
	return err;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct pm_entry *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	/* Newest first among equal starts: it is the one kept. */
	if (a->seq != b->seq)
		return a->seq > b->seq ? -1 : 1;
	return 0;
}

/* Drop all but the newest of equal starts in the sorted run e[0..n). @return new n. */
static size_t dedupe(struct pm_entry *e, size_t n)
{
	size_t i, k;

	for (i = 0, k = 0; i < n; i++) {
		if (k && e[k - 1].start == e[i].start)
			continue;
		e[k++] = e[i];
	}
	return k;
}

/*
 * Fold the lines added since the last lookup into the sorted table: sort only the new
 * tail, then merge the two runs, so a batch of k new lines costs O(n + k log k) rather
 * than a re-sort of everything (a JVM's map has 10^5-10^6 lines).
 */
static void merge_pending(struct perfmap *m)
{
	size_t a = 0, b, o = 0, n = m->e.len, old = m->sorted;
	struct pm_entry *e = m->e.v, *out;

	if (old == n)
		return;
	qsort(e + old, n - old, sizeof(*e), entry_cmp);
	if (old == 0) {
		m->e.len = m->sorted = dedupe(e, n);
		return;
	}
	/* As large as the table, so it takes the table's place with its capacity. */
	out = malloc(m->e.cap * sizeof(*out));
	if (!out) {
		/* No memory for the merge: a full sort in place does the same job. */
		qsort(e, n, sizeof(*e), entry_cmp);
		m->e.len = m->sorted = dedupe(e, n);
		return;
	}
	for (b = old; a < old || b < n;) {
		if (b == n || (a < old && entry_cmp(&e[a], &e[b]) <= 0))
			out[o++] = e[a++];
		else
			out[o++] = e[b++];
	}
	free(e);
	m->e.v = out;
	m->e.len = m->sorted = dedupe(out, o);
}

#define PM_BACKSCAN 8

const char *perfmap__lookup(struct perfmap *m, uint64_t addr, uint64_t *offset)
{
	const struct pm_entry *best = NULL;
	size_t lo = 0, hi, i, k;

	if (!m)
		return NULL;
	merge_pending(m);
	hi = m->e.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Overlapping ranges (code moved by a GC, then new code at a nearby start): among
	 * the few closest starts that contain the address, the newest wins. */
	for (i = lo, k = 0; i > 0 && k < PM_BACKSCAN; i--, k++) {
		const struct pm_entry *e = &m->e.v[i - 1];

		if (addr - e->start < e->size && (!best || e->seq > best->seq))
			best = e;
	}
	if (!best)
		return NULL;
	if (offset)
		*offset = addr - best->start;
	return best->name;
}

size_t perfmap__count(const struct perfmap *m)
{
	return m ? m->e.len : 0;
}

size_t perfmap__mem_bytes(const struct perfmap *m)
{
	return m ? m->bytes + sizeof(*m) : 0;
}
