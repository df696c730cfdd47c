/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_xz.c - libFuzzer harness for the MiniDebugInfo path: the input as the content
 * of a .gnu_debugdata section (an xz stream, decoded within the memory and output
 * limits), and what it decodes to as the embedded ELF image.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "symbolizer.h"
#include "symbolizer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_symtab *t;
	void *out = NULL;
	size_t len = 0;

	if (debuginfo__xz_decode(data, size, &out, &len) == 0) {
		t = elf_symtab__open_mem(out, len);
		elf_symtab__free(t);
	}
	free(out);
	return 0;
}
