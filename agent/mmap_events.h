/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmap_events.h - the kernel's reports of executable mappings, forks and execs of
 * every process (perf MMAP2, FORK and COMM records from a dummy event per CPU), handed
 * to the symbolizer in the order they happened, so that a new process's mappings
 * are known without reading /proc (symbolizer.h, "mappings as the kernel reports
 * them"). Internal to agent/.
 */
#ifndef SMOLDER_AGENT_MMAP_EVENTS_H
#define SMOLDER_AGENT_MMAP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct symbolizer;
struct mmap_events;

/*
 * Start the reports on every online CPU, for @sym. Needs the right to observe every
 * process (root, CAP_PERFMON or perf_event_paranoid <= 0).
 * @return the reader, or NULL with errno set and one line in @msg.
 */
struct mmap_events *mmap_events__open(struct symbolizer *sym, char *msg, size_t msglen);
void mmap_events__free(struct mmap_events *m);

/*
 * Hand the records of what happened up to @until (CLOCK_BOOTTIME ns) to the
 * symbolizer, merged across CPUs in time order; later ones stay in their rings. Call
 * it with a sample's time before the sample is handled, and with the time a drain of
 * the samples began once it has read them all. @return the records handed over.
 */
size_t mmap_events__drain_until(struct mmap_events *m, uint64_t until);

struct mmap_events_stats {
	uint64_t records; /* handed over */
	uint64_t mmaps, forks, execs;
	uint64_t lost;    /* records the kernel could not write (rings full) */
	uint64_t resets;  /* times a loss made the symbolizer drop what it was told */
	uint64_t head_reads; /* drains that read the rings' heads (the others were
				answered by the last reading) */
};
void mmap_events__stats(const struct mmap_events *m, struct mmap_events_stats *out);

#endif /* SMOLDER_AGENT_MMAP_EVENTS_H */
