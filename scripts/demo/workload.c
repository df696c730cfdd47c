/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload.c - the demo's bundled workload: a small "service" that parses requests,
 * looks their keys up (hashing them), sorts the results and compresses the response,
 * each in its own function so the flame graph has a call tree to show:
 *
 *   main -> serve -> handle_request -> parse_request -> rand (libc)
 *                                   -> lookup_keys -> hash_key
 *                                   -> sort_results -> qsort (libc) -> cmp_u64
 *                                   -> compress_response
 *
 * Runs for argv[1] seconds (default 10). scripts/demo.sh builds it as a service would
 * be built: -O2 -g, frame pointers on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * In a real service these functions live in different files and are too big to inline;
 * here, in one small file, gcc would inline them all into main (at -O1 the flame graph
 * was 93% "main"). noinline keeps each one a frame; noclone keeps its symbol name
 * plain (no hash_key.constprop.0).
 */
#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

#define KEY_BYTES 4096
#define NKEYS 2048

static volatile uint64_t sink;

NOINLINE static void parse_request(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (rand() % 26));
}

NOINLINE static uint64_t hash_key(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

NOINLINE static void lookup_keys(const char *key, uint64_t *results, size_t n)
{
	for (size_t i = 0; i < n; i++)
		results[i] = hash_key(key + (i % 64), 128);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts and returns the number of distinct results. */
NOINLINE static size_t sort_results(uint64_t *v, size_t n)
{
	size_t distinct = n > 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 1; i < n; i++)
		distinct += v[i] != v[i - 1];
	return distinct;
}

NOINLINE static size_t compress_response(const uint64_t *v, size_t n)
{
	size_t bits = 0;

	for (int round = 0; round < 32; round++)
		for (size_t i = 1; i < n; i++)
			bits += 64 - __builtin_clzll(((v[i] - v[i - 1]) >> round) | 1);
	return bits;
}

NOINLINE static void handle_request(void)
{
	/* Static: 20 KiB of locals would be deeper than a stack snapshot is worth. */
	static char key[KEY_BYTES];
	static uint64_t results[NKEYS];

	parse_request(key, sizeof(key));
	lookup_keys(key, results, NKEYS);
	sink += sort_results(results, NKEYS);
	sink += compress_response(results, NKEYS);
}

NOINLINE static void serve(double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		handle_request();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv)
{
	serve(argc > 1 ? atof(argv[1]) : 10);
	return 0;
}
