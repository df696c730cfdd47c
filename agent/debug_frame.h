/* SPDX-License-Identifier: Apache-2.0 */
/*
 * debug_frame.h - a file's .debug_frame rewritten into the form libunwind's remote
 * table search reads: an .eh_frame_hdr (version 1, pc-relative sdata4 .eh_frame
 * pointer, udata4 count, datarel sdata4 search table) followed by the CIEs and FDEs in
 * .eh_frame form. Code without .eh_frame (Go) has only .debug_frame, and libunwind has
 * no .debug_frame finder of its own.
 *
 * The section is untrusted input (any ELF file a profiled process maps): every read is
 * bounded by the section, what cannot be converted is skipped, and the output size is
 * bounded by DEBUG_FRAME_MAX. No libunwind and no process are involved, so this is
 * tested and fuzzed on its own (tests/unit/test_debug_frame.c,
 * tests/fuzz/fuzz_debug_frame.c).
 *
 * Error contract: 0 or a negative errno.
 */
#ifndef SMOLDER_DEBUG_FRAME_H
#define SMOLDER_DEBUG_FRAME_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

#define DEBUG_FRAME_MAX (64u << 20) /* larger .debug_frame sections are not used */
#define DEBUG_FRAME_HDR_LEN 12      /* the header before the search table */

/*
 * The converted section, meant to be read as if it were mapped at ELF address
 * @vaddr: the header at @vaddr, its search table of @fde_count 8-byte entries at
 * @vaddr + DEBUG_FRAME_HDR_LEN, then the .eh_frame part. Everything in it is
 * relative to where it is placed, so one copy serves every process whatever its
 * load bias.
 */
struct debug_frame_eh {
	uint8_t *data; /* owned: debug_frame__free() */
	size_t len;
	uint64_t vaddr;
	uint64_t fde_count;
};

/*
 * Rewrite the .debug_frame section @df (@len bytes, uncompressed) into @out, placed at
 * @vaddr, which must lie above every address the FDEs describe (FDEs at or above it
 * are dropped; so are FDEs more than 2 GiB below it, which the search table's 32-bit
 * entries cannot reach). CIEs and FDEs that cannot be read are skipped.
 * @return 0, -ENOENT when no FDE was usable, -E2BIG when @len exceeds DEBUG_FRAME_MAX
 * or the output twice that, -ERANGE when the output placed at @vaddr would wrap
 * around the address space, -ENOMEM. @out is untouched on failure.
 */
int debug_frame__convert(const uint8_t *df, size_t len, uint64_t vaddr,
			 struct debug_frame_eh *out);

/*
 * Find @elf's .debug_frame (decompressing it if it is SHF_COMPRESSED with zlib) and
 * convert it, as debug_frame__convert. @elf may be read-only memory: the section is
 * never decompressed in place.
 * @return 0, -ENOENT when there is no usable .debug_frame, or as debug_frame__convert.
 */
int debug_frame__load(Elf *elf, uint64_t vaddr, struct debug_frame_eh *out);

/*
 * The code range [*@start, *@end) of the FDE that search-table entry @i points at, as
 * libunwind will read it, after checking what it relies on: the entry and its FDE lie
 * inside the data, the FDE's CIE pointer leads to a CIE, the FDE starts where the
 * entry says, and the entry is not below entry @i - 1 (the table is searched by
 * bisection). @return 0, -ERANGE when @i >= fde_count, -EINVAL when a check fails.
 */
int debug_frame__entry(const struct debug_frame_eh *eh, uint64_t i, uint64_t *start,
		       uint64_t *end);

/* Release @eh's data and empty it. */
void debug_frame__free(struct debug_frame_eh *eh);

#endif /* SMOLDER_DEBUG_FRAME_H */
