/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_debug_frame.c - the .debug_frame rewriter (agent/debug_frame.c) on real
 * sections: a C program built with -fno-asynchronous-unwind-tables (its functions
 * have .debug_frame entries and no .eh_frame ones), plain and zlib-compressed, and
 * the Go fixture's section from the fuzz corpus. The search table libunwind bisects
 * must be sorted, every entry must lead to a well-formed FDE, and the FDEs must cover
 * the program's functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "debug_frame.h"

#define PLACE 0x10000000 /* past the fixtures' code, as the unwinder places it */

static const char *const fixture_functions[] = {
	"main", "func_a", "func_b", "func_c", "sort_a", "sort_b", "compare", "spin",
};

struct elf_file {
	int fd;
	Elf *elf;
};

static Elf *open_elf(struct elf_file *f, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
	elf_version(EV_CURRENT);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(f->fd >= 0);
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	assert_non_null(f->elf);
	return f->elf;
}

static void close_elf(struct elf_file *f)
{
	elf_end(f->elf);
	close(f->fd);
}

/* Every entry checks out (which includes: not below the one before it). */
static void assert_table_sound(const struct debug_frame_eh *eh)
{
	uint64_t start, end, prev = 0;

	assert_true(eh->fde_count > 0);
	for (uint64_t i = 0; i < eh->fde_count; i++) {
		assert_int_equal(debug_frame__entry(eh, i, &start, &end), 0);
		assert_true(start >= prev);
		assert_true(end > start);
		prev = start;
	}
	assert_int_equal(debug_frame__entry(eh, eh->fde_count, &start, &end), -ERANGE);
}

/* The entry covering [@lo, @hi), found by bisection as libunwind finds it. */
static bool covered(const struct debug_frame_eh *eh, uint64_t lo, uint64_t hi)
{
	uint64_t a = 0, b = eh->fde_count, start, end;

	while (b - a > 1) {
		uint64_t mid = a + (b - a) / 2;

		assert_int_equal(debug_frame__entry(eh, mid, &start, &end), 0);
		if (start <= lo)
			a = mid;
		else
			b = mid;
	}
	assert_int_equal(debug_frame__entry(eh, a, &start, &end), 0);
	return start <= lo && hi <= end;
}

static void assert_functions_covered(Elf *elf, const struct debug_frame_eh *eh)
{
	size_t found = 0;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !(name = elf_strptr(elf, sh.sh_link, sym.st_name)))
				continue;
			for (size_t k = 0; k < sizeof(fixture_functions) / sizeof(*fixture_functions); k++) {
				if (strcmp(name, fixture_functions[k]))
					continue;
				if (!covered(eh, sym.st_value, sym.st_value + sym.st_size))
					fail_msg("%s [0x%llx, +%llu) is not covered by an FDE", name,
						 (unsigned long long)sym.st_value,
						 (unsigned long long)sym.st_size);
				found++;
			}
		}
	}
	assert_int_equal(found, sizeof(fixture_functions) / sizeof(*fixture_functions));
}

static void test_c_program_functions_are_covered(void **state)
{
	struct debug_frame_eh eh;
	struct elf_file f;
	Elf *elf = open_elf(&f, "debug_frame_fixture");

	(void)state;
	assert_int_equal(debug_frame__load(elf, PLACE, &eh), 0);
	assert_int_equal(eh.vaddr, PLACE);
	assert_table_sound(&eh);
	assert_functions_covered(elf, &eh);
	debug_frame__free(&eh);
	assert_null(eh.data);
	close_elf(&f);
}

static void test_compressed_section_converts_the_same(void **state)
{
	struct debug_frame_eh plain, gz;
	struct elf_file f, g;
	Elf *elf = open_elf(&f, "debug_frame_fixture"), *elf_gz = open_elf(&g, "debug_frame_fixture_gz");

	(void)state;
	assert_int_equal(debug_frame__load(elf, PLACE, &plain), 0);
	assert_int_equal(debug_frame__load(elf_gz, PLACE, &gz), 0);
	assert_int_equal(gz.fde_count, plain.fde_count);
	assert_int_equal(gz.len, plain.len);
	assert_memory_equal(gz.data, plain.data, plain.len);
	debug_frame__free(&plain);
	debug_frame__free(&gz);
	close_elf(&f);
	close_elf(&g);
}

/* The Go fixture's .debug_frame (decompressed), as extracted into the fuzz corpus. */
static uint8_t *read_go_section(size_t *len)
{
	char path[4096];
	uint8_t *buf = malloc(DEBUG_FRAME_MAX);
	FILE *f;

	snprintf(path, sizeof(path), "%s/../fuzz/corpus/debug_frame/go_fixture", TEST_DATA_DIR);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, DEBUG_FRAME_MAX, f);
	fclose(f);
	assert_true(*len > 0);
	return buf;
}

static void test_go_section_every_fde_in_the_table(void **state)
{
	struct debug_frame_eh eh;
	size_t len, fdes = 0;
	uint8_t *df = read_go_section(&len);

	(void)state;
	/* Count the FDEs (records whose id is not 0xffffffff) to compare. */
	for (size_t off = 0; off + 8 <= len;) {
		uint32_t l, id;

		memcpy(&l, df + off, 4);
		memcpy(&id, df + off + 4, 4);
		fdes += id != 0xffffffff;
		off += 4 + (size_t)l;
	}
	assert_int_equal(debug_frame__convert(df, len, PLACE, &eh), 0);
	assert_int_equal(eh.fde_count, fdes);
	assert_table_sound(&eh);
	/* Go's text starts at 0x401000 in a non-PIE binary. */
	assert_true(covered(&eh, 0x401000, 0x401001));
	debug_frame__free(&eh);
	free(df);
}

/* FDEs for code at or above the placement cannot be in the table; with none left,
 * there is nothing to convert. */
static void test_fdes_above_the_placement_are_dropped(void **state)
{
	struct debug_frame_eh eh;
	size_t len;
	uint8_t *df = read_go_section(&len);

	(void)state;
	assert_int_equal(debug_frame__convert(df, len, 0x401000, &eh), -ENOENT);
	assert_int_equal(debug_frame__convert(df, len, 0x420000, &eh), 0);
	assert_table_sound(&eh);
	debug_frame__free(&eh);
	free(df);
}

static void test_rejects_what_is_not_a_section(void **state)
{
	static const uint8_t zeros[64];
	struct debug_frame_eh eh = { 0 };
	uint8_t *big = calloc(1, (size_t)DEBUG_FRAME_MAX + 1);

	(void)state;
	assert_int_equal(debug_frame__convert(zeros, 0, PLACE, &eh), -ENOENT);
	assert_int_equal(debug_frame__convert(zeros, sizeof(zeros), PLACE, &eh), -ENOENT);
	assert_non_null(big);
	assert_int_equal(debug_frame__convert(big, (size_t)DEBUG_FRAME_MAX + 1, PLACE, &eh), -E2BIG);
	assert_null(eh.data);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_program_functions_are_covered),
		cmocka_unit_test(test_compressed_section_converts_the_same),
		cmocka_unit_test(test_go_section_every_fde_in_the_table),
		cmocka_unit_test(test_fdes_above_the_placement_are_dropped),
		cmocka_unit_test(test_rejects_what_is_not_a_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
