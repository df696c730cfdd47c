/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.h - smolder's profile data model and its text interchange format.
 *
 * A profile holds interned strings, mappings (path, build-id, bias), frames (a name, a
 * kind and optionally a mapping, file-relative address and source file), stacks (lists
 * of frames, outermost first, each distinct stack stored once), label sets (sorted
 * key=value lists, each distinct set stored once) and samples (a stack, a timestamp,
 * pid/tid, the process name, a label set and a weight), plus profile-level facts
 * (sample period, time range, lost/truncated counters).
 *
 * Samples are aggregated as they are added: all samples with the same stack, pid, tid,
 * comm and label set whose times fall in the same PROFILE_BUCKET_NS bucket make one
 * record (a count of samples, their summed weight, the bucket's start as the time).
 * Memory grows with the distinct (stack, thread, bucket) triples, not with the
 * samples, and times are kept to PROFILE_BUCKET_NS.
 *
 * Files and stores (see docs/format.md):
 *   - .smolder files: profile__write_file() / profile__read_file()
 *   - gzip pprof:     profile__write_pprof() / profile__read_pprof()
 *   - folded text:    profile__write_folded() / profile__read_folded()
 *   - any of the three told apart by content: profile__load()
 *   - a store directory of time-partitioned segments: store.h
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
	FRAME_PYTHON = 4,  /* a Python function, named "function (file.py:line)"; folded
			      suffix "_[p]" */
};

/* The largest kind a profile, and a reader of files, accepts. */
#define FRAME_KIND_MAX FRAME_PYTHON

/* One key=value label (docs/format.md §4.1: exe, build_id, cgroup, container_id,
 * pod_uid, unit, service, ...; pid, tid and comm are first-class sample fields, not
 * labels). */
struct profile_label {
	const char *key;
	const char *value;
};

/* Time resolution of samples: a sample's time is the start of the 10 ms bucket it
 * falls in (docs/format.md §2.1). */
#define PROFILE_BUCKET_NS 10000000ull

/* Bounds on what a profile accepts (and a reader trusts). */
#define PROFILE_MAX_LABELS 64          /* labels in one set */
#define PROFILE_MAX_STRING (1u << 20)  /* bytes in one string */
#define PROFILE_MAX_STACK_DEPTH 8192   /* frames in one stack */

/* Per-sample facts besides the stack. */
struct sample_meta {
	uint64_t time_ns; /* wall clock, ns since the Unix epoch; 0 when unknown. Kept
			     to PROFILE_BUCKET_NS: rounded down to its bucket's start */
	pid_t pid;        /* process (tgid); 0 when unknown */
	pid_t tid;        /* thread; 0 when unknown */
	const char *comm; /* process name; copied (interned) by the profile */
	/* Labels, copied (interned) by the profile; order does not matter, a key given
	 * twice keeps its last value, empty values are dropped. Alternatively pass a set
	 * interned before with profile__intern_labels() as label_set (then labels must be
	 * NULL); label_set 0 means "no labels". */
	const struct profile_label *labels;
	size_t nlabels;
	uint32_t label_set;
};

/*
 * A record as handed out by profile__for_each_sample(): the @count samples of one
 * stack, pid, tid, comm and label set in one time bucket; all pointers borrowed.
 */
struct profile_sample {
	const uint32_t *frames; /* frame ids, outermost first */
	size_t nframes;
	const char *comm;
	uint64_t time_ns;   /* start of the PROFILE_BUCKET_NS bucket; 0 when unknown */
	pid_t pid, tid;
	uint64_t weight;    /* the samples' weights summed */
	uint64_t count;     /* samples (profile__add_sample calls) this record holds */
	uint32_t label_set; /* 0: none; else for profile__label_set_get() and friends */
	uint32_t stack;     /* id of the interned stack */
};

/* A mapped file frames can point into (pprof's Mapping). */
struct profile_mapping {
	const char *path;     /* file name ("" when unknown) */
	const char *build_id; /* hex GNU build-id ("" when unknown) */
	uint64_t start, limit; /* address range in the process, 0 when unknown */
	uint64_t offset;      /* file offset mapped at start (the bias of the mapping) */
};

/* Everything a frame can carry; only name is required. */
struct profile_frame_info {
	const char *name;     /* function (or "[unknown]", "[lib+0xOFF]"; "" with kind
				 FRAME_UNKNOWN and a mapping: see profile__intern_unresolved) */
	enum frame_kind kind;
	uint32_t mapping;     /* 0: none; else a profile__intern_mapping() id */
	uint64_t address;     /* file-relative address in mapping, 0 when unknown */
	const char *file;     /* source file name, NULL/"" when unknown */
	uint32_t line;        /* source line, 0 when unknown */
};

/* Profile-level facts: how it was sampled and which time it covers. */
struct profile_info {
	uint64_t period_ns; /* ns of CPU time one sample stands for (1e9/HZ); 0 unknown */
	uint64_t start_ns;  /* wall clock the capture began; 0 unknown */
	uint64_t end_ns;    /* wall clock the capture ended; 0 unknown */
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
 * Empty @p as profile__new() makes a profile, keeping the memory of its tables and
 * records: a producer that fills one profile per interval refills the same pages
 * instead of freeing them at each flush and faulting fresh ones in as the next
 * interval grows (a page fault costs about 17 us in a VM; docs/platform.md). Every
 * id, string and name @p handed out is invalid afterwards.
 */
void profile__recycle(struct profile *p);
/* The bytes @p holds for its tables and records, used or not (its heap footprint
 * but for allocator overhead). */
size_t profile__reserved_bytes(const struct profile *p);

/*
 * Intern a frame (name + kind) and return its id through @id. The name is copied.
 * @return 0, or -ENOMEM.
 */
int profile__intern_frame(struct profile *p, const char *name, enum frame_kind kind,
			  uint32_t *id);

/*
 * Intern a frame no symbol was found for: code at @offset (the file-relative address
 * the symbolizer gives, as in "[libc.so.6+0x2a1f0]") in the file of @mapping (a
 * profile__intern_mapping() id). The frame is kept as (mapping, offset), kind
 * FRAME_UNKNOWN, with no name string of its own, so a profile does not grow by a
 * string per address; profile__frame_name() shows it as "[BASENAME+0xOFFSET]"
 * (BASENAME: the mapping's path after its last '/'), and so do folded text, flame
 * graphs and pprof. The same frame as profile__intern_frame_info() with name "",
 * kind FRAME_UNKNOWN, @mapping and address @offset.
 * @return 0, or -EINVAL (@mapping 0 or unknown), -ENOMEM.
 */
int profile__intern_unresolved(struct profile *p, uint32_t mapping, uint64_t offset,
			       uint32_t *id);

/*
 * Name and kind of frame @id (which must come from this profile). The name of an
 * unresolved frame (profile__intern_unresolved) is made the first time it is asked
 * for and kept until profile__free(); this fills a cache inside @p, so one profile is
 * not to be read from two threads at once. Never NULL.
 */
const char *profile__frame_name(const struct profile *p, uint32_t id);
enum frame_kind profile__frame_kind(const struct profile *p, uint32_t id);
size_t profile__frame_count(const struct profile *p);

/*
 * Add a sample whose stack is @frames[0..n) (outermost first, frame ids from
 * profile__intern_frame) with @weight (1 for one sampled tick). A sample with the
 * same stack, pid, tid, comm and labels as an earlier one in the same time bucket
 * adds to that record (count + 1, weight + @weight) and takes no memory.
 * @return 0, or -EINVAL (unknown frame id), -EOVERFLOW (the total weight would wrap),
 * -ENOMEM.
 */
int profile__add_sample(struct profile *p, const uint32_t *frames, size_t n,
			const struct sample_meta *meta, uint64_t weight);

/*
 * Drop every sample, the counters (lost intervals too) and the period/time range, but
 * keep the interned
 * strings, mappings, frames, stacks and label sets (their ids stay valid). For a
 * producer that hands one batch per flush interval to store__append() and keeps its
 * own caches of frame ids: the tables grow only with distinct frames and stacks.
 */
void profile__clear_samples(struct profile *p);

/* Number of samples added (the records' counts summed) and the sum of their weights. */
size_t profile__sample_count(const struct profile *p);
uint64_t profile__total_weight(const struct profile *p);
/* Number of records: distinct (stack, pid, tid, comm, labels, time bucket). */
size_t profile__record_count(const struct profile *p);
/* Number of distinct stacks (interning is what keeps this small). */
size_t profile__stack_count(const struct profile *p);

/* Producer counters (lost, truncated): read and add to. */
const struct profile_counts *profile__counts(const struct profile *p);
void profile__add_counts(struct profile *p, const struct profile_counts *c);

/* Samples lost in one interval: a batch's time range (a .smolder chunk's start_ns and
 * end_ns, 0 when unknown) and the samples its producer lost in it. */
struct profile_lost {
	uint64_t start_ns, end_ns;
	uint64_t lost;
};

/* Intervals kept at most; the lost samples of further ones are in the total only. */
#define PROFILE_MAX_LOST_INTERVALS 65536

/*
 * When samples were lost, as far as it is known: one interval per batch read from a
 * .smolder file or a store (a chunk with lost samples), in the order read, merged
 * along by profile__merge(). Their sum is at most profile__counts()->lost: samples
 * added with profile__add_counts() have no interval. A batch's count is for every
 * process it sampled, whatever a filter kept. *@out is valid until @p changes.
 * @return the number of intervals.
 */
size_t profile__lost_intervals(const struct profile *p, const struct profile_lost **out);

/* Period and time range. Setting replaces; profile__info() fills a start/end left at 0
 * from the samples' timestamps. */
void profile__set_info(struct profile *p, const struct profile_info *info);
void profile__info(const struct profile *p, struct profile_info *out);

/*
 * Intern a mapping (all fields copied); ids start at 1 (0 means "no mapping").
 * @return 0, or -EINVAL (NULL path), -ENOMEM.
 */
int profile__intern_mapping(struct profile *p, const struct profile_mapping *m, uint32_t *id);
/* Mapping @id (1..profile__mapping_count()); borrowed strings. @return 0 or -EINVAL. */
int profile__mapping(const struct profile *p, uint32_t id, struct profile_mapping *out);
size_t profile__mapping_count(const struct profile *p);

/*
 * Intern a frame with everything it can carry. profile__intern_frame(p, n, k, id) is
 * profile__intern_frame_info() with only name and kind. Frames that differ in any
 * field are distinct.
 * @return 0, or -EINVAL (NULL name, unknown mapping or kind), -ENOMEM.
 */
int profile__intern_frame_info(struct profile *p, const struct profile_frame_info *fi,
			       uint32_t *id);
/* Frame @id's fields (borrowed strings; file is "" when unknown; name as
 * profile__frame_name() shows it). */
void profile__frame_info(const struct profile *p, uint32_t id, struct profile_frame_info *out);

/*
 * Intern a label set (see struct sample_meta for the rules) and return its id through
 * @id (0 for an empty set). @return 0, or -EINVAL (NULL key or value, more than
 * PROFILE_MAX_LABELS), -ENOMEM.
 */
int profile__intern_labels(struct profile *p, const struct profile_label *labels, size_t n,
			   uint32_t *id);
/* Number of labels in set @id (0 for set 0 or an unknown id). */
size_t profile__label_set_len(const struct profile *p, uint32_t id);
/* Label @i of set @id, sorted by key. @return 0, or -EINVAL when out of range. */
int profile__label_set_get(const struct profile *p, uint32_t id, size_t i,
			   struct profile_label *out);
/* Value of @key in set @id, or NULL when the set has no such label. */
const char *profile__label_value(const struct profile *p, uint32_t id, const char *key);
/* Number of distinct non-empty label sets. */
size_t profile__label_set_count(const struct profile *p);

/*
 * Which samples a reader wants. Zeroed fields do not filter. A sample matches when its
 * time is in [from_ns, to_ns) (samples with time 0 match any range; a sample's time is
 * its bucket's start, so the range selects whole PROFILE_BUCKET_NS buckets), and it matches
 * every given field: pid, comm, the "service" label, and every extra label K=V (where
 * K may also be "pid", "tid" or "comm").
 */
struct profile_filter {
	uint64_t from_ns, to_ns; /* 0: unbounded */
	pid_t pid;
	const char *comm;
	const char *service;
	const struct profile_label *labels;
	size_t nlabels;
};

/* Does sample @s of @p match @f (NULL matches everything)? */
bool profile__sample_matches(const struct profile *p, const struct profile_sample *s,
			     const struct profile_filter *f);

/*
 * Add the samples of @src that match @f (NULL: all) to @dst, with their frames,
 * mappings and labels; @src's counters are added and its time range widens @dst's; the
 * period is taken when @dst has none. @return 0, or -ENOMEM (then @dst may hold part).
 */
int profile__merge(struct profile *dst, const struct profile *src,
		   const struct profile_filter *f);

/*
 * Parse a TIME (docs/format.md §4.2): RFC 3339 ("2026-11-23T15:04:05Z", fraction and +hh:mm
 * offsets allowed), unix seconds ("1795000000", fraction allowed), or relative to
 * @now_ns ("now", "-15m", "-2h", "-30s", "-1d", "-1w").
 * @return 0 and *@out_ns, or -EINVAL.
 */
int profile__parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns);
/* Format @ns as RFC 3339 UTC with second precision into @buf. */
void profile__format_time(uint64_t ns, char *buf, size_t len);

/*
 * Call @fn for every record (struct profile_sample), in the order their first sample
 * was added; stops early and returns @fn's value when that is non-zero.
 * @return 0 or what @fn returned.
 */
int profile__for_each_sample(const struct profile *p,
			     int (*fn)(const struct profile_sample *s, void *ctx), void *ctx);

/*
 * Write the profile as folded text: one line per distinct (comm, stack),
 * "comm;outermost;...;innermost COUNT", lines sorted bytewise. Kernel frames carry
 * "_[k]", JIT frames "_[j]", Python frames "_[p]". Samples with an empty comm have no comm element.
 * @return 0, or -ENOMEM, or the negative errno of the failed write (-ENOSPC, -EIO, ..).
 */
int profile__write_folded(const struct profile *p, FILE *out);

/*
 * Read folded text (as written by profile__write_folded, flamegraph.pl's
 * stackcollapse-*, inferno, ...) and add one sample per line with the line's count
 * as weight; the first element becomes the sample's comm. Frame kinds are told from
 * the suffixes "_[k]" / "_[j]" / "_[p]" and from "[unknown]" / "[...+0x...]" names, and the
 * suffixes are stripped. Blank lines are skipped.
 * @return 0, or -EINVAL on a malformed line (then *@bad_line says which, 1-based,
 * when @bad_line is not NULL), -ENOMEM, -EIO.
 */
int profile__read_folded(struct profile *p, FILE *in, size_t *bad_line);

/*
 * Parse folded text as profile__read_folded() does, but hand each line to @fn instead
 * of adding it to @p: only the line's frames are interned in @p, which keeps no
 * sample, stack or record of it. For a consumer that needs each line once (a plain
 * flame graph of a big file) and not the profile's indexes. @fn gets a record with
 * the line's frame ids (borrowed until it returns), its comm (likewise), its count as
 * weight, count 1, stack UINT32_MAX (not interned) and no time, pid, tid or labels;
 * it returns 0, or a negative errno that stops the reading.
 * @return 0, what @fn returned, or as profile__read_folded().
 */
int profile__scan_folded(struct profile *p, FILE *in,
			 int (*fn)(const struct profile_sample *s, void *ctx), void *ctx,
			 size_t *bad_line);

/* ---- the .smolder file format (docs/format.md) ---- */

/* Bounds a reader enforces before it allocates. */
#define PROFILE_FILE_MAX_BYTES (1ull << 32)  /* a whole file or segment */
#define PROFILE_CHUNK_MAX_BYTES (64u << 20)  /* one decompressed chunk */

/* How a reader fared: what it found and what it skipped. */
struct profile_read_stats {
	size_t chunks;        /* chunks read into the profile */
	uint64_t valid_bytes; /* file bytes up to the end of the last good chunk */
	uint64_t torn_bytes;  /* bytes after it that did not form a whole, valid chunk */
};

/*
 * Does @buf (@len bytes, the start of a file) begin like a .smolder file?
 */
bool profile__is_smolder(const void *buf, size_t len);

/*
 * Write @p to @out as a .smolder file (the current version, docs/format.md): the file
 * header, then the profile in chunks of at most @chunk_samples records (0: a default),
 * each an independent zstd frame with a checksum.
 * @return 0, or -ENOMEM, or the negative errno of the failed write.
 */
int profile__write_file(const struct profile *p, FILE *out, size_t chunk_samples);

/*
 * Read a .smolder file held in @buf into @p (which may already hold data: the file's
 * samples are added). Files of every major version since 1 are read (1.x kept each
 * sample with its own time: read back, they are aggregated as they are added). A
 * torn tail (a last chunk cut short or failing its checksum) is skipped and reported
 * in @stats; everything before it is read. A buffer shorter
 * than the preamble that starts like one (a file cut short right after creation) is
 * all torn tail: 0, nothing read. With @f, only matching samples are added.
 * @return 0, or -EINVAL (not a smolder file, an unsupported version, or a chunk that
 * passes its checksum but is malformed), -ENOMEM. On error @p may hold part of the file.
 */
int profile__decode(struct profile *p, const void *buf, size_t len,
		    const struct profile_filter *f, struct profile_read_stats *stats);

/* profile__decode() on the file at @path. @return also -errno from opening/reading,
 * -EFBIG beyond PROFILE_FILE_MAX_BYTES. */
int profile__read_file(struct profile *p, const char *path, const struct profile_filter *f,
		       struct profile_read_stats *stats);

/* ---- spill: a long run's profile kept on disk as it grows ---- */

/*
 * A profile that a long recording hands over interval by interval and reads back
 * whole at the end: each interval is appended to an unlinked temporary file as
 * .smolder DATA chunks whose tables continue from the earlier ones (as in a store
 * segment), so memory holds only the interned tables, never the samples.
 */
struct profile_spill;

/* A spill file in directory @dir (O_TMPFILE, else a name unlinked at once: nothing is
 * left behind however the process ends). NULL with errno set on failure. */
struct profile_spill *profile_spill__open(const char *dir);

/* Append @batch. @return 0, or -ENOMEM, or the negative errno of the failed write
 * (then nothing of @batch is kept, and what was appended before still is). */
int profile_spill__append(struct profile_spill *s, const struct profile *batch);

/* Add everything appended so far to @out. @return 0, -ENOMEM, -errno from reading. */
int profile_spill__read(struct profile_spill *s, struct profile *out);

/* Bytes on disk and samples appended so far. */
uint64_t profile_spill__bytes(const struct profile_spill *s);
uint64_t profile_spill__samples(const struct profile_spill *s);
/* Files it has used: a new one starts once the tables reach 4,096 entries (new
 * processes bring new series), so that memory does not grow with the run. */
size_t profile_spill__segments(const struct profile_spill *s);

void profile_spill__close(struct profile_spill *s);

/* ---- pprof (gzip-compressed profile.proto) ---- */

/* Largest pprof the reader inflates. */
#define PROFILE_PPROF_MAX_BYTES (512u << 20)

/*
 * Write @p as gzip profile.proto: sample types samples/count and cpu/nanoseconds,
 * period type cpu/nanoseconds with @p's period (1e9/99 Hz when unknown), Mappings with
 * build-ids, Functions with file names, Locations, and labels pid, tid (numeric), comm
 * and every label of the sample's set. Samples with equal stack and labels are merged.
 * @return 0, or -ENOMEM, or the negative errno of the failed write.
 */
int profile__write_pprof(const struct profile *p, FILE *out);

/*
 * Read gzip (or plain) profile.proto from @buf into @p. The weight is the value of
 * the "samples" (or "count") sample type, else the CPU time divided by the period, else
 * the first value. @return 0, or -EINVAL (malformed), -EFBIG (inflates beyond
 * PROFILE_PPROF_MAX_BYTES), -ENOMEM.
 */
int profile__decode_pprof(struct profile *p, const void *buf, size_t len,
			  const struct profile_filter *f);

/* ---- any of the formats ---- */

/*
 * The formats smolder reads or writes, one set for every command. SVG is written only
 * (flamegraph.h); the others are read too.
 */
enum profile_format {
	PROFILE_FORMAT_NONE = 0, /* not given, not known */
	PROFILE_FORMAT_SVG,
	PROFILE_FORMAT_FOLDED,
	PROFILE_FORMAT_PPROF,    /* gzip profile.proto */
	PROFILE_FORMAT_SMOLDER,
};

/* The format called @name ("svg", "folded", "pprof" or "smolder", as --format takes
 * them), or PROFILE_FORMAT_NONE. */
enum profile_format profile__format_from_name(const char *name);

/*
 * The format the suffix of file name @path stands for, or PROFILE_FORMAT_NONE:
 * ".svg"; ".folded", ".txt", ".collapsed"; ".pb.gz", ".pprof"; ".smolder". Every
 * command that picks its output format from -o goes by these rules.
 */
enum profile_format profile__format_from_suffix(const char *path);

/* Tell a file's format from its first bytes: smolder magic, gzip magic, else folded. */
enum profile_format profile__detect_format(const void *buf, size_t len);

/*
 * Read the file at @path ("-" for standard input) in whatever format it holds into
 * @p, keeping samples that match @f. *@format (when not NULL) says what it was;
 * @stats (may be NULL) is filled for smolder files; *@bad_line for folded text.
 * @return 0 or a negative errno as the readers above.
 */
int profile__load(struct profile *p, const char *path, const struct profile_filter *f,
		  enum profile_format *format, struct profile_read_stats *stats,
		  size_t *bad_line);

/*
 * Open @path for streaming when it is a regular file of folded text (what
 * profile__load() reads through profile__read_folded() rather than whole).
 * @return the file, open at its start, for the caller to fclose(); or NULL with errno
 * set: EMEDIUMTYPE when it is anything else (standard input "-", a pipe, a smolder or
 * pprof file, a file beyond PROFILE_FILE_MAX_BYTES), else why it could not be opened.
 */
FILE *profile__open_folded(const char *path);

#endif /* SMOLDER_PROFILE_H */
