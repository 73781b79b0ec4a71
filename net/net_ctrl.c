// SPDX-License-Identifier: Apache-2.0
/*
 * net_ctrl.c - virtio-net control queue (VIRTIO 1.2, 5.1.6.5).
 *
 * Theory of operation
 * -------------------
 * A command is {u8 class, u8 cmd, data...} in device-readable buffers
 * followed by one device-writable ack byte.  The whole readable part is
 * copied once into dev->ctrl_cmd (bounded; a longer command is refused), and
 * every check runs on that copy:
 *
 *  - no writable byte for the ack: the chain is returned with used length 0,
 *    there is nowhere to say anything (G1);
 *  - fewer than 2 readable bytes, an unknown class or command, a command
 *    whose feature was not negotiated: VIRTIO_NET_ERR (G1, G4);
 *  - every command's payload must have its exact size (G2); the MAC table's
 *    two counts are checked by subtraction against the bytes that remain,
 *    in 64-bit arithmetic, and the table must be consumed exactly
 *    (CVE-2014-0150, G3).  More entries than the table holds sets its
 *    overflow flag instead (QEMU semantics: filtering falls back to
 *    accepting all), never a write past the table.
 *
 * The device does not filter frames itself (the TAP and the host decide);
 * RX mode and MAC tables are recorded and acknowledged so drivers behave.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "net/net_internal.h"

#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_RX_ALLUNI 2
#define VIRTIO_NET_CTRL_RX_NOMULTI 3
#define VIRTIO_NET_CTRL_RX_NOUNI 4
#define VIRTIO_NET_CTRL_RX_NOBCAST 5

#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1

#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0

#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

static inline bool neg(const struct vnet *dev, unsigned bit)
{
	return !!(dev->acked & VIRTIO_BIT(bit));
}

static uint8_t ctrl_rx(struct vnet *dev, uint8_t cmd, const uint8_t *data, size_t len)
{
	bool *flag;

	if (!neg(dev, VIRTIO_NET_F_CTRL_RX) || len != 1)
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC:
		flag = &dev->rx_mode.promisc;
		break;
	case VIRTIO_NET_CTRL_RX_ALLMULTI:
		flag = &dev->rx_mode.allmulti;
		break;
	case VIRTIO_NET_CTRL_RX_ALLUNI:
	case VIRTIO_NET_CTRL_RX_NOMULTI:
	case VIRTIO_NET_CTRL_RX_NOUNI:
	case VIRTIO_NET_CTRL_RX_NOBCAST:
		if (!neg(dev, VIRTIO_NET_F_CTRL_RX_EXTRA))
			return VIRTIO_NET_ERR;
		flag = cmd == VIRTIO_NET_CTRL_RX_ALLUNI	  ? &dev->rx_mode.alluni
		       : cmd == VIRTIO_NET_CTRL_RX_NOMULTI ? &dev->rx_mode.nomulti
		       : cmd == VIRTIO_NET_CTRL_RX_NOUNI   ? &dev->rx_mode.nouni
							   : &dev->rx_mode.nobcast;
		break;
	default:
		return VIRTIO_NET_ERR;
	}
	*flag = data[0] != 0;
	return VIRTIO_NET_OK;
}

/*
 * mac_list() - parse one {le32 entries; u8 macs[entries][6]} list.
 * @data: remaining command bytes
 * @left: their count; reduced by what the list consumed
 * @n: entries parsed
 *
 * Return: pointer to the first mac, or NULL if the list does not fit.
 */
static const uint8_t *mac_list(const uint8_t *data, uint64_t *left, uint32_t *n)
{
	uint32_t raw;
	uint64_t bytes;

	if (*left < sizeof(raw))
		return NULL;
	memcpy(&raw, data, sizeof(raw));
	*n = le32toh(raw);
	*left -= sizeof(raw);
	/* 64-bit product of a 32-bit count: cannot wrap; compared with what
	 * remains, never added to a position. */
	bytes = (uint64_t)*n * NET_ETH_ALEN;
	if (bytes > *left)
		return NULL;
	*left -= bytes;
	return data + sizeof(raw);
}

static void mac_store(uint8_t (*table)[NET_ETH_ALEN], unsigned *in_use, bool *overflow,
		      const uint8_t *macs, uint32_t n)
{
	*in_use = 0;
	*overflow = false;
	if (n > VNET_MAC_TABLE_ENTRIES - *in_use) {
		*overflow = true;
		return;
	}
	memcpy(table, macs, (size_t)n * NET_ETH_ALEN);
	*in_use = n;
}

static uint8_t ctrl_mac(struct vnet *dev, uint8_t cmd, const uint8_t *data, size_t len)
{
	const uint8_t *uni, *multi;
	uint32_t nuni, nmulti;
	uint64_t left = len;

	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!neg(dev, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != NET_ETH_ALEN)
			return VIRTIO_NET_ERR;
		memcpy(dev->mac, data, NET_ETH_ALEN);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		if (!neg(dev, VIRTIO_NET_F_CTRL_RX))
			return VIRTIO_NET_ERR;
		uni = mac_list(data, &left, &nuni);
		if (!uni)
			return VIRTIO_NET_ERR;
		multi = mac_list(data + (len - left), &left, &nmulti);
		if (!multi || left != 0)
			return VIRTIO_NET_ERR;
		mac_store(dev->uni.mac, &dev->uni.n, &dev->uni.overflow, uni, nuni);
		mac_store(dev->multi.mac, &dev->multi.n, &dev->multi.overflow, multi, nmulti);
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

static uint8_t ctrl_mq(struct vnet *dev, uint8_t cmd, const uint8_t *data, size_t len)
{
	uint16_t raw, pairs;

	if (!neg(dev, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
	    len != sizeof(raw))
		return VIRTIO_NET_ERR;
	memcpy(&raw, data, sizeof(raw));
	pairs = le16toh(raw);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > dev->max_pairs)
		return VIRTIO_NET_ERR;
	dev->curr_pairs = pairs;
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_announce(struct vnet *dev, uint8_t cmd, size_t len)
{
	if (!neg(dev, VIRTIO_NET_F_GUEST_ANNOUNCE) || cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
	    len != 0)
		return VIRTIO_NET_ERR;
	dev->status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
	return VIRTIO_NET_OK;
}

/*
 * ctrl_exec() - run the command copied into dev->ctrl_cmd.
 * @dev: device
 * @len: bytes copied (class and cmd included)
 *
 * Return: VIRTIO_NET_OK or VIRTIO_NET_ERR.
 */
static uint8_t ctrl_exec(struct vnet *dev, size_t len)
{
	const uint8_t *data = dev->ctrl_cmd + 2;
	uint8_t class, cmd;

	if (len < 2)
		return VIRTIO_NET_ERR;
	class = dev->ctrl_cmd[0];
	cmd = dev->ctrl_cmd[1];
	len -= 2;
	switch (class) {
	case VIRTIO_NET_CTRL_RX:
		return ctrl_rx(dev, cmd, data, len);
	case VIRTIO_NET_CTRL_MAC:
		return ctrl_mac(dev, cmd, data, len);
	case VIRTIO_NET_CTRL_ANNOUNCE:
		return ctrl_announce(dev, cmd, len);
	case VIRTIO_NET_CTRL_MQ:
		return ctrl_mq(dev, cmd, data, len);
	default: /* VLAN, GUEST_OFFLOADS, RSS...: never offered */
		return VIRTIO_NET_ERR;
	}
}

int net_ctrl_run(struct vnet *dev, unsigned budget)
{
	struct vq *vq = &dev->ctrl;
	struct vq_chain *c = &dev->ctrl_chain;
	unsigned done = 0;

	if (!vq->started)
		return -EINVAL;

	vq_disable_notify(vq);
	while (done < budget) {
		enum vq_status st = vq_pop(vq, c);
		uint8_t ack;
		size_t len;

		if (st == VQ_EMPTY) {
			if (net_sleep_ok(vq))
				break;
			continue;
		}
		if (st == VQ_BROKEN)
			break;
		done++;
		if (st == VQ_BAD_CHAIN) {
			dev->ctrl_stats.bad_chains++;
			continue;
		}
		if (c->in_bytes == 0) {
			dev->ctrl_stats.no_ack++;
			net_put(vq, c, 0);
			continue;
		}
		if (c->out_bytes > sizeof(dev->ctrl_cmd)) {
			ack = VIRTIO_NET_ERR;
		} else {
			len = iov_to_buf(c->iov, c->n_out, 0, dev->ctrl_cmd, c->out_bytes);
			ack = ctrl_exec(dev, len);
		}
		if (ack == VIRTIO_NET_OK)
			dev->ctrl_stats.ok++;
		else
			dev->ctrl_stats.err++;
		iov_from_buf(c->iov + c->n_out, c->n_in, 0, &ack, 1);
		net_put(vq, c, 1);
	}
	(void)net_publish(vq);
	return (int)done;
}
