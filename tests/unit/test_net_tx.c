// SPDX-License-Identifier: Apache-2.0
/*
 * test_net_tx.c - guest to backend (net/net_tx.c), through the fake TAP.
 *
 * Every drop test asserts the three things a guest and an operator see: the
 * chain comes back with used length 0, the drop counter of that exact reason
 * moved by one, and nothing reached the backend.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "tests/unit/nettest.h"

#define FT (NT_V1 | NF(CSUM) | NF(MRG_RXBUF))
#define FRAME_MAX (NET_HDR_MAX + NET_MAX_FRAME + 64)

static uint8_t rxbuf[FRAME_MAX];

/* Expect exactly one used TX element, with length 0, for head @id. */
static void expect_used0(struct nt *t, int id)
{
	uint32_t uid, len;

	assert_true(nt_used(t, 1, &uid, &len));
	assert_int_equal(uid, (uint32_t)id);
	assert_int_equal(len, 0);
	assert_false(nt_used(t, 1, &uid, &len));
}

static void expect_dropped(struct nt *t, int id, enum net_drop why)
{
	uint64_t packets = nt_qp(t)->stats.tx.packets;

	assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
	expect_used0(t, id);
	assert_int_equal(nt_qp(t)->stats.tx.drops[why], 1);
	assert_int_equal(nt_qp(t)->stats.tx.packets, packets);
	assert_true(nt_peer_recv(t, rxbuf, sizeof(rxbuf)) < 0);
}

/* Send one plain frame through a chain of @n pieces; check the backend copy. */
static void send_and_check(struct nt *t, const struct drvsim_buf *b, unsigned n,
			   const uint8_t *want, size_t want_len)
{
	int id = nt_add(t, 1, b, n);

	assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_qp(t)->tx_wait, NET_WAIT_KICK);
	expect_used0(t, id);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), (ssize_t)want_len);
	assert_memory_equal(rxbuf, want, want_len);
}

static void basic(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	uint8_t frame[100], want[NET_HDR_MAX + 100];
	struct net_hdr h = { 0 };
	size_t hs = nt_qp(t)->hdr_size;
	struct drvsim_buf b;

	nt_frame(frame, sizeof(frame), 1);
	b.gpa = nt_tx_buf(t, &h, frame, sizeof(frame));
	b.len = (uint32_t)(hs + sizeof(frame));
	b.write = false;
	net_hdr_store(want, hs, &h);
	memcpy(want + hs, frame, sizeof(frame));
	send_and_check(t, &b, 1, want, hs + sizeof(frame));
	assert_int_equal(nt_qp(t)->stats.tx.packets, 1);
	assert_int_equal(nt_qp(t)->stats.tx.bytes, sizeof(frame));
	nt_free(t);
}

static void test_tx_frame_reaches_backend_split(void **state)
{
	(void)state;
	basic(FT);
}

static void test_tx_frame_reaches_backend_packed(void **state)
{
	(void)state;
	basic(FT | NT_PACKED);
}

static void test_tx_legacy_10_byte_header(void **state)
{
	(void)state;
	basic(NF(CSUM)); /* neither VERSION_1 nor MRG_RXBUF: 10-byte header */
}

static void test_F1_tx_shorter_than_header_dropped(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct drvsim_buf b = { nt_alloc(t, 64), 11, false };

	(void)state;
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_TX_SHORT);
	nt_free(t);
}

static void test_F1_tx_header_plus_13_dropped_plus_14_sent(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { 0 };
	uint8_t frame[14];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 3);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, 14), 12 + 13, false };
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_TX_SHORT);
	b.len = 12 + 14;
	nt_add(t, 1, &b, 1);
	assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 26);
	assert_int_equal(nt_qp(t)->stats.tx.packets, 1);
	nt_free(t);
}

/* F2 / DPDK CVE-2022-2132: the header in 12 one-byte descriptors. */
static void header_split(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			     .csum_offset = 6, .hdr_len = 54 };
	uint8_t frame[80], want[12 + 80];
	struct drvsim_buf b[13];
	uint64_t g;

	nt_frame(frame, sizeof(frame), 9);
	g = nt_tx_buf(t, &h, frame, sizeof(frame));
	for (unsigned i = 0; i < 12; i++)
		b[i] = (struct drvsim_buf){ g + i, 1, false };
	b[12] = (struct drvsim_buf){ g + 12, sizeof(frame), false };
	net_hdr_store(want, 12, &h);
	memcpy(want + 12, frame, sizeof(frame));
	send_and_check(t, b, 13, want, sizeof(want));
	nt_free(t);
}

static void test_F2_header_split_over_12_descriptors(void **state)
{
	(void)state;
	header_split(FT);
}

static void test_F2_header_split_over_12_descriptors_packed(void **state)
{
	(void)state;
	header_split(FT | NT_PACKED);
}

/* F2: header and frame sharing descriptors at odd boundaries, indirect. */
static void test_F2_header_straddles_indirect_descriptors(void **state)
{
	struct nt *t = nt_new(FT | NT_INDIRECT, 64);
	struct net_hdr h = { 0 };
	uint8_t frame[60], want[72];
	struct drvsim_buf ind[3];
	uint64_t g, table;
	int id;

	(void)state;
	nt_frame(frame, sizeof(frame), 5);
	g = nt_tx_buf(t, &h, frame, sizeof(frame));
	table = nt_alloc(t, 16 * 3);
	ind[0] = (struct drvsim_buf){ g, 5, false };
	ind[1] = (struct drvsim_buf){ g + 5, 9, false }; /* header end + 2 frame bytes */
	ind[2] = (struct drvsim_buf){ g + 14, 58, false };
	id = drvsim_split_add_indirect(t->txs, NULL, 0, ind, 3, table);
	assert_true(id >= 0);
	net_hdr_store(want, 12, &h);
	memcpy(want + 12, frame, sizeof(frame));
	assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
	expect_used0(t, id);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 72);
	assert_memory_equal(rxbuf, want, 72);
	nt_free(t);
}

static void test_F3_tx_header_only_dropped(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { 0 };
	struct drvsim_buf b = { nt_tx_buf(t, &h, NULL, 0), 12, false };

	(void)state;
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_TX_SHORT);
	nt_free(t);
}

static void test_F5_tx_longer_than_max_dropped(void **state)
{
	struct nt *t = nt_new(FT, 64);
	uint64_t g = nt_alloc(t, 12 + NET_MAX_FRAME + 1);
	struct drvsim_buf b = { g, 12 + NET_MAX_FRAME + 1, false };

	(void)state;
	assert_int_equal(drvsim_fill(t->ds, g, 0, 12), 0);
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_TX_LONG);
	/* exactly the maximum goes through */
	b.len = 12 + NET_MAX_FRAME;
	nt_add(t, 1, &b, 1);
	assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 12 + NET_MAX_FRAME);
	nt_free(t);
}

/* F6 end to end: what reaches the backend is the sanitised copy. */
static void test_F6_tx_backend_gets_sanitised_header(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { .flags = 0xff, .hdr_len = 50000, .num_buffers = 7,
			     .csum_start = 34, .csum_offset = 16, .gso_size = 99 };
	uint8_t frame[100];
	struct drvsim_buf b;
	struct net_hdr got;

	(void)state;
	nt_frame(frame, sizeof(frame), 2);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 112, false };
	nt_add(t, 1, &b, 1);
	assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 112);
	net_hdr_load(&got, rxbuf, 12);
	assert_int_equal(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(got.hdr_len, 100);
	assert_int_equal(got.num_buffers, 0);
	assert_int_equal(got.gso_type, 0);
	assert_int_equal(got.gso_size, 0);
	assert_memory_equal(rxbuf + 12, frame, sizeof(frame));
	nt_free(t);
}

static void test_F6_tx_gso_not_negotiated_dropped(void **state)
{
	struct nt *t = nt_new(FT, 64); /* no HOST_TSO4 */
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = 1,
			     .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	uint8_t frame[3000];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 2);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 3012, false };
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_GSO_NOT_NEG);
	nt_free(t);
}

static void test_F6_tx_csum_beyond_frame_dropped(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 0xffff,
			     .csum_offset = 0xffff };
	uint8_t frame[60];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 2);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 72, false };
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_CSUM_RANGE);
	nt_free(t);
}

static void test_F6_tx_gso_size_zero_dropped(void **state)
{
	struct nt *t = nt_new(FT | NF(HOST_TSO4), 64);
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = 1,
			     .csum_start = 34, .csum_offset = 16 };
	uint8_t frame[3000];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 2);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 3012, false };
	expect_dropped(t, nt_add(t, 1, &b, 1), NET_DROP_GSO_SIZE);
	nt_free(t);
}

/* F11 / B8: a guest thread rewrites the header while the device sends. */
struct scribble {
	volatile uint8_t *hdr;
	volatile bool stop;
};

static void *scribbler(void *arg)
{
	struct scribble *s = arg;
	uint32_t x = 12345;

	while (!s->stop) {
		x = x * 1103515245u + 12345u;
		/* half the time a header that passes, with random csum
		 * fields; else random flags and gso type too */
		for (unsigned i = 0; i < 10; i++)
			s->hdr[i] = (uint8_t)(x >> (i + 8));
		if (x & 0x80000000u) {
			s->hdr[0] = (uint8_t)(x & 1);
			s->hdr[1] = 0;
			s->hdr[6] = (uint8_t)(x >> 3) & 0x7f;
			s->hdr[7] = 0;
			s->hdr[8] = (uint8_t)(x >> 11) & 0x3f;
			s->hdr[9] = 0;
		}
	}
	return NULL;
}

static void test_F11_tx_header_rewritten_during_send(void **state)
{
	struct nt *t = nt_new(FT, 64); /* no gso negotiated */
	struct net_hdr h = { 0 };
	struct scribble s = { 0 };
	uint8_t frame[200];
	struct drvsim_buf b;
	pthread_t th;
	unsigned seen = 0, dropped = 0;
	time_t deadline = time(NULL) + 10;

	(void)state;
	nt_frame(frame, sizeof(frame), 4);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 212, false };
	s.hdr = drvsim_alias(t->ds, b.gpa, 12);
	assert_non_null((void *)s.hdr);
	assert_int_equal(pthread_create(&th, NULL, scribbler, &s), 0);
	/* Until both outcomes were seen many times (the scribbler may be
	 * descheduled for a while), bounded by a deadline. */
	for (unsigned round = 0; (seen < 3000 || dropped < 3000) && time(NULL) < deadline;
	     round++) {
		ssize_t n;

		nt_add(t, 1, &b, 1);
		assert_int_equal(net_tx_run(nt_qp(t), 64), 1);
		assert_int_equal(nt_used_count(t, 1), 1);
		n = nt_peer_recv(t, rxbuf, sizeof(rxbuf));
		if (n < 0) {
			dropped++; /* some random headers are invalid */
			continue;
		}
		assert_int_equal(n, 212);
		{
			struct net_hdr got;

			net_hdr_load(&got, rxbuf, 12);
			/* Every property was decided on one copy: no gso
			 * type the guest did not negotiate, no flag but
			 * NEEDS_CSUM, checksum field inside the frame. */
			assert_int_equal(got.gso_type, 0);
			assert_int_equal(got.gso_size, 0);
			assert_int_equal(got.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
			if (got.flags)
				assert_true((uint32_t)got.csum_start + got.csum_offset + 2 <= 200);
			else
				assert_int_equal(got.csum_start | got.csum_offset, 0);
			assert_true(got.hdr_len <= 200);
			assert_int_equal(got.num_buffers, 0);
		}
		seen++;
	}
	s.stop = true;
	pthread_join(th, NULL);
	assert_true(seen > 0);
	assert_true(dropped > 0);
	nt_free(t);
}

/* F11: two chains over the same guest bytes; both are just frames. */
static void test_F11_tx_aliased_buffers(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b[2];

	(void)state;
	nt_frame(frame, sizeof(frame), 6);
	b[0] = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	b[1] = b[0]; /* one chain reads the same bytes twice */
	nt_add(t, 1, b, 1);
	nt_add(t, 1, b, 2);
	assert_int_equal(net_tx_run(nt_qp(t), 64), 2);
	assert_int_equal(nt_used_count(t, 1), 2);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 76);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 152);
	assert_memory_equal(rxbuf + 76, rxbuf, 76);
	nt_free(t);
}

static void test_tx_writable_descriptor_dropped(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b[2];

	(void)state;
	nt_frame(frame, sizeof(frame), 6);
	b[0] = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	b[1] = (struct drvsim_buf){ nt_alloc(t, 16), 16, true };
	expect_dropped(t, nt_add(t, 1, b, 2), NET_DROP_TX_WRITABLE);
	nt_free(t);
}

static void test_tx_bad_chain_counted_and_skipped(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct drvsim_buf bad = { 0x10, 100, false }; /* GPA 0x10 is not RAM */
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf good;

	(void)state;
	nt_frame(frame, sizeof(frame), 6);
	good = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	nt_add(t, 1, &bad, 1);
	nt_add(t, 1, &good, 1);
	assert_int_equal(net_tx_run(nt_qp(t), 64), 2);
	assert_int_equal(nt_qp(t)->stats.tx.bad_chains, 1);
	assert_int_equal(nt_qp(t)->stats.tx.packets, 1);
	assert_int_equal(nt_used_count(t, 1), 2);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 76);
	nt_free(t);
}

/* Backend full: the chain stays pending, nothing spins, nothing is lost. */
static void eagain(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b[2];
	unsigned calls;

	nt_frame(frame, sizeof(frame), 1);
	b[0] = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	nt_frame(frame, sizeof(frame), 2);
	b[1] = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	nt_add(t, 1, &b[0], 1);
	nt_add(t, 1, &b[1], 1);

	t->fault.writev_force = true;
	t->fault.writev_ret = -EAGAIN;
	assert_int_equal(net_tx_run(qp, 64), 0);
	assert_int_equal(qp->tx_wait, NET_WAIT_BACKEND_OUT);
	assert_true(qp->tx_pending);
	assert_int_equal(nt_used_count(t, 1), 0);
	calls = t->fault.writev_calls;
	/* Still full: exactly one retry, the second chain is not popped. */
	assert_int_equal(net_tx_run(qp, 64), 0);
	assert_int_equal(t->fault.writev_calls, calls + 1);
	assert_int_equal(qp->stats.tx.eagain, 2);
	assert_int_equal(nt_used_count(t, 1), 0);

	t->fault.writev_force = false;
	assert_int_equal(net_tx_run(qp, 64), 2);
	assert_int_equal(qp->tx_wait, NET_WAIT_KICK);
	assert_false(qp->tx_pending);
	assert_int_equal(nt_used_count(t, 1), 2);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 76);
	assert_int_equal(rxbuf[12], 1); /* in order: frame 1 first */
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 76);
	assert_int_equal(rxbuf[12], 2);
	assert_int_equal(qp->stats.tx.packets, 2);
	nt_free(t);
}

static void test_tx_backend_eagain_keeps_chain_pending(void **state)
{
	(void)state;
	eagain(FT);
}

static void test_tx_backend_eagain_keeps_chain_pending_packed(void **state)
{
	(void)state;
	eagain(FT | NT_PACKED);
}

/* Real EAGAIN from a full socket, then the pending chain released at stop. */
static void test_tx_pending_chain_returned_at_stop(void **state)
{
	struct nt *t = nt_new(FT, 256);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	static uint8_t frame[60000];
	struct drvsim_buf b;
	unsigned added = 0;
	int r;

	(void)state;
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 60012, false };
	do {
		nt_add(t, 1, &b, 1);
		added++;
		r = net_tx_run(qp, 256);
		assert_true(r >= 0);
	} while (qp->tx_wait != NET_WAIT_BACKEND_OUT && added < 200);
	assert_int_equal(qp->tx_wait, NET_WAIT_BACKEND_OUT);
	assert_int_equal(nt_used_count(t, 1), added - 1);
	assert_int_equal(vnet_queue_stop(t->dev, 1, NULL), 0);
	assert_int_equal(nt_used_count(t, 1), 1); /* returned, not lost */
	assert_int_equal(qp->stats.tx.drops[NET_DROP_BACKEND], 1);
	nt_ring(t, 1); /* nt_free stops it again */
	nt_free(t);
}

static void test_tx_backend_eio_drops_frame_returns_chain(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 1);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	nt_add(t, 1, &b, 1);
	t->fault.writev_force = true;
	t->fault.writev_ret = -EIO;
	assert_int_equal(net_tx_run(qp, 64), 1);
	assert_int_equal(qp->tx_err, EIO);
	assert_int_equal(qp->stats.tx.drops[NET_DROP_BACKEND], 1);
	assert_int_equal(qp->tx_wait, NET_WAIT_KICK);
	assert_int_equal(nt_used_count(t, 1), 1);
	t->fault.writev_force = false;
	nt_add(t, 1, &b, 1);
	assert_int_equal(net_tx_run(qp, 64), 1);
	assert_int_equal(qp->stats.tx.packets, 1);
	nt_free(t);
}

static void test_tx_budget_respected(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 1);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	for (int i = 0; i < 10; i++)
		nt_add(t, 1, &b, 1);
	assert_int_equal(net_tx_run(qp, 4), 4);
	assert_int_equal(qp->tx_wait, NET_WAIT_NONE);
	assert_int_equal(nt_used_count(t, 1), 4);
	assert_int_equal(net_tx_run(qp, 100), 6);
	assert_int_equal(qp->tx_wait, NET_WAIT_KICK);
	assert_int_equal(nt_used_count(t, 1), 6);
	nt_free(t);
}

/* seed 002 "pad": no padding, no stale bytes: exactly the guest's frame. */
static void test_seed002_tx_short_frame_not_padded(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { 0 };
	uint8_t frame[20], want[32];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 8);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 32, false };
	net_hdr_store(want, 12, &h);
	memcpy(want + 12, frame, 20);
	memset(rxbuf, 0xaa, 64);
	send_and_check(t, &b, 1, want, 32);
	assert_int_equal(rxbuf[32], 0xaa);
	nt_free(t);
}

/* seed 002 "iov[0].iov_len < header_len": no underflow either way. */
static void test_seed002_tx_first_iov_shorter_than_header(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct net_hdr h = { 0 };
	uint8_t frame[40], want[52];
	struct drvsim_buf b[2];
	uint64_t g;

	(void)state;
	nt_frame(frame, sizeof(frame), 8);
	g = nt_tx_buf(t, &h, frame, sizeof(frame));
	b[0] = (struct drvsim_buf){ g, 4, false };
	b[1] = (struct drvsim_buf){ g + 4, 48, false };
	net_hdr_store(want, 12, &h);
	memcpy(want + 12, frame, sizeof(frame));
	send_and_check(t, b, 2, want, 52);
	/* a whole chain of 4 + 2 bytes: dropped, returned, nothing sent */
	b[1].len = 2;
	expect_dropped(t, nt_add(t, 1, b, 2), NET_DROP_TX_SHORT);
	nt_free(t);
}

/* seed 002 "inject IRQ after TX used-ring update": completions signal. */
static void test_seed002_tx_completion_signals_driver(void **state)
{
	struct nt *t = nt_new(FT, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b;

	(void)state;
	nt_frame(frame, sizeof(frame), 1);
	b = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	for (int i = 0; i < 8; i++)
		nt_add(t, 1, &b, 1);
	nt_efd(t->call_tx);
	assert_int_equal(net_tx_run(qp, 64), 8);
	assert_true(nt_efd(t->call_tx) >= 1);
	/* one publish for the batch (seed 002: batch used-ring update) */
	assert_int_equal(qp->tx.stats.signals + qp->tx.stats.suppressed, 1);
	/* the driver asked for no interrupts: none */
	drvsim_split_set_avail_flags(t->txs, VRING_AVAIL_F_NO_INTERRUPT);
	nt_add(t, 1, &b, 1);
	assert_int_equal(net_tx_run(qp, 64), 1);
	assert_int_equal(nt_efd(t->call_tx), 0);
	nt_free(t);
}

/*
 * seed 002 "re-check avail ring after enable_notify": a guest thread adds TX
 * chains and kicks only when the device asked for kicks, exactly like a real
 * driver; the device sleeps on the kick eventfd whenever net_tx_run says it
 * may.  A chain added between the last empty pop and the arming (the window
 * includes the signal syscall) would otherwise sit unseen with no kick and
 * the device would sleep forever: the test fails on a 5 s sleep timeout.
 */
#define RACE_FRAMES 30000

struct race {
	struct nt *t;
	int kick;
	uint64_t buf[64];
	volatile bool stop;
	unsigned added;
};

static bool guest_should_kick(struct nt *t, uint16_t old, uint16_t new_idx, bool ev)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ev)
		return vring_need_event(drvsim_split_avail_event(t->txs), new_idx, old);
	return !(drvsim_split_used_flags(t->txs) & VRING_USED_F_NO_NOTIFY);
}

static void *race_guest(void *arg)
{
	struct race *r = arg;
	struct nt *t = r->t;
	bool ev = t->features & NT_EVENT_IDX;

	/* Ping-pong, like a UDP sender blocked on a full socket buffer: add
	 * a chain the moment the previous completion becomes visible, which
	 * is exactly when the device is between its last empty pop and the
	 * arming of kicks. */
	while (r->added < RACE_FRAMES && !r->stop) {
		struct drvsim_buf b = { r->buf[r->added % 64], 72, false };
		uint16_t old = t->txs->avail_idx;
		uint32_t id, len;
		uint64_t one = 1;

		assert_true(drvsim_split_add(t->txs, &b, 1) >= 0);
		r->added++;
		if (guest_should_kick(t, old, t->txs->avail_idx, ev))
			assert_int_equal(write(r->kick, &one, 8), 8);
		while (!drvsim_split_get_used(t->txs, &id, &len) && !r->stop)
			;
	}
	return NULL;
}

static void race(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct race r = { .t = t };
	struct net_hdr h = { 0 };
	uint8_t frame[60];
	unsigned got = 0, sleeps = 0;
	pthread_t th;

	nt_frame(frame, sizeof(frame), 1);
	for (int i = 0; i < 64; i++)
		r.buf[i] = nt_tx_buf(t, &h, frame, sizeof(frame));
	r.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(r.kick >= 0);
	assert_int_equal(pthread_create(&th, NULL, race_guest, &r), 0);
	while (got < RACE_FRAMES) {
		int n = net_tx_run(qp, 32);

		assert_true(n >= 0);
		while (nt_peer_recv(t, rxbuf, sizeof(rxbuf)) > 0)
			got++;
		if (qp->tx_wait == NET_WAIT_KICK && got < RACE_FRAMES) {
			struct pollfd p = { .fd = r.kick, .events = POLLIN };

			sleeps++;
			if (poll(&p, 1, 5000) != 1) {
				r.stop = true;
				pthread_join(th, NULL);
				fail_msg("device slept with work pending: %u of %u frames", got,
					 RACE_FRAMES);
			}
			nt_efd(r.kick);
		}
	}
	pthread_join(th, NULL);
	assert_int_equal(got, RACE_FRAMES);
	assert_true(sleeps > 0);
	close(r.kick);
	nt_free(t);
}

static void test_seed002_tx_recheck_after_enable_notify(void **state)
{
	(void)state;
	race(FT);
}

static void test_seed002_tx_recheck_after_enable_notify_event_idx(void **state)
{
	(void)state;
	race(FT | NT_EVENT_IDX);
}

/*
 * vhost-user ring states: a started but disabled TX ring is processed and
 * its frames discarded (completed with length 0, nothing reaches the
 * backend); a chain left pending by -EAGAIN is discarded too; enabling the
 * ring again sends as before.
 */
static void disabled(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	uint8_t frame[64];
	struct drvsim_buf b[4];

	for (int i = 0; i < 4; i++) {
		nt_frame(frame, sizeof(frame), (uint8_t)(i + 1));
		b[i] = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, sizeof(frame)), 76, false };
	}
	/* a chain pending on a full backend when the ring gets disabled */
	nt_add(t, 1, &b[0], 1);
	t->fault.writev_force = true;
	t->fault.writev_ret = -EAGAIN;
	assert_int_equal(net_tx_run(qp, 64), 0);
	assert_true(qp->tx_pending);
	t->fault.writev_force = false;

	nt_add(t, 1, &b[1], 1);
	nt_add(t, 1, &b[2], 1);
	qp->tx_discard = true;
	assert_int_equal(net_tx_run(qp, 64), 3);
	assert_false(qp->tx_pending);
	assert_int_equal(qp->tx_wait, NET_WAIT_KICK); /* kicks armed: it keeps draining */
	assert_int_equal(nt_used_count(t, 1), 3);
	assert_int_equal(qp->stats.tx.drops[NET_DROP_TX_DISABLED], 3);
	assert_int_equal(qp->stats.tx.packets, 0);
	assert_true(nt_peer_recv(t, rxbuf, sizeof(rxbuf)) < 0);

	qp->tx_discard = false;
	nt_add(t, 1, &b[3], 1);
	assert_int_equal(net_tx_run(qp, 64), 1);
	assert_int_equal(nt_peer_recv(t, rxbuf, sizeof(rxbuf)), 76);
	assert_int_equal(rxbuf[12], 4);
	assert_int_equal(qp->stats.tx.packets, 1);
	nt_free(t);
}

static void test_tx_disabled_ring_processed_and_discarded(void **state)
{
	(void)state;
	disabled(FT);
}

static void test_tx_disabled_ring_processed_and_discarded_packed(void **state)
{
	(void)state;
	disabled(FT | NT_PACKED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_frame_reaches_backend_split),
		cmocka_unit_test(test_tx_frame_reaches_backend_packed),
		cmocka_unit_test(test_tx_legacy_10_byte_header),
		cmocka_unit_test(test_F1_tx_shorter_than_header_dropped),
		cmocka_unit_test(test_F1_tx_header_plus_13_dropped_plus_14_sent),
		cmocka_unit_test(test_F2_header_split_over_12_descriptors),
		cmocka_unit_test(test_F2_header_split_over_12_descriptors_packed),
		cmocka_unit_test(test_F2_header_straddles_indirect_descriptors),
		cmocka_unit_test(test_F3_tx_header_only_dropped),
		cmocka_unit_test(test_F5_tx_longer_than_max_dropped),
		cmocka_unit_test(test_F6_tx_backend_gets_sanitised_header),
		cmocka_unit_test(test_F6_tx_gso_not_negotiated_dropped),
		cmocka_unit_test(test_F6_tx_csum_beyond_frame_dropped),
		cmocka_unit_test(test_F6_tx_gso_size_zero_dropped),
		cmocka_unit_test(test_F11_tx_header_rewritten_during_send),
		cmocka_unit_test(test_F11_tx_aliased_buffers),
		cmocka_unit_test(test_tx_writable_descriptor_dropped),
		cmocka_unit_test(test_tx_bad_chain_counted_and_skipped),
		cmocka_unit_test(test_tx_backend_eagain_keeps_chain_pending),
		cmocka_unit_test(test_tx_backend_eagain_keeps_chain_pending_packed),
		cmocka_unit_test(test_tx_pending_chain_returned_at_stop),
		cmocka_unit_test(test_tx_backend_eio_drops_frame_returns_chain),
		cmocka_unit_test(test_tx_budget_respected),
		cmocka_unit_test(test_tx_disabled_ring_processed_and_discarded),
		cmocka_unit_test(test_tx_disabled_ring_processed_and_discarded_packed),
		cmocka_unit_test(test_seed002_tx_short_frame_not_padded),
		cmocka_unit_test(test_seed002_tx_first_iov_shorter_than_header),
		cmocka_unit_test(test_seed002_tx_completion_signals_driver),
		cmocka_unit_test(test_seed002_tx_recheck_after_enable_notify),
		cmocka_unit_test(test_seed002_tx_recheck_after_enable_notify_event_idx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
