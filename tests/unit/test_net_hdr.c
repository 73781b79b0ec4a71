// SPDX-License-Identifier: Apache-2.0
/*
 * test_net_hdr.c - pure virtio-net header rules (net/net_hdr.c).
 *
 * Each test feeds one decoded header to net_hdr_tx_check / net_hdr_rx_check
 * and asserts the exact verdict and, when accepted, every rewritten field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/net_hdr.h"

#define F(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define HOST_ALL (F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | F(HOST_UFO))
#define GUEST_ALL (F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) | F(GUEST_UFO))

static struct net_hdr csum_hdr(uint16_t start, uint16_t off)
{
	return (struct net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				 .csum_start = start,
				 .csum_offset = off };
}

static struct net_hdr tso_hdr(uint8_t type, uint16_t mss)
{
	struct net_hdr h = csum_hdr(34, 16);

	h.gso_type = type;
	h.gso_size = mss;
	h.hdr_len = 66;
	return h;
}

/* F4: the size depends on the features alone, never on anything else. */
static void test_F4_hdr_size_from_features(void **state)
{
	(void)state;
	assert_int_equal(net_hdr_size(0), 10);
	assert_int_equal(net_hdr_size(V1), 12);
	assert_int_equal(net_hdr_size(F(MRG_RXBUF)), 12);
	assert_int_equal(net_hdr_size(V1 | F(MRG_RXBUF)), 12);
	/* HASH_REPORT would need 20 bytes: it is never offered, and the size
	 * never exceeds the buffers sized by NET_HDR_MAX (CVE-2023-6693). */
	assert_int_equal(net_hdr_size(V1 | VIRTIO_BIT(VIRTIO_NET_F_HASH_REPORT)), NET_HDR_MAX);
}

static void test_hdr_load_store_roundtrip_le(void **state)
{
	const uint8_t raw[12] = { 1, 4, 0x34, 0x12, 0xdc, 0x05, 34, 0, 16, 0, 3, 0 };
	uint8_t out[12];
	struct net_hdr h;

	(void)state;
	net_hdr_load(&h, raw, 12);
	assert_int_equal(h.flags, 1);
	assert_int_equal(h.gso_type, 4);
	assert_int_equal(h.hdr_len, 0x1234);
	assert_int_equal(h.gso_size, 1500);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 16);
	assert_int_equal(h.num_buffers, 3);
	net_hdr_store(out, 12, &h);
	assert_memory_equal(out, raw, 12);
	/* legacy: 10 bytes, num_buffers neither read nor written */
	net_hdr_load(&h, raw, 10);
	assert_int_equal(h.num_buffers, 0);
	memset(out, 0xee, sizeof(out));
	net_hdr_store(out, 10, &h);
	assert_memory_equal(out, raw, 10);
	assert_int_equal(out[10], 0xee);
	assert_int_equal(out[11], 0xee);
}

static void test_config_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct virtio_net_config), 12);
	assert_int_equal(offsetof(struct virtio_net_config, mtu), 10);
	assert_int_equal(sizeof(struct virtio_net_hdr), 12);
}

/* F6: csum range, computed without wrap. */
static void test_F6_tx_csum_beyond_frame_dropped(void **state)
{
	struct net_hdr h = csum_hdr(90, 8); /* 90 + 8 + 2 = 100 */

	(void)state;
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM), 99), NET_DROP_CSUM_RANGE);
	h = csum_hdr(90, 8);
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM), 100), NET_DROP_NONE);
}

static void test_F6_tx_csum_fields_cannot_wrap(void **state)
{
	struct net_hdr h = csum_hdr(0xffff, 0xffff);

	(void)state;
	/* 16-bit arithmetic would give 0xffff + 0xffff + 2 = 0 (mod 2^16). */
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM), 60), NET_DROP_CSUM_RANGE);
	h = csum_hdr(0xfffe, 0);
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM), 1000), NET_DROP_CSUM_RANGE);
}

static void test_F6_tx_needs_csum_without_feature_dropped(void **state)
{
	struct net_hdr h = csum_hdr(14, 6);

	(void)state;
	assert_int_equal(net_hdr_tx_check(&h, V1, 100), NET_DROP_CSUM_NOT_NEG);
}

static void test_F6_tx_gso_not_negotiated_dropped(void **state)
{
	struct net_hdr h;

	(void)state;
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1448);
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM) | F(HOST_TSO6), 9000),
			 NET_DROP_GSO_NOT_NEG);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV6, 1448);
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM) | F(HOST_TSO4), 9000),
			 NET_DROP_GSO_NOT_NEG);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_UDP, 1448);
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM) | F(HOST_TSO4), 9000),
			 NET_DROP_GSO_NOT_NEG);
	/* ECN bit without HOST_ECN, and ECN on a non-TCP type */
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448);
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM) | F(HOST_TSO4), 9000),
			 NET_DROP_GSO_NOT_NEG);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_UDP | VIRTIO_NET_HDR_GSO_ECN, 1448);
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 9000), NET_DROP_GSO_NOT_NEG);
	/* unknown types, USO (never offered), NONE with only the ECN bit */
	for (unsigned t = 2; t < 0x100; t++) {
		if (t == 3 || t == 4 || t == 0x81 || t == 0x84)
			continue;
		h = tso_hdr((uint8_t)t, 1448);
		assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 9000), NET_DROP_GSO_NOT_NEG);
	}
}

static void test_F6_tx_gso_size_zero_dropped(void **state)
{
	struct net_hdr h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 0);

	(void)state;
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 9000), NET_DROP_GSO_SIZE);
}

static void test_F6_tx_gso_without_needs_csum_dropped(void **state)
{
	struct net_hdr h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1448);

	(void)state;
	h.flags = 0;
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 9000), NET_DROP_GSO_NO_CSUM);
}

static void test_F6_tx_hdr_len_not_trusted(void **state)
{
	struct net_hdr h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1448);

	(void)state;
	h.hdr_len = 60000; /* beyond the frame: the kernel would refuse it */
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 2000), NET_DROP_NONE);
	assert_int_equal(h.hdr_len, 2000);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1448);
	h.hdr_len = 3; /* shorter than the checksum field: raised to cover it */
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 2000), NET_DROP_NONE);
	assert_int_equal(h.hdr_len, 34 + 16 + 2);
}

static void test_F6_tx_unknown_flags_and_num_buffers_cleared(void **state)
{
	struct net_hdr h = { .flags = 0xfe, .num_buffers = 77, .csum_start = 5,
			     .csum_offset = 9, .gso_size = 1000 };

	(void)state;
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 100), NET_DROP_NONE);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.num_buffers, 0);
	/* without NEEDS_CSUM the csum fields and without gso the size go */
	assert_int_equal(h.csum_start, 0);
	assert_int_equal(h.csum_offset, 0);
	assert_int_equal(h.gso_size, 0);
	h = csum_hdr(14, 6);
	h.flags |= VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO | 0x80;
	assert_int_equal(net_hdr_tx_check(&h, V1 | F(CSUM), 100), NET_DROP_NONE);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

static void test_F6_tx_valid_tso_accepted_unchanged(void **state)
{
	struct net_hdr h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448);

	(void)state;
	assert_int_equal(net_hdr_tx_check(&h, V1 | HOST_ALL, 65000), NET_DROP_NONE);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	assert_int_equal(h.gso_size, 1448);
	assert_int_equal(h.hdr_len, 66);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 16);
}

static void test_rx_without_guest_csum_flags_zero(void **state)
{
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID | 0xf0 };

	(void)state;
	assert_int_equal(net_hdr_rx_check(&h, V1, 100), NET_DROP_NONE);
	assert_int_equal(h.flags, 0);
	h = csum_hdr(14, 6);
	assert_int_equal(net_hdr_rx_check(&h, V1, 100), NET_DROP_RX_CSUM);
}

static void test_rx_with_guest_csum(void **state)
{
	struct net_hdr h = csum_hdr(34, 6);

	(void)state;
	h.flags |= VIRTIO_NET_HDR_F_DATA_VALID | 0x40;
	assert_int_equal(net_hdr_rx_check(&h, V1 | F(GUEST_CSUM), 100), NET_DROP_NONE);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
	h = csum_hdr(0xffff, 0xffff);
	assert_int_equal(net_hdr_rx_check(&h, V1 | F(GUEST_CSUM), 100), NET_DROP_RX_CSUM);
}

static void test_rx_gso_guest_did_not_negotiate_dropped(void **state)
{
	struct net_hdr h;

	(void)state;
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1448);
	assert_int_equal(net_hdr_rx_check(&h, V1 | F(GUEST_CSUM), 9000), NET_DROP_RX_GSO);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV6, 1448);
	assert_int_equal(net_hdr_rx_check(&h, V1 | F(GUEST_CSUM) | F(GUEST_TSO4), 9000),
			 NET_DROP_RX_GSO);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448);
	assert_int_equal(net_hdr_rx_check(&h, V1 | F(GUEST_CSUM) | F(GUEST_TSO4), 9000),
			 NET_DROP_RX_GSO);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_UDP_L4, 1448);
	assert_int_equal(net_hdr_rx_check(&h, V1 | GUEST_ALL, 9000), NET_DROP_RX_GSO);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 0);
	assert_int_equal(net_hdr_rx_check(&h, V1 | GUEST_ALL, 9000), NET_DROP_RX_GSO);
	h = tso_hdr(VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448);
	h.num_buffers = 9;
	h.hdr_len = 65535;
	assert_int_equal(net_hdr_rx_check(&h, V1 | GUEST_ALL, 9000), NET_DROP_NONE);
	assert_int_equal(h.num_buffers, 0);
	assert_int_equal(h.hdr_len, 9000);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (unsigned d = 0; d < NET_DROP__COUNT; d++)
		assert_non_null(net_drop_name((enum net_drop)d));
	assert_string_equal(net_drop_name(NET_DROP__COUNT), "unknown");
	assert_string_equal(net_drop_name(NET_DROP_TX_SHORT), "tx-too-short");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_F4_hdr_size_from_features),
		cmocka_unit_test(test_hdr_load_store_roundtrip_le),
		cmocka_unit_test(test_config_layout),
		cmocka_unit_test(test_F6_tx_csum_beyond_frame_dropped),
		cmocka_unit_test(test_F6_tx_csum_fields_cannot_wrap),
		cmocka_unit_test(test_F6_tx_needs_csum_without_feature_dropped),
		cmocka_unit_test(test_F6_tx_gso_not_negotiated_dropped),
		cmocka_unit_test(test_F6_tx_gso_size_zero_dropped),
		cmocka_unit_test(test_F6_tx_gso_without_needs_csum_dropped),
		cmocka_unit_test(test_F6_tx_hdr_len_not_trusted),
		cmocka_unit_test(test_F6_tx_unknown_flags_and_num_buffers_cleared),
		cmocka_unit_test(test_F6_tx_valid_tso_accepted_unchanged),
		cmocka_unit_test(test_rx_without_guest_csum_flags_zero),
		cmocka_unit_test(test_rx_with_guest_csum),
		cmocka_unit_test(test_rx_gso_guest_did_not_negotiate_dropped),
		cmocka_unit_test(test_drop_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
