/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sampler.c - the sampler__ API: validates the options once, picks the BPF backend
 * where BPF can be used and falls back to perf_event_open ring buffers where it
 * cannot (no CAP_BPF, no BPF in the kernel), saying so; then calls the chosen
 * backend through its ops table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "sampler_backend.h"

#define MAX_FREQ 100000
#define MIN_RINGBUF_BYTES 4096

struct sampler {
	const struct sampler_ops *ops;
	void *backend;
};

int sampler_opts_check(const struct sampler_opts *opts, char *msg, size_t msglen)
{
	if (opts->freq == 0 || opts->freq > MAX_FREQ) {
		snprintf(msg, msglen, "-F takes a rate from 1 to %d Hz, not %u", MAX_FREQ,
			 opts->freq);
		return -EINVAL;
	}
	if (opts->stack_bytes % 8 || opts->stack_bytes > SMOLDER_MAX_STACK_BYTES) {
		snprintf(msg, msglen, "--stack-bytes takes a multiple of 8 from 8 to %d, "
			 "not %u", SMOLDER_MAX_STACK_BYTES, opts->stack_bytes);
		return -EINVAL;
	}
	if (opts->ringbuf_bytes && (opts->ringbuf_bytes < MIN_RINGBUF_BYTES ||
				    (opts->ringbuf_bytes & (opts->ringbuf_bytes - 1)))) {
		snprintf(msg, msglen, "bad ring buffer size %zu: must be a power of two of "
			 "at least %d bytes", opts->ringbuf_bytes, MIN_RINGBUF_BYTES);
		return -EINVAL;
	}
	return 0;
}

struct sampler *sampler__open(const struct sampler_opts *opts, char *msg, size_t msglen,
			      char *note, size_t notelen)
{
	struct sampler *s;
	char bpf_msg[512] = "";
	int err;

	if (note && notelen)
		note[0] = '\0';
	err = sampler_opts_check(opts, msg, msglen);
	if (err) {
		errno = -err;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (opts->backend != SAMPLER_PERF) {
		s->ops = &bpf_sampler_ops;
		s->backend = s->ops->open(opts, bpf_msg, sizeof(bpf_msg));
		err = errno;
		if (s->backend)
			return s;
		/* Only a missing BPF facility is worth a fallback; anything else (no
		 * perf events at all) would fail the same way there. */
		if (opts->backend == SAMPLER_BPF ||
		    (err != EPERM && err != EACCES && err != ENOSYS && err != EOPNOTSUPP &&
		     err != EINVAL)) {
			snprintf(msg, msglen, "%s", bpf_msg);
			free(s);
			errno = err;
			return NULL;
		}
		if (note && notelen)
			snprintf(note, notelen, "BPF sampling unavailable (%s); falling back "
				 "to perf_event_open sampling", bpf_msg);
	}
	s->ops = &perf_sampler_ops;
	s->backend = s->ops->open(opts, msg, msglen);
	if (!s->backend) {
		err = errno;
		free(s);
		errno = err;
		return NULL;
	}
	return s;
}

void sampler__free(struct sampler *s)
{
	if (!s)
		return;
	s->ops->free(s->backend);
	free(s);
}

const char *sampler__backend(const struct sampler *s)
{
	return s->ops->name;
}

int sampler__set_python(struct sampler *s, pid_t pid, const struct smolder_py_proc *proc)
{
	if (!s->ops->set_python)
		return -EOPNOTSUPP;
	return s->ops->set_python(s->backend, pid, proc);
}

int sampler__add_target(struct sampler *s, pid_t pid)
{
	return s->ops->add_target(s->backend, pid);
}

int sampler__prune_targets(struct sampler *s)
{
	return s->ops->prune_targets(s->backend);
}

int sampler__drain(struct sampler *s, int timeout_ms, const struct sampler_handlers *h)
{
	return s->ops->drain(s->backend, timeout_ms, h);
}

bool sampler__caught_up(const struct sampler *s)
{
	return !s->ops->caught_up || s->ops->caught_up(s->backend);
}

int sampler__stats(const struct sampler *s, struct sampler_stats *out)
{
	return s->ops->stats(s->backend, out);
}
