/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sampler.c - the sampler__ API: picks the BPF backend where BPF can be used and
 * falls back to perf_event_open ring buffers where it cannot (no CAP_BPF, no BPF in
 * the kernel), saying so; then forwards every call to the chosen backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "sampler_backend.h"

struct sampler {
	struct bpf_sampler *bpf;   /* exactly one of the two is set */
	struct perf_sampler *perf;
};

/* Read /proc/@pid/@name (its first @size - 1 bytes) into @buf. @return false if gone. */
static bool read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

bool sampler_process_alive(pid_t pid)
{
	char buf[4096]; /* "Threads:" is a thousand bytes into status */

	if (!read_proc(pid, "stat", buf, sizeof(buf)))
		return false;
	/* The state follows the last ')' (comm may itself contain parentheses). */
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ' || rp[2] == 'X' || rp[2] == 'x')
		return false;
	if (rp[2] != 'Z')
		return true;
	/* A zombie leader whose other threads still run (it called pthread_exit):
	 * the process is alive until its last thread exits. */
	if (!read_proc(pid, "status", buf, sizeof(buf)))
		return false;
	char *threads = strstr(buf, "\nThreads:");
	return threads && atoi(threads + 9) > 1;
}

int sampler_online_cpus(int *cpus, int max)
{
	char buf[4096];
	int n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n")) {
		int lo, hi;
		if (sscanf(tok, "%d-%d", &lo, &hi) != 2)
			hi = lo = atoi(tok);
		for (int c = lo; c <= hi && n < max; c++)
			cpus[n++] = c;
	}
	return n ? n : -EIO;
}

struct sampler *sampler__open(const struct sampler_opts *opts, char *msg, size_t msglen,
			      char *note, size_t notelen)
{
	struct sampler *s = calloc(1, sizeof(*s));
	char bpf_msg[512] = "";
	int err;

	if (note && notelen)
		note[0] = '\0';
	if (!s) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (opts->backend != SAMPLER_PERF) {
		s->bpf = bpf_sampler__open(opts, bpf_msg, sizeof(bpf_msg));
		err = errno;
		if (s->bpf) {
			bpf_sampler__flush_log(false);
			return s;
		}
		/* Only a missing BPF facility is worth a fallback; anything else (a bad
		 * -F, no perf events at all) would fail the same way there. */
		if (opts->backend == SAMPLER_BPF ||
		    (err != EPERM && err != EACCES && err != ENOSYS && err != EOPNOTSUPP &&
		     err != EINVAL)) {
			bpf_sampler__flush_log(true);
			snprintf(msg, msglen, "%s", bpf_msg);
			free(s);
			errno = err;
			return NULL;
		}
		bpf_sampler__flush_log(false);
		if (note && notelen)
			snprintf(note, notelen, "BPF sampling unavailable (%s); falling back "
				 "to perf_event_open sampling", bpf_msg);
	}
	s->perf = perf_sampler__open(opts, msg, msglen);
	if (!s->perf) {
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
	bpf_sampler__free(s->bpf);
	perf_sampler__free(s->perf);
	free(s);
}

const char *sampler__backend(const struct sampler *s)
{
	return s->bpf ? "bpf" : "perf";
}

int sampler__add_target(struct sampler *s, pid_t pid)
{
	return s->bpf ? bpf_sampler__add_target(s->bpf, pid)
		      : perf_sampler__add_target(s->perf, pid);
}

int sampler__prune_targets(struct sampler *s)
{
	return s->bpf ? bpf_sampler__prune_targets(s->bpf)
		      : perf_sampler__prune_targets(s->perf);
}

int sampler__drain(struct sampler *s, int timeout_ms, sampler_fn fn, void *ctx)
{
	return s->bpf ? bpf_sampler__drain(s->bpf, timeout_ms, fn, ctx)
		      : perf_sampler__drain(s->perf, timeout_ms, fn, ctx);
}

int sampler__stats(const struct sampler *s, struct sampler_stats *out)
{
	return s->bpf ? bpf_sampler__stats(s->bpf, out) : perf_sampler__stats(s->perf, out);
}
