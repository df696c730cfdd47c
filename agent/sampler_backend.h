/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sampler_backend.h - the two ways smolder samples, behind the sampler__ API of
 * agent.h: a BPF program on perf events (bpf_sampler.c), and plain perf_event_open
 * ring buffers for machines where BPF cannot be used (perf_sampler.c). Both hand
 * over the same struct smolder_sample records. Internal to agent/.
 */
#ifndef SMOLDER_SAMPLER_BACKEND_H
#define SMOLDER_SAMPLER_BACKEND_H

#include <stdbool.h>

#include "agent.h"

/* Is @pid a live process (not gone, not a zombie)? */
bool sampler_process_alive(pid_t pid);

/* The online CPUs (sysfs "online" list such as "0-3,6") into @cpus, at most @max.
 * @return their number, or a negative errno. */
int sampler_online_cpus(int *cpus, int max);

/* libbpf's warnings from the last bpf_sampler__open(): printed to stderr when @print
 * (the open failed and there is no fallback), else dropped. */
void bpf_sampler__flush_log(bool print);

/* Each backend implements the matching sampler__ function of agent.h. */
struct bpf_sampler;
struct bpf_sampler *bpf_sampler__open(const struct sampler_opts *opts, char *msg, size_t len);
void bpf_sampler__free(struct bpf_sampler *s);
int bpf_sampler__add_target(struct bpf_sampler *s, pid_t pid);
int bpf_sampler__prune_targets(struct bpf_sampler *s);
int bpf_sampler__drain(struct bpf_sampler *s, int timeout_ms, sampler_fn fn, void *ctx);
int bpf_sampler__stats(const struct bpf_sampler *s, struct sampler_stats *out);

struct perf_sampler;
struct perf_sampler *perf_sampler__open(const struct sampler_opts *opts, char *msg, size_t len);
void perf_sampler__free(struct perf_sampler *s);
int perf_sampler__add_target(struct perf_sampler *s, pid_t pid);
int perf_sampler__prune_targets(struct perf_sampler *s);
int perf_sampler__drain(struct perf_sampler *s, int timeout_ms, sampler_fn fn, void *ctx);
int perf_sampler__stats(const struct perf_sampler *s, struct sampler_stats *out);

#endif /* SMOLDER_SAMPLER_BACKEND_H */
