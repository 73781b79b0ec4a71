/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net_internal.h - shared between the net/ sources only.
 */
#ifndef VHOSTILE_NET_NET_INTERNAL_H
#define VHOSTILE_NET_NET_INTERNAL_H

#include "net/vnet.h"

/**
 * net_put() - stage a completion; a refusal is a device bug or a broken
 * queue, and in both cases there is nothing more to do with the chain.
 * @vq: queue
 * @c: chain from vq_pop
 * @len: bytes written into it
 *
 * Return: true if staged.
 */
static inline bool net_put(struct vq *vq, const struct vq_chain *c, uint32_t len)
{
	int r = vq_push(vq, c, len);

	return r == 0;
}

/**
 * net_publish() - publish staged completions and signal if the driver wants.
 * @vq: queue
 *
 * Return: true if the driver was signalled.
 */
static inline bool net_publish(struct vq *vq)
{
	if (!vq_flush(vq))
		return false;
	vq_signal(vq);
	return true;
}

/**
 * net_sleep_ok() - the sleep boundary of core/virtq.h, for a queue found empty.
 * @vq: queue
 *
 * Arms kicks, then re-checks the ring.  A buffer the driver made available
 * while kicks were off would otherwise never be kicked (seed 002: lost TX
 * descriptors, stalled UDP senders).
 *
 * Return: true if the caller may sleep until the next kick; false if work
 * raced in: kicks are suppressed again and the caller keeps draining.
 */
static inline bool net_sleep_ok(struct vq *vq)
{
	if (vq_enable_notify(vq))
		return true;
	vq_disable_notify(vq);
	return false;
}

/* Return a pending TX chain with len 0 (counted as a backend drop). */
void net_tx_release(struct vnet_qp *qp);

/* Return every reserved RX chain with len 0 and publish. */
void net_rx_release(struct vnet_qp *qp);

#endif /* VHOSTILE_NET_NET_INTERNAL_H */
