/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_agent_cfi.c - the CFI interpreter (agent/cfi.c) beside libunwind, the unwinder
 * it stands in for, on real unwind tables: the fixtures built with and without frame
 * pointers, the .debug_frame-only fixture (converted by debug_frame.c), the PLT
 * fixtures and the system's libc.so.6 (its PLT, hand-written assembly and
 * C functions). For many addresses in each file, one step from a made-up frame
 * (registers and a stack of words pointing into itself) must give libunwind's
 * result: the same return code, caller ip, CFA and RBP, wherever the interpreter
 * does not decline; and it may decline only a few addresses. Addresses no FDE covers
 * (the dynamic loader's entry code, gaps between functions) are stepped by the
 * interpreter's no-information rules and must match libunwind's frame-pointer guess.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define UNW_REMOTE_ONLY
#include <libunwind.h>

#include "cfi.h"
#include "debug_frame.h"

extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					       unw_dyn_info_t *di, unw_proc_info_t *pi,
					       int need_unwind_info, void *arg);

#define BIAS 0x7f1200000000ull  /* where the file is "loaded" */
#define STACK_AT 0x7ffd00000000ull
#define STACK_LEN 65536
#define SP_OFF 8192 /* rsp within the stack: room for rbp-relative rules below it */

/* A file as a process would map it: its bytes by ELF address, and its tables. */
struct image {
	uint8_t *file;
	size_t size;
	GElf_Phdr load[16];
	int nload;
	struct debug_frame_eh synth;
	struct cfi_table t;
	uint64_t text_lo, text_hi; /* executable segments */
};

struct frame {
	const struct image *im;
	uint64_t regs[CFI_NREGS];
	uint64_t stack[STACK_LEN / 8];
};

/* A byte of the image at runtime address @addr (file-backed parts only). */
static const uint8_t *image_at(const struct image *im, uint64_t addr, size_t len)
{
	uint64_t v = addr - BIAS;

	if (im->synth.data && v >= im->synth.vaddr && v - im->synth.vaddr <= im->synth.len - len)
		return im->synth.data + (v - im->synth.vaddr);
	for (int i = 0; i < im->nload; i++) {
		const GElf_Phdr *p = &im->load[i];

		if (v >= p->p_vaddr && len <= p->p_filesz && v - p->p_vaddr <= p->p_filesz - len)
			return im->file + p->p_offset + (v - p->p_vaddr);
	}
	return NULL;
}

static bool frame_read(void *arg, uint64_t addr, uint64_t *val)
{
	const struct frame *f = arg;
	const uint8_t *p;

	if (addr >= STACK_AT && addr - STACK_AT <= STACK_LEN - 8) {
		memcpy(val, (const uint8_t *)f->stack + (addr - STACK_AT), 8);
		return true;
	}
	p = image_at(f->im, addr, 8);
	if (!p)
		return false;
	memcpy(val, p, 8);
	return true;
}

/* ---- libunwind over the same frame ---- */

static int l_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			    int need, void *arg)
{
	const struct frame *f = arg;
	unw_dyn_info_t di;

	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = f->im->text_lo;
	di.end_ip = f->im->text_hi;
	if (ip < di.start_ip || ip >= di.end_ip)
		return -UNW_ENOINFO;
	di.u.rti.segbase = f->im->t.hdr.vaddr + BIAS;
	di.u.rti.table_data = f->im->t.hdr.vaddr + 12 + BIAS;
	di.u.rti.table_len = f->im->t.fde_count;
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need, arg);
}

static void l_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as, (void)pi, (void)arg;
}

static int l_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

static int l_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
			void *arg)
{
	uint64_t v;

	(void)as;
	if (write || !frame_read(arg, addr, &v))
		return -UNW_EINVAL;
	*valp = v;
	return 0;
}

static int l_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *valp, int write,
			void *arg)
{
	const struct frame *f = arg;

	(void)as;
	if (write || reg < 0 || reg >= CFI_NREGS)
		return -UNW_EBADREG;
	*valp = f->regs[reg];
	return 0;
}

static int l_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			  void *arg)
{
	(void)as, (void)reg, (void)val, (void)write, (void)arg;
	return -UNW_EBADREG;
}

static int l_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

static int l_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			   unw_word_t *off, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = l_find_proc_info,
	.put_unwind_info = l_put_unwind_info,
	.get_dyn_info_list_addr = l_get_dyn_info_list_addr,
	.access_mem = l_access_mem,
	.access_reg = l_access_reg,
	.access_fpreg = l_access_fpreg,
	.resume = l_resume,
	.get_proc_name = l_get_proc_name,
};

/* ---- loading ---- */

static void load_image(struct image *im, const char *path, bool debug_frame)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t hdr_vaddr = 0, end = 0;
	struct stat st;
	Elf *elf;
	size_t nph;

	memset(im, 0, sizeof(*im));
	if (fd < 0)
		fail_msg("cannot open %s", path);
	assert_int_equal(fstat(fd, &st), 0);
	im->size = (size_t)st.st_size;
	im->file = malloc(im->size);
	assert_non_null(im->file);
	assert_int_equal(pread(fd, im->file, im->size, 0), (ssize_t)im->size);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &nph), 0);
	im->text_lo = UINT64_MAX;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD && im->nload < 16) {
			im->load[im->nload++] = ph;
			if (ph.p_vaddr + ph.p_memsz > end)
				end = ph.p_vaddr + ph.p_memsz;
			if (ph.p_flags & PF_X) {
				if (ph.p_vaddr + BIAS < im->text_lo)
					im->text_lo = ph.p_vaddr + BIAS;
				if (ph.p_vaddr + ph.p_memsz + BIAS > im->text_hi)
					im->text_hi = ph.p_vaddr + ph.p_memsz + BIAS;
			}
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			hdr_vaddr = ph.p_vaddr;
		}
	}
	if (debug_frame) {
		/* as unwind.c places it: past the segments */
		assert_int_equal(debug_frame__load(elf, ((end + 0xfff) & ~0xfffull) + (16u << 20),
						   &im->synth), 0);
		im->t.hdr = (struct cfi_data){ im->synth.data, im->synth.len, im->synth.vaddr };
		im->t.eh = im->t.hdr;
		im->t.fde_count = im->synth.fde_count;
	} else {
		const uint8_t *h;
		uint32_t count;
		int32_t eh_rel;
		uint64_t eh_vaddr;
		Elf_Scn *scn = NULL;

		assert_true(hdr_vaddr != 0);
		/* the search-table layout unwind.c accepts */
		h = image_at(im, hdr_vaddr + BIAS, 12);
		assert_non_null(h);
		assert_int_equal(h[0], 1);
		memcpy(&eh_rel, h + 4, 4);
		memcpy(&count, h + 8, 4);
		im->t.hdr = (struct cfi_data){ h, 12 + (size_t)count * 8, hdr_vaddr };
		assert_non_null(image_at(im, hdr_vaddr + BIAS, im->t.hdr.len));
		im->t.fde_count = count;
		eh_vaddr = hdr_vaddr + 4 + (uint64_t)(int64_t)eh_rel;
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) && sh.sh_addr == eh_vaddr && sh.sh_size)
				im->t.eh = (struct cfi_data){ image_at(im, eh_vaddr + BIAS, sh.sh_size),
							      sh.sh_size, eh_vaddr };
		}
		assert_non_null(im->t.eh.p);
	}
	elf_end(elf);
	close(fd);
}

static void free_image(struct image *im)
{
	debug_frame__free(&im->synth);
	free(im->file);
}

/* ---- the comparison ---- */

struct tally {
	unsigned compared, stepped, declined, no_row;
	unsigned no_row_compared, no_row_stepped; /* of no_row: stepped by cfi__step_noinfo */
};

/* What RBP holds in the made-up frame. */
enum rbp_kind {
	RBP_STACK, /* a word of the stack, a little above rsp: a believable frame pointer */
	RBP_ZERO,  /* 0, as at a process's entry */
	RBP_FAR,   /* readable, but further above rsp than libunwind believes */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* One step at @pc (the first frame) both ways. */
static void compare_at(struct frame *f, uint64_t pc, enum rbp_kind rbp_kind,
		       unw_addr_space_t as, struct tally *t)
{
	const struct cfi_mem mem = { frame_read, f };
	struct cfi_state st;
	struct cfi_row row;
	unw_cursor_t c;
	unw_word_t lip = 0, lcfa = 0, lrbp = 0;
	int ret, lret, err, lrbp_ok;
	bool no_row;

	for (int i = 0; i < CFI_NREGS; i++)
		f->regs[i] = 0x1000 + (uint64_t)i * 0x111 + (mix(pc + i) & 0xff0);
	f->regs[CFI_RSP] = STACK_AT + SP_OFF;
	f->regs[CFI_RBP] = rbp_kind == RBP_ZERO ? 0
			   : rbp_kind == RBP_FAR ? STACK_AT + SP_OFF + 0x8000
						 : STACK_AT + SP_OFF + 64 + (mix(pc) & 0x1f8);
	f->regs[CFI_RIP] = pc;

	err = cfi__find_row(&f->im->t, BIAS, pc, &mem, &row);
	no_row = err == -ENOENT;
	if (err && !no_row) {
		t->declined++;
		return;
	}
	cfi__init(&st, f->regs);
	if (no_row) {
		t->no_row++;
		ret = cfi__step_noinfo(&st, &mem);
	} else {
		ret = cfi__step(&f->im->t, &row, &st, &mem);
	}
	if (ret == -ENOTSUP || ret == -EINVAL) {
		t->declined += !no_row;
		return;
	}
	assert_int_equal(unw_init_remote(&c, as, f), 0);
	lret = unw_step(&c);
	t->compared++;
	t->no_row_compared += no_row;
	if (lret < 0 || ret < 0) {
		if (!(lret < 0 && ret < 0))
			fail_msg("pc 0x%llx: libunwind step %d, cfi %d", (unsigned long long)(pc - BIAS),
				 lret, ret);
		return;
	}
	assert_int_equal(unw_get_reg(&c, UNW_REG_IP, &lip), 0);
	assert_int_equal(unw_get_reg(&c, UNW_X86_64_RSP, &lcfa), 0);
	lrbp_ok = unw_get_reg(&c, UNW_X86_64_RBP, &lrbp) == 0;
	if (lret != ret || lip != st.ip || (ret > 0 && lcfa != st.cfa))
		fail_msg("pc 0x%llx: libunwind %d ip 0x%llx cfa 0x%llx; cfi %d ip 0x%llx cfa 0x%llx",
			 (unsigned long long)(pc - BIAS), lret, (unsigned long long)lip,
			 (unsigned long long)lcfa, ret, (unsigned long long)st.ip,
			 (unsigned long long)st.cfa);
	if (ret > 0) {
		uint64_t rbp = 0;
		t->stepped++;
		t->no_row_stepped += no_row;
		bool ok = st.loc[CFI_RBP].kind != CFI_LOC_NULL &&
			  (st.loc[CFI_RBP].kind == CFI_LOC_VAL ? (rbp = st.loc[CFI_RBP].v, true)
							       : frame_read(f, st.loc[CFI_RBP].v, &rbp));

		if (ok != lrbp_ok || (ok && rbp != lrbp))
			fail_msg("pc 0x%llx: rbp libunwind %d 0x%llx, cfi %d 0x%llx",
				 (unsigned long long)(pc - BIAS), lrbp_ok, (unsigned long long)lrbp,
				 ok, (unsigned long long)rbp);
	}
}

/* A frame over @im whose stack words point into the stack itself, or are small. */
static struct frame *frame_new(const struct image *im)
{
	struct frame *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->im = im;
	for (size_t i = 0; i < STACK_LEN / 8; i++)
		f->stack[i] = (i % 3) ? STACK_AT + SP_OFF + (mix(i) & 0x3ff8) : mix(i) & 0xffff;
	return f;
}

static unw_addr_space_t space_new(void)
{
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);

	assert_non_null(as);
	unw_set_caching_policy(as, UNW_CACHE_NONE);
	return as;
}

/* Every @stride-th address from each FDE's start to the next's (at most @per_fde of
 * them). @return the tally. */
static struct tally compare_file(const char *path, bool debug_frame, unsigned stride,
				 unsigned per_fde)
{
	struct image im;
	struct frame *f;
	struct tally t = { 0 };
	unw_addr_space_t as;

	load_image(&im, path, debug_frame);
	f = frame_new(&im);
	as = space_new();
	for (uint64_t i = 0; i < im.t.fde_count; i++) {
		int32_t start, next;
		uint64_t lo, hi;

		memcpy(&start, im.t.hdr.p + 12 + i * 8, 4);
		lo = im.t.hdr.vaddr + (uint64_t)(int64_t)start + BIAS;
		if (i + 1 < im.t.fde_count) {
			memcpy(&next, im.t.hdr.p + 12 + (i + 1) * 8, 4);
			hi = im.t.hdr.vaddr + (uint64_t)(int64_t)next + BIAS;
		} else {
			hi = lo + 256;
		}
		for (unsigned k = 0; k < per_fde && lo + (uint64_t)k * stride < hi; k++) {
			uint64_t pc = lo + (uint64_t)k * stride;

			if (pc >= im.text_lo && pc < im.text_hi)
				compare_at(f, pc, (enum rbp_kind)(mix(pc) % 3), as, &t);
		}
	}
	unw_destroy_addr_space(as);
	free_image(&im);
	free(f);
	print_message("%s: %u compared (%u stepped to a caller), %u declined, %u without an "
		      "FDE\n", path, t.compared, t.stepped, t.declined, t.no_row);
	return t;
}

/* Every address of @path's executable segments that no FDE covers, with each kind of
 * RBP. @return the tally. */
static struct tally compare_gaps(const char *path)
{
	struct image im;
	struct frame *f;
	struct tally t = { 0 };
	unw_addr_space_t as;

	load_image(&im, path, false);
	f = frame_new(&im);
	as = space_new();
	for (uint64_t pc = im.text_lo; pc < im.text_hi; pc++) {
		const struct cfi_mem mem = { frame_read, f };
		struct cfi_row row;

		if (cfi__find_row(&im.t, BIAS, pc, &mem, &row) != -ENOENT)
			continue;
		for (int k = RBP_STACK; k <= RBP_FAR; k++)
			compare_at(f, pc, (enum rbp_kind)k, as, &t);
	}
	print_message("%s: %u addresses without an FDE compared, %u stepped to a caller\n", path,
		      t.no_row_compared, t.no_row_stepped);
	/* Addresses in no file (code of a process that has exec'd since, JIT code):
	 * their bytes cannot be read, which libunwind takes for a call through a bad
	 * pointer, the return address still at RSP. The stack's words at RSP point into
	 * the stack or are small, so both of its outcomes are here. */
	unw_destroy_addr_space(as);
	as = space_new();
	unsigned before = t.no_row_compared, stepped = t.no_row_stepped;
	for (uint64_t k = 0; k < 3 * 64; k++) {
		uint64_t pc = 0x10000 + (k / 3) * 0x48;

		f->stack[SP_OFF / 8] = (k / 3) % 2 ? mix(k) & 0xffff : STACK_AT + SP_OFF + 0x100;
		compare_at(f, pc, (enum rbp_kind)(k % 3), as, &t);
	}
	/* none declined; the return address at RSP taken for half of them */
	assert_int_equal(t.no_row_compared - before, 3 * 64);
	assert_true(t.no_row_stepped - stepped >= 3 * 32);
	unw_destroy_addr_space(as);
	free_image(&im);
	free(f);
	return t;
}

static void fixture(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", FIXTURES_DIR, name);
}

static void test_fixtures(void **state)
{
	static const char *const names[] = { "unwind_nofp", "unwind_fp_leaf",
					     "plt/libplt_lazy.so", "plt/libplt_ibt.so" };
	char path[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct tally t;

		fixture(names[i], path, sizeof(path));
		t = compare_file(path, false, 1, 4096);
		assert_true(t.compared > 50);
		assert_true(t.stepped * 2 > t.compared);
		assert_int_equal(t.declined, 0);
	}
}

static void test_debug_frame(void **state)
{
	char path[4096];
	struct tally t;

	(void)state;
	fixture("debug_frame_fixture", path, sizeof(path));
	t = compare_file(path, true, 1, 4096);
	assert_true(t.compared > 50);
	assert_true(t.stepped * 2 > t.compared);
	assert_int_equal(t.declined, 0);
}

/* The dynamic loader's entry code (_start, _dl_start_user) has no FDE: every new
 * process's first stacks end there. */
static void test_no_unwind_info(void **state)
{
	static const char *const paths[] = { "/lib64/ld-linux-x86-64.so.2",
					     "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" };
	struct tally t;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		if (access(paths[i], R_OK))
			continue;
		t = compare_gaps(paths[i]);
		assert_true(t.no_row_compared > 30);
		/* the frame-pointer guess took some of them to a caller; RBP_ZERO and
		 * RBP_FAR ended the others */
		assert_true(t.no_row_stepped > 0);
		assert_true(t.no_row_stepped < t.no_row_compared);
		return;
	}
	skip();
}

static void test_libc(void **state)
{
	static const char *const paths[] = { "/lib/x86_64-linux-gnu/libc.so.6",
					     "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	struct tally t;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		if (access(paths[i], R_OK))
			continue;
		t = compare_file(paths[i], false, 3, 64);
		assert_true(t.compared > 10000);
		/* signal frames (__restore_rt) and the like: a handful */
		assert_true(t.declined * 200 < t.compared);
		return;
	}
	skip();
}

/* A hand-made table: one CIE, one FDE for [0x2000, 0x2040) whose instructions pop a
 * state never remembered after the first byte. */
static size_t tiny_table(uint8_t *b, uint64_t vaddr)
{
	static const uint8_t cie[] = {
		20, 0, 0, 0, 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x1b,
		0x0c, 7, 8,   /* def_cfa rsp+8 */
		0x90, 1, 0, 0 /* rip at cfa-8, nops */
	};
	uint64_t eh = vaddr + 20, fde = eh + sizeof(cie), func = 0x2000;
	int32_t v;
	size_t n = 0;

	memcpy(b, (const uint8_t[]){ 1, 0x1b, 0x03, 0x3b }, 4);
	v = (int32_t)(eh - (vaddr + 4));
	memcpy(b + 4, &v, 4);
	memcpy(b + 8, &(uint32_t){ 1 }, 4);
	v = (int32_t)(func - vaddr);
	memcpy(b + 12, &v, 4);
	v = (int32_t)(fde - vaddr);
	memcpy(b + 16, &v, 4);
	n = 20;
	memcpy(b + n, cie, sizeof(cie));
	n += sizeof(cie);
	memcpy(b + n, &(uint32_t){ 20 }, 4);                    /* length */
	memcpy(b + n + 4, &(uint32_t){ (uint32_t)(fde + 4 - eh) }, 4); /* CIE pointer */
	v = (int32_t)(func - (fde + 8));
	memcpy(b + n + 8, &v, 4);                               /* pcrel start */
	memcpy(b + n + 12, &(uint32_t){ 0x40 }, 4);             /* range */
	memcpy(b + n + 16, (const uint8_t[]){ 0, 0x41, 0x0e, 0x10, 0x0b, 0, 0, 0 }, 8);
	return n + 24;
}

static void test_malformed(void **state)
{
	uint8_t b[128];
	size_t len = tiny_table(b, 0x1000);
	struct cfi_table t = { { b, len, 0x1000 }, 1, { b, len, 0x1000 } };
	struct cfi_row row;

	(void)state;
	assert_int_equal(cfi__find_row(&t, 0, 0x2000, NULL, &row), 0);
	assert_int_equal(row.where[CFI_CFA_REG], CFI_REG);
	assert_int_equal(row.val[CFI_CFA_REG], CFI_RSP);
	assert_int_equal(row.val[CFI_CFA_OFF], 8);
	assert_int_equal(row.where[CFI_RIP], CFI_CFAREL);
	assert_int_equal((int64_t)row.val[CFI_RIP], -8);
	assert_int_equal(cfi__find_row(&t, 0, 0x2001, NULL, &row), -EINVAL); /* underflow */
	assert_int_equal(cfi__find_row(&t, 0, 0x1fff, NULL, &row), -ENOENT);
	assert_int_equal(cfi__find_row(&t, 0, 0x2040, NULL, &row), -ENOENT);
	/* Cut anywhere, the tables are refused, never read past their end. */
	for (size_t cut = 0; cut < len - 3; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		struct cfi_table c = { { copy, cut, 0x1000 }, 1, { copy, cut, 0x1000 } };

		assert_non_null(copy);
		memcpy(copy, b, cut);
		assert_true(cfi__find_row(&c, 0, 0x2000, NULL, &row) < 0);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_debug_frame),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_no_unwind_info),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
