/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.h - a bounded free list of objects of one size, for the small records that
 * process churn makes and frees by the thousand (a table entry per fork, a note per
 * exec). They are freed in bursts (the exits a drain reaps) and made in bursts (the
 * forks of the next drain): more than glibc's per-thread cache holds, so each burst
 * went through malloc's slow path, which sorts the freed chunks into its bins, a few
 * percent of the engine's CPU under churn (docs/platform.md). Up to @max freed objects
 * are kept here instead and handed out again, zeroed.
 *
 *	struct obj_pool p = OBJ_POOL_INIT(sizeof(struct entry), 256);
 *	struct entry *e = obj_pool_get(&p);	// zeroed, or NULL on ENOMEM
 *	obj_pool_put(&p, e);			// kept, or freed past the bound
 *	obj_pool_clear(&p);			// frees what is kept
 *
 * Objects must be at least a pointer in size (the list is threaded through them).
 * Under AddressSanitizer nothing is kept (every put frees): a kept object handed out
 * again at the next get would hide a use after free from ASan's quarantine.
 */
#ifndef SMOLDER_LIB_POOL_H
#define SMOLDER_LIB_POOL_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define OBJ_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OBJ_POOL_ASAN 1
#endif
#endif
/* Whether a pool keeps what is put back (the bound it is given), or frees it. */
#ifdef OBJ_POOL_ASAN
#define OBJ_POOL_KEEPS 0
#else
#define OBJ_POOL_KEEPS 1
#endif

struct obj_pool {
	void *head;  /* kept objects, each holding the next's address */
	size_t n;    /* kept now */
	size_t size; /* of each object */
	size_t max;  /* kept at most */
};

#define OBJ_POOL_INIT(obj_size, max_kept) \
	((struct obj_pool){ NULL, 0, (obj_size), OBJ_POOL_KEEPS ? (max_kept) : 0 })

/* A zeroed object, kept or new; NULL when out of memory. */
static inline void *obj_pool_get(struct obj_pool *p)
{
	void *o = p->head;

	if (!o)
		return calloc(1, p->size);
	memcpy(&p->head, o, sizeof(p->head));
	p->n--;
	memset(o, 0, p->size);
	return o;
}

/* Give @o back (NULL is ignored): kept while fewer than max are, else freed. */
static inline void obj_pool_put(struct obj_pool *p, void *o)
{
	if (!o)
		return;
	if (p->n >= p->max) {
		free(o);
		return;
	}
	memcpy(o, &p->head, sizeof(p->head));
	p->head = o;
	p->n++;
}

/* Free the kept objects (the pool stays usable). */
static inline void obj_pool_clear(struct obj_pool *p)
{
	while (p->head) {
		void *o = p->head;

		memcpy(&p->head, o, sizeof(p->head));
		free(o);
	}
	p->n = 0;
}

#endif /* SMOLDER_LIB_POOL_H */
