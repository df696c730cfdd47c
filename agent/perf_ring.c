/* SPDX-License-Identifier: Apache-2.0 */
/* perf_ring.c - the perf_event mmap ring reader (see perf_ring.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "perf_ring.h"

int perf_ring__map(struct perf_ring *r, int fd, size_t data_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	p = mmap(NULL, page + data_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->fd = fd;
	r->base = p;
	r->map_len = page + data_size;
	r->data = (unsigned char *)p + page;
	r->data_size = data_size;
	return 0;
}

void perf_ring__close(struct perf_ring *r)
{
	if (r->base)
		munmap(r->base, r->map_len);
	r->base = NULL;
	r->data = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

uint64_t perf_ring__head(const struct perf_ring *r)
{
	const struct perf_event_mmap_page *meta = r->base;

	return __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
}

uint64_t perf_ring__tail(const struct perf_ring *r)
{
	const struct perf_event_mmap_page *meta = r->base;

	return meta->data_tail; /* only this process writes it */
}

void perf_ring__release(struct perf_ring *r, uint64_t tail)
{
	struct perf_event_mmap_page *meta = r->base;

	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

/* Copy @len bytes at ring position @pos, which may wrap around the end. */
static void ring_copy(const struct perf_ring *r, uint64_t pos, void *dst, size_t len)
{
	size_t off = (size_t)(pos & (r->data_size - 1));
	size_t first = r->data_size - off;

	if (first > len)
		first = len;
	memcpy(dst, r->data + off, first);
	memcpy((unsigned char *)dst + first, r->data, len - first);
}

const struct perf_event_header *perf_ring__next(const struct perf_ring *r, uint64_t head,
						uint64_t *tail, unsigned char *bounce)
{
	struct perf_event_header hdr;
	uint64_t avail = head - *tail;
	size_t off = (size_t)(*tail & (r->data_size - 1));
	const void *rec;

	if (!avail)
		return NULL;
	if (avail < sizeof(hdr) || avail > r->data_size)
		goto resync; /* nothing sane left */
	ring_copy(r, *tail, &hdr, sizeof(hdr));
	if (hdr.size < sizeof(hdr) || hdr.size > avail)
		goto resync;
	if (off + hdr.size <= r->data_size) {
		rec = r->data + off;
	} else {
		ring_copy(r, *tail, bounce, hdr.size);
		rec = bounce;
	}
	*tail += hdr.size;
	return rec;
resync:
	*tail = head;
	return NULL;
}
