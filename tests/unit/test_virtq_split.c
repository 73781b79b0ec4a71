// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_split.c - split virtqueue: normal operation and one named test
 * per applicable row of research/hardening.md tables A, B and C.
 *
 * Every hostile test builds a real instance of the bug class in guest memory
 * (a real descriptor loop, a real region hole, a real 4 GiB chain over mapped
 * memory, ...) so that removing the corresponding check from core/ makes the
 * test fail rather than merely changing which check fires.  A rejected chain
 * must come back in the used ring with length 0 and the queue must keep
 * serving; a ring fault must latch the queue broken and signal the error
 * eventfd exactly once.
 */
#include <pthread.h>
#include <time.h>

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
