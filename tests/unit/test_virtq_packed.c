// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_packed.c - packed virtqueue: normal operation over several wrap
 * laps, and one named test per applicable row of research/hardening.md
 * (table D, plus the A/B/C rows as they apply to the packed format).
 *
 * Hostile chains are written with drvsim_packed_add_raw(), which makes a
 * chain available exactly as given (head flags last) so each test controls
 * every flag bit.  A rejected chain must come back as one used descriptor
 * with length 0 and all of its slots skipped; a ring fault must latch the
 * queue broken and signal the error eventfd once.
 */
#include <pthread.h>
#include <time.h>

#include "tests/unit/vqtest.h"

/* A raw packed descriptor for drvsim_packed_add_raw(). */
#define PD(a, l, i, f) \
	((struct vring_packed_desc){ .addr = (a), .len = (l), .id = (i), .flags = (f) })
#define NEXT VRING_DESC_F_NEXT
#define WRITE VRING_DESC_F_WRITE
#define INDIRECT VRING_DESC_F_INDIRECT

/* ---- normal operation --------------------------------------------------- */

static void test_packed_single_descriptor(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 100, true };
	int id;

	vqt_packed_start(t, 8, 0);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	assert_false(vq_has_work(&t->vq));
	id = drvsim_packed_add(t->pq, &b, 1);
	assert_true(id >= 0);
	assert_true(vq_has_work(&t->vq));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, 1);
	assert_int_equal(t->c.n_out, 0);
	assert_int_equal(t->c.n_in, 1);
	assert_int_equal(t->c.in_bytes, 100);
	vqt_assert_iov(t, 0, BUF(0), 100);
	assert_int_equal(vq_push(&t->vq, &t->c, 60), 0);
	assert_false(vq_has_work(&t->vq));
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 60);
	vqt_packed_no_used(t);
}

static void test_packed_chains_1_to_size(void **state)
{
	struct vqt *t = *state;

	vqt_packed_start(t, 8, 0);
	for (unsigned n = 1; n <= 8; n++) {
		struct drvsim_buf b[8];
		uint32_t in = 0, out = 0;
		int id;

		for (unsigned k = 0; k < n; k++) {
			b[k] = (struct drvsim_buf){ BUF(k) + k, 16 * (k + 1), k >= n / 2 };
			if (b[k].write)
				in += b[k].len;
			else
				out += b[k].len;
		}
		id = drvsim_packed_add(t->pq, b, n);
		assert_true(id >= 0);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, id);
		assert_int_equal(t->c.nslots, n);
		assert_int_equal(t->c.ndesc, n);
		assert_int_equal(t->c.n_out, n / 2);
		assert_int_equal(t->c.n_in, n - n / 2);
		assert_int_equal(t->c.out_bytes, out);
		assert_int_equal(t->c.in_bytes, in);
		for (unsigned k = 0; k < n; k++)
			vqt_assert_iov(t, k, b[k].gpa, b[k].len);
		assert_int_equal(vq_push(&t->vq, &t->c, in), 0);
		vqt_flush(t);
		vqt_packed_used(t, (uint16_t)id, in);
	}
	assert_int_equal(t->pq->num_free, 8);
}

static void test_packed_indirect(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[3] = {
		{ BUF(0), 12, false }, { BUF(1), 1500, false }, { BUF(2), 2048, true },
	};
	int id;

	vqt_packed_start(t, 8, F_INDIRECT);
	id = drvsim_packed_add_indirect(t->pq, ind, 3, TABLE(0));
	assert_true(id >= 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, 1);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 1);
	for (unsigned k = 0; k < 3; k++)
		vqt_assert_iov(t, k, ind[k].gpa, ind[k].len);
	assert_int_equal(vq_push(&t->vq, &t->c, 2048), 0);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 2048);
}

/*
 * A non-power-of-two ring driven through many laps with chains of 1..3
 * slots, sometimes two per batch: chains straddle the ring end in every
 * position and both wrap counters flip many times.
 */
static void test_packed_wrap_counters_over_laps(void **state)
{
	struct vqt *t = *state;
	unsigned slots = 0, flips = 0;
	bool last_wrap = true;

	vqt_packed_start(t, 5, 0);
	for (unsigned i = 0; i < 60; i++) {
		unsigned n = 1 + i % 3, batch = n <= 2 ? 1 + i % 2 : 1;
		int ids[2];

		for (unsigned j = 0; j < batch; j++) {
			struct drvsim_buf b[3];

			for (unsigned k = 0; k < n; k++)
				b[k] = (struct drvsim_buf){ BUF(8 * j + k), 16 + k, k == n - 1 };
			ids[j] = drvsim_packed_add(t->pq, b, n);
			assert_true(ids[j] >= 0);
		}
		for (unsigned j = 0; j < batch; j++) {
			assert_int_equal(vqt_pop(t), VQ_OK);
			assert_int_equal(t->c.id, ids[j]);
			assert_int_equal(t->c.nslots, n);
			for (unsigned k = 0; k < n; k++)
				vqt_assert_iov(t, k, BUF(8 * j + k), 16 + k);
			assert_int_equal(vq_push(&t->vq, &t->c, 16 + n - 1), 0);
			slots += n;
		}
		assert_int_equal(vqt_pop(t), VQ_EMPTY);
		vqt_flush(t);
		for (unsigned j = 0; j < batch; j++)
			vqt_packed_used(t, (uint16_t)ids[j], 16 + n - 1);
		vqt_packed_no_used(t);
		/* device and driver agree on both positions */
		assert_int_equal(t->vq.last_avail, t->pq->next_avail);
		assert_int_equal(t->vq.avail_wrap, t->pq->avail_wrap);
		assert_int_equal(t->vq.used_idx, t->pq->next_used);
		assert_int_equal(t->vq.used_wrap, t->pq->used_wrap);
		if (t->pq->used_wrap != last_wrap) {
			flips++;
			last_wrap = t->pq->used_wrap;
		}
	}
	assert_true(slots / 5 >= 20);
	assert_true(flips >= 20);
}

static void test_packed_out_of_order_completion(void **state)
{
	struct vqt *t = *state;
	const unsigned n[3] = { 2, 1, 3 };
	struct vq_chain ch[3];
	struct iovec iov[3][4];
	struct vring_packed_desc d;
	int id[3];

	vqt_packed_start(t, 8, 0);
	for (unsigned i = 0; i < 3; i++) {
		struct drvsim_buf b[3];

		for (unsigned k = 0; k < n[i]; k++)
			b[k] = (struct drvsim_buf){ BUF(4 * i + k), 8, true };
		id[i] = drvsim_packed_add(t->pq, b, n[i]);
	}
	for (unsigned i = 0; i < 3; i++) {
		vq_chain_init(&ch[i], iov[i], 4);
		assert_int_equal(vq_pop(&t->vq, &ch[i]), VQ_OK);
		assert_int_equal(ch[i].id, id[i]);
		assert_int_equal(ch[i].nslots, n[i]);
	}
	assert_int_equal(vq_push(&t->vq, &ch[2], 3), 0);
	assert_int_equal(vq_push(&t->vq, &ch[0], 1), 0);
	assert_int_equal(vq_push(&t->vq, &ch[1], 2), 0);
	vqt_flush(t);
	/* used descriptors at slot 0, 0 + 3, 3 + 2: each skips its chain's slots */
	drvsim_packed_read_desc(t->pq, 0, &d);
	assert_int_equal(d.id, id[2]);
	drvsim_packed_read_desc(t->pq, 3, &d);
	assert_int_equal(d.id, id[0]);
	drvsim_packed_read_desc(t->pq, 5, &d);
	assert_int_equal(d.id, id[1]);
	assert_int_equal(d.len, 2);
	assert_int_equal(d.flags & (VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED),
			 VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED);
	vqt_packed_used(t, (uint16_t)id[2], 3);
	vqt_packed_used(t, (uint16_t)id[0], 1);
	vqt_packed_used(t, (uint16_t)id[1], 2);
	assert_int_equal(t->pq->num_free, 8);
	for (unsigned round = 0; round < 6; round++)
		vqt_packed_serves(t);
}

static void test_packed_stop_restart_resumes(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	struct vq_state st;
	int id[3];

	vqt_packed_start(t, 4, 0);
	/* move both positions into the second lap first */
	for (unsigned i = 0; i < 5; i++)
		vqt_packed_serves(t);
	for (unsigned i = 0; i < 3; i++)
		id[i] = drvsim_packed_add(t->pq, &b, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	vq_stop(&t->vq, &st);
	vqt_packed_used(t, (uint16_t)id[0], 8);
	/* 10 slots served (lap 3, slot 2), then one more popped and pushed */
	assert_int_equal(st.avail_idx, 3);
	assert_true(st.avail_wrap);
	assert_int_equal(st.used_idx, 3);
	assert_true(st.used_wrap);
	assert_int_equal(t->pq->next_used, 3);
	t->cfg.base = st;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id[1]);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id[2]);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id[1], 8);
	vqt_packed_used(t, (uint16_t)id[2], 8);
}

/* vq_unpop across the ring end restores slot and wrap counter. */
static void test_packed_unpop_across_wrap(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[3] = {
		{ BUF(0), 8, false }, { BUF(1), 8, false }, { BUF(2), 8, true },
	};
	struct vq_state st;
	int id;

	vqt_packed_start(t, 4, 0);
	id = drvsim_packed_add(t->pq, b, 3); /* slots 0-2 */
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 8);
	id = drvsim_packed_add(t->pq, b + 1, 2); /* slots 3, 0 (lap 2) */
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->vq.last_avail, 1);
	assert_false(t->vq.avail_wrap);
	assert_int_equal(vq_unpop(&t->vq, &t->c), 0);
	assert_int_equal(t->vq.last_avail, 3);
	assert_true(t->vq.avail_wrap);
	assert_true(vq_has_work(&t->vq));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, 2);
	vqt_assert_iov(t, 0, BUF(1), 8);
	vqt_assert_iov(t, 1, BUF(2), 8);
	assert_int_equal(vq_unpop(&t->vq, &t->c), 0);
	vq_stop(&t->vq, &st);
	assert_int_equal(st.avail_idx, 3);
	assert_true(st.avail_wrap);
}

/* ---- A rows, packed format ---------------------------------------------- */

static void test_A1_packed_size_zero_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_packed_ring(t, 8, 0);
	t->cfg.size = 0;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg.size = 32769;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg.size = 65536;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	assert_false(t->vq.started);
}

/* Packed rings need not be a power of two (2.8). */
static void test_A1_packed_size_not_pow2_accepted(void **state)
{
	struct vqt *t = *state;

	vqt_packed_start(t, 3, 0);
	for (unsigned i = 0; i < 7; i++)
		vqt_packed_serves(t);
}

static void test_A1_packed_size_32768_accepted(void **state)
{
	struct vqt *t = *state;

	vqt_packed_start(t, 32768, 0);
	for (unsigned i = 0; i < 3; i++)
		vqt_packed_serves(t);
}

static void test_A3_packed_misaligned_rejected(void **state)
{
	struct vqt *t = *state;
	struct vq_cfg good;

	vqt_packed_ring(t, 8, 0);
	good = t->cfg;
	for (uint64_t off = 1; off < 16; off++) {
		t->cfg = good;
		t->cfg.desc += 0x1000 + off;
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	}
	for (uint64_t off = 1; off < 4; off++) {
		t->cfg = good;
		t->cfg.driver += 0x1000 + off;
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
		t->cfg = good;
		t->cfg.device += 0x1000 + off;
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	}
	t->cfg = good;
	t->cfg.desc += 0x1000;
	t->cfg.driver += 0x1000;
	t->cfg.device += 0x1000;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

static void test_A4_packed_ring_outside_ram_rejected(void **state)
{
	struct vqt *t = *state;
	const uint64_t end = RAM_GPA + RAM_SIZE;
	const uint64_t bad_ring[] = { 0, end, end - 64, 0xfffffffffffffff0ULL };
	const uint64_t bad_event[] = { 0, end, end + 0x8000, 0xfffffffffffffffcULL };
	struct vq_cfg good;

	t->ds = drvsim_new_holes(RAM_GPA, 2, RAM_SIZE, 0x10000);
	vqt_packed_ring(t, 8, 0);
	good = t->cfg;
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad_ring); i++) {
		t->cfg = good;
		t->cfg.desc = bad_ring[i];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
		t->cfg = good;
		t->cfg.driver = bad_event[i];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
		t->cfg = good;
		t->cfg.device = bad_event[i];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
		assert_false(t->vq.started);
	}
}

/* Both 4-byte event areas must be wholly mapped. */
static void test_A5_packed_event_areas_must_be_mapped(void **state)
{
	struct vqt *t = *state;
	/* region end is 2 bytes past a 4-aligned address */
	const struct drvsim_region_spec spec = { RAM_GPA, RAM_SIZE + 2 };
	const uint64_t last = RAM_GPA + RAM_SIZE; /* 4-aligned, only 2 bytes mapped */
	struct vq_cfg good;

	t->ds = drvsim_new(&spec, 1);
	vqt_packed_ring(t, 8, 0);
	good = t->cfg;
	t->cfg.driver = last;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	t->cfg = good;
	t->cfg.device = last;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	t->cfg = good;
	t->cfg.device = last - 4;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

static void test_A7_packed_more_in_flight_than_size_breaks(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	const struct vring_packed_desc d = PD(BUF(1), 8, 2, 0);

	vqt_packed_start(t, 4, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_true(drvsim_packed_add(t->pq, &b, 1) >= 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vqt_pop(t), VQ_OK);
	/* the guest reuses a slot it never got back */
	t->pq->num_free = 1;
	assert_int_equal(drvsim_packed_add_raw(t->pq, &d, 1), 2);
	vqt_expect_broken(t, VQ_F_INFLIGHT);
}

static void test_A9_packed_push_not_in_flight_rejected(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[2] = { { BUF(0), 8, true }, { BUF(1), 8, true } };
	struct vq_chain fake;
	int id;

	vqt_packed_start(t, 8, 0);
	id = drvsim_packed_add(t->pq, b, 2);
	assert_int_equal(vqt_pop(t), VQ_OK);
	fake = t->c;
	fake.id = 8;
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	fake.id = (uint16_t)(id + 1);
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	fake = t->c;
	fake.nslots = 0;
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	fake.nslots = 9;
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	assert_int_equal(vq_push(&t->vq, &t->c, 16), 0);
	assert_int_equal(vq_push(&t->vq, &t->c, 16), -EINVAL);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 16);
	vqt_packed_no_used(t);
}

static void test_A10_packed_stopped_queue_is_inert(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	uint16_t flags, off_wrap;

	vqt_packed_start(t, 8, 0);
	assert_true(drvsim_packed_add(t->pq, &b, 1) >= 0);
	vq_stop(&t->vq, NULL);
	assert_false(t->vq.started);
	assert_null(t->vq.r.packed.desc);
	assert_null(t->vq.r.packed.driver);
	assert_null(t->vq.r.packed.device);
	drvsim_packed_set_device_event(t->pq, 0x5a5a, 0x5a5a);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	assert_false(vq_has_work(&t->vq));
	vq_disable_notify(&t->vq);
	assert_true(vq_enable_notify(&t->vq));
	assert_false(vq_flush(&t->vq));
	vqt_packed_no_used(t);
	drvsim_packed_device_event(t->pq, &flags, &off_wrap);
	assert_int_equal(flags, 0x5a5a);
	assert_int_equal(off_wrap, 0x5a5a);
}

/* ---- B rows, packed format ---------------------------------------------- */

/* 3 direct + 2 indirect buffers on a 4-slot ring: 5 > 4. */
static void test_B1_packed_indirect_counts_against_queue_size(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(3), 8, false }, { BUF(4), 8, true } };
	const struct vring_packed_desc d[4] = {
		PD(BUF(0), 8, 0, NEXT), PD(BUF(1), 8, 0, NEXT), PD(BUF(2), 8, 0, NEXT),
		PD(TABLE(0), 32, 1, INDIRECT),
	};

	vqt_packed_start(t, 4, F_INDIRECT);
	assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(0), ind, 2), 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 4), 1);
	vqt_packed_bad(t, 1, 4, VQ_F_CHAIN_LONG);
}

static void test_B3_packed_readable_after_writable(void **state)
{
	struct vqt *t = *state;
	const struct vring_packed_desc d[3] = {
		PD(BUF(0), 8, 0, NEXT | WRITE), PD(BUF(1), 8, 0, NEXT), PD(BUF(2), 8, 5, WRITE),
	};

	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 3), 5);
	vqt_packed_bad(t, 5, 3, VQ_F_ORDER);
}

static void test_B4_packed_zero_len_skipped_but_counted(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[4] = {
		{ BUF(0), 16, false }, { 0, 0, false }, { UINT64_MAX, 0, true }, { BUF(3), 32, true },
	};
	int id;

	vqt_packed_start(t, 8, 0);
	id = drvsim_packed_add(t->pq, b, 4);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.ndesc, 4);
	assert_int_equal(t->c.nslots, 4);
	assert_int_equal(t->c.n_out, 1);
	assert_int_equal(t->c.n_in, 1);
	vqt_assert_iov(t, 0, BUF(0), 16);
	vqt_assert_iov(t, 1, BUF(3), 32);
	/* counted: 1 + 4 zero-length table entries on a 4-slot ring */
	vq_stop(&t->vq, NULL);
	drvsim_packed_free(t->pq);
	t->pq = NULL;
	{
		const struct drvsim_buf z[4] = {
			{ BUF(0), 0, false }, { BUF(1), 0, false }, { BUF(2), 0, false },
			{ BUF(3), 0, false },
		};
		const struct vring_packed_desc d[2] = {
			PD(BUF(0), 0, 0, NEXT), PD(TABLE(0), 64, 2, INDIRECT),
		};

		vqt_packed_start(t, 4, F_INDIRECT);
		assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(0), z, 4), 0);
		assert_int_equal(drvsim_packed_add_raw(t->pq, d, 2), 2);
		vqt_packed_bad(t, 2, 2, VQ_F_CHAIN_LONG);
	}
}

static void test_B5_packed_addr_wrap_and_4GiB(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_region_spec spec[3] = {
		{ RAM_GPA, RAM_SIZE },
		{ 0, 0x10000 },
		{ 1ULL << 32, 1ULL << 30 },
	};
	const struct vring_packed_desc wrap[2] = {
		PD(BUF(0), 8, 0, NEXT), PD(0ULL - 0x800, 0x1000, 3, WRITE),
	};
	const struct vring_packed_desc big[4] = {
		PD(1ULL << 32, 1U << 30, 0, NEXT), PD(1ULL << 32, 1U << 30, 0, NEXT),
		PD(1ULL << 32, 1U << 30, 0, NEXT), PD(1ULL << 32, 1U << 30, 4, 0),
	};

	t->ds = drvsim_new(spec, 3);
	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, wrap, 2), 3);
	vqt_packed_bad(t, 3, 2, VQ_F_ADDR);
	assert_int_equal(drvsim_packed_add_raw(t->pq, big, 4), 4);
	vqt_packed_bad(t, 4, 4, VQ_F_TOO_BIG);
}

static void test_B6_packed_buffer_outside_ram(void **state)
{
	struct vqt *t = *state;
	const uint64_t end = RAM_GPA + RAM_SIZE;
	const struct vring_packed_desc d[3] = {
		PD(BUF(0), 8, 0, NEXT), PD(end - 8, 16, 0, NEXT | WRITE), PD(BUF(2), 8, 6, WRITE),
	};

	t->ds = drvsim_new_holes(RAM_GPA, 2, RAM_SIZE, 0x10000);
	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 3), 6);
	/* the whole 3-slot chain is consumed, so the next chain parses cleanly */
	vqt_packed_bad(t, 6, 3, VQ_F_ADDR);
}

static void test_B7_packed_iov_cap(void **state)
{
	struct vqt *t = *state;
	const uint64_t tiny = RAM_GPA + RAM_SIZE;
	const struct drvsim_buf b[2] = { { BUF(0), 8, false }, { tiny + 8, 4 * 256, true } };
	struct iovec *iov = malloc(5 * sizeof(*iov));
	int id;

	assert_non_null(iov);
	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 8, 256);
	vqt_packed_start(t, 8, 0);
	id = drvsim_packed_add(t->pq, b, 2);
	vq_chain_init(&t->c, iov, 5); /* needs 1 + 5 */
	assert_int_equal(vq_pop(&t->vq, &t->c), VQ_BAD_CHAIN);
	assert_int_equal(t->c.fault, VQ_F_IOV_CAP);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, 2);
	free(iov);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 0);
	vqt_packed_serves(t);
}

/* Hostile writer on the packed ring's buffer fields and on an indirect table. */
struct phammer {
	struct vring_packed_desc *ring;
	struct vring_packed_desc *table;
	unsigned n_ring, n_table;
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
	switch (r % 6) {
	case 0: return BUF(r % 16);
	case 1: return RAM_GPA + RAM_SIZE - (r >> 8) % 64;
	case 2: return 0;
	case 3: return UINT64_MAX - (r >> 8) % 4096;
	case 4: return TABLE(0) + 16 * ((r >> 8) % 4);
	default: return r;
	}
}

static uint32_t hostile_len(uint64_t r)
{
	switch (r % 5) {
	case 0: return 0;
	case 1: return (uint32_t)((r >> 8) % 8192);
	case 2: return 0xffffffff;
	case 3: return 16 * (uint32_t)((r >> 8) % 12);
	default: return (uint32_t)(r >> 32);
	}
}

static void *phammer_main(void *arg)
{
	struct phammer *h = arg;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		uint64_t r = xorshift(&h->seed), v = xorshift(&h->seed);

		if (r & 1) {
			/* ring: buffer fields only (flags/id belong to the ring protocol) */
			struct vring_packed_desc *d = &h->ring[(r >> 2) % h->n_ring];

			if (r & 2)
				__atomic_store_n(&d->addr, hostile_addr(v), __ATOMIC_RELAXED);
			else
				__atomic_store_n(&d->len, hostile_len(v), __ATOMIC_RELAXED);
		} else {
			struct vring_packed_desc *d = &h->table[(r >> 3) % h->n_table];

			switch ((r >> 1) & 3) {
			case 0:
				__atomic_store_n(&d->addr, hostile_addr(v), __ATOMIC_RELAXED);
				break;
			case 1:
				__atomic_store_n(&d->len, hostile_len(v), __ATOMIC_RELAXED);
				break;
			case 2:
				__atomic_store_n(&d->flags, (uint16_t)(v & 7), __ATOMIC_RELAXED);
				break;
			default:
				__atomic_store_n(&d->id, (uint16_t)v, __ATOMIC_RELAXED);
				break;
			}
		}
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

static void test_B8_packed_concurrent_hostile_writer(void **state)
{
	struct vqt *t = *state;
	struct phammer h = { .n_ring = 8, .n_table = 4, .seed = 0x2545f4914f6cdd1dULL };
	unsigned long ok = 0, bad = 0, iters = 0;
	pthread_t th;
	double end;

	vqt_packed_start(t, 8, F_INDIRECT);
	h.ring = drvsim_alias(t->ds, t->pq->ring_gpa, 8 * 16);
	h.table = drvsim_alias(t->ds, TABLE(0), 4 * 16);
	assert_non_null(h.ring);
	assert_non_null(h.table);
	assert_int_equal(pthread_create(&th, NULL, phammer_main, &h), 0);

	end = now_s() + 0.2;
	while ((iters & 63) || now_s() < end) {
		const uint16_t id = (uint16_t)(iters % 8);
		const struct vring_packed_desc d[3] = {
			PD(BUF(0), 64, 0, NEXT), PD(BUF(1), 64, 0, NEXT),
			PD(TABLE(0), 64, id, INDIRECT),
		};
		enum vq_status st;
		uint16_t got;
		uint32_t len;

		assert_int_equal(drvsim_packed_add_raw(t->pq, d, 3), id);
		st = vqt_pop(t);
		if (st == VQ_OK) {
			const struct vq_chain *c = &t->c;

			assert_int_equal(c->id, id);
			assert_int_equal(c->nslots, 3);
			assert_true(c->ndesc <= 8);
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
			assert_int_equal(t->c.id, id);
			assert_int_equal(t->c.nslots, 3);
			bad++;
		}
		vqt_flush(t);
		assert_true(drvsim_packed_get_used(t->pq, &got, &len));
		assert_int_equal(got, id);
		iters++;
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	assert_false(vq_is_broken(&t->vq, NULL));
	print_message("packed hammer: %lu pops (%lu ok, %lu bad), %lu hostile writes\n", iters,
		      ok, bad, h.writes);
}

/* ---- C rows, packed format ---------------------------------------------- */

static void test_C1_packed_nested_indirect(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { TABLE(1), 32, false } };
	int id;

	vqt_packed_start(t, 8, F_INDIRECT);
	id = drvsim_packed_add_indirect(t->pq, ind, 2, TABLE(0));
	assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(1), ind, 1), 0);
	assert_int_equal(drvsim_write_pdesc(t->ds, TABLE(0) + 16, TABLE(1), 16, 0,
					    VRING_DESC_F_INDIRECT), 0);
	vqt_packed_bad(t, (uint16_t)id, 1, VQ_F_IND_NESTED);
}

static void test_C2_packed_indirect_bad_len(void **state)
{
	struct vqt *t = *state;
	const uint32_t bad[] = { 0, 8, 24, 33 };

	vqt_packed_start(t, 8, F_INDIRECT);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		const struct vring_packed_desc d = PD(TABLE(0), bad[i], (uint16_t)i, INDIRECT);

		assert_int_equal(drvsim_packed_add_raw(t->pq, &d, 1), i);
		vqt_packed_bad(t, (uint16_t)i, 1, VQ_F_IND_LEN);
	}
}

static void test_C3_packed_indirect_table_larger_than_queue(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf ind[9];
	const struct vring_packed_desc d = PD(TABLE(0), 16 * 9, 1, INDIRECT);
	int id;

	for (unsigned k = 0; k < 9; k++)
		ind[k] = (struct drvsim_buf){ BUF(k), 8, false };
	vqt_packed_start(t, 8, F_INDIRECT);
	assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(0), ind, 9), 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, &d, 1), 1);
	vqt_packed_bad(t, 1, 1, VQ_F_IND_SIZE);
	/* boundary: queue-size entries is fine */
	id = drvsim_packed_add_indirect(t->pq, ind, 8, TABLE(0));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.n_out, 8);
}

static void test_C4_packed_indirect_with_next(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[1] = { { BUF(0), 8, false } };
	const struct vring_packed_desc d[2] = {
		PD(TABLE(0), 16, 0, INDIRECT | NEXT), PD(BUF(1), 8, 3, WRITE),
	};

	vqt_packed_start(t, 8, F_INDIRECT);
	assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(0), ind, 1), 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 2), 3);
	vqt_packed_bad(t, 3, 2, VQ_F_IND_NEXT);
}

/* Direct descriptors followed by an indirect one (2.7.5.3.2 shape, packed). */
static void test_C5_packed_indirect_after_direct(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(2), 30, false }, { BUF(3), 40, true } };
	const struct vring_packed_desc d[2] = {
		PD(BUF(1), 20, 0, NEXT), PD(TABLE(0), 32, 4, INDIRECT),
	};

	vqt_packed_start(t, 8, F_INDIRECT);
	assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(0), ind, 2), 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 2), 4);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, 4);
	assert_int_equal(t->c.nslots, 2);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 1);
	vqt_assert_iov(t, 0, BUF(1), 20);
	vqt_assert_iov(t, 1, BUF(2), 30);
	vqt_assert_iov(t, 2, BUF(3), 40);
}

/* Packed tables are sequential: NEXT and `next` inside them mean nothing (2.8.19). */
static void test_C5_packed_table_next_ignored(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[3] = {
		{ BUF(0), 10, false }, { BUF(1), 20, false }, { BUF(2), 30, true },
	};
	int id;

	vqt_packed_start(t, 8, F_INDIRECT);
	id = drvsim_packed_add_indirect(t->pq, ind, 3, TABLE(0));
	/* every entry claims NEXT, with garbage ids: still exactly 3 entries */
	assert_int_equal(drvsim_write_pdesc(t->ds, TABLE(0), BUF(0), 10, 7, NEXT), 0);
	assert_int_equal(drvsim_write_pdesc(t->ds, TABLE(0) + 16, BUF(1), 20, 0xffff, NEXT), 0);
	assert_int_equal(drvsim_write_pdesc(t->ds, TABLE(0) + 32, BUF(2), 30, 0, NEXT | WRITE), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 1);
	assert_int_equal(t->c.ndesc, 3);
	for (unsigned k = 0; k < 3; k++)
		vqt_assert_iov(t, k, ind[k].gpa, ind[k].len);
}

static void test_C6_packed_indirect_table_straddles_regions(void **state)
{
	struct vqt *t = *state;
	const uint64_t tiny = RAM_GPA + RAM_SIZE;
	const struct drvsim_buf ind[3] = {
		{ BUF(0), 10, false }, { BUF(1), 20, true }, { BUF(2), 30, true },
	};
	const uint64_t tables[] = { tiny + 256 - 24, tiny + 256 - 20, tiny - 8, tiny + 4 };

	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 4, 256);
	vqt_packed_start(t, 8, F_INDIRECT);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(tables); i++) {
		int id = drvsim_packed_add_indirect(t->pq, ind, 3, tables[i]);

		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, id);
		for (unsigned k = 0; k < 3; k++)
			vqt_assert_iov(t, k, ind[k].gpa, ind[k].len);
		assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
		vqt_flush(t);
		vqt_packed_used(t, (uint16_t)id, 0);
	}
	/* and one running into a gap */
	{
		const struct vring_packed_desc d = PD(tiny + 4 * 256 - 16, 32, 6, INDIRECT);

		assert_int_equal(drvsim_packed_add_raw(t->pq, &d, 1), 6);
		vqt_packed_bad(t, 6, 1, VQ_F_IND_ADDR);
	}
}

static void test_C7_packed_write_flag_on_indirect_ignored(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 16, true } };
	const struct vring_packed_desc d[2] = {
		PD(BUF(2), 4, 0, NEXT), PD(TABLE(0), 32, 2, INDIRECT | WRITE),
	};

	vqt_packed_start(t, 8, F_INDIRECT);
	assert_int_equal(drvsim_write_table_packed(t->ds, TABLE(0), ind, 2), 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 2), 2);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 1);
	vqt_assert_iov(t, 0, BUF(2), 4);
	vqt_assert_iov(t, 1, BUF(0), 8);
	vqt_assert_iov(t, 2, BUF(1), 16);
}

static void test_C8_packed_indirect_not_negotiated(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[2] = { { BUF(0), 8, false }, { BUF(1), 8, true } };
	int id;

	vqt_packed_start(t, 8, 0);
	id = drvsim_packed_add_indirect(t->pq, ind, 2, TABLE(0));
	vqt_packed_bad(t, (uint16_t)id, 1, VQ_F_IND_NOT_NEG);
}

/* ---- D: packed virtqueue ------------------------------------------------ */

/* Only AVAIL == wrap && USED != wrap is available, on both wrap values. */
static void test_D1_wrap_counter_combinations(void **state)
{
	struct vqt *t = *state;
	const uint16_t A = VRING_PACKED_DESC_F_AVAIL, U = VRING_PACKED_DESC_F_USED;
	const uint16_t combos[4] = { 0, A, U, A | U };

	vqt_packed_start(t, 4, 0);
	for (unsigned lap = 0; lap < 2; lap++) {
		bool wrap = t->pq->avail_wrap;
		uint16_t slot = t->pq->next_avail;

		assert_int_equal(wrap, lap == 0);
		for (unsigned i = 0; i < 4; i++) {
			if (combos[i] == drvsim_packed_avail_bits(wrap))
				continue;
			drvsim_packed_set_desc(t->pq, slot, BUF(0), 8, 0, combos[i]);
			assert_false(vq_has_work(&t->vq));
			assert_int_equal(vqt_pop(t), VQ_EMPTY);
			assert_true(vq_enable_notify(&t->vq));
		}
		/* the one combination that is available */
		drvsim_packed_set_desc(t->pq, slot, BUF(0), 8, 0,
				       drvsim_packed_avail_bits(wrap));
		assert_true(vq_has_work(&t->vq));
		assert_false(vq_enable_notify(&t->vq));
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, 0);
		assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
		vqt_flush(t);
		/* driver bookkeeping for the raw slot, then move on to the next lap */
		t->pq->next_avail = (uint16_t)(slot + 1);
		if (t->pq->next_avail == 4) {
			t->pq->next_avail = 0;
			t->pq->avail_wrap = !t->pq->avail_wrap;
		}
		t->pq->num_free--;
		t->pq->id_slots[0] = 1 | 0x8000;
		vqt_packed_used(t, 0, 0);
		for (unsigned i = 0; i < 3; i++)
			vqt_packed_serves(t);
	}
}

/* A chain that runs past the ring end continues at slot 0 with the flipped counter. */
static void test_D2_chain_wraps_past_ring_end(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf b[3];
	int id;

	for (unsigned k = 0; k < 3; k++)
		b[k] = (struct drvsim_buf){ BUF(k), 100 + k, k == 2 };
	vqt_packed_start(t, 4, 0);
	vqt_packed_serves(t); /* slots 0-1 */
	vqt_packed_serves(t); /* slots 2-3: next chain starts at 0 of lap 2 */
	vqt_packed_serves(t); /* slots 0-1 */
	id = drvsim_packed_add(t->pq, b, 3); /* slots 2, 3, 0 */
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, 3);
	for (unsigned k = 0; k < 3; k++)
		vqt_assert_iov(t, k, BUF(k), 100 + k);
	assert_int_equal(t->vq.last_avail, 1);
	assert_int_equal(vq_push(&t->vq, &t->c, 102), 0);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 102);
	vqt_packed_serves(t);
}

/* The continuation slot after the ring end still carries last lap's bits. */
static void test_D2_chain_continues_into_unavailable_slot(void **state)
{
	struct vqt *t = *state;
	const struct vring_packed_desc d = PD(BUF(0), 8, 1, NEXT);

	vqt_packed_start(t, 4, 0);
	vqt_packed_serves(t);
	vqt_packed_serves(t);
	vqt_packed_serves(t);
	/* next_avail 2: slots 2, 3 with NEXT; slot 0 (lap 2) was never refilled */
	t->pq->num_free = 2;
	{
		const struct vring_packed_desc two[2] = { d, d };

		assert_int_equal(drvsim_packed_add_raw(t->pq, two, 2), 1);
	}
	vqt_expect_broken(t, VQ_F_PACKED_CHAIN);
	vqt_packed_no_used(t);
}

/* A NEXT chain through every slot has no end inside the ring. */
static void test_D3_chain_longer_than_ring(void **state)
{
	struct vqt *t = *state;
	struct vring_packed_desc d[4];

	for (unsigned k = 0; k < 4; k++)
		d[k] = PD(BUF(k), 8, 0, NEXT);
	vqt_packed_start(t, 4, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 4), 0);
	vqt_expect_broken(t, VQ_F_PACKED_CHAIN);
}

static void test_D4_buffer_id_out_of_range(void **state)
{
	struct vqt *t = *state;
	const struct vring_packed_desc d[2] = { PD(BUF(0), 8, 0, NEXT), PD(BUF(1), 8, 8, 0) };

	vqt_packed_start(t, 8, 0);
	vqt_packed_serves(t);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 2), 8);
	vqt_expect_broken(t, VQ_F_ID_RANGE);
	vqt_packed_no_used(t);
}

static void test_D4_buffer_id_ffff(void **state)
{
	struct vqt *t = *state;
	const struct vring_packed_desc d = PD(BUF(0), 8, 0xffff, 0);

	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, &d, 1), 0xffff);
	vqt_expect_broken(t, VQ_F_ID_RANGE);
}

/* Only the id in the last descriptor counts: garbage ids before it are fine. */
static void test_D4_id_taken_from_last_descriptor(void **state)
{
	struct vqt *t = *state;
	const struct vring_packed_desc d[3] = {
		PD(BUF(0), 8, 0xffff, NEXT), PD(BUF(1), 8, 0x8000, NEXT), PD(BUF(2), 8, 5, WRITE),
	};

	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, d, 3), 5);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, 5);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	vqt_flush(t);
	vqt_packed_used(t, 5, 8);
}

static void test_D4_duplicate_in_flight_id(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };

	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_id(t->pq, &b, 1, 3), 3);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(drvsim_packed_add_id(t->pq, &b, 1, 3), 3);
	vqt_expect_broken(t, VQ_F_DUP_HEAD);
}

/* Zero-length descriptors and bad addresses inside a packed chain. */
static void test_D5_packed_zero_len_and_bad_addr(void **state)
{
	struct vqt *t = *state;
	const struct vring_packed_desc zero[3] = {
		PD(0, 0, 0, NEXT), PD(BUF(1), 16, 0, NEXT), PD(UINT64_MAX, 0, 2, WRITE),
	};
	const struct vring_packed_desc bad[3] = {
		PD(BUF(0), 8, 0, NEXT), PD(0, 8, 0, NEXT), PD(BUF(2), 8, 3, WRITE),
	};

	vqt_packed_start(t, 8, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, zero, 3), 2);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.ndesc, 3);
	assert_int_equal(t->c.n_out, 1);
	assert_int_equal(t->c.n_in, 0);
	vqt_assert_iov(t, 0, BUF(1), 16);
	assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
	vqt_flush(t);
	vqt_packed_used(t, 2, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, bad, 3), 3);
	vqt_packed_bad(t, 3, 3, VQ_F_ADDR);
}

static void test_D6_packed_base_out_of_range_rejected(void **state)
{
	struct vqt *t = *state;
	struct vq_cfg good;

	vqt_packed_ring(t, 8, 0);
	good = t->cfg;
	t->cfg.base.avail_idx = 8;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg.base.avail_idx = 0x8000 | 2; /* wrap bit in the index */
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg = good;
	t->cfg.base.used_idx = 8;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg.base.used_idx = 0xffff;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	assert_false(t->vq.started);
}

/* Restoring a mid-ring position with cleared wrap counters works. */
static void test_D6_packed_base_restore_mid_ring(void **state)
{
	struct vqt *t = *state;

	vqt_packed_ring(t, 8, 0);
	t->pq->next_avail = 5;
	t->pq->avail_wrap = false;
	t->pq->next_used = 5;
	t->pq->used_wrap = false;
	drvsim_packed_cfg(t->pq, &t->cfg, F_V1 | F_PACKED);
	t->cfg.err_fd = t->err_fd;
	/* what a ring in this state holds: slots 0-4 used in this lap (wrap 0:
	 * both bits clear), slots 5-7 used in the previous lap (both set) */
	for (uint16_t s = 0; s < 8; s++)
		drvsim_packed_set_desc(t->pq, s, 0, 0, 0,
				       s < 5 ? 0 : VRING_PACKED_DESC_F_AVAIL |
						   VRING_PACKED_DESC_F_USED);
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	for (unsigned i = 0; i < 10; i++)
		vqt_packed_serves(t);
}

/* D7: unknown event suppression flags mean "signal" (spurious is allowed). */
static void test_D7_unknown_event_flags_signal(void **state)
{
	struct vqt *t = *state;
	const uint16_t flags[] = { 3, 0x8000, 0xffff, VRING_PACKED_EVENT_FLAG_DISABLE,
				   VRING_PACKED_EVENT_FLAG_ENABLE };
	const bool want[] = { true, true, true, false, true };

	vqt_packed_start(t, 8, 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(flags); i++) {
		const struct drvsim_buf b = { BUF(0), 8, true };
		int id = drvsim_packed_add(t->pq, &b, 1);

		drvsim_packed_set_driver_event(t->pq, flags[i], 0x7fff);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 1), 0);
		assert_int_equal(vq_flush(&t->vq), want[i]);
		vqt_packed_used(t, (uint16_t)id, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQT_TEST(test_packed_single_descriptor),
		VQT_TEST(test_packed_chains_1_to_size),
		VQT_TEST(test_packed_indirect),
		VQT_TEST(test_packed_wrap_counters_over_laps),
		VQT_TEST(test_packed_out_of_order_completion),
		VQT_TEST(test_packed_stop_restart_resumes),
		VQT_TEST(test_packed_unpop_across_wrap),
		VQT_TEST(test_A1_packed_size_zero_rejected),
		VQT_TEST(test_A1_packed_size_not_pow2_accepted),
		VQT_TEST(test_A1_packed_size_32768_accepted),
		VQT_TEST(test_A3_packed_misaligned_rejected),
		VQT_TEST(test_A4_packed_ring_outside_ram_rejected),
		VQT_TEST(test_A5_packed_event_areas_must_be_mapped),
		VQT_TEST(test_A7_packed_more_in_flight_than_size_breaks),
		VQT_TEST(test_A9_packed_push_not_in_flight_rejected),
		VQT_TEST(test_A10_packed_stopped_queue_is_inert),
		VQT_TEST(test_B1_packed_indirect_counts_against_queue_size),
		VQT_TEST(test_B3_packed_readable_after_writable),
		VQT_TEST(test_B4_packed_zero_len_skipped_but_counted),
		VQT_TEST(test_B5_packed_addr_wrap_and_4GiB),
		VQT_TEST(test_B6_packed_buffer_outside_ram),
		VQT_TEST(test_B7_packed_iov_cap),
		VQT_TEST(test_B8_packed_concurrent_hostile_writer),
		VQT_TEST(test_C1_packed_nested_indirect),
		VQT_TEST(test_C2_packed_indirect_bad_len),
		VQT_TEST(test_C3_packed_indirect_table_larger_than_queue),
		VQT_TEST(test_C4_packed_indirect_with_next),
		VQT_TEST(test_C5_packed_indirect_after_direct),
		VQT_TEST(test_C5_packed_table_next_ignored),
		VQT_TEST(test_C6_packed_indirect_table_straddles_regions),
		VQT_TEST(test_C7_packed_write_flag_on_indirect_ignored),
		VQT_TEST(test_C8_packed_indirect_not_negotiated),
		VQT_TEST(test_D1_wrap_counter_combinations),
		VQT_TEST(test_D2_chain_wraps_past_ring_end),
		VQT_TEST(test_D2_chain_continues_into_unavailable_slot),
		VQT_TEST(test_D3_chain_longer_than_ring),
		VQT_TEST(test_D4_buffer_id_out_of_range),
		VQT_TEST(test_D4_buffer_id_ffff),
		VQT_TEST(test_D4_id_taken_from_last_descriptor),
		VQT_TEST(test_D4_duplicate_in_flight_id),
		VQT_TEST(test_D5_packed_zero_len_and_bad_addr),
		VQT_TEST(test_D6_packed_base_out_of_range_rejected),
		VQT_TEST(test_D6_packed_base_restore_mid_ring),
		VQT_TEST(test_D7_unknown_event_flags_signal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
