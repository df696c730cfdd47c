/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile_text.h - a profile as folded text, for unit tests that compare profiles by
 * what they show. Include after <cmocka.h> and "profile.h".
 */
#ifndef SMOLDER_TEST_PROFILE_TEXT_H
#define SMOLDER_TEST_PROFILE_TEXT_H

#include <stdio.h>

/* The folded text of @p, malloc'd. */
static inline char *folded_text(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(profile__write_folded(p, f), 0);
	fclose(f);
	return buf;
}

#endif /* SMOLDER_TEST_PROFILE_TEXT_H */
