/* SPDX-License-Identifier: Apache-2.0 */
/* test_lib.c - lib/'s shared containers: LEB128 round trips and bounds, the list
 * that every LRU is made of, the growable array and the hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "list.h"
#include "varint.h"
#include "vec.h"

static void test_varint_round_trips_edge_values(void **state)
{
	(void)state;
	const uint64_t u[] = { 0, 1, 127, 128, 300, 1ull << 32, UINT64_MAX };
	const int64_t s[] = { 0, 1, -1, 63, -64, 64, -65, INT64_MIN, INT64_MAX };
	uint8_t buf[VARINT_MAX];

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		size_t n = varint_put_uleb(buf, u[i]);
		const uint8_t *p = buf;
		uint64_t v;

		assert_true(n >= 1 && n <= VARINT_MAX);
		assert_true(varint_get_uleb(&p, buf + n, &v));
		assert_int_equal(v, u[i]);
		assert_ptr_equal(p, buf + n);
		/* One byte short is refused, not read past. */
		p = buf;
		assert_false(varint_get_uleb(&p, buf + n - 1, &v));
	}
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		size_t n = varint_put_sleb(buf, s[i]);
		const uint8_t *p = buf;
		int64_t v;

		assert_true(varint_get_sleb(&p, buf + n, &v));
		assert_int_equal(v, s[i]);
		assert_int_equal(varint_unzigzag(varint_zigzag(s[i])), s[i]);
	}
	/* Known encodings (DWARF spec examples). */
	assert_int_equal(varint_put_uleb(buf, 624485), 3);
	assert_memory_equal(buf, "\xe5\x8e\x26", 3);
	assert_int_equal(varint_put_sleb(buf, -123456), 3);
	assert_memory_equal(buf, "\xc0\xbb\x78", 3);
}

static void test_varint_rejects_overflow(void **state)
{
	(void)state;
	/* 2^64: ten bytes whose last carries a bit beyond 64. */
	const uint8_t big[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02 };
	const uint8_t endless[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t *p = big;
	uint64_t v;

	assert_false(varint_get_uleb(&p, big + sizeof(big), &v));
	p = endless;
	assert_false(varint_get_uleb(&p, endless + sizeof(endless), &v));
}

struct item {
	int id;
	struct list_node node;
};

static void test_list_keeps_lru_order(void **state)
{
	(void)state;
	struct item it[3] = { { .id = 0 }, { .id = 1 }, { .id = 2 } };
	struct list_node head, *pos, *tmp;
	int n = 0;

	list_init(&head);
	assert_true(list_empty(&head));
	assert_null(list_last(&head));
	for (int i = 0; i < 3; i++)
		list_add_front(&head, &it[i].node);
	/* Front is the most recent (2), back the least (0); touching 0 makes 1 last. */
	assert_int_equal(container_of(list_first(&head), struct item, node)->id, 2);
	assert_int_equal(container_of(list_last(&head), struct item, node)->id, 0);
	list_move_front(&head, &it[0].node);
	assert_int_equal(container_of(list_last(&head), struct item, node)->id, 1);
	list_del(&it[1].node);
	list_del(&it[1].node); /* harmless twice */
	assert_int_equal(container_of(list_last(&head), struct item, node)->id, 2);
	list_for_each_safe(pos, tmp, &head) {
		list_del(pos);
		n++;
	}
	assert_int_equal(n, 2);
	assert_true(list_empty(&head));
}

static void test_vec_grows_and_frees(void **state)
{
	(void)state;
	VEC(uint32_t) v = { 0 };

	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(VEC_PUSH(v, i * 3), 0);
	assert_int_equal(v.len, 1000);
	assert_true(v.cap >= 1000);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(v.v[i], i * 3);
	assert_int_equal(VEC_RESERVE(v, (size_t)1 << 62), -ENOMEM);
	assert_int_equal(v.len, 1000); /* a failed reserve leaves it as it was */
	VEC_FREE(v);
	assert_null(v.v);
	assert_int_equal(v.len, 0);
}

static void test_hashes_match_reference_values(void **state)
{
	(void)state;
	/* FNV-1a 64 reference values (Fowler/Noll/Vo test suite). */
	assert_true(hash_fnv1a("", 0, 0) == 0xcbf29ce484222325ULL);
	assert_true(hash_fnv1a("a", 1, 0) == 0xaf63dc4c8601ec8cULL);
	assert_true(hash_fnv1a_str("foobar", 0) == 0x85944171f73967e8ULL);
	assert_true(hash_fnv1a_more(hash_fnv1a("foo", 3, 0), "bar", 3) ==
		    hash_fnv1a_str("foobar", 0));
	assert_true(hash_mix64(0) == 0);
	assert_true(hash_mix64(1) != hash_mix64(2));
	for (uint64_t h = 0; h < 1000; h++)
		assert_true(hash_reduce(hash_mix64(h), 7) < 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_round_trips_edge_values),
		cmocka_unit_test(test_varint_rejects_overflow),
		cmocka_unit_test(test_list_keeps_lru_order),
		cmocka_unit_test(test_vec_grows_and_frees),
		cmocka_unit_test(test_hashes_match_reference_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
