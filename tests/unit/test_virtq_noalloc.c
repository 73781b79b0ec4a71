// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq_noalloc.c - the data path never allocates (STYLE.md rule 4).
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, so every call
 * from the statically linked core (and simulator) lands in the counters
 * below.  Counting is switched on only after set-up and vq_start(); from
 * there, every queue operation - good chains, indirect chains, rejected
 * chains, notification changes, flushes with signals, dirty logging, stop,
 * and the broken latch - must leave the counters at zero.  A self-check
 * proves the interposition is live, so the test cannot pass vacuously.
 */
#include "tests/unit/vqtest.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static int counting;
static unsigned long alloc_calls;

void *__wrap_malloc(size_t size)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
	return __real_realloc(p, size);
}

static void count_on(void)
{
	alloc_calls = 0;
	__atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
}

static unsigned long count_off(void)
{
	__atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
	return alloc_calls;
}

/* The interposition works: a malloc from this object is counted. */
static void test_wrap_is_live(void **state)
{
	void *volatile p;

	(void)state;
	count_on();
	p = malloc(16);
	assert_int_equal(count_off(), 1);
	free(p);
	count_on();
	p = calloc(2, 8);
	p = realloc(p, 64);
	assert_int_equal(count_off(), 2);
	free(p);
}

/* A mix of every kind of chain the walker handles, then completion. */
static void split_workload(struct vqt *t)
{
	const struct drvsim_buf d[3] = {
		{ BUF(0), 12, false }, { BUF(1), 0, false }, { BUF(2), 4096, true },
	};
	const struct drvsim_buf ind[3] = {
		{ BUF(3), 100, false }, { BUF(4), 200, true }, { BUF(5), 300, true },
	};
	uint32_t id, len;
	int head;

	for (unsigned round = 0; round < 50; round++) {
		vq_disable_notify(&t->vq);
		assert_true(drvsim_split_add(t->sq, d, 3) >= 0);
		assert_true(drvsim_split_add_indirect(t->sq, d, 1, ind, 3, TABLE(0)) >= 0);
		/* a self-loop, returned by vq_pop itself */
		head = drvsim_split_stage(t->sq, d, 1);
		assert_true(head >= 0);
		drvsim_split_set_desc(t->sq, (uint16_t)head, BUF(6), 8, VRING_DESC_F_NEXT,
				      (uint16_t)head);
		drvsim_split_publish(t->sq);
		assert_true(vq_has_work(&t->vq));
		for (unsigned i = 0; i < 3; i++) {
			enum vq_status st = vqt_pop(t);

			if (i == 2) {
				assert_int_equal(st, VQ_BAD_CHAIN);
				continue;
			}
			assert_int_equal(st, VQ_OK);
			assert_int_equal(vq_push(&t->vq, &t->c, t->c.in_bytes), 0);
		}
		assert_int_equal(vqt_pop(t), VQ_EMPTY);
		(void)vq_flush_signal(&t->vq);
		assert_true(vq_enable_notify(&t->vq));
		while (drvsim_split_get_used(t->sq, &id, &len))
			;
	}
}

static void test_noalloc_split(void **state)
{
	struct vqt *t = *state;
	uint8_t log[128] = { 0 };
	struct vq_state st;

	vqt_split_start(t, 16, F_INDIRECT | F_EVENT_IDX, 65000);
	count_on();
	split_workload(t);
	/* dirty logging on the same path */
	gmem_set_log(&t->ds->gm, log, sizeof(log));
	split_workload(t);
	gmem_set_log(&t->ds->gm, NULL, 0);
	vq_stop(&t->vq, &st);
	assert_int_equal(count_off(), 0);

	/* restart and break the queue: the latch and the err fd write */
	t->cfg.base = st;
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
	count_on();
	split_workload(t);
	drvsim_split_post_head(t->sq, 16);
	assert_int_equal(vqt_pop(t), VQ_BROKEN);
	assert_int_equal(vqt_pop(t), VQ_BROKEN);
	assert_false(vq_flush(&t->vq));
	assert_int_equal(count_off(), 0);
	assert_int_equal(vqt_efd(t->err_fd), 1);
}

static void test_noalloc_packed(void **state)
{
	struct vqt *t = *state;
	const struct drvsim_buf d[3] = {
		{ BUF(0), 12, false }, { BUF(1), 0, false }, { BUF(2), 4096, true },
	};
	const struct drvsim_buf ind[3] = {
		{ BUF(3), 100, false }, { BUF(4), 200, true }, { BUF(5), 300, true },
	};
	const struct vring_packed_desc bad[2] = {
		{ .addr = 0, .len = 8, .id = 0, .flags = VRING_DESC_F_NEXT },
		{ .addr = BUF(6), .len = 8, .id = 7, .flags = 0 },
	};
	const struct vring_packed_desc broken = { .addr = BUF(6), .len = 8, .id = 100 };
	uint8_t log[128] = { 0 };

	vqt_packed_start(t, 8, F_INDIRECT | F_EVENT_IDX);
	drvsim_packed_set_driver_event(t->pq, VRING_PACKED_EVENT_FLAG_DESC, 0);
	count_on();
	for (unsigned round = 0; round < 60; round++) {
		uint16_t id;
		uint32_t len;

		if (round == 30)
			gmem_set_log(&t->ds->gm, log, sizeof(log));
		vq_disable_notify(&t->vq);
		assert_true(drvsim_packed_add(t->pq, d, 3) >= 0);
		assert_true(drvsim_packed_add_indirect(t->pq, ind, 3, TABLE(0)) >= 0);
		assert_int_equal(drvsim_packed_add_raw(t->pq, bad, 2), 7);
		for (unsigned i = 0; i < 3; i++) {
			enum vq_status st = vqt_pop(t);

			if (i == 2) {
				assert_int_equal(st, VQ_BAD_CHAIN);
				continue;
			}
			assert_int_equal(st, VQ_OK);
			assert_int_equal(vq_push(&t->vq, &t->c, t->c.in_bytes), 0);
		}
		(void)vq_flush_signal(&t->vq);
		assert_true(vq_enable_notify(&t->vq));
		while (drvsim_packed_get_used(t->pq, &id, &len))
			;
	}
	gmem_set_log(&t->ds->gm, NULL, 0);
	assert_int_equal(drvsim_packed_add_raw(t->pq, &broken, 1), 100);
	assert_int_equal(vqt_pop(t), VQ_BROKEN);
	vq_stop(&t->vq, NULL);
	assert_int_equal(count_off(), 0);
}

/* The guest-memory door itself. */
static void test_noalloc_gmem(void **state)
{
	struct vqt *t = *state;
	struct iovec iov[8];
	uint8_t buf[600];
	unsigned n;
	uint64_t gpa;

	t->ds = drvsim_new_tiny(RAM_GPA, RAM_SIZE, 4, 256);
	assert_non_null(t->ds);
	count_on();
	assert_non_null(gmem_translate(&t->ds->gm, RAM_GPA, 64));
	assert_int_equal(gmem_map_iov(&t->ds->gm, RAM_GPA + RAM_SIZE - 8, 600, iov, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(gmem_write(&t->ds->gm, RAM_GPA + RAM_SIZE - 8, buf, sizeof(buf)), 0);
	assert_int_equal(gmem_read(&t->ds->gm, RAM_GPA + RAM_SIZE - 8, buf, sizeof(buf)), 0);
	assert_int_equal(gmem_uaddr_to_gpa(&t->ds->gm, t->ds->reg[0].uaddr + 8, 8, &gpa), 0);
	assert_int_equal(count_off(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_is_live),
		VQT_TEST(test_noalloc_split),
		VQT_TEST(test_noalloc_packed),
		VQT_TEST(test_noalloc_gmem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
