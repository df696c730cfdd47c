/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elf_symtab.c - one ELF file's function symbols and PT_LOAD segments, parsed once with
 * libelf into a compact sorted array for binary search.
 *
 * Symbols come from every source a file has, merged into one table: its own .symtab
 * and .dynsym, its MiniDebugInfo (.gnu_debugdata: an xz-compressed ELF holding a
 * .symtab, as Fedora ships), and a separate debug file found by build-id or by
 * .gnu_debuglink (debuginfo.c finds it; its identity is checked here). The PT_LOAD
 * segments, which turn addresses into ELF virtual addresses, are always the file's
 * own. Names are demangled lazily, per symbol, at first lookup. PLT stubs, which no
 * symbol table lists, are named "SYM@plt" from the relocations of the GOT slots they
 * jump through, as perf and objdump name them.
 *
 * The input is untrusted (any file a process maps, and later a fuzzer's bytes): every
 * loop is bounded by a section's data size, every index is checked, and a file whose
 * headers or symbol sections cannot be read is refused with ENOEXEC rather than parsed
 * halfway. A debug source that is damaged or does not match is ignored, not fatal.
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
#include "vec.h"

#define BUILD_ID_NOTE_MAX (64u << 10) /* notes larger than this are not build-ids */

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
	uint8_t build_id[DEBUGINFO_BUILD_ID_MAX];
	size_t build_id_len;
	unsigned sources;  /* ELF_SRC_* that contributed symbols */
	char *debug_path;  /* the separate debug file used, or NULL */
	char **dem;        /* per symbol: demangled name, DEM_RAW, or NULL (not yet) */
	size_t dem_bytes;
};

/* Marker in elf_symtab.dem: the raw name is the answer (not mangled). */
static char dem_raw_marker;
#define DEM_RAW (&dem_raw_marker)

/* A symbol while the table is being built; the name points into libelf's data. */
struct cand {
	uint64_t start, size;
	const char *name;
	uint32_t name_len;
	uint8_t notype;    /* STT_NOTYPE label: worse than any STT_FUNC at the same address */
	uint8_t plt;       /* a PLT stub, named "name@plt": worse than any real symbol */
	uint8_t bind_rank; /* 0 global, 1 weak, 2 local */
	uint8_t underscores;
};

struct cands {
	VEC(struct cand);
};

#define PLT_SUFFIX "@plt"
#define PLT_SUFFIX_LEN 4
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

	/* The vDSO's public names (clock_gettime) are weak aliases nobody calls: libc
	 * looks the vDSO up by its __vdso_ names, and "clock_gettime" would read like
	 * libc's wrapper, which is its caller. perf names these frames __vdso_ too. */
	if (len > 7 && !memcmp(name, "__vdso_", 7))
		return 0;
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
	/* A debug file's code sections are SHT_NOBITS: same flags, no bytes. */
	return (shdr.sh_flags & SHF_EXECINSTR) &&
	       (shdr.sh_type == SHT_PROGBITS || shdr.sh_type == SHT_NOBITS);
}

/*
 * Append the function symbols of symbol section @scn to @c (capacity checked by the
 * caller: at most d_size / sizeof(Elf32_Sym) entries per section).
 * @return 0, or -ENOEXEC when the section or its string table cannot be read.
 */
static int collect_symbols(Elf *e, size_t shnum, Elf_Scn *scn, const GElf_Shdr *shdr,
			   struct cand *c, size_t cap, size_t *n, size_t *added)
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
	if (!data->d_buf || !strdata->d_buf || strdata->d_size == 0)
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
		(*added)++;
		*cd = (struct cand){
			.start = sym.st_value,
			.size = sym.st_size,
			.name = name,
			.name_len = (uint32_t)len,
			.notype = type == STT_NOTYPE,
			.bind_rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2,
			.underscores = count_underscores(name, (uint32_t)len),
		};
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
	if (a->plt != b->plt)
		return a->plt - b->plt;
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
		if ((c[i].notype || c[i].plt) && c[i].start < cover_end)
			continue;
		if (!c[i].notype && !c[i].plt && c[i].size > 0 && c[i].start + c[i].size > cover_end)
			cover_end = c[i].start + c[i].size;
		if (arena + c[i].name_len + 1 + PLT_SUFFIX_LEN > ARENA_MAX)
			break; /* cannot be a real file; keep what fits */
		arena += c[i].name_len + 1 + (c[i].plt ? PLT_SUFFIX_LEN : 0);
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
		t->strs_len += c[i].name_len;
		if (c[i].plt) {
			memcpy(t->strs + t->strs_len, PLT_SUFFIX, PLT_SUFFIX_LEN);
			t->strs_len += PLT_SUFFIX_LEN;
		}
		t->strs[t->strs_len++] = '\0';
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

/* Grow @v to hold @more candidates; @more comes from a section size already checked
 * against the file's size. Exactly: @more is an upper bound already. */
static int cands_reserve(struct cands *v, size_t more)
{
	if (more > SIZE_MAX / sizeof(*v->v) - v->len)
		return -ENOEXEC;
	return VEC_RESERVE_EXACT(*v, v->len + more);
}

/*
 * Add the function symbols of every symbol table of @e to @v. *@srcs gets ELF_SRC_SYMTAB
 * / ELF_SRC_DYNSYM for tables that gave symbols (a debug source's are reported by the
 * caller under its own flag). @return 0, or -ENOEXEC for an unreadable table.
 */
static int collect_file_all(Elf *e, uint64_t size, struct cands *v, unsigned *srcs);

/*
 * All or nothing: on failure the candidates added from @e are dropped again, since
 * their names point into @e's data, which the caller is about to free.
 */
static int collect_file(Elf *e, uint64_t size, struct cands *v, unsigned *srcs)
{
	size_t n0 = v->len;
	unsigned srcs0 = *srcs;
	int err = collect_file_all(e, size, v, srcs);

	if (err) {
		v->len = n0;
		*srcs = srcs0;
	}
	return err;
}

static int collect_file_all(Elf *e, uint64_t size, struct cands *v, unsigned *srcs)
{
	size_t shnum, seen;
	unsigned done = 0;
	Elf_Scn *scn;
	int err;

	if (elf_getshdrnum(e, &shnum) != 0)
		return -ENOEXEC;
	for (scn = NULL, seen = 0; seen < shnum && (scn = elf_nextscn(e, scn)); seen++) {
		size_t added = 0;
		unsigned bit;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		/* ELF allows one of each: more (all over the same bytes) would only
		 * multiply the work a crafted file asks for. */
		bit = sh.sh_type == SHT_SYMTAB ? 1 : 2;
		if (done & bit)
			continue;
		done |= bit;
		/* Sizes come from the file: one larger than the file is a lie, and must not
		 * turn into a huge allocation. */
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			return -ENOEXEC;
		err = cands_reserve(v, sh.sh_size / sizeof(Elf32_Sym));
		if (err)
			return err;
		err = collect_symbols(e, shnum, scn, &sh, v->v, v->cap, &v->len, &added);
		if (err)
			return err;
		if (added)
			*srcs |= sh.sh_type == SHT_SYMTAB ? ELF_SRC_SYMTAB : ELF_SRC_DYNSYM;
	}
	return 0;
}

/* Find the NT_GNU_BUILD_ID note in one note data block. */
static size_t note_build_id(Elf_Data *d, uint8_t *out, size_t cap)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	if (!d || !d->d_buf)
		return 0;
	/* gelf_getnote bounds every step by d_size and returns 0 at the end or on junk;
	 * the iteration count is bounded by d_size too (each note takes >= 12 bytes). */
	while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((const char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz > 0 &&
		    nh.n_descsz <= cap) {
			memcpy(out, (const char *)d->d_buf + desc_off, nh.n_descsz);
			return nh.n_descsz;
		}
	}
	return 0;
}

static size_t read_build_id(Elf *e, uint8_t *out, size_t cap)
{
	size_t shnum, phnum, seen, i, n;
	Elf_Scn *scn;

	if (elf_getshdrnum(e, &shnum) == 0) {
		for (scn = NULL, seen = 0; seen < shnum && (scn = elf_nextscn(e, scn)); seen++) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
			    sh.sh_size > BUILD_ID_NOTE_MAX)
				continue;
			n = note_build_id(elf_getdata(scn, NULL), out, cap);
			if (n)
				return n;
		}
	}
	/* No section headers (or no note section): the segments still say. */
	if (elf_getphdrnum(e, &phnum) != 0)
		return 0;
	for (i = 0; i < phnum && i < 64; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE ||
		    ph.p_filesz > BUILD_ID_NOTE_MAX || ph.p_filesz == 0)
			continue;
		n = note_build_id(elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz,
						       ELF_T_NHDR),
				  out, cap);
		if (n)
			return n;
	}
	return 0;
}

int elf_read_build_id_fd(int fd, uint8_t *out, size_t cap)
{
	size_t n;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return -ENOEXEC;
	if (elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		return -ENOEXEC;
	}
	n = read_build_id(e, out, cap);
	elf_end(e);
	return (int)n;
}

/* The section called @name, or NULL. */
static Elf_Scn *find_section(Elf *e, const char *name, GElf_Shdr *out)
{
	size_t shnum, shstrndx, seen;
	Elf_Scn *scn;

	if (elf_getshdrnum(e, &shnum) != 0 || elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	for (scn = NULL, seen = 0; seen < shnum && (scn = elf_nextscn(e, scn)); seen++) {
		const char *n;

		if (!gelf_getshdr(scn, out))
			return NULL;
		n = elf_strptr(e, shstrndx, out->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* ---- PLT stubs: "name@plt" ---- */

/*
 * x86 PLT stubs are 16 bytes (.plt, after a 16-byte header, and .plt.sec, which IBT
 * builds call instead); .plt.got stubs 8 or 16 (sh_entsize). Each one jumps through a
 * GOT slot that a relocation names: JUMP_SLOT in .rela.plt / .rel.plt, GLOB_DAT in
 * .rela.dyn / .rel.dyn for .plt.got. The stub's jump is decoded to find its slot,
 * which is right whatever order the linker chose; stubs that do not jump through the
 * GOT (IBT's lazy-binding half of .plt) are named by position, as perf does.
 */
#define PLT_STUB 16

/* A GOT slot and the function a relocation binds to it. */
struct plt_slot {
	uint64_t got;
	const char *name; /* into the file's .dynstr; NULL: no named symbol */
	uint32_t len;
};

struct plt_relocs {
	VEC(struct plt_slot) slots;  /* named JUMP_SLOT / GLOB_DAT slots, sorted by got */
	VEC(struct plt_slot) jmprel; /* .rela.plt in file order, unnamed ones included */
	uint64_t gotplt;             /* .got.plt: the i386 PIC stubs' %ebx */
	bool have_gotplt;
};

static int slot_cmp(const void *pa, const void *pb)
{
	const struct plt_slot *a = pa, *b = pb;

	return a->got < b->got ? -1 : a->got > b->got;
}

/* Data of section @scn when its bytes lie inside the file (@size bytes). */
static Elf_Data *section_data(Elf_Scn *scn, const GElf_Shdr *sh, uint64_t size)
{
	Elf_Data *d;

	if (sh->sh_type == SHT_NOBITS || (sh->sh_flags & SHF_COMPRESSED) ||
	    sh->sh_offset > size || sh->sh_size > size - sh->sh_offset)
		return NULL;
	d = elf_getdata(scn, NULL);
	return d && d->d_buf ? d : NULL;
}

/* The symbol and string data of dynamic symbol table @ndx, checked. */
static bool dynsym_data(Elf *e, size_t shnum, size_t ndx, uint64_t size, Elf_Data **syms,
			Elf_Data **strs)
{
	GElf_Shdr sh, strsh;
	Elf_Scn *scn, *strscn;

	if (ndx == 0 || ndx >= shnum || !(scn = elf_getscn(e, ndx)) || !gelf_getshdr(scn, &sh) ||
	    sh.sh_type != SHT_DYNSYM || sh.sh_link == 0 || sh.sh_link >= shnum ||
	    !(strscn = elf_getscn(e, sh.sh_link)) || !gelf_getshdr(strscn, &strsh) ||
	    strsh.sh_type != SHT_STRTAB)
		return false;
	*syms = section_data(scn, &sh, size);
	*strs = section_data(strscn, &strsh, size);
	return *syms && *strs && (*strs)->d_size > 0;
}

/* Read relocation section @scn (SHT_RELA or SHT_REL) into @r. @jmprel: it is
 * .rela.plt / .rel.plt, whose order the stubs follow. @return 0 or -ENOMEM. */
static int read_plt_relocs(Elf *e, size_t shnum, Elf_Scn *scn, const GElf_Shdr *sh,
			   uint64_t size, bool jmprel, struct plt_relocs *r)
{
	Elf_Data *d = section_data(scn, sh, size), *syms, *strs;
	bool rela = sh->sh_type == SHT_RELA;
	size_t i, max;

	if (!d || !dynsym_data(e, shnum, sh->sh_link, size, &syms, &strs))
		return 0;
	/* An upper bound for either class; gelf_getrel[a] checks each index. */
	max = d->d_size / (rela ? sizeof(Elf32_Rela) : sizeof(Elf32_Rel));
	for (i = 0; i < max && i < INT_MAX; i++) {
		struct plt_slot slot = { 0 };
		unsigned type;
		GElf_Rela ra;
		GElf_Rel rl;
		GElf_Sym sym;

		if (rela ? !gelf_getrela(d, (int)i, &ra) : !gelf_getrel(d, (int)i, &rl))
			break;
		if (!rela) {
			ra.r_offset = rl.r_offset;
			ra.r_info = rl.r_info;
		}
		/* libelf widens 32-bit r_info, so GELF_R_* fit both classes. x86-64's and
		 * i386's JUMP_SLOT (7) and GLOB_DAT (6) have the same numbers. */
		type = (unsigned)GELF_R_TYPE(ra.r_info);
		slot.got = ra.r_offset;
		if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) &&
		    gelf_getsym(syms, (int)GELF_R_SYM(ra.r_info), &sym) && sym.st_name != 0 &&
		    sym.st_name < strs->d_size && GELF_ST_TYPE(sym.st_info) != STT_OBJECT) {
			const char *name = (const char *)strs->d_buf + sym.st_name;
			size_t len = strnlen(name, strs->d_size - sym.st_name);

			if (len > 0 && len < strs->d_size - sym.st_name && len < ARENA_MAX / 2) {
				slot.name = name;
				slot.len = (uint32_t)len;
				if (VEC_PUSH(r->slots, slot))
					return -ENOMEM;
			}
		}
		if (jmprel && VEC_PUSH(r->jmprel, slot))
			return -ENOMEM;
	}
	return 0;
}

/* The GOT slot the x86 stub at @p (@len bytes, at ELF address @at) jumps through, or
 * 0 when it has no indirect jump: "jmp *disp32(%rip)" (ff 25) on x86-64, "jmp *abs32"
 * (ff 25) or "jmp *disp32(%ebx)" (ff a3) on i386, possibly after endbr and bnd. */
static uint64_t stub_target(const uint8_t *p, size_t len, uint64_t at, bool x86_64,
			    const struct plt_relocs *r)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		uint32_t u;
		int32_t disp;

		if (p[i] != 0xff || (p[i + 1] != 0x25 && !(p[i + 1] == 0xa3 && !x86_64)))
			continue;
		memcpy(&u, p + i + 2, 4); /* x86 is little-endian, and so are we */
		disp = (int32_t)u;
		if (x86_64)
			return at + i + 6 + (uint64_t)(int64_t)disp;
		if (p[i + 1] == 0x25)
			return u;
		return r->have_gotplt ? (uint32_t)(r->gotplt + (uint64_t)(int64_t)disp) : 0;
	}
	return 0;
}

static const struct plt_slot *find_slot(const struct plt_relocs *r, uint64_t got)
{
	struct plt_slot key = { .got = got };

	if (!got || !r->slots.len)
		return NULL;
	return bsearch(&key, r->slots.v, r->slots.len, sizeof(key), slot_cmp);
}

static void add_stub(struct cands *v, uint64_t at, size_t size, const struct plt_slot *s)
{
	struct cand *cd = &v->v[v->len++];

	*cd = (struct cand){
		.start = at,
		.size = size,
		.name = s->name,
		.name_len = s->len,
		.plt = 1,
		.underscores = count_underscores(s->name, s->len),
	};
}

/*
 * Name the stubs of PLT section @scn. @header: stubs before the first that follows
 * .rela.plt's order (1 for .plt's header, 0 for .plt.sec, -1: .plt.got, whose order
 * follows nothing). @return 0 or -ENOMEM.
 */
static int add_plt_section(Elf_Scn *scn, const GElf_Shdr *sh, uint64_t size, size_t stub,
			   int header, bool x86_64, const struct plt_relocs *r, struct cands *v)
{
	Elf_Data *d = section_data(scn, sh, size);
	size_t n, k, named = 0;
	const uint8_t *p;
	int err;

	if (!d || !(sh->sh_flags & SHF_EXECINSTR))
		return 0;
	p = d->d_buf;
	n = d->d_size / stub;
	/* n <= the file's size / 8: checked by section_data. */
	err = cands_reserve(v, n);
	if (err)
		return err;
	for (k = 0; k < n; k++) {
		uint64_t at = sh->sh_addr + k * stub;
		const struct plt_slot *s = find_slot(r, stub_target(p + k * stub, stub, at, x86_64, r));

		if (s) {
			add_stub(v, at, stub, s);
			named++;
		}
	}
	if (named || header < 0)
		return 0;
	/* No stub jumps through the GOT: name them by position. */
	for (k = (size_t)header; k < n && k - (size_t)header < r->jmprel.len; k++) {
		const struct plt_slot *s = &r->jmprel.v[k - (size_t)header];

		if (s->name)
			add_stub(v, sh->sh_addr + k * stub, stub, s);
	}
	return 0;
}

/* Relocation and PLT sections, by name: each is read once at most, so a crafted file
 * with many copies cannot multiply the work. */
enum { PLT_RELA_PLT, PLT_REL_PLT, PLT_RELA_DYN, PLT_REL_DYN, PLT_PLT, PLT_PLT_SEC,
       PLT_PLT_GOT, PLT_GOT_PLT, PLT_NSECTIONS };
static const char *const plt_section_names[PLT_NSECTIONS] = {
	".rela.plt", ".rel.plt", ".rela.dyn", ".rel.dyn", ".plt", ".plt.sec", ".plt.got",
	".got.plt",
};

/*
 * Add a "name@plt" candidate for every PLT stub of @e whose GOT slot a relocation
 * names. Best effort: a damaged or unusual PLT gives fewer names, never an error
 * but -ENOMEM.
 */
static int add_plt_symbols(Elf *e, uint64_t size, struct cands *v)
{
	Elf_Scn *found[PLT_NSECTIONS] = { 0 };
	GElf_Shdr shdrs[PLT_NSECTIONS];
	struct plt_relocs r = { 0 };
	size_t shnum, shstrndx, seen, i;
	bool x86_64;
	GElf_Ehdr eh;
	Elf_Scn *scn;
	int err = 0;

	if (!gelf_getehdr(e, &eh) || (eh.e_machine != EM_X86_64 && eh.e_machine != EM_386) ||
	    elf_getshdrnum(e, &shnum) != 0 || elf_getshdrstrndx(e, &shstrndx) != 0)
		return 0;
	x86_64 = eh.e_machine == EM_X86_64;
	for (scn = NULL, seen = 0; seen < shnum && (scn = elf_nextscn(e, scn)); seen++) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		for (i = 0; i < PLT_NSECTIONS; i++)
			if (!found[i] && !strcmp(name, plt_section_names[i])) {
				found[i] = scn;
				shdrs[i] = sh;
			}
	}
	/* .rela.dyn's GLOB_DAT entries name only .plt.got's stubs; in a large library
	 * it holds hundreds of thousands of other relocations, so it is read only when
	 * there is a .plt.got to name. */
	if (!found[PLT_PLT_GOT])
		found[PLT_RELA_DYN] = found[PLT_REL_DYN] = NULL;
	for (i = PLT_RELA_PLT; i <= PLT_REL_DYN && !err; i++)
		if (found[i] && shdrs[i].sh_type == (i == PLT_RELA_PLT || i == PLT_RELA_DYN ? SHT_RELA
											 : SHT_REL))
			err = read_plt_relocs(e, shnum, found[i], &shdrs[i], size,
					      i == PLT_RELA_PLT || i == PLT_REL_PLT, &r);
	if (err || !r.slots.len)
		goto out;
	qsort(r.slots.v, r.slots.len, sizeof(*r.slots.v), slot_cmp);
	if (found[PLT_GOT_PLT]) {
		r.gotplt = shdrs[PLT_GOT_PLT].sh_addr;
		r.have_gotplt = true;
	}
	if (found[PLT_PLT])
		err = add_plt_section(found[PLT_PLT], &shdrs[PLT_PLT], size, PLT_STUB, 1, x86_64,
				      &r, v);
	if (!err && found[PLT_PLT_SEC])
		err = add_plt_section(found[PLT_PLT_SEC], &shdrs[PLT_PLT_SEC], size, PLT_STUB, 0,
				      x86_64, &r, v);
	if (!err && found[PLT_PLT_GOT])
		err = add_plt_section(found[PLT_PLT_GOT], &shdrs[PLT_PLT_GOT], size,
				      shdrs[PLT_PLT_GOT].sh_entsize == 16 ? 16 : 8, -1, x86_64,
				      &r, v);
out:
	VEC_FREE(r.slots);
	VEC_FREE(r.jmprel);
	return err;
}

/* .gnu_debuglink: a file name, NUL, padding to 4, then the debug file's CRC-32 in the
 * file's byte order. @return true with @name/@crc filled. */
static bool read_debuglink(Elf *e, char *name, size_t name_cap, uint32_t *crc)
{
	const unsigned char *p;
	GElf_Shdr sh;
	Elf_Data *d;
	Elf_Scn *scn;
	size_t len, at;
	const char *ident;

	scn = find_section(e, ".gnu_debuglink", &sh);
	if (!scn || sh.sh_type != SHT_PROGBITS)
		return false;
	d = elf_rawdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size < 6)
		return false;
	p = d->d_buf;
	len = strnlen((const char *)p, d->d_size);
	if (len == 0 || len >= name_cap || len == d->d_size)
		return false;
	at = (len + 1 + 3) & ~(size_t)3;
	if (at > d->d_size || d->d_size - at < 4)
		return false;
	memcpy(name, p, len);
	name[len] = '\0';
	ident = elf_getident(e, NULL);
	if (ident && ident[EI_DATA] == ELFDATA2MSB)
		*crc = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 |
		       (uint32_t)p[at + 2] << 8 | p[at + 3];
	else
		*crc = (uint32_t)p[at + 3] << 24 | (uint32_t)p[at + 2] << 16 |
		       (uint32_t)p[at + 1] << 8 | p[at];
	return true;
}

/* Check an ELF that is to give symbols to another: complete headers, sections. */
static bool debug_elf_ok(Elf *d, uint64_t size)
{
	GElf_Ehdr eh;
	size_t shnum;

	return elf_kind(d) == ELF_K_ELF && gelf_getehdr(d, &eh) &&
	       elf_getshdrnum(d, &shnum) == 0 && headers_fit(d, &eh, shnum, size);
}

/* Everything a table is built from, kept alive until its names are copied. */
struct build {
	struct elf_symtab *t;
	struct cands v;
	Elf *mini;      /* MiniDebugInfo */
	void *mini_buf;
	Elf *dbg;       /* separate debug file */
	int dbg_fd;
	void *dbg_buf;  /* in-memory debug image (fuzzing) */
	bool have_link;
	char link[256];
	uint32_t link_crc;
};

static void add_minidebuginfo(struct build *b, Elf *e)
{
	size_t out_len = 0;
	unsigned srcs = 0;
	GElf_Shdr sh;
	Elf_Data *d;
	Elf_Scn *scn;

	scn = find_section(e, ".gnu_debugdata", &sh);
	if (!scn || sh.sh_type != SHT_PROGBITS)
		return;
	d = elf_rawdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size == 0)
		return;
	if (debuginfo__xz_decode(d->d_buf, d->d_size, &b->mini_buf, &out_len) != 0)
		return;
	b->mini = elf_memory(b->mini_buf, out_len);
	if (!b->mini || !debug_elf_ok(b->mini, out_len))
		return;
	/* Its symbols or none: a broken table in it must not cost the file's own. */
	if (collect_file(b->mini, out_len, &b->v, &srcs) == 0 && srcs)
		b->t->sources |= ELF_SRC_MINIDEBUG;
}

/*
 * Is @d the debug file of the table being built? By build-id when both have one; else,
 * for a file found through .gnu_debuglink, by the CRC it records (@fd >= 0) or of the
 * in-memory image.
 */
static bool debug_matches(struct build *b, Elf *d, int fd, const void *mem, size_t mem_len,
			  bool by_link)
{
	uint8_t id[DEBUGINFO_BUILD_ID_MAX];
	size_t n = read_build_id(d, id, sizeof(id));
	uint32_t crc;

	if (b->t->build_id_len) {
		if (n != b->t->build_id_len || memcmp(id, b->t->build_id, n) != 0)
			return false;
		if (!by_link)
			return true;
	} else if (!by_link) {
		return false;
	}
	if (!b->have_link)
		return false;
	if (fd >= 0) {
		if (debuginfo__crc32_fd(fd, &crc) != 0)
			return false;
	} else {
		crc = debuginfo__crc32(0, mem, mem_len);
	}
	return crc == b->link_crc;
}

/* Take the debug file open on @fd if it is ours; on success it belongs to @b. */
static bool try_debug_fd(struct build *b, int fd, unsigned src, const char *path)
{
	struct stat st;
	unsigned srcs = 0;
	Elf *d;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	d = elf_begin(fd, ELF_C_READ, NULL);
	if (!d || !debug_elf_ok(d, (uint64_t)st.st_size) ||
	    !debug_matches(b, d, fd, NULL, 0, src == ELF_SRC_DEBUGLINK)) {
		if (d)
			elf_end(d);
		close(fd);
		return false;
	}
	if (collect_file(d, (uint64_t)st.st_size, &b->v, &srcs) != 0) {
		elf_end(d);
		close(fd);
		return false;
	}
	b->dbg = d;
	b->dbg_fd = fd;
	b->t->sources |= src;
	b->t->debug_path = path ? strdup(path) : NULL;
	return true;
}

static void add_debug_file(struct build *b, const struct debuginfo_opts *o)
{
	char used[DEBUGINFO_PATH_MAX];
	const uint8_t *id = b->t->build_id;
	size_t idlen = b->t->build_id_len;
	int fd;

	if (idlen) {
		fd = debuginfo__find_by_build_id(o, id, idlen, used, sizeof(used));
		if (fd >= 0 && try_debug_fd(b, fd, ELF_SRC_DEBUG_BUILDID, used))
			return;
	}
	if (b->have_link && o->path) {
		fd = debuginfo__find_by_debuglink(o, o->path, b->link, used, sizeof(used));
		if (fd >= 0 && try_debug_fd(b, fd, ELF_SRC_DEBUGLINK, used))
			return;
	}
	if (!idlen)
		return;
	fd = debuginfo__find_in_debuginfod_cache(id, idlen, used, sizeof(used));
	if (fd >= 0 && try_debug_fd(b, fd, ELF_SRC_DEBUGINFOD, used))
		return;
	if (o->debuginfod) {
		fd = debuginfo__debuginfod_fetch(id, idlen, o->debuginfod_timeout_ms, used,
						 sizeof(used));
		if (fd >= 0)
			try_debug_fd(b, fd, ELF_SRC_DEBUGINFOD, used);
	}
}

static void add_debug_mem(struct build *b, const void *dbg, size_t len)
{
	unsigned srcs = 0, ignored = 0;
	Elf *d;

	if (!len)
		return;
	b->dbg_buf = malloc(len);
	if (!b->dbg_buf)
		return;
	memcpy(b->dbg_buf, dbg, len);
	d = elf_memory(b->dbg_buf, len);
	if (!d)
		return;
	b->dbg = d;
	if (!debug_elf_ok(d, len))
		return;
	if (debug_matches(b, d, -1, dbg, len, false))
		srcs = ELF_SRC_DEBUG_BUILDID;
	else if (debug_matches(b, d, -1, dbg, len, true))
		srcs = ELF_SRC_DEBUGLINK;
	else
		return;
	if (collect_file(d, len, &b->v, &ignored) == 0)
		b->t->sources |= srcs;
}

static struct elf_symtab *symtab_from_elf(Elf *e, uint64_t size, const struct debuginfo_opts *o,
					  const void *dbg, size_t dbg_len)
{
	struct build b = { .dbg_fd = -1 };
	size_t shnum;
	GElf_Ehdr eh;
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
	b.t = calloc(1, sizeof(*b.t));
	if (!b.t) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = read_loads(e, b.t);
	if (err)
		goto cleanup;
	b.t->build_id_len = read_build_id(e, b.t->build_id, sizeof(b.t->build_id));
	b.have_link = read_debuglink(e, b.link, sizeof(b.link), &b.link_crc);

	err = collect_file(e, size, &b.v, &b.t->sources);
	if (err)
		goto cleanup;
	err = add_plt_symbols(e, size, &b.v);
	if (err)
		goto cleanup;
	add_minidebuginfo(&b, e);
	/* A file with its own .symtab is not stripped: a debug file would add nothing
	 * but the cost of looking for it. */
	if (dbg)
		add_debug_mem(&b, dbg, dbg_len);
	else if (o && !o->no_debug_files && !(b.t->sources & ELF_SRC_SYMTAB))
		add_debug_file(&b, o);

	err = build_table(e, b.t, b.v.v, b.v.len);

cleanup:
	VEC_FREE(b.v);
	if (b.mini)
		elf_end(b.mini);
	free(b.mini_buf);
	if (b.dbg)
		elf_end(b.dbg);
	if (b.dbg_fd >= 0)
		close(b.dbg_fd);
	free(b.dbg_buf);
	if (err) {
		elf_symtab__free(b.t);
		errno = -err;
		return NULL;
	}
	return b.t;
}

struct elf_symtab *elf_symtab__open_fd_opts(int fd, const struct debuginfo_opts *o)
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
	t = symtab_from_elf(e, (uint64_t)st.st_size, o, NULL, 0);
	err = errno;
	elf_end(e);
	errno = err;
	return t;
}

struct elf_symtab *elf_symtab__open_fd(int fd)
{
	return elf_symtab__open_fd_opts(fd, NULL);
}

struct elf_symtab *elf_symtab__open_opts(const char *path, const struct elf_symtab_opts *opts)
{
	struct debuginfo_opts o = { 0 };
	struct elf_symtab *t;
	char *abs = NULL;
	int fd, err;

	if (opts) {
		o.debug_dirs = opts->debug_dirs;
		o.ndebug_dirs = opts->ndebug_dirs;
		o.debuginfod = opts->debuginfod;
		o.debuginfod_timeout_ms = opts->debuginfod_timeout_ms ? opts->debuginfod_timeout_ms
								      : 10000;
		o.no_debug_files = opts->no_debug_files;
	}
	/* Debuglink lookups are relative to the file's real directory. */
	if (opts && !opts->no_debug_files)
		abs = realpath(path, NULL);
	o.path = abs ? abs : path;
	/* O_NONBLOCK: a FIFO path must not hang the profiler; it is refused as ENOEXEC. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		free(abs);
		errno = err;
		return NULL;
	}
	t = elf_symtab__open_fd_opts(fd, opts ? &o : NULL);
	err = errno;
	close(fd);
	free(abs);
	errno = err;
	return t;
}

struct elf_symtab *elf_symtab__open(const char *path)
{
	return elf_symtab__open_opts(path, NULL);
}

static struct elf_symtab *open_mem(const void *buf, size_t len, const void *dbg, size_t dbg_len)
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
	t = symtab_from_elf(e, len, NULL, dbg, dbg_len);
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

struct elf_symtab *elf_symtab__open_mem(const void *buf, size_t len)
{
	return open_mem(buf, len, NULL, 0);
}

struct elf_symtab *elf_symtab__open_mem_debug(const void *buf, size_t len, const void *dbg,
					      size_t dbg_len)
{
	return open_mem(buf, len, dbg ? dbg : "", dbg ? dbg_len : 0);
}

void elf_symtab__free(struct elf_symtab *t)
{
	if (!t)
		return;
	if (t->dem) {
		for (size_t i = 0; i < t->nsyms; i++)
			if (t->dem[i] != DEM_RAW)
				free(t->dem[i]);
		free(t->dem);
	}
	free(t->syms);
	free(t->strs);
	free(t->loads);
	free(t->debug_path);
	free(t);
}

const uint8_t *elf_symtab__build_id(const struct elf_symtab *t, size_t *len)
{
	*len = t ? t->build_id_len : 0;
	return *len ? t->build_id : NULL;
}

unsigned elf_symtab__sources(const struct elf_symtab *t)
{
	return t ? t->sources : 0;
}

const char *elf_symtab__debug_path(const struct elf_symtab *t)
{
	return t ? t->debug_path : NULL;
}

size_t elf_symtab__mem_bytes(const struct elf_symtab *t)
{
	if (!t)
		return 0;
	return sizeof(*t) + t->nsyms * sizeof(*t->syms) + t->strs_len +
	       t->nloads * sizeof(*t->loads) + (t->dem ? t->nsyms * sizeof(*t->dem) : 0) +
	       t->dem_bytes;
}

const char *elf_symtab__demangled(struct elf_symtab *t, size_t idx)
{
	const char *raw;
	char *d;

	if (!t || idx >= t->nsyms)
		return NULL;
	raw = t->strs + t->syms[idx].name;
	if (!t->dem) {
		t->dem = calloc(t->nsyms, sizeof(*t->dem));
		if (!t->dem)
			return raw;
	}
	if (t->dem[idx])
		return t->dem[idx] == DEM_RAW ? raw : t->dem[idx];
	d = symbolizer__demangle(raw);
	if (!d) {
		t->dem[idx] = DEM_RAW;
		return raw;
	}
	t->dem[idx] = d;
	t->dem_bytes += strlen(d) + 1;
	return d;
}

size_t elf_symtab__count(const struct elf_symtab *t)
{
	return t ? t->nsyms : 0;
}

const char *elf_symtab__lookup(const struct elf_symtab *t, uint64_t vaddr, uint64_t *offset)
{
	return elf_symtab__lookup_idx(t, vaddr, offset, NULL);
}

const char *elf_symtab__lookup_idx(const struct elf_symtab *t, uint64_t vaddr,
				   uint64_t *offset, size_t *idx)
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
			if (idx)
				*idx = i - 1;
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

const char *elf_symtab__resolve(struct elf_symtab *t, uint64_t vaddr, uint64_t *offset,
				bool demangle)
{
	const char *name;
	size_t idx;

	name = elf_symtab__lookup_idx(t, vaddr, offset, &idx);
	if (!name || !demangle)
		return name;
	return elf_symtab__demangled(t, idx);
}
