// SPDX-License-Identifier: Apache-2.0
/*
 * test_net_noalloc.c - the virtio-net data path never allocates (STYLE.md
 * rule 4; seed 002 "per-packet malloc/free").
 *
 * Mirrors test_virtq_noalloc.c: linked with --wrap=malloc,calloc,realloc so
 * every allocation from the statically linked core, net library and
 * simulator is counted.  Counting starts after vnet_init, negotiation and
 * queue start; then TX (sent, dropped, bad chain, EAGAIN pending, retry), RX
 * (direct, bounce, mergeable waiting for buffers, drops, EOF, blocked),
 * control commands and queue stop run, and the counter must stay at zero.
 * A self-check proves the interposition is live.
 */
#include "tests/unit/nettest.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static int counting;
static unsigned long alloc_calls;

void *__wrap_malloc(size_t size)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
	return __real_realloc(p, size);
}

static void count_on(void)
{
	alloc_calls = 0;
	__atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
}

static unsigned long count_off(void)
{
	__atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
	return alloc_calls;
}

static void test_wrap_is_live(void **state)
{
	void *volatile p;

	(void)state;
	count_on();
	p = malloc(16);
	assert_int_equal(count_off(), 1);
	free(p);
	count_on();
	p = calloc(2, 8);
	p = realloc(p, 64);
	assert_int_equal(count_off(), 2);
	free(p);
}

static uint8_t frame[70000];

static void datapath(uint64_t features)
{
	struct nt *t = nt_new(features, 64);
	struct vnet_qp *qp = nt_qp(t);
	struct net_hdr h = { 0 };
	struct drvsim_buf tx, short_tx, bad = { 0x10, 64, false }, rx[48];
	uint64_t rxg[48];

	/* guest memory set up before counting (the driver's side) */
	nt_frame(frame, sizeof(frame), 1);
	tx = (struct drvsim_buf){ nt_tx_buf(t, &h, frame, 1500), 1512, false };
	short_tx = (struct drvsim_buf){ tx.gpa, 8, false };
	for (int i = 0; i < 48; i++) {
		rxg[i] = nt_alloc(t, 2048);
		rx[i] = (struct drvsim_buf){ rxg[i], 2048, true };
	}

	count_on();
	/* TX: sent, dropped, bad chain, EAGAIN then retry */
	nt_add(t, 1, &tx, 1);
	nt_add(t, 1, &short_tx, 1);
	nt_add(t, 1, &bad, 1);
	assert_int_equal(net_tx_run(qp, 64), 3);
	t->fault.writev_force = true;
	t->fault.writev_ret = -EAGAIN;
	nt_add(t, 1, &tx, 1);
	assert_int_equal(net_tx_run(qp, 64), 0);
	t->fault.writev_force = false;
	assert_int_equal(net_tx_run(qp, 64), 1);
	/* RX: blocked, bounce, mergeable waiting, direct, drops, EOF */
	nt_peer_send(t, &h, frame, 1000);
	assert_int_equal(net_rx_run(qp, 64), 0);
	nt_add(t, 0, &rx[0], 1);
	assert_true(net_rx_run(qp, 64) >= 1);
	nt_peer_send(t, &h, frame, 3000);
	assert_true(net_rx_run(qp, 64) >= 0);
	for (int i = 1; i < 48; i++)
		nt_add(t, 0, &rx[i], 1);
	assert_true(net_rx_run(qp, 64) >= 0);
	nt_peer_send(t, &h, frame, 5);
	nt_peer_send(t, &h, frame, 9000);
	assert_true(net_rx_run(qp, 64) >= 0);
	t->fault.readv_force = true;
	t->fault.readv_ret = 0;
	assert_int_equal(net_rx_run(qp, 64), -EPIPE);
	t->fault.readv_force = false;
	/* stop returns what is held, without allocating either */
	assert_int_equal(vnet_queue_stop(t->dev, 0, NULL), 0);
	assert_int_equal(count_off(), 0);
	nt_ring(t, 0);
	nt_free(t);
}

static void test_seed002_no_malloc_on_data_path_split(void **state)
{
	(void)state;
	datapath(NT_V1 | NF(MRG_RXBUF) | NF(CSUM) | NF(GUEST_CSUM));
}

static void test_seed002_no_malloc_on_data_path_packed_nonmrg(void **state)
{
	(void)state;
	datapath(NT_V1 | NT_PACKED | NF(CSUM) | NF(GUEST_CSUM));
}

static void test_net_ctrl_no_alloc(void **state)
{
	struct nt *t = nt_new(NT_V1 | NF(CTRL_VQ) | NF(CTRL_RX), 64);
	uint8_t cmd[3] = { 0, 0, 1 };
	struct drvsim_buf b[2];
	uint64_t d, a, u, base;
	struct drvsim_split *q;
	struct vq_cfg cfg;

	(void)state;
	base = nt_alloc(t, drvsim_split_layout(16, 0, &d, &a, &u) + 4096);
	base = (base + 4095) & ~4095ULL;
	drvsim_split_layout(16, base, &d, &a, &u);
	q = drvsim_split_new(t->ds, 16, d, a, u, 0);
	assert_non_null(q);
	drvsim_split_cfg(q, &cfg, t->features);
	assert_int_equal(vnet_queue_start(t->dev, 2, &t->ds->gm, &cfg), 0);
	b[0] = (struct drvsim_buf){ nt_alloc(t, 16), 3, false };
	b[1] = (struct drvsim_buf){ nt_alloc(t, 16), 1, true };
	assert_int_equal(drvsim_write(t->ds, b[0].gpa, cmd, 3), 0);
	count_on();
	assert_true(drvsim_split_add(q, b, 2) >= 0);
	assert_true(drvsim_split_add(q, b, 1) >= 0);
	assert_int_equal(net_ctrl_run(t->dev, 16), 2);
	assert_int_equal(count_off(), 0);
	assert_true(t->dev->rx_mode.promisc);
	assert_int_equal(vnet_queue_stop(t->dev, 2, NULL), 0);
	drvsim_split_free(q);
	nt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_is_live),
		cmocka_unit_test(test_seed002_no_malloc_on_data_path_split),
		cmocka_unit_test(test_seed002_no_malloc_on_data_path_packed_nonmrg),
		cmocka_unit_test(test_net_ctrl_no_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
