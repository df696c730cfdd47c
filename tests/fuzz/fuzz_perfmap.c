/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_perfmap.c - libFuzzer harness for the /tmp/perf-PID.map parser: the input is
 * fed in two pieces (split where its first byte says), as a file read while its
 * writer appends, with a lookup between them (the second batch is merged into a
 * sorted table), then looked up at addresses taken from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbolizer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfmap *m = perfmap__new();
	size_t split, consumed = 0, c2 = 0;

	if (!m || size == 0) {
		perfmap__free(m);
		return 0;
	}
	split = data[0] % (size + 1);
	perfmap__parse(m, (const char *)data, split, &consumed);
	/* A lookup in between sorts the first batch, so the second one is merged in. */
	perfmap__lookup(m, 0x1000, NULL);
	/* The unconsumed tail is read again with what follows, as the reader does. */
	perfmap__parse(m, (const char *)data + consumed, size - consumed, &c2);
	for (size_t i = 0; i + 8 <= size && i < 512; i += 8) {
		uint64_t a, off;
		const char *n;

		memcpy(&a, data + i, 8);
		n = perfmap__lookup(m, a, &off);
		if (n)
			(void)strlen(n);
		n = perfmap__lookup(m, a & 0xffff, &off);
		if (n)
			(void)strlen(n);
	}
	perfmap__free(m);
	return 0;
}
