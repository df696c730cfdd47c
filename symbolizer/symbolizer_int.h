/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer_int.h - interfaces between the symbolizer's own files (ELF symbol tables,
 * /proc/PID/maps, kallsyms, vDSO images; the caches have cache_int.h). Not part of the
 * module's public API: tests and fuzz harnesses include it to reach the parsers with
 * in-memory input.
 *
 * Same error contract as symbolizer.h: 0 / negative errno, NULL + errno.
 */
#ifndef SMOLDER_SYMBOLIZER_INT_H
#define SMOLDER_SYMBOLIZER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "symbolizer.h"

/* ---- elf_symtab.c ---- */

/*
 * Parse an ELF image held in memory (@buf stays owned by the caller and is not needed
 * after the call returns). This is the entry point of the ELF fuzz harness.
 */
struct elf_symtab *elf_symtab__open_mem(const void *buf, size_t len);

/* Parse the ELF file open on @fd (not closed; its offset is not used). */
struct elf_symtab *elf_symtab__open_fd(int fd);

/* Number of function symbols kept after merging and deduplication. */
size_t elf_symtab__count(const struct elf_symtab *t);

/*
 * Same, with a separate debug image held in memory merged in (as if it had been found
 * on disk): it is used only if its build-id matches the main image's, or, when the
 * main image has no build-id, if its CRC matches the main image's .gnu_debuglink.
 * Entry point of the debug-file fuzz harness.
 */
struct elf_symtab *elf_symtab__open_mem_debug(const void *buf, size_t len, const void *dbg,
					      size_t dbg_len);

/* Read only the build-id of the ELF file open on @fd (from its PT_NOTE segments, or
 * its note sections). @return its length (1..DEBUGINFO_BUILD_ID_MAX) into @out, 0 when
 * the file has none, or a negative errno (-ENOEXEC: not ELF). */
int elf_read_build_id_fd(int fd, uint8_t *out, size_t cap);

/* Function symbol at @vaddr, as elf_symtab__lookup, also giving its index for
 * elf_symtab__demangled. */
const char *elf_symtab__lookup_idx(const struct elf_symtab *t, uint64_t vaddr,
				   uint64_t *offset, size_t *idx);

/* The demangled name of symbol @idx (C++ and Rust), computed at first use and kept with
 * the table; the raw name when it is not mangled or does not demangle. */
const char *elf_symtab__demangled(struct elf_symtab *t, size_t idx);

/* ---- demangle.c ---- */

/* Demangle a C++ (Itanium, "_Z") or Rust (legacy "_ZN..17h<hash>E", v0 "_R") name.
 * @return a malloc'd string the caller frees, or NULL when @name is not mangled, does
 * not demangle, or is longer than DEMANGLE_MAX_IN. */
char *symbolizer__demangle(const char *name);
#define DEMANGLE_MAX_IN (64u << 10)

/* ---- debuginfo.c ---- */

#define DEBUGINFO_BUILD_ID_MAX 64 /* sha1 is 20; allow longer hashes, refuse junk */
#define DEBUGINFO_PATH_MAX 4352
#define DEBUGINFO_XZ_MAX_OUT (256u << 20)   /* a MiniDebugInfo ELF is a few MiB */
#define DEBUGINFO_XZ_MEMLIMIT (128u << 20)  /* decoder dictionary + state */

struct debuginfo_opts {
	const char *const *debug_dirs; /* NULL: { "/usr/lib/debug" } */
	size_t ndebug_dirs;
	const char *root;      /* "/proc/PID/root" to look inside a process's mount
				  namespace first, or NULL */
	const char *path;      /* the file's path as the process sees it (debuglink
				  lookups beside it), or NULL */
	bool debuginfod;       /* fetch through libdebuginfod when nothing local is found */
	unsigned debuginfod_timeout_ms;
	bool no_debug_files;   /* only the file itself (and its MiniDebugInfo) */
};

uint32_t debuginfo__crc32(uint32_t crc, const void *buf, size_t len);
int debuginfo__crc32_fd(int fd, uint32_t *out);
/* Decompress an xz stream (bounded by DEBUGINFO_XZ_MAX_OUT / _MEMLIMIT).
 * @return 0 with *@out malloc'd, or -ENOEXEC (corrupt), -EFBIG, -ENOMEM. */
int debuginfo__xz_decode(const void *in, size_t in_len, void **out, size_t *out_len);
/* Each returns an open fd (the path used written to @used) or a negative errno. */
int debuginfo__find_by_build_id(const struct debuginfo_opts *o, const uint8_t *id, size_t len,
				char *used, size_t used_len);
int debuginfo__find_by_debuglink(const struct debuginfo_opts *o, const char *file_path,
				 const char *link, char *used, size_t used_len);
int debuginfo__find_in_debuginfod_cache(const uint8_t *id, size_t len, char *used,
					size_t used_len);
int debuginfo__debuginfod_fetch(const uint8_t *id, size_t len, unsigned timeout_ms,
				char *used, size_t used_len);

/* Parse the ELF file open on @fd, merging the symbols of its separate debug file and
 * MiniDebugInfo as @o allows (NULL: none but MiniDebugInfo). */
struct elf_symtab *elf_symtab__open_fd_opts(int fd, const struct debuginfo_opts *o);

/* ---- perfmap.c ---- */

/*
 * A JIT's /tmp/perf-PID.map: "START SIZE NAME" lines (hex, with or without 0x), appended
 * to as code is compiled. Parsed incrementally: feed appended text, whole lines are
 * consumed. Later lines win over earlier ones at the same start (code is moved and
 * recompiled). Names stay at a stable address until the map is freed.
 */
struct perfmap;

struct perfmap *perfmap__new(void);
void perfmap__free(struct perfmap *m);
/* Parse the complete lines of [@buf, @buf+@len) ("\n"-terminated; a final unterminated
 * line is left for the next call). *@consumed gets the bytes used. Malformed lines are
 * skipped. @return 0, -ENOMEM, or -E2BIG once PERFMAP_MAX_ENTRIES/_BYTES are reached
 * (what fits is kept). */
int perfmap__parse(struct perfmap *m, const char *buf, size_t len, size_t *consumed);
/* Entry covering @addr or NULL; sorts pending entries first (hence not const). */
const char *perfmap__lookup(struct perfmap *m, uint64_t addr, uint64_t *offset);
size_t perfmap__count(const struct perfmap *m);
size_t perfmap__mem_bytes(const struct perfmap *m);

#define PERFMAP_MAX_ENTRIES (4u << 20)
#define PERFMAP_MAX_BYTES (256u << 20)
#define PERFMAP_MAX_NAME 4096

/* ---- proc_maps.c ---- */

enum proc_mapping_kind {
	PROC_MAPPING_FILE,   /* backed by a file we can try to open as ELF */
	PROC_MAPPING_PSEUDO, /* [vdso], [vsyscall], [anon:...], anon_inode:... */
	PROC_MAPPING_ANON,   /* no path at all (JIT code, mostly) */
};

/* One executable mapping of a process. */
struct proc_mapping {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;      /* file offset mapped at start */
	uint64_t dev;        /* makedev(major, minor) as printed in maps */
	uint64_t inode;
	uint32_t path_off;   /* into proc_maps.strs; NUL-terminated */
	uint8_t kind;        /* enum proc_mapping_kind */
	uint8_t deleted;     /* the path carried " (deleted)" (stripped from the path) */
};

/* A mapped file's build-id as the kernel read it (len 0: none given). */
struct proc_build_id {
	uint8_t len;
	uint8_t id[DEBUGINFO_BUILD_ID_MAX];
};

/* The executable mappings of a process, sorted by start and not overlapping. */
struct proc_maps {
	struct proc_mapping *maps;
	size_t n;
	char *strs; /* path arena */
	size_t strs_len;
	struct proc_build_id *bids; /* parallel to maps when they came from
				       proc_maps__query, else NULL */
};

/*
 * Parse the text of a /proc/PID/maps file. Lines that do not parse are skipped (the
 * kernel's format is fixed, so they can only come from corrupt input); at most
 * PROC_MAPS_MAX_MAPPINGS executable mappings are kept.
 * @return 0 (out filled, release it with proc_maps__release) or -ENOMEM.
 */
int proc_maps__parse(const char *buf, size_t len, struct proc_maps *out);

/* Read /proc/@pid/maps. @return 0, -ESRCH when the process does not exist, -errno. */
int proc_maps__read(pid_t pid, struct proc_maps *out);

/*
 * The same mappings asked of the kernel one by one (the PROCMAP_QUERY ioctl on
 * /proc/@pid/maps, Linux 6.11), with each mapped file's build-id in out->bids: no
 * text to format and parse, and no file to open to know what is mapped.
 * @return 0, -ESRCH when the process does not exist, -ENOTTY when the kernel has no
 * such ioctl (use proc_maps__read), or another negative errno. A process whose
 * leader has exited is read by proc_maps__read, as are its threads' views.
 */
int proc_maps__query(pid_t pid, struct proc_maps *out);

void proc_maps__release(struct proc_maps *m);

/* Mapping containing @addr, or NULL. */
const struct proc_mapping *proc_maps__find(const struct proc_maps *m, uint64_t addr);

static inline const char *proc_mapping__path(const struct proc_maps *m,
					     const struct proc_mapping *pm)
{
	return m->strs + pm->path_off;
}

/*
 * Set @pm's kind and deleted flag from its name @path (@len bytes, as the kernel
 * prints it in /proc/PID/maps or a perf MMAP2 record). @return the length of the
 * path to keep: without " (deleted)", empty for an anonymous mapping ("//anon" in a
 * perf record), at most PATH_MAX.
 */
size_t proc_mapping__classify(struct proc_mapping *pm, const char *path, size_t len);

/* Append the kernel's gate area ([vsyscall] on x86-64) to @m, whose mappings are in
 * address order, as the text of /proc/PID/maps lists it: it is in every process but
 * is no mapping of its own, so neither PROCMAP_QUERY nor the kernel's mmap records
 * report it. Nothing is added when there is none or @m already reaches past its start.
 * @return 0 or -ENOMEM (@m unchanged). */
int proc_maps__add_gate_area(struct proc_maps *m);

/* ---- mappings pushed by the kernel (mmap_table.c) ---- */

struct mmap_table;

struct mmap_table_stats {
	size_t processes;   /* followed now */
	size_t bytes;       /* their memory */
	uint64_t mmaps;     /* mmap records applied */
	uint64_t evictions; /* processes dropped by the count bound */
	uint64_t failed;    /* processes dropped for want of memory */
};

/* A table for at most @max_processes processes. @return it, or NULL (ENOMEM). */
struct mmap_table *mmap_table__new(size_t max_processes);
void mmap_table__free(struct mmap_table *t);
void mmap_table__clear(struct mmap_table *t);
void mmap_table__stats(const struct mmap_table *t, struct mmap_table_stats *out);

/* The kernel's records are read from now on: mmap_table__seed takes effect. */
void mmap_table__activate(struct mmap_table *t);
/* Follow @pid from here, whose mappings were just read (@m, from /proc): the records
 * after the read are laid over them. Ignored until the table is active. *@version
 * gets the entry's version, as mmap_table__get gives it. */
void mmap_table__seed(struct mmap_table *t, pid_t pid, const struct proc_maps *m,
		      uint64_t *version);
/* Process @pid exec'd: its mappings are followed from here, starting empty. */
void mmap_table__exec(struct mmap_table *t, pid_t pid);
/* @child was forked from @parent: it has its parent's mappings when the parent is
 * followed, else it is not followed either. */
void mmap_table__fork(struct mmap_table *t, pid_t parent, pid_t child);
/* Mapping @pm (start, end, pgoff; dev and inode when the kernel gave them) named
 * @path (@path_len bytes, as the record has it) with build-id @bid (len 0: none) was
 * made in @pid: laid over what it covers. Ignored for a process not followed. */
void mmap_table__mmap(struct mmap_table *t, pid_t pid, const struct proc_mapping *pm,
		      const char *path, size_t path_len, const struct proc_build_id *bid);
void mmap_table__forget(struct mmap_table *t, pid_t pid);

/*
 * @pid's mappings as followed, into @out (with build-ids, and the gate area as
 * /proc/PID/maps lists it; release it with proc_maps__release), unless they are
 * those of *@version (a version an earlier call returned; start with 0). A followed
 * process's mappings are all there is to know of it: an address none contains is in
 * none. @return 0 (*@version updated), -EALREADY (unchanged since *@version),
 * -ENOENT (not followed from its start, or a file with no build-id mapped) or
 * -ENOMEM.
 */
int mmap_table__get(struct mmap_table *t, pid_t pid, uint64_t *version,
		    struct proc_maps *out);

#define PROC_MAPS_MAX_BYTES (64u << 20) /* a process with ~1M mappings; more is junk */
#define PROC_MAPS_MAX_MAPPINGS (1u << 20)

/*
 * Parse hex digits (no "0x") at *@p, before @end, and advance past them. Shared by the
 * maps, kallsyms and perf-map parsers. @return false when there are none or more than
 * 16 (*@p is then unchanged).
 */
bool symbolizer__parse_hex(const char **p, const char *end, uint64_t *out);

/* ---- kallsyms.c ---- */

struct kallsyms;

/*
 * Parse a kallsyms-format file (normally /proc/kallsyms): text symbols only.
 * NULL + errno: EPERM when every address reads as zero (kptr_restrict), ENOENT/EACCES
 * when unreadable, ENOMEM.
 */
struct kallsyms *kallsyms__load(const char *path);

/* Same, from text in memory (for the fuzz harness and tests). */
struct kallsyms *kallsyms__parse(const char *buf, size_t len);

void kallsyms__free(struct kallsyms *k);

/*
 * Symbol covering @addr (up to the next symbol) or NULL. *@module gets "[kernel]" or
 * "[modname]" when the address is inside the kernel's symbol range, NULL otherwise.
 */
const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *offset,
			     const char **module);

size_t kallsyms__count(const struct kallsyms *k);
/* The memory its table holds, in bytes (0 for NULL). */
size_t kallsyms__mem_bytes(const struct kallsyms *k);

/* ---- ksym.c: kernel names from the kernel (bpf_snprintf %pS) ---- */

struct ksym;

/* Load the BPF helper program. NULL with errno set when BPF cannot be used (the
 * symbolizer then reads /proc/kallsyms). */
struct ksym *ksym__new(void);
void ksym__free(struct ksym *k);

/*
 * Name kernel address @addr: *@name (valid until the next call), *@offset from the
 * symbol, *@module "[kernel]" or "[modname]". @return 0, -ENOENT when no symbol
 * covers it, or a negative errno.
 */
int ksym__resolve(struct ksym *k, uint64_t addr, const char **name, uint64_t *offset,
		  const char **module);
/* How many addresses were asked of the kernel (the rest were answered from the cache). */
uint64_t ksym__asks(const struct ksym *k);
/* The memory its cache holds, in bytes (0 for NULL). */
size_t ksym__mem_bytes(const struct ksym *k);

/* ---- inline.c ---- */

#define SYMBOLIZER_MAX_INLINE 32

/* DWARF of one file, for inline frames. */
struct inline_dwarf;

/* Open the DWARF of @debug_path when given and readable, else of the file on @fd
 * (duplicated, not consumed). NULL when neither has .debug_info. */
struct inline_dwarf *inline_dwarf__open(int fd, const char *debug_path);
void inline_dwarf__free(struct inline_dwarf *d);
/* Names of the inlined subroutines containing @vaddr, innermost first.
 * @return how many (<= @max). Names live as long as @d. */
int inline_dwarf__frames(struct inline_dwarf *d, uint64_t vaddr, const char **names,
			 size_t max);

/* ---- vdso.c: the vDSO's ELF image, as a file ---- */

#define VDSO_MAX_IMAGES 4 /* 64-bit, 32-bit, x32: more is not a vDSO */

struct vdso_image {
	uint8_t *data;
	size_t size;
	int fd; /* a sealed memfd holding data */
};

struct vdso_cache {
	struct vdso_image img[VDSO_MAX_IMAGES];
	size_t n;
	bool own_tried;
	int own; /* index of smolder's own vDSO, or -1 */
	int own_bid_len; /* its build-id's length; -1 until read */
	uint8_t own_bid[DEBUGINFO_BUILD_ID_MAX];
};

void vdso_cache__init(struct vdso_cache *v);
void vdso_cache__release(struct vdso_cache *v);

/*
 * Open the image of the vDSO that @pid maps at [@start, @end): smolder's own when it
 * is the same, else read from the target's memory (kept for other processes with the
 * same image). @return a read-only descriptor the caller closes, or a negative errno
 * (-ENOEXEC: not a plausible vDSO, -ENOSPC: too many distinct images, or why the
 * target's memory could not be read).
 */
int vdso_cache__open(struct vdso_cache *v, pid_t pid, uint64_t start, uint64_t end);

/*
 * The build-id of the image vdso_cache__open would give for a vDSO mapped at
 * [@start, @end) when that is smolder's own (every 64-bit process's), into @out of
 * @cap bytes, without opening anything: a new process's vDSO is known at no cost.
 * @return its length, or 0 when the image would be read from the target.
 */
int vdso_cache__own_build_id(struct vdso_cache *v, uint64_t start, uint64_t end,
			     uint8_t *out, size_t cap);

/* ---- symbolizer.c ---- */

/* Read kernel symbols from @path instead of /proc/kallsyms or the kernel's own lookup
 * (tests). Drops what was loaded. @return 0 or -ENOMEM. */
int symbolizer__set_kallsyms_path(struct symbolizer *s, const char *path);

#endif /* SMOLDER_SYMBOLIZER_INT_H */
