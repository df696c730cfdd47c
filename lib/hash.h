/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash.h - the one set of non-cryptographic hashes smolder uses for its tables:
 * FNV-1a over bytes and strings, and a 64-bit finalizer (MurmurHash3's fmix64) that
 * spreads integer keys (pids, addresses) and weak byte hashes over every bit.
 * Good for hash tables, not against adversaries.
 */
#ifndef SMOLDER_LIB_HASH_H
#define SMOLDER_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_OFFSET 0xcbf29ce484222325ULL
#define HASH_FNV_PRIME 0x100000001b3ULL

/* Spread every bit of @x over the result (bijective). */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Continue an FNV-1a hash @h over @len bytes of @data. Start with hash_fnv1a(). */
static inline uint64_t hash_fnv1a_more(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * HASH_FNV_PRIME;
	return h;
}

/* FNV-1a of @len bytes of @data, with @seed folded into the offset basis; not mixed
 * (call hash_mix64 on it before using its low bits alone). */
static inline uint64_t hash_fnv1a(const void *data, size_t len, uint64_t seed)
{
	return hash_fnv1a_more(HASH_FNV_OFFSET ^ seed, data, len);
}

/* FNV-1a of the NUL-terminated string @s. */
static inline uint64_t hash_fnv1a_str(const char *s, uint64_t seed)
{
	uint64_t h = HASH_FNV_OFFSET ^ seed;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * HASH_FNV_PRIME;
	return h;
}

/* Map hash @h onto [0, @n) for any @n, not only powers of two (Lemire's reduction:
 * it uses the high bits of @h, so mix weak hashes first). */
static inline size_t hash_reduce(uint64_t h, size_t n)
{
	return (size_t)(((unsigned __int128)h * n) >> 64);
}

#endif /* SMOLDER_LIB_HASH_H */
