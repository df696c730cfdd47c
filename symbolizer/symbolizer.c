/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer.c - the caches that make per-sample symbolization cheap: processes'
 * mappings (hash by pid, LRU) with the identity of each mapped file, parsed ELF symbol
 * tables (hash by build-id, LRU, bounded by count and bytes), JIT perf maps per
 * process, an address -> result cache, and the kernel's symbols.
 *
 * Identity: when a process's maps are read, each mapped file is opened as the process
 * sees it and its build-id read (a few syscalls, once per file per process). The ELF
 * cache is keyed by that build-id (files without one: by dev/inode/path), so the same
 * library in many containers is parsed once, and a binary replaced on disk never
 * answers for the old one. A file whose table is not cached yet stays open (bounded by
 * MAX_PENDING_FDS) until it is parsed, so a process that exits a few milliseconds
 * after its first sample is still symbolized.
 *
 * The hot path is a repeated address of a known process: a pid hash lookup, an LRU
 * touch and one probe of the address cache, with no system call. Everything that reads
 * files (maps, ELF, kallsyms) runs only on a miss.
 *
 * Lifetimes: struct symbol points into a process's path arena (module) and into an ELF
 * table's name arena (name). The address cache holds the same pointers, so each entry
 * is tagged with the generation of its process's mappings and with the ELF cache's
 * epoch; re-reading maps gives the process a new generation and evicting an ELF table
 * bumps the epoch, which invalidates every entry that could point at freed memory.
 *
 * Not thread-safe: one symbolizer per thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "symbolizer.h"
#include "symbolizer_int.h"

#define DEFAULT_MAX_ELF_FILES 256
#define DEFAULT_MAX_PROCESSES 4096
#define MAX_BUCKETS (1u << 16)
/* 8192 x 64 bytes = 512 KiB: holds the hot addresses of many processes at once. */
#define ADDR_CACHE_BITS 13
/*
 * Re-reading maps on a miss is rate limited per process with a token bucket: bursts of
 * REREAD_BURST, refilled at one per REREAD_INTERVAL_NS. A burst (rather than a plain
 * "once per 100 ms") lets a dlopen be seen at its first sample even right after the
 * process's first read, while a stream of wild addresses (a broken frame-pointer chain)
 * costs at most 10 reads a second per process. Misses are never put in the address
 * cache, so a library mapped later is found as soon as the budget allows.
 */
#define REREAD_INTERVAL_NS (100ull * 1000 * 1000)
#define REREAD_BURST 4
/* An ELF file that could not be opened (process gone, no permission) is retried after
 * this long; one that is not valid ELF (ENOEXEC) never is, until evicted. */
#define ELF_RETRY_NS (5ull * 1000 * 1000 * 1000)
#define DEFAULT_MAX_BYTES ((size_t)256 << 20)
/* Files kept open between identification and parsing; past this they are parsed at
 * once (slower first sample) rather than kept. */
#define MAX_PENDING_FDS 128
/* A JIT map is re-read on a miss at most this often; misses are not cached, so new
 * code is named within this long of its first sample. */
#define JIT_RECHECK_NS (20ull * 1000 * 1000)
/* One re-read of a JIT map reads at most this much (the rest on the next miss). */
#define JIT_READ_CHUNK ((size_t)16 << 20)
#define MAX_DEBUG_DIRS 16

struct lru {
	struct lru *prev, *next;
};

static void lru_init(struct lru *h)
{
	h->prev = h->next = h;
}

static void lru_del(struct lru *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* Insert @n at the head (most recently used). */
static void lru_add(struct lru *h, struct lru *n)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

static void lru_touch(struct lru *h, struct lru *n)
{
	if (h->next == n)
		return;
	lru_del(n);
	lru_add(h, n);
}

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* What identifies a mapped file: its build-id, or, without one, dev/inode/path. */
struct file_key {
	uint8_t kind; /* KEY_* */
	uint8_t bid_len;
	uint8_t bid[DEBUGINFO_BUILD_ID_MAX];
	uint64_t dev, ino;
};

enum { KEY_NONE = 0, KEY_BUILD_ID, KEY_INODE };

struct elf_entry {
	struct lru lru; /* first: the LRU tail is cast back to the entry */
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
	size_t bytes;          /* accounted in symbolizer.elf_bytes */
	struct inline_dwarf *dw; /* inline.c; NULL until asked */
	bool dw_failed;        /* no DWARF: not tried again while cached */
};

/* Per mapping of a process: which file it is. */
struct map_ident {
	struct file_key key; /* KEY_NONE: could not be opened (yet) */
	uint64_t retry_ns;
};

struct jit_map {
	struct perfmap *m;
	uint64_t off;        /* bytes of the file consumed */
	uint64_t ino, dev;   /* which file: a new one starts over */
	uint64_t next_ns;    /* next re-read allowed */
	bool tried;
};

struct proc {
	struct lru lru;
	struct proc *hnext;
	pid_t pid;
	bool loaded;     /* maps were read at least once */
	int err;         /* why the last read failed, while !loaded */
	uint64_t gen;    /* unique per (process, maps version); tags address cache entries */
	uint64_t tat_ns; /* token bucket: theoretical arrival time of the next re-read */
	struct proc_maps maps;
	struct map_ident *ids; /* parallel to maps.maps */
	struct jit_map jit;
	pid_t nspid;     /* pid in its own namespace (names its perf map); 0: unknown */
	uid_t uid;       /* its real uid (owner a perf map must have, or root) */
	bool status_read;
};

struct addr_entry {
	uint64_t addr;
	uint64_t gen;   /* 0: empty (generations start at 1) */
	uint64_t epoch;
	struct symbol sym;
};

struct symbolizer {
	size_t max_elf, max_procs, max_bytes;
	char *debug_dirs_buf;
	const char *debug_dirs[MAX_DEBUG_DIRS];
	size_t ndebug_dirs;
	bool raw_names, no_jit, debuginfod, inline_frames;
	unsigned debuginfod_timeout_ms;
	size_t elf_bytes, pending_fds;
	uint64_t lookups, hits, elf_parses, elf_evictions, debug_files;

	struct elf_entry **elf_buckets;
	size_t elf_mask, nelf;
	struct lru elf_lru;
	uint64_t elf_epoch;

	struct proc **proc_buckets;
	size_t proc_mask, nprocs;
	struct lru proc_lru;
	uint64_t next_gen;

	struct addr_entry *acache;

	bool kloaded;
	int kerr;
	struct ksym *kbpf;       /* the kernel's own names, when BPF can be loaded */
	struct kallsyms *ksyms;  /* else /proc/kallsyms */
	char *kallsyms_path;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* Coarse is enough for rate limits and served from the vDSO. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t bucket_count(size_t max)
{
	size_t n = 16;

	while (n < max && n < MAX_BUCKETS)
		n <<= 1;
	return n;
}

/* Split a colon-separated list of debug directories (SMOLDER_DEBUG_DIRS). */
static int set_debug_dirs_env(struct symbolizer *s, const char *env)
{
	char *save = NULL, *tok;

	s->debug_dirs_buf = strdup(env);
	if (!s->debug_dirs_buf)
		return -ENOMEM;
	for (tok = strtok_r(s->debug_dirs_buf, ":", &save); tok && s->ndebug_dirs < MAX_DEBUG_DIRS;
	     tok = strtok_r(NULL, ":", &save))
		if (tok[0])
			s->debug_dirs[s->ndebug_dirs++] = tok;
	return 0;
}

static int set_debug_dirs(struct symbolizer *s, const struct symbolizer_opts *opts)
{
	const char *env = getenv("SMOLDER_DEBUG_DIRS");
	size_t len = 0, i, n;
	char *p;

	if (!opts || !opts->debug_dirs || !opts->ndebug_dirs)
		return env && env[0] ? set_debug_dirs_env(s, env) : 0;
	/* Copied: the caller's strings need not outlive the call. */
	n = opts->ndebug_dirs < MAX_DEBUG_DIRS ? opts->ndebug_dirs : MAX_DEBUG_DIRS;
	for (i = 0; i < n; i++)
		len += strlen(opts->debug_dirs[i]) + 1;
	s->debug_dirs_buf = malloc(len ? len : 1);
	if (!s->debug_dirs_buf)
		return -ENOMEM;
	for (i = 0, p = s->debug_dirs_buf; i < n; i++) {
		size_t l = strlen(opts->debug_dirs[i]) + 1;

		memcpy(p, opts->debug_dirs[i], l);
		s->debug_dirs[s->ndebug_dirs++] = p;
		p += l;
	}
	return 0;
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s;
	size_t nb;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max_elf = opts && opts->max_elf_files ? opts->max_elf_files : DEFAULT_MAX_ELF_FILES;
	s->max_procs = opts && opts->max_processes ? opts->max_processes
						   : DEFAULT_MAX_PROCESSES;
	s->max_bytes = opts && opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
	if (opts) {
		s->raw_names = opts->raw_names;
		s->no_jit = opts->no_jit;
		s->debuginfod = opts->debuginfod;
		s->inline_frames = opts->inline_frames;
		s->debuginfod_timeout_ms = opts->debuginfod_timeout_ms;
	}
	if (!s->debuginfod_timeout_ms)
		s->debuginfod_timeout_ms = 10000;
	lru_init(&s->elf_lru);
	lru_init(&s->proc_lru);
	s->next_gen = 1;

	nb = bucket_count(s->max_elf);
	s->elf_buckets = calloc(nb, sizeof(*s->elf_buckets));
	s->elf_mask = nb - 1;
	nb = bucket_count(s->max_procs);
	s->proc_buckets = calloc(nb, sizeof(*s->proc_buckets));
	s->proc_mask = nb - 1;
	s->acache = calloc(1u << ADDR_CACHE_BITS, sizeof(*s->acache));
	if (!s->elf_buckets || !s->proc_buckets || !s->acache ||
	    set_debug_dirs(s, opts) != 0) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

/* ---- ELF cache ---- */

/* Open the file behind mapping @pm of @pid, as the process sees it. @return fd or -errno. */
static int open_mapped_file(pid_t pid, const struct proc_maps *maps,
			    const struct proc_mapping *pm)
{
	const char *path = proc_mapping__path(maps, pm);
	char buf[4096 + 64];
	struct stat st;
	int fd;

	if (pm->deleted) {
		/* The path now names another file or nothing: only the process's own
		 * reference to the mapped file is right. */
		snprintf(buf, sizeof(buf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
			 pm->start, pm->end);
		fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		return fd < 0 ? -errno : fd;
	}
	/* Through the process's root, so a container's files are found in its image. */
	if ((size_t)snprintf(buf, sizeof(buf), "/proc/%d/root%s", (int)pid, path) < sizeof(buf)) {
		fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			return fd;
	}
	/* The process has gone (or its root is not ours to see): our own view of the
	 * path is only right if it is the same file, which dev/inode tell. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (pm->inode && (fstat(fd, &st) != 0 || st.st_ino != pm->inode ||
			  st.st_dev != pm->dev)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}


static void elf_entry_free(struct symbolizer *s, struct elf_entry *e)
{
	if (e->fd >= 0) {
		close(e->fd);
		s->pending_fds--;
	}
	inline_dwarf__free(e->dw);
	elf_symtab__free(e->t);
	free(e->path);
	free(e->map_path);
	free(e);
}

static void elf_unlink(struct symbolizer *s, struct elf_entry *e)
{
	struct elf_entry **pp = &s->elf_buckets[e->hash & s->elf_mask];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_del(&e->lru);
	s->nelf--;
	s->elf_bytes -= e->bytes;
	/* Names handed out from this table may be in the address cache. */
	s->elf_epoch++;
}

static void elf_evict(struct symbolizer *s, struct elf_entry *victim)
{
	elf_unlink(s, victim);
	elf_entry_free(s, victim);
	s->elf_evictions++;
}

/* Evict from the LRU tail until within the limits, sparing @keep. */
static void elf_trim(struct symbolizer *s, const struct elf_entry *keep, size_t room)
{
	while (s->elf_lru.prev != &s->elf_lru &&
	       (s->nelf + room > s->max_elf || s->elf_bytes > s->max_bytes)) {
		struct elf_entry *victim = container_of(s->elf_lru.prev, struct elf_entry, lru);

		if (victim == keep) {
			/* The only other candidate is the one in use: let it be. */
			if (victim->lru.prev == &s->elf_lru)
				break;
			victim = container_of(victim->lru.prev, struct elf_entry, lru);
		}
		elf_evict(s, victim);
	}
}

static uint64_t key_hash(const struct file_key *k, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (k->kind == KEY_BUILD_ID) {
		for (size_t i = 0; i < k->bid_len; i++)
			h = (h ^ k->bid[i]) * 0x100000001b3ull;
		return mix64(h);
	}
	if (k->ino)
		return mix64(k->dev * 0x9e3779b97f4a7c15ull ^ k->ino);
	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 0x100000001b3ull;
	return mix64(h ^ k->dev);
}

static bool key_equal(const struct elf_entry *e, const struct file_key *k, const char *path)
{
	if (e->key.kind != k->kind)
		return false;
	if (k->kind == KEY_BUILD_ID)
		return e->key.bid_len == k->bid_len && !memcmp(e->key.bid, k->bid, k->bid_len);
	if (e->key.dev != k->dev || e->key.ino != k->ino)
		return false;
	return k->ino || !strcmp(e->path, path);
}

static struct elf_entry *elf_find(struct symbolizer *s, const struct file_key *k,
				  const char *path)
{
	uint64_t h = key_hash(k, path);
	struct elf_entry *e;

	for (e = s->elf_buckets[h & s->elf_mask]; e; e = e->hnext)
		if (e->hash == h && key_equal(e, k, path))
			return e;
	return NULL;
}

static struct elf_entry *elf_insert(struct symbolizer *s, const struct file_key *k,
				    const char *path, pid_t pid)
{
	struct elf_entry *e;

	elf_trim(s, NULL, 1);
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
	e->hnext = s->elf_buckets[e->hash & s->elf_mask];
	s->elf_buckets[e->hash & s->elf_mask] = e;
	lru_add(&s->elf_lru, &e->lru);
	s->nelf++;
	return e;
}

/* Parse @e from @fd (consumed: closed here). */
static void elf_parse(struct symbolizer *s, struct elf_entry *e, int fd)
{
	char root[64];
	struct debuginfo_opts o = {
		.debug_dirs = s->ndebug_dirs ? s->debug_dirs : NULL,
		.ndebug_dirs = s->ndebug_dirs,
		.path = e->map_path,
		.debuginfod = s->debuginfod,
		.debuginfod_timeout_ms = s->debuginfod_timeout_ms,
	};

	/* Debug files are looked for in the process's own filesystem first (a
	 * container's debug packages), then in ours. */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)e->pid);
	o.root = root;
	e->t = elf_symtab__open_fd_opts(fd, &o);
	e->err = e->t ? 0 : -errno;
	close(fd);
	s->elf_parses++;
	if (e->t && (elf_symtab__sources(e->t) &
		     (ELF_SRC_MINIDEBUG | ELF_SRC_DEBUG_BUILDID | ELF_SRC_DEBUGLINK |
		      ELF_SRC_DEBUGINFOD)))
		s->debug_files++;
	e->bytes = elf_symtab__mem_bytes(e->t) + sizeof(*e);
	s->elf_bytes += e->bytes;
	e->retry_ns = now_ns() + ELF_RETRY_NS;
	elf_trim(s, e, 0);
}

/* Make @e's table current if it can be: parse a waiting fd. */
static void elf_ready(struct symbolizer *s, struct elf_entry *e)
{
	int fd;

	if (e->t || e->fd < 0)
		return;
	fd = e->fd;
	e->fd = -1;
	s->pending_fds--;
	elf_parse(s, e, fd);
}

/*
 * Identify mapping @pm of @p: open it as the process sees it and read its build-id.
 * @fd_out gets the open file when the caller may keep it, else it is closed.
 * @return 0 or a negative errno (the file could not be opened).
 */
static int identify(struct proc *p, const struct proc_mapping *pm, struct file_key *k,
		    int *fd_out)
{
	int fd, n;

	memset(k, 0, sizeof(*k));
	fd = open_mapped_file(p->pid, &p->maps, pm);
	if (fd < 0)
		return fd;
	n = elf_read_build_id_fd(fd, k->bid, sizeof(k->bid));
	if (n > 0) {
		k->kind = KEY_BUILD_ID;
		k->bid_len = (uint8_t)n;
	} else {
		k->kind = KEY_INODE;
		k->dev = pm->dev;
		k->ino = pm->inode;
	}
	*fd_out = fd;
	return 0;
}

/* Identify mapping @i of @p and make sure the ELF cache has (or will have) its table,
 * keeping the open file for a later parse. */
static void ident_capture(struct symbolizer *s, struct proc *p, size_t i)
{
	const struct proc_mapping *pm = &p->maps.maps[i];
	const char *path = proc_mapping__path(&p->maps, pm);
	struct map_ident *id = &p->ids[i];
	struct elf_entry *e;
	int fd = -1;

	if (identify(p, pm, &id->key, &fd) != 0) {
		id->key.kind = KEY_NONE;
		id->retry_ns = now_ns() + ELF_RETRY_NS;
		return;
	}
	e = elf_find(s, &id->key, path);
	if (e) {
		/* Known: a failed entry gets this fresh fd for another try. */
		if (!e->t && e->fd < 0 && e->err != -ENOEXEC) {
			e->pid = p->pid;
			elf_parse(s, e, fd);
		} else {
			close(fd);
		}
		return;
	}
	e = elf_insert(s, &id->key, path, p->pid);
	if (!e) {
		close(fd);
		return;
	}
	if (s->pending_fds < MAX_PENDING_FDS) {
		e->fd = fd;
		s->pending_fds++;
	} else {
		elf_parse(s, e, fd);
	}
}

static bool same_mapping(const struct proc_mapping *a, const struct proc_mapping *b)
{
	return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff &&
	       a->dev == b->dev && a->inode == b->inode && a->kind == b->kind;
}

/* Identities for the freshly read @p->maps, reusing those of @old where a mapping is
 * unchanged and those of an earlier mapping of the same file. */
static void ident_all(struct symbolizer *s, struct proc *p, const struct proc_maps *old,
		      const struct map_ident *old_ids)
{
	size_t i, j, o = 0;

	for (i = 0; i < p->maps.n; i++) {
		const struct proc_mapping *pm = &p->maps.maps[i];
		bool done = false;

		if (pm->kind != PROC_MAPPING_FILE)
			continue;
		/* Both lists are sorted by start: walk the old one alongside. */
		while (old_ids && o < old->n && old->maps[o].start < pm->start)
			o++;
		if (old_ids && o < old->n && same_mapping(&old->maps[o], pm) &&
		    old_ids[o].key.kind != KEY_NONE) {
			p->ids[i] = old_ids[o];
			continue;
		}
		for (j = i; j-- > 0 && i - j <= 8;) {
			const struct proc_mapping *q = &p->maps.maps[j];

			if (q->kind == PROC_MAPPING_FILE && q->dev == pm->dev &&
			    q->inode == pm->inode && p->ids[j].key.kind != KEY_NONE) {
				p->ids[i] = p->ids[j];
				done = true;
				break;
			}
		}
		if (!done)
			ident_capture(s, p, i);
	}
}

/*
 * The ELF entry for mapping @pm of @p, parsed. @return the entry (its table may be
 * NULL when the file cannot be read), or NULL when the file is unknown.
 */
static struct elf_entry *elf_get(struct symbolizer *s, struct proc *p,
				 const struct proc_mapping *pm)
{
	size_t i = (size_t)(pm - p->maps.maps);
	const char *path = proc_mapping__path(&p->maps, pm);
	struct map_ident *id = &p->ids[i];
	struct file_key k;
	struct elf_entry *e;
	int fd = -1;

	if (id->key.kind == KEY_NONE) {
		if (now_ns() < id->retry_ns)
			return NULL;
		ident_capture(s, p, i);
		if (id->key.kind == KEY_NONE)
			return NULL;
	}
	e = elf_find(s, &id->key, path);
	if (e) {
		lru_touch(&s->elf_lru, &e->lru);
		elf_ready(s, e);
		if (e->t || e->err == -ENOEXEC || now_ns() < e->retry_ns)
			return e;
		/* A failed open may work now (restored permission): only through a file
		 * that is still the same one. */
	}
	/* Evicted since it was identified, or failed before: open it again, and use it
	 * only if it is still the file that was identified. */
	if (identify(p, pm, &k, &fd) != 0) {
		if (e)
			e->retry_ns = now_ns() + ELF_RETRY_NS;
		return e;
	}
	if (k.kind != id->key.kind || k.bid_len != id->key.bid_len ||
	    memcmp(k.bid, id->key.bid, k.bid_len) != 0) {
		close(fd);
		if (e)
			e->retry_ns = now_ns() + ELF_RETRY_NS;
		return e;
	}
	if (!e) {
		e = elf_insert(s, &id->key, path, p->pid);
		if (!e) {
			close(fd);
			return NULL;
		}
	}
	e->pid = p->pid;
	elf_symtab__free(e->t);
	e->t = NULL;
	s->elf_bytes -= e->bytes;
	e->bytes = 0;
	elf_parse(s, e, fd);
	/* The earlier failure may sit in the address cache as "no name". */
	if (e->t)
		s->elf_epoch++;
	return e;
}

/* ---- processes ---- */

static struct proc *proc_find(struct symbolizer *s, pid_t pid)
{
	struct proc *p;

	for (p = s->proc_buckets[mix64((uint64_t)pid) & s->proc_mask]; p; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void proc_remove(struct symbolizer *s, struct proc *p)
{
	struct proc **pp = &s->proc_buckets[mix64((uint64_t)p->pid) & s->proc_mask];

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	lru_del(&p->lru);
	s->nprocs--;
	proc_maps__release(&p->maps);
	free(p->ids);
	perfmap__free(p->jit.m);
	free(p);
}

static struct proc *proc_create(struct symbolizer *s, pid_t pid)
{
	size_t b = mix64((uint64_t)pid) & s->proc_mask;
	struct proc *p;

	if (s->nprocs >= s->max_procs && s->proc_lru.prev != &s->proc_lru)
		proc_remove(s, container_of(s->proc_lru.prev, struct proc, lru));
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->hnext = s->proc_buckets[b];
	s->proc_buckets[b] = p;
	lru_add(&s->proc_lru, &p->lru);
	s->nprocs++;
	return p;
}

/* Take one re-read token if the bucket has one. */
static bool reread_allowed(struct proc *p)
{
	uint64_t now = now_ns();

	if (p->tat_ns > now + (REREAD_BURST - 1) * REREAD_INTERVAL_NS)
		return false;
	p->tat_ns = (p->tat_ns > now ? p->tat_ns : now) + REREAD_INTERVAL_NS;
	return true;
}

/* Re-read @p's maps and identify new mappings' files. On failure the old maps stay:
 * samples taken before a process exited are still worth symbolizing with them. */
static int proc_reload(struct symbolizer *s, struct proc *p)
{
	struct proc_maps m, old;
	struct map_ident *ids, *old_ids;
	int err;

	err = proc_maps__read(p->pid, &m);
	if (err) {
		if (!p->loaded)
			p->err = err;
		return err;
	}
	ids = calloc(m.n ? m.n : 1, sizeof(*ids));
	if (!ids) {
		proc_maps__release(&m);
		if (!p->loaded)
			p->err = -ENOMEM;
		return -ENOMEM;
	}
	old = p->maps;
	old_ids = p->ids;
	p->maps = m;
	p->ids = ids;
	ident_all(s, p, &old, old_ids);
	proc_maps__release(&old);
	free(old_ids);
	p->loaded = true;
	p->err = 0;
	p->gen = s->next_gen++;
	return 0;
}

/* The process entry for @pid with its maps read, or NULL with *@err set. */
static struct proc *proc_get(struct symbolizer *s, pid_t pid, int *err)
{
	struct proc *p = proc_find(s, pid);

	if (p) {
		lru_touch(&s->proc_lru, &p->lru);
		/* Never read (it did not exist, or was not readable): retry within the
		 * rate limit, so a pid that does not exist is not re-read per sample. */
		if (!p->loaded && reread_allowed(p))
			proc_reload(s, p);
	} else {
		p = proc_create(s, pid);
		if (!p) {
			*err = -ENOMEM;
			return NULL;
		}
		/* The first read is not rate limited but takes a token. */
		reread_allowed(p);
		proc_reload(s, p);
	}
	if (!p->loaded) {
		*err = p->err;
		return NULL;
	}
	return p;
}

int symbolizer__load_process(struct symbolizer *s, pid_t pid)
{
	struct proc *p;

	if (!s)
		return -EINVAL;
	p = proc_find(s, pid);
	if (p)
		lru_touch(&s->proc_lru, &p->lru);
	else if (!(p = proc_create(s, pid)))
		return -ENOMEM;
	return proc_reload(s, p);
}

void symbolizer__forget_process(struct symbolizer *s, pid_t pid)
{
	struct proc *p;

	if (!s)
		return;
	p = proc_find(s, pid);
	/* Its address cache entries carry its generation, which is never reused. */
	if (p)
		proc_remove(s, p);
}

/* ---- JIT perf maps ---- */

/* NSpid (the pid the process knows itself by, which names its perf map) and uid. */
static void read_status(struct proc *p)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	p->status_read = true;
	p->nspid = p->pid;
	p->uid = (uid_t)-1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1
									: NULL) {
		if (!strncmp(line, "Uid:", 4)) {
			p->uid = (uid_t)strtoul(line + 4, NULL, 10);
		} else if (!strncmp(line, "NSpid:", 6)) {
			/* "NSpid:\t4242\t7": the last one is the innermost namespace's. */
			char *end = strchr(line, '\n'), *q = line + 6;
			long last = 0;

			while (q && (!end || q < end)) {
				char *next;
				long v = strtol(q, &next, 10);

				if (next == q)
					break;
				last = v;
				q = next;
			}
			if (last > 0)
				p->nspid = (pid_t)last;
		}
	}
}

/* Open the perf map of @p, inside its mount namespace, else at our /tmp (after it
 * exited). Only a regular file owned by the process's user or root is read: the
 * process chooses what its /tmp/perf-PID.map is, and must not make us read another
 * file (a symlink to a secret) into names. */
static int jit_open(struct proc *p, struct stat *st)
{
	char path[96];
	int fd;

	if (!p->status_read)
		read_status(p);
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", (int)p->pid, (int)p->nspid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && p->nspid == p->pid) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)p->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    (st->st_uid != 0 && p->uid != (uid_t)-1 && st->st_uid != p->uid)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Read what was appended to @p's perf map since the last read. */
static void jit_refresh(struct symbolizer *s, struct proc *p)
{
	struct jit_map *j = &p->jit;
	struct stat st;
	size_t want, consumed = 0;
	char *buf;
	ssize_t r;
	int fd;

	j->tried = true;
	fd = jit_open(p, &st);
	if (fd < 0)
		return;
	if (j->m && ((uint64_t)st.st_ino != j->ino || (uint64_t)st.st_dev != j->dev ||
		     (uint64_t)st.st_size < j->off)) {
		/* Another file (the pid was reused) or truncated: start over. Names of the
		 * old map may sit in the address cache: a new generation retires them. */
		perfmap__free(j->m);
		j->m = NULL;
		j->off = 0;
		p->gen = s->next_gen++;
	}
	if (!j->m) {
		j->m = perfmap__new();
		j->ino = (uint64_t)st.st_ino;
		j->dev = (uint64_t)st.st_dev;
		if (!j->m)
			goto out;
	}
	if ((uint64_t)st.st_size <= j->off)
		goto out;
	want = (uint64_t)st.st_size - j->off > JIT_READ_CHUNK ? JIT_READ_CHUNK
								: (size_t)((uint64_t)st.st_size - j->off);
	buf = malloc(want);
	if (!buf)
		goto out;
	r = pread(fd, buf, want, (off_t)j->off);
	if (r > 0) {
		perfmap__parse(j->m, buf, (size_t)r, &consumed);
		/* A full chunk without one newline is junk, not a line being written. */
		if (consumed == 0 && (size_t)r == JIT_READ_CHUNK)
			consumed = (size_t)r;
		j->off += consumed;
	}
	free(buf);
out:
	close(fd);
}

static const char *jit_lookup(struct symbolizer *s, struct proc *p, uint64_t addr,
			      uint64_t *off)
{
	const char *name = NULL;
	uint64_t now;

	if (s->no_jit)
		return NULL;
	if (p->jit.m)
		name = perfmap__lookup(p->jit.m, addr, off);
	if (name)
		return name;
	now = now_ns();
	if (p->jit.tried && now < p->jit.next_ns)
		return NULL;
	/* A big map (a JVM's) costs more to fold new lines into: check it less often. */
	p->jit.next_ns = now + JIT_RECHECK_NS * (1 + perfmap__count(p->jit.m) / 65536);
	jit_refresh(s, p);
	return p->jit.m ? perfmap__lookup(p->jit.m, addr, off) : NULL;
}

/* ---- resolution ---- */

/* @return false when the answer must not be cached (a JIT miss: the map grows). */
static bool resolve_in_mapping(struct symbolizer *s, struct proc *p,
			       const struct proc_mapping *pm, uint64_t addr, struct symbol *out)
{
	const char *path = proc_mapping__path(&p->maps, pm);
	struct elf_entry *e;
	uint64_t vaddr;
	size_t idx, before;

	out->name = NULL;
	out->offset = 0;
	out->module = path;
	out->module_offset = addr - pm->start;
	out->kind = SYMBOL_NATIVE;
	switch (pm->kind) {
	case PROC_MAPPING_ANON:
		out->module = "[anon]";
		out->name = jit_lookup(s, p, addr, &out->offset);
		if (!out->name) {
			out->offset = 0;
			return false;
		}
		out->kind = SYMBOL_JIT;
		return true;
	case PROC_MAPPING_PSEUDO:
		/* [vdso], [vsyscall]: the bracketed name is the best frame name there is. */
		if (path[0] == '[' && strncmp(path, "[anon:", 6) != 0) {
			out->name = path;
			out->offset = addr - pm->start;
			return true;
		}
		/* Named anonymous memory ("[anon:v8 code]"), memfd code: JIT territory. */
		out->name = jit_lookup(s, p, addr, &out->offset);
		if (!out->name) {
			out->offset = 0;
			return false;
		}
		out->kind = SYMBOL_JIT;
		return true;
	default:
		break;
	}
	/* Until the ELF says otherwise, the file offset is what locates the address. */
	out->module_offset = addr - pm->start + pm->pgoff;
	e = elf_get(s, p, pm);
	if (!e || !e->t)
		return true;
	if (elf_symtab__to_vaddr(e->t, pm->start, pm->pgoff, addr, &vaddr) != 0)
		return true;
	out->module_offset = vaddr;
	out->name = elf_symtab__lookup_idx(e->t, vaddr, &out->offset, &idx);
	if (!out->name) {
		out->offset = 0;
		return true;
	}
	if (!s->raw_names) {
		before = elf_symtab__mem_bytes(e->t);
		out->name = elf_symtab__demangled(e->t, idx);
		/* Demangled names are memory of the table: account for them. */
		e->bytes += elf_symtab__mem_bytes(e->t) - before;
		s->elf_bytes += elf_symtab__mem_bytes(e->t) - before;
	}
	return true;
}

static struct addr_entry *acache_slot(struct symbolizer *s, uint64_t gen, uint64_t addr)
{
	uint64_t h = mix64(addr ^ (gen * 0x9e3779b97f4a7c15ull));

	return &s->acache[h >> (64 - ADDR_CACHE_BITS)];
}

int symbolizer__resolve_user(struct symbolizer *s, pid_t pid, uint64_t addr,
			     struct symbol *out)
{
	const struct proc_mapping *pm;
	struct addr_entry *slot;
	struct proc *p;
	int err = 0;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	s->lookups++;
	p = proc_get(s, pid, &err);
	if (!p)
		return err;

	slot = acache_slot(s, p->gen, addr);
	if (slot->gen == p->gen && slot->addr == addr && slot->epoch == s->elf_epoch) {
		*out = slot->sym;
		s->hits++;
		return 0;
	}

	pm = proc_maps__find(&p->maps, addr);
	if (!pm && reread_allowed(p) && proc_reload(s, p) == 0)
		pm = proc_maps__find(&p->maps, addr);
	if (!pm)
		return 0; /* not cached: a later re-read may find it */

	if (!resolve_in_mapping(s, p, pm, addr, out))
		return 0;
	/* p->gen may have changed in the reload above, and the ELF epoch with an
	 * eviction during the parse. */
	slot = acache_slot(s, p->gen, addr);
	slot->addr = addr;
	slot->gen = p->gen;
	slot->epoch = s->elf_epoch;
	slot->sym = *out;
	return 0;
}

int symbolizer__inline_frames(struct symbolizer *s, pid_t pid, uint64_t addr,
			      struct symbol *out, size_t max)
{
	const struct proc_mapping *pm;
	const char *names[SYMBOLIZER_MAX_INLINE];
	struct elf_entry *e;
	struct proc *p;
	uint64_t vaddr;
	int err = 0, n;

	if (!s || (!out && max))
		return -EINVAL;
	if (!s->inline_frames)
		return -ENOTSUP;
	p = proc_get(s, pid, &err);
	if (!p)
		return err;
	pm = proc_maps__find(&p->maps, addr);
	if (!pm || pm->kind != PROC_MAPPING_FILE)
		return 0;
	e = elf_get(s, p, pm);
	if (!e || !e->t || elf_symtab__to_vaddr(e->t, pm->start, pm->pgoff, addr, &vaddr) != 0)
		return 0;
	if (!e->dw) {
		int fd;

		/* Opened per file at its first inline query (DWARF is large); a file
		 * without DWARF is remembered, so most files cost one try. */
		if (e->dw_failed)
			return 0;
		fd = open_mapped_file(p->pid, &p->maps, pm);
		if (fd < 0)
			return 0;
		e->dw = inline_dwarf__open(fd, elf_symtab__debug_path(e->t));
		close(fd);
		if (!e->dw) {
			e->dw_failed = true;
			return 0;
		}
	}
	if (max > SYMBOLIZER_MAX_INLINE)
		max = SYMBOLIZER_MAX_INLINE;
	n = inline_dwarf__frames(e->dw, vaddr, names, max);
	for (int i = 0; i < n; i++) {
		out[i] = (struct symbol){
			.name = names[i],
			.module = proc_mapping__path(&p->maps, pm),
			.module_offset = vaddr,
			.kind = SYMBOL_INLINED,
		};
	}
	return n;
}

int symbolizer__find_mapping(struct symbolizer *s, pid_t pid, uint64_t addr,
			     struct symbolizer_mapping *out)
{
	const struct proc_mapping *pm;
	struct proc *p;
	int err = 0;

	if (!s || !out)
		return -EINVAL;
	p = proc_get(s, pid, &err);
	if (!p)
		return err;
	pm = proc_maps__find(&p->maps, addr);
	if (!pm && reread_allowed(p) && proc_reload(s, p) == 0)
		pm = proc_maps__find(&p->maps, addr);
	if (!pm || pm->kind != PROC_MAPPING_FILE)
		return -ENOENT;
	*out = (struct symbolizer_mapping){
		.start = pm->start,
		.end = pm->end,
		.pgoff = pm->pgoff,
		.dev = pm->dev,
		.inode = pm->inode,
		.path = proc_mapping__path(&p->maps, pm),
		.index = (int)(pm - p->maps.maps),
	};
	if (p->ids && p->ids[out->index].key.kind == KEY_BUILD_ID &&
	    p->ids[out->index].key.bid_len <= sizeof(out->build_id)) {
		out->build_id_len = p->ids[out->index].key.bid_len;
		memcpy(out->build_id, p->ids[out->index].key.bid, out->build_id_len);
	}
	return 0;
}

int symbolizer__open_mapping(struct symbolizer *s, pid_t pid,
			     const struct symbolizer_mapping *m)
{
	struct proc *p;

	if (!s || !m)
		return -EINVAL;
	p = proc_find(s, pid);
	if (!p || !p->loaded || m->index < 0 || (size_t)m->index >= p->maps.n ||
	    p->maps.maps[m->index].start != m->start)
		return -ESTALE;
	return open_mapped_file(pid, &p->maps, &p->maps.maps[m->index]);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	const struct lru *n;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->elf_files = s->nelf;
	out->elf_bytes = s->elf_bytes;
	out->processes = s->nprocs;
	for (n = s->proc_lru.next; n != &s->proc_lru; n = n->next) {
		const struct proc *p = container_of(n, const struct proc, lru);

		out->bytes += sizeof(*p) + p->maps.n * (sizeof(*p->maps.maps) + sizeof(*p->ids)) +
			      p->maps.strs_len;
		if (p->jit.m) {
			out->jit_maps++;
			out->jit_bytes += perfmap__mem_bytes(p->jit.m);
		}
	}
	out->bytes += out->elf_bytes + out->jit_bytes + sizeof(*s) +
		      ((size_t)1 << ADDR_CACHE_BITS) * sizeof(struct addr_entry);
	out->lookups = s->lookups;
	out->hits = s->hits;
	out->hit_rate = s->lookups ? (double)s->hits / (double)s->lookups : 0.0;
	out->elf_parses = s->elf_parses;
	out->elf_evictions = s->elf_evictions;
	out->debug_files = s->debug_files;
}

int symbolizer__debuginfod_fetch(const uint8_t *build_id, size_t len, unsigned timeout_ms)
{
	int fd;

	if (!build_id)
		return -EINVAL;
	fd = debuginfo__debuginfod_fetch(build_id, len, timeout_ms ? timeout_ms : 10000, NULL, 0);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/*
 * The kernel names its own addresses (ksym.c) when BPF can be loaded: parsing all of
 * /proc/kallsyms instead costs tens of milliseconds, most of a short run's CPU, to
 * name the few hundred addresses a profile holds. kallsyms is the fallback (and what
 * tests point at a fixture file).
 */
static int kernel_load(struct symbolizer *s)
{
	s->kloaded = true;
	if (!s->kallsyms_path && (s->kbpf = ksym__new()))
		return 0;
	s->ksyms = kallsyms__load(s->kallsyms_path ? s->kallsyms_path : "/proc/kallsyms");
	s->kerr = s->ksyms ? 0 : -errno;
	return s->kerr;
}

int symbolizer__resolve_kernel(struct symbolizer *s, uint64_t addr, struct symbol *out)
{
	const char *module;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* One attempt: with kptr_restrict the answer (-EPERM) does not change while we
	 * run, and re-reading 10 MB of kallsyms per sample would be ruinous. */
	if (!s->kloaded)
		kernel_load(s);
	if (s->kerr)
		return s->kerr;
	out->module_offset = addr;
	out->kind = SYMBOL_KERNEL;
	if (s->kbpf) {
		int err = ksym__resolve(s->kbpf, addr, &out->name, &out->offset, &out->module);

		if (err == -ENOENT)
			err = 0; /* no symbol covers it: name NULL */
		return err;
	}
	out->name = kallsyms__lookup(s->ksyms, addr, &out->offset, &module);
	out->module = module;
	out->module_offset = addr;
	out->kind = SYMBOL_KERNEL;
	if (!out->name)
		out->offset = 0;
	return 0;
}

int symbolizer__set_kallsyms_path(struct symbolizer *s, const char *path)
{
	char *copy = strdup(path);

	if (!copy)
		return -ENOMEM;
	free(s->kallsyms_path);
	s->kallsyms_path = copy;
	kallsyms__free(s->ksyms);
	s->ksyms = NULL;
	ksym__free(s->kbpf);
	s->kbpf = NULL;
	s->kloaded = false;
	s->kerr = 0;
	return 0;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	while (s->proc_lru.next && s->proc_lru.next != &s->proc_lru)
		proc_remove(s, container_of(s->proc_lru.next, struct proc, lru));
	while (s->elf_lru.next && s->elf_lru.next != &s->elf_lru) {
		struct elf_entry *e = container_of(s->elf_lru.next, struct elf_entry, lru);

		elf_unlink(s, e);
		elf_entry_free(s, e);
	}
	free(s->elf_buckets);
	free(s->proc_buckets);
	free(s->acache);
	kallsyms__free(s->ksyms);
	ksym__free(s->kbpf);
	free(s->kallsyms_path);
	free(s->debug_dirs_buf);
	free(s);
}

int symbolizer__read_build_id(const char *path, char *hex, size_t size)
{
	uint8_t id[DEBUGINFO_BUILD_ID_MAX];
	int fd, n;

	if (!path || !hex || !size)
		return -EINVAL;
	hex[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = elf_read_build_id_fd(fd, id, sizeof(id));
	close(fd);
	if (n <= 0)
		return n < 0 ? n : 0;
	if ((size_t)n * 2 + 1 > size)
		return -ENOSPC;
	for (int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return n;
}
