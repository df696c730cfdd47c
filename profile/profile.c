/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.c - the in-memory profile: interned strings, frames and stacks, and the
 * list of samples that point at them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	free(p->chars);
	free(p->strings.v);
	free(p->frames.v);
	free(p->stack_frames.v);
	free(p->stacks.v);
	free(p->samples.v);
	intern_table__free(&p->string_index);
	intern_table__free(&p->frame_index);
	intern_table__free(&p->stack_index);
	free(p);
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
	return ps->len == k->len && memcmp(p->chars + ps->off, k->s, k->len) == 0;
}

int profile__intern_string(struct profile *p, const char *s, size_t len, uint32_t *id)
{
	struct string_key key = { s, len };
	uint64_t h = intern_hash(s, len, 0);
	int err;

	if (intern_table__find(&p->string_index, h, &key, string_eq, p, id))
		return 0;
	if (len > UINT32_MAX || p->chars_len + len + 1 > UINT32_MAX)
		return -ENOMEM;
	if (p->chars_len + len + 1 > p->chars_cap) {
		size_t cap = p->chars_cap ? p->chars_cap * 2 : 4096;
		while (cap < p->chars_len + len + 1)
			cap *= 2;
		char *chars = realloc(p->chars, cap);
		if (!chars)
			return -ENOMEM;
		p->chars = chars;
		p->chars_cap = cap;
	}
	err = VEC_RESERVE(p->strings, p->strings.len + 1);
	if (err)
		return err;
	memcpy(p->chars + p->chars_len, s, len);
	p->chars[p->chars_len + len] = '\0';
	*id = p->strings.len;
	err = intern_table__insert(&p->string_index, h, *id);
	if (err)
		return err;
	p->strings.v[p->strings.len++] = (struct pstring){ p->chars_len, len };
	p->chars_len += len + 1;
	return 0;
}

const char *profile__string(const struct profile *p, uint32_t id)
{
	return p->chars + p->strings.v[id].off;
}

static int frame_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct pframe *k = key;
	return p->frames.v[id].name == k->name && p->frames.v[id].kind == k->kind;
}

int profile__intern_frame(struct profile *p, const char *name, enum frame_kind kind,
			  uint32_t *id)
{
	struct pframe key = { .kind = kind };
	uint64_t h;
	int err;

	err = profile__intern_string(p, name, strlen(name), &key.name);
	if (err)
		return err;
	h = intern_hash(&key, sizeof(key), 1);
	if (intern_table__find(&p->frame_index, h, &key, frame_eq, p, id))
		return 0;
	err = VEC_RESERVE(p->frames, p->frames.len + 1);
	if (err)
		return err;
	*id = p->frames.len;
	err = intern_table__insert(&p->frame_index, h, *id);
	if (err)
		return err;
	p->frames.v[p->frames.len++] = key;
	return 0;
}

const char *profile__frame_name(const struct profile *p, uint32_t id)
{
	return profile__string(p, p->frames.v[id].name);
}

enum frame_kind profile__frame_kind(const struct profile *p, uint32_t id)
{
	return p->frames.v[id].kind;
}

size_t profile__frame_count(const struct profile *p)
{
	return p->frames.len;
}

struct stack_key {
	const uint32_t *frames;
	size_t n;
};

static int stack_eq(uint32_t id, const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct stack_key *k = key;
	const struct pstack *st = &p->stacks.v[id];
	/* memcmp with a NULL pointer is undefined even for zero bytes. */
	return st->len == k->n &&
	       (!k->n || !memcmp(p->stack_frames.v + st->off, k->frames,
				 k->n * sizeof(uint32_t)));
}

static int intern_stack(struct profile *p, const uint32_t *frames, size_t n, uint32_t *id)
{
	struct stack_key key = { frames, n };
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

int profile__add_sample(struct profile *p, const uint32_t *frames, size_t n,
			const struct sample_meta *meta, uint64_t weight)
{
	struct psample s = { .weight = weight };
	const char *comm = meta && meta->comm ? meta->comm : "";
	int err;

	for (size_t i = 0; i < n; i++)
		if (frames[i] >= p->frames.len)
			return -EINVAL;
	err = profile__intern_string(p, comm, strlen(comm), &s.comm);
	if (!err)
		err = intern_stack(p, frames, n, &s.stack);
	if (!err)
		err = VEC_RESERVE(p->samples, p->samples.len + 1);
	if (err)
		return err;
	if (meta) {
		s.time_ns = meta->time_ns;
		s.pid = meta->pid;
		s.tid = meta->tid;
	}
	p->samples.v[p->samples.len++] = s;
	p->total_weight += weight;
	return 0;
}

size_t profile__sample_count(const struct profile *p)
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

int profile__for_each_sample(const struct profile *p,
			     int (*fn)(const struct profile_sample *s, void *ctx), void *ctx)
{
	for (size_t i = 0; i < p->samples.len; i++) {
		const struct psample *ps = &p->samples.v[i];
		const struct pstack *st = &p->stacks.v[ps->stack];
		struct profile_sample s = {
			.frames = p->stack_frames.v + st->off,
			.nframes = st->len,
			.comm = profile__string(p, ps->comm),
			.time_ns = ps->time_ns,
			.pid = ps->pid,
			.tid = ps->tid,
			.weight = ps->weight,
		};
		int ret = fn(&s, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
