/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the on-disk profile store: a directory of time-partitioned segment files
 * (each a .smolder file, docs/format.md), an index that can be rebuilt from them,
 * retention by age and total size, and the deploy-event log beside them.
 *
 * Layout of a store directory:
 *   seg-<START_NS>-<SEQ>.smolder.part  the segment being appended (at most one)
 *   seg-<START_NS>-<SEQ>.smolder       sealed segments, never changed again
 *   index                              one line per sealed segment (rebuildable)
 *   deploys.jsonl                      deploy events, one JSON object per line
 *   lock                               flock()ed by the one writer
 *
 * Durability: store__append() writes the batch as whole zstd frames at the end of the
 * open segment and fdatasync()s before returning 0; a failed write is cut back off
 * (ftruncate), so what was stored before stays readable and nothing half-written is
 * read back (a reader also stops at any frame that fails its checksum). Sealing is
 * fsync + rename + fsync of the directory. A writer that finds .part files left by a
 * crash trims their torn tails and seals them.
 *
 * Concurrency: one writer per store (a second gets -EBUSY); any number of readers,
 * which need no lock and may run while the writer appends, seals or deletes.
 *
 * Error contract: 0 or a negative errno; pointers NULL with errno set.
 */
#ifndef SMOLDER_STORE_H
#define SMOLDER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"

struct store_opts {
	uint64_t partition_ns;      /* time span of one segment; 0: one hour */
	uint64_t max_segment_bytes; /* seal a segment beyond this size; 0: 64 MiB */
	uint64_t max_age_ns;        /* retention: drop segments older; 0: keep all */
	uint64_t max_bytes;         /* retention: total size bound; 0: unbounded */
	bool read_only;             /* open for queries only: no lock, nothing created */
};

struct store;

/*
 * Open (and, unless read-only, create) the store at @dir. A writer takes the lock,
 * then recovers segments a crashed writer left open. @opts may be NULL (defaults).
 * @return the store, or NULL with errno: ENOENT (read-only and no such directory),
 * EBUSY (another writer holds it), ENOTDIR, ENOMEM, or what mkdir/open said.
 */
struct store *store__open(const char *dir, const struct store_opts *opts);

/* Close; the open segment stays open-ended on disk (".part") for the next writer or
 * is sealed with store__seal() first. */
void store__close(struct store *s);

/*
 * Append @batch (a profile covering one flush interval) to the open segment, opening
 * a new one when the batch falls in another time partition or the segment is full.
 * Durable when it returns 0. On failure nothing of the batch is stored and everything
 * stored before stays readable.
 * @return 0, or -EROFS (read-only), -ENOSPC/-EIO/-EDQUOT (the write failed), -ENOMEM.
 */
int store__append(struct store *s, const struct profile *batch);

/* Seal the open segment, if any (fsync, rename, fsync dir, index). @return 0 or -errno. */
int store__seal(struct store *s);

struct store_query_stats {
	size_t segments_read, segments_skipped;
	uint64_t bytes_read;
	uint64_t torn_bytes; /* bytes at segment tails that did not form whole chunks */
};

/*
 * Add every stored sample that matches @f (NULL: all) to @out. Segments outside
 * [f->from_ns, f->to_ns) by the index are not read. @stats may be NULL.
 * @return 0, or -ENOMEM, -EINVAL (a segment holds a chunk that passed its checksum but
 * is malformed: a bug or a deliberate edit), -errno from reading.
 */
int store__query(struct store *s, const struct profile_filter *f, struct profile *out,
		 struct store_query_stats *stats);

struct store_segment {
	const char *name;   /* file name within the store */
	uint64_t start_ns;  /* partition start, from the name */
	uint64_t end_ns;    /* last sample time, from the index; 0 when not indexed */
	uint64_t samples;   /* from the index; 0 when not indexed */
	uint64_t bytes;     /* size on disk now */
	bool sealed;
};

/* Call @fn for every segment, oldest first; stops at a non-zero return (returned). */
int store__for_each_segment(struct store *s,
			    int (*fn)(const struct store_segment *seg, void *ctx), void *ctx);

struct store_retention_stats {
	size_t segments_deleted;
	uint64_t bytes_deleted;
};

/*
 * Delete sealed segments older than max_age_ns before @now_ns, then the oldest sealed
 * segments while the store is larger than max_bytes (options given to store__open).
 * The writer runs this itself whenever it seals. @stats may be NULL.
 * @return 0, -EROFS, or -errno from unlinking.
 */
int store__retention(struct store *s, uint64_t now_ns, struct store_retention_stats *stats);

/* Change the retention bounds store__retention enforces (a reloaded configuration). */
void store__set_retention(struct store *s, uint64_t max_age_ns, uint64_t max_bytes);

/* Rewrite the index from the sealed segments themselves. @return 0 or -errno. */
int store__rebuild_index(struct store *s);

/* ---- deploy events (deploys.jsonl) ---- */

struct deploy_event {
	uint64_t time_ns;
	const char *service;
	const char *version;
};

/*
 * Append @ev to @dir/deploys.jsonl (created if missing; @dir must exist) as one JSON
 * line {"time":"RFC 3339","time_ns":N,"service":S,"version":V}, with one O_APPEND
 * write and fsync. Needs no writer lock. @return 0, or -EINVAL (empty service or
 * version, or longer than 4096 bytes), -ENOSPC, -errno.
 */
int store__add_deploy(const char *dir, const struct deploy_event *ev);

/*
 * Call @fn for each deploy event in @dir whose time is in [from_ns, to_ns) (0:
 * unbounded) and, when @service is not NULL, whose service matches, in file order.
 * Lines that are not a valid event (a torn last line, hand edits) are skipped and
 * counted in *@skipped (may be NULL). A missing log is no events.
 * @return 0, what @fn returned, or -errno from reading.
 */
int store__for_each_deploy(const char *dir, uint64_t from_ns, uint64_t to_ns,
			   const char *service,
			   int (*fn)(const struct deploy_event *ev, void *ctx), void *ctx,
			   size_t *skipped);

#endif /* SMOLDER_STORE_H */
