/* SPDX-License-Identifier: Apache-2.0 */
/*
 * varint.h - LEB128 integers, as DWARF and smolder's own file format encode them:
 * little-endian groups of 7 bits, the high bit of each byte set while more follow.
 * Encoders write into a caller's buffer of at least VARINT_MAX bytes; decoders are
 * bounded by the end of their input and reject values that overflow 64 bits.
 */
#ifndef SMOLDER_LIB_VARINT_H
#define SMOLDER_LIB_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10 /* bytes of the longest 64-bit LEB128 */

/* Encode unsigned @v into @out. @return the number of bytes written (1..10). */
static inline size_t varint_put_uleb(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		out[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	return n;
}

/* Encode signed @v into @out. @return the number of bytes written (1..10). */
static inline size_t varint_put_sleb(uint8_t *out, int64_t v)
{
	size_t n = 0;

	for (;;) {
		uint8_t byte = v & 0x7f;
		v >>= 7; /* arithmetic shift on every compiler smolder supports */
		if ((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40))) {
			out[n++] = byte;
			return n;
		}
		out[n++] = byte | 0x80;
	}
}

/* Decode an unsigned LEB128 at *@p, not reading at or past @end; advance *@p.
 * @return false when the input ends first or the value overflows 64 bits. */
static inline bool varint_get_uleb(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t byte = *(*p)++;

		if (shift == 63 && (byte & 0x7e))
			return false;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Decode a signed LEB128, as varint_get_uleb. */
static inline bool varint_get_sleb(const uint8_t **p, const uint8_t *end, int64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (*p < end && shift < 64) {
		uint8_t byte = *(*p)++;

		v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
		if (!(byte & 0x80)) {
			if (shift < 64 && (byte & 0x40))
				v |= ~0ULL << shift;
			*out = (int64_t)v;
			return true;
		}
	}
	return false;
}

/* Zigzag: small signed values as small unsigned ones. */
static inline uint64_t varint_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t varint_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif /* SMOLDER_LIB_VARINT_H */
