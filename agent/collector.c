/* SPDX-License-Identifier: Apache-2.0 */
/*
 * collector.c - turns raw samples from the BPF sampler into profile samples:
 * symbolizes each address (through a small per-address cache in front of the
 * symbolizer, since the same few hundred addresses repeat sample after sample),
 * orders frames outermost first, and converts kernel time to wall-clock time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

/* Addresses whose frame id is remembered; the cache is emptied when it fills, which
 * bounds it without an LRU's bookkeeping on the hot path. */
#define ADDR_CACHE_SLOTS (1u << 16)
#define ADDR_CACHE_MAX (ADDR_CACHE_SLOTS / 2)
#define PID_SET_SLOTS (1u << 14)
#define INLINE_MAX 8 /* inlined calls shown per frame */
#define LABEL_CACHE_SLOTS 4096 /* direct-mapped pid -> interned label set */

struct label_slot {
	uint32_t pid;
	uint32_t set;
};

struct addr_slot {
	uint64_t addr; /* 0: empty */
	uint32_t pid;  /* 0 for kernel addresses */
	uint32_t frame;
};

struct collector {
	struct profile *profile;
	struct symbolizer *sym;
	struct unwinder *unwinder;
	enum unwind_mode mode;
	bool inline_frames;
	struct addr_slot *cache;
	size_t cache_len;
	uint32_t *pids; /* open-addressing set of pids seen; 0 = empty */
	size_t npids;
	struct procinfo *procinfo;
	struct label_slot labels[LABEL_CACHE_SLOTS];
	int64_t mono_to_wall_ns;
	uint32_t truncated_frame, unknown_frame;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The frames every stack may need, interned in the current profile. */
static int intern_fixed_frames(struct collector *c)
{
	int err = profile__intern_frame(c->profile, "[truncated]", FRAME_UNKNOWN,
					&c->truncated_frame);

	if (!err)
		err = profile__intern_frame(c->profile, "[unknown]", FRAME_UNKNOWN,
					    &c->unknown_frame);
	return err;
}

struct collector *collector__new(struct profile *profile, struct symbolizer *sym,
				 struct unwinder *unwinder, const struct collector_opts *opts)
{
	enum unwind_mode mode = opts->unwind;
	struct collector *c;

	if (mode != UNWIND_FP && !unwinder) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->profile = profile;
	c->sym = sym;
	c->unwinder = unwinder;
	c->mode = mode;
	c->inline_frames = opts->inline_frames;
	c->cache = calloc(ADDR_CACHE_SLOTS, sizeof(*c->cache));
	c->pids = calloc(PID_SET_SLOTS, sizeof(*c->pids));
	c->procinfo = procinfo__new(0);
	if (!c->cache || !c->pids || !c->procinfo)
		goto nomem;
	c->mono_to_wall_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	if (intern_fixed_frames(c))
		goto nomem;
	return c;
nomem:
	collector__free(c);
	errno = ENOMEM;
	return NULL;
}

void collector__free(struct collector *c)
{
	if (!c)
		return;
	free(c->cache);
	free(c->pids);
	procinfo__free(c->procinfo);
	free(c);
}

/* Remember @pid; @return whether it was known already. */
static bool note_pid(struct collector *c, uint32_t pid)
{
	uint32_t mask = PID_SET_SLOTS - 1;

	if (c->npids >= PID_SET_SLOTS / 2)
		return true; /* counting stops being exact past 8k processes: a summary */
	for (uint32_t i = (pid * 2654435761u) & mask;; i = (i + 1) & mask) {
		if (c->pids[i] == pid)
			return true;
		if (!c->pids[i]) {
			c->pids[i] = pid;
			c->npids++;
			return false;
		}
	}
}

/*
 * @pid is now another program (it exec'd, or the pid was reused): forget what every
 * cache knew of the old one. The address cache is keyed by (pid, address) and has
 * no per-pid index, so it is emptied whole: this happens once per exec.
 */
static void forget_process(struct collector *c, pid_t pid)
{
	struct label_slot *slot = &c->labels[(uint32_t)pid % LABEL_CACHE_SLOTS];

	symbolizer__forget_process(c->sym, pid);
	if (c->unwinder)
		unwinder__forget_process(c->unwinder, pid);
	procinfo__forget(c->procinfo, pid);
	if (slot->pid == (uint32_t)pid)
		*slot = (struct label_slot){ 0, 0 };
	memset(c->cache, 0, ADDR_CACHE_SLOTS * sizeof(*c->cache));
	c->cache_len = 0;
}

size_t collector__process_count(const struct collector *c)
{
	return c->npids;
}

/*
 * The label set of @pid's samples (docs/format.md's labels; pid, tid and comm are
 * sample fields). Read from /proc at the process's first sample and interned once, so a
 * process that exits right after still has its labels.
 */
static int process_labels(struct collector *c, pid_t pid, uint32_t *set)
{
	struct label_slot *slot = &c->labels[(uint32_t)pid % LABEL_CACHE_SLOTS];
	const struct process_info *pi;
	int err;

	if (slot->pid == (uint32_t)pid && slot->set) {
		*set = slot->set;
		return 0;
	}
	pi = procinfo__get(c->procinfo, pid);
	if (!pi) {
		*set = 0;
		return 0;
	}
	struct profile_label l[] = {
		{ "exe", pi->exe },
		{ "build_id", pi->build_id },
		{ "cgroup", pi->cgroup },
		{ "container_id", pi->container_id },
		{ "pod_uid", pi->pod_uid },
		{ "unit", pi->unit },
		{ "service", pi->service },
	};
	err = profile__intern_labels(c->profile, l, sizeof(l) / sizeof(l[0]), set);
	if (err)
		return err;
	*slot = (struct label_slot){ (uint32_t)pid, *set };
	return 0;
}

/*
 * Where the address is, for later symbolization: its file and offset, kept as a
 * mapping and a number rather than a "[libc.so.6+0x2a1f0]" string per address (the
 * profile shows it so).
 */
static int unresolved_frame(struct collector *c, const struct symbol *sym, uint32_t *frame)
{
	struct profile_mapping m = { .path = sym->module };
	uint32_t mapping;
	int err = profile__intern_mapping(c->profile, &m, &mapping);

	if (!err)
		err = profile__intern_unresolved(c->profile, mapping, sym->module_offset, frame);
	return err;
}

static int resolve(struct collector *c, uint32_t pid, uint64_t addr, bool kernel,
		   uint32_t *frame)
{
	uint32_t key_pid = kernel ? 0 : pid;
	uint64_t h = (addr ^ ((uint64_t)key_pid << 40)) * 0x9e3779b97f4a7c15ULL;
	uint32_t mask = ADDR_CACHE_SLOTS - 1;
	struct symbol sym = { 0 };
	enum frame_kind kind;
	const char *name;
	uint32_t i;
	int err;

	for (i = (h >> 32) & mask; c->cache[i].addr; i = (i + 1) & mask) {
		if (c->cache[i].addr == addr && c->cache[i].pid == key_pid) {
			*frame = c->cache[i].frame;
			return 0;
		}
	}

	if (kernel) {
		err = symbolizer__resolve_kernel(c->sym, addr, &sym);
	} else {
		err = symbolizer__resolve_user(c->sym, pid, addr, &sym);
	}
	if (!err && sym.name) {
		name = sym.name;
		kind = kernel ? FRAME_KERNEL : sym.kind == SYMBOL_JIT ? FRAME_JIT : FRAME_USER;
	} else if (!err && sym.module && sym.module[0] != '[' && !kernel) {
		err = unresolved_frame(c, &sym, frame);
		name = NULL;
		kind = FRAME_UNKNOWN;
	} else {
		*frame = c->unknown_frame;
		return 0; /* not cached: the process may still be loading its maps */
	}
	if (name)
		err = profile__intern_frame(c->profile, name, kind, frame);
	if (err)
		return err;

	if (c->cache_len >= ADDR_CACHE_MAX) {
		memset(c->cache, 0, ADDR_CACHE_SLOTS * sizeof(*c->cache));
		c->cache_len = 0;
		for (i = (h >> 32) & mask; c->cache[i].addr; i = (i + 1) & mask)
			;
	}
	c->cache[i] = (struct addr_slot){ addr, key_pid, *frame };
	c->cache_len++;
	return 0;
}

int collector__reset(struct collector *c, struct profile *profile)
{
	/* Frame and label-set ids are the old profile's: forget every one. */
	memset(c->cache, 0, ADDR_CACHE_SLOTS * sizeof(*c->cache));
	c->cache_len = 0;
	memset(c->labels, 0, sizeof(c->labels));
	c->profile = profile;
	return intern_fixed_frames(c);
}

/*
 * After the frame of the function containing @addr, the functions inlined into it
 * at @addr, outermost first, named as perf does: "NAME (inlined)".
 */
static int add_inlined(struct collector *c, pid_t pid, uint64_t addr, uint32_t *frames,
		       size_t *n)
{
	struct symbol in[INLINE_MAX];
	char name[512];
	int k = symbolizer__inline_frames(c->sym, pid, addr, in, INLINE_MAX);

	for (int j = k - 1; j >= 0; j--) {
		int err;

		if (!in[j].name)
			continue;
		snprintf(name, sizeof(name), "%s (inlined)", in[j].name);
		err = profile__intern_frame(c->profile, name, FRAME_USER, &frames[(*n)++]);
		if (err)
			return err;
	}
	return 0; /* no DWARF, or none inlined: just the function */
}

/*
 * The user stack of @s, innermost first, into @ips (SMOLDER_MAX_STACK_DEPTH). DWARF
 * over the snapshot where there is one; the kernel's frame-pointer walk otherwise,
 * and in auto mode also when the DWARF walk found no more than the sampled frame or
 * stopped on missing unwind information while the frame-pointer chain (which the
 * kernel followed) goes deeper.
 */
static size_t user_stack(struct collector *c, const struct smolder_sample *s, uint64_t *ips,
			 bool *truncated)
{
	size_t nfp = 0, n = 0;

	*truncated = false;
	if (s->ustack_len > 0)
		nfp = (size_t)s->ustack_len / sizeof(s->ustack[0]);
	if (nfp > SMOLDER_MAX_STACK_DEPTH)
		nfp = SMOLDER_MAX_STACK_DEPTH;

	if (c->mode != UNWIND_FP && (s->flags & SMOLDER_SAMPLE_HAS_REGS) && s->stack_size) {
		int err = unwinder__unwind(c->unwinder, s->pid, (const uint64_t *)s->regs,
					   s->stack, s->stack_size, ips,
					   SMOLDER_MAX_STACK_DEPTH, &n, truncated);
		/* In auto mode a walk that stopped on missing unwind information
		 * yields to a deeper frame-pointer walk. */
		if (c->mode == UNWIND_DWARF || nfp <= n || (err == 0 && n > 1))
			return n;
		*truncated = false;
	}
	memcpy(ips, s->ustack, nfp * sizeof(*ips));
	*truncated = nfp == SMOLDER_MAX_STACK_DEPTH;
	return nfp;
}

int collector__add(struct collector *c, const struct smolder_sample *s)
{
	uint32_t frames[(2 + INLINE_MAX) * SMOLDER_MAX_STACK_DEPTH + 1];
	uint64_t ips[SMOLDER_MAX_STACK_DEPTH];
	size_t n = 0, nu, nk = 0;
	char comm[SMOLDER_COMM_LEN + 1];
	struct sample_meta meta;
	uint32_t label_set;
	bool truncated;
	int err;

	/* First sample of a process (or of a new program in it): a pid seen before
	 * belonged to another image, so its cached identity is stale. */
	if (note_pid(c, s->pid) && (s->flags & SMOLDER_SAMPLE_FIRST))
		forget_process(c, s->pid);

	nu = user_stack(c, s, ips, &truncated);
	if (s->kstack_len > 0)
		nk = (size_t)s->kstack_len / sizeof(s->kstack[0]);
	if (nk > SMOLDER_MAX_STACK_DEPTH)
		nk = SMOLDER_MAX_STACK_DEPTH;

	/* A stack cut short (depth limit, snapshot size) says so at its root rather
	 * than passing its deepest known frame off as the outermost one. */
	if (truncated || nu == SMOLDER_MAX_STACK_DEPTH) {
		struct profile_counts one = { .truncated = 1 };
		frames[n++] = c->truncated_frame;
		profile__add_counts(c->profile, &one);
	}
	/* Stacks come innermost first; every frame but the innermost holds a return
	 * address, which may already belong to the next function: look up the call
	 * instruction (addr - 1) instead. */
	for (size_t i = nu; i-- > 0;) {
		err = resolve(c, s->pid, ips[i] - (i > 0), false, &frames[n++]);
		if (!err && c->inline_frames)
			err = add_inlined(c, s->pid, ips[i] - (i > 0), frames, &n);
		if (err)
			return err;
	}
	for (size_t i = nk; i-- > 0;) {
		err = resolve(c, s->pid, s->kstack[i] - (i > 0), true, &frames[n++]);
		if (err)
			return err;
	}

	memcpy(comm, s->comm, SMOLDER_COMM_LEN);
	comm[SMOLDER_COMM_LEN] = '\0';
	err = process_labels(c, s->pid, &label_set);
	if (err)
		return err;
	meta = (struct sample_meta){
		.label_set = label_set,
		.time_ns = (uint64_t)((int64_t)s->time_ns + c->mono_to_wall_ns),
		.pid = s->pid,
		.tid = s->tid,
		.comm = comm,
	};
	return profile__add_sample(c->profile, frames, n, &meta, 1);
}
