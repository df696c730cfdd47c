/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_symbolizer_debug.c - the symbolizer where symbols are hard to find: stripped
 * binaries with separate debug files (by build-id, by .gnu_debuglink with its CRC),
 * MiniDebugInfo, binaries deleted or replaced while running, processes gone before
 * their files were parsed, JIT perf maps, C++/Rust demangling, inline frames, and the
 * caches' limits and statistics. Real fixtures (tests/fixtures/make_debug_variants.sh
 * builds them); no mocks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture_proc.h"
#include "symbolizer.h"
#include "symbolizer_int.h"

#define DBG FIXTURES_DIR "/debug"
#define DEBUG_FULL DBG "/debug_full"
#define DEBUG_BUILDID DBG "/debug_buildid"
#define DEBUG_ROOT DBG "/debugroot"
#define DEBUG_LINK DBG "/link/debug_link"
#define LINK_FULL DBG "/link_full"
#define DEBUG_BADCRC DBG "/badcrc/debug_badcrc"
#define DEBUG_MINI DBG "/debug_mini"
#define DEBUG_MINI_FULL DBG "/debug_mini_full"
#define DEBUG_FIXTURE FIXTURES_DIR "/debug_fixture"
#define NAMES_FIXTURE FIXTURES_DIR "/names_fixture"

static const char *const test_dirs[] = { DEBUG_ROOT };
static const char *const no_dirs[] = { "/nonexistent/smolder-debug" };

/* ---- helpers ---- */


static uint64_t sym_value_in(const char *path, const char *name, unsigned type);

/* st_value of @name in @path's .symtab (read with libelf, independently). */
static uint64_t sym_value(const char *path, const char *name)
{
	uint64_t v = sym_value_in(path, name, SHT_SYMTAB);

	if (!v)
		fail_msg("%s has no symbol %s", path, name);
	return v;
}

/* st_value of @name in @path's section of @type (SHT_SYMTAB/SHT_DYNSYM), or 0. */
static uint64_t sym_value_in(const char *path, const char *name, unsigned type)
{
	Elf_Scn *scn = NULL;
	uint64_t v = 0;
	Elf *e;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != type)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			gelf_getsym(d, (int)i, &sym);
			if (!strcmp(elf_strptr(e, sh.sh_link, sym.st_name), name))
				v = sym.st_value;
		}
	}
	elf_end(e);
	close(fd);
	return v;
}

static void assert_elf_name(struct elf_symtab *t, uint64_t vaddr, const char *want)
{
	uint64_t off = 99;
	const char *got = elf_symtab__lookup(t, vaddr, &off);

	if (!want) {
		if (got)
			fail_msg("0x%llx resolved to %s, expected nothing",
				 (unsigned long long)vaddr, got);
		return;
	}
	if (!got)
		fail_msg("0x%llx: no symbol, expected %s", (unsigned long long)vaddr, want);
	assert_string_equal(got, want);
	assert_int_equal(off, 0);
}

/* Every address of the reference's text resolves to the same name in @t. */
static void assert_same_names(const char *reference, struct elf_symtab *t)
{
	struct elf_symtab *ref = elf_symtab__open(reference);
	size_t compared = 0;

	assert_non_null(ref);
	for (uint64_t a = 0x1000; a < 0x1400; a++) {
		uint64_t o1 = 0, o2 = 0;
		const char *n1 = elf_symtab__lookup(ref, a, &o1);
		const char *n2 = elf_symtab__lookup(t, a, &o2);

		if (!n1)
			continue;
		if (!n2 || strcmp(n1, n2) || o1 != o2)
			fail_msg("0x%llx: %s+%llu in %s, %s+%llu merged", (unsigned long long)a, n1,
				 (unsigned long long)o1, reference, n2 ? n2 : "(none)",
				 (unsigned long long)o2);
		compared++;
	}
	assert_true(compared > 100);
	elf_symtab__free(ref);
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

static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *buf = read_whole(from, &len);
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, 0755), 0);
	close(fd);
	free(buf);
}

static void assert_resolves(struct symbolizer *s, pid_t pid, uint64_t addr, const char *name)
{
	struct symbol sym;

	assert_int_equal(symbolizer__resolve_user(s, pid, addr, &sym), 0);
	if (!sym.name)
		fail_msg("0x%llx in %d: no name (module %s), expected %s",
			 (unsigned long long)addr, (int)pid, sym.module ? sym.module : "none",
			 name);
	assert_string_equal(sym.name, name);
}

/* ---- separate debug files ---- */

static void test_debug_file_by_build_id(void **state)
{
	struct elf_symtab_opts o = { .debug_dirs = test_dirs, .ndebug_dirs = 1 };
	struct elf_symtab_opts none = { .debug_dirs = no_dirs, .ndebug_dirs = 1 };
	uint64_t hidden = sym_value(DEBUG_FULL, "smolder_dbg_hidden");
	struct elf_symtab *t;
	const uint8_t *bid;
	size_t len;
	char hex[41 + 1 + 6];

	(void)state;
	/* Stripped and without the debug directory: nothing but what .dynsym has. */
	t = elf_symtab__open_opts(DEBUG_BUILDID, &none);
	assert_non_null(t);
	assert_elf_name(t, hidden, NULL);
	assert_int_equal(elf_symtab__sources(t) & ELF_SRC_DEBUG_BUILDID, 0);
	elf_symtab__free(t);

	t = elf_symtab__open_opts(DEBUG_BUILDID, &o);
	assert_non_null(t);
	assert_true(elf_symtab__sources(t) & ELF_SRC_DEBUG_BUILDID);
	assert_elf_name(t, hidden, "smolder_dbg_hidden");
	assert_same_names(DEBUG_FULL, t);
	/* The debug file is where its build-id says. */
	bid = elf_symtab__build_id(t, &len);
	assert_non_null(bid);
	assert_int_equal(len, 20);
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i + (i ? 1 : 0), 4, i ? "%02x" : "%02x/", bid[i]);
	assert_non_null(elf_symtab__debug_path(t));
	if (!strstr(elf_symtab__debug_path(t), hex))
		fail_msg("debug path %s does not hold build-id %s", elf_symtab__debug_path(t), hex);
	elf_symtab__free(t);
}

static void test_debug_file_by_debuglink_checks_crc(void **state)
{
	struct elf_symtab_opts o = { .debug_dirs = no_dirs, .ndebug_dirs = 1 };
	uint64_t hidden = sym_value(LINK_FULL, "smolder_dbg_hidden");
	struct elf_symtab *t;
	size_t len;

	(void)state;
	t = elf_symtab__open_opts(DEBUG_LINK, &o);
	assert_non_null(t);
	/* Built without a build-id: only the link can have found it. */
	assert_null(elf_symtab__build_id(t, &len));
	assert_true(elf_symtab__sources(t) & ELF_SRC_DEBUGLINK);
	assert_non_null(strstr(elf_symtab__debug_path(t), "/link/.debug/debug_link.debug"));
	assert_elf_name(t, hidden, "smolder_dbg_hidden");
	assert_same_names(LINK_FULL, t);
	elf_symtab__free(t);

	/* Same link, but the file under that name is another build: its CRC differs,
	 * so its (wrong) symbols must not be used. */
	t = elf_symtab__open_opts(DEBUG_BADCRC, &o);
	assert_non_null(t);
	assert_int_equal(elf_symtab__sources(t) & ELF_SRC_DEBUGLINK, 0);
	assert_null(elf_symtab__debug_path(t));
	assert_elf_name(t, hidden, NULL);
	elf_symtab__free(t);

	/* Without options (plain open), no debug file is looked for. */
	t = elf_symtab__open(DEBUG_LINK);
	assert_non_null(t);
	assert_elf_name(t, hidden, NULL);
	elf_symtab__free(t);
}

/* The other two places gdb looks for a debuglink: beside the file, and under a debug
 * dir at the file's own directory. */
static void test_debuglink_search_dirs(void **state)
{
	char dir[] = "/tmp/smolder-link-XXXXXX", root[] = "/tmp/smolder-root-XXXXXX";
	char bin[256], dbg[256], sub[512];
	const char *dirs[1];
	struct elf_symtab_opts o = { .debug_dirs = dirs, .ndebug_dirs = 1 };
	uint64_t hidden = sym_value(LINK_FULL, "smolder_dbg_hidden");
	struct elf_symtab *t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(root));
	dirs[0] = root;
	snprintf(bin, sizeof(bin), "%s/debug_link", dir);
	snprintf(dbg, sizeof(dbg), "%s/debug_link.debug", dir);
	copy_file(DEBUG_LINK, bin);

	/* Nowhere yet. */
	t = elf_symtab__open_opts(bin, &o);
	assert_non_null(t);
	assert_elf_name(t, hidden, NULL);
	elf_symtab__free(t);

	/* Beside the binary. */
	copy_file(DBG "/link/.debug/debug_link.debug", dbg);
	t = elf_symtab__open_opts(bin, &o);
	assert_non_null(t);
	assert_elf_name(t, hidden, "smolder_dbg_hidden");
	assert_string_equal(elf_symtab__debug_path(t), dbg);
	elf_symtab__free(t);
	unlink(dbg);

	/* ROOT/<the binary's directory>/NAME. */
	snprintf(sub, sizeof(sub), "mkdir -p '%s%s'", root, dir);
	assert_int_equal(system(sub), 0);
	snprintf(sub, sizeof(sub), "%s%s/debug_link.debug", root, dir);
	copy_file(DBG "/link/.debug/debug_link.debug", sub);
	t = elf_symtab__open_opts(bin, &o);
	assert_non_null(t);
	assert_elf_name(t, hidden, "smolder_dbg_hidden");
	assert_string_equal(elf_symtab__debug_path(t), sub);
	elf_symtab__free(t);

	snprintf(sub, sizeof(sub), "rm -rf '%s' '%s'", dir, root);
	assert_int_equal(system(sub), 0);
}

static void test_minidebuginfo(void **state)
{
	uint64_t hidden = sym_value(DEBUG_MINI_FULL, "smolder_dbg_hidden");
	struct elf_symtab *t;

	(void)state;
	t = elf_symtab__open(DEBUG_MINI);
	assert_non_null(t);
	assert_true(elf_symtab__sources(t) & ELF_SRC_MINIDEBUG);
	assert_int_equal(elf_symtab__sources(t) & ELF_SRC_SYMTAB, 0);
	assert_elf_name(t, hidden, "smolder_dbg_hidden");
	assert_elf_name(t, sym_value(DEBUG_MINI_FULL, "main"), "main");
	assert_same_names(DEBUG_MINI_FULL, t);
	/* Merged: smolder_dbg_alpha is only in .dynsym, smolder_dbg_hidden only in the
	 * MiniDebugInfo (checked on the files themselves), and both resolve. */
	assert_true(elf_symtab__sources(t) & ELF_SRC_DYNSYM);
	assert_true(sym_value_in(DEBUG_MINI, "smolder_dbg_alpha", SHT_DYNSYM) != 0);
	assert_int_equal(sym_value_in(DBG "/debug_mini_plain.debug", "smolder_dbg_alpha",
				      SHT_SYMTAB), 0);
	assert_true(sym_value_in(DBG "/debug_mini_plain.debug", "smolder_dbg_hidden",
				 SHT_SYMTAB) != 0);
	assert_int_equal(sym_value_in(DEBUG_MINI, "smolder_dbg_hidden", SHT_DYNSYM), 0);
	assert_elf_name(t, sym_value(DEBUG_MINI_FULL, "smolder_dbg_alpha"), "smolder_dbg_alpha");
	elf_symtab__free(t);
}

static void test_open_mem_debug_matches_by_build_id_only(void **state)
{
	size_t blen, dlen, olen;
	char *bin = read_whole(DEBUG_BUILDID, &blen);
	char *dbg, *other;
	uint64_t hidden = sym_value(DEBUG_FULL, "smolder_dbg_hidden");
	struct elf_symtab *t;
	char path[512];
	const uint8_t *bid;
	size_t len;

	(void)state;
	t = elf_symtab__open_mem(bin, blen);
	assert_non_null(t);
	bid = elf_symtab__build_id(t, &len);
	assert_int_equal(len, 20);
	snprintf(path, sizeof(path), DEBUG_ROOT "/.build-id/%02x/", bid[0]);
	for (size_t i = 1; i < len; i++)
		snprintf(path + strlen(path), 3, "%02x", bid[i]);
	strcat(path, ".debug");
	elf_symtab__free(t);
	dbg = read_whole(path, &dlen);
	other = read_whole(DBG "/badcrc/debug_badcrc.debug", &olen);

	t = elf_symtab__open_mem_debug(bin, blen, dbg, dlen);
	assert_non_null(t);
	assert_true(elf_symtab__sources(t) & ELF_SRC_DEBUG_BUILDID);
	assert_elf_name(t, hidden, "smolder_dbg_hidden");
	elf_symtab__free(t);
	/* A debug image of another build: refused; the file's own table stays. */
	t = elf_symtab__open_mem_debug(bin, blen, other, olen);
	assert_non_null(t);
	assert_int_equal(elf_symtab__sources(t) & (ELF_SRC_DEBUG_BUILDID | ELF_SRC_DEBUGLINK), 0);
	assert_elf_name(t, hidden, NULL);
	elf_symtab__free(t);
	/* A truncated debug image: ignored, not fatal. */
	t = elf_symtab__open_mem_debug(bin, blen, dbg, dlen / 2);
	assert_non_null(t);
	elf_symtab__free(t);
	free(bin);
	free(dbg);
	free(other);
}

/* ---- processes ---- */

static void test_process_stripped_binary_uses_debug_dirs(void **state)
{
	struct symbolizer_opts so = { .debug_dirs = test_dirs, .ndebug_dirs = 1 };
	struct symbolizer *s = symbolizer__new(&so);
	struct fixture f;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, DEBUG_BUILDID);
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_dbg_hidden"), "smolder_dbg_hidden");
	assert_resolves(s, f.pid, fixture_addr(&f, "smolder_dbg_burn") + 1, "smolder_dbg_burn");
	fixture_stop(&f);
	symbolizer__free(s);
}

/*
 * Deleted after start, then the process exits before any address is resolved: the
 * file was opened (through /proc/PID/map_files) when its maps were first read, and it
 * is that open file that gets parsed.
 */
static void test_deleted_binary_after_exit(void **state)
{
	struct symbolizer_opts so = { .debug_dirs = test_dirs, .ndebug_dirs = 1 };
	struct symbolizer *s = symbolizer__new(&so);
	char path[] = "/tmp/smolder-deleted-XXXXXX";
	struct symbol sym;
	struct fixture f;
	uint64_t hidden;
	int fd;

	(void)state;
	assert_non_null(s);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	copy_file(DEBUG_BUILDID, path);
	fixture_start(&f, path);
	hidden = fixture_addr(&f, "smolder_dbg_hidden");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symbolizer__load_process(s, f.pid), 0);
	pid_t pid = f.pid;
	fixture_stop(&f);
	assert_int_equal(kill(pid, 0), -1);

	assert_int_equal(symbolizer__resolve_user(s, pid, hidden + 2, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "smolder_dbg_hidden");
	assert_int_equal(sym.offset, 2);
	/* The module is the path the process knew, without " (deleted)". */
	assert_string_equal(sym.module, path);
	symbolizer__free(s);
}

/*
 * A process that lives ~30 ms: its maps and files are captured at "its first sample"
 * (load_process while it runs), and everything is resolved after it exited. Its
 * symbols are only in a debug file, which is parsed after the exit.
 */
static void test_short_lived_process_captured_at_first_sample(void **state)
{
	struct symbolizer_opts so = { .debug_dirs = test_dirs, .ndebug_dirs = 1 };
	struct symbolizer *s = symbolizer__new(&so);
	struct fixture f;
	struct symbol sym;
	uint64_t burn, hidden;
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(s);
	fixture_start_args(&f, DEBUG_BUILDID, "burn", "30");
	pid = f.pid;
	burn = fixture_addr(&f, "smolder_dbg_burn");
	hidden = fixture_addr(&f, "smolder_dbg_hidden");
	/* Its first sample, while it burns its 30 ms. */
	assert_int_equal(symbolizer__load_process(s, pid), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	f.pid = 0;
	close(f.in);
	fclose(f.out);

	/* Gone; its binary is stripped and was not parsed before it exited. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(symbolizer__resolve_user(s, pid, burn + 4, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "smolder_dbg_burn");
	assert_int_equal(sym.offset, 4);
	assert_string_equal(sym.module, DEBUG_BUILDID);
	assert_resolves(s, pid, hidden, "smolder_dbg_hidden");
	symbolizer__free(s);
}

/* Without load_process before exit, a deleted binary cannot be read any more: the
 * test above must not pass for another reason. */
static void test_deleted_binary_unread_before_exit_is_unknown(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	char path[] = "/tmp/smolder-deleted-XXXXXX";
	struct symbol sym;
	struct fixture f;
	pid_t pid;
	int fd;

	(void)state;
	assert_non_null(s);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	copy_file(DEBUG_FIXTURE, path);
	fixture_start(&f, path);
	assert_int_equal(unlink(path), 0);
	pid = f.pid;
	uint64_t alpha = fixture_addr(&f, "smolder_dbg_alpha");
	fixture_stop(&f);
	assert_int_equal(symbolizer__resolve_user(s, pid, alpha, &sym), -ESRCH);
	symbolizer__free(s);
}

/*
 * A binary replaced on disk (new file renamed over the path) while the old one runs:
 * each process gets its own file's names, and copies of one build-id at different
 * paths share one parsed table.
 */
static void test_replaced_binary_and_build_id_identity(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	char dir[] = "/tmp/smolder-replace-XXXXXX";
	char path[256], tmp[256], copy2[256];
	struct symbolizer_stats st;
	struct fixture a, b, c;

	(void)state;
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app", dir);
	snprintf(tmp, sizeof(tmp), "%s/app.new", dir);
	snprintf(copy2, sizeof(copy2), "%s/app-copy", dir);
	copy_file(DEBUG_FULL, path);
	copy_file(DEBUG_FULL, copy2);
	fixture_start(&a, path);
	/* Deploy: the new build (other code layout) renamed over the old path. */
	copy_file(NAMES_FIXTURE, tmp);
	assert_int_equal(rename(tmp, path), 0);
	fixture_start(&b, path);
	fixture_start(&c, copy2);

	assert_resolves(s, a.pid, fixture_addr(&a, "smolder_dbg_alpha"), "smolder_dbg_alpha");
	assert_resolves(s, b.pid, fixture_addr(&b, "rust_v0"), "mycrate::foo");
	assert_resolves(s, a.pid, fixture_addr(&a, "smolder_dbg_hidden"), "smolder_dbg_hidden");
	symbolizer__stats(s, &st);
	size_t parses = st.elf_parses;
	/* Same build-id, another path: no new parse. */
	assert_resolves(s, c.pid, fixture_addr(&c, "smolder_dbg_hidden"), "smolder_dbg_hidden");
	symbolizer__stats(s, &st);
	assert_int_equal(st.elf_parses, parses);

	fixture_stop(&a);
	fixture_stop(&b);
	fixture_stop(&c);
	unlink(path);
	unlink(copy2);
	rmdir(dir);
	symbolizer__free(s);
}

/* ---- JIT perf maps ---- */

static void test_perfmap_parse(void **state)
{
	static const char text[] = "1000 10 first\n"
				   "0x2000 0x20 LazyCompile:~foo /app/x.js:1\n"
				   "garbage line\n"
				   "3000 0 zero-size\n"
				   "ffffffffffffffff 10 wraps\n"
				   "1000 8 first-recompiled\n"
				   "4000 10 partial";
	struct perfmap *m = perfmap__new();
	uint64_t off = 0;
	size_t consumed;

	(void)state;
	assert_non_null(m);
	assert_int_equal(perfmap__parse(m, text, sizeof(text) - 1, &consumed), 0);
	/* The last line has no newline yet: not consumed. */
	assert_int_equal(consumed, sizeof(text) - 1 - strlen("4000 10 partial"));
	assert_int_equal(perfmap__count(m), 3);
	assert_string_equal(perfmap__lookup(m, 0x2010, &off), "LazyCompile:~foo /app/x.js:1");
	assert_int_equal(off, 0x10);
	/* Same start: the later line wins. */
	assert_string_equal(perfmap__lookup(m, 0x1004, &off), "first-recompiled");
	assert_null(perfmap__lookup(m, 0x2020, &off));
	assert_null(perfmap__lookup(m, 0x3000, &off));
	assert_null(perfmap__lookup(m, 0xfff, &off));
	/* The rest of the line arrives. */
	assert_int_equal(perfmap__parse(m, "4000 10 partial\n", 16, &consumed), 0);
	assert_int_equal(consumed, 16);
	assert_string_equal(perfmap__lookup(m, 0x400f, &off), "partial");
	/* Earlier names stay valid. */
	assert_string_equal(perfmap__lookup(m, 0x2000, &off), "LazyCompile:~foo /app/x.js:1");
	perfmap__free(m);
}

static void write_perfmap(const char *path, const char *text, bool append)
{
	int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_jit_perfmap_in_anonymous_code(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbol sym;
	char path[64], line[128];
	struct timespec ts = { 0, 60 * 1000 * 1000 };
	uint8_t *code;

	(void)state;
	assert_non_null(s);
	/* Anonymous executable memory of this process, as a JIT makes it. */
	code = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_true(code != MAP_FAILED);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	snprintf(line, sizeof(line), "%llx 100 JS:hot_function /app/a.js:10\n",
		 (unsigned long long)(uintptr_t)code);
	write_perfmap(path, line, false);

	assert_int_equal(symbolizer__resolve_user(s, getpid(), (uintptr_t)code + 0x10, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "JS:hot_function /app/a.js:10");
	assert_int_equal(sym.offset, 0x10);
	assert_int_equal(sym.kind, SYMBOL_JIT);
	assert_string_equal(sym.module, "[anon]");

	/* Code compiled later is appended; its first lookup may miss (not cached), and
	 * after the re-read interval it is found. */
	assert_int_equal(symbolizer__resolve_user(s, getpid(), (uintptr_t)code + 0x1010, &sym), 0);
	assert_null(sym.name);
	snprintf(line, sizeof(line), "%llx 80 JS:later\n",
		 (unsigned long long)(uintptr_t)code + 0x1000);
	write_perfmap(path, line, true);
	nanosleep(&ts, NULL);
	assert_int_equal(symbolizer__resolve_user(s, getpid(), (uintptr_t)code + 0x1010, &sym), 0);
	assert_non_null(sym.name);
	assert_string_equal(sym.name, "JS:later");
	assert_int_equal(sym.kind, SYMBOL_JIT);

	/* With no_jit, nothing is read. */
	symbolizer__free(s);
	s = symbolizer__new(&(struct symbolizer_opts){ .no_jit = true });
	assert_non_null(s);
	assert_int_equal(symbolizer__resolve_user(s, getpid(), (uintptr_t)code + 0x10, &sym), 0);
	assert_null(sym.name);

	unlink(path);
	munmap(code, 8192);
	symbolizer__free(s);
}

/* A perf map that is a symlink (to any file the process wants us to read) is refused. */
static void test_jit_perfmap_symlink_refused(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	char path[64], target[] = "/tmp/smolder-target-XXXXXX", line[128];
	struct symbol sym;
	uint8_t *code;
	int fd;

	(void)state;
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_true(code != MAP_FAILED);
	fd = mkstemp(target);
	assert_true(fd >= 0);
	close(fd);
	snprintf(line, sizeof(line), "%llx 100 secret\n", (unsigned long long)(uintptr_t)code);
	write_perfmap(target, line, false);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(symbolizer__resolve_user(s, getpid(), (uintptr_t)code, &sym), 0);
	assert_null(sym.name);
	unlink(path);
	unlink(target);
	munmap(code, 4096);
	symbolizer__free(s);
}

/* ---- names ---- */

static void test_demangle_cxx_and_rust(void **state)
{
	struct elf_symtab *t = elf_symtab__open(NAMES_FIXTURE);
	uint64_t off;
	char *d;

	(void)state;
	assert_non_null(t);
	assert_string_equal(elf_symtab__resolve(t, sym_value(NAMES_FIXTURE,
							      "_ZNK10smolder_ns3BoxIlE3getEi"),
						&off, true),
			    "smolder_ns::Box<long>::get(int) const");
	assert_string_equal(elf_symtab__resolve(t, sym_value(NAMES_FIXTURE,
							      "_ZN10smolder_ns3sumIdLi3EEET_RAT0__KS1_"),
						&off, true),
			    "double smolder_ns::sum<double, 3>(double const (&) [3])");
	/* Rust legacy: the hash is dropped. */
	assert_string_equal(elf_symtab__resolve(t, sym_value(NAMES_FIXTURE,
							      "_ZN4core3fmt5write17h0123456789abcdefE"),
						&off, true),
			    "core::fmt::write");
	/* Rust v0. */
	assert_string_equal(elf_symtab__resolve(t, sym_value(NAMES_FIXTURE,
							      "_RNvCs1234_7mycrate3foo") + 1,
						&off, true),
			    "mycrate::foo");
	assert_int_equal(off, 1);
	/* Raw on request, and a second demangled lookup gives the same (cached) name. */
	assert_string_equal(elf_symtab__resolve(t, sym_value(NAMES_FIXTURE,
							      "_RNvCs1234_7mycrate3foo"),
						&off, false),
			    "_RNvCs1234_7mycrate3foo");
	assert_string_equal(elf_symtab__resolve(t, sym_value(NAMES_FIXTURE, "main"), &off, true),
			    "main");
	elf_symtab__free(t);

	d = symbolizer__demangle("_RNvMNtCs9ltgdHTiPiY_4core3fmtNtB2_9Formatter3pad");
	assert_non_null(d);
	assert_string_equal(d, "<core::fmt::Formatter>::pad");
	free(d);
	assert_null(symbolizer__demangle("main"));
	assert_null(symbolizer__demangle("_Z"));
	assert_null(symbolizer__demangle("_RNvC"));
}

static void test_process_names_are_demangled_unless_raw(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbolizer *raw = symbolizer__new(&(struct symbolizer_opts){ .raw_names = true });
	struct fixture f;

	(void)state;
	assert_non_null(s);
	assert_non_null(raw);
	fixture_start(&f, NAMES_FIXTURE);
	assert_resolves(s, f.pid, fixture_addr(&f, "rust_legacy"), "core::fmt::write");
	assert_resolves(raw, f.pid, fixture_addr(&f, "rust_legacy"),
			"_ZN4core3fmt5write17h0123456789abcdefE");
	assert_resolves(s, f.pid, fixture_addr(&f, "sum"),
			"double smolder_ns::sum<double, 3>(double const (&) [3])");
	fixture_stop(&f);
	symbolizer__free(s);
	symbolizer__free(raw);
}

static void test_inline_frames(void **state)
{
	struct symbolizer *s = symbolizer__new(&(struct symbolizer_opts){ .inline_frames = true });
	struct symbolizer *off = symbolizer__new(NULL);
	struct symbol frames[8], sym;
	struct fixture f;
	uint64_t burn, alpha;
	int found = 0;

	(void)state;
	assert_non_null(s);
	fixture_start(&f, DEBUG_FIXTURE);
	burn = fixture_addr(&f, "smolder_dbg_burn");
	alpha = fixture_addr(&f, "smolder_dbg_alpha");
	/* Somewhere in smolder_dbg_burn's loop is the inlined leaf. */
	for (uint64_t a = burn; a < burn + 0x100; a++) {
		int n;

		assert_int_equal(symbolizer__resolve_user(s, f.pid, a, &sym), 0);
		if (!sym.name || strcmp(sym.name, "smolder_dbg_burn"))
			break;
		n = symbolizer__inline_frames(s, f.pid, a, frames, 8);
		assert_true(n >= 0);
		if (n > 0) {
			assert_string_equal(frames[0].name, "smolder_dbg_inlined_leaf");
			assert_int_equal(frames[0].kind, SYMBOL_INLINED);
			found++;
		}
	}
	assert_true(found > 0);
	/* No inlining in smolder_dbg_alpha. */
	assert_int_equal(symbolizer__inline_frames(s, f.pid, alpha + 1, frames, 8), 0);
	/* Off unless asked for. */
	assert_int_equal(symbolizer__inline_frames(off, f.pid, burn, frames, 8), -ENOTSUP);
	fixture_stop(&f);
	symbolizer__free(s);
	symbolizer__free(off);
}

/* ---- caches ---- */

static void test_memory_limit_and_stats(void **state)
{
	/* A limit smaller than any two tables: every new file evicts the others. */
	struct symbolizer_opts so = { .max_bytes = 1 };
	struct symbolizer *s = symbolizer__new(&so);
	struct symbolizer_stats st;
	struct fixture a, b;

	(void)state;
	assert_non_null(s);
	fixture_start(&a, DEBUG_FIXTURE);
	fixture_start(&b, NAMES_FIXTURE);
	for (int round = 0; round < 3; round++) {
		assert_resolves(s, a.pid, fixture_addr(&a, "smolder_dbg_alpha") + 1,
				"smolder_dbg_alpha");
		assert_resolves(s, b.pid, fixture_addr(&b, "rust_v0"), "mycrate::foo");
	}
	symbolizer__stats(s, &st);
	assert_true(st.elf_evictions > 0);
	assert_true(st.elf_files <= 2);
	assert_int_equal(st.lookups, 6);
	symbolizer__free(s);

	/* Default limits: repeated addresses are cache hits. */
	s = symbolizer__new(NULL);
	assert_non_null(s);
	for (int i = 0; i < 10; i++)
		assert_resolves(s, a.pid, fixture_addr(&a, "smolder_dbg_alpha"),
				"smolder_dbg_alpha");
	symbolizer__stats(s, &st);
	assert_int_equal(st.lookups, 10);
	assert_int_equal(st.hits, 9);
	assert_true(st.hit_rate > 0.89 && st.hit_rate < 0.91);
	assert_true(st.elf_bytes > 0);
	assert_true(st.bytes > st.elf_bytes);
	assert_int_equal(st.processes, 1);
	fixture_stop(&a);
	fixture_stop(&b);
	symbolizer__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_file_by_build_id),
		cmocka_unit_test(test_debug_file_by_debuglink_checks_crc),
		cmocka_unit_test(test_debuglink_search_dirs),
		cmocka_unit_test(test_minidebuginfo),
		cmocka_unit_test(test_open_mem_debug_matches_by_build_id_only),
		cmocka_unit_test(test_process_stripped_binary_uses_debug_dirs),
		cmocka_unit_test(test_deleted_binary_after_exit),
		cmocka_unit_test(test_deleted_binary_unread_before_exit_is_unknown),
		cmocka_unit_test(test_short_lived_process_captured_at_first_sample),
		cmocka_unit_test(test_replaced_binary_and_build_id_identity),
		cmocka_unit_test(test_perfmap_parse),
		cmocka_unit_test(test_jit_perfmap_in_anonymous_code),
		cmocka_unit_test(test_jit_perfmap_symlink_refused),
		cmocka_unit_test(test_demangle_cxx_and_rust),
		cmocka_unit_test(test_process_names_are_demangled_unless_raw),
		cmocka_unit_test(test_inline_frames),
		cmocka_unit_test(test_memory_limit_and_stats),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
