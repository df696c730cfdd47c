/* SPDX-License-Identifier: Apache-2.0 */
/* test_ksym.c - kernel symbols named by the kernel (ksym.bpf.c), checked against
 * /proc/kallsyms. Needs root (BPF), as every BPF test here. */
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

#include "agent.h"

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

static void test_names_kernel_functions_like_kallsyms(void **state)
{
	(void)state;
	uint64_t sched = kallsyms_addr("schedule"), vfs = kallsyms_addr("vfs_read");
	const char *name, *module;
	uint64_t off;
	struct ksym *k;

	if (geteuid() != 0 || !sched || !vfs)
		skip(); /* no BPF, or kallsyms addresses hidden from us */
	k = ksym__new();
	assert_non_null(k);

	assert_int_equal(ksym__resolve(k, sched, &name, &off, &module), 0);
	assert_string_equal(name, "schedule");
	assert_int_equal(off, 0);
	assert_string_equal(module, "[kernel]");

	assert_int_equal(ksym__resolve(k, vfs + 0x10, &name, &off, &module), 0);
	assert_string_equal(name, "vfs_read");
	assert_int_equal(off, 0x10);
	ksym__free(k);
}

static void test_user_address_has_no_kernel_symbol(void **state)
{
	(void)state;
	const char *name, *module;
	uint64_t off;
	struct ksym *k;

	if (geteuid() != 0)
		skip();
	k = ksym__new();
	assert_non_null(k);
	assert_int_equal(ksym__resolve(k, 0x400000, &name, &off, &module), -ENOENT);
	assert_null(name);
	ksym__free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_kernel_functions_like_kallsyms),
		cmocka_unit_test(test_user_address_has_no_kernel_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
