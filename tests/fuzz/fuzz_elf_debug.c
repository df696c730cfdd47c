/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_elf_debug.c - libFuzzer harness for merging a separate debug file: the input is
 * a 4-byte little-endian length N, N bytes of the main ELF image and the rest as its
 * debug file (build-id and .gnu_debuglink CRC matching, the debug file's sections).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbolizer.h"
#include "symbolizer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_symtab *t;
	uint32_t n;

	if (size < 4)
		return 0;
	n = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
	    (uint32_t)data[3] << 24;
	data += 4;
	size -= 4;
	if (n > size)
		n = (uint32_t)size;
	t = elf_symtab__open_mem_debug(data, n, data + n, size - n);
	if (!t)
		return 0;
	for (uint64_t a = 0; a < 0x4000; a += 0x40) {
		uint64_t off;
		const char *name = elf_symtab__resolve(t, a, &off, true);

		if (name)
			(void)strlen(name);
	}
	elf_symtab__free(t);
	return 0;
}
