/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.c - the in-memory profile: interned strings, mappings, frames, stacks, label
 * sets and series (a stack and who ran it), and the records that count the samples of
 * one series in one time bucket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "profile_internal.h"

/* How far back in time samples may come and still find their record in the record
 * index's window (older ones are found too, once the whole index is built). */
#define RECORD_WINDOW_NS (10 * 1000000000ull)
#define RECORD_WINDOW_MIN 4096 /* records the window holds before it first slides */

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (p) {
		p->names = calloc(1, sizeof(*p->names));
		p->records.slide_at = RECORD_WINDOW_MIN;
	}
	if (!p || !p->names) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

static void name_blocks__free(struct frame_names *fn)
{
	while (fn->blocks) {
		struct name_block *b = fn->blocks;
		fn->blocks = b->next;
		free(b);
	}
}

static void frame_names__free(struct frame_names *fn)
{
	if (!fn)
		return;
	name_blocks__free(fn);
	free(fn->by_frame);
	free(fn);
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	VEC_FREE(p->chars);
	free(p->strings.v);
	free(p->frames.v);
	free(p->stack_frames.v);
	free(p->stacks.v);
	free(p->series.v);
	free(p->samples.v);
	free(p->mappings.v);
	free(p->label_pairs.v);
	free(p->labelsets.v);
	VEC_FREE(p->lost);
	intern_table__free(&p->string_index);
	intern_table__free(&p->frame_index);
	intern_table__free(&p->stack_index);
	intern_table__free(&p->mapping_index);
	intern_table__free(&p->label_index);
	intern_table__free(&p->series_index);
	intern_table__free(&p->records.table);
	frame_names__free(p->names);
	free(p);
}

void profile__recycle(struct profile *p)
{
	struct frame_names *fn = p->names;

	p->chars.len = p->strings.len = p->frames.len = p->stack_frames.len = 0;
	p->stacks.len = p->series.len = p->mappings.len = p->label_pairs.len = 0;
	p->labelsets.len = 0;
	intern_table__clear(&p->string_index);
	intern_table__clear(&p->frame_index);
	intern_table__clear(&p->stack_index);
	intern_table__clear(&p->mapping_index);
	intern_table__clear(&p->label_index);
	intern_table__clear(&p->series_index);
	/* Records, their index, totals, counters, lost intervals and time range. */
	profile__clear_samples(p);
	/* Names are made on demand, few per profile: their blocks go. */
	name_blocks__free(fn);
	if (fn->len)
		memset(fn->by_frame, 0, fn->len * sizeof(*fn->by_frame));
}

size_t profile__reserved_bytes(const struct profile *p)
{
	const struct intern_table *t[] = { &p->string_index, &p->frame_index, &p->stack_index,
					   &p->mapping_index, &p->label_index, &p->series_index,
					   &p->records.table };
	size_t n = sizeof(*p) + sizeof(*p->names) + p->names->len * sizeof(*p->names->by_frame);

	n += p->chars.cap * sizeof(*p->chars.v) + p->strings.cap * sizeof(*p->strings.v);
	n += p->frames.cap * sizeof(*p->frames.v) + p->stack_frames.cap * sizeof(*p->stack_frames.v);
	n += p->stacks.cap * sizeof(*p->stacks.v) + p->series.cap * sizeof(*p->series.v);
	n += p->samples.cap * sizeof(*p->samples.v) + p->mappings.cap * sizeof(*p->mappings.v);
	n += p->label_pairs.cap * sizeof(*p->label_pairs.v);
	n += p->labelsets.cap * sizeof(*p->labelsets.v) + p->lost.cap * sizeof(*p->lost.v);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		n += t[i]->cap * sizeof(*t[i]->slots);
	for (const struct name_block *b = p->names->blocks; b; b = b->next)
		n += sizeof(*b) + b->cap;
	return n;
}

struct string_key {
	const char *s;
	size_t len;
};

static int string_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct string_key *k = key;
	const struct pstring *ps = &p->strings.v[id];
	return ps->len == k->len && memcmp(p->chars.v + ps->off, k->s, k->len) == 0;
}

int profile__intern_string(struct profile *p, const char *s, size_t len, uint32_t *id)
{
	struct string_key key = { s, len };
	uint64_t h = intern_hash(s, len, 0);
	int err;

	if (intern_table__find(&p->string_index, h, &key, string_eq, p, id))
		return 0;
	if (len > UINT32_MAX || p->chars.len + len + 1 > UINT32_MAX)
		return -ENOMEM;
	err = VEC_RESERVE(p->chars, p->chars.len + len + 1);
	if (!err)
		err = VEC_RESERVE(p->strings, p->strings.len + 1);
	if (err)
		return err;
	memcpy(p->chars.v + p->chars.len, s, len);
	p->chars.v[p->chars.len + len] = '\0';
	*id = p->strings.len;
	err = intern_table__insert(&p->string_index, h, *id);
	if (err)
		return err;
	p->strings.v[p->strings.len++] = (struct pstring){ p->chars.len, len };
	p->chars.len += len + 1;
	return 0;
}

const char *profile__string(const struct profile *p, uint32_t id)
{
	return p->chars.v + p->strings.v[id].off;
}

static int frame_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	return memcmp(&p->frames.v[id], key, sizeof(struct pframe)) == 0;
}

int profile__intern_pframe(struct profile *p, const struct pframe *key, uint32_t *id)
{
	uint64_t h = intern_hash(key, sizeof(*key), 1);
	int err;

	if (intern_table__find(&p->frame_index, h, key, frame_eq, p, id))
		return 0;
	if (p->frames.len >= UINT32_MAX - 1)
		return -ENOMEM;
	err = VEC_RESERVE(p->frames, p->frames.len + 1);
	if (err)
		return err;
	*id = p->frames.len;
	err = intern_table__insert(&p->frame_index, h, *id);
	if (err)
		return err;
	p->frames.v[p->frames.len++] = *key;
	return 0;
}

int profile__intern_frame_info(struct profile *p, const struct profile_frame_info *fi,
			       uint32_t *id)
{
	struct pframe key = { 0 };
	const char *file = fi->file ? fi->file : "";
	int err;

	if (!fi->name || (unsigned)fi->kind > FRAME_KIND_MAX || fi->mapping > p->mappings.len)
		return -EINVAL;
	key.kind = fi->kind;
	key.mapping = fi->mapping;
	key.address = fi->address;
	key.line = fi->line;
	err = profile__intern_string(p, fi->name, strlen(fi->name), &key.name);
	if (!err)
		err = profile__intern_string(p, file, strlen(file), &key.file);
	if (err)
		return err;
	return profile__intern_pframe(p, &key, id);
}

int profile__intern_frame(struct profile *p, const char *name, enum frame_kind kind,
			  uint32_t *id)
{
	struct profile_frame_info fi = { .name = name, .kind = kind };
	return profile__intern_frame_info(p, &fi, id);
}

int profile__intern_unresolved(struct profile *p, uint32_t mapping, uint64_t offset,
			       uint32_t *id)
{
	struct profile_frame_info fi = {
		.name = "", .kind = FRAME_UNKNOWN, .mapping = mapping, .address = offset
	};

	if (!mapping)
		return -EINVAL;
	return profile__intern_frame_info(p, &fi, id);
}

bool profile__frame_unresolved(const struct profile *p, const struct pframe *f)
{
	return f->kind == FRAME_UNKNOWN && f->mapping && p->strings.v[f->name].len == 0;
}

/* Room for @n bytes of names; NULL when out of memory. */
static char *name_alloc(struct frame_names *fn, size_t n)
{
	struct name_block *b = fn->blocks;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > 4096 ? n : 4096;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		*b = (struct name_block){ .next = fn->blocks, .cap = cap };
		fn->blocks = b;
	}
	b->used += n;
	return b->text + b->used - n;
}

/* "[BASENAME+0xOFFSET]", as the collector named such frames before they were kept as
 * (mapping, offset); "[unknown]" when there is no memory for it. */
static const char *unresolved_name(const struct profile *p, uint32_t id)
{
	struct frame_names *fn = p->names;
	const struct pframe *f = &p->frames.v[id];
	const char *path = profile__string(p, p->mappings.v[f->mapping - 1].path);
	const char *base = strrchr(path, '/');
	char *text;
	int len;

	if (id < fn->len && fn->by_frame[id])
		return fn->by_frame[id];
	if (id >= fn->len) {
		size_t n = p->frames.len;
		const char **v = realloc(fn->by_frame, n * sizeof(*v));

		if (!v)
			return "[unknown]";
		memset(v + fn->len, 0, (n - fn->len) * sizeof(*v));
		fn->by_frame = v;
		fn->len = n;
	}
	base = base ? base + 1 : path;
	len = snprintf(NULL, 0, "[%s+0x%llx]", base, (unsigned long long)f->address);
	text = len > 0 ? name_alloc(fn, (size_t)len + 1) : NULL;
	if (!text)
		return "[unknown]";
	snprintf(text, (size_t)len + 1, "[%s+0x%llx]", base, (unsigned long long)f->address);
	fn->by_frame[id] = text;
	return text;
}

const char *profile__frame_name(const struct profile *p, uint32_t id)
{
	const struct pframe *f = &p->frames.v[id];

	if (profile__frame_unresolved(p, f))
		return unresolved_name(p, id);
	return profile__string(p, f->name);
}

enum frame_kind profile__frame_kind(const struct profile *p, uint32_t id)
{
	return p->frames.v[id].kind;
}

void profile__frame_info(const struct profile *p, uint32_t id, struct profile_frame_info *out)
{
	const struct pframe *f = &p->frames.v[id];
	*out = (struct profile_frame_info){
		.name = profile__frame_name(p, id),
		.kind = f->kind,
		.mapping = f->mapping,
		.address = f->address,
		.file = profile__string(p, f->file),
		.line = f->line,
	};
}

static int mapping_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	return memcmp(&p->mappings.v[id], key, sizeof(struct pmapping)) == 0;
}

int profile__intern_pmapping(struct profile *p, const struct pmapping *key, uint32_t *id)
{
	uint64_t h = intern_hash(key, sizeof(*key), 3);
	uint32_t idx;
	int err;

	if (intern_table__find(&p->mapping_index, h, key, mapping_eq, p, &idx)) {
		*id = idx + 1;
		return 0;
	}
	if (p->mappings.len >= UINT32_MAX - 2)
		return -ENOMEM;
	err = VEC_RESERVE(p->mappings, p->mappings.len + 1);
	if (!err)
		err = intern_table__insert(&p->mapping_index, h, p->mappings.len);
	if (err)
		return err;
	p->mappings.v[p->mappings.len++] = *key;
	*id = p->mappings.len;
	return 0;
}

int profile__intern_mapping(struct profile *p, const struct profile_mapping *m, uint32_t *id)
{
	struct pmapping key = { .start = m->start, .limit = m->limit, .offset = m->offset };
	const char *bid = m->build_id ? m->build_id : "";
	int err;

	if (!m->path)
		return -EINVAL;
	err = profile__intern_string(p, m->path, strlen(m->path), &key.path);
	if (!err)
		err = profile__intern_string(p, bid, strlen(bid), &key.build_id);
	if (err)
		return err;
	return profile__intern_pmapping(p, &key, id);
}

int profile__mapping(const struct profile *p, uint32_t id, struct profile_mapping *out)
{
	if (id == 0 || id > p->mappings.len)
		return -EINVAL;
	const struct pmapping *m = &p->mappings.v[id - 1];
	*out = (struct profile_mapping){
		.path = profile__string(p, m->path),
		.build_id = profile__string(p, m->build_id),
		.start = m->start,
		.limit = m->limit,
		.offset = m->offset,
	};
	return 0;
}

size_t profile__mapping_count(const struct profile *p)
{
	return p->mappings.len;
}

/* The key of a stack or a label set: a run of ids (frame ids, key/value string ids). */
struct ids_key {
	const uint32_t *ids;
	size_t n;
};

/* Is the run @run[0..@len) the key's? */
static int ids_eq(const uint32_t *run, size_t len, const struct ids_key *k)
{
	/* memcmp with a NULL pointer is undefined even for zero bytes. */
	return len == k->n && (!len || !memcmp(run, k->ids, len * sizeof(*run)));
}

static int labels_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct plabels *ls = &p->labelsets.v[id];
	return ids_eq(p->label_pairs.v + ls->off, 2 * (size_t)ls->len, key);
}

int profile__intern_label_ids(struct profile *p, const uint32_t *pairs, size_t n, uint32_t *id)
{
	struct ids_key key = { pairs, 2 * n };
	uint64_t h;
	uint32_t idx;
	int err;

	if (n == 0) {
		*id = 0;
		return 0;
	}
	h = intern_hash(pairs, n * 2 * sizeof(uint32_t), 4);
	if (intern_table__find(&p->label_index, h, &key, labels_eq, p, &idx)) {
		*id = idx + 1;
		return 0;
	}
	if (p->label_pairs.len + 2 * n > UINT32_MAX || p->labelsets.len >= UINT32_MAX - 2)
		return -ENOMEM;
	err = VEC_RESERVE(p->label_pairs, p->label_pairs.len + 2 * n);
	if (!err)
		err = VEC_RESERVE(p->labelsets, p->labelsets.len + 1);
	if (!err)
		err = intern_table__insert(&p->label_index, h, p->labelsets.len);
	if (err)
		return err;
	memcpy(p->label_pairs.v + p->label_pairs.len, pairs, n * 2 * sizeof(uint32_t));
	p->labelsets.v[p->labelsets.len++] = (struct plabels){ p->label_pairs.len, n };
	p->label_pairs.len += 2 * n;
	*id = p->labelsets.len;
	return 0;
}

int profile__intern_labels(struct profile *p, const struct profile_label *labels, size_t n,
			   uint32_t *id)
{
	uint32_t pairs[2 * PROFILE_MAX_LABELS];
	size_t m = 0;
	int err;

	if (n > PROFILE_MAX_LABELS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct profile_label *l = &labels[i];
		uint32_t k, v;
		size_t j;

		if (!l->key || !l->value)
			return -EINVAL;
		err = profile__intern_string(p, l->key, strlen(l->key), &k);
		if (!err)
			err = profile__intern_string(p, l->value, strlen(l->value), &v);
		if (err)
			return err;
		/* Insertion sort by key text; a repeated key takes the later value. */
		for (j = 0; j < m && strcmp(profile__string(p, pairs[2 * j]), l->key) < 0; j++)
			;
		if (j < m && pairs[2 * j] == k) {
			pairs[2 * j + 1] = v;
			continue;
		}
		memmove(pairs + 2 * j + 2, pairs + 2 * j, (m - j) * 2 * sizeof(uint32_t));
		pairs[2 * j] = k;
		pairs[2 * j + 1] = v;
		m++;
	}
	/* Empty values mean "not known": drop them so such sets compare equal. */
	size_t w = 0;
	for (size_t i = 0; i < m; i++) {
		if (p->strings.v[pairs[2 * i + 1]].len == 0)
			continue;
		pairs[2 * w] = pairs[2 * i];
		pairs[2 * w + 1] = pairs[2 * i + 1];
		w++;
	}
	return profile__intern_label_ids(p, pairs, w, id);
}

size_t profile__label_set_len(const struct profile *p, uint32_t id)
{
	if (id == 0 || id > p->labelsets.len)
		return 0;
	return p->labelsets.v[id - 1].len;
}

int profile__label_set_get(const struct profile *p, uint32_t id, size_t i,
			   struct profile_label *out)
{
	if (i >= profile__label_set_len(p, id))
		return -EINVAL;
	const uint32_t *pair = p->label_pairs.v + p->labelsets.v[id - 1].off + 2 * i;
	out->key = profile__string(p, pair[0]);
	out->value = profile__string(p, pair[1]);
	return 0;
}

const char *profile__label_value(const struct profile *p, uint32_t id, const char *key)
{
	size_t n = profile__label_set_len(p, id);
	struct profile_label l = { "", "" };

	for (size_t i = 0; i < n; i++) {
		profile__label_set_get(p, id, i, &l);
		if (!strcmp(l.key, key))
			return l.value;
	}
	return NULL;
}

size_t profile__label_set_count(const struct profile *p)
{
	return p->labelsets.len;
}

size_t profile__frame_count(const struct profile *p)
{
	return p->frames.len;
}

static int stack_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct pstack *st = &p->stacks.v[id];
	return ids_eq(p->stack_frames.v + st->off, st->len, key);
}

int profile__intern_stack(struct profile *p, const uint32_t *frames, size_t n, uint32_t *id)
{
	struct ids_key key = { frames, n };
	uint64_t h = intern_hash(frames, n * sizeof(*frames), 2);
	int err;

	if (intern_table__find(&p->stack_index, h, &key, stack_eq, p, id))
		return 0;
	if (p->stack_frames.len + n > UINT32_MAX)
		return -ENOMEM;
	err = VEC_RESERVE(p->stack_frames, p->stack_frames.len + n);
	if (!err)
		err = VEC_RESERVE(p->stacks, p->stacks.len + 1);
	if (err)
		return err;
	*id = p->stacks.len;
	err = intern_table__insert(&p->stack_index, h, *id);
	if (err)
		return err;
	if (n)
		memcpy(p->stack_frames.v + p->stack_frames.len, frames, n * sizeof(*frames));
	p->stacks.v[p->stacks.len++] = (struct pstack){ p->stack_frames.len, n };
	p->stack_frames.len += n;
	return 0;
}

static int series_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	return memcmp(&p->series.v[id], key, sizeof(struct pseries)) == 0;
}

int profile__intern_series(struct profile *p, const struct pseries *key, uint32_t *id)
{
	uint64_t h = intern_hash(key, sizeof(*key), 6);
	int err;

	if (intern_table__find(&p->series_index, h, key, series_eq, p, id))
		return 0;
	if (p->series.len >= UINT32_MAX - 1)
		return -ENOMEM;
	err = VEC_RESERVE(p->series, p->series.len + 1);
	if (!err)
		err = intern_table__insert(&p->series_index, h, p->series.len);
	if (err)
		return err;
	*id = p->series.len;
	p->series.v[p->series.len++] = *key;
	return 0;
}

uint64_t profile__bucket_time(uint64_t t)
{
	uint64_t b = t - t % PROFILE_BUCKET_NS;

	return t && !b ? PROFILE_BUCKET_NS : b;
}

/* A record is found by its series and bucket. */
struct record_key {
	uint32_t series;
	uint64_t time_ns;
};

static uint64_t record_hash(uint32_t series, uint64_t time_ns)
{
	return hash_mix64(time_ns ^ hash_mix64(series));
}

static int record_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct record_key *k = key;
	return p->samples.v[id].series == k->series && p->samples.v[id].time_ns == k->time_ns;
}

/* Refill the table with records [from, len) in a table sized for them. */
static int record_index_refill(struct profile *p, size_t from)
{
	struct record_index *ri = &p->records;
	struct intern_table t = { 0 };
	int err = intern_table__reserve(&t, p->samples.len - from);

	for (size_t i = from; !err && i < p->samples.len; i++) {
		const struct psample *s = &p->samples.v[i];
		err = intern_table__insert(&t, record_hash(s->series, s->time_ns), (uint32_t)i);
	}
	if (err) {
		intern_table__free(&t);
		return err;
	}
	intern_table__free(&ri->table);
	ri->table = t;
	ri->from = from;
	return 0;
}

/* The window moves on to the last RECORD_WINDOW_NS of buckets: the records older than
 * that at the start of the window leave the table. */
static int record_index_slide(struct profile *p)
{
	struct record_index *ri = &p->records;
	uint64_t floor = ri->top > RECORD_WINDOW_NS ? ri->top - RECORD_WINDOW_NS : 0;
	size_t from = ri->from;
	int err = 0;

	if (floor > ri->floor) {
		while (from < p->samples.len && p->samples.v[from].time_ns < floor)
			from++;
		if (from > ri->from)
			err = record_index_refill(p, from);
		if (!err)
			ri->floor = floor;
	}
	/* Whether it moved or not (all in one bucket), twice as many before the next. */
	ri->slide_at = 2 * (p->samples.len - ri->from);
	if (ri->slide_at < RECORD_WINDOW_MIN)
		ri->slide_at = RECORD_WINDOW_MIN;
	return err;
}

int profile__push_samples(struct profile *p, uint32_t series, uint64_t time_ns, uint64_t count,
			  uint64_t weight)
{
	struct record_index *ri = &p->records;
	struct record_key key = { series, profile__bucket_time(time_ns) };
	uint64_t h = record_hash(series, key.time_ns);
	uint32_t id;
	int err;

	/* Weights come from files too: a total that wraps would make every share and
	 * width garbage. Sub-totals (per record, stack, frame) are bounded by it. */
	if (p->total_weight + weight < p->total_weight || p->total_count + count < p->total_count)
		return -EOVERFLOW;
	if (p->samples.len >= UINT32_MAX - 1)
		return -ENOMEM;
	if (key.time_ns < ri->floor) {
		/* Older than the window: its record may be anywhere. */
		err = record_index_refill(p, 0);
		if (err)
			return err;
		ri->floor = 0;
		ri->whole = true;
	}
	/* Room first: once the index holds the new id, the record must exist. */
	err = VEC_RESERVE(p->samples, p->samples.len + 1);
	if (!err)
		err = intern_table__find_or_insert(&ri->table, h, &key, record_eq, p,
						   (uint32_t)p->samples.len, &id);
	if (err < 0)
		return err;
	if (err) {
		p->samples.v[id].count += count;
		p->samples.v[id].weight += weight;
	} else {
		p->samples.v[p->samples.len++] = (struct psample){
			.time_ns = key.time_ns, .weight = weight, .count = count, .series = series
		};
		if (key.time_ns > ri->top)
			ri->top = key.time_ns;
		/* A window that cannot slide now costs a larger table, not a wrong answer. */
		if (!ri->whole && p->samples.len - ri->from >= ri->slide_at)
			record_index_slide(p);
	}
	p->total_weight += weight;
	p->total_count += count;
	return 0;
}

int profile__add_sample(struct profile *p, const uint32_t *frames, size_t n,
			const struct sample_meta *meta, uint64_t weight)
{
	struct pseries key = { 0 };
	const char *comm = meta && meta->comm ? meta->comm : "";
	uint32_t series;
	int err;

	for (size_t i = 0; i < n; i++)
		if (frames[i] >= p->frames.len)
			return -EINVAL;
	if (meta && meta->labels && meta->label_set)
		return -EINVAL;
	if (meta && meta->label_set > p->labelsets.len)
		return -EINVAL;
	err = profile__intern_string(p, comm, strlen(comm), &key.comm);
	if (!err)
		err = profile__intern_stack(p, frames, n, &key.stack);
	if (!err && meta && meta->labels)
		err = profile__intern_labels(p, meta->labels, meta->nlabels, &key.labels);
	else if (meta)
		key.labels = meta->label_set;
	if (err)
		return err;
	if (meta) {
		key.pid = meta->pid;
		key.tid = meta->tid;
	}
	err = profile__intern_series(p, &key, &series);
	if (err)
		return err;
	return profile__push_samples(p, series, meta ? meta->time_ns : 0, 1, weight);
}

int profile__reserve_samples(struct profile *p, size_t n)
{
	/* The records only: the index holds a window of them (struct record_index). */
	return VEC_RESERVE(p->samples, p->samples.len + n);
}

int profile__reserve_tables(struct profile *p, size_t stacks, size_t frames, size_t series,
			    size_t records)
{
	int err = 0;

	if (stacks > UINT32_MAX || frames > UINT32_MAX || series > UINT32_MAX ||
	    records > UINT32_MAX)
		return -ENOMEM;
	if (!err)
		err = VEC_RESERVE_EXACT(p->stacks, p->stacks.len + stacks);
	if (!err)
		err = VEC_RESERVE_EXACT(p->stack_frames, p->stack_frames.len + frames);
	if (!err)
		err = intern_table__reserve(&p->stack_index, stacks);
	if (!err)
		err = VEC_RESERVE_EXACT(p->series, p->series.len + series);
	if (!err)
		err = intern_table__reserve(&p->series_index, series);
	if (!err)
		err = VEC_RESERVE_EXACT(p->samples, p->samples.len + records);
	/* The record index holds a window of the records: it may shrink again. */
	if (!err)
		err = intern_table__reserve(&p->records.table, records);
	/* What is reserved here is about to be filled (the indexes see to their own). */
	vec_advise_huge(p->stacks.v, p->stacks.cap * sizeof(*p->stacks.v));
	vec_advise_huge(p->stack_frames.v, p->stack_frames.cap * sizeof(*p->stack_frames.v));
	vec_advise_huge(p->series.v, p->series.cap * sizeof(*p->series.v));
	vec_advise_huge(p->samples.v, p->samples.cap * sizeof(*p->samples.v));
	return err;
}

void profile__drop_samples(struct profile *p)
{
	p->samples.len = 0;
	intern_table__clear(&p->records.table);
	p->records = (struct record_index){ .table = p->records.table,
					    .slide_at = RECORD_WINDOW_MIN };
	p->total_weight = 0;
	p->total_count = 0;
}

void profile__clear_samples(struct profile *p)
{
	profile__drop_samples(p);
	memset(&p->counts, 0, sizeof(p->counts));
	p->lost.len = 0;
	memset(&p->info, 0, sizeof(p->info));
}

size_t profile__sample_count(const struct profile *p)
{
	return (size_t)p->total_count;
}

size_t profile__record_count(const struct profile *p)
{
	return p->samples.len;
}

uint64_t profile__total_weight(const struct profile *p)
{
	return p->total_weight;
}

size_t profile__stack_count(const struct profile *p)
{
	return p->stacks.len;
}

const struct profile_counts *profile__counts(const struct profile *p)
{
	return &p->counts;
}

void profile__add_counts(struct profile *p, const struct profile_counts *c)
{
	p->counts.lost += c->lost;
	p->counts.truncated += c->truncated;
}

int profile__add_lost_interval(struct profile *p, uint64_t start_ns, uint64_t end_ns,
			       uint64_t lost)
{
	struct profile_lost *last = p->lost.len ? &p->lost.v[p->lost.len - 1] : NULL;

	if (!lost)
		return 0;
	if (last && last->start_ns == start_ns && last->end_ns == end_ns) {
		last->lost += lost;
		return 0;
	}
	if (p->lost.len >= PROFILE_MAX_LOST_INTERVALS)
		return 0;
	return VEC_PUSH(p->lost, ((struct profile_lost){ start_ns, end_ns, lost }));
}

size_t profile__lost_intervals(const struct profile *p, const struct profile_lost **out)
{
	*out = p->lost.v;
	return p->lost.len;
}

void profile__set_info(struct profile *p, const struct profile_info *info)
{
	p->info = *info;
}

void profile__widen_range(struct profile *p, uint64_t start, uint64_t end)
{
	if (start && (!p->info.start_ns || start < p->info.start_ns))
		p->info.start_ns = start;
	if (end && end > p->info.end_ns)
		p->info.end_ns = end;
}

void profile__info(const struct profile *p, struct profile_info *out)
{
	uint64_t lo = 0, hi = 0;

	*out = p->info;
	if (out->start_ns && out->end_ns)
		return;
	for (size_t i = 0; i < p->samples.len; i++) {
		uint64_t t = p->samples.v[i].time_ns;
		if (!t)
			continue;
		if (!lo || t < lo)
			lo = t;
		if (t > hi)
			hi = t;
	}
	if (!out->start_ns)
		out->start_ns = lo;
	if (!out->end_ns)
		out->end_ns = hi;
}

void profile__view_sample(const struct profile *p, const struct psample *ps,
			  struct profile_sample *out)
{
	const struct pseries *se = &p->series.v[ps->series];
	const struct pstack *st = &p->stacks.v[se->stack];
	*out = (struct profile_sample){
		.frames = p->stack_frames.v + st->off,
		.nframes = st->len,
		.comm = profile__string(p, se->comm),
		.time_ns = ps->time_ns,
		.pid = se->pid,
		.tid = se->tid,
		.weight = ps->weight,
		.count = ps->count,
		.label_set = se->labels,
		.stack = se->stack,
	};
}

int profile__for_each_sample(const struct profile *p,
			     int (*fn)(const struct profile_sample *s, void *ctx), void *ctx)
{
	for (size_t i = 0; i < p->samples.len; i++) {
		struct profile_sample s;
		profile__view_sample(p, &p->samples.v[i], &s);
		int ret = fn(&s, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
