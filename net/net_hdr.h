/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net_hdr.h - virtio-net wire layouts and the pure header rules.
 *
 * Theory of operation
 * -------------------
 * Nothing here does I/O or touches guest memory.  The data paths copy a
 * header out of guest memory (or out of the TAP's bytes) exactly once into a
 * host buffer, net_hdr_load() decodes it into a host-order struct net_hdr, one
 * of the check functions validates and rewrites that copy, and
 * net_hdr_store() encodes the result.  Every decision is made on the copy, so
 * a guest that rewrites its buffer afterwards changes nothing (B8, F10).
 *
 * The header size is a function of the negotiated features only (VIRTIO 1.2,
 * 5.1.6): 12 bytes with VERSION_1 or MRG_RXBUF, 10 otherwise.  HASH_REPORT and
 * the tunnel/IPsec extensions that would make it larger are never offered, so
 * NET_HDR_MAX is 12 and every header buffer is sized by it (F4, CVE-2023-6693).
 */
#ifndef VHOSTILE_NET_NET_HDR_H
#define VHOSTILE_NET_NET_HDR_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/virtio_spec.h"

/* virtio-net feature bits (VIRTIO 1.2, 5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_VLAN 19
#define VIRTIO_NET_F_CTRL_RX_EXTRA 20
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23
#define VIRTIO_NET_F_HASH_REPORT 57
#define VIRTIO_NET_F_RSS 60

/* Header flags (5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO 4

/* gso_type values (5.1.6). */
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/* Config space status bits (5.1.4). */
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

/* Multiqueue limits (5.1.6.5.5). */
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN 1
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000

#define NET_ETH_ALEN 6
#define NET_ETH_HLEN 14
/* Smallest Ethernet frame on the wire without FCS. */
#define NET_ETH_ZLEN 60
/* Largest frame (virtio-net header excluded) either direction accepts: a
 * 64 KiB GSO super-frame plus Ethernet and VLAN headers (Firecracker's
 * MAX_BUFFER_SIZE minus its 12-byte header). */
#define NET_MAX_FRAME 65550u
#define NET_HDR_LEGACY 10u
#define NET_HDR_MAX 12u

/*
 * struct virtio_net_hdr - the header in front of every packet, 12-byte form
 * (VIRTIO 1.2, 5.1.6).  The legacy 10-byte form is the same without
 * num_buffers.  Little-endian on the wire.
 */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Device configuration layout (5.1.4), fields up to mtu; little-endian. */
struct virtio_net_config {
	uint8_t mac[NET_ETH_ALEN];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
};

_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_MAX, "virtio_net_hdr");
_Static_assert(offsetof(struct virtio_net_hdr, num_buffers) == NET_HDR_LEGACY,
	       "legacy header is the 12-byte one without num_buffers");
_Static_assert(sizeof(struct virtio_net_config) == 12, "virtio_net_config");
_Static_assert(offsetof(struct virtio_net_config, status) == 6, "config status");
_Static_assert(offsetof(struct virtio_net_config, max_virtqueue_pairs) == 8, "config pairs");
_Static_assert(offsetof(struct virtio_net_config, mtu) == 10, "config mtu");

/* A decoded header, host byte order. */
struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/*
 * Why a packet or chain was dropped.  Every drop increments exactly one of
 * these counters, so tests assert which check fired.
 */
enum net_drop {
	NET_DROP_NONE = 0,
	/* TX chain shape */
	NET_DROP_TX_WRITABLE,   /* TX chain has device-writable descriptors (B3) */
	NET_DROP_TX_SHORT,      /* readable bytes < header + Ethernet header (F1, F3) */
	NET_DROP_TX_LONG,       /* readable bytes > header + NET_MAX_FRAME (F5) */
	/* TX header (F6) */
	NET_DROP_CSUM_NOT_NEG,  /* NEEDS_CSUM without VIRTIO_NET_F_CSUM */
	NET_DROP_CSUM_RANGE,    /* csum_start + csum_offset + 2 > frame length */
	NET_DROP_GSO_NOT_NEG,   /* gso_type unknown or not negotiated (ECN bit included) */
	NET_DROP_GSO_SIZE,      /* gso_size 0 with a gso_type */
	NET_DROP_GSO_NO_CSUM,   /* gso_type without NEEDS_CSUM (5.1.6.2.1) */
	/* backend */
	NET_DROP_BACKEND,       /* backend refused the frame (EIO, EINVAL, link down) */
	/* RX chain shape */
	NET_DROP_RX_READABLE,   /* RX chain has device-readable descriptors (F7) */
	NET_DROP_RX_SMALL,      /* RX chain smaller than the header (F8) */
	/* RX packet from the backend */
	NET_DROP_RX_RUNT,       /* backend frame shorter than header + Ethernet header */
	NET_DROP_RX_NO_ROOM,    /* frame larger than any buffers the guest can post */
	NET_DROP_RX_CSUM,       /* backend header needs checksum help the guest lacks */
	NET_DROP_RX_GSO,        /* backend gso_type the guest did not negotiate */
	/* ring state */
	NET_DROP_TX_DISABLED,   /* TX ring started but disabled: processed and discarded */
	NET_DROP_RX_RENEGOTIATED, /* frame waiting for RX buffers when the features changed */
	NET_DROP__COUNT
};

/**
 * net_drop_name() - stable short name of a drop reason.
 * @d: reason
 *
 * Return: static string ("unknown" out of range).
 */
const char *net_drop_name(enum net_drop d);

/**
 * net_hdr_size() - virtio-net header size for a feature set (5.1.6).
 * @features: negotiated features
 *
 * Return: 12 with VERSION_1 or MRG_RXBUF, else 10.
 */
size_t net_hdr_size(uint64_t features);

/**
 * net_hdr_load() - decode a little-endian header.
 * @h: output
 * @raw: NET_HDR_LEGACY or NET_HDR_MAX bytes (a host copy)
 * @size: net_hdr_size(); 10 leaves num_buffers 0
 */
void net_hdr_load(struct net_hdr *h, const void *raw, size_t size);

/**
 * net_hdr_store() - encode @h little-endian.
 * @raw: output, @size bytes
 * @size: 10 or 12
 * @h: header
 */
void net_hdr_store(void *raw, size_t size, const struct net_hdr *h);

/**
 * net_hdr_tx_check() - validate and sanitise a guest TX header copy.
 * @h: decoded copy; rewritten in place when accepted
 * @features: negotiated features
 * @frame_len: bytes after the header (the Ethernet frame)
 *
 * Rules (VIRTIO 1.2, 5.1.6.2):
 *  - NEEDS_CSUM requires VIRTIO_NET_F_CSUM, and csum_start + csum_offset + 2
 *    must lie within the frame (computed in 32 bits, cannot wrap);
 *  - gso_type must be NONE or a type whose HOST_* feature was negotiated;
 *    the ECN bit needs HOST_ECN and a TCP type; a gso_type needs NEEDS_CSUM
 *    and a non-zero gso_size;
 *  - after acceptance: flags hold at most NEEDS_CSUM (DATA_VALID, RSC_INFO
 *    and unknown bits cleared), csum fields are zero without NEEDS_CSUM,
 *    gso_size is zero without gso, hdr_len is clamped to the frame and raised
 *    to cover the checksum field (never trusted, 5.1.6.2.2), num_buffers is 0.
 *
 * Return: NET_DROP_NONE, or the reason to drop the frame.
 */
VH_MUST_CHECK enum net_drop net_hdr_tx_check(struct net_hdr *h, uint64_t features,
					     size_t frame_len);

/**
 * net_hdr_rx_check() - validate a backend RX header against guest features.
 * @h: decoded copy of what the backend wrote; rewritten in place when accepted
 * @features: negotiated features (the GUEST_* offloads matter)
 * @frame_len: bytes after the header
 *
 * Rules (VIRTIO 1.2, 5.1.6.4.1):
 *  - without GUEST_CSUM flags are 0: DATA_VALID is cleared, NEEDS_CSUM drops
 *    the packet (its checksum is incomplete);
 *  - with GUEST_CSUM, NEEDS_CSUM needs csum_start + csum_offset + 2 within
 *    the frame; unknown flag bits are cleared;
 *  - a gso_type must be one the guest negotiated (GUEST_TSO4/TSO6/UFO, ECN
 *    bit with GUEST_ECN), with a non-zero gso_size; otherwise drop;
 *  - hdr_len is clamped to the frame, num_buffers is zeroed (the caller sets
 *    it).
 *
 * Return: NET_DROP_NONE or the reason.
 */
VH_MUST_CHECK enum net_drop net_hdr_rx_check(struct net_hdr *h, uint64_t features,
					     size_t frame_len);

#endif /* VHOSTILE_NET_NET_HDR_H */
