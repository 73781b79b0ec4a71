// SPDX-License-Identifier: Apache-2.0
/*
 * net_hdr.c - pure virtio-net header rules (no I/O, no guest memory).
 *
 * Theory of operation
 * -------------------
 * Both directions run the same shape of check on a host copy: decide the
 * flags, decide the gso type against the features negotiated for that
 * direction (HOST_* for what the guest sends, GUEST_* for what it receives),
 * then normalise every field the other side might trust.  Arithmetic on
 * guest-supplied 16-bit fields is done in uint32_t, so the checksum range
 * test cannot wrap.  The function is the fuzzing surface for headers.
 */
#include "net/net_hdr.h"

#include <endian.h>
#include <string.h>

static const char *const drop_names[NET_DROP__COUNT] = {
	[NET_DROP_NONE] = "none",
	[NET_DROP_TX_WRITABLE] = "tx-writable-descriptor",
	[NET_DROP_TX_SHORT] = "tx-too-short",
	[NET_DROP_TX_LONG] = "tx-too-long",
	[NET_DROP_TX_DISABLED] = "tx-disabled",
	[NET_DROP_CSUM_NOT_NEG] = "csum-not-negotiated",
	[NET_DROP_CSUM_RANGE] = "csum-out-of-frame",
	[NET_DROP_GSO_NOT_NEG] = "gso-not-negotiated",
	[NET_DROP_GSO_SIZE] = "gso-size-zero",
	[NET_DROP_GSO_NO_CSUM] = "gso-without-csum",
	[NET_DROP_BACKEND] = "backend-error",
	[NET_DROP_RX_READABLE] = "rx-readable-descriptor",
	[NET_DROP_RX_SMALL] = "rx-buffer-too-small",
	[NET_DROP_RX_RUNT] = "rx-runt-frame",
	[NET_DROP_RX_NO_ROOM] = "rx-frame-too-big",
	[NET_DROP_RX_CSUM] = "rx-csum-not-negotiated",
	[NET_DROP_RX_GSO] = "rx-gso-not-negotiated",
	[NET_DROP_RX_RENEGOTIATED] = "rx-features-changed",
};

const char *net_drop_name(enum net_drop d)
{
	if ((unsigned)d >= NET_DROP__COUNT)
		return "unknown";
	return drop_names[d];
}

static inline int has(uint64_t features, unsigned bit)
{
	return !!(features & VIRTIO_BIT(bit));
}

size_t net_hdr_size(uint64_t features)
{
	if (has(features, VIRTIO_F_VERSION_1) || has(features, VIRTIO_NET_F_MRG_RXBUF))
		return NET_HDR_MAX;
	return NET_HDR_LEGACY;
}

void net_hdr_load(struct net_hdr *h, const void *raw, size_t size)
{
	struct virtio_net_hdr w = { 0 };

	/* Fixed-size copies for the two real sizes (inlined moves on the hot
	 * path); any other size is only seen by tests and fuzzers. */
	if (size >= sizeof(w))
		memcpy(&w, raw, sizeof(w));
	else if (size == NET_HDR_LEGACY)
		memcpy(&w, raw, NET_HDR_LEGACY);
	else
		memcpy(&w, raw, size);
	h->flags = w.flags;
	h->gso_type = w.gso_type;
	h->hdr_len = le16toh(w.hdr_len);
	h->gso_size = le16toh(w.gso_size);
	h->csum_start = le16toh(w.csum_start);
	h->csum_offset = le16toh(w.csum_offset);
	h->num_buffers = size >= NET_HDR_MAX ? le16toh(w.num_buffers) : 0;
}

void net_hdr_store(void *raw, size_t size, const struct net_hdr *h)
{
	struct virtio_net_hdr w = {
		.flags = h->flags,
		.gso_type = h->gso_type,
		.hdr_len = htole16(h->hdr_len),
		.gso_size = htole16(h->gso_size),
		.csum_start = htole16(h->csum_start),
		.csum_offset = htole16(h->csum_offset),
		.num_buffers = htole16(h->num_buffers),
	};

	if (size >= sizeof(w))
		memcpy(raw, &w, sizeof(w));
	else if (size == NET_HDR_LEGACY)
		memcpy(raw, &w, NET_HDR_LEGACY);
	else
		memcpy(raw, &w, size);
}

/* End of the checksum field, 32-bit: two u16 plus 2 cannot wrap. */
static inline uint32_t csum_end(const struct net_hdr *h)
{
	return (uint32_t)h->csum_start + h->csum_offset + 2u;
}

/*
 * gso_ok() - is @gso_type (ECN bit included) allowed by the four feature bits
 * of one direction?
 */
static int gso_ok(uint8_t gso_type, int tso4, int tso6, int ufo, int ecn)
{
	uint8_t base = gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if ((gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (!ecn || (base != VIRTIO_NET_HDR_GSO_TCPV4 && base != VIRTIO_NET_HDR_GSO_TCPV6)))
		return 0;
	switch (base) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return tso4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return tso6;
	case VIRTIO_NET_HDR_GSO_UDP:
		return ufo;
	default: /* NONE with ECN, UDP_L4 (USO never offered), unknown values */
		return 0;
	}
}

/* Shared normalisation once a header is accepted. */
static void normalise(struct net_hdr *h, size_t frame_len)
{
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		h->csum_start = 0;
		h->csum_offset = 0;
	}
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		h->gso_size = 0;
	if (h->hdr_len > frame_len)
		h->hdr_len = (uint16_t)frame_len;
	/* csum_end <= frame_len <= NET_MAX_FRAME was checked: fits uint16_t
	 * only if the frame does; otherwise leave hdr_len as clamped. */
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h->hdr_len < csum_end(h) &&
	    csum_end(h) <= UINT16_MAX)
		h->hdr_len = (uint16_t)csum_end(h);
	h->num_buffers = 0;
}

enum net_drop net_hdr_tx_check(struct net_hdr *h, uint64_t features, size_t frame_len)
{
	/* DATA_VALID and RSC_INFO are RX-only; unknown bits are ignored (5.1.6.2.2). */
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!has(features, VIRTIO_NET_F_CSUM))
			return NET_DROP_CSUM_NOT_NEG;
		if (csum_end(h) > frame_len)
			return NET_DROP_CSUM_RANGE;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!gso_ok(h->gso_type, has(features, VIRTIO_NET_F_HOST_TSO4),
			    has(features, VIRTIO_NET_F_HOST_TSO6),
			    has(features, VIRTIO_NET_F_HOST_UFO),
			    has(features, VIRTIO_NET_F_HOST_ECN)))
			return NET_DROP_GSO_NOT_NEG;
		if (h->gso_size == 0)
			return NET_DROP_GSO_SIZE;
		if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return NET_DROP_GSO_NO_CSUM;
	}
	normalise(h, frame_len);
	return NET_DROP_NONE;
}

enum net_drop net_hdr_rx_check(struct net_hdr *h, uint64_t features, size_t frame_len)
{
	if (!has(features, VIRTIO_NET_F_GUEST_CSUM)) {
		/* 5.1.6.4.1: flags MUST be 0.  A partial checksum cannot be
		 * finished by a guest that never agreed to do it. */
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return NET_DROP_RX_CSUM;
		h->flags = 0;
	} else {
		h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
		if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && csum_end(h) > frame_len)
			return NET_DROP_RX_CSUM;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!gso_ok(h->gso_type, has(features, VIRTIO_NET_F_GUEST_TSO4),
			    has(features, VIRTIO_NET_F_GUEST_TSO6),
			    has(features, VIRTIO_NET_F_GUEST_UFO),
			    has(features, VIRTIO_NET_F_GUEST_ECN)))
			return NET_DROP_RX_GSO;
		if (h->gso_size == 0)
			return NET_DROP_RX_GSO;
	}
	normalise(h, frame_len);
	return NET_DROP_NONE;
}
