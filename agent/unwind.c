/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unwind.c - DWARF unwinding of sampled user stacks with libunwind's remote API, the
 * way perf's --call-graph dwarf works: the BPF program copied the user registers and
 * the top of the user stack; here libunwind walks that snapshot, reading stack words
 * from it and unwind tables (.eh_frame_hdr / .eh_frame, or .debug_frame converted by
 * debug_frame.c) from the mapped ELF files.
 *
 * Per-ELF state (the mmapped file, its PT_LOAD headers and where its .eh_frame_hdr
 * is) is cached by build-id (by dev and inode for files without one), bounded and
 * LRU, so one library mapped by many processes, or from different paths in
 * different containers, is parsed once. Each process gets its own libunwind
 * address space, because libunwind caches unwind rules by instruction address, and
 * the same address means different code in different processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNW_REMOTE_ONLY
#include <libunwind.h>

#include "agent.h"
#include "debug_frame.h"
#include "list.h"

/* Exported by libunwind but not declared in its headers (perf declares it too). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					       unw_dyn_info_t *di, unw_proc_info_t *pi,
					       int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

#define MAX_SEGMENTS 16     /* PT_LOAD headers kept per ELF file */
#define CTX_MAX_ELFS 32     /* distinct ELF files one unwind may touch */
#define DEFAULT_MAX_ELFS 128
#define DEFAULT_MAX_SPACES 64
#define STACK_WINDOW (8u << 20) /* addresses this far above sp are "stack" */

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30

struct segment {
	uint64_t vaddr, memsz, offset, filesz;
};

/* One ELF file: mapped read-only, with what unwinding needs from it. */
struct unwind_elf {
	uint8_t build_id[SYMBOLIZER_BUILD_ID_MAX];
	size_t build_id_len; /* 0: keyed by dev/inode */
	uint64_t dev, inode;
	const uint8_t *data; /* the whole file, mmapped */
	size_t size;
	struct segment seg[MAX_SEGMENTS];
	int nseg;
	bool has_table;       /* a usable .eh_frame_hdr binary search table */
	uint64_t hdr_vaddr;   /* .eh_frame_hdr */
	uint64_t table_vaddr; /* its search table */
	uint64_t fde_count;
	/* For files with .debug_frame but no .eh_frame_hdr (Go): hdr_vaddr and
	 * table_vaddr point into this (see use_debug_frame). */
	struct debug_frame_eh synth;
	struct list_node lru;
};

struct unwind_space {
	pid_t pid;
	unw_addr_space_t as;
	struct list_node lru;
};

/* An ELF touched by the unwind in progress, with its load bias in that process. */
struct ctx_elf {
	struct unwind_elf *elf;
	uint64_t bias; /* runtime address - ELF vaddr */
	uint64_t lo, hi; /* runtime range of its PT_LOAD segments */
};

struct unwind_ctx {
	struct unwinder *u;
	pid_t pid;
	const uint64_t *regs;
	const uint8_t *stack;
	uint64_t sp;
	size_t stack_len;
	bool beyond_snapshot; /* a read above the snapshot: the stack was cut */
	struct ctx_elf elfs[CTX_MAX_ELFS];
	int nelfs;
};

struct unwinder {
	struct symbolizer *sym;
	unw_accessors_t accessors;
	struct list_node elfs; /* LRU lists, most recent first */
	size_t nelfs, max_elfs;
	struct list_node spaces;
	size_t nspaces, max_spaces;
	struct unwind_stats stats;
};

/* ---- ELF files ---- */

static void elf_release(struct unwind_elf *e)
{
	if (e->data)
		munmap((void *)e->data, e->size);
	debug_frame__free(&e->synth);
	free(e);
}

static bool vaddr_to_offset(const struct unwind_elf *e, uint64_t vaddr, size_t len,
			    uint64_t *off)
{
	/* Segments were checked to lie inside the file when loaded, so none of
	 * this can overflow. */
	for (int i = 0; i < e->nseg; i++) {
		const struct segment *s = &e->seg[i];
		if (vaddr >= s->vaddr && len <= s->filesz && vaddr - s->vaddr <= s->filesz - len) {
			*off = s->offset + (vaddr - s->vaddr);
			return true;
		}
	}
	return false;
}

/* Read .eh_frame_hdr (located by PT_GNU_EH_FRAME, which survives stripping). */
static void find_eh_frame_hdr(struct unwind_elf *e, uint64_t hdr_vaddr)
{
	uint64_t off;
	const uint8_t *h;
	uint32_t count;

	if (!vaddr_to_offset(e, hdr_vaddr, 12, &off))
		return;
	h = e->data + off;
	/* version 1; eh_frame_ptr as pcrel sdata4; count as udata4; the table as
	 * datarel sdata4 pairs - the only layout libunwind's table search reads,
	 * and the one every toolchain emits. */
	if (h[0] != 1 || h[1] != (DW_EH_PE_pcrel | DW_EH_PE_sdata4) ||
	    h[2] != DW_EH_PE_udata4 || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	memcpy(&count, h + 8, sizeof(count));
	if (!count || !vaddr_to_offset(e, hdr_vaddr + 12, (size_t)count * 8, &off))
		return;
	e->hdr_vaddr = hdr_vaddr;
	e->table_vaddr = hdr_vaddr + 12;
	e->fde_count = count;
	e->has_table = true;
}

/*
 * For code without .eh_frame (Go): the .debug_frame converted to .eh_frame form with
 * its own search table (debug_frame.h), as if it were mapped at a fixed distance past
 * the file's segments, where no process has any of the file's code.
 */
#define SYNTH_GAP (16u << 20) /* from the end of the segments to the converted table */

static void use_debug_frame(struct unwind_elf *e, Elf *elf)
{
	uint64_t end = 0;

	for (int i = 0; i < e->nseg; i++)
		if (e->seg[i].vaddr + e->seg[i].memsz > end)
			end = e->seg[i].vaddr + e->seg[i].memsz;
	if (end > UINT64_MAX - SYNTH_GAP - 0xfff)
		return; /* segments at the top of the address space: no room past them */
	if (debug_frame__load(elf, ((end + 0xfff) & ~0xfffULL) + SYNTH_GAP, &e->synth))
		return;
	e->hdr_vaddr = e->synth.vaddr;
	e->table_vaddr = e->synth.vaddr + DEBUG_FRAME_HDR_LEN;
	e->fde_count = e->synth.fde_count;
	e->has_table = true;
}

static struct unwind_elf *elf_load(int fd, const struct symbolizer_mapping *m)
{
	struct unwind_elf *e = calloc(1, sizeof(*e));
	struct stat st;
	Elf *elf = NULL;
	size_t nph;

	if (!e || fstat(fd, &st) || st.st_size <= 0)
		goto fail;
	e->dev = m->dev;
	e->inode = m->inode;
	e->build_id_len = m->build_id_len;
	memcpy(e->build_id, m->build_id, m->build_id_len);
	e->size = (size_t)st.st_size;
	e->data = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (e->data == MAP_FAILED) {
		e->data = NULL;
		goto fail;
	}
	elf = elf_memory((char *)e->data, e->size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph))
		goto fail;
	uint64_t hdr_vaddr = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		/* Untrusted: a segment must lie inside the file and its range must not
		 * wrap, or reads through it would leave the mapping. */
		if (ph.p_type == PT_LOAD && e->nseg < MAX_SEGMENTS && ph.p_offset <= e->size &&
		    ph.p_filesz <= e->size - ph.p_offset && ph.p_filesz <= ph.p_memsz &&
		    ph.p_vaddr <= UINT64_MAX - ph.p_memsz)
			e->seg[e->nseg++] = (struct segment){ ph.p_vaddr, ph.p_memsz,
							     ph.p_offset, ph.p_filesz };
		else if (ph.p_type == PT_GNU_EH_FRAME)
			hdr_vaddr = ph.p_vaddr;
	}
	if (hdr_vaddr)
		find_eh_frame_hdr(e, hdr_vaddr);
	if (!e->has_table)
		use_debug_frame(e, elf);
	elf_end(elf);
	return e;
fail:
	if (elf)
		elf_end(elf);
	if (e)
		elf_release(e);
	return NULL;
}

/*
 * The ELF file behind @m (the mapping at @addr), loaded if needed; a load refreshes
 * @m to describe the file opened. Entries are only evicted between unwinds (see
 * unwinder__unwind), so pointers held by a context stay valid.
 */
static struct unwind_elf *elf_get(struct unwind_ctx *ctx, uint64_t addr,
				  struct symbolizer_mapping *m)
{
	struct unwinder *u = ctx->u;
	struct list_node *pos, *tmp;
	struct unwind_elf *e;
	int fd;

	list_for_each_safe(pos, tmp, &u->elfs) {
		e = container_of(pos, struct unwind_elf, lru);
		if (m->build_id_len ? e->build_id_len == m->build_id_len &&
					      !memcmp(e->build_id, m->build_id, m->build_id_len)
				    : !e->build_id_len && e->dev == m->dev && e->inode == m->inode) {
			list_move_front(&u->elfs, &e->lru);
			return e;
		}
	}
	fd = symbolizer__open_mapping_at(u->sym, ctx->pid, addr, m);
	if (fd < 0)
		return NULL;
	e = elf_load(fd, m);
	close(fd);
	if (!e)
		return NULL;
	u->stats.elf_loads++;
	list_add_front(&u->elfs, &e->lru);
	u->nelfs++;
	return e;
}

static void evict_elfs(struct unwinder *u)
{
	while (u->nelfs > u->max_elfs) {
		struct unwind_elf *e = container_of(list_last(&u->elfs), struct unwind_elf, lru);

		list_del(&e->lru);
		elf_release(e);
		u->nelfs--;
	}
}

/* Find (or add) the ELF mapped at @addr in the process being unwound. */
static struct ctx_elf *ctx_elf_at(struct unwind_ctx *ctx, uint64_t addr)
{
	struct symbolizer_mapping m;
	struct unwind_elf *e;
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < ctx->nelfs; i++)
		if (addr >= ctx->elfs[i].lo && addr < ctx->elfs[i].hi)
			return &ctx->elfs[i];
	if (ctx->nelfs == CTX_MAX_ELFS)
		return NULL;
	if (symbolizer__mapping_at(ctx->u->sym, ctx->pid, addr, &m))
		return NULL;
	e = elf_get(ctx, addr, &m);
	if (!e)
		return NULL;
	/* The load bias: which segment maps the mapping's file offset. */
	for (int i = 0; i < e->nseg; i++) {
		const struct segment *s = &e->seg[i];
		if (m.pgoff >= (s->offset & ~0xfffULL) && m.pgoff < s->offset + s->filesz) {
			struct ctx_elf *ce = &ctx->elfs[ctx->nelfs];
			ce->elf = e;
			ce->bias = m.start - m.pgoff + s->offset - s->vaddr;
			for (int j = 0; j < e->nseg; j++) {
				if (e->seg[j].vaddr < lo)
					lo = e->seg[j].vaddr;
				if (e->seg[j].vaddr + e->seg[j].memsz > hi)
					hi = e->seg[j].vaddr + e->seg[j].memsz;
			}
			ce->lo = lo + ce->bias;
			ce->hi = hi + ce->bias;
			ctx->nelfs++;
			return ce;
		}
	}
	return NULL;
}

/* ---- libunwind accessors ---- */

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct unwind_ctx *ctx = arg;
	struct ctx_elf *ce = ctx_elf_at(ctx, ip);
	unw_dyn_info_t di;

	if (!ce || !ce->elf->has_table)
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = ce->lo;
	di.end_ip = ce->hi;
	di.u.rti.segbase = ce->elf->hdr_vaddr + ce->bias;
	di.u.rti.table_data = ce->elf->table_vaddr + ce->bias;
	di.u.rti.table_len = ce->elf->fde_count * 8 / sizeof(unw_word_t);
	return dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as;
	(void)pi;
	(void)arg;
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

/* A word of a converted .debug_frame (see use_debug_frame), unless one of the files
 * of this unwind is mapped at @addr: the file proper wins. */
static bool synth_read(const struct unwind_ctx *ctx, uint64_t addr, unw_word_t *valp)
{
	for (int i = 0; i < ctx->nelfs; i++)
		if (addr >= ctx->elfs[i].lo && addr < ctx->elfs[i].hi)
			return false;
	for (int i = 0; i < ctx->nelfs; i++) {
		const struct debug_frame_eh *s = &ctx->elfs[i].elf->synth;
		uint64_t v = addr - ctx->elfs[i].bias;

		if (s->data && v >= s->vaddr && v - s->vaddr <= s->len - sizeof(*valp)) {
			memcpy(valp, s->data + (v - s->vaddr), sizeof(*valp));
			return true;
		}
	}
	return false;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
		      void *arg)
{
	struct unwind_ctx *ctx = arg;
	struct ctx_elf *ce;
	uint64_t off;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	if (addr >= ctx->sp && addr - ctx->sp + sizeof(*valp) <= ctx->stack_len) {
		memcpy(valp, ctx->stack + (addr - ctx->sp), sizeof(*valp));
		return 0;
	}
	if (synth_read(ctx, addr, valp))
		return 0;
	ce = ctx_elf_at(ctx, addr);
	if (ce && vaddr_to_offset(ce->elf, addr - ce->bias, sizeof(*valp), &off)) {
		memcpy(valp, ce->elf->data + off, sizeof(*valp));
		return 0;
	}
	/* Not in a file: above the snapshot, it is the part of the stack that was not
	 * copied. Only now, because a thread's stack is mapped among the libraries
	 * (often just below them), so their unwind tables may lie within STACK_WINDOW
	 * above its sp, and reading them is no sign of a cut stack. */
	if (addr >= ctx->sp && addr - ctx->sp < STACK_WINDOW)
		ctx->beyond_snapshot = true;
	return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *valp, int write,
		      void *arg)
{
	struct unwind_ctx *ctx = arg;

	(void)as;
	if (write || reg < 0 || reg >= SMOLDER_NUM_REGS)
		return -UNW_EBADREG;
	*valp = ctx->regs[reg];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
			int write, void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)off;
	(void)arg;
	return -UNW_ENOINFO;
}

/* ---- address spaces, one per process ---- */

static void space_release(struct unwind_space *sp)
{
	list_del(&sp->lru);
	unw_destroy_addr_space(sp->as);
	free(sp);
}

static unw_addr_space_t space_get(struct unwinder *u, pid_t pid)
{
	struct list_node *pos, *tmp;
	struct unwind_space *sp;

	list_for_each_safe(pos, tmp, &u->spaces) {
		sp = container_of(pos, struct unwind_space, lru);
		if (sp->pid == pid) {
			list_move_front(&u->spaces, &sp->lru);
			return sp->as;
		}
	}
	if (u->nspaces >= u->max_spaces && !list_empty(&u->spaces)) {
		space_release(container_of(list_last(&u->spaces), struct unwind_space, lru));
		u->nspaces--;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->pid = pid;
	sp->as = unw_create_addr_space(&u->accessors, 0);
	if (!sp->as) {
		free(sp);
		return NULL;
	}
	unw_set_caching_policy(sp->as, UNW_CACHE_GLOBAL);
	list_add_front(&u->spaces, &sp->lru);
	u->nspaces++;
	return sp->as;
}

void unwinder__forget_process(struct unwinder *u, pid_t pid)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &u->spaces) {
		struct unwind_space *sp = container_of(pos, struct unwind_space, lru);

		if (sp->pid == pid) {
			space_release(sp);
			u->nspaces--;
			return;
		}
	}
}

/* ---- public ---- */

struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwinder_opts *opts)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	elf_version(EV_CURRENT);
	list_init(&u->elfs);
	list_init(&u->spaces);
	u->sym = sym;
	u->max_elfs = opts && opts->max_elfs ? opts->max_elfs : DEFAULT_MAX_ELFS;
	u->max_spaces = opts && opts->max_processes ? opts->max_processes : DEFAULT_MAX_SPACES;
	u->accessors = (unw_accessors_t){
		.find_proc_info = find_proc_info,
		.put_unwind_info = put_unwind_info,
		.get_dyn_info_list_addr = get_dyn_info_list_addr,
		.access_mem = access_mem,
		.access_reg = access_reg,
		.access_fpreg = access_fpreg,
		.resume = resume,
		.get_proc_name = get_proc_name,
	};
	return u;
}

void unwinder__free(struct unwinder *u)
{
	struct list_node *pos, *tmp;

	if (!u)
		return;
	list_for_each_safe(pos, tmp, &u->spaces)
		space_release(container_of(pos, struct unwind_space, lru));
	list_for_each_safe(pos, tmp, &u->elfs)
		elf_release(container_of(pos, struct unwind_elf, lru));
	free(u);
}

int unwinder__unwind(struct unwinder *u, pid_t pid, const uint64_t *regs,
		     const void *stack, size_t stack_len, uint64_t *ips, size_t max,
		     size_t *n, bool *truncated)
{
	struct unwind_ctx ctx = {
		.u = u,
		.pid = pid,
		.regs = regs,
		.stack = stack,
		.sp = regs[UNW_X86_64_RSP],
		.stack_len = stack_len,
	};
	unw_addr_space_t as = space_get(u, pid);
	unw_cursor_t cursor;
	int ret;

	*n = 0;
	*truncated = false;
	if (!as)
		return -ENOMEM;
	ret = unw_init_remote(&cursor, as, &ctx);
	if (ret) {
		u->stats.failed++;
		return -EINVAL;
	}
	do {
		unw_word_t ip;
		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) || !ip)
			break;
		ips[(*n)++] = ip;
		if (*n == max)
			break;
		ret = unw_step(&cursor);
	} while (ret > 0);

	u->stats.unwinds++;
	if (ret < 0 && ctx.beyond_snapshot) {
		*truncated = true;
		u->stats.truncated++;
	} else if (ret < 0) {
		u->stats.failed++;
	}
	evict_elfs(u);
	return ret < 0 && !*truncated ? -ENOENT : 0;
}

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out)
{
	*out = u->stats;
	out->elfs_cached = u->nelfs;
}
