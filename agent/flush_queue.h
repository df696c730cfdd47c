/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flush_queue.h - hands the profiles of finished intervals to the session's flush
 * callback on a thread of its own, so that writing them (a store append with its
 * fdatasync, a push over the network) never holds up sampling. Internal to agent/.
 */
#ifndef SMOLDER_FLUSH_QUEUE_H
#define SMOLDER_FLUSH_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"

struct flush_queue;

struct flush_queue_stats {
	uint64_t flushed;         /* profiles handed to the callback */
	uint64_t dropped;         /* dropped unwritten because the backlog was full */
	uint64_t dropped_samples; /* the samples they held */
};

/* Start the writer thread, which calls @fn(profile, last, @ctx) for each profile in
 * turn. At most @backlog profiles wait. A written profile that holds at most
 * @spare_max bytes (profile__reserved_bytes) is kept for flush_queue__take_spare; 0
 * keeps none. NULL with errno set on failure. */
struct flush_queue *flush_queue__new(session_flush_fn fn, void *ctx, size_t backlog,
				     size_t spare_max);

/* Hand @p over (the queue owns it: frees it once written, or keeps it emptied for
 * flush_queue__take_spare). When @backlog profiles already wait,
 * the oldest waiting one is dropped and counted: memory stays bounded when the
 * callback cannot keep up. Never blocks on the callback. */
void flush_queue__push(struct flush_queue *q, struct profile *p, bool last);

/* An empty profile for the next interval: the one the writer wrote last, emptied
 * with its memory kept (profile__recycle), or NULL when there is none (yet). The
 * caller owns it. */
struct profile *flush_queue__take_spare(struct flush_queue *q);

/* Wait until every profile handed over has been through the callback. */
void flush_queue__wait(struct flush_queue *q);

/* The first negative errno the callback returned since the last call, or 0. */
int flush_queue__take_error(struct flush_queue *q);

void flush_queue__stats(struct flush_queue *q, struct flush_queue_stats *out);

/* Wait for what is queued, stop the thread and free. */
void flush_queue__free(struct flush_queue *q);

#endif /* SMOLDER_FLUSH_QUEUE_H */
