/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_elf.c - libFuzzer harness for the ELF symbol reader: any bytes as an ELF image
 * (elf_symtab__open_mem, which also follows the image's .gnu_debugdata MiniDebugInfo
 * and reads its build-id and .gnu_debuglink), then lookups, address conversion and
 * demangling over what was parsed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbolizer.h"
#include "symbolizer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_symtab *t = elf_symtab__open_mem(data, size);
	size_t len;

	if (!t)
		return 0;
	elf_symtab__build_id(t, &len);
	for (uint64_t a = 0; a < 0x4000; a += 0x40) {
		uint64_t off, v;
		const char *n = elf_symtab__resolve(t, a, &off, true);

		if (n)
			(void)strlen(n);
		elf_symtab__to_vaddr(t, 0x1000, a, 0x1000 + a, &v);
	}
	elf_symtab__free(t);
	return 0;
}
