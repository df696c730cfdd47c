/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.c - the one owner of what smolder knows about each process: which program
 * image a pid runs now (an id per image), and that image's labels. It follows each
 * process's life from the kernel's fork, exec and exit events: a forked child starts
 * with its parent's image, an exec announces a new image whose labels are read at its
 * first sample (from /proc while the process lives, which the sampler's wakeup on a
 * first sample makes likely; else from what the exec event said), and an exit frees
 * the process after the drain that read its last samples. Most processes of a busy
 * machine live a few milliseconds and are never sampled: they cost a table entry and
 * no /proc read. Other modules hang their per-process state on it by subscribing to
 * "forget" calls; it depends on none of them, so state flows one way.
 *
 * Samples and events travel in different rings, so an event may be read before
 * samples that were taken earlier. Three rules keep them apart: an exit only takes
 * effect at the second registry__reap after it (after the drain that read it and
 * the next, complete one: a sample may sit behind another CPU's record still being
 * written, where the drain that read the exit stopped); an exec's labels wait as a
 * pending image until the first sample taken at or after the exec (the sampler flags
 * it, SMOLDER_SAMPLE_FIRST, and the reader reads the events ring again before such a
 * sample, so that its exec has been read by then); and a pid reused before the old
 * process was freed (within one drain, on a busy machine) gives the new process an
 * entry of its own beside the old one, each sample going to the newest process born
 * at or before its time, so the old process's last samples keep its labels. A process
 * may exec several times between two drains (a wrapper that execs its program): each
 * image waits, in order, and a sample takes the last one announced at or before its
 * time. The clients hold state per pid, so they are told to forget a pid whenever its
 * samples move on to a newer process (or image) and when the process whose state they
 * hold is freed; a late sample of an older process leaves them as they are.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "agent.h"
#include "hash.h"
#include "list.h"
#include "pool.h"

#define DEFAULT_MAX_PROCESSES 32768
#define MAX_CLIENTS 8
#define EXE_CACHE_SLOTS 1024 /* direct-mapped (device, inode) -> labels with that exe */
/* Freed entries, images and exec notes kept for reuse (lib/pool.h): a drain's exits
 * are followed by the next drain's forks and execs, by the hundred under churn. */
#define POOL_ENTRIES 256
#define POOL_IMAGES 256
#define POOL_NOTES 64

/* A label set as one allocation: the struct, then its strings. Shared between a
 * parent and the children it forks, hence counted. */
struct labels_block {
	struct process_labels l;
	unsigned int refs;
	char data[];
};

/* What an exec event said of the image it started: the labels' source when the
 * process is gone by the image's first sample. */
struct exec_note {
	uint32_t dev;
	uint64_t ino;
	int64_t size, mtime_sec; /* the file's, at the exec */
	uint32_t mtime_nsec;
	uint64_t cgroup_id;
	pid_t pid;
	char comm[SMOLDER_COMM_LEN + 1];
	char filename[SMOLDER_PATH_LEN + 1];
	struct env_labels env; /* from the environment the event carried, if it did */
};

/* A program image: its labels, read at its first sample. Shared between a parent and
 * the children it forks before it execs again, hence counted. */
struct image {
	unsigned int refs;
	struct labels_block *labels; /* NULL until read (or when nothing could be) */
	struct exec_note *exec;      /* until then, for an image an exec announced */
	uint32_t dev;                /* the file it runs, as the kernel numbers it */
	uint64_t ino;                /* (0 when not known) */
};

/* Images announced and not yet sampled, per process: execs in one drain interval
 * beyond this many drop the oldest (which then had no sample of its own). */
#define PENDING_MAX 4

struct pending {
	struct image *im; /* the image an event announced */
	uint64_t at_ns;   /* when (the event's time) */
};

struct entry {
	struct process p;          /* p.labels: the current image's; NULL before one */
	struct image *cur;
	struct pending pending[PENDING_MAX]; /* oldest first */
	unsigned int npending;
	uint64_t born_ns;          /* the time of the fork (or exec) it was first seen
				      by; 0: it ran before (first seen in a sample) */
	bool has_image;            /* a sample has been seen (p.id is valid) */
	bool held;                 /* the last sample of its pid was its: the clients'
				      state for the pid is this process's */
	bool exited;
	uint64_t exit_reap;        /* registry__reap calls before its exit was seen */
	struct entry *hnext;
	struct list_node lru;      /* most recently used first */
	struct list_node dead;     /* on the reap list once exited */
};

struct client {
	registry_forget_fn fn;
	void *ctx;
};

/* The labels labels_known last made for a program, and what it made them from:
 * another exec of the same file, unchanged since (size and time), in the same cgroup,
 * whose environment names the same service and version, gets the same block. Under
 * process churn most new images are such a repeat (the workers of a shell loop), and
 * building their labels again was most of what an image cost at its first sample. */
struct labels_memo {
	struct labels_block *labels; /* holds a reference */
	int64_t size, mtime_sec;
	uint32_t mtime_nsec;
	uint64_t cgroup_id;
	struct env_labels env; /* known */
};

/* An executable seen in a live process, or checked on disk for a gone one, by the
 * file's identity: what names the file an exec event carries when the process is
 * gone before /proc could be read (the path execve was given may be relative, or
 * /proc/self/exe). */
struct exe_slot {
	uint32_t dev;
	uint64_t ino;
	struct labels_block *labels; /* holds a reference */
	struct labels_memo *memo;    /* NULL until labels_known made labels for it */
	uint64_t checked_ns;         /* when a stat last found labels->l.exe naming the
					file (r->clock_ns); 0: never */
	int64_t checked_size;        /* the file's size and time at that stat */
	int64_t checked_mtime_sec;
	uint32_t checked_mtime_nsec;
};

/* How long a stat that found a known program's path naming its file stands for
 * execs of the file by another path (exec_path_is). */
#define PATH_CHECK_NS 1000000000ull

struct registry {
	struct entry **buckets;
	size_t mask, n, max;
	struct list_node lru;
	struct list_node dead;
	struct client clients[MAX_CLIENTS];
	size_t nclients;
	struct exe_slot exes[EXE_CACHE_SLOTS];
	struct process_info *info; /* scratch for the labels being read */
	struct obj_pool entries, images, notes;
	uint64_t (*clock_ns)(void);
	uint32_t next_id;
	uint64_t next_labels;      /* the serial of the last label set made */
	uint64_t reaps;            /* registry__reap calls */
	struct registry_stats st;
};

/* ---- labels ---- */

static struct labels_block *labels_new(struct registry *r, const struct process_info *i)
{
	const char *src[] = { i->exe, i->build_id, i->cgroup, i->container_id,
			      i->pod_uid, i->unit, i->service, i->version };
	enum { N = sizeof(src) / sizeof(src[0]) };
	size_t len[N], total = 0;
	struct labels_block *b;
	const char **dst[N];
	char *p;

	for (size_t k = 0; k < N; k++)
		total += (len[k] = strlen(src[k])) + 1;
	b = malloc(sizeof(*b) + total);
	if (!b)
		return NULL;
	b->refs = 1;
	b->l.serial = ++r->next_labels;
	b->l.kernel_thread = i->kernel_thread;
	dst[0] = &b->l.exe;
	dst[1] = &b->l.build_id;
	dst[2] = &b->l.cgroup;
	dst[3] = &b->l.container_id;
	dst[4] = &b->l.pod_uid;
	dst[5] = &b->l.unit;
	dst[6] = &b->l.service;
	dst[7] = &b->l.version;
	p = b->data;
	for (size_t k = 0; k < N; k++) {
		memcpy(p, src[k], len[k] + 1);
		*dst[k] = p;
		p += len[k] + 1;
	}
	return b;
}

static struct labels_block *labels_get(struct labels_block *b)
{
	if (b)
		b->refs++;
	return b;
}

static void labels_put(struct labels_block *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static struct exe_slot *exe_slot(struct registry *r, uint32_t dev, uint64_t ino)
{
	return &r->exes[hash_mix64(ino ^ ((uint64_t)dev << 32)) % EXE_CACHE_SLOTS];
}

/* Whether file (@dev, @ino) is known: its slot names it, with labels. */
static bool exe_slot_knows(struct registry *r, uint32_t dev, uint64_t ino)
{
	const struct exe_slot *slot = exe_slot(r, dev, ino);

	return ino && slot->labels && slot->dev == dev && slot->ino == ino;
}

static void memo_free(struct labels_memo *m)
{
	if (m) {
		labels_put(m->labels);
		free(m);
	}
}

/* Make @slot name file (@dev, @ino) with labels @b (a reference is taken). What
 * labels_known made of the slot, and its last check on disk, are kept while the file
 * and its path are the same. */
static void exe_slot_set(struct exe_slot *slot, uint32_t dev, uint64_t ino,
			 struct labels_block *b)
{
	struct labels_block *old = slot->labels;

	if (!old || slot->dev != dev || slot->ino != ino || strcmp(old->l.exe, b->l.exe)) {
		memo_free(slot->memo);
		*slot = (struct exe_slot){ .dev = dev, .ino = ino };
	}
	slot->labels = labels_get(b);
	labels_put(old);
}

/* Labels of live process @pid from /proc (its service and version from @env when
 * that knows them; may be NULL); NULL when it is gone, out of memory, or (@ino
 * nonzero) when it runs another file than inode @ino. Only the inode is
 * compared: stat and the kernel's exec event may number the device differently
 * (overlayfs), and a different program with the same inode number on another device
 * within one image's first milliseconds is not a case worth a second read. */
static struct labels_block *labels_read(struct registry *r, pid_t pid, uint64_t ino,
					const struct env_labels *env)
{
	struct process_info *info = r->info;
	struct labels_block *b = NULL;

	r->st.proc_reads++;
	if (procinfo__read(pid, env, info) == 0 &&
	    (!ino || info->exe_ino == ino || (!info->exe_ino && !info->kernel_thread)))
		b = labels_new(r, info);
	if (b && info->exe_ino)
		exe_slot_set(exe_slot(r, info->exe_dev, info->exe_ino), info->exe_dev,
			     info->exe_ino, b);
	return b;
}

/* ---- images ---- */

static struct image *image_new(struct registry *r, struct labels_block *labels,
			       struct exec_note *exec)
{
	struct image *im = obj_pool_get(&r->images);

	if (!im) {
		labels_put(labels);
		obj_pool_put(&r->notes, exec);
		return NULL;
	}
	im->refs = 1;
	im->labels = labels;
	im->exec = exec;
	if (exec) {
		im->dev = exec->dev;
		im->ino = exec->ino;
	}
	return im;
}

static struct image *image_get(struct image *im)
{
	if (im)
		im->refs++;
	return im;
}

static void image_put(struct registry *r, struct image *im)
{
	if (im && --im->refs == 0) {
		labels_put(im->labels);
		obj_pool_put(&r->notes, im->exec);
		obj_pool_put(&r->images, im);
	}
}

/* Let go of @e's @n oldest pending images. */
static void drop_pending(struct registry *r, struct entry *e, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		image_put(r, e->pending[i].im);
	memmove(e->pending, e->pending + n, (e->npending - n) * sizeof(e->pending[0]));
	e->npending -= n;
}

/* The image live process @pid runs now, its labels read at once; NULL when it is
 * gone or out of memory. */
static struct image *image_read(struct registry *r, pid_t pid)
{
	struct labels_block *b = labels_read(r, pid, 0, NULL);
	struct image *im = b ? image_new(r, b, NULL) : NULL;

	if (im) {
		im->dev = r->info->exe_dev;
		im->ino = r->info->exe_ino;
	}
	return im;
}

static struct labels_block *labels_from_exec(struct registry *r, const struct exec_note *x);

/* @st as stat(2) would fill it for the file exec note @x ran, as the event saw it. */
static void exec_identity(const struct exec_note *x, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->dev >> 20, x->dev & 0xfffff);
	st->st_ino = x->ino;
	st->st_size = x->size;
	st->st_mtim.tv_sec = x->mtime_sec;
	st->st_mtim.tv_nsec = x->mtime_nsec;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Whether @st (as exec_identity fills it) has the size and time @slot's last check
 * on disk found. */
static bool same_as_checked(const struct exe_slot *slot, const struct stat *st)
{
	return st->st_size == slot->checked_size &&
	       st->st_mtim.tv_sec == slot->checked_mtime_sec &&
	       (uint32_t)st->st_mtim.tv_nsec == slot->checked_mtime_nsec;
}

/*
 * Whether the path of known program @slot names the file exec note @x ran, with @st
 * filled as stat(2) would (*@unchecked: no stat was needed). No system call when
 * the exec named the file by that path itself (the kernel resolved the path then; the
 * event carries the file's identity, size and time) and its build-id is cached under
 * them: nothing is opened by the path, which names the file in the process's mount
 * namespace, maybe not in ours. Else the path is checked on disk, as a build-id read
 * would open it, at most once per PATH_CHECK_NS: under churn most execs name a
 * program by another path than /proc/PID/exe gives (/usr/bin/sh for /usr/bin/dash),
 * and a stat per exec of them was 4% of the engine's CPU (docs/platform.md). Within
 * that second the check stands only for the file it found, unchanged (the event's
 * size and time are the stat's: a new file given a freed inode number, or this one
 * rewritten, is checked again), and only when nothing is to be read from the path
 * (its build-id is cached). A file renamed away from the path and exec'd by another
 * within that second keeps the path it was seen at.
 */
static bool exec_path_is(struct registry *r, struct exe_slot *slot,
			 const struct exec_note *x, struct stat *st, bool *unchecked)
{
	const char *path = slot->labels->l.exe;
	uint64_t now;

	*unchecked = false;
	exec_identity(x, st);
	if (strcmp(x->filename, path) == 0 && procinfo__build_id_cached(st)) {
		*unchecked = true;
		return true;
	}
	now = r->clock_ns();
	if (slot->checked_ns && now - slot->checked_ns < PATH_CHECK_NS &&
	    same_as_checked(slot, st) && procinfo__build_id_cached(st)) {
		r->st.known_recent++;
		return true;
	}
	if (stat(path, st) == 0 && st->st_ino == x->ino &&
	    procinfo__kernel_dev(st->st_dev) == x->dev) {
		slot->checked_ns = now;
		slot->checked_size = st->st_size;
		slot->checked_mtime_sec = st->st_mtim.tv_sec;
		slot->checked_mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
		return true;
	}
	return false;
}

/*
 * The labels of the image exec note @x announced, for process @pid, reading at most
 * its environment (nothing when the event carried it: then it may be gone): when the
 * file (device and inode) is known, seen in a live process or checked on disk for a
 * gone one, still at the path it had then (or the exec named it by that path), and the
 * path of the cgroup id of the exec is known (a process moved to another cgroup
 * between its exec and its first sample keeps the cgroup of its exec). NULL
 * otherwise. The build-id comes from procinfo's cache by (device, inode, size, mtime),
 * so a file rewritten in place is read again. Labels made from the event alone are
 * kept in the slot's memo and handed out again for the same inputs.
 */
static struct labels_block *labels_known(struct registry *r, const struct exec_note *x,
					 pid_t pid)
{
	struct exe_slot *slot = exe_slot(r, x->dev, x->ino);
	struct process_info *info = r->info;
	struct labels_block *b = NULL;
	struct labels_memo *m;
	bool unchecked;
	char cg[512];
	struct stat st;

	if (!exe_slot_knows(r, x->dev, x->ino) ||
	    procinfo__cgroup_path_cached(x->cgroup_id, cg, sizeof(cg)) ||
	    !exec_path_is(r, slot, x, &st, &unchecked))
		return NULL;
	r->st.known_unchecked += unchecked;
	m = slot->memo;
	if (m && x->env.known && m->cgroup_id == x->cgroup_id && m->size == st.st_size &&
	    m->mtime_sec == st.st_mtim.tv_sec && m->mtime_nsec == (uint32_t)st.st_mtim.tv_nsec &&
	    !strcmp(m->labels->l.cgroup, cg) && !strcmp(m->env.service, x->env.service) &&
	    !strcmp(m->env.version, x->env.version)) {
		r->st.from_known++;
		r->st.labels_shared++;
		return labels_get(m->labels);
	}
	if (procinfo__read_known(x->pid, slot->labels->l.exe, &st, cg, &x->env, info) == 0 ||
	    (x->pid != pid &&
	     procinfo__read_known(pid, slot->labels->l.exe, &st, cg, &x->env, info) == 0)) {
		b = labels_new(r, info);
		if (!x->env.known)
			r->st.proc_reads++;
		r->st.from_known++;
	}
	/* Only labels that come from the event and the caches can be shared: an
	 * environment read from /proc is this process's own. */
	if (b && x->env.known && (m || (m = malloc(sizeof(*m))))) {
		if (slot->memo)
			labels_put(m->labels);
		*m = (struct labels_memo){ .labels = labels_get(b), .size = st.st_size,
					   .mtime_sec = st.st_mtim.tv_sec,
					   .mtime_nsec = (uint32_t)st.st_mtim.tv_nsec,
					   .cgroup_id = x->cgroup_id, .env = x->env };
		slot->memo = m;
	}
	return b;
}

/*
 * Read the labels of @im, an image announced by an exec, at the first sample of @pid
 * running it: from /proc while a process still runs the file the exec named (not a
 * later exec's, nor the program of a process that reused the pid), else from the
 * exec event. The process that exec'd first: @pid may be a child it forked since,
 * which may have been moved to another cgroup before it was sampled (what a service
 * manager does before it execs), and the image is shared with the parent.
 *
 * @prev is the image the process ran when it exec'd (NULL if unknown). A program that
 * re-executes itself (runc, daemons that re-exec as workers) names its file
 * /proc/self/exe, which says nothing once the process is gone. When the file is not
 * known (yet, or any more: the slots are a bounded cache) and @prev ran the same
 * file, @prev makes it known: its labels where it has them, else it is read first
 * (its exec named the path, and its process, the parent, most likely still runs).
 */
static void image_resolve(struct registry *r, struct image *im, pid_t pid,
			  struct image *prev)
{
	struct labels_block *b = NULL;
	const struct exec_note *x;

	if (!im || !im->exec)
		return;
	x = im->exec;
	if (prev && prev != im && prev->ino == x->ino && prev->dev == x->dev &&
	    !exe_slot_knows(r, x->dev, x->ino)) {
		if (prev->exec)
			image_resolve(r, prev, prev->exec->pid, NULL);
		else if (prev->labels && prev->labels->l.exe[0])
			exe_slot_set(exe_slot(r, x->dev, x->ino), x->dev, x->ino, prev->labels);
	}
	b = labels_known(r, im->exec, pid);
	if (!b && im->exec->pid != pid)
		b = labels_read(r, im->exec->pid, im->exec->ino, &im->exec->env);
	if (!b)
		b = labels_read(r, pid, im->exec->ino, &im->exec->env);
	if (b)
		procinfo__remember_cgroup(im->exec->cgroup_id, b->l.cgroup);
	else
		b = labels_from_exec(r, im->exec);
	labels_put(im->labels);
	im->labels = b;
	obj_pool_put(&r->notes, im->exec);
	im->exec = NULL;
}

/* ---- the table ---- */

static size_t bucket(const struct registry *r, pid_t pid)
{
	return hash_mix64((uint64_t)(uint32_t)pid) & r->mask;
}

/* The newest process with @pid (entries of one pid are chained newest first). */
static struct entry *lookup(const struct registry *r, pid_t pid)
{
	for (struct entry *e = r->buckets[bucket(r, pid)]; e; e = e->hnext)
		if (e->p.pid == pid)
			return e;
	return NULL;
}

/* The process with @pid that ran at @time_ns: the newest born at or before it. NULL
 * when there is none, or only ones born after it (the sample is an older process's
 * that was never seen). */
static struct entry *lookup_at(const struct registry *r, pid_t pid, uint64_t time_ns,
			       bool *older)
{
	*older = false;
	for (struct entry *e = r->buckets[bucket(r, pid)]; e; e = e->hnext) {
		if (e->p.pid != pid)
			continue;
		if (e->born_ns <= time_ns)
			return e;
		*older = true;
	}
	return NULL;
}

static void tell_clients(struct registry *r, pid_t pid)
{
	for (size_t i = 0; i < r->nclients; i++)
		r->clients[i].fn(pid, r->clients[i].ctx);
}

/* Unlink and free @e, telling the clients when it had an image they may hold
 * state for. */
static void entry_free(struct registry *r, struct entry *e)
{
	struct entry **pp = &r->buckets[bucket(r, e->p.pid)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_del(&e->lru);
	if (e->exited)
		list_del(&e->dead);
	if (e->held)
		tell_clients(r, e->p.pid);
	image_put(r, e->cur);
	drop_pending(r, e, e->npending);
	obj_pool_put(&r->entries, e);
	r->n--;
}

/* A new entry for @pid, the newest of its pid (or, @oldest, the oldest: a process
 * older than every one known with its pid). */
static struct entry *entry_new(struct registry *r, pid_t pid, uint64_t born_ns, bool oldest)
{
	struct entry *e, **pp;
	size_t b;

	if (r->n >= r->max) {
		/* Full: the least recently used goes. Exits free processes long before
		 * this unless exit events were lost or thousands of processes live. */
		struct entry *old = container_of(list_last(&r->lru), struct entry, lru);

		entry_free(r, old);
		r->st.evictions++;
	}
	e = obj_pool_get(&r->entries);
	if (!e)
		return NULL;
	e->p.pid = pid;
	e->born_ns = born_ns;
	b = bucket(r, pid);
	pp = &r->buckets[b];
	while (oldest && *pp)
		pp = &(*pp)->hnext;
	e->hnext = *pp;
	*pp = e;
	list_add_front(&r->lru, &e->lru);
	r->n++;
	return e;
}

/* @e's process is over (its exit was seen, or its pid was reused): freed at the
 * second registry__reap from now. */
static void retire(struct registry *r, struct entry *e)
{
	if (e->exited)
		return;
	e->exited = true;
	e->exit_reap = r->reaps;
	list_add_front(&r->dead, &e->dead);
}

/* The entry of the process with @pid that an exec at @time_ns announces an image
 * for: a new one when the newest has exited (a reused pid, whose fork was not seen). */
static struct entry *entry_fresh(struct registry *r, pid_t pid, uint64_t time_ns)
{
	struct entry *e = lookup(r, pid);

	if (e && !e->exited)
		return e;
	return entry_new(r, pid, e ? time_ns : 0, false);
}

/* ---- API ---- */

struct registry *registry__new(const struct registry_opts *opts)
{
	struct registry *r = calloc(1, sizeof(*r));
	size_t nb = 64;

	if (!r)
		goto nomem;
	r->max = opts && opts->max_processes ? opts->max_processes : DEFAULT_MAX_PROCESSES;
	if (r->max < 2)
		r->max = 2; /* a fork's parent and child, or the child would evict it */
	while (nb < r->max)
		nb *= 2;
	r->buckets = calloc(nb, sizeof(*r->buckets));
	r->info = malloc(sizeof(*r->info));
	if (!r->buckets || !r->info)
		goto nomem;
	r->mask = nb - 1;
	r->entries = OBJ_POOL_INIT(sizeof(struct entry), POOL_ENTRIES);
	r->images = OBJ_POOL_INIT(sizeof(struct image), POOL_IMAGES);
	r->notes = OBJ_POOL_INIT(sizeof(struct exec_note), POOL_NOTES);
	r->clock_ns = opts && opts->clock_ns ? opts->clock_ns : monotonic_ns;
	list_init(&r->lru);
	list_init(&r->dead);
	return r;
nomem:
	if (r) {
		free(r->buckets);
		free(r->info);
	}
	free(r);
	errno = ENOMEM;
	return NULL;
}

void registry__free(struct registry *r)
{
	struct list_node *pos, *tmp;

	if (!r)
		return;
	list_for_each_safe(pos, tmp, &r->lru) {
		struct entry *e = container_of(pos, struct entry, lru);

		image_put(r, e->cur);
		drop_pending(r, e, e->npending);
		free(e);
	}
	for (size_t i = 0; i < EXE_CACHE_SLOTS; i++) {
		labels_put(r->exes[i].labels);
		memo_free(r->exes[i].memo);
	}
	obj_pool_clear(&r->entries);
	obj_pool_clear(&r->images);
	obj_pool_clear(&r->notes);
	free(r->info);
	free(r->buckets);
	free(r);
}

int registry__subscribe(struct registry *r, registry_forget_fn fn, void *ctx)
{
	if (r->nclients >= MAX_CLIENTS)
		return -ENOSPC;
	r->clients[r->nclients++] = (struct client){ fn, ctx };
	return 0;
}

/*
 * Labels for an exec whose process is gone before /proc could be read. The executable
 * is the file the event names by device and inode: a path learned from a process
 * seen running the same file, if it still names it, else the path given to execve
 * with its links resolved when it names that very file (it may be relative to a
 * directory we do not know, or /proc/self/exe), else the learned path all the same.
 * A file found by the execve path is known from then on (exe_slot), as one a live
 * process was seen running.
 */
static struct labels_block *labels_from_exec(struct registry *r, const struct exec_note *ev)
{
	struct process_info *info = r->info;
	struct exe_slot *slot = exe_slot(r, ev->dev, ev->ino);
	const char *exe = NULL, *filename = ev->filename;
	const struct stat *exe_st;
	char cg[512], real[PATH_MAX];
	bool unchecked, checked = false;
	struct labels_block *b;
	struct stat st;
	bool known = exe_slot_knows(r, ev->dev, ev->ino);

	if (known && exec_path_is(r, slot, ev, &st, &unchecked)) {
		/* Still at the path it was seen at. */
		exe = slot->labels->l.exe;
		checked = true;
	} else if (filename[0] == '/' && strncmp(filename, "/proc/", 6) &&
		   realpath(filename, real) && stat(real, &st) == 0 && st.st_ino == ev->ino &&
		   procinfo__kernel_dev(st.st_dev) == ev->dev) {
		/* At the path the exec named, as /proc/PID/exe would name it
		 * (/usr/bin/true for /bin/true): a known file renamed since, or a new
		 * one with a freed file's inode number, goes by where it is now. */
		exe = real;
		checked = true;
	} else if (known) {
		/* The path it was seen at, which may name it only in another mount
		 * namespace, or another file by now. */
		exe = slot->labels->l.exe;
		exec_identity(ev, &st);
	}
	/* Its build-id from the cache by identity, size and time (the file may have
	 * been rewritten in place since the slot's labels were made): read from the
	 * path only where that names the file (checked). */
	exe_st = exe ? &st : NULL;
	info->pid = ev->pid;
	procinfo__from_exec(exe, exe_st, checked,
			    procinfo__cgroup_path(ev->cgroup_id, cg, sizeof(cg)) ? NULL : cg,
			    ev->comm, &ev->env, info);
	b = labels_new(r, info);
	/* The file is known now: the next exec of it is labelled as a known program's
	 * (labels_known), without trying /proc for a process that is gone. */
	if (b && exe == real)
		exe_slot_set(slot, ev->dev, ev->ino, b);
	r->st.from_event++;
	return b;
}

/* Announce image @im for @e from @time_ns on (events come in time order). */
static void push_pending(struct registry *r, struct entry *e, struct image *im,
			 uint64_t time_ns)
{
	if (e->npending == PENDING_MAX) {
		drop_pending(r, e, 1);
		r->st.pending_dropped++;
	}
	e->pending[e->npending++] = (struct pending){ im, time_ns };
}

/* The image @e runs after its events so far: the last announced, else its current. */
static struct image *latest_image(const struct entry *e)
{
	return e->npending ? e->pending[e->npending - 1].im : e->cur;
}

/* What the exec event @ev says of the image it started (NULL when out of memory). */
static struct exec_note *exec_note(struct registry *r, const struct smolder_event *ev)
{
	struct exec_note *x = obj_pool_get(&r->notes);

	if (!x)
		return NULL;
	/* The environment follows the event (the sampler checked its length). */
	if (ev->flags & SMOLDER_EVENT_ENV)
		procinfo__env_labels((const char *)(ev + 1), ev->env_len, &x->env);
	else
		x->env.known = false;
	x->dev = ev->dev;
	x->ino = ev->ino;
	x->size = ev->size;
	x->mtime_sec = ev->mtime_sec;
	x->mtime_nsec = ev->mtime_nsec;
	x->cgroup_id = ev->cgroup_id;
	x->pid = (pid_t)ev->pid;
	memcpy(x->comm, ev->comm, SMOLDER_COMM_LEN);
	x->comm[SMOLDER_COMM_LEN] = '\0';
	memcpy(x->filename, ev->filename, SMOLDER_PATH_LEN);
	x->filename[SMOLDER_PATH_LEN] = '\0';
	return x;
}

int registry__event(struct registry *r, const struct smolder_event *ev)
{
	pid_t pid = (pid_t)ev->pid;
	struct entry *e, *parent;
	struct exec_note *x;
	struct image *im;

	switch (ev->kind) {
	case SMOLDER_EVENT_FORK:
		/* A new process: whatever had this pid before is over, even if its
		 * exit event was lost; it stays until reaped, for its last samples. */
		if ((e = lookup(r, pid)))
			retire(r, e);
		/* Until it execs, the child runs its parent's program image: its
		 * labels, read once for a parent that forks many children (a parent
		 * seen first here, one that ran before smolder, is read now, while it
		 * is known to live). */
		parent = lookup(r, (pid_t)ev->ppid);
		if (!parent) {
			parent = entry_new(r, (pid_t)ev->ppid, 0, false);
			if (!parent)
				return -ENOMEM;
			if ((im = image_read(r, (pid_t)ev->ppid)))
				push_pending(r, parent, im, 0);
		}
		list_move_front(&r->lru, &parent->lru); /* not the one evicted next */
		e = entry_new(r, pid, ev->time_ns, false);
		if (!e)
			return -ENOMEM;
		im = latest_image(parent);
		if (im) {
			push_pending(r, e, image_get(im), ev->time_ns);
			r->st.from_parent++;
		}
		return 0;
	case SMOLDER_EVENT_EXEC:
		/* Nothing is read yet: most images of a busy machine are never sampled.
		 * Their first sample reads them (image_resolve). */
		e = entry_fresh(r, pid, ev->time_ns);
		if (!e)
			return -ENOMEM;
		if (!(x = exec_note(r, ev)) || !(im = image_new(r, NULL, x)))
			return -ENOMEM;
		r->st.env_from_exec += x->env.known;
		push_pending(r, e, im, ev->time_ns);
		return 0;
	case SMOLDER_EVENT_EXIT: {
		/* The process that ran then: an exit can be read after the fork of the
		 * next process with its pid (the perf backend reads CPU by CPU). */
		bool older;

		if ((e = lookup_at(r, pid, ev->time_ns, &older)))
			retire(r, e);
		return 0;
	}
	}
	return 0;
}

/* A sample of @e next: the clients' state for its pid, if an older process's, is
 * stale. A late sample of an older process leaves them with the newer one's: what
 * they hold is per pid, and they would only build it again from the pid's present
 * (its mappings, its interpreter). */
static void hold(struct registry *r, struct entry *e)
{
	struct entry *o;

	if (e->held)
		return;
	for (o = r->buckets[bucket(r, e->p.pid)]; o; o = o->hnext)
		if (o->p.pid == e->p.pid && o->held)
			break;
	if (o && o->born_ns > e->born_ns)
		return;
	if (o) {
		o->held = false;
		tell_clients(r, e->p.pid);
	}
	e->held = true;
}

const struct process *registry__sample(struct registry *r, pid_t pid, uint64_t time_ns)
{
	struct image *old;
	unsigned int k;
	bool older;
	struct entry *e = lookup_at(r, pid, time_ns, &older);

	if (!e) {
		/* Older than every process known with this pid: one that was never
		 * seen and is over (its pid is reused); nothing tells its labels. */
		e = entry_new(r, pid, 0, older);
		if (!e)
			return NULL;
		if (older) {
			retire(r, e);
			hold(r, e);
			e->has_image = true;
			e->p.id = ++r->next_id ? r->next_id : ++r->next_id;
			r->st.images++;
			r->st.unlabelled++;
			return &e->p;
		}
	}
	list_move_front(&r->lru, &e->lru);
	hold(r, e);
	/* The last image announced at or before the sample's time. */
	k = e->npending;
	while (k > 0 && e->pending[k - 1].at_ns > time_ns)
		k--;
	/* None since the current image: the same image, nothing to redo. That is the
	 * rule whatever the sampler flagged. A FIRST sample with no event since (the
	 * sampler's table of pids is bounded) is still the same image; and a sample
	 * after an exec need not be flagged: the flagged one may have been read before
	 * the exec's event (behind a record another CPU was still writing), or have
	 * interrupted the exec's BPF program before it cleared the flag's entry. */
	if (e->has_image && k == 0)
		return &e->p;

	if (e->has_image)
		tell_clients(r, pid); /* a new image: what they held is stale */
	old = e->cur; /* the image it ran before, until the new one is read */
	/* A process's very first sample, before any event that announced an image,
	 * takes the earliest one rather than reading /proc, which may show a later. */
	if (k == 0 && e->npending)
		k = 1;
	if (k > 0) {
		e->cur = e->pending[k - 1].im;
		e->pending[k - 1].im = NULL;
		image_resolve(r, e->cur, pid, k >= 2 ? e->pending[k - 2].im : old);
		drop_pending(r, e, k); /* earlier images: no sample of theirs can follow */
	} else {
		e->cur = image_read(r, pid);
	}
	image_put(r, old);
	e->has_image = true;
	e->p.id = ++r->next_id ? r->next_id : ++r->next_id;
	e->p.labels = e->cur && e->cur->labels ? &e->cur->labels->l : NULL;
	r->st.images++;
	if (!e->p.labels || (!e->p.labels->exe[0] && !e->p.labels->kernel_thread))
		r->st.unlabelled++;
	return &e->p;
}

int registry__add(struct registry *r, pid_t pid)
{
	struct entry *e = lookup(r, pid);
	struct image *im;

	if (e && (e->has_image || e->npending))
		return 0;
	if (!e && !(e = entry_new(r, pid, 0, false)))
		return -ENOMEM;
	if ((im = image_read(r, pid)))
		push_pending(r, e, im, 0);
	return 0;
}

void registry__reap(struct registry *r)
{
	/* The dead list is newest first: free from its end, up to the exits seen since
	 * the previous call, which wait for the next one. */
	while (!list_empty(&r->dead)) {
		struct entry *e = container_of(list_last(&r->dead), struct entry, dead);

		if (e->exit_reap >= r->reaps)
			break;
		entry_free(r, e);
		r->st.exits++;
	}
	r->reaps++;
}

void registry__stats(const struct registry *r, struct registry_stats *out)
{
	*out = r->st;
	out->live = r->n;
}
