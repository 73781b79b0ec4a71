// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_packed.c - packed virtqueue (core/virtq_packed.c): normal
 * operation over several wrap laps, and one named test per applicable row of
 * research/hardening.md table D plus the A rows as they apply to the packed
 * format.  The chain rules (B, C) through packed rings are in
 * test_virtq_packed_chain.c.
 *
 * Hostile chains are written with drvsim_packed_add_raw(), which makes a
 * chain available exactly as given (head flags last) so each test controls
 * every flag bit.  A rejected chain must come back as one used descriptor
 * with length 0 and all of its slots skipped; a ring fault must latch the
 * queue broken and signal the error eventfd once.
 */
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
