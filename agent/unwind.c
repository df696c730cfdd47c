/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unwind.c - DWARF unwinding of sampled user stacks, the way perf's --call-graph dwarf
 * works: the BPF program copied the user registers and the top of the user stack;
 * here smolder's CFI interpreter (cfi.h) walks that snapshot, reading stack words from
 * it and unwind tables (.eh_frame_hdr / .eh_frame, or .debug_frame converted by
 * debug_frame.c) from the mapped ELF files. Rows are cached by (file, address), so
 * the steady state parses nothing and makes no system call. A snapshot with a frame
 * the interpreter declines (no FDE, as in JIT code; a signal frame; what it does not
 * implement) is unwound by libunwind's remote API from the start, over the same
 * reads: libunwind's global cache masks signals around every access (two
 * rt_sigprocmask a frame, docs/platform.md), which is why it is only the fallback.
 *
 * Files are read with pread, never mapped: a file truncated or rewritten while
 * smolder holds it (one copy of a library among several with the same build-id) must
 * cost the frames that needed it, not the run, and a mapping of it would raise
 * SIGBUS. What unwinding reads on every sample (.eh_frame_hdr with its search table,
 * .eh_frame, a converted .debug_frame) is copied to the heap when the file is first
 * met, every size checked against the file's; the rare reads elsewhere (code bytes
 * when a frame has no unwind entry, the personality pointer a C++ CIE points at) go
 * through a small page cache filled with pread, so a short read is a failed read.
 *
 * Per-ELF state is cached by build-id (by dev and inode for files without one),
 * bounded by count and bytes, so one library mapped by many processes, or from
 * different paths in different containers, is read once. Each process that falls back
 * gets its own libunwind address space, because libunwind caches unwind rules by
 * instruction address, and the same address means different code in different
 * processes (the row cache is keyed by file and ELF address, which mean the same code
 * everywhere). Both caches are found through a hash table on the sample path and
 * evicted in LRU order (lib/list.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNW_REMOTE_ONLY
#include <libunwind.h>

#include "agent.h"
#include "cfi.h"
#include "debug_frame.h"
#include "hash.h"
#include "list.h"

/* Exported by libunwind but not declared in its headers (perf declares it too). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					       unw_dyn_info_t *di, unw_proc_info_t *pi,
					       int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

#define MAX_SEGMENTS 16     /* PT_LOAD headers kept per ELF file */
#define CTX_MAX_ELFS 32     /* distinct ELF files one unwind may touch */
#define DEFAULT_MAX_ELFS 128
#define DEFAULT_MAX_BYTES (64u << 20)
#define DEFAULT_MAX_SPACES 64
#define STACK_WINDOW (8u << 20) /* addresses this far above sp are "stack" */
#define PAGE_BYTES 4096u    /* unit of the page cache for reads outside the tables */
#define PAGE_SLOTS 64       /* its size: 256 KiB, besides max_bytes */
#define ROW_SLOTS_MAX 4096  /* the CFI row cache, taken out of max_bytes */
#define ROW_SLOTS_MIN 64

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30

struct segment {
	uint64_t vaddr, memsz, offset, filesz;
};

/* Bytes of the file copied to the heap, addressed as the ELF addresses them. */
struct region {
	uint64_t vaddr;
	size_t len;
	uint8_t *data;
};

/* One ELF file: what unwinding reads from it, and the descriptor for the rest. */
struct unwind_elf {
	uint8_t build_id[SYMBOLIZER_BUILD_ID_MAX];
	size_t build_id_len; /* 0: keyed by dev/inode */
	uint64_t dev, inode;
	int fd;              /* kept open for page-cache reads outside the regions */
	uint64_t file_size;  /* when loaded: reads past it are not tried */
	uint64_t serial;     /* names this entry's pages in the page cache */
	struct segment seg[MAX_SEGMENTS];
	int nseg;
	struct region hdr;    /* .eh_frame_hdr with its search table */
	struct region eh;     /* .eh_frame */
	bool has_table;       /* a usable .eh_frame_hdr binary search table */
	uint64_t hdr_vaddr;   /* .eh_frame_hdr */
	uint64_t table_vaddr; /* its search table */
	uint64_t fde_count;
	/* For files with .debug_frame but no .eh_frame_hdr (Go): hdr_vaddr and
	 * table_vaddr point into this (see use_debug_frame). */
	struct debug_frame_eh synth;
	struct cfi_table cfi; /* the same tables, for the CFI interpreter */
	size_t bytes;         /* memory held, counted against max_bytes */
	struct list_node lru;
	struct list_node hnode; /* in its hash bucket */
};

/* A page of some cached file, read with pread; len < PAGE_BYTES at the end of the
 * file (or of a file cut short since). */
struct page_slot {
	uint64_t serial; /* of the unwind_elf; 0: empty */
	uint64_t off;    /* file offset, a multiple of PAGE_BYTES */
	size_t len;
	uint8_t data[PAGE_BYTES];
};

/* A row of some file's CFI at one address (cfi.h), or the interpreter's refusal. */
struct row_slot {
	uint64_t serial;  /* of the unwind_elf; 0: empty */
	uint64_t vaddr;   /* the address looked up, as the ELF file places it */
	int err;          /* cfi__find_row's: 0, -ENOENT (no FDE), or declined */
	struct cfi_row row;
};

struct unwind_space {
	pid_t pid;
	unw_addr_space_t as;
	struct list_node lru;
	struct list_node hnode; /* in its hash bucket */
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

/* Chained hash tables of list heads, as many buckets as the cache has entries at most
 * (so chains stay about one long); the LRU lists keep the eviction order. */
struct unwinder {
	struct symbolizer *sym;
	unw_accessors_t accessors;
	struct list_node elfs; /* LRU lists, most recent first */
	struct list_node *elf_buckets; /* max_elfs */
	size_t nelfs, max_elfs;
	size_t elf_bytes, max_bytes;
	uint64_t next_serial;
	struct page_slot *pages; /* PAGE_SLOTS, direct-mapped by (serial, offset) */
	struct row_slot *rows;   /* nrows, direct-mapped by (serial, address) */
	size_t nrows;
	struct list_node spaces;
	struct list_node *space_buckets; /* max_spaces */
	size_t nspaces, max_spaces;
	struct unwind_stats stats;
};

static struct list_node *buckets_new(size_t n)
{
	struct list_node *b = calloc(n, sizeof(*b));

	for (size_t i = 0; b && i < n; i++)
		list_init(&b[i]);
	return b;
}

/* ---- ELF files ---- */

static void elf_release(struct unwind_elf *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->hdr.data);
	free(e->eh.data);
	debug_frame__free(&e->synth);
	free(e);
}

/* Read exactly @len bytes at @off. @return 0, or -EIO when the file ends sooner (it
 * was cut short since it was measured) or another negative errno. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
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

/* Copy the file's bytes at ELF addresses [@vaddr, @vaddr + @len) into @r, if they
 * are all in one segment, and within what the unwinder may hold.
 * @return 0 or a negative errno. */
static int read_region(const struct unwinder *u, struct unwind_elf *e, int fd,
		       uint64_t vaddr, size_t len, struct region *r)
{
	uint64_t off;
	int err;

	if (!len || !vaddr_to_offset(e, vaddr, len, &off))
		return -ENOENT;
	if (len > u->max_bytes || e->bytes + len > u->max_bytes)
		return -E2BIG;
	r->data = malloc(len);
	if (!r->data)
		return -ENOMEM;
	err = pread_full(fd, r->data, len, off);
	if (err) {
		free(r->data);
		r->data = NULL;
		return err;
	}
	r->vaddr = vaddr;
	r->len = len;
	e->bytes += len;
	return 0;
}

/* The file-backed bytes of the segment holding @vaddr from there to its end. */
static size_t segment_rest(const struct unwind_elf *e, uint64_t vaddr)
{
	for (int i = 0; i < e->nseg; i++) {
		const struct segment *s = &e->seg[i];
		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz)
			return (size_t)(s->filesz - (vaddr - s->vaddr));
	}
	return 0;
}

/* How long .eh_frame at @vaddr is: its section header says, when the file still
 * has section headers; otherwise it runs to the end of its segment. */
static size_t eh_frame_len(const struct unwind_elf *e, Elf *elf, uint64_t vaddr)
{
	size_t rest = segment_rest(e, vaddr);
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_addr == vaddr && sh.sh_type != SHT_NOBITS &&
		    sh.sh_size && (sh.sh_flags & SHF_ALLOC))
			return sh.sh_size < rest ? (size_t)sh.sh_size : rest;
	}
	return rest;
}

/*
 * Read .eh_frame_hdr (located by PT_GNU_EH_FRAME, which survives stripping) with its
 * search table, and the .eh_frame it points at.
 * @return 0, -ENOENT when there is no usable table, or a negative errno when the file
 * could not be read.
 */
static int read_eh_frame(const struct unwinder *u, struct unwind_elf *e, Elf *elf, int fd,
			 uint64_t hdr_vaddr)
{
	uint8_t h[12];
	uint64_t off, eh_vaddr;
	uint32_t count;
	int32_t eh_rel;
	int err;

	if (!vaddr_to_offset(e, hdr_vaddr, sizeof(h), &off))
		return -ENOENT;
	err = pread_full(fd, h, sizeof(h), off);
	if (err)
		return err;
	/* version 1; eh_frame_ptr as pcrel sdata4; count as udata4; the table as
	 * datarel sdata4 pairs - the only layout libunwind's table search reads,
	 * and the one every toolchain emits. */
	if (h[0] != 1 || h[1] != (DW_EH_PE_pcrel | DW_EH_PE_sdata4) ||
	    h[2] != DW_EH_PE_udata4 || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return -ENOENT;
	memcpy(&eh_rel, h + 4, sizeof(eh_rel));
	memcpy(&count, h + 8, sizeof(count));
	/* The table must fit in the file: this also bounds the multiplication. */
	if (!count || count > e->file_size / 8)
		return -ENOENT;
	err = read_region(u, e, fd, hdr_vaddr, sizeof(h) + (size_t)count * 8, &e->hdr);
	if (err)
		return err;
	eh_vaddr = hdr_vaddr + 4 + (uint64_t)(int64_t)eh_rel;
	err = read_region(u, e, fd, eh_vaddr, eh_frame_len(e, elf, eh_vaddr), &e->eh);
	if (err)
		return err;
	e->hdr_vaddr = hdr_vaddr;
	e->table_vaddr = hdr_vaddr + sizeof(h);
	e->fde_count = count;
	e->has_table = true;
	e->cfi = (struct cfi_table){
		.hdr = { e->hdr.data, e->hdr.len, e->hdr.vaddr },
		.fde_count = count,
		.eh = { e->eh.data, e->eh.len, e->eh.vaddr },
	};
	return 0;
}

/*
 * For code without .eh_frame (Go): the .debug_frame converted to .eh_frame form with
 * its own search table (debug_frame.h), as if it were mapped at a fixed distance past
 * the file's segments, where no process has any of the file's code.
 */
#define SYNTH_GAP (16u << 20) /* from the end of the segments to the converted table */

static int use_debug_frame(const struct unwinder *u, struct unwind_elf *e, Elf *elf)
{
	uint64_t end = 0;
	int err;

	for (int i = 0; i < e->nseg; i++)
		if (e->seg[i].vaddr + e->seg[i].memsz > end)
			end = e->seg[i].vaddr + e->seg[i].memsz;
	if (end > UINT64_MAX - SYNTH_GAP - 0xfff)
		return -ENOENT; /* segments at the top of the address space: no room past them */
	err = debug_frame__load(elf, ((end + 0xfff) & ~0xfffULL) + SYNTH_GAP, &e->synth);
	if (err)
		return err;
	if (e->synth.len > u->max_bytes || e->bytes + e->synth.len > u->max_bytes) {
		debug_frame__free(&e->synth);
		return -E2BIG;
	}
	e->bytes += e->synth.len;
	e->hdr_vaddr = e->synth.vaddr;
	e->table_vaddr = e->synth.vaddr + DEBUG_FRAME_HDR_LEN;
	e->fde_count = e->synth.fde_count;
	e->has_table = true;
	/* The converted section holds the header, the table and the CIEs and FDEs. */
	e->cfi = (struct cfi_table){
		.hdr = { e->synth.data, e->synth.len, e->synth.vaddr },
		.fde_count = e->synth.fde_count,
		.eh = { e->synth.data, e->synth.len, e->synth.vaddr },
	};
	return 0;
}

/*
 * Read what unwinding needs from the ELF file open on @fd, which becomes the entry's
 * (closed with it). A file that has no unwind table at all still makes an entry
 * (libunwind then walks its code by frame pointer); one that cannot be read (cut
 * short, not ELF, tables larger than max_bytes) does not.
 * @return the entry, or NULL with errno set.
 */
static struct unwind_elf *elf_load(struct unwinder *u, int fd,
				   const struct symbolizer_mapping *m)
{
	struct unwind_elf *e = calloc(1, sizeof(*e));
	uint64_t hdr_vaddr = 0;
	struct stat st;
	Elf *elf = NULL;
	size_t nph;
	int err;

	if (!e) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	e->fd = fd;
	e->bytes = sizeof(*e);
	e->dev = m->dev;
	e->inode = m->inode;
	e->build_id_len = m->build_id_len;
	memcpy(e->build_id, m->build_id, m->build_id_len);
	err = -ENOEXEC;
	if (fstat(fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (st.st_size <= 0)
		goto fail;
	e->file_size = (uint64_t)st.st_size;
	/* ELF_C_READ: libelf reads headers and sections with pread, checked against the
	 * size it measured, so a file cut short fails to read rather than faults. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph))
		goto fail;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		/* Untrusted: a segment must lie inside the file and its range must not
		 * wrap, or reads through it would leave the file. */
		if (ph.p_type == PT_LOAD && e->nseg < MAX_SEGMENTS &&
		    ph.p_offset <= e->file_size && ph.p_filesz <= e->file_size - ph.p_offset &&
		    ph.p_filesz <= ph.p_memsz && ph.p_vaddr <= UINT64_MAX - ph.p_memsz)
			e->seg[e->nseg++] = (struct segment){ ph.p_vaddr, ph.p_memsz,
							     ph.p_offset, ph.p_filesz };
		else if (ph.p_type == PT_GNU_EH_FRAME)
			hdr_vaddr = ph.p_vaddr;
	}
	err = hdr_vaddr ? read_eh_frame(u, e, elf, fd, hdr_vaddr) : -ENOENT;
	if (err == -ENOENT) {
		free(e->hdr.data);
		e->hdr = (struct region){ 0 };
		e->bytes = sizeof(*e);
		err = use_debug_frame(u, e, elf);
	}
	/* No table anywhere is an answer (frame pointers); a read that failed is not. */
	if (err && err != -ENOENT)
		goto fail;
	elf_end(elf);
	return e;
fail:
	if (elf)
		elf_end(elf);
	elf_release(e);
	errno = -err;
	return NULL;
}

/* The hash bucket of the file that @m maps: by build-id, else by dev and inode. */
static struct list_node *elf_bucket(const struct unwinder *u, const struct symbolizer_mapping *m)
{
	uint64_t h = m->build_id_len ? hash_fnv1a(m->build_id, m->build_id_len, 0)
				     : hash_mix64(m->dev) ^ m->inode;

	return &u->elf_buckets[hash_reduce(hash_mix64(h), u->max_elfs)];
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
	struct list_node *bucket = elf_bucket(u, m), *pos, *tmp;
	struct unwind_elf *e;
	int fd;

	list_for_each_safe(pos, tmp, bucket) {
		e = container_of(pos, struct unwind_elf, hnode);
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
	e = elf_load(u, fd, m);
	if (!e) {
		u->stats.elf_failed++;
		return NULL;
	}
	e->serial = ++u->next_serial;
	u->stats.elf_loads++;
	list_add_front(&u->elfs, &e->lru);
	list_add_front(elf_bucket(u, m), &e->hnode); /* @m as the entry was made from */
	u->nelfs++;
	u->elf_bytes += e->bytes;
	return e;
}

static void evict_elfs(struct unwinder *u)
{
	while (u->nelfs > u->max_elfs || (u->elf_bytes > u->max_bytes && u->nelfs)) {
		struct unwind_elf *e = container_of(list_last(&u->elfs), struct unwind_elf, lru);

		list_del(&e->lru);
		list_del(&e->hnode);
		u->nelfs--;
		u->elf_bytes -= e->bytes;
		u->stats.elf_evictions++;
		elf_release(e);
	}
}

/*
 * Copy @len bytes at file offset @off of @e through the page cache. A page is read
 * once with pread, so a file cut short since it was loaded fails the read.
 * @return true when every byte was read.
 */
static bool file_read(struct unwinder *u, const struct unwind_elf *e, uint64_t off,
		      void *out, size_t len)
{
	uint8_t *dst = out;

	if (e->fd < 0 || off > e->file_size || len > e->file_size - off)
		return false;
	while (len) {
		uint64_t page = off & ~(uint64_t)(PAGE_BYTES - 1);
		size_t at = (size_t)(off - page), n = PAGE_BYTES - at;
		uint64_t key = hash_mix64((e->serial << 40) ^ (page / PAGE_BYTES));
		struct page_slot *p = &u->pages[hash_reduce(key, PAGE_SLOTS)];

		if (p->serial != e->serial || p->off != page) {
			size_t want = e->file_size - page < PAGE_BYTES ?
					      (size_t)(e->file_size - page) : PAGE_BYTES;
			ssize_t got;

			do
				got = pread(e->fd, p->data, want, (off_t)page);
			while (got < 0 && errno == EINTR);
			u->stats.file_reads++;
			if (got < 0) {
				p->serial = 0;
				return false;
			}
			p->serial = e->serial;
			p->off = page;
			p->len = (size_t)got;
		}
		if (n > len)
			n = len;
		if (at + n > p->len)
			return false;
		memcpy(dst, p->data + at, n);
		dst += n;
		off += n;
		len -= n;
	}
	return true;
}

/* A word at ELF address @vaddr of @e: from its regions, else from the file. */
static bool elf_read(struct unwinder *u, const struct unwind_elf *e, uint64_t vaddr,
		     unw_word_t *valp)
{
	const struct region *regions[] = { &e->hdr, &e->eh };
	uint64_t off;

	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
		const struct region *r = regions[i];

		if (r->data && vaddr >= r->vaddr && r->len >= sizeof(*valp) &&
		    vaddr - r->vaddr <= r->len - sizeof(*valp)) {
			memcpy(valp, r->data + (vaddr - r->vaddr), sizeof(*valp));
			return true;
		}
	}
	return vaddr_to_offset(e, vaddr, sizeof(*valp), &off) &&
	       file_read(u, e, off, valp, sizeof(*valp));
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

/* A word of the process being unwound: from the snapshot, else from the files. Both
 * unwinders read through this. */
static bool ctx_read(void *arg, uint64_t addr, uint64_t *valp)
{
	struct unwind_ctx *ctx = arg;
	struct ctx_elf *ce;
	unw_word_t w;

	if (addr >= ctx->sp && addr - ctx->sp + sizeof(*valp) <= ctx->stack_len) {
		memcpy(valp, ctx->stack + (addr - ctx->sp), sizeof(*valp));
		return true;
	}
	if (synth_read(ctx, addr, &w)) {
		*valp = w;
		return true;
	}
	ce = ctx_elf_at(ctx, addr);
	if (ce && elf_read(ctx->u, ce->elf, addr - ce->bias, &w)) {
		*valp = w;
		return true;
	}
	/* Not in a file: above the snapshot, it is the part of the stack that was not
	 * copied. Only now, because a thread's stack is mapped among the libraries
	 * (often just below them), so their unwind tables may lie within STACK_WINDOW
	 * above its sp, and reading them is no sign of a cut stack. */
	if (addr >= ctx->sp && addr - ctx->sp < STACK_WINDOW)
		ctx->beyond_snapshot = true;
	return false;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
		      void *arg)
{
	uint64_t v;

	(void)as;
	if (write || !ctx_read(arg, addr, &v))
		return -UNW_EINVAL;
	*valp = v;
	return 0;
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

/* ---- the CFI interpreter's walk ---- */

#define WALK_DECLINED INT_MIN /* a frame the interpreter does not take: libunwind's */

/*
 * The row for runtime address @pc of the process being unwound into *@row, from the
 * row cache or computed (and cached, refusals too: the steady state parses no CFI),
 * with the file it is in into *@cep. @return 0, -ENOENT when there is no unwind
 * information for @pc (no file mapped there, no table: JIT code; no FDE), or the
 * interpreter's reason to decline the FDE.
 */
static int row_at(struct unwind_ctx *ctx, uint64_t pc, const struct cfi_mem *mem,
		  const struct cfi_row **row, struct ctx_elf **cep)
{
	struct unwinder *u = ctx->u;
	struct ctx_elf *ce = ctx_elf_at(ctx, pc);
	struct row_slot *slot;
	uint64_t vaddr;

	if (!ce || !ce->elf->has_table)
		return -ENOENT;
	*cep = ce;
	vaddr = pc - ce->bias;
	slot = &u->rows[hash_reduce(hash_mix64(vaddr ^ (ce->elf->serial << 48)), u->nrows)];
	if (slot->serial == ce->elf->serial && slot->vaddr == vaddr) {
		u->stats.row_hits++;
	} else {
		u->stats.row_misses++;
		slot->serial = ce->elf->serial;
		slot->vaddr = vaddr;
		slot->err = cfi__find_row(&ce->elf->cfi, ce->bias, pc, mem, &slot->row);
	}
	*row = &slot->row;
	return slot->err;
}

/*
 * Walk the snapshot of @ctx with the CFI interpreter, as libunwind's loop in
 * unwinder__unwind would: the same frames and the same end (its unw_step result:
 * > 0, 0, < 0 for an unreadable word or register, with ctx->beyond_snapshot set as
 * its reads would set it). Return addresses are looked up at pc - 1 (the call, which
 * may be a function's last instruction). @return that result, or WALK_DECLINED when
 * some frame needs libunwind (nothing is then kept).
 */
static int cfi_walk(struct unwind_ctx *ctx, uint64_t *ips, size_t max, size_t *n)
{
	const struct cfi_mem mem = { ctx_read, ctx };
	struct cfi_state st;
	uint64_t prev = 0; /* 1 after the first frame */
	int ret = 1, err;

	cfi__init(&st, ctx->regs);
	do {
		const struct cfi_row *row;
		struct ctx_elf *ce = NULL;

		if (!st.ip)
			break;
		ips[(*n)++] = st.ip;
		if (*n == max)
			break;
		err = row_at(ctx, st.ip - prev, &mem, &row, &ce);
		if (err == -ENOENT) {
			/* what libunwind does without unwind information: the end of the
			 * stack (the dynamic loader's _start, a process that has exec'd
			 * since), or a frame-pointer guess */
			ctx->u->stats.no_info++;
			ret = cfi__step_noinfo(&st, &mem);
		} else if (err) {
			return WALK_DECLINED;
		} else {
			ret = cfi__step(&ce->elf->cfi, row, &st, &mem);
		}
		/* unreadable memory and registers end libunwind's walk the same way; for
		 * anything else, let it say */
		if (ret < 0 && ret != -EFAULT && ret != -ELOOP)
			return WALK_DECLINED;
		prev = 1;
	} while (ret > 0);
	return ret;
}

/* ---- address spaces, one per process ---- */

static void space_release(struct unwind_space *sp)
{
	list_del(&sp->lru);
	list_del(&sp->hnode);
	unw_destroy_addr_space(sp->as);
	free(sp);
}

static struct list_node *space_bucket(const struct unwinder *u, pid_t pid)
{
	return &u->space_buckets[hash_reduce(hash_mix64((uint64_t)pid), u->max_spaces)];
}

static struct unwind_space *space_find(const struct unwinder *u, pid_t pid)
{
	struct list_node *bucket = space_bucket(u, pid), *pos, *tmp;

	list_for_each_safe(pos, tmp, bucket) {
		struct unwind_space *sp = container_of(pos, struct unwind_space, hnode);

		if (sp->pid == pid)
			return sp;
	}
	return NULL;
}

static unw_addr_space_t space_get(struct unwinder *u, pid_t pid)
{
	struct unwind_space *sp = space_find(u, pid);

	if (sp) {
		list_move_front(&u->spaces, &sp->lru);
		return sp->as;
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
	/* Of libunwind's policies the fastest, though it masks signals around each
	 * cache access (two rt_sigprocmask a frame): UNW_CACHE_PER_THREAD is turned
	 * into it by libunwind itself, and UNW_CACHE_NONE costs 2.7 times the CPU and
	 * twice the system calls (docs/platform.md). */
	unw_set_caching_policy(sp->as, UNW_CACHE_GLOBAL);
	list_add_front(&u->spaces, &sp->lru);
	list_add_front(space_bucket(u, pid), &sp->hnode);
	u->nspaces++;
	return sp->as;
}

void unwinder__forget_process(struct unwinder *u, pid_t pid)
{
	struct unwind_space *sp = space_find(u, pid);

	if (sp) {
		space_release(sp);
		u->nspaces--;
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
	u->max_bytes = opts && opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
	u->max_spaces = opts && opts->max_processes ? opts->max_processes : DEFAULT_MAX_SPACES;
	/* The row cache: about a sixteenth of the budget, taken out of what the
	 * tables may hold. */
	u->nrows = ROW_SLOTS_MAX;
	while (u->nrows > ROW_SLOTS_MIN && u->nrows * sizeof(struct row_slot) > u->max_bytes / 16)
		u->nrows /= 2;
	if (u->max_bytes > u->nrows * sizeof(struct row_slot))
		u->max_bytes -= u->nrows * sizeof(struct row_slot);
	u->rows = calloc(u->nrows, sizeof(*u->rows));
	u->pages = calloc(PAGE_SLOTS, sizeof(*u->pages));
	u->elf_buckets = buckets_new(u->max_elfs);
	u->space_buckets = buckets_new(u->max_spaces);
	if (!u->pages || !u->rows || !u->elf_buckets || !u->space_buckets) {
		unwinder__free(u);
		errno = ENOMEM;
		return NULL;
	}
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
	free(u->pages);
	free(u->rows);
	free(u->elf_buckets);
	free(u->space_buckets);
	free(u);
}

/*
 * Where each of the @n frames of @ips is (unwinder__unwind's @locs), from the files
 * this unwind has read: none is opened for it, so a frame in a file the walk did not
 * need (the last one, never stepped from) may get none.
 */
static void frame_locs(const struct unwind_ctx *ctx, const uint64_t *ips, size_t n,
		       struct unwind_loc *locs)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t pc = ips[i] - (i > 0);

		locs[i] = (struct unwind_loc){ 0, 0 };
		for (int j = 0; j < ctx->nelfs; j++) {
			const struct ctx_elf *ce = &ctx->elfs[j];

			if (pc >= ce->lo && pc < ce->hi) {
				locs[i] = (struct unwind_loc){ ce->elf->serial, pc - ce->bias };
				break;
			}
		}
	}
}

int unwinder__unwind(struct unwinder *u, pid_t pid, const uint64_t *regs,
		     const void *stack, size_t stack_len, uint64_t *ips,
		     struct unwind_loc *locs, size_t max, size_t *n, bool *truncated)
{
	struct unwind_ctx ctx = {
		.u = u,
		.pid = pid,
		.regs = regs,
		.stack = stack,
		.sp = regs[UNW_X86_64_RSP],
		.stack_len = stack_len,
	};
	unw_addr_space_t as;
	unw_cursor_t cursor;
	int ret;

	*n = 0;
	*truncated = false;
	if (!max)
		return 0;
	ret = cfi_walk(&ctx, ips, max, n);
	if (ret != WALK_DECLINED)
		goto done;
	/* libunwind from the first frame, as if the interpreter had not tried. */
	u->stats.fallbacks++;
	*n = 0;
	ctx.beyond_snapshot = false;
	as = space_get(u, pid);
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
done:

	u->stats.unwinds++;
	if (ret < 0 && ctx.beyond_snapshot) {
		*truncated = true;
		u->stats.truncated++;
	} else if (ret < 0) {
		u->stats.failed++;
	}
	if (locs)
		frame_locs(&ctx, ips, *n, locs);
	evict_elfs(u);
	return ret < 0 && !*truncated ? -ENOENT : 0;
}

void unwinder__drop_caches(struct unwinder *u)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &u->spaces)
		space_release(container_of(pos, struct unwind_space, lru));
	u->nspaces = 0;
	list_for_each_safe(pos, tmp, &u->elfs) {
		struct unwind_elf *e = container_of(pos, struct unwind_elf, lru);

		list_del(&e->lru);
		list_del(&e->hnode);
		elf_release(e);
	}
	u->nelfs = 0;
	u->elf_bytes = 0;
	/* Rows and pages are keyed by the serial of their file, never reused: they
	 * cannot name a file loaded later. */
}

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out)
{
	*out = u->stats;
	out->elfs_cached = u->nelfs;
	out->elf_bytes = u->elf_bytes;
}
