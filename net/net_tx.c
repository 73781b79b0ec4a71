// SPDX-License-Identifier: Apache-2.0
/*
 * net_tx.c - guest to backend: pop, check, sanitise, one writev, complete.
 *
 * Theory of operation
 * -------------------
 * For each TX chain:
 *
 *  1. shape checks on the chain the core built (lengths were copied once by
 *     the core): no device-writable part (B3), readable bytes at least
 *     header + Ethernet header (F1, F3) and at most header + NET_MAX_FRAME
 *     (F5);
 *  2. the header is gathered through the iovec list with iov_to_buf, whatever
 *     the descriptor layout (F2, DPDK CVE-2022-2132), into a host copy that is
 *     decoded, checked and rewritten by net_hdr_tx_check (F6);
 *  3. one writev: the sanitised copy as iov[0], then iov_slice of the guest
 *     iovecs after the header.  The frame is read by the kernel straight from
 *     guest memory; no bounce copy.  A guest rewriting its frame meanwhile
 *     only corrupts its own packet: every decision was made on copies (F11);
 *  4. push with used length 0 (TX buffers are read-only).
 *
 * A dropped chain is pushed with length 0 and counted under its reason.  If
 * the backend says -EAGAIN, the chain and its writev list stay in the pair
 * (tx_pending) and are retried before anything else; the worker polls for
 * EPOLLOUT meanwhile, so nothing spins and nothing is lost.  Completions are
 * published once per call (seed 002: one barrier per batch) and the driver is
 * signalled whenever it asks for it (seed 002: UDP senders stall otherwise).
 */
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "net/net_internal.h"

enum tx_stop {
	TX_DRAINED,
	TX_BUDGET,
	TX_BACKEND_FULL,
	TX_BROKEN,
};

/*
 * tx_prepare() - checks and header sanitising for qp->tx_chain.
 * @qp: pair
 *
 * On success qp->tx_wiov holds the writev list.
 *
 * Return: NET_DROP_NONE or the reason to drop.
 */
static enum net_drop tx_prepare(struct vnet_qp *qp)
{
	const struct vq_chain *c = &qp->tx_chain;
	uint8_t raw[NET_HDR_MAX];
	size_t hdr = qp->hdr_size, frame;
	struct net_hdr h;
	enum net_drop d;
	unsigned n;

	if (c->n_in || c->in_bytes)
		return NET_DROP_TX_WRITABLE;
	if (c->out_bytes < hdr + NET_ETH_HLEN)
		return NET_DROP_TX_SHORT;
	frame = c->out_bytes - hdr;
	if (frame > NET_MAX_FRAME)
		return NET_DROP_TX_LONG;

	/* The one read of the header out of guest memory.  Drivers put it at
	 * the start of the first buffer: copy it there with a fixed-size copy
	 * the compiler inlines; any other layout goes through iov_to_buf. */
	if (c->iov[0].iov_len >= NET_HDR_MAX && hdr == NET_HDR_MAX)
		memcpy(raw, c->iov[0].iov_base, NET_HDR_MAX);
	else if (c->iov[0].iov_len >= NET_HDR_LEGACY && hdr == NET_HDR_LEGACY)
		memcpy(raw, c->iov[0].iov_base, NET_HDR_LEGACY);
	else if (iov_to_buf(c->iov, c->n_out, 0, raw, hdr) != hdr)
		return NET_DROP_TX_SHORT;
	net_hdr_load(&h, raw, hdr);
	d = net_hdr_tx_check(&h, qp->features, frame);
	if (d)
		return d;
	net_hdr_store(qp->tx_hdr, hdr, &h);

	qp->tx_wiov[0].iov_base = qp->tx_hdr;
	qp->tx_wiov[0].iov_len = hdr;
	if (c->n_out == 1 && c->iov[0].iov_len == c->out_bytes) {
		/* One buffer, the usual shape (the length test cannot fail: the
		 * core's iovecs total out_bytes; it costs nothing to keep). */
		qp->tx_wiov[1].iov_base = (char *)c->iov[0].iov_base + hdr;
		qp->tx_wiov[1].iov_len = frame;
		n = 1;
	} else {
		n = iov_slice(c->iov, c->n_out, hdr, frame, qp->tx_wiov + 1, NET_BE_IOV_MAX - 1);
		/* Cannot fall short: the chain holds at most VNET_TX_IOV iovecs
		 * and totals out_bytes; checked anyway rather than trusted. */
		if (iov_size(qp->tx_wiov + 1, n) != frame)
			return NET_DROP_TX_LONG;
	}
	qp->tx_wiov_n = n + 1;
	qp->tx_frame_len = frame;
	return NET_DROP_NONE;
}

/*
 * tx_send() - write the prepared frame; complete the chain unless -EAGAIN.
 * @qp: pair
 *
 * Return: 0 when the chain was completed (sent or dropped), -EAGAIN when it
 * must stay pending.
 */
static int tx_send(struct vnet_qp *qp)
{
	struct net_dir_stats *s = &qp->stats.tx;
	ssize_t r = net_be_writev(qp->be, qp->tx_wiov, qp->tx_wiov_n);

	if (r == -EAGAIN) {
		s->eagain++;
		return -EAGAIN;
	}
	if (r < 0 || (size_t)r != qp->tx_frame_len + qp->hdr_size) {
		/* EIO / EINVAL / link down: the frame is lost, the chain is not. */
		qp->tx_err = r < 0 ? (int)-r : EIO;
		s->backend_err++;
		s->drops[NET_DROP_BACKEND]++;
	} else {
		s->packets++;
		s->bytes += qp->tx_frame_len;
	}
	qp->tx_pending = false;
	net_put(&qp->tx, &qp->tx_chain, 0);
	s->chains++;
	return 0;
}

/* Complete the current chain unsent (length 0), counted under @d. */
static void tx_drop(struct vnet_qp *qp, enum net_drop d)
{
	qp->stats.tx.drops[d]++;
	qp->stats.tx.chains++;
	net_put(&qp->tx, &qp->tx_chain, 0);
}

/* Pop and process chains until the ring is empty, the budget is used up,
 * the backend is full or the queue is broken. */
static enum tx_stop tx_drain(struct vnet_qp *qp, unsigned budget, unsigned *done)
{
	struct net_dir_stats *s = &qp->stats.tx;

	while (*done < budget) {
		enum net_drop d;
		enum vq_status st;

		if (qp->tx_pending) {
			if (vh_unlikely(qp->tx_discard)) {
				qp->tx_pending = false;
				tx_drop(qp, NET_DROP_TX_DISABLED);
			} else if (tx_send(qp)) {
				return TX_BACKEND_FULL;
			}
			(*done)++;
			continue;
		}

		st = vq_pop(&qp->tx, &qp->tx_chain);
		if (st == VQ_EMPTY)
			return TX_DRAINED;
		if (st == VQ_BROKEN)
			return TX_BROKEN;
		(*done)++;
		if (st == VQ_BAD_CHAIN) {
			/* Already returned with len 0 by the core. */
			s->bad_chains++;
			s->chains++;
			continue;
		}
		d = vh_unlikely(qp->tx_discard) ? NET_DROP_TX_DISABLED : tx_prepare(qp);
		if (d) {
			tx_drop(qp, d);
			continue;
		}
		qp->tx_pending = true;
		if (tx_send(qp)) {
			(*done)--;
			return TX_BACKEND_FULL;
		}
	}
	return TX_BUDGET;
}

int net_tx_run(struct vnet_qp *qp, unsigned budget)
{
	struct vq *vq = &qp->tx;
	enum net_wait wait;
	unsigned done = 0;

	if (!vq->started)
		return -EINVAL;

	vq_disable_notify(vq);
	for (;;) {
		enum tx_stop stop = tx_drain(qp, budget, &done);

		if (stop == TX_BUDGET) {
			wait = NET_WAIT_NONE;
			break;
		}
		if (stop == TX_BACKEND_FULL) {
			/* Kicks stay off: the worker waits for EPOLLOUT. */
			wait = NET_WAIT_BACKEND_OUT;
			break;
		}
		if (stop == TX_BROKEN) {
			wait = NET_WAIT_BROKEN;
			break;
		}
		/* Drained: publish first so the driver can reclaim while we
		 * re-arm; then the sleep boundary (virtq.h). */
		if (net_publish(vq))
			qp->stats.tx.signals++;
		if (net_sleep_ok(vq)) {
			wait = NET_WAIT_KICK;
			break;
		}
	}
	if (net_publish(vq))
		qp->stats.tx.signals++;
	qp->tx_wait = wait;
	return (int)done;
}

void net_tx_release(struct vnet_qp *qp)
{
	if (!qp->tx_pending)
		return;
	qp->tx_pending = false;
	qp->stats.tx.drops[NET_DROP_BACKEND]++;
	qp->stats.tx.chains++;
	net_put(&qp->tx, &qp->tx_chain, 0);
	if (net_publish(&qp->tx))
		qp->stats.tx.signals++;
}
