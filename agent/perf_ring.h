/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf_ring.h - reading a perf_event mmap ring: map it, take the records the kernel
 * wrote between the tail and a head read once, each handed over contiguous (one that
 * wraps around the end is copied), and give their room back. It knows record
 * headers only, not what records mean: perf_sampler.c parses them. Internal to
 * agent/.
 */
#ifndef SMOLDER_AGENT_PERF_RING_H
#define SMOLDER_AGENT_PERF_RING_H

#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>

#define PERF_RING_MAX_RECORD (1u << 16) /* header.size is 16 bits */

struct perf_ring {
	int fd;             /* the event whose mapping this is; -1 if none */
	void *base;         /* struct perf_event_mmap_page, then the data pages */
	size_t map_len;
	unsigned char *data;
	uint64_t data_size; /* a power of two */
};

/* Map @data_size bytes (a power of two, in pages) of event @fd's ring; on success
 * the ring owns @fd. @return 0 or a negative errno (@fd is then not taken). */
int perf_ring__map(struct perf_ring *r, int fd, size_t data_size);
/* Unmap and close (a ring that was never mapped, fd -1, is fine). */
void perf_ring__close(struct perf_ring *r);

/* Where the kernel has written up to (read once per drain, with acquire order). */
uint64_t perf_ring__head(const struct perf_ring *r);
/* Where smolder has read up to. */
uint64_t perf_ring__tail(const struct perf_ring *r);
/* Give the room before @tail back to the kernel. */
void perf_ring__release(struct perf_ring *r, uint64_t tail);

/*
 * The record at *@tail, if one lies wholly before @head: returns it contiguous (in
 * the ring, or copied into @bounce of PERF_RING_MAX_RECORD bytes when it wraps) and
 * advances *@tail past it. NULL at @head; also when what is there cannot be a record
 * (a size that runs past @head), in which case *@tail is set to @head so the reader
 * resynchronises rather than loops.
 */
const struct perf_event_header *perf_ring__next(const struct perf_ring *r, uint64_t head,
						uint64_t *tail, unsigned char *bounce);

#endif /* SMOLDER_AGENT_PERF_RING_H */
