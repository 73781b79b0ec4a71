/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vqtest.h - cmocka fixture and assertions shared by the virtqueue unit tests.
 *
 * Each test gets a fresh struct vqt (cmocka setup/teardown): guest RAM from the
 * driver simulator, one ring (split or packed), a started struct vq and
 * non-blocking eventfds for the call and error notifications.  The helpers
 * check a rejected chain the way a guest would see it: the head comes back in
 * the used ring with length 0, and the queue then serves a well-formed chain.
 */
#ifndef VHOSTILE_TESTS_UNIT_VQTEST_H
#define VHOSTILE_TESTS_UNIT_VQTEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/virtq.h"
#include "tests/support/drvsim.h"

/* Default guest RAM: one 2 MiB region at 1 MiB (GPA 0 stays unmapped). */
#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x200000ULL
/* Rings live at RAM_GPA; buffers from 1 MiB into RAM, 4 KiB apart. */
#define BUF(i) (RAM_GPA + 0x100000ULL + (uint64_t)(i) * 0x1000ULL)
/* Indirect tables, 1 KiB apart, below the buffers. */
#define TABLE(i) (RAM_GPA + 0xe0000ULL + (uint64_t)(i) * 0x400ULL)

#define F_INDIRECT VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_PACKED VIRTIO_BIT(VIRTIO_F_RING_PACKED)

#define VQT_IOV 64

struct vqt {
	struct drvsim *ds;
	struct drvsim_split *sq;
	struct drvsim_packed *pq;
	struct vq vq;
	struct vq_cfg cfg;
	struct vq_chain c;
	struct iovec iov[VQT_IOV];
	int err_fd;
	int call_fd;
};

static inline int vqt_setup(void **state)
{
	struct vqt *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->err_fd < 0 || t->call_fd < 0)
		return -1;
	vq_init(&t->vq);
	*state = t;
	return 0;
}

static inline int vqt_teardown(void **state)
{
	struct vqt *t = *state;

	vq_stop(&t->vq, NULL);
	drvsim_split_free(t->sq);
	drvsim_packed_free(t->pq);
	drvsim_free(t->ds);
	close(t->err_fd);
	close(t->call_fd);
	free(t);
	return 0;
}

#define VQT_TEST(f) cmocka_unit_test_setup_teardown(f, vqt_setup, vqt_teardown)

/**
 * vqt_efd() - drain an eventfd.
 * @fd: non-blocking eventfd
 *
 * Return: the counter value, 0 if it was not signalled.
 */
static inline uint64_t vqt_efd(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* vq_flush() with the result deliberately ignored. */
static inline void vqt_flush(struct vqt *t)
{
	bool want = vq_flush(&t->vq);

	(void)want;
}

/* Guest RAM: default flat layout unless the test made its own. */
static inline void vqt_ram(struct vqt *t)
{
	if (!t->ds)
		t->ds = drvsim_new_flat(RAM_GPA, RAM_SIZE);
	assert_non_null(t->ds);
}

/**
 * vqt_split_ring() - guest RAM (if none yet) and a split ring at RAM_GPA.
 * @t: fixture
 * @size: queue size
 * @features: negotiated features (into t->cfg)
 * @start: initial avail/used index
 */
static inline void vqt_split_ring(struct vqt *t, uint16_t size, uint64_t features,
				  uint16_t start)
{
	uint64_t d, a, u;

	vqt_ram(t);
	drvsim_split_layout(size, RAM_GPA, &d, &a, &u);
	t->sq = drvsim_split_new(t->ds, size, d, a, u, start);
	assert_non_null(t->sq);
	drvsim_split_cfg(t->sq, &t->cfg, features | F_V1);
	t->cfg.err_fd = t->err_fd;
	t->cfg.call_fd = t->call_fd;
}

/* vqt_split_ring() + vq_start() that must succeed. */
static inline void vqt_split_start(struct vqt *t, uint16_t size, uint64_t features,
				   uint16_t start)
{
	vqt_split_ring(t, size, features, start);
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

static inline void vqt_packed_ring(struct vqt *t, uint16_t size, uint64_t features)
{
	uint64_t r, drv, dev;

	vqt_ram(t);
	drvsim_packed_layout(size, RAM_GPA, &r, &drv, &dev);
	t->pq = drvsim_packed_new(t->ds, size, r, drv, dev);
	assert_non_null(t->pq);
	drvsim_packed_cfg(t->pq, &t->cfg, features | F_V1 | F_PACKED);
	t->cfg.err_fd = t->err_fd;
	t->cfg.call_fd = t->call_fd;
}

static inline void vqt_packed_start(struct vqt *t, uint16_t size, uint64_t features)
{
	vqt_packed_ring(t, size, features);
	assert_int_equal(vq_start(&t->vq, &t->ds->gm, &t->cfg), 0);
}

/* vq_pop() into the fixture's chain (fresh vq_chain_init every time). */
static inline enum vq_status vqt_pop(struct vqt *t)
{
	vq_chain_init(&t->c, t->iov, VQT_IOV);
	return vq_pop(&t->vq, &t->c);
}

/* iov[@k] must be exactly the host view of [@gpa, @gpa + @len). */
static inline void vqt_assert_iov(struct vqt *t, unsigned k, uint64_t gpa, uint64_t len)
{
	assert_true(k < (unsigned)t->c.n_out + t->c.n_in);
	assert_ptr_equal(t->c.iov[k].iov_base, drvsim_hva(t->ds, gpa, len));
	assert_int_equal(t->c.iov[k].iov_len, len);
}

/* Both totals must equal the sums of their iovecs. */
static inline void vqt_assert_totals(const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;

	for (unsigned k = 0; k < c->n_out; k++)
		out += c->iov[k].iov_len;
	for (unsigned k = c->n_out; k < (unsigned)c->n_out + c->n_in; k++)
		in += c->iov[k].iov_len;
	assert_int_equal(out, c->out_bytes);
	assert_int_equal(in, c->in_bytes);
}

/**
 * vqt_expect_broken() - the next pop latches (or finds) the queue broken.
 * @t: fixture
 * @fault: the ring fault that must have been recorded
 *
 * Also checks: the error eventfd was signalled exactly once, the latch holds
 * (pop stays VQ_BROKEN, push -EIO, flush publishes nothing, no work reported,
 * vq_enable_notify() says "sleep").
 */
static inline void vqt_expect_broken(struct vqt *t, enum vq_fault fault)
{
	enum vq_fault why = VQ_F_NONE;
	struct vq_chain fake;

	assert_int_equal(vqt_pop(t), VQ_BROKEN);
	assert_true(vq_is_broken(&t->vq, &why));
	assert_int_equal(why, fault);
	assert_int_equal(vqt_efd(t->err_fd), 1);
	assert_int_equal(vqt_pop(t), VQ_BROKEN);
	assert_int_equal(vqt_efd(t->err_fd), 0); /* signalled once, not per call */
	vq_chain_init(&fake, t->iov, VQT_IOV);
	fake.nslots = 1;
	assert_int_equal(vq_push(&t->vq, &fake, 0), -EIO);
	assert_false(vq_flush(&t->vq));
	assert_false(vq_has_work(&t->vq));
	/* nothing more will be processed: sleeping is safe, no busy loop */
	assert_true(vq_enable_notify(&t->vq));
	vq_disable_notify(&t->vq);
	assert_int_equal(vqt_efd(t->err_fd), 0);
}

/* ---- split helpers ------------------------------------------------------ */

/* Consume the next used element and check it. */
static inline void vqt_split_used(struct vqt *t, uint32_t id, uint32_t len)
{
	uint32_t got_id = 0xdead, got_len = 0xdead;

	assert_true(drvsim_split_get_used(t->sq, &got_id, &got_len));
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

static inline void vqt_split_no_used(struct vqt *t)
{
	uint32_t id, len;

	assert_false(drvsim_split_get_used(t->sq, &id, &len));
}

/**
 * vqt_split_serves() - a well-formed chain still goes round trip.
 * @t: fixture (split ring started, no chains pending)
 */
static inline void vqt_split_serves(struct vqt *t)
{
	const struct drvsim_buf b[2] = {
		{ BUF(250), 64, false },
		{ BUF(251), 128, true },
	};
	/* a 1-entry queue only fits the writable half */
	unsigned n = t->sq->num_free >= 2 ? 2 : 1;
	int head = drvsim_split_add(t->sq, b + 2 - n, n);

	assert_true(head >= 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out, n - 1);
	assert_int_equal(t->c.n_in, 1);
	if (n == 2)
		vqt_assert_iov(t, 0, BUF(250), 64);
	vqt_assert_iov(t, n - 1, BUF(251), 128);
	assert_int_equal(vq_push(&t->vq, &t->c, 100), 0);
	vqt_flush(t);
	vqt_split_used(t, (uint32_t)head, 100);
	vqt_split_no_used(t);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
}

/**
 * vqt_split_bad() - the next chain is rejected and comes back with len 0.
 * @t: fixture
 * @head: its head
 * @fault: the chain fault
 *
 * Then a good chain is still served (the queue did not break).
 */
static inline void vqt_split_bad(struct vqt *t, uint16_t head, enum vq_fault fault)
{
	uint16_t before = drvsim_split_used_idx(t->sq);

	assert_int_equal(vqt_pop(t), VQ_BAD_CHAIN);
	assert_int_equal(t->c.fault, fault);
	assert_int_equal(t->c.id, head);
	assert_int_equal(t->c.n_out + t->c.n_in, 0);
	assert_false(vq_is_broken(&t->vq, NULL));
	/* staged, not yet visible */
	assert_int_equal(drvsim_split_used_idx(t->sq), before);
	vqt_flush(t);
	assert_int_equal(drvsim_split_used_idx(t->sq), (uint16_t)(before + 1));
	vqt_split_used(t, head, 0);
	vqt_split_no_used(t);
	assert_int_equal(vqt_efd(t->err_fd), 0);
	vqt_split_serves(t);
}

/* ---- packed helpers ----------------------------------------------------- */

static inline void vqt_packed_used(struct vqt *t, uint16_t id, uint32_t len)
{
	uint16_t got_id = 0xdead;
	uint32_t got_len = 0xdead;

	assert_true(drvsim_packed_get_used(t->pq, &got_id, &got_len));
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

static inline void vqt_packed_no_used(struct vqt *t)
{
	uint16_t id;
	uint32_t len;

	assert_false(drvsim_packed_get_used(t->pq, &id, &len));
}

static inline void vqt_packed_serves(struct vqt *t)
{
	const struct drvsim_buf b[2] = {
		{ BUF(250), 64, false },
		{ BUF(251), 128, true },
	};
	unsigned n = t->pq->num_free >= 2 ? 2 : 1;
	int id = drvsim_packed_add(t->pq, b + 2 - n, n);

	assert_true(id >= 0);
	assert_int_equal(vqt_pop(t), VQ_OK);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, n);
	assert_int_equal(t->c.n_out, n - 1);
	assert_int_equal(t->c.n_in, 1);
	if (n == 2)
		vqt_assert_iov(t, 0, BUF(250), 64);
	vqt_assert_iov(t, n - 1, BUF(251), 128);
	assert_int_equal(vq_push(&t->vq, &t->c, 100), 0);
	vqt_flush(t);
	vqt_packed_used(t, (uint16_t)id, 100);
	vqt_packed_no_used(t);
	assert_int_equal(vqt_pop(t), VQ_EMPTY);
}

/**
 * vqt_packed_bad() - the next chain (@nslots slots, buffer @id) is rejected.
 * @t: fixture
 * @id: buffer id
 * @nslots: slots it occupies (all must be skipped)
 * @fault: chain fault
 */
static inline void vqt_packed_bad(struct vqt *t, uint16_t id, uint16_t nslots,
				  enum vq_fault fault)
{
	assert_int_equal(vqt_pop(t), VQ_BAD_CHAIN);
	assert_int_equal(t->c.fault, fault);
	assert_int_equal(t->c.id, id);
	assert_int_equal(t->c.nslots, nslots);
	assert_int_equal(t->c.n_out + t->c.n_in, 0);
	assert_false(vq_is_broken(&t->vq, NULL));
	vqt_packed_no_used(t); /* staged, not yet visible */
	vqt_flush(t);
	vqt_packed_used(t, id, 0);
	vqt_packed_no_used(t);
	assert_int_equal(vqt_efd(t->err_fd), 0);
	vqt_packed_serves(t);
}

#endif /* VHOSTILE_TESTS_UNIT_VQTEST_H */
