// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_notify.c - notification suppression and two-phase completion.
 *
 * Covers hardening.md rows E1/E2 and D7-adjacent behaviour, and the hvisor
 * virtio-net bug classes of seed 002 that live in the core: the re-check after
 * re-enabling kicks (a buffer added in the window must not be lost), the
 * signal after completions, and the batched used-ring update.  Seed 001's
 * lazy suppression (availability checks are read-only; NO_NOTIFY written only
 * on a state change) is checked with sentinels in the device-written fields.
 * The EVENT_IDX tests compare against an oracle that walks the published
 * positions one by one instead of reusing vring_need_event().
 */
#include "tests/unit/vqtest.h"

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One chain through the split ring, completed and flushed; returns the flush result. */
static bool split_round(struct vqt *t, unsigned nchains)
{
	const struct drvsim_buf b = { BUF(0), 8, true };
	bool want;

	for (unsigned i = 0; i < nchains; i++)
		assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
	for (unsigned i = 0; i < nchains; i++) {
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	}
	want = vq_flush(&t->vq);
	for (unsigned i = 0; i < nchains; i++) {
		uint32_t id, len;

		assert_true(drvsim_split_get_used(t->sq, &id, &len));
	}
	return want;
}

static bool packed_round(struct vqt *t, unsigned nchains, unsigned nslots)
{
	const struct drvsim_buf b[2] = { { BUF(0), 8, false }, { BUF(1), 8, true } };
	bool want;

	for (unsigned i = 0; i < nchains; i++)
		assert_true(drvsim_packed_add(t->pq, b + 2 - nslots, nslots) >= 0);
	for (unsigned i = 0; i < nchains; i++) {
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	}
	want = vq_flush(&t->vq);
	for (unsigned i = 0; i < nchains; i++) {
		uint16_t id;
		uint32_t len;

		assert_true(drvsim_packed_get_used(t->pq, &id, &len));
	}
	return want;
}

/* ---- seed 002: re-check after enabling notifications -------------------- */

static void test_seed002_enable_notify_rechecks_split(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	int head;

	vqt_split_start(t, 8, 0, 0);
	(void)split_round(t, 1);
	vq_disable_notify(&t->vq);
	assert_int_equal(drvsim_split_used_flags(t->sq), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	/* the guest adds a buffer while kicks are suppressed: no kick comes */
	head = drvsim_split_add(t->sq, &b, 1);
	/* the device arms kicks at its sleep boundary and must notice it */
	assert_false(vq_enable_notify(&t->vq));
	assert_int_equal(drvsim_split_used_flags(t->sq), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
	vqt_flush(t);
	/* nothing raced in this time: safe to sleep */
	assert_true(vq_enable_notify(&t->vq));
	assert_int_equal(drvsim_split_used_flags(t->sq), 0);
}

static void test_seed002_enable_notify_rechecks_split_event_idx(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };

	vqt_split_start(t, 8, F_EVENT_IDX, 65533);
	for (unsigned i = 0; i < 5; i++) {
		(void)split_round(t, 1);
		vq_disable_notify(&t->vq);
		assert_int_equal(drvsim_split_used_flags(t->sq), 0); /* never NO_NOTIFY */
		assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
		assert_false(vq_enable_notify(&t->vq));
		/* avail_event = the next index the device will read: the driver
		 * kicks when it moves avail->idx past it */
		assert_int_equal(drvsim_split_avail_event(t->sq), t->vq.last_avail);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
		vqt_flush(t);
		assert_true(vq_enable_notify(&t->vq));
		assert_int_equal(drvsim_split_avail_event(t->sq), (uint16_t)(65533 + 2 * i + 2));
		while (drvsim_split_get_used(t->sq, &(uint32_t){ 0 }, &(uint32_t){ 0 }))
			;
	}
}

static void test_seed002_enable_notify_rechecks_packed(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	uint16_t flags, off_wrap;

	vqt_packed_start(t, 4, 0);
	for (unsigned i = 0; i < 6; i++) { /* crosses the ring end */
		vq_disable_notify(&t->vq);
		drvsim_packed_device_event(t->pq, &flags, &off_wrap);
		assert_int_equal(flags, VRING_PACKED_EVENT_FLAG_DISABLE);
		assert_int_equal(vqt_pop(t), VQ_EMPTY);
		assert_true(drvsim_packed_add(t->pq, &b, 1) >= 0);
		assert_false(vq_enable_notify(&t->vq));
		drvsim_packed_device_event(t->pq, &flags, &off_wrap);
		assert_int_equal(flags, VRING_PACKED_EVENT_FLAG_ENABLE);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
		vqt_flush(t);
		assert_true(vq_enable_notify(&t->vq));
		vqt_packed_used(t, t->c.id, 0);
	}
}

static void test_seed002_enable_notify_rechecks_packed_event_idx(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	uint16_t flags, off_wrap;

	vqt_packed_start(t, 3, F_EVENT_IDX);
	for (unsigned i = 0; i < 7; i++) {
		vq_disable_notify(&t->vq);
		assert_true(drvsim_packed_add(t->pq, &b, 1) >= 0);
		assert_false(vq_enable_notify(&t->vq));
		drvsim_packed_device_event(t->pq, &flags, &off_wrap);
		assert_int_equal(flags, VRING_PACKED_EVENT_FLAG_DESC);
		/* the slot (and lap) the device will look at next */
		assert_int_equal(off_wrap & 0x7fff, t->pq->next_avail == 0 ? 2 :
						    t->pq->next_avail - 1);
		assert_int_equal(off_wrap >> 15, t->vq.avail_wrap);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
		vqt_flush(t);
		assert_true(vq_enable_notify(&t->vq));
		drvsim_packed_device_event(t->pq, &flags, &off_wrap);
		assert_int_equal(off_wrap & 0x7fff, t->pq->next_avail);
		assert_int_equal(off_wrap >> 15, t->pq->avail_wrap);
		vqt_packed_used(t, t->c.id, 0);
	}
}

/* ---- seed 002: signal after completions ---------------------------------- */

static void test_seed002_signal_after_completion_split(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	assert_true(split_round(t, 1));
	assert_true(split_round(t, 3));
	drvsim_split_set_avail_flags(t->sq, VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(split_round(t, 1));
	drvsim_split_set_avail_flags(t->sq, 0);
	assert_true(split_round(t, 2));
	assert_int_equal(t->vq.stats.signals, 3);
	assert_int_equal(t->vq.stats.suppressed, 1);
	/* nothing staged: nothing to signal */
	assert_false(vq_flush(&t->vq));
}

/* Without EVENT_IDX the device MUST ignore used_event (2.7.7.2). */
static void test_seed002_used_event_ignored_without_event_idx(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	for (unsigned i = 0; i < 6; i++) {
		drvsim_split_set_used_event(t->sq, (uint16_t)(i + 100));
		assert_true(split_round(t, 1));
	}
}

static void test_seed002_signal_after_completion_packed(void **state)
{
	struct vqt *t = *state;

	vqt_packed_start(t, 8, 0);
	assert_true(packed_round(t, 1, 2));
	drvsim_packed_set_driver_event(t->pq, VRING_PACKED_EVENT_FLAG_DISABLE, 0);
	assert_false(packed_round(t, 2, 1));
	drvsim_packed_set_driver_event(t->pq, VRING_PACKED_EVENT_FLAG_ENABLE, 0);
	assert_true(packed_round(t, 3, 2));
	/* DESC mode without EVENT_IDX negotiated is not a reason to stay quiet */
	drvsim_packed_set_driver_event(t->pq, VRING_PACKED_EVENT_FLAG_DESC, 0x7fff);
	assert_true(packed_round(t, 1, 1));
}

static void test_seed002_flush_signal_writes_call_fd(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };

	vqt_split_start(t, 8, 0, 0);
	assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	assert_int_equal(vqt_efd(t->call_fd), 0);
	assert_true(vq_flush_signal(&t->vq));
	assert_int_equal(vqt_efd(t->call_fd), 1);
	/* suppressed: no eventfd write */
	drvsim_split_set_avail_flags(t->sq, VRING_AVAIL_F_NO_INTERRUPT);
	assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	assert_false(vq_flush_signal(&t->vq));
	assert_int_equal(vqt_efd(t->call_fd), 0);
	/* no call fd configured: vq_signal is a no-op */
	t->vq.call_fd = -1;
	vq_signal(&t->vq);
}

/* ---- seed 002: batched used-ring update ---------------------------------- */

static void test_seed002_batch_used_update_split(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 64, true };
	int head[5];

	vqt_split_start(t, 8, 0, 65533);
	for (unsigned i = 0; i < 5; i++)
		head[i] = drvsim_split_add(t->sq, &b, 1);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 10 + i), 0);
		/* invisible until the flush */
		assert_int_equal(drvsim_split_used_idx(t->sq), 65533);
	}
	assert_true(vq_flush(&t->vq));
	assert_int_equal(drvsim_split_used_idx(t->sq), (uint16_t)(65533 + 5));
	for (unsigned i = 0; i < 5; i++)
		vqt_split_used(t, (uint32_t)head[i], 10 + i);
	assert_int_equal(t->vq.stats.signals, 1);
}

static void test_seed002_batch_used_update_packed(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 64, true };
	struct vring_packed_desc d;
	int id[5];

	vqt_packed_start(t, 8, 0);
	vqt_packed_serves(t); /* start the batch mid-ring so it wraps */
	vqt_packed_serves(t);
	vqt_packed_serves(t);
	for (unsigned i = 0; i < 5; i++)
		id[i] = drvsim_packed_add(t->pq, &b, 1);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(vq_push(&t->vq, &t->c, 10 + i), 0);
		/* the head of the batch must not look used yet */
		vqt_packed_no_used(t);
		drvsim_packed_read_desc(t->pq, 6, &d);
		assert_int_equal(d.flags & VRING_PACKED_DESC_F_USED, 0);
	}
	assert_true(vq_flush(&t->vq));
	for (unsigned i = 0; i < 5; i++)
		vqt_packed_used(t, (uint16_t)id[i], 10 + i);
	vqt_packed_no_used(t);
}

/* ---- seed 001: lazy suppression, read-only availability ------------------ */

static void test_seed001_disable_notify_lazy_split(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	assert_int_equal(drvsim_split_used_flags(t->sq), 0); /* armed at start */
	vq_disable_notify(&t->vq);
	assert_int_equal(drvsim_split_used_flags(t->sq), VRING_USED_F_NO_NOTIFY);
	drvsim_split_set_used_flags(t->sq, 0x5a5a);
	vq_disable_notify(&t->vq); /* already disabled: no write */
	assert_int_equal(drvsim_split_used_flags(t->sq), 0x5a5a);
	assert_true(vq_enable_notify(&t->vq));
	assert_int_equal(drvsim_split_used_flags(t->sq), 0);
	drvsim_split_set_used_flags(t->sq, 0x5a5a);
	assert_true(vq_enable_notify(&t->vq)); /* already armed: no write */
	assert_int_equal(drvsim_split_used_flags(t->sq), 0x5a5a);
}

static void test_seed001_disable_notify_lazy_packed(void **state)
{
	struct vqt *t = *state;
	uint16_t flags, off_wrap;

	vqt_packed_start(t, 8, 0);
	drvsim_packed_device_event(t->pq, &flags, &off_wrap);
	assert_int_equal(flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	vq_disable_notify(&t->vq);
	drvsim_packed_device_event(t->pq, &flags, &off_wrap);
	assert_int_equal(flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	drvsim_packed_set_device_event(t->pq, 0x5a5a, 0x5a5a);
	vq_disable_notify(&t->vq);
	drvsim_packed_device_event(t->pq, &flags, &off_wrap);
	assert_int_equal(flags, 0x5a5a);
	assert_true(vq_enable_notify(&t->vq));
	drvsim_packed_device_event(t->pq, &flags, &off_wrap);
	assert_int_equal(flags, VRING_PACKED_EVENT_FLAG_ENABLE);
}

/* vq_has_work() never writes guest memory and never consumes. */
static void test_seed001_has_work_read_only(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	uint8_t before[0x1000], *ring;
	int head = -1;

	vqt_split_start(t, 8, 0, 0);
	ring = drvsim_hva(t->ds, RAM_GPA, sizeof(before));
	assert_non_null(ring);
	vq_disable_notify(&t->vq);
	for (unsigned round = 0; round < 2; round++) {
		memcpy(before, ring, sizeof(before));
		for (unsigned i = 0; i < 3; i++)
			assert_int_equal(vq_has_work(&t->vq), round == 1);
		assert_memory_equal(before, ring, sizeof(before));
		if (round == 0)
			head = drvsim_split_add(t->sq, &b, 1);
	}
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	/* an avail index jump is reported as work, but only vq_pop breaks */
	drvsim_split_set_avail_idx(t->sq, 100);
	memcpy(before, ring, sizeof(before));
	assert_true(vq_has_work(&t->vq));
	assert_false(vq_is_broken(&t->vq, NULL));
	assert_memory_equal(before, ring, sizeof(before));
	assert_int_equal(vqt_efd(t->err_fd), 0);
}

static void test_seed001_has_work_read_only_packed(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	uint8_t before[8 * 16 + 8];
	uint8_t *ring;
	int id;

	vqt_packed_start(t, 8, 0);
	ring = drvsim_hva(t->ds, RAM_GPA, sizeof(before));
	vq_disable_notify(&t->vq);
	memcpy(before, ring, sizeof(before));
	assert_false(vq_has_work(&t->vq));
	assert_memory_equal(before, ring, sizeof(before));
	id = drvsim_packed_add(t->pq, &b, 1);
	memcpy(before, ring, sizeof(before));
	assert_true(vq_has_work(&t->vq));
	assert_true(vq_has_work(&t->vq));
	assert_memory_equal(before, ring, sizeof(before));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
}

/* ---- E1: EVENT_IDX arithmetic -------------------------------------------- */

/* Oracle: did the device publish used index @ev while moving from @old to @new? */
static bool crossed(uint16_t ev, uint16_t old, uint16_t new_idx)
{
	for (uint16_t i = old; i != new_idx; i++)
		if (i == ev)
			return true;
	return false;
}

static void test_E1_used_event_wrapping_split(void **state)
{
	struct vqt *t = *state;
	uint64_t seed = 0xdeadbeefcafef00dULL;
	uint16_t old;

	vqt_split_start(t, 8, F_EVENT_IDX, 65500);
	/* with EVENT_IDX the NO_INTERRUPT flag means nothing (2.7.7.2) */
	drvsim_split_set_avail_flags(t->sq, VRING_AVAIL_F_NO_INTERRUPT);
	(void)split_round(t, 1); /* the first decision has no "old" */
	old = drvsim_split_used_idx(t->sq);
	for (unsigned i = 0; i < 300; i++) {
		uint64_t r = xorshift(&seed);
		unsigned n = 1 + r % 4;
		uint16_t ev;

		switch ((r >> 8) % 4) {
		case 0: ev = (uint16_t)(old + (r >> 16) % 6); break;  /* near the window */
		case 1: ev = (uint16_t)(old - 1 - (r >> 16) % 3); break; /* just behind */
		case 2: ev = (uint16_t)(r >> 16); break;               /* garbage */
		default: ev = (uint16_t)(old + n); break;              /* just past */
		}
		drvsim_split_set_used_event(t->sq, ev);
		assert_int_equal(split_round(t, n), crossed(ev, old, (uint16_t)(old + n)));
		old = (uint16_t)(old + n);
	}
	/* we wrapped the 16-bit index */
	assert_true(old < 65500);
}

/* Packed oracle: absolute used positions p in [old, new) with slot/wrap == event. */
static bool crossed_packed(uint16_t off_wrap, uint64_t old, uint64_t new_pos, uint16_t size)
{
	for (uint64_t p = old; p < new_pos; p++) {
		uint16_t slot = (uint16_t)(p % size);
		unsigned wrap = 1u ^ (unsigned)((p / size) & 1); /* wrap starts at 1 */

		if (slot == (off_wrap & 0x7fff) && wrap == (unsigned)(off_wrap >> 15))
			return true;
	}
	return false;
}

static void test_E1_off_wrap_packed(void **state)
{
	struct vqt *t = *state;
	uint64_t seed = 0x0123456789abcdefULL, pos;
	const uint16_t size = 5;

	vqt_packed_start(t, size, F_EVENT_IDX);
	drvsim_packed_set_driver_event(t->pq, VRING_PACKED_EVENT_FLAG_DESC, 0);
	(void)packed_round(t, 1, 1);
	pos = 1;
	for (unsigned i = 0; i < 300; i++) {
		uint64_t r = xorshift(&seed);
		unsigned n = 1 + r % 2, slots = 1 + (r >> 4) % 2;
		uint64_t target = pos + (r >> 8) % (2 * size) - 2;
		uint16_t ow = (uint16_t)(target % size) |
			      (uint16_t)((1u ^ ((target / size) & 1)) << 15);

		drvsim_packed_set_driver_event(t->pq, VRING_PACKED_EVENT_FLAG_DESC, ow);
		assert_int_equal(packed_round(t, n, slots),
				 crossed_packed(ow, pos, pos + n * slots, size));
		pos += n * slots;
	}
}

/* ---- E2: a flooding guest and the per-wakeup budget ---------------------- */

/*
 * The guest re-posts every buffer as soon as it comes back.  A worker with a
 * budget of 3 chains per wakeup must get exactly 3 per round (vq_pop hands out
 * one chain per call and never loops on its own), must be told that work is
 * pending instead of sleeping, and no buffer may be lost across rounds.
 */
static void test_E2_flood_bounded_by_budget(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	uint64_t served = 0;

	vqt_split_start(t, 8, 0, 0);
	for (unsigned i = 0; i < 8; i++)
		assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
	for (unsigned round = 0; round < 50; round++) {
		uint32_t id, len;
		unsigned budget = 3;

		vq_disable_notify(&t->vq);
		while (budget && vqt_pop(t) == VQ_OK) {
			assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
			budget--;
			served++;
		}
		assert_int_equal(budget, 0);
		vqt_flush(t);
		/* budget exhausted with work left: re-arm would say "keep going" */
		assert_true(vq_has_work(&t->vq));
		assert_false(vq_enable_notify(&t->vq));
		while (drvsim_split_get_used(t->sq, &id, &len))
			assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
		assert_int_equal(t->sq->num_free, 0);
	}
	assert_int_equal(served, 150);
	assert_int_equal(t->vq.stats.chains, 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQT_TEST(test_seed002_enable_notify_rechecks_split),
		VQT_TEST(test_seed002_enable_notify_rechecks_split_event_idx),
		VQT_TEST(test_seed002_enable_notify_rechecks_packed),
		VQT_TEST(test_seed002_enable_notify_rechecks_packed_event_idx),
		VQT_TEST(test_seed002_signal_after_completion_split),
		VQT_TEST(test_seed002_used_event_ignored_without_event_idx),
		VQT_TEST(test_seed002_signal_after_completion_packed),
		VQT_TEST(test_seed002_flush_signal_writes_call_fd),
		VQT_TEST(test_seed002_batch_used_update_split),
		VQT_TEST(test_seed002_batch_used_update_packed),
		VQT_TEST(test_seed001_disable_notify_lazy_split),
		VQT_TEST(test_seed001_disable_notify_lazy_packed),
		VQT_TEST(test_seed001_has_work_read_only),
		VQT_TEST(test_seed001_has_work_read_only_packed),
		VQT_TEST(test_E1_used_event_wrapping_split),
		VQT_TEST(test_E1_off_wrap_packed),
		VQT_TEST(test_E2_flood_bounded_by_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
