/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload.c - the demo's bundled workload: a small "service" that parses requests,
 * hashes keys, sorts results and compresses responses, each in its own function so
 * the flame graph has something to show. Runs for argv[1] seconds (default 10).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

static uint64_t hash_key(const char *s, size_t n)
{
	volatile uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void parse_request(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (rand() % 26));
}

static void sort_results(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

static size_t compress_response(const uint64_t *v, size_t n)
{
	volatile size_t out = 0;
	for (size_t i = 1; i < n; i++)
		out += __builtin_clzll((v[i] - v[i - 1]) | 1);
	return out;
}

static void handle_request(void)
{
	/* Static: 20 KiB of locals would be deeper than a stack snapshot is worth. */
	static char key[4096];
	static uint64_t results[2048];

	parse_request(key, sizeof(key));
	for (size_t i = 0; i < 2048; i++)
		results[i] = hash_key(key + (i % 64), 1024);
	sort_results(results, 2048);
	sink += compress_response(results, 2048);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		handle_request();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	return 0;
}
