/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cfi.c - libFuzzer harness for the CFI interpreter (agent/cfi.c): any bytes as
 * an .eh_frame_hdr (with its search table) followed by CIEs and FDEs, the way a
 * converted .debug_frame or a file's .eh_frame_hdr + .eh_frame lie, placed at a fixed
 * address. Rows are looked up at each table entry's start and a few bytes on, and at
 * the address the last 8 bytes spell; each row found is applied to a made-up frame
 * whose memory is a small stack and the input itself. Reads past the input, an
 * unbounded loop or stack, or a row the interpreter cannot apply show as crashes or
 * timeouts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"

#define PLACE 0x400000ull
#define STACK_AT 0x7ffd0000ull
#define STACK_WORDS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_mem {
	const uint8_t *data;
	size_t size;
	uint64_t stack[STACK_WORDS];
};

static bool fuzz_read(void *arg, uint64_t addr, uint64_t *val)
{
	const struct fuzz_mem *m = arg;

	if (addr >= STACK_AT && addr - STACK_AT <= sizeof(m->stack) - 8) {
		memcpy(val, (const uint8_t *)m->stack + (addr - STACK_AT), 8);
		return true;
	}
	if (m->size >= 8 && addr >= PLACE && addr - PLACE <= m->size - 8) {
		memcpy(val, m->data + (addr - PLACE), 8);
		return true;
	}
	return false;
}

static void try_at(const struct cfi_table *t, struct fuzz_mem *m, uint64_t pc)
{
	const struct cfi_mem mem = { fuzz_read, m };
	uint64_t regs[CFI_NREGS];
	struct cfi_state st;
	struct cfi_row row;

	if (cfi__find_row(t, 0, pc, &mem, &row))
		return;
	for (int i = 0; i < CFI_NREGS; i++)
		regs[i] = STACK_AT + 64 + 8 * (uint64_t)i;
	regs[CFI_RIP] = pc;
	cfi__init(&st, regs);
	/* a second step from wherever the first one led, as a walk would */
	if (cfi__step(t, &row, &st, &mem) > 0 && st.ip &&
	    !cfi__find_row(t, 0, st.ip - 1, &mem, &row))
		(void)cfi__step(t, &row, &st, &mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_mem *m = malloc(sizeof(*m));
	struct cfi_table t = { { data, size, PLACE }, 0, { data, size, PLACE } };
	uint32_t count;

	if (!m || size < 12) {
		free(m);
		return 0;
	}
	m->data = data;
	m->size = size;
	for (size_t i = 0; i < STACK_WORDS; i++)
		m->stack[i] = (i & 1) ? STACK_AT + 8 * ((i * 7) % STACK_WORDS) : PLACE + i * 16;
	memcpy(&count, data + 8, 4);
	t.fde_count = count <= (size - 12) / 8 ? count : (size - 12) / 8;
	for (uint64_t i = 0; i < t.fde_count && i < 64; i++) {
		int32_t start;

		memcpy(&start, data + 12 + i * 8, 4);
		for (uint64_t off = 0; off < 64; off += 5)
			try_at(&t, m, PLACE + (uint64_t)(int64_t)start + off);
	}
	if (size >= 20) {
		uint64_t tail;

		memcpy(&tail, data + size - 8, 8);
		try_at(&t, m, tail);
	}
	/* the table's count as given, past the data: refused, never read */
	t.fde_count = count;
	try_at(&t, m, PLACE);
	free(m);
	return 0;
}
