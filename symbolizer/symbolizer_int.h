/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer_int.h - interfaces between the symbolizer's own files (ELF symbol tables,
 * /proc/PID/maps, kallsyms, the caches). Not part of the module's public API: tests and
 * fuzz harnesses include it to reach the parsers with in-memory input.
 *
 * Same error contract as symbolizer.h: 0 / negative errno, NULL + errno.
 */
#ifndef SMOLDER_SYMBOLIZER_INT_H
#define SMOLDER_SYMBOLIZER_INT_H

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

/* The executable mappings of a process, sorted by start and not overlapping. */
struct proc_maps {
	struct proc_mapping *maps;
	size_t n;
	char *strs; /* path arena */
	size_t strs_len;
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

void proc_maps__release(struct proc_maps *m);

/* Mapping containing @addr, or NULL. */
const struct proc_mapping *proc_maps__find(const struct proc_maps *m, uint64_t addr);

static inline const char *proc_mapping__path(const struct proc_maps *m,
					     const struct proc_mapping *pm)
{
	return m->strs + pm->path_off;
}

#define PROC_MAPS_MAX_BYTES (64u << 20) /* a process with ~1M mappings; more is junk */
#define PROC_MAPS_MAX_MAPPINGS (1u << 20)

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

/* ---- symbolizer.c ---- */

/* Read kernel symbols from @path instead of /proc/kallsyms (tests). Drops what was
 * loaded. @return 0 or -ENOMEM. */
int symbolizer__set_kallsyms_path(struct symbolizer *s, const char *path);

#endif /* SMOLDER_SYMBOLIZER_INT_H */
