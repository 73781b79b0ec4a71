// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_chain.c - the shared chain builder (core/virtq_chain.c) driven
 * through split rings: one named test per applicable row of
 * research/hardening.md tables B (descriptor chains) and C (indirect tables).
 * The packed-format twins of these rows are in test_virtq_packed.c.
 *
 * Every hostile test builds a real instance of the bug class (a real
 * descriptor loop, a real region hole, a real 4 GiB chain over mapped memory,
 * regions at both ends of the address space, ...) so that removing the
 * corresponding check makes the test fail rather than merely changing which
 * check fires.  A rejected chain must come back in the used ring with length 0
 * and the queue must keep serving.
 */
#include <pthread.h>
#include <time.h>

#include "tests/unit/vqtest.h"

/* ---- B: split descriptor chains ----------------------------------------- */

/* A real two-descriptor loop 0 -> 1 -> 0 (CVE-2016-6490 class). */
static void test_B1_descriptor_loop_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	drvsim_split_set_desc(t->sq, 0, BUF(0), 8, VRING_DESC_F_NEXT, 1);
	drvsim_split_set_desc(t->sq, 1, BUF(1), 8, VRING_DESC_F_NEXT, 0);
	drvsim_split_post_head(t->sq, 0);
	vqt_split_bad(t, 0, VQ_F_CHAIN_LONG);
}

static void test_B1_self_loop_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	drvsim_split_set_desc(t->sq, 5, BUF(0), 8, VRING_DESC_F_NEXT, 5);
	drvsim_split_post_head(t->sq, 5);
	vqt_split_bad(t, 5, VQ_F_CHAIN_LONG);
}

/* A loop made only of writable descriptors: order checks cannot stop it. */
static void test_B1_writable_loop_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 16, 0, 0);
	for (uint16_t i = 0; i < 16; i++)
		drvsim_split_set_desc(t->sq, i, BUF(i), 8,
				      VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (i + 1) % 16);
	drvsim_split_post_head(t->sq, 3);
	vqt_split_bad(t, 3, VQ_F_CHAIN_LONG);
}

/* Boundary: a chain through all queue-size descriptors is legal. */
static void test_B1_chain_of_queue_size_ok(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf b[8];
	int head;

	for (unsigned k = 0; k < 8; k++)
		b[k] = (struct drvsim_buf){ BUF(k), 8, false };
	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 8);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.ndesc, 8);
	assert_int_equal(t->c.n_out, 8);
}

/*
 * Direct and indirect descriptors share one budget: 3 direct + a 2-entry
 * table = 5 buffers > 4, although each part alone fits.
 */
static void test_B1_indirect_counts_against_queue_size(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf d[3] = {
		{ BUF(0), 8, false }, { BUF(1), 8, false }, { BUF(2), 8, false },
	};
	const struct drvsim_buf ind[2] = { { BUF(3), 8, false }, { BUF(4), 8, true } };
	int head;

	vqt_split_start(t, 4, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, d, 3, ind, 2, TABLE(0));
	assert_true(head >= 0);
	vqt_split_bad(t, (uint16_t)head, VQ_F_CHAIN_LONG);
}

/* A loop inside an indirect table (entries 0 -> 1 -> 0). */
static void test_B1_indirect_table_loop_rejected(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, false } };
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 2, TABLE(0));
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0) + 16, BUF(1), 8,
					   VRING_DESC_F_NEXT, 0), 0);
	vqt_split_bad(t, (uint16_t)head, VQ_F_CHAIN_LONG);
}

static void test_B2_next_out_of_range(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	drvsim_split_set_desc(t->sq, 2, BUF(0), 8, VRING_DESC_F_NEXT, 8);
	drvsim_split_post_head(t->sq, 2);
	vqt_split_bad(t, 2, VQ_F_NEXT_RANGE);
	drvsim_split_set_desc(t->sq, 2, BUF(0), 8, VRING_DESC_F_NEXT, 0xffff);
	drvsim_split_post_head(t->sq, 2);
	vqt_split_bad(t, 2, VQ_F_NEXT_RANGE);
}

/* Inside an indirect table `next` is bounded by the table, not the queue. */
static void test_B2_indirect_next_outside_table(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, false } };
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 2, TABLE(0));
	/* entry 1 points at "entry 2": inside the queue size, outside the table */
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0) + 16, BUF(1), 8,
					   VRING_DESC_F_NEXT, 2), 0);
	/* make entry 2 look valid so only the table bound can stop the walk */
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0) + 32, BUF(2), 8, 0, 0), 0);
	vqt_split_bad(t, (uint16_t)head, VQ_F_NEXT_RANGE);
}

static void test_B3_readable_after_writable(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[3] = {
		{ BUF(0), 8, false }, { BUF(1), 8, true }, { BUF(2), 8, false },
	};
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 3);
	vqt_split_bad(t, (uint16_t)head, VQ_F_ORDER);
}

/* The order rule spans the direct -> indirect boundary. */
static void test_B3_order_across_indirect(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf d = { BUF(0), 8, true };
	const struct drvsim_buf ind[1] = { { BUF(1), 8, false } };
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, &d, 1, ind, 1, TABLE(0));
	vqt_split_bad(t, (uint16_t)head, VQ_F_ORDER);
}

static void test_B4_zero_len_desc_skipped_but_counted(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[5] = {
		{ BUF(0), 16, false }, { BUF(1), 0, false }, { 0, 0, true },
		{ BUF(3), 32, true },  { UINT64_MAX, 0, true },
	};
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 5);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.ndesc, 5);
	assert_int_equal(t->c.n_out, 1);
	assert_int_equal(t->c.n_in, 1);
	vqt_assert_iov(t, 0, BUF(0), 16);
	vqt_assert_iov(t, 1, BUF(3), 32);
	vqt_assert_totals(&t->c);
	assert_int_equal(vq_push(&t->vq, &t->c, 32), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 32);
}

/* Zero-length descriptors still count: a loop of them ends (CVE-2016-6490). */
static void test_B4_zero_len_loop_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	drvsim_split_set_desc(t->sq, 0, BUF(0), 0, VRING_DESC_F_NEXT, 1);
	drvsim_split_set_desc(t->sq, 1, 0, 0, VRING_DESC_F_NEXT, 0);
	drvsim_split_post_head(t->sq, 0);
	vqt_split_bad(t, 0, VQ_F_CHAIN_LONG);
}

/* A chain of queue-size + 1 zero-length descriptors (no loop) via indirect. */
static void test_B4_zero_len_counted_against_size(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf ind[4];
	const struct drvsim_buf d = { BUF(0), 0, false };
	int head;

	for (unsigned k = 0; k < 4; k++)
		ind[k] = (struct drvsim_buf){ BUF(k), 0, false };
	vqt_split_start(t, 4, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, &d, 1, ind, 4, TABLE(0));
	vqt_split_bad(t, (uint16_t)head, VQ_F_CHAIN_LONG);
}

/*
 * Regions at GPA 0 and at the very top of the address space: a buffer that
 * wraps from the top to 0 would be "mapped" byte by byte, so only the
 * overflow check can reject it.
 */
static void test_B5_addr_plus_len_wraps(void **state)
{
	struct vqt *t = *state;
	const uint64_t top = 0ULL - 0x10000;
	const struct drvsim_region_spec spec[3] = {
		{ RAM_GPA, RAM_SIZE },
		{ 0, 0x10000 },
		{ top, 0x10000 },
	};
	const struct drvsim_buf wrap[2] = {
		{ BUF(0), 8, false }, { 0ULL - 0x800, 0x1000, true },
	};
	const struct drvsim_buf edge = { 0ULL - 0x1000, 0x1000, true };
	const struct drvsim_buf last = { UINT64_MAX, 1, false };
	const struct drvsim_buf wrap2 = { UINT64_MAX, 2, false };
	int head;

	t->ds = drvsim_new(spec, 3);
	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, wrap, 2);
	vqt_split_bad(t, (uint16_t)head, VQ_F_ADDR);
	head = drvsim_split_add(t->sq, &wrap2, 1);
	vqt_split_bad(t, (uint16_t)head, VQ_F_ADDR);
	/* controls: ending exactly at 2^64 is not a wrap */
	head = drvsim_split_add(t->sq, &edge, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	vqt_assert_iov(t, 0, edge.gpa, edge.len);
	assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
	head = drvsim_split_add(t->sq, &last, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	vqt_assert_iov(t, 0, UINT64_MAX, 1);
	assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
	(void)head;
}

/*
 * Guest RAM with a 1 GiB region (sparse memfd, never touched): four
 * descriptors of 1 GiB each, all mapped, sum to exactly 2^32.
 */
static void big_ram(struct vqt *t)
{
	const struct drvsim_region_spec spec[2] = {
		{ RAM_GPA, RAM_SIZE },
		{ 1ULL << 32, 1ULL << 30 },
	};

	t->ds = drvsim_new(spec, 2);
	assert_non_null(t->ds);
}

static void test_B5_chain_total_4GiB_rejected(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf b[4];
	int head;

	big_ram(t);
	for (unsigned k = 0; k < 4; k++)
		b[k] = (struct drvsim_buf){ 1ULL << 32, 1U << 30, k >= 2 };
	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 4);
	vqt_split_bad(t, (uint16_t)head, VQ_F_TOO_BIG);
}

/* Boundary: 2^32 - 1 bytes is legal, and both totals are exact. */
static void test_B5_chain_total_4GiB_minus_1_ok(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf b[4];
	int head;

	big_ram(t);
	for (unsigned k = 0; k < 4; k++)
		b[k] = (struct drvsim_buf){ 1ULL << 32, 1U << 30, k >= 2 };
	b[3].len--;
	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 4);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.out_bytes, 1U << 31);
	assert_int_equal(t->c.in_bytes, (1U << 31) - 1);
	vqt_assert_totals(&t->c);
	for (unsigned k = 0; k < 4; k++)
		assert_true(drvsim_hva_in_ram(t->ds, t->c.iov[k].iov_base, t->c.iov[k].iov_len));
}

static void test_B6_buffer_outside_ram(void **state)
{
	struct vqt *t = *state;
	const uint64_t end = RAM_GPA + RAM_SIZE, r2 = end + 0x10000, end2 = r2 + RAM_SIZE;
	const uint64_t bad[][2] = {
		{ 0, 8 },             /* below RAM */
		{ end, 8 },           /* in the hole */
		{ end - 8, 16 },      /* runs into the hole */
		{ r2 - 8, 0x20 },     /* from the hole into the next region */
		{ end2 - 8, 16 },     /* past the last region */
		{ 1ULL << 62, 1 },
	};

	t->ds = drvsim_new_holes(RAM_GPA, 2, RAM_SIZE, 0x10000);
	vqt_split_start(t, 8, 0, 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		const struct drvsim_buf b[2] = {
			{ BUF(0), 8, false },
			{ bad[i][0], (uint32_t)bad[i][1], true },
		};
		int head = drvsim_split_add(t->sq, b, 2);

		vqt_split_bad(t, (uint16_t)head, VQ_F_ADDR);
	}
	/* control: both regions themselves are fine */
	{
		const struct drvsim_buf b[2] = { { end - 8, 8, false }, { r2, 8, true } };
		int head = drvsim_split_add(t->sq, b, 2);

		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, head);
		vqt_assert_iov(t, 0, end - 8, 8);
		vqt_assert_iov(t, 1, r2, 8);
	}
}

/* Buffers crossing GPA-adjacent regions become one iovec per region. */
static void test_B6_buffer_across_regions_split(void **state)
{
	struct vqt *t = *state;
	const uint64_t tiny = RAM_GPA + RAM_SIZE;
	const struct drvsim_buf b[2] = {
		{ tiny + 100, 600, false },     /* 156 + 256 + 188 */
		{ RAM_GPA + RAM_SIZE - 10, 20, true }, /* ring region -> tiny 0 */
	};
	int head;

	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 8, 256);
	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 2);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out, 3);
	assert_int_equal(t->c.n_in, 2);
	vqt_assert_iov(t, 0, tiny + 100, 156);
	vqt_assert_iov(t, 1, tiny + 256, 256);
	vqt_assert_iov(t, 2, tiny + 512, 188);
	vqt_assert_iov(t, 3, RAM_GPA + RAM_SIZE - 10, 10);
	vqt_assert_iov(t, 4, tiny, 10);
	assert_int_equal(t->c.out_bytes, 600);
	assert_int_equal(t->c.in_bytes, 20);
	assert_int_equal(t->c.ndesc, 2);
}

static void test_B7_iov_cap_many_descriptors(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf b[5];
	struct iovec *iov = malloc(4 * sizeof(*iov)); /* exact: ASan sees overruns */
	int head;

	assert_non_null(iov);
	for (unsigned k = 0; k < 5; k++)
		b[k] = (struct drvsim_buf){ BUF(k), 8, false };
	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 5);
	vq_chain_init(&t->c, iov, 4);
	assert_int_equal(vq_pop(&t->vq, &t->c), VQ_BAD_CHAIN);
	assert_int_equal(t->c.fault, VQ_F_IOV_CAP);
	assert_int_equal(t->c.id, head);
	free(iov);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 0);
	/* the same chain with one iovec more fits */
	head = drvsim_split_add(t->sq, b, 5);
	iov = malloc(5 * sizeof(*iov));
	assert_non_null(iov);
	vq_chain_init(&t->c, iov, 5);
	assert_int_equal(vq_pop(&t->vq, &t->c), VQ_OK);
	assert_int_equal(t->c.n_out, 5);
	free(iov);
}

/* One descriptor crossing 8 tiny regions: the cap is hit inside the split loop. */
static void test_B7_iov_cap_inside_region_split(void **state)
{
	struct vqt *t = *state;
	const uint64_t tiny = RAM_GPA + RAM_SIZE;
	const struct drvsim_buf b[2] = {
		{ BUF(0), 8, false },
		{ tiny + 8, 8 * 256 - 16, true }, /* 8 regions */
	};
	struct iovec *iov;
	int head;

	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 8, 256);
	vqt_split_start(t, 8, 0, 0);
	for (unsigned cap = 1; cap <= 9; cap++) {
		head = drvsim_split_add(t->sq, b, 2);
		iov = malloc(cap * sizeof(*iov));
		assert_non_null(iov);
		vq_chain_init(&t->c, iov, cap);
		if (cap < 9) {
			assert_int_equal(vq_pop(&t->vq, &t->c), VQ_BAD_CHAIN);
			assert_int_equal(t->c.fault, VQ_F_IOV_CAP);
			vqt_flush(t);
			vqt_split_used(t, (uint32_t)head, 0);
		} else {
			assert_int_equal(vq_pop(&t->vq, &t->c), VQ_OK);
			assert_int_equal(t->c.n_out, 1);
			assert_int_equal(t->c.n_in, 8);
			for (unsigned k = 1; k < 9; k++)
				assert_true(drvsim_hva_in_ram(t->ds, iov[k].iov_base,
							      iov[k].iov_len));
			vqt_assert_totals(&t->c);
		}
		free(iov);
	}
}

/* After vq_pop the chain is a private copy: guest rewrites change nothing. */
static void test_B8_desc_rewritten_after_pop(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[2] = { { BUF(0), 100, false }, { BUF(1), 200, true } };
	struct iovec snap[2];
	struct vq_chain copy;
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, b, 2);
	assert_int_equal(vqt_pop(t), VQ_OK);
	memcpy(snap, t->iov, sizeof(snap));
	copy = t->c;
	for (uint16_t i = 0; i < 8; i++)
		drvsim_split_set_desc(t->sq, i, 0xfffffffffffff000ULL, 0xffffffff,
				      VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT, i);
	drvsim_split_set_avail_ring(t->sq, 0, 0xffff);
	assert_memory_equal(snap, t->iov, sizeof(snap));
	assert_memory_equal(&copy, &t->c, sizeof(copy));
	/* completing it uses the id we copied, not guest memory */
	assert_int_equal(vq_push(&t->vq, &t->c, 200), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 200);
}

static void test_B8_indirect_entry_rewritten_after_pop(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 100, false }, { BUF(1), 200, true } };
	struct iovec snap[2];
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 2, TABLE(0));
	assert_int_equal(vqt_pop(t), VQ_OK);
	memcpy(snap, t->iov, sizeof(snap));
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0), 0, 0xffffffff,
					   VRING_DESC_F_INDIRECT, 7), 0);
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0) + 16, UINT64_MAX, 1,
					   VRING_DESC_F_NEXT, 0), 0);
	drvsim_split_set_desc(t->sq, (uint16_t)head, TABLE(0), 17, VRING_DESC_F_INDIRECT, 0);
	assert_memory_equal(snap, t->iov, sizeof(snap));
	assert_int_equal(t->c.out_bytes, 100);
	assert_int_equal(t->c.in_bytes, 200);
	assert_int_equal(vq_push(&t->vq, &t->c, 200), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 200);
}

/*
 * A second thread plays a hostile guest: it rewrites every descriptor and an
 * indirect table with hostile values through a second mapping of guest RAM
 * while the device pops in a loop.  Whatever the interleaving, every chain the
 * device accepts must describe memory inside guest RAM, with totals equal to
 * its iovecs and no more descriptors than the queue size; the ring itself is
 * untouched by the hammer, so the queue must never break.
 */
struct hammer {
	struct vring_desc *desc;  /* alias of the descriptor table */
	struct vring_desc *table; /* alias of the indirect table */
	unsigned n_desc, n_table;
	uint64_t seed;
	int stop;
	unsigned long writes;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t hostile_addr(uint64_t r)
{
	switch (r % 7) {
	case 0: return BUF(r % 16);
	case 1: return RAM_GPA + RAM_SIZE - (r >> 8) % 64;   /* near the end */
	case 2: return 0;                                     /* unmapped */
	case 3: return UINT64_MAX - (r >> 8) % 4096;          /* wraps */
	case 4: return TABLE(0) + 16 * ((r >> 8) % 4);        /* the table itself */
	case 5: return RAM_GPA + (r >> 8) % 256;              /* the rings */
	default: return r;
	}
}

static uint32_t hostile_len(uint64_t r)
{
	switch (r % 5) {
	case 0: return 0;
	case 1: return (uint32_t)((r >> 8) % 8192);
	case 2: return 0xffffffff;
	case 3: return 16 * (uint32_t)((r >> 8) % 20);
	default: return (uint32_t)(r >> 32);
	}
}

static void hammer_one(struct vring_desc *d, uint64_t *s, unsigned nlink)
{
	uint64_t r = xorshift(s);

	switch (r % 4) {
	case 0:
		__atomic_store_n(&d->addr, hostile_addr(xorshift(s)), __ATOMIC_RELAXED);
		break;
	case 1:
		__atomic_store_n(&d->len, hostile_len(xorshift(s)), __ATOMIC_RELAXED);
		break;
	case 2:
		__atomic_store_n(&d->flags, (uint16_t)((r >> 8) & 7), __ATOMIC_RELAXED);
		break;
	default:
		__atomic_store_n(&d->next, (uint16_t)((r >> 8) % (nlink + 4)), __ATOMIC_RELAXED);
		break;
	}
}

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		uint64_t r = xorshift(&h->seed);

		if (r & 1)
			hammer_one(&h->desc[(r >> 1) % h->n_desc], &h->seed, h->n_desc);
		else
			hammer_one(&h->table[(r >> 1) % h->n_table], &h->seed, h->n_table);
		h->writes++;
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_B8_concurrent_hostile_writer(void **state)
{
	struct vqt *t = *state;
	struct hammer h = { .n_desc = 16, .n_table = 8, .seed = 0x9e3779b97f4a7c15ULL };
	unsigned long ok = 0, bad = 0, iters = 0;
	pthread_t th;
	double end;

	vqt_split_start(t, 16, F_INDIRECT, 0);
	h.desc = drvsim_alias(t->ds, t->sq->desc_gpa, 16 * 16);
	h.table = drvsim_alias(t->ds, TABLE(0), 8 * 16);
	assert_non_null(h.desc);
	assert_non_null(h.table);
	/* start from a plausible state: a valid chain everywhere */
	for (uint16_t i = 0; i < 16; i++)
		drvsim_split_set_desc(t->sq, i, BUF(i), 64, i % 4 == 3 ? VRING_DESC_F_INDIRECT :
				      VRING_DESC_F_NEXT, (uint16_t)((i + 1) % 16));
	assert_int_equal(pthread_create(&th, NULL, hammer_main, &h), 0);

	end = now_s() + 0.3;
	while ((iters & 63) || now_s() < end) {
		enum vq_status st;
		uint32_t id, len;

		drvsim_split_post_head(t->sq, (uint16_t)(iters % 16));
		st = vqt_pop(t);
		if (st == VQ_OK) {
			const struct vq_chain *c = &t->c;

			assert_int_equal(c->id, iters % 16);
			assert_true((unsigned)c->n_out + c->n_in <= VQT_IOV);
			assert_true(c->ndesc <= 16);
			assert_true((uint64_t)c->out_bytes + c->in_bytes <= UINT32_MAX);
			for (unsigned k = 0; k < (unsigned)c->n_out + c->n_in; k++) {
				assert_true(c->iov[k].iov_len > 0);
				assert_true(drvsim_hva_in_ram(t->ds, c->iov[k].iov_base,
							      c->iov[k].iov_len));
			}
			vqt_assert_totals(c);
			assert_int_equal(vq_push(&t->vq, c, c->in_bytes), 0);
			ok++;
		} else {
			assert_int_equal(st, VQ_BAD_CHAIN);
			assert_int_not_equal(t->c.fault, VQ_F_NONE);
			assert_int_equal(t->c.id, iters % 16);
			bad++;
		}
		vqt_flush(t);
		assert_true(drvsim_split_get_used(t->sq, &id, &len));
		assert_int_equal(id, iters % 16);
		iters++;
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	assert_false(vq_is_broken(&t->vq, NULL));
	assert_true(iters > 64);
	print_message("hammer: %lu pops (%lu ok, %lu bad), %lu hostile writes\n", iters, ok,
		      bad, h.writes);
}

/* ---- C: indirect descriptors -------------------------------------------- */

static void test_C1_nested_indirect(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, true } };
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	assert_int_equal(drvsim_write_table_split(t->ds, TABLE(1), ind, 2), 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 2, TABLE(0));
	/* entry 1 of the outer table points at another (well-formed) table */
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0) + 16, TABLE(1), 32,
					   VRING_DESC_F_INDIRECT, 0), 0);
	vqt_split_bad(t, (uint16_t)head, VQ_F_IND_NESTED);
}

static void test_C2_indirect_len_zero(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	drvsim_split_set_desc(t->sq, 0, TABLE(0), 0, VRING_DESC_F_INDIRECT, 0);
	drvsim_split_post_head(t->sq, 0);
	vqt_split_bad(t, 0, VQ_F_IND_LEN);
}

static void test_C2_indirect_len_not_multiple_of_16(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, true } };
	const uint32_t bad[] = { 1, 15, 24, 31, 33 };

	vqt_split_start(t, 8, F_INDIRECT, 0);
	assert_int_equal(drvsim_write_table_split(t->ds, TABLE(0), ind, 2), 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		drvsim_split_set_desc(t->sq, 0, TABLE(0), bad[i], VRING_DESC_F_INDIRECT, 0);
		drvsim_split_post_head(t->sq, 0);
		vqt_split_bad(t, 0, VQ_F_IND_LEN);
	}
}

static void test_C3_indirect_table_larger_than_queue(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf ind[5];
	int head;

	for (unsigned k = 0; k < 5; k++)
		ind[k] = (struct drvsim_buf){ BUF(k), 8, false };
	vqt_split_start(t, 4, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 5, TABLE(0));
	/* the chain itself only walks entry 0: only the size check can fire */
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(0), BUF(0), 8, 0, 0), 0);
	vqt_split_bad(t, (uint16_t)head, VQ_F_IND_SIZE);
	/* a 65535-entry claim */
	drvsim_split_set_desc(t->sq, 3, TABLE(0), 0xfffff0, VRING_DESC_F_INDIRECT, 0);
	drvsim_split_post_head(t->sq, 3);
	vqt_split_bad(t, 3, VQ_F_IND_SIZE);
}

static void test_C4_indirect_with_next(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[1] = { { BUF(0), 8, false } };

	vqt_split_start(t, 8, F_INDIRECT, 0);
	assert_int_equal(drvsim_write_table_split(t->ds, TABLE(0), ind, 1), 0);
	drvsim_split_set_desc(t->sq, 0, TABLE(0), 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT,
			      1);
	drvsim_split_set_desc(t->sq, 1, BUF(1), 8, VRING_DESC_F_WRITE, 0);
	drvsim_split_post_head(t->sq, 0);
	vqt_split_bad(t, 0, VQ_F_IND_NEXT);
}

static void test_C5_indirect_after_direct(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf d[2] = { { BUF(0), 12, false }, { BUF(1), 20, false } };
	const struct drvsim_buf ind[3] = {
		{ BUF(2), 30, false }, { BUF(3), 40, true }, { BUF(4), 50, true },
	};
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, d, 2, ind, 3, TABLE(0));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out, 3);
	assert_int_equal(t->c.n_in, 2);
	assert_int_equal(t->c.ndesc, 5);
	vqt_assert_iov(t, 0, BUF(0), 12);
	vqt_assert_iov(t, 1, BUF(1), 20);
	vqt_assert_iov(t, 2, BUF(2), 30);
	vqt_assert_iov(t, 3, BUF(3), 40);
	vqt_assert_iov(t, 4, BUF(4), 50);
	assert_int_equal(vq_push(&t->vq, &t->c, 90), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 90);
}

/* Table crossing two GPA-adjacent regions, boundary in the middle of an entry. */
static void test_C6_indirect_table_straddles_regions(void **state)
{
	struct vqt *t = *state;
	const uint64_t tiny = RAM_GPA + RAM_SIZE;
	const struct drvsim_buf ind[3] = {
		{ BUF(0), 10, false }, { BUF(1), 20, true }, { BUF(2), 30, true },
	};
	const uint64_t tables[] = {
		tiny + 256 - 24, /* 8-aligned, entry 1 split 8/8 */
		tiny + 256 - 20, /* unaligned as well */
		tiny + 256 - 16, /* boundary between entries */
		tiny - 8,        /* ring region -> tiny region */
		tiny + 4,        /* one region, unaligned */
	};

	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 4, 256);
	vqt_split_start(t, 8, F_INDIRECT, 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(tables); i++) {
		int head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 3, tables[i]);

		assert_true(head >= 0);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, head);
		assert_int_equal(t->c.n_out, 1);
		assert_int_equal(t->c.n_in, 2);
		for (unsigned k = 0; k < 3; k++)
			vqt_assert_iov(t, k, ind[k].gpa, ind[k].len);
		assert_int_equal(vq_push(&t->vq, &t->c, 50), 0);
		vqt_flush(t);
		vqt_split_used(t, (uint32_t)head, 50);
	}
}

static void test_C6_indirect_table_unmapped(void **state)
{
	struct vqt *t = *state;
	const uint64_t end = RAM_GPA + RAM_SIZE;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, true } };
	const uint64_t bad[] = { 0, end, end - 16, 0xfffffffffffffff0ULL, 0xfffffffffffffff8ULL };

	t->ds = drvsim_new_holes(RAM_GPA, 2, RAM_SIZE, 0x10000);
	vqt_split_start(t, 8, F_INDIRECT, 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		/* for end - 16 the first entry is mapped and valid */
		if (i == 2)
			assert_int_equal(drvsim_write_table_split(t->ds, end - 16, ind, 1), 0);
		drvsim_split_set_desc(t->sq, 1, bad[i], 32, VRING_DESC_F_INDIRECT, 0);
		drvsim_split_post_head(t->sq, 1);
		vqt_split_bad(t, 1, VQ_F_IND_ADDR);
	}
}

/* 2.7.5.3.2: the device MUST ignore WRITE on the descriptor that points to a table. */
static void test_C7_write_flag_on_indirect_ignored(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 16, true } };

	vqt_split_start(t, 8, F_INDIRECT, 0);
	assert_int_equal(drvsim_write_table_split(t->ds, TABLE(0), ind, 2), 0);
	/* a readable direct descriptor, then INDIRECT|WRITE whose table starts
	 * readable: treating the pointer as writable would be an order fault */
	drvsim_split_set_desc(t->sq, 0, BUF(2), 4, VRING_DESC_F_NEXT, 1);
	drvsim_split_set_desc(t->sq, 1, TABLE(0), 32,
			      VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	drvsim_split_post_head(t->sq, 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 1);
	assert_int_equal(t->c.out_bytes, 12);
	assert_int_equal(t->c.in_bytes, 16);
	vqt_assert_iov(t, 0, BUF(2), 4);
	vqt_assert_iov(t, 1, BUF(0), 8);
	vqt_assert_iov(t, 2, BUF(1), 16);
}

static void test_C8_indirect_not_negotiated(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, true } };
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 2, TABLE(0));
	vqt_split_bad(t, (uint16_t)head, VQ_F_IND_NOT_NEG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQT_TEST(test_B1_descriptor_loop_rejected),
		VQT_TEST(test_B1_self_loop_rejected),
		VQT_TEST(test_B1_writable_loop_rejected),
		VQT_TEST(test_B1_chain_of_queue_size_ok),
		VQT_TEST(test_B1_indirect_counts_against_queue_size),
		VQT_TEST(test_B1_indirect_table_loop_rejected),
		VQT_TEST(test_B2_next_out_of_range),
		VQT_TEST(test_B2_indirect_next_outside_table),
		VQT_TEST(test_B3_readable_after_writable),
		VQT_TEST(test_B3_order_across_indirect),
		VQT_TEST(test_B4_zero_len_desc_skipped_but_counted),
		VQT_TEST(test_B4_zero_len_loop_rejected),
		VQT_TEST(test_B4_zero_len_counted_against_size),
		VQT_TEST(test_B5_addr_plus_len_wraps),
		VQT_TEST(test_B5_chain_total_4GiB_rejected),
		VQT_TEST(test_B5_chain_total_4GiB_minus_1_ok),
		VQT_TEST(test_B6_buffer_outside_ram),
		VQT_TEST(test_B6_buffer_across_regions_split),
		VQT_TEST(test_B7_iov_cap_many_descriptors),
		VQT_TEST(test_B7_iov_cap_inside_region_split),
		VQT_TEST(test_B8_desc_rewritten_after_pop),
		VQT_TEST(test_B8_indirect_entry_rewritten_after_pop),
		VQT_TEST(test_B8_concurrent_hostile_writer),
		VQT_TEST(test_C1_nested_indirect),
		VQT_TEST(test_C2_indirect_len_zero),
		VQT_TEST(test_C2_indirect_len_not_multiple_of_16),
		VQT_TEST(test_C3_indirect_table_larger_than_queue),
		VQT_TEST(test_C4_indirect_with_next),
		VQT_TEST(test_C5_indirect_after_direct),
		VQT_TEST(test_C6_indirect_table_straddles_regions),
		VQT_TEST(test_C6_indirect_table_unmapped),
		VQT_TEST(test_C7_write_flag_on_indirect_ignored),
		VQT_TEST(test_C8_indirect_not_negotiated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
