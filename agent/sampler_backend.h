/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sampler_backend.h - the two ways smolder samples, behind the sampler__ API of
 * agent.h: a BPF program on perf events (bpf_sampler.c) and plain perf_event_open
 * ring buffers for machines where BPF cannot be used (perf_sampler.c). Each exports
 * one ops table; sampler.c picks a backend once at open and then calls through the
 * table, and no backend calls back into sampler.c (as perf's unwind_libunwind_ops).
 * Both hand over the same struct smolder_sample records. Internal to agent/.
 *
 * sampler.c has validated the options (sampler_opts_check) before open is called.
 */
#ifndef SMOLDER_SAMPLER_BACKEND_H
#define SMOLDER_SAMPLER_BACKEND_H

#include "agent.h"

struct sampler_ops {
	const char *name; /* "bpf", "perf" */
	/* NULL with errno set and one line for the user in @msg on failure. */
	void *(*open)(const struct sampler_opts *opts, char *msg, size_t msglen);
	void (*free)(void *backend);
	/* The matching sampler__ functions of agent.h. */
	int (*add_target)(void *backend, pid_t pid);
	int (*prune_targets)(void *backend);
	int (*set_python)(void *backend, pid_t pid, const struct smolder_py_proc *proc); /* NULL:
									   unsupported */
	int (*drain)(void *backend, int timeout_ms, const struct sampler_handlers *h);
	bool (*caught_up)(const void *backend); /* NULL: every drain reads everything */
	int (*stats)(const void *backend, struct sampler_stats *out);
};

extern const struct sampler_ops bpf_sampler_ops;
extern const struct sampler_ops perf_sampler_ops;

#endif /* SMOLDER_SAMPLER_BACKEND_H */
