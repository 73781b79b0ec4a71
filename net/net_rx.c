// SPDX-License-Identifier: Apache-2.0
/*
 * net_rx.c - backend to guest: reserve buffers, read, validate, publish.
 *
 * Theory of operation
 * -------------------
 * RX chains are popped into a small reservation ring in the pair before any
 * frame is read, and stay there until a packet fills them; a chain is never
 * popped and then abandoned.  Chains with device-readable descriptors (F7) or
 * smaller than the header (F8) are returned at once with used length 0.
 *
 * Reading.  A TAP read moves one frame, and the kernel truncates a frame that
 * does not fit (while still reporting its full length), so a read straight
 * into guest buffers is only done when the reserved space holds a maximal
 * frame (header + NET_MAX_FRAME): then readv goes over the guest iovecs
 * directly, header included.  Otherwise the frame is read into the pair's
 * host buffer (allocated once) and copied out.  Without MRG_RXBUF only the
 * first reserved chain counts (one chain per packet, 5.1.6.4.1); with
 * MRG_RXBUF chains are reserved until that space is reached or the ring runs
 * dry, so a guest posting enough buffers gets zero-copy receive.
 *
 * Committing a packet.  The header the backend produced is copied once into
 * host memory and validated against the guest's features
 * (net_hdr_rx_check); num_buffers is set in that copy and the copy is
 * written into the first buffer (F10, CVE-2021-3748).  All buffers but the
 * last are completely filled (the data is contiguous over the reserved
 * chains), every chain of the packet is pushed, and the whole batch is
 * published by one flush at the end of the call: no packet is ever half
 * visible.
 *
 * Backpressure.  With no reserved chain and an empty ring, kicks are armed
 * (with the re-check of vq_enable_notify) and the run reports NET_WAIT_KICK:
 * the worker stops polling the backend until the guest posts buffers.  With
 * MRG_RXBUF a frame larger than what is reserved waits in the host buffer
 * (rx_pending_len) for more buffers instead of being dropped; it is dropped
 * only if the guest could never hold it (every ring slot or reservation slot
 * already taken).  -EAGAIN, EOF and errors from the backend leave every
 * reserved chain reserved (seed 002: no lost descriptor, no made-up length,
 * no EOF loop).
 */
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "net/net_internal.h"

enum rx_res {
	RES_OK,     /* target reached, or nothing more can be held */
	RES_EMPTY,  /* the ring is empty */
	RES_BUDGET, /* rejected chains used up the budget */
	RES_BROKEN, /* the queue latched broken */
};

static inline struct vnet_rx_slot *slot_at(struct vnet_qp *qp, unsigned i)
{
	return &qp->rx_res[(qp->rx_head + i) & (VNET_RX_SLOTS - 1)];
}

static inline bool mrg(const struct vnet_qp *qp)
{
	return qp->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
}

/* Most chains we may hold: reservation slots, and never more than the ring. */
static inline unsigned res_cap(const struct vnet_qp *qp)
{
	return qp->rx_qsize < VNET_RX_SLOTS ? qp->rx_qsize : VNET_RX_SLOTS;
}

/*
 * reserve() - pop RX chains until the reservation holds @target bytes.
 * @qp: pair
 * @target: wanted writable bytes (only the first chain counts without MRG)
 * @done: chains completed in this call; rejected chains are added
 * @budget: the caller's budget: a guest re-posting bad chains as fast as they
 *          are returned cannot keep us here
 *
 * Return: RES_OK, RES_EMPTY, RES_BUDGET or RES_BROKEN.
 */
static enum rx_res reserve(struct vnet_qp *qp, uint64_t target, unsigned *done,
			   unsigned budget)
{
	struct net_dir_stats *s = &qp->stats.rx;

	for (;;) {
		struct vnet_rx_slot *sl;
		enum net_drop d;
		enum vq_status st;

		if (qp->rx_count >= res_cap(qp) || (!mrg(qp) && qp->rx_count) ||
		    qp->rx_space >= target)
			return RES_OK;
		if (*done >= budget)
			return RES_BUDGET;
		sl = slot_at(qp, qp->rx_count);
		st = vq_pop(&qp->rx, &sl->c);
		if (st == VQ_EMPTY)
			return RES_EMPTY;
		if (st == VQ_BROKEN)
			return RES_BROKEN;
		if (st == VQ_BAD_CHAIN) {
			s->bad_chains++;
			s->chains++;
			(*done)++;
			continue;
		}
		if (sl->c.n_out || sl->c.out_bytes)
			d = NET_DROP_RX_READABLE; /* F7 */
		else if (sl->c.in_bytes < qp->hdr_size)
			d = NET_DROP_RX_SMALL;    /* F8 */
		else
			d = NET_DROP_NONE;
		if (d) {
			s->drops[d]++;
			s->chains++;
			(*done)++;
			net_put(&qp->rx, &sl->c, 0);
			continue;
		}
		qp->rx_count++;
		qp->rx_space += sl->c.in_bytes;
	}
}

/*
 * commit() - push the first @k reserved chains for a packet of @len bytes
 * (header included) already laid out contiguously over them.
 */
static void commit(struct vnet_qp *qp, unsigned k, size_t len, unsigned *done)
{
	struct net_dir_stats *s = &qp->stats.rx;
	size_t left = len;

	for (unsigned i = 0; i < k; i++) {
		struct vnet_rx_slot *sl = slot_at(qp, i);
		uint32_t part = left < sl->c.in_bytes ? (uint32_t)left : sl->c.in_bytes;

		net_put(&qp->rx, &sl->c, part);
		left -= part;
		qp->rx_space -= sl->c.in_bytes;
	}
	qp->rx_head = (qp->rx_head + k) & (VNET_RX_SLOTS - 1);
	qp->rx_count -= k;
	s->chains += k;
	*done += k;
	s->packets++;
	s->bytes += len - qp->hdr_size;
}

/*
 * chains_for() - how many reserved chains a packet of @len bytes needs.
 *
 * Return: that count, or 0 if the reservation cannot hold it (without
 * MRG_RXBUF: if the first chain cannot).
 */
static unsigned chains_for(struct vnet_qp *qp, size_t len)
{
	uint64_t have = 0;
	unsigned lim = mrg(qp) ? qp->rx_count : (qp->rx_count ? 1u : 0u);

	for (unsigned i = 0; i < lim; i++) {
		have += slot_at(qp, i)->c.in_bytes;
		if (have >= len)
			return i + 1;
	}
	return 0;
}

/*
 * fix_header() - validate the backend's header copy and set num_buffers.
 * @qp: pair
 * @raw: host copy of the header (hdr_size bytes); rewritten
 * @len: frame length, header included
 * @nbuf: buffers the packet uses
 *
 * Return: NET_DROP_NONE or the reason.
 */
static enum net_drop fix_header(struct vnet_qp *qp, uint8_t *raw, size_t len, unsigned nbuf)
{
	struct net_hdr h;
	enum net_drop d;

	net_hdr_load(&h, raw, qp->hdr_size);
	d = net_hdr_rx_check(&h, qp->features, len - qp->hdr_size);
	if (d)
		return d;
	h.num_buffers = (uint16_t)nbuf;
	net_hdr_store(raw, qp->hdr_size, &h);
	return NET_DROP_NONE;
}

/*
 * deliver_bounce() - copy the frame waiting in the host buffer out.
 * @qp: pair
 * @done: chains completed in this call
 * @dropped: frames dropped in this call
 *
 * Return: true if the frame is gone (delivered or dropped), false if it must
 * wait for more guest buffers.
 */
static bool deliver_bounce(struct vnet_qp *qp, unsigned *done, unsigned *dropped)
{
	struct net_dir_stats *s = &qp->stats.rx;
	size_t len = qp->rx_pending_len, off = 0;
	unsigned k = chains_for(qp, len);
	enum net_drop d;

	if (k == 0) {
		/* Without MRG_RXBUF the packet must fit the next buffer; with
		 * it, wait for more unless the guest could never post more. */
		if (mrg(qp) && qp->rx_count < res_cap(qp))
			return false;
		s->drops[NET_DROP_RX_NO_ROOM]++;
		(*dropped)++;
		qp->rx_pending_len = 0;
		return true;
	}
	d = fix_header(qp, qp->rx_buf, len, k);
	if (d) {
		s->drops[d]++;
		(*dropped)++;
		qp->rx_pending_len = 0;
		return true;
	}
	for (unsigned i = 0; i < k; i++) {
		const struct vnet_rx_slot *sl = slot_at(qp, i);
		size_t part = len - off < sl->c.in_bytes ? len - off : sl->c.in_bytes;

		iov_from_buf(sl->c.iov, sl->c.n_in, 0, qp->rx_buf + off, part);
		off += part;
	}
	s->bounced++;
	commit(qp, k, len, done);
	qp->rx_pending_len = 0;
	return true;
}

/*
 * direct_iov() - list the reserved guest iovecs for a direct read.
 *
 * Return: iovec count, or 0 if they do not hold a maximal frame within the
 * readv iovec limit (then the host buffer is used).
 */
static unsigned direct_iov(struct vnet_qp *qp)
{
	uint64_t want = (uint64_t)qp->hdr_size + NET_MAX_FRAME, have = 0;
	unsigned n = 0, lim = mrg(qp) ? qp->rx_count : (qp->rx_count ? 1u : 0u);

	for (unsigned i = 0; i < lim && have < want; i++) {
		const struct vnet_rx_slot *sl = slot_at(qp, i);

		if (sl->c.n_in > NET_BE_IOV_MAX - n)
			return 0;
		memcpy(qp->rx_riov + n, sl->c.iov, sl->c.n_in * sizeof(struct iovec));
		n += sl->c.n_in;
		have += sl->c.in_bytes;
	}
	return have >= want ? n : 0;
}

/* Errors that cost one frame but leave the backend usable. */
static bool frame_error(ssize_t r)
{
	return r == -EFAULT || r == -EINVAL || r == -EMSGSIZE || r == -ENOBUFS || r == -ENOMEM;
}

/*
 * read_frame() - read one frame and deliver it (or leave it pending).
 * @qp: pair with at least one reserved chain
 * @done: chains completed in this call
 * @dropped: frames dropped in this call
 *
 * Return: 0 frame handled, -EAGAIN nothing to read, other -errno / -EPIPE
 * (EOF): the backend is unusable.
 */
static int read_frame(struct vnet_qp *qp, unsigned *done, unsigned *dropped)
{
	struct net_dir_stats *s = &qp->stats.rx;
	size_t hdr = qp->hdr_size, cap;
	unsigned n = direct_iov(qp), k;
	uint8_t raw[NET_HDR_MAX];
	struct iovec bounce;
	enum net_drop d;
	ssize_t r;

	if (n) {
		r = net_be_readv(qp->be, qp->rx_riov, n);
		cap = iov_size(qp->rx_riov, n);
	} else {
		bounce.iov_base = qp->rx_buf;
		bounce.iov_len = NET_HDR_MAX + NET_MAX_FRAME;
		r = net_be_readv(qp->be, &bounce, 1);
		cap = bounce.iov_len;
	}
	if (r == -EAGAIN) {
		s->eagain++;
		return -EAGAIN;
	}
	if (r == 0 || (r < 0 && !frame_error(r))) {
		s->backend_err++;
		qp->rx_err = r == 0 ? EPIPE : (int)-r;
		return r == 0 ? -EPIPE : (int)r;
	}
	if (r < 0)
		d = NET_DROP_BACKEND;
	else if ((size_t)r > cap) /* truncated: the kernel reports the full length */
		d = NET_DROP_RX_NO_ROOM;
	else if ((size_t)r < hdr + NET_ETH_HLEN)
		d = NET_DROP_RX_RUNT;
	else
		d = NET_DROP_NONE;
	if (d)
		goto drop;

	if (!n) {
		/* Delivered now, or waits in the host buffer for more
		 * guest buffers (MRG_RXBUF). */
		qp->rx_pending_len = (size_t)r;
		(void)deliver_bounce(qp, done, dropped);
		return 0;
	}

	/* Direct: the header is in guest memory now.  One copy out, validate
	 * the copy, write it back with num_buffers; nothing is published if
	 * it fails, so the chains stay reserved. */
	k = chains_for(qp, (size_t)r);
	if (k == 0) {
		d = NET_DROP_RX_NO_ROOM;
		goto drop;
	}
	iov_to_buf(qp->rx_riov, n, 0, raw, hdr);
	d = fix_header(qp, raw, (size_t)r, k);
	if (d)
		goto drop;
	iov_from_buf(qp->rx_riov, n, 0, raw, hdr);
	commit(qp, k, (size_t)r, done);
	return 0;
drop:
	s->drops[d]++;
	(*dropped)++;
	return 0;
}

int net_rx_run(struct vnet_qp *qp, unsigned budget)
{
	struct vq *vq = &qp->rx;
	enum net_wait wait = NET_WAIT_NONE;
	unsigned done = 0, dropped = 0;
	int ret = 0;

	if (!vq->started)
		return -EINVAL;

	vq_disable_notify(vq);
	/* Dropped frames count against the budget too: a flood of bad frames
	 * from the backend must not keep the worker here (CVE-2019-3900). */
	while (done + dropped < budget) {
		uint64_t target = qp->rx_pending_len ? qp->rx_pending_len
						     : (uint64_t)qp->hdr_size + NET_MAX_FRAME;
		enum rx_res res = reserve(qp, target, &done, budget);
		int r;

		if (res == RES_BROKEN) {
			wait = NET_WAIT_BROKEN;
			break;
		}
		if (res == RES_BUDGET)
			break;
		if (qp->rx_pending_len) {
			if (deliver_bounce(qp, &done, &dropped))
				continue;
			if (res == RES_OK) {
				/* Unreachable: reserve() stops short of the
				 * target only on an empty ring.  Drop rather
				 * than spin. */
				qp->stats.rx.drops[NET_DROP_RX_NO_ROOM]++;
				qp->rx_pending_len = 0;
				dropped++;
				continue;
			}
		} else if (qp->rx_count) {
			r = read_frame(qp, &done, &dropped);
			if (r == -EAGAIN) {
				wait = NET_WAIT_BACKEND_IN;
				break;
			}
			if (r < 0) {
				wait = NET_WAIT_BACKEND_ERR;
				if (done == 0)
					ret = r;
				break;
			}
			continue;
		}
		/* No buffers, or too few for the frame waiting: a sleep
		 * boundary.  Arm kicks, re-check, and only then stop reading
		 * the backend (backpressure, no busy loop, no mass drop). */
		if (net_sleep_ok(vq)) {
			qp->stats.rx.blocked++;
			wait = NET_WAIT_KICK;
			break;
		}
	}
	if (net_publish(vq))
		qp->stats.rx.signals++;
	qp->rx_wait = wait;
	return ret ? ret : (int)done;
}

void net_rx_release(struct vnet_qp *qp)
{
	unsigned n = qp->rx_count;

	for (unsigned i = 0; i < n; i++)
		net_put(&qp->rx, &slot_at(qp, i)->c, 0);
	qp->stats.rx.chains += n;
	qp->rx_head = 0;
	qp->rx_count = 0;
	qp->rx_space = 0;
	if (net_publish(&qp->rx))
		qp->stats.rx.signals++;
}
