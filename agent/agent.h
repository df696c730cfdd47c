/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.h - smolder's sampling side: the sampler (perf-event driven stack sampling of
 * target processes or of every process, with BPF or perf_event_open), the unwinder,
 * the collector that turns raw samples into symbolized profile samples, and the
 * session, the run loop that `record` and the node agent share.
 *
 * Error contract: int functions return 0 or a negative errno; pointer functions
 * return NULL with errno set.
 */
#ifndef SMOLDER_AGENT_H
#define SMOLDER_AGENT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "profile.h"
#include "sample_record.h"
#include "symbolizer.h"

/* ---- messages: agent/ code does not print ---- */

enum agent_log_level {
	AGENT_LOG_NOTE,  /* something the user should know (a fallback, a limit hit) */
	AGENT_LOG_DEBUG, /* detail for -v, such as libbpf's own messages */
};

/* Receives one line (no newline) per message. */
typedef void (*agent_log_fn)(enum agent_log_level level, const char *line, void *ctx);

/* Send agent/'s messages, and libbpf's, to @fn (NULL: drop them). Process-wide. */
void agent__set_log(agent_log_fn fn, void *ctx);

/* ---- sampler ---- */

enum sampler_backend {
	SAMPLER_AUTO, /* BPF where it can be loaded, else perf_event_open */
	SAMPLER_BPF,  /* BPF only: fail if it cannot be loaded */
	SAMPLER_PERF, /* perf_event_open ring buffers, no BPF */
};

struct sampler_opts {
	enum sampler_backend backend;
	unsigned int freq;     /* samples per second per CPU (cpu-clock, freq mode) */
	bool all;              /* every process; otherwise only targets (and their children) */
	bool kernel_stacks;    /* also take kernel stacks */
	unsigned int stack_bytes; /* user stack copied per sample for DWARF unwinding,
				     a multiple of 8 up to SMOLDER_MAX_STACK_BYTES;
				     0: none (frame pointers only) */
	size_t ringbuf_bytes;  /* ring buffer size, a power of two; 0: sized from
				  the CPU count, rate and record size */
	bool no_first_wakeup;  /* a process's first sample waits for the timed drain
				  like any other (the session sets it when the kernel
				  reports mappings: a process gone by then is still
				  known) */
	bool python_wakeups;   /* a young CPython process (exec'd under a CPython file
				  name, or forked by one or by a known interpreter)
				  wakes the reader, so that its interpreter is found
				  and its code named while it runs (sampler.bpf.c's
				  py_wake; the session sets it when it drains rarely) */
};

/* Counters summed over CPUs; see enum smolder_counter in sampler.h. */
struct sampler_stats {
	uint64_t counter[SMOLDER_CNT_MAX];
	uint64_t records; /* sample records read from the kernel */
	uint64_t bytes;   /* their size: what sampling moved per sample */
	uint64_t bpf_run_ns;  /* the BPF sampling program's run time and runs, summed */
	uint64_t bpf_runs;    /* (both 0 unless kernel.bpf_stats_enabled is 1, and
				 with the perf backend) */
};

struct sampler;

/* Check @opts as sampler__open will (rate, stack snapshot size, ring size), so that a
 * command line can refuse bad values before it starts anything.
 * @return 0, or -EINVAL with one line for the user in @msg. */
int sampler_opts_check(const struct sampler_opts *opts, char *msg, size_t msglen);

/* Called for each raw sample; a negative errno return stops the drain with it. */
typedef int (*sampler_fn)(const struct smolder_sample *s, void *ctx);
/* Called for each process event (fork, exec, exit of a sampled process or of one
 * that may be sampled); a negative errno return stops the drain with it. */
typedef int (*sampler_event_fn)(const struct smolder_event *e, void *ctx);

/* What a drain hands records to. Within one drain, events come before samples. */
struct sampler_handlers {
	sampler_fn sample;      /* required */
	sampler_event_fn event; /* NULL: events are dropped */
	void *ctx;
};

/*
 * Start sampling on cpu-clock events: with BPF (a program on every online CPU that
 * filters targets in the kernel) or with perf_event_open ring buffers, as
 * @opts->backend says. With SAMPLER_AUTO, when BPF cannot be used, falls back to
 * perf_event_open and writes one line saying so into @note (which may be NULL).
 * On failure returns NULL with errno set and writes one line for the user into
 * @err (what failed and what to do: missing CAP_BPF/CAP_PERFMON, no BPF, ...).
 */
struct sampler *sampler__open(const struct sampler_opts *opts, char *err, size_t errlen,
			      char *note, size_t notelen);
void sampler__free(struct sampler *s);

/* "bpf" or "perf": the backend in use. */
const char *sampler__backend(const struct sampler *s);

/* Start sampling process @pid (and children it forks from now on).
 * @return 0, -ESRCH if it does not exist (or is a zombie), -ENOSPC if too many. */
int sampler__add_target(struct sampler *s, pid_t pid);

/* Walk the Python frames of CPython process @pid as @proc says (agent/python.h finds
 * it), or no longer when @proc is NULL. @return 0, -EOPNOTSUPP with the perf_event
 * backend, -ENOSPC when too many, or another negative errno. */
int sampler__set_python(struct sampler *s, pid_t pid, const struct smolder_py_proc *proc);

/*
 * Drop targets that have exited (the exit tracepoint already removes most; this
 * catches races with processes that exit while being added).
 * @return the number of live targets, or a negative errno.
 */
int sampler__prune_targets(struct sampler *s);

/*
 * Wait up to @timeout_ms for samples, then hand every waiting process event and then
 * every waiting sample to @h.
 * @return the number of samples handed over, or a negative errno (-EINTR when a
 * signal interrupted the wait: not an error for callers that loop).
 */
int sampler__drain(struct sampler *s, int timeout_ms, const struct sampler_handlers *h);

/* Whether the last drain handed over every sample that was waiting when it began:
 * false when it stopped early to give the caller its turn (a backlog), and the
 * samples of processes whose exit it handed over may still be waiting. */
bool sampler__caught_up(const struct sampler *s);

/* Read the sampler's counters. @return 0 or a negative errno. */
int sampler__stats(const struct sampler *s, struct sampler_stats *out);

/* ---- unwinder: DWARF unwinding of user-stack snapshots (cfi.h; libunwind as fallback) ---- */

struct unwinder;

struct unwinder_opts {
	size_t max_elfs;      /* ELF files kept, each with its unwind tables and an open
				 descriptor; 0: 128 */
	size_t max_processes; /* per-process libunwind address spaces (for the
				 snapshots the CFI interpreter declines); 0: 64 */
	size_t max_bytes;     /* memory those tables and the CFI row cache (up to a
				 sixteenth of it) may take (a file whose tables are
				 larger is not unwound through); 0: 64 MiB */
};

struct unwind_stats {
	uint64_t unwinds;    /* snapshots unwound */
	uint64_t truncated;  /* ended because the snapshot was too small */
	uint64_t failed;     /* ended on an error other than truncation */
	uint64_t elf_loads;  /* ELF files read (cache misses) */
	uint64_t elfs_cached;
	uint64_t elf_failed; /* ELF files that could not be read (cut short, not ELF,
				tables over max_bytes): frames in them are lost */
	uint64_t elf_evictions; /* ELF files dropped for max_elfs or max_bytes */
	uint64_t elf_bytes;  /* memory the cached ELF files hold */
	uint64_t file_reads; /* pages read from files outside their unwind tables
				(code and data libunwind looks at now and then) */
	uint64_t row_hits;   /* frames whose CFI row came from the row cache */
	uint64_t row_misses; /* ... that had to be found and computed */
	uint64_t fallbacks;  /* snapshots the CFI interpreter left to libunwind */
	uint64_t no_info;    /* frames stepped without unwind information (libunwind's
				rules: end of stack, or a frame-pointer guess) */
};

/*
 * Create an unwinder that finds mapped files through @sym (borrowed; it must outlive
 * the unwinder). @opts may be NULL. NULL with errno set on failure.
 */
struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwinder_opts *opts);
void unwinder__free(struct unwinder *u);

/*
 * Where a frame's code is, the same in every process that maps the file: the
 * unwinder's serial number of the file (by build-id, else device and inode; never
 * reused, so a file loaded again after an eviction gets a new one), and the address
 * looked up (a return address less one), as the ELF file places it. file 0: the
 * address is in no file this unwind read (JIT code, a pseudo mapping, or a frame
 * found without one).
 */
struct unwind_loc {
	uint64_t file;
	uint64_t vaddr;
};

/*
 * Unwind process @pid's user stack from registers @regs (SMOLDER_NUM_REGS, libunwind
 * numbering) and the snapshot @stack of @stack_len bytes copied from regs[SP].
 * Writes up to @max instruction addresses, innermost first, to @ips and their count
 * to *@n, and, when @locs is not NULL, where each is to @locs (so that a caller can
 * name a frame once per file rather than once per process); *@truncated says the walk
 * ran off the end of the snapshot.
 * @return 0 (also when truncated), -ENOENT when the walk stopped on missing unwind
 * information or unreadable memory (the frames found so far are still in @ips),
 * -ENOMEM.
 */
int unwinder__unwind(struct unwinder *u, pid_t pid, const uint64_t *regs,
		     const void *stack, size_t stack_len, uint64_t *ips,
		     struct unwind_loc *locs, size_t max, size_t *n, bool *truncated);

/* Drop what is cached for @pid (it exited or exec'd). */
void unwinder__forget_process(struct unwinder *u, pid_t pid);

/* Free every cached ELF file and address space (not counted as evictions); what is
 * unwound later loads them again. */
void unwinder__drop_caches(struct unwinder *u);

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out);

/* ---- process identity, for sample labels ---- */

/* What the labels of a process's samples say about it; empty strings when unknown. */
#define SERVICE_LEN 256 /* process_info's and env_labels' service, with its NUL */
#define VERSION_LEN 128

struct process_info {
	pid_t pid;
	bool kernel_thread;      /* no executable: a kernel thread (service = its comm) */
	uint32_t exe_dev;        /* the executable's device (kernel encoding, as
				    smolder_event.dev) and inode: 0 when unknown */
	uint64_t exe_ino;
	char exe[4096];          /* /proc/PID/exe */
	char build_id[2 * SYMBOLIZER_BUILD_ID_MAX + 1]; /* the executable's, hex */
	char cgroup[512];        /* cgroup v2 path (or v1 systemd hierarchy) */
	char container_id[65];   /* 64 hex digits from the cgroup path */
	char pod_uid[37];        /* Kubernetes pod UID from the cgroup path */
	char unit[256];          /* systemd .service unit from the cgroup path */
	char service[SERVICE_LEN]; /* SMOLDER_SERVICE, else OTEL_SERVICE_NAME, else
				    OTEL_RESOURCE_ATTRIBUTES' service.name, else the
				    container, else the unit, else the exe's name */
	char version[VERSION_LEN]; /* SMOLDER_VERSION, else OTEL_RESOURCE_ATTRIBUTES'
				    service.version; empty when neither is set */
};

/* The labels a process's environment names, when it is known without /proc: the
 * exec event carried it (an environment of up to SMOLDER_ENV_LEN bytes). */
struct env_labels {
	bool known;             /* false: read /proc/PID/environ */
	char service[SERVICE_LEN]; /* as process_info's, empty when not named */
	char version[VERSION_LEN];
};

/* The service and version environment @env (@len bytes of NAME=value strings, each
 * NUL-terminated) names, into @out (known). */
void procinfo__env_labels(const char *env, size_t len, struct env_labels *out);

/*
 * Read what the labels say about live process @pid from /proc; its service and
 * version from @env when that is known (may be NULL).
 * @return 0 (fields it could not read stay empty), or -ESRCH when the process is gone.
 */
int procinfo__read(pid_t pid, const struct env_labels *env, struct process_info *info);

/* Fill @info (its pid kept) for a process that is gone, from what is known of its exec:
 * the executable's path (NULL or "" when unknown) and the identity, size and time of
 * the file it ran, @st (NULL: unknown), whose build-id comes from the cache by @st,
 * else, when @exe_checked (@exe names that very file on disk), from the file (none
 * when not); its cgroup path (may be NULL), its comm and its environment's labels
 * (may be NULL). */
void procinfo__from_exec(const char *exe, const struct stat *st, bool exe_checked,
			 const char *cgroup_path, const char *comm,
			 const struct env_labels *env, struct process_info *info);

/*
 * Fill @info for process @pid whose executable and cgroup are already known: @exe,
 * which stat says is @st, and @cgroup_path. Only its environment is read from /proc
 * (the service and version), unless @env knows it already (may be NULL); then nothing
 * is read of the process. @return 0, or -ESRCH when the process is gone.
 */
int procinfo__read_known(pid_t pid, const char *exe, const struct stat *st,
			 const char *cgroup_path, const struct env_labels *env,
			 struct process_info *info);

/* Build-ids read from files so far (by every thread): what the cache keyed by file
 * identity, size and time did not answer. */
uint64_t procinfo__build_id_reads(void);

/* Whether the build-id of the file @st describes (device, inode, size, mtime) is
 * cached, so that procinfo__read_known opens nothing for it. */
bool procinfo__build_id_cached(const struct stat *st);

/* The path of cgroup id @cgroup_id if remembered (no search). @return 0 or -ENOENT. */
int procinfo__cgroup_path_cached(uint64_t cgroup_id, char *buf, size_t len);

/* Remember that cgroup id @cgroup_id is at @cgroup_path (as /proc/PID/cgroup says),
 * if cgroupfs agrees: the directory's inode is the id (cgroup v2). */
void procinfo__remember_cgroup(uint64_t cgroup_id, const char *cgroup_path);

/* @dev (a stat st_dev) in the kernel's encoding, as BPF reads it (major << 20 | minor). */
uint32_t procinfo__kernel_dev(dev_t dev);

/* The cgroup v2 path ("/system.slice/x.service") of cgroup id @cgroup_id.
 * @return 0, or -ENOENT (no such cgroup, or cgroup v1). */
int procinfo__cgroup_path(uint64_t cgroup_id, char *buf, size_t len);

/* Fill @info's cgroup, container_id, pod_uid and unit from a cgroup path. */
void procinfo__parse_cgroup(const char *cgroup_path, struct process_info *info);

/* ---- process registry: one owner for what is known of each process ---- */

/* The labels of one program image of a process (shared, read-only: the images of one
 * program started alike share them). */
struct process_labels {
	const char *exe, *build_id, *cgroup, *container_id, *pod_uid, *unit, *service;
	const char *version; /* "" when the process's environment names none */
	bool kernel_thread;
	uint64_t serial; /* names these labels (nonzero), never reused in a registry's
			    life: a client may cache what it makes of them by it */
};

/* A process as samples see it. */
struct process {
	pid_t pid;
	uint32_t id; /* this program image of this pid: a new one after an exec or a
			pid reuse, never reused within a registry's life (nonzero) */
	const struct process_labels *labels;
};

struct registry;

struct registry_opts {
	size_t max_processes; /* tracked at once; 0: 32768. The least recently sampled
				 is evicted past it (counted). */
	uint64_t (*clock_ns)(void); /* a monotonic clock in ns, for how old a check of a
				       path on disk is; NULL: CLOCK_MONOTONIC (tests set
				       their own) */
};

struct registry_stats {
	uint64_t live;        /* processes tracked now */
	uint64_t images;      /* program images seen (struct process ids handed out) */
	uint64_t exits;       /* freed after their exit (or the reuse of their pid) */
	uint64_t evictions;   /* freed because the registry was full */
	uint64_t proc_reads;  /* labels read from /proc */
	uint64_t from_known;  /* labels of a program seen before, its executable and
				 cgroup known by file identity and cgroup id: at most its
				 environment read (a proc_read), none when the exec carried it */
	uint64_t env_from_exec; /* exec events that carried the environment */
	uint64_t from_parent; /* labels taken from the parent at fork */
	uint64_t from_event;  /* labels rebuilt from the exec event: gone before read */
	uint64_t unlabelled;  /* images of user processes with no executable known */
	uint64_t pending_dropped; /* images announced and dropped unsampled: more execs
				     of one process in a drain interval than are kept */
	uint64_t known_unchecked; /* of from_known, execs matched by the event alone
				     (its path, file identity, size and time): no stat */
	uint64_t known_recent; /* checks of a known path for an exec by another path
				  answered by a stat of it less than a second old, for
				  the same file, size and time: a stat saved each */
	uint64_t labels_shared; /* of from_known, labels another image of the same
				   file, cgroup and environment labels has already */
};

/* Called when what a client holds for @pid is no longer valid: the process exited,
 * exec'd a new program, or was evicted. Clients hang their per-process state on
 * the registry this way; it calls no module itself. */
typedef void (*registry_forget_fn)(pid_t pid, void *ctx);

/* NULL with errno set on failure. @opts may be NULL. */
struct registry *registry__new(const struct registry_opts *opts);
void registry__free(struct registry *r);

/* Call @fn(pid, @ctx) whenever a process is forgotten. @return 0 or -ENOSPC (at most
 * 8 clients). */
int registry__subscribe(struct registry *r, registry_forget_fn fn, void *ctx);

/* A process event from the kernel: a fork gives the child its parent's labels, an
 * exec announces a new program image (its labels are read at its first sample), an
 * exit frees the process at the second registry__reap after it. Reads nothing from /proc but a
 * forking parent's labels the first time it is seen. @return 0 or -ENOMEM. */
int registry__event(struct registry *r, const struct smolder_event *e);

/*
 * The process a sample of @pid taken at @time_ns (CLOCK_BOOTTIME) belongs to: when an
 * exec or fork event at or before @time_ns came since its current image, the process
 * now runs a new image. Its labels are read now: from /proc while the process runs
 * the file the exec named, else from the event (or the parent's, for a fork); from
 * /proc for a process no event announced. NULL only when out of memory.
 */
const struct process *registry__sample(struct registry *r, pid_t pid, uint64_t time_ns);

/* Start tracking live process @pid now (a target given by the user), reading its
 * labels while it lives. @return 0 or -ENOMEM. */
int registry__add(struct registry *r, pid_t pid);

/* Free the processes whose exit was seen before the previous call (call after each
 * drain that read everything: a process's samples were all committed before its
 * exit, but one may sit behind another CPU's record still being written when a
 * drain reads the exit, and be read by the next drain only). */
void registry__reap(struct registry *r);

void registry__stats(const struct registry *r, struct registry_stats *out);

/* ---- collector: raw samples -> symbolized profile samples ---- */

struct collector;

/* How user stacks become frames. */
enum unwind_mode {
	UNWIND_AUTO,  /* DWARF over the snapshot where there is one, else frame pointers */
	UNWIND_FP,    /* the kernel's frame-pointer walk only */
	UNWIND_DWARF, /* DWARF only (libunwind still follows frame pointers through
			 code that has no unwind tables) */
};

/* How the collector turns a raw sample into frames: one struct, so that what the
 * symbolizer and the unwinder are created with agrees with it (session.c). */
struct collector_opts {
	enum unwind_mode unwind;
	bool inline_frames; /* also show functions inlined at each user frame, from
			       DWARF, as "NAME (inlined)" (the symbolizer must have been
			       created with symbolizer_opts.inline_frames) */
	bool no_python;     /* native frames only, even in CPython processes */
	bool python_native; /* keep the eval loop's native frames beside the Python
			       frames that replace them */
};

struct collector_stats {
	uint64_t addr_cache_hits, addr_cache_misses; /* frames named from the cache */
	uint64_t addr_cache_file_hits; /* of the hits, those by the frame's place in its
					  file (another process may have named it) */
	uint64_t addr_cache_resets;    /* emptied because it was full */
	uint64_t python_unnamed; /* runs of Python frames left as the native eval loop
				    frame: the process's memory could not be read */
	uint64_t python_unknown; /* Python frames shown "[unknown]": their code object
				    was freed before it was named */
};

/*
 * Create a collector adding to @profile, resolving names with @sym, unwinding with
 * @unwinder and labelling with what @registry knows of each process (all borrowed;
 * they must outlive the collector; @unwinder may be NULL with UNWIND_FP). NULL with
 * errno set on failure.
 */
struct collector *collector__new(struct profile *profile, struct symbolizer *sym,
				 struct unwinder *unwinder, struct registry *registry,
				 const struct collector_opts *opts);
void collector__free(struct collector *c);

/* Add from now on to @profile (borrowed), a new one after a flush: what the collector
 * remembered of the old profile's ids is dropped. @return 0 or -ENOMEM. */
int collector__reset(struct collector *c, struct profile *profile);

/* What the Python frame support (agent/python.h) did. */
struct python_stats {
	uint64_t processes;     /* CPython processes whose frames the sampler walks */
	uint64_t unsupported;   /* CPython processes of a version not supported */
	uint64_t probe_errors;  /* interpreters that could not be found or read */
	uint64_t codes_read;    /* code objects named (cache misses) */
	uint64_t code_errors;   /* Python frames that could not be named */
	uint64_t code_resets;   /* names dropped because they outgrew their budget */
};

struct python;
/* Name the Python frames of samples with @py (borrowed; agent/python.h), and tell it
 * of processes running CPython's eval loop. NULL: native frames only. */
void collector__set_python(struct collector *c, struct python *py);

/* Symbolize @s and add it to the profile. @return 0 or a negative errno. */
int collector__add(struct collector *c, const struct smolder_sample *s);

void collector__stats(const struct collector *c, struct collector_stats *out);

/* ---- session: the run loop shared by `record` and the node agent ---- */

struct session;

/* Hand over the profile of an interval (the session's; do not keep it). @last: the
 * run is ending. With a flush interval it is called on a thread of the session's own,
 * one interval at a time. A negative errno return is reported by session__run, which
 * still flushes the rest at the end. */
typedef int (*session_flush_fn)(struct profile *p, bool last, void *ctx);
/* About once a second while sampling: seconds since the start, samples so far. */
typedef void (*session_progress_fn)(double seconds, uint64_t samples, void *ctx);

struct session_opts {
	struct sampler_opts sampler;     /* .all: every process; .kernel_stacks also
					    decides whether kernel frames are named */
	struct collector_opts collector;
	const pid_t *pids;               /* processes to sample, with the children they
					    fork from now on */
	size_t npids;
	bool children;                   /* also the children @pids have already */
	char *const *cmd;                /* or: run this command (NULL-terminated argv)
					    and sample it from its first instruction */
	double duration;                 /* seconds; 0: until session__stop, or until
					    every target has exited */
	double flush_interval;           /* seconds between flushes; 0: one at the end */
	size_t max_memory;               /* bytes the caches are sized to (symbolizer,
					    unwinder, registry); 0: 64 MiB with
					    sampler.all, else 32 MiB */
	session_flush_fn flush;          /* required */
	session_progress_fn progress;    /* optional */
	void *ctx;                       /* for flush and progress */
};

#define SESSION_MAX_BUSY 8

struct session_stats {
	const char *backend;     /* "bpf" or "perf" */
	double seconds;          /* sampled for */
	uint64_t samples;        /* added to profiles, over every flush */
	uint64_t lost;           /* dropped by the kernel side (ring full) */
	uint64_t truncated;      /* stacks cut short */
	uint64_t pre_exec;       /* samples of the command before its exec: they show
				    smolder's fork, not the command, and are dropped */
	uint64_t sample_errors;  /* samples and process events that could not be
				    recorded (each costs itself, never the run) */
	int first_sample_err;    /* the first one's negative errno */
	size_t max_memory;       /* the budget in force (session_opts.max_memory) */
	size_t rss;              /* resident memory at the end of the run, bytes */
	size_t peak_rss;         /* its peak over the run */
	uint64_t flush_dropped;  /* intervals dropped unwritten: the flush callback
				    fell more than a backlog behind */
	uint64_t flush_dropped_samples;
	size_t processes;        /* distinct processes sampled (program images) */
	struct {                 /* the kernel's mapping records (all 0 without them) */
		uint64_t records, mmaps, forks, execs;
		uint64_t lost;   /* not written: the rings were full */
		uint64_t resets; /* losses after which all was read from /proc again */
		uint64_t head_reads; /* drains that read the rings (not every sample) */
	} mmap_events;
	struct sampler_stats sampler;       /* as of the last flush, or of the last
					       session__refresh_sampler_stats */
	struct registry_stats registry;
	struct collector_stats collector;
	struct unwind_stats unwind;         /* zero without DWARF unwinding */
	struct python_stats python;         /* zero with collector.no_python */
	struct symbolizer_stats symbolizer;
	/* Children the targets had when sampling began, which were not followed
	 * (see session_opts.children) and used CPU meanwhile: the processes the user
	 * probably meant when the targets themselves never ran. */
	struct {
		pid_t pid, parent;
		char comm[SMOLDER_COMM_LEN];
		double cpu_seconds;
	} busy_children[SESSION_MAX_BUSY];
	size_t nbusy_children;
};

/*
 * Open everything a run needs (sampler, symbolizer, unwinder, collector), start
 * following the targets, and start the command if there is one.
 * @return the session, or NULL with errno set and one line for the user in @msg
 * (no such process, no permission, BPF unavailable and no fallback, ...).
 */
struct session *session__open(const struct session_opts *opts, char *msg, size_t msglen);

/*
 * Sample until the duration has passed, session__stop is called, or every target has
 * exited, flushing each interval and always at the end (also after a failure: what
 * was collected is handed over). A sample that cannot be recorded is counted
 * (session_stats.sample_errors), not fatal.
 * @return 0, or a negative errno: with one line in @msg when reading samples
 * failed; with @msg empty when a flush failed (the flush callback reports its
 * own failures; sampling goes on after a failed flush that was not the last).
 */
int session__run(struct session *s, char *msg, size_t msglen);

/* End the run at the next wakeup (within ~1 s; at once when a signal interrupts
 * the wait). Async-signal-safe. */
void session__stop(struct session *s);

void session__stats(const struct session *s, struct session_stats *out);

/* Read the sampler's counters now (a system call per counter), for session__stats
 * between flushes; on the session's thread (its progress callback). */
void session__refresh_sampler_stats(struct session *s);

/* The command's exit status as waitpid gives it, when it has exited; -1 otherwise. */
int session__child_status(const struct session *s);

/* Free the session; a command it started that still runs is ended (SIGTERM, then
 * SIGKILL after 5 s). */
void session__free(struct session *s);

/* ---- daemon: the node agent's engine (daemon.c) ---- */

struct daemon;

/* Each flushed interval with samples, after the store took it (or kept it), on the
 * session's writer thread: for a push to a remote backend. Must not block long. */
typedef void (*daemon_interval_fn)(const struct profile *p, uint64_t from_ns,
				   uint64_t to_ns, void *ctx);
/* About once a second on the run loop's thread (a place to act on a SIGHUP). */
typedef void (*daemon_tick_fn)(void *ctx);

struct daemon_opts {
	const char *store_dir;     /* created if missing */
	enum sampler_backend backend;
	unsigned int freq;         /* Hz per CPU; 0: 19 */
	double flush_interval;     /* seconds between store batches; 0: 10 */
	uint64_t retention_ns;     /* delete what is older; 0: keep */
	uint64_t max_size;         /* store bytes; 0: unbounded */
	size_t max_memory;         /* the session's cache budget; 0: its default */
	size_t max_backlog;        /* intervals held while the store fails; 0: 32 */
	bool drop_capabilities;    /* once sampling is attached, keep only the
				      capabilities it still uses (daemon__drop_capabilities):
				      threads started after daemon__open inherit that */
	daemon_interval_fn interval; /* optional */
	daemon_tick_fn tick;         /* optional */
	void *ctx;
};

/* Every counter /metrics shows, as of the last second. */
struct daemon_stats {
	struct session_stats session;
	double uptime;              /* seconds */
	double cpu_user, cpu_sys;   /* the agent's own CPU seconds */
	uint64_t intervals;         /* flushes */
	uint64_t samples_flushed;
	uint64_t store_appends;     /* intervals written */
	uint64_t store_errors;      /* intervals the store refused (kept for a retry) */
	int store_err;              /* the last flush's error, 0 when it succeeded */
	double store_ok_age;        /* seconds since the store last took a write */
	uint64_t store_bytes, store_segments;
	uint64_t backlog;           /* intervals waiting for the store now */
	uint64_t backlog_dropped, backlog_dropped_samples; /* over max_backlog: lost */
	uint64_t retention_segments, retention_bytes, retention_errors;
	uint64_t disk_full_segments; /* of those, deleted to make room on a full disk */
	uint64_t deploys_detected, deploy_errors, deploy_keys_full;
	double loop_age;            /* seconds since the run loop last reported */
};

/* Refuse to run in a PID namespace other than the host's: the agent would see only
 * its own container. @return 0, or -EPERM with one line in @msg. */
int daemon__check_pid_namespace(char *msg, size_t msglen);

/* Open the store and start sampling every process. NULL with errno set and one line
 * for the user in @msg on failure. */
struct daemon *daemon__open(const struct daemon_opts *opts, char *msg, size_t msglen);
/* Sample until daemon__stop, then flush the last interval. @return as session__run. */
int daemon__run(struct daemon *d, char *msg, size_t msglen);
/* End the run within ~1 s. Async-signal-safe. */
void daemon__stop(struct daemon *d);
/* New retention bounds, applied from the next flush. */
void daemon__set_retention(struct daemon *d, uint64_t retention_ns, uint64_t max_size);
/* Thread-safe. */
void daemon__stats(struct daemon *d, struct daemon_stats *out);
/* Thread-safe: the run loop is alive, the store takes files, intervals are stored.
 * One line in @msg either way. */
bool daemon__healthy(struct daemon *d, char *msg, size_t msglen);
const struct daemon_opts *daemon__opts(const struct daemon *d);
/* Give up, in the calling thread (capabilities are per thread), the capabilities
 * sampling no longer needs once attached, from the bounding set too, and set
 * no_new_privs. @return 0, or a negative errno with a line in @msg. */
int daemon__drop_capabilities(char *msg, size_t msglen);
void daemon__free(struct daemon *d);

#endif /* SMOLDER_AGENT_H */
