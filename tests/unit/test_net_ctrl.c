// SPDX-License-Identifier: Apache-2.0
/*
 * test_net_ctrl.c - control virtqueue (net/net_ctrl.c).
 *
 * A device with four queue pairs on null backends; only the control queue is
 * started.  Each test posts commands as a driver would (readable class, cmd
 * and data, then a writable ack byte) and checks the ack byte, the used
 * length and the device state.
 */
#include "tests/unit/nettest.h"

#define OK 0
#define ERR 1
#define ALL_CTRL (NT_V1 | NF(CTRL_VQ) | NF(CTRL_RX) | NF(CTRL_MAC_ADDR) | NF(MQ) | \
		  NF(GUEST_ANNOUNCE) | NF(STATUS))

struct ct {
	struct drvsim *ds;
	struct drvsim_split *q;
	struct vnet *dev;
	struct net_backend be[4];
	uint64_t ack;  /* GPA of the ack byte */
	uint64_t cmd;  /* GPA of a command buffer */
};

static struct ct *ct_new(uint64_t features)
{
	struct vnet_params p = { .mac = { 2, 0, 0, 0, 0, 1 }, .mtu = 1500, .max_pairs = 4 };
	struct net_backend *bep[4];
	struct ct *c = calloc(1, sizeof(*c));
	uint64_t d, a, u, base;
	struct vq_cfg cfg;

	assert_non_null(c);
	c->dev = calloc(1, sizeof(*c->dev));
	assert_non_null(c->dev);
	for (int i = 0; i < 4; i++) {
		net_null_init(&c->be[i]);
		bep[i] = &c->be[i];
	}
	assert_int_equal(vnet_init(c->dev, &p, bep), 0);
	assert_int_equal(vnet_set_features(c->dev, features), 0);
	c->ds = drvsim_new_flat(NT_RAM_GPA, 1 << 20);
	assert_non_null(c->ds);
	base = drvsim_alloc(c->ds, drvsim_split_layout(64, 0, &d, &a, &u), 4096);
	drvsim_split_layout(64, base, &d, &a, &u);
	c->q = drvsim_split_new(c->ds, 64, d, a, u, 0);
	assert_non_null(c->q);
	drvsim_split_cfg(c->q, &cfg, features);
	assert_int_equal(vnet_queue_start(c->dev, vnet_ctrl_qidx(c->dev), &c->ds->gm, &cfg), 0);
	c->ack = drvsim_alloc(c->ds, 16, 16);
	c->cmd = drvsim_alloc(c->ds, 4096, 64);
	return c;
}

static void ct_free(struct ct *c)
{
	assert_int_equal(vnet_queue_stop(c->dev, vnet_ctrl_qidx(c->dev), NULL), 0);
	vnet_destroy(c->dev);
	drvsim_split_free(c->q);
	drvsim_free(c->ds);
	free(c->dev);
	free(c);
}

/*
 * Run one command: @class, @cmd, @data (@len bytes) in one readable buffer,
 * then @ack_len writable bytes.  Returns the ack byte, or -1 with used len 0.
 */
static int ct_cmd_raw(struct ct *c, const uint8_t *bytes, uint32_t len, uint32_t ack_len)
{
	struct drvsim_buf b[2] = { { c->cmd, len, false }, { c->ack, ack_len, true } };
	uint32_t id, ulen;
	uint8_t ack = 0xee;
	int head;

	assert_int_equal(drvsim_write(c->ds, c->cmd, bytes, len), 0);
	assert_int_equal(drvsim_write(c->ds, c->ack, &ack, 1), 0);
	head = drvsim_split_add(c->q, b, ack_len ? 2 : 1);
	assert_true(head >= 0);
	assert_int_equal(net_ctrl_run(c->dev, 16), 1);
	assert_true(drvsim_split_get_used(c->q, &id, &ulen));
	assert_int_equal(id, (uint32_t)head);
	if (ulen == 0)
		return -1;
	assert_int_equal(ulen, 1);
	assert_int_equal(drvsim_read(c->ds, c->ack, &ack, 1), 0);
	return ack;
}

static int ct_cmd(struct ct *c, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	uint8_t buf[1024];

	buf[0] = class;
	buf[1] = cmd;
	if (len)
		memcpy(buf + 2, data, len);
	return ct_cmd_raw(c, buf, len + 2, 1);
}

static void test_G1_no_ack_space_returned_len0(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t cmd[3] = { 0, 0, 1 };

	(void)state;
	assert_int_equal(ct_cmd_raw(c, cmd, 3, 0), -1);
	assert_int_equal(c->dev->ctrl_stats.no_ack, 1);
	assert_false(c->dev->rx_mode.promisc); /* not executed */
	ct_free(c);
}

static void test_G1_short_header_err(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t cmd[1] = { 0 };

	(void)state;
	assert_int_equal(ct_cmd_raw(c, cmd, 1, 1), ERR);
	assert_int_equal(c->dev->ctrl_stats.err, 1);
	ct_free(c);
}

static void test_G1_header_split_across_descriptors(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t cmd[3] = { 0 /* RX */, 0 /* PROMISC */, 1 };
	struct drvsim_buf b[4] = { { c->cmd, 1, false }, { c->cmd + 1, 1, false },
				   { c->cmd + 2, 1, false }, { c->ack, 1, true } };
	uint32_t id, len;
	uint8_t ack;

	(void)state;
	assert_int_equal(drvsim_write(c->ds, c->cmd, cmd, 3), 0);
	assert_true(drvsim_split_add(c->q, b, 4) >= 0);
	assert_int_equal(net_ctrl_run(c->dev, 16), 1);
	assert_true(drvsim_split_get_used(c->q, &id, &len));
	assert_int_equal(len, 1);
	assert_int_equal(drvsim_read(c->ds, c->ack, &ack, 1), 0);
	assert_int_equal(ack, OK);
	assert_true(c->dev->rx_mode.promisc);
	ct_free(c);
}

static void test_rx_mode_promisc_allmulti_acked(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t on = 1, off = 0, two[2] = { 1, 1 };

	(void)state;
	assert_int_equal(ct_cmd(c, 0, 0, &on, 1), OK);
	assert_true(c->dev->rx_mode.promisc);
	assert_int_equal(ct_cmd(c, 0, 1, &on, 1), OK);
	assert_true(c->dev->rx_mode.allmulti);
	assert_int_equal(ct_cmd(c, 0, 0, &off, 1), OK);
	assert_false(c->dev->rx_mode.promisc);
	/* exact size: 1 byte */
	assert_int_equal(ct_cmd(c, 0, 0, two, 2), ERR);
	assert_int_equal(ct_cmd(c, 0, 0, NULL, 0), ERR);
	/* ALLUNI etc. need CTRL_RX_EXTRA (not offered) */
	assert_int_equal(ct_cmd(c, 0, 2, &on, 1), ERR);
	ct_free(c);
}

static void test_G2_mac_addr_set_exactly_6_bytes(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	const uint8_t mac[7] = { 0x52, 0x54, 0, 0xab, 0xcd, 0xef, 0x99 };
	uint8_t cfg[6];

	(void)state;
	assert_int_equal(ct_cmd(c, 1, 1, mac, 5), ERR);
	assert_int_equal(ct_cmd(c, 1, 1, mac, 7), ERR);
	assert_int_equal(vnet_get_config(c->dev, 0, cfg, 6), 0);
	assert_int_equal(cfg[0], 2); /* unchanged */
	assert_int_equal(ct_cmd(c, 1, 1, mac, 6), OK);
	assert_int_equal(vnet_get_config(c->dev, 0, cfg, 6), 0);
	assert_memory_equal(cfg, mac, 6);
	ct_free(c);
}

static void test_G2_mq_pairs_range_and_size(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint16_t v;
	uint8_t three[3] = { 2, 0, 0 };

	(void)state;
	v = htole16(0);
	assert_int_equal(ct_cmd(c, 4, 0, &v, 2), ERR);
	v = htole16(5);
	assert_int_equal(ct_cmd(c, 4, 0, &v, 2), ERR);
	v = htole16(0x8000);
	assert_int_equal(ct_cmd(c, 4, 0, &v, 2), ERR);
	assert_int_equal(ct_cmd(c, 4, 0, three, 3), ERR);
	assert_int_equal(c->dev->curr_pairs, 1);
	v = htole16(4);
	assert_int_equal(ct_cmd(c, 4, 0, &v, 2), OK);
	assert_int_equal(c->dev->curr_pairs, 4);
	v = htole16(1);
	assert_int_equal(ct_cmd(c, 4, 0, &v, 2), OK);
	assert_int_equal(c->dev->curr_pairs, 1);
	assert_int_equal(ct_cmd(c, 4, 1, &v, 2), ERR); /* unknown MQ command */
	ct_free(c);
}

/* Build a MAC table command: counts as given, macs as present bytes. */
static uint32_t mac_table(uint8_t *buf, uint32_t nuni, uint32_t uni_bytes, uint32_t nmulti,
			  uint32_t multi_bytes)
{
	uint32_t off = 0, le;

	le = htole32(nuni);
	memcpy(buf + off, &le, 4);
	off += 4;
	memset(buf + off, 0x11, uni_bytes);
	off += uni_bytes;
	le = htole32(nmulti);
	memcpy(buf + off, &le, 4);
	off += 4;
	memset(buf + off, 0x33, multi_bytes);
	off += multi_bytes;
	return off;
}

/* G3 / CVE-2014-0150: counts that overflow 32-bit size arithmetic. */
static void test_G3_mac_table_count_overflow_rejected(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t buf[1024];
	uint32_t n;

	(void)state;
	/* 0x2aaaaaab * 6 = 0x100000002: wraps to 2 in 32 bits */
	n = mac_table(buf, 0x2aaaaaab, 2, 0, 0);
	assert_int_equal(ct_cmd(c, 1, 0, buf, n), ERR);
	n = mac_table(buf, 0xffffffff, 12, 0, 0);
	assert_int_equal(ct_cmd(c, 1, 0, buf, n), ERR);
	n = mac_table(buf, 1, 6, 0x2aaaaaab, 2);
	assert_int_equal(ct_cmd(c, 1, 0, buf, n), ERR);
	assert_int_equal(c->dev->uni.n, 0);
	assert_int_equal(c->dev->multi.n, 0);
	ct_free(c);
}

static void test_G3_mac_table_exact_sizes(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t buf[1024];
	uint32_t n;

	(void)state;
	n = mac_table(buf, 2, 12, 1, 6);
	assert_int_equal(ct_cmd(c, 1, 0, buf, n), OK);
	assert_int_equal(c->dev->uni.n, 2);
	assert_int_equal(c->dev->multi.n, 1);
	assert_int_equal(c->dev->multi.mac[0][0], 0x33);
	/* a trailing byte, a missing byte, a missing second count */
	assert_int_equal(ct_cmd(c, 1, 0, buf, n + 1), ERR);
	assert_int_equal(ct_cmd(c, 1, 0, buf, n - 1), ERR);
	assert_int_equal(ct_cmd(c, 1, 0, buf, 4 + 12), ERR);
	/* more entries than the table holds: accepted, overflow flagged,
	 * nothing written past the table */
	n = mac_table(buf, VNET_MAC_TABLE_ENTRIES + 1, 6 * (VNET_MAC_TABLE_ENTRIES + 1), 0, 0);
	assert_true(n <= sizeof(buf) - 2);
	assert_int_equal(ct_cmd(c, 1, 0, buf, n), OK);
	assert_true(c->dev->uni.overflow);
	assert_int_equal(c->dev->uni.n, 0);
	ct_free(c);
}

static void test_G4_unknown_class_and_command_err(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	uint8_t one = 1;

	(void)state;
	assert_int_equal(ct_cmd(c, 2, 0, &one, 1), ERR);   /* VLAN: not offered */
	assert_int_equal(ct_cmd(c, 5, 0, &one, 1), ERR);   /* GUEST_OFFLOADS */
	assert_int_equal(ct_cmd(c, 6, 0, &one, 1), ERR);
	assert_int_equal(ct_cmd(c, 0xff, 0xff, &one, 1), ERR);
	assert_int_equal(ct_cmd(c, 0, 9, &one, 1), ERR);
	assert_int_equal(ct_cmd(c, 1, 7, &one, 1), ERR);
	assert_int_equal(c->dev->ctrl_stats.err, 6);
	ct_free(c);
}

static void test_G4_not_negotiated_err(void **state)
{
	struct ct *c = ct_new(NT_V1 | NF(CTRL_VQ)); /* no CTRL_RX, MAC_ADDR, MQ */
	const uint8_t mac[6] = { 2, 2, 2, 2, 2, 2 };
	uint16_t v = htole16(1);
	uint8_t one = 1, buf[64];

	(void)state;
	assert_int_equal(ct_cmd(c, 0, 0, &one, 1), ERR);
	assert_int_equal(ct_cmd(c, 1, 1, mac, 6), ERR);
	assert_int_equal(ct_cmd(c, 1, 0, buf, mac_table(buf, 0, 0, 0, 0)), ERR);
	assert_int_equal(ct_cmd(c, 4, 0, &v, 2), ERR);
	assert_int_equal(ct_cmd(c, 3, 0, NULL, 0), ERR);
	assert_false(c->dev->rx_mode.promisc);
	ct_free(c);
}

static void test_announce_ack(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);

	(void)state;
	c->dev->status |= VIRTIO_NET_S_ANNOUNCE;
	assert_int_equal(ct_cmd(c, 3, 0, &c, 1), ERR); /* no payload allowed */
	assert_int_equal(ct_cmd(c, 3, 0, NULL, 0), OK);
	assert_int_equal(c->dev->status & VIRTIO_NET_S_ANNOUNCE, 0);
	ct_free(c);
}

static void test_ctrl_oversized_command_err(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	static uint8_t big[4000];

	(void)state;
	assert_int_equal(ct_cmd_raw(c, big, sizeof(big), 1), ERR);
	ct_free(c);
}

static void test_ctrl_bad_chain_counted(void **state)
{
	struct ct *c = ct_new(ALL_CTRL);
	struct drvsim_buf b = { 0x10, 4, false }; /* not RAM */
	uint32_t id, len;

	(void)state;
	assert_true(drvsim_split_add(c->q, &b, 1) >= 0);
	assert_int_equal(net_ctrl_run(c->dev, 16), 1);
	assert_int_equal(c->dev->ctrl_stats.bad_chains, 1);
	assert_true(drvsim_split_get_used(c->q, &id, &len));
	assert_int_equal(len, 0);
	ct_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_G1_no_ack_space_returned_len0),
		cmocka_unit_test(test_G1_short_header_err),
		cmocka_unit_test(test_G1_header_split_across_descriptors),
		cmocka_unit_test(test_rx_mode_promisc_allmulti_acked),
		cmocka_unit_test(test_G2_mac_addr_set_exactly_6_bytes),
		cmocka_unit_test(test_G2_mq_pairs_range_and_size),
		cmocka_unit_test(test_G3_mac_table_count_overflow_rejected),
		cmocka_unit_test(test_G3_mac_table_exact_sizes),
		cmocka_unit_test(test_G4_unknown_class_and_command_err),
		cmocka_unit_test(test_G4_not_negotiated_err),
		cmocka_unit_test(test_announce_ack),
		cmocka_unit_test(test_ctrl_oversized_command_err),
		cmocka_unit_test(test_ctrl_bad_chain_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
