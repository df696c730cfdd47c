/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer.h - turn sampled addresses into names.
 *
 * User addresses are resolved through /proc/PID/maps to a mapped ELF file, then,
 * after removing the mapping's load bias, through the file's .symtab and .dynsym.
 * Kernel addresses are resolved through /proc/kallsyms. ELF symbol tables are parsed
 * once per file and cached (bounded, LRU); each process's mappings are read at its
 * first address and re-read when an address falls outside them (dlopen).
 *
 * Error contract: int functions return 0 or a negative errno; pointer functions return
 * NULL with errno set. Strings in a struct symbol stay valid until the next call on
 * the same symbolizer that may evict (resolve/forget) - copy them to keep them.
 *
 * A repeated address of a known process is answered from caches without a system
 * call. An address outside every known mapping re-reads the process's maps, rate
 * limited per process (bursts of 4, then at most 10 reads a second), so a dlopen is
 * seen at once and wild addresses stay cheap. A symbolizer is not thread-safe.
 */
#ifndef SMOLDER_SYMBOLIZER_H
#define SMOLDER_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;
struct elf_symtab;

/*
 * What an address resolved to. Names are raw (C++ names still mangled). Among aliases
 * of one address the public name wins ("getpid", not "__getpid").
 */
struct symbol {
	const char *name;   /* function name, or NULL when no symbol covers the address;
			       for a pseudo mapping its bracketed name ("[vdso]") */
	uint64_t offset;    /* address - symbol start (when name != NULL) */
	const char *module; /* mapped file path as the process sees it (without
			       " (deleted)"), "[vdso]"-like pseudo names, "[anon]" for
			       anonymous code (JIT), "[kernel]" or "[module]"; NULL if
			       the address is in no known mapping */
	uint64_t module_offset; /* user file: the ELF vaddr ("[libc.so.6+0xOFF]"), or the
				   file offset when the file could not be read; pseudo and
				   anonymous mappings: address - mapping start; kernel:
				   the address itself */
};

struct symbolizer_opts {
	size_t max_elf_files;  /* ELF symbol tables kept parsed; 0: 256 */
	size_t max_processes;  /* processes whose mappings are kept; 0: 4096 */
};

/* @opts may be NULL for defaults. @return the symbolizer, or NULL with errno set. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);
void symbolizer__free(struct symbolizer *s);

/*
 * Resolve user address @addr in process @pid into @out. Mappings read before the
 * process exited keep resolving its addresses until it is forgotten or evicted.
 * @return 0 (out->name may still be NULL: see struct symbol), -ESRCH when the process
 * is gone and its mappings were never read, or another negative errno (-EACCES when
 * its maps are not readable).
 */
int symbolizer__resolve_user(struct symbolizer *s, pid_t pid, uint64_t addr,
			     struct symbol *out);

/*
 * Resolve kernel address @addr through /proc/kallsyms (read once, at first use).
 * @return 0 (out->name may be NULL), -EPERM when kallsyms hides addresses
 * (kptr_restrict), or another negative errno if it is unreadable; a failure is
 * remembered and returned again without re-reading.
 */
int symbolizer__resolve_kernel(struct symbolizer *s, uint64_t addr, struct symbol *out);

/* Read and cache @pid's mappings now (before it may exit), replacing what was cached;
 * on failure the old mappings stay. @return 0, -ESRCH or another negative errno. */
int symbolizer__load_process(struct symbolizer *s, pid_t pid);

/* Drop what is cached for @pid (it exited, exec'd, or its pid may be reused: the
 * symbolizer cannot tell an exec from the cached mappings). */
void symbolizer__forget_process(struct symbolizer *s, pid_t pid);

/* ---- mappings, for the unwinder ---- */

/* An executable file mapping of a process. */
struct symbolizer_mapping {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;      /* file offset mapped at start */
	uint64_t dev, inode; /* identity of the mapped file */
	const char *path;    /* as /proc/PID/maps shows it; valid until the next call */
	int index;           /* internal: which mapping, for symbolizer__open_mapping */
};

/*
 * The executable file mapping of @pid that contains @addr (maps are re-read, within
 * the rate limit, when no known mapping does).
 * @return 0, -ENOENT when no file mapping contains @addr (anonymous or JIT code),
 * -ESRCH when the process is gone and was never read, or another negative errno.
 */
int symbolizer__find_mapping(struct symbolizer *s, pid_t pid, uint64_t addr,
			     struct symbolizer_mapping *out);

/*
 * Open the file behind @m (from symbolizer__find_mapping of the same @pid, with no
 * symbolizer call in between) as the process sees it: through /proc/PID/root, or
 * /proc/PID/map_files for deleted files. @return a file descriptor the caller
 * closes, or a negative errno.
 */
int symbolizer__open_mapping(struct symbolizer *s, pid_t pid,
			     const struct symbolizer_mapping *m);

/* ---- one ELF file's symbol table (used by the symbolizer, exposed for tests) ---- */

/* Parse @path's function symbols (STT_FUNC, STT_GNU_IFUNC and untyped global symbols
 * in code, from .symtab and .dynsym, merged). NULL + errno on error (ENOENT, EACCES,
 * ENOEXEC for a file that is not a valid, complete ELF executable or shared object). */
struct elf_symtab *elf_symtab__open(const char *path);
void elf_symtab__free(struct elf_symtab *t);

/* Function covering ELF virtual address @vaddr, or NULL; *@offset gets vaddr - start. */
const char *elf_symtab__lookup(const struct elf_symtab *t, uint64_t vaddr, uint64_t *offset);

/*
 * Convert @addr in a mapping [start, ..) of the file at file offset @pgoff into the
 * file's ELF virtual address, using the PT_LOAD segment that maps that offset (this is
 * where the load bias of PIE executables and shared libraries is removed).
 * @return 0, or -ENOENT when no PT_LOAD segment covers @pgoff.
 */
int elf_symtab__to_vaddr(const struct elf_symtab *t, uint64_t start, uint64_t pgoff,
			 uint64_t addr, uint64_t *vaddr);

#endif /* SMOLDER_SYMBOLIZER_H */
