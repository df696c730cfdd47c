/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfi.h - an x86-64 call-frame information interpreter: find the FDE covering an
 * address through an .eh_frame_hdr search table, run its CIE's and its own
 * instructions up to that address into a row (the CFA rule and a rule per register),
 * and step a frame with that row. unwind.c walks stacks with it and keeps libunwind
 * for what it declines; so that both give the same stacks, it follows libunwind 1.6's
 * reading of the format where that differs from the letter of DWARF (which registers
 * exist, how RSP and RIP are read, the end of the chain at an undefined RBP), and
 * anything it does not implement exactly is declined with -ENOTSUP rather than
 * guessed (a signal frame, 64-bit DWARF, an opcode outside the set below).
 *
 * The tables are untrusted input (any ELF file a profiled process maps): every read is
 * bounded by the bytes given, the instructions run per row, the remember_state depth
 * and the expression stack are bounded. No process and no libunwind are involved, so
 * it is tested and fuzzed on its own (tests/unit/test_agent_cfi.c,
 * tests/fuzz/fuzz_cfi.c).
 *
 * Error contract: 0 or a negative errno; -ENOENT: no FDE covers the address;
 * -ENOTSUP: the interpreter declines (use another unwinder for this frame); -EINVAL:
 * malformed tables.
 */
#ifndef SMOLDER_CFI_H
#define SMOLDER_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFI_NREGS 17 /* DWARF 0-15 (rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8-r15), 16 rip */
#define CFI_RBP 6
#define CFI_RSP 7
#define CFI_RIP 16
#define CFI_MAX_OPS 4096   /* call-frame instructions run for one row */
#define CFI_MAX_STATES 16  /* DW_CFA_remember_state depth */
#define CFI_EXPR_STACK 64  /* DWARF expression stack, as libunwind's */
#define CFI_EXPR_OPS 256   /* operations evaluated per expression */

/* Bytes of an ELF file as it places them: @len bytes at ELF address @vaddr. */
struct cfi_data {
	const uint8_t *p;
	size_t len;
	uint64_t vaddr;
};

/* The unwind tables of one ELF file: .eh_frame_hdr (version 1, its search table of
 * @fde_count datarel sdata4 pairs right after its 12-byte header) and the section
 * holding the CIEs and FDEs (.eh_frame, or the same bytes as @hdr for a converted
 * .debug_frame). */
struct cfi_table {
	struct cfi_data hdr;
	uint64_t fde_count;
	struct cfi_data eh;
};

/* Where a register's value in the caller is (libunwind's dwarf_where_t). */
enum cfi_where {
	CFI_SAME = 0, /* unchanged */
	CFI_UNDEF,    /* none: for the return address, the end of the stack */
	CFI_CFAREL,   /* saved at CFA + val */
	CFI_REG,      /* in register val */
	CFI_EXPR,     /* saved at the address an expression computes */
	CFI_VAL_EXPR, /* the value an expression computes */
};

#define CFI_CFA_REG CFI_NREGS       /* column: the CFA rule (CFI_REG: reg + off, or EXPR) */
#define CFI_CFA_OFF (CFI_NREGS + 1) /* column: the CFA offset */
#define CFI_COLUMNS (CFI_NREGS + 2)

/*
 * A row of the table: the rule of each column at one address. Expressions are named
 * by their offset in the table's .eh_frame data (cfi_table.eh), where their ULEB128
 * length starts, so a row stays valid for every process that maps the file.
 */
struct cfi_row {
	uint8_t where[CFI_COLUMNS];
	uint64_t val[CFI_COLUMNS];
};

/* Reads a word of the unwound process at @addr; false when it cannot. */
struct cfi_mem {
	bool (*read)(void *arg, uint64_t addr, uint64_t *val);
	void *arg;
};

/*
 * The row in effect at runtime address @ip of the file described by @t, loaded with
 * bias @bias (runtime address - ELF address). @mem reads the words that a CIE's
 * personality or an FDE's LSDA pointer points at when they are indirect (libunwind
 * reads them, and fails the frame when it cannot); it may be NULL, declining such
 * entries. @return 0, -ENOENT, -ENOTSUP or -EINVAL.
 */
int cfi__find_row(const struct cfi_table *t, uint64_t bias, uint64_t ip,
		  const struct cfi_mem *mem, struct cfi_row *row);

/* A location, as libunwind keeps them: nowhere, a value, or an address to read. */
enum cfi_loc_kind { CFI_LOC_NULL = 0, CFI_LOC_VAL, CFI_LOC_MEM };

struct cfi_loc {
	uint64_t v;
	uint8_t kind;
};

/*
 * The state of a walk: where each register of the current frame is, its instruction
 * pointer and its CFA (which is also its RSP: libunwind reads RSP as the CFA).
 * Start from the sampled registers with cfi__init.
 */
struct cfi_state {
	struct cfi_loc loc[CFI_NREGS];
	uint64_t ip, cfa;
};

void cfi__init(struct cfi_state *s, const uint64_t regs[CFI_NREGS]);

/*
 * Step from the frame of @s to its caller's with @row (found for that frame in @t),
 * reading memory through @mem, as libunwind's x86-64 unw_step after a successful
 * lookup. @return 1 when there is a caller (its ip may be 0), 0 at the end of the
 * stack, -EFAULT when a read failed or a register needed is nowhere, -ELOOP when
 * neither ip nor CFA changed, -ENOTSUP when an expression uses an operation not
 * implemented here, -EINVAL for a malformed expression.
 */
int cfi__step(const struct cfi_table *t, const struct cfi_row *row, struct cfi_state *s,
	      const struct cfi_mem *mem);

/*
 * Step from the frame of @s, for which no unwind information was found (no file
 * mapped there, no table, or no FDE covering it), as libunwind's x86-64 unw_step does
 * then: the walk ends where RBP is nowhere or 0, else it guesses a frame-pointer frame
 * (caller's ip at RBP + 8) when RBP lies at most 16 KiB above the CFA. @return as
 * cfi__step, or -ENOTSUP at a signal trampoline or a PLT entry, which libunwind steps
 * by other rules (declined).
 */
int cfi__step_noinfo(struct cfi_state *s, const struct cfi_mem *mem);

#endif /* SMOLDER_CFI_H */
