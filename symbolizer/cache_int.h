/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_int.h - the caches symbolizer.c hangs its processes on: parsed ELF tables by
 * file identity (elf_cache.c) and each process's JIT perf map (jitmap.c). Internal to
 * the symbolizer; symbolizer.c owns the processes and decides when to ask these.
 *
 * Same error contract as symbolizer.h: 0 / negative errno, NULL + errno.
 */
#ifndef SMOLDER_SYMBOLIZER_CACHE_INT_H
#define SMOLDER_SYMBOLIZER_CACHE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "list.h"
#include "symbolizer_int.h"

/* Coarse is enough for rate limits and retry times, and is served from the vDSO. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Buckets for a hash table of at most @max entries: a power of two (indexed by
 * mask), about one per entry, bounded so a huge limit does not cost memory upfront. */
static inline size_t bucket_count(size_t max)
{
	size_t n = 16;

	while (n < max && n < (1u << 16))
		n <<= 1;
	return n;
}

/* ---- elf_cache.c: ELF symbol tables by file identity, LRU, bounded ---- */

/* An ELF file that could not be opened (process gone, no permission) is retried after
 * this long; one that is not valid ELF (ENOEXEC) never is, until evicted. */
#define ELF_RETRY_NS (5ull * 1000 * 1000 * 1000)

/* What identifies a mapped file: its build-id, or, without one, dev/inode/path. */
struct file_key {
	uint8_t kind; /* KEY_* */
	uint8_t bid_len;
	uint8_t bid[DEBUGINFO_BUILD_ID_MAX];
	uint64_t dev, ino;
};

enum { KEY_NONE = 0, KEY_BUILD_ID, KEY_INODE };

struct elf_entry {
	struct list_node lru;
	struct elf_entry *hnext;
	uint64_t hash;
	struct file_key key;
	char *path;            /* part of the key when kind is KEY_INODE */
	struct elf_symtab *t;  /* NULL: not parsed yet (fd >= 0) or failed (err) */
	int fd;                /* opened at identification, waiting to be parsed; or -1 */
	char *map_path;        /* path as the process saw it (debuglink lookups) */
	pid_t pid;             /* whose root to search for debug files first */
	int err;
	uint64_t retry_ns;
	size_t bytes;          /* accounted in elf_cache.bytes */
	struct inline_dwarf *dw; /* inline.c; NULL until asked */
	bool dw_failed;        /* no DWARF: not tried again while cached */
};

/* How tables are parsed: where separate debug files are looked for. */
struct elf_cache_opts {
	const char *const *debug_dirs; /* NULL: the default */
	size_t ndebug_dirs;
	bool debuginfod;
	unsigned debuginfod_timeout_ms;
};

struct elf_cache {
	struct elf_entry **buckets;
	size_t mask, n;
	struct list_node lru;
	/* Bumped whenever a table is freed or replaced: names handed out earlier may
	 * point into it, so users tag what they keep with the epoch they saw. */
	uint64_t epoch;
	size_t max, max_bytes, bytes, pending_fds;
	uint64_t parses, evictions, debug_files;
	struct elf_cache_opts opts;
};

/* @return 0 or -ENOMEM. */
int elf_cache__init(struct elf_cache *c, size_t max_files, size_t max_bytes,
		    const struct elf_cache_opts *opts);
void elf_cache__release(struct elf_cache *c);
/* Free every entry (not counted as evictions); the epoch moves on. */
void elf_cache__clear(struct elf_cache *c);

/* Identity of the ELF file open on @fd, mapped from device @dev, inode @ino: its
 * build-id when it has one. */
void file_key__read(struct file_key *k, int fd, uint64_t dev, uint64_t ino);
bool file_key__equal(const struct file_key *a, const struct file_key *b);

/* Make sure the cache has an entry for @k (@path as process @pid maps it), taking
 * @fd (consumed): it is kept open for a parse at first use, or parsed now when too
 * many are open. */
/* Whether the cache holds an entry for @k that needs no open file from the caller
 * (parsed, waiting with its fd, or not ELF at all). */
bool elf_cache__has(struct elf_cache *c, const struct file_key *k, const char *path);

void elf_cache__capture(struct elf_cache *c, const struct file_key *k, const char *path,
			pid_t pid, int fd);

/* The entry for @k, moved to the LRU front and parsed if it was waiting; or NULL. */
struct elf_entry *elf_cache__lookup(struct elf_cache *c, const struct file_key *k,
				    const char *path);

/* Is @e's answer final for now (parsed, not ELF, or failed too recently to retry)? */
bool elf_entry__settled(const struct elf_entry *e);

/* Parse @k again from @fd (consumed), into @e or a new entry when @e is NULL (it was
 * evicted). @return the entry, or NULL on -ENOMEM. */
struct elf_entry *elf_cache__reparse(struct elf_cache *c, struct elf_entry *e,
				     const struct file_key *k, const char *path, pid_t pid,
				     int fd);

/* Account @delta more bytes to @e (names demangled after its parse). */
void elf_cache__grow(struct elf_cache *c, struct elf_entry *e, size_t delta);

/* ---- jitmap.c: one process's /tmp/perf-PID.map, read as it grows ---- */

struct jitmap {
	struct perfmap *m;
	uint64_t off;        /* bytes of the file consumed */
	uint64_t ino, dev;   /* which file: a new one starts over */
	uint64_t next_ns;    /* next re-read allowed */
	bool tried;
	bool status_read;
	pid_t nspid;         /* pid in its own namespace (names its perf map) */
	uid_t uid;           /* its real uid (owner a perf map must have, or root) */
};

/*
 * The JIT symbol of process @pid covering @addr, re-reading its perf map on a miss
 * (rate limited). *@restarted is set when the map was read over from the start (a new
 * file, or truncated): names handed out from it before are gone.
 */
const char *jitmap__lookup(struct jitmap *j, pid_t pid, uint64_t addr, uint64_t *off,
			   bool *restarted);
void jitmap__release(struct jitmap *j);

#endif /* SMOLDER_SYMBOLIZER_CACHE_INT_H */
