/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_debug_frame.c - libFuzzer harness for the .debug_frame rewriter: any bytes as a
 * (decompressed) .debug_frame section, converted at two placements: past a typical
 * binary's code, and at the address the input's last 8 bytes spell, so that extreme
 * placements (near 0, above 2^63, near 2^64) are explored too. What it produces must
 * be what libunwind's table search relies on, so every search-table entry is checked
 * (debug_frame__entry) and a bad one aborts, as a crash would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debug_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void convert_and_check(const uint8_t *data, size_t size, uint64_t vaddr)
{
	struct debug_frame_eh eh;

	if (debug_frame__convert(data, size, vaddr, &eh))
		return;
	if (!eh.fde_count || eh.vaddr != vaddr)
		abort();
	for (uint64_t i = 0; i < eh.fde_count; i++) {
		uint64_t start, end;

		/* Every FDE describes code below where the table is placed. */
		if (debug_frame__entry(&eh, i, &start, &end) || start >= vaddr)
			abort();
	}
	debug_frame__free(&eh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t tail = 0;

	convert_and_check(data, size, 0x10000000);
	if (size >= sizeof(tail)) {
		memcpy(&tail, data + size - sizeof(tail), sizeof(tail));
		convert_and_check(data, size, tail);
	}
	return 0;
}
