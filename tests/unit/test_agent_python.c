/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_agent_python.c - the line numbers of Python frames: python_line() against the
 * interpreters themselves. Each CPython 3.11+ on the machine dumps the location
 * tables of real code objects (its own threading module, and generated code with
 * long jumps back and forth) with the line of every instruction as co_lines() gives
 * it; every instruction must map to the same line here.
 */
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

#include "python.h"

static const char *const pythons[] = {
	"/usr/bin/python3.11",
	"/root/.pyenv/versions/3.11.7/bin/python3.11",
	"/root/.pyenv/versions/3.12.1/bin/python3.12",
	"/root/.pyenv/versions/3.13.0/bin/python3.13",
};

/* Per code object: "CODE firstlineno hex", then "start end line" per range
 * (line -1: none), then "END". */
static const char dump_script[] =
	"import threading, json.decoder\n"
	"src = 'def f(n):\\n' + '\\n' * 70 + '    x = 0\\n    for i in range(n):\\n'"
	" + '        x += i\\n' + '\\n' * 300 + '        if x > 5: x -= 1\\n'"
	" + '    return x\\n'\n"
	"ns = {}\n"
	"mod = compile(src, 'gen.py', 'exec')\n"
	"exec(mod, ns)\n"
	"def dump(co):\n"
	"    print('CODE', co.co_firstlineno, co.co_linetable.hex() or '-')\n"
	"    for s, e, l in co.co_lines():\n"
	"        print(s, e, -1 if l is None else l)\n"
	"    print('END')\n"
	"for co in (ns['f'].__code__, mod, threading.Thread._bootstrap_inner.__code__,\n"
	"           threading.Thread.join.__code__, json.decoder.JSONDecoder.raw_decode.__code__):\n"
	"    dump(co)\n";

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (!strcmp(hex, "-"))
		return 0;
	while (hex[0] && hex[1] && n < max) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* Check every instruction of every code object @python dumps; @return how many. */
static unsigned check_python(const char *python)
{
	char cmd[512], line[1 << 17];
	static uint8_t table[1 << 16];
	size_t tlen = 0;
	int first = 0;
	unsigned checked = 0, codes = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s -c \"$SCRIPT\"", python);
	setenv("SCRIPT", dump_script, 1);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char hex[sizeof(line)];
		unsigned s, e;
		int l;

		if (sscanf(line, "CODE %d %s", &first, hex) == 2) {
			tlen = unhex(hex, table, sizeof(table));
			codes++;
		} else if (sscanf(line, "%u %u %d", &s, &e, &l) == 3) {
			for (unsigned at = s; at < e; at += 2) {
				int got = python_line(table, tlen, first, at);

				if (got != l)
					fail_msg("%s: code object %u, byte %u: line %d, CPython says %d",
						 python, codes, at, got, l);
				checked++;
			}
		}
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(codes, 5);
	return checked;
}

static void test_lines_match_cpython(void **state)
{
	unsigned versions = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(pythons) / sizeof(pythons[0]); i++) {
		if (access(pythons[i], X_OK))
			continue;
		unsigned n = check_python(pythons[i]);

		assert_true(n > 100);
		versions++;
	}
	if (!versions)
		skip(); /* no CPython 3.11+ on this machine */
}

static void test_malformed_tables(void **state)
{
	/* No entry start bit, a varint running off the end, an empty table: no line,
	 * and no read past the end. */
	const uint8_t no_start[] = { 0x10, 0x20 };
	const uint8_t cut_varint[] = { 0x80 | (13 << 3), 0x40 | 5 };
	const uint8_t one_line[] = { 0x80 | (11 << 3) | 1, 0, 0 }; /* 2 units, line + 1 */

	(void)state;
	assert_int_equal(python_line(no_start, sizeof(no_start), 10, 0), -1);
	assert_int_equal(python_line(cut_varint, sizeof(cut_varint), 10, 0), -1);
	assert_int_equal(python_line(NULL, 0, 10, 0), -1);
	assert_int_equal(python_line(one_line, sizeof(one_line), 10, 2), 11);
	assert_int_equal(python_line(one_line, sizeof(one_line), 10, 4), -1); /* past it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_match_cpython),
		cmocka_unit_test(test_malformed_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
