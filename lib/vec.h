/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vec.h - a growable array of fixed-size items: VEC(type) declares one, VEC_RESERVE,
 * VEC_PUSH and VEC_APPEND grow it (doubling, so appends are amortized O(1)) and
 * report -ENOMEM instead of aborting, VEC_RESERVE_EXACT grows it to a known final
 * size without the doubling's slack, VEC_FREE releases it. A zeroed VEC is empty and
 * valid. vec_advise_huge() asks for huge pages under a large array about to be filled.
 */
#ifndef SMOLDER_LIB_VEC_H
#define SMOLDER_LIB_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* len and cap count items, not bytes. To give one a name that functions can take,
 * embed it anonymously: struct names { VEC(const char *); }; has v, len and cap. */
#define VEC(type) struct { type *v; size_t len, cap; }

/* (internal) Move @vec's items to storage for @ncap of them, more than it has.
 * @return 0 or -ENOMEM (@vec unchanged). */
#define VEC__REALLOC(vec, ncap)                                                     \
	({                                                                          \
		size_t __rcap = (ncap);                                             \
		void *__v = __rcap <= SIZE_MAX / sizeof(*(vec).v)                   \
				    ? realloc((vec).v, __rcap * sizeof(*(vec).v))   \
				    : NULL;                                         \
		if (__v) {                                                          \
			(vec).v = __v;                                              \
			(vec).cap = __rcap;                                         \
		}                                                                   \
		__v ? 0 : -ENOMEM;                                                  \
	})

/* Grow @vec to hold at least @need items. @return 0 or -ENOMEM (@vec unchanged). */
#define VEC_RESERVE(vec, need)                                                      \
	({                                                                          \
		int __err = 0;                                                      \
		size_t __need = (need);                                             \
		if (__need > (vec).cap) {                                           \
			size_t __cap = (vec).cap ? (vec).cap : 16;                  \
			while (__cap < __need)                                      \
				__cap = __cap > SIZE_MAX / 2 ? __need : __cap * 2;  \
			__err = VEC__REALLOC(vec, __cap);                           \
		}                                                                   \
		__err;                                                              \
	})

/* Grow @vec to hold exactly @need items when it holds fewer: for a size known in
 * advance, where doubling would only leave unused room. @return 0 or -ENOMEM (@vec
 * unchanged). */
#define VEC_RESERVE_EXACT(vec, need)                                                \
	({                                                                          \
		size_t __xneed = (need);                                            \
		__xneed > (vec).cap ? VEC__REALLOC(vec, __xneed) : 0;               \
	})

/* Append @item. @return 0 or -ENOMEM. */
#define VEC_PUSH(vec, item)                                                         \
	({                                                                          \
		int __perr = VEC_RESERVE(vec, (vec).len + 1);                       \
		if (!__perr)                                                        \
			(vec).v[(vec).len++] = (item);                              \
		__perr;                                                             \
	})

/* Append the @n items at @items (not inside @vec). @return 0 or -ENOMEM (@vec
 * unchanged). */
#define VEC_APPEND(vec, items, n)                                                   \
	({                                                                          \
		size_t __n = (n);                                                   \
		/* (__n alone first: a constant too large folds to -ENOMEM.) */     \
		int __aerr = __n > SIZE_MAX / sizeof(*(vec).v) ||                   \
				     (vec).len > SIZE_MAX / sizeof(*(vec).v) - __n  \
			     ? -ENOMEM                                              \
			     : VEC_RESERVE(vec, (vec).len + __n);                   \
		if (!__aerr && __n) {                                               \
			memcpy((vec).v + (vec).len, (items), __n * sizeof(*(vec).v)); \
			(vec).len += __n;                                           \
		}                                                                   \
		__aerr;                                                             \
	})

/*
 * Ask for transparent huge pages under the whole 2 MiB pages inside [@mem, @mem +
 * @bytes): for a large array filled right after it was allocated, where 4 KiB pages
 * would cost a page fault each and a TLB miss on most random accesses. Only where the
 * system leaves THP to madvise; a hint, its failure is harmless. Not for memory that
 * must stay small when mostly unused (a huge page is committed whole).
 */
static inline void vec_advise_huge(void *mem, size_t bytes)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t lo = ((uintptr_t)mem + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)mem + bytes) & ~(huge - 1);

	if (mem && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

/* Release the items' storage and empty @vec. */
#define VEC_FREE(vec)                                                               \
	do {                                                                        \
		free((vec).v);                                                      \
		(vec).v = NULL;                                                     \
		(vec).len = (vec).cap = 0;                                          \
	} while (0)

#endif /* SMOLDER_LIB_VEC_H */
