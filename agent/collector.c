/* SPDX-License-Identifier: Apache-2.0 */
/*
 * collector.c - turns raw samples from the BPF sampler into profile samples:
 * symbolizes each address (through a small per-address cache in front of the
 * symbolizer, since the same few hundred addresses repeat sample after sample),
 * orders frames outermost first, labels each sample with what the process registry
 * knows of its process, and converts kernel time to wall-clock time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "hash.h"
#include "python.h"

/* Addresses whose frame id is remembered; the cache is emptied when it fills, which
 * bounds it without an LRU's bookkeeping on the hot path. */
#define ADDR_CACHE_SLOTS (1u << 16)
#define ADDR_CACHE_MAX (ADDR_CACHE_SLOTS / 2)
#define INLINE_MAX 8 /* inlined calls shown per frame */
#define LABEL_CACHE_SLOTS 4096 /* direct-mapped labels serial -> interned label set */
#define EVAL_FRAMES_MAX 16     /* distinct frames of CPython's eval loop per profile */
/* The eval loop's native frames: a Python frame chain's segments replace them. */
#define EVAL_LOOP_NAME "_PyEval_EvalFrameDefault"
/* Python frames share the address cache with native ones, keyed by the code object
 * and instruction offset: a tag no user-space address has. */
#define PY_KEY_TAG (1ull << 63)
#define PY_KEY_LASTI_MAX (1u << 16)
/* Frames named from an ELF file's symbol table share it too, keyed by where the
 * unwinder found them (struct unwind_loc): the address in the file under another tag,
 * with the file's serial in place of the image. */
#define FILE_KEY_TAG (1ull << 62)

struct label_slot {
	uint64_t labels; /* struct process_labels.serial; 0: empty */
	uint32_t set;
};

/* Keyed by the process image rather than the pid: an exec or a reused pid makes a
 * new image, whose addresses simply miss, so nothing has to be wiped. A frame the
 * unwinder placed in a file is keyed by that place instead, so the processes that map
 * a library, or run a program, name each of its addresses once between them: under
 * process churn, most processes are sampled once or twice, and would otherwise name
 * every frame anew. */
struct addr_slot {
	uint64_t addr;  /* 0: empty */
	uint32_t image; /* struct process.id; 0 for kernel addresses */
	uint32_t frame;
};

struct collector {
	struct profile *profile;
	struct symbolizer *sym;
	struct unwinder *unwinder;
	struct registry *registry;
	enum unwind_mode mode;
	bool inline_frames;
	struct addr_slot *cache;
	size_t cache_len;
	struct label_slot labels[LABEL_CACHE_SLOTS];
	int64_t boot_to_wall_ns;
	uint32_t truncated_frame, unknown_frame, unknown_py_frame;
	struct python *python;  /* NULL: no Python frames */
	bool python_native;
	uint32_t eval_frames[EVAL_FRAMES_MAX];
	size_t neval;
	struct collector_stats st;
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
	if (!err)
		err = profile__intern_frame(c->profile, "[unknown]", FRAME_PYTHON,
					    &c->unknown_py_frame);
	c->neval = 0;
	return err;
}

/* CLOCK_BOOTTIME (sample times) to wall-clock time, read again every flush so that
 * a clock step (NTP, suspend) moves later intervals' times with it. */
static int64_t boot_to_wall(void)
{
	return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
}

struct collector *collector__new(struct profile *profile, struct symbolizer *sym,
				 struct unwinder *unwinder, struct registry *registry,
				 const struct collector_opts *opts)
{
	enum unwind_mode mode = opts->unwind;
	struct collector *c;

	if ((mode != UNWIND_FP && !unwinder) || !registry) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->profile = profile;
	c->sym = sym;
	c->unwinder = unwinder;
	c->registry = registry;
	c->mode = mode;
	c->inline_frames = opts->inline_frames;
	c->python_native = opts->python_native;
	c->cache = calloc(ADDR_CACHE_SLOTS, sizeof(*c->cache));
	if (!c->cache)
		goto nomem;
	c->boot_to_wall_ns = boot_to_wall();
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
	free(c);
}

void collector__set_python(struct collector *c, struct python *py)
{
	c->python = py;
}

void collector__stats(const struct collector *c, struct collector_stats *out)
{
	*out = c->st;
}

/*
 * The label set of process @p's samples (docs/format.md's labels; pid, tid and comm
 * are sample fields), interned once per flush interval for each set of labels the
 * registry made (which the images of a program started alike share).
 */
static int process_labels(struct collector *c, const struct process *p, uint32_t *set)
{
	const struct process_labels *pl = p->labels;
	struct label_slot *slot;
	int err;

	if (!pl) {
		*set = 0;
		return 0;
	}
	slot = &c->labels[pl->serial % LABEL_CACHE_SLOTS];
	if (slot->labels == pl->serial) {
		*set = slot->set;
		return 0;
	}
	struct profile_label l[] = {
		{ "exe", pl->exe },
		{ "build_id", pl->build_id },
		{ "cgroup", pl->cgroup },
		{ "container_id", pl->container_id },
		{ "pod_uid", pl->pod_uid },
		{ "unit", pl->unit },
		{ "service", pl->service },
		{ "version", pl->version },
	};
	err = profile__intern_labels(c->profile, l, sizeof(l) / sizeof(l[0]), set);
	if (err)
		return err;
	*slot = (struct label_slot){ pl->serial, *set };
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

static bool is_eval(const struct collector *c, uint32_t frame)
{
	for (size_t i = 0; i < c->neval; i++)
		if (c->eval_frames[i] == frame)
			return true;
	return false;
}

/* The cache slot of (@addr, @key): the one holding it, or the empty one where it
 * goes. */
static uint32_t cache_find(const struct collector *c, uint64_t addr, uint32_t key)
{
	uint64_t h = (addr ^ ((uint64_t)key << 40)) * 0x9e3779b97f4a7c15ULL;
	uint32_t mask = ADDR_CACHE_SLOTS - 1, i;

	for (i = (h >> 32) & mask; c->cache[i].addr; i = (i + 1) & mask)
		if (c->cache[i].addr == addr && c->cache[i].image == key)
			break;
	return i;
}

static void cache_put(struct collector *c, uint64_t addr, uint32_t key, uint32_t frame)
{
	uint32_t i;

	if (c->cache_len >= ADDR_CACHE_MAX) {
		memset(c->cache, 0, ADDR_CACHE_SLOTS * sizeof(*c->cache));
		c->cache_len = 0;
		c->st.addr_cache_resets++;
	}
	i = cache_find(c, addr, key);
	c->cache[i] = (struct addr_slot){ addr, key, frame };
	c->cache_len++;
}

/*
 * The frame of @addr in process @p (or the kernel), found at @loc in a file when @loc
 * is not NULL. A frame named from the file's symbol table is cached by its place in
 * the file, whichever process named it: its name, or for a file without one there
 * (stripped programs) "[mod+0xOFF]" with the path of the first process that mapped
 * it, which for a file found by build-id may be another copy's. Anything else
 * (kernel, JIT code, a file this process's view could not read) is cached by the
 * image and address.
 */
static int resolve(struct collector *c, const struct process *p, uint64_t addr, bool kernel,
		   const struct unwind_loc *loc, uint32_t *frame)
{
	uint32_t key = kernel ? 0 : p->id;
	bool by_file = loc && loc->file && loc->file <= UINT32_MAX && loc->vaddr &&
		       loc->vaddr < FILE_KEY_TAG;
	uint32_t i;
	struct symbol sym = { 0 };
	enum frame_kind kind;
	const char *name;
	int err;

	if (by_file) {
		i = cache_find(c, FILE_KEY_TAG | loc->vaddr, (uint32_t)loc->file);
		if (c->cache[i].addr) {
			*frame = c->cache[i].frame;
			c->st.addr_cache_hits++;
			c->st.addr_cache_file_hits++;
			return 0;
		}
	}
	i = cache_find(c, addr, key);
	if (c->cache[i].addr) {
		*frame = c->cache[i].frame;
		c->st.addr_cache_hits++;
		return 0;
	}
	c->st.addr_cache_misses++;

	if (kernel) {
		err = symbolizer__resolve_kernel(c->sym, addr, &sym);
	} else {
		err = symbolizer__resolve_user(c->sym, p->pid, addr, &sym);
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
	if (name && kind == FRAME_USER && c->neval < EVAL_FRAMES_MAX &&
	    !strncmp(name, EVAL_LOOP_NAME, sizeof(EVAL_LOOP_NAME) - 1) && !is_eval(c, *frame))
		c->eval_frames[c->neval++] = *frame;
	if (by_file && sym.from_table && (kind == FRAME_USER || kind == FRAME_UNKNOWN))
		cache_put(c, FILE_KEY_TAG | loc->vaddr, (uint32_t)loc->file, *frame);
	else
		cache_put(c, addr, key, *frame);
	return 0;
}

/* The frame of Python frame @f of process @p: "qualname (file.py:line)", or
 * "[unknown]" of the Python kind when its code object is gone (freed since).
 * @return 0, 1 when the process's memory cannot be read, or a negative errno. */
static int python_frame(struct collector *c, const struct process *p,
			const struct smolder_py_frame *f, uint32_t *frame)
{
	/* Cached by code object (its address and identity: another one allocated at
	 * the same address is another key) and instruction, per program image. */
	uint64_t obj = hash_mix64(f->code ^ hash_mix64(f->ident)) & ((1ull << 47) - 1);
	uint64_t key = PY_KEY_TAG | (uint64_t)f->lasti << 47 | obj;
	bool cacheable = f->lasti < PY_KEY_LASTI_MAX;
	uint32_t i = cache_find(c, key, p->id);
	char name[1024];
	int err;

	if (cacheable && c->cache[i].addr) {
		*frame = c->cache[i].frame;
		c->st.addr_cache_hits++;
		return 0;
	}
	c->st.addr_cache_misses++;
	err = python__frame_name(c->python, p->pid, f, name, sizeof(name));
	if (err == -ENOENT) {
		c->st.python_unknown++;
		*frame = c->unknown_py_frame; /* not cached: the next may still be there */
		return 0;
	}
	if (err)
		return 1;
	err = profile__intern_frame(c->profile, name, FRAME_PYTHON, frame);
	if (!err && cacheable)
		cache_put(c, key, p->id, *frame);
	return err;
}

int collector__reset(struct collector *c, struct profile *profile)
{
	/* Frame and label-set ids are the old profile's: forget every one. */
	memset(c->cache, 0, ADDR_CACHE_SLOTS * sizeof(*c->cache));
	c->cache_len = 0;
	memset(c->labels, 0, sizeof(c->labels));
	c->profile = profile;
	c->boot_to_wall_ns = boot_to_wall();
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
			 struct unwind_loc *locs, bool *truncated)
{
	size_t nfp = 0, n = 0;

	*truncated = false;
	if (s->ustack_len > 0)
		nfp = (size_t)s->ustack_len / sizeof(s->ustack[0]);
	if (nfp > SMOLDER_MAX_STACK_DEPTH)
		nfp = SMOLDER_MAX_STACK_DEPTH;

	if (c->mode != UNWIND_FP && (s->flags & SMOLDER_SAMPLE_HAS_REGS) && s->stack_size) {
		int err = unwinder__unwind(c->unwinder, s->pid, (const uint64_t *)s->regs,
					   s->stack, s->stack_size, ips, locs,
					   SMOLDER_MAX_STACK_DEPTH, &n, truncated);
		/* In auto mode a walk that stopped on missing unwind information
		 * yields to a deeper frame-pointer walk. */
		if (c->mode == UNWIND_DWARF || nfp <= n || (err == 0 && n > 1))
			return n;
		*truncated = false;
	}
	memcpy(ips, s->ustack, nfp * sizeof(*ips));
	memset(locs, 0, nfp * sizeof(*locs));
	*truncated = nfp == SMOLDER_MAX_STACK_DEPTH;
	return nfp;
}

#define SEG_NONE (-2) /* seg_of: a native eval loop call left out */

/* One native call of the eval loop's Python frames: s->py[first..last], innermost
 * first. */
struct py_segment {
	uint16_t first, last;
};

/*
 * Split @s's Python frames into the runs that each native call of the eval loop
 * evaluates, innermost first, into @seg. @return their number.
 */
static size_t py_segments(const struct smolder_sample *s, struct py_segment *seg)
{
	size_t m = s->py_len < SMOLDER_MAX_PY_FRAMES ? s->py_len : SMOLDER_MAX_PY_FRAMES;
	size_t k = 0, first = 0;

	for (size_t j = 0; j < m; j++) {
		if ((s->py[j].flags & SMOLDER_PY_ENTRY) || j + 1 == m) {
			seg[k++] = (struct py_segment){ (uint16_t)first, (uint16_t)j };
			first = j + 1;
		}
	}
	return k;
}

/* Append the Python frames of @seg to @frames, outermost first.
 * @return 0, 1 when one of them could not be named (then none is appended: the
 * native frame stays, never a wrong or half name), or a negative errno. */
static int add_segment(struct collector *c, const struct process *p,
		       const struct smolder_sample *s, struct py_segment seg,
		       uint32_t *frames, size_t *n)
{
	size_t k = *n;

	for (size_t j = seg.last + 1; j-- > seg.first;) {
		int err = python_frame(c, p, &s->py[j], &frames[k++]);

		if (err) {
			c->st.python_unnamed += err > 0;
			return err;
		}
	}
	*n = k;
	return 0;
}

/*
 * The user frames of @s into @frames, outermost first: the native frames of @ips
 * (@nu, innermost first), each with the functions inlined into it, and, where the
 * sampler read the Python frames, each native call of the eval loop replaced by
 * (or with python_native, followed by) the Python frames it evaluates.
 */
static int user_frames(struct collector *c, const struct process *p,
		       const struct smolder_sample *s, const uint64_t *ips,
		       const struct unwind_loc *locs, size_t nu, uint32_t *frames, size_t *n)
{
	uint32_t nat[SMOLDER_MAX_STACK_DEPTH];
	int16_t seg_of[SMOLDER_MAX_STACK_DEPTH];
	struct py_segment seg[SMOLDER_MAX_PY_FRAMES];
	size_t nseg = 0, next = 0, neval = 0, skip;
	int err;

	/* Stacks come innermost first; every frame but the innermost holds a return
	 * address, which may already belong to the next function: look up the call
	 * instruction (addr - 1) instead. */
	for (size_t i = 0; i < nu; i++) {
		err = resolve(c, p, ips[i] - (i > 0), false, &locs[i], &nat[i]);
		if (err)
			return err;
	}
	if (c->python && s->py_len)
		nseg = py_segments(s, seg);
	for (size_t i = 0; i < nu; i++) {
		seg_of[i] = -1;
		if (!c->neval || !is_eval(c, nat[i]))
			continue;
		if (nseg == 0 && c->python && s->py_status == SMOLDER_PY_NONE)
			/* The eval loop in a process not known to run Python (yet). */
			python__found_eval(c->python, p->pid, p->id, ips[i] - (i > 0));
		neval++;
	}
	/* Segments pair with the eval loop's native calls outermost first when the
	 * Python chain was read to its root: a native call more than it has frames is
	 * then one just entered or about to return, whose frame is not linked (yet,
	 * any more), at the inner end. A chain cut short pairs innermost first. */
	skip = s->py_status == SMOLDER_PY_OK && nseg && neval > nseg ? neval - nseg : 0;
	for (size_t i = 0; i < nu && next < nseg; i++) {
		if (!c->neval || !is_eval(c, nat[i]))
			continue;
		if (!skip) {
			seg_of[i] = (int16_t)next++;
			continue;
		}
		/* Such a call evaluates no Python frame yet: in place of the Python
		 * frames it would show, nothing (the native frame with python_native). */
		skip--;
		seg_of[i] = c->python_native ? -1 : SEG_NONE;
	}
	/* Python frames beyond the native ones (a native walk cut short) go at the
	 * root, still in their order. */
	for (size_t k = nseg; k-- > next;)
		if ((err = add_segment(c, p, s, seg[k], frames, n)) < 0)
			return err;
	for (size_t i = nu; i-- > 0;) {
		if (seg_of[i] == SEG_NONE)
			continue;
		if (seg_of[i] >= 0 && !c->python_native) {
			err = add_segment(c, p, s, seg[seg_of[i]], frames, n);
			if (err <= 0) {
				if (err < 0)
					return err;
				continue;
			}
		}
		frames[(*n)++] = nat[i];
		if (c->inline_frames && (err = add_inlined(c, s->pid, ips[i] - (i > 0), frames, n)))
			return err;
		if (seg_of[i] >= 0 && c->python_native &&
		    (err = add_segment(c, p, s, seg[seg_of[i]], frames, n)) < 0)
			return err;
	}
	return 0;
}

int collector__add(struct collector *c, const struct smolder_sample *s)
{
	uint32_t frames[(2 + INLINE_MAX) * SMOLDER_MAX_STACK_DEPTH + SMOLDER_MAX_PY_FRAMES + 1];
	uint64_t ips[SMOLDER_MAX_STACK_DEPTH];
	struct unwind_loc locs[SMOLDER_MAX_STACK_DEPTH];
	size_t n = 0, nu, nk = 0;
	char comm[SMOLDER_COMM_LEN + 1];
	struct sample_meta meta;
	uint32_t label_set;
	const struct process *p;
	bool truncated;
	int err;

	/* First, so that an exec's stale state is dropped before unwinding. */
	p = registry__sample(c->registry, (pid_t)s->pid, s->time_ns);
	if (!p)
		return -ENOMEM;

	nu = user_stack(c, s, ips, locs, &truncated);
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
	err = user_frames(c, p, s, ips, locs, nu, frames, &n);
	if (err)
		return err;
	for (size_t i = nk; i-- > 0;) {
		err = resolve(c, p, s->kstack[i] - (i > 0), true, NULL, &frames[n++]);
		if (err)
			return err;
	}

	memcpy(comm, s->comm, SMOLDER_COMM_LEN);
	comm[SMOLDER_COMM_LEN] = '\0';
	err = process_labels(c, p, &label_set);
	if (err)
		return err;
	meta = (struct sample_meta){
		.label_set = label_set,
		.time_ns = (uint64_t)((int64_t)s->time_ns + c->boot_to_wall_ns),
		.pid = s->pid,
		.tid = s->tid,
		.comm = comm,
	};
	return profile__add_sample(c->profile, frames, n, &meta, 1);
}
