// SPDX-License-Identifier: Apache-2.0
/*
 * test_iov.c - bounded iovec copies (core/iov.c).
 *
 * Every list used here contains a zero-length entry and entries of different
 * sizes, so off-by-one errors in the seek and the per-entry clamp show up as
 * wrong bytes, not just wrong counts.  Destinations carry canaries past the
 * requested length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/iov.h"

/* src: "abc" | "" | "defgh" | "i" | "jklmnop"  (16 bytes) */
static char s0[] = "abc", s2[] = "defgh", s3[] = "i", s4[] = "jklmnop";
static char s1[1];

static void make_list(struct iovec *v)
{
	v[0] = (struct iovec){ s0, 3 };
	v[1] = (struct iovec){ s1, 0 };
	v[2] = (struct iovec){ s2, 5 };
	v[3] = (struct iovec){ s3, 1 };
	v[4] = (struct iovec){ s4, 7 };
}

static const char flat[] = "abcdefghijklmnop";

static void test_iov_size(void **state)
{
	struct iovec v[5];

	(void)state;
	make_list(v);
	assert_int_equal(iov_size(v, 5), 16);
	assert_int_equal(iov_size(v, 2), 3);
	assert_int_equal(iov_size(v, 0), 0);
}

static void test_iov_to_buf_every_offset_and_length(void **state)
{
	struct iovec v[5];

	(void)state;
	make_list(v);
	for (size_t off = 0; off <= 18; off++) {
		for (size_t len = 0; len <= 18; len++) {
			char buf[32];
			size_t want = off >= 16 ? 0 : (len < 16 - off ? len : 16 - off);

			memset(buf, '#', sizeof(buf));
			assert_int_equal(iov_to_buf(v, 5, off, buf, len), want);
			if (want)
				assert_memory_equal(buf, flat + off, want);
			for (size_t k = want; k < sizeof(buf); k++)
				assert_int_equal(buf[k], '#');
		}
	}
}

static void test_iov_from_buf_every_offset_and_length(void **state)
{
	(void)state;
	for (size_t off = 0; off <= 18; off++) {
		for (size_t len = 0; len <= 18; len++) {
			char d0[4], d2[6], d3[2], d4[8], d1[1] = { '#' };
			struct iovec v[5] = {
				{ d0, 3 }, { d1, 0 }, { d2, 5 }, { d3, 1 }, { d4, 7 },
			};
			char src[32], out[16];
			size_t want = off >= 16 ? 0 : (len < 16 - off ? len : 16 - off);

			memset(d0, '.', sizeof(d0));
			memset(d2, '.', sizeof(d2));
			memset(d3, '.', sizeof(d3));
			memset(d4, '.', sizeof(d4));
			for (size_t k = 0; k < sizeof(src); k++)
				src[k] = (char)('A' + k);
			assert_int_equal(iov_from_buf(v, 5, off, src, len), want);
			/* canaries one past each entry */
			assert_int_equal(d0[3], '.');
			assert_int_equal(d1[0], '#');
			assert_int_equal(d2[5], '.');
			assert_int_equal(d3[1], '.');
			assert_int_equal(d4[7], '.');
			memcpy(out, d0, 3);
			memcpy(out + 3, d2, 5);
			memcpy(out + 8, d3, 1);
			memcpy(out + 9, d4, 7);
			for (size_t k = 0; k < 16; k++) {
				if (k >= off && k < off + want)
					assert_int_equal(out[k], src[k - off]);
				else
					assert_int_equal(out[k], '.');
			}
		}
	}
}

static void test_iov_slice_views(void **state)
{
	struct iovec v[5], d[8];
	char buf[32];
	unsigned n;

	(void)state;
	make_list(v);
	/* crosses the empty entry: "bc" + "defgh" + "i" + "j" */
	n = iov_slice(v, 5, 1, 9, d, 8);
	assert_int_equal(n, 4);
	assert_ptr_equal(d[0].iov_base, s0 + 1);
	assert_int_equal(d[0].iov_len, 2);
	assert_ptr_equal(d[1].iov_base, s2);
	assert_int_equal(d[3].iov_len, 1);
	assert_int_equal(iov_size(d, n), 9);
	assert_int_equal(iov_to_buf(d, n, 0, buf, sizeof(buf)), 9);
	assert_memory_equal(buf, flat + 1, 9);

	/* offset exactly at an entry boundary: no leading empty piece */
	n = iov_slice(v, 5, 3, 5, d, 8);
	assert_int_equal(n, 1);
	assert_ptr_equal(d[0].iov_base, s2);
	assert_int_equal(d[0].iov_len, 5);

	/* past the end, and zero length */
	assert_int_equal(iov_slice(v, 5, 16, 4, d, 8), 0);
	assert_int_equal(iov_slice(v, 5, 100, 4, d, 8), 0);
	assert_int_equal(iov_slice(v, 5, 2, 0, d, 8), 0);

	/* longer than the source: truncated */
	n = iov_slice(v, 5, 10, 100, d, 8);
	assert_int_equal(iov_size(d, n), 6);
}

static void test_iov_slice_respects_cap(void **state)
{
	struct iovec v[5], d[3];
	unsigned n;

	(void)state;
	make_list(v);
	d[2] = (struct iovec){ (void *)0x1, 0x5a5a };
	n = iov_slice(v, 5, 0, 16, d, 2);
	assert_int_equal(n, 2);
	assert_int_equal(iov_size(d, n), 8); /* "abc" + "defgh" */
	/* the entry after cap is untouched */
	assert_ptr_equal(d[2].iov_base, (void *)0x1);
	assert_int_equal(d[2].iov_len, 0x5a5a);
	assert_int_equal(iov_slice(v, 5, 0, 16, d, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iov_size),
		cmocka_unit_test(test_iov_to_buf_every_offset_and_length),
		cmocka_unit_test(test_iov_from_buf_every_offset_and_length),
		cmocka_unit_test(test_iov_slice_views),
		cmocka_unit_test(test_iov_slice_respects_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
