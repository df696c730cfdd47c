/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_symbolizer.c - the symbolizer against real processes and real files: the
 * symtab_fixture programs (PIE and non-PIE) started as children, their ELF files,
 * Debian's libc/ld.so/libm, this kernel's /proc/kallsyms, and malformed copies of the
 * fixture for the parser's error paths. No mocks: what is asserted is what a profiler
 * would print.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture_proc.h"
#include "pool.h"
#include "symbolizer.h"
#include "symbolizer_int.h"

#define FIXTURE_PIE FIXTURES_DIR "/symtab_fixture_pie"
#define FIXTURE_NOPIE FIXTURES_DIR "/symtab_fixture_nopie"

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

static void assert_resolves(struct symbolizer *s, pid_t pid, uint64_t addr,
			    const char *name, uint64_t offset, const char *module_suffix)
{
	struct symbol sym;

	assert_int_equal(symbolizer__resolve_user(s, pid, addr, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, name);
	assert_int_equal(sym.offset, offset);
	assert_non_null(sym.module);
	if (!ends_with(sym.module, module_suffix))
		fail_msg("module %s does not end with %s", sym.module, module_suffix);
}

/* Value of symbol @name in @path's .symtab, and the executable PT_LOAD (read with
 * libelf directly, independently of the code under test). */
struct elf_facts {
	uint64_t sym_value;
	uint64_t text_offset, text_vaddr, text_filesz;
	int e_type;
};

static void elf_facts(const char *path, const char *name, struct elf_facts *ef)
{
	size_t phnum, i;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	Elf *e;
	int fd;

	memset(ef, 0, sizeof(*ef));
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	assert_non_null(gelf_getehdr(e, &eh));
	ef->e_type = eh.e_type;
	assert_int_equal(elf_getphdrnum(e, &phnum), 0);
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		assert_non_null(gelf_getphdr(e, (int)i, &ph));
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			ef->text_offset = ph.p_offset;
			ef->text_vaddr = ph.p_vaddr;
			ef->text_filesz = ph.p_filesz;
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		assert_non_null(gelf_getshdr(scn, &sh));
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			gelf_getsym(d, (int)i, &sym);
			if (!strcmp(elf_strptr(e, sh.sh_link, sym.st_name), name))
				ef->sym_value = sym.st_value;
		}
	}
	elf_end(e);
	close(fd);
	assert_true(ef->sym_value != 0);
	assert_true(ef->text_filesz != 0);
}

static char *read_whole(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Write @len bytes to a new temp file; @return its path (static buffer per call site). */
static void write_temp(char *path, size_t pathsz, const void *buf, size_t len)
{
	int fd;

	snprintf(path, pathsz, "/tmp/smolder_test_symbolizer_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void assert_open_fails_enoexec(const char *path)
{
	struct elf_symtab *t;

	errno = 0;
	t = elf_symtab__open(path);
	if (t)
		fail_msg("%s parsed (%zu symbols) but should be refused", path,
			 elf_symtab__count(t));
	assert_int_equal(errno, ENOEXEC);
}

/* A symbolizer with the defaults and a running PIE fixture. */
static struct symbolizer *new_with_fixture(struct fixture *f)
{
	struct symbolizer *s = symbolizer__new(NULL);

	assert_non_null(s);
	fixture_start(f, FIXTURE_PIE);
	return s;
}

/* ---- user space: PIE, non-PIE, libc ---- */

static void test_resolve_user_pie_removes_load_bias(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;
	struct elf_facts ef;
	struct symbol sym;
	uint64_t alpha;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
	elf_facts(FIXTURE_PIE, "smolder_fixture_alpha", &ef);
	assert_int_equal(ef.e_type, ET_DYN);

	assert_resolves(s, f.pid, alpha + 4, "smolder_fixture_alpha", 4, "/symtab_fixture_pie");
	/* Same address again: the answer from the address cache is the same. */
	assert_resolves(s, f.pid, alpha + 4, "smolder_fixture_alpha", 4, "/symtab_fixture_pie");
	assert_int_equal(symbolizer__resolve_user(s, f.pid, alpha + 4, &sym), 0);
	/* module_offset is the file's vaddr: the runtime address minus the load bias. */
	assert_int_equal(sym.module_offset, ef.sym_value + 4);
	assert_true(sym.module_offset != alpha + 4);
	/* A file-local function exists only in .symtab. */
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_fixture_beta") + 2,
			"smolder_fixture_beta", 2, "/symtab_fixture_pie");
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_fixture_gamma"),
			"smolder_fixture_gamma", 0, "/symtab_fixture_pie");
	assert_resolves(s, f.pid, fixture_addr(&f, "main") + 1, "main", 1, "/symtab_fixture_pie");

	fixture_stop(&f);
	symbolizer__free(s);
}

static void test_resolve_user_nopie_function(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;
	struct elf_facts ef;
	struct symbol sym;
	uint64_t gamma;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_NOPIE);
	elf_facts(FIXTURE_NOPIE, "smolder_fixture_gamma", &ef);
	assert_int_equal(ef.e_type, ET_EXEC);
	gamma = fixture_addr(&f, "smolder_fixture_gamma");

	assert_resolves(s, f.pid, gamma + 8, "smolder_fixture_gamma", 8, "/symtab_fixture_nopie");
	assert_int_equal(symbolizer__resolve_user(s, f.pid, gamma + 8, &sym), 0);
	/* No load bias for ET_EXEC: the file vaddr is the runtime address. */
	assert_int_equal(sym.module_offset, gamma + 8);
	assert_int_equal(ef.sym_value, gamma);
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_fixture_beta") + 3,
			"smolder_fixture_beta", 3, "/symtab_fixture_nopie");

	fixture_stop(&f);
	symbolizer__free(s);
}

static void test_resolve_user_libc_function(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	/* Debian's libc has only .dynsym, where getpid is a weak alias of __getpid: the
	 * public name is the one reported. */
	assert_resolves(s, f.pid, fixture_addr(&f, "getpid") + 4, "getpid", 4, "/libc.so.6");
	assert_resolves(s, f.pid, fixture_addr(&f, "__tls_get_addr") + 1, "__tls_get_addr", 1,
			"/ld-linux-x86-64.so.2");
	fixture_stop(&f);
	symbolizer__free(s);
}

static void test_resolve_user_vdso_is_named(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;
	struct symbol sym;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	assert_int_equal(symbolizer__resolve_user(s, f.pid, fixture_addr(&f, "vdso") + 0x10,
						  &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "[vdso]");
	assert_string_equal(sym.module, "[vdso]");
	assert_int_equal(sym.module_offset, 0x10);
	fixture_stop(&f);
	symbolizer__free(s);
}

/* The vDSO is no file, but its functions are named like a library's, from its image. */
static void test_resolve_user_names_vdso_functions(void **state)
{
	struct symbolizer *s;
	struct fixture f;
	struct symbol sym;
	uint64_t fn;

	(void)state;
	s = new_with_fixture(&f);
	fn = fixture_addr(&f, "__vdso_clock_gettime");
	assert_int_equal(symbolizer__resolve_user(s, f.pid, fn + 3, &sym), 0);
	assert_non_null(sym.name);
	/* The __vdso_ name, not its public alias, which would read like libc's wrapper. */
	assert_string_equal(sym.name, "__vdso_clock_gettime");
	assert_int_equal(sym.offset, 3);
	assert_string_equal(sym.module, "[vdso]");
	assert_int_equal(sym.kind, SYMBOL_NATIVE);
	/* The vDSO is linked at 0: its ELF addresses are offsets into the mapping. */
	assert_int_equal(sym.module_offset, fn + 3 - fixture_addr(&f, "vdso"));
	fixture_stop(&f);
	symbolizer__free(s);
}

/* The unwinder gets the vDSO's image as a file: the same bytes every 64-bit process
 * maps, smolder's own among them. */
static void test_open_mapping_at_gives_the_vdso_image(void **state)
{
	const uint8_t *own = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	struct symbolizer *s;
	struct symbolizer_mapping m;
	uint8_t bid[SYMBOLIZER_BUILD_ID_MAX];
	struct fixture f;
	uint8_t *image;
	struct stat st;
	int fd, n;

	(void)state;
	assert_non_null(own);
	s = new_with_fixture(&f);
	fd = symbolizer__open_mapping_at(s, f.pid, fixture_addr(&f, "__vdso_clock_gettime"), &m);
	assert_true(fd >= 0);
	assert_string_equal(m.path, "[vdso]");
	assert_int_equal(m.start, fixture_addr(&f, "vdso"));
	assert_int_equal(m.pgoff, 0);
	assert_int_equal(m.inode, 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, m.end - m.start);
	image = malloc((size_t)st.st_size);
	assert_non_null(image);
	assert_int_equal(pread(fd, image, (size_t)st.st_size, 0), st.st_size);
	assert_memory_equal(image, own, (size_t)st.st_size);
	/* Identified by its build-id, as files are. */
	n = elf_read_build_id_fd(fd, bid, sizeof(bid));
	assert_true(n > 0);
	assert_int_equal(m.build_id_len, (size_t)n);
	assert_memory_equal(m.build_id, bid, (size_t)n);
	/* Read-only: the image is shared by every caller. */
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	close(fd);
	free(image);
	assert_int_equal(symbolizer__mapping_at(s, f.pid, m.start + 1, &m), 0);
	assert_string_equal(m.path, "[vdso]");
	fixture_stop(&f);
	symbolizer__free(s);
}

/* A vDSO unlike smolder's own (here: a range of another size) is read from the
 * target's memory, and kept once for every process that has it. */
/* A 64-bit process's vDSO is smolder's own image: its build-id is known without
 * opening anything, and is the one the opened image has. */
static void test_vdso_cache_knows_its_own_build_id(void **state)
{
	uint8_t want[DEBUGINFO_BUILD_ID_MAX], got[DEBUGINFO_BUILD_ID_MAX];
	struct vdso_cache v;
	struct fixture f;
	uint64_t start, end;
	int fd, n;

	(void)state;
	fixture_start(&f, FIXTURE_PIE);
	start = fixture_addr(&f, "vdso");
	end = 0;
	{
		struct proc_maps m;
		const struct proc_mapping *pm;

		assert_int_equal(proc_maps__read(f.pid, &m), 0);
		pm = proc_maps__find(&m, start);
		assert_non_null(pm);
		end = pm->end;
		proc_maps__release(&m);
	}
	vdso_cache__init(&v);
	n = vdso_cache__own_build_id(&v, start, end, got, sizeof(got));
	assert_true(n > 0);
	fd = vdso_cache__open(&v, f.pid, start, end);
	assert_true(fd >= 0);
	assert_int_equal(elf_read_build_id_fd(fd, want, sizeof(want)), n);
	assert_memory_equal(got, want, (size_t)n);
	close(fd);
	/* Another size, or below 4 GiB (a 32-bit process's): read from the target. */
	assert_int_equal(vdso_cache__own_build_id(&v, start, end + 4096, got, sizeof(got)), 0);
	assert_int_equal(vdso_cache__own_build_id(&v, 0x10000, 0x10000 + (end - start), got,
						  sizeof(got)), 0);
	vdso_cache__release(&v);
	fixture_stop(&f);
}

static void test_vdso_cache_reads_other_images_from_the_target(void **state)
{
	const uint8_t *own = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	struct vdso_cache v;
	struct fixture f;
	uint8_t page[4096];
	uint64_t start;
	pid_t pid;
	int fd;

	(void)state;
	fixture_start(&f, FIXTURE_PIE);
	start = fixture_addr(&f, "vdso");
	vdso_cache__init(&v);
	fd = vdso_cache__open(&v, f.pid, start, start + sizeof(page));
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, page, sizeof(page), 0), (ssize_t)sizeof(page));
	assert_memory_equal(page, own, sizeof(page));
	close(fd);
	assert_int_equal(v.n, 2); /* smolder's own and this one */
	fd = vdso_cache__open(&v, f.pid, start, start + sizeof(page));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(v.n, 2);
	/* Not a plausible vDSO. */
	assert_int_equal(vdso_cache__open(&v, f.pid, start, start), -ENOEXEC);
	pid = f.pid;
	fixture_stop(&f);
	/* The process is gone: an image not known yet cannot be read. */
	assert_true(vdso_cache__open(&v, pid, start, start + 3 * sizeof(page)) < 0);
	vdso_cache__release(&v);
}

/* ---- mappings followed from the kernel's records (mmap_table.c) ---- */

static void table_mmap(struct mmap_table *t, pid_t pid, uint64_t start, uint64_t end,
		       uint64_t pgoff, const char *path, uint8_t bid)
{
	struct proc_mapping pm = { .start = start, .end = end, .pgoff = pgoff };
	struct proc_build_id b = { .len = bid ? 20 : 0 };

	memset(b.id, bid, b.len);
	mmap_table__mmap(t, pid, &pm, path, strlen(path), &b);
}

/* @pid's followed mappings, gate area left out, as "start-end@pgoff path bid;". */
static void table_show(struct mmap_table *t, pid_t pid, char *buf, size_t len)
{
	struct proc_maps m;
	uint64_t version = 0;
	size_t used = 0;

	buf[0] = '\0';
	assert_int_equal(mmap_table__get(t, pid, &version, &m), 0);
	for (size_t i = 0; i < m.n; i++) {
		const char *path = proc_mapping__path(&m, &m.maps[i]);

		if (!strcmp(path, "[vsyscall]"))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%" PRIx64 "-%" PRIx64 "@%" PRIx64
					 " %s %u;", m.maps[i].start, m.maps[i].end,
					 m.maps[i].pgoff, path, m.bids[i].id[0]);
		assert_true(used < len);
	}
	proc_maps__release(&m);
}

/* The start of @m's gate area when it is listed once, last; else 0. */
static uint64_t gate_start(const struct proc_maps *m)
{
	size_t seen = 0;

	for (size_t i = 0; i < m->n; i++)
		seen += !strcmp(proc_mapping__path(m, &m->maps[i]), "[vsyscall]");
	if (seen != 1 || strcmp(proc_mapping__path(m, &m->maps[m->n - 1]), "[vsyscall]"))
		return 0;
	return m->maps[m->n - 1].start;
}

/*
 * The gate area is no mapping of its own: the text of /proc/PID/maps lists it, and
 * the two other sources of mappings (PROCMAP_QUERY, the kernel's records) add it at
 * the same place, once.
 */
static void test_gate_area_is_listed_as_proc_shows_it(void **state)
{
	struct mmap_table *t = mmap_table__new(2);
	struct proc_maps text, query, pushed;
	uint64_t version = 0;
	int err;

	(void)state;
	assert_int_equal(proc_maps__read(getpid(), &text), 0);
	if (!gate_start(&text)) {
		proc_maps__release(&text);
		mmap_table__free(t);
		skip(); /* a kernel without one (vsyscall=none) */
	}
	err = proc_maps__query(getpid(), &query);
	if (err != -ENOTTY) {
		assert_int_equal(err, 0);
		assert_true(query.n > 1);
		assert_int_equal(gate_start(&query), gate_start(&text));
		proc_maps__release(&query);
	}
	mmap_table__exec(t, 100);
	assert_int_equal(mmap_table__get(t, 100, &version, &pushed), 0);
	assert_int_equal(pushed.n, 1); /* no mapping yet: the gate area alone */
	assert_int_equal(gate_start(&pushed), gate_start(&text));
	proc_maps__release(&pushed);
	table_mmap(t, 100, 0x10000, 0x20000, 0, "/lib/a.so", 1);
	assert_int_equal(mmap_table__get(t, 100, &version, &pushed), 0);
	assert_int_equal(pushed.n, 2);
	assert_int_equal(gate_start(&pushed), gate_start(&text));
	assert_int_equal(pushed.bids[1].len, 0);
	proc_maps__release(&pushed);
	proc_maps__release(&text);
	mmap_table__free(t);
}

/*
 * A process's released mapping set is kept, emptied, for the next process's (under
 * churn a set is made and dropped per program run): the next one starts with its
 * arrays and none of its mappings (its entry is kept the same way); a large set is
 * freed instead, and clearing the table frees the kept ones.
 */
static void test_mmap_table_reuses_released_sets_empty(void **state)
{
	struct mmap_table *t = mmap_table__new(4);
	struct mmap_table_stats st, kept;
	char buf[256], path[64];

	(void)state;
	assert_non_null(t);
	/* 40 mappings with 40 paths: arrays grown past their first sizes. */
	mmap_table__exec(t, 200);
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/lib%02d.so", i);
		table_mmap(t, 200, 0x100000 + 0x1000 * (uint64_t)i, 0x101000 + 0x1000 * (uint64_t)i,
			   0, path, 1);
	}
	mmap_table__stats(t, &st);
	mmap_table__forget(t, 200);
	mmap_table__stats(t, &kept);
	assert_int_equal(kept.processes, 0);
	/* the set and the entry, both kept for the next process, still counted (under
	 * ASan lib/pool.h keeps no entry: freed, and no longer counted) */
	assert_true(kept.bytes > 0);
	if (OBJ_POOL_KEEPS)
		assert_int_equal(kept.bytes, st.bytes);
	else
		assert_true(kept.bytes < st.bytes);

	/* The next process gets it: no new memory, and only its own mapping. */
	mmap_table__exec(t, 201);
	table_mmap(t, 201, 0x400000, 0x401000, 0, "/usr/bin/true", 2);
	table_show(t, 201, buf, sizeof(buf));
	assert_string_equal(buf, "400000-401000@0 /usr/bin/true 2;");
	mmap_table__stats(t, &kept);
	assert_int_equal(kept.bytes, st.bytes);

	/* A set of thousands of mappings is not kept. */
	mmap_table__exec(t, 202);
	for (int i = 0; i < 2000; i++)
		table_mmap(t, 202, 0x10000000 + 0x2000 * (uint64_t)i,
			   0x10001000 + 0x2000 * (uint64_t)i, 0, "/tmp/jit.so", 3);
	mmap_table__stats(t, &kept);
	mmap_table__forget(t, 202);
	mmap_table__stats(t, &st);
	assert_int_equal(st.processes, 1);
	assert_true(kept.bytes - st.bytes > 2000 * sizeof(struct proc_mapping));

	mmap_table__forget(t, 201);
	mmap_table__clear(t);
	mmap_table__stats(t, &st);
	assert_int_equal(st.bytes, 0);
	mmap_table__free(t);
}

static void test_mmap_table_follows_mmaps_forks_and_execs(void **state)
{
	struct mmap_table *t = mmap_table__new(2);
	struct proc_maps m;
	uint64_t version = 0, v1;
	char buf[1024];

	(void)state;
	assert_non_null(t);
	/* Not followed from its start: /proc must say. */
	table_mmap(t, 100, 0x1000, 0x2000, 0, "/lib/a.so", 1);
	assert_int_equal(mmap_table__get(t, 100, &version, &m), -ENOENT);

	mmap_table__exec(t, 100);
	table_mmap(t, 100, 0x10000, 0x50000, 0, "/lib/a.so", 1);
	/* A mapping inside another splits it; the upper part keeps its file offset. */
	table_mmap(t, 100, 0x20000, 0x30000, 0x7000, "/lib/b.so", 2);
	table_show(t, 100, buf, sizeof(buf));
	assert_string_equal(buf, "10000-20000@0 /lib/a.so 1;20000-30000@7000 /lib/b.so 2;"
				 "30000-50000@20000 /lib/a.so 1;");
	/* One over the top of a mapping and the bottom of the next; anonymous code. */
	table_mmap(t, 100, 0x18000, 0x38000, 0, "//anon", 0);
	table_show(t, 100, buf, sizeof(buf));
	assert_string_equal(buf, "10000-18000@0 /lib/a.so 1;18000-38000@0  0;"
				 "38000-50000@28000 /lib/a.so 1;");
	/* One that covers everything. */
	table_mmap(t, 100, 0x8000, 0x60000, 0x1000, "/usr/bin/c (deleted)", 3);
	table_show(t, 100, buf, sizeof(buf));
	assert_string_equal(buf, "8000-60000@1000 /usr/bin/c 3;");

	/* Versions: unchanged maps are not handed out again. */
	assert_int_equal(mmap_table__get(t, 100, &version, &m), 0);
	proc_maps__release(&m);
	v1 = version;
	assert_int_equal(mmap_table__get(t, 100, &version, &m), -EALREADY);
	table_mmap(t, 100, 0x70000, 0x71000, 0, "/lib/d.so", 4);
	assert_int_equal(mmap_table__get(t, 100, &version, &m), 0);
	assert_true(version != v1);
	proc_maps__release(&m);

	/* A fork has its parent's mappings (shared until one of them maps something);
	 * from then on, the mmaps of each are its own. */
	mmap_table__fork(t, 100, 101);
	table_show(t, 101, buf, sizeof(buf));
	assert_string_equal(buf, "8000-60000@1000 /usr/bin/c 3;70000-71000@0 /lib/d.so 4;");
	table_mmap(t, 100, 0xa0000, 0xa1000, 0, "/lib/f.so", 6);
	table_show(t, 101, buf, sizeof(buf));
	assert_string_equal(buf, "8000-60000@1000 /usr/bin/c 3;70000-71000@0 /lib/d.so 4;");
	table_mmap(t, 101, 0x90000, 0x91000, 0, "/lib/e.so", 5);
	table_show(t, 101, buf, sizeof(buf));
	assert_string_equal(buf, "8000-60000@1000 /usr/bin/c 3;70000-71000@0 /lib/d.so 4;"
				 "90000-91000@0 /lib/e.so 5;");
	table_show(t, 100, buf, sizeof(buf));
	assert_string_equal(buf, "8000-60000@1000 /usr/bin/c 3;70000-71000@0 /lib/d.so 4;"
				 "a0000-a1000@0 /lib/f.so 6;");
	mmap_table__exec(t, 101);
	table_show(t, 101, buf, sizeof(buf));
	assert_string_equal(buf, "");

	/* A file known neither by build-id nor by inode: /proc must say. */
	table_mmap(t, 101, 0x1000, 0x2000, 0, "/opt/go-program", 0);
	assert_int_equal(mmap_table__get(t, 101, &version, &m), -ENOENT);
	/* ... and for its children. */
	mmap_table__fork(t, 101, 102);
	assert_int_equal(mmap_table__get(t, 102, &version, &m), -ENOENT);

	/* Bounded by count (2): the least recently changed goes. */
	mmap_table__exec(t, 103);
	mmap_table__exec(t, 104);
	assert_int_equal(mmap_table__get(t, 100, &version, &m), -ENOENT);

	/* Seeding from /proc takes effect only once records are read. */
	{
		struct proc_maps own;

		assert_int_equal(proc_maps__read(getpid(), &own), 0);
		mmap_table__seed(t, 105, &own, &version);
		assert_int_equal(mmap_table__get(t, 105, &version, &m), -ENOENT);
		mmap_table__activate(t);
		mmap_table__seed(t, 105, &own, &version);
		assert_int_equal(mmap_table__get(t, 105, &version, &m), -EALREADY);
		version = 0;
		assert_int_equal(mmap_table__get(t, 105, &version, &m), 0);
		assert_int_equal(m.n, own.n);
		for (size_t i = 0; i < m.n; i++) {
			assert_int_equal(m.maps[i].start, own.maps[i].start);
			assert_int_equal(m.maps[i].inode, own.maps[i].inode);
			assert_string_equal(proc_mapping__path(&m, &m.maps[i]),
					    proc_mapping__path(&own, &own.maps[i]));
		}
		proc_maps__release(&m);
		proc_maps__release(&own);
	}
	mmap_table__fork(t, 105, 106); /* cleared while shared */
	mmap_table__clear(t);
	assert_int_equal(mmap_table__get(t, 105, &version, &m), -ENOENT);
	{
		struct mmap_table_stats st;

		/* Every byte counted in (once, however many processes shared it) is
		 * counted out. */
		mmap_table__stats(t, &st);
		assert_int_equal(st.processes, 0);
		assert_int_equal(st.bytes, 0);
	}
	mmap_table__free(t);

	/* A table of one: the child's entry evicts its parent's, and the child still
	 * has the mappings. */
	t = mmap_table__new(1);
	assert_non_null(t);
	mmap_table__exec(t, 100);
	table_mmap(t, 100, 0x10000, 0x20000, 0, "/lib/a.so", 1);
	mmap_table__fork(t, 100, 101);
	assert_int_equal(mmap_table__get(t, 100, &version, &m), -ENOENT);
	table_show(t, 101, buf, sizeof(buf));
	assert_string_equal(buf, "10000-20000@0 /lib/a.so 1;");
	table_mmap(t, 101, 0x30000, 0x31000, 0, "/lib/b.so", 2);
	table_show(t, 101, buf, sizeof(buf));
	assert_string_equal(buf, "10000-20000@0 /lib/a.so 1;30000-31000@0 /lib/b.so 2;");
	mmap_table__free(t);
}

static void test_resolve_user_outside_mappings_has_no_module(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;
	struct symbol sym;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	assert_int_equal(symbolizer__resolve_user(s, f.pid, 0x10, &sym), 0);
	assert_null(sym.name);
	assert_null(sym.module);
	/* A miss does not spoil the next lookups. */
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_fixture_alpha"),
			"smolder_fixture_alpha", 0, "/symtab_fixture_pie");
	fixture_stop(&f);
	symbolizer__free(s);
}

static void test_maps_reread_finds_dlopened_library(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	/* Maps are read now, before libm is mapped. */
	assert_int_equal(symbolizer__load_process(s, f.pid), 0);
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_fixture_alpha"),
			"smolder_fixture_alpha", 0, "/symtab_fixture_pie");
	fixture_command(&f, "dlopen\n");
	assert_resolves(s, f.pid, fixture_addr(&f, "cbrt") + 2, "cbrt", 2, "/libm.so.6");
	fixture_stop(&f);
	symbolizer__free(s);
}

static void test_resolve_user_after_exit_uses_cached_maps(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct fixture f;
	uint64_t alpha;
	pid_t pid;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	pid = f.pid;
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
	assert_int_equal(symbolizer__load_process(s, pid), 0);
	fixture_stop(&f);
	assert_int_equal(kill(pid, 0), -1);
	/* The process is gone; its maps were read while it ran, and its files are still
	 * on disk (found through our own view of the path, checked by dev/inode). */
	assert_resolves(s, pid, alpha + 5, "smolder_fixture_alpha", 5, "/symtab_fixture_pie");
	symbolizer__free(s);
}

static void test_resolve_user_unknown_pid_is_esrch(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbol sym;
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(s);
	/* A pid that just existed and was reaped: nothing runs under it now. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(symbolizer__resolve_user(s, pid, 0x401000, &sym), -ESRCH);
	assert_null(sym.name);
	assert_null(sym.module);
	/* Asked again (now from the negative cache): same answer. */
	assert_int_equal(symbolizer__resolve_user(s, pid, 0x401000, &sym), -ESRCH);
	assert_int_equal(symbolizer__load_process(s, pid), -ESRCH);
	symbolizer__free(s);
}

/* ---- mappings, for the unwinder ---- */

static void assert_build_id_of(const struct symbolizer_mapping *m, const char *path)
{
	char want[2 * SYMBOLIZER_BUILD_ID_MAX + 1], got[2 * SYMBOLIZER_BUILD_ID_MAX + 1];
	int n = symbolizer__read_build_id(path, want, sizeof(want));

	assert_true(n > 0);
	assert_int_equal(m->build_id_len, (size_t)n);
	for (int i = 0; i < n; i++)
		snprintf(got + 2 * i, 3, "%02x", m->build_id[i]);
	assert_string_equal(got, want);
}

static void test_open_mapping_at_opens_the_mapped_file(void **state)
{
	struct symbolizer *s;
	struct symbolizer_mapping m, m2;
	struct fixture f;
	struct stat st;
	uint64_t alpha;
	pid_t pid;
	int fd;

	(void)state;
	s = new_with_fixture(&f);
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
	assert_int_equal(symbolizer__mapping_at(s, f.pid, alpha, &m), 0);
	assert_true(m.start <= alpha && alpha < m.end);
	if (!ends_with(m.path, "/symtab_fixture_pie"))
		fail_msg("mapping path %s", m.path);
	assert_build_id_of(&m, FIXTURE_PIE);

	/* Other calls in between (another module, another address) do not matter:
	 * each call names its mapping by address. */
	assert_resolves(s, f.pid, fixture_addr(&f, "getpid"), "getpid", 0, "/libc.so.6");
	fd = symbolizer__open_mapping_at(s, f.pid, alpha, &m2);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((uint64_t)st.st_ino, m2.inode);
	assert_int_equal((uint64_t)st.st_dev, m2.dev);
	close(fd);
	assert_int_equal(m2.start, m.start);
	assert_int_equal(m2.pgoff, m.pgoff);
	assert_string_equal(m2.path, m.path);
	assert_build_id_of(&m2, FIXTURE_PIE);

	/* No ELF image there. */
	assert_int_equal(symbolizer__mapping_at(s, f.pid, 0x10, &m), -ENOENT);
	assert_int_equal(symbolizer__open_mapping_at(s, f.pid, 0x10, &m), -ENOENT);

	/* What was returned is a copy: it outlives the process and its cache entry. */
	pid = f.pid;
	fixture_stop(&f);
	symbolizer__forget_process(s, pid);
	assert_true(ends_with(m2.path, "/symtab_fixture_pie"));
	symbolizer__free(s);
}

/* ---- bounded caches ---- */

static void test_elf_cache_eviction_keeps_answers(void **state)
{
	struct symbolizer_opts opts = { .max_elf_files = 2 };
	struct symbolizer *s = symbolizer__new(&opts);
	struct fixture f;
	uint64_t alpha, getpid_addr, tls;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, FIXTURE_PIE);
	alpha = fixture_addr(&f, "smolder_fixture_alpha");
	getpid_addr = fixture_addr(&f, "getpid");
	tls = fixture_addr(&f, "__tls_get_addr");
	/* Three files through a cache of two, several rounds: each round evicts and
	 * re-parses, and the address cache must not hand out evicted names. */
	for (int round = 0; round < 3; round++) {
		assert_resolves(s, f.pid, alpha + 1, "smolder_fixture_alpha", 1,
				"/symtab_fixture_pie");
		assert_resolves(s, f.pid, getpid_addr + 2, "getpid", 2, "/libc.so.6");
		assert_resolves(s, f.pid, tls + 3, "__tls_get_addr", 3, "/ld-linux-x86-64.so.2");
	}
	fixture_stop(&f);
	symbolizer__free(s);
}

/* Copy @from to @to, executable. */
static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* Start the fixture copied to @path as @f, and resolve its smolder_fixture_alpha with @s. */
static void start_resolving_alpha(struct symbolizer *s, struct fixture *f, const char *path)
{
	fixture_start(f, path);
	assert_resolves(s, f->pid, fixture_addr(f, "smolder_fixture_alpha") + 1,
			"smolder_fixture_alpha", 1, "/symtab_fixture_pie");
}

/* A pid no process has now: a child's, reaped. */
static pid_t free_pid(void)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

/* Tell @s that @pid exec'd and mapped @ef's executable segment of @path (device and
 * inode @st) at @bias. */
static void note_text_mapping(struct symbolizer *s, pid_t pid, const char *path,
			      const struct stat *st, const struct elf_facts *ef, uint64_t bias)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t v0 = ef->text_vaddr & ~(page - 1);
	uint64_t v1 = (ef->text_vaddr + ef->text_filesz + page - 1) & ~(page - 1);
	struct symbolizer_mmap m = {
		.start = bias + v0,
		.len = v1 - v0,
		.pgoff = ef->text_offset & ~(page - 1),
		.dev = st->st_dev,
		.inode = st->st_ino,
		.path = path,
		.path_len = strlen(path),
	};

	symbolizer__note_exec(s, pid);
	symbolizer__note_mmap(s, pid, &m);
}

/*
 * from_table says an answer came from the file's own symbol table, and so holds for
 * every process that maps the file (the collector shares such frames between
 * processes by their place in the file). A file that could not be read gives the
 * mapping's file offset and no name, and must not pass for the table's answer. The
 * process is one the kernel's records told of, gone before its first sample, so the
 * file is found by its path alone.
 */
static void test_resolve_user_from_table_only_when_the_file_was_read(void **state)
{
	const uint64_t bias = 0x555500000000ull;
	struct symbolizer *s = symbolizer__new(NULL);
	char dir[] = "/tmp/smolder-fromtab.XXXXXX", path[64];
	struct elf_facts ef;
	struct symbol sym;
	struct stat st;
	pid_t pid = free_pid();
	uint64_t alpha;

	(void)state;
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/symtab_fixture_pie", dir);
	copy_file(FIXTURE_PIE, path);
	assert_int_equal(stat(path, &st), 0);
	elf_facts(path, "smolder_fixture_alpha", &ef);
	alpha = bias + ef.sym_value;
	symbolizer__note_start(s, false);
	note_text_mapping(s, pid, path, &st, &ef, bias);

	/* Read: the name, the file's vaddr, from the table. */
	assert_int_equal(symbolizer__resolve_user(s, pid, alpha + 3, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "smolder_fixture_alpha");
	assert_int_equal(sym.module_offset, ef.sym_value + 3);
	assert_true(sym.from_table);

	/* The file is gone: no name, the file offset, and not from the table. A new
	 * exec of the pid, so that nothing parsed for the first is used. */
	symbolizer__drop_caches(s);
	assert_int_equal(unlink(path), 0);
	note_text_mapping(s, pid, path, &st, &ef, bias);
	assert_int_equal(symbolizer__resolve_user(s, pid, alpha + 3, &sym), 0);
	assert_non_null(sym.module);
	if (!ends_with(sym.module, "/symtab_fixture_pie"))
		fail_msg("module %s is not the fixture", sym.module);
	assert_null(sym.name);
	assert_false(sym.from_table);
	assert_int_equal(sym.module_offset, ef.sym_value + 3 - ef.text_vaddr + ef.text_offset);

	rmdir(dir);
	symbolizer__free(s);
}

/* Where the kernel gives no build-ids with the mappings (before Linux 6.11, or text
 * maps by choice), the identity cache stands in with a stat per mapped file. */
static void test_identity_cache_skips_unchanged_files(void **state)
{
	struct symbolizer_opts opts = { .maps_from_text = true };
	struct symbolizer *s = symbolizer__new(&opts);
	struct symbolizer_stats st0, st1, st2;
	char dir[] = "/tmp/smolder-ident.XXXXXX", path[64];
	struct fixture a, b, c;
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 1, 0 } };

	(void)state;
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/symtab_fixture_pie", dir);
	copy_file(FIXTURE_PIE, path);

	/* The first process: every file it maps is opened and its build-id read. */
	start_resolving_alpha(s, &a, path);
	symbolizer__stats(s, &st0);
	assert_true(st0.ident_misses >= 3); /* the fixture, libc, ld.so */

	/* A second process of the same files: identified by a stat each, same answers. */
	start_resolving_alpha(s, &b, path);
	assert_resolves(s, b.pid, fixture_addr(&b, "getpid") + 2, "getpid", 2, "/libc.so.6");
	symbolizer__stats(s, &st1);
	assert_true(st1.ident_hits >= st0.ident_hits + 3);
	assert_int_equal(st1.ident_misses, st0.ident_misses);

	/* The file changed (its mtime, as a rewrite in place would): read again. */
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	start_resolving_alpha(s, &c, path);
	symbolizer__stats(s, &st2);
	assert_int_equal(st2.ident_misses, st1.ident_misses + 1);

	fixture_stop(&a);
	fixture_stop(&b);
	fixture_stop(&c);
	unlink(path);
	rmdir(dir);
	symbolizer__free(s);
}

/* Dropped caches hold nothing, are not counted as evictions, and what was resolved
 * before resolves the same after, read again. */
static void test_drop_caches_frees_tables_and_mappings(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbolizer_stats st0, st1, st2;
	struct fixture a;

	(void)state;
	assert_non_null(s);
	start_resolving_alpha(s, &a, FIXTURE_PIE);
	symbolizer__stats(s, &st0);
	assert_true(st0.elf_files >= 1);
	assert_true(st0.elf_bytes > 0);
	assert_int_equal(st0.processes, 1);

	symbolizer__drop_caches(s);
	symbolizer__stats(s, &st1);
	assert_int_equal(st1.elf_files, 0);
	assert_int_equal(st1.elf_bytes, 0);
	assert_int_equal(st1.processes, 0);
	assert_int_equal(st1.elf_evictions, st0.elf_evictions);

	assert_resolves(s, a.pid, fixture_addr(&a, "smolder_fixture_alpha") + 1,
			"smolder_fixture_alpha", 1, "/symtab_fixture_pie");
	symbolizer__stats(s, &st2);
	assert_true(st2.elf_parses > st0.elf_parses);
	fixture_stop(&a);
	symbolizer__free(s);
}

/* Does this kernel answer PROCMAP_QUERY? The tests of it are skipped where not. */
static bool kernel_has_procmap_query(void)
{
	struct proc_maps m;
	int err = proc_maps__query(getpid(), &m);

	proc_maps__release(&m);
	return err != -ENOTTY;
}

/* The kernel's answers are the text's mappings, plus each file's build-id. */
static void assert_query_matches_text(pid_t pid)
{
	struct proc_maps q, t;
	uint8_t bid[DEBUGINFO_BUILD_ID_MAX];
	size_t nbids = 0;

	assert_int_equal(proc_maps__query(pid, &q), 0);
	assert_int_equal(proc_maps__read(pid, &t), 0);
	assert_non_null(q.bids);
	assert_null(t.bids);
	assert_true(q.n >= 3); /* the program, libc, ld.so (and the vDSO) */
	assert_int_equal(q.n, t.n);
	for (size_t i = 0; i < q.n; i++) {
		const struct proc_mapping *a = &q.maps[i], *b = &t.maps[i];

		assert_int_equal(a->start, b->start);
		assert_int_equal(a->end, b->end);
		assert_int_equal(a->pgoff, b->pgoff);
		assert_int_equal(a->dev, b->dev);
		assert_int_equal(a->inode, b->inode);
		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->deleted, b->deleted);
		assert_string_equal(proc_mapping__path(&q, a), proc_mapping__path(&t, b));
		if (a->kind == PROC_MAPPING_FILE) {
			char path[4200];
			int fd, n;

			/* The file the process maps, whatever its path names now. */
			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				 (int)pid, a->start, a->end);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			assert_true(fd >= 0);
			n = elf_read_build_id_fd(fd, bid, sizeof(bid));
			close(fd);
			assert_true(n > 0);
			assert_int_equal(q.bids[i].len, n);
			assert_memory_equal(q.bids[i].id, bid, (size_t)n);
			nbids++;
		} else {
			assert_int_equal(q.bids[i].len, 0);
		}
	}
	assert_true(nbids >= 3);
	proc_maps__release(&q);
	proc_maps__release(&t);
}

static void test_proc_maps_query_matches_the_text(void **state)
{
	char dir[] = "/tmp/smolder-query.XXXXXX", path[64], next[80];
	struct fixture a;

	(void)state;
	if (!kernel_has_procmap_query())
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/symtab_fixture_pie", dir);
	snprintf(next, sizeof(next), "%s/next", dir);
	copy_file(FIXTURE_PIE, path);
	fixture_start(&a, path);
	assert_query_matches_text(a.pid);
	/* Replaced under the running process, as a deploy does: both say "deleted". */
	copy_file(FIXTURE_NOPIE, next);
	assert_int_equal(rename(next, path), 0);
	assert_query_matches_text(a.pid);
	/* Gone: as for the text. */
	{
		struct proc_maps m;
		pid_t pid = a.pid;

		fixture_stop(&a);
		assert_int_equal(proc_maps__query(pid, &m), -ESRCH);
	}
	unlink(path);
	rmdir(dir);
}

/* With the kernel's build-ids, a file is known by its content: no stat, no open for a
 * file seen before, and a new file at the same path is read. */
static void test_kernel_build_ids_identify_mapped_files(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbolizer_stats st0, st1, st2, st3;
	char dir[] = "/tmp/smolder-kident.XXXXXX", path[64], next[80];
	struct fixture a, b, c, d;
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 1, 0 } };

	(void)state;
	assert_non_null(s);
	if (!kernel_has_procmap_query()) {
		symbolizer__free(s);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/symtab_fixture_pie", dir);
	snprintf(next, sizeof(next), "%s/next", dir);
	copy_file(FIXTURE_PIE, path);

	/* The first process: its files are new to the ELF cache, so they are opened. */
	start_resolving_alpha(s, &a, path);
	symbolizer__stats(s, &st0);
	assert_true(st0.ident_misses >= 3); /* the fixture, libc, ld.so */

	/* A second process of the same files: known by build-id, none opened or stat'ed. */
	start_resolving_alpha(s, &b, path);
	assert_resolves(s, b.pid, fixture_addr(&b, "getpid") + 2, "getpid", 2, "/libc.so.6");
	symbolizer__stats(s, &st1);
	assert_true(st1.ident_kernel >= st0.ident_kernel + 3);
	assert_int_equal(st1.ident_misses, st0.ident_misses);
	assert_int_equal(st1.ident_hits, st0.ident_hits);

	/* Touched but the same bytes: still the same file. */
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	start_resolving_alpha(s, &c, path);
	symbolizer__stats(s, &st2);
	assert_int_equal(st2.ident_misses, st1.ident_misses);

	/* Another program renamed over the path: its build-id is new, so it is read, and
	 * the processes of the old file keep their names. */
	copy_file(FIXTURE_NOPIE, next);
	assert_int_equal(rename(next, path), 0);
	fixture_start(&d, path);
	assert_resolves(s, d.pid, fixture_addr(&d, "smolder_fixture_beta") + 1,
			"smolder_fixture_beta", 1, "/symtab_fixture_pie");
	symbolizer__stats(s, &st3);
	assert_int_equal(st3.ident_misses, st2.ident_misses + 1);
	assert_resolves(s, a.pid, fixture_addr(&a, "smolder_fixture_alpha") + 1,
			"smolder_fixture_alpha", 1, "/symtab_fixture_pie");

	fixture_stop(&a);
	fixture_stop(&b);
	fixture_stop(&c);
	fixture_stop(&d);
	unlink(path);
	rmdir(dir);
	symbolizer__free(s);
}

static void test_process_cache_eviction_keeps_answers(void **state)
{
	struct symbolizer_opts opts = { .max_processes = 1 };
	struct symbolizer *s = symbolizer__new(&opts);
	struct fixture a, b;

	(void)state;
	assert_non_null(s);
	fixture_start(&a, FIXTURE_PIE);
	fixture_start(&b, FIXTURE_NOPIE);
	for (int round = 0; round < 3; round++) {
		assert_resolves(s, a.pid, fixture_addr(&a, "smolder_fixture_alpha") + 1,
				"smolder_fixture_alpha", 1, "/symtab_fixture_pie");
		assert_resolves(s, b.pid, fixture_addr(&b, "smolder_fixture_beta") + 1,
				"smolder_fixture_beta", 1, "/symtab_fixture_nopie");
	}
	symbolizer__forget_process(s, a.pid);
	assert_resolves(s, a.pid, fixture_addr(&a, "smolder_fixture_gamma"),
			"smolder_fixture_gamma", 0, "/symtab_fixture_pie");
	fixture_stop(&a);
	fixture_stop(&b);
	symbolizer__free(s);
}

/* ---- one ELF file ---- */

static void check_to_vaddr(const char *path, const char *name)
{
	struct elf_symtab *t = elf_symtab__open(path);
	struct elf_facts ef;
	uint64_t start = 0x7f1234500000ull, pgoff, addr, vaddr = 0, off = 0;
	const char *got;

	assert_non_null(t);
	elf_facts(path, name, &ef);
	assert_true(elf_symtab__count(t) > 0);

	got = elf_symtab__lookup(t, ef.sym_value + 3, &off);
	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(off, 3);

	/* A mapping as the kernel makes it: from the segment's page-aligned offset. */
	pgoff = ef.text_offset & ~0xfffull;
	addr = start + (ef.sym_value - ef.text_vaddr) + (ef.text_offset - pgoff) + 3;
	assert_int_equal(elf_symtab__to_vaddr(t, start, pgoff, addr, &vaddr), 0);
	assert_int_equal(vaddr, ef.sym_value + 3);
	got = elf_symtab__lookup(t, vaddr, &off);
	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(off, 3);

	/* A mapping of an offset no PT_LOAD covers. */
	assert_int_equal(elf_symtab__to_vaddr(t, start, 0x40000000, start + 8, &vaddr), -ENOENT);
	/* An address below the start of no symbol. */
	assert_null(elf_symtab__lookup(t, 0, &off));
	elf_symtab__free(t);
}

static void test_elf_symtab_open_and_to_vaddr(void **state)
{
	(void)state;
	check_to_vaddr(FIXTURE_PIE, "smolder_fixture_alpha");
	check_to_vaddr(FIXTURE_PIE, "smolder_fixture_beta");
	check_to_vaddr(FIXTURE_NOPIE, "smolder_fixture_gamma");
}

static void test_elf_symtab_missing_file_is_enoent(void **state)
{
	(void)state;
	errno = 0;
	assert_null(elf_symtab__open("/nonexistent/smolder/file"));
	assert_int_equal(errno, ENOENT);
}

static void test_elf_symtab_rejects_malformed(void **state)
{
	static const size_t cuts[] = { 4, 64, 200, 1000 };
	char path[64];
	size_t len, i;
	char *image = read_whole(FIXTURE_PIE, &len);
	unsigned char random_bytes[8192];

	(void)state;
	/* Empty file. */
	write_temp(path, sizeof(path), "", 0);
	assert_open_fails_enoexec(path);
	unlink(path);

	/* Random bytes, and random bytes behind a valid ELF identification. */
	srand(1234);
	for (i = 0; i < sizeof(random_bytes); i++)
		random_bytes[i] = (unsigned char)rand();
	write_temp(path, sizeof(path), random_bytes, sizeof(random_bytes));
	assert_open_fails_enoexec(path);
	unlink(path);
	memcpy(random_bytes, image, EI_NIDENT);
	write_temp(path, sizeof(path), random_bytes, sizeof(random_bytes));
	assert_open_fails_enoexec(path);
	unlink(path);

	/* Truncated copies of the fixture: headers cut short, or the section headers
	 * (at the end of the file) missing. */
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		write_temp(path, sizeof(path), image, cuts[i]);
		assert_open_fails_enoexec(path);
		unlink(path);
	}
	write_temp(path, sizeof(path), image, len / 2);
	assert_open_fails_enoexec(path);
	unlink(path);
	write_temp(path, sizeof(path), image, len - 1);
	assert_open_fails_enoexec(path);
	unlink(path);

	/* Not a regular file. */
	assert_open_fails_enoexec("/dev/null");

	/* The in-memory entry point says the same. */
	errno = 0;
	assert_null(elf_symtab__open_mem(image, len / 2));
	assert_int_equal(errno, ENOEXEC);
	errno = 0;
	assert_null(elf_symtab__open_mem(image, 0));
	assert_int_equal(errno, ENOEXEC);
	free(image);
}

/*
 * Corrupt bytes anywhere in a valid image: the parser must refuse or return a table
 * whose lookups stay inside it (ASan builds check the "inside"). Deterministic seed.
 */
static void test_elf_symtab_survives_corrupted_images(void **state)
{
	size_t len, i, parsed = 0;
	char *image = read_whole(FIXTURE_PIE, &len);
	char *copy = malloc(len);

	(void)state;
	assert_non_null(copy);
	srand(42);
	for (i = 0; i < 2000; i++) {
		struct elf_symtab *t;
		int flips = 1 + rand() % 8;

		memcpy(copy, image, len);
		for (int k = 0; k < flips; k++) {
			/* Most interesting bytes are in the headers at either end. */
			size_t at = (k & 1) ? (size_t)rand() % 256 : len - 1 - (size_t)rand() % 2048;

			copy[at] = (char)rand();
		}
		t = elf_symtab__open_mem(copy, len);
		if (!t) {
			assert_true(errno == ENOEXEC || errno == ENOMEM);
			continue;
		}
		parsed++;
		for (uint64_t a = 0; a < 0x3000; a += 0x10) {
			uint64_t off, v;
			const char *n = elf_symtab__lookup(t, a, &off);

			if (n)
				assert_true(strlen(n) > 0);
			elf_symtab__to_vaddr(t, 0x1000, 0x1000, 0x1000 + a, &v);
		}
		elf_symtab__free(t);
	}
	/* Some corruptions are harmless; the test also exercised the success path. */
	assert_true(parsed > 0);
	free(copy);
	free(image);
}

/* ---- PLT stubs ---- */

#define PLT_DIR FIXTURES_DIR "/plt"

/* Every stub objdump names in @lib (its NAME.plt reference) has that name here, at its
 * start and inside it. @return how many stubs were checked; *@puts_at gets the
 * address of puts@plt. */
static int assert_plt_names(const char *lib, uint64_t *puts_at)
{
	char ref[256], want[128];
	struct elf_symtab *t;
	uint64_t addr, off;
	int n = 0;
	FILE *f;

	snprintf(ref, sizeof(ref), "%s.plt", lib);
	f = fopen(ref, "r");
	if (!f)
		fail_msg("no reference %s", ref);
	t = elf_symtab__open(lib);
	assert_non_null(t);
	while (fscanf(f, "%" SCNx64 " %127s", &addr, want) == 2) {
		const char *name = elf_symtab__lookup(t, addr, &off);

		if (!name || strcmp(name, want) || off != 0)
			fail_msg("%s: 0x%" PRIx64 " is %s+%" PRIu64 ", objdump says %s", lib, addr,
				 name ? name : "(none)", name ? off : 0, want);
		name = elf_symtab__lookup(t, addr + 5, &off);
		assert_non_null(name);
		assert_string_equal(name, want);
		assert_int_equal(off, 5);
		if (!strcmp(want, "puts@plt"))
			*puts_at = addr;
		n++;
	}
	fclose(f);
	elf_symtab__free(t);
	return n;
}

static void test_plt_stubs_are_named(void **state)
{
	static const char *const libs[] = {
		PLT_DIR "/libplt_lazy.so", /* .plt after a header, .plt.got */
		PLT_DIR "/libplt_ibt.so",  /* .plt.sec */
		PLT_DIR "/libplt_i386.so", /* .rel.plt, %ebx-relative stubs */
	};
	struct elf_symtab *t;
	uint64_t off;

	(void)state;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		uint64_t puts_at = 0;

		if (i == 2 && access(libs[i], F_OK) != 0) {
			print_message("skipped %s: the compiler builds no 32-bit code\n", libs[i]);
			continue;
		}
		/* plt_fixture.c calls six libc functions. */
		assert_true(assert_plt_names(libs[i], &puts_at) >= 6);
		assert_true(puts_at != 0);
	}
	/* IBT's lazy-binding stubs in .plt jump through no GOT slot: named by position. */
	t = elf_symtab__open(PLT_DIR "/libplt_ibt.so");
	assert_non_null(t);
	{
		GElf_Shdr sh;
		uint64_t plt = 0, plt_size = 0;
		Elf_Scn *scn = NULL;
		size_t shstrndx;
		Elf *e;
		int fd = open(PLT_DIR "/libplt_ibt.so", O_RDONLY);

		assert_true(fd >= 0);
		elf_version(EV_CURRENT);
		e = elf_begin(fd, ELF_C_READ, NULL);
		assert_int_equal(elf_getshdrstrndx(e, &shstrndx), 0);
		while ((scn = elf_nextscn(e, scn)))
			if (gelf_getshdr(scn, &sh) &&
			    !strcmp(elf_strptr(e, shstrndx, sh.sh_name), ".plt")) {
				plt = sh.sh_addr;
				plt_size = sh.sh_size;
			}
		elf_end(e);
		close(fd);
		assert_true(plt_size >= 16 * 7);
		for (uint64_t a = plt + 16; a < plt + plt_size; a += 16) {
			const char *name = elf_symtab__lookup(t, a + 4, &off);

			assert_non_null(name);
			assert_true(ends_with(name, "@plt"));
		}
		/* The header is no stub. */
		assert_null(elf_symtab__lookup(t, plt + 4, &off));
	}
	elf_symtab__free(t);
}

/* A real symbol where a stub is wins over the synthetic name; the other stubs keep
 * theirs. */
static void test_plt_real_symbols_win(void **state)
{
	struct elf_symtab *t = elf_symtab__open(PLT_DIR "/libplt_named.so");
	char want[128];
	uint64_t first, second, off;
	FILE *f = fopen(PLT_DIR "/libplt_lazy.so.plt", "r");

	(void)state;
	assert_non_null(t);
	assert_non_null(f);
	/* The lazy layout's first stub follows the 16-byte header: .plt + 16. */
	assert_int_equal(fscanf(f, "%" SCNx64 " %127s", &first, want), 2);
	assert_int_equal(fscanf(f, "%" SCNx64 " %127s", &second, want), 2);
	fclose(f);
	assert_string_equal(elf_symtab__lookup(t, first + 5, &off), "plt_fixture_stub");
	assert_int_equal(off, 5);
	assert_string_equal(elf_symtab__lookup(t, second + 1, &off), want);
	elf_symtab__free(t);
}

/* The section header called @name in the 64-bit ELF image @img (parsed by hand, so
 * the test can corrupt it), or NULL. */
static Elf64_Shdr *shdr_named(char *img, size_t len, const char *name)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff), *strs;

	assert_true(eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(*sh) <= len);
	strs = &sh[eh->e_shstrndx];
	for (int i = 0; i < eh->e_shnum; i++)
		if (!strcmp(img + strs->sh_offset + sh[i].sh_name, name))
			return &sh[i];
	return NULL;
}

/* Parse @img; it may be refused, but must not be read out of bounds (ASan builds). */
static void open_mem_survives(const char *img, size_t len, size_t *parsed)
{
	struct elf_symtab *t = elf_symtab__open_mem(img, len);
	uint64_t off;

	if (!t) {
		assert_true(errno == ENOEXEC || errno == ENOMEM);
		return;
	}
	(*parsed)++;
	for (uint64_t a = 0x1000; a < 0x1200; a += 4) {
		const char *n = elf_symtab__lookup(t, a, &off);

		if (n)
			assert_true(strlen(n) > 0);
	}
	elf_symtab__free(t);
}

/* Relocations, symbols and stubs come from the file: lies in any of them give fewer
 * names, never a read out of bounds. */
static void test_plt_survives_malformed_relocations(void **state)
{
	static const char *const targets[] = { ".rela.plt", ".rela.dyn", ".plt", ".plt.got",
					       ".dynsym", ".dynstr", ".got.plt" };
	size_t len, parsed = 0;
	char *image = read_whole(PLT_DIR "/libplt_lazy.so", &len);
	char *copy = malloc(len);
	Elf64_Shdr *sh;

	(void)state;
	assert_non_null(copy);
	/* Header lies, one at a time. */
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		static const uint64_t sizes[] = { 0, 1, 7, 0x7fffffff, UINT64_MAX };

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			memcpy(copy, image, len);
			sh = shdr_named(copy, len, targets[i]);
			assert_non_null(sh);
			sh->sh_size = sizes[k];
			open_mem_survives(copy, len, &parsed);

			memcpy(copy, image, len);
			sh = shdr_named(copy, len, targets[i]);
			sh->sh_offset = len - 1 - k;
			open_mem_survives(copy, len, &parsed);

			memcpy(copy, image, len);
			sh = shdr_named(copy, len, targets[i]);
			sh->sh_link = (uint32_t)(k ? sizes[k] : i);
			sh->sh_entsize = sizes[k];
			sh->sh_addr = UINT64_MAX - k * 8;
			open_mem_survives(copy, len, &parsed);
		}
	}
	/* Relocations whose symbol index and type are garbage. */
	memcpy(copy, image, len);
	sh = shdr_named(copy, len, ".rela.plt");
	for (uint64_t o = 0; o + sizeof(Elf64_Rela) <= sh->sh_size; o += sizeof(Elf64_Rela)) {
		Elf64_Rela *r = (Elf64_Rela *)(copy + sh->sh_offset + o);

		r->r_info = ELF64_R_INFO(0xffffff - o, R_X86_64_JUMP_SLOT);
	}
	open_mem_survives(copy, len, &parsed);
	/* Random bytes in the PLT's sections. */
	srand(7);
	for (int n = 0; n < 3000; n++) {
		memcpy(copy, image, len);
		for (int k = 0; k < 1 + n % 8; k++) {
			Elf64_Shdr *victim = shdr_named(copy, len, targets[(size_t)rand() % 7]);
			size_t at = victim->sh_offset + (size_t)rand() % (victim->sh_size ? victim->sh_size : 1);

			if (at < len)
				copy[at] = (char)rand();
		}
		open_mem_survives(copy, len, &parsed);
	}
	assert_true(parsed > 0);
	free(copy);
	free(image);
}

/* ---- /proc/PID/maps ---- */

static void test_proc_maps_parse_keeps_executable_mappings(void **state)
{
	static const char text[] =
		"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1234                       /usr/bin/my app\n"
		"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:00 1234                       /usr/bin/my app\n"
		"7f0000000000-7f0000010000 r-xp 00002000 fe:01 99                         /opt/lib/libx.so (deleted)\n"
		"7f0000020000-7f0000030000 rwxp 00000000 00:00 0 \n"
		"this line is garbage\n"
		"7ffd5a7d6000-7ffd5a7d8000 r-xp 00000000 00:00 0                          [vdso]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
	struct proc_maps m;
	const struct proc_mapping *pm;

	(void)state;
	assert_int_equal(proc_maps__parse(text, sizeof(text) - 1, &m), 0);
	assert_int_equal(m.n, 5);

	pm = proc_maps__find(&m, 0x55d0c0a01800);
	assert_non_null(pm);
	assert_int_equal(pm->kind, PROC_MAPPING_FILE);
	assert_string_equal(proc_mapping__path(&m, pm), "/usr/bin/my app");
	assert_int_equal(pm->pgoff, 0x1000);
	assert_int_equal(pm->inode, 1234);
	assert_false(pm->deleted);

	pm = proc_maps__find(&m, 0x7f0000000010);
	assert_non_null(pm);
	assert_true(pm->deleted);
	assert_string_equal(proc_mapping__path(&m, pm), "/opt/lib/libx.so");

	pm = proc_maps__find(&m, 0x7f0000020000);
	assert_non_null(pm);
	assert_int_equal(pm->kind, PROC_MAPPING_ANON);

	pm = proc_maps__find(&m, 0x7ffd5a7d6001);
	assert_non_null(pm);
	assert_int_equal(pm->kind, PROC_MAPPING_PSEUDO);
	assert_string_equal(proc_mapping__path(&m, pm), "[vdso]");

	pm = proc_maps__find(&m, 0xffffffffff600000ull);
	assert_non_null(pm);
	assert_string_equal(proc_mapping__path(&m, pm), "[vsyscall]");

	/* Not executable, and between mappings. */
	assert_null(proc_maps__find(&m, 0x55d0c0a00000));
	assert_null(proc_maps__find(&m, 0x7f0000010000));
	proc_maps__release(&m);
}

/* ---- kernel ---- */

static void test_kernel_resolves_schedule(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	char line[512];
	uint64_t addr = 0;
	struct symbol sym;
	FILE *f = fopen("/proc/kallsyms", "r");

	(void)state;
	assert_non_null(s);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, name[256];

		if (sscanf(line, "%llx %c %255s", &a, &type, name) == 3 &&
		    !strcmp(name, "schedule") && (type == 'T' || type == 't')) {
			addr = a;
			break;
		}
	}
	fclose(f);
	if (!addr) {
		symbolizer__free(s);
		skip(); /* kptr_restrict hides addresses from this user */
	}
	assert_int_equal(symbolizer__resolve_kernel(s, addr + 1, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "schedule");
	assert_int_equal(sym.offset, 1);
	assert_string_equal(sym.module, "[kernel]");
	symbolizer__free(s);
}

static void test_kernel_module_symbols_name_their_module(void **state)
{
	static const char text[] =
		"ffffffff81000000 T _text\n"
		"ffffffff81000100 T core_func\n"
		"ffffffff81000200 D some_data\n"
		"ffffffff81000300 t core_local\n"
		"ffffffffc0002000 t later_mod_func\t[xfs]\n"
		"ffffffffc0001000 t ext4_func\t[ext4]\n"
		"ffffffffc0001100 T ext4_other\t[ext4]\n";
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbol sym;
	char path[64];

	(void)state;
	assert_non_null(s);
	write_temp(path, sizeof(path), text, sizeof(text) - 1);
	assert_int_equal(symbolizer__set_kallsyms_path(s, path), 0);

	assert_int_equal(symbolizer__resolve_kernel(s, 0xffffffffc0001010, &sym), 0);
	assert_string_equal(sym.name, "ext4_func");
	assert_int_equal(sym.offset, 0x10);
	assert_string_equal(sym.module, "[ext4]");
	assert_int_equal(symbolizer__resolve_kernel(s, 0xffffffffc0002004, &sym), 0);
	assert_string_equal(sym.name, "later_mod_func");
	assert_string_equal(sym.module, "[xfs]");
	/* Data symbols are not functions: core_func covers up to the next text symbol. */
	assert_int_equal(symbolizer__resolve_kernel(s, 0xffffffff81000250, &sym), 0);
	assert_string_equal(sym.name, "core_func");
	assert_string_equal(sym.module, "[kernel]");
	/* Below every symbol, and far past the last text symbol of the core kernel. */
	assert_int_equal(symbolizer__resolve_kernel(s, 0x1000, &sym), 0);
	assert_null(sym.name);
	assert_null(sym.module);
	assert_int_equal(symbolizer__resolve_kernel(s, 0xffffffffa0000000, &sym), 0);
	assert_null(sym.name);
	unlink(path);
	symbolizer__free(s);
}

static void test_kernel_kptr_restrict_gives_eperm_once_cached(void **state)
{
	static const char zeros[] = "0000000000000000 T _text\n"
				    "0000000000000000 T schedule\n"
				    "0000000000000000 t ext4_func\t[ext4]\n";
	static const char real[] = "ffffffff81000000 T _text\n";
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbol sym;
	char path[64];
	int fd;

	(void)state;
	assert_non_null(s);
	write_temp(path, sizeof(path), zeros, sizeof(zeros) - 1);
	assert_int_equal(symbolizer__set_kallsyms_path(s, path), 0);
	assert_int_equal(symbolizer__resolve_kernel(s, 0xffffffff81000010, &sym), -EPERM);
	assert_null(sym.name);
	/* The file now has addresses, but the answer was cached: no re-read per sample. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, real, sizeof(real) - 1), (ssize_t)sizeof(real) - 1);
	close(fd);
	assert_int_equal(symbolizer__resolve_kernel(s, 0xffffffff81000010, &sym), -EPERM);
	unlink(path);
	symbolizer__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_user_pie_removes_load_bias),
		cmocka_unit_test(test_resolve_user_nopie_function),
		cmocka_unit_test(test_resolve_user_libc_function),
		cmocka_unit_test(test_resolve_user_vdso_is_named),
		cmocka_unit_test(test_resolve_user_names_vdso_functions),
		cmocka_unit_test(test_open_mapping_at_gives_the_vdso_image),
		cmocka_unit_test(test_vdso_cache_reads_other_images_from_the_target),
		cmocka_unit_test(test_vdso_cache_knows_its_own_build_id),
		cmocka_unit_test(test_gate_area_is_listed_as_proc_shows_it),
		cmocka_unit_test(test_mmap_table_follows_mmaps_forks_and_execs),
		cmocka_unit_test(test_mmap_table_reuses_released_sets_empty),
		cmocka_unit_test(test_resolve_user_outside_mappings_has_no_module),
		cmocka_unit_test(test_maps_reread_finds_dlopened_library),
		cmocka_unit_test(test_resolve_user_after_exit_uses_cached_maps),
		cmocka_unit_test(test_resolve_user_from_table_only_when_the_file_was_read),
		cmocka_unit_test(test_resolve_user_unknown_pid_is_esrch),
		cmocka_unit_test(test_open_mapping_at_opens_the_mapped_file),
		cmocka_unit_test(test_elf_cache_eviction_keeps_answers),
		cmocka_unit_test(test_process_cache_eviction_keeps_answers),
		cmocka_unit_test(test_drop_caches_frees_tables_and_mappings),
		cmocka_unit_test(test_identity_cache_skips_unchanged_files),
		cmocka_unit_test(test_kernel_build_ids_identify_mapped_files),
		cmocka_unit_test(test_proc_maps_query_matches_the_text),
		cmocka_unit_test(test_elf_symtab_open_and_to_vaddr),
		cmocka_unit_test(test_elf_symtab_missing_file_is_enoent),
		cmocka_unit_test(test_elf_symtab_rejects_malformed),
		cmocka_unit_test(test_elf_symtab_survives_corrupted_images),
		cmocka_unit_test(test_plt_stubs_are_named),
		cmocka_unit_test(test_plt_real_symbols_win),
		cmocka_unit_test(test_plt_survives_malformed_relocations),
		cmocka_unit_test(test_proc_maps_parse_keeps_executable_mappings),
		cmocka_unit_test(test_kernel_resolves_schedule),
		cmocka_unit_test(test_kernel_module_symbols_name_their_module),
		cmocka_unit_test(test_kernel_kptr_restrict_gives_eperm_once_cached),
	};

	/* A fixture whose reader died must not take the test down with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
