// SPDX-License-Identifier: Apache-2.0
/*
 * test_drvsim.c - the guest-driver simulator itself (tests/support/drvsim.c).
 *
 * Every other virtqueue test trusts the simulator as its oracle, and the
 * benchmark uses it as its driver, so its layout, copy and allocation rules
 * are checked here without involving the queue code.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/drvsim.h"

static void test_layout_alignment_and_table(void **state)
{
	const struct drvsim_region_spec spec[3] = {
		{ 0x100000, 0x3000 }, { 0x200010, 100 }, { 0x80000004, 7 },
	};
	struct drvsim *ds = drvsim_new(spec, 3);

	(void)state;
	assert_non_null(ds);
	assert_int_equal(ds->nr, 3);
	for (unsigned i = 0; i < 3; i++) {
		uintptr_t h = (uintptr_t)ds->reg[i].hva;

		/* host address congruent to the GPA modulo 64 */
		assert_int_equal(h % 64, spec[i].gpa % 64);
		assert_ptr_equal(drvsim_hva(ds, spec[i].gpa, spec[i].size), ds->reg[i].hva);
		assert_null(drvsim_hva(ds, spec[i].gpa, spec[i].size + 1));
		assert_int_equal(drvsim_region_gpa(ds, i), spec[i].gpa);
		assert_int_equal(drvsim_region_size(ds, i), spec[i].size);
		/* the installed table agrees */
		assert_ptr_equal(gmem_translate(&ds->gm, spec[i].gpa, 1), ds->reg[i].hva);
		assert_true(drvsim_hva_in_ram(ds, ds->reg[i].hva, spec[i].size));
		assert_false(drvsim_hva_in_ram(ds, ds->reg[i].hva, spec[i].size + 1));
	}
	assert_null(drvsim_hva(ds, 0x103000, 1));
	drvsim_free(ds);
	/* layouts gmem refuses are refused */
	{
		const struct drvsim_region_spec overlap[2] = { { 0x1000, 0x2000 }, { 0x2000, 16 } };

		assert_null(drvsim_new(overlap, 2));
		assert_null(drvsim_new(overlap, 0));
	}
}

static void test_copies_across_regions_and_alias(void **state)
{
	struct drvsim *ds = drvsim_new_tiny(0x100000, 0x1000, 3, 32);
	uint8_t in[80], out[80], *alias;

	(void)state;
	assert_non_null(ds);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0x40 + i);
	assert_int_equal(drvsim_write(ds, 0x101000 - 8, in, sizeof(in)), 0);
	assert_int_equal(drvsim_read(ds, 0x101000 - 8, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(*(uint8_t *)drvsim_hva(ds, 0x101020, 1), in[8 + 32]);
	assert_int_equal(drvsim_write(ds, 0x101000 + 3 * 32 - 4, in, 8), -EFAULT);
	assert_int_equal(drvsim_fill(ds, 0x101000 - 2, 0xee, 4), 0);
	assert_int_equal(drvsim_read(ds, 0x101000 - 2, out, 4), 0);
	assert_memory_equal(out, "\xee\xee\xee\xee", 4);
	/* the second mapping shows the same bytes and writes through */
	alias = drvsim_alias(ds, 0x101000, 32);
	assert_non_null(alias);
	assert_ptr_not_equal(alias, drvsim_hva(ds, 0x101000, 32));
	assert_int_equal(alias[0], 0xee);
	alias[5] = 0x99;
	assert_int_equal(*(uint8_t *)drvsim_hva(ds, 0x101005, 1), 0x99);
	assert_null(drvsim_alias(ds, 0x101000, 33));
	drvsim_free(ds);
}

static void test_alloc_stays_inside_regions(void **state)
{
	struct drvsim *ds = drvsim_new_holes(0x100000, 2, 0x1000, 0x1000);
	uint64_t a, b, c;

	(void)state;
	assert_non_null(ds);
	a = drvsim_alloc(ds, 0x800, 16);
	assert_int_equal(a, 0x100000);
	b = drvsim_alloc(ds, 0x10, 64);
	assert_int_equal(b, 0x100800);
	c = drvsim_alloc(ds, 0x800, 4096); /* does not fit: next region */
	assert_int_equal(c, 0x102000);
	assert_int_equal(drvsim_alloc(ds, 0x1000, 1), UINT64_MAX);
	assert_int_equal(drvsim_alloc(ds, 0, 1), UINT64_MAX);
	assert_int_equal(drvsim_alloc(ds, 8, 3), UINT64_MAX);
	assert_int_equal(drvsim_alloc_from(ds, 0x100100), 0);
	assert_int_equal(drvsim_alloc(ds, 8, 8), 0x100100);
	assert_int_equal(drvsim_alloc_from(ds, 0x101000), -EFAULT);
	drvsim_free(ds);
}

/* The split driver recycles descriptors and wraps its indices. */
static void test_split_driver_bookkeeping(void **state)
{
	struct drvsim *ds = drvsim_new_flat(0x100000, 0x10000);
	struct drvsim_split *q;
	uint64_t d, a, u;
	const struct drvsim_buf b[3] = {
		{ 0x108000, 1, false }, { 0x108100, 2, false }, { 0x108200, 3, true },
	};
	int h;

	(void)state;
	assert_non_null(ds);
	assert_int_equal(drvsim_split_layout(4, 0x100000, &d, &a, &u), 0x40 + 14 + 2 + 38);
	assert_int_equal(u % 4, 0);
	q = drvsim_split_new(ds, 4, d, a, u, 65535);
	assert_non_null(q);
	h = drvsim_split_add(q, b, 3);
	assert_int_equal(h, 0);
	assert_int_equal(q->num_free, 1);
	assert_int_equal(drvsim_split_add(q, b, 2), -ENOSPC);
	assert_int_equal(drvsim_split_add(q, b, 0), -EINVAL);
	assert_int_equal(q->avail->idx, 0); /* 65535 + 1 */
	assert_int_equal(q->avail->ring[3], 0);
	assert_int_equal(q->desc[0].flags, VRING_DESC_F_NEXT);
	assert_int_equal(q->desc[q->desc[0].next].len, 2);
	/* the device's side of a completion, by hand */
	q->used->ring[3].id = 0;
	q->used->ring[3].len = 3;
	__atomic_store_n(&q->used->idx, 0, __ATOMIC_RELEASE);
	{
		uint32_t id, len;

		assert_true(drvsim_split_get_used(q, &id, &len));
		assert_int_equal(id, 0);
		assert_int_equal(len, 3);
		assert_false(drvsim_split_get_used(q, &id, &len));
	}
	assert_int_equal(q->num_free, 4);
	assert_int_equal(drvsim_split_add(q, b, 3), 0);
	drvsim_split_free(q);
	drvsim_free(ds);
}

/* The packed driver writes the head last with the right wrap bits. */
static void test_packed_driver_bookkeeping(void **state)
{
	struct drvsim *ds = drvsim_new_flat(0x100000, 0x10000);
	struct drvsim_packed *q;
	uint64_t r, drv, dev;
	const struct drvsim_buf b[3] = {
		{ 0x108000, 1, false }, { 0x108100, 2, false }, { 0x108200, 3, true },
	};
	struct vring_packed_desc d;

	(void)state;
	assert_non_null(ds);
	assert_int_equal(drvsim_packed_layout(3, 0x100000, &r, &drv, &dev), 48 + 8);
	q = drvsim_packed_new(ds, 3, r, drv, dev);
	assert_non_null(q);
	assert_int_equal(drvsim_packed_add(q, b, 2), 0);
	assert_int_equal(drvsim_packed_add(q, b, 2), -ENOSPC);
	assert_int_equal(drvsim_packed_add(q, b + 2, 1), 1);
	assert_int_equal(q->next_avail, 0);
	assert_false(q->avail_wrap);
	drvsim_packed_read_desc(q, 0, &d);
	assert_int_equal(d.flags, VRING_DESC_F_NEXT | VRING_PACKED_DESC_F_AVAIL);
	drvsim_packed_read_desc(q, 2, &d);
	assert_int_equal(d.flags, VRING_DESC_F_WRITE | VRING_PACKED_DESC_F_AVAIL);
	assert_int_equal(d.id, 1);
	/* a used descriptor for id 0 at slot 0 (wrap 1): the driver skips 2 slots */
	drvsim_packed_set_desc(q, 0, 0, 9, 0,
			       VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED);
	{
		uint16_t id;
		uint32_t len;

		assert_true(drvsim_packed_get_used(q, &id, &len));
		assert_int_equal(id, 0);
		assert_int_equal(len, 9);
		assert_int_equal(q->next_used, 2);
		assert_false(drvsim_packed_get_used(q, &id, &len));
	}
	/* next chain wraps: slot 0 of lap 2 carries USED (wrap 0) */
	assert_int_equal(drvsim_packed_add(q, b, 2), 0);
	drvsim_packed_read_desc(q, 0, &d);
	assert_int_equal(d.flags, VRING_DESC_F_NEXT | VRING_PACKED_DESC_F_USED);
	drvsim_packed_free(q);
	drvsim_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_alignment_and_table),
		cmocka_unit_test(test_copies_across_regions_and_alias),
		cmocka_unit_test(test_alloc_stays_inside_regions),
		cmocka_unit_test(test_split_driver_bookkeeping),
		cmocka_unit_test(test_packed_driver_bookkeeping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
