/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer.c - processes and the public API: each process's mappings (hash by pid,
 * LRU) with the identity of each mapped file, an address -> result cache, and the
 * kernel's symbols. The parsed ELF tables (elf_cache.c) and JIT perf maps (jitmap.c)
 * hang off it.
 *
 * Identity: when a process's maps are read, each mapped file is opened as the process
 * sees it and its build-id read (a few syscalls, once per file per process). The ELF
 * cache is keyed by that build-id (files without one: by dev/inode/path), so the same
 * library in many containers is parsed once, and a binary replaced on disk never
 * answers for the old one. A file whose table is not cached yet stays open (bounded,
 * see elf_cache.c) until it is parsed, so a process that exits a few milliseconds
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_int.h"
#include "hash.h"
#include "list.h"
#include "symbolizer.h"
#include "symbolizer_int.h"

#define DEFAULT_MAX_ELF_FILES 256
#define DEFAULT_MAX_PROCESSES 4096
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
#define DEFAULT_MAX_BYTES ((size_t)256 << 20)
#define MAX_DEBUG_DIRS 16

/* Per mapping of a process: which file it is. */
struct map_ident {
	struct file_key key; /* KEY_NONE: could not be opened (yet) */
	uint64_t retry_ns;
};

struct proc {
	struct list_node lru;
	struct proc *hnext;
	pid_t pid;
	bool loaded;     /* maps were read at least once */
	int err;         /* why the last read failed, while !loaded */
	uint64_t gen;    /* unique per (process, maps version); tags address cache entries */
	uint64_t tat_ns; /* token bucket: theoretical arrival time of the next re-read */
	uint64_t pushed_version; /* of the mmap table's entry the maps came from */
	struct proc_maps maps;
	struct map_ident *ids; /* parallel to maps.maps */
	struct jitmap jit;
};

struct addr_entry {
	uint64_t addr;
	uint64_t gen;   /* 0: empty (generations start at 1) */
	uint64_t epoch;
	struct symbol sym;
};

/* The identity (build-id) of files seen mapped, by device, inode, size and mtime: a
 * new process mapping the libraries others mapped costs a stat per file rather than
 * an open and the reads of its notes. Direct-mapped; a slot is overwritten. */
#define IDENT_SLOTS 1024

struct ident_slot {
	uint64_t dev, ino, size; /* ino 0: empty */
	int64_t mtime_ns;
	struct file_key key;
};

struct symbolizer {
	size_t max_procs;
	char *debug_dirs_buf;
	const char *debug_dirs[MAX_DEBUG_DIRS];
	size_t ndebug_dirs;
	bool raw_names, no_jit, inline_frames;
	bool maps_by_query; /* PROCMAP_QUERY answers (cleared at the first -ENOTTY) */
	struct mmap_table *pushed; /* mappings from the kernel's mmap records */
	uint64_t maps_pushed, maps_read; /* loads from those, and from /proc */
	uint64_t lookups, hits;

	struct elf_cache elf;
	struct vdso_cache vdso;
	struct ident_slot idents[IDENT_SLOTS];
	uint64_t ident_hits, ident_misses, ident_kernel;

	struct proc **proc_buckets;
	size_t proc_mask, nprocs;
	struct list_node proc_lru;
	uint64_t next_gen;

	struct addr_entry *acache;

	bool kloaded;
	int kerr;
	struct ksym *kbpf;       /* the kernel's own names, when BPF can be loaded */
	struct kallsyms *ksyms;  /* else /proc/kallsyms */
	char *kallsyms_path;
};

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
	struct elf_cache_opts eo = { 0 };
	struct symbolizer *s;
	size_t nb;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max_procs = opts && opts->max_processes ? opts->max_processes
						   : DEFAULT_MAX_PROCESSES;
	s->maps_by_query = !(opts && opts->maps_from_text);
	if (opts) {
		s->raw_names = opts->raw_names;
		s->no_jit = opts->no_jit;
		s->inline_frames = opts->inline_frames;
		eo.debuginfod = opts->debuginfod;
		eo.debuginfod_timeout_ms = opts->debuginfod_timeout_ms;
	}
	if (!eo.debuginfod_timeout_ms)
		eo.debuginfod_timeout_ms = 10000;
	list_init(&s->proc_lru);
	vdso_cache__init(&s->vdso);
	s->next_gen = 1;

	nb = bucket_count(s->max_procs);
	s->proc_buckets = calloc(nb, sizeof(*s->proc_buckets));
	s->proc_mask = nb - 1;
	s->acache = calloc(1u << ADDR_CACHE_BITS, sizeof(*s->acache));
	if (!s->proc_buckets || !s->acache || set_debug_dirs(s, opts) != 0 ||
	    !(s->pushed = mmap_table__new(s->max_procs)))
		goto nomem;
	/* The directory strings are the symbolizer's copies, which outlive the cache. */
	eo.debug_dirs = s->debug_dirs;
	eo.ndebug_dirs = s->ndebug_dirs;
	if (elf_cache__init(&s->elf,
			    opts && opts->max_elf_files ? opts->max_elf_files : DEFAULT_MAX_ELF_FILES,
			    opts && opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES, &eo) != 0) {
nomem:
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

/* ---- mapped files ---- */

/* The vDSO is no file, but has an ELF image like one (vdso.c). */
static bool is_vdso(const struct proc_maps *maps, const struct proc_mapping *pm)
{
	return pm->kind == PROC_MAPPING_PSEUDO && !strcmp(proc_mapping__path(maps, pm), "[vdso]");
}

static bool has_elf_image(const struct proc_maps *maps, const struct proc_mapping *pm)
{
	return pm->kind == PROC_MAPPING_FILE || is_vdso(maps, pm);
}

/* Whether the file open at @fd has the build-id the kernel gave for mapping @pm of @p
 * (true when it gave none). */
static bool build_id_matches(const struct proc *p, const struct proc_mapping *pm, int fd)
{
	const struct proc_build_id *b = p->maps.bids ? &p->maps.bids[pm - p->maps.maps] : NULL;
	uint8_t id[DEBUGINFO_BUILD_ID_MAX];
	int n;

	if (!b || !b->len)
		return true;
	n = elf_read_build_id_fd(fd, id, sizeof(id));
	return n == b->len && !memcmp(id, b->id, b->len);
}

/* Open the ELF image behind mapping @pm of @p, as the process sees it.
 * @return fd or -errno. */
static int open_mapped_file(struct symbolizer *s, const struct proc *p,
			    const struct proc_mapping *pm)
{
	const char *path = proc_mapping__path(&p->maps, pm);
	pid_t pid = p->pid;
	char buf[4096 + 64];
	struct stat st;
	int fd;

	if (is_vdso(&p->maps, pm))
		return vdso_cache__open(&s->vdso, pid, pm->start, pm->end);
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
	 * path is only right if it is the same file, which dev/inode tell, or for
	 * mappings from the kernel's mmap records, the build-id. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (pm->inode ? fstat(fd, &st) != 0 || st.st_ino != pm->inode || st.st_dev != pm->dev
		      : !build_id_matches(p, pm, fd)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static struct ident_slot *ident_slot(struct symbolizer *s, uint64_t dev, uint64_t ino)
{
	return &s->idents[hash_mix64(dev * 0x9e3779b97f4a7c15ULL ^ ino) % IDENT_SLOTS];
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* The identity of mapping @pm of @p from the identity cache, when the file the process
 * sees at its path is the one mapped (device and inode) and unchanged (size, mtime)
 * since it was read. */
static bool ident_cached(struct symbolizer *s, const struct proc *p,
			 const struct proc_mapping *pm, struct file_key *k)
{
	const char *path = proc_mapping__path(&p->maps, pm);
	struct ident_slot *slot;
	char buf[4096 + 64];
	struct stat st;

	if (pm->kind != PROC_MAPPING_FILE || pm->deleted || !pm->inode || path[0] != '/')
		return false;
	slot = ident_slot(s, pm->dev, pm->inode);
	if (slot->ino != pm->inode || slot->dev != pm->dev)
		return false;
	if ((size_t)snprintf(buf, sizeof(buf), "/proc/%d/root%s", (int)p->pid, path) >= sizeof(buf) ||
	    stat(buf, &st) != 0 || st.st_ino != pm->inode || st.st_dev != pm->dev ||
	    (uint64_t)st.st_size != slot->size || mtime_ns(&st) != slot->mtime_ns)
		return false;
	*k = slot->key;
	return true;
}

static void ident_remember(struct symbolizer *s, const struct proc_mapping *pm, int fd,
			   const struct file_key *k)
{
	struct ident_slot *slot;
	struct stat st;

	if (pm->kind != PROC_MAPPING_FILE || !pm->inode || fstat(fd, &st) != 0 ||
	    st.st_ino != pm->inode || st.st_dev != pm->dev)
		return;
	slot = ident_slot(s, pm->dev, pm->inode);
	*slot = (struct ident_slot){ .dev = pm->dev, .ino = pm->inode, .size = (uint64_t)st.st_size,
				     .mtime_ns = mtime_ns(&st), .key = *k };
}

/* The build-id the kernel gave for mapping @pm of @p (PROCMAP_QUERY), as a key. */
static bool kernel_key(const struct proc *p, const struct proc_mapping *pm,
		       struct file_key *k)
{
	const struct proc_build_id *b;

	if (!p->maps.bids || pm->kind != PROC_MAPPING_FILE)
		return false;
	b = &p->maps.bids[pm - p->maps.maps];
	if (!b->len || b->len > sizeof(k->bid))
		return false;
	k->kind = KEY_BUILD_ID;
	k->bid_len = b->len;
	memcpy(k->bid, b->id, b->len);
	return true;
}

/* The key of mapping @pm of @p when it is a vDSO that is smolder's own image: known
 * without opening it (an open, a read of its notes and a close per new process). */
static bool vdso_known(struct symbolizer *s, const struct proc *p, const struct proc_mapping *pm,
		       struct file_key *k)
{
	int n;

	if (!is_vdso(&p->maps, pm))
		return false;
	n = vdso_cache__own_build_id(&s->vdso, pm->start, pm->end, k->bid, sizeof(k->bid));
	if (n <= 0)
		return false;
	k->kind = KEY_BUILD_ID;
	k->bid_len = (uint8_t)n;
	return true;
}

/*
 * Identify mapping @pm of @p: open it as the process sees it and read its build-id,
 * or, unless @need_fd, when the ELF cache holds the table of a file known without
 * opening it, take that (*@fd_out = -1 then). A file is known by the build-id the
 * kernel gave with the mappings, or else when it was seen before and is unchanged
 * (the identity cache). @fd_out gets the open file when the caller may keep it, else
 * it is closed. @return 0 or a negative errno (the file could not be opened).
 */
static int identify(struct symbolizer *s, struct proc *p, const struct proc_mapping *pm,
		    struct file_key *k, int *fd_out, bool need_fd)
{
	const char *path = proc_mapping__path(&p->maps, pm);
	int fd;

	memset(k, 0, sizeof(*k));
	if (!need_fd && kernel_key(p, pm, k)) {
		if (elf_cache__has(&s->elf, k, path)) {
			s->ident_kernel++;
			*fd_out = -1;
			return 0;
		}
	} else if (!need_fd && ident_cached(s, p, pm, k) && elf_cache__has(&s->elf, k, path)) {
		s->ident_hits++;
		*fd_out = -1;
		return 0;
	} else if (!need_fd && vdso_known(s, p, pm, k) && elf_cache__has(&s->elf, k, path)) {
		*fd_out = -1;
		return 0;
	}
	s->ident_misses += pm->kind == PROC_MAPPING_FILE;
	memset(k, 0, sizeof(*k));
	fd = open_mapped_file(s, p, pm);
	if (fd < 0)
		return fd;
	file_key__read(k, fd, pm->dev, pm->inode);
	ident_remember(s, pm, fd, k);
	/* vDSO images differ (64-bit, 32-bit) but share the path and no inode: only
	 * a build-id tells them apart. */
	if (k->kind != KEY_BUILD_ID && is_vdso(&p->maps, pm)) {
		close(fd);
		return -ENOEXEC;
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
	int fd = -1;

	if (identify(s, p, pm, &id->key, &fd, false) != 0) {
		id->key.kind = KEY_NONE;
		id->retry_ns = now_ns() + ELF_RETRY_NS;
		return;
	}
	if (fd >= 0) /* else the ELF cache has it already */
		elf_cache__capture(&s->elf, &id->key, path, p->pid, fd);
}

/*
 * Whether mapping @i of @a and mapping @j of @b show the same file (or the same
 * pseudo-file). Mappings from the kernel's mmap records carry no device or inode but
 * a build-id: those must agree, and the names.
 */
static bool same_file(const struct proc_maps *a, size_t i, const struct proc_maps *b, size_t j)
{
	const struct proc_mapping *x = &a->maps[i], *y = &b->maps[j];
	const struct proc_build_id *bx, *by;

	if (x->kind != y->kind || x->dev != y->dev || x->inode != y->inode)
		return false;
	if (x->kind == PROC_MAPPING_FILE && x->inode)
		return true;
	if (x->kind == PROC_MAPPING_FILE) {
		bx = a->bids ? &a->bids[i] : NULL;
		by = b->bids ? &b->bids[j] : NULL;
		if (!bx || !by || !bx->len || bx->len != by->len || memcmp(bx->id, by->id, bx->len))
			return false;
	}
	return !strcmp(proc_mapping__path(a, x), proc_mapping__path(b, y));
}

static bool same_mapping(const struct proc_maps *a, size_t i, const struct proc_maps *b,
			 size_t j)
{
	const struct proc_mapping *x = &a->maps[i], *y = &b->maps[j];

	return x->start == y->start && x->end == y->end && x->pgoff == y->pgoff &&
	       same_file(a, i, b, j);
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

		if (!has_elf_image(&p->maps, pm))
			continue;
		/* Both lists are sorted by start: walk the old one alongside. */
		while (old_ids && o < old->n && old->maps[o].start < pm->start)
			o++;
		if (old_ids && o < old->n && same_mapping(old, o, &p->maps, i) &&
		    old_ids[o].key.kind != KEY_NONE) {
			p->ids[i] = old_ids[o];
			continue;
		}
		for (j = i; pm->kind == PROC_MAPPING_FILE && j-- > 0 && i - j <= 8;) {
			if (same_file(&p->maps, j, &p->maps, i) && p->ids[j].key.kind != KEY_NONE) {
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
	e = elf_cache__lookup(&s->elf, &id->key, path);
	if (e) {
		if (elf_entry__settled(e))
			return e;
		/* A failed open may work now (restored permission): only through a file
		 * that is still the same one. */
	}
	/* Evicted since it was identified, or failed before: open it again, and use it
	 * only if it is still the file that was identified. */
	if (identify(s, p, pm, &k, &fd, true) != 0) {
		if (e)
			e->retry_ns = now_ns() + ELF_RETRY_NS;
		return e;
	}
	if (!file_key__equal(&k, &id->key)) {
		close(fd);
		if (e)
			e->retry_ns = now_ns() + ELF_RETRY_NS;
		return e;
	}
	return elf_cache__reparse(&s->elf, e, &id->key, path, p->pid, fd);
}

/* ---- processes ---- */

static struct proc *proc_find(struct symbolizer *s, pid_t pid)
{
	struct proc *p;

	for (p = s->proc_buckets[hash_mix64((uint64_t)pid) & s->proc_mask]; p; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void proc_remove(struct symbolizer *s, struct proc *p)
{
	struct proc **pp = &s->proc_buckets[hash_mix64((uint64_t)p->pid) & s->proc_mask];

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	list_del(&p->lru);
	s->nprocs--;
	proc_maps__release(&p->maps);
	free(p->ids);
	jitmap__release(&p->jit);
	free(p);
}

static struct proc *proc_create(struct symbolizer *s, pid_t pid)
{
	size_t b = hash_mix64((uint64_t)pid) & s->proc_mask;
	struct proc *p;

	if (s->nprocs >= s->max_procs && !list_empty(&s->proc_lru))
		proc_remove(s, container_of(list_last(&s->proc_lru), struct proc, lru));
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->hnext = s->proc_buckets[b];
	s->proc_buckets[b] = p;
	list_add_front(&s->proc_lru, &p->lru);
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

/* @pid's maps from /proc: by PROCMAP_QUERY where the kernel has it, else as text. */
static int read_maps(struct symbolizer *s, pid_t pid, struct proc_maps *m)
{
	int err = -ENOTTY;

	if (s->maps_by_query) {
		err = proc_maps__query(pid, m);
		if (err == -ENOTTY)
			s->maps_by_query = false;
	}
	if (err == -ENOTTY)
		err = proc_maps__read(pid, m);
	return err;
}

/*
 * Re-read @p's maps and identify new mappings' files: from the kernel's mmap records
 * when the process was followed by them from its start, else from /proc (and follow
 * it from now on). On failure the old maps stay: samples taken before a process
 * exited are still worth symbolizing with them. @return 0 (also when the followed
 * maps have not changed), or a negative errno.
 */
static int proc_reload(struct symbolizer *s, struct proc *p)
{
	struct proc_maps m, old;
	struct map_ident *ids, *old_ids;
	int err;

	err = mmap_table__get(s->pushed, p->pid, &p->pushed_version, &m);
	if (err == -EALREADY && p->loaded)
		return 0;
	if (!err) {
		s->maps_pushed++;
	} else {
		err = read_maps(s, p->pid, &m);
		if (!err) {
			s->maps_read++;
			mmap_table__seed(s->pushed, p->pid, &m, &p->pushed_version);
		}
	}
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
		list_move_front(&s->proc_lru, &p->lru);
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
		list_move_front(&s->proc_lru, &p->lru);
	else if (!(p = proc_create(s, pid)))
		return -ENOMEM;
	return proc_reload(s, p);
}

void symbolizer__drop_caches(struct symbolizer *s)
{
	struct list_node *n;

	if (!s)
		return;
	/* Address cache entries carry their process's generation and the ELF epoch,
	 * both of which move on: none of them is used again. */
	while ((n = list_first(&s->proc_lru)))
		proc_remove(s, container_of(n, struct proc, lru));
	mmap_table__clear(s->pushed);
	elf_cache__clear(&s->elf);
}

void symbolizer__note_start(struct symbolizer *s, bool all)
{
	struct dirent *de;
	DIR *dir;

	if (!s)
		return;
	mmap_table__activate(s->pushed);
	if (!all || !(dir = opendir("/proc")))
		return;
	while ((de = readdir(dir))) {
		struct proc_maps m;
		uint64_t version;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || read_maps(s, (pid_t)pid, &m) != 0)
			continue;
		mmap_table__seed(s->pushed, (pid_t)pid, &m, &version);
		proc_maps__release(&m);
	}
	closedir(dir);
}

void symbolizer__note_fork(struct symbolizer *s, pid_t parent, pid_t child)
{
	if (s)
		mmap_table__fork(s->pushed, parent, child);
}

void symbolizer__note_exec(struct symbolizer *s, pid_t pid)
{
	if (s)
		mmap_table__exec(s->pushed, pid);
}

void symbolizer__note_mmap(struct symbolizer *s, pid_t pid, const struct symbolizer_mmap *m)
{
	struct proc_mapping pm = { 0 };
	struct proc_build_id bid = { 0 };

	if (!s || !m || m->start + m->len < m->start)
		return;
	pm.start = m->start;
	pm.end = m->start + m->len;
	pm.pgoff = m->pgoff;
	pm.dev = m->dev;
	pm.inode = m->inode;
	if (m->build_id && m->build_id_len <= sizeof(bid.id)) {
		bid.len = (uint8_t)m->build_id_len;
		memcpy(bid.id, m->build_id, m->build_id_len);
	}
	mmap_table__mmap(s->pushed, pid, &pm, m->path, m->path_len, &bid);
}

void symbolizer__note_lost(struct symbolizer *s)
{
	if (s)
		mmap_table__clear(s->pushed);
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

/* ---- resolution ---- */

static const char *jit_lookup(struct symbolizer *s, struct proc *p, uint64_t addr,
			      uint64_t *off)
{
	const char *name;
	bool restarted;

	if (s->no_jit)
		return NULL;
	name = jitmap__lookup(&p->jit, p->pid, addr, off, &restarted);
	/* Names of the old map may sit in the address cache: a new generation retires
	 * them. */
	if (restarted)
		p->gen = s->next_gen++;
	return name;
}

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
		if (is_vdso(&p->maps, pm))
			break; /* an ELF image, as a file's */
		/* [vsyscall]: the bracketed name is the best frame name there is. */
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
	if (!e || !e->t || elf_symtab__to_vaddr(e->t, pm->start, pm->pgoff, addr, &vaddr) != 0)
		goto unnamed;
	out->module_offset = vaddr;
	out->from_table = true;
	out->name = elf_symtab__lookup_idx(e->t, vaddr, &out->offset, &idx);
	if (!out->name)
		goto unnamed;
	if (!s->raw_names) {
		before = elf_symtab__mem_bytes(e->t);
		out->name = elf_symtab__demangled(e->t, idx);
		/* Demangled names are memory of the table: account for them. */
		elf_cache__grow(&s->elf, e, elf_symtab__mem_bytes(e->t) - before);
	}
	return true;
unnamed:
	out->name = NULL;
	out->offset = 0;
	/* Outside the vDSO's functions (or its image unreadable): its bracketed name is
	 * still better than none, as for the other pseudo mappings. */
	if (pm->kind == PROC_MAPPING_PSEUDO) {
		out->name = path;
		out->offset = addr - pm->start;
	}
	return true;
}

static struct addr_entry *acache_slot(struct symbolizer *s, uint64_t gen, uint64_t addr)
{
	uint64_t h = hash_mix64(addr ^ (gen * 0x9e3779b97f4a7c15ull));

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
	if (slot->gen == p->gen && slot->addr == addr && slot->epoch == s->elf.epoch) {
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
	slot->epoch = s->elf.epoch;
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
	if (!pm || !has_elf_image(&p->maps, pm))
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
		fd = open_mapped_file(s, p, pm);
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

/* The mapping of @pid with an ELF image that contains @addr (maps re-read within the
 * rate limit when none does), or NULL with *@err set. */
static const struct proc_mapping *elf_mapping_at(struct symbolizer *s, pid_t pid,
						 uint64_t addr, struct proc **pp, int *err)
{
	const struct proc_mapping *pm;
	struct proc *p;

	p = proc_get(s, pid, err);
	if (!p)
		return NULL;
	pm = proc_maps__find(&p->maps, addr);
	if (!pm && reread_allowed(p) && proc_reload(s, p) == 0)
		pm = proc_maps__find(&p->maps, addr);
	if (!pm || !has_elf_image(&p->maps, pm)) {
		*err = -ENOENT;
		return NULL;
	}
	*pp = p;
	return pm;
}

static void mapping_facts(const struct proc *p, const struct proc_mapping *pm,
			  struct symbolizer_mapping *out)
{
	const struct map_ident *id = &p->ids[pm - p->maps.maps];
	const char *path;
	size_t len;

	out->start = pm->start;
	out->end = pm->end;
	out->pgoff = pm->pgoff;
	out->dev = pm->dev;
	out->inode = pm->inode;
	path = proc_mapping__path(&p->maps, pm);
	len = strnlen(path, sizeof(out->path) - 1);
	memcpy(out->path, path, len);
	out->path[len] = '\0';
	out->build_id_len = 0;
	if (id->key.kind == KEY_BUILD_ID && id->key.bid_len <= sizeof(out->build_id)) {
		out->build_id_len = id->key.bid_len;
		memcpy(out->build_id, id->key.bid, out->build_id_len);
	} else if (p->maps.bids && p->maps.bids[pm - p->maps.maps].len) {
		/* Not identified (yet): the kernel's word, rather than no identity at all
		 * for a mapping without a device and inode. */
		out->build_id_len = p->maps.bids[pm - p->maps.maps].len;
		memcpy(out->build_id, p->maps.bids[pm - p->maps.maps].id, out->build_id_len);
	}
}

int symbolizer__mapping_at(struct symbolizer *s, pid_t pid, uint64_t addr,
			   struct symbolizer_mapping *out)
{
	const struct proc_mapping *pm;
	struct proc *p = NULL;
	int err = 0;

	if (!s || !out)
		return -EINVAL;
	pm = elf_mapping_at(s, pid, addr, &p, &err);
	if (!pm)
		return err;
	mapping_facts(p, pm, out);
	return 0;
}

int symbolizer__open_mapping_at(struct symbolizer *s, pid_t pid, uint64_t addr,
				struct symbolizer_mapping *out)
{
	const struct proc_mapping *pm;
	struct proc *p = NULL;
	int err = 0, fd, n;

	if (!s || !out)
		return -EINVAL;
	pm = elf_mapping_at(s, pid, addr, &p, &err);
	if (!pm)
		return err;
	fd = open_mapped_file(s, p, pm);
	if (fd < 0)
		return fd;
	mapping_facts(p, pm, out);
	/* Not identified when the maps were read (the file could not be opened then):
	 * the open file says. */
	if (!out->build_id_len) {
		n = elf_read_build_id_fd(fd, out->build_id, sizeof(out->build_id));
		out->build_id_len = n > 0 ? (size_t)n : 0;
	}
	return fd;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	struct mmap_table_stats mst;
	const struct list_node *n;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	mmap_table__stats(s->pushed, &mst);
	out->elf_files = s->elf.n;
	out->elf_bytes = s->elf.bytes;
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
	out->bytes += out->elf_bytes + out->jit_bytes + mst.bytes + sizeof(*s) +
		      ((size_t)1 << ADDR_CACHE_BITS) * sizeof(struct addr_entry) +
		      ksym__mem_bytes(s->kbpf) + kallsyms__mem_bytes(s->ksyms);
	out->lookups = s->lookups;
	out->hits = s->hits;
	out->hit_rate = s->lookups ? (double)s->hits / (double)s->lookups : 0.0;
	out->elf_parses = s->elf.parses;
	out->elf_evictions = s->elf.evictions;
	out->debug_files = s->elf.debug_files;
	out->ident_hits = s->ident_hits;
	out->ident_misses = s->ident_misses;
	out->ident_kernel = s->ident_kernel;
	out->maps_pushed = s->maps_pushed;
	out->maps_read = s->maps_read;
	out->pushed_processes = mst.processes;
	out->pushed_bytes = mst.bytes;
	out->pushed_evictions = mst.evictions;
	out->kernel_asks = ksym__asks(s->kbpf);
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
	/* A half-built symbolizer (symbolizer__new failing) has no list yet. */
	while (s->proc_lru.next && !list_empty(&s->proc_lru))
		proc_remove(s, container_of(list_first(&s->proc_lru), struct proc, lru));
	mmap_table__free(s->pushed);
	elf_cache__release(&s->elf);
	vdso_cache__release(&s->vdso);
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
