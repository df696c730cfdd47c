/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c - the run loop that `smolder record` and the node agent share: open the
 * sampler, symbolizer, unwinder and collector from one set of options; follow the
 * target processes (or start the command to profile); then drain samples into a
 * profile, hand the profile to the caller every flush interval and at the end, and
 * stop at the duration, on session__stop, or when every target has exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "flush_queue.h"
#include "log.h"
#include "mmap_events.h"
#include "procfs.h"
#include "python.h"

/* Samples are read at this interval, or sooner: when the sample ring fills half, the
 * process-event ring a quarter, or a young CPython program needs its interpreter
 * found and its code named while it runs (python_wakeups, sampler.bpf.c). A wakeup
 * is a context switch, which costs 20-80 us of CPU in this VM (docs/platform.md):
 * system-wide, where that is paid all the time, the ring holds two seconds and is
 * read every second. Targeted recordings keep reading four times a second: a
 * target's end is noticed at a read, and a sample's files are read as they are
 * then. */
#define DRAIN_INTERVAL_MS 250
#define DRAIN_INTERVAL_ALL_MS 1000
#define PRUNE_INTERVAL_NS 250000000LL
#define PROGRESS_INTERVAL_NS 1000000000LL
#define CHILD_TERM_WAIT_MS 5000
#define DEFAULT_MAX_MEMORY (32u << 20)     /* record -p PID, record -- CMD */
#define DEFAULT_MAX_MEMORY_ALL (64u << 20) /* record -a, the node agent */
/* The last interval's profile, emptied, is kept for the next one when it holds at
 * most this share of the budget: refilling it costs no page faults (flush_queue.h). */
#define SPARE_SHARE 8
/* Intervals waiting to be written before the oldest is dropped (counted). */
#define FLUSH_BACKLOG 8
/* Children of the targets watched for the "never ran" hint; the rest are ignored. */
#define MAX_WATCHED 64

/* The command being profiled: forked stopped before exec, started once sampling is
 * attached, so its first instructions are sampled. */
struct child {
	pid_t pid;
	int go_fd;      /* write a byte: exec now */
	int err_fd;     /* the child writes errno here if exec fails; EOF means it ran */
	bool reaped;
	int status;
	uint64_t exec_ns; /* CLOCK_BOOTTIME (sample time) when its exec was seen to succeed */
};

struct watched {
	pid_t pid, parent;
	uint64_t ticks; /* CPU time when sampling began */
};

struct session {
	struct session_opts opts;
	struct sampler *sampler;
	struct symbolizer *sym;
	struct unwinder *unwinder;
	struct registry *registry;
	struct collector *collector;
	struct python *python;      /* NULL with collector.no_python */
	struct mmap_events *mm;     /* new processes' mappings; NULL: /proc only */
	struct flush_queue *writer; /* with a flush interval: flushes off this thread */
	struct profile *profile; /* the current interval's */
	struct child child;
	char self_comm[SMOLDER_COMM_LEN + 1];
	struct watched watched[MAX_WATCHED];
	size_t nwatched;
	volatile sig_atomic_t stop;
	uint64_t sample_errors; /* samples and events that could not be recorded */
	size_t rss, peak_rss;   /* bytes, read at every flush and progress tick */
	int statm_fd;           /* /proc/self/statm, open for the run; -1: not opened */
	int first_sample_err;
	int64_t start_ns, end_ns, interval_start_wall;
	uint64_t samples, pre_exec, truncated_before; /* over earlier intervals */
	uint64_t lost_reported;                       /* lost counted into profiles */
	struct sampler_stats last_stats;
	/* The caches' stats as the last drain left them, once they are dropped */
	bool caches_dropped;
	struct symbolizer_stats sym_stats;
	struct unwind_stats unwind_stats;
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the command ---- */

static int child_fork(struct child *ch, char *const *cmd, char *msg, size_t msglen)
{
	int go[2], errp[2], err;

	if (pipe2(go, O_CLOEXEC))
		goto fail;
	if (pipe2(errp, O_CLOEXEC)) {
		err = errno;
		close(go[0]);
		close(go[1]);
		errno = err;
		goto fail;
	}
	ch->pid = fork();
	if (ch->pid < 0) {
		err = errno;
		close(go[0]);
		close(go[1]);
		close(errp[0]);
		close(errp[1]);
		errno = err;
		goto fail;
	}
	if (ch->pid == 0) {
		char b;
		int e;

		close(go[1]);
		close(errp[0]);
		signal(SIGPIPE, SIG_DFL);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* the parent gave up before starting us */
		execvp(cmd[0], cmd);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	ch->go_fd = go[1];
	ch->err_fd = errp[0];
	return 0;
fail:
	err = errno;
	snprintf(msg, msglen, "cannot start %s: %s", cmd[0], strerror(err));
	return -err;
}

static int child_start(struct child *ch, const char *name, char *msg, size_t msglen)
{
	int e = 0;
	ssize_t n;

	if (write(ch->go_fd, "g", 1) != 1) {
		e = errno;
		snprintf(msg, msglen, "cannot start %s: %s", name, strerror(e));
		return -e;
	}
	close(ch->go_fd);
	ch->go_fd = -1;
	/* EOF once the exec has closed the pipe: from here on every sample of the
	 * child is the command's. */
	n = read(ch->err_fd, &e, sizeof(e));
	ch->exec_ns = (uint64_t)now_ns(CLOCK_BOOTTIME);
	close(ch->err_fd);
	ch->err_fd = -1;
	if (n == sizeof(e)) {
		snprintf(msg, msglen, "cannot run %s: %s", name, strerror(e));
		waitpid(ch->pid, NULL, 0);
		ch->reaped = true;
		return -e;
	}
	return 0;
}

static void child_end(struct child *ch)
{
	if (ch->pid <= 0 || ch->reaped)
		return;
	/* We stopped first (duration or a signal): end the command we started. */
	if (ch->go_fd >= 0)
		close(ch->go_fd); /* never started: it exits on EOF */
	else
		kill(ch->pid, SIGTERM);
	/* A command that ignores SIGTERM gets SIGKILL, not an endless wait. */
	for (int i = 0; i < CHILD_TERM_WAIT_MS / 10; i++) {
		if (waitpid(ch->pid, &ch->status, WNOHANG) != 0) {
			ch->reaped = true;
			return;
		}
		usleep(10000);
	}
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, &ch->status, 0);
	ch->reaped = true;
}

/*
 * A sample of the forked command taken before its exec shows smolder's own code (and
 * the execve itself) under smolder's name: not the command, so it is dropped (and
 * counted). After the exec was seen to succeed every sample is the command's; before
 * that, its name tells: exec renames the task.
 */
static bool pre_exec_sample(const struct session *s, const struct smolder_sample *rec)
{
	if (!s->child.pid || rec->pid != (uint32_t)s->child.pid)
		return false;
	if (s->child.exec_ns && rec->time_ns >= s->child.exec_ns)
		return false;
	return strncmp(rec->comm, s->self_comm, SMOLDER_COMM_LEN) == 0;
}

/* ---- targets ---- */

/* Remember the children @pid has now and their CPU time, for the hint given when
 * the targets never ran; with @follow, sample them too (and theirs, recursively). */
static int take_children(struct session *s, pid_t pid, bool follow, int depth,
			 char *msg, size_t msglen)
{
	pid_t kids[MAX_WATCHED];
	int n = procfs_children(pid, kids, MAX_WATCHED);

	for (int i = 0; i < n; i++) {
		uint64_t ticks;
		int err;

		if (follow) {
			err = sampler__add_target(s->sampler, kids[i]);
			if (err && err != -ESRCH) {
				snprintf(msg, msglen, "cannot follow PID %d, a child of %d: %s",
					 kids[i], pid, strerror(-err));
				return err;
			}
			symbolizer__load_process(s->sym, kids[i]);
			registry__add(s->registry, kids[i]);
			if (depth < 8)
				take_children(s, kids[i], follow, depth + 1, msg, msglen);
		} else if (s->nwatched < MAX_WATCHED &&
			   procfs_cpu_ticks(kids[i], &ticks, NULL) == 0) {
			s->watched[s->nwatched++] = (struct watched){ kids[i], pid, ticks };
		}
	}
	return 0;
}

static int add_targets(struct session *s, char *msg, size_t msglen)
{
	const struct session_opts *o = &s->opts;
	int err;

	for (size_t i = 0; i < o->npids; i++) {
		pid_t pid = o->pids[i], tgid = procfs_thread_group(pid);

		/* Targets are processes: a thread ID means its process. */
		if (tgid > 0 && tgid != pid) {
			agent_log(AGENT_LOG_NOTE, "note: %d is a thread of process %d: "
				  "sampling process %d", pid, tgid, tgid);
			pid = tgid;
		}
		/* Its interpreter first, so that its first samples have Python frames. */
		if (s->python)
			python__probe_pid(s->python, pid);
		err = sampler__add_target(s->sampler, pid);
		if (err == -ESRCH) {
			snprintf(msg, msglen, "no process with PID %d (is it running? check "
				 "'ps -p %d')", pid, pid);
			return err;
		}
		if (err) {
			snprintf(msg, msglen, "cannot follow PID %d: %s", pid, strerror(-err));
			return err;
		}
		/* Read its mappings and labels now: it may exit before its first sample
		 * is read. */
		symbolizer__load_process(s->sym, pid);
		registry__add(s->registry, pid);
		err = take_children(s, pid, o->children, 0, msg, msglen);
		if (err)
			return err;
	}
	return 0;
}

/* Reading the labels of the processes running at the start: for at most this long,
 * while the rings fill with no one reading them (sized for a second or more). */
#define SCAN_BUDGET_NS 200000000LL

struct scan {
	struct registry *registry;
	int64_t until;
	unsigned int n;
	bool cut;
};

static int add_running(pid_t pid, void *ctx)
{
	struct scan *sc = ctx;

	if (now_ns(CLOCK_MONOTONIC) > sc->until) {
		sc->cut = true;
		return 1;
	}
	registry__add(sc->registry, pid);
	sc->n++;
	return 0;
}

/* With -a, the labels of every process running now are read, once the sampler's exec
 * events are on: a process that started before them and ends before the drain that
 * reads its first sample (a command just begun, a service stopping) would otherwise
 * have nothing left to be labelled by. Every process started since is announced by an
 * event. Those the time budget leaves are read at their first sample, as before. */
static void read_running(struct session *s)
{
	int64_t began = now_ns(CLOCK_MONOTONIC);
	struct scan sc = { s->registry, began + SCAN_BUDGET_NS, 0, false };

	procfs_each_process(add_running, &sc);
	agent_log(AGENT_LOG_DEBUG, "read the labels of %u running processes in %.1f ms%s",
		  sc.n, (double)(now_ns(CLOCK_MONOTONIC) - began) / 1e6,
		  sc.cut ? " (the time budget ran out: the rest at their first sample)" : "");
}

/* ---- open / free ---- */

static void forget_symbols(pid_t pid, void *ctx)
{
	symbolizer__forget_process(ctx, pid);
}

static void forget_unwind(pid_t pid, void *ctx)
{
	unwinder__forget_process(ctx, pid);
}

/* A process the registry forgets is forgotten by the Python module and by the
 * sampler's walk of its frames (exit and exec also drop it in the kernel). */
static void forget_python(pid_t pid, void *ctx)
{
	struct session *s = ctx;

	if (python__forget_process(s->python, pid) && s->sampler)
		sampler__set_python(s->sampler, pid, NULL);
}

static int register_python(pid_t pid, const struct smolder_py_proc *proc, void *ctx)
{
	struct session *s = ctx;

	if (!s->sampler)
		return -EAGAIN;
	return sampler__set_python(s->sampler, pid, proc);
}

/*
 * Size the caches from the memory budget. About a third of it is the program itself
 * (code and libraries, ~12 MiB) and the ring buffers; the rest goes to the caches
 * that grow with what is profiled: parsed symbol tables (a quarter), the unwind
 * tables read from ELF files (a quarter), mappings of the
 * processes sampled (one per 64 KiB, a big process's /proc/PID/maps and its files),
 * and the registry (one process per 2 KiB). The profile of the interval is outside
 * these; the last interval's, kept for reuse, holds at most an eighth (SPARE_SHARE).
 */
static void budget(const struct session_opts *o, struct symbolizer_opts *symo,
		   struct unwinder_opts *unwo, struct registry_opts *rego)
{
	size_t m = o->max_memory;

	symo->max_bytes = m / 4;
	unwo->max_bytes = m / 4;
	symo->max_processes = m / (64 << 10);
	rego->max_processes = m / 2048;
}

struct session *session__open(const struct session_opts *opts, char *msg, size_t msglen)
{
	struct session *s = calloc(1, sizeof(*s));
	struct symbolizer_opts symo = { 0 };
	struct sampler_opts sampler_opts;
	struct registry_opts rego = { 0 };
	struct unwinder_opts unwo = { 0 };
	char note[768];
	int err = ENOMEM;

	if (!s) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	s->child = (struct child){ .go_fd = -1, .err_fd = -1 };
	s->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	prctl(PR_GET_NAME, s->self_comm);

	/* The symbolizer keeps DWARF open exactly when the collector asks for inline
	 * frames: one setting, not two that must agree. */
	symo.inline_frames = opts->collector.inline_frames;
	if (!s->opts.max_memory)
		s->opts.max_memory = opts->sampler.all ? DEFAULT_MAX_MEMORY_ALL : DEFAULT_MAX_MEMORY;
	budget(&s->opts, &symo, &unwo, &rego);
	s->sym = symbolizer__new(&symo);
	s->profile = profile__new();
	if (!s->sym || !s->profile)
		goto nomem;
	if (opts->collector.unwind != UNWIND_FP) {
		s->unwinder = unwinder__new(s->sym, &unwo);
		if (!s->unwinder)
			goto nomem;
	}
	/* The registry says when a process's state is stale (exit, exec, eviction);
	 * the symbolizer and the unwinder drop theirs then. */
	s->registry = registry__new(&rego);
	if (!s->registry || registry__subscribe(s->registry, forget_symbols, s->sym) ||
	    (s->unwinder && registry__subscribe(s->registry, forget_unwind, s->unwinder)))
		goto nomem;
	s->collector = collector__new(s->profile, s->sym, s->unwinder, s->registry,
				      &opts->collector);
	if (!s->collector)
		goto nomem;
	if (!opts->collector.no_python) {
		s->python = python__new(s->sym, register_python, s);
		if (!s->python || registry__subscribe(s->registry, forget_python, s))
			goto nomem;
		collector__set_python(s->collector, s->python);
	}
	/* Intervals are written off the sampling thread: a slow disk must not stall
	 * the drain (the kernel would drop samples meanwhile). */
	if (opts->flush_interval > 0) {
		s->writer = flush_queue__new(opts->flush, opts->ctx, FLUSH_BACKLOG,
					     s->opts.max_memory / SPARE_SHARE);
		if (!s->writer)
			goto nomem;
	}

	/* With -a, the interpreters already running are looked for before sampling
	 * starts and handed over as soon as the sampler exists, so that their first
	 * samples have Python frames. */
	if (s->python && opts->sampler.all)
		python__probe_all(s->python);
	/* Before the sampler and the command: a process whose start is seen needs no
	 * /proc read for its mappings. Without it, all are read from /proc. */
	s->mm = mmap_events__open(s->sym, note, sizeof(note));
	if (s->mm)
		symbolizer__note_start(s->sym, opts->sampler.all);
	else
		agent_log(AGENT_LOG_DEBUG, "%s; mappings are read from /proc", note);
	sampler_opts = opts->sampler;
	sampler_opts.no_first_wakeup = s->mm != NULL;
	sampler_opts.python_wakeups = s->python && opts->sampler.all;
	s->sampler = sampler__open(&sampler_opts, msg, msglen, note, sizeof(note));
	if (s->sampler && s->python)
		python__register_all(s->python);
	if (!s->sampler) {
		err = errno;
		goto fail;
	}
	if (note[0])
		agent_log(AGENT_LOG_NOTE, "%s", note);
	if (opts->sampler.all)
		read_running(s);

	if (opts->cmd) {
		err = -child_fork(&s->child, opts->cmd, msg, msglen);
		if (err)
			goto fail;
		err = -sampler__add_target(s->sampler, s->child.pid);
		if (err) {
			snprintf(msg, msglen, "cannot follow %s: %s", opts->cmd[0], strerror(err));
			goto fail;
		}
		err = -child_start(&s->child, opts->cmd[0], msg, msglen);
		if (err)
			goto fail;
		registry__add(s->registry, s->child.pid);
	}
	err = -add_targets(s, msg, msglen);
	if (err)
		goto fail;
	return s;

nomem:
	snprintf(msg, msglen, "out of memory");
	err = ENOMEM;
fail:
	session__free(s);
	errno = err;
	return NULL;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	child_end(&s->child);
	if (s->child.go_fd >= 0)
		close(s->child.go_fd);
	if (s->child.err_fd >= 0)
		close(s->child.err_fd);
	sampler__free(s->sampler);
	s->sampler = NULL; /* the registry's clients are told of its processes below */
	mmap_events__free(s->mm);
	flush_queue__free(s->writer);
	collector__free(s->collector);
	registry__free(s->registry);
	python__free(s->python);
	unwinder__free(s->unwinder);
	symbolizer__free(s->sym);
	profile__free(s->profile);
	if (s->statm_fd >= 0)
		close(s->statm_fd);
	free(s);
}

/* ---- the loop ---- */

/* Resident memory now, and its peak. From a file kept open: opening it and a stdio
 * stream each second was a tenth of what the run loop cost on a machine with process
 * churn, its samples apart. */
static void note_rss(struct session *s)
{
	long page = sysconf(_SC_PAGESIZE);
	char buf[128], *end;
	unsigned long long pages;
	ssize_t n = s->statm_fd >= 0 ? pread(s->statm_fd, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0 || page <= 0)
		return;
	buf[n] = '\0';
	/* "size resident shared ...", in pages */
	strtoull(buf, &end, 10);
	pages = strtoull(end, &end, 10);
	if (pages > 0) {
		s->rss = (size_t)pages * (size_t)page;
		if (s->rss > s->peak_rss)
			s->peak_rss = s->rss;
	}
}

/* A sample or event that could not be recorded (out of memory, say) costs itself,
 * never the run: counted, and the first error kept for the closing note. */
static void count_error(struct session *s, int err)
{
	if (!s->sample_errors++)
		s->first_sample_err = err;
}

static int on_sample(const struct smolder_sample *rec, void *ctx)
{
	struct session *s = ctx;
	int err;

	/* The symbolizer must know the mappings as they were when the sample was taken:
	 * the kernel's records up to then (a look at each ring when there are none). */
	mmap_events__drain_until(s->mm, rec->time_ns);
	if (pre_exec_sample(s, rec)) {
		s->pre_exec++;
		return 0;
	}
	err = collector__add(s->collector, rec);
	if (err)
		count_error(s, err);
	return 0;
}

static int on_event(const struct smolder_event *ev, void *ctx)
{
	struct session *s = ctx;
	int err = registry__event(s->registry, ev);

	if (err)
		count_error(s, err);
	return 0;
}

/* Drain the sampler into the current profile; then free the processes that exited,
 * all of whose samples have been read now: unless the drain stopped early (a
 * backlog), when samples taken before an exit it read may still wait in the ring
 * and would find their process gone, its labels with it. */
static int drain(struct session *s, int timeout_ms)
{
	const struct sampler_handlers h = { .sample = on_sample, .event = on_event, .ctx = s };
	int64_t began = now_ns(CLOCK_BOOTTIME);
	int n = sampler__drain(s->sampler, timeout_ms, &h);

	if (sampler__caught_up(s->sampler)) {
		registry__reap(s->registry);
		/* Every sample taken before the drain began is handled: the records up to
		 * then are not needed by one any more, and must not fill their rings. */
		mmap_events__drain_until(s->mm, (uint64_t)began);
	}
	return n;
}

/*
 * After the last drain nothing is unwound or symbolized: give back what the caches of
 * ELF files hold (up to about half of --max-memory) before the output is written,
 * which takes memory of its own (the run's whole profile read back, the compressor).
 * Their stats are kept as they were.
 */
static void drop_caches(struct session *s)
{
	symbolizer__stats(s->sym, &s->sym_stats);
	symbolizer__drop_caches(s->sym);
	if (s->unwinder) {
		unwinder__stats(s->unwinder, &s->unwind_stats);
		unwinder__drop_caches(s->unwinder);
	}
	s->caches_dropped = true;
}

/*
 * Hand the current profile over, with its time range, period and the samples lost
 * since the last flush; then start a new one unless this is the last.
 */
static int flush(struct session *s, bool last)
{
	struct sampler_stats st;
	struct profile *next = NULL;
	int64_t wall = now_ns(CLOCK_REALTIME);
	int err, ferr;

	if (sampler__stats(s->sampler, &st) == 0) {
		struct profile_counts c = { .lost = st.counter[SMOLDER_CNT_LOST] - s->lost_reported };

		profile__add_counts(s->profile, &c);
		s->lost_reported = st.counter[SMOLDER_CNT_LOST];
		s->last_stats = st;
	}
	struct profile_info info = {
		.period_ns = 1000000000ull / s->opts.sampler.freq,
		.start_ns = (uint64_t)s->interval_start_wall,
		.end_ns = (uint64_t)wall,
	};
	profile__set_info(s->profile, &info);
	note_rss(s);
	if (!last) {
		/* The interval before this one's profile, written by now (the writer has
		 * had a whole interval), refilled in place of a new one. */
		next = s->writer ? flush_queue__take_spare(s->writer) : NULL;
		if (!next)
			next = profile__new();
		if (!next)
			return -ENOMEM; /* this interval's samples go into the next flush */
	}
	s->samples += profile__sample_count(s->profile);
	s->truncated_before += profile__counts(s->profile)->truncated;

	if (s->writer) {
		/* Written on the writer's thread; its errors show up a flush later. */
		flush_queue__push(s->writer, s->profile, last);
		s->profile = NULL;
		if (last)
			flush_queue__wait(s->writer);
		err = flush_queue__take_error(s->writer);
	} else {
		err = s->opts.flush(s->profile, last, s->opts.ctx);
		if (!last) {
			profile__free(s->profile);
			s->profile = NULL;
		}
	}
	if (last)
		return err;
	s->profile = next;
	s->interval_start_wall = wall;
	ferr = collector__reset(s->collector, next);
	if (s->python)
		python__new_interval(s->python);
	return err ? err : ferr;
}

/* @timeout_ms, or less so as not to wait past @when (0: no such time). */
static int wait_ms(int timeout_ms, int64_t when, int64_t now)
{
	if (when && when - now < (int64_t)timeout_ms * 1000000)
		return when > now ? (int)((when - now) / 1000000) + 1 : 0;
	return timeout_ms;
}

int session__run(struct session *s, char *msg, size_t msglen)
{
	const struct session_opts *o = &s->opts;
	int64_t deadline = 0, next_prune = 0, next_progress = 0, next_flush = 0, now;
	int err = 0, ferr;

	s->start_ns = now_ns(CLOCK_MONOTONIC);
	s->interval_start_wall = now_ns(CLOCK_REALTIME);
	if (o->duration > 0)
		deadline = s->start_ns + (int64_t)(o->duration * 1e9);
	if (o->flush_interval > 0)
		next_flush = s->start_ns + (int64_t)(o->flush_interval * 1e9);
	while (!s->stop) {
		int n;

		/* ... but not past the end of the recording, nor the next flush. */
		now = now_ns(CLOCK_MONOTONIC);
		n = drain(s, wait_ms(wait_ms(o->sampler.all ? DRAIN_INTERVAL_ALL_MS : DRAIN_INTERVAL_MS,
					     deadline, now),
				     next_flush, now));

		if (n < 0 && n != -EINTR) {
			err = n;
			snprintf(msg, msglen, "reading samples failed: %s", strerror(-err));
			break;
		}
		if (s->child.pid && !s->child.reaped &&
		    waitpid(s->child.pid, &s->child.status, WNOHANG) > 0)
			s->child.reaped = true;
		now = now_ns(CLOCK_MONOTONIC);
		if (deadline && now >= deadline)
			break;
		if (!o->sampler.all && now >= next_prune) {
			if (sampler__prune_targets(s->sampler) == 0)
				break; /* every target has exited */
			next_prune = now + PRUNE_INTERVAL_NS;
		}
		if (next_flush && now >= next_flush) {
			ferr = flush(s, false);
			if (ferr && !err) {
				err = ferr; /* the callback said what failed; keep sampling */
				msg[0] = '\0';
			}
			next_flush = now + (int64_t)(o->flush_interval * 1e9);
		}
		if (now >= next_progress) { /* about once a second */
			note_rss(s);
			if (o->progress)
				o->progress((now - s->start_ns) / 1e9,
					    s->samples + profile__sample_count(s->profile),
					    o->ctx);
			next_progress = now + PROGRESS_INTERVAL_NS;
		}
	}
	/* What is still in the ring buffer was collected too. */
	drain(s, 0);
	s->end_ns = now_ns(CLOCK_MONOTONIC);
	drop_caches(s);
	ferr = flush(s, true);
	if (ferr && !err) {
		err = ferr;
		msg[0] = '\0'; /* the callback said what failed */
	}
	return err;
}

void session__refresh_sampler_stats(struct session *s)
{
	struct sampler_stats st;

	if (sampler__stats(s->sampler, &st) == 0)
		s->last_stats = st;
}

void session__stop(struct session *s)
{
	s->stop = 1;
}

int session__child_status(const struct session *s)
{
	return s->child.pid > 0 && s->child.reaped ? s->child.status : -1;
}

void session__stats(const struct session *s, struct session_stats *out)
{
	long hz = sysconf(_SC_CLK_TCK);

	memset(out, 0, sizeof(*out));
	out->backend = sampler__backend(s->sampler);
	out->seconds = ((s->end_ns ? s->end_ns : now_ns(CLOCK_MONOTONIC)) - s->start_ns) / 1e9;
	out->samples = s->samples;
	out->truncated = s->truncated_before;
	out->pre_exec = s->pre_exec;
	out->sample_errors = s->sample_errors;
	out->max_memory = s->opts.max_memory;
	out->rss = s->rss;
	out->peak_rss = s->peak_rss;
	if (s->writer) {
		struct flush_queue_stats fq;

		flush_queue__stats(s->writer, &fq);
		out->flush_dropped = fq.dropped;
		out->flush_dropped_samples = fq.dropped_samples;
	}
	out->first_sample_err = s->first_sample_err;
	registry__stats(s->registry, &out->registry);
	collector__stats(s->collector, &out->collector);
	if (s->caches_dropped) {
		out->unwind = s->unwind_stats;
		out->symbolizer = s->sym_stats;
	} else {
		if (s->unwinder)
			unwinder__stats(s->unwinder, &out->unwind);
		symbolizer__stats(s->sym, &out->symbolizer);
	}
	if (s->python)
		python__stats(s->python, &out->python);
	out->processes = out->registry.images;
	if (s->mm) {
		struct mmap_events_stats mst;

		mmap_events__stats(s->mm, &mst);
		out->mmap_events.records = mst.records;
		out->mmap_events.mmaps = mst.mmaps;
		out->mmap_events.forks = mst.forks;
		out->mmap_events.execs = mst.execs;
		out->mmap_events.lost = mst.lost;
		out->mmap_events.resets = mst.resets;
		out->mmap_events.head_reads = mst.head_reads;
	}
	out->sampler = s->last_stats;
	out->lost = s->last_stats.counter[SMOLDER_CNT_LOST];
	for (size_t i = 0; i < s->nwatched && out->nbusy_children < SESSION_MAX_BUSY; i++) {
		const struct watched *w = &s->watched[i];
		uint64_t ticks;

		if (procfs_cpu_ticks(w->pid, &ticks, out->busy_children[out->nbusy_children].comm) ||
		    ticks <= w->ticks)
			continue;
		out->busy_children[out->nbusy_children].pid = w->pid;
		out->busy_children[out->nbusy_children].parent = w->parent;
		out->busy_children[out->nbusy_children].cpu_seconds =
			(double)(ticks - w->ticks) / (hz > 0 ? hz : 100);
		out->nbusy_children++;
	}
}
