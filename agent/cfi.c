/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfi.c - the call-frame information interpreter (see cfi.h): FDE lookup in an
 * .eh_frame_hdr search table, CIE and FDE parsing, the call-frame instructions, the
 * DWARF expressions PLT entries and hand-written assembly use, and the x86-64 step.
 * Written against libunwind 1.6's src/dwarf/{Gfde,Gparser,Gexpr}.c and
 * src/x86_64/Gstep.c so that a frame either gets libunwind's answer or is declined.
 */
#include <errno.h>
#include <string.h>

#include "cfi.h"
#include "varint.h"

#define DW_EH_PE_absptr 0x00
#define DW_EH_PE_uleb128 0x01
#define DW_EH_PE_udata2 0x02
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sleb128 0x09
#define DW_EH_PE_sdata2 0x0a
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_sdata8 0x0c
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_indirect 0x80
#define DW_EH_PE_omit 0xff

/* A cursor over one struct cfi_data; every read is checked against its end. */
struct rd {
	const struct cfi_data *d;
	size_t pos;
};

static bool rd_at(struct rd *r, const struct cfi_data *d, uint64_t vaddr)
{
	if (vaddr < d->vaddr || vaddr - d->vaddr > d->len)
		return false;
	r->d = d;
	r->pos = (size_t)(vaddr - d->vaddr);
	return true;
}

static uint64_t rd_vaddr(const struct rd *r)
{
	return r->d->vaddr + r->pos;
}

static bool rd_bytes(struct rd *r, void *out, size_t n)
{
	if (n > r->d->len - r->pos)
		return false;
	memcpy(out, r->d->p + r->pos, n);
	r->pos += n;
	return true;
}

static bool rd_u8(struct rd *r, uint8_t *v)
{
	return rd_bytes(r, v, 1);
}

static bool rd_uleb(struct rd *r, uint64_t *v)
{
	const uint8_t *p = r->d->p + r->pos;

	if (!varint_get_uleb(&p, r->d->p + r->d->len, v))
		return false;
	r->pos = (size_t)(p - r->d->p);
	return true;
}

static bool rd_sleb(struct rd *r, uint64_t *v)
{
	const uint8_t *p = r->d->p + r->pos;
	int64_t s;

	if (!varint_get_sleb(&p, r->d->p + r->d->len, &s))
		return false;
	r->pos = (size_t)(p - r->d->p);
	*v = (uint64_t)s;
	return true;
}

/*
 * A pointer in encoding @enc, as libunwind's dwarf_read_encoded_pointer reads it for a
 * remote table: pc-relative to the field's runtime address, datarel relative to 0
 * (libunwind's pi->gp, never set for remote tables), 0 always absolute, indirect read
 * through @mem. @return 0, -ENOTSUP or -EINVAL.
 */
static int rd_pointer(struct rd *r, uint8_t enc, uint64_t bias, const struct cfi_mem *mem,
		      uint64_t *out)
{
	uint64_t field = rd_vaddr(r) + bias, v;
	uint16_t u16;
	uint32_t u32;

	if (enc == DW_EH_PE_omit) {
		*out = 0;
		return 0;
	}
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		if (!rd_bytes(r, &v, 8))
			return -EINVAL;
		break;
	case DW_EH_PE_uleb128:
	case DW_EH_PE_sleb128: /* libunwind reads both as unsigned */
		if (!rd_uleb(r, &v))
			return -EINVAL;
		break;
	case DW_EH_PE_udata2:
		if (!rd_bytes(r, &u16, 2))
			return -EINVAL;
		v = u16;
		break;
	case DW_EH_PE_sdata2:
		if (!rd_bytes(r, &u16, 2))
			return -EINVAL;
		v = (uint64_t)(int64_t)(int16_t)u16;
		break;
	case DW_EH_PE_udata4:
		if (!rd_bytes(r, &u32, 4))
			return -EINVAL;
		v = u32;
		break;
	case DW_EH_PE_sdata4:
		if (!rd_bytes(r, &u32, 4))
			return -EINVAL;
		v = (uint64_t)(int64_t)(int32_t)u32;
		break;
	default:
		return -ENOTSUP;
	}
	if (!v) {
		*out = 0;
		return 0;
	}
	switch (enc & 0x70) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_datarel:
		break;
	case DW_EH_PE_pcrel:
		v += field;
		break;
	default: /* textrel, funcrel, aligned: not in x86-64 tables */
		return -ENOTSUP;
	}
	if (enc & DW_EH_PE_indirect) {
		uint64_t w;

		if (!mem || !mem->read(mem->arg, v, &w))
			return -ENOTSUP; /* libunwind fails the frame: let it */
		v = w;
	}
	*out = v;
	return 0;
}

/* What the CIE and FDE say besides the instructions. */
struct fde_info {
	uint64_t code_align, data_align;
	uint64_t start_ip, end_ip; /* runtime */
	uint8_t fde_enc;
	bool sized; /* "z": the FDE has an augmentation length */
	uint64_t cie_instr, cie_end; /* ELF addresses in t->eh */
	uint64_t fde_instr, fde_end;
};

/* Parse the CIE at ELF address @addr (libunwind's parse_cie). */
static int parse_cie(const struct cfi_table *t, uint64_t addr, uint64_t bias,
		     const struct cfi_mem *mem, struct fde_info *fi, uint8_t *lsda_enc)
{
	uint8_t version, ch, aug[5] = { 0 };
	uint32_t len, id;
	uint64_t ra, aug_size, handler;
	size_t n = 0;
	struct rd r;
	int err;

	if (!rd_at(&r, &t->eh, addr) || !rd_bytes(&r, &len, 4))
		return -EINVAL;
	if (len == 0xffffffffu)
		return -ENOTSUP; /* 64-bit DWARF: not emitted for x86-64 .eh_frame */
	if (len > r.d->len - r.pos)
		return -EINVAL;
	fi->cie_end = rd_vaddr(&r) + len;
	if (!rd_bytes(&r, &id, 4) || id != 0 || !rd_u8(&r, &version))
		return -EINVAL;
	if (version != 1 && version != 3 && version != 4)
		return -EINVAL;
	for (;;) {
		if (!rd_u8(&r, &ch))
			return -EINVAL;
		if (!ch)
			break;
		if (n < sizeof(aug) - 1)
			aug[n++] = ch;
	}
	if (!rd_uleb(&r, &fi->code_align) || !rd_sleb(&r, &fi->data_align))
		return -EINVAL;
	if (version == 1) {
		if (!rd_u8(&r, &ch))
			return -EINVAL;
		ra = ch;
	} else if (!rd_uleb(&r, &ra)) {
		return -EINVAL;
	}
	if (ra != CFI_RIP)
		return -ENOTSUP;
	fi->fde_enc = DW_EH_PE_udata8;
	fi->sized = false;
	*lsda_enc = DW_EH_PE_omit;
	n = 0;
	if (aug[0] == 'z') {
		if (!rd_uleb(&r, &aug_size))
			return -EINVAL;
		fi->sized = true;
		n++;
	} else if (aug[0]) {
		return -ENOTSUP; /* e.g. "eh": gcc 2's, not met on x86-64 */
	}
	for (; aug[n]; n++) {
		switch (aug[n]) {
		case 'L':
			if (!rd_u8(&r, lsda_enc))
				return -EINVAL;
			break;
		case 'R':
			if (!rd_u8(&r, &fi->fde_enc))
				return -EINVAL;
			break;
		case 'P':
			if (!rd_u8(&r, &ch))
				return -EINVAL;
			if ((err = rd_pointer(&r, ch, bias, mem, &handler)))
				return err;
			break;
		case 'S': /* a signal frame: libunwind changes how the next frame is looked up */
		default:  /* libunwind would start the instructions at the unknown part */
			return -ENOTSUP;
		}
	}
	fi->cie_instr = rd_vaddr(&r);
	return 0;
}

/* The FDE at ELF address @addr and its CIE, for runtime address @ip. */
static int parse_fde(const struct cfi_table *t, uint64_t addr, uint64_t bias, uint64_t ip,
		     const struct cfi_mem *mem, struct fde_info *fi)
{
	uint64_t cie_field, range, aug_size = 0, lsda;
	uint8_t lsda_enc;
	uint32_t len;
	int32_t cie_off;
	struct rd r;
	int err;

	if (!rd_at(&r, &t->eh, addr) || !rd_bytes(&r, &len, 4))
		return -EINVAL;
	if (len == 0)
		return -ENOENT;
	if (len == 0xffffffffu)
		return -ENOTSUP;
	if (len > r.d->len - r.pos)
		return -EINVAL;
	fi->fde_end = rd_vaddr(&r) + len;
	cie_field = rd_vaddr(&r);
	if (!rd_bytes(&r, &cie_off, 4))
		return -EINVAL;
	if (cie_off == 0)
		return -ENOENT; /* a CIE where an FDE should be: libunwind finds nothing */
	if ((err = parse_cie(t, cie_field - (uint64_t)(int64_t)cie_off, bias, mem, fi, &lsda_enc)))
		return err;
	if ((err = rd_pointer(&r, fi->fde_enc, bias, NULL, &fi->start_ip)) ||
	    (err = rd_pointer(&r, fi->fde_enc & 0x0f, bias, NULL, &range)))
		return err;
	fi->end_ip = fi->start_ip + range;
	if (fi->sized && !rd_uleb(&r, &aug_size))
		return -EINVAL;
	fi->fde_instr = rd_vaddr(&r);
	if ((err = rd_pointer(&r, lsda_enc, bias, mem, &lsda)))
		return err;
	if (!fi->sized)
		fi->fde_instr = rd_vaddr(&r);
	else if (aug_size > t->eh.vaddr + t->eh.len - fi->fde_instr)
		return -EINVAL;
	else
		fi->fde_instr += aug_size;
	if (ip < fi->start_ip || ip >= fi->end_ip)
		return -ENOENT;
	return 0;
}

/* ---- call-frame instructions (libunwind's run_cfi_program) ---- */

enum {
	DW_CFA_nop = 0x00,
	DW_CFA_set_loc = 0x01,
	DW_CFA_advance_loc1 = 0x02,
	DW_CFA_advance_loc2 = 0x03,
	DW_CFA_advance_loc4 = 0x04,
	DW_CFA_offset_extended = 0x05,
	DW_CFA_restore_extended = 0x06,
	DW_CFA_undefined = 0x07,
	DW_CFA_same_value = 0x08,
	DW_CFA_register = 0x09,
	DW_CFA_remember_state = 0x0a,
	DW_CFA_restore_state = 0x0b,
	DW_CFA_def_cfa = 0x0c,
	DW_CFA_def_cfa_register = 0x0d,
	DW_CFA_def_cfa_offset = 0x0e,
	DW_CFA_def_cfa_expression = 0x0f,
	DW_CFA_expression = 0x10,
	DW_CFA_offset_extended_sf = 0x11,
	DW_CFA_def_cfa_sf = 0x12,
	DW_CFA_def_cfa_offset_sf = 0x13,
	DW_CFA_val_expression = 0x16,
	DW_CFA_GNU_args_size = 0x2e,
	DW_CFA_GNU_negative_offset_extended = 0x2f,
	DW_CFA_advance_loc = 0x40,
	DW_CFA_offset = 0x80,
	DW_CFA_restore = 0xc0,
};

struct interp {
	const struct cfi_table *t;
	const struct fde_info *fi;
	uint64_t bias;
	struct cfi_row cur, initial;
	struct cfi_row stack[CFI_MAX_STATES];
	int depth;
	unsigned ops;
};

static void set(struct cfi_row *row, unsigned col, uint8_t where, uint64_t val)
{
	row->where[col] = where;
	row->val[col] = val;
}

static bool rd_reg(struct rd *r, uint64_t *reg)
{
	return rd_uleb(r, reg) && *reg < CFI_NREGS;
}

/* Skip the DW_FORM_block of an expression; false when it leaves the data. */
static bool skip_block(struct rd *r)
{
	uint64_t len;

	if (!rd_uleb(r, &len) || len > r->d->len - r->pos)
		return false;
	r->pos += (size_t)len;
	return true;
}

/*
 * Run the instructions in [@from, @to) of t->eh while the location *@loc is at most
 * @end_ip. An operand that does not parse, a register libunwind does not keep (it
 * fails the frame on those) or an opcode it does not implement (it would misparse
 * what follows) all decline.
 */
static int run(struct interp *in, uint64_t from, uint64_t to, uint64_t *loc, uint64_t end_ip)
{
	const struct fde_info *fi = in->fi;
	struct cfi_row *cur = &in->cur;
	struct rd r;

	if (!rd_at(&r, &in->t->eh, from) || to < from || to - from > r.d->len - r.pos)
		return -EINVAL;
	while (*loc <= end_ip && rd_vaddr(&r) < to) {
		uint64_t reg, val, operand = 0;
		uint8_t op, u8;
		uint16_t u16;
		uint32_t u32;
		int err;

		if (++in->ops > CFI_MAX_OPS)
			return -ENOTSUP;
		if (!rd_u8(&r, &op))
			return -EINVAL;
		if (op & 0xc0) {
			operand = op & 0x3f;
			op &= 0xc0;
		}
		switch (op) {
		case DW_CFA_advance_loc:
			*loc += operand * fi->code_align;
			break;
		case DW_CFA_advance_loc1:
			if (!rd_u8(&r, &u8))
				return -EINVAL;
			*loc += u8 * fi->code_align;
			break;
		case DW_CFA_advance_loc2:
			if (!rd_bytes(&r, &u16, 2))
				return -EINVAL;
			*loc += u16 * fi->code_align;
			break;
		case DW_CFA_advance_loc4:
			if (!rd_bytes(&r, &u32, 4))
				return -EINVAL;
			*loc += u32 * fi->code_align;
			break;
		case DW_CFA_set_loc:
			if ((err = rd_pointer(&r, fi->fde_enc, in->bias, NULL, loc)))
				return err;
			break;
		case DW_CFA_offset:
			if (operand >= CFI_NREGS || !rd_uleb(&r, &val))
				return -ENOTSUP;
			set(cur, (unsigned)operand, CFI_CFAREL, val * fi->data_align);
			break;
		case DW_CFA_offset_extended:
			if (!rd_reg(&r, &reg) || !rd_uleb(&r, &val))
				return -ENOTSUP;
			set(cur, (unsigned)reg, CFI_CFAREL, val * fi->data_align);
			break;
		case DW_CFA_offset_extended_sf:
			if (!rd_reg(&r, &reg) || !rd_sleb(&r, &val))
				return -ENOTSUP;
			set(cur, (unsigned)reg, CFI_CFAREL, val * fi->data_align);
			break;
		case DW_CFA_GNU_negative_offset_extended:
			if (!rd_reg(&r, &reg) || !rd_uleb(&r, &val))
				return -ENOTSUP;
			set(cur, (unsigned)reg, CFI_CFAREL, -(val * fi->data_align));
			break;
		case DW_CFA_restore:
			reg = operand;
			goto restore;
		case DW_CFA_restore_extended:
			if (!rd_uleb(&r, &reg))
				return -EINVAL;
restore:
			if (reg >= CFI_NREGS)
				return -ENOTSUP;
			set(cur, (unsigned)reg, in->initial.where[reg], in->initial.val[reg]);
			break;
		case DW_CFA_nop:
			break;
		case DW_CFA_undefined:
			if (!rd_reg(&r, &reg))
				return -ENOTSUP;
			set(cur, (unsigned)reg, CFI_UNDEF, 0);
			break;
		case DW_CFA_same_value:
			if (!rd_reg(&r, &reg))
				return -ENOTSUP;
			set(cur, (unsigned)reg, CFI_SAME, 0);
			break;
		case DW_CFA_register:
			/* libunwind does not check the second register: it indexes with it */
			if (!rd_reg(&r, &reg) || !rd_uleb(&r, &val) || val >= CFI_NREGS)
				return -ENOTSUP;
			set(cur, (unsigned)reg, CFI_REG, val);
			break;
		case DW_CFA_remember_state:
			if (in->depth == CFI_MAX_STATES)
				return -ENOTSUP;
			in->stack[in->depth++] = *cur;
			break;
		case DW_CFA_restore_state:
			if (!in->depth)
				return -EINVAL;
			*cur = in->stack[--in->depth];
			break;
		case DW_CFA_def_cfa:
			if (!rd_reg(&r, &reg) || !rd_uleb(&r, &val))
				return -ENOTSUP;
			set(cur, CFI_CFA_REG, CFI_REG, reg);
			set(cur, CFI_CFA_OFF, 0, val);
			break;
		case DW_CFA_def_cfa_sf:
			if (!rd_reg(&r, &reg) || !rd_sleb(&r, &val))
				return -ENOTSUP;
			set(cur, CFI_CFA_REG, CFI_REG, reg);
			set(cur, CFI_CFA_OFF, 0, val * fi->data_align);
			break;
		case DW_CFA_def_cfa_register:
			if (!rd_reg(&r, &reg))
				return -ENOTSUP;
			set(cur, CFI_CFA_REG, CFI_REG, reg);
			break;
		case DW_CFA_def_cfa_offset:
			if (!rd_uleb(&r, &val))
				return -EINVAL;
			set(cur, CFI_CFA_OFF, 0, val);
			break;
		case DW_CFA_def_cfa_offset_sf:
			if (!rd_sleb(&r, &val))
				return -EINVAL;
			set(cur, CFI_CFA_OFF, 0, val * fi->data_align);
			break;
		case DW_CFA_def_cfa_expression:
			set(cur, CFI_CFA_REG, CFI_EXPR, r.pos);
			if (!skip_block(&r))
				return -EINVAL;
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			if (!rd_reg(&r, &reg))
				return -ENOTSUP;
			set(cur, (unsigned)reg, op == DW_CFA_expression ? CFI_EXPR : CFI_VAL_EXPR,
			    r.pos);
			if (!skip_block(&r))
				return -EINVAL;
			break;
		case DW_CFA_GNU_args_size:
			if (!rd_uleb(&r, &val))
				return -EINVAL;
			break;
		default: /* val_offset and the like: libunwind 1.6 skips the opcode only */
			return -ENOTSUP;
		}
	}
	return 0;
}

/* The search-table entry for @ip (libunwind's remote_lookup): the last whose start
 * is at most @ip, compared as 32-bit offsets from .eh_frame_hdr. */
static int table_lookup(const struct cfi_table *t, uint64_t bias, uint64_t ip,
			uint64_t *fde_vaddr)
{
	int32_t rel = (int32_t)(uint32_t)(ip - (t->hdr.vaddr + bias)), start, fde;
	uint64_t lo = 0, hi = t->fde_count;

	if (t->hdr.len < 12 || t->fde_count > (t->hdr.len - 12) / 8)
		return -EINVAL;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		memcpy(&start, t->hdr.p + 12 + mid * 8, 4);
		if (rel < start)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (!hi)
		return -ENOENT;
	memcpy(&fde, t->hdr.p + 12 + (hi - 1) * 8 + 4, 4);
	*fde_vaddr = t->hdr.vaddr + (uint64_t)(int64_t)fde;
	return 0;
}

int cfi__find_row(const struct cfi_table *t, uint64_t bias, uint64_t ip,
		  const struct cfi_mem *mem, struct cfi_row *row)
{
	struct interp in;
	struct fde_info fi;
	uint64_t fde, loc;
	int err;

	if ((err = table_lookup(t, bias, ip, &fde)) ||
	    (err = parse_fde(t, fde, bias, ip, mem, &fi)))
		return err;
	memset(&in.cur, 0, sizeof(in.cur)); /* every column CFI_SAME */
	/* What DW_CFA_restore finds within the CIE: libunwind's zeroed state, whose 0
	 * is "undefined". */
	memset(&in.initial, 0, sizeof(in.initial));
	for (int i = 0; i < CFI_COLUMNS; i++)
		in.initial.where[i] = CFI_UNDEF;
	in.t = t;
	in.fi = &fi;
	in.bias = bias;
	in.depth = 0;
	in.ops = 0;
	loc = 0;
	if ((err = run(&in, fi.cie_instr, fi.cie_end, &loc, UINT64_MAX)))
		return err;
	in.initial = in.cur;
	in.depth = 0; /* libunwind empties the stack between the two programs */
	loc = fi.start_ip;
	if ((err = run(&in, fi.fde_instr, fi.fde_end, &loc, ip)))
		return err;
	/* A CFA rule libunwind can apply: reg + offset (RSP and RIP included) or an
	 * expression; with none, it would evaluate garbage. */
	if (in.cur.where[CFI_CFA_REG] != CFI_REG && in.cur.where[CFI_CFA_REG] != CFI_EXPR)
		return -ENOTSUP;
	*row = in.cur;
	return 0;
}

/* ---- the step (libunwind's apply_reg_state and x86-64 unw_step) ---- */

static void loc_mem(struct cfi_loc *l, uint64_t addr)
{
	/* libunwind's remote NULL location is a memory location at 0 */
	*l = (struct cfi_loc){ addr, addr ? CFI_LOC_MEM : CFI_LOC_NULL };
}

static int loc_get(const struct cfi_loc *l, const struct cfi_mem *mem, uint64_t *v)
{
	switch (l->kind) {
	case CFI_LOC_VAL:
		*v = l->v;
		return 0;
	case CFI_LOC_MEM:
		return mem->read(mem->arg, l->v, v) ? 0 : -EFAULT;
	default:
		return -EFAULT;
	}
}

/* unw_get_reg: RSP is the CFA, RIP the ip, the others where they are. */
static int get_reg(const struct cfi_state *s, unsigned reg, const struct cfi_mem *mem,
		   uint64_t *v)
{
	if (reg == CFI_RSP) {
		*v = s->cfa;
		return 0;
	}
	if (reg == CFI_RIP) {
		*v = s->ip;
		return 0;
	}
	if (reg >= CFI_NREGS)
		return -ENOTSUP;
	return loc_get(&s->loc[reg], mem, v);
}

enum {
	DW_OP_addr = 0x03,
	DW_OP_deref = 0x06,
	DW_OP_const1u = 0x08,
	DW_OP_const1s = 0x09,
	DW_OP_const2u = 0x0a,
	DW_OP_const2s = 0x0b,
	DW_OP_const4u = 0x0c,
	DW_OP_const4s = 0x0d,
	DW_OP_const8u = 0x0e,
	DW_OP_const8s = 0x0f,
	DW_OP_constu = 0x10,
	DW_OP_consts = 0x11,
	DW_OP_dup = 0x12,
	DW_OP_drop = 0x13,
	DW_OP_over = 0x14,
	DW_OP_swap = 0x16,
	DW_OP_and = 0x1a,
	DW_OP_minus = 0x1c,
	DW_OP_neg = 0x1f,
	DW_OP_not = 0x20,
	DW_OP_or = 0x21,
	DW_OP_plus = 0x22,
	DW_OP_plus_uconst = 0x23,
	DW_OP_shl = 0x24,
	DW_OP_shr = 0x25,
	DW_OP_xor = 0x27,
	DW_OP_eq = 0x29,
	DW_OP_ge = 0x2a,
	DW_OP_gt = 0x2b,
	DW_OP_le = 0x2c,
	DW_OP_lt = 0x2d,
	DW_OP_ne = 0x2e,
	DW_OP_lit0 = 0x30,
	DW_OP_lit31 = 0x4f,
	DW_OP_breg0 = 0x70,
	DW_OP_breg31 = 0x8f,
	DW_OP_nop = 0x96,
};

/*
 * Evaluate the expression whose ULEB128 length starts at offset @off of t->eh, with
 * @initial pushed first (libunwind's dwarf_eval_expr): a subset of DWARF, the
 * operations PLT entries and hand-written CFI use; no branches (so no loops), no
 * registers as results.
 */
static int eval(const struct cfi_table *t, uint64_t off, uint64_t initial,
		const struct cfi_state *s, const struct cfi_mem *mem, uint64_t *out)
{
	uint64_t stack[CFI_EXPR_STACK], len, end, a, b;
	unsigned tos = 0, ops = 0;
	struct rd r = { &t->eh, 0 };
	int err;

	if (off > t->eh.len)
		return -EINVAL;
	r.pos = (size_t)off;
	if (!rd_uleb(&r, &len) || len > r.d->len - r.pos)
		return -EINVAL;
	end = r.pos + len;
	stack[tos++] = initial;
#define NEED(n) do { if (tos < (n)) return -EINVAL; } while (0)
#define PUSH(v) do { uint64_t v_ = (v); if (tos == CFI_EXPR_STACK) return -EINVAL; stack[tos++] = v_; } while (0)
	while (r.pos < end) {
		uint8_t op, u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t v;

		if (++ops > CFI_EXPR_OPS)
			return -ENOTSUP;
		if (!rd_u8(&r, &op))
			return -EINVAL;
		if (op >= DW_OP_lit0 && op <= DW_OP_lit31) {
			PUSH((uint64_t)(op - DW_OP_lit0));
			continue;
		}
		if (op >= DW_OP_breg0 && op <= DW_OP_breg31) {
			if (!rd_sleb(&r, &v))
				return -EINVAL;
			if ((err = get_reg(s, op - DW_OP_breg0, mem, &a)))
				return err;
			PUSH(a + v);
			continue;
		}
		switch (op) {
		case DW_OP_addr:
		case DW_OP_const8u:
		case DW_OP_const8s:
			if (!rd_bytes(&r, &v, 8))
				return -EINVAL;
			PUSH(v);
			break;
		case DW_OP_const1u:
		case DW_OP_const1s:
			if (!rd_u8(&r, &u8))
				return -EINVAL;
			PUSH(op == DW_OP_const1u ? u8 : (uint64_t)(int64_t)(int8_t)u8);
			break;
		case DW_OP_const2u:
		case DW_OP_const2s:
			if (!rd_bytes(&r, &u16, 2))
				return -EINVAL;
			PUSH(op == DW_OP_const2u ? u16 : (uint64_t)(int64_t)(int16_t)u16);
			break;
		case DW_OP_const4u:
		case DW_OP_const4s:
			if (!rd_bytes(&r, &u32, 4))
				return -EINVAL;
			PUSH(op == DW_OP_const4u ? u32 : (uint64_t)(int64_t)(int32_t)u32);
			break;
		case DW_OP_constu:
		case DW_OP_consts:
			if (!(op == DW_OP_constu ? rd_uleb(&r, &v) : rd_sleb(&r, &v)))
				return -EINVAL;
			PUSH(v);
			break;
		case DW_OP_plus_uconst:
			if (!rd_uleb(&r, &v))
				return -EINVAL;
			NEED(1);
			stack[tos - 1] += v;
			break;
		case DW_OP_deref:
			NEED(1);
			if (!mem->read(mem->arg, stack[tos - 1], &v))
				return -EFAULT;
			stack[tos - 1] = v;
			break;
		case DW_OP_dup:
			NEED(1);
			PUSH(stack[tos - 1]);
			break;
		case DW_OP_drop:
			NEED(1);
			tos--;
			break;
		case DW_OP_over:
			NEED(2);
			PUSH(stack[tos - 2]);
			break;
		case DW_OP_swap:
			NEED(2);
			a = stack[tos - 1];
			stack[tos - 1] = stack[tos - 2];
			stack[tos - 2] = a;
			break;
		case DW_OP_neg:
			NEED(1);
			stack[tos - 1] = -stack[tos - 1];
			break;
		case DW_OP_not:
			NEED(1);
			stack[tos - 1] = ~stack[tos - 1];
			break;
		case DW_OP_and:
		case DW_OP_minus:
		case DW_OP_or:
		case DW_OP_plus:
		case DW_OP_shl:
		case DW_OP_shr:
		case DW_OP_xor:
		case DW_OP_eq:
		case DW_OP_ge:
		case DW_OP_gt:
		case DW_OP_le:
		case DW_OP_lt:
		case DW_OP_ne:
			NEED(2);
			b = stack[--tos]; /* the top: the second operand */
			a = stack[tos - 1];
			switch (op) {
			case DW_OP_and: v = a & b; break;
			case DW_OP_minus: v = a - b; break;
			case DW_OP_or: v = a | b; break;
			case DW_OP_plus: v = a + b; break;
			case DW_OP_shl:
			case DW_OP_shr:
				if (b >= 64)
					return -ENOTSUP; /* undefined in C, whatever libunwind got */
				v = op == DW_OP_shl ? a << b : a >> b;
				break;
			case DW_OP_xor: v = a ^ b; break;
			case DW_OP_eq: v = (int64_t)a == (int64_t)b; break;
			case DW_OP_ge: v = (int64_t)a >= (int64_t)b; break;
			case DW_OP_gt: v = (int64_t)a > (int64_t)b; break;
			case DW_OP_le: v = (int64_t)a <= (int64_t)b; break;
			case DW_OP_lt: v = (int64_t)a < (int64_t)b; break;
			default: v = (int64_t)a != (int64_t)b; break;
			}
			stack[tos - 1] = v;
			break;
		case DW_OP_nop:
			break;
		default: /* branches, registers as results, division, ...: not here */
			return -ENOTSUP;
		}
	}
#undef NEED
#undef PUSH
	if (r.pos != end || !tos)
		return -EINVAL;
	*out = stack[tos - 1];
	return 0;
}

void cfi__init(struct cfi_state *s, const uint64_t regs[CFI_NREGS])
{
	for (int i = 0; i < CFI_NREGS; i++)
		s->loc[i] = (struct cfi_loc){ regs[i], CFI_LOC_VAL };
	s->ip = regs[CFI_RIP];
	s->cfa = regs[CFI_RSP];
}

int cfi__step(const struct cfi_table *t, const struct cfi_row *row, struct cfi_state *s,
	      const struct cfi_mem *mem)
{
	struct cfi_loc next[CFI_NREGS];
	uint64_t cfa, v, prev_ip = s->ip, prev_cfa = s->cfa;
	int err, ret;

	if (row->where[CFI_CFA_REG] == CFI_REG) {
		unsigned reg = (unsigned)row->val[CFI_CFA_REG];

		if (reg == CFI_RSP)
			cfa = s->cfa; /* whether or not RSP has a rule: libunwind reads it so */
		else if ((err = get_reg(s, reg, mem, &cfa)))
			return err;
		cfa += row->val[CFI_CFA_OFF];
	} else if (row->where[CFI_CFA_REG] == CFI_EXPR) {
		if ((err = eval(t, row->val[CFI_CFA_REG], 0, s, mem, &cfa)))
			return err;
	} else {
		return -ENOTSUP;
	}
	memcpy(next, s->loc, sizeof(next));
	for (unsigned i = 0; i < CFI_NREGS; i++) {
		switch (row->where[i]) {
		case CFI_SAME:
			break;
		case CFI_UNDEF:
			next[i] = (struct cfi_loc){ 0, CFI_LOC_NULL };
			break;
		case CFI_CFAREL:
			loc_mem(&next[i], cfa + row->val[i]);
			break;
		case CFI_REG:
			/* the location as updated so far in this loop, as libunwind does */
			next[i] = next[row->val[i] < CFI_NREGS ? row->val[i] : i];
			break;
		case CFI_EXPR:
		case CFI_VAL_EXPR:
			if ((err = eval(t, row->val[i], cfa, s, mem, &v)))
				return err;
			if (row->where[i] == CFI_EXPR)
				loc_mem(&next[i], v);
			else
				next[i] = (struct cfi_loc){ v, CFI_LOC_VAL };
			break;
		default:
			return -ENOTSUP;
		}
	}
	memcpy(s->loc, next, sizeof(next));
	s->cfa = cfa;
	if (s->loc[CFI_RIP].kind == CFI_LOC_NULL) {
		s->ip = 0;
		ret = 0;
	} else {
		if ((err = loc_get(&s->loc[CFI_RIP], mem, &v)))
			return err;
		s->ip = v;
		ret = 1;
	}
	if (s->ip == prev_ip && s->cfa == prev_cfa)
		return -ELOOP;
	/* x86-64: a caller whose RBP is nowhere ends the chain */
	if (s->loc[CFI_RBP].kind == CFI_LOC_NULL) {
		s->ip = 0;
		ret = 0;
	}
	return ret;
}

/* Instruction bytes libunwind recognises where it finds no unwind information: the
 * rt_sigreturn trampoline (mov $15, %rax; syscall) and a lazy PLT entry
 * (jmp *x(%rip); push $n; jmp .plt). */
#define SIGRETURN_W0 0x0f0000000fc0c748ull
#define SIGRETURN_W1 0x05u

static bool is_sigreturn(uint64_t w0, uint64_t w1)
{
	return w0 == SIGRETURN_W0 && (w1 & 0xff) == SIGRETURN_W1;
}

static bool is_plt_entry(uint64_t w0, uint64_t w1)
{
	return (w0 & 0xffff) == 0x25ff && ((w0 >> 48) & 0xff) == 0x68 &&
	       ((w1 >> 24) & 0xff) == 0xe9;
}

/*
 * libunwind 1.6's rules where dwarf_step finds no information (src/x86_64/Gstep.c): a
 * "previous ip" that cannot be read is taken for a call through a bad pointer, whose
 * return address is still at RSP; else RBP = 0 ends the stack, and any other RBP is
 * believed as a frame pointer if it lies a little above the CFA.
 */
int cfi__step_noinfo(struct cfi_state *s, const struct cfi_mem *mem)
{
	const struct cfi_loc nowhere = { 0, CFI_LOC_NULL };
	struct cfi_loc rbp_loc = nowhere, rsp_loc = nowhere, rip_loc = nowhere;
	uint64_t prev_ip = s->ip, prev_cfa = s->cfa, w0, w1, rbp, rsp, word;
	bool invalid_prev_ip = false, fixed = false;
	int err, ret = 0;

	/* The code at ip (not ip - 1); a failed read is neither kind. */
	if (mem->read(mem->arg, s->ip, &w0) && mem->read(mem->arg, s->ip + 8, &w1) &&
	    (is_sigreturn(w0, w1) || is_plt_entry(w0, w1)))
		return -ENOTSUP;
	if (s->loc[CFI_RBP].kind != CFI_LOC_NULL) {
		if ((err = loc_get(&s->loc[CFI_RBP], mem, &rbp)))
			return err;
		invalid_prev_ip = !mem->read(mem->arg, prev_ip, &word);
		if (rbp || invalid_prev_ip) {
			if (invalid_prev_ip) {
				/* libunwind reads RSP's location, not the CFA, and goes on
				 * with garbage when it has none: decline that. */
				if (s->loc[CFI_RSP].kind == CFI_LOC_NULL)
					return -ENOTSUP;
				if ((err = loc_get(&s->loc[CFI_RSP], mem, &rsp)))
					return -ENOTSUP;
				fixed = mem->read(mem->arg, rsp, &word) &&
					mem->read(mem->arg, word, &word);
			}
			if (fixed) {
				s->cfa += 8;
				loc_mem(&rbp_loc, rbp);
				loc_mem(&rsp_loc, rsp);
				loc_mem(&rip_loc, rsp);
			} else {
				loc_mem(&rbp_loc, rbp);
				loc_mem(&rip_loc, rbp + 8);
				ret = mem->read(mem->arg, rbp, &word) ? 0 : -EFAULT;
				if (ret < 0 || rbp < s->cfa || rbp - s->cfa > 0x4000)
					rbp_loc = rip_loc = nowhere;
				s->cfa += 16;
			}
		}
	}
	for (int i = 0; i < CFI_NREGS; i++)
		s->loc[i] = nowhere;
	s->loc[CFI_RBP] = rbp_loc;
	s->loc[CFI_RSP] = rsp_loc;
	s->loc[CFI_RIP] = rip_loc;
	if (rbp_loc.kind == CFI_LOC_NULL && !invalid_prev_ip)
		return 0; /* the end of the stack, as far as anyone can tell */
	if (rip_loc.kind == CFI_LOC_NULL) {
		s->ip = 0;
	} else {
		if ((err = loc_get(&rip_loc, mem, &s->ip)))
			return err;
		ret = 1;
	}
	if (s->ip == prev_ip && s->cfa == prev_cfa)
		return -ELOOP;
	return ret;
}
