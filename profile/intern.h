/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intern.h - internal open-addressing hash used by the profile to intern strings,
 * frames and stacks. Not part of the public API.
 *
 * The table stores 32-bit ids only; the caller keeps the keyed objects and supplies
 * hash and equality through callbacks, so one implementation serves every kind of
 * interned object.
 */
#ifndef SMOLDER_PROFILE_INTERN_H
#define SMOLDER_PROFILE_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* One slot: the id and the low 32 bits of its hash side by side, so that a probe
 * touches one cache line (the hash bits both place the id and spare most eq calls). */
struct intern_slot {
	uint32_t id1;  /* id + 1; 0 marks an empty slot */
	uint32_t hash; /* low 32 bits of the hash */
};

struct intern_table {
	struct intern_slot *slots;
	size_t cap; /* power of two, at most 2^32 (ids are 32-bit, the load under 1/2) */
	size_t len;
};

/* Does object @id equal the key being looked up? */
typedef int (*intern_eq_fn)(uint32_t id, const void *key, void *ctx);

void intern_table__free(struct intern_table *t);
/* Forget every id but keep the slots' memory (for a table refilled again and again). */
void intern_table__clear(struct intern_table *t);

/*
 * Find the id of an object equal to @key (hash @h). Returns 1 and sets *@id when
 * found, 0 when not found.
 */
int intern_table__find(const struct intern_table *t, uint64_t h, const void *key,
		       intern_eq_fn eq, void *ctx, uint32_t *id);

/* Insert @id under hash @h (the caller checked it is absent). @return 0 or -ENOMEM. */
int intern_table__insert(struct intern_table *t, uint64_t h, uint32_t id);

/*
 * intern_table__find(), and when nothing equal to @key is there, insert @new_id in
 * the same walk (one probe sequence instead of two). @return 1 and *@id of the equal
 * object, or 0 with *@id = @new_id inserted, or -ENOMEM.
 */
int intern_table__find_or_insert(struct intern_table *t, uint64_t h, const void *key,
				 intern_eq_fn eq, void *ctx, uint32_t new_id, uint32_t *id);

/* Make room for @n more ids without growing on the way. @return 0 or -ENOMEM. */
int intern_table__reserve(struct intern_table *t, size_t n);

/* A word-at-a-time multiply-xorshift hash of @len bytes seeded with @seed, then
 * fmix64 (lib/hash.h); good enough for interning, not for adversaries. */
uint64_t intern_hash(const void *data, size_t len, uint64_t seed);

#endif /* SMOLDER_PROFILE_INTERN_H */
