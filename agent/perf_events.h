/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf_events.h - perf_event_open helpers both sampler backends use: the syscall with
 * perf record's answer to EMFILE, and the one explanation of why cpu-clock events
 * could not be opened. A leaf (it reads sysctls through procfs.h only). Internal to
 * agent/.
 */
#ifndef SMOLDER_AGENT_PERF_EVENTS_H
#define SMOLDER_AGENT_PERF_EVENTS_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* perf_event_open(@attr, @pid, @cpu, no group, CLOEXEC); on EMFILE raises the soft
 * descriptor limit to the hard one and tries once more.
 * @return the fd, or a negative errno. */
int perf_events_open(struct perf_event_attr *attr, pid_t pid, int cpu);

/* What the user should read when cpu-clock events could not be opened with error
 * @err (a positive errno) at @freq Hz, for every process (@all) or targets, with or
 * without kernel stacks: one line into @msg. */
void perf_events_explain(int err, unsigned int freq, bool all, bool kernel_stacks,
			 char *msg, size_t len);

#endif /* SMOLDER_AGENT_PERF_EVENTS_H */
