// SPDX-License-Identifier: Apache-2.0
/*
 * test_gmem.c - the guest memory table (core/gmem.c).
 *
 * Installation is tested with synthetic host addresses (never dereferenced);
 * lookups and copies with real guest RAM from the driver simulator, whose own
 * translation (drvsim_hva) is the oracle.  Layouts include GPA holes, many
 * tiny GPA-adjacent regions and regions touching both ends of the 64-bit
 * address space, so every overflow check has an input that would otherwise
 * succeed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "tests/support/drvsim.h"

#define TOP (0ULL - 0x1000) /* last 4 KiB of the GPA space */
#define FAKE_HVA(x) ((uint8_t *)(uintptr_t)(x))

static struct gmem_region reg(uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t hva)
{
	return (struct gmem_region){ .gpa = gpa, .size = size, .uaddr = uaddr,
				     .hva = FAKE_HVA(hva) };
}

/* A table with known contents, to check that failed installs leave it alone. */
static void prefill(struct gmem *gm, struct gmem *copy)
{
	struct gmem_region r = reg(0x5000, 0x1000, 0x9000, 0x100000);

	gmem_init(gm);
	assert_int_equal(gmem_install(gm, &r, 1), 0);
	*copy = *gm;
}

static void expect_install(const struct gmem_region *in, unsigned n, int want)
{
	struct gmem gm, copy;

	prefill(&gm, &copy);
	assert_int_equal(gmem_install(&gm, in, n), want);
	if (want)
		assert_memory_equal(&gm, &copy, sizeof(gm));
	else
		assert_int_equal(gm.nr, n);
}

/* ---- installation -------------------------------------------------------- */

static void test_install_empty_table(void **state)
{
	struct gmem gm;
	struct iovec iov;
	unsigned n;
	uint8_t b;

	(void)state;
	gmem_init(&gm);
	assert_null(gmem_translate(&gm, 0, 1));
	assert_int_equal(gmem_map_iov(&gm, 0, 1, &iov, 1, &n), -EFAULT);
	assert_int_equal(gmem_read(&gm, 0, &b, 1), -EFAULT);
	assert_int_equal(gmem_install(&gm, NULL, 0), 0);
	assert_null(gmem_translate(&gm, 0x1000, 1));
}

static void test_install_size_zero_rejected(void **state)
{
	const struct gmem_region in[2] = {
		reg(0x1000, 0x1000, 0x1000, 0x10000), reg(0x4000, 0, 0x4000, 0x40000),
	};

	(void)state;
	expect_install(in, 2, -EINVAL);
	expect_install(in, 1, 0);
}

static void test_install_null_hva_rejected(void **state)
{
	const struct gmem_region in = reg(0x1000, 0x1000, 0x1000, 0);

	(void)state;
	expect_install(&in, 1, -EINVAL);
}

static void test_install_wrap_rejected(void **state)
{
	const struct gmem_region gpa_wrap = reg(TOP, 0x1001, 0x1000, 0x10000);
	const struct gmem_region uaddr_wrap = reg(0x1000, 0x2000, 0ULL - 0x1000, 0x10000);
	const struct gmem_region hva_wrap = reg(0x1000, 0x2000, 0x1000, UINTPTR_MAX - 0xfff);
	const struct gmem_region huge = reg(0x1000, UINT64_MAX, 0x1000, 0x10000);
	/* ending exactly at 2^64 is not a wrap */
	const struct gmem_region gpa_top = reg(TOP, 0x1000, 0x1000, 0x10000);
	const struct gmem_region uaddr_top = reg(0x1000, 0x1000, TOP, 0x10000);
	const struct gmem_region all = reg(0, UINT64_MAX, 0, 0x1);

	(void)state;
	expect_install(&gpa_wrap, 1, -EINVAL);
	expect_install(&uaddr_wrap, 1, -EINVAL);
	expect_install(&hva_wrap, 1, -EINVAL);
	expect_install(&huge, 1, -EINVAL);
	expect_install(&gpa_top, 1, 0);
	expect_install(&uaddr_top, 1, 0);
	expect_install(&all, 1, 0);
}

static void test_install_gpa_overlap_rejected(void **state)
{
	const struct gmem_region a = reg(0x10000, 0x2000, 0x100000, 0x1000000);
	const struct gmem_region others[] = {
		reg(0x11fff, 0x10, 0x200000, 0x2000000), /* last byte */
		reg(0xf000, 0x1001, 0x200000, 0x2000000), /* first byte */
		reg(0x10800, 0x100, 0x200000, 0x2000000), /* inside */
		reg(0x8000, 0x10000, 0x200000, 0x2000000), /* around */
		reg(0x10000, 0x2000, 0x200000, 0x2000000), /* identical */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct gmem_region in[3] = { reg(0x80000, 0x10, 0x900000, 0x9000000), a, others[i] };

		expect_install(in, 3, -EINVAL);
		in[1] = others[i];
		in[2] = a;
		expect_install(in, 3, -EINVAL);
	}
	{
		/* touching on either side is fine */
		const struct gmem_region in[3] = {
			a, reg(0x12000, 0x10, 0x200000, 0x2000000),
			reg(0xfff0, 0x10, 0x300000, 0x3000000),
		};

		expect_install(in, 3, 0);
	}
}

static void test_install_uaddr_overlap_rejected(void **state)
{
	const struct gmem_region in[2] = {
		reg(0x10000, 0x2000, 0x100000, 0x1000000),
		reg(0x90000, 0x2000, 0x101fff, 0x2000000),
	};
	const struct gmem_region ok[2] = {
		reg(0x10000, 0x2000, 0x100000, 0x1000000),
		reg(0x90000, 0x2000, 0x102000, 0x2000000),
	};

	(void)state;
	expect_install(in, 2, -EINVAL);
	expect_install(ok, 2, 0);
}

static void test_install_too_many_regions(void **state)
{
	struct gmem_region in[GMEM_MAX_REGIONS + 1];

	(void)state;
	for (unsigned i = 0; i <= GMEM_MAX_REGIONS; i++)
		in[i] = reg(0x1000ULL * (2 * i + 1), 0x1000, 0x1000ULL * (2 * i + 1),
			    0x100000ULL * (i + 1));
	expect_install(in, GMEM_MAX_REGIONS + 1, -E2BIG);
	expect_install(in, GMEM_MAX_REGIONS, 0);
}

static void test_install_unsorted_input(void **state)
{
	struct gmem gm;
	struct gmem_region in[5];

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		unsigned k = (i * 3) % 5; /* 0 3 1 4 2 */

		in[i] = reg(0x10000ULL * (k + 1), 0x100, 0x1000000ULL * (k + 1),
			    0x1000000ULL * (k + 1));
	}
	gmem_init(&gm);
	assert_int_equal(gmem_install(&gm, in, 5), 0);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(gm.r[i].gpa, 0x10000ULL * (i + 1));
		assert_ptr_equal(gmem_translate(&gm, 0x10000ULL * (i + 1) + 0x10, 0x10),
				 FAKE_HVA(0x1000000ULL * (i + 1) + 0x10));
	}
	assert_null(gmem_translate(&gm, 0x10100, 1));
}

/* ---- translation --------------------------------------------------------- */

static void test_translate_inside_and_edges(void **state)
{
	struct drvsim *ds = drvsim_new_holes(0x100000, 3, 0x10000, 0x1000);
	const struct gmem *gm;
	const uint64_t a = 0x100000, end = a + 0x10000, b = end + 0x1000;

	(void)state;
	assert_non_null(ds);
	gm = &ds->gm;
	assert_ptr_equal(gmem_translate(gm, a, 1), drvsim_hva(ds, a, 1));
	assert_ptr_equal(gmem_translate(gm, a, 0x10000), drvsim_hva(ds, a, 1));
	assert_ptr_equal(gmem_translate(gm, a + 100, 50), drvsim_hva(ds, a + 100, 50));
	/* last bytes */
	assert_ptr_equal(gmem_translate(gm, end - 1, 1), drvsim_hva(ds, end - 1, 1));
	assert_ptr_equal(gmem_translate(gm, end - 4, 4), drvsim_hva(ds, end - 4, 4));
	assert_null(gmem_translate(gm, end - 4, 5));
	assert_null(gmem_translate(gm, a, 0x10001));
	/* len 0 means "the address itself" */
	assert_ptr_equal(gmem_translate(gm, a, 0), drvsim_hva(ds, a, 1));
	assert_null(gmem_translate(gm, end, 0));
	/* holes and across them */
	assert_null(gmem_translate(gm, end, 1));
	assert_null(gmem_translate(gm, b - 1, 1));
	assert_null(gmem_translate(gm, end - 1, 0x1002));
	assert_null(gmem_translate(gm, a - 1, 2));
	assert_ptr_equal(gmem_translate(gm, b, 8), drvsim_hva(ds, b, 8));
	/* huge lengths */
	assert_null(gmem_translate(gm, a + 8, UINT64_MAX));
	assert_null(gmem_translate(gm, a, UINT64_MAX));
	assert_null(gmem_translate(gm, 0, UINT64_MAX));
	drvsim_free(ds);
}

static void test_translate_straddling_adjacent_regions(void **state)
{
	struct drvsim *ds = drvsim_new_tiny(0x100000, 0x1000, 3, 64);
	const uint64_t t0 = 0x101000;

	(void)state;
	assert_non_null(ds);
	assert_non_null(gmem_translate(&ds->gm, t0, 64));
	assert_null(gmem_translate(&ds->gm, t0, 65));
	assert_null(gmem_translate(&ds->gm, t0 - 1, 2));
	assert_null(gmem_translate(&ds->gm, t0 + 60, 8));
	assert_ptr_equal(gmem_translate(&ds->gm, t0 + 64, 64), drvsim_hva(ds, t0 + 64, 64));
	drvsim_free(ds);
}

/* Regions at GPA 0 and at the top: a range that wraps would be "mapped". */
static struct drvsim *wrap_layout(void)
{
	const struct drvsim_region_spec spec[2] = { { 0, 0x1000 }, { TOP, 0x1000 } };
	struct drvsim *ds = drvsim_new(spec, 2);

	assert_non_null(ds);
	return ds;
}

static void test_translate_overflow_near_2_64(void **state)
{
	struct drvsim *ds = wrap_layout();
	const struct gmem *gm = &ds->gm;

	(void)state;
	assert_ptr_equal(gmem_translate(gm, UINT64_MAX, 1), drvsim_hva(ds, UINT64_MAX, 1));
	assert_ptr_equal(gmem_translate(gm, TOP, 0x1000), drvsim_hva(ds, TOP, 1));
	assert_null(gmem_translate(gm, UINT64_MAX, 2));
	assert_null(gmem_translate(gm, TOP + 0x800, 0x1000));
	assert_null(gmem_translate(gm, TOP + 8, UINT64_MAX));
	assert_null(gmem_translate(gm, TOP, UINT64_MAX - 0xfff + 1));
	assert_null(gmem_translate(gm, 8, UINT64_MAX - 7));
	drvsim_free(ds);
}

static void test_check_spans_and_gaps(void **state)
{
	struct drvsim *ds = drvsim_new_tiny(0x100000, 0x1000, 4, 64);
	struct drvsim *w = wrap_layout();
	const uint64_t t0 = 0x101000;

	(void)state;
	assert_non_null(ds);
	assert_int_equal(gmem_check(&ds->gm, 0x100000, 0x1000 + 4 * 64), 0);
	assert_int_equal(gmem_check(&ds->gm, t0 - 1, 3 * 64), 0);
	assert_int_equal(gmem_check(&ds->gm, t0, 4 * 64 + 1), -EFAULT);
	assert_int_equal(gmem_check(&ds->gm, 0x100000 - 1, 2), -EFAULT);
	assert_int_equal(gmem_check(&ds->gm, t0, 0), -EFAULT);
	assert_int_equal(gmem_check(&w->gm, TOP + 0x800, 0x1000), -EFAULT);
	assert_int_equal(gmem_check(&w->gm, TOP, 0x1000), 0);
	drvsim_free(w);
	drvsim_free(ds);
}

/* ---- map_iov ------------------------------------------------------------- */

static void test_map_iov_splits_across_regions(void **state)
{
	struct drvsim *ds = drvsim_new_tiny(0x100000, 0x1000, 4, 64);
	const uint64_t t0 = 0x101000;
	struct iovec iov[8];
	unsigned n = 99;

	(void)state;
	assert_non_null(ds);
	/* 16 bytes of the ring region, three whole tiny ones, 8 of the fourth */
	assert_int_equal(gmem_map_iov(&ds->gm, t0 - 16, 16 + 3 * 64 + 8, iov, 8, &n), 0);
	assert_int_equal(n, 5);
	assert_ptr_equal(iov[0].iov_base, drvsim_hva(ds, t0 - 16, 16));
	assert_int_equal(iov[0].iov_len, 16);
	for (unsigned k = 1; k < 4; k++) {
		assert_ptr_equal(iov[k].iov_base, drvsim_hva(ds, t0 + 64 * (k - 1), 64));
		assert_int_equal(iov[k].iov_len, 64);
	}
	assert_ptr_equal(iov[4].iov_base, drvsim_hva(ds, t0 + 192, 8));
	assert_int_equal(iov[4].iov_len, 8);
	/* inside one region: one iovec */
	assert_int_equal(gmem_map_iov(&ds->gm, t0 + 3, 60, iov, 1, &n), 0);
	assert_int_equal(n, 1);
	drvsim_free(ds);
}

static void test_map_iov_gap_and_wrap(void **state)
{
	struct drvsim *ds = drvsim_new_holes(0x100000, 2, 0x1000, 0x1000);
	struct drvsim *w = wrap_layout();
	struct iovec iov[4];
	unsigned n;

	(void)state;
	assert_non_null(ds);
	assert_int_equal(gmem_map_iov(&ds->gm, 0x101000 - 8, 16, iov, 4, &n), -EFAULT);
	assert_int_equal(gmem_map_iov(&ds->gm, 0x101000, 8, iov, 4, &n), -EFAULT);
	assert_int_equal(gmem_map_iov(&ds->gm, 0x102000 - 8, 0x1010, iov, 4, &n), -EFAULT);
	/* from the top of the address space into the region at 0 */
	assert_int_equal(gmem_map_iov(&w->gm, TOP + 0x800, 0x1000, iov, 4, &n), -EFAULT);
	assert_int_equal(gmem_map_iov(&w->gm, UINT64_MAX, 2, iov, 4, &n), -EFAULT);
	assert_int_equal(gmem_map_iov(&w->gm, TOP + 0x800, UINT64_MAX, iov, 4, &n), -EFAULT);
	assert_int_equal(gmem_map_iov(&w->gm, TOP + 0x800, 0x800, iov, 4, &n), 0);
	assert_int_equal(n, 1);
	drvsim_free(w);
	drvsim_free(ds);
}

/* The capacity is checked per iovec inside the split loop. */
static void test_map_iov_cap_exhausted_inside_split(void **state)
{
	struct drvsim *ds = drvsim_new_tiny(0x100000, 0x1000, 8, 64);
	const uint64_t t0 = 0x101000;

	(void)state;
	assert_non_null(ds);
	for (unsigned cap = 0; cap <= 8; cap++) {
		/* exact-size heap array so ASan catches a write past cap */
		struct iovec *iov = malloc((cap ? cap : 1) * sizeof(*iov));
		unsigned n = 1234;

		assert_non_null(iov);
		if (cap < 8) {
			assert_int_equal(gmem_map_iov(&ds->gm, t0, 8 * 64, iov, cap, &n), -E2BIG);
		} else {
			assert_int_equal(gmem_map_iov(&ds->gm, t0, 8 * 64, iov, cap, &n), 0);
			assert_int_equal(n, 8);
		}
		free(iov);
	}
	drvsim_free(ds);
}

/* ---- copies -------------------------------------------------------------- */

static void test_read_write_across_regions(void **state)
{
	struct drvsim *ds = drvsim_new_tiny(0x100000, 0x1000, 4, 64);
	const uint64_t at = 0x101000 - 10;
	uint8_t src[200], dst[200], oracle[200];

	(void)state;
	assert_non_null(ds);
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(gmem_write(&ds->gm, at, src, sizeof(src)), 0);
	assert_int_equal(drvsim_read(ds, at, oracle, sizeof(oracle)), 0);
	assert_memory_equal(src, oracle, sizeof(src));
	memset(dst, 0, sizeof(dst));
	assert_int_equal(gmem_read(&ds->gm, at, dst, sizeof(dst)), 0);
	assert_memory_equal(src, dst, sizeof(src));
	/* zero length is a no-op */
	assert_int_equal(gmem_read(&ds->gm, 0, dst, 0), 0);
	assert_int_equal(gmem_write(&ds->gm, 0, src, 0), 0);
	drvsim_free(ds);
}

/* A copy that runs into a gap fails as a whole: nothing written. */
static void test_read_write_gap_all_or_nothing(void **state)
{
	struct drvsim *ds = drvsim_new_holes(0x100000, 2, 0x1000, 0x1000);
	const uint64_t at = 0x101000 - 16;
	uint8_t src[32], before[16], after[16], dst[32];

	(void)state;
	assert_non_null(ds);
	memset(src, 0xab, sizeof(src));
	assert_int_equal(drvsim_read(ds, at, before, sizeof(before)), 0);
	assert_int_equal(gmem_write(&ds->gm, at, src, sizeof(src)), -EFAULT);
	assert_int_equal(drvsim_read(ds, at, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(gmem_read(&ds->gm, at, dst, sizeof(dst)), -EFAULT);
	assert_int_equal(gmem_read(&ds->gm, 0x101000, dst, 1), -EFAULT);
	drvsim_free(ds);
}

/* ---- frontend addresses -------------------------------------------------- */

static void test_uaddr_to_gpa(void **state)
{
	struct drvsim *ds = drvsim_new_holes(0x100000, 2, 0x1000, 0x1000);
	const struct gmem_region *r0 = &ds->reg[0], *r1 = &ds->reg[1];
	uint64_t gpa = 0;

	(void)state;
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r0->uaddr + 0x10, 0x20, &gpa), 0);
	assert_int_equal(gpa, 0x100010);
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r1->uaddr + 0xff8, 8, &gpa), 0);
	assert_int_equal(gpa, r1->gpa + 0xff8);
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r0->uaddr, 0, &gpa), 0);
	assert_int_equal(gpa, 0x100000);
	gpa = 77;
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r0->uaddr + 0xff8, 9, &gpa), -EFAULT);
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r0->uaddr - 1, 1, &gpa), -EFAULT);
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r0->uaddr + 0x1000, 0, &gpa), -EFAULT);
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, r0->uaddr + 8, UINT64_MAX, &gpa), -EFAULT);
	assert_int_equal(gmem_uaddr_to_gpa(&ds->gm, UINT64_MAX, 2, &gpa), -EFAULT);
	assert_int_equal(gpa, 77);
	drvsim_free(ds);
}

/* ---- dirty log ----------------------------------------------------------- */

static void test_dirty_log_bits_and_bounds(void **state)
{
	struct drvsim *ds = drvsim_new_flat(0x100000, 0x10000);
	uint8_t log[64 + 1]; /* 512 pages = 2 MiB of GPA, plus a canary byte */

	(void)state;
	assert_non_null(ds);
	memset(log, 0, sizeof(log));
	log[64] = 0x5a;
	/* not logging: nothing happens */
	gmem_log_gpa(&ds->gm, 0x1000, 0x1000);
	assert_false(gmem_logging(&ds->gm));
	gmem_set_log(&ds->gm, log, 64);
	assert_true(gmem_logging(&ds->gm));
	gmem_log_gpa(&ds->gm, 0x1fff, 2);          /* pages 1 and 2 */
	assert_int_equal(log[0], 0x06);
	gmem_log_gpa(&ds->gm, 0x8000, 0x1000);     /* page 8 exactly */
	assert_int_equal(log[1], 0x01);
	gmem_log_gpa(&ds->gm, 0x1ff000, 0x10000);  /* page 511 and beyond: clipped */
	assert_int_equal(log[63], 0x80);
	gmem_log_gpa(&ds->gm, UINT64_MAX - 10, 100); /* wraps, far past the map */
	gmem_log_gpa(&ds->gm, 0x5000, 0);
	assert_int_equal(log[0], 0x06);
	for (unsigned i = 2; i < 63; i++)
		assert_int_equal(log[i], 0);
	assert_int_equal(log[64], 0x5a);
	/* host addresses map back to guest pages: 0x102ff0..0x10300f */
	memset(log, 0, 64);
	gmem_log_hva(&ds->gm, drvsim_hva(ds, 0x102ff0, 0x20), 0x20);
	assert_int_equal(log[32], 0x0c);
	gmem_set_log(&ds->gm, NULL, 0);
	assert_false(gmem_logging(&ds->gm));
	drvsim_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_empty_table),
		cmocka_unit_test(test_install_size_zero_rejected),
		cmocka_unit_test(test_install_null_hva_rejected),
		cmocka_unit_test(test_install_wrap_rejected),
		cmocka_unit_test(test_install_gpa_overlap_rejected),
		cmocka_unit_test(test_install_uaddr_overlap_rejected),
		cmocka_unit_test(test_install_too_many_regions),
		cmocka_unit_test(test_install_unsorted_input),
		cmocka_unit_test(test_translate_inside_and_edges),
		cmocka_unit_test(test_translate_straddling_adjacent_regions),
		cmocka_unit_test(test_translate_overflow_near_2_64),
		cmocka_unit_test(test_check_spans_and_gaps),
		cmocka_unit_test(test_map_iov_splits_across_regions),
		cmocka_unit_test(test_map_iov_gap_and_wrap),
		cmocka_unit_test(test_map_iov_cap_exhausted_inside_split),
		cmocka_unit_test(test_read_write_across_regions),
		cmocka_unit_test(test_read_write_gap_all_or_nothing),
		cmocka_unit_test(test_uaddr_to_gpa),
		cmocka_unit_test(test_dirty_log_bits_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
