/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stacktree.c - merge a profile's samples into the tree a flame graph is drawn from,
 * and pick the frames wide enough to draw.
 *
 * Built for millions of stacks, where the cost is cache misses and first touches of
 * memory rather than instructions. A plain graph needs no tree at all
 * (stacktree__plain_frames: the samples sorted by path give the frames in one pass,
 * and narrow subtrees are dropped as they close). A differential graph keeps the
 * tree: a node is its slot in one hash table keyed by (parent, name), so each new
 * node costs one probe and adding a sample's weight along its path touches nothing
 * else; samples that share a prefix with the previous sample skip the lookups for
 * that prefix; the table is sized once from an exact upper bound and asks for huge
 * pages.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flamegraph_internal.h"
#include "hash.h"
#include "vec.h"

#define NO_NAME UINT32_MAX
#define HUGE_PAGE_SIZE (2u << 20)
/* Keys of the prefix cache: frame ids as they are, comms tagged above 32 bits. */
#define COMM_KEY(name) ((1ULL << 32) | (name))

/* One step of a sample's path: its cache key and the node it reached. */
struct path_step {
	uint64_t key;
	uint32_t node;
};

struct builder {
	struct stacktree *t;
	const struct profile *p;
	uint32_t *frame_name; /* frame id -> name index, NO_NAME until first seen */
	size_t nframes;
	uint64_t *base;       /* NULL: add to the nodes' weights; else to these (baseline) */
	const char *last_comm; /* comms are interned, so pointer equality is the fast path */
	uint32_t last_comm_name;
	VEC(struct path_step) path; /* the previous sample's, depth by depth */
};

/* Slot of (@parent, @name) in a table of @cap slots. */
static size_t node_slot(uint32_t parent, uint32_t name, size_t cap)
{
	return hash_reduce(hash_mix64((uint64_t)parent << 32 | name), cap);
}

static const char *kind_suffix(enum frame_kind kind)
{
	switch (kind) {
	case FRAME_KERNEL: return "_[k]";
	case FRAME_JIT: return "_[j]";
	case FRAME_PYTHON: return "_[p]";
	default: return "";
	}
}

static int name_slots_grow(struct stacktree *t)
{
	size_t cap = t->name_slots_cap ? t->name_slots_cap * 2 : 256;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->names.len; i++) {
		size_t j = t->names.v[i].hash & (cap - 1);

		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = i + 1;
	}
	free(t->name_slots);
	t->name_slots = slots;
	t->name_slots_cap = cap;
	return 0;
}

/* Find or add the name shown for (@bare, @kind). */
static int intern_name(struct stacktree *t, const char *bare, enum frame_kind kind,
		       uint32_t *id)
{
	const char *suffix = kind_suffix(kind);
	/* The display text's hash; the slots take its low bits, so mix it. */
	uint64_t h = hash_mix64(hash_fnv1a_more(hash_fnv1a_str(bare, 0), suffix, strlen(suffix)));
	struct fg_name *n;
	size_t j;
	int err;

	if (t->name_slots_cap) {
		for (j = h & (t->name_slots_cap - 1); t->name_slots[j];
		     j = (j + 1) & (t->name_slots_cap - 1)) {
			n = &t->names.v[t->name_slots[j] - 1];
			if (n->hash == h && !strcmp(kind_suffix(n->kind), suffix) &&
			    !strcmp(n->bare, bare)) {
				*id = t->name_slots[j] - 1;
				return 0;
			}
		}
	}
	/* name1 = index + 1 must fit 32 bits. */
	if (t->names.len >= UINT32_MAX - 1)
		return -ENOMEM;
	if ((t->names.len + 1) * 2 > t->name_slots_cap) {
		err = name_slots_grow(t);
		if (err)
			return err;
	}
	err = VEC_RESERVE(t->names, t->names.len + 1);
	if (err)
		return err;

	n = &t->names.v[t->names.len];
	n->bare = bare;
	n->kind = kind;
	n->hash = h;
	n->text = bare;
	if (*suffix) {
		char *text = malloc(strlen(bare) + strlen(suffix) + 1);

		if (!text)
			return -ENOMEM;
		strcpy(stpcpy(text, bare), suffix);
		n->text = text;
	}
	for (j = h & (t->name_slots_cap - 1); t->name_slots[j];
	     j = (j + 1) & (t->name_slots_cap - 1))
		;
	t->name_slots[j] = t->names.len + 1;
	*id = t->names.len++;
	return 0;
}

/* Find or add the child of @parent named @name, and add @weight to it. */
static int child_add(struct stacktree *t, uint32_t parent, uint32_t name, uint64_t weight,
		     uint32_t *child)
{
	size_t cap = t->nodes_cap, j = node_slot(parent, name, cap);
	struct fg_node *n;

	for (n = &t->nodes[j]; n->name1; n = &t->nodes[j]) {
		if (n->parent == parent && n->name1 == name + 1)
			goto found;
		if (++j == cap)
			j = 0;
	}
	/* The table holds the upper bound with room to spare, so this is only a guard. */
	if (t->nnodes + 1 >= cap)
		return -ENOMEM;
	n->parent = parent;
	n->name1 = name + 1;
	t->nnodes++;
found:
	n->weight += weight;
	*child = j;
	return 0;
}

static int frame_name(struct builder *b, uint32_t frame, uint32_t *name)
{
	int err;

	if (frame >= b->nframes)
		return -EINVAL;
	if (b->frame_name[frame] == NO_NAME) {
		const char *text = profile__frame_name(b->p, frame);

		err = intern_name(b->t, text ? text : "", profile__frame_kind(b->p, frame),
				  &b->frame_name[frame]);
		if (err)
			return err;
	}
	*name = b->frame_name[frame];
	return 0;
}

/*
 * add_sample() for the baseline of a diff: the same walk, but the weight goes to
 * b->base. Kept apart so the plain build's hot loop has no branch for it.
 */
static int add_base_sample(struct builder *b, const struct profile_sample *s, bool has_comm,
			   size_t depth)
{
	struct stacktree *t = b->t;
	uint32_t cur = FG_ROOT, name;
	bool same = true;
	int err;

	t->base_total += s->weight;
	for (size_t d = 0; d < depth; d++) {
		uint64_t key;

		if (has_comm && d == 0) {
			if (s->comm != b->last_comm) {
				err = intern_name(t, s->comm, FRAME_USER, &b->last_comm_name);
				if (err)
					return err;
				b->last_comm = s->comm;
			}
			key = COMM_KEY(b->last_comm_name);
		} else {
			key = s->frames[d - has_comm];
		}
		if (same && d < b->path.len && b->path.v[d].key == key) {
			cur = b->path.v[d].node;
			b->base[cur] += s->weight;
			continue;
		}
		same = false;
		if (has_comm && d == 0)
			name = b->last_comm_name;
		else if ((err = frame_name(b, (uint32_t)key, &name)))
			return err;
		err = child_add(t, cur, name, 0, &cur);
		if (err)
			return err;
		b->base[cur] += s->weight;
		b->path.v[d] = (struct path_step){ .key = key, .node = cur };
	}
	b->path.len = depth;
	return 0;
}

static int add_sample(const struct profile_sample *s, void *ctx)
{
	struct builder *b = ctx;
	struct stacktree *t = b->t;
	bool has_comm = s->comm && *s->comm;
	size_t depth = has_comm + s->nframes;
	uint32_t cur = FG_ROOT, name;
	bool same = true; /* still on the previous sample's path */
	int err;

	err = VEC_RESERVE(b->path, depth);
	if (err)
		return err;
	if (b->base)
		return add_base_sample(b, s, has_comm, depth);
	t->total += s->weight;

	for (size_t d = 0; d < depth; d++) {
		uint64_t key;

		if (has_comm && d == 0) {
			if (s->comm != b->last_comm) {
				err = intern_name(t, s->comm, FRAME_USER, &b->last_comm_name);
				if (err)
					return err;
				b->last_comm = s->comm;
			}
			key = COMM_KEY(b->last_comm_name);
		} else {
			key = s->frames[d - has_comm];
		}
		if (same && d < b->path.len && b->path.v[d].key == key) {
			/* Just touched by the previous sample: still in cache. */
			cur = b->path.v[d].node;
			t->nodes[cur].weight += s->weight;
			continue;
		}
		same = false;
		if (has_comm && d == 0)
			name = b->last_comm_name;
		else if ((err = frame_name(b, (uint32_t)key, &name)))
			return err;
		err = child_add(t, cur, name, s->weight, &cur);
		if (err)
			return err;
		b->path.v[d] = (struct path_step){ .key = key, .node = cur };
	}
	b->path.len = depth;
	return 0;
}

/*
 * An upper bound on the nodes: the depths of the distinct (comm, stack) pairs, a stack
 * told by its frames pointer and length. A profile hands out the same pointers for the
 * same interned comm and stack; where it did not, a pair is counted twice, which only
 * loosens the bound.
 */
struct bound_key {
	const char *comm;
	const uint32_t *frames;
	size_t nframes;
};

struct bound {
	struct bound_key *slots; /* comm NULL: empty */
	size_t cap, len;
	uint64_t nodes;
};

static size_t bound_slot(const struct bound_key *k, size_t cap)
{
	return hash_reduce(hash_mix64((uintptr_t)k->comm ^
				      hash_mix64((uintptr_t)k->frames ^ k->nframes)),
			   cap);
}

static int bound_grow(struct bound *b)
{
	size_t cap = b->cap ? b->cap * 2 : 1024;
	struct bound_key *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < b->cap; i++) {
		size_t j;

		if (!b->slots[i].comm)
			continue;
		for (j = bound_slot(&b->slots[i], cap); slots[j].comm; j = j + 1 == cap ? 0 : j + 1)
			;
		slots[j] = b->slots[i];
	}
	free(b->slots);
	b->slots = slots;
	b->cap = cap;
	return 0;
}

static int bound_sample(const struct profile_sample *s, void *ctx)
{
	struct bound *b = ctx;
	struct bound_key k = { s->comm ? s->comm : "", s->nframes ? s->frames : NULL,
			       s->nframes };
	size_t j;
	int err;

	if ((b->len + 1) * 2 > b->cap) {
		err = bound_grow(b);
		if (err)
			return err;
	}
	for (j = bound_slot(&k, b->cap); b->slots[j].comm; j = j + 1 == b->cap ? 0 : j + 1)
		if (b->slots[j].comm == k.comm && b->slots[j].frames == k.frames &&
		    b->slots[j].nframes == k.nframes)
			return 0;
	b->slots[j] = k;
	b->len++;
	b->nodes += k.nframes + (*k.comm != '\0');
	return 0;
}

/* @p2 (may be NULL): a second profile the tree takes, the baseline of a diff. */
static int alloc_nodes(struct stacktree *t, const struct profile *p, const struct profile *p2)
{
	struct bound b = { 0 };
	size_t cap, bytes;
	void *mem;
	int err;

	err = profile__for_each_sample(p, bound_sample, &b);
	if (!err && p2)
		err = profile__for_each_sample(p2, bound_sample, &b);
	free(b.slots);
	if (err)
		return err;
	/* At most 3/4 full keeps linear probing short; ids must stay below FG_ROOT. */
	if (b.nodes > (UINT32_MAX - 2) / 4 * 3)
		return -ENOMEM;
	cap = b.nodes + b.nodes / 3 + 2;
	bytes = cap * sizeof(*t->nodes);
	/* Anonymous memory comes zeroed: every slot starts empty. */
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	if (bytes >= HUGE_PAGE_SIZE)
		madvise(mem, bytes, MADV_HUGEPAGE); /* a hint; fine to fail */
	t->nodes = mem;
	t->nodes_cap = cap;
	if (p2) {
		bytes = cap * sizeof(*t->base);
		mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return -ENOMEM;
		t->base = mem;
	}
	return 0;
}

/* Add @p's samples to @t's nodes, or to @t->base when @base. */
static int add_profile(struct stacktree *t, const struct profile *p, bool base)
{
	struct builder b = { .t = t, .p = p, .nframes = profile__frame_count(p),
			     .base = base ? t->base : NULL };
	int err = 0;

	if (b.nframes) {
		b.frame_name = malloc(b.nframes * sizeof(*b.frame_name));
		if (!b.frame_name)
			return -ENOMEM;
		memset(b.frame_name, 0xff, b.nframes * sizeof(*b.frame_name));
	}
	err = profile__for_each_sample(p, add_sample, &b);
	free(b.frame_name);
	VEC_FREE(b.path);
	return err;
}

static int build(struct stacktree *t, const struct profile *p, const struct profile *base)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = intern_name(t, "all", FRAME_USER, &t->root_name);
	if (!err)
		err = alloc_nodes(t, p, base);
	if (!err)
		err = add_profile(t, p, false);
	if (!err && base)
		err = add_profile(t, base, true);
	if (err)
		stacktree__free(t);
	return err;
}

int stacktree__build(struct stacktree *t, const struct profile *p)
{
	return build(t, p, NULL);
}

int stacktree__build_diff(struct stacktree *t, const struct profile *p,
			  const struct profile *base)
{
	return build(t, p, base);
}

void stacktree__swap_base(struct stacktree *t)
{
	uint64_t total = t->total;

	for (size_t i = 0; i < t->nodes_cap; i++) {
		uint64_t w = t->nodes[i].weight;

		t->nodes[i].weight = t->base[i];
		t->base[i] = w;
	}
	t->total = t->base_total;
	t->base_total = total;
}

void stacktree__free(struct stacktree *t)
{
	for (size_t i = 0; i < t->names.len; i++)
		if (t->names.v[i].text != t->names.v[i].bare)
			free((char *)t->names.v[i].text);
	VEC_FREE(t->names);
	free(t->name_slots);
	if (t->nodes)
		munmap(t->nodes, t->nodes_cap * sizeof(*t->nodes));
	if (t->base)
		munmap(t->base, t->nodes_cap * sizeof(*t->base));
	memset(t, 0, sizeof(*t));
}

/* ---- a plain graph's frames, straight from the samples ---- */

/*
 * A plain graph needs no tree: once the samples are sorted by their paths (each level
 * by its name's display order, a path that ends before another after it), a node is
 * the run of samples sharing its path, so its offset is the weight of all samples
 * before the run and its weight that of the run, and the nodes come out parents
 * first and siblings left to right, the order the SVG lists them in. One pass keeps
 * the open nodes of the current path; a node that closes narrower than the merge
 * width goes with everything after it in the output (its subtree), so memory is the
 * frames drawn plus one path, and the millions of narrow nodes of a big profile only
 * cost a few stores each. Folded files come sorted, so the sort is mostly one check.
 */

/* Frame ids copied from samples that do not outlive their call, in blocks that never
 * move (a sample's path points into one): the first of FRAME_BLOCK_MIN ids, each next
 * one twice as big up to FRAME_BLOCK_MAX, on huge pages (tens of MiB for millions of
 * samples, filled at once). */
#define FRAME_BLOCK_MIN (64u << 10)
#define FRAME_BLOCK_MAX (8u << 20)

struct frame_block {
	struct frame_block *next;
	size_t used, cap;
	uint32_t ids[];
};

/* Where @g keeps a copy of @n frame ids; NULL when out of memory. */
static uint32_t *frames_alloc(struct flamegraph *g, size_t n)
{
	struct frame_block *b = g->blocks;

	if (!b || b->cap - b->used < n) {
		size_t cap = !b ? FRAME_BLOCK_MIN : b->cap < FRAME_BLOCK_MAX ? 2 * b->cap : b->cap;

		if (cap < n)
			cap = n;
		b = malloc(sizeof(*b) + cap * sizeof(b->ids[0]));
		if (!b)
			return NULL;
		vec_advise_huge(b, sizeof(*b) + cap * sizeof(b->ids[0]));
		*b = (struct frame_block){ .next = g->blocks, .cap = cap };
		g->blocks = b;
	}
	b->used += n;
	return b->ids + b->used - n;
}

static int comm_slots_grow(struct flamegraph *g)
{
	size_t cap = g->comm_slots_cap ? g->comm_slots_cap * 2 : 64;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < g->comms.len; i++) {
		size_t j = hash_fnv1a_str(g->comms.v[i], 0) & (cap - 1);

		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = i + 1;
	}
	free(g->comm_slots);
	g->comm_slots = slots;
	g->comm_slots_cap = cap;
	return 0;
}

/* The index of comm @text in g->comms, copied there when new. */
static int comm_index(struct flamegraph *g, const char *text, uint32_t *id)
{
	uint64_t h;
	size_t j;
	char *copy;
	int err;

	if (g->comms.len && !strcmp(g->comms.v[g->last_comm], text)) {
		*id = g->last_comm;
		return 0;
	}
	h = hash_fnv1a_str(text, 0);
	for (j = h & (g->comm_slots_cap - 1); g->comm_slots_cap && g->comm_slots[j];
	     j = (j + 1) & (g->comm_slots_cap - 1))
		if (!strcmp(g->comms.v[g->comm_slots[j] - 1], text)) {
			*id = g->last_comm = g->comm_slots[j] - 1;
			return 0;
		}
	if (g->comms.len >= UINT32_MAX / 2)
		return -ENOMEM;
	if ((g->comms.len + 1) * 2 > g->comm_slots_cap) {
		if ((err = comm_slots_grow(g)))
			return err;
		for (j = h & (g->comm_slots_cap - 1); g->comm_slots[j];
		     j = (j + 1) & (g->comm_slots_cap - 1))
			;
	}
	err = VEC_RESERVE(g->comms, g->comms.len + 1);
	if (!err)
		err = VEC_RESERVE(g->order, g->order.len + 1);
	if (err || !(copy = strdup(text)))
		return err ? err : -ENOMEM;
	g->comms.v[g->comms.len] = copy;
	g->comm_slots[j] = g->comms.len + 1;
	*id = g->last_comm = g->comms.len++;
	g->order.v[g->order.len++] = COMM_KEY(*id);
	return 0;
}

int fg_gather(struct flamegraph *g, const struct profile_sample *s)
{
	struct fg_seq q = { .frames = s->frames, .nframes = s->nframes, .comm = NO_NAME,
			 .weight = s->weight };
	int err;

	if (s->nframes > UINT32_MAX - 1)
		return -ENOMEM;
	if (g->total + s->weight < g->total)
		return -EOVERFLOW;
	if (s->comm && *s->comm && (err = comm_index(g, s->comm, &q.comm)))
		return err;
	/* Names are numbered in the order they are first met (comm, then frames
	 * outermost first), as the tree numbers them: the tie-break of names that print
	 * alike (cmp_kid), and which kind a shared name shows. */
	for (size_t i = 0; i < s->nframes; i++) {
		uint32_t f = s->frames[i];

		if (f >= g->seen_len) {
			size_t n = profile__frame_count(g->p);
			uint8_t *seen;

			if (f >= n)
				return -EINVAL;
			seen = realloc(g->seen, n);
			if (!seen)
				return -ENOMEM;
			memset(seen + g->seen_len, 0, n - g->seen_len);
			g->seen = seen;
			g->seen_len = n;
		}
		if (!g->seen[f]) {
			if ((err = VEC_PUSH(g->order, f)))
				return err;
			g->seen[f] = 1;
		}
	}
	if (!g->borrow && s->nframes) {
		uint32_t *copy = frames_alloc(g, s->nframes);

		if (!copy)
			return -ENOMEM;
		memcpy(copy, s->frames, s->nframes * sizeof(*copy));
		q.frames = copy;
	}
	err = VEC_PUSH(g->seqs, q);
	if (!err)
		g->total += s->weight;
	return err;
}

void fg_gather_free(struct flamegraph *g)
{
	while (g->blocks) {
		struct frame_block *b = g->blocks;

		g->blocks = b->next;
		free(b);
	}
	for (size_t i = 0; i < g->comms.len; i++)
		free(g->comms.v[i]);
	VEC_FREE(g->comms);
	free(g->comm_slots);
	VEC_FREE(g->order);
	VEC_FREE(g->seqs);
	free(g->seen);
	memset(g, 0, sizeof(*g));
}

/* A name to rank: sorted by display text, ties by index (cmp_kid's order). */
struct rank_key {
	const char *text;
	uint32_t name;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct rank_key *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	return c ? c : (x->name < y->name ? -1 : x->name > y->name);
}

/* Names ranked in display order: frames and comms then compare as integers. */
struct ranks {
	const uint32_t *frame; /* frame id -> rank */
	const uint32_t *comm;  /* comm index -> rank */
};

/* Element @d of @q's path (d < its length) as a rank. */
static inline uint32_t seq_at(const struct fg_seq *q, const struct ranks *rank, size_t d)
{
	if (q->comm != NO_NAME)
		return d ? rank->frame[q->frames[d - 1]] : rank->comm[q->comm];
	return rank->frame[q->frames[d]];
}

static inline size_t seq_len(const struct fg_seq *q)
{
	return q->nframes + (q->comm != NO_NAME);
}

/* Compare two paths; *@common gets the length of their shared prefix. */
static int seq_cmp(const struct fg_seq *a, const struct fg_seq *b, const struct ranks *rank,
		   size_t *common)
{
	size_t la = seq_len(a), lb = seq_len(b), d;

	for (d = 0; d < la && d < lb; d++) {
		uint32_t x = seq_at(a, rank, d), y = seq_at(b, rank, d);

		if (x != y) {
			*common = d;
			return x < y ? -1 : 1;
		}
	}
	*common = d;
	/* A path that ends sorts after those that go on: a node's own weight is at the
	 * right of its children. */
	return la == lb ? 0 : la < lb ? 1 : -1;
}

/* Stable natural merge sort: sorted input costs one pass, nearly sorted a few. */
static int seq_sort(struct fg_seq *v, size_t n, const struct ranks *rank)
{
	struct fg_seq *tmp, *src = v, *dst;
	size_t common, runs;

	for (runs = 1; runs < n; runs++)
		if (seq_cmp(&v[runs - 1], &v[runs], rank, &common) > 0)
			break;
	if (runs >= n)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	dst = tmp;
	do {
		runs = 0;
		for (size_t i = 0; i < n;) {
			size_t mid = i + 1, end, a, b, o = i;

			while (mid < n && seq_cmp(&src[mid - 1], &src[mid], rank, &common) <= 0)
				mid++;
			end = mid < n ? mid + 1 : n;
			while (end < n && seq_cmp(&src[end - 1], &src[end], rank, &common) <= 0)
				end++;
			for (a = i, b = mid; a < mid && b < end;)
				dst[o++] = seq_cmp(&src[b], &src[a], rank, &common) < 0 ? src[b++]
											: src[a++];
			while (a < mid)
				dst[o++] = src[a++];
			while (b < end)
				dst[o++] = src[b++];
			i = end;
			runs++;
		}
		struct fg_seq *swap = src;
		src = dst;
		dst = swap;
	} while (runs > 1);
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	return 0;
}

/* An open node of the current path. */
struct open_node {
	size_t frame;   /* its index in the output */
	uint64_t start; /* weight of the samples before it */
};

int stacktree__plain_frames(struct stacktree *t, struct flamegraph *g, double full_px,
			    double min_width_px, struct fg_frame **out, size_t *nout)
{
	size_t nframes = profile__frame_count(g->p);
	uint32_t *frame_name = NULL, *comm_name = NULL, *rank = NULL, *comm_rank = NULL;
	uint32_t *by_rank = NULL;
	struct ranks ranks;
	struct rank_key *order = NULL;
	VEC(struct fg_frame) done = { 0 };
	VEC(struct open_node) path = { 0 };
	const struct fg_seq *prev = NULL;
	uint64_t cum = 0;
	double min_weight;
	int err;

	*out = NULL;
	*nout = 0;
	memset(t, 0, sizeof(*t));
	err = intern_name(t, "all", FRAME_USER, &t->root_name);
	if (err)
		goto cleanup;
	/* The names, numbered in the order the samples met them. */
	frame_name = malloc((nframes ? nframes : 1) * sizeof(*frame_name));
	comm_name = malloc((g->comms.len ? g->comms.len : 1) * sizeof(*comm_name));
	if (!frame_name || !comm_name) {
		err = -ENOMEM;
		goto cleanup;
	}
	memset(frame_name, 0xff, nframes * sizeof(*frame_name));
	for (size_t i = 0; !err && i < g->order.len; i++) {
		uint64_t key = g->order.v[i];

		if (key >= COMM_KEY(0)) {
			err = intern_name(t, g->comms.v[key - COMM_KEY(0)], FRAME_USER,
					  &comm_name[key - COMM_KEY(0)]);
		} else {
			const char *text = profile__frame_name(g->p, (uint32_t)key);

			err = intern_name(t, text ? text : "",
					  profile__frame_kind(g->p, (uint32_t)key),
					  &frame_name[key]);
		}
	}
	t->total = g->total;
	if (err || !t->total)
		goto cleanup;
	/* As stacktree__frames() would be asked: the same arithmetic, the same frames. */
	min_weight = min_width_px / (full_px / t->total);
	if ((double)t->total < min_weight)
		goto cleanup;

	/* Rank the names in display order; frames and comms then compare as integers. */
	order = malloc(t->names.len * sizeof(*order));
	by_rank = malloc(t->names.len * sizeof(*by_rank));
	rank = malloc((nframes ? nframes : 1) * sizeof(*rank));
	comm_rank = malloc((g->comms.len ? g->comms.len : 1) * sizeof(*comm_rank));
	if (!order || !by_rank || !rank || !comm_rank) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < t->names.len; i++)
		order[i] = (struct rank_key){ t->names.v[i].text, i };
	qsort(order, t->names.len, sizeof(*order), cmp_rank);
	for (size_t i = 0; i < t->names.len; i++)
		by_rank[order[i].name] = i; /* name -> rank, for now */
	for (size_t f = 0; f < nframes; f++)
		rank[f] = frame_name[f] == NO_NAME ? NO_NAME : by_rank[frame_name[f]];
	for (size_t c = 0; c < g->comms.len; c++)
		comm_rank[c] = by_rank[comm_name[c]];
	for (size_t i = 0; i < t->names.len; i++)
		by_rank[i] = order[i].name; /* rank -> name from here on */
	ranks = (struct ranks){ rank, comm_rank };

	err = seq_sort(g->seqs.v, g->seqs.len, &ranks);
	if (!err)
		err = VEC_PUSH(done, ((struct fg_frame){ .node = FG_ROOT, .name = t->root_name,
							  .weight = t->total }));
	for (size_t i = 0; !err && i <= g->seqs.len; i++) {
		const struct fg_seq *q = i < g->seqs.len ? &g->seqs.v[i] : NULL;
		size_t common = 0, len = q ? seq_len(q) : 0;

		if (prev && q)
			seq_cmp(prev, q, &ranks, &common);
		/* Close the nodes the new path leaves, innermost first. */
		while (path.len > common) {
			const struct open_node *o = &path.v[--path.len];
			uint64_t w = cum - o->start;

			if ((double)w < min_weight)
				done.len = o->frame; /* it and its subtree */
			else
				done.v[o->frame].weight = w;
		}
		if (!q)
			break;
		err = VEC_RESERVE(path, len);
		for (size_t d = common; !err && d < len; d++) {
			err = VEC_PUSH(done, ((struct fg_frame){ .name = by_rank[seq_at(q, &ranks, d)],
								  .depth = d + 1, .offset = cum }));
			path.v[path.len++] = (struct open_node){ done.len - 1, cum };
		}
		cum += q->weight;
		prev = q;
	}

cleanup:
	free(frame_name);
	free(comm_name);
	VEC_FREE(path);
	free(order);
	free(by_rank);
	free(rank);
	free(comm_rank);
	if (err) {
		VEC_FREE(done);
		stacktree__free(t);
		return err;
	}
	*out = done.v;
	*nout = done.len;
	return 0;
}

/* ---- choosing the frames to draw ---- */

/* A frame wide enough to draw, with the range of its children in the sorted kids. */
struct wide {
	uint32_t node;
	uint32_t kids_start, kids_end;
};

/* A child of a wide frame, wide or not: narrow ones still take their place. */
struct kid {
	uint32_t parent; /* index into the wide array */
	uint32_t node;
	uint32_t name;    /* index into stacktree.names */
	const char *text; /* its display text */
};

/*
 * Small open-addressing map from node id to its index in the wide array, behind a
 * bitmap that answers "not wide" for most nodes from L1 when every node's parent is
 * looked up.
 */
#define FILTER_BITS 65536

struct wide_index {
	uint32_t *slots; /* wide index + 1; 0 empty */
	size_t cap;
	uint64_t filter[FILTER_BITS / 64];
};

static void wide_add(struct wide_index *ix, uint32_t node, size_t index)
{
	size_t j = node_slot(node, 0, ix->cap);

	while (ix->slots[j])
		j = j + 1 == ix->cap ? 0 : j + 1;
	ix->slots[j] = index + 1;
	ix->filter[node % FILTER_BITS / 64] |= 1ULL << (node % 64);
}

static size_t wide_find(const struct wide_index *ix, const struct wide *w, uint32_t node)
{
	size_t j;

	if (!(ix->filter[node % FILTER_BITS / 64] & 1ULL << (node % 64)))
		return SIZE_MAX;
	for (j = node_slot(node, 0, ix->cap); ix->slots[j]; j = j + 1 == ix->cap ? 0 : j + 1)

		if (w[ix->slots[j] - 1].node == node)
			return ix->slots[j] - 1;
	return SIZE_MAX;
}

static int cmp_kid(const void *a, const void *b)
{
	const struct kid *x = a, *y = b;
	int c;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	c = strcmp(x->text, y->text);
	if (c)
		return c;
	/* Two names print alike only when one had a literal "_[k]": order them by when
	 * they were first seen, which the profile decides and the hash does not. */
	return x->name < y->name ? -1 : x->name > y->name;
}

int stacktree__frames(const struct stacktree *t, double min_weight, struct fg_frame **out,
		      size_t *nout)
{
	VEC(struct wide) wide = { 0 };
	struct wide_index *ix = NULL;
	VEC(struct kid) kids = { 0 };
	VEC(struct fg_frame) work = { 0 }, done = { 0 };
	int err = 0;

	*out = NULL;
	*nout = 0;
	if (!t->total || (double)t->total < min_weight)
		return 0;

	/* Every frame wide enough, in slot order; a parent is never lighter than its
	 * child, so all of them hang from the root through wide frames. */
	err = VEC_PUSH(wide, (struct wide){ .node = FG_ROOT });
	for (size_t i = 0; !err && i < t->nodes_cap; i++) {
		if (!t->nodes[i].name1 || (double)t->nodes[i].weight < min_weight)
			continue;
		err = VEC_PUSH(wide, (struct wide){ .node = i });
	}
	if (err)
		goto cleanup;
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		err = -ENOMEM;
		goto cleanup;
	}
	ix->cap = wide.len * 2;
	ix->slots = calloc(ix->cap, sizeof(*ix->slots));
	if (!ix->slots) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < wide.len; i++)
		wide_add(ix, wide.v[i].node, i);

	/* All children of wide frames, grouped by parent and sorted by name. */
	for (size_t i = 0; i < t->nodes_cap; i++) {
		const struct fg_node *n = &t->nodes[i];
		size_t parent;

		if (!n->name1)
			continue;
		parent = wide_find(ix, wide.v, n->parent);
		if (parent == SIZE_MAX)
			continue;
		err = VEC_PUSH(kids, ((struct kid){ parent, i, n->name1 - 1,
						     t->names.v[n->name1 - 1].text }));
		if (err)
			goto cleanup;
	}
	if (kids.len)
		qsort(kids.v, kids.len, sizeof(*kids.v), cmp_kid);
	for (size_t i = 0; i < kids.len; i++) {
		struct wide *w = &wide.v[kids.v[i].parent];

		if (i == 0 || kids.v[i - 1].parent != kids.v[i].parent)
			w->kids_start = i;
		w->kids_end = i + 1;
	}

	/* Depth first from the root. Children are placed left to right from their
	 * parent's left edge (what is left at the right is the parent's own weight); the
	 * work list is a stack, so each family is reversed once pushed. */
	err = VEC_PUSH(work, ((struct fg_frame){ .node = FG_ROOT, .name = t->root_name,
						  .weight = t->total }));
	while (!err && work.len) {
		struct fg_frame cur = work.v[--work.len];
		const struct wide *w = &wide.v[wide_find(ix, wide.v, cur.node)];
		uint64_t offset = cur.offset;
		size_t first = work.len;

		err = VEC_PUSH(done, cur);
		for (size_t k = w->kids_start; !err && k < w->kids_end; k++) {
			const struct fg_node *n = &t->nodes[kids.v[k].node];

			if ((double)n->weight >= min_weight)
				err = VEC_PUSH(work, ((struct fg_frame){ .node = kids.v[k].node,
									  .name = n->name1 - 1,
									  .depth = cur.depth + 1,
									  .offset = offset,
									  .weight = n->weight }));
			offset += n->weight;
		}
		for (size_t i = first, j = work.len; i + 1 < j; i++, j--) {
			struct fg_frame tmp = work.v[i];

			work.v[i] = work.v[j - 1];
			work.v[j - 1] = tmp;
		}
	}

cleanup:
	VEC_FREE(wide);
	if (ix)
		free(ix->slots);
	free(ix);
	VEC_FREE(kids);
	VEC_FREE(work);
	if (err) {
		VEC_FREE(done);
		return err;
	}
	*out = done.v;
	*nout = done.len;
	return 0;
}
