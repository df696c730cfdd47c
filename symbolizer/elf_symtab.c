/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elf_symtab.c - one ELF file's function symbols and PT_LOAD segments, parsed once with
 * libelf into a compact sorted array for binary search.
 *
 * The input is untrusted (any file a process maps, and later a fuzzer's bytes): every
 * loop is bounded by a section's data size, every index is checked, and a file whose
 * headers or symbol sections cannot be read is refused with ENOEXEC rather than parsed
 * halfway.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolizer_int.h"

/*
 * 16 bytes a symbol: files with 10^5-10^6 symbols (a C++ service with .symtab) stay
 * small. A function longer than 4 GiB does not exist; sizes are clamped.
 */
struct elf_sym {
	uint64_t start;
	uint32_t size; /* effective size: size-0 symbols extend to the next symbol */
	uint32_t name; /* offset into elf_symtab.strs */
};

struct elf_load {
	uint64_t offset, filesz, vaddr;
};

struct elf_symtab {
	struct elf_sym *syms;
	size_t nsyms;
	char *strs; /* one arena for every name of the file */
	size_t strs_len;
	struct elf_load *loads;
	size_t nloads;
};

/* A symbol while the table is being built; the name points into libelf's data. */
struct cand {
	uint64_t start, size;
	const char *name;
	uint32_t name_len;
	uint8_t notype;    /* STT_NOTYPE label: worse than any STT_FUNC at the same address */
	uint8_t bind_rank; /* 0 global, 1 weak, 2 local */
	uint8_t underscores;
};

/* Names are offsets in a uint32 arena; a file with more than this is not one we map. */
#define ARENA_MAX ((size_t)UINT32_MAX)
/* How many preceding symbols lookup checks for one that encloses the address (nested
 * symbols: a function with an inner entry symbol). Bounded so lookup stays O(log n). */
#define LOOKUP_BACKSCAN 4
/* x86-64 and arm64 (4K) page size: the kernel maps PT_LOAD from its page-aligned offset. */
#define SEG_PAGE 4096u

static bool valid_name(const char *name)
{
	/* Assembler-local labels and ARM/AArch64 mapping symbols ($x, $d) are not functions. */
	if (name[0] == '$')
		return false;
	if (name[0] == '.' && name[1] == 'L')
		return false;
	return true;
}

static uint8_t count_underscores(const char *name, uint32_t len)
{
	uint32_t i = 0;

	while (i < len && i < 255 && name[i] == '_')
		i++;
	return (uint8_t)i;
}

/* Is section @ndx one that holds code? Used only for STT_NOTYPE symbols. */
static bool section_is_exec(Elf *e, size_t shnum, size_t ndx)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;

	if (ndx == SHN_UNDEF || ndx >= shnum || ndx >= SHN_LORESERVE)
		return false;
	scn = elf_getscn(e, ndx);
	if (!scn || !gelf_getshdr(scn, &shdr))
		return false;
	return (shdr.sh_flags & SHF_EXECINSTR) && shdr.sh_type == SHT_PROGBITS;
}

/*
 * Append the function symbols of symbol section @scn to @c (capacity checked by the
 * caller: at most d_size / sizeof(Elf32_Sym) entries per section).
 * @return 0, or -ENOEXEC when the section or its string table cannot be read.
 */
static int collect_symbols(Elf *e, size_t shnum, Elf_Scn *scn, const GElf_Shdr *shdr,
			   struct cand *c, size_t cap, size_t *n)
{
	Elf_Data *data, *strdata;
	Elf_Scn *strscn;
	GElf_Shdr strshdr;
	const char *strs;
	size_t strsz, i, max;

	/* Compressed symbol tables exist only in theory; their raw data is not symbols. */
	if (shdr->sh_flags & SHF_COMPRESSED)
		return 0;
	if (shdr->sh_link == 0 || shdr->sh_link >= shnum)
		return -ENOEXEC;
	strscn = elf_getscn(e, shdr->sh_link);
	if (!strscn || !gelf_getshdr(strscn, &strshdr) || strshdr.sh_type != SHT_STRTAB ||
	    (strshdr.sh_flags & SHF_COMPRESSED))
		return -ENOEXEC;
	data = elf_getdata(scn, NULL);
	strdata = elf_getdata(strscn, NULL);
	if (!data || !strdata)
		return -ENOEXEC;
	/* SHT_NOBITS-like sections have a size but no bytes. */
	if (!data->d_buf || !strdata->d_buf)
		return 0;
	strs = strdata->d_buf;
	strsz = strdata->d_size;
	max = data->d_size / sizeof(Elf32_Sym); /* upper bound for either class */

	for (i = 0; i < max && *n < cap; i++) {
		GElf_Sym sym;
		unsigned char type, bind;
		const char *name;
		size_t len;
		struct cand *cd;

		/* gelf_getsym checks the index against the data size. */
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0 || sym.st_name >= strsz)
			continue;
		if (type == STT_FUNC || type == STT_GNU_IFUNC) {
			/* ok */
		} else if (type == STT_NOTYPE) {
			/* Hand-written assembly often leaves function symbols untyped; keep
			 * them when they sit in code and are not file-local labels. */
			if (bind != STB_GLOBAL && bind != STB_WEAK)
				continue;
			if (!section_is_exec(e, shnum, sym.st_shndx))
				continue;
		} else {
			continue;
		}
		name = strs + sym.st_name;
		len = strnlen(name, strsz - sym.st_name);
		if (len == strsz - sym.st_name || len == 0 || len >= ARENA_MAX / 2)
			continue; /* unterminated, empty or absurd */
		if (!valid_name(name))
			continue;

		cd = &c[(*n)++];
		cd->start = sym.st_value;
		cd->size = sym.st_size;
		cd->name = name;
		cd->name_len = (uint32_t)len;
		cd->notype = type == STT_NOTYPE;
		cd->bind_rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		cd->underscores = count_underscores(name, (uint32_t)len);
	}
	return 0;
}

/*
 * Order by address, then best name first among aliases of one address: a typed function
 * over a label, a sized symbol over a size-0 one, the public name over the internal one
 * (fewer leading underscores: "getpid" rather than "__getpid", which perf would pick by
 * binding), global over weak over local, then the shorter name ("sqrt" over
 * "sqrtf32x"), then bytes, so the choice is deterministic.
 */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	uint32_t n;
	int r;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->notype != b->notype)
		return a->notype - b->notype;
	if ((a->size == 0) != (b->size == 0))
		return a->size == 0 ? 1 : -1;
	if (a->underscores != b->underscores)
		return a->underscores - b->underscores;
	if (a->bind_rank != b->bind_rank)
		return a->bind_rank - b->bind_rank;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	n = a->name_len;
	r = memcmp(a->name, b->name, n);
	if (r)
		return r;
	/* Identical name at one address (.symtab and .dynsym both list it): prefer the
	 * larger size so the merged symbol covers what either claimed. */
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	return 0;
}

static int read_loads(Elf *e, struct elf_symtab *t)
{
	size_t phnum, i;

	if (elf_getphdrnum(e, &phnum) != 0)
		return -ENOEXEC;
	if (phnum == 0)
		return 0;
	/* phnum comes from the file; libelf has checked the table fits in it. */
	t->loads = calloc(phnum, sizeof(*t->loads));
	if (!t->loads)
		return -ENOMEM;
	for (i = 0; i < phnum && i < INT_MAX; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		t->loads[t->nloads].offset = ph.p_offset;
		t->loads[t->nloads].filesz = ph.p_filesz;
		t->loads[t->nloads].vaddr = ph.p_vaddr;
		t->nloads++;
	}
	return 0;
}

/* End of the executable segment containing @vaddr, or @vaddr when none does. */
static uint64_t exec_segment_end(Elf *e, uint64_t vaddr)
{
	size_t phnum, i;

	if (elf_getphdrnum(e, &phnum) != 0)
		return vaddr;
	for (i = 0; i < phnum && i < INT_MAX; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			break;
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && vaddr >= ph.p_vaddr &&
		    vaddr - ph.p_vaddr < ph.p_memsz)
			return ph.p_vaddr + ph.p_memsz;
	}
	return vaddr;
}

/* Sort, drop aliases and labels inside functions, and copy names into one arena. */
static int build_table(Elf *e, struct elf_symtab *t, struct cand *c, size_t n)
{
	uint64_t cover_end = 0;
	size_t i, k = 0, arena = 0;

	if (n == 0)
		return 0;
	qsort(c, n, sizeof(*c), cand_cmp);

	/* Keep the first (best) candidate of each address, and drop untyped labels that
	 * fall inside a typed function: the function is the better answer there. */
	for (i = 0; i < n; i++) {
		if (k > 0 && c[k - 1].start == c[i].start) {
			if (c[k - 1].size == 0 && c[i].size > 0)
				c[k - 1].size = c[i].size;
			continue;
		}
		if (c[i].notype && c[i].start < cover_end)
			continue;
		if (!c[i].notype && c[i].size > 0 && c[i].start + c[i].size > cover_end)
			cover_end = c[i].start + c[i].size;
		if (arena + c[i].name_len + 1 > ARENA_MAX)
			break; /* cannot be a real file; keep what fits */
		arena += c[i].name_len + 1;
		c[k++] = c[i];
	}

	t->syms = malloc(k ? k * sizeof(*t->syms) : 1);
	t->strs = malloc(arena ? arena : 1);
	if (!t->syms || !t->strs)
		return -ENOMEM;
	for (i = 0; i < k; i++) {
		uint64_t size = c[i].size;

		if (size == 0) {
			/* Size-0 symbols (assembly) cover up to the next symbol, or to the end
			 * of their code segment when last. */
			uint64_t end = i + 1 < k ? c[i + 1].start : exec_segment_end(e, c[i].start);

			size = end > c[i].start ? end - c[i].start : 1;
		}
		t->syms[i].start = c[i].start;
		t->syms[i].size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
		t->syms[i].name = (uint32_t)t->strs_len;
		memcpy(t->strs + t->strs_len, c[i].name, c[i].name_len);
		t->strs[t->strs_len + c[i].name_len] = '\0';
		t->strs_len += c[i].name_len + 1;
	}
	t->nsyms = k;
	return 0;
}

/*
 * libelf quietly reports zero sections when the section header table runs past the end
 * of the file (a truncated copy): check the tables against the real size ourselves so
 * a truncated file is refused instead of parsed as symbol-less.
 */
static bool headers_fit(Elf *e, const GElf_Ehdr *eh, size_t shnum, uint64_t size)
{
	size_t phnum;

	if (elf_getphdrnum(e, &phnum) != 0)
		return false;
	if (phnum && (eh->e_phoff > size || eh->e_phentsize == 0 ||
		      (size - eh->e_phoff) / eh->e_phentsize < phnum))
		return false;
	if (eh->e_shoff == 0)
		return shnum == 0;
	if (shnum == 0 || eh->e_shoff > size || eh->e_shentsize == 0 ||
	    (size - eh->e_shoff) / eh->e_shentsize < shnum)
		return false;
	return true;
}

static struct elf_symtab *symtab_from_elf(Elf *e, uint64_t size)
{
	struct elf_symtab *t = NULL;
	struct cand *c = NULL;
	size_t shnum, cap = 0, n = 0;
	GElf_Ehdr eh;
	Elf_Scn *scn;
	size_t seen;
	int err;

	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (elf_getshdrnum(e, &shnum) != 0 || !headers_fit(e, &eh, shnum, size)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = read_loads(e, t);
	if (err)
		goto cleanup;

	/* First pass: size the candidate array from the symbol sections' sizes. */
	for (scn = NULL, seen = 0; seen < shnum && (scn = elf_nextscn(e, scn)); seen++) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			err = -ENOEXEC;
			goto cleanup;
		}
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		/* Sizes come from the file: one larger than the file is a lie, and must not
		 * turn into a huge allocation. */
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset) {
			err = -ENOEXEC;
			goto cleanup;
		}
		if (sh.sh_size / sizeof(Elf32_Sym) > SIZE_MAX / sizeof(*c) - cap) {
			err = -ENOEXEC;
			goto cleanup;
		}
		cap += sh.sh_size / sizeof(Elf32_Sym);
	}
	if (cap) {
		c = malloc(cap * sizeof(*c));
		if (!c) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	for (scn = NULL, seen = 0; seen < shnum && (scn = elf_nextscn(e, scn)); seen++) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			err = -ENOEXEC;
			goto cleanup;
		}
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		err = collect_symbols(e, shnum, scn, &sh, c, cap, &n);
		if (err)
			goto cleanup;
	}
	err = build_table(e, t, c, n);

cleanup:
	free(c);
	if (err) {
		elf_symtab__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

struct elf_symtab *elf_symtab__open_fd(int fd)
{
	struct elf_symtab *t;
	struct stat st;
	Elf *e;
	int err;

	if (fstat(fd, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = ENOEXEC;
		return NULL;
	}
	elf_version(EV_CURRENT);
	/* ELF_C_READ rather than _MMAP: a library rewritten in place while we parse it
	 * must give a short read, not SIGBUS. */
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		errno = ENOEXEC;
		return NULL;
	}
	t = symtab_from_elf(e, (uint64_t)st.st_size);
	err = errno;
	elf_end(e);
	errno = err;
	return t;
}

struct elf_symtab *elf_symtab__open(const char *path)
{
	struct elf_symtab *t;
	int fd, err;

	/* O_NONBLOCK: a FIFO path must not hang the profiler; it is refused as ENOEXEC. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL; /* errno from open */
	t = elf_symtab__open_fd(fd);
	err = errno;
	close(fd);
	errno = err;
	return t;
}

struct elf_symtab *elf_symtab__open_mem(const void *buf, size_t len)
{
	struct elf_symtab *t = NULL;
	char *copy;
	Elf *e;

	if (len == 0) {
		errno = ENOEXEC;
		return NULL;
	}
	/* libelf takes a writable image; a private, malloc-aligned copy also spares it
	 * the conversions it does for misaligned data. */
	copy = malloc(len);
	if (!copy)
		return NULL;
	memcpy(copy, buf, len);
	elf_version(EV_CURRENT);
	e = elf_memory(copy, len);
	if (!e) {
		free(copy);
		errno = ENOEXEC;
		return NULL;
	}
	t = symtab_from_elf(e, len);
	if (!t) {
		int saved = errno;

		elf_end(e);
		free(copy);
		errno = saved;
		return NULL;
	}
	elf_end(e);
	free(copy);
	return t;
}

void elf_symtab__free(struct elf_symtab *t)
{
	if (!t)
		return;
	free(t->syms);
	free(t->strs);
	free(t->loads);
	free(t);
}

size_t elf_symtab__count(const struct elf_symtab *t)
{
	return t ? t->nsyms : 0;
}

const char *elf_symtab__lookup(const struct elf_symtab *t, uint64_t vaddr, uint64_t *offset)
{
	size_t lo = 0, hi, i, k;

	if (!t || t->nsyms == 0)
		return NULL;
	hi = t->nsyms;
	/* Greatest start <= vaddr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo, k = 0; i > 0 && k < LOOKUP_BACKSCAN; i--, k++) {
		const struct elf_sym *s = &t->syms[i - 1];

		if (vaddr - s->start < s->size) {
			if (offset)
				*offset = vaddr - s->start;
			return t->strs + s->name;
		}
	}
	return NULL;
}

int elf_symtab__to_vaddr(const struct elf_symtab *t, uint64_t start, uint64_t pgoff,
			 uint64_t addr, uint64_t *vaddr)
{
	uint64_t off;
	size_t i;

	if (!t || addr < start)
		return -ENOENT;
	/* The file offset @addr maps: exact when the mapping spans several segments. */
	off = addr - start + pgoff;
	for (i = 0; i < t->nloads; i++) {
		const struct elf_load *l = &t->loads[i];

		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = off - l->offset + l->vaddr;
			return 0;
		}
	}
	/* The kernel maps a segment from its page-aligned offset, so the mapping may
	 * start (pgoff) up to a page before p_offset; the bias is the same. */
	for (i = 0; i < t->nloads; i++) {
		const struct elf_load *l = &t->loads[i];
		uint64_t lo = l->offset & ~(uint64_t)(SEG_PAGE - 1);

		if (pgoff >= lo && pgoff - lo < l->filesz + (l->offset - lo)) {
			*vaddr = off - l->offset + l->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}
