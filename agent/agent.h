/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.h - smolder's sampling side: the BPF sampler (perf-event driven stack
 * sampling of target processes or of every process) and the collector that turns
 * its raw samples into symbolized profile samples.
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
#include <sys/types.h>

#include "profile.h"
#include "sampler.h"
#include "symbolizer.h"

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
};

/* Counters summed over CPUs; see enum smolder_counter in sampler.h. */
struct sampler_stats {
	uint64_t counter[SMOLDER_CNT_MAX];
	uint64_t records; /* sample records read from the kernel */
	uint64_t bytes;   /* their size: what sampling moved per sample */
};

struct sampler;

/* Called for each raw sample; a negative errno return stops the drain with it. */
typedef int (*sampler_fn)(const struct smolder_sample *s, void *ctx);

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

/*
 * Drop targets that have exited (the exit tracepoint already removes most; this
 * catches races with processes that exit while being added).
 * @return the number of live targets, or a negative errno.
 */
int sampler__prune_targets(struct sampler *s);

/*
 * Wait up to @timeout_ms for samples, then hand every waiting sample to @fn.
 * @return the number of samples handed over, or a negative errno (-EINTR when a
 * signal interrupted the wait: not an error for callers that loop).
 */
int sampler__drain(struct sampler *s, int timeout_ms, sampler_fn fn, void *ctx);

/* Read the sampler's counters. @return 0 or a negative errno. */
int sampler__stats(const struct sampler *s, struct sampler_stats *out);

/* ---- unwinder: DWARF unwinding of user-stack snapshots (libunwind) ---- */

struct unwinder;

struct unwinder_opts {
	size_t max_elfs;      /* ELF files kept mapped with their unwind tables; 0: 128 */
	size_t max_processes; /* per-process libunwind address spaces; 0: 64 */
};

struct unwind_stats {
	uint64_t unwinds;    /* snapshots unwound */
	uint64_t truncated;  /* ended because the snapshot was too small */
	uint64_t failed;     /* ended on an error other than truncation */
	uint64_t elf_loads;  /* ELF files opened (cache misses) */
	uint64_t elfs_cached;
};

/*
 * Create an unwinder that finds mapped files through @sym (borrowed; it must outlive
 * the unwinder). @opts may be NULL. NULL with errno set on failure.
 */
struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwinder_opts *opts);
void unwinder__free(struct unwinder *u);

/*
 * Unwind process @pid's user stack from registers @regs (SMOLDER_NUM_REGS, libunwind
 * numbering) and the snapshot @stack of @stack_len bytes copied from regs[SP].
 * Writes up to @max instruction addresses, innermost first, to @ips and their count
 * to *@n; *@truncated says the walk ran off the end of the snapshot.
 * @return 0 (also when truncated), -ENOENT when the walk stopped on missing unwind
 * information or unreadable memory (the frames found so far are still in @ips),
 * -ENOMEM.
 */
int unwinder__unwind(struct unwinder *u, pid_t pid, const uint64_t *regs,
		     const void *stack, size_t stack_len, uint64_t *ips, size_t max,
		     size_t *n, bool *truncated);

/* Drop what is cached for @pid (it exited or exec'd). */
void unwinder__forget_process(struct unwinder *u, pid_t pid);

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out);

/* ---- process identity, for sample labels ---- */

/* What the labels of a process's samples say about it; empty strings when unknown. */
struct process_info {
	pid_t pid;
	char exe[4096];          /* /proc/PID/exe */
	char build_id[2 * SYMBOLIZER_BUILD_ID_MAX + 1]; /* the executable's, hex */
	char cgroup[512];        /* cgroup v2 path (or v1 systemd hierarchy) */
	char container_id[65];   /* 64 hex digits from the cgroup path */
	char pod_uid[37];        /* Kubernetes pod UID from the cgroup path */
	char unit[256];          /* systemd .service unit from the cgroup path */
	char service[256];       /* SMOLDER_SERVICE, else container, else unit, else exe name */
};

struct procinfo;

/* A cache of process_info, at most @max_processes (0: 4096), LRU. NULL + errno. */
struct procinfo *procinfo__new(size_t max_processes);
void procinfo__free(struct procinfo *pi);

/*
 * What is known of @pid, read from /proc at the first call (fields stay empty for a
 * process that is already gone). The pointer is valid until the next call.
 * NULL only on allocation failure.
 */
const struct process_info *procinfo__get(struct procinfo *pi, pid_t pid);

/* Drop @pid (it exited; its pid may be reused). */
void procinfo__forget(struct procinfo *pi, pid_t pid);

/* Fill @info's cgroup, container_id, pod_uid and unit from a cgroup path. */
void procinfo__parse_cgroup(const char *cgroup_path, struct process_info *info);

/* ---- kernel symbols from the kernel (bpf_snprintf %pS), not /proc/kallsyms ---- */

struct ksym;

/* Load the BPF helper program. NULL with errno set when BPF cannot be used (callers
 * then fall back to the symbolizer's /proc/kallsyms). */
struct ksym *ksym__new(void);
void ksym__free(struct ksym *k);

/*
 * Name kernel address @addr: *@name (valid until the next call), *@offset from the
 * symbol, *@module "[kernel]" or "[modname]". @return 0, -ENOENT when no symbol
 * covers it, or a negative errno.
 */
int ksym__resolve(struct ksym *k, uint64_t addr, const char **name, uint64_t *offset,
		  const char **module);

/* ---- collector: raw samples -> symbolized profile samples ---- */

struct collector;

/* How user stacks become frames. */
enum unwind_mode {
	UNWIND_AUTO,  /* DWARF over the snapshot where there is one, else frame pointers */
	UNWIND_FP,    /* the kernel's frame-pointer walk only */
	UNWIND_DWARF, /* DWARF only (libunwind still follows frame pointers through
			 code that has no unwind tables) */
};

/*
 * Create a collector adding to @profile, resolving names with @sym and unwinding
 * with @unwinder (all borrowed; they must outlive the collector; @unwinder may be
 * NULL with UNWIND_FP). NULL with errno set on failure.
 */
struct collector *collector__new(struct profile *profile, struct symbolizer *sym,
				 struct unwinder *unwinder, enum unwind_mode mode);
void collector__free(struct collector *c);

/* Also show functions inlined at each user frame, from DWARF, as "NAME (inlined)"
 * (the symbolizer must have been created with inline_frames). */
void collector__set_inline(struct collector *c, bool on);

/* Name kernel frames with @k (borrowed) instead of the symbolizer's /proc/kallsyms. */
void collector__set_ksym(struct collector *c, struct ksym *k);

/* Symbolize @s and add it to the profile. @return 0 or a negative errno. */
int collector__add(struct collector *c, const struct smolder_sample *s);

/* Distinct processes seen so far. */
size_t collector__process_count(const struct collector *c);

#endif /* SMOLDER_AGENT_H */
