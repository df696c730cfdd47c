/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elf_cache.c - parsed ELF symbol tables keyed by file identity: the build-id, or
 * dev/inode/path for files without one. The same library mapped by many processes, or
 * from different paths in different containers, is parsed once, and a binary replaced
 * on disk never answers for the old one.
 *
 * Bounded by count and by bytes, evicted from the LRU tail. A file identified but not
 * parsed yet stays open (at most MAX_PENDING_FDS of them) so it can still be parsed
 * after the process that mapped it has exited. Freeing or replacing a table bumps
 * the cache's epoch: names handed out from it may be held elsewhere (symbolizer.c's
 * address cache), and the epoch tells them they are stale.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_int.h"
#include "hash.h"

/* Files kept open between identification and parsing; past this they are parsed at
 * once (slower first sample) rather than kept. */
#define MAX_PENDING_FDS 128

int elf_cache__init(struct elf_cache *c, size_t max_files, size_t max_bytes,
		    const struct elf_cache_opts *opts)
{
	size_t nb = bucket_count(max_files);

	memset(c, 0, sizeof(*c));
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (!c->buckets)
		return -ENOMEM;
	c->mask = nb - 1;
	c->max = max_files;
	c->max_bytes = max_bytes;
	c->opts = *opts;
	list_init(&c->lru);
	return 0;
}

static void entry_free(struct elf_cache *c, struct elf_entry *e)
{
	if (e->fd >= 0) {
		close(e->fd);
		c->pending_fds--;
	}
	inline_dwarf__free(e->dw);
	elf_symtab__free(e->t);
	free(e->path);
	free(e->map_path);
	free(e);
}

static void entry_unlink(struct elf_cache *c, struct elf_entry *e)
{
	struct elf_entry **pp = &c->buckets[e->hash & c->mask];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	list_del(&e->lru);
	c->n--;
	c->bytes -= e->bytes;
	/* Names handed out from this table may be in the address cache. */
	c->epoch++;
}

void elf_cache__clear(struct elf_cache *c)
{
	struct list_node *n;

	while ((n = list_first(&c->lru))) {
		struct elf_entry *e = container_of(n, struct elf_entry, lru);

		entry_unlink(c, e);
		entry_free(c, e);
	}
}

void elf_cache__release(struct elf_cache *c)
{
	if (!c->buckets)
		return;
	elf_cache__clear(c);
	free(c->buckets);
	c->buckets = NULL;
}

/* Evict from the LRU tail until within the limits, sparing @keep. */
static void trim(struct elf_cache *c, const struct elf_entry *keep, size_t room)
{
	struct list_node *n;

	while ((n = list_last(&c->lru)) && (c->n + room > c->max || c->bytes > c->max_bytes)) {
		struct elf_entry *victim = container_of(n, struct elf_entry, lru);

		if (victim == keep) {
			/* The only other candidate is the one in use: let it be. */
			if (victim->lru.prev == &c->lru)
				break;
			victim = container_of(victim->lru.prev, struct elf_entry, lru);
		}
		entry_unlink(c, victim);
		entry_free(c, victim);
		c->evictions++;
	}
}

static uint64_t key_hash(const struct file_key *k, const char *path)
{
	if (k->kind == KEY_BUILD_ID)
		return hash_mix64(hash_fnv1a(k->bid, k->bid_len, 0));
	if (k->ino)
		return hash_mix64(k->dev * 0x9e3779b97f4a7c15ull ^ k->ino);
	return hash_mix64(hash_fnv1a_str(path, 0) ^ k->dev);
}

bool file_key__equal(const struct file_key *a, const struct file_key *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == KEY_BUILD_ID)
		return a->bid_len == b->bid_len && !memcmp(a->bid, b->bid, a->bid_len);
	return a->dev == b->dev && a->ino == b->ino;
}

static bool key_matches(const struct elf_entry *e, const struct file_key *k, const char *path)
{
	if (!file_key__equal(&e->key, k))
		return false;
	return k->kind == KEY_BUILD_ID || k->ino || !strcmp(e->path, path);
}

static struct elf_entry *find(struct elf_cache *c, const struct file_key *k, const char *path)
{
	uint64_t h = key_hash(k, path);
	struct elf_entry *e;

	for (e = c->buckets[h & c->mask]; e; e = e->hnext)
		if (e->hash == h && key_matches(e, k, path))
			return e;
	return NULL;
}

static struct elf_entry *insert(struct elf_cache *c, const struct file_key *k, const char *path,
				pid_t pid)
{
	struct elf_entry *e;

	trim(c, NULL, 1);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = -1;
	e->hash = key_hash(k, path);
	e->key = *k;
	e->pid = pid;
	e->map_path = strdup(path);
	if (k->kind != KEY_BUILD_ID)
		e->path = strdup(path);
	if (!e->map_path || (k->kind != KEY_BUILD_ID && !e->path)) {
		free(e->map_path);
		free(e->path);
		free(e);
		return NULL;
	}
	e->hnext = c->buckets[e->hash & c->mask];
	c->buckets[e->hash & c->mask] = e;
	list_add_front(&c->lru, &e->lru);
	c->n++;
	return e;
}

/* Parse @e from @fd (consumed: closed here). */
static void parse(struct elf_cache *c, struct elf_entry *e, int fd)
{
	char root[64];
	struct debuginfo_opts o = {
		.debug_dirs = c->opts.ndebug_dirs ? c->opts.debug_dirs : NULL,
		.ndebug_dirs = c->opts.ndebug_dirs,
		.path = e->map_path,
		.debuginfod = c->opts.debuginfod,
		.debuginfod_timeout_ms = c->opts.debuginfod_timeout_ms,
	};

	/* Debug files are looked for in the process's own filesystem first (a
	 * container's debug packages), then in ours. */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)e->pid);
	o.root = root;
	e->t = elf_symtab__open_fd_opts(fd, &o);
	e->err = e->t ? 0 : -errno;
	close(fd);
	c->parses++;
	if (e->t && (elf_symtab__sources(e->t) &
		     (ELF_SRC_MINIDEBUG | ELF_SRC_DEBUG_BUILDID | ELF_SRC_DEBUGLINK |
		      ELF_SRC_DEBUGINFOD)))
		c->debug_files++;
	e->bytes = elf_symtab__mem_bytes(e->t) + sizeof(*e);
	c->bytes += e->bytes;
	e->retry_ns = now_ns() + ELF_RETRY_NS;
	trim(c, e, 0);
}

void file_key__read(struct file_key *k, int fd, uint64_t dev, uint64_t ino)
{
	int n;

	memset(k, 0, sizeof(*k));
	n = elf_read_build_id_fd(fd, k->bid, sizeof(k->bid));
	if (n > 0) {
		k->kind = KEY_BUILD_ID;
		k->bid_len = (uint8_t)n;
	} else {
		k->kind = KEY_INODE;
		k->dev = dev;
		k->ino = ino;
	}
}

bool elf_cache__has(struct elf_cache *c, const struct file_key *k, const char *path)
{
	const struct elf_entry *e = find(c, k, path);

	return e && (e->t || e->fd >= 0 || e->err == -ENOEXEC);
}

void elf_cache__capture(struct elf_cache *c, const struct file_key *k, const char *path,
			pid_t pid, int fd)
{
	struct elf_entry *e = find(c, k, path);

	if (e) {
		/* Known: a failed entry gets this fresh fd for another try. */
		if (!e->t && e->fd < 0 && e->err != -ENOEXEC) {
			e->pid = pid;
			parse(c, e, fd);
		} else {
			close(fd);
		}
		return;
	}
	e = insert(c, k, path, pid);
	if (!e) {
		close(fd);
		return;
	}
	if (c->pending_fds < MAX_PENDING_FDS) {
		e->fd = fd;
		c->pending_fds++;
	} else {
		parse(c, e, fd);
	}
}

struct elf_entry *elf_cache__lookup(struct elf_cache *c, const struct file_key *k,
				    const char *path)
{
	struct elf_entry *e = find(c, k, path);
	int fd;

	if (!e)
		return NULL;
	list_move_front(&c->lru, &e->lru);
	/* A waiting fd is parsed at the table's first use. */
	if (!e->t && e->fd >= 0) {
		fd = e->fd;
		e->fd = -1;
		c->pending_fds--;
		parse(c, e, fd);
	}
	return e;
}

bool elf_entry__settled(const struct elf_entry *e)
{
	return e->t || e->err == -ENOEXEC || now_ns() < e->retry_ns;
}

struct elf_entry *elf_cache__reparse(struct elf_cache *c, struct elf_entry *e,
				     const struct file_key *k, const char *path, pid_t pid,
				     int fd)
{
	if (!e) {
		e = insert(c, k, path, pid);
		if (!e) {
			close(fd);
			return NULL;
		}
	}
	e->pid = pid;
	elf_symtab__free(e->t);
	e->t = NULL;
	c->bytes -= e->bytes;
	e->bytes = 0;
	parse(c, e, fd);
	/* The earlier failure may sit in the address cache as "no name". */
	if (e->t)
		c->epoch++;
	return e;
}

void elf_cache__grow(struct elf_cache *c, struct elf_entry *e, size_t delta)
{
	e->bytes += delta;
	c->bytes += delta;
}
