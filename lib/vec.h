/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vec.h - a growable array of fixed-size items: VEC(type) declares one, VEC_RESERVE
 * and VEC_PUSH grow it (doubling, so appends are amortized O(1)) and report -ENOMEM
 * instead of aborting, VEC_FREE releases it. A zeroed VEC is empty and valid.
 */
#ifndef SMOLDER_LIB_VEC_H
#define SMOLDER_LIB_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* len and cap count items, not bytes. */
#define VEC(type) struct { type *v; size_t len, cap; }

/* Grow @vec to hold at least @need items. @return 0 or -ENOMEM (@vec unchanged). */
#define VEC_RESERVE(vec, need)                                                      \
	({                                                                          \
		int __err = 0;                                                      \
		size_t __need = (need);                                             \
		if (__need > (vec).cap) {                                           \
			size_t __cap = (vec).cap ? (vec).cap * 2 : 16;              \
			while (__cap < __need)                                      \
				__cap *= 2;                                         \
			void *__v = __cap <= SIZE_MAX / sizeof(*(vec).v)            \
					    ? realloc((vec).v, __cap * sizeof(*(vec).v)) \
					    : NULL;                                 \
			if (__v) {                                                  \
				(vec).v = __v;                                      \
				(vec).cap = __cap;                                  \
			} else {                                                    \
				__err = -ENOMEM;                                    \
			}                                                           \
		}                                                                   \
		__err;                                                              \
	})

/* Append @item. @return 0 or -ENOMEM. */
#define VEC_PUSH(vec, item)                                                         \
	({                                                                          \
		int __perr = VEC_RESERVE(vec, (vec).len + 1);                       \
		if (!__perr)                                                        \
			(vec).v[(vec).len++] = (item);                              \
		__perr;                                                             \
	})

/* Release the items' storage and empty @vec. */
#define VEC_FREE(vec)                                                               \
	do {                                                                        \
		free((vec).v);                                                      \
		(vec).v = NULL;                                                     \
		(vec).len = (vec).cap = 0;                                          \
	} while (0)

#endif /* SMOLDER_LIB_VEC_H */
