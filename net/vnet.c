// SPDX-License-Identifier: Apache-2.0
/*
 * vnet.c - virtio-net device object: features, config space, queue pairs.
 *
 * Theory of operation
 * -------------------
 * Feature negotiation happens once per driver session and fixes everything
 * the data path derives from features: the header size (5.1.6), the TAP's
 * header size and the offloads the TAP may hand us (only those the guest
 * accepted, so the kernel segments or checksums everything else itself).  The
 * result is copied into every queue pair, so a worker never reads device
 * fields that the control thread might change.
 *
 * Offers are limited by the backends: a guest offload is offered only when
 * every pair's backend accepted the matching TUNSETOFFLOAD bit when probed,
 * and the host offload of the same kind only then too (conservative: a
 * backend that cannot deliver TSO frames is not trusted to take them).  The
 * offered set is then closed under the spec's feature dependencies (5.1.3.1),
 * and an acknowledgement violating them is refused.
 *
 * Queue pairs are allocated for max_virtqueue_pairs up front, never for the
 * current count (a lesson from seed 003: resources sized by the current pair
 * count leave later pairs without them).
 */
#include "net/vnet.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

#define B(x) VIRTIO_BIT(x)

/* Everything this implementation knows how to do. */
#define VNET_SUPPORTED                                                                       \
	(B(VIRTIO_NET_F_CSUM) | B(VIRTIO_NET_F_GUEST_CSUM) | B(VIRTIO_NET_F_MTU) |             \
	 B(VIRTIO_NET_F_MAC) | B(VIRTIO_NET_F_GUEST_TSO4) | B(VIRTIO_NET_F_GUEST_TSO6) |      \
	 B(VIRTIO_NET_F_GUEST_ECN) | B(VIRTIO_NET_F_GUEST_UFO) | B(VIRTIO_NET_F_HOST_TSO4) |  \
	 B(VIRTIO_NET_F_HOST_TSO6) | B(VIRTIO_NET_F_HOST_ECN) | B(VIRTIO_NET_F_HOST_UFO) |    \
	 B(VIRTIO_NET_F_MRG_RXBUF) | B(VIRTIO_NET_F_STATUS) | B(VIRTIO_NET_F_CTRL_VQ) |       \
	 B(VIRTIO_NET_F_CTRL_RX) | B(VIRTIO_NET_F_GUEST_ANNOUNCE) | B(VIRTIO_NET_F_MQ) |      \
	 B(VIRTIO_NET_F_CTRL_MAC_ADDR) | B(VIRTIO_RING_F_INDIRECT_DESC) |                     \
	 B(VIRTIO_RING_F_EVENT_IDX) | B(VIRTIO_F_VERSION_1) | B(VIRTIO_F_RING_PACKED))

/* Features the ring code consumes (passed to vq_start). */
#define VNET_RING_FEATURES                                                                   \
	(B(VIRTIO_RING_F_INDIRECT_DESC) | B(VIRTIO_RING_F_EVENT_IDX) | B(VIRTIO_F_VERSION_1) | \
	 B(VIRTIO_F_RING_PACKED))

/* One row per dependency: @feature needs at least one bit of @needs. */
static const struct {
	unsigned feature;
	uint64_t needs;
} deps[] = {
	{ VIRTIO_NET_F_GUEST_TSO4, B(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_TSO6, B(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_UFO, B(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_ECN, B(VIRTIO_NET_F_GUEST_TSO4) | B(VIRTIO_NET_F_GUEST_TSO6) },
	{ VIRTIO_NET_F_HOST_TSO4, B(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_TSO6, B(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_UFO, B(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_ECN, B(VIRTIO_NET_F_HOST_TSO4) | B(VIRTIO_NET_F_HOST_TSO6) },
	{ VIRTIO_NET_F_CTRL_RX, B(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_CTRL_VLAN, B(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_CTRL_RX_EXTRA, B(VIRTIO_NET_F_CTRL_RX) },
	{ VIRTIO_NET_F_GUEST_ANNOUNCE, B(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_MQ, B(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_CTRL_MAC_ADDR, B(VIRTIO_NET_F_CTRL_VQ) },
};

/* Guest offload feature <-> backend offload bit, and the host twin. */
static const struct {
	unsigned guest, host;
	unsigned off;
} offload_map[] = {
	{ VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_CSUM, NET_OFF_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_HOST_TSO4, NET_OFF_TSO4 },
	{ VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_HOST_TSO6, NET_OFF_TSO6 },
	{ VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_HOST_ECN, NET_OFF_ECN },
	{ VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_UFO, NET_OFF_UFO },
};

uint64_t vnet_supported_features(void)
{
	return VNET_SUPPORTED;
}

/* Remove every feature whose dependency is missing, to a fixed point. */
static uint64_t close_deps(uint64_t f)
{
	bool changed;

	do {
		changed = false;
		for (size_t i = 0; i < VH_ARRAY_SIZE(deps); i++) {
			if ((f & B(deps[i].feature)) && !(f & deps[i].needs)) {
				f &= ~B(deps[i].feature);
				changed = true;
			}
		}
	} while (changed);
	return f;
}

/*
 * Dependencies a driver's feature choice must satisfy.  The control-queue
 * ones are not checked: a vhost-user frontend may run the control queue
 * itself (QEMU does), so it acks MQ or GUEST_ANNOUNCE for its own emulation
 * while withholding CTRL_VQ from us.  Offload dependencies are the driver's
 * and still hold.
 */
static bool deps_ok(uint64_t f)
{
	uint64_t g = f | B(VIRTIO_NET_F_CTRL_VQ) | B(VIRTIO_NET_F_CTRL_RX);

	return close_deps(g) == g;
}

static unsigned guest_offloads(uint64_t f)
{
	unsigned off = 0;

	for (size_t i = 0; i < VH_ARRAY_SIZE(offload_map); i++)
		if (f & B(offload_map[i].guest))
			off |= offload_map[i].off;
	return off;
}

static bool any_started(const struct vnet *dev)
{
	if (dev->ctrl.started)
		return true;
	for (unsigned i = 0; i < dev->max_pairs; i++)
		if (dev->qp[i].rx.started || dev->qp[i].tx.started)
			return true;
	return false;
}

static void qp_setup(struct vnet *dev, struct vnet_qp *qp, unsigned index,
		     struct net_backend *be)
{
	qp->dev = dev;
	qp->index = index;
	qp->be = be;
	vq_init(&qp->rx);
	vq_init(&qp->tx);
	vq_chain_init(&qp->tx_chain, qp->tx_iov, VNET_TX_IOV);
	for (unsigned i = 0; i < VNET_RX_SLOTS; i++)
		vq_chain_init(&qp->rx_res[i].c, qp->rx_res[i].iov, VNET_RX_SEG);
}

int vnet_init(struct vnet *dev, const struct vnet_params *p, struct net_backend *const *be)
{
	static const uint8_t zero_mac[NET_ETH_ALEN];
	unsigned off = NET_OFF_ALL;
	uint64_t f;

	memset(dev, 0, sizeof(*dev));
	vq_init(&dev->ctrl);
	if (p->max_pairs < 1 || p->max_pairs > VNET_MAX_PAIRS)
		return -EINVAL;
	if (p->mtu && p->mtu < 68)
		return -EINVAL; /* 5.1.4.1: at least the IPv4 minimum */
	for (unsigned i = 0; i < p->max_pairs; i++) {
		if (!be[i] || !be[i]->ops)
			return -EINVAL;
		off &= be[i]->offloads;
	}

	dev->qp = calloc(p->max_pairs, sizeof(*dev->qp));
	if (!dev->qp)
		return -ENOMEM;
	dev->max_pairs = p->max_pairs;
	for (unsigned i = 0; i < p->max_pairs; i++) {
		qp_setup(dev, &dev->qp[i], i, be[i]);
		dev->qp[i].rx_buf = malloc(NET_HDR_MAX + NET_MAX_FRAME);
		if (!dev->qp[i].rx_buf) {
			vnet_destroy(dev);
			return -ENOMEM;
		}
	}
	vq_chain_init(&dev->ctrl_chain, dev->ctrl_iov, VNET_CTRL_IOV);

	f = VNET_SUPPORTED;
	if (p->allow)
		f &= p->allow;
	for (size_t i = 0; i < VH_ARRAY_SIZE(offload_map); i++) {
		if (!(off & offload_map[i].off))
			f &= ~(B(offload_map[i].guest) | B(offload_map[i].host));
	}
	if (!p->mtu)
		f &= ~B(VIRTIO_NET_F_MTU);
	if (!memcmp(p->mac, zero_mac, NET_ETH_ALEN))
		f &= ~B(VIRTIO_NET_F_MAC);
	if (p->max_pairs == 1)
		f &= ~B(VIRTIO_NET_F_MQ);
	dev->offered = close_deps(f);

	memcpy(dev->mac, p->mac, NET_ETH_ALEN);
	dev->mtu = p->mtu;
	dev->status = VIRTIO_NET_S_LINK_UP;
	dev->curr_pairs = 1;
	dev->hdr_size = NET_HDR_LEGACY;
	return 0;
}

void vnet_destroy(struct vnet *dev)
{
	if (dev->qp) {
		for (unsigned i = 0; i < dev->max_pairs; i++)
			free(dev->qp[i].rx_buf);
		free(dev->qp);
	}
	dev->qp = NULL;
	dev->max_pairs = 0;
}

uint64_t vnet_features(const struct vnet *dev)
{
	return dev->offered;
}

int vnet_set_features(struct vnet *dev, uint64_t acked)
{
	unsigned off;
	size_t hdr;
	int r;

	if (any_started(dev))
		return -EBUSY;
	if ((acked & ~dev->offered) || !deps_ok(acked))
		return -EINVAL;

	dev->features_ok = false;
	hdr = net_hdr_size(acked);
	off = guest_offloads(acked);
	for (unsigned i = 0; i < dev->max_pairs; i++) {
		struct net_backend *be = dev->qp[i].be;

		r = net_be_set_vnet_hdr_len(be, (unsigned)hdr);
		if (r)
			return r;
		r = net_be_set_offload(be, off);
		if (r)
			return r;
	}
	dev->acked = acked;
	dev->hdr_size = (uint32_t)hdr;
	dev->tap_offloads = off;
	dev->curr_pairs = 1;
	for (unsigned i = 0; i < dev->max_pairs; i++) {
		struct vnet_qp *qp = &dev->qp[i];

		/* A frame waiting in the host buffer was read with the old
		 * header size and validated against the old features: it
		 * stays when they are unchanged (a frontend may repeat
		 * SET_FEATURES), and is dropped and counted otherwise. */
		if (qp->rx_pending_len && (qp->features != acked || qp->hdr_size != hdr)) {
			qp->stats.rx.drops[NET_DROP_RX_RENEGOTIATED]++;
			qp->rx_pending_len = 0;
		}
		qp->features = acked;
		qp->hdr_size = (uint32_t)hdr;
	}
	dev->features_ok = true;
	return 0;
}

static void config_snapshot(const struct vnet *dev, struct virtio_net_config *c)
{
	memcpy(c->mac, dev->mac, NET_ETH_ALEN);
	c->status = htole16(dev->status);
	c->max_virtqueue_pairs = htole16(dev->max_pairs);
	c->mtu = htole16(dev->mtu);
}

int vnet_get_config(const struct vnet *dev, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_net_config c;

	if (off > sizeof(c) || len > sizeof(c) - off)
		return -EINVAL;
	config_snapshot(dev, &c);
	memcpy(buf, (const uint8_t *)&c + off, len);
	return 0;
}

int vnet_set_config(struct vnet *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct virtio_net_config c;

	if (off > sizeof(c) || len > sizeof(c) - off)
		return -EINVAL;
	/* Only the mac, only for legacy drivers (5.1.4.2: modern drivers MUST
	 * NOT write config; they use VIRTIO_NET_CTRL_MAC_ADDR_SET). */
	if (dev->acked & B(VIRTIO_F_VERSION_1))
		return -EPERM;
	if (off + len > NET_ETH_ALEN)
		return -EPERM;
	memcpy(dev->mac + off, buf, len);
	return 0;
}

bool vnet_set_link(struct vnet *dev, bool up)
{
	uint16_t s = up ? (uint16_t)(dev->status | VIRTIO_NET_S_LINK_UP)
			: (uint16_t)(dev->status & ~VIRTIO_NET_S_LINK_UP);

	if (s == dev->status)
		return false;
	dev->status = s;
	return !!(dev->offered & B(VIRTIO_NET_F_STATUS));
}

unsigned vnet_ctrl_qidx(const struct vnet *dev)
{
	return (dev->acked & B(VIRTIO_NET_F_MQ)) ? 2u * dev->max_pairs : 2u;
}

/* Resolve a virtqueue index; *@qp is NULL for the control queue. */
static struct vq *resolve(struct vnet *dev, unsigned qidx, struct vnet_qp **qp)
{
	unsigned pairs = (dev->acked & B(VIRTIO_NET_F_MQ)) ? dev->max_pairs : 1u;

	*qp = NULL;
	if ((dev->acked & B(VIRTIO_NET_F_CTRL_VQ)) && qidx == vnet_ctrl_qidx(dev))
		return &dev->ctrl;
	if (qidx >= 2u * pairs)
		return NULL;
	*qp = &dev->qp[qidx / 2];
	return (qidx & 1) ? &(*qp)->tx : &(*qp)->rx;
}

int vnet_queue_start(struct vnet *dev, unsigned qidx, const struct gmem *gm,
		     const struct vq_cfg *cfg)
{
	enum vq_fmt fmt;
	struct vnet_qp *qp;
	struct vq_cfg c;
	struct vq *vq;
	int r;

	if (!dev->features_ok)
		return -EINVAL;
	vq = resolve(dev, qidx, &qp);
	if (!vq)
		return -EINVAL;
	fmt = (dev->acked & B(VIRTIO_F_RING_PACKED)) ? VQ_FMT_PACKED : VQ_FMT_SPLIT;
	if (cfg->fmt != fmt)
		return -EINVAL;
	c = *cfg;
	c.features = dev->acked & VNET_RING_FEATURES;
	r = vq_start(vq, gm, &c);
	if (r)
		return r;
	if (!qp)
		return 0;
	if (vq == &qp->tx) {
		qp->tx_pending = false;
		qp->tx_wait = NET_WAIT_NONE;
		qp->tx_err = 0;
	} else {
		/* A frame already read into the host buffer is kept: it is
		 * host data, valid across a ring restart. */
		qp->rx_head = 0;
		qp->rx_count = 0;
		qp->rx_space = 0;
		qp->rx_qsize = c.size;
		qp->rx_wait = NET_WAIT_NONE;
		qp->rx_err = 0;
	}
	return 0;
}

int vnet_queue_stop(struct vnet *dev, unsigned qidx, struct vq_state *st)
{
	struct vnet_qp *qp;
	struct vq *vq = resolve(dev, qidx, &qp);

	if (!vq)
		return -EINVAL;
	if (qp && vq == &qp->tx)
		net_tx_release(qp);
	else if (qp)
		net_rx_release(qp);
	vq_stop(vq, st);
	return 0;
}
