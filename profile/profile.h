/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.h - smolder's profile data model and its text interchange format.
 *
 * A profile holds interned strings, frames (a name and a kind), stacks (lists of
 * frames, outermost first, each distinct stack stored once) and samples (a stack, a
 * timestamp, pid/tid, the process name and a weight).
 *
 * Error contract: functions returning int return 0 on success or a negative errno;
 * functions returning pointers return NULL and set errno. Strings handed out by a
 * profile stay valid until profile__free().
 */
#ifndef SMOLDER_PROFILE_H
#define SMOLDER_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* What produced a frame; decides its suffix in folded text and its colour. */
enum frame_kind {
	FRAME_USER = 0,    /* native user-space code, symbolized */
	FRAME_KERNEL = 1,  /* kernel code; folded suffix "_[k]" */
	FRAME_JIT = 2,     /* JIT-compiled or interpreted code; folded suffix "_[j]" */
	FRAME_UNKNOWN = 3, /* "[unknown]" or "[lib+0xOFF]": no symbol was found */
};

/* Per-sample facts besides the stack. */
struct sample_meta {
	uint64_t time_ns; /* wall clock, ns since the Unix epoch; 0 when unknown */
	pid_t pid;        /* process (tgid); 0 when unknown */
	pid_t tid;        /* thread; 0 when unknown */
	const char *comm; /* process name; copied (interned) by the profile */
};

/* A sample as handed out by profile__for_each_sample(); all pointers borrowed. */
struct profile_sample {
	const uint32_t *frames; /* frame ids, outermost first */
	size_t nframes;
	const char *comm;
	uint64_t time_ns;
	pid_t pid, tid;
	uint64_t weight;
};

/* Sample counters the producer reports; written into profiles and shown to users. */
struct profile_counts {
	uint64_t lost;      /* samples the kernel could not hand over (ring buffer full) */
	uint64_t truncated; /* stacks cut short (depth limit or snapshot size) */
};

struct profile;

/* Create an empty profile. @return the profile, or NULL with errno set. */
struct profile *profile__new(void);
void profile__free(struct profile *p);

/*
 * Intern a frame (name + kind) and return its id through @id. The name is copied.
 * @return 0, or -ENOMEM.
 */
int profile__intern_frame(struct profile *p, const char *name, enum frame_kind kind,
			  uint32_t *id);

/* Name and kind of frame @id (which must come from this profile). */
const char *profile__frame_name(const struct profile *p, uint32_t id);
enum frame_kind profile__frame_kind(const struct profile *p, uint32_t id);
size_t profile__frame_count(const struct profile *p);

/*
 * Add a sample whose stack is @frames[0..n) (outermost first, frame ids from
 * profile__intern_frame) with @weight (1 for one sampled tick).
 * @return 0, or -EINVAL (unknown frame id), -ENOMEM.
 */
int profile__add_sample(struct profile *p, const uint32_t *frames, size_t n,
			const struct sample_meta *meta, uint64_t weight);

/* Number of samples added and the sum of their weights. */
size_t profile__sample_count(const struct profile *p);
uint64_t profile__total_weight(const struct profile *p);
/* Number of distinct stacks (interning is what keeps this small). */
size_t profile__stack_count(const struct profile *p);

/* Producer counters (lost, truncated): read and add to. */
const struct profile_counts *profile__counts(const struct profile *p);
void profile__add_counts(struct profile *p, const struct profile_counts *c);

/*
 * Call @fn for every sample in insertion order; stops early and returns @fn's value
 * when that is non-zero. @return 0 or what @fn returned.
 */
int profile__for_each_sample(const struct profile *p,
			     int (*fn)(const struct profile_sample *s, void *ctx), void *ctx);

/*
 * Write the profile as folded text: one line per distinct (comm, stack),
 * "comm;outermost;...;innermost COUNT", lines sorted bytewise. Kernel frames carry
 * "_[k]", JIT frames "_[j]". Samples with an empty comm have no comm element.
 * @return 0, or a negative errno from writing.
 */
int profile__write_folded(const struct profile *p, FILE *out);

/*
 * Read folded text (as written by profile__write_folded, flamegraph.pl's
 * stackcollapse-*, inferno, ...) and add one sample per line with the line's count
 * as weight; the first element becomes the sample's comm. Frame kinds are told from
 * the suffixes "_[k]" / "_[j]" and from "[unknown]" / "[...+0x...]" names, and the
 * suffixes are stripped. Blank lines are skipped.
 * @return 0, or -EINVAL on a malformed line (then *@bad_line says which, 1-based,
 * when @bad_line is not NULL), -ENOMEM, -EIO.
 */
int profile__read_folded(struct profile *p, FILE *in, size_t *bad_line);

#endif /* SMOLDER_PROFILE_H */
