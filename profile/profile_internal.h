/* SPDX-License-Identifier: Apache-2.0 */
/* profile_internal.h - the in-memory layout of a profile, shared by the profile module only. */
#ifndef SMOLDER_PROFILE_INTERNAL_H
#define SMOLDER_PROFILE_INTERNAL_H

#include "intern.h"
#include "profile.h"

struct pstring {
	uint32_t off; /* into profile.chars */
	uint32_t len;
};

struct pframe {
	uint32_t name; /* string id */
	uint32_t kind; /* enum frame_kind */
};

struct pstack {
	uint32_t off; /* into profile.stack_frames */
	uint32_t len;
};

struct psample {
	uint64_t time_ns;
	uint64_t weight;
	uint32_t stack;
	uint32_t comm; /* string id */
	int32_t pid, tid;
};

/* A growable array of fixed-size items; len/cap counted in items. */
#define VEC(type) struct { type *v; size_t len, cap; }

struct profile {
	char *chars; /* NUL-terminated strings back to back */
	size_t chars_len, chars_cap;
	VEC(struct pstring) strings;
	VEC(struct pframe) frames;
	VEC(uint32_t) stack_frames;
	VEC(struct pstack) stacks;
	VEC(struct psample) samples;
	struct intern_table string_index, frame_index, stack_index;
	uint64_t total_weight;
	struct profile_counts counts;
};

/* Grow @vec to hold at least @need items. @return 0 or -ENOMEM. */
#define VEC_RESERVE(vec, need)                                                      \
	({                                                                          \
		int __err = 0;                                                      \
		if ((need) > (vec).cap) {                                           \
			size_t __cap = (vec).cap ? (vec).cap * 2 : 64;              \
			while (__cap < (need))                                      \
				__cap *= 2;                                         \
			void *__v = realloc((vec).v, __cap * sizeof(*(vec).v));     \
			if (__v) {                                                  \
				(vec).v = __v;                                      \
				(vec).cap = __cap;                                  \
			} else {                                                    \
				__err = -ENOMEM;                                    \
			}                                                           \
		}                                                                   \
		__err;                                                              \
	})

/* Intern a string of @len bytes (need not be NUL-terminated). @return 0 or -ENOMEM. */
int profile__intern_string(struct profile *p, const char *s, size_t len, uint32_t *id);
const char *profile__string(const struct profile *p, uint32_t id);

#endif /* SMOLDER_PROFILE_INTERNAL_H */
