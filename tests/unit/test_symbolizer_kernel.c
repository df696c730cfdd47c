/* SPDX-License-Identifier: Apache-2.0 */
/* test_symbolizer_kernel.c - kernel addresses named through symbolizer__resolve_kernel:
 * by the kernel itself (ksym.bpf.c) as root, checked against /proc/kallsyms, and the
 * same answers from the kallsyms fallback. Needs root (BPF), as every BPF test here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbolizer.h"
#include "symbolizer_int.h"

/* Address of text symbol @name in /proc/kallsyms, 0 when absent or hidden. */
static uint64_t kallsyms_addr(const char *want)
{
	char line[512], name[256], type;
	unsigned long long addr;
	uint64_t found = 0;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    (type == 't' || type == 'T') && !strcmp(name, want))
			found = addr;
	fclose(f);
	return found;
}

/* Both ways of naming kernel addresses give the same answers. */
static void check_names(struct symbolizer *sym, uint64_t sched, uint64_t vfs)
{
	struct symbol out;

	assert_int_equal(symbolizer__resolve_kernel(sym, sched, &out), 0);
	assert_non_null(out.name);
	assert_string_equal(out.name, "schedule");
	assert_int_equal(out.offset, 0);
	assert_string_equal(out.module, "[kernel]");
	assert_int_equal(out.kind, SYMBOL_KERNEL);

	assert_int_equal(symbolizer__resolve_kernel(sym, vfs + 0x10, &out), 0);
	assert_non_null(out.name);
	assert_string_equal(out.name, "vfs_read");
	assert_int_equal(out.offset, 0x10);
}

static void test_names_kernel_functions_like_kallsyms(void **state)
{
	(void)state;
	uint64_t sched = kallsyms_addr("schedule"), vfs = kallsyms_addr("vfs_read");
	struct symbolizer_stats st;
	struct symbolizer *sym;
	struct symbol out;
	size_t before, cached;

	if (geteuid() != 0 || !sched || !vfs)
		skip(); /* no BPF, or kallsyms addresses hidden from us */
	/* The kernel's own lookup (BPF, as root). */
	sym = symbolizer__new(NULL);
	assert_non_null(sym);
	symbolizer__stats(sym, &st);
	before = st.bytes;
	assert_int_equal(symbolizer__resolve_kernel(sym, sched, &out), 0);
	symbolizer__stats(sym, &st);
	cached = st.bytes;
	/* The cache is in the symbolizer's memory: its slots at once, */
	assert_true(cached > before);
	check_names(sym, sched, vfs);
	/* Asked again: the same answers, from the cache. */
	check_names(sym, sched, vfs);
	symbolizer__stats(sym, &st);
	assert_int_equal(st.kernel_asks, 2);
	/* Another address in a function named before (another call site of it): named
	 * from the function's range, which the first answer gave, without asking. */
	assert_int_equal(symbolizer__resolve_kernel(sym, vfs + 0x21, &out), 0);
	assert_non_null(out.name);
	assert_string_equal(out.name, "vfs_read");
	assert_int_equal(out.offset, 0x21);
	assert_string_equal(out.module, "[kernel]");
	symbolizer__stats(sym, &st);
	assert_int_equal(st.kernel_asks, 2);
	/* and each name it keeps. */
	assert_true(st.bytes >= cached + sizeof("vfs_read"));
	/* The /proc/kallsyms fallback, a table of every kernel symbol: accounted too. */
	assert_int_equal(symbolizer__set_kallsyms_path(sym, "/proc/kallsyms"), 0);
	check_names(sym, sched, vfs);
	symbolizer__stats(sym, &st);
	assert_true(st.bytes >= before + 1000 * 16);
	symbolizer__free(sym);
}

static void test_user_address_has_no_kernel_symbol(void **state)
{
	(void)state;
	struct symbolizer_stats st;
	struct symbolizer *sym;
	struct symbol out;

	if (geteuid() != 0)
		skip();
	sym = symbolizer__new(NULL);
	assert_non_null(sym);
	assert_int_equal(symbolizer__resolve_kernel(sym, 0x400000, &out), 0);
	assert_null(out.name);
	/* No answer is an answer too: cached. */
	assert_int_equal(symbolizer__resolve_kernel(sym, 0x400000, &out), 0);
	assert_null(out.name);
	symbolizer__stats(sym, &st);
	assert_int_equal(st.kernel_asks, 1);
	symbolizer__free(sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_kernel_functions_like_kallsyms),
		cmocka_unit_test(test_user_address_has_no_kernel_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
