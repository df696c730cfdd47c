/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flush_queue.c - a writer thread and a bounded queue of finished profiles in front
 * of the session's flush callback (flush_queue.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "flush_queue.h"

#define MAX_BACKLOG 64

struct job {
	struct profile *p;
	bool last;
};

struct flush_queue {
	session_flush_fn fn;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a job arrived, or quit */
	pthread_cond_t idle; /* the queue emptied and the callback returned */
	struct job jobs[MAX_BACKLOG];
	struct profile *spare; /* written and emptied, for the next interval */
	size_t spare_max;      /* bytes: a larger profile (a burst's) is freed instead */
	size_t head, n, backlog;
	bool busy, quit;
	int err;
	struct flush_queue_stats st;
};

static void *writer(void *arg)
{
	struct flush_queue *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct job job;
		bool keep;
		int err;

		while (!q->n && !q->quit)
			pthread_cond_wait(&q->wake, &q->lock);
		if (!q->n)
			break;
		job = q->jobs[q->head];
		q->head = (q->head + 1) % MAX_BACKLOG;
		q->n--;
		q->busy = true;
		pthread_mutex_unlock(&q->lock);

		err = q->fn(job.p, job.last, q->ctx);
		/* Only this thread sets the spare: none now means none until it does. */
		pthread_mutex_lock(&q->lock);
		keep = !job.last && !q->spare;
		pthread_mutex_unlock(&q->lock);
		keep = keep && profile__reserved_bytes(job.p) <= q->spare_max;
		if (keep)
			profile__recycle(job.p);
		else
			profile__free(job.p);

		pthread_mutex_lock(&q->lock);
		if (keep)
			q->spare = job.p;
		q->busy = false;
		q->st.flushed++;
		if (err && !q->err)
			q->err = err;
		if (!q->n)
			pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct flush_queue *flush_queue__new(session_flush_fn fn, void *ctx, size_t backlog,
				     size_t spare_max)
{
	struct flush_queue *q = calloc(1, sizeof(*q));
	int err;

	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	q->fn = fn;
	q->ctx = ctx;
	q->spare_max = spare_max;
	q->backlog = backlog < 1 ? 1 : backlog > MAX_BACKLOG ? MAX_BACKLOG : backlog;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	pthread_cond_init(&q->idle, NULL);
	err = pthread_create(&q->thread, NULL, writer, q);
	if (err) {
		pthread_cond_destroy(&q->idle);
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->lock);
		free(q);
		errno = err;
		return NULL;
	}
	return q;
}

void flush_queue__push(struct flush_queue *q, struct profile *p, bool last)
{
	struct profile *drop = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->n >= q->backlog) {
		/* The callback is behind (a slow or full disk): the oldest interval
		 * waiting goes, so that memory does not grow with the delay. */
		drop = q->jobs[q->head].p;
		q->head = (q->head + 1) % MAX_BACKLOG;
		q->n--;
		q->st.dropped++;
		q->st.dropped_samples += profile__sample_count(drop);
	}
	q->jobs[(q->head + q->n) % MAX_BACKLOG] = (struct job){ p, last };
	q->n++;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	profile__free(drop);
}

struct profile *flush_queue__take_spare(struct flush_queue *q)
{
	struct profile *p;

	pthread_mutex_lock(&q->lock);
	p = q->spare;
	q->spare = NULL;
	pthread_mutex_unlock(&q->lock);
	return p;
}

void flush_queue__wait(struct flush_queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->n || q->busy)
		pthread_cond_wait(&q->idle, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

int flush_queue__take_error(struct flush_queue *q)
{
	int err;

	pthread_mutex_lock(&q->lock);
	err = q->err;
	q->err = 0;
	pthread_mutex_unlock(&q->lock);
	return err;
}

void flush_queue__stats(struct flush_queue *q, struct flush_queue_stats *out)
{
	pthread_mutex_lock(&q->lock);
	*out = q->st;
	pthread_mutex_unlock(&q->lock);
}

void flush_queue__free(struct flush_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->quit = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL); /* it empties the queue before it stops */
	profile__free(q->spare);
	pthread_cond_destroy(&q->idle);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
