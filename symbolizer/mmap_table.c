/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmap_table.c - the executable mappings of processes as the kernel reported them
 * while they were made (perf MMAP2 records; agent/mmap_events.c reads them), so that a
 * process is loaded at its first sample without opening /proc/PID/maps.
 *
 * Under process churn most processes are sampled a few times and then exit, and
 * reading a new process's maps (an open and an ioctl per executable mapping) cost more
 * than the rest of its samples' work together (docs/platform.md). Here a new process
 * costs the handling of its records: a fork copies the parent's mappings, an exec
 * starts empty, each mmap is laid over what was there. Only a process whose whole life
 * since a fork or exec was seen is answered from here; any other (older than the
 * recording, records lost, a mapped file the kernel gave no build-id for) is read from
 * /proc as before. The table is bounded by count, least recently changed out first:
 * an exited process's entry is needed only until its last samples are drained, a
 * fraction of a second later.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "list.h"
#include "pool.h"
#include "symbolizer_int.h"
#include "vec.h"

/* A process's mappings; maps and bids are parallel and sorted by start. Shared,
 * unchanged, by a process and the children it forks until one of them maps something:
 * most children of a shell exec first, and copying the parent's mappings at every
 * fork was most of what the records of a new process cost. */
struct mm_set {
	unsigned int refs;
	VEC(struct proc_mapping) maps;
	VEC(struct proc_build_id) bids;
	VEC(char) strs;
	size_t strs_compacted; /* strs.len after the last compaction */
};

struct mm_entry {
	struct list_node lru;
	struct mm_entry *hnext;
	pid_t pid;
	uint64_t version;  /* changes with every change to the mappings */
	bool unknown_file; /* a file was mapped without a build-id: read /proc instead */
	struct mm_set *set; /* NULL: nothing mapped yet */
};

#define MM_POOL 32 /* released sets kept for reuse (set_put) */
#define MM_POOL_ENTRIES 256 /* removed entries kept for reuse (lib/pool.h) */

struct mmap_table {
	struct mm_entry **buckets;
	struct mm_set *pool[MM_POOL]; /* released sets kept with their arrays, for new ones */
	size_t npool;
	struct obj_pool entries; /* counted in bytes */
	size_t mask;
	struct list_node lru; /* most recently changed first */
	size_t n, max;
	size_t bytes;
	uint64_t mmaps, evictions, failed;
	uint64_t next_version;
	bool active; /* the kernel's records are being read */
};

/* Most mappings one process is followed for here; a process with more (a JIT's many
 * code regions) is read from /proc. */
#define MM_MAX_MAPPINGS 4096
#define MM_STRS_MIN 512 /* bytes of paths a set has room for from the start */

/* A set's memory, counted once however many processes share it. */
static size_t set_bytes(const struct mm_set *s)
{
	return s ? sizeof(*s) + s->maps.cap * sizeof(s->maps.v[0]) +
			   s->bids.cap * sizeof(s->bids.v[0]) + s->strs.cap
		 : 0;
}

/* A set this large is freed when released rather than kept for reuse. */
#define MM_POOL_MAX_BYTES 16384

static void set_free(struct mmap_table *t, struct mm_set *s)
{
	t->bytes -= set_bytes(s);
	VEC_FREE(s->maps);
	VEC_FREE(s->bids);
	VEC_FREE(s->strs);
	free(s);
}

/*
 * Under churn a set is made for every program exec'd and released at its exit a
 * moment later; its three arrays grew by doubling meanwhile, six or seven reallocs
 * of which were most of what a process's mapping records cost. A released set that
 * is not large is kept, emptied, for the next one (still counted in t->bytes).
 */
static void set_put(struct mmap_table *t, struct mm_set *s)
{
	if (!s || --s->refs)
		return;
	if (t->npool == MM_POOL ||
	    set_bytes(s) > MM_POOL_MAX_BYTES) {
		set_free(t, s);
		return;
	}
	s->maps.len = s->bids.len = s->strs.len = 0;
	s->strs_compacted = 0;
	t->pool[t->npool++] = s;
}

/* An empty set, refs 1: from the pool, else new (counted in t->bytes either way).
 * NULL on ENOMEM. */
static struct mm_set *set_alloc(struct mmap_table *t)
{
	struct mm_set *s;

	if (t->npool) {
		s = t->pool[--t->npool];
	} else {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		t->bytes += set_bytes(s);
	}
	s->refs = 1;
	return s;
}

struct mmap_table *mmap_table__new(size_t max_processes)
{
	struct mmap_table *t = calloc(1, sizeof(*t));
	size_t nb = 64;

	if (!t)
		return NULL;
	while (nb < max_processes)
		nb *= 2;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->entries = OBJ_POOL_INIT(sizeof(struct mm_entry), MM_POOL_ENTRIES);
	t->max = max_processes ? max_processes : 1;
	list_init(&t->lru);
	return t;
}

static struct mm_entry **bucket(struct mmap_table *t, pid_t pid)
{
	return &t->buckets[hash_mix64((uint64_t)pid) & t->mask];
}

static struct mm_entry *find(const struct mmap_table *t, pid_t pid)
{
	struct mm_entry *e = t->buckets[hash_mix64((uint64_t)pid) & t->mask];

	while (e && e->pid != pid)
		e = e->hnext;
	return e;
}

static void entry_remove(struct mmap_table *t, struct mm_entry *e)
{
	struct mm_entry **pp = bucket(t, e->pid);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_del(&e->lru);
	t->n--;
	set_put(t, e->set);
	if (t->entries.n == t->entries.max)
		t->bytes -= sizeof(*e);
	obj_pool_put(&t->entries, e);
}

void mmap_table__clear(struct mmap_table *t)
{
	struct list_node *n;

	while ((n = list_first(&t->lru)))
		entry_remove(t, container_of(n, struct mm_entry, lru));
	while (t->npool)
		set_free(t, t->pool[--t->npool]);
	t->bytes -= t->entries.n * sizeof(struct mm_entry);
	obj_pool_clear(&t->entries);
}

void mmap_table__free(struct mmap_table *t)
{
	if (!t)
		return;
	mmap_table__clear(t);
	free(t->buckets);
	free(t);
}

void mmap_table__stats(const struct mmap_table *t, struct mmap_table_stats *out)
{
	*out = (struct mmap_table_stats){ .processes = t->n, .bytes = t->bytes,
					  .mmaps = t->mmaps, .evictions = t->evictions,
					  .failed = t->failed };
}

void mmap_table__forget(struct mmap_table *t, pid_t pid)
{
	struct mm_entry *e = find(t, pid);

	if (e)
		entry_remove(t, e);
}

/* A fresh, empty entry for @pid, replacing any there was. */
static struct mm_entry *entry_new(struct mmap_table *t, pid_t pid)
{
	struct mm_entry *e;

	mmap_table__forget(t, pid);
	if (t->n >= t->max && !list_empty(&t->lru)) {
		entry_remove(t, container_of(list_last(&t->lru), struct mm_entry, lru));
		t->evictions++;
	}
	if (!t->entries.n)
		t->bytes += sizeof(*e);
	e = obj_pool_get(&t->entries);
	if (!e) {
		t->bytes -= sizeof(*e);
		return NULL;
	}
	e->pid = pid;
	e->version = ++t->next_version;
	e->hnext = *bucket(t, pid);
	*bucket(t, pid) = e;
	list_add_front(&t->lru, &e->lru);
	t->n++;
	return e;
}

/* Into @dst, which has @src's mappings, an arena with only the paths they use
 * (@dst's own arena, if any, is freed). @return 0 or -ENOMEM (@dst unchanged). */
static int compact(struct mm_set *dst, const struct mm_set *src)
{
	VEC(char) strs = { 0 };

	for (size_t i = 0; i < src->maps.len; i++) {
		const char *p = src->strs.v + src->maps.v[i].path_off;
		size_t len = strlen(p);

		if (VEC_APPEND(strs, p, len + 1)) {
			VEC_FREE(strs);
			return -ENOMEM;
		}
	}
	for (size_t i = 0, off = 0; i < dst->maps.len; i++) {
		dst->maps.v[i].path_off = (uint32_t)off;
		off += strlen(strs.v + off) + 1;
	}
	VEC_FREE(dst->strs);
	dst->strs.v = strs.v;
	dst->strs.len = strs.len;
	dst->strs.cap = strs.cap;
	dst->strs_compacted = strs.len;
	return 0;
}

/* @e's set, for a change: its own (a copy of a shared one, a new one for an entry
 * with none). @return it, or NULL (ENOMEM). */
static struct mm_set *set_own(struct mmap_table *t, struct mm_entry *e)
{
	struct mm_set *s = e->set, *c;
	size_t before;

	if (s && s->refs == 1)
		return s;
	c = set_alloc(t);
	if (!c)
		return NULL;
	before = set_bytes(c);
	if (s && (VEC_RESERVE_EXACT(c->maps, s->maps.len) ||
		  VEC_RESERVE_EXACT(c->bids, s->bids.len))) {
		t->bytes += set_bytes(c) - before;
		set_put(t, c);
		return NULL;
	}
	if (s && s->maps.len) {
		memcpy(c->maps.v, s->maps.v, s->maps.len * sizeof(s->maps.v[0]));
		memcpy(c->bids.v, s->bids.v, s->bids.len * sizeof(s->bids.v[0]));
		c->maps.len = s->maps.len;
		c->bids.len = s->bids.len;
		if (compact(c, s)) {
			t->bytes += set_bytes(c) - before;
			set_put(t, c);
			return NULL;
		}
	}
	t->bytes += set_bytes(c) - before;
	set_put(t, s);
	e->set = c;
	return c;
}

void mmap_table__activate(struct mmap_table *t)
{
	t->active = true;
}

void mmap_table__seed(struct mmap_table *t, pid_t pid, const struct proc_maps *m,
		      uint64_t *version)
{
	struct mm_entry *e;
	struct mm_set *s;
	size_t before;

	if (!t->active)
		return;
	if (!(e = entry_new(t, pid)) || !(s = set_own(t, e))) {
		if (e)
			mmap_table__forget(t, pid);
		t->failed++;
		return;
	}
	before = set_bytes(s);
	for (size_t i = 0; i < m->n && !e->unknown_file; i++) {
		const struct proc_mapping *pm = &m->maps[i];
		struct proc_build_id none = { 0 };
		const struct proc_build_id *bid = m->bids ? &m->bids[i] : &none;
		uint32_t off = (uint32_t)s->strs.len;
		const char *path = proc_mapping__path(m, pm);
		size_t len = strlen(path);

		/* The gate area is added by mmap_table__get (proc_maps__add_gate_area). */
		if (pm->kind == PROC_MAPPING_PSEUDO && !strcmp(path, "[vsyscall]"))
			continue;
		if ((pm->kind == PROC_MAPPING_FILE && !bid->len && !pm->inode) ||
		    s->maps.len >= MM_MAX_MAPPINGS) {
			e->unknown_file = true;
			break;
		}
		if (VEC_APPEND(s->strs, path, len + 1) || VEC_PUSH(s->maps, *pm) ||
		    VEC_PUSH(s->bids, *bid)) {
			t->bytes += set_bytes(s) - before;
			mmap_table__forget(t, pid);
			t->failed++;
			return;
		}
		s->maps.v[s->maps.len - 1].path_off = off;
	}
	s->strs_compacted = s->strs.len;
	t->bytes += set_bytes(s) - before;
	*version = e->version;
}

void mmap_table__exec(struct mmap_table *t, pid_t pid)
{
	if (!entry_new(t, pid))
		t->failed++;
}

void mmap_table__fork(struct mmap_table *t, pid_t parent, pid_t child)
{
	struct mm_entry *p = find(t, parent), *c;
	struct mm_set *s;

	/* A parent not followed from its start: neither is the child. */
	if (!p || p->unknown_file) {
		mmap_table__forget(t, child);
		return;
	}
	/* The set is held first: the child's entry may evict the parent's (a table of
	 * one), and the child still has the mappings. */
	list_move_front(&t->lru, &p->lru);
	s = p->set;
	if (s)
		s->refs++;
	c = entry_new(t, child);
	if (!c) {
		set_put(t, s);
		t->failed++;
		return;
	}
	c->set = s; /* copied when one of them maps something */
}

/*
 * Lay @m over the mappings of @e (a set of its own): what it covers of older mappings
 * goes (a mapping partly covered keeps the rest, with its file offset moved on), and
 * @m goes in at its place in address order.
 */
static int overlay(struct mm_set *e, const struct proc_mapping *m,
		   const struct proc_build_id *bid)
{
	size_t i = 0, j, n = e->maps.len;
	struct proc_mapping *v;

	while (i < n && e->maps.v[i].end <= m->start)
		i++;
	/* Room for the new mapping and a split one's upper part. */
	if (VEC_RESERVE(e->maps, n + 2) || VEC_RESERVE(e->bids, n + 2))
		return -ENOMEM;
	v = e->maps.v;
	if (i < n && v[i].start < m->start && v[i].end > m->end) {
		/* Inside one mapping: split it around @m. */
		struct proc_mapping upper = v[i];

		upper.pgoff += m->end - v[i].start;
		upper.start = m->end;
		v[i].end = m->start;
		memmove(&v[i + 3], &v[i + 1], (n - i - 1) * sizeof(*v));
		memmove(&e->bids.v[i + 3], &e->bids.v[i + 1], (n - i - 1) * sizeof(*bid));
		v[i + 1] = *m;
		e->bids.v[i + 1] = *bid;
		v[i + 2] = upper;
		e->bids.v[i + 2] = e->bids.v[i];
		e->maps.len = e->bids.len = n + 2;
		return 0;
	}
	if (i < n && v[i].start < m->start) {
		v[i].end = m->start; /* keeps its lower part */
		i++;
	}
	for (j = i; j < n && v[j].end <= m->end; j++)
		; /* covered whole: [i, j) go */
	if (j < n && v[j].start < m->end) {
		v[j].pgoff += m->end - v[j].start; /* keeps its upper part */
		v[j].start = m->end;
	}
	/* Replace [i, j) with @m. */
	memmove(&v[i + 1], &v[j], (n - j) * sizeof(*v));
	memmove(&e->bids.v[i + 1], &e->bids.v[j], (n - j) * sizeof(*bid));
	v[i] = *m;
	e->bids.v[i] = *bid;
	e->maps.len = e->bids.len = n - (j - i) + 1;
	return 0;
}

void mmap_table__mmap(struct mmap_table *t, pid_t pid, const struct proc_mapping *pm,
		      const char *path, size_t path_len, const struct proc_build_id *bid)
{
	struct mm_entry *e = find(t, pid);
	struct proc_mapping m = *pm;
	struct mm_set *s;
	size_t before;
	int err;

	if (!e || e->unknown_file || m.end <= m.start)
		return;
	t->mmaps++;
	list_move_front(&t->lru, &e->lru);
	path_len = proc_mapping__classify(&m, path, path_len);
	if (m.kind == PROC_MAPPING_FILE && !bid->len && !m.inode) {
		/* Not known by a build-id nor by an inode: /proc says which file. */
		e->unknown_file = true;
		return;
	}
	if (e->set && e->set->maps.len >= MM_MAX_MAPPINGS) {
		e->unknown_file = true;
		return;
	}
	s = set_own(t, e);
	if (!s) {
		mmap_table__forget(t, pid);
		t->failed++;
		return;
	}
	before = set_bytes(s);
	m.path_off = (uint32_t)s->strs.len;
	/* Room at once for the paths a new program maps (its own, the loader's, libc
	 * and a few more), rather than doubling from 16 bytes at each of them. */
	err = s->strs.len + path_len + 1 > UINT32_MAX ? -ENOMEM
						       : VEC_RESERVE(s->strs, MM_STRS_MIN);
	if (!err)
		err = VEC_APPEND(s->strs, path, path_len);
	if (!err)
		err = VEC_PUSH(s->strs, '\0');
	if (!err)
		err = overlay(s, &m, bid);
	e->version = ++t->next_version;
	/* Paths of mappings laid over stay in the arena until it doubles. */
	if (!err && s->strs.len > 2 * s->strs_compacted + 4096)
		err = compact(s, s);
	t->bytes += set_bytes(s) - before;
	if (err) {
		mmap_table__forget(t, pid);
		t->failed++;
	}
}

int mmap_table__get(struct mmap_table *t, pid_t pid, uint64_t *version, struct proc_maps *out)
{
	const struct mm_entry *e = find(t, pid);
	static const struct mm_set none;
	const struct mm_set *s;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!e || e->unknown_file)
		return -ENOENT;
	if (e->version == *version)
		return -EALREADY;
	*version = e->version;
	s = e->set ? e->set : &none;
	n = s->maps.len;
	out->maps = malloc(n * sizeof(*out->maps) + 1);
	out->bids = malloc(n * sizeof(*out->bids) + 1);
	out->strs = malloc(s->strs.len + 1);
	if (!out->maps || !out->bids || !out->strs) {
		proc_maps__release(out);
		return -ENOMEM;
	}
	if (n) { /* (an empty set may have no arrays) */
		memcpy(out->maps, s->maps.v, n * sizeof(*out->maps));
		memcpy(out->bids, s->bids.v, n * sizeof(*out->bids));
		memcpy(out->strs, s->strs.v, s->strs.len);
	}
	out->n = n;
	out->strs_len = s->strs.len;
	if (proc_maps__add_gate_area(out)) {
		proc_maps__release(out);
		return -ENOMEM;
	}
	return 0;
}
