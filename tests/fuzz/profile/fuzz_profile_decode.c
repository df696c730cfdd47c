/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_profile_decode.c - libFuzzer harness for every reader of untrusted profile
 * bytes: the .smolder decoder (whole files and raw chunks of every major version,
 * bypassing the zstd checksum so the chunk parser itself is reached), the gzip pprof
 * reader and the
 * folded text reader. Whatever the input, they must return 0 or a negative errno,
 * never crash, leak or read out of bounds; what they accept must write back out.
 *
 * Built by tests/fuzz/profile/CMakeLists.txt with -fsanitize=fuzzer; the corpus in
 * tests/fuzz/corpus/profile/ is replayed by tests/unit/test_profile_corpus.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "profile.h"
#include "profile_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever a reader accepted must be consistent enough to write out again. */
static void write_back(const struct profile *p)
{
	FILE *null = fopen("/dev/null", "we");
	if (!null)
		return;
	if (profile__write_folded(p, null) || profile__write_file(p, null, 0) ||
	    profile__write_pprof(p, null))
		abort();
	fclose(null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = profile__new();
	struct chunk_decoder d = { 0 }, d1 = { .major = 1 };
	struct profile_filter f = { .service = "api", .from_ns = 1 };
	int err;

	if (!p)
		return 0;
	/* Whole files go to their reader as profile__load() would send them; anything
	 * else picks a reader by its first byte, so one corpus covers all of them. */
	if (profile__is_smolder(data, size)) {
		err = profile__decode(p, data, size, size % 2 ? &f : NULL, NULL);
	} else if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		err = profile__decode_pprof(p, data, size, size % 2 ? &f : NULL);
	} else switch (size ? data[0] % 3 : 0) {
	case 0:
		/* A raw chunk, as if it had passed its checksum; twice, so the second
		 * sees ids defined by the first: as a chunk of the current version, then
		 * of version 1 (into the same profile, as a store query would). */
		err = size ? profile__apply_chunk(p, &d, data + 1, size - 1, NULL) : 0;
		if (!err && size)
			err = profile__apply_chunk(p, &d, data + 1, size - 1, &f);
		if (err > 0)
			abort();
		err = size ? profile__apply_chunk(p, &d1, data + 1, size - 1, NULL) : 0;
		if (!err && size)
			err = profile__apply_chunk(p, &d1, data + 1, size - 1, &f);
		break;
	case 1:
		/* Plain (not gzip) profile.proto. */
		err = profile__decode_pprof(p, data + 1, size - 1, NULL);
		break;
	default: {
		FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
		err = in ? profile__read_folded(p, in, NULL) : 0;
		if (in)
			fclose(in);
		break;
	}
	}
	if (err > 0)
		abort(); /* the contract: 0 or a negative errno */
	if (!err)
		write_back(p);
	chunk_decoder__free(&d);
	chunk_decoder__free(&d1);
	profile__free(p);
	return 0;
}
