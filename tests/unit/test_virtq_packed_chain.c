// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_packed_chain.c - the shared chain builder (core/virtq_chain.c)
 * driven through packed rings: research/hardening.md rows B and C in packed
 * form, including packed indirect tables (2.8.19: sequential entries in the
 * packed descriptor layout, NEXT ignored) and a concurrent hostile writer.
 *
 * A rejected chain must come back as one used descriptor with length 0, all
 * of its slots skipped, and the queue must keep serving.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
