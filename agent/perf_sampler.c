/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf_sampler.c - the perf_event_open sampler backend, for machines where BPF cannot
 * be used (no CAP_BPF, no BPF in the kernel) or when --sampler perf asks for it.
 *
 * cpu-clock sampling events ask the kernel for what the BPF program collects itself:
 * the callchain (kernel and user frame-pointer walks), and for DWARF unwinding the user
 * registers and the top of the user stack (PERF_SAMPLE_REGS_USER | STACK_USER). Their
 * records are read from one mmap ring per CPU and rewritten as the struct
 * smolder_sample records the BPF program writes, so the collector, the unwinder and
 * the outputs cannot tell the two backends apart.
 *
 * Layout, per online CPU: a dummy event on smolder itself owns the ring, and every
 * sampling event on that CPU is redirected into it (PERF_EVENT_IOC_SET_OUTPUT), so the
 * number of mappings is the number of CPUs whatever the number of threads. The owner
 * is smolder's own event because it never exits: an event whose task has exited
 * reports POLLHUP for good, and polling it would spin.
 *  - With -a: one sampling event per CPU for every task (pid -1).
 *  - With targets: one per (thread, CPU) for the threads a target has when it is
 *    added, with inherit set so that the kernel follows the threads and processes
 *    they create later (the kernel only maps inherited events that are per-CPU,
 *    which is why this is not one event per thread on every CPU). This is what
 *    perf record -p does, down to the non-inherited dummy event beside each
 *    thread's events that keeps the kernel from swapping them away (pin_open).
 *    Known limit, perf's too: each inherited event starts a fresh period, so a
 *    thread that lives less CPU time than 1/F is never sampled (a process that
 *    churns through short threads gets fewer samples than with BPF, which samples
 *    per CPU).
 *
 * Children are followed by the kernel; PERF_RECORD_FORK adds them to the target set
 * only so that the run lasts as long as they do, as the BPF side's targets map does.
 * comm comes from PERF_RECORD_COMM (and FORK, which copies the parent's) or, for
 * threads that existed before sampling started, from /proc once per thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <asm/perf_regs.h>
#endif

#include "agent.h"
#include "perf_events.h"
#include "perf_ring.h"
#include "procfs.h"
#include "sampler_backend.h"
#include "vec.h"

#define MAX_CPUS 4096
/* Sampling events (threads x CPUs) held open at once; each is a file descriptor. */
#define MAX_EVENTS 65536
/* Per-CPU ring: about RING_SECONDS of that CPU's samples (see ring_size), at least 64
 * pages, at most 32 MiB, and all rings together at most what the BPF side allows for
 * its one ring. */
#define RING_SECONDS 1
#define RING_TYPICAL_DEPTH 32 /* callchain entries of a typical sample, both parts */
#define MIN_RING_BYTES (256u << 10)
#define MAX_RING_BYTES (32u << 20)
#define MAX_RINGS_TOTAL (256u << 20)
/* Smallest ring worth trying when mlock limits refuse the wanted size: it still holds
 * a couple of the largest records (header.size is 16 bits). */
#define FLOOR_RING_BYTES (128u << 10)
/* The kernel rejects sample_stack_user >= USHRT_MAX, and a record's size is 16 bits. */
#define MAX_STACK_USER 65528u
/* Threads whose comm is remembered; the table is emptied when half full, which
 * bounds it without an LRU (a miss costs one small /proc read). */
#define COMM_SLOTS 4096u
#define TARGET_SLOTS (2u * SMOLDER_MAX_TARGETS)
/* Dead targets removed per prune; the rest go on a later call. */
#define PRUNE_BATCH 256
/* Threads of one target attached per add_target. */
#define MAX_THREADS 16384

struct pevent {
	int fd;     /* a sampling event, or the dummy that pins its thread's context */
	pid_t tgid; /* the target it was opened for */
	pid_t tid;
};

struct comm_slot {
	uint32_t tid; /* 0: empty */
	bool valid;   /* false: forgotten (tid reused or unknown): read /proc again */
	uint64_t time; /* when it was true (CLOCK_BOOTTIME): rings are read one after
			  another, so an older record may come after a newer one */
	char comm[SMOLDER_COMM_LEN];
};

#define SEEN_SLOTS 4096 /* bounded: emptied when half full */

struct perf_sampler {
	struct perf_event_attr attr; /* the sampling events' template */
	int cpus[MAX_CPUS];
	int ncpus;
	struct perf_ring *rings;  /* one per entry of cpus[] */
	struct pollfd *ring_pfds; /* the owners, for drain */
	uint64_t *heads;          /* each ring's head, read once per drain */
	VEC(struct pevent) events; /* sampling events */
	VEC(struct pollfd) event_pfds; /* scratch for prune: room for every event */
	uint32_t *targets;        /* open-addressing set of tgids, 0 = empty */
	size_t ntargets;
	struct comm_slot *comms;
	size_t ncomms;
	struct smolder_sample *rec; /* scratch record handed to the callback */
	unsigned char *bounce;      /* records that wrap around the end of a ring */
	uint64_t counter[SMOLDER_CNT_MAX];
	uint64_t bytes; /* sample records read from the rings */
	uint32_t seen[SEEN_SLOTS]; /* processes sampled since their exec; 0 = empty */
	size_t nseen;
	unsigned int max_stack;     /* sample_max_stack: kernel and user entries together */
	unsigned int stack_bytes;   /* the scratch record's snapshot room */
	int reg_index[SMOLDER_NUM_REGS]; /* libunwind register -> position in the sample */
	pid_t self;
	bool all;
};

/*
 * The BPF sampler's "seen" map, for the same SMOLDER_SAMPLE_FIRST flag: the first
 * sample of a process, or of a new program in it (an exec), tells the collector to
 * forget what it knew of the pid. @return true when @pid was not seen (now it is).
 */
static bool first_sample(struct perf_sampler *s, uint32_t pid)
{
	uint32_t mask = SEEN_SLOTS - 1, i;

	for (i = (pid * 2654435761u) & mask; s->seen[i]; i = (i + 1) & mask)
		if (s->seen[i] == pid)
			return false;
	if (s->nseen >= SEEN_SLOTS / 2) {
		/* Full: start over. Some pids get one extra FIRST, which only costs a
		 * re-read of their mappings. */
		memset(s->seen, 0, sizeof(s->seen));
		s->nseen = 0;
		for (i = (pid * 2654435761u) & mask; s->seen[i]; i = (i + 1) & mask)
			;
	}
	s->seen[i] = pid;
	s->nseen++;
	return true;
}

/* @pid exec'd: its next sample is a FIRST again. Rebuilds the probe run after it. */
static void forget_seen(struct perf_sampler *s, uint32_t pid)
{
	uint32_t mask = SEEN_SLOTS - 1, i;

	for (i = (pid * 2654435761u) & mask; s->seen[i]; i = (i + 1) & mask) {
		if (s->seen[i] != pid)
			continue;
		s->seen[i] = 0;
		s->nseen--;
		/* Re-insert the rest of the run so lookups still find them. */
		for (uint32_t j = (i + 1) & mask; s->seen[j]; j = (j + 1) & mask) {
			uint32_t v = s->seen[j];
			s->seen[j] = 0;
			s->nseen--;
			first_sample(s, v);
		}
		return;
	}
}

/* ---- tables: targets (tgids) and comms (tids) ---- */

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t pid_hash(uint32_t pid)
{
	return pid * 2654435761u;
}

/* The slot holding @pid, or the empty slot where it would go. */
static size_t target_slot(const struct perf_sampler *s, uint32_t pid)
{
	size_t mask = TARGET_SLOTS - 1, i;

	for (i = pid_hash(pid) & mask; s->targets[i] && s->targets[i] != pid; i = (i + 1) & mask)
		;
	return i;
}

static bool target_has(const struct perf_sampler *s, uint32_t pid)
{
	return s->targets && s->targets[target_slot(s, pid)] == pid;
}

/* @return 0 (also when already there) or -ENOSPC. */
static int target_add(struct perf_sampler *s, uint32_t pid)
{
	size_t i = target_slot(s, pid);

	if (s->targets[i] == pid)
		return 0;
	if (s->ntargets >= SMOLDER_MAX_TARGETS)
		return -ENOSPC;
	s->targets[i] = pid;
	s->ntargets++;
	return 0;
}

/* Linear-probing delete: shift later members of the cluster back so lookups that
 * would have passed through the freed slot still find them. */
static void target_del(struct perf_sampler *s, uint32_t pid)
{
	size_t mask = TARGET_SLOTS - 1, i = target_slot(s, pid), j, k;

	if (s->targets[i] != pid)
		return;
	s->ntargets--;
	for (;;) {
		s->targets[i] = 0;
		for (j = i;;) {
			j = (j + 1) & mask;
			if (!s->targets[j])
				return;
			k = pid_hash(s->targets[j]) & mask;
			/* Stays if its home slot lies cyclically in (i, j]. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		s->targets[i] = s->targets[j];
		i = j;
	}
}

static struct comm_slot *comm_slot(struct perf_sampler *s, uint32_t tid, bool insert)
{
	uint32_t mask = COMM_SLOTS - 1, i;

	for (i = pid_hash(tid) & mask; s->comms[i].tid; i = (i + 1) & mask) {
		if (s->comms[i].tid == tid)
			return &s->comms[i];
	}
	if (!insert)
		return NULL;
	if (s->ncomms >= COMM_SLOTS / 2) {
		memset(s->comms, 0, COMM_SLOTS * sizeof(*s->comms));
		s->ncomms = 0;
		for (i = pid_hash(tid) & mask; s->comms[i].tid; i = (i + 1) & mask)
			;
	}
	s->comms[i].tid = tid;
	s->comms[i].valid = false;
	s->comms[i].time = 0;
	s->ncomms++;
	return &s->comms[i];
}

static void comm_set(struct perf_sampler *s, uint32_t tid, const char *comm, size_t len,
		     uint64_t time)
{
	struct comm_slot *c = comm_slot(s, tid, true);

	if (c->time > time)
		return; /* already knows a later one */
	c->time = time;
	if (len >= SMOLDER_COMM_LEN)
		len = SMOLDER_COMM_LEN - 1;
	memset(c->comm, 0, sizeof(c->comm));
	memcpy(c->comm, comm, strnlen(comm, len));
	c->valid = true;
}

/* The comm of thread @tid of process @pid, as the BPF side's bpf_get_current_comm. */
static void comm_get(struct perf_sampler *s, uint32_t pid, uint32_t tid,
		     char out[SMOLDER_COMM_LEN])
{
	struct comm_slot *c = comm_slot(s, tid, false);
	char name[48], buf[SMOLDER_COMM_LEN + 1];
	ssize_t n;

	if (!c || !c->valid) {
		snprintf(name, sizeof(name), "task/%u/comm", tid);
		n = procfs_read((pid_t)pid, name, buf, sizeof(buf));
		if (n <= 0) {
			/* Gone already: not remembered, so a later sample tries again. */
			memset(out, 0, SMOLDER_COMM_LEN);
			snprintf(out, SMOLDER_COMM_LEN, "[unknown]");
			return;
		}
		if (buf[n - 1] == '\n')
			n--;
		/* What /proc says now is newer than anything still in the rings. */
		comm_set(s, tid, buf, (size_t)n, boot_ns());
		c = comm_slot(s, tid, false);
	}
	memcpy(out, c->comm, SMOLDER_COMM_LEN);
}

/* ---- rings ---- */

/* The owner of CPU @cpu's ring: a dummy event on smolder's own thread, which counts
 * nothing and never exits; its watermark decides when poll wakes up. */
static int ring_open_owner(int cpu, size_t data_size)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.size = sizeof(attr),
		.disabled = 1,
		.exclude_kernel = 1, /* allowed at any perf_event_paranoid below 3 */
		.use_clockid = 1,    /* SET_OUTPUT refuses to mix clocks in one ring */
		.clockid = CLOCK_BOOTTIME,
		.watermark = 1,
		/* A quarter full: the drain timer reads it first on a quiet machine, the
		 * wakeup keeps a busy one from overflowing between timer ticks. */
		.wakeup_watermark = (__u32)(data_size / 4),
	};

	return perf_events_open(&attr, 0, cpu);
}

/*
 * About a second of samples from one CPU at a typical record size, rounded up to a
 * power of two: the drain (every 250 ms, every second system-wide) and the
 * watermark wakeup at a quarter keep up, and a drain held up by the symbolizer has
 * time to catch up.
 * Unlike the BPF program, perf writes the whole user-stack snapshot
 * (sample_stack_user) into every record whatever the stack's depth, so a typical
 * record is the largest but for its callchain: RING_TYPICAL_DEPTH entries rather
 * than sample_max_stack.
 */
static size_t ring_size(const struct perf_sampler *s, const struct sampler_opts *opts)
{
	size_t depth = s->max_stack < RING_TYPICAL_DEPTH ? s->max_stack : RING_TYPICAL_DEPTH;
	size_t record = 8 + 8 + 8 + 8 + 8 + 8 * (depth + 8) +
			8 + 8 * SMOLDER_NUM_REGS + 8 + s->attr.sample_stack_user + 8;
	size_t want = (size_t)opts->freq * record * RING_SECONDS, size = MIN_RING_BYTES;
	size_t cap = MAX_RINGS_TOTAL / (size_t)s->ncpus;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (opts->ringbuf_bytes) {
		/* Asked for all CPUs together, as the BPF side's one ring. */
		want = opts->ringbuf_bytes / (size_t)s->ncpus;
		for (size = page * 2; size * 2 <= want && size < MAX_RING_BYTES; size *= 2)
			;
		return size;
	}
	if (cap > MAX_RING_BYTES)
		cap = MAX_RING_BYTES;
	while (size < want && size < cap)
		size *= 2;
	return size;
}

/*
 * Open and map every CPU's ring. Unprivileged users may lock only
 * kernel.perf_event_mlock_kb per CPU plus RLIMIT_MEMLOCK: when the mapping is
 * refused, start again with every ring half the size (and its owner's watermark
 * with it), down to a floor.
 */
static int rings_open(struct perf_sampler *s, const struct sampler_opts *opts,
		      size_t data_size, char *msg, size_t msglen)
{
	int err = 0;

	for (;;) {
		for (int i = 0; i < s->ncpus && !err; i++) {
			int fd = ring_open_owner(s->cpus[i], data_size);

			if (fd < 0) {
				perf_events_explain(-fd, opts->freq, opts->all,
						    opts->kernel_stacks, msg, msglen);
				return fd;
			}
			err = perf_ring__map(&s->rings[i], fd, data_size);
			if (err)
				close(fd);
		}
		if (!err) {
			s->attr.wakeup_watermark = (__u32)(data_size / 4);
			return 0;
		}
		for (int i = 0; i < s->ncpus; i++)
			perf_ring__close(&s->rings[i]);
		if (err != -EPERM || data_size <= FLOOR_RING_BYTES)
			break;
		data_size /= 2;
		err = 0;
	}
	snprintf(msg, msglen, "cannot map a %zu KiB perf ring buffer for each CPU: %s "
		 "(raise kernel.perf_event_mlock_kb or ulimit -l, or run as root)",
		 data_size >> 10, strerror(-err));
	return err;
}

/* ---- sampling events ---- */

/* Open the sampling event for @tid (-1: every task) on the @idx-th CPU and start it
 * writing into that CPU's ring. @return the fd or a negative errno. */
static int event_open(struct perf_sampler *s, pid_t tid, int idx)
{
	int fd, err;

	fd = perf_events_open(&s->attr, tid, s->cpus[idx]);
	if (fd < 0)
		return fd;
	/* Disabled until redirected: a sample taken before would have no ring. */
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, s->rings[idx].fd) ||
	    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Room for @more events, and for their pollfds. @return 0, -ENOSPC (past MAX_EVENTS)
 * or -ENOMEM. */
static int events_reserve(struct perf_sampler *s, size_t more)
{
	size_t need = s->events.len + more;
	int err;

	if (need > MAX_EVENTS)
		return -ENOSPC;
	err = VEC_RESERVE(s->events, need);
	return err ? err : VEC_RESERVE(s->event_pfds, need);
}

/*
 * A non-inherited dummy event on thread @tid, as perf record opens one beside its
 * inherited events. The kernel swaps two tasks' perf contexts at a context switch,
 * rather than rescheduling their events, when one context is an inherited clone of
 * the other; a thread that creates short-lived threads then loses its samples
 * (measured here on 6.18: 0-1 of ~30 expected in 2 s with inherited events alone,
 * 18-40 with this event beside them). A context holding an event that is not
 * inherited is not cloned into its children. @return the fd or a negative errno.
 */
static int pin_open(pid_t tid)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.size = sizeof(attr),
		/* Enabled: a disabled event does not stop the cloning (measured). */
		.exclude_kernel = 1,
	};
	return perf_events_open(&attr, tid, -1);
}

/* Close the events from index @from on (the ones one add_target call opened). */
static void events_close_from(struct perf_sampler *s, size_t from)
{
	while (s->events.len > from)
		close(s->events.v[--s->events.len].fd);
}

/* ---- the x86_64 user registers, in perf's numbering and libunwind's order ---- */

#if defined(__x86_64__)
/* libunwind's x86_64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
static const int unw_to_perf[SMOLDER_NUM_REGS] = {
	PERF_REG_X86_AX, PERF_REG_X86_DX, PERF_REG_X86_CX, PERF_REG_X86_BX,
	PERF_REG_X86_SI, PERF_REG_X86_DI, PERF_REG_X86_BP, PERF_REG_X86_SP,
	PERF_REG_X86_R8, PERF_REG_X86_R9, PERF_REG_X86_R10, PERF_REG_X86_R11,
	PERF_REG_X86_R12, PERF_REG_X86_R13, PERF_REG_X86_R14, PERF_REG_X86_R15,
	PERF_REG_X86_IP,
};

/* The sample holds the asked-for registers in ascending perf number: note where
 * each of libunwind's lands. @return the mask to ask for. */
static uint64_t user_regs_mask(int *reg_index)
{
	uint64_t mask = 0;

	for (int i = 0; i < SMOLDER_NUM_REGS; i++)
		mask |= 1ULL << unw_to_perf[i];
	for (int i = 0; i < SMOLDER_NUM_REGS; i++)
		reg_index[i] = __builtin_popcountll(mask & ((1ULL << unw_to_perf[i]) - 1));
	return mask;
}
#endif

/* ---- open / free ---- */

static void perf_sampler__free(void *backend);

static void *perf_sampler__open(const struct sampler_opts *opts, char *msg, size_t msglen)
{
	struct perf_sampler *s;
	size_t data_size;
	long max_stack;
	int err, n, fd;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->self = getpid();
	s->all = opts->all;
	n = procfs_online_cpus(s->cpus, MAX_CPUS);
	if (n < 0) {
		err = -n;
		snprintf(msg, msglen, "cannot read the online CPUs from "
			 "/sys/devices/system/cpu/online: %s", strerror(err));
		goto fail;
	}
	s->ncpus = n;

	/* Kernel and user entries share this limit (the BPF side has 127 of each); ask
	 * for both halves, but never more than the sysctl, or the open fails. */
	max_stack = procfs_kernel_sysctl("perf_event_max_stack", SMOLDER_MAX_STACK_DEPTH);
	if (max_stack > 2 * SMOLDER_MAX_STACK_DEPTH)
		max_stack = 2 * SMOLDER_MAX_STACK_DEPTH;
	if (max_stack < 1)
		max_stack = 1;
	s->max_stack = (unsigned int)max_stack;

	s->attr = (struct perf_event_attr){
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(s->attr),
		.freq = 1,
		.sample_freq = opts->freq,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			       PERF_SAMPLE_CALLCHAIN,
		.sample_max_stack = (__u16)s->max_stack,
		.exclude_callchain_kernel = !opts->kernel_stacks,
		/* The BPF program drops idle samples itself; here they would cost a
		 * record each on every idle CPU with -a. */
		.exclude_idle = 1,
		.disabled = 1,
		.inherit = !opts->all,
		.comm = 1,
		.comm_exec = 1,
		.task = 1, /* FORK records: children to wait for, comms to copy */
		/* Times on COMM records too, to apply them in order across rings;
		 * sample_id_all appends TID, TIME and CPU (sample_type's) to them. */
		.sample_id_all = 1,
		/* The same clock as bpf_ktime_get_boot_ns(), which the collector
		 * expects. */
		.use_clockid = 1,
		.clockid = CLOCK_BOOTTIME,
	};
#if defined(__x86_64__)
	if (opts->stack_bytes) {
		s->attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		s->attr.sample_regs_user = user_regs_mask(s->reg_index);
		s->attr.sample_stack_user = opts->stack_bytes < MAX_STACK_USER ?
						    opts->stack_bytes : MAX_STACK_USER;
	}
#endif
	/* Room for what the kernel may copy, never more than the caller asked for. */
	s->stack_bytes = opts->stack_bytes;

	s->rec = calloc(1, sizeof(*s->rec) + s->stack_bytes);
	s->bounce = malloc(PERF_RING_MAX_RECORD);
	s->comms = calloc(COMM_SLOTS, sizeof(*s->comms));
	s->rings = calloc((size_t)n, sizeof(*s->rings));
	/* Before any failure can reach perf_sampler__free, which closes ring fds:
	 * calloc's 0 would be stdin. */
	for (int i = 0; s->rings && i < n; i++)
		s->rings[i].fd = -1;
	s->ring_pfds = calloc((size_t)n, sizeof(*s->ring_pfds));
	s->heads = calloc((size_t)n, sizeof(*s->heads));
	if (!opts->all)
		s->targets = calloc(TARGET_SLOTS, sizeof(*s->targets));
	if (!s->rec || !s->bounce || !s->comms || !s->rings || !s->ring_pfds || !s->heads ||
	    (!opts->all && !s->targets)) {
		err = ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}

	/* Try the sampling event on ourselves first: a bad -F, kernel stacks that
	 * perf_event_paranoid forbids or a kernel without perf events show up here,
	 * with a message, rather than as an error on the first target. */
	if (!opts->all) {
		struct perf_event_attr probe = s->attr;

		probe.inherit = 0;
		fd = perf_events_open(&probe, 0, s->cpus[0]);
		if ((fd == -EACCES || fd == -EPERM) && !opts->kernel_stacks) {
			/* perf_event_paranoid 2 allows user-mode sampling only. No
			 * kernel frames were asked for, so take it; the time the
			 * targets spend in the kernel then goes unsampled. */
			s->attr.exclude_kernel = probe.exclude_kernel = 1;
			fd = perf_events_open(&probe, 0, s->cpus[0]);
		}
		if (fd < 0) {
			err = -fd;
			perf_events_explain(err, opts->freq, opts->all, opts->kernel_stacks,
					    msg, msglen);
			goto fail;
		}
		close(fd);
	}

	data_size = ring_size(s, opts);
	s->attr.watermark = 1; /* the owner's decides; this keeps wakeup_events off */
	err = -rings_open(s, opts, data_size, msg, msglen);
	if (err)
		goto fail;
	for (int i = 0; i < n; i++)
		s->ring_pfds[i] = (struct pollfd){ .fd = s->rings[i].fd, .events = POLLIN };

	if (opts->all) {
		err = -events_reserve(s, (size_t)n);
		if (err) {
			snprintf(msg, msglen, "out of memory");
			goto fail;
		}
		for (int i = 0; i < n; i++) {
			fd = event_open(s, -1, i);
			if (fd < 0) {
				err = -fd;
				perf_events_explain(err, opts->freq, opts->all,
						    opts->kernel_stacks, msg, msglen);
				goto fail;
			}
			s->events.v[s->events.len++] = (struct pevent){ fd, -1, -1 };
		}
	}
	return s;

fail:
	perf_sampler__free(s);
	errno = err;
	return NULL;
}

static void perf_sampler__free(void *backend)
{
	struct perf_sampler *s = backend;

	if (!s)
		return;
	events_close_from(s, 0);
	for (int i = 0; s->rings && i < s->ncpus; i++)
		perf_ring__close(&s->rings[i]);
	VEC_FREE(s->events);
	VEC_FREE(s->event_pfds);
	free(s->rings);
	free(s->ring_pfds);
	free(s->heads);
	free(s->targets);
	free(s->comms);
	free(s->bounce);
	free(s->rec);
	free(s);
}

/* ---- targets ---- */

static int perf_sampler__add_target(void *backend, pid_t pid)
{
	struct perf_sampler *s = backend;
	size_t first = s->events.len;
	pid_t *tids = NULL;
	int err, n, opened = 0;

	if (s->all)
		return 0; /* every process is sampled already */
	if (pid <= 0 || !procfs_process_alive(pid))
		return -ESRCH;
	if (target_has(s, pid))
		return 0; /* a second set of events would count its samples twice */

	/*
	 * One listing, as perf record -p does: threads created from now on by a thread
	 * already attached are inherited by the kernel; listing again to catch those
	 * created meanwhile by threads not yet attached would attach the inherited ones
	 * twice, and counting a thread twice is worse than the rare missed one.
	 */
	tids = malloc(MAX_THREADS * sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	n = procfs_threads(pid, tids, MAX_THREADS);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	err = target_add(s, (uint32_t)pid);
	if (err)
		goto cleanup;
	for (int t = 0; t < n; t++) {
		int fd;

		err = events_reserve(s, (size_t)s->ncpus + 1);
		if (err)
			goto cleanup;
		fd = pin_open(tids[t]);
		if (fd == -ESRCH)
			continue; /* the thread exited meanwhile */
		if (fd < 0) {
			err = fd == -EMFILE ? -ENOSPC : fd;
			goto cleanup;
		}
		s->events.v[s->events.len++] = (struct pevent){ fd, pid, tids[t] };
		for (int i = 0; i < s->ncpus; i++) {
			fd = event_open(s, tids[t], i);
			if (fd == -ESRCH)
				break; /* the thread exited meanwhile */
			if (fd < 0) {
				err = fd == -EMFILE ? -ENOSPC : fd;
				goto cleanup;
			}
			s->events.v[s->events.len++] = (struct pevent){ fd, pid, tids[t] };
			opened++;
		}
	}
	/* It may have exited meanwhile, and then nothing would ever end the run. */
	err = opened && procfs_process_alive(pid) ? 0 : -ESRCH;

cleanup:
	if (err) {
		events_close_from(s, first);
		target_del(s, (uint32_t)pid);
	}
	free(tids);
	return err;
}

/*
 * Drop targets that are gone, and close the events of gone targets once they poll
 * POLLHUP (exited, no inherited child events left: closing an event also ends its
 * children). Events of a live target stay open even when they poll POLLHUP: after
 * a context swap (see pin_open) an exited thread's event may still be the parent of
 * events that sample a live one, and closing it lost them (measured). Polling a
 * redirected event may consume the ring's pending wakeup; the drain then sleeps
 * until its timeout before reading, as it does anyway on a quiet machine.
 */
static int perf_sampler__prune_targets(void *backend)
{
	struct perf_sampler *s = backend;
	uint32_t dead[PRUNE_BATCH];
	size_t ndead = 0, live = 0, running = 0;

	if (s->all)
		return 0;
	if (s->events.len) {
		struct pollfd *pfds = s->event_pfds.v;

		for (size_t i = 0; i < s->events.len; i++)
			pfds[i] = (struct pollfd){ .fd = s->events.v[i].fd, .events = 0 };
		if (poll(pfds, s->events.len, 0) < 0)
			return errno == EINTR ? (int)(s->ntargets ? s->ntargets : 1) : -errno;
		for (size_t i = s->events.len; i-- > 0;) {
			if (!(pfds[i].revents & (POLLHUP | POLLERR | POLLNVAL))) {
				running++;
				continue;
			}
			if (procfs_process_alive(s->events.v[i].tgid))
				continue;
			close(s->events.v[i].fd);
			s->events.v[i] = s->events.v[--s->events.len];
		}
	}
	for (size_t i = 0; i < TARGET_SLOTS && s->ntargets; i++) {
		uint32_t pid = s->targets[i];

		if (!pid)
			continue;
		if (procfs_process_alive((pid_t)pid))
			live++;
		else if (ndead < PRUNE_BATCH)
			dead[ndead++] = pid;
		else
			live++; /* pruned on a later call */
	}
	for (size_t i = 0; i < ndead; i++)
		target_del(s, dead[i]);
	/* A child whose FORK record was lost (ring full) is not in the set, but the
	 * kernel still follows it: the run lasts while any sampled task runs. */
	if (!live && running)
		live = 1;
	return live > INT32_MAX ? INT32_MAX : (int)live;
}

/* ---- reading the rings ---- */

/* A bounds-checked reader over one record. */
struct cursor {
	const unsigned char *p, *end;
};

static bool take(struct cursor *c, void *dst, size_t len)
{
	if ((size_t)(c->end - c->p) < len)
		return false;
	memcpy(dst, c->p, len);
	c->p += len;
	return true;
}

static const unsigned char *skip(struct cursor *c, size_t len)
{
	const unsigned char *at = c->p;

	if ((size_t)(c->end - c->p) < len)
		return NULL;
	c->p += len;
	return at;
}

/* The callchain, split at its context markers into kstack/ustack, innermost first. */
static void split_callchain(struct perf_sampler *s, const unsigned char *chain, uint64_t nr)
{
	struct smolder_sample *r = s->rec;
	uint64_t ctx = 0, ip, entries = 0;
	size_t nk = 0, nu = 0;
	bool ktrunc = false, utrunc = false;

	for (uint64_t i = 0; i < nr; i++) {
		memcpy(&ip, chain + i * 8, 8);
		if (ip >= PERF_CONTEXT_MAX) {
			ctx = ip;
			continue;
		}
		entries++;
		if (ctx == PERF_CONTEXT_KERNEL) {
			if (nk < SMOLDER_MAX_STACK_DEPTH)
				r->kstack[nk++] = ip;
			else
				ktrunc = true;
		} else if (ctx == PERF_CONTEXT_USER) {
			if (nu < SMOLDER_MAX_STACK_DEPTH)
				r->ustack[nu++] = ip;
			else
				utrunc = true;
		}
		/* Guest and hypervisor entries have no place in the record. */
	}
	/* The kernel stops at sample_max_stack entries in all: the part it was
	 * walking when it stopped (the user one, walked last, unless it had none)
	 * is the one cut short. The BPF side counts a stack that filled its array. */
	if (entries >= s->max_stack) {
		if (ctx == PERF_CONTEXT_USER)
			utrunc = true;
		else if (ctx == PERF_CONTEXT_KERNEL)
			ktrunc = true;
	}
	if (nk == SMOLDER_MAX_STACK_DEPTH)
		ktrunc = true;
	if (nu == SMOLDER_MAX_STACK_DEPTH)
		utrunc = true;
	if (ktrunc)
		s->counter[SMOLDER_CNT_KSTACK_TRUNC]++;
	if (utrunc)
		s->counter[SMOLDER_CNT_USTACK_TRUNC]++;
	r->kstack_len = (__s32)(nk * sizeof(r->kstack[0]));
	r->ustack_len = (__s32)(nu * sizeof(r->ustack[0]));
}

/*
 * Rewrite PERF_RECORD_SAMPLE @rec (@size bytes, header included) into s->rec.
 * @return true if it is a sample to hand over (not smolder's own, well-formed).
 * The kernel writes these records, but their sizes are still checked: a bad one
 * is dropped rather than read past.
 */
static bool parse_sample(struct perf_sampler *s, const unsigned char *rec, size_t size)
{
	struct cursor c = { rec + sizeof(struct perf_event_header), rec + size };
	struct smolder_sample *r = s->rec;
	const unsigned char *chain, *regs = NULL, *stack = NULL;
	struct perf_event_header hdr;
	uint32_t pid_tid[2], cpu_res[2];
	uint64_t time_ns, nr, abi = PERF_SAMPLE_REGS_ABI_NONE, stack_size = 0, dyn_size = 0;

	memcpy(&hdr, rec, sizeof(hdr));
	if (!take(&c, pid_tid, 8) || !take(&c, &time_ns, 8) || !take(&c, cpu_res, 8) ||
	    !take(&c, &nr, 8) || nr > (uint64_t)(c.end - c.p) / 8)
		return false;
	chain = skip(&c, (size_t)nr * 8);
	if (s->attr.sample_type & PERF_SAMPLE_REGS_USER) {
		if (!take(&c, &abi, 8))
			return false;
		if (abi != PERF_SAMPLE_REGS_ABI_NONE &&
		    !(regs = skip(&c, 8 * (size_t)__builtin_popcountll(s->attr.sample_regs_user))))
			return false;
	}
	if (s->attr.sample_type & PERF_SAMPLE_STACK_USER) {
		if (!take(&c, &stack_size, 8) || stack_size > (uint64_t)(c.end - c.p))
			return false;
		if (stack_size) {
			stack = skip(&c, (size_t)stack_size);
			if (!take(&c, &dyn_size, 8) || dyn_size > stack_size)
				return false;
		}
	}

	/* Idle (excluded anyway) and ourselves, as the BPF program filters them. */
	if (pid_tid[1] == 0 || pid_tid[0] == (uint32_t)s->self)
		return false;

	r->time_ns = time_ns;
	r->pid = pid_tid[0];
	r->tid = pid_tid[1];
	r->cpu = cpu_res[0];
	r->flags = 0;
	if ((hdr.misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL)
		r->flags |= SMOLDER_SAMPLE_KERNEL_MODE;
	if (first_sample(s, r->pid))
		r->flags |= SMOLDER_SAMPLE_FIRST;
	comm_get(s, r->pid, r->tid, r->comm);
	split_callchain(s, chain, nr);

	r->stack_size = 0;
	/* A 32-bit task's registers would mislead the x86_64 unwinder: frame pointers
	 * only for those, as for kernel threads (no user registers at all). */
	if (regs && abi == PERF_SAMPLE_REGS_ABI_64) {
		for (int i = 0; i < SMOLDER_NUM_REGS; i++)
			memcpy(&r->regs[i], regs + 8 * (size_t)s->reg_index[i], 8);
		r->flags |= SMOLDER_SAMPLE_HAS_REGS;
		/* dyn_size is what the kernel could read from sp up, before the first
		 * unmapped page: already clamped to the stack's top, as the BPF side
		 * clamps by hand. */
		if (stack && dyn_size && dyn_size <= s->stack_bytes) {
			memcpy(r->stack, stack, (size_t)dyn_size);
			r->stack_size = (__u32)dyn_size;
		} else if (s->stack_bytes) {
			s->counter[SMOLDER_CNT_STACK_ERR]++;
		}
	} else {
		memset(r->regs, 0, sizeof(r->regs));
	}
	s->counter[SMOLDER_CNT_SAMPLES]++;
	return true;
}

/* PERF_RECORD_FORK: a child of a target is a target (so the run waits for it), and
 * a new task starts with its parent's comm, without a COMM record. */
static void on_fork(struct perf_sampler *s, const unsigned char *rec, size_t size,
		    struct smolder_event *ev)
{
	struct cursor c = { rec + sizeof(struct perf_event_header), rec + size };
	uint32_t f[4]; /* pid, ppid, tid, ptid */
	struct comm_slot *parent, *child;
	char comm[SMOLDER_COMM_LEN];
	uint64_t time;

	if (!take(&c, f, sizeof(f)) || !take(&c, &time, sizeof(time)))
		return;
	if (f[0] == f[2] && f[0] != f[1]) /* a new process, not a thread */
		*ev = (struct smolder_event){ .time_ns = time, .kind = SMOLDER_EVENT_FORK,
					      .pid = f[0], .ppid = f[1] };
	parent = comm_slot(s, f[3], false);
	if (parent && parent->valid) {
		memcpy(comm, parent->comm, sizeof(comm));
		comm_set(s, f[2], comm, sizeof(comm), time);
	} else if ((child = comm_slot(s, f[2], false)) && child->time <= time) {
		child->valid = false; /* a reused tid: not its old owner's comm */
		child->time = time;
	}
	if (s->all || f[0] == f[1] || !target_has(s, f[1]) || target_has(s, f[0]))
		return;
	if (target_add(s, f[0]) == 0)
		s->counter[SMOLDER_CNT_FORKS]++;
	else
		s->counter[SMOLDER_CNT_TARGETS_FULL]++;
}

/*
 * Walk ring @r from its tail to @head (a head read once per drain: a producer faster
 * than the callback must not keep the walk going). With @sideband, apply COMM and
 * FORK records only and consume nothing; otherwise hand samples to @fn and give the
 * room back. Two walks because each CPU has its own ring: a process that exec'd on
 * one CPU and was sampled on another would otherwise get its old comm when the
 * second ring happens to be read first.
 * @return samples handed over, or the first negative errno from @fn.
 */
static int ring_walk(struct perf_sampler *s, struct perf_ring *r, uint64_t head,
		     bool sideband, const struct sampler_handlers *h)
{
	uint64_t tail = perf_ring__tail(r);
	const struct perf_event_header *hdr;
	int handed = 0, err;

	while ((hdr = perf_ring__next(r, head, &tail, s->bounce))) {
		const unsigned char *rec = (const unsigned char *)hdr;
		bool is_sample = false;

		if (sideband) {
			struct smolder_event ev = { 0 };

			/* pid, tid, comm, then sample_id: pid/tid, time, cpu. */
			if (hdr->type == PERF_RECORD_COMM &&
			    hdr->size >= sizeof(*hdr) + 8 + 24) {
				uint32_t tid;
				uint64_t time;

				memcpy(&tid, rec + sizeof(*hdr) + 4, 4);
				memcpy(&time, rec + hdr->size - 16, 8);
				if (hdr->misc & PERF_RECORD_MISC_COMM_EXEC) {
					uint32_t pid;
					memcpy(&pid, rec + sizeof(*hdr), 4);
					forget_seen(s, pid);
					/* No file name here: /proc tells, while it lives. */
					ev = (struct smolder_event){ .time_ns = time,
								     .kind = SMOLDER_EVENT_EXEC,
								     .pid = pid };
				}
				comm_set(s, tid, (const char *)rec + sizeof(*hdr) + 8,
					 hdr->size - sizeof(*hdr) - 8 - 24, time);
			} else if (hdr->type == PERF_RECORD_FORK) {
				on_fork(s, rec, hdr->size, &ev);
			} else if (hdr->type == PERF_RECORD_EXIT &&
				   hdr->size >= sizeof(*hdr) + 24) {
				uint32_t f[4]; /* pid, ppid, tid, ptid, then time */

				memcpy(f, rec + sizeof(*hdr), sizeof(f));
				if (f[0] == f[2])
					ev = (struct smolder_event){ .kind = SMOLDER_EVENT_EXIT,
								     .pid = f[0] };
				memcpy(&ev.time_ns, rec + sizeof(*hdr) + 16, 8);
			}
			if (ev.kind && h->event && (err = h->event(&ev, h->ctx)) < 0)
				return err;
			continue;
		}
		if (hdr->type == PERF_RECORD_SAMPLE) {
			is_sample = parse_sample(s, rec, hdr->size);
			s->bytes += hdr->size;
		} else if (hdr->type == PERF_RECORD_LOST) {
			struct cursor c = { rec + sizeof(*hdr), rec + hdr->size };
			uint64_t id_lost[2];

			if (take(&c, id_lost, sizeof(id_lost))) {
				s->counter[SMOLDER_CNT_LOST] += id_lost[1];
				s->counter[SMOLDER_CNT_SAMPLES] += id_lost[1];
			}
		}
		/* Everything is copied out of the record: give its room back before
		 * the callback's (possibly slow) unwinding. */
		perf_ring__release(r, tail);
		if (is_sample) {
			err = h->sample(s->rec, h->ctx);
			if (err < 0)
				return err;
			handed++;
		}
	}
	if (!sideband)
		perf_ring__release(r, tail); /* also past a resynchronisation */
	return handed;
}

static int perf_sampler__drain(void *backend, int timeout_ms, const struct sampler_handlers *h)
{
	struct perf_sampler *s = backend;
	int handed = 0, err = 0, n;

	/* Wakes at the watermark or at the timeout; every ring is read either way. */
	if (poll(s->ring_pfds, (nfds_t)s->ncpus, timeout_ms) < 0)
		err = -errno;
	for (int i = 0; i < s->ncpus; i++) {
		s->heads[i] = perf_ring__head(&s->rings[i]);
		n = ring_walk(s, &s->rings[i], s->heads[i], true, h);
		if (n < 0)
			return n;
	}
	for (int i = 0; i < s->ncpus; i++) {
		n = ring_walk(s, &s->rings[i], s->heads[i], false, h);
		if (n < 0)
			return n;
		handed += n;
	}
	if (err < 0 && err != -EINTR)
		return err;
	return handed;
}

static int perf_sampler__stats(const void *backend, struct sampler_stats *out)
{
	const struct perf_sampler *s = backend;

	memset(out, 0, sizeof(*out));
	memcpy(out->counter, s->counter, sizeof(out->counter));
	out->bytes = s->bytes;
	out->records = s->counter[SMOLDER_CNT_SAMPLES] - s->counter[SMOLDER_CNT_LOST];
	return 0;
}

const struct sampler_ops perf_sampler_ops = {
	.name = "perf",
	.open = perf_sampler__open,
	.free = perf_sampler__free,
	.add_target = perf_sampler__add_target,
	.prune_targets = perf_sampler__prune_targets,
	.drain = perf_sampler__drain,
	.stats = perf_sampler__stats,
};
