/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf_sampler.c - the BPF sampler backend: loads sampler.bpf.c, attaches it to
 * cpu-clock perf events on every online CPU and drains its ring buffer.
 * open -> configure -> load -> attach, as libbpf-tools do.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "log.h"
#include "perf_events.h"
#include "procfs.h"
#include "sampler_backend.h"
#include "sampler.skel.h"

/* The ring holds every CPU's samples for RINGBUF_SECONDS, sized with a typical
 * record: the fixed part and a stack snapshot room of RINGBUF_TYPICAL_ROOM bytes.
 * reserve() in sampler.bpf.c takes rooms of 1, 4, 8, 16 and 32 KiB as the stack
 * needs, so most records are far smaller than a full --stack-bytes snapshot
 * (measured: a busy C program 3.2 KiB per sample, every process of a build
 * machine 6.9 KiB, with a record of 2.2 KiB and the default 16 KiB --stack-bytes).
 * The data pages are mapped twice (a record may wrap), and RSS counts both. */
#define RINGBUF_SECONDS 1
#define RINGBUF_SECONDS_ALL 2 /* system-wide: drained every second (session.c) */
#define RINGBUF_TYPICAL_ROOM 4096u
/* Still room for many of the largest records (a 64 KiB snapshot); a power of two. */
#define MIN_RINGBUF_BYTES (1u << 20)
#define MAX_RINGBUF_BYTES (256u << 20)
#define MAX_CPUS 4096

struct bpf_sampler {
	struct sampler_bpf *skel;
	struct ring_buffer *rb;        /* samples */
	struct ring_buffer *rb_events; /* process events (procs) */
	int epoll_fd;                  /* waits on both */
	int *perf_fds;
	struct bpf_link **links;
	int ncpus;
	bool all;
	const struct sampler_handlers *h;
	uint64_t handed;
	uint64_t drain_until; /* CLOCK_BOOTTIME: stop consuming then (-EAGAIN) */
	bool cut;             /* the last drain stopped there */
	uint64_t bytes, records; /* read from the ring buffer */
	uint64_t next_walk;      /* CLOCK_BOOTTIME: the next walk of the targets map */
};

/* How often prune_targets walks the targets map for exits the kernel did not see
 * (a process gone between its check and its insert); in between it reads the count
 * the program keeps. The walk visits every bucket of the map, live or not. */
#define TARGETS_WALK_NS (5ull * 1000 * 1000 * 1000)

static int perf_event_open_cpu_clock(unsigned int freq, int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = freq,
	};
	return perf_events_open(&attr, -1, cpu);
}

static void explain_load_failure(int err, char *msg, size_t len)
{
	if (err == EPERM || err == EACCES)
		snprintf(msg, len, "cannot load the BPF sampler: permission denied (run as "
			 "root, or grant CAP_BPF and CAP_PERFMON, e.g. setcap "
			 "cap_bpf,cap_perfmon+ep smolder)");
	else if (err == ENOSYS || err == EOPNOTSUPP)
		snprintf(msg, len, "cannot load the BPF sampler: this kernel has no BPF "
			 "support (needs CONFIG_BPF_SYSCALL and BTF, kernel 5.8 or later)");
	else
		snprintf(msg, len, "cannot load the BPF sampler: %s", strerror(err));
}

/*
 * Room for one second of typical samples from every CPU, two system-wide (rate x CPUs
 * x record, rounded up to a power of two): the drain every 250 ms (system-wide every
 * second), or the wakeup at half the ring, keeps up with a busy machine, and a drain
 * held up by the symbolizer opening a large binary for a new process has time to
 * catch up.
 */
static size_t ringbuf_size(const struct sampler_opts *opts, int ncpus)
{
	size_t room = opts->stack_bytes < RINGBUF_TYPICAL_ROOM ? opts->stack_bytes
							       : RINGBUF_TYPICAL_ROOM;
	size_t record = sizeof(struct smolder_sample) + room + BPF_RINGBUF_HDR_SZ;
	size_t want = (size_t)ncpus * opts->freq * record *
		      (opts->all ? RINGBUF_SECONDS_ALL : RINGBUF_SECONDS);
	size_t size = MIN_RINGBUF_BYTES;

	while (size < want && size < MAX_RINGBUF_BYTES)
		size *= 2;
	return size;
}

/* Longest a drain consumes before it returns to the run loop. */
#define DRAIN_BUDGET_NS 200000000ull

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct bpf_sampler *s = ctx;
	const struct smolder_sample *rec = data;
	int err;

	/* Records come from our own program; a short one would mean a mismatched
	 * skeleton, so it is skipped rather than read past its end. */
	if (size < sizeof(*rec) || size - sizeof(*rec) < rec->stack_size)
		return 0;
	s->handed++;
	s->bytes += size;
	s->records++;

	/* The first sample of a new program image: the exec (or fork) event that
	 * announced it was submitted before the image ran, so it is in the events ring
	 * now, maybe behind this drain's read of it; read it first.
	 * (An event handler's error stays with the handler, which reports it.) */
	if (rec->flags & SMOLDER_SAMPLE_FIRST)
		ring_buffer__consume(s->rb_events);
	err = s->h->sample(data, s->h->ctx);
	if (err < 0)
		return err;
	/* A consumer slower than the producers would never see the ring empty: give
	 * the run loop its turn (duration, stop, flush) every DRAIN_BUDGET_NS. An
	 * error returned after handling a record still consumes it. */
	if (!(s->handed % 64) && boot_ns() >= s->drain_until)
		return -EAGAIN;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct bpf_sampler *s = ctx;
	const struct smolder_event *ev = data;
	struct smolder_event head;

	if (size < sizeof(*ev) || !s->h->event)
		return 0;
	/* An environment longer than its record would be read past the record's end
	 * (the ring is read-only here: the header is copied to say there is none). */
	if ((ev->flags & SMOLDER_EVENT_ENV) && ev->env_len > size - sizeof(*ev)) {
		head = *ev;
		head.flags &= ~SMOLDER_EVENT_ENV;
		head.env_len = 0;
		ev = &head;
	}
	return s->h->event(ev, s->h->ctx);
}

static void bpf_sampler__free(void *backend);

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void *bpf_sampler__open(const struct sampler_opts *opts, char *msg, size_t msglen)
{
	int cpus[MAX_CPUS];
	struct bpf_sampler *s;
	size_t ring_bytes;
	int err, n;

	agent_log_route_libbpf();
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->epoll_fd = -1;
	s->all = opts->all;

	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = errno;
		explain_load_failure(err, msg, msglen);
		goto fail;
	}
	s->skel->rodata->filter_targets = !opts->all;
	s->skel->rodata->kernel_stacks = opts->kernel_stacks;
	s->skel->rodata->self_tgid = getpid();
	s->skel->rodata->stack_bytes = opts->stack_bytes;
	s->skel->rodata->wake_first = !opts->no_first_wakeup;
	s->skel->rodata->python_wakeups = opts->python_wakeups;
	n = procfs_online_cpus(cpus, MAX_CPUS);
	if (n < 0) {
		err = -n;
		snprintf(msg, msglen, "cannot read the online CPUs from "
			 "/sys/devices/system/cpu/online: %s", strerror(err));
		goto fail;
	}
	ring_bytes = opts->ringbuf_bytes ? opts->ringbuf_bytes : ringbuf_size(opts, n);
	/* Half the ring: at most a second of samples between wakeups, as much left. */
	s->skel->rodata->wakeup_bytes = ring_bytes / 2;
	err = -bpf_map__set_max_entries(s->skel->maps.events, ring_bytes);
	if (err) {
		snprintf(msg, msglen, "cannot size the BPF ring buffer: %s", strerror(err));
		goto fail;
	}
	err = sampler_bpf__load(s->skel);
	if (err) {
		err = -err;
		explain_load_failure(err, msg, msglen);
		goto fail;
	}
	err = sampler_bpf__attach(s->skel);
	if (err) {
		err = -err;
		snprintf(msg, msglen, "cannot attach to the sched_process_fork/exit/exec "
			 "tracepoints: %s", strerror(err));
		goto fail;
	}

	s->perf_fds = calloc(n, sizeof(*s->perf_fds));
	s->links = calloc(n, sizeof(*s->links));
	if (!s->perf_fds || !s->links) {
		err = ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		int fd = perf_event_open_cpu_clock(opts->freq, cpus[i]);
		if (fd < 0) {
			err = -fd;
			perf_events_explain(err, opts->freq, opts->all, opts->kernel_stacks,
					    msg, msglen);
			goto fail;
		}
		s->perf_fds[s->ncpus++] = fd;
		s->links[i] = bpf_program__attach_perf_event(s->skel->progs.sample, fd);
		if (!s->links[i]) {
			err = errno;
			snprintf(msg, msglen, "cannot attach the BPF sampler to CPU %d: %s",
				 cpus[i], strerror(err));
			goto fail;
		}
	}

	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	s->rb_events = ring_buffer__new(bpf_map__fd(s->skel->maps.procs), on_event, s, NULL);
	if (!s->rb || !s->rb_events) {
		err = errno;
		snprintf(msg, msglen, "cannot map the BPF ring buffer: %s", strerror(err));
		goto fail;
	}
	/* One wait for both rings (an epoll set holds other epoll sets). */
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0 ||
	    epoll_add(s->epoll_fd, ring_buffer__epoll_fd(s->rb)) ||
	    epoll_add(s->epoll_fd, ring_buffer__epoll_fd(s->rb_events))) {
		err = errno;
		snprintf(msg, msglen, "cannot wait for the BPF ring buffers: %s", strerror(err));
		goto fail;
	}
	return s;

fail:
	bpf_sampler__free(s);
	errno = err;
	return NULL;
}

static void bpf_sampler__free(void *backend)
{
	struct bpf_sampler *s = backend;

	if (!s)
		return;
	ring_buffer__free(s->rb);
	ring_buffer__free(s->rb_events);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	for (int i = 0; i < s->ncpus; i++) {
		bpf_link__destroy(s->links[i]);
		close(s->perf_fds[i]);
	}
	free(s->links);
	free(s->perf_fds);
	sampler_bpf__destroy(s->skel);
	free(s);
}

/* Delete @pid from the targets map, keeping the program's count of them. */
static void delete_target(struct bpf_sampler *s, __u32 pid)
{
	if (bpf_map_delete_elem(bpf_map__fd(s->skel->maps.targets), &pid) == 0)
		__atomic_fetch_add(&s->skel->bss->live_targets, (__u64)-1, __ATOMIC_SEQ_CST);
}

static int bpf_sampler__add_target(void *backend, pid_t pid)
{
	struct bpf_sampler *s = backend;
	__u32 key = pid;
	__u8 one = 1;
	int fd = bpf_map__fd(s->skel->maps.targets);

	if (pid <= 0 || !procfs_process_alive(pid))
		return -ESRCH;
	/* Counted only when new: the program may have added it already, as a child. */
	if (bpf_map_update_elem(fd, &key, &one, BPF_NOEXIST) == 0)
		__atomic_fetch_add(&s->skel->bss->live_targets, 1, __ATOMIC_SEQ_CST);
	else if (errno != EEXIST)
		return errno == E2BIG ? -ENOSPC : -errno;
	/* It may have exited between the check and the insert, past the exit hook. */
	if (!procfs_process_alive(pid)) {
		delete_target(s, key);
		return -ESRCH;
	}
	return 0;
}

static int bpf_sampler__set_python(void *backend, pid_t pid, const struct smolder_py_proc *proc)
{
	struct bpf_sampler *s = backend;
	__u32 key = pid;
	int fd = bpf_map__fd(s->skel->maps.py_procs);

	if (proc ? bpf_map_update_elem(fd, &key, proc, BPF_ANY) : bpf_map_delete_elem(fd, &key))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

static int bpf_sampler__prune_targets(void *backend)
{
	struct bpf_sampler *s = backend;
	int fd = bpf_map__fd(s->skel->maps.targets);
	__u32 key, next, dead[256];
	int live = 0, ndead = 0;
	void *prev = NULL;
	uint64_t now = boot_ns();

	/* "None left" ends the recording: only a walk says so. */
	if (now < s->next_walk) {
		__u64 n = __atomic_load_n(&s->skel->bss->live_targets, __ATOMIC_SEQ_CST);

		if (n)
			return n > INT_MAX ? INT_MAX : (int)n;
	}
	s->next_walk = now + TARGETS_WALK_NS;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (procfs_process_alive(next))
			live++;
		else if (ndead < (int)(sizeof(dead) / sizeof(dead[0])))
			dead[ndead++] = next;
		else
			live++; /* pruned on a later call */
		key = next;
		prev = &key;
	}
	for (int i = 0; i < ndead; i++)
		delete_target(s, dead[i]);
	return live;
}

static int bpf_sampler__drain(void *backend, int timeout_ms, const struct sampler_handlers *h)
{
	struct bpf_sampler *s = backend;
	struct epoll_event ev[2];
	int err = 0, err2;

	s->h = h;
	s->handed = 0;
	/* Records are submitted without wakeups below a fill threshold, so the wait
	 * usually just sleeps for the timeout (or until a wakeup); then both rings are
	 * consumed, events first. */
	if (timeout_ms && epoll_wait(s->epoll_fd, ev, 2, timeout_ms) < 0)
		err = -errno;
	s->drain_until = boot_ns() + DRAIN_BUDGET_NS;
	err2 = ring_buffer__consume(s->rb_events);
	if (err2 >= 0)
		err2 = ring_buffer__consume(s->rb);
	s->cut = err2 == -EAGAIN;
	if (err2 == -EAGAIN)
		err2 = 0; /* the budget ran out; the rest waits for the next drain */
	if (err2 < 0 && err2 != -EINTR)
		return err2;
	if (err < 0 && err != -EINTR)
		return err;
	return (int)s->handed;
}

static bool bpf_sampler__caught_up(const void *backend)
{
	return !((const struct bpf_sampler *)backend)->cut;
}

static int bpf_sampler__stats(const void *backend, struct sampler_stats *out)
{
	const struct bpf_sampler *s = backend;
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(s->skel->maps.counters);
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	for (__u32 k = 0; k < SMOLDER_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out->counter[k] += vals[c];
	}
	free(vals);
	out->bytes = s->bytes;
	out->records = s->records;
	/* The kernel keeps these only while kernel.bpf_stats_enabled is 1. */
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (!bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.sample), &info, &len)) {
		out->bpf_run_ns = info.run_time_ns;
		out->bpf_runs = info.run_cnt;
	}
	return 0;
}

const struct sampler_ops bpf_sampler_ops = {
	.name = "bpf",
	.open = bpf_sampler__open,
	.free = bpf_sampler__free,
	.add_target = bpf_sampler__add_target,
	.prune_targets = bpf_sampler__prune_targets,
	.set_python = bpf_sampler__set_python,
	.drain = bpf_sampler__drain,
	.caught_up = bpf_sampler__caught_up,
	.stats = bpf_sampler__stats,
};
