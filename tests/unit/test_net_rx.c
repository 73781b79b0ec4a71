// SPDX-License-Identifier: Apache-2.0
/*
 * test_net_rx.c - backend to guest (net/net_rx.c), through the fake TAP.
 *
 * The peer end of the socketpair plays the kernel: it sends header + frame
 * datagrams; the tests then read the guest's used ring and buffers like a
 * driver would.
 */
#include <pthread.h>

#include "tests/unit/nettest.h"

#define FM (NT_V1 | NF(MRG_RXBUF) | NF(CSUM) | NF(GUEST_CSUM))
#define FN (NT_V1 | NF(CSUM) | NF(GUEST_CSUM))

static const struct net_hdr plain;

/* Post one writable RX chain of @len bytes; returns its GPA. */
static uint64_t post(struct nt *t, uint32_t len, int *id)
{
	uint64_t g = nt_alloc(t, len);
	struct drvsim_buf b = { g, len, true };
	int i = nt_add(t, 0, &b, 1);

	if (id)
		*id = i;
	return g;
}

static void expect_used(struct nt *t, int id, uint32_t len)
{
	uint32_t uid, ulen;

	assert_true(nt_used(t, 0, &uid, &ulen));
	assert_int_equal(uid, (uint32_t)id);
	assert_int_equal(ulen, len);
}

static void expect_no_used(struct nt *t)
{
	uint32_t uid, ulen;

	assert_false(nt_used(t, 0, &uid, &ulen));
}

/* Read back the header the guest got in buffer @g. */
static struct net_hdr guest_hdr(struct nt *t, uint64_t g)
{
	uint8_t raw[NET_HDR_MAX];
	struct net_hdr h;

	assert_int_equal(drvsim_read(t->ds, g, raw, nt_qp(t)->hdr_size), 0);
	net_hdr_load(&h, raw, nt_qp(t)->hdr_size);
	return h;
}

static void one_frame(uint64_t features, uint32_t buflen, size_t flen)
{
	struct nt *t = nt_new(features, 64);
	static uint8_t frame[70000], got[70000];
	size_t hs = nt_qp(t)->hdr_size;
	uint64_t g;
	int id;

	nt_frame(frame, flen, 3);
	g = post(t, buflen, &id);
	nt_peer_send(t, &plain, frame, flen);
	assert_int_equal(net_rx_run(nt_qp(t), 64), 1);
	expect_used(t, id, (uint32_t)(hs + flen));
	assert_int_equal(guest_hdr(t, g).num_buffers, hs == 12 ? 1 : 0);
	assert_int_equal(drvsim_read(t->ds, g + hs, got, flen), 0);
	assert_memory_equal(got, frame, flen);
	assert_int_equal(nt_qp(t)->stats.rx.packets, 1);
	assert_int_equal(nt_qp(t)->stats.rx.bytes, flen);
	nt_free(t);
}

static void test_rx_frame_one_chain_split(void **state)
{
	(void)state;
	one_frame(FN, 1526, 1514);
}

static void test_rx_frame_one_chain_packed(void **state)
{
	(void)state;
	one_frame(FN | NT_PACKED, 1526, 1514);
}

static void test_rx_frame_mrg_single_buffer_packed(void **state)
{
	(void)state;
	one_frame(FM | NT_PACKED, 4096, 1514);
}

static void test_rx_legacy_10_byte_header(void **state)
{
	(void)state;
	one_frame(NF(CSUM), 1524, 1514);
}

/* Non-mergeable big buffer: read straight into guest memory, no bounce. */
static void test_rx_direct_read_into_big_buffer(void **state)
{
	(void)state;
	one_frame(FN, 12 + NET_MAX_FRAME, 9000);
}

static void test_rx_direct_read_mrg_many_buffers(void **state)
{
	struct nt *t = nt_new(FM, 256);
	static uint8_t frame[3000], got[3000];
	uint64_t g[40];
	int id[40];

	(void)state;
	for (int i = 0; i < 40; i++)
		g[i] = post(t, 2048, &id[i]); /* 80 KiB >= a maximal frame */
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 2);
	assert_int_equal(nt_qp(t)->stats.rx.bounced, 0);
	expect_used(t, id[0], 2048);
	expect_used(t, id[1], 12 + 3000 - 2048);
	assert_int_equal(guest_hdr(t, g[0]).num_buffers, 2);
	assert_int_equal(drvsim_read(t->ds, g[0] + 12, got, 2036), 0);
	assert_int_equal(drvsim_read(t->ds, g[1], got + 2036, 3000 - 2036), 0);
	assert_memory_equal(got, frame, 3000);
	/* chains are reserved up to one maximal frame (33 x 2048 >= 65562),
	 * topped up after the packet, and not published */
	expect_no_used(t);
	assert_int_equal(nt_qp(t)->rx_count, 33);
	nt_free(t);
}

/*
 * Mergeable buffers made of many tiny descriptors: the reserved chains reach
 * the readv iovec limit (NET_BE_IOV_MAX) before they hold a maximal frame, so
 * a direct read is impossible; the frame goes through the host buffer and is
 * still delivered whole, over as many chains as it needs.
 */
static void test_rx_mrg_iovec_limit_before_maximal_frame_bounces(void **state)
{
	struct nt *t = nt_new(FM, 2048);
	static uint8_t frame[3000], got[12 + 3000];
	static uint64_t gpa[70][16];
	struct drvsim_buf b[16];
	int id[70];
	size_t off = 0;

	(void)state;
	/* 70 chains x 16 descriptors x 64 bytes: 64 chains are 1024 iovecs
	 * but only 65536 bytes, less than header + NET_MAX_FRAME */
	for (int i = 0; i < 70; i++) {
		for (int k = 0; k < 16; k++) {
			gpa[i][k] = nt_alloc(t, 64);
			b[k] = (struct drvsim_buf){ gpa[i][k], 64, true };
		}
		id[i] = nt_add(t, 0, b, 16);
	}
	nt_frame(frame, sizeof(frame), 4);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 3);
	assert_int_equal(nt_qp(t)->stats.rx.bounced, 1);
	assert_int_equal(nt_qp(t)->stats.rx.packets, 1);
	expect_used(t, id[0], 1024);
	expect_used(t, id[1], 1024);
	expect_used(t, id[2], 12 + 3000 - 2048);
	expect_no_used(t);
	assert_int_equal(guest_hdr(t, gpa[0][0]).num_buffers, 3);
	/* header + payload, gathered back descriptor by descriptor */
	for (int i = 0; i < 3 && off < sizeof(got); i++)
		for (int k = 0; k < 16 && off < sizeof(got); k++) {
			size_t n = sizeof(got) - off < 64 ? sizeof(got) - off : 64;

			assert_int_equal(drvsim_read(t->ds, gpa[i][k], got + off, n), 0);
			off += n;
		}
	assert_int_equal(off, sizeof(got));
	assert_memory_equal(got + 12, frame, sizeof(frame));
	nt_free(t);
}

static void test_rx_small_buffers_use_bounce(void **state)
{
	struct nt *t = nt_new(FN, 64);
	uint8_t frame[100];
	int id;

	(void)state;
	post(t, 1526, &id);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_qp(t)->stats.rx.bounced, 1);
	expect_used(t, id, 112);
	nt_free(t);
}

/* F7: readable descriptors in an RX chain. */
static void test_F7_rx_chain_with_readable_descriptor_returned_len0(void **state)
{
	struct nt *t = nt_new(FN, 64);
	struct drvsim_buf b[2] = { { nt_alloc(t, 64), 64, false }, { nt_alloc(t, 2048), 2048, true } };
	uint8_t frame[100];
	int bad, good;

	(void)state;
	bad = nt_add(t, 0, b, 2);
	post(t, 2048, &good);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 2);
	expect_used(t, bad, 0);
	expect_used(t, good, 112);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_READABLE], 1);
	nt_free(t);
}

/* F8: buffers smaller than the header, never written. */
static void small_buffers(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	uint8_t frame[100], canary[11];
	uint64_t g[4];
	int id[4], good;

	for (int i = 0; i < 4; i++) {
		g[i] = post(t, i + 1 < 4 ? (uint32_t)(i + 1) : 11, &id[i]);
		assert_int_equal(drvsim_fill(t->ds, g[i], 0x5a, i + 1 < 4 ? i + 1 : 11), 0);
	}
	post(t, 2048, &good);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 5);
	for (int i = 0; i < 4; i++)
		expect_used(t, id[i], 0);
	expect_used(t, good, 112);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_SMALL], 4);
	assert_int_equal(drvsim_read(t->ds, g[3], canary, 11), 0);
	for (int i = 0; i < 11; i++)
		assert_int_equal(canary[i], 0x5a);
	nt_free(t);
}

static void test_F8_rx_buffer_smaller_than_header_rejected(void **state)
{
	(void)state;
	small_buffers(FM);
}

static void test_F8_rx_buffer_smaller_than_header_rejected_packed(void **state)
{
	(void)state;
	small_buffers(FM | NT_PACKED);
}

/* F9: mergeable packet needs more buffers than posted: wait, do not drop. */
static void mrg_wait(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	static uint8_t frame[1500], got[1500];
	struct vnet_qp *qp = nt_qp(t);
	uint64_t g[4];
	int id[4];

	g[0] = post(t, 512, &id[0]);
	g[1] = post(t, 512, &id[1]);
	nt_frame(frame, sizeof(frame), 7);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(qp, 64), 0);
	assert_int_equal(qp->rx_wait, NET_WAIT_KICK);
	assert_int_equal(qp->rx_pending_len, 1512);
	expect_no_used(t);
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_NO_ROOM], 0);

	g[2] = post(t, 512, &id[2]);
	g[3] = post(t, 512, &id[3]);
	assert_int_equal(net_rx_run(qp, 64), 3);
	expect_used(t, id[0], 512);
	expect_used(t, id[1], 512);
	expect_used(t, id[2], 1512 - 1024);
	expect_no_used(t);
	assert_int_equal(guest_hdr(t, g[0]).num_buffers, 3);
	assert_int_equal(drvsim_read(t->ds, g[0] + 12, got, 500), 0);
	assert_int_equal(drvsim_read(t->ds, g[1], got + 500, 512), 0);
	assert_int_equal(drvsim_read(t->ds, g[2], got + 1012, 488), 0);
	assert_memory_equal(got, frame, 1500);
	assert_int_equal(qp->rx_count, 1); /* the fourth stays reserved */
	nt_free(t);
}

static void test_F9_mrg_needs_more_buffers_than_posted(void **state)
{
	(void)state;
	mrg_wait(FM);
}

static void test_F9_mrg_needs_more_buffers_than_posted_packed(void **state)
{
	(void)state;
	mrg_wait(FM | NT_PACKED);
}

/*
 * A frame waiting in the host buffer for more mergeable buffers, then the
 * frontend stops the rings and sets features again (vhost-user repeats
 * SET_FEATURES on reconnect and migration).  Unchanged features: the frame
 * was read and validated for them and is delivered after the restart.
 * Changed features: its header no longer fits; it is dropped and counted as
 * rx-features-changed, never silently (campaign finding rx-drop-count,
 * corpus/vnet_ops/crash-rx-pending-dropped-uncounted-on-set-features.bin).
 */
static struct nt *pending_then_stop(uint64_t features, uint8_t *frame)
{
	struct nt *t = nt_new(features, 64);
	struct vnet_qp *qp = nt_qp(t);

	post(t, 512, NULL);
	post(t, 512, NULL);
	nt_frame(frame, 1500, 9);
	nt_peer_send(t, &plain, frame, 1500);
	assert_int_equal(net_rx_run(qp, 64), 0);
	assert_int_equal(qp->rx_pending_len, 1512);
	assert_int_equal(vnet_queue_stop(t->dev, 0, NULL), 0);
	assert_int_equal(vnet_queue_stop(t->dev, 1, NULL), 0);
	return t;
}

static void test_rx_pending_frame_kept_across_same_features(void **state)
{
	static uint8_t frame[1500], got[1500];
	struct nt *t = pending_then_stop(FM, frame);
	struct vnet_qp *qp = nt_qp(t);
	uint64_t g[3];
	int id[3];

	(void)state;
	assert_int_equal(vnet_set_features(t->dev, FM), 0);
	assert_int_equal(qp->rx_pending_len, 1512);
	nt_ring(t, 0);
	nt_ring(t, 1);
	for (int i = 0; i < 3; i++)
		g[i] = post(t, 512, &id[i]);
	assert_int_equal(net_rx_run(qp, 64), 3);
	expect_used(t, id[0], 512);
	expect_used(t, id[1], 512);
	expect_used(t, id[2], 1512 - 1024);
	assert_int_equal(guest_hdr(t, g[0]).num_buffers, 3);
	assert_int_equal(drvsim_read(t->ds, g[0] + 12, got, 500), 0);
	assert_int_equal(drvsim_read(t->ds, g[1], got + 500, 512), 0);
	assert_int_equal(drvsim_read(t->ds, g[2], got + 1012, 488), 0);
	assert_memory_equal(got, frame, 1500);
	assert_int_equal(qp->stats.rx.packets, 1);
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_RENEGOTIATED], 0);
	nt_free(t);
}

static void test_rx_pending_frame_dropped_and_counted_on_new_features(void **state)
{
	static uint8_t frame[1500];
	struct nt *t = pending_then_stop(FM, frame);
	struct vnet_qp *qp = nt_qp(t);
	uint64_t total = 0;

	(void)state;
	/* mergeable buffers off: the frame was read and checked for a guest
	 * that merges buffers; the new one does not, so it goes, counted */
	assert_int_equal(vnet_set_features(t->dev, FN), 0);
	assert_int_equal(qp->rx_pending_len, 0);
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_RENEGOTIATED], 1);
	assert_string_equal(net_drop_name(NET_DROP_RX_RENEGOTIATED), "rx-features-changed");
	for (unsigned d = 0; d < NET_DROP__COUNT; d++)
		total += qp->stats.rx.drops[d];
	assert_int_equal(total, 1);
	/* and the same call again drops nothing more */
	assert_int_equal(vnet_set_features(t->dev, FN), 0);
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_RENEGOTIATED], 1);
	t->features = FN;
	nt_ring(t, 0);
	nt_ring(t, 1);
	assert_int_equal(net_rx_run(qp, 64), 0);
	expect_no_used(t);
	assert_int_equal(qp->stats.rx.packets, 0);
	nt_free(t);
}

static void test_F9_mrg_packet_larger_than_whole_ring_dropped(void **state)
{
	struct nt *t = nt_new(FM, 4);
	uint8_t frame[3000];
	int id[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		post(t, 512, &id[i]);
	nt_frame(frame, sizeof(frame), 7);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	nt_peer_send(t, &plain, frame, 100);
	assert_int_equal(net_rx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_NO_ROOM], 1);
	/* the buffers were kept and served the next frame */
	expect_used(t, id[0], 112);
	expect_no_used(t);
	nt_free(t);
}

/* F10: num_buffers and the validated header come from a host copy. */
static void test_F10_header_written_from_host_copy(void **state)
{
	struct nt *t = nt_new(FM, 64); /* GUEST_CSUM, no guest TSO */
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID | 0x80, .hdr_len = 9999,
			     .num_buffers = 0x4444 };
	uint8_t frame[1000];
	uint64_t g[2];
	int id[2];

	(void)state;
	g[0] = post(t, 600, &id[0]);
	g[1] = post(t, 600, &id[1]);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &h, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 2);
	h = guest_hdr(t, g[0]);
	assert_int_equal(h.num_buffers, 2);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(h.hdr_len, 1000);
	nt_free(t);
}

static void test_rx_gso_guest_did_not_negotiate_dropped(void **state)
{
	struct nt *t = nt_new(FM, 64);
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = 1,
			     .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	uint8_t frame[3000];
	int id;

	(void)state;
	post(t, 4096, &id);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &h, frame, sizeof(frame));
	nt_peer_send(t, &plain, frame, 60);
	assert_int_equal(net_rx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_GSO], 1);
	expect_used(t, id, 72); /* the same chain took the next frame */
	nt_free(t);
}

static void test_rx_needs_csum_without_guest_csum_dropped(void **state)
{
	struct nt *t = nt_new(NT_V1 | NF(MRG_RXBUF), 64);
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			     .csum_offset = 6 };
	uint8_t frame[100];

	(void)state;
	post(t, 4096, NULL);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &h, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 0);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_CSUM], 1);
	expect_no_used(t);
	nt_free(t);
}

/* F11: two RX chains over the same guest memory. */
static void test_F11_rx_aliased_buffers(void **state)
{
	struct nt *t = nt_new(FN, 64);
	uint64_t g = nt_alloc(t, 2048);
	struct drvsim_buf b = { g, 2048, true };
	uint8_t frame[100], got[100];
	int id[2];

	(void)state;
	id[0] = nt_add(t, 0, &b, 1);
	id[1] = nt_add(t, 0, &b, 1);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	nt_frame(frame, sizeof(frame), 2);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 2);
	expect_used(t, id[0], 112);
	expect_used(t, id[1], 112);
	assert_int_equal(drvsim_read(t->ds, g + 12, got, 100), 0);
	assert_memory_equal(got, frame, 100);
	nt_free(t);
}

static void test_rx_non_mrg_frame_bigger_than_buffer_dropped(void **state)
{
	struct nt *t = nt_new(FN, 64);
	uint8_t frame[2000];
	int id;

	(void)state;
	post(t, 1526, &id);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	nt_peer_send(t, &plain, frame, 500);
	assert_int_equal(net_rx_run(nt_qp(t), 64), 1);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_NO_ROOM], 1);
	expect_used(t, id, 512);
	nt_free(t);
}

static void test_rx_runt_frame_dropped(void **state)
{
	struct nt *t = nt_new(FN, 64);
	uint8_t frame[13] = { 0 };

	(void)state;
	post(t, 1526, NULL);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(nt_qp(t), 64), 0);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_RUNT], 1);
	expect_no_used(t);
	assert_int_equal(nt_qp(t)->rx_count, 1);
	nt_free(t);
}

/* The kernel reports a truncated frame with its full length: never trusted. */
static void test_rx_length_beyond_buffer_not_trusted(void **state)
{
	struct nt *t = nt_new(FN, 64);

	(void)state;
	post(t, 1526, NULL);
	t->fault.readv_force = true;
	t->fault.readv_ret = 12 + NET_MAX_FRAME + 100;
	assert_int_equal(net_rx_run(nt_qp(t), 1), 0);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_NO_ROOM], 1);
	expect_no_used(t);
	nt_free(t);
}

/* Backpressure: no guest buffers -> stop reading the backend. */
static void test_rx_no_buffers_stops_reading_backend(void **state)
{
	struct nt *t = nt_new(FM, 64);
	struct vnet_qp *qp = nt_qp(t);
	uint8_t frame[100];
	int id;

	(void)state;
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(qp, 64), 0);
	assert_int_equal(qp->rx_wait, NET_WAIT_KICK);
	assert_int_equal(qp->stats.rx.blocked, 1);
	assert_int_equal(t->fault.readv_calls, 0);
	assert_true(nt_backend_has_data(t)); /* left in the TAP, not dropped */
	/* kicks are armed: the driver will notify when it posts */
	assert_int_equal(drvsim_split_used_flags(t->rxs) & VRING_USED_F_NO_NOTIFY, 0);
	/* calling again does not spin or read */
	assert_int_equal(net_rx_run(qp, 64), 0);
	assert_int_equal(t->fault.readv_calls, 0);
	post(t, 2048, &id);
	assert_int_equal(net_rx_run(qp, 64), 1);
	expect_used(t, id, 112);
	assert_int_equal(qp->rx_wait, NET_WAIT_KICK); /* out of buffers again */
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_NO_ROOM], 0);
	nt_free(t);
}

static void test_rx_budget_respected(void **state)
{
	struct nt *t = nt_new(FN, 64);
	struct vnet_qp *qp = nt_qp(t);
	uint8_t frame[100];

	(void)state;
	for (int i = 0; i < 10; i++) {
		post(t, 1526, NULL);
		nt_frame(frame, sizeof(frame), (uint8_t)i);
		nt_peer_send(t, &plain, frame, sizeof(frame));
	}
	assert_int_equal(net_rx_run(qp, 3), 3);
	assert_int_equal(qp->rx_wait, NET_WAIT_NONE);
	assert_int_equal(nt_used_count(t, 0), 3);
	assert_int_equal(net_rx_run(qp, 64), 7);
	nt_free(t);
}

/* A flood of bad frames cannot hold the worker (CVE-2019-3900). */
static void test_rx_bad_frame_flood_bounded_by_budget(void **state)
{
	struct nt *t = nt_new(FN, 64);
	struct vnet_qp *qp = nt_qp(t);
	uint8_t frame[5] = { 0 };

	(void)state;
	post(t, 1526, NULL);
	for (int i = 0; i < 50; i++)
		nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(qp, 10), 0);
	assert_int_equal(qp->rx_wait, NET_WAIT_NONE);
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_RUNT], 10);
	nt_free(t);
}

/* A guest posting only bad chains cannot hold the worker either. */
static void test_rx_bad_chain_flood_bounded_by_budget(void **state)
{
	struct nt *t = nt_new(FM, 64);
	struct vnet_qp *qp = nt_qp(t);

	(void)state;
	for (int i = 0; i < 20; i++)
		post(t, 4, NULL);
	assert_int_equal(net_rx_run(qp, 5), 5);
	assert_int_equal(qp->rx_wait, NET_WAIT_NONE);
	assert_int_equal(qp->stats.rx.drops[NET_DROP_RX_SMALL], 5);
	assert_int_equal(net_rx_run(qp, 64), 15);
	assert_int_equal(qp->rx_wait, NET_WAIT_KICK);
	nt_free(t);
}

/* seed 002 "rm_iov_header failure leaks the descriptor". */
static void test_seed002_rx_small_buffer_returned_not_leaked(void **state)
{
	struct nt *t = nt_new(FN, 64);
	int id;

	(void)state;
	post(t, 8, &id);
	assert_int_equal(net_rx_run(nt_qp(t), 64), 1);
	expect_used(t, id, 0);
	assert_int_equal(nt_qp(t)->stats.rx.drops[NET_DROP_RX_SMALL], 1);
	nt_free(t);
}

/* seed 002 "readv error: descriptor not returned, bogus length". */
static void test_seed002_rx_eio_keeps_descriptor(void **state)
{
	struct nt *t = nt_new(FN, 64);
	struct vnet_qp *qp = nt_qp(t);
	uint8_t frame[100];
	int id;

	(void)state;
	post(t, 1526, &id);
	t->fault.readv_force = true;
	t->fault.readv_ret = -EIO;
	assert_int_equal(net_rx_run(qp, 64), -EIO);
	assert_int_equal(qp->rx_wait, NET_WAIT_BACKEND_ERR);
	assert_int_equal(qp->rx_err, EIO);
	expect_no_used(t); /* no made-up length */
	assert_int_equal(qp->rx_count, 1); /* not lost: still reserved */
	t->fault.readv_force = false;
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	assert_int_equal(net_rx_run(qp, 64), 1);
	expect_used(t, id, 112);
	nt_free(t);
}

/* seed 002 "readv EOF: bogus length and a tight loop draining RX buffers". */
static void test_seed002_rx_eof_no_loop_no_bogus_len(void **state)
{
	struct nt *t = nt_new(FN, 64);
	struct vnet_qp *qp = nt_qp(t);
	int id[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		post(t, 1526, &id[i]);
	close(t->peer);
	t->peer = -1;
	assert_int_equal(net_rx_run(qp, 64), -EPIPE);
	assert_int_equal(qp->rx_wait, NET_WAIT_BACKEND_ERR);
	assert_int_equal(t->fault.readv_calls, 1);
	expect_no_used(t);
	assert_int_equal(net_rx_run(qp, 64), -EPIPE);
	assert_int_equal(t->fault.readv_calls, 2); /* one read per call, no loop */
	expect_no_used(t);
	/* stop gives the held chain back (len 0); the others were never popped */
	assert_int_equal(vnet_queue_stop(t->dev, 0, NULL), 0);
	expect_used(t, id[0], 0);
	expect_no_used(t);
	nt_ring(t, 0);
	nt_free(t);
}

/* seed 002 "EAGAIN": nothing to read keeps the chain reserved. */
static void test_seed002_rx_eagain_keeps_descriptor(void **state)
{
	struct nt *t = nt_new(FN, 64);
	struct vnet_qp *qp = nt_qp(t);

	(void)state;
	post(t, 1526, NULL);
	assert_int_equal(net_rx_run(qp, 64), 0);
	assert_int_equal(qp->rx_wait, NET_WAIT_BACKEND_IN);
	assert_int_equal(qp->stats.rx.eagain, 1);
	expect_no_used(t);
	assert_int_equal(qp->rx_count, 1);
	nt_free(t);
}

/* seed 002 "static trashbuf / pad shared by devices": every pair has its own
 * buffers; two pairs on two threads deliver their own frames intact. */
struct pair_run {
	struct nt *t;
	uint8_t seed;
	unsigned ok;
};

static void *pair_thread(void *arg)
{
	struct pair_run *pr = arg;
	struct nt *t = pr->t;
	uint8_t frame[1400], got[1400];

	for (int i = 0; i < 300; i++) {
		uint64_t g = nt_alloc(t, 1526);
		struct drvsim_buf b = { g, 1526, true };
		uint32_t id, len;

		assert_true(nt_add(t, 0, &b, 1) >= 0);
		nt_frame(frame, sizeof(frame), (uint8_t)(pr->seed + i));
		nt_peer_send(t, &plain, frame, sizeof(frame));
		if (net_rx_run(nt_qp(t), 64) != 1 || !nt_used(t, 0, &id, &len) || len != 1412)
			continue;
		assert_int_equal(drvsim_read(t->ds, g + 12, got, sizeof(got)), 0);
		if (!memcmp(got, frame, sizeof(got)))
			pr->ok++;
		drvsim_alloc_from(t->ds, g); /* reuse the same guest memory */
	}
	return NULL;
}

static void test_seed002_rx_per_queue_buffers(void **state)
{
	struct pair_run a = { .t = nt_new(FN, 64), .seed = 1 };
	struct pair_run b = { .t = nt_new(FN, 64), .seed = 101 };
	pthread_t ta, tb;

	(void)state;
	assert_ptr_not_equal(nt_qp(a.t)->rx_buf, nt_qp(b.t)->rx_buf);
	assert_int_equal(pthread_create(&ta, NULL, pair_thread, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, pair_thread, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.ok, 300);
	assert_int_equal(b.ok, 300);
	nt_free(a.t);
	nt_free(b.t);
}

/* seed 002 "batch used update": all buffers of a packet in one publish. */
static void test_seed002_rx_packet_published_in_one_batch(void **state)
{
	struct nt *t = nt_new(FM, 64);
	struct vnet_qp *qp = nt_qp(t);
	uint8_t frame[3000];

	(void)state;
	for (int i = 0; i < 8; i++)
		post(t, 512, NULL);
	nt_frame(frame, sizeof(frame), 1);
	nt_peer_send(t, &plain, frame, sizeof(frame));
	nt_efd(t->call_rx);
	assert_int_equal(net_rx_run(qp, 64), 6);
	assert_int_equal(qp->rx.stats.signals + qp->rx.stats.suppressed, 1);
	assert_int_equal(drvsim_split_used_idx(t->rxs), 6);
	assert_true(nt_efd(t->call_rx) >= 1);
	nt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_frame_one_chain_split),
		cmocka_unit_test(test_rx_frame_one_chain_packed),
		cmocka_unit_test(test_rx_frame_mrg_single_buffer_packed),
		cmocka_unit_test(test_rx_legacy_10_byte_header),
		cmocka_unit_test(test_rx_direct_read_into_big_buffer),
		cmocka_unit_test(test_rx_direct_read_mrg_many_buffers),
		cmocka_unit_test(test_rx_mrg_iovec_limit_before_maximal_frame_bounces),
		cmocka_unit_test(test_rx_small_buffers_use_bounce),
		cmocka_unit_test(test_F7_rx_chain_with_readable_descriptor_returned_len0),
		cmocka_unit_test(test_F8_rx_buffer_smaller_than_header_rejected),
		cmocka_unit_test(test_F8_rx_buffer_smaller_than_header_rejected_packed),
		cmocka_unit_test(test_F9_mrg_needs_more_buffers_than_posted),
		cmocka_unit_test(test_F9_mrg_needs_more_buffers_than_posted_packed),
		cmocka_unit_test(test_F9_mrg_packet_larger_than_whole_ring_dropped),
		cmocka_unit_test(test_rx_pending_frame_kept_across_same_features),
		cmocka_unit_test(test_rx_pending_frame_dropped_and_counted_on_new_features),
		cmocka_unit_test(test_F10_header_written_from_host_copy),
		cmocka_unit_test(test_rx_gso_guest_did_not_negotiate_dropped),
		cmocka_unit_test(test_rx_needs_csum_without_guest_csum_dropped),
		cmocka_unit_test(test_F11_rx_aliased_buffers),
		cmocka_unit_test(test_rx_non_mrg_frame_bigger_than_buffer_dropped),
		cmocka_unit_test(test_rx_runt_frame_dropped),
		cmocka_unit_test(test_rx_length_beyond_buffer_not_trusted),
		cmocka_unit_test(test_rx_no_buffers_stops_reading_backend),
		cmocka_unit_test(test_rx_budget_respected),
		cmocka_unit_test(test_rx_bad_frame_flood_bounded_by_budget),
		cmocka_unit_test(test_rx_bad_chain_flood_bounded_by_budget),
		cmocka_unit_test(test_seed002_rx_small_buffer_returned_not_leaked),
		cmocka_unit_test(test_seed002_rx_eio_keeps_descriptor),
		cmocka_unit_test(test_seed002_rx_eof_no_loop_no_bogus_len),
		cmocka_unit_test(test_seed002_rx_eagain_keeps_descriptor),
		cmocka_unit_test(test_seed002_rx_per_queue_buffers),
		cmocka_unit_test(test_seed002_rx_packet_published_in_one_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
