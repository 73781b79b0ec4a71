/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nettest.h - fixture shared by the virtio-net unit tests.
 *
 * Each test gets a struct nt: guest RAM from the driver simulator, one queue
 * pair's RX and TX rings (split or packed), a struct vnet with features
 * negotiated and both queues started, and a fake TAP: one end of a
 * socketpair(AF_UNIX, SOCK_SEQPACKET) adopted with tap_adopt_socket (the
 * same read/write code as the TAP, ioctls no-ops); the test plays the kernel
 * on the other end (nt->peer).  A "fault" backend wraps the fake TAP so a
 * test can force readv/writev results (EIO, EOF, oversized lengths) or run a
 * hook inside them.
 */
#ifndef VHOSTILE_TESTS_UNIT_NETTEST_H
#define VHOSTILE_TESTS_UNIT_NETTEST_H

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/iov.h"
#include "net/net_hdr.h"
#include "net/tap.h"
#include "net/vnet.h"
#include "tests/support/drvsim.h"

#define NT_RAM_GPA 0x100000ULL
#define NT_RAM_SIZE (24ULL << 20)

#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define NT_V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define NT_PACKED VIRTIO_BIT(VIRTIO_F_RING_PACKED)
#define NT_EVENT_IDX VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)
#define NT_INDIRECT VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define NT_OFFLOADS                                                                        \
	(NF(CSUM) | NF(GUEST_CSUM) | NF(HOST_TSO4) | NF(HOST_TSO6) | NF(HOST_ECN) |          \
	 NF(GUEST_TSO4) | NF(GUEST_TSO6) | NF(GUEST_ECN))

/* Fault injection around the fake TAP. */
struct nt_fault {
	struct net_backend inner;   /* the socket backend */
	ssize_t readv_ret;          /* forced readv result when readv_force */
	bool readv_force;
	ssize_t writev_ret;         /* forced writev result when writev_force */
	bool writev_force;
	unsigned readv_calls, writev_calls;
	void (*hook)(void *arg);    /* run at the start of every writev */
	void *hook_arg;
	unsigned set_off_calls;
	unsigned last_off;
	unsigned last_hdr_len;
};

struct nt {
	struct drvsim *ds;
	struct drvsim_split *rxs, *txs;
	struct drvsim_packed *rxp, *txp;
	bool packed;
	uint16_t qsize;
	uint64_t features;
	struct vnet *dev;
	struct net_backend be;   /* what the device uses (fault wrapper) */
	struct nt_fault fault;
	int peer;                /* the "kernel" end */
	int call_rx, call_tx;
};

static ssize_t nt_fault_writev(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct nt_fault *f = be->priv;

	f->writev_calls++;
	if (f->hook)
		f->hook(f->hook_arg);
	if (f->writev_force)
		return f->writev_ret;
	return f->inner.ops->writev(&f->inner, iov, n);
}

static ssize_t nt_fault_readv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct nt_fault *f = be->priv;

	f->readv_calls++;
	if (f->readv_force)
		return f->readv_ret;
	return f->inner.ops->readv(&f->inner, iov, n);
}

static int nt_fault_hdr(struct net_backend *be, unsigned len)
{
	struct nt_fault *f = be->priv;

	f->last_hdr_len = len;
	return 0;
}

static int nt_fault_off(struct net_backend *be, unsigned off)
{
	struct nt_fault *f = be->priv;

	f->set_off_calls++;
	f->last_off = off;
	return 0;
}

static void nt_fault_close(struct net_backend *be)
{
	struct nt_fault *f = be->priv;

	net_be_close(&f->inner);
}

static const struct net_backend_ops nt_fault_ops = {
	.name = "fault",
	.writev = nt_fault_writev,
	.readv = nt_fault_readv,
	.set_vnet_hdr_len = nt_fault_hdr,
	.set_offload = nt_fault_off,
	.close = nt_fault_close,
};

/**
 * nt_backend() - fake TAP on a fresh socketpair.
 * @f: fault wrapper to fill
 * @be: backend the device will use
 * @offloads: NET_OFF_* the fake kernel "accepts"
 *
 * Return: the peer fd.
 */
static inline int nt_backend(struct nt_fault *f, struct net_backend *be, unsigned offloads)
{
	int sv[2], sz = 1 << 20;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(f, 0, sizeof(*f));
	assert_int_equal(tap_adopt_socket(&f->inner, sv[0], offloads), 0);
	memset(be, 0, sizeof(*be));
	be->ops = &nt_fault_ops;
	be->fd = sv[0];
	be->offloads = f->inner.offloads;
	be->priv = f;
	return sv[1];
}

static inline uint64_t nt_alloc(struct nt *t, uint64_t len)
{
	uint64_t g = drvsim_alloc(t->ds, len ? len : 1, 64);

	assert_true(g != UINT64_MAX);
	return g;
}

/* Start queue @qidx (0 rx, 1 tx) of pair 0 on a new ring of t->qsize. */
static inline void nt_ring(struct nt *t, unsigned qidx)
{
	struct vq_cfg cfg;
	uint64_t d, a, u, len;

	/* a restart gets a fresh ring; the old driver state goes */
	if (qidx) {
		drvsim_split_free(t->txs);
		drvsim_packed_free(t->txp);
		t->txs = NULL;
		t->txp = NULL;
	} else {
		drvsim_split_free(t->rxs);
		drvsim_packed_free(t->rxp);
		t->rxs = NULL;
		t->rxp = NULL;
	}
	if (t->packed) {
		struct drvsim_packed *q;

		len = drvsim_packed_layout(t->qsize, 0, &d, &a, &u);
		d = nt_alloc(t, len + 64);
		d = (d + 15) & ~15ULL;
		drvsim_packed_layout(t->qsize, d, &d, &a, &u);
		q = drvsim_packed_new(t->ds, t->qsize, d, a, u);
		assert_non_null(q);
		drvsim_packed_cfg(q, &cfg, t->features);
		if (qidx)
			t->txp = q;
		else
			t->rxp = q;
	} else {
		struct drvsim_split *q;

		len = drvsim_split_layout(t->qsize, 0, &d, &a, &u);
		d = nt_alloc(t, len + 64);
		d = (d + 15) & ~15ULL;
		drvsim_split_layout(t->qsize, d, &d, &a, &u);
		q = drvsim_split_new(t->ds, t->qsize, d, a, u, 0);
		assert_non_null(q);
		drvsim_split_cfg(q, &cfg, t->features);
		if (qidx)
			t->txs = q;
		else
			t->rxs = q;
	}
	cfg.call_fd = qidx ? t->call_tx : t->call_rx;
	assert_int_equal(vnet_queue_start(t->dev, qidx, &t->ds->gm, &cfg), 0);
}

/**
 * nt_new() - the whole fixture.
 * @features: to negotiate (RING_PACKED selects packed rings)
 * @qsize: ring size
 * @offloads: NET_OFF_* the fake backend accepts
 *
 * Return: fixture (free with nt_free).
 */
static inline struct nt *nt_new_off(uint64_t features, uint16_t qsize, unsigned offloads)
{
	struct vnet_params p = { .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 },
				 .mtu = 1500,
				 .max_pairs = 1 };
	struct nt *t = calloc(1, sizeof(*t));
	struct net_backend *bep;

	assert_non_null(t);
	t->dev = calloc(1, sizeof(*t->dev));
	assert_non_null(t->dev);
	t->features = features;
	t->packed = features & NT_PACKED;
	t->qsize = qsize;
	t->call_rx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->call_tx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->peer = nt_backend(&t->fault, &t->be, offloads);
	t->ds = drvsim_new_flat(NT_RAM_GPA, NT_RAM_SIZE);
	assert_non_null(t->ds);
	bep = &t->be;
	assert_int_equal(vnet_init(t->dev, &p, &bep), 0);
	assert_int_equal(vnet_set_features(t->dev, features), 0);
	nt_ring(t, 0);
	nt_ring(t, 1);
	return t;
}

static inline struct nt *nt_new(uint64_t features, uint16_t qsize)
{
	return nt_new_off(features, qsize, NET_OFF_ALL);
}

static inline void nt_free(struct nt *t)
{
	assert_int_equal(vnet_queue_stop(t->dev, 0, NULL), 0);
	assert_int_equal(vnet_queue_stop(t->dev, 1, NULL), 0);
	vnet_destroy(t->dev);
	net_be_close(&t->be);
	if (t->peer >= 0)
		close(t->peer);
	drvsim_split_free(t->rxs);
	drvsim_split_free(t->txs);
	drvsim_packed_free(t->rxp);
	drvsim_packed_free(t->txp);
	drvsim_free(t->ds);
	close(t->call_rx);
	close(t->call_tx);
	free(t->dev);
	free(t);
}

static inline struct vnet_qp *nt_qp(struct nt *t)
{
	return &t->dev->qp[0];
}

/* Add a chain to queue @qidx; returns head / buffer id. */
static inline int nt_add(struct nt *t, unsigned qidx, const struct drvsim_buf *b, unsigned n)
{
	int id;

	if (t->packed)
		id = drvsim_packed_add(qidx ? t->txp : t->rxp, b, n);
	else
		id = drvsim_split_add(qidx ? t->txs : t->rxs, b, n);
	assert_true(id >= 0);
	return id;
}

/* Consume one used element of queue @qidx like a driver. */
static inline bool nt_used(struct nt *t, unsigned qidx, uint32_t *id, uint32_t *len)
{
	if (t->packed) {
		uint16_t pid;
		bool ok = drvsim_packed_get_used(qidx ? t->txp : t->rxp, &pid, len);

		if (ok)
			*id = pid;
		return ok;
	}
	return drvsim_split_get_used(qidx ? t->txs : t->rxs, id, len);
}

/* Count (and consume) used elements. */
static inline unsigned nt_used_count(struct nt *t, unsigned qidx)
{
	uint32_t id, len;
	unsigned n = 0;

	while (nt_used(t, qidx, &id, &len))
		n++;
	return n;
}

static inline uint64_t nt_efd(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* Put a guest TX buffer: header @h (hdr_size bytes) then @frame. */
static inline uint64_t nt_tx_buf(struct nt *t, const struct net_hdr *h, const void *frame,
				 size_t flen)
{
	size_t hs = nt_qp(t)->hdr_size;
	uint64_t g = nt_alloc(t, hs + flen);
	uint8_t raw[NET_HDR_MAX];

	net_hdr_store(raw, hs, h);
	assert_int_equal(drvsim_write(t->ds, g, raw, hs), 0);
	if (flen)
		assert_int_equal(drvsim_write(t->ds, g + hs, frame, flen), 0);
	return g;
}

/* A recognisable Ethernet frame of @len bytes. */
static inline void nt_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7u);
	if (len >= NET_ETH_HLEN) {
		f[12] = 0x08; /* IPv4 ethertype: looks like a frame */
		f[13] = 0x00;
	}
}

/* Non-blocking receive on the peer; -1 if nothing. */
static inline ssize_t nt_peer_recv(struct nt *t, void *buf, size_t cap)
{
	return recv(t->peer, buf, cap, MSG_DONTWAIT);
}

/* Send header @h + @frame as one datagram from the peer (the "kernel"). */
static inline void nt_peer_send(struct nt *t, const struct net_hdr *h, const void *frame,
				size_t flen)
{
	size_t hs = nt_qp(t)->hdr_size;
	uint8_t raw[NET_HDR_MAX];
	struct iovec v[2] = { { raw, hs }, { (void *)frame, flen } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	net_hdr_store(raw, hs, h);
	assert_int_equal(sendmsg(t->peer, &m, 0), (ssize_t)(hs + flen));
}

/* Bytes queued for the device on the fake TAP (not yet read). */
static inline bool nt_backend_has_data(struct nt *t)
{
	struct pollfd p = { .fd = t->be.fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

#endif /* VHOSTILE_TESTS_UNIT_NETTEST_H */
