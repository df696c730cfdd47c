/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmap_events.c - the kernel's reports of executable mappings, forks and execs (see
 * mmap_events.h).
 *
 * One PERF_COUNT_SW_DUMMY event per CPU counts nothing and samples nothing; it is
 * there for its side records: MMAP2 for each executable mapping made (with the file's
 * build-id, which the kernel reads from the page cache: no file for smolder to open),
 * FORK, and COMM flagged EXEC. Each record ends with its task and time (sample_id_all;
 * CLOCK_BOOTTIME, the samples' clock). A process's records can be on several CPUs'
 * rings (a fork on the parent's CPU, the child's exec on another), so a drain merges
 * the rings by time. And it stops at a time: a sample taken before a process exec'd
 * must see the mappings it had then, not the ones its exec made before the sample was
 * read, so records wait in their ring until the samples before them are handled.
 * Measured under process churn (docs/platform.md): about 8 records and 8 µs per new
 * program, against about 100 µs to read a new process's maps from /proc.
 *
 * A drain is asked for before every sample, but the rings' heads are read only when
 * the sample is younger than the last reading of them (less HEADS_SLACK_NS): samples
 * are read in batches, long after they were taken, so one reading of the heads serves
 * a whole batch (the records it found are handed over as the samples pass them), and
 * a 64-CPU node does not pay 64 head reads per sample.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "mmap_events.h"
#include "perf_events.h"
#include "perf_ring.h"
#include "procfs.h"
#include "symbolizer.h"

#define MAX_CPUS 1024

/* Ring room per CPU: 512 KiB holds about 5,000 records, 640 new programs between two
 * drains (a second apart system-wide); all CPUs together get at most 4 MiB (the pages
 * are resident), so above 8 CPUs each gets less: 128 KiB at 32. */
#define RING_BYTES_PER_CPU (512u << 10)
#define RING_BYTES_TOTAL (4u << 20)
#define RING_BYTES_MIN (16u << 10)

/* A ring with less room than this left after a drain may have lost records whose
 * LOST record has not been written yet: what was told is dropped as if they were. */
#define RING_NEAR_FULL (8u << 10)

/* A record's time is taken before the kernel publishes it (moves the ring's head), a
 * few microseconds at most: heads read at time T are trusted for samples taken before
 * T less this. */
#define HEADS_SLACK_NS (1000u * 1000)

/* sample_id_all with PERF_SAMPLE_TID | PERF_SAMPLE_TIME: at the end of each record. */
struct sample_id {
	uint32_t pid, tid;
	uint64_t time;
};

/* The fixed part of PERF_RECORD_MMAP2, before the file name. */
struct mmap2_head {
	struct perf_event_header h;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	union {
		struct {
			uint32_t maj, min;
			uint64_t ino, ino_generation;
		};
		struct {
			uint8_t build_id_size;
			uint8_t reserved_1;
			uint16_t reserved_2;
			uint8_t build_id[20];
		};
	};
	uint32_t prot, flags;
};

struct fork_rec {
	struct perf_event_header h;
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct comm_head {
	struct perf_event_header h;
	uint32_t pid, tid;
};

/* A ring's reading position in a drain, and the time of the record there. */
struct cursor {
	uint64_t head, pos, time;
};

struct mmap_events {
	struct symbolizer *sym;
	struct perf_ring *rings;
	int nrings;
	struct cursor *cur;
	unsigned char *bounce;
	uint64_t heads_ns;   /* when the heads were last read (CLOCK_BOOTTIME) */
	uint64_t pending_ns; /* the earliest record left in the rings then */
	struct mmap_events_stats st;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t ring_bytes(int ncpus)
{
	size_t per = RING_BYTES_PER_CPU;

	while (per > RING_BYTES_MIN && per * (size_t)ncpus > RING_BYTES_TOTAL)
		per /= 2;
	return per;
}

struct mmap_events *mmap_events__open(struct symbolizer *sym, char *msg, size_t msglen)
{
	int cpus[MAX_CPUS], n, err;
	struct mmap_events *m;
	size_t bytes;

	n = procfs_online_cpus(cpus, MAX_CPUS);
	if (n <= 0) {
		snprintf(msg, msglen, "cannot list the online CPUs");
		errno = n < 0 ? -n : ENOENT;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->rings = calloc((size_t)n, sizeof(*m->rings))) ||
	    !(m->cur = calloc((size_t)n, sizeof(*m->cur))) ||
	    !(m->bounce = malloc(PERF_RING_MAX_RECORD))) {
		mmap_events__free(m);
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	m->sym = sym;
	bytes = ring_bytes(n);
	for (int i = 0; i < n; i++)
		m->rings[i].fd = -1;
	for (int i = 0; i < n; i++) {
		struct perf_event_attr a = {
			.size = sizeof(a),
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_DUMMY,
			.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
			.mmap = 1,  /* executable mappings, */
			.mmap2 = 1, /* in the MMAP2 format, */
			.build_id = 1, /* with build-ids */
			.comm = 1,
			.comm_exec = 1,
			.task = 1,
			.sample_id_all = 1,
			.use_clockid = 1,
			.clockid = CLOCK_BOOTTIME,
			/* Read at every drain; never woken. */
			.watermark = 1,
			.wakeup_watermark = (uint32_t)bytes,
		};
		int fd = perf_events_open(&a, -1, cpus[i]);

		if (fd < 0) {
			err = -fd;
			snprintf(msg, msglen, "cannot follow mappings on CPU %d: %s", cpus[i],
				 strerror(err));
			goto fail;
		}
		err = -perf_ring__map(&m->rings[i], fd, bytes);
		if (err) {
			close(fd);
			snprintf(msg, msglen, "cannot map the mapping records of CPU %d: %s",
				 cpus[i], strerror(err));
			goto fail;
		}
		m->nrings++;
	}
	return m;
fail:
	mmap_events__free(m);
	errno = err;
	return NULL;
}

void mmap_events__free(struct mmap_events *m)
{
	if (!m)
		return;
	for (int i = 0; m->rings && i < m->nrings; i++)
		perf_ring__close(&m->rings[i]);
	free(m->rings);
	free(m->cur);
	free(m->bounce);
	free(m);
}

static void on_mmap2(struct mmap_events *m, const struct perf_event_header *h)
{
	struct mmap2_head r;
	struct symbolizer_mmap sm = { 0 };
	const char *name;
	size_t room;

	if (h->size < sizeof(r) + sizeof(struct sample_id))
		return;
	memcpy(&r, h, sizeof(r));
	name = (const char *)h + sizeof(r);
	room = h->size - sizeof(r) - sizeof(struct sample_id);
	sm.start = r.addr;
	sm.len = r.len;
	sm.pgoff = r.pgoff;
	sm.path = name;
	sm.path_len = strnlen(name, room);
	if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
		sm.build_id = r.build_id;
		sm.build_id_len = r.build_id_size <= sizeof(r.build_id) ? r.build_id_size : 0;
	} else {
		sm.dev = makedev(r.maj, r.min);
		sm.inode = r.ino;
	}
	m->st.mmaps++;
	symbolizer__note_mmap(m->sym, (pid_t)r.pid, &sm);
}

static void handle(struct mmap_events *m, const struct perf_event_header *h)
{
	m->st.records++;
	switch (h->type) {
	case PERF_RECORD_MMAP2:
		on_mmap2(m, h);
		break;
	case PERF_RECORD_FORK: {
		struct fork_rec f;

		if (h->size < sizeof(f))
			break;
		memcpy(&f, h, sizeof(f));
		if (f.pid != f.ppid) { /* else a new thread */
			m->st.forks++;
			symbolizer__note_fork(m->sym, (pid_t)f.ppid, (pid_t)f.pid);
		}
		break;
	}
	case PERF_RECORD_COMM: {
		struct comm_head c;

		if (h->size < sizeof(c) || !(h->misc & PERF_RECORD_MISC_COMM_EXEC))
			break;
		memcpy(&c, h, sizeof(c));
		m->st.execs++;
		symbolizer__note_exec(m->sym, (pid_t)c.pid);
		break;
	}
	case PERF_RECORD_LOST: {
		uint64_t lost[2]; /* id, count */

		if (h->size >= sizeof(*h) + sizeof(lost)) {
			memcpy(lost, h + 1, sizeof(lost));
			m->st.lost += lost[1];
		}
		m->st.resets++;
		symbolizer__note_lost(m->sym);
		break;
	}
	default: /* EXIT and the rest: nothing to do */
		break;
	}
}

/*
 * When the record at @c's position happened (UINT64_MAX when there is none). Records
 * are 8-byte aligned in a ring whose size is a multiple of 8, so a header and the
 * trailing time never straddle its end. What cannot be a record skips to the head.
 */
static uint64_t peek_time(const struct perf_ring *r, struct cursor *c)
{
	const struct perf_event_header *h;
	uint64_t t;

	if (c->pos >= c->head)
		return UINT64_MAX;
	h = (const void *)(r->data + (c->pos & (r->data_size - 1)));
	if (h->size < sizeof(*h) + sizeof(struct sample_id) || h->size % 8 ||
	    h->size > c->head - c->pos) {
		c->pos = c->head;
		return UINT64_MAX;
	}
	memcpy(&t, r->data + ((c->pos + h->size - 8) & (r->data_size - 1)), sizeof(t));
	return t;
}

size_t mmap_events__drain_until(struct mmap_events *m, uint64_t until)
{
	bool fresh, near_full = false;
	size_t n = 0;

	if (!m)
		return 0;
	/* Heads read after @until (and the slack) show all that happened by then. */
	fresh = m->heads_ns > HEADS_SLACK_NS && until < m->heads_ns - HEADS_SLACK_NS;
	if (fresh && until < m->pending_ns)
		return 0; /* and it is all handled */
	if (!fresh) {
		m->heads_ns = clock_ns(CLOCK_BOOTTIME);
		m->st.head_reads++;
		for (int i = 0; i < m->nrings; i++) {
			struct cursor *c = &m->cur[i];

			c->head = perf_ring__head(&m->rings[i]);
			c->pos = perf_ring__tail(&m->rings[i]);
			c->time = peek_time(&m->rings[i], c);
		}
	}
	/* A merge of the rings by time, up to @until. */
	for (;;) {
		const struct perf_event_header *h;
		int best = -1;

		for (int i = 0; i < m->nrings; i++)
			if (m->cur[i].pos < m->cur[i].head && m->cur[i].time <= until &&
			    (best < 0 || m->cur[i].time < m->cur[best].time))
				best = i;
		if (best < 0)
			break;
		h = perf_ring__next(&m->rings[best], m->cur[best].head, &m->cur[best].pos, m->bounce);
		if (h) {
			handle(m, h);
			n++;
		}
		m->cur[best].time = peek_time(&m->rings[best], &m->cur[best]);
	}
	if (fresh && !n)
		return 0;
	m->pending_ns = UINT64_MAX;
	for (int i = 0; i < m->nrings; i++) {
		struct perf_ring *r = &m->rings[i];

		if (m->cur[i].pos < m->cur[i].head && m->cur[i].time < m->pending_ns)
			m->pending_ns = m->cur[i].time;
		/* What is left waits for a later time; a ring nearly full of it may have
		 * lost records whose LOST record is not written yet. */
		near_full |= m->cur[i].head - m->cur[i].pos + RING_NEAR_FULL > r->data_size;
		if (m->cur[i].pos != perf_ring__tail(r))
			perf_ring__release(r, m->cur[i].pos);
	}
	if (near_full && !fresh) {
		m->st.resets++;
		symbolizer__note_lost(m->sym);
	}
	return n;
}

void mmap_events__stats(const struct mmap_events *m, struct mmap_events_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (m)
		*out = m->st;
}
