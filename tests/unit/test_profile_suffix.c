/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile_suffix.c - the one set of output-format names and file-name suffixes
 * that record, flamegraph and export all go by (profile__format_from_name,
 * profile__format_from_suffix).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "profile.h"

static void test_format_names_are_the_format_option_values(void **state)
{
	(void)state;
	assert_int_equal(profile__format_from_name("svg"), PROFILE_FORMAT_SVG);
	assert_int_equal(profile__format_from_name("folded"), PROFILE_FORMAT_FOLDED);
	assert_int_equal(profile__format_from_name("pprof"), PROFILE_FORMAT_PPROF);
	assert_int_equal(profile__format_from_name("smolder"), PROFILE_FORMAT_SMOLDER);

	/* Names, not suffixes, and spelled exactly. */
	const char *bad[] = { "", "SVG", "Folded", "svg ", "pb.gz", ".svg", "txt",
			      "collapsed", "gzip", "pprof.gz", "none", "unknown" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(profile__format_from_name(bad[i]), PROFILE_FORMAT_NONE);
}

static void test_suffixes_pick_the_format(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		enum profile_format want;
	} cases[] = {
		{ "flame.svg", PROFILE_FORMAT_SVG },
		{ "/tmp/out/flame.svg", PROFILE_FORMAT_SVG },
		{ "stacks.folded", PROFILE_FORMAT_FOLDED },
		{ "stacks.txt", PROFILE_FORMAT_FOLDED },
		{ "stacks.collapsed", PROFILE_FORMAT_FOLDED },
		{ "cpu.pb.gz", PROFILE_FORMAT_PPROF },
		{ "cpu.pprof", PROFILE_FORMAT_PPROF },
		{ "dir.d/cpu.pb.gz", PROFILE_FORMAT_PPROF },
		{ "p.smolder", PROFILE_FORMAT_SMOLDER },
		{ "a.folded.smolder", PROFILE_FORMAT_SMOLDER }, /* the last suffix decides */
		{ "a.smolder.svg", PROFILE_FORMAT_SVG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum profile_format got = profile__format_from_suffix(cases[i].path);

		if (got != cases[i].want)
			fail_msg("'%s': format %d, want %d", cases[i].path, got, cases[i].want);
	}
}

static void test_other_names_imply_no_format(void **state)
{
	(void)state;
	/* ".pb" (plain protobuf) and ".gz" alone are not what the pprof writer makes:
	 * gzip profile.proto is ".pb.gz". Suffixes are case-sensitive, and a directory's
	 * suffix says nothing about the file in it. */
	const char *none[] = {
		"", "-", "flame", "svg", "flame.SVG", "cpu.pb", "cpu.gz", "x.svg.tmp",
		"x.svg/", "out.svg/x", "stacks.fold", "p.smolderx", "cpu.pb.gz~", "a.json",
	};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		enum profile_format got = profile__format_from_suffix(none[i]);

		if (got != PROFILE_FORMAT_NONE)
			fail_msg("'%s': format %d, want none", none[i], got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names_are_the_format_option_values),
		cmocka_unit_test(test_suffixes_pick_the_format),
		cmocka_unit_test(test_other_names_imply_no_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
