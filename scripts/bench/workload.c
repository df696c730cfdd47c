/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload.c - the CPU-bound target that scripts/bench-record.sh profiles.
 *
 * A toy request loop with a realistic call depth (about 15 frames from _start to the
 * leaf): decode a request, hash its keys, sort records (recursive merge sort), render a
 * response tree (recursive), checksum it. No libc in the hot path, so frame-pointer
 * stacks are whole for perf and smolder alike; every leaf keeps a volatile local,
 * because gcc 12 gives a leaf that touches no stack no rbp frame even with
 * -mno-omit-leaf-frame-pointer, and FP stacks would then skip the leaf's caller.
 *
 *   workload THREADS MAX_SECONDS
 *
 * runs THREADS busy threads (the main thread is one of them) and exits after
 * MAX_SECONDS; the benchmark kills it sooner. Build with
 *   cc -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
 *      -fno-optimize-sibling-calls -pthread
 * (no tail calls, which would drop the caller from every stack).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noipa)) /* no inlining, cloning (.constprop) */
#define NRECORDS 512
#define TREE_DEPTH 8

struct request {
	unsigned char body[1024];
	uint64_t keys[64];
	uint64_t records[NRECORDS];
	uint64_t scratch[NRECORDS];
	uint64_t rng;
};

static volatile uint64_t sink;
static double max_seconds;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static inline uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- decode: body -> keys ---- */

NOINLINE static size_t scan_token(const unsigned char *p, size_t n)
{
	volatile size_t i = 0;

	while (i < n && p[i] != ' ')
		i++;
	return i;
}

NOINLINE static uint64_t parse_field(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t len = scan_token(p, n);

	for (size_t i = 0; i < len; i++)
		v = v * 31 + p[i];
	return v;
}

NOINLINE static void decode_request(struct request *r)
{
	for (size_t i = 0; i < sizeof(r->body); i++)
		r->body[i] = (next_random(&r->rng) & 15) ? 'a' + (r->rng & 15) : ' ';
	for (size_t k = 0, off = 0; k < 64; k++, off = (off + 16) % (sizeof(r->body) - 32))
		r->keys[k] = parse_field(r->body + off, 32);
}

/* ---- lookup: hash every key many times ---- */

NOINLINE static uint64_t mix(uint64_t h, uint64_t v)
{
	volatile uint64_t x = h ^ v;

	return x * 0x100000001b3ULL;
}

NOINLINE static uint64_t hash_key(uint64_t key, int rounds)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < rounds; i++)
		h = mix(h, key >> (i & 31));
	return h;
}

NOINLINE static void lookup_keys(struct request *r)
{
	for (size_t i = 0; i < NRECORDS; i++)
		r->records[i] = hash_key(r->keys[i % 64] + i, 48);
}

/* ---- sort: recursive merge sort ---- */

NOINLINE static void merge(uint64_t *v, uint64_t *tmp, size_t mid, size_t n)
{
	volatile size_t i = 0, j = mid;
	size_t k = 0;

	while (i < mid && j < n)
		tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	for (k = 0; k < n; k++)
		v[k] = tmp[k];
}

NOINLINE static void merge_sort(uint64_t *v, uint64_t *tmp, size_t n)
{
	if (n < 2)
		return;
	merge_sort(v, tmp, n / 2);
	merge_sort(v + n / 2, tmp, n - n / 2);
	merge(v, tmp, n / 2, n);
}

NOINLINE static void sort_records(struct request *r)
{
	merge_sort(r->records, r->scratch, NRECORDS);
}

/* ---- render: a recursive response tree, checksummed at the leaves ---- */

NOINLINE static uint64_t checksum_block(const uint64_t *v, size_t n)
{
	volatile uint64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c = (c << 5 | c >> 59) ^ v[i];
	return c;
}

NOINLINE static uint64_t render_leaf(const struct request *r, size_t at)
{
	return checksum_block(r->records + at % (NRECORDS - 64), 64);
}

NOINLINE static uint64_t render_node(const struct request *r, int depth, size_t at)
{
	if (depth == 0)
		return render_leaf(r, at);
	return render_node(r, depth - 1, at * 2 + 1) ^ render_node(r, depth - 1, at * 2 + 2);
}

NOINLINE static void render_response(struct request *r)
{
	sink += render_node(r, TREE_DEPTH, 0);
}

/* ---- the loop ---- */

NOINLINE static void handle_request(struct request *r)
{
	decode_request(r);
	lookup_keys(r);
	sort_records(r);
	render_response(r);
}

NOINLINE static void serve(uint64_t seed)
{
	static __thread struct request r;
	double end = now() + max_seconds;

	r.rng = seed | 1;
	while (now() < end)
		handle_request(&r);
}

NOINLINE static void *worker(void *arg)
{
	serve((uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t tid[64];

	max_seconds = argc > 2 ? atof(argv[2]) : 60;
	if (threads < 1 || threads > 64 || max_seconds <= 0) {
		fprintf(stderr, "usage: workload THREADS(1-64) MAX_SECONDS\n");
		return 2;
	}
	for (int i = 1; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)(i + 1))) {
			perror("workload: pthread_create");
			return 1;
		}
	worker((void *)(uintptr_t)1);
	for (int i = 1; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
