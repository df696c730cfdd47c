/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf_events.c - opening perf events and explaining why they could not be opened,
 * for both sampler backends (see perf_events.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "perf_events.h"
#include "procfs.h"

/* EMFILE: perf record's answer, raise the soft limit on descriptors to the hard one.
 * @return true if it was raised (worth retrying). */
static bool raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return false;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

int perf_events_open(struct perf_event_attr *attr, pid_t pid, int cpu)
{
	int fd = (int)syscall(__NR_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0 && errno == EMFILE && raise_nofile())
		fd = (int)syscall(__NR_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void perf_events_explain(int err, unsigned int freq, bool all, bool kernel_stacks,
			 char *msg, size_t len)
{
	long paranoid = procfs_kernel_sysctl("perf_event_paranoid", 2);
	long max_rate;

	if (err == EACCES || err == EPERM) {
		if (all && paranoid > 0)
			snprintf(msg, len, "cannot open cpu-clock perf events on every CPU: "
				 "permission denied (-a needs kernel.perf_event_paranoid <= 0, "
				 "now %ld, or root or CAP_PERFMON)", paranoid);
		else if (kernel_stacks && paranoid >= 2)
			snprintf(msg, len, "cannot open cpu-clock perf events: permission denied "
				 "(kernel.perf_event_paranoid is %ld: kernel stacks need <= 1, "
				 "or run as root or with CAP_PERFMON; --no-kernel works up to 2)",
				 paranoid);
		else
			snprintf(msg, len, "cannot open cpu-clock perf events: permission denied "
				 "(run as root, grant CAP_PERFMON, or lower "
				 "kernel.perf_event_paranoid, now %ld)", paranoid);
		return;
	}
	max_rate = procfs_kernel_sysctl("perf_event_max_sample_rate", -1);
	if (err == EINVAL && max_rate >= 0 && (unsigned long)max_rate < freq) {
		snprintf(msg, len, "-F %u is above kernel.perf_event_max_sample_rate "
			 "(%ld): lower -F or raise the sysctl", freq, max_rate);
		return;
	}
	if (err == ENOENT || err == ENODEV || err == EOPNOTSUPP || err == ENOSYS) {
		snprintf(msg, len, "cannot open cpu-clock perf events: %s (is "
			 "CONFIG_PERF_EVENTS enabled?)", strerror(err));
		return;
	}
	snprintf(msg, len, "cannot open cpu-clock perf events: %s", strerror(err));
}
