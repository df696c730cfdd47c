/* SPDX-License-Identifier: Apache-2.0 */
/*
 * symbolizer.h - turn sampled addresses into names.
 *
 * User addresses are resolved through /proc/PID/maps to a mapped ELF file, then,
 * after removing the mapping's load bias, through the symbols of every source the file
 * has, merged (the vDSO counts as a file: its image is read from memory): its .symtab and .dynsym, its MiniDebugInfo (.gnu_debugdata), and a
 * separate debug file found by build-id (DIR/.build-id/xx/rest.debug) or by
 * .gnu_debuglink (checked by CRC) under the debug directories, or in the debuginfod
 * client's cache. Addresses in anonymous executable memory are looked up in the
 * process's JIT map (/tmp/perf-PID.map, read inside the process's mount namespace and
 * re-read as it grows). Kernel addresses are named by the kernel itself (a BPF program
 * calling bpf_snprintf's %pS) where BPF can be loaded, else through /proc/kallsyms.
 *
 * Files are identified by build-id, not by path: a process's mapped files are opened
 * (through /proc/PID/root, or /proc/PID/map_files when deleted) when its mappings are
 * first read, which is also when a file not yet parsed is kept open, so a process that
 * exits, or whose binary is deleted or replaced on disk, still symbolizes. ELF tables
 * are cached per build-id (LRU, bounded by count and by bytes); each process's
 * mappings are read at its first address and re-read when an address falls outside
 * them (dlopen).
 *
 * Network: debuginfod is never used unless symbolizer_opts.debuginfod is set, which
 * only tools that are not on a sampling path should do (`smolder symbolize`): a fetch
 * blocks for up to its timeout. The agent leaves it off and may call
 * symbolizer__debuginfod_fetch from a background thread; what that puts in the
 * debuginfod cache is found by later parses without network access.
 *
 * Error contract: int functions return 0 or a negative errno; pointer functions return
 * NULL with errno set. Strings in a struct symbol stay valid until the next call on
 * the same symbolizer that may evict (resolve, load_process, inline_frames, forget) -
 * copy them to keep them.
 *
 * A repeated address of a known process is answered from caches without a system
 * call. An address outside every known mapping re-reads the process's maps, rate
 * limited per process (bursts of 4, then at most 10 reads a second), so a dlopen is
 * seen at once and wild addresses stay cheap. A symbolizer is not thread-safe.
 */
#ifndef SMOLDER_SYMBOLIZER_H
#define SMOLDER_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;
struct elf_symtab;

/* Where a symbol came from (struct symbol.kind). */
enum symbol_kind {
	SYMBOL_NATIVE = 0, /* an ELF file's symbols (or a pseudo mapping's name) */
	SYMBOL_JIT = 1,    /* a JIT's perf map: the frame is JIT/interpreted code */
	SYMBOL_KERNEL = 2, /* kallsyms */
	SYMBOL_INLINED = 3 /* a function inlined at the address (symbolizer__inline_frames) */
};

/*
 * What an address resolved to. Names are demangled (C++, Rust) unless
 * symbolizer_opts.raw_names is set. Among aliases of one address the public name wins
 * ("getpid", not "__getpid").
 */
struct symbol {
	const char *name;   /* function name, or NULL when no symbol covers the address;
			       in a pseudo mapping without one its bracketed name
			       ("[vdso]", "[vsyscall]") */
	uint64_t offset;    /* address - symbol start (when name != NULL) */
	const char *module; /* mapped file path as the process sees it (without
			       " (deleted)"), "[vdso]"-like pseudo names, "[anon]" for
			       anonymous code (JIT), "[kernel]" or "[module]"; NULL if
			       the address is in no known mapping */
	uint64_t module_offset; /* user file: the ELF vaddr ("[libc.so.6+0xOFF]"), or the
				   file offset when the file could not be read; pseudo and
				   anonymous mappings: address - mapping start; kernel:
				   the address itself */
	enum symbol_kind kind;  /* SYMBOL_JIT for a name from a perf map: the collector
				   marks such frames FRAME_JIT */
	bool from_table;        /* a user file's symbol table was read for the answer
				   (a name from it, or none covering the address): the
				   same answer for any process that maps the file, unlike
				   a file that could not be read (now) */
};

struct symbolizer_opts {
	size_t max_elf_files;  /* ELF symbol tables kept parsed; 0: 256 */
	size_t max_processes;  /* processes whose mappings are kept; 0: 4096 */
	size_t max_bytes;      /* memory limit of the parsed ELF tables (LRU eviction
				  past it; one table larger than the limit is still kept
				  while used); 0: 256 MiB. JIT maps are bounded per
				  process (PERFMAP_MAX_ENTRIES/_BYTES) */
	const char *const *debug_dirs; /* roots of separate debug files, tried in order;
					  NULL: $SMOLDER_DEBUG_DIRS (colon-separated)
					  if set, else { "/usr/lib/debug" } */
	size_t ndebug_dirs;
	bool raw_names;        /* keep mangled names (no C++/Rust demangling) */
	bool no_jit;           /* do not read /tmp/perf-PID.map files */
	bool debuginfod;       /* fetch missing debug files through libdebuginfod when
				  DEBUGINFOD_URLS is set: blocks up to the timeout, so
				  never on a sampling path */
	unsigned debuginfod_timeout_ms; /* 0: 10 s */
	bool inline_frames;    /* keep DWARF (libdw) open for symbolizer__inline_frames */
	bool maps_from_text;   /* read /proc/PID/maps as text even where the kernel
				  answers PROCMAP_QUERY (Linux 6.11+), as older ones do */
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
 * Resolve kernel address @addr: by the kernel's own symbol lookup through a small BPF
 * program when one can be loaded (root or CAP_BPF), else through /proc/kallsyms (read
 * once, at first use). @return 0 (out->name may be NULL), -EPERM when kallsyms hides
 * addresses (kptr_restrict), or another negative errno if it is unreadable; a
 * failure is remembered and returned again without re-reading.
 */
int symbolizer__resolve_kernel(struct symbolizer *s, uint64_t addr, struct symbol *out);

/*
 * Read and cache @pid's mappings now (before it may exit), replacing what was cached,
 * and capture the identity (build-id) of each mapped file, keeping files not yet
 * parsed open so they can be parsed after the process has gone. Call it at a process's
 * first sample (resolve_user and mapping_at do the same implicitly for a process
 * they have not seen), and at exec. On failure the old mappings stay.
 * @return 0, -ESRCH or another negative errno.
 */
int symbolizer__load_process(struct symbolizer *s, pid_t pid);

/*
 * Inline frames at user address @addr of @pid, from the DWARF of the file or of its
 * debug file (needs symbolizer_opts.inline_frames). @out[0] is the innermost inlined
 * function, each next one its caller's inlined caller; the function that contains
 * them all is what symbolizer__resolve_user returns. Each entry has kind
 * SYMBOL_INLINED, offset 0 and the module of the address; perf shows them as
 * "NAME (inlined)". Strings are valid as for struct symbol.
 * @return the number of entries (0: none, or no DWARF), or a negative errno.
 */
int symbolizer__inline_frames(struct symbolizer *s, pid_t pid, uint64_t addr,
			      struct symbol *out, size_t max);

/* Cache statistics, for `smolder info` and the agent's metrics. */
struct symbolizer_stats {
	size_t elf_files;      /* ELF tables cached (parsed or waiting, open, to be) */
	size_t elf_bytes;      /* their memory */
	size_t jit_maps;       /* processes with a perf map read */
	size_t jit_bytes;
	size_t processes;      /* processes whose mappings are cached */
	size_t bytes;          /* everything above, the address cache, the mappings
				  followed from the kernel and the kernel's names */
	uint64_t lookups;      /* resolve_user calls */
	uint64_t hits;         /* ... answered from the address cache */
	double hit_rate;       /* hits / lookups (0 when there were none) */
	uint64_t elf_parses;   /* ELF tables parsed */
	uint64_t elf_evictions;
	uint64_t debug_files;  /* parses that found a separate debug file or MiniDebugInfo */
	uint64_t ident_kernel; /* mapped files known by the build-id the kernel gave
				  with the mappings (PROCMAP_QUERY), not opened */
	uint64_t ident_hits;   /* mapped files identified from the identity cache (a stat) */
	uint64_t ident_misses; /* ... that had to be opened and their build-id read (the
				  vDSO, no file, is none of these) */
	uint64_t maps_pushed;  /* process mappings loaded from the kernel's mmap records */
	uint64_t maps_read;    /* ... read from /proc */
	size_t pushed_processes; /* processes followed by mmap records */
	size_t pushed_bytes;     /* their memory (in bytes above) */
	uint64_t pushed_evictions; /* followed processes dropped by the count bound */
	uint64_t kernel_asks;  /* kernel addresses asked of the kernel (BPF): once per
				  distinct address, the rest are cached */
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out);

/*
 * Fetch the debug file of @build_id through libdebuginfod (DEBUGINFOD_URLS) into its
 * cache, waiting at most @timeout_ms; later parses of files with that build-id find it
 * there. Touches no symbolizer: safe to call from another thread.
 * @return 0, -ENOENT (not found, or DEBUGINFOD_URLS unset), -ENOSYS (libdebuginfod.so.1,
 * loaded at the first call, is not installed), or another negative errno.
 */
int symbolizer__debuginfod_fetch(const uint8_t *build_id, size_t len, unsigned timeout_ms);

/* Drop what is cached for @pid (it exited, exec'd, or its pid may be reused: the
 * symbolizer cannot tell an exec from the cached mappings). */
void symbolizer__forget_process(struct symbolizer *s, pid_t pid);

/*
 * ---- mappings as the kernel reports them ----
 *
 * The kernel can report each executable mapping as it is made, with the file's
 * build-id, and each fork and exec (perf MMAP2, FORK and COMM records; the agent reads
 * them). Told of them in the order they happened, the symbolizer follows every process
 * that forked or exec'd since, and loads such a process at its first sample from what
 * it was told instead of from /proc/PID/maps: no system call for a new process, and
 * right even when it has exited by then. A process it was not told of from its start
 * is read from /proc as before, and followed from then on. The table is bounded by
 * --max-memory's process count, least recently changed out first.
 */
struct symbolizer_mmap {
	uint64_t start, len, pgoff;
	uint64_t dev, inode;   /* 0 when the kernel gave a build-id instead */
	const char *path;      /* as the record has it; "//anon" for anonymous memory */
	size_t path_len;
	const uint8_t *build_id;
	size_t build_id_len;   /* 0: none given */
};
/* The records are read from now on (and told in order): a process read from /proc
 * is followed from then. With @all, every process alive now is read at once, so that
 * the processes they fork are followed too. */
void symbolizer__note_start(struct symbolizer *s, bool all);
/* @child was forked from @parent (not for a new thread). */
void symbolizer__note_fork(struct symbolizer *s, pid_t parent, pid_t child);
/* @pid exec'd a new program: its mappings start empty. */
void symbolizer__note_exec(struct symbolizer *s, pid_t pid);
/* @pid mapped @m, executable. */
void symbolizer__note_mmap(struct symbolizer *s, pid_t pid, const struct symbolizer_mmap *m);
/* Records were lost: nothing told before is complete, so all of it is dropped. */
void symbolizer__note_lost(struct symbolizer *s);

/* Free every process's mappings and every parsed ELF table (not counted as
 * evictions): what is resolved later reads them again. A recording calls it before
 * it writes its output, which needs memory of its own. */
void symbolizer__drop_caches(struct symbolizer *s);

/* ---- mappings, for the unwinder ---- */

#define SYMBOLIZER_BUILD_ID_MAX 64
#define SYMBOLIZER_PATH_MAX 4096

/*
 * An executable mapping of a process with an ELF image behind it: a mapped file, or
 * the vDSO (path "[vdso]", dev and inode 0, identified by its build-id; the image is
 * offered as a file too). It holds copies only, so it stays valid whatever is called
 * on the symbolizer next.
 */
struct symbolizer_mapping {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;      /* file offset mapped at start */
	uint64_t dev, inode; /* identity of the mapped file; 0 for the vDSO */
	char path[SYMBOLIZER_PATH_MAX]; /* as /proc/PID/maps shows it, without
					   " (deleted)"; cut to fit, NUL-terminated */
	uint8_t build_id[SYMBOLIZER_BUILD_ID_MAX]; /* GNU build-id of the image, when read */
	size_t build_id_len; /* 0: not known (no note, or the file could not be read) */
};

/*
 * The facts of the mapping of @pid that contains @addr and has an ELF image, into
 * @out, without opening anything: what a caller that caches images by build-id (the
 * unwinder) needs on every sample. Maps are re-read, within the rate limit, when no
 * known mapping contains @addr.
 * @return 0, -ENOENT when no mapping with an ELF image contains @addr (anonymous or
 * JIT code), -ESRCH when the process is gone and was never read, or another negative
 * errno.
 */
int symbolizer__mapping_at(struct symbolizer *s, pid_t pid, uint64_t addr,
			   struct symbolizer_mapping *out);

/*
 * Open the ELF image mapped at @addr in @pid as the process sees it (through
 * /proc/PID/root, or /proc/PID/map_files for a deleted file; for the vDSO a copy of
 * its image in memory), and describe that mapping in @out as symbolizer__mapping_at
 * does. The descriptor is the caller's to
 * close; read it with pread or mmap. It stays valid after the process exits; @out
 * describes the image opened even if the process's maps changed since an earlier
 * symbolizer__mapping_at (each call stands alone: nothing carries over between them).
 * @return the file descriptor, or a negative errno as symbolizer__mapping_at, or from
 * opening the file (-ENOENT, -EACCES).
 */
int symbolizer__open_mapping_at(struct symbolizer *s, pid_t pid, uint64_t addr,
				struct symbolizer_mapping *out);

/*
 * The GNU build-id of the ELF file at @path (e.g. /proc/PID/exe) as lowercase hex,
 * NUL-terminated, into @hex of @size bytes (2 * SYMBOLIZER_BUILD_ID_MAX + 1 is always
 * enough). @return the build-id's length in bytes, 0 when the file has none, or a
 * negative errno (-ENOSPC when @hex is too small).
 */
int symbolizer__read_build_id(const char *path, char *hex, size_t size);

/* ---- one ELF file's symbol table (used by the symbolizer, `smolder symbolize --elf`
 * and tests) ---- */

/* Parse @path's function symbols (STT_FUNC, STT_GNU_IFUNC and untyped global symbols
 * in code, from .symtab, .dynsym and MiniDebugInfo, merged), plus "name@plt" for x86
 * PLT stubs no symbol covers (from .rela.plt / .rel.plt and the GLOB_DAT slots
 * .plt.got uses, as perf and objdump name them). No separate debug file is looked
 * for. NULL + errno on error (ENOENT, EACCES, ENOEXEC for a file that is not
 * a valid, complete ELF executable or shared object). */
struct elf_symtab *elf_symtab__open(const char *path);

/* Sources of a table's symbols (elf_symtab__sources). */
enum {
	ELF_SRC_SYMTAB = 1 << 0,        /* the file's own .symtab */
	ELF_SRC_DYNSYM = 1 << 1,        /* the file's own .dynsym */
	ELF_SRC_MINIDEBUG = 1 << 2,     /* .gnu_debugdata */
	ELF_SRC_DEBUG_BUILDID = 1 << 3, /* DIR/.build-id/xx/rest.debug */
	ELF_SRC_DEBUGLINK = 1 << 4,     /* .gnu_debuglink, CRC checked */
	ELF_SRC_DEBUGINFOD = 1 << 5,    /* debuginfod's cache, or fetched */
};

struct elf_symtab_opts {
	const char *const *debug_dirs; /* NULL: { "/usr/lib/debug" } */
	size_t ndebug_dirs;
	bool no_debug_files;           /* do not look for a separate debug file */
	bool debuginfod;               /* may fetch (DEBUGINFOD_URLS); blocks */
	unsigned debuginfod_timeout_ms; /* 0: 10 s */
};

/* elf_symtab__open, also merging a separate debug file found as @opts says (by
 * build-id, then .gnu_debuglink beside @path, in its .debug/ and under each debug
 * dir, then debuginfod). */
struct elf_symtab *elf_symtab__open_opts(const char *path, const struct elf_symtab_opts *opts);
void elf_symtab__free(struct elf_symtab *t);

/* Function covering ELF virtual address @vaddr, or NULL; *@offset gets vaddr - start.
 * The name is raw (mangled). */
const char *elf_symtab__lookup(const struct elf_symtab *t, uint64_t vaddr, uint64_t *offset);

/*
 * Function covering @vaddr with its name demangled (C++, Rust) when @demangle; the
 * demangled name is computed once and kept with @t, which is why @t is not const.
 * NULL when no symbol covers @vaddr.
 */
const char *elf_symtab__resolve(struct elf_symtab *t, uint64_t vaddr, uint64_t *offset,
				bool demangle);

/* The file's GNU build-id (owned by @t), or NULL with *@len = 0 when it has none. */
const uint8_t *elf_symtab__build_id(const struct elf_symtab *t, size_t *len);
/* ELF_SRC_* flags of the sources that gave symbols. */
unsigned elf_symtab__sources(const struct elf_symtab *t);
/* Path of the separate debug file that was merged, or NULL. */
const char *elf_symtab__debug_path(const struct elf_symtab *t);
/* Memory held by the table. */
size_t elf_symtab__mem_bytes(const struct elf_symtab *t);

/*
 * Convert @addr in a mapping [start, ..) of the file at file offset @pgoff into the
 * file's ELF virtual address, using the PT_LOAD segment that maps that offset (this is
 * where the load bias of PIE executables and shared libraries is removed).
 * @return 0, or -ENOENT when no PT_LOAD segment covers @pgoff.
 */
int elf_symtab__to_vaddr(const struct elf_symtab *t, uint64_t start, uint64_t pgoff,
			 uint64_t addr, uint64_t *vaddr);

#endif /* SMOLDER_SYMBOLIZER_H */
