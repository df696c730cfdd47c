/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_python.c - libFuzzer harness for the decoder of CPython's location tables
 * (python_line in agent/python.c), whose bytes come from a profiled process's memory:
 * 4 bytes of first line and 4 of instruction offset (little-endian), then the table.
 * Every offset up to the one given is looked up too, so that each entry is walked.
 * Reads past the table, or an unbounded loop, show as crashes or timeouts.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "python.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t first;
	uint32_t lasti;
	volatile unsigned sink = 0;

	if (size < 8)
		return 0;
	memcpy(&first, data, 4);
	memcpy(&lasti, data + 4, 4);
	lasti %= 4096;
	for (uint32_t at = 0; at <= lasti; at += 2)
		sink += (unsigned)python_line(data + 8, size - 8, first, at);
	(void)sink;
	return 0;
}
