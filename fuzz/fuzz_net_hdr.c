// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_net_hdr.c - the pure virtio-net header rules (net/net_hdr.c).
 *
 * Theory of operation
 * -------------------
 * The input is a sequence of records (at most FZ_HDR_RECORDS per input, so a
 * run is a few microseconds):
 *
 *   u8  sel      bit 0: legacy 10-byte header (else 12); bits 1-2: frame
 *                length mode: u8, u16, u32 % 2^17, or "near the checksum
 *                end" (csum_start + csum_offset + 2 + i8 delta); bits 3-7:
 *                also load/store 1 + v % 11 bytes (a size outside the 10/12
 *                contract; 10 skipped)
 *   u16 feat     feature selector (fz_net_feat_bits: CSUM, GUEST_CSUM, HOST_*
 *                and GUEST_* offloads, MRG_RXBUF, VERSION_1, ...)
 *   ...          frame length operand
 *   12 bytes     the raw header
 *
 * Each record goes through net_hdr_load, net_hdr_store, net_hdr_tx_check and
 * net_hdr_rx_check, and is compared with the independent reference of
 * fz_net_ref.c:
 *
 *  - load/store round-trip the exact bytes, and store writes no more than the
 *    header size; load agrees with the reference decoder;
 *  - net_hdr_size is 12 with VERSION_1 or MRG_RXBUF, else 10;
 *  - TX: accepted exactly when the reference accepts (gso type negotiated,
 *    gso_size != 0 with gso, NEEDS_CSUM with VIRTIO_NET_F_CSUM and csum_start
 *    + csum_offset + 2 <= frame length, gso only with NEEDS_CSUM); a refusal
 *    names one of the rules the header breaks; an accepted header equals the
 *    reference's sanitised form field by field (unknown flags cleared, csum
 *    fields zeroed without NEEDS_CSUM, gso_size zeroed without gso, hdr_len
 *    clamped to the frame and covering the checksum, num_buffers 0), passes
 *    the "sane" predicate, and a second check accepts it unchanged;
 *  - RX: the same against the GUEST_* features; an accepted header never
 *    claims a gso type or checksum flag the guest did not negotiate.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fz.h"
#include "fuzz/fz_net.h"

#define FZ_HDR_RECORDS 64u

static void same(const struct net_hdr *a, const struct net_hdr *b, const char *what)
{
	FZ_CHECK(a->flags == b->flags && a->gso_type == b->gso_type && a->hdr_len == b->hdr_len &&
			 a->gso_size == b->gso_size && a->csum_start == b->csum_start &&
			 a->csum_offset == b->csum_offset && a->num_buffers == b->num_buffers,
		 "%s: device (flags %#x gso %#x/%u hdr_len %u csum %u+%u nb %u) vs reference "
		 "(flags %#x gso %#x/%u hdr_len %u csum %u+%u nb %u)",
		 what, a->flags, a->gso_type, a->gso_size, a->hdr_len, a->csum_start,
		 a->csum_offset, a->num_buffers, b->flags, b->gso_type, b->gso_size, b->hdr_len,
		 b->csum_start, b->csum_offset, b->num_buffers);
}

static void check_dir(const struct net_hdr *in, uint64_t f, size_t flen, bool tx)
{
	struct net_hdr dev = *in, ref = *in, again;
	enum net_drop d;
	uint32_t bad;
	const char *why;

	if (tx) {
		d = net_hdr_tx_check(&dev, f, flen);
		bad = fz_ref_tx_hdr(&ref, f, flen);
	} else {
		d = net_hdr_rx_check(&dev, f, flen);
		bad = fz_ref_rx_hdr(&ref, f, flen);
	}
	FZ_CHECK((unsigned)d < NET_DROP__COUNT && strcmp(net_drop_name(d), "unknown"),
		 "drop reason %d out of range", d);
	if (bad) {
		FZ_CHECK(d != NET_DROP_NONE,
			 "%s accepted flags %#x gso %#x/%u csum %u+%u (frame %zu) that breaks %#x",
			 tx ? "tx" : "rx", in->flags, in->gso_type, in->gso_size, in->csum_start,
			 in->csum_offset, flen, bad);
		FZ_CHECK(bad & FZ_NDROP(d), "%s dropped for %s, but the header breaks %#x",
			 tx ? "tx" : "rx", net_drop_name(d), bad);
		return;
	}
	FZ_CHECK(d == NET_DROP_NONE,
		 "%s dropped a valid header (%s): flags %#x gso %#x/%u csum %u+%u frame %zu",
		 tx ? "tx" : "rx", net_drop_name(d), in->flags, in->gso_type, in->gso_size,
		 in->csum_start, in->csum_offset, flen);
	same(&dev, &ref, tx ? "tx sanitised" : "rx sanitised");
	why = tx ? fz_tx_hdr_sane(&dev, f, flen) : fz_rx_hdr_sane(&dev, f, flen);
	FZ_CHECK(!why, "%s accepted header is not sane: %s", tx ? "tx" : "rx", why);
	FZ_CHECK(dev.gso_type == in->gso_type, "gso_type rewritten");
	again = dev;
	d = tx ? net_hdr_tx_check(&again, f, flen) : net_hdr_rx_check(&again, f, flen);
	FZ_CHECK(d == NET_DROP_NONE, "a sanitised header is refused the second time (%s)",
		 net_drop_name(d));
	same(&again, &dev, "second check");
}

/*
 * A size outside the 10/12 contract (@ss 1..11, not 10): load reads and store
 * writes exactly @ss bytes (the load from a heap copy of exactly that size, so
 * ASan sees an overread), the fields those bytes hold and nothing else.
 */
static void odd_size(const uint8_t *raw, size_t ss)
{
	uint8_t pad[NET_HDR_MAX], enc[NET_HDR_MAX], out[NET_HDR_MAX + 4];
	struct net_hdr h, r;
	uint8_t *cp;

	if (ss == NET_HDR_LEGACY)
		return;
	cp = malloc(ss);
	FZ_CHECK(cp, "out of memory");
	memcpy(cp, raw, ss);
	memset(pad, 0, sizeof(pad));
	memcpy(pad, raw, ss);
	net_hdr_load(&h, cp, ss);
	free(cp);
	fz_hdr_decode(&r, pad, NET_HDR_MAX);
	r.num_buffers = 0; /* only a 12-byte header carries it */
	same(&h, &r, "net_hdr_load (odd size)");
	fz_hdr_encode(enc, NET_HDR_MAX, &h);
	memset(out, 0xa5, sizeof(out));
	net_hdr_store(out, ss, &h);
	FZ_CHECK(!memcmp(out, enc, ss), "net_hdr_store(%zu) wrote other bytes", ss);
	for (size_t i = ss; i < sizeof(out); i++)
		FZ_CHECK(out[i] == 0xa5, "net_hdr_store(%zu) wrote byte %zu", ss, i);
}

static void one(struct fz_in *in)
{
	uint8_t sel = fz_u8(in), raw[NET_HDR_MAX], out[NET_HDR_MAX + 4];
	uint64_t f = fz_net_feat_decode(fz_u16(in));
	size_t hs = (sel & 1) ? NET_HDR_LEGACY : NET_HDR_MAX, flen = 0, want;
	unsigned mode = (sel >> 1) & 3;
	uint8_t delta = 0;
	struct net_hdr h, r;

	switch (mode) {
	case 0:
		flen = fz_u8(in);
		break;
	case 1:
		flen = fz_u16(in);
		break;
	case 2:
		flen = fz_u32(in) % (1u << 17);
		break;
	default:
		delta = fz_u8(in);
		break;
	}
	fz_bytes(in, raw, sizeof(raw));

	want = (f & (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))) ? 12
											   : 10;
	FZ_CHECK(net_hdr_size(f) == want, "net_hdr_size(%#llx) = %zu", (unsigned long long)f,
		 net_hdr_size(f));

	net_hdr_load(&h, raw, hs);
	fz_hdr_decode(&r, raw, hs);
	same(&h, &r, "net_hdr_load");
	memset(out, 0xa5, sizeof(out));
	net_hdr_store(out, hs, &h);
	FZ_CHECK(!memcmp(out, raw, hs), "net_hdr_store does not round-trip");
	for (size_t i = hs; i < sizeof(out); i++)
		FZ_CHECK(out[i] == 0xa5, "net_hdr_store(%zu) wrote byte %zu", hs, i);

	odd_size(raw, 1 + (sel >> 3) % (NET_HDR_MAX - 1));

	if (mode == 3)
		flen = (size_t)h.csum_start + h.csum_offset + 2 + (int8_t)delta;
	check_dir(&h, f, flen, true);
	check_dir(&h, f, flen, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in;

	fz_in_init(&in, data, size);
	FZ_CHECK(!strcmp(net_drop_name(NET_DROP__COUNT), "unknown"), "net_drop_name range");
	for (unsigned i = 0; i < FZ_HDR_RECORDS && !fz_done(&in); i++)
		one(&in);
	return 0;
}
