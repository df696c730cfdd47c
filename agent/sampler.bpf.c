// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sampler.bpf.c - the kernel side of smolder's sampler.
 *
 * Runs on every cpu-clock sample on every CPU; for target processes it copies the
 * kernel and user stacks (frame-pointer walks done by the kernel) with pid, tid, comm
 * and a timestamp into the ring buffer, and, for DWARF unwinding in user space, the
 * user registers and the top of the user stack. Children forked by targets become targets;
 * targets leave the map when they exit, which is how user space learns that every
 * target is gone. Forks, execs and exits of the processes it samples go into a second,
 * small ring buffer, so that user space follows each process's life from the kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "sample_record.h"

/* The user registers are read from x86_64's pt_regs below, in libunwind's x86_64
 * order (sample_record.h); another architecture needs its own copy of them. */
#if !defined(__TARGET_ARCH_x86)
#error "sampler.bpf.c reads x86_64 registers: build with -D__TARGET_ARCH_x86"
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifndef E2BIG
#define E2BIG 7 /* vmlinux.h carries no errno values */
#endif

const volatile bool filter_targets = true; /* false with -a */
const volatile bool kernel_stacks = true;  /* false with --no-kernel */
const volatile __u32 self_tgid = 0;        /* never sample smolder itself */
/* Bytes of user stack to copy for DWARF unwinding; 0 with --unwind fp. */
const volatile __u32 stack_bytes = 0;
/* Wake the consumer only once this much is waiting (half the ring, set by user
 * space); it also drains on a timer. A wakeup per record costs more than the rest of
 * the program (docs/platform.md). */
const volatile __u64 wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

/* Process events (struct smolder_event): a few per process, not per sample; an
 * exec's carries its environment (up to SMOLDER_ENV_LEN). */
#define SMOLDER_PROCS_BYTES (1024 * 1024)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SMOLDER_PROCS_BYTES);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SMOLDER_MAX_TARGETS);
	__type(key, __u32);   /* tgid */
	__type(value, __u8);
} targets SEC(".maps");

/* Entries of targets, kept with every insert and delete that succeeds (user space
 * does the same with its own): a walk of the hash map to learn whether any target
 * lives visits each of its 64 Ki buckets. Atomic adds, -1 to subtract. */
__u64 live_targets = 0;

/* Processes sampled recently. A process's first sample is flagged, and unless user
 * space knows mappings without /proc (wake_first false), wakes the reader at once, so
 * it reads the process's mappings while the process still exists: a short-lived
 * process may be gone before the next timed drain. */
const volatile bool wake_first = true;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tgid */
	__type(value, __u8);
} seen SEC(".maps");

/* CPython processes and where their frames are (user space fills it when it finds
 * an interpreter in a process; exit and exec remove it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);   /* tgid */
	__type(value, struct smolder_py_proc);
} py_procs SEC(".maps");

/*
 * Young CPython processes (python_wakeups only, set when the reader drains rarely:
 * system-wide, every second): a program exec'd under a CPython file name
 * ("python3.11"), and a process forked by one of those or by a process known to run
 * CPython (py_procs: multiprocessing, gunicorn and celery workers). Their frames are
 * collected only once user space has found the interpreter, which it does when it
 * reads a sample with the eval loop in it, and their code objects are named from the
 * process's memory when a drain reads their samples: after the process's exit, that
 * memory is gone. So from its PY_WAKE_AT-th sample on, such a process wakes the
 * reader every WAKE_FLOOR_NS until its interpreter is found (its first samples are
 * the interpreter starting, which may not run the eval loop yet), then every
 * WAKE_GAP_NS, PY_WAKE_MAX times in all (its first few seconds, as the 250 ms drains
 * before did): a short-lived script is found and named while it runs, and a
 * long-lived one names what it runs within the flush interval's cache. A wakeup held
 * back is tried again at the next sample. The gap is the process's own: one shared
 * by all would let a script's last wakeup hold up the next script's first for 250
 * ms. A process that never shows an interpreter costs PY_WAKE_MAX wakeups.
 * The entry goes after the last wakeup, at exit and at exec.
 */
const volatile bool python_wakeups = false;
#define PY_WAKE_AT 3
#define PY_WAKE_MAX 12
#define WAKE_GAP_NS 250000000ll
/* However many young CPython processes there are (a pool of 64 forked workers), their
 * wakeups come at most every WAKE_FLOOR_NS machine-wide, each at least that far from
 * the process's last one; one held back is tried at the process's next sample. */
#define WAKE_FLOOR_NS 25000000ll
/* When such a sample last woke the reader (not atomic: a race costs one wakeup more). */
__u64 last_wake_ns = 0;

struct py_wake {
	__u64 last_ns; /* the sample that last woke the reader */
	__u16 samples; /* counted up to PY_WAKE_AT */
	__u16 wakes;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   /* tgid */
	__type(value, struct py_wake);
} py_wake SEC(".maps");

/* The thread state of each Python thread seen, so that a sample does not walk the
 * interpreter's thread list; checked against the thread's id on every use. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* PyThreadState address */
} py_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SMOLDER_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count_n(__u32 which, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += n;
}

static __always_inline void count(__u32 which)
{
	count_n(which, 1);
}

struct smolder_vma_end {
	__u64 end;
};

static long vma_end(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct smolder_vma_end *out = data;

	out->end = vma->vm_end;
	return 0;
}

/* A sampled task's user state, read before its record is reserved. */
struct smolder_user_state {
	__u64 regs[SMOLDER_NUM_REGS];
	__u64 want; /* bytes of stack worth copying: up to the stack's top */
	bool has_regs;
};

/*
 * Read the user registers and how much of the user stack to copy for DWARF
 * unwinding. The registers come from the task's saved user state, which is right
 * whether the CPU was in user mode (the timer interrupt saved them there) or in the
 * kernel.
 */
static __always_inline void read_user_state(struct smolder_user_state *u)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct smolder_vma_end vma = { 0 };
	struct pt_regs *regs;
	__u64 sp, top = 0;

	u->has_regs = false;
	u->want = 0;
	if (!BPF_CORE_READ(task, mm))
		return; /* a kernel thread has no user state */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	u->regs[0] = BPF_CORE_READ(regs, ax);
	u->regs[1] = BPF_CORE_READ(regs, dx);
	u->regs[2] = BPF_CORE_READ(regs, cx);
	u->regs[3] = BPF_CORE_READ(regs, bx);
	u->regs[4] = BPF_CORE_READ(regs, si);
	u->regs[5] = BPF_CORE_READ(regs, di);
	u->regs[6] = BPF_CORE_READ(regs, bp);
	u->regs[7] = BPF_CORE_READ(regs, sp);
	u->regs[8] = BPF_CORE_READ(regs, r8);
	u->regs[9] = BPF_CORE_READ(regs, r9);
	u->regs[10] = BPF_CORE_READ(regs, r10);
	u->regs[11] = BPF_CORE_READ(regs, r11);
	u->regs[12] = BPF_CORE_READ(regs, r12);
	u->regs[13] = BPF_CORE_READ(regs, r13);
	u->regs[14] = BPF_CORE_READ(regs, r14);
	u->regs[15] = BPF_CORE_READ(regs, r15);
	u->regs[16] = BPF_CORE_READ(regs, ip);
	u->has_regs = true;
	if (!stack_bytes)
		return;

	/* bpf_probe_read_user() is all or nothing, and the pages above the top of a
	 * stack need not be mapped: never read past it. The main thread's top is
	 * mm->start_stack; other stacks end with the mapping sp is in (bpf_find_vma,
	 * which refuses when mmap_lock is contended). */
	sp = u->regs[SMOLDER_REG_SP];
	u->want = stack_bytes;
	if (BPF_CORE_READ(task, pid) == BPF_CORE_READ(task, tgid))
		top = BPF_CORE_READ(task, mm, start_stack);
	/* Not on the main stack (another thread, or a runtime's own stacks such as
	 * Go's goroutines): the end of the mapping sp is in. */
	if ((top <= sp || top - sp > (8u << 20)) && bpf_find_vma(task, sp, vma_end, &vma, 0) == 0)
		top = vma.end;
	if (top > sp && top - sp < u->want)
		u->want = (top - sp + 7) & ~7ULL;
}

/*
 * Reserve a record with room for @want bytes of stack. The reserve size must be a
 * constant, so the room comes in a few sizes (never above stack_bytes): a shallow
 * stack does not cost a full snapshot's worth of ring buffer. *@room gets the size.
 */
static __always_inline struct smolder_sample *reserve(__u64 want, __u32 *room)
{
#define SMOLDER_TRY_ROOM(n)                                                         \
	if (want <= (n) && stack_bytes > (n)) {                                     \
		*room = (n);                                                        \
		return bpf_ringbuf_reserve(&events, sizeof(struct smolder_sample) + (n), 0); \
	}
	if (want == 0) {
		*room = 0;
		return bpf_ringbuf_reserve(&events, sizeof(struct smolder_sample), 0);
	}
	SMOLDER_TRY_ROOM(1024)
	SMOLDER_TRY_ROOM(4096)
	SMOLDER_TRY_ROOM(8192)
	SMOLDER_TRY_ROOM(16384)
	SMOLDER_TRY_ROOM(32768)
#undef SMOLDER_TRY_ROOM
	*room = stack_bytes;
	return bpf_ringbuf_reserve(&events, sizeof(struct smolder_sample) + stack_bytes, 0);
}

/* Copy the registers and up to @room bytes of the user stack into @s. */
static __always_inline void copy_user_state(struct smolder_sample *s,
					    const struct smolder_user_state *u, __u32 room)
{
	__u64 len = u->want;

	s->stack_size = 0;
	if (!u->has_regs)
		return;
	__builtin_memcpy(s->regs, u->regs, sizeof(s->regs));
	s->flags |= SMOLDER_SAMPLE_HAS_REGS;
	if (!room)
		return;
	/* Still unreadable (a hole in the mapping): retry shorter, and say so. */
	for (int i = 0; i < 6; i++) {
		if (len > room)
			len = room;
		if (len > SMOLDER_MAX_STACK_BYTES)
			len = SMOLDER_MAX_STACK_BYTES;
		if (bpf_probe_read_user(s->stack, len, (void *)u->regs[SMOLDER_REG_SP]) == 0) {
			s->stack_size = len;
			if (i > 0) {
				s->flags |= SMOLDER_SAMPLE_STACK_SHORT;
				count(SMOLDER_CNT_STACK_SHORT);
			}
			return;
		}
		len /= 2;
		if (len < 64)
			break;
	}
	count(SMOLDER_CNT_STACK_ERR);
}

/* Threads of one interpreter looked at to find the sampled one's state. */
#define PY_MAX_THREADS 64

/* The Python frames of the sample being taken, gathered before they are copied into
 * its record: bpf_loop callbacks cannot write into a ring-buffer record. */
struct py_scratch {
	struct smolder_py_frame py[SMOLDER_MAX_PY_FRAMES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch SEC(".maps");

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

struct py_thread_ctx {
	struct smolder_py_proc py;
	__u64 ts;    /* in: the first thread state; out: the sampled thread's, or 0 */
	__u32 tid;
	bool found;
};

static long py_thread_step(__u64 i, void *data)
{
	struct py_thread_ctx *c = data;
	__u32 t;

	if (!c->ts || bpf_probe_read_user(&t, sizeof(t), (void *)(c->ts + c->py.tstate_native_tid)))
		return 1;
	if (t == c->tid) {
		c->found = true;
		return 1;
	}
	c->ts = read_ptr(c->ts + c->py.tstate_next);
	return 0;
}

/* The PyThreadState of thread @tid in the process @py describes, or 0. */
static __always_inline __u64 py_thread_state(const struct smolder_py_proc *py, __u32 tid)
{
	__u64 *cached = bpf_map_lookup_elem(&py_threads, &tid);
	struct py_thread_ctx c = { .py = *py, .tid = tid };
	__u64 interp;
	__u32 t;

	if (cached && *cached) {
		__u64 ts = *cached;

		if (bpf_probe_read_user(&t, sizeof(t), (void *)(ts + py->tstate_native_tid)) == 0 &&
		    t == tid)
			return ts;
	}
	interp = read_ptr(py->runtime + py->interp_head);
	if (!interp)
		return 0;
	c.ts = read_ptr(interp + py->threads_head);
	bpf_loop(PY_MAX_THREADS, py_thread_step, &c, 0);
	if (!c.found)
		return 0;
	bpf_map_update_elem(&py_threads, &tid, &c.ts, BPF_ANY);
	return c.ts;
}

struct py_walk_ctx {
	struct smolder_py_proc py;
	__u64 frame;  /* the next frame to read */
	__u32 n;      /* frames kept */
	__u32 status; /* enum smolder_py_status */
};

static __always_inline __u64 frame_u64(const __u8 *buf, __u16 off)
{
	__u64 v = 0;

	if (off <= SMOLDER_PY_FRAME_READ - 8)
		__builtin_memcpy(&v, buf + (off & 0x7f), sizeof(v));
	return v;
}

static __always_inline __u8 frame_u8(const __u8 *buf, __u16 off)
{
	if (off >= SMOLDER_PY_FRAME_READ)
		return 0;
	return buf[off & 0x7f];
}

static long py_frame_step(__u64 i, void *data)
{
	struct py_walk_ctx *c = data;
	__u8 buf[SMOLDER_PY_FRAME_READ + 0x80];
	__u32 zero = 0, n = c->n;
	struct py_scratch *out = bpf_map_lookup_elem(&py_scratch, &zero);
	struct smolder_py_frame *f;
	__u64 code, instr, ident[2];

	if (!out || !c->frame)
		return 1;
	if (bpf_probe_read_user(buf, SMOLDER_PY_FRAME_READ, (void *)c->frame)) {
		c->status = SMOLDER_PY_READ_ERR;
		return 1;
	}
	c->frame = frame_u64(buf, c->py.frame_previous);
	if (frame_u8(buf, c->py.frame_owner) == SMOLDER_PY_OWNED_BY_CSTACK) {
		if (n > 0 && n <= SMOLDER_MAX_PY_FRAMES)
			out->py[(n - 1) & (SMOLDER_MAX_PY_FRAMES - 1)].flags |= SMOLDER_PY_ENTRY;
		return 0;
	}
	if (n >= SMOLDER_MAX_PY_FRAMES) {
		c->status = SMOLDER_PY_TRUNCATED;
		return 1;
	}
	code = frame_u64(buf, c->py.frame_code);
	instr = frame_u64(buf, c->py.frame_instr);
	if (bpf_probe_read_user(ident, sizeof(ident), (void *)(code + c->py.code_ident)))
		ident[0] = ident[1] = 0;
	f = &out->py[n & (SMOLDER_MAX_PY_FRAMES - 1)];
	f->code = code;
	f->ident = smolder_py_ident(ident[0], ident[1]);
	f->lasti = instr >= code + c->py.code_adaptive ?
			   (__u32)(instr - code - c->py.code_adaptive) : 0;
	f->flags = c->py.frame_is_entry != SMOLDER_PY_NO_OFF &&
			   frame_u8(buf, c->py.frame_is_entry) ? SMOLDER_PY_ENTRY : 0;
	c->n = n + 1;
	return 0;
}

/*
 * Follow the sampled thread's chain of Python frames (CPython 3.11+: thread state ->
 * current _PyInterpreterFrame -> previous ...) into s->py, innermost first. Shim
 * frames that the eval loop pushes when C calls into it (3.12+) are not kept; they
 * and 3.11's is_entry mark where one native call of the eval loop ends.
 */
static __always_inline void py_walk(struct smolder_sample *s, __u32 tid)
{
	const struct smolder_py_proc *py = bpf_map_lookup_elem(&py_procs, &s->pid);
	struct py_walk_ctx c = { .status = SMOLDER_PY_OK };
	struct py_scratch *out;
	__u32 zero = 0;
	__u64 ts;

	s->py_len = 0;
	s->py_status = SMOLDER_PY_NONE;
	if (!py)
		return;
	count(SMOLDER_CNT_PY_SAMPLES);
	ts = py_thread_state(py, tid);
	if (!ts) {
		s->py_status = SMOLDER_PY_NO_THREAD;
		count(SMOLDER_CNT_PY_NO_THREAD);
		return;
	}
	c.py = *py;
	c.frame = read_ptr(ts + py->tstate_frame);
	if (c.frame && py->cframe_frame != SMOLDER_PY_NO_OFF)
		c.frame = read_ptr(c.frame + py->cframe_frame);
	bpf_loop(SMOLDER_MAX_PY_FRAMES + 16, py_frame_step, &c, 0);
	out = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!out)
		return;
	if (c.n > SMOLDER_MAX_PY_FRAMES)
		c.n = SMOLDER_MAX_PY_FRAMES;
	bpf_probe_read_kernel(s->py, c.n * sizeof(s->py[0]), out->py);
	s->py_len = c.n;
	s->py_status = c.status;
	count_n(SMOLDER_CNT_PY_FRAMES, c.n);
	if (c.status == SMOLDER_PY_READ_ERR)
		count(SMOLDER_CNT_PY_READ_ERR);
	else if (c.status == SMOLDER_PY_TRUNCATED)
		count(SMOLDER_CNT_PY_TRUNC);
}

/* Whether this sample of @tgid, taken at @now, is to wake the reader for a young
 * CPython program (py_wake). */
static __always_inline bool py_wake_due(__u32 tgid, __u64 now)
{
	struct py_wake *w = bpf_map_lookup_elem(&py_wake, &tgid);

	if (!w)
		return false;
	if (w->samples < PY_WAKE_AT)
		w->samples++;
	/* Signed: another CPU's sample may have stored a later time. */
	if ((__s64)(now - last_wake_ns) < WAKE_FLOOR_NS ||
	    (w->wakes && (__s64)(now - w->last_ns) < WAKE_FLOOR_NS))
		return false;
	if (!bpf_map_lookup_elem(&py_procs, &tgid)) {
		/* Not found yet: the first samples are the interpreter starting, which
		 * may not run the eval loop yet; look again every few samples. */
		if (w->samples < PY_WAKE_AT)
			return false;
	} else if ((__s64)(now - w->last_ns) < WAKE_GAP_NS) {
		return false; /* tried again at the next sample */
	}
	w->last_ns = now;
	last_wake_ns = now;
	count(SMOLDER_CNT_PY_WAKEUPS);
	if (++w->wakes >= PY_WAKE_MAX)
		bpf_map_delete_elem(&py_wake, &tgid);
	return true;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct smolder_user_state u;
	struct smolder_sample *s;
	bool wake;
	__u32 room;
	long len;

	if (tid == 0 || tgid == self_tgid) /* idle, or ourselves */
		return 0;
	if (filter_targets && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	count(SMOLDER_CNT_SAMPLES);

	read_user_state(&u);
	s = reserve(u.want, &room);
	if (!s) {
		count(SMOLDER_CNT_LOST);
		return 0;
	}
	s->time_ns = bpf_ktime_get_boot_ns();
	s->pid = tgid;
	s->tid = tid;
	s->cpu = bpf_get_smp_processor_id();
	s->flags = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));

	s->kstack_len = 0;
	if (kernel_stacks) {
		len = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
		s->kstack_len = len;
		if (len < 0)
			count(SMOLDER_CNT_KSTACK_ERR);
		else if (len == sizeof(s->kstack))
			count(SMOLDER_CNT_KSTACK_TRUNC);
		if (len > 0)
			s->flags |= SMOLDER_SAMPLE_KERNEL_MODE;
	}
	len = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack), BPF_F_USER_STACK);
	s->ustack_len = len;
	if (len < 0)
		count(SMOLDER_CNT_USTACK_ERR);
	else if (len == sizeof(s->ustack))
		count(SMOLDER_CNT_USTACK_TRUNC);

	copy_user_state(s, &u, room);
	py_walk(s, tid);

	wake = python_wakeups && py_wake_due(tgid, s->time_ns);
	if (!bpf_map_lookup_elem(&seen, &tgid)) {
		__u8 one = 1;
		bpf_map_update_elem(&seen, &tgid, &one, BPF_ANY);
		s->flags |= SMOLDER_SAMPLE_FIRST;
		wake |= wake_first;
	}
	if (wake || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		bpf_ringbuf_submit(s, BPF_RB_FORCE_WAKEUP);
	else
		bpf_ringbuf_submit(s, BPF_RB_NO_WAKEUP);
	return 0;
}

/* Whether the events of process @tgid concern user space: all of them with -a,
 * else only the targets'. */
static __always_inline bool followed(__u32 tgid)
{
	return !filter_targets || bpf_map_lookup_elem(&targets, &tgid);
}

/* Reserve an event of @kind for @tgid, or count it lost. */
static __always_inline struct smolder_event *event_reserve(__u32 kind, __u32 tgid)
{
	struct smolder_event *e = bpf_ringbuf_reserve(&procs, sizeof(*e), 0);

	if (!e) {
		count(SMOLDER_CNT_EVENTS_LOST);
		return NULL;
	}
	e->time_ns = bpf_ktime_get_boot_ns();
	e->kind = kind;
	e->pid = tgid;
	e->ppid = 0;
	e->dev = 0;
	e->ino = 0;
	e->cgroup_id = 0;
	e->size = e->mtime_sec = 0;
	e->mtime_nsec = e->pad = 0;
	e->filename[0] = '\0';
	e->flags = 0;
	e->env_len = 0;
	return e;
}

/* The ring's flags for an event: a wakeup only when it is a quarter full (below). */
static __always_inline __u64 event_wakeup(void)
{
	return bpf_ringbuf_query(&procs, BPF_RB_AVAIL_DATA) >= SMOLDER_PROCS_BYTES / 4 ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/*
 * Submit event @e. Events do not wake the reader: a process's first sample does
 * (sample), and the reader reads the events before that sample, while the process
 * most likely still lives; an exec's labels are read then. A wakeup per exec, for the
 * many processes never sampled, cost more than everything else on the exec path.
 * Only a quarter-full ring wakes it, so that a burst of processes between two timed
 * drains is not lost.
 */
static __always_inline void event_submit(struct smolder_event *e)
{
	bpf_ringbuf_submit(e, event_wakeup());
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct smolder_event *e;
	__u8 one = 1;

	/* A new thread shares its parent's tgid and is already covered. */
	if (ctgid == ptgid || ptgid == self_tgid)
		return 0;
	if (filter_targets) {
		if (!bpf_map_lookup_elem(&targets, &ptgid))
			return 0;
		long err = bpf_map_update_elem(&targets, &ctgid, &one, BPF_NOEXIST);

		if (err == 0) {
			__sync_fetch_and_add(&live_targets, 1);
			count(SMOLDER_CNT_FORKS);
		}
		else if (err == -E2BIG)
			count(SMOLDER_CNT_TARGETS_FULL);
	}
	if (python_wakeups &&
	    (bpf_map_lookup_elem(&py_wake, &ptgid) || bpf_map_lookup_elem(&py_procs, &ptgid))) {
		struct py_wake w = {};

		bpf_map_update_elem(&py_wake, &ctgid, &w, BPF_ANY);
	}
	/* The child runs its parent's program until it execs: user space gives it
	 * the parent's labels, which a short-lived child has no time to be read for. */
	e = event_reserve(SMOLDER_EVENT_FORK, ctgid);
	if (!e)
		return 0;
	e->ppid = ptgid;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	event_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(forget_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct smolder_event *e;
	bool mine;

	/* A process ends with its last thread, which may not be its first one;
	 * signal->live reaches 0 before this tracepoint runs. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0 || tgid == self_tgid)
		return 0;
	mine = followed(tgid);
	if (bpf_map_delete_elem(&targets, &tgid) == 0)
		__sync_fetch_and_add(&live_targets, -1);
	bpf_map_delete_elem(&py_procs, &tgid);
	if (python_wakeups)
		bpf_map_delete_elem(&py_wake, &tgid);
	/* Its pid may be reused: the next process with it is new to the reader. */
	bpf_map_delete_elem(&seen, &tgid);
	if (!mine)
		return 0;
	e = event_reserve(SMOLDER_EVENT_EXIT, tgid);
	if (!e)
		return 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	event_submit(e);
	return 0;
}

/* struct inode's modification time: i_mtime in older kernels, __i_mtime from 6.7,
 * i_mtime_sec and i_mtime_nsec from 6.11 (vmlinux.h is the build machine's). */
struct inode___timespec {
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));
struct inode___private_timespec {
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));
struct inode___split {
	time64_t i_mtime_sec;
	u32 i_mtime_nsec;
} __attribute__((preserve_access_index));

/* The modification time of @inode into @ev, as stat(2) reports it. */
static __always_inline void inode_mtime(struct inode *inode, struct smolder_event *ev)
{
	if (bpf_core_field_exists(struct inode___split, i_mtime_sec)) {
		struct inode___split *i = (void *)inode;

		ev->mtime_sec = BPF_CORE_READ(i, i_mtime_sec);
		ev->mtime_nsec = BPF_CORE_READ(i, i_mtime_nsec);
	} else if (bpf_core_field_exists(struct inode___private_timespec, __i_mtime)) {
		struct inode___private_timespec *i = (void *)inode;

		ev->mtime_sec = BPF_CORE_READ(i, __i_mtime.tv_sec);
		ev->mtime_nsec = BPF_CORE_READ(i, __i_mtime.tv_nsec);
	} else {
		struct inode___timespec *i = (void *)inode;

		ev->mtime_sec = BPF_CORE_READ(i, i_mtime.tv_sec);
		ev->mtime_nsec = BPF_CORE_READ(i, i_mtime.tv_nsec);
	}
}

/* An exec's event and environment, put together before they go into the ring in
 * one piece of their own size (a reserved record's size is fixed). */
struct exec_record {
	struct smolder_event ev;
	char env[SMOLDER_ENV_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_record);
} exec_scratch SEC(".maps");

/* Does the name of the file @bprm runs ("python3.11", through any symlink; for a
 * script, its interpreter's) say CPython? */
static __always_inline bool python_named(struct linux_binprm *bprm)
{
	char name[32];

	if (bpf_probe_read_kernel_str(name, sizeof(name),
				      BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name)) <= 0)
		return false;
	for (int i = 0; i + 6 <= (int)sizeof(name) && name[i]; i++)
		if (name[i] == 'p' && name[i + 1] == 'y' && name[i + 2] == 't' &&
		    name[i + 3] == 'h' && name[i + 4] == 'o' && name[i + 5] == 'n')
			return true;
	return false;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(note_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	/* The event's time is read first: a sample may interrupt this program, and
	 * one taken after the "seen" entry goes must not look older than the exec. */
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 tgid = BPF_CORE_READ(task, tgid), zero = 0, env_len = 0;
	bool follow = tgid != self_tgid && followed(tgid);
	struct exec_record *x;
	struct inode *inode;
	__u64 start, end;

	/* A new program image: its first sample tells the reader to forget what it
	 * knew of the old one (mappings, symbols, labels). */
	bpf_map_delete_elem(&seen, &tgid);
	bpf_map_delete_elem(&py_procs, &tgid);
	if (python_wakeups)
		bpf_map_delete_elem(&py_wake, &tgid);
	if (!follow)
		return 0;
	if (python_wakeups && python_named(bprm)) {
		struct py_wake w = {};

		bpf_map_update_elem(&py_wake, &tgid, &w, BPF_ANY);
	}
	x = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!x) {
		count(SMOLDER_CNT_EVENTS_LOST);
		return 0;
	}
	x->ev.time_ns = now;
	x->ev.kind = SMOLDER_EVENT_EXEC;
	x->ev.pid = tgid;
	x->ev.ppid = 0;
	x->ev.flags = 0;
	/* The task is current here: its cgroup, and the file it now runs. */
	x->ev.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(x->ev.comm, sizeof(x->ev.comm));
	/* The path of the file it runs: for a script, its interpreter's ("#!"), not
	 * the script's (bprm->filename); the same path for any other file. */
	bpf_probe_read_kernel_str(x->ev.filename, sizeof(x->ev.filename),
				  BPF_CORE_READ(bprm, interp));
	/* The file itself, whatever path named it: user space finds its path by it. */
	inode = BPF_CORE_READ(bprm, file, f_inode);
	x->ev.ino = BPF_CORE_READ(inode, i_ino);
	x->ev.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	x->ev.size = BPF_CORE_READ(inode, i_size);
	inode_mtime(inode, &x->ev);
	x->ev.pad = 0;
	/* The environment execve just wrote to the new stack, so its pages are there. */
	start = BPF_CORE_READ(task, mm, env_start);
	end = BPF_CORE_READ(task, mm, env_end);
	if (end >= start && end - start <= SMOLDER_ENV_LEN) {
		env_len = end - start;
		if (bpf_probe_read_user(x->env, env_len, (const void *)start) == 0)
			x->ev.flags = SMOLDER_EVENT_ENV;
		else
			env_len = 0;
	}
	x->ev.env_len = env_len;
	if (bpf_ringbuf_output(&procs, x, sizeof(x->ev) + env_len, event_wakeup()))
		count(SMOLDER_CNT_EVENTS_LOST);
	return 0;
}
