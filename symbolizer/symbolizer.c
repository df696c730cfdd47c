/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer.c - the caches that make per-sample symbolization cheap: processes'
 * mappings (hash by pid, LRU), parsed ELF symbol tables (hash by dev/inode, LRU), an
 * address -> result cache, and the kernel's symbols.
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

struct elf_entry {
	struct lru lru; /* first: the LRU tail is cast back to the entry */
	struct elf_entry *hnext;
	uint64_t hash;
	uint64_t dev, ino;
	char *path;            /* the key when ino == 0 (no inode to go by) */
	struct elf_symtab *t;  /* NULL: the file could not be parsed; see err */
	int err;
	uint64_t retry_ns;
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
};

struct addr_entry {
	uint64_t addr;
	uint64_t gen;   /* 0: empty (generations start at 1) */
	uint64_t epoch;
	struct symbol sym;
};

struct symbolizer {
	size_t max_elf, max_procs;

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
	struct kallsyms *ksyms;
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
	if (!s->elf_buckets || !s->proc_buckets || !s->acache) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

/* ---- ELF cache ---- */

static void elf_entry_free(struct elf_entry *e)
{
	elf_symtab__free(e->t);
	free(e->path);
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
	/* Names handed out from this table may be in the address cache. */
	s->elf_epoch++;
}

static uint64_t elf_key_hash(uint64_t dev, uint64_t ino, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (ino)
		return mix64(dev * 0x9e3779b97f4a7c15ull ^ ino);
	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 0x100000001b3ull;
	return mix64(h ^ dev);
}

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

/*
 * The ELF table for mapping @pm (of @p), parsing it on a miss. @return the entry (its
 * table may be NULL when the file cannot be read), or NULL on allocation failure.
 */
static struct elf_entry *elf_get(struct symbolizer *s, struct proc *p,
				 const struct proc_mapping *pm)
{
	const char *path = proc_mapping__path(&p->maps, pm);
	uint64_t h = elf_key_hash(pm->dev, pm->inode, path);
	struct elf_entry *e;
	bool retry = false;
	int fd;

	for (e = s->elf_buckets[h & s->elf_mask]; e; e = e->hnext) {
		if (e->hash != h || e->dev != pm->dev || e->ino != pm->inode)
			continue;
		if (!pm->inode && strcmp(e->path, path) != 0)
			continue;
		break;
	}
	if (e) {
		lru_touch(&s->elf_lru, &e->lru);
		if (e->t || e->err == -ENOEXEC || now_ns() < e->retry_ns)
			return e;
		/* A failed open may work now (another process, restored permission). */
		retry = true;
	} else {
		if (s->nelf >= s->max_elf && s->elf_lru.prev != &s->elf_lru) {
			struct elf_entry *victim = container_of(s->elf_lru.prev, struct elf_entry,
								 lru);

			elf_unlink(s, victim);
			elf_entry_free(victim);
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		e->hash = h;
		e->dev = pm->dev;
		e->ino = pm->inode;
		if (!pm->inode) {
			e->path = strdup(path);
			if (!e->path) {
				free(e);
				return NULL;
			}
		}
		e->hnext = s->elf_buckets[h & s->elf_mask];
		s->elf_buckets[h & s->elf_mask] = e;
		lru_add(&s->elf_lru, &e->lru);
		s->nelf++;
	}

	fd = open_mapped_file(p->pid, &p->maps, pm);
	if (fd >= 0) {
		e->t = elf_symtab__open_fd(fd);
		e->err = e->t ? 0 : -errno;
		close(fd);
	} else {
		e->err = fd;
	}
	e->retry_ns = now_ns() + ELF_RETRY_NS;
	/* The earlier failure may sit in the address cache as "no name". */
	if (retry && e->t)
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

/* Re-read @p's maps. On failure the old maps stay: samples taken before a process
 * exited are still worth symbolizing with them. */
static int proc_reload(struct symbolizer *s, struct proc *p)
{
	struct proc_maps m;
	int err;

	err = proc_maps__read(p->pid, &m);
	if (err) {
		if (!p->loaded)
			p->err = err;
		return err;
	}
	proc_maps__release(&p->maps);
	p->maps = m;
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

/* ---- resolution ---- */

static void resolve_in_mapping(struct symbolizer *s, struct proc *p,
			       const struct proc_mapping *pm, uint64_t addr, struct symbol *out)
{
	const char *path = proc_mapping__path(&p->maps, pm);
	struct elf_entry *e;
	uint64_t vaddr;

	out->name = NULL;
	out->offset = 0;
	out->module = path;
	out->module_offset = addr - pm->start;
	switch (pm->kind) {
	case PROC_MAPPING_ANON:
		out->module = "[anon]";
		return;
	case PROC_MAPPING_PSEUDO:
		/* [vdso], [vsyscall]: the bracketed name is the best frame name there is. */
		if (path[0] == '[') {
			out->name = path;
			out->offset = addr - pm->start;
		}
		return;
	default:
		break;
	}
	/* Until the ELF says otherwise, the file offset is what locates the address. */
	out->module_offset = addr - pm->start + pm->pgoff;
	e = elf_get(s, p, pm);
	if (!e || !e->t)
		return;
	if (elf_symtab__to_vaddr(e->t, pm->start, pm->pgoff, addr, &vaddr) != 0)
		return;
	out->module_offset = vaddr;
	out->name = elf_symtab__lookup(e->t, vaddr, &out->offset);
	if (!out->name)
		out->offset = 0;
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
	p = proc_get(s, pid, &err);
	if (!p)
		return err;

	slot = acache_slot(s, p->gen, addr);
	if (slot->gen == p->gen && slot->addr == addr && slot->epoch == s->elf_epoch) {
		*out = slot->sym;
		return 0;
	}

	pm = proc_maps__find(&p->maps, addr);
	if (!pm && reread_allowed(p) && proc_reload(s, p) == 0)
		pm = proc_maps__find(&p->maps, addr);
	if (!pm)
		return 0; /* not cached: a later re-read may find it */

	resolve_in_mapping(s, p, pm, addr, out);
	/* p->gen may have changed in the reload above. */
	slot = acache_slot(s, p->gen, addr);
	slot->addr = addr;
	slot->gen = p->gen;
	slot->epoch = s->elf_epoch;
	slot->sym = *out;
	return 0;
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

static int kernel_load(struct symbolizer *s)
{
	s->kloaded = true;
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
	out->name = kallsyms__lookup(s->ksyms, addr, &out->offset, &module);
	out->module = module;
	out->module_offset = addr;
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
		elf_entry_free(e);
	}
	free(s->elf_buckets);
	free(s->proc_buckets);
	free(s->acache);
	kallsyms__free(s->ksyms);
	free(s->kallsyms_path);
	free(s);
}
