/* SPDX-License-Identifier: Apache-2.0 */
/*
 * debug_frame.c - .debug_frame rewritten into .eh_frame_hdr + .eh_frame form (see
 * debug_frame.h): CIE ids become 0, CIEs get a "zR" augmentation that makes FDE
 * addresses pc-relative, and the FDEs get a sorted binary search table, because
 * libunwind's remote table search reads nothing else.
 */
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "debug_frame.h"
#include "varint.h"
#include "vec.h"

#define OUT_MAX (2 * (size_t)DEBUG_FRAME_MAX) /* bound on the converted size */
#define TABLE_REACH (1ull << 31)   /* how far below the table a 32-bit entry reaches */
#define CIE_ID 0xffffffffu         /* a CIE's id in .debug_frame */
#define DW_EH_PE_pcrel_sdata8 0x1c /* FDE addresses in the output */

/* .eh_frame_hdr: version 1, the .eh_frame pointer pcrel sdata4, the count udata4, the
 * table datarel sdata4: the only layout libunwind's table search reads. */
static const uint8_t hdr_head[4] = { 1, 0x1b, 0x03, 0x3b };

struct df_cie {
	uint64_t in_off;  /* offset in .debug_frame */
	uint64_t out_off; /* offset of the converted CIE in the .eh_frame part */
	uint8_t addr_size;
};

struct df_fde {
	uint64_t vaddr, out_off;
};

typedef VEC(uint8_t) byte_vec;
typedef VEC(struct df_cie) cie_vec;
typedef VEC(struct df_fde) fde_vec;

/* Append @n bytes; the output is bounded, whatever the input claims. */
static int put(byte_vec *b, const void *data, size_t n)
{
	int err;

	if (n > OUT_MAX - b->len)
		return -E2BIG;
	err = VEC_RESERVE(*b, b->len + n);
	if (err)
		return err;
	memcpy(b->v + b->len, data, n);
	b->len += n;
	return 0;
}

static int put_uleb(byte_vec *b, uint64_t v)
{
	uint8_t buf[VARINT_MAX];

	return put(b, buf, varint_put_uleb(buf, v));
}

static int put_sleb(byte_vec *b, int64_t v)
{
	uint8_t buf[VARINT_MAX];

	return put(b, buf, varint_put_sleb(buf, v));
}

/* Pad the record that starts at @start to a multiple of 4 with DW_CFA_nop and
 * patch its length field. */
static int finish_record(byte_vec *b, size_t start)
{
	static const uint8_t nops[3];
	uint32_t l;
	int err = put(b, nops, (4 - (b->len - start) % 4) % 4);

	if (err)
		return err;
	l = (uint32_t)(b->len - start - 4);
	memcpy(b->v + start, &l, 4);
	return 0;
}

/*
 * One CIE (its body @p..@end, after the id) in .eh_frame form, recorded in @cies.
 * @return 0, 1 when it cannot be converted (skipped), or a negative errno.
 */
static int convert_cie(byte_vec *eh, cie_vec *cies, uint64_t in_off,
		       const uint8_t *p, const uint8_t *end)
{
	static const uint8_t zero[4];
	uint8_t version, addr_size = 8, ret_byte, aug[2] = { 1, DW_EH_PE_pcrel_sdata8 };
	uint64_t code_align, ret;
	int64_t data_align;
	size_t start = eh->len;
	int err;

	if (p >= end)
		return 1;
	version = *p++;
	if (p >= end || *p != '\0')
		return 1; /* augmentations are not used in .debug_frame */
	p++;
	if (version >= 4) {
		if (end - p < 2)
			return 1;
		addr_size = p[0];
		p += 2;
	}
	if (!varint_get_uleb(&p, end, &code_align) || !varint_get_sleb(&p, end, &data_align))
		return 1;
	if (version == 1) {
		if (p >= end)
			return 1;
		ret = *p++;
	} else if (!varint_get_uleb(&p, end, &ret)) {
		return 1;
	}
	if (ret > 255 || (addr_size != 8 && addr_size != 4))
		return 1;
	err = VEC_PUSH(*cies, ((struct df_cie){ in_off, start, addr_size }));
	if (err)
		return err;
	ret_byte = (uint8_t)ret;
	version = 1;
	/* length (patched by finish_record), CIE id 0, version 1, "zR", the alignment
	 * factors, the return column, then the augmentation data: FDE pointers are
	 * DW_EH_PE_pcrel | DW_EH_PE_sdata8. */
	if ((err = put(eh, zero, 4)) || (err = put(eh, zero, 4)) || (err = put(eh, &version, 1)) ||
	    (err = put(eh, "zR", 3)) || (err = put_uleb(eh, code_align)) ||
	    (err = put_sleb(eh, data_align)) || (err = put(eh, &ret_byte, 1)) ||
	    (err = put(eh, aug, 2)) || (err = put(eh, p, (size_t)(end - p))))
		return err;
	return finish_record(eh, start);
}

/* Binary search: pass 1 records CIEs in increasing offset order. */
static const struct df_cie *find_cie(const struct df_cie *cies, size_t n, uint64_t in_off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cies[mid].in_off == in_off)
			return &cies[mid];
		if (cies[mid].in_off < in_off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * One FDE (its body @p..@end, after the CIE pointer @id) in .eh_frame form, its
 * address written as is (made pc-relative once the layout is known).
 * @return 0, 1 when it is skipped, or a negative errno.
 */
static int convert_fde(byte_vec *eh, fde_vec *fdes, const struct df_cie *cies,
		       size_t ncies, uint32_t id, const uint8_t *p, const uint8_t *end,
		       uint64_t vaddr)
{
	static const uint8_t zero[4];
	const struct df_cie *cie = find_cie(cies, ncies, id);
	uint64_t loc = 0, range = 0;
	uint8_t aug_len = 0;
	uint32_t cie_ptr;
	size_t start = eh->len;
	int err;

	if (!cie || (size_t)(end - p) < 2u * cie->addr_size)
		return 1;
	memcpy(&loc, p, cie->addr_size);
	memcpy(&range, p + cie->addr_size, cie->addr_size);
	p += 2 * cie->addr_size;
	/* The table holds 32-bit offsets from @vaddr: what they cannot reach is left
	 * out, not the whole table (linkers leave FDEs of discarded code at 0). */
	if (!range || loc >= vaddr || vaddr - loc > TABLE_REACH)
		return 1;
	err = VEC_PUSH(*fdes, ((struct df_fde){ loc, start }));
	if (err)
		return err;
	cie_ptr = (uint32_t)(start + 4 - cie->out_off);
	if ((err = put(eh, zero, 4)) || (err = put(eh, &cie_ptr, 4)) || (err = put(eh, &loc, 8)) ||
	    (err = put(eh, &range, 8)) || (err = put(eh, &aug_len, 1)) ||
	    (err = put(eh, p, (size_t)(end - p))))
		return err;
	return finish_record(eh, start);
}

static int cmp_fde(const void *a, const void *b)
{
	const struct df_fde *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

int debug_frame__convert(const uint8_t *df, size_t len, uint64_t vaddr,
			 struct debug_frame_eh *out)
{
	byte_vec eh = { 0 }, res = { 0 };
	cie_vec cies = { 0 };
	fde_vec fdes = { 0 };
	int err = 0;

	/* Every offset in the output fits the table's 32-bit fields. */
	_Static_assert(OUT_MAX <= INT32_MAX, "offsets in the output are 32-bit");

	if (len > DEBUG_FRAME_MAX)
		return -E2BIG;
	if (vaddr > UINT64_MAX - OUT_MAX)
		return -ERANGE; /* the output would wrap around the address space */
	/* Pass 0: CIEs first, so every FDE can point back at its CIE. Pass 1: FDEs. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t off = 0; off + 8 <= len;) {
			const uint8_t *p, *end;
			uint32_t length, id;
			size_t this_off = off;

			memcpy(&length, df + off, 4);
			if (length == 0xffffffff)
				break; /* 64-bit DWARF: not produced for x86_64 user code */
			if (length < 4 || length > len - off - 4)
				break;
			p = df + off + 8;
			end = df + off + 4 + length;
			memcpy(&id, df + off + 4, 4);
			off += 4 + (size_t)length;

			if (pass == 0 && id == CIE_ID)
				err = convert_cie(&eh, &cies, this_off, p, end);
			else if (pass == 1 && id != CIE_ID)
				err = convert_fde(&eh, &fdes, cies.v, cies.len, id, p, end,
						  vaddr);
			if (err < 0)
				goto out;
			err = 0;
		}
	}
	if (!fdes.len) {
		err = -ENOENT;
		goto out;
	}

	/* Layout: header, search table (8 bytes per FDE), .eh_frame part. */
	size_t eh_start = DEBUG_FRAME_HDR_LEN + 8 * fdes.len;
	uint8_t hdr[DEBUG_FRAME_HDR_LEN];
	int32_t eh_ptr = (int32_t)(eh_start - 4);
	uint32_t count = (uint32_t)fdes.len;

	if (eh.len > OUT_MAX - eh_start) {
		err = -E2BIG;
		goto out;
	}
	err = VEC_RESERVE(res, eh_start + eh.len);
	if (err)
		goto out;
	qsort(fdes.v, fdes.len, sizeof(*fdes.v), cmp_fde);
	memcpy(hdr, hdr_head, 4);
	memcpy(hdr + 4, &eh_ptr, 4);
	memcpy(hdr + 8, &count, 4);
	memcpy(res.v, hdr, sizeof(hdr));
	for (size_t i = 0; i < fdes.len; i++) {
		/* Table entries are relative to the header (its address is segbase):
		 * -TABLE_REACH <= start < 0 (convert_fde), 0 < fde <= OUT_MAX. The
		 * differences are taken unsigned, as they wrap in two's complement. */
		uint64_t at = vaddr + eh_start + fdes.v[i].out_off + 8;
		int32_t pair[2] = { (int32_t)(int64_t)(fdes.v[i].vaddr - vaddr),
				    (int32_t)(eh_start + fdes.v[i].out_off) };
		uint64_t rel = fdes.v[i].vaddr - at; /* pc-relative to its own field */

		memcpy(res.v + DEBUG_FRAME_HDR_LEN + 8 * i, pair, sizeof(pair));
		memcpy(eh.v + fdes.v[i].out_off + 8, &rel, 8);
	}
	memcpy(res.v + eh_start, eh.v, eh.len);
	*out = (struct debug_frame_eh){
		.data = res.v,
		.len = eh_start + eh.len,
		.vaddr = vaddr,
		.fde_count = fdes.len,
	};
	res.v = NULL;
out:
	VEC_FREE(res);
	VEC_FREE(eh);
	VEC_FREE(cies);
	VEC_FREE(fdes);
	return err;
}

/* Raw bytes: the file may be mapped read-only, so libelf must not be asked to
 * decompress in place; zlib does it into a buffer of our own (*@plain). */
static int section_bytes(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const uint8_t **buf,
			 size_t *len, uint8_t **plain)
{
	Elf_Data *d = elf_rawdata(scn, NULL);
	Elf64_Chdr ch;
	uLongf out_len;

	*plain = NULL;
	if (!d || !d->d_buf || d->d_size < 8 || d->d_size > DEBUG_FRAME_MAX)
		return -ENOENT;
	*buf = d->d_buf;
	*len = d->d_size;
	if (!(sh->sh_flags & SHF_COMPRESSED))
		return 0;
	if (gelf_getclass(elf) != ELFCLASS64 || *len < sizeof(ch))
		return -ENOENT;
	memcpy(&ch, *buf, sizeof(ch));
	if (ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size < 8 || ch.ch_size > DEBUG_FRAME_MAX)
		return -ENOENT;
	*plain = malloc(ch.ch_size);
	if (!*plain)
		return -ENOMEM;
	out_len = (uLongf)ch.ch_size;
	if (uncompress(*plain, &out_len, *buf + sizeof(ch), (uLong)(*len - sizeof(ch))) != Z_OK) {
		free(*plain);
		*plain = NULL;
		return -ENOENT;
	}
	*buf = *plain;
	*len = out_len;
	return 0;
}

int debug_frame__load(Elf *elf, uint64_t vaddr, struct debug_frame_eh *out)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		const uint8_t *buf;
		uint8_t *plain;
		const char *name;
		GElf_Shdr sh;
		size_t len;
		int err;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".debug_frame"))
			continue;
		/* Before libelf reads it: from a file opened with ELF_C_READ it would
		 * copy the whole section, however large, to find it too large. */
		if (sh.sh_size > DEBUG_FRAME_MAX)
			return -ENOENT;
		err = section_bytes(elf, scn, &sh, &buf, &len, &plain);
		if (!err)
			err = debug_frame__convert(buf, len, vaddr, out);
		free(plain);
		return err;
	}
	return -ENOENT;
}

/* Bytes of an FDE up to its instructions: length, CIE pointer, pc-relative sdata8
 * address, sdata8 range, empty augmentation data. */
#define FDE_HEAD 25

int debug_frame__entry(const struct debug_frame_eh *eh, uint64_t i, uint64_t *start,
		       uint64_t *end)
{
	static const uint8_t cie_head[4] = { 1, 'z', 'R', 0 }; /* version, augmentation */
	const uint8_t *d = eh->data;
	uint32_t length, cie_ptr, cie_len, cie_id, count;
	int32_t pair[2], prev;
	uint64_t range, fde, cie;
	int64_t rel;

	if (i >= eh->fde_count)
		return -ERANGE;
	if (!d || eh->len < DEBUG_FRAME_HDR_LEN || memcmp(d, hdr_head, sizeof(hdr_head)) ||
	    eh->fde_count > (eh->len - DEBUG_FRAME_HDR_LEN) / 8)
		return -EINVAL;
	memcpy(&count, d + 8, 4);
	if (count != eh->fde_count)
		return -EINVAL;
	memcpy(pair, d + DEBUG_FRAME_HDR_LEN + 8 * i, 8);
	if (i > 0) {
		memcpy(&prev, d + DEBUG_FRAME_HDR_LEN + 8 * (i - 1), 4);
		if (prev > pair[0])
			return -EINVAL;
	}
	/* The FDE, wholly inside the data. */
	fde = (uint64_t)(int64_t)pair[1];
	if (pair[1] < 0 || eh->len < FDE_HEAD || fde > eh->len - FDE_HEAD)
		return -EINVAL;
	memcpy(&length, d + fde, 4);
	memcpy(&cie_ptr, d + fde + 4, 4);
	if (length < FDE_HEAD - 4 || length > eh->len - fde - 4)
		return -EINVAL;
	/* Its CIE: before it, whole, with id 0 and the augmentation that says how the
	 * FDE's address is encoded. */
	if (!cie_ptr || cie_ptr > fde + 4)
		return -EINVAL;
	cie = fde + 4 - cie_ptr;
	if (cie + 4 + 4 + sizeof(cie_head) > eh->len)
		return -EINVAL;
	memcpy(&cie_len, d + cie, 4);
	memcpy(&cie_id, d + cie + 4, 4);
	if (cie_id || cie_len > eh->len - cie - 4 || cie_len < 4 + sizeof(cie_head) ||
	    memcmp(d + cie + 8, cie_head, sizeof(cie_head)))
		return -EINVAL;
	/* Where it starts, as the table says. */
	memcpy(&rel, d + fde + 8, 8);
	memcpy(&range, d + fde + 16, 8);
	*start = eh->vaddr + fde + 8 + (uint64_t)rel;
	if (*start != eh->vaddr + (uint64_t)(int64_t)pair[0])
		return -EINVAL;
	*end = *start + range;
	return 0;
}

void debug_frame__free(struct debug_frame_eh *eh)
{
	free(eh->data);
	*eh = (struct debug_frame_eh){ 0 };
}
