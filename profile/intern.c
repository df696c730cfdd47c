/* SPDX-License-Identifier: Apache-2.0 */
/* intern.c - the open-addressing id table behind the profile's interning. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "intern.h"

void intern_table__free(struct intern_table *t)
{
	free(t->slots);
	free(t->hashes);
	t->slots = NULL;
	t->hashes = NULL;
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
	if (!t->cap)
		return 0;
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t slot = t->slots[i];
		if (!slot)
			return 0;
		if (t->hashes[i] == h && eq(slot - 1, key, ctx)) {
			*id = slot - 1;
			return 1;
		}
	}
}

static void place(uint32_t *slots, uint64_t *hashes, size_t cap, uint64_t h, uint32_t slot)
{
	size_t mask = cap - 1;
	size_t i = h & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = slot;
	hashes[i] = h;
}

static int grow(struct intern_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	uint64_t *hashes = calloc(cap, sizeof(*hashes));
	if (!slots || !hashes) {
		free(slots);
		free(hashes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			place(slots, hashes, cap, t->hashes[i], t->slots[i]);
	free(t->slots);
	free(t->hashes);
	t->slots = slots;
	t->hashes = hashes;
	t->cap = cap;
	return 0;
}

int intern_table__insert(struct intern_table *t, uint64_t h, uint32_t id)
{
	/* Keep the load factor under 1/2 so probe sequences stay short. */
	if ((t->len + 1) * 2 > t->cap) {
		int err = grow(t);
		if (err)
			return err;
	}
	place(t->slots, t->hashes, t->cap, h, id + 1);
	t->len++;
	return 0;
}

uint64_t intern_hash(const void *data, size_t len, uint64_t seed)
{
	/* Probes start at the low bits: mix so that they depend on every byte. */
	return hash_mix64(hash_fnv1a(data, len, seed));
}
