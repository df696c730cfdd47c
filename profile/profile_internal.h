/* SPDX-License-Identifier: Apache-2.0 */
/* profile_internal.h - the in-memory layout of a profile, shared by the profile module only. */
#ifndef SMOLDER_PROFILE_INTERNAL_H
#define SMOLDER_PROFILE_INTERNAL_H

#include "intern.h"
#include "profile.h"
#include "vec.h"

struct pstring {
	uint32_t off; /* into profile.chars */
	uint32_t len;
};

struct pframe {
	uint32_t name;    /* string id */
	uint32_t kind;    /* enum frame_kind */
	uint32_t mapping; /* 0 none, else mapping id (index + 1) */
	uint32_t file;    /* string id of the source file; "" when unknown */
	uint32_t line;
	uint32_t pad;     /* zero: frames are hashed as bytes */
	uint64_t address;
};

struct pmapping {
	uint32_t path, build_id; /* string ids */
	uint64_t start, limit, offset;
};

/* A label set: npairs (key, value) string-id pairs in label_pairs, sorted by key text. */
struct plabels {
	uint32_t off; /* into profile.label_pairs, counted in uint32_t (2 per label) */
	uint32_t len; /* labels */
};

struct pstack {
	uint32_t off; /* into profile.stack_frames */
	uint32_t len;
};

/* What samples are told apart by, besides their time: the stack, and who ran it. */
struct pseries {
	uint32_t stack;
	uint32_t comm; /* string id */
	int32_t pid, tid;
	uint32_t labels; /* 0 none, else label set id (index + 1) */
};

/* A record: every sample of one series in one time bucket. */
struct psample {
	uint64_t time_ns; /* the bucket's start (profile__bucket_time), 0 unknown */
	uint64_t weight;  /* sum of the samples' weights */
	uint64_t count;   /* samples added */
	uint32_t series;
	uint32_t pad;
};

/*
 * The index that finds the record of a (series, bucket). Samples come in nearly time
 * order, and a record can only be the one of its bucket, so the table holds only the
 * records of recent buckets while that stays true: every record before @from has a
 * bucket older than @floor, and every one from @from on is in @table. The window
 * slides as the table doubles. A record older than @floor (out of order beyond the
 * window, or another time range merged in) puts every record into the table for good
 * (@whole). Either way a lookup is exact; the window only keeps the table small and
 * in cache (a store query of a day's 2M records no longer walks a 32 MiB table).
 */
struct record_index {
	struct intern_table table;
	size_t from;      /* first record position in the table */
	size_t slide_at;  /* slide the window when the table holds this many records */
	uint64_t floor;   /* bucket start below which no record is at from or later */
	uint64_t top;     /* latest bucket start seen */
	bool whole;       /* every record is in the table, the window stays put */
};

/* Names shown for unresolved frames, made when first asked for (profile__frame_name):
 * in blocks that never move, so that a name stays where it was handed out. */
struct name_block {
	struct name_block *next;
	size_t used, cap;
	char text[];
};
struct frame_names {
	const char **by_frame; /* frame id -> name; NULL: not made yet */
	size_t len;
	struct name_block *blocks;
};

struct profile {
	VEC(char) chars; /* NUL-terminated strings back to back */
	VEC(struct pstring) strings;
	VEC(struct pframe) frames;
	VEC(uint32_t) stack_frames;
	VEC(struct pstack) stacks;
	VEC(struct pseries) series;
	VEC(struct psample) samples; /* records, in the order their first sample came */
	VEC(struct pmapping) mappings;
	VEC(uint32_t) label_pairs;
	VEC(struct plabels) labelsets;
	struct intern_table string_index, frame_index, stack_index, mapping_index, label_index,
		series_index;
	struct record_index records; /* finds a record by (series, bucket) */
	uint64_t total_weight;
	uint64_t total_count; /* samples: the records' counts summed */
	struct frame_names *names; /* allocated with the profile: filled through a const one */
	struct profile_counts counts;
	VEC(struct profile_lost) lost; /* when the lost samples were lost, where known */
	struct profile_info info;
};

/* Intern a string of @len bytes (need not be NUL-terminated). @return 0 or -ENOMEM. */
int profile__intern_string(struct profile *p, const char *s, size_t len, uint32_t *id);
const char *profile__string(const struct profile *p, uint32_t id);
/* Is @f an unresolved frame: kind FRAME_UNKNOWN, no name, a mapping? Its name is
 * then "[BASENAME+0xADDRESS]" (profile__frame_name). */
bool profile__frame_unresolved(const struct profile *p, const struct pframe *f);
/* Intern a stack of frame ids already known to be valid. @return 0 or -ENOMEM. */
int profile__intern_stack(struct profile *p, const uint32_t *frames, size_t n, uint32_t *id);
/* Intern a label set given as sorted, unique-key (key, value) string-id pairs.
 * @return 0 (id 0 for n == 0) or -ENOMEM. */
int profile__intern_label_ids(struct profile *p, const uint32_t *pairs, size_t n, uint32_t *id);
/* Intern a series whose ids are known valid. @return 0 or -ENOMEM. */
int profile__intern_series(struct profile *p, const struct pseries *key, uint32_t *id);
/* The start of the bucket @t falls in; 0 stays 0 (unknown), and a time in the first
 * bucket after the epoch becomes PROFILE_BUCKET_NS so that it stays known. */
uint64_t profile__bucket_time(uint64_t t);
/* Add @count samples weighing @weight together to series @series (id known valid) at
 * @time_ns: to its record for that time bucket, made when there is none.
 * @return 0, or -EOVERFLOW (the profile's total weight or count would wrap), -ENOMEM. */
int profile__push_samples(struct profile *p, uint32_t series, uint64_t time_ns, uint64_t count,
			  uint64_t weight);
/* Make room for @n more records (a reader that knows how many come). @return 0 or
 * -ENOMEM. */
int profile__reserve_samples(struct profile *p, size_t n);
/* Room for @stacks more stacks of @frames frames in all, @series more series and
 * @records more records, indexes included, so that a reader that can tell how much
 * comes (from its input's size) does not grow and rehash the tables on the way.
 * @return 0 or -ENOMEM (what was reserved stays). */
int profile__reserve_tables(struct profile *p, size_t stacks, size_t frames, size_t series,
			    size_t records);
/* Note @lost samples lost in [@start_ns, @end_ns] (a chunk's interval): joined to the
 * last interval when it is the same one, dropped (the total keeps them) past
 * PROFILE_MAX_LOST_INTERVALS. Adds nothing to the total. @return 0 or -ENOMEM. */
int profile__add_lost_interval(struct profile *p, uint64_t start_ns, uint64_t end_ns,
			       uint64_t lost);
/* Drop the records (and their totals), keeping every table and the counters. */
void profile__drop_samples(struct profile *p);
/* Intern a raw frame (ids known valid). @return 0 or -ENOMEM. */
int profile__intern_pframe(struct profile *p, const struct pframe *key, uint32_t *id);
/* Intern a raw mapping (ids known valid); id is index + 1. @return 0 or -ENOMEM. */
int profile__intern_pmapping(struct profile *p, const struct pmapping *key, uint32_t *id);
/* Fill @out for sample @ps, which need not be one of @p's samples yet (its ids must be). */
void profile__view_sample(const struct profile *p, const struct psample *ps,
			  struct profile_sample *out);
/* Records summed by what they share: (stack, comm), and with @with_labels also the
 * label set, pid and tid (what tells pprof samples apart). Items are in the order
 * their first record came; weight is the sum. */
struct sample_agg {
	uint32_t stack, comm, labels;
	int32_t pid, tid;
	uint32_t pad; /* zero: the fields above are hashed as bytes */
	uint64_t weight;
};
struct sample_aggs {
	VEC(struct sample_agg) items;
	struct intern_table index;
};
/* Add @p's records to @out (zeroed, or from an earlier call with the same
 * @with_labels). @return 0 or -ENOMEM. */
int profile__aggregate(const struct profile *p, bool with_labels, struct sample_aggs *out);
void sample_aggs__free(struct sample_aggs *a);
/* Widen @p's time range to cover [start, end] (0s ignored). */
void profile__widen_range(struct profile *p, uint64_t start, uint64_t end);

/* Little-endian unsigned LEB128 varints (lib/varint.h), the integer encoding of
 * docs/format.md; signed values go through varint_zigzag(). */
struct wbuf {
	VEC(unsigned char) buf;
	int err; /* sticky: -ENOMEM once a write failed */
};
/* Make room for @n more bytes (len unchanged). @return 0 or -ENOMEM (sticky). */
int wbuf_reserve(struct wbuf *w, size_t n);
void wbuf_bytes(struct wbuf *w, const void *data, size_t n);
void wbuf_varint(struct wbuf *w, uint64_t v);
struct rbuf {
	const unsigned char *b;
	size_t len, pos;
	int err; /* sticky: -EINVAL once a read ran past the end or overflowed */
};
uint64_t rbuf_varint(struct rbuf *r);
/* A varint that must be < @limit (else the buffer turns bad). */
uint64_t rbuf_bounded(struct rbuf *r, uint64_t limit);
const unsigned char *rbuf_bytes(struct rbuf *r, size_t n);

/* The negative errno of a failed write to @f (errno as stdio left it, else -EIO). */
int profile__stdio_error(FILE *f);

/* Read a whole file (or stdin for "-") into memory, at most @max bytes.
 * @return 0, or -errno, -EFBIG. */
int profile__slurp(const char *path, size_t max, unsigned char **out, size_t *len);

/* profile__read_folded() over the @len bytes at @buf, which it only reads (they may
 * be a read-only mapping; no NUL needed at the end). */
int profile__read_folded_mem(struct profile *p, const char *buf, size_t len, size_t *bad_line);

/* ---- the .smolder encoding (format.c), shared with the store ---- */

/* The file preamble: a zstd skippable frame carrying the magic and the version. */
#define SMOLDER_PREAMBLE_LEN 24
#define SMOLDER_VERSION_MAJOR 2
#define SMOLDER_VERSION_MINOR 0
/* The oldest major version still read (1.x: one entry per sample, times in ns). */
#define SMOLDER_VERSION_MAJOR_OLDEST 1
#define SMOLDER_CHUNK_DATA 1
#define SMOLDER_ZSTD_LEVEL 19
/* The most any of zstd's window, hash and chain tables may take, as a log2 of entries
 * (bytes for the window): level 19 alone picks up to 2^24-entry chains, an 83 MiB
 * context for a chunk of 16 MiB, which a recording or the agent would carry at each
 * write. 2^20 keeps it near 20 MiB, and the files measured came out the same size to
 * within 0.01% (docs/platform.md). */
#define SMOLDER_ZSTD_MAX_LOG 20
/* Records per chunk when a whole profile is written at once. */
#define SMOLDER_CHUNK_SAMPLES 65536

/* How much of a profile's tables earlier chunks already carried. */
struct chunk_marks {
	size_t strings, mappings, frames, stacks, labelsets, series;
	struct profile_counts counts;
};

void profile__encode_preamble(struct wbuf *out);
/* A zstd compression context set up for chunks (level, checksum, content size);
 * NULL on allocation failure. */
void *profile__new_cctx(void);
/* The same at zstd level @level (the spill file's: fast, read back once). */
void *profile__new_cctx_level(int level);
void profile__free_cctx(void *cctx);
/*
 * Append one DATA chunk to @out, as one zstd frame with a checksum: the tables of
 * @p beyond @m, and records [s0, s1); then advance @m. @cctx is reused across calls.
 * @return 0, or -ENOMEM, -EIO (compression failed).
 */
int profile__encode_chunk(const struct profile *p, struct chunk_marks *m, size_t s0,
			  size_t s1, void *cctx, struct wbuf *out);

/* Reader state across the chunks of one file: file ids -> profile ids. */
struct chunk_decoder {
	unsigned major; /* the file's major version; 0 is taken as the current one */
	VEC(uint32_t) strings, mappings, frames, stacks, labelsets, series;
};
void chunk_decoder__free(struct chunk_decoder *d);
/* Apply one decompressed chunk to @p. @return 0, or -EINVAL (malformed), -ENOMEM. */
int profile__apply_chunk(struct profile *p, struct chunk_decoder *d, const void *chunk,
			 size_t len, const struct profile_filter *f);

#endif /* SMOLDER_PROFILE_INTERNAL_H */
