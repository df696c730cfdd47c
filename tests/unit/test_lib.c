/* SPDX-License-Identifier: Apache-2.0 */
/* test_lib.c - lib/'s shared containers: LEB128 round trips and bounds, the list
 * that every LRU is made of, the growable array, the object pool, the hashes, and
 * bounded reads of
 * files, pipes and /proc files. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "file.h"
#include "hash.h"
#include "list.h"
#include "pool.h"
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

/* A put object comes back, zeroed, newest first; past the bound a put frees (ASan
 * would report a leak otherwise, and a kept count above max fails here). Under ASan
 * a pool keeps nothing. */
static void test_pool_reuses_zeroed_objects_up_to_its_bound(void **state)
{
	(void)state;
	struct obj { void *next; char data[40]; };
	struct obj_pool p = OBJ_POOL_INIT(sizeof(struct obj), 2);
	struct obj *a = obj_pool_get(&p), *b = obj_pool_get(&p), *c = obj_pool_get(&p);

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	memset(a, 0xab, sizeof(*a));
	memset(b, 0xcd, sizeof(*b));
	obj_pool_put(&p, a);
	obj_pool_put(&p, b);
	obj_pool_put(&p, c); /* the third is freed */
	obj_pool_put(&p, NULL);
	if (!OBJ_POOL_KEEPS) {
		/* ASan: all three freed, and the next get is a new object. */
		assert_int_equal(p.n, 0);
		assert_int_equal(p.max, 0);
		a = obj_pool_get(&p);
		assert_non_null(a);
		obj_pool_put(&p, a);
		assert_null(p.head);
		return;
	}
	assert_int_equal(p.n, 2);

	struct obj *x = obj_pool_get(&p), *y = obj_pool_get(&p);
	const struct obj zero = { 0 };

	assert_ptr_equal(x, b);
	assert_ptr_equal(y, a);
	assert_int_equal(p.n, 0);
	assert_memory_equal(x, &zero, sizeof(zero));
	assert_memory_equal(y, &zero, sizeof(zero));
	obj_pool_put(&p, x);
	obj_pool_put(&p, y);
	obj_pool_clear(&p);
	assert_int_equal(p.n, 0);
	assert_null(p.head);
	/* still usable after a clear */
	x = obj_pool_get(&p);
	assert_non_null(x);
	obj_pool_put(&p, x);
	obj_pool_clear(&p);
}

static void test_vec_reserve_exact_append_and_bounds(void **state)
{
	(void)state;
	VEC(uint32_t) v = { 0 };
	const uint32_t more[5] = { 7, 8, 9, 10, 11 };
	volatile size_t huge = SIZE_MAX;

	/* Exact: the capacity asked for, not the next doubling; never shrinks. */
	assert_int_equal(VEC_RESERVE_EXACT(v, 1000), 0);
	assert_int_equal(v.cap, 1000);
	assert_int_equal(VEC_RESERVE_EXACT(v, 10), 0);
	assert_int_equal(v.cap, 1000);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(VEC_PUSH(v, i), 0);
	assert_int_equal(v.cap, 1000); /* filled without moving */
	assert_int_equal(VEC_RESERVE_EXACT(v, 1001), 0);
	assert_int_equal(v.cap, 1001);

	/* Append: the items follow the old ones, in order; an empty append is a no-op. */
	assert_int_equal(VEC_APPEND(v, more, 5), 0);
	assert_int_equal(v.len, 1005);
	assert_int_equal(v.v[999], 999);
	assert_memory_equal(v.v + 1000, more, sizeof(more));
	assert_int_equal(VEC_APPEND(v, more, 0), 0);
	assert_int_equal(v.len, 1005);

	/* Sizes that cannot be allocated fail cleanly, without looping or wrapping. The
	 * count is a run-time value, as a caller's would be: at -O0 gcc keeps the copy
	 * of a constant SIZE_MAX items in the branch that never runs, and refuses it
	 * (-Wstringop-overflow). */
	assert_int_equal(VEC_APPEND(v, more, huge), -ENOMEM);
	assert_int_equal(VEC_RESERVE(v, SIZE_MAX / 2 + 2), -ENOMEM);
	assert_int_equal(VEC_RESERVE(v, SIZE_MAX), -ENOMEM);
	assert_int_equal(VEC_RESERVE_EXACT(v, SIZE_MAX), -ENOMEM);
	assert_int_equal(v.len, 1005);
	assert_int_equal(v.cap, 1001 * 2); /* only the append's growth */
	VEC_FREE(v);
}

/* A VEC embedded anonymously gives a named type that functions can take. */
struct names {
	VEC(const char *);
	int err;
};

static void names_add(struct names *n, const char *s)
{
	if (!n->err)
		n->err = VEC_PUSH(*n, s);
}

static void test_vec_embedded_in_a_named_struct(void **state)
{
	(void)state;
	struct names n = { 0 };

	names_add(&n, "a");
	names_add(&n, "b");
	assert_int_equal(n.err, 0);
	assert_int_equal(n.len, 2);
	assert_string_equal(n.v[1], "b");
	VEC_FREE(n);
	assert_null(n.v);
}

static void test_file_grow_bounded_doubles_to_the_cap(void **state)
{
	(void)state;
	unsigned char *b = NULL;
	size_t cap = 0;

	assert_int_equal(file_grow_bounded(&b, &cap, 100, 1000), 0);
	assert_int_equal(cap, 100);
	assert_int_equal(file_grow_bounded(&b, &cap, 100, 1000), 0);
	assert_int_equal(cap, 200);
	assert_int_equal(file_grow_bounded(&b, &cap, 100, 1000), 0);
	assert_int_equal(file_grow_bounded(&b, &cap, 100, 1000), 0);
	assert_int_equal(cap, 800);
	assert_int_equal(file_grow_bounded(&b, &cap, 100, 1000), 0);
	assert_int_equal(cap, 1000); /* clamped, not 1600 */
	assert_int_equal(file_grow_bounded(&b, &cap, 100, 1000), -EFBIG);
	assert_int_equal(cap, 1000);
	assert_non_null(b);
	free(b);
}

/* A temporary file holding @n bytes of a known pattern, open at offset 0. */
static int pattern_file(unsigned char *data, size_t n)
{
	char path[] = "/tmp/test_lib.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void test_file_read_fd_reads_files_and_pipes_whole(void **state)
{
	(void)state;
	static unsigned char data[100000];
	unsigned char *out = NULL;
	size_t len = 0;
	int fd, p[2];

	/* A regular file larger than the first buffer: grown until it all fits. */
	fd = pattern_file(data, sizeof(data));
	assert_int_equal(file_read_fd(fd, 16, 1 << 20, 0, &out, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	free(out);
	close(fd);

	/* An empty file: a buffer all the same, of length 0. */
	fd = pattern_file(data, 0);
	out = NULL;
	assert_int_equal(file_read_fd(fd, 16, 1 << 20, 0, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(out);
	free(out);
	close(fd);

	/* A pipe has no size at all. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], data, 3000), 3000);
	close(p[1]);
	assert_int_equal(file_read_fd(p[0], 64, 1 << 20, 0, &out, &len), 0);
	assert_int_equal(len, 3000);
	assert_memory_equal(out, data, 3000);
	free(out);
	close(p[0]);

	/* A /proc file reports size 0 but has text. */
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(file_read_fd(fd, 64, 1 << 24, 0, &out, &len), 0);
	assert_true(len > 0);
	assert_non_null(memchr(out, '\n', len));
	free(out);
	close(fd);

	/* A failed read is its errno; *out is left alone. */
	out = NULL;
	assert_int_equal(file_read_fd(-1, 64, 1024, 0, &out, &len), -EBADF);
	assert_null(out);
}

static void test_file_read_fd_stops_at_the_cap(void **state)
{
	(void)state;
	static unsigned char data[5000];
	unsigned char *out = NULL;
	size_t len = 0;
	int fd = pattern_file(data, sizeof(data));

	/* More than the cap: refused, or with FILE_READ_TRUNCATE the first @max bytes. */
	assert_int_equal(file_read_fd(fd, 100, 4096, 0, &out, &len), -EFBIG);
	assert_null(out);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(file_read_fd(fd, 100, 4096, FILE_READ_TRUNCATE, &out, &len), 0);
	assert_int_equal(len, 4096);
	assert_memory_equal(out, data, 4096);
	free(out);

	/* Exactly the cap fits when the first buffer has room for EOF to show. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(file_read_fd(fd, sizeof(data) + 1, sizeof(data), 0, &out, &len), 0);
	assert_int_equal(len, sizeof(data));
	free(out);
	close(fd);
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
		cmocka_unit_test(test_vec_reserve_exact_append_and_bounds),
		cmocka_unit_test(test_pool_reuses_zeroed_objects_up_to_its_bound),
		cmocka_unit_test(test_vec_embedded_in_a_named_struct),
		cmocka_unit_test(test_file_grow_bounded_doubles_to_the_cap),
		cmocka_unit_test(test_file_read_fd_reads_files_and_pipes_whole),
		cmocka_unit_test(test_file_read_fd_stops_at_the_cap),
		cmocka_unit_test(test_hashes_match_reference_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
