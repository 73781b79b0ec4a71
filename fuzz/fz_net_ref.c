// SPDX-License-Identifier: Apache-2.0
/*
 * fz_net_ref.c - reference virtio-net rules for the net harnesses.
 *
 * Theory of operation
 * -------------------
 * Everything here is written from VIRTIO 1.2 5.1.6 and the contracts in
 * net/net_hdr.h and net/net_ctrl.c's theory block, not from their code: the
 * decoder assembles bytes by hand, the rules are a list of independent
 * predicates (each broken rule adds its reason to a set), and the sanitised
 * form is computed field by field.  The harnesses compare the device against
 * these; a check deleted from net/ shows up as a disagreement.
 */
#include "fuzz/fz_net.h"

#include <endian.h>
#include <string.h>

#define FB(x) VIRTIO_BIT(x)

const uint8_t fz_net_feat_bits[16] = {
	VIRTIO_NET_F_CSUM,	 VIRTIO_NET_F_GUEST_CSUM,     VIRTIO_NET_F_HOST_TSO4,
	VIRTIO_NET_F_HOST_TSO6,	 VIRTIO_NET_F_HOST_ECN,	      VIRTIO_NET_F_HOST_UFO,
	VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,     VIRTIO_NET_F_GUEST_ECN,
	VIRTIO_NET_F_GUEST_UFO,	 VIRTIO_NET_F_MRG_RXBUF,      VIRTIO_F_VERSION_1,
	VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_F_RING_PACKED,
	VIRTIO_NET_F_CTRL_VQ,
};

uint64_t fz_net_feat_decode(uint16_t sel)
{
	uint64_t f = 0;

	for (unsigned i = 0; i < 16; i++)
		if (sel & (1u << i))
			f |= FB(fz_net_feat_bits[i]);
	return f;
}

/* 5.1.3.1: feature -> at least one of these. */
static const struct {
	uint8_t bit;
	uint64_t any_of;
} ref_deps[] = {
	{ VIRTIO_NET_F_GUEST_TSO4, FB(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_TSO6, FB(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_UFO, FB(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_ECN, FB(VIRTIO_NET_F_GUEST_TSO4) | FB(VIRTIO_NET_F_GUEST_TSO6) },
	{ VIRTIO_NET_F_HOST_TSO4, FB(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_TSO6, FB(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_UFO, FB(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_ECN, FB(VIRTIO_NET_F_HOST_TSO4) | FB(VIRTIO_NET_F_HOST_TSO6) },
	{ VIRTIO_NET_F_CTRL_RX, FB(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_CTRL_VLAN, FB(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_GUEST_ANNOUNCE, FB(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_MQ, FB(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_CTRL_MAC_ADDR, FB(VIRTIO_NET_F_CTRL_VQ) },
};

uint64_t fz_net_features(uint64_t want, uint64_t offered)
{
	uint64_t f = want & offered;
	bool again = true;

	while (again) {
		again = false;
		for (size_t i = 0; i < VH_ARRAY_SIZE(ref_deps); i++) {
			if ((f & FB(ref_deps[i].bit)) && !(f & ref_deps[i].any_of)) {
				f &= ~FB(ref_deps[i].bit);
				again = true;
			}
		}
	}
	return f;
}

static inline bool feat(uint64_t f, unsigned bit)
{
	return (f & FB(bit)) != 0;
}

void fz_hdr_decode(struct net_hdr *h, const uint8_t *raw, size_t size)
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = (uint16_t)(raw[2] | raw[3] << 8);
	h->gso_size = (uint16_t)(raw[4] | raw[5] << 8);
	h->csum_start = (uint16_t)(raw[6] | raw[7] << 8);
	h->csum_offset = (uint16_t)(raw[8] | raw[9] << 8);
	h->num_buffers = size >= 12 ? (uint16_t)(raw[10] | raw[11] << 8) : 0;
}

void fz_hdr_encode(uint8_t *raw, size_t size, const struct net_hdr *h)
{
	const uint16_t w[5] = { h->hdr_len, h->gso_size, h->csum_start, h->csum_offset,
				h->num_buffers };

	raw[0] = h->flags;
	raw[1] = h->gso_type;
	for (unsigned i = 0; i < 5 && 2 + 2 * i + 1 < size; i++) {
		raw[2 + 2 * i] = (uint8_t)w[i];
		raw[3 + 2 * i] = (uint8_t)(w[i] >> 8);
	}
}

/*
 * Is @gso (ECN bit included) a type this direction negotiated?  @tso4, @tso6,
 * @ufo, @ecn are the four feature bits of the direction (HOST_* for what the
 * guest sends, GUEST_* for what it receives).  USO is never offered.
 */
static bool ref_gso_negotiated(uint8_t gso, uint64_t f, unsigned tso4, unsigned tso6, unsigned ufo,
			       unsigned ecn)
{
	bool has_ecn = gso & 0x80;

	switch (gso & 0x7f) {
	case 1: /* TCPV4 */
		return feat(f, tso4) && (!has_ecn || feat(f, ecn));
	case 4: /* TCPV6 */
		return feat(f, tso6) && (!has_ecn || feat(f, ecn));
	case 3: /* UDP (UFO) */
		return feat(f, ufo) && !has_ecn;
	default:
		return false;
	}
}

/* csum_start + csum_offset + 2: where the checksum field ends. */
static inline uint32_t ref_csum_end(const struct net_hdr *h)
{
	return (uint32_t)h->csum_start + (uint32_t)h->csum_offset + 2u;
}

/* Fields every accepted header gets, both directions. */
static void ref_normalise(struct net_hdr *h, size_t frame_len, bool needs)
{
	uint32_t hl = h->hdr_len, cend = ref_csum_end(h);

	if (!needs) {
		h->csum_start = 0;
		h->csum_offset = 0;
	}
	if (h->gso_type == 0)
		h->gso_size = 0;
	if (hl > frame_len)
		hl = (uint32_t)frame_len;
	/* hdr_len is never trusted; it must at least cover the checksum field
	 * when that field exists and can be expressed in 16 bits. */
	if (needs && hl < cend && cend <= 0xffff)
		hl = cend;
	h->hdr_len = (uint16_t)hl;
	h->num_buffers = 0;
}

uint32_t fz_ref_tx_hdr(struct net_hdr *h, uint64_t features, size_t frame_len)
{
	bool needs = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	uint32_t bad = 0;

	if (needs && !feat(features, VIRTIO_NET_F_CSUM))
		bad |= FZ_NDROP(NET_DROP_CSUM_NOT_NEG);
	if (needs && ref_csum_end(h) > frame_len)
		bad |= FZ_NDROP(NET_DROP_CSUM_RANGE);
	if (h->gso_type != 0) {
		if (!ref_gso_negotiated(h->gso_type, features, VIRTIO_NET_F_HOST_TSO4,
					VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO,
					VIRTIO_NET_F_HOST_ECN))
			bad |= FZ_NDROP(NET_DROP_GSO_NOT_NEG);
		if (h->gso_size == 0)
			bad |= FZ_NDROP(NET_DROP_GSO_SIZE);
		if (!needs)
			bad |= FZ_NDROP(NET_DROP_GSO_NO_CSUM);
	}
	if (bad)
		return bad;
	/* Unknown flags ignored, RX-only ones (DATA_VALID, RSC_INFO) too. */
	h->flags = needs ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
	ref_normalise(h, frame_len, needs);
	return 0;
}

uint32_t fz_ref_rx_hdr(struct net_hdr *h, uint64_t features, size_t frame_len)
{
	bool needs = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	bool gcsum = feat(features, VIRTIO_NET_F_GUEST_CSUM);
	uint32_t bad = 0;

	if (needs && (!gcsum || ref_csum_end(h) > frame_len))
		bad |= FZ_NDROP(NET_DROP_RX_CSUM);
	if (h->gso_type != 0 &&
	    (!ref_gso_negotiated(h->gso_type, features, VIRTIO_NET_F_GUEST_TSO4,
				 VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO,
				 VIRTIO_NET_F_GUEST_ECN) ||
	     h->gso_size == 0))
		bad |= FZ_NDROP(NET_DROP_RX_GSO);
	if (bad)
		return bad;
	h->flags &= gcsum ? (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID) : 0;
	ref_normalise(h, frame_len, needs);
	return 0;
}

const char *fz_tx_hdr_sane(const struct net_hdr *h, uint64_t features, size_t frame_len)
{
	bool needs = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	uint32_t cend = ref_csum_end(h);

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "flags other than NEEDS_CSUM";
	if (needs && !feat(features, VIRTIO_NET_F_CSUM))
		return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
	if (needs && cend > frame_len)
		return "csum_start + csum_offset + 2 beyond the frame";
	if (!needs && (h->csum_start || h->csum_offset))
		return "csum fields without NEEDS_CSUM";
	if (h->gso_type == 0 && h->gso_size)
		return "gso_size without gso_type";
	if (h->gso_type && !ref_gso_negotiated(h->gso_type, features, VIRTIO_NET_F_HOST_TSO4,
					       VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO,
					       VIRTIO_NET_F_HOST_ECN))
		return "gso_type not negotiated";
	if (h->gso_type && !h->gso_size)
		return "gso_size 0 with gso_type";
	if (h->gso_type && !needs)
		return "gso_type without NEEDS_CSUM";
	if (h->hdr_len > frame_len)
		return "hdr_len beyond the frame";
	if (needs && cend <= 0xffff && h->hdr_len < cend)
		return "hdr_len does not cover the checksum field";
	if (h->num_buffers)
		return "num_buffers not 0";
	return NULL;
}

const char *fz_rx_hdr_sane(const struct net_hdr *h, uint64_t features, size_t frame_len)
{
	bool gcsum = feat(features, VIRTIO_NET_F_GUEST_CSUM);
	bool needs = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (!gcsum && h->flags)
		return "flags set without GUEST_CSUM";
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return "unknown flags";
	if (needs && ref_csum_end(h) > frame_len)
		return "csum_start + csum_offset + 2 beyond the frame";
	if (!needs && (h->csum_start || h->csum_offset))
		return "csum fields without NEEDS_CSUM";
	if (h->gso_type && !ref_gso_negotiated(h->gso_type, features, VIRTIO_NET_F_GUEST_TSO4,
					       VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO,
					       VIRTIO_NET_F_GUEST_ECN))
		return "gso_type the guest did not negotiate";
	if (h->gso_type && !h->gso_size)
		return "gso_size 0 with gso_type";
	if (!h->gso_type && h->gso_size)
		return "gso_size without gso_type";
	if (h->hdr_len > frame_len)
		return "hdr_len beyond the frame";
	return NULL;
}

/* ---- control queue ------------------------------------------------------- */

#define REF_CTRL_RX 0
#define REF_CTRL_MAC 1
#define REF_CTRL_ANNOUNCE 3
#define REF_CTRL_MQ 4

static uint32_t ref_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MAC_TABLE_SET payload: two {le32 n; n * 6 bytes} lists, nothing more. */
static bool ref_mac_tables(const uint8_t *d, size_t len)
{
	uint64_t pos = 0;

	for (int t = 0; t < 2; t++) {
		uint64_t n;

		if (len - pos < 4)
			return false;
		n = ref_le32(d + pos);
		pos += 4;
		if (n * 6 > len - pos)
			return false;
		pos += n * 6;
	}
	return pos == len;
}

int fz_ref_ctrl(uint64_t f, unsigned max_pairs, const uint8_t *cmd, size_t len)
{
	const uint8_t *d = cmd + 2;
	size_t dl;

	if (len < 2)
		return FZ_CTRL_ERR;
	dl = len - 2;
	switch (cmd[0]) {
	case REF_CTRL_RX:
		if (!feat(f, VIRTIO_NET_F_CTRL_RX) || dl != 1)
			return FZ_CTRL_ERR;
		if (cmd[1] <= 1)
			return FZ_CTRL_OK;
		/* ALLUNI, NOMULTI, NOUNI, NOBCAST need CTRL_RX_EXTRA */
		if (cmd[1] <= 5 && feat(f, VIRTIO_NET_F_CTRL_RX_EXTRA))
			return FZ_CTRL_OK;
		return FZ_CTRL_ERR;
	case REF_CTRL_MAC:
		if (cmd[1] == 1)
			return feat(f, VIRTIO_NET_F_CTRL_MAC_ADDR) && dl == 6 ? FZ_CTRL_OK
									      : FZ_CTRL_ERR;
		if (cmd[1] == 0)
			return feat(f, VIRTIO_NET_F_CTRL_RX) && ref_mac_tables(d, dl) ? FZ_CTRL_OK
										      : FZ_CTRL_ERR;
		return FZ_CTRL_ERR;
	case REF_CTRL_ANNOUNCE:
		return feat(f, VIRTIO_NET_F_GUEST_ANNOUNCE) && cmd[1] == 0 && dl == 0 ? FZ_CTRL_OK
										      : FZ_CTRL_ERR;
	case REF_CTRL_MQ: {
		unsigned pairs;

		if (!feat(f, VIRTIO_NET_F_MQ) || cmd[1] != 0 || dl != 2)
			return FZ_CTRL_ERR;
		pairs = (unsigned)(d[0] | d[1] << 8);
		return pairs >= 1 && pairs <= max_pairs ? FZ_CTRL_OK : FZ_CTRL_ERR;
	}
	default:
		return FZ_CTRL_ERR;
	}
}

/* ---- misc ---------------------------------------------------------------- */

/*
 * 64-bit FNV-1a over 8-byte little-endian words (the tail byte by byte):
 * frames are up to 64 KiB and hashed twice each, so a byte-wise loop under
 * the sanitizers cost more than the device's own work.
 */
FZ_NOCOV FZ_NOASAN uint64_t fz_hash(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		h ^= le64toh(w);
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

FZ_NOCOV FZ_NOASAN void fz_frame_fill(const struct fz_frame *f, uint32_t from, uint8_t *dst,
				      uint32_t len)
{
	uint8_t row[256];
	uint32_t i = 0;

	for (; i < len && from + i < f->npfx; i++)
		dst[i] = f->pfx[from + i];
	/*
	 * Byte k is seed + 31 k + 7 (k >> 8): within one 256-byte block (k >> 8
	 * fixed) the bytes are a fixed row (31 j) plus a per-block constant, so
	 * whole blocks are one vectorisable add.
	 */
	for (unsigned j = 0; j < 256; j++)
		row[j] = (uint8_t)(j * 31u);
	while (i < len) {
		uint32_t k = from + i, j = k & 255u, m = 256u - j;
		uint8_t c = (uint8_t)(f->seed + (k >> 8) * 7u);

		if (m > len - i)
			m = len - i;
		for (uint32_t t = 0; t < m; t++)
			dst[i + t] = (uint8_t)(row[j + t] + c);
		i += m;
	}
}
