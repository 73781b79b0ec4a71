// SPDX-License-Identifier: Apache-2.0
/*
 * test_vnet.c - device object: features, config space, queue indices
 * (net/vnet.c).
 */
#include "tests/unit/nettest.h"

struct vt {
	struct vnet dev;
	struct nt_fault f[2];
	struct net_backend be[2];
	int peer[2];
};

static struct vt *vt_new(unsigned pairs, unsigned offloads, uint16_t mtu)
{
	struct vnet_params p = { .mac = { 2, 1, 2, 3, 4, 5 }, .mtu = mtu,
				 .max_pairs = (uint16_t)pairs };
	struct vt *v = calloc(1, sizeof(*v));
	struct net_backend *bep[2];

	assert_non_null(v);
	for (unsigned i = 0; i < pairs; i++) {
		v->peer[i] = nt_backend(&v->f[i], &v->be[i], offloads);
		bep[i] = &v->be[i];
	}
	assert_int_equal(vnet_init(&v->dev, &p, bep), 0);
	return v;
}

static void vt_free(struct vt *v, unsigned pairs)
{
	vnet_destroy(&v->dev);
	for (unsigned i = 0; i < pairs; i++) {
		net_be_close(&v->be[i]);
		close(v->peer[i]);
	}
	free(v);
}

static void test_vnet_offers_what_the_backend_accepts(void **state)
{
	struct vt *v = vt_new(1, NET_OFF_CSUM | NET_OFF_TSO4, 1500);
	uint64_t f = vnet_features(&v->dev);

	(void)state;
	assert_true(f & NF(CSUM));
	assert_true(f & NF(GUEST_CSUM));
	assert_true(f & NF(GUEST_TSO4));
	assert_true(f & NF(HOST_TSO4));
	assert_false(f & NF(GUEST_TSO6));
	assert_false(f & NF(HOST_TSO6));
	assert_false(f & NF(GUEST_UFO));
	assert_false(f & NF(GUEST_ECN));
	assert_false(f & NF(MQ)); /* one pair */
	assert_true(f & NF(MTU));
	assert_true(f & NF(MAC));
	assert_true(f & (NT_V1 | NT_PACKED | NT_EVENT_IDX | NT_INDIRECT));
	assert_true(f & NF(MRG_RXBUF));
	assert_true(f & NF(CTRL_VQ));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_HASH_REPORT));
	vt_free(v, 1);

	/* nothing accepted: no offload at all, dependencies closed */
	v = vt_new(2, 0, 0);
	f = vnet_features(&v->dev);
	assert_int_equal(f & NT_OFFLOADS, 0);
	assert_false(f & NF(MTU));
	assert_true(f & NF(MQ));
	vt_free(v, 2);
}

static void test_vnet_set_features_refuses_unoffered_and_bad_deps(void **state)
{
	struct vt *v = vt_new(2, NET_OFF_ALL, 1500);

	(void)state;
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | VIRTIO_BIT(VIRTIO_NET_F_HASH_REPORT)),
			 -EINVAL);
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(GUEST_TSO4)), -EINVAL);
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(HOST_TSO4)), -EINVAL);
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(CSUM) | NF(HOST_ECN)), -EINVAL);
	assert_false(v->dev.features_ok);
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(CTRL_VQ) | NF(MQ)), 0);
	assert_true(v->dev.features_ok);
	vt_free(v, 2);
}

/*
 * A vhost-user frontend that runs the control queue itself (QEMU) acks MQ and
 * GUEST_ANNOUNCE without CTRL_VQ; that must be accepted.  The word below is
 * what QEMU 7.2 sent to the daemon with a Linux guest (strace), restricted to
 * what this test device offers.
 */
static void test_vnet_ctrl_deps_left_to_frontend(void **state)
{
	struct vt *v = vt_new(2, NET_OFF_ALL, 1500);
	uint64_t qemu = 0x17020ff83ULL | NF(MQ);

	(void)state;
	assert_false(qemu & NF(CTRL_VQ));
	assert_int_equal(vnet_set_features(&v->dev, qemu & vnet_features(&v->dev)), 0);
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(MQ)), 0);
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(CTRL_RX)), 0);
	/* offload dependencies are the driver's and still refused */
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(GUEST_TSO4) | NF(MQ)), -EINVAL);
	vt_free(v, 2);
}

/* F4: the header size is derived once, at negotiation, for every pair. */
static void test_F4_header_size_derived_at_negotiation(void **state)
{
	struct vt *v = vt_new(2, NET_OFF_ALL, 1500);

	(void)state;
	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(CSUM) | NF(GUEST_CSUM) |
							    NF(GUEST_TSO4) | NF(GUEST_TSO6)),
			 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(v->dev.qp[i].hdr_size, 12);
		assert_int_equal(v->f[i].last_hdr_len, 12);
		assert_int_equal(v->f[i].last_off, NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6);
	}
	assert_int_equal(vnet_set_features(&v->dev, NF(CSUM)), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(v->dev.qp[i].hdr_size, 10);
		assert_int_equal(v->f[i].last_hdr_len, 10);
		assert_int_equal(v->f[i].last_off, 0); /* guest took no offload */
	}
	assert_int_equal(vnet_set_features(&v->dev, NF(MRG_RXBUF)), 0);
	assert_int_equal(v->dev.qp[1].hdr_size, 12);
	vt_free(v, 2);
}

static void test_vnet_set_features_while_running_busy(void **state)
{
	struct nt *t = nt_new(NT_V1, 64);

	(void)state;
	assert_int_equal(vnet_set_features(t->dev, NT_V1 | NF(MRG_RXBUF)), -EBUSY);
	assert_int_equal(nt_qp(t)->hdr_size, 12);
	nt_free(t);
}

static void test_vnet_config_space(void **state)
{
	struct vt *v = vt_new(2, NET_OFF_ALL, 9000);
	struct virtio_net_config c;
	uint8_t b[4], mac[6] = { 9, 9, 9, 9, 9, 9 };

	(void)state;
	assert_int_equal(vnet_get_config(&v->dev, 0, &c, sizeof(c)), 0);
	assert_int_equal(c.mac[0], 2);
	assert_int_equal(c.mac[5], 5);
	assert_int_equal(le16toh(c.status), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(le16toh(c.max_virtqueue_pairs), 2);
	assert_int_equal(le16toh(c.mtu), 9000);
	assert_int_equal(vnet_get_config(&v->dev, 10, b, 2), 0);
	assert_int_equal(b[0] | b[1] << 8, 9000);
	/* out of range, including offsets that would wrap off + len */
	assert_int_equal(vnet_get_config(&v->dev, 10, b, 4), -EINVAL);
	assert_int_equal(vnet_get_config(&v->dev, 13, b, 0), -EINVAL);
	assert_int_equal(vnet_get_config(&v->dev, 0xffffffffu, b, 2), -EINVAL);
	assert_int_equal(vnet_get_config(&v->dev, 2, b, 0xfffffffeu), -EINVAL);
	/* writes: read-only for a VERSION_1 driver; legacy may set the mac */
	assert_int_equal(vnet_set_features(&v->dev, NT_V1), 0);
	assert_int_equal(vnet_set_config(&v->dev, 0, mac, 6), -EPERM);
	assert_int_equal(vnet_set_features(&v->dev, 0), 0);
	assert_int_equal(vnet_set_config(&v->dev, 6, mac, 2), -EPERM);
	assert_int_equal(vnet_set_config(&v->dev, 0xffffffffu, mac, 2), -EINVAL);
	assert_int_equal(vnet_set_config(&v->dev, 0, mac, 6), 0);
	assert_int_equal(vnet_get_config(&v->dev, 0, &c, 6), 0);
	assert_memory_equal(c.mac, mac, 6);
	vt_free(v, 2);
}

static void test_vnet_link_status(void **state)
{
	struct vt *v = vt_new(1, NET_OFF_ALL, 1500);
	uint16_t s;

	(void)state;
	assert_false(vnet_set_link(&v->dev, true));
	assert_true(vnet_set_link(&v->dev, false));
	assert_int_equal(vnet_get_config(&v->dev, 6, &s, 2), 0);
	assert_int_equal(le16toh(s) & VIRTIO_NET_S_LINK_UP, 0);
	assert_true(vnet_set_link(&v->dev, true));
	vt_free(v, 1);
}

static void test_vnet_queue_index_mapping(void **state)
{
	struct vt *v = vt_new(2, NET_OFF_ALL, 1500);
	struct drvsim *ds = drvsim_new_flat(NT_RAM_GPA, 1 << 20);
	uint64_t d, a, u, base;
	struct drvsim_split *q;
	struct vq_cfg cfg;

	(void)state;
	assert_non_null(ds);
	base = drvsim_alloc(ds, drvsim_split_layout(16, 0, &d, &a, &u), 4096);
	drvsim_split_layout(16, base, &d, &a, &u);
	q = drvsim_split_new(ds, 16, d, a, u, 0);
	drvsim_split_cfg(q, &cfg, NT_V1);
	/* before negotiation nothing starts */
	assert_int_equal(vnet_queue_start(&v->dev, 0, &ds->gm, &cfg), -EINVAL);

	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(CTRL_VQ)), 0);
	assert_int_equal(vnet_ctrl_qidx(&v->dev), 2);
	/* without MQ only pair 0 exists, and index 2 is the control queue */
	assert_int_equal(vnet_queue_start(&v->dev, 3, &ds->gm, &cfg), -EINVAL);
	assert_int_equal(vnet_queue_start(&v->dev, 2, &ds->gm, &cfg), 0);
	assert_true(v->dev.ctrl.started);
	assert_int_equal(vnet_queue_start(&v->dev, 2, &ds->gm, &cfg), -EBUSY);
	assert_int_equal(vnet_queue_stop(&v->dev, 2, NULL), 0);

	assert_int_equal(vnet_set_features(&v->dev, NT_V1 | NF(CTRL_VQ) | NF(MQ)), 0);
	assert_int_equal(vnet_ctrl_qidx(&v->dev), 4);
	assert_int_equal(vnet_queue_start(&v->dev, 3, &ds->gm, &cfg), 0);
	assert_true(v->dev.qp[1].tx.started);
	assert_int_equal(vnet_queue_stop(&v->dev, 3, NULL), 0);
	assert_int_equal(vnet_queue_start(&v->dev, 5, &ds->gm, &cfg), -EINVAL);
	assert_int_equal(vnet_queue_stop(&v->dev, 5, NULL), -EINVAL);
	/* ring format must match the negotiation */
	cfg.fmt = VQ_FMT_PACKED;
	assert_int_equal(vnet_queue_start(&v->dev, 0, &ds->gm, &cfg), -EINVAL);
	/* the run functions refuse stopped queues */
	assert_int_equal(net_tx_run(&v->dev.qp[0], 8), -EINVAL);
	assert_int_equal(net_rx_run(&v->dev.qp[0], 8), -EINVAL);
	assert_int_equal(net_ctrl_run(&v->dev, 8), -EINVAL);
	drvsim_split_free(q);
	drvsim_free(ds);
	vt_free(v, 2);
}

/* seed 003 (page_pool v2: pools made for num_online_cpus, not
 * max_queue_pairs): every pair up to the maximum gets its buffers at init,
 * before the driver ever raises the pair count. */
static void test_seed003_buffers_for_every_pair_up_front(void **state)
{
	struct vt *v = vt_new(2, NET_OFF_ALL, 1500);

	(void)state;
	assert_int_equal(v->dev.curr_pairs, 1);
	for (unsigned i = 0; i < 2; i++) {
		assert_non_null(v->dev.qp[i].rx_buf);
		assert_ptr_equal(v->dev.qp[i].be, &v->be[i]);
		assert_ptr_equal(v->dev.qp[i].tx_chain.iov, v->dev.qp[i].tx_iov);
		assert_int_equal(v->dev.qp[i].rx_res[VNET_RX_SLOTS - 1].c.iov_cap, VNET_RX_SEG);
	}
	assert_ptr_not_equal(v->dev.qp[0].rx_buf, v->dev.qp[1].rx_buf);
	vt_free(v, 2);
}

static void test_vnet_init_bad_params(void **state)
{
	struct vnet_params p = { .max_pairs = 0 };
	struct vnet *dev = calloc(1, sizeof(*dev));
	struct net_backend be, *bep = &be;

	(void)state;
	net_null_init(&be);
	assert_int_equal(vnet_init(dev, &p, &bep), -EINVAL);
	p.max_pairs = VNET_MAX_PAIRS + 1;
	assert_int_equal(vnet_init(dev, &p, &bep), -EINVAL);
	p.max_pairs = 1;
	p.mtu = 67;
	assert_int_equal(vnet_init(dev, &p, &bep), -EINVAL);
	p.mtu = 0;
	assert_int_equal(vnet_init(dev, &p, &bep), 0);
	assert_false(vnet_features(dev) & NF(MAC)); /* zero mac: not offered */
	vnet_destroy(dev);
	free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vnet_offers_what_the_backend_accepts),
		cmocka_unit_test(test_vnet_set_features_refuses_unoffered_and_bad_deps),
		cmocka_unit_test(test_vnet_ctrl_deps_left_to_frontend),
		cmocka_unit_test(test_F4_header_size_derived_at_negotiation),
		cmocka_unit_test(test_vnet_set_features_while_running_busy),
		cmocka_unit_test(test_vnet_config_space),
		cmocka_unit_test(test_vnet_link_status),
		cmocka_unit_test(test_vnet_queue_index_mapping),
		cmocka_unit_test(test_seed003_buffers_for_every_pair_up_front),
		cmocka_unit_test(test_vnet_init_bad_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
