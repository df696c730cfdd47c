/* SPDX-License-Identifier: Apache-2.0 */
/*
 * push.h - the node agent's --push: delivers each flushed interval, one gzip pprof per
 * service, to a Grafana Pyroscope server's /ingest API, from a thread of its own,
 * through a queue bounded in bytes, retrying with exponential backoff and full jitter.
 * Sampling never waits on the network: pusher__push encodes and queues, and only the
 * sending thread talks to the server. What cannot be delivered is counted
 * (pusher__stats) and reported through agent/'s log hook at most once a minute.
 *
 * Error contract: int functions return 0 or a negative errno; pusher__new returns NULL
 * with errno set.
 */
#ifndef SMOLDER_AGENT_PUSH_H
#define SMOLDER_AGENT_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct pusher_opts {
	const char *url;          /* server base URL, e.g. "http://127.0.0.1:4040" (/ingest is
				     appended); user:password@ in it is sent as basic auth */
	unsigned int sample_rate; /* Hz, sent as sampleRate */
	const char *hostname;     /* a label on every series; NULL: gethostname() */
	size_t max_queue_bytes;   /* encoded bodies waiting; 0: 16 MiB. Past it the oldest are
				     dropped (counted); the newest body is always kept */
	double timeout;           /* seconds per request; 0: 10 */
	double backoff_min;       /* seconds before the first retry; 0: 1. Doubles after each
				     failure up to backoff_max; each wait is drawn uniformly
				     from [0, that] (full jitter); reset by a success */
	double backoff_max;       /* 0: 60 */
};

struct push_stats {
	uint64_t intervals;      /* pusher__push calls */
	uint64_t queued;         /* bodies waiting now (the one being sent included) */
	uint64_t queued_bytes;   /* the memory they take */
	uint64_t sent;           /* bodies delivered (2xx) */
	uint64_t bytes_sent;     /* their encoded size */
	uint64_t failures;       /* failed attempts (connect errors, timeouts, non-2xx) */
	uint64_t dropped;        /* bodies given up: queue over its bound, 4xx other than
				    408/429, or left at exit */
};

struct pusher;

/*
 * Validate @opts (the URL must be http:// or https://) and start the sending thread.
 * @return the pusher, or NULL with errno set (EINVAL for bad options) and one line for
 * the user in @err.
 */
struct pusher *pusher__new(const struct pusher_opts *opts, char *err, size_t errlen);

/*
 * Split @interval by its "service" label (samples without one go by their comm),
 * encode each part as gzip pprof covering [@from_ns, @until_ns) (wall-clock ns since
 * the epoch) and queue it. Never waits on the network. An interval without samples
 * queues nothing. @interval is borrowed and read during the call only; no other
 * thread may read it meanwhile (naming its unresolved frames fills a cache in it, see
 * profile__frame_name). Calls may come from any thread.
 * @return 0, or a negative errno, -ENOMEM (nothing of the interval is queued then).
 */
int pusher__push(struct pusher *p, const struct profile *interval, uint64_t from_ns,
		 uint64_t until_ns);

/* Read the counters. Thread-safe. */
void pusher__stats(struct pusher *p, struct push_stats *out);

/*
 * Try to deliver what is queued for at most @grace seconds, then drop the rest
 * (counted, and said in one log line), stop the thread and free. A request under way
 * when the grace ends is cut short at once, or within about a second while it is
 * still resolving the name or connecting. NULL is a no-op.
 */
void pusher__free(struct pusher *p, double grace);

#endif /* SMOLDER_AGENT_PUSH_H */
