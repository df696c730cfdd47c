/* SPDX-License-Identifier: Apache-2.0 */
/* intern.c - the open-addressing id table behind the profile's interning. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "intern.h"
#include "vec.h"

void intern_table__free(struct intern_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->len = 0;
}

void intern_table__clear(struct intern_table *t)
{
	if (t->cap)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->len = 0;
}

int intern_table__find(const struct intern_table *t, uint64_t h, const void *key,
		       intern_eq_fn eq, void *ctx, uint32_t *id)
{
	uint32_t h32 = (uint32_t)h;
	size_t mask;

	if (!t->cap)
		return 0;
	mask = t->cap - 1;
	for (size_t i = h32 & mask;; i = (i + 1) & mask) {
		const struct intern_slot *s = &t->slots[i];

		if (!s->id1)
			return 0;
		if (s->hash == h32 && eq(s->id1 - 1, key, ctx)) {
			*id = s->id1 - 1;
			return 1;
		}
	}
}

static void place(struct intern_slot *slots, size_t cap, struct intern_slot s)
{
	size_t mask = cap - 1;
	size_t i = s.hash & mask;

	while (slots[i].id1)
		i = (i + 1) & mask;
	slots[i] = s;
}

/* Double the table (at least to 1024 slots, or to hold @need ids at half load). */
static int grow(struct intern_table *t, size_t need)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct intern_slot *slots;

	while (need * 2 > cap)
		cap *= 2;
	if (cap > (1ull << 32))
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	/* Ids land all over the table, so every page of it is touched anyway: huge pages
	 * cost no memory and spare a fault per 4 KiB and most TLB misses of the probes. */
	vec_advise_huge(slots, cap * sizeof(*slots));
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].id1)
			place(slots, cap, t->slots[i]);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int intern_table__insert(struct intern_table *t, uint64_t h, uint32_t id)
{
	/* Keep the load factor under 1/2 so probe sequences stay short. */
	if ((t->len + 1) * 2 > t->cap) {
		int err = grow(t, t->len + 1);
		if (err)
			return err;
	}
	place(t->slots, t->cap, (struct intern_slot){ id + 1, (uint32_t)h });
	t->len++;
	return 0;
}

int intern_table__find_or_insert(struct intern_table *t, uint64_t h, const void *key,
				 intern_eq_fn eq, void *ctx, uint32_t new_id, uint32_t *id)
{
	uint32_t h32 = (uint32_t)h;
	size_t mask;

	if ((t->len + 1) * 2 > t->cap) {
		int err = grow(t, t->len + 1);
		if (err)
			return err;
	}
	mask = t->cap - 1;
	for (size_t i = h32 & mask;; i = (i + 1) & mask) {
		struct intern_slot *s = &t->slots[i];

		if (!s->id1) {
			*s = (struct intern_slot){ new_id + 1, h32 };
			t->len++;
			*id = new_id;
			return 0;
		}
		if (s->hash == h32 && eq(s->id1 - 1, key, ctx)) {
			*id = s->id1 - 1;
			return 1;
		}
	}
}

int intern_table__reserve(struct intern_table *t, size_t n)
{
	if (n > SIZE_MAX / 4 - t->len)
		return -ENOMEM;
	return (t->len + n) * 2 > t->cap ? grow(t, t->len + n) : 0;
}

uint64_t intern_hash(const void *data, size_t len, uint64_t seed)
{
	/* A word at a time (a 20-frame stack is 80 bytes, hashed for every sample a
	 * reader adds), then fmix64: probes start at the low bits, which must depend on
	 * every byte. */
	const unsigned char *p = data;
	uint64_t h = (HASH_FNV_OFFSET ^ seed) + len * 0x9e3779b97f4a7c15ULL, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i); /* the last bytes, as the low bytes of a word */
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	}
	return hash_mix64(h);
}
