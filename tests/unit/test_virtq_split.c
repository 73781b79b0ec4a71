// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_split.c - split virtqueue (core/virtq_split.c, core/virtq.c):
 * normal operation, the seed 002 "every error path returns the head" batch,
 * and one named test per applicable row of research/hardening.md table A.
 * The chain rules (tables B and C) are in test_virtq_chain.c.
 *
 * Every hostile test builds a real instance of its bug class in guest memory
 * so that removing the corresponding check from core/ makes the test fail
 * rather than merely changing which check fires.  A ring fault must latch the
 * queue broken and signal the error eventfd exactly once.
 */
#include "tests/unit/vqtest.h"

/* ---- normal operation --------------------------------------------------- */

static void test_split_single_descriptor(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 100, false };
	int head;

	vqt_split_start(t, 8, 0, 0);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	assert_false(vq_has_work(&t->vq));
	head = drvsim_split_add(t->sq, &b, 1);
	assert_true(head >= 0);
	assert_true(vq_has_work(&t->vq));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out, 1);
	assert_int_equal(t->c.n_in, 0);
	assert_int_equal(t->c.out_bytes, 100);
	assert_int_equal(t->c.in_bytes, 0);
	assert_int_equal(t->c.ndesc, 1);
	assert_int_equal(t->c.fault, VQ_F_NONE);
	vqt_assert_iov(t, 0, BUF(0), 100);
	assert_false(vq_has_work(&t->vq));
	assert_int_equal(vq_push(&t->vq, &t->c, 0), 0);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 0);
	vqt_split_no_used(t);
	assert_int_equal(t->vq.stats.chains, 1);
	assert_int_equal(t->vq.stats.bad_chains, 0);
}

/* Chains of every length 1..size, first half readable, second half writable. */
static void test_split_chains_1_to_size(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	for (unsigned n = 1; n <= 8; n++) {
		struct drvsim_buf b[8];
		uint32_t in = 0, out = 0;
		int head;

		for (unsigned k = 0; k < n; k++) {
			b[k].gpa = BUF(k) + k;
			b[k].len = 16 * (k + 1);
			b[k].write = k >= n / 2;
			if (b[k].write)
				in += b[k].len;
			else
				out += b[k].len;
		}
		head = drvsim_split_add(t->sq, b, n);
		assert_true(head >= 0);
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, head);
		assert_int_equal(t->c.n_out, n / 2);
		assert_int_equal(t->c.n_in, n - n / 2);
		assert_int_equal(t->c.ndesc, n);
		assert_int_equal(t->c.out_bytes, out);
		assert_int_equal(t->c.in_bytes, in);
		for (unsigned k = 0; k < n; k++)
			vqt_assert_iov(t, k, b[k].gpa, b[k].len);
		vqt_assert_totals(&t->c);
		assert_int_equal(vq_push(&t->vq, &t->c, in), 0);
		vqt_flush(t);
		vqt_split_used(t, (uint32_t)head, in);
	}
	assert_int_equal(t->sq->num_free, 8);
}

static void test_split_push_len_clamped_to_writable(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf rw[2] = { { BUF(0), 10, false }, { BUF(1), 64, true } };
	const struct drvsim_buf ro = { BUF(2), 10, false };
	int h1, h2;

	vqt_split_start(t, 8, 0, 0);
	h1 = drvsim_split_add(t->sq, rw, 2);
	h2 = drvsim_split_add(t->sq, &ro, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 1000), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 7), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)h1, 64);
	vqt_split_used(t, (uint32_t)h2, 0);
}

static void test_split_indirect_only(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf ind[3] = {
		{ BUF(0), 12, false }, { BUF(1), 1500, false }, { BUF(2), 2048, true },
	};
	int head;

	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 3, TABLE(0));
	assert_true(head >= 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out, 2);
	assert_int_equal(t->c.n_in, 1);
	assert_int_equal(t->c.out_bytes, 1512);
	assert_int_equal(t->c.in_bytes, 2048);
	for (unsigned k = 0; k < 3; k++)
		vqt_assert_iov(t, k, ind[k].gpa, ind[k].len);
	assert_int_equal(vq_push(&t->vq, &t->c, 2048), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 2048);
}

/* An indirect table of exactly queue-size entries is legal. */
static void test_split_indirect_table_of_queue_size(void **state)
{
	struct vqt *t = *state;
	struct drvsim_buf ind[8];
	int head;

	for (unsigned k = 0; k < 8; k++)
		ind[k] = (struct drvsim_buf){ BUF(k), 8, k >= 4 };
	vqt_split_start(t, 8, F_INDIRECT, 0);
	head = drvsim_split_add_indirect(t->sq, NULL, 0, ind, 8, TABLE(0));
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out, 4);
	assert_int_equal(t->c.n_in, 4);
}

/* 65530 -> 65535 -> 0 -> ...: free-running indices wrap in 16 bits. */
static void test_split_idx_wrap(void **state)
{
	struct vqt *t = *state;
	uint16_t used = 65530;

	vqt_split_start(t, 4, 0, 65530);
	for (unsigned i = 0; i < 40; i++) {
		unsigned n = 1 + i % 3, batch = 1 + i % 2;
		int heads[2];

		for (unsigned j = 0; j < batch; j++) {
			struct drvsim_buf b[3];
			unsigned len = j ? 1 : n;

			for (unsigned k = 0; k < len; k++)
				b[k] = (struct drvsim_buf){ BUF(4 * j + k), 32, k == len - 1 };
			heads[j] = drvsim_split_stage(t->sq, b, len);
			assert_true(heads[j] >= 0);
		}
		drvsim_split_publish(t->sq);
		for (unsigned j = 0; j < batch; j++) {
			assert_int_equal(vqt_pop(t), VQ_OK);
			assert_int_equal(t->c.id, heads[j]);
			assert_int_equal(t->c.in_bytes, 32);
			assert_int_equal(vq_push(&t->vq, &t->c, 32), 0);
		}
		assert_int_equal(vqt_pop(t), VQ_EMPTY);
		vqt_flush(t);
		used = (uint16_t)(used + batch);
		assert_int_equal(drvsim_split_used_idx(t->sq), used);
		for (unsigned j = 0; j < batch; j++)
			vqt_split_used(t, (uint32_t)heads[j], 32);
	}
	/* we really crossed 65535 -> 0 */
	assert_true(used < 65530);
	assert_int_equal(t->sq->num_free, 4);
}

static void test_split_out_of_order_completion(void **state)
{
	struct vqt *t = *state;
	struct vq_chain ch[3];
	struct iovec iov[3][4];
	int h[3];

	vqt_split_start(t, 8, 0, 0);
	for (unsigned i = 0; i < 3; i++) {
		const struct drvsim_buf b[2] = { { BUF(2 * i), 8, false },
						 { BUF(2 * i + 1), 64, true } };

		h[i] = drvsim_split_add(t->sq, b, 2);
	}
	for (unsigned i = 0; i < 3; i++) {
		vq_chain_init(&ch[i], iov[i], 4);
		assert_int_equal(vq_pop(&t->vq, &ch[i]), VQ_OK);
		assert_int_equal(ch[i].id, h[i]);
	}
	assert_int_equal(vq_push(&t->vq, &ch[2], 3), 0);
	assert_int_equal(vq_push(&t->vq, &ch[0], 1), 0);
	assert_int_equal(vq_push(&t->vq, &ch[1], 2), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)h[2], 3);
	vqt_split_used(t, (uint32_t)h[0], 1);
	vqt_split_used(t, (uint32_t)h[1], 2);
	assert_int_equal(t->sq->num_free, 8);
	/* freed descriptors are reused by new chains */
	for (unsigned round = 0; round < 3; round++)
		vqt_split_serves(t);
}

static void test_split_stop_restart_resumes(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	struct vq_state st;
	int h[3];

	vqt_split_start(t, 8, 0, 100);
	for (unsigned i = 0; i < 3; i++)
		h[i] = drvsim_split_add(t->sq, &b, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	vq_stop(&t->vq, &st); /* publishes the staged pair */
	assert_int_equal(st.avail_idx, 102);
	assert_int_equal(st.used_idx, 102);
	assert_int_equal(drvsim_split_used_idx(t->sq), 102);
	vqt_split_used(t, (uint32_t)h[0], 8);
	vqt_split_used(t, (uint32_t)h[1], 8);

	t->cfg.base = st;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, h[2]);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)h[2], 8);
}

/* vq_unpop: chains given back in reverse order are popped again, unchanged. */
static void test_split_unpop_rewinds(void **state)
{
	struct vqt *t = *state;
	struct vq_chain ch[3];
	struct iovec iov[3][4];
	struct vq_state st;
	int h[3];

	vqt_split_start(t, 8, 0, 65535);
	for (unsigned i = 0; i < 3; i++) {
		const struct drvsim_buf b[2] = { { BUF(i), 8, false }, { BUF(i + 4), 16, true } };

		h[i] = drvsim_split_add(t->sq, b, 2);
	}
	for (unsigned i = 0; i < 3; i++) {
		vq_chain_init(&ch[i], iov[i], 4);
		assert_int_equal(vq_pop(&t->vq, &ch[i]), VQ_OK);
	}
	assert_int_equal(vq_unpop(&t->vq, &ch[2]), 0);
	assert_int_equal(vq_unpop(&t->vq, &ch[1]), 0);
	assert_int_equal(vq_unpop(&t->vq, &ch[1]), -EINVAL); /* no longer in flight */
	assert_int_equal(t->vq.stats.chains, 1);
	for (unsigned i = 1; i < 3; i++) {
		assert_int_equal(vqt_pop(t), VQ_OK);
		assert_int_equal(t->c.id, h[i]);
		vqt_assert_iov(t, 0, BUF(i), 8);
		vqt_assert_iov(t, 1, BUF(i + 4), 16);
		ch[i] = t->c;
		ch[i].iov = iov[i];
		memcpy(iov[i], t->iov, 2 * sizeof(struct iovec));
	}
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	/* unpop everything, then stop: the base reports them as not consumed */
	for (int i = 2; i >= 0; i--)
		assert_int_equal(vq_unpop(&t->vq, &ch[i]), 0);
	vq_stop(&t->vq, &st);
	assert_int_equal(st.avail_idx, 65535);
	vqt_split_no_used(t);
}

/* With dirty logging on, vq_push marks exactly the written guest pages. */
static void test_split_dirty_log_on_push(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b[3] = {
		{ BUF(0), 100, false }, { BUF(1), 4096, true }, { BUF(2), 4096, true },
	};
	const unsigned page0 = (unsigned)(BUF(0) >> 12), ring = (unsigned)(RAM_GPA >> 12);
	uint8_t log[128];
	int head;

#define LOGGED(p) ((log[(p) / 8] >> ((p) % 8)) & 1)
	vqt_split_start(t, 8, 0, 0);
	memset(log, 0, sizeof(log));
	gmem_set_log(&t->ds->gm, log, sizeof(log));
	head = drvsim_split_add(t->sq, b, 3);
	assert_int_equal(vqt_pop(t), VQ_OK);
	for (unsigned i = 0; i < sizeof(log); i++)
		assert_int_equal(log[i], 0); /* popping writes nothing */
	assert_int_equal(vq_push(&t->vq, &t->c, 5000), 0);
	assert_false(LOGGED(page0));
	assert_true(LOGGED(page0 + 1));
	assert_true(LOGGED(page0 + 2));
	assert_false(LOGGED(page0 + 3));
	vqt_flush(t);
	assert_true(LOGGED(ring)); /* used element and used->idx */
	vqt_split_used(t, (uint32_t)head, 5000);
	gmem_set_log(&t->ds->gm, NULL, 0);
#undef LOGGED
}

/*
 * seed 002 ("lost descriptor on error"): a batch mixing good chains with one
 * chain per chain-fault class.  Every head must come back exactly once, the
 * bad ones with length 0, and the driver must get every descriptor back.
 */
static void test_seed002_every_bad_chain_returns_head(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf r2[2] = { { BUF(0), 8, false }, { BUF(1), 8, false } };
	const struct drvsim_buf wr[2] = { { BUF(0), 8, true }, { BUF(1), 8, false } };
	const struct drvsim_buf one = { BUF(2), 8, true };
	const struct drvsim_buf unmapped = { 0, 8, true };
	struct drvsim_buf many[9], ind31[31];
	struct {
		int head;
		enum vq_fault fault;
	} exp[20];
	unsigned n = 0, seen[32] = { 0 };
	struct iovec iov[8];
	uint32_t id, len;
	int h;

	for (unsigned k = 0; k < 9; k++)
		many[k] = (struct drvsim_buf){ BUF(k), 8, false };
	for (unsigned k = 0; k < 31; k++)
		ind31[k] = (struct drvsim_buf){ BUF(k), 0, true }; /* counted, no iovec */
	vqt_split_start(t, 32, F_INDIRECT, 0);

#define BAD(h_, f_) \
	do { \
		exp[n].head = (h_); \
		exp[n++].fault = (f_); \
	} while (0)
#define GOOD() BAD(drvsim_split_stage(t->sq, &one, 1), VQ_F_NONE)
	GOOD();
	h = drvsim_split_stage(t->sq, r2, 2); /* zero-length loop: no iovecs, only the count */
	drvsim_split_set_desc(t->sq, (uint16_t)h, BUF(0), 0, VRING_DESC_F_NEXT, t->sq->link[h]);
	drvsim_split_set_desc(t->sq, t->sq->link[h], BUF(1), 0, VRING_DESC_F_NEXT, (uint16_t)h);
	BAD(h, VQ_F_CHAIN_LONG);
	h = drvsim_split_stage(t->sq, &one, 1);
	drvsim_split_set_desc(t->sq, (uint16_t)h, BUF(2), 8, VRING_DESC_F_NEXT, 32);
	BAD(h, VQ_F_NEXT_RANGE);
	GOOD();
	BAD(drvsim_split_stage(t->sq, wr, 2), VQ_F_ORDER);
	BAD(drvsim_split_stage(t->sq, &unmapped, 1), VQ_F_ADDR);
	BAD(drvsim_split_stage(t->sq, many, 9), VQ_F_IOV_CAP);
	GOOD();
	h = drvsim_split_stage_indirect(t->sq, NULL, 0, &one, 1, TABLE(0));
	drvsim_split_set_desc(t->sq, (uint16_t)h, TABLE(0), 16,
			      VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 0);
	BAD(h, VQ_F_IND_NEXT);
	h = drvsim_split_stage_indirect(t->sq, NULL, 0, &one, 1, TABLE(1));
	drvsim_split_set_desc(t->sq, (uint16_t)h, TABLE(1), 24, VRING_DESC_F_INDIRECT, 0);
	BAD(h, VQ_F_IND_LEN);
	h = drvsim_split_stage_indirect(t->sq, NULL, 0, &one, 1, TABLE(2));
	drvsim_split_set_desc(t->sq, (uint16_t)h, TABLE(2), 16 * 33, VRING_DESC_F_INDIRECT, 0);
	BAD(h, VQ_F_IND_SIZE);
	h = drvsim_split_stage_indirect(t->sq, NULL, 0, &one, 1, TABLE(3));
	assert_int_equal(drvsim_write_desc(t->ds, TABLE(3), TABLE(0), 16,
					   VRING_DESC_F_INDIRECT, 0), 0);
	BAD(h, VQ_F_IND_NESTED);
	h = drvsim_split_stage_indirect(t->sq, NULL, 0, &one, 1, TABLE(4));
	drvsim_split_set_desc(t->sq, (uint16_t)h, 0, 16, VRING_DESC_F_INDIRECT, 0);
	BAD(h, VQ_F_IND_ADDR);
	BAD(drvsim_split_stage_indirect(t->sq, r2, 2, ind31, 31, TABLE(5)), VQ_F_CHAIN_LONG);
	GOOD();
#undef GOOD
#undef BAD
	drvsim_split_publish(t->sq);

	for (unsigned i = 0; i < n; i++) {
		enum vq_status st;

		assert_true(exp[i].head >= 0);
		vq_chain_init(&t->c, iov, 8);
		st = vq_pop(&t->vq, &t->c);
		assert_int_equal(t->c.id, exp[i].head);
		assert_int_equal(t->c.fault, exp[i].fault);
		if (exp[i].fault == VQ_F_NONE) {
			assert_int_equal(st, VQ_OK);
			assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
		} else {
			assert_int_equal(st, VQ_BAD_CHAIN);
		}
	}
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	assert_int_equal(drvsim_split_used_idx(t->sq), 0);
	vqt_flush(t);
	assert_int_equal(drvsim_split_used_idx(t->sq), n);
	for (unsigned i = 0; i < n; i++) {
		assert_true(drvsim_split_get_used(t->sq, &id, &len));
		assert_true(id < 32);
		seen[id]++;
		for (unsigned k = 0; k < n; k++)
			if (exp[k].head == (int)id)
				assert_int_equal(len, exp[k].fault ? 0 : 8);
	}
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(seen[exp[i].head], 1);
	assert_int_equal(t->sq->num_free, 32);
	assert_int_equal(t->vq.stats.bad_chains, n - 4);
	assert_int_equal(t->vq.inflight, 0);
}

/* ---- A: ring / queue configuration -------------------------------------- */

static void test_A1_size_zero_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_split_ring(t, 8, 0, 0);
	t->cfg.size = 0;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	assert_false(t->vq.started);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
}

static void test_A1_size_over_32768_rejected(void **state)
{
	struct vqt *t = *state;
	const uint32_t bad[] = { 32769, 65536, 65536 + 8, UINT32_MAX };

	vqt_split_ring(t, 8, 0, 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		t->cfg.size = bad[i];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
		assert_false(t->vq.started);
	}
}

static void test_A1_split_size_not_pow2_rejected(void **state)
{
	struct vqt *t = *state;
	const uint32_t bad[] = { 3, 6, 7, 12, 255, 32767 };

	vqt_split_ring(t, 8, 0, 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		t->cfg.size = bad[i];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	}
}

/* Boundaries that must work: 1 and 32768 (32768 * 16 does not fit u16 math). */
static void test_A1_size_1_and_32768_accepted(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 1, 0, 0);
	vqt_split_serves(t);
	vq_stop(&t->vq, NULL);
	drvsim_split_free(t->sq);
	t->sq = NULL;

	vqt_split_ring(t, 32768, 0, 0);
	assert_int_equal(t->cfg.size, 32768);
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
	for (unsigned i = 0; i < 3; i++)
		vqt_split_serves(t);
}

static void test_A2_start_while_running_busy(void **state)
{
	struct vqt *t = *state;
	struct vq_cfg other;

	vqt_split_start(t, 8, 0, 0);
	other = t->cfg;
	other.size = 4;
	other.desc = RAM_GPA + 0x10000;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &other), -EBUSY);
	assert_int_equal(t->vq.size, 8);
	vqt_split_serves(t);
}

/* The configuration is copied: the caller's struct may change afterwards. */
static void test_A2_cfg_snapshot(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	t->cfg.size = 1;
	t->cfg.desc = 0;
	t->cfg.driver = UINT64_MAX;
	t->cfg.device = 3;
	t->cfg.features = 0;
	for (unsigned i = 0; i < 9; i++)
		vqt_split_serves(t);
}

static void test_A3_misaligned_rings_rejected(void **state)
{
	struct vqt *t = *state;
	struct vq_cfg good;

	vqt_split_ring(t, 8, 0, 0);
	good = t->cfg;
	/* Every misaligned address below is still fully mapped, so only the
	 * alignment check can reject it. */
	for (uint64_t off = 1; off < 16; off++) {
		t->cfg = good;
		t->cfg.desc += 0x1000 + off;
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	}
	t->cfg = good;
	t->cfg.driver += 0x1001;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	for (uint64_t off = 1; off < 4; off++) {
		t->cfg = good;
		t->cfg.device += 0x1000 + off;
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	}
	/* positive control: the same areas, aligned */
	t->cfg = good;
	t->cfg.desc += 0x1000;
	t->cfg.driver += 0x1002;
	t->cfg.device += 0x1004;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

static void test_A4_rings_outside_ram_rejected(void **state)
{
	struct vqt *t = *state;
	const uint64_t end = RAM_GPA + RAM_SIZE, end2 = end + 0x20000;
	struct vq_cfg good;
	/* two regions: [RAM_GPA, end) and, after a 64 KiB hole, another 64 KiB */
	const struct drvsim_region_spec spec[2] = {
		{ RAM_GPA, RAM_SIZE },
		{ end + 0x10000, 0x10000 },
	};
	/* size 8: desc 128 bytes, avail 22, used 70; all suitably aligned */
	const uint64_t bad[][3] = {
		{ 0, 0, 0 },                            /* below RAM */
		{ end, end, end },                      /* in the hole */
		{ end - 64, end - 10, end - 36 },       /* straddling into the hole */
		{ end2 - 64, end2 - 10, end2 - 36 },    /* past the second region */
		{ 0xfffffffffffffff0ULL, 0xfffffffffffffff0ULL,
		  0xfffffffffffffff0ULL },              /* wraps 2^64 */
	};

	t->ds = drvsim_new(spec, 2);
	vqt_split_ring(t, 8, 0, 0);
	good = t->cfg;
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		t->cfg = good;
		t->cfg.desc = bad[i][0];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
		t->cfg = good;
		t->cfg.driver = bad[i][1];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
		t->cfg = good;
		t->cfg.device = bad[i][2];
		assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
		assert_false(t->vq.started);
	}
	/* a ring that straddles two GPA-adjacent regions is not one mapping */
	drvsim_split_free(t->sq);
	t->sq = NULL;
	drvsim_free(t->ds);
	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 2, 0x1000);
	vqt_split_ring(t, 8, 0, 0);
	t->cfg.desc = end - 64;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	t->cfg.desc = end + 0x1000 - 64;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	t->cfg.desc = end; /* wholly inside the first tiny region: fine */
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

/* used_event / avail_event are part of the ring areas even without EVENT_IDX. */
static void test_A5_event_fields_must_be_mapped(void **state)
{
	struct vqt *t = *state;
	const uint64_t end = RAM_GPA + RAM_SIZE;
	struct vq_cfg good;

	vqt_split_ring(t, 8, 0, 0);
	good = t->cfg;
	/* avail: flags + idx + ring[8] = 20 bytes fit, used_event does not */
	t->cfg.driver = end - 20;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	t->cfg.features |= F_EVENT_IDX;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	/* used: flags + idx + ring[8] = 68 bytes fit, avail_event does not */
	t->cfg = good;
	t->cfg.device = end - 68;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EFAULT);
	/* positive controls: 2 more bytes of room */
	t->cfg = good;
	t->cfg.driver = end - 22;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
	vq_stop(&t->vq, NULL);
	t->cfg = good;
	t->cfg.device = end - 72;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

static void test_A6_avail_idx_jump_breaks(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 4, 0, 7);
	assert_int_equal(vqt_efd(t->err_fd), 0);
	drvsim_split_set_avail_idx(t->sq, 7 + 5);
	vqt_expect_broken(t, VQ_F_AVAIL_IDX);
	assert_int_equal(drvsim_split_used_idx(t->sq), 7);
	/* a later sane index does not revive it */
	drvsim_split_set_avail_idx(t->sq, 7 + 1);
	assert_int_equal(vqt_pop(t), VQ_BROKEN);
}

static void test_A6_avail_idx_backwards_breaks(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 4, 0, 0);
	drvsim_split_set_avail_idx(t->sq, 0xffff); /* 0 - 1 */
	vqt_expect_broken(t, VQ_F_AVAIL_IDX);
}

/* Boundary: exactly a queue's worth of new heads is fine. */
static void test_A6_avail_idx_jump_of_size_ok(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, false };

	vqt_split_start(t, 4, 0, 65534);
	for (unsigned i = 0; i < 4; i++)
		assert_true(drvsim_split_stage(t->sq, &b, 1) >= 0);
	drvsim_split_publish(t->sq);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	assert_false(vq_is_broken(&t->vq, NULL));
}

/* CVE-2016-5403: more chains in flight than the queue size. */
static void test_A7_more_in_flight_than_size_breaks(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, false };

	vqt_split_start(t, 4, 0, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vqt_pop(t), VQ_OK);
	/* none completed; the guest offers a fifth */
	drvsim_split_post_head(t->sq, 0);
	vqt_expect_broken(t, VQ_F_INFLIGHT);
}

static void test_A7_duplicate_in_flight_head_breaks(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, false };
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, &b, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	drvsim_split_post_head(t->sq, (uint16_t)head);
	vqt_expect_broken(t, VQ_F_DUP_HEAD);
}

/* After completion the same head may be offered again (control for A7). */
static void test_A7_head_reuse_after_completion_ok(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 1, 0, 0);
	for (unsigned i = 0; i < 5; i++)
		vqt_split_serves(t);
}

static void test_A8_head_out_of_range_breaks(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	drvsim_split_post_head(t->sq, 8);
	vqt_expect_broken(t, VQ_F_HEAD_RANGE);
	assert_int_equal(drvsim_split_used_idx(t->sq), 0);
}

static void test_A8_head_ffff_breaks(void **state)
{
	struct vqt *t = *state;

	vqt_split_start(t, 8, 0, 0);
	vqt_split_serves(t);
	drvsim_split_post_head(t->sq, 0xffff);
	vqt_expect_broken(t, VQ_F_HEAD_RANGE);
}

/* A9: the device cannot complete what it did not pop. */
static void test_A9_push_of_chain_not_in_flight_rejected(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	struct vq_chain fake;
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, &b, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);

	fake = t->c;
	fake.id = 8;
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	fake.id = 0xffff;
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	fake.id = (uint16_t)(head + 1);
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EINVAL);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), 0);
	assert_int_equal(vq_push(&t->vq, &t->c, 8), -EINVAL); /* twice */
	vqt_flush(t);
	assert_int_equal(drvsim_split_used_idx(t->sq), 1);
	vqt_split_used(t, (uint32_t)head, 8);
	assert_false(vq_is_broken(&t->vq, NULL));
}

/* A10: after stop nothing touches the old rings until a new start. */
static void test_A10_stopped_queue_is_inert(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, &b, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	vq_stop(&t->vq, NULL);
	assert_false(t->vq.started);
	assert_null(t->vq.r.split.desc);
	assert_null(t->vq.r.split.avail);
	assert_null(t->vq.r.split.used);
	assert_null(t->vq.gm);

	drvsim_split_set_used_flags(t->sq, 0x5a5a);
	assert_true(drvsim_split_add(t->sq, &b, 1) >= 0);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
	assert_false(vq_has_work(&t->vq));
	assert_int_equal(vq_push(&t->vq, &t->c, 8), -EINVAL);
	assert_false(vq_flush(&t->vq));
	vq_disable_notify(&t->vq);
	assert_true(vq_enable_notify(&t->vq));
	assert_int_equal(drvsim_split_used_idx(t->sq), 0);
	assert_int_equal(drvsim_split_used_flags(t->sq), 0x5a5a);
	(void)head;
}

static void test_A10_stop_publishes_staged(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf b = { BUF(0), 8, true };
	int head;

	vqt_split_start(t, 8, 0, 0);
	head = drvsim_split_add(t->sq, &b, 1);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(vq_push(&t->vq, &t->c, 5), 0);
	assert_int_equal(drvsim_split_used_idx(t->sq), 0);
	vq_stop(&t->vq, NULL);
	vqt_split_used(t, (uint32_t)head, 5);
}

/* vq_start refuses a used index more than a queue's worth behind avail. */
static void test_A10_restart_with_inconsistent_base_rejected(void **state)
{
	struct vqt *t = *state;

	vqt_split_ring(t, 8, 0, 0);
	t->cfg.base.avail_idx = 9;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg.base.avail_idx = 0xffff; /* used ahead of avail */
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), -EINVAL);
	t->cfg.base.avail_idx = 8;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQT_TEST(test_split_single_descriptor),
		VQT_TEST(test_split_chains_1_to_size),
		VQT_TEST(test_split_push_len_clamped_to_writable),
		VQT_TEST(test_split_indirect_only),
		VQT_TEST(test_split_indirect_table_of_queue_size),
		VQT_TEST(test_split_idx_wrap),
		VQT_TEST(test_split_out_of_order_completion),
		VQT_TEST(test_split_stop_restart_resumes),
		VQT_TEST(test_split_unpop_rewinds),
		VQT_TEST(test_split_dirty_log_on_push),
		VQT_TEST(test_seed002_every_bad_chain_returns_head),
		VQT_TEST(test_A1_size_zero_rejected),
		VQT_TEST(test_A1_size_over_32768_rejected),
		VQT_TEST(test_A1_split_size_not_pow2_rejected),
		VQT_TEST(test_A1_size_1_and_32768_accepted),
		VQT_TEST(test_A2_start_while_running_busy),
		VQT_TEST(test_A2_cfg_snapshot),
		VQT_TEST(test_A3_misaligned_rings_rejected),
		VQT_TEST(test_A4_rings_outside_ram_rejected),
		VQT_TEST(test_A5_event_fields_must_be_mapped),
		VQT_TEST(test_A6_avail_idx_jump_breaks),
		VQT_TEST(test_A6_avail_idx_backwards_breaks),
		VQT_TEST(test_A6_avail_idx_jump_of_size_ok),
		VQT_TEST(test_A7_more_in_flight_than_size_breaks),
		VQT_TEST(test_A7_duplicate_in_flight_head_breaks),
		VQT_TEST(test_A7_head_reuse_after_completion_ok),
		VQT_TEST(test_A8_head_out_of_range_breaks),
		VQT_TEST(test_A8_head_ffff_breaks),
		VQT_TEST(test_A9_push_of_chain_not_in_flight_rejected),
		VQT_TEST(test_A10_stopped_queue_is_inert),
		VQT_TEST(test_A10_stop_publishes_staged),
		VQT_TEST(test_A10_restart_with_inconsistent_base_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
