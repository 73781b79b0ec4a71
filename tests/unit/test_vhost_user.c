// SPDX-License-Identifier: Apache-2.0
/*
 * test_vhost_user.c - the vhost-user backend state machine (core/vhost_user.c)
 * driven over a socketpair by the test frontend (tests/support/vu_front.c).
 *
 * The server runs in-process: the frontend's pump makes it receive and handle
 * exactly one message after every send, so request/reply pairs need no
 * threads.  The device behind it is a fake that records every call
 * (queue_start/stop/enable, reset, set_features) and checks the contract of
 * struct vu_dev_ops (no double start, no stop of a stopped ring, reset only
 * with every ring stopped); with real_vq set it starts a real struct vq on
 * the gmem it is given, so memory tables and ring addresses are really used.
 *
 * One named test per applicable row H1-H11 of research/hardening.md, then
 * the ring life cycle.  Every fixture counts open fds and memfd mappings
 * before the test and after teardown (vu_server_reset): every test is also a
 * leak test.  Descriptor hand-over is checked precisely with pipes: the test
 * sends the write end of a fresh pipe and closes its own copy; the read end
 * reports EOF only once every copy, the server's included, is closed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/vhost_user.h"
#include "core/virtq.h"
#include "tests/support/drvsim.h"
#include "tests/support/vu_front.h"

#define NQ 4

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x200000ULL
#define RING(i) (RAM_GPA + (uint64_t)(i) * 0x10000ULL)
#define BUF(i) (RAM_GPA + 0x100000ULL + (uint64_t)(i) * 0x1000ULL)

#define F_INDIRECT VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_PACKED VIRTIO_BIT(VIRTIO_F_RING_PACKED)
#define F_PF VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)
#define F_LOG_ALL VIRTIO_BIT(VHOST_F_LOG_ALL)

#define DEV_FEATURES (F_V1 | F_PACKED | F_EVENT_IDX | F_INDIRECT)
#define FEAT_SPLIT (F_V1 | F_EVENT_IDX | F_INDIRECT | F_PF)
#define FEAT_PACKED (FEAT_SPLIT | F_PACKED)

#define PF(b) VIRTIO_BIT(VHOST_USER_PROTOCOL_F_##b)
#define PF_ALL                                                                              \
	(PF(MQ) | PF(LOG_SHMFD) | PF(REPLY_ACK) | PF(CONFIG) | PF(RESET_DEVICE) |          \
	 PF(CONFIGURE_MEM_SLOTS) | PF(STATUS))
/* Not implemented by the backend: must never be offered (H10). */
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12

#define VER VHOST_USER_VERSION
#define NEED (VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK)

/* ---- fake device ---------------------------------------------------------- */

struct fq {
	bool running;
	bool enabled;
	unsigned starts, stops, enables;
	const struct gmem *gm;
	struct vq_cfg cfg;
	int kick_fd;
	bool has_stop_state;
	struct vq_state stop_state; /* what queue_stop reports (fake mode) */
	struct vq vq;               /* real mode */
};

struct fake_dev {
	uint64_t offered;
	uint64_t proto;
	unsigned max_vrings;
	bool real_vq;
	int start_err;
	unsigned violations;        /* contract breaches by the server */
	unsigned n_set_features, n_reset, n_set_config;
	uint64_t acked;
	uint8_t config[64];
	struct fq q[NQ];
};

static uint64_t fd_get_features(void *dev)
{
	return ((struct fake_dev *)dev)->offered;
}

static uint64_t fd_get_protocol_features(void *dev)
{
	return ((struct fake_dev *)dev)->proto;
}

static uint64_t fd_get_queue_num(void *dev)
{
	(void)dev;
	return NQ / 2;
}

static unsigned fd_max_vrings(void *dev)
{
	return ((struct fake_dev *)dev)->max_vrings;
}

static int fd_set_features(void *dev, uint64_t f)
{
	struct fake_dev *d = dev;

	d->n_set_features++;
	d->acked = f;
	if (f & (F_PF | F_LOG_ALL))
		d->violations++; /* the server must strip these */
	return 0;
}

static int fd_get_config(void *dev, uint32_t off, void *buf, uint32_t len)
{
	struct fake_dev *d = dev;

	if (off > sizeof(d->config) || len > sizeof(d->config) - off)
		return -EINVAL;
	memcpy(buf, d->config + off, len);
	return 0;
}

static int fd_set_config(void *dev, uint32_t off, const void *buf, uint32_t len,
			 uint32_t flags)
{
	struct fake_dev *d = dev;

	(void)flags;
	if (off > sizeof(d->config) || len > sizeof(d->config) - off)
		return -EINVAL;
	memcpy(d->config + off, buf, len);
	d->n_set_config++;
	return 0;
}

static int fd_queue_start(void *dev, unsigned idx, const struct gmem *gm,
			  const struct vq_cfg *cfg, int kick_fd, bool enabled)
{
	struct fake_dev *d = dev;
	struct fq *q;

	if (idx >= NQ || idx >= d->max_vrings) {
		d->violations++;
		return -EINVAL;
	}
	q = &d->q[idx];
	if (q->running || kick_fd < 0 || fcntl(kick_fd, F_GETFD) < 0)
		d->violations++;
	if (d->start_err)
		return d->start_err;
	if (d->real_vq) {
		int err = vq_start(&q->vq, gm, cfg);

		if (err)
			return err;
	}
	q->running = true;
	q->enabled = enabled;
	q->starts++;
	q->gm = gm;
	q->cfg = *cfg;
	q->kick_fd = kick_fd;
	return 0;
}

static void fd_queue_stop(void *dev, unsigned idx, struct vq_state *st)
{
	struct fake_dev *d = dev;
	struct fq *q;

	if (idx >= NQ || !d->q[idx].running) {
		d->violations++;
		return;
	}
	q = &d->q[idx];
	if (d->real_vq)
		vq_stop(&q->vq, st);
	else
		*st = q->has_stop_state ? q->stop_state : q->cfg.base;
	q->running = false;
	q->stops++;
}

static void fd_queue_enable(void *dev, unsigned idx, bool enabled)
{
	struct fake_dev *d = dev;

	if (idx >= NQ || !d->q[idx].running) {
		d->violations++;
		return;
	}
	d->q[idx].enabled = enabled;
	d->q[idx].enables++;
}

static void fd_reset(void *dev)
{
	struct fake_dev *d = dev;

	for (unsigned i = 0; i < NQ; i++) {
		if (d->q[i].running)
			d->violations++;
	}
	d->n_reset++;
}

static const struct vu_dev_ops fake_ops = {
	.get_features = fd_get_features,
	.get_protocol_features = fd_get_protocol_features,
	.get_queue_num = fd_get_queue_num,
	.max_vrings = fd_max_vrings,
	.set_features = fd_set_features,
	.get_config = fd_get_config,
	.set_config = fd_set_config,
	.queue_start = fd_queue_start,
	.queue_stop = fd_queue_stop,
	.queue_enable = fd_queue_enable,
	.reset = fd_reset,
};

static unsigned total_starts(const struct fake_dev *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NQ; i++)
		n += d->q[i].starts;
	return n;
}

static unsigned total_stops(const struct fake_dev *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NQ; i++)
		n += d->q[i].stops;
	return n;
}

/* ---- resource accounting -------------------------------------------------- */

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Mappings of memfds (guest RAM, logs): the server's and the test's. */
static unsigned count_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	unsigned n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "/memfd:"))
			n++;
	}
	fclose(f);
	return n;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/*
 * A pipe whose write end is to be sent: returns the write end; *@rd is the
 * read end, non-blocking.  After the test closed its own write end,
 * pipe_writers_gone(*rd) tells whether every other copy is closed too.
 */
static int tracer(int *rd)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	*rd = p[0];
	return p[1];
}

static bool pipe_writers_gone(int rd)
{
	char c;
	ssize_t r = read(rd, &c, 1);

	return r == 0;
}

static int make_memfd(size_t size)
{
	int fd = memfd_create("vu_test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static int make_efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static uint64_t efd_read(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static void efd_write(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* ---- fixture -------------------------------------------------------------- */

struct vt {
	unsigned fds0, maps0;   /* before the fixture existed */
	int sv[2];              /* [0] frontend, [1] server */
	struct vu_server s;
	struct fake_dev dev;
	struct vu_front f;
	int recv_rc, handle_rc;
	unsigned pumps;
	struct drvsim *ds;
	struct drvsim_split *sq[NQ];
	struct drvsim_packed *pq[NQ];
	int kick[NQ], call[NQ], err[NQ];
};

static int vt_pump(void *arg)
{
	struct vt *t = arg;
	struct vu_msg m;

	t->pumps++;
	t->handle_rc = 0;
	t->recv_rc = vu_server_recv(&t->s, &m);
	if (t->recv_rc)
		return t->recv_rc;
	t->handle_rc = vu_server_handle(&t->s, &m);
	return t->handle_rc;
}

static void vt_dev_init(struct fake_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->offered = DEV_FEATURES;
	d->proto = PF(MQ) | PF(CONFIG);
	d->max_vrings = NQ;
	for (unsigned i = 0; i < NQ; i++) {
		vq_init(&d->q[i].vq);
		d->q[i].kick_fd = -1;
	}
	for (unsigned i = 0; i < sizeof(d->config); i++)
		d->config[i] = (uint8_t)(0xa0 + i);
}

static int vt_setup(void **state)
{
	unsigned fds0 = count_fds(), maps0 = count_memfd_maps();
	struct timeval tv = { .tv_sec = 2 };
	struct vt *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->fds0 = fds0;
	t->maps0 = maps0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t->sv))
		return -1;
	/* a framing bug in the server must fail the test, not hang it */
	setsockopt(t->sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	vt_dev_init(&t->dev);
	vu_server_init(&t->s, &fake_ops, &t->dev, t->sv[1]);
	vu_front_init_fd(&t->f, t->sv[0]);
	vu_front_set_pump(&t->f, vt_pump, t);
	for (unsigned i = 0; i < NQ; i++) {
		t->kick[i] = make_efd();
		t->call[i] = make_efd();
		t->err[i] = make_efd();
	}
	*state = t;
	return 0;
}

static int vt_teardown(void **state)
{
	struct vt *t = *state;
	unsigned violations, fds0, maps0;
	bool running = false;

	vu_server_reset(&t->s);
	for (unsigned i = 0; i < NQ; i++) {
		running |= t->dev.q[i].running;
		drvsim_split_free(t->sq[i]);
		drvsim_packed_free(t->pq[i]);
		close(t->kick[i]);
		close(t->call[i]);
		close(t->err[i]);
	}
	violations = t->dev.violations;
	drvsim_free(t->ds);
	vu_front_close(&t->f);
	close(t->sv[1]);
	fds0 = t->fds0;
	maps0 = t->maps0;
	free(t);
	assert_false(running);
	assert_int_equal(violations, 0);
	/* vu_server_reset released every fd and mapping the server held */
	assert_int_equal(count_fds(), fds0);
	assert_int_equal(count_memfd_maps(), maps0);
	return 0;
}

#define VT(f) cmocka_unit_test_setup_teardown(f, vt_setup, vt_teardown)

/* Send one framed message (pumped); returns vu_server_handle's verdict. */
static int vt_send(struct vt *t, uint32_t req, uint32_t flags, const void *p, uint32_t size,
		   const int *fds, unsigned nfds)
{
	assert_int_equal(vu_front_send(&t->f, req, flags, p, size, fds, nfds), 0);
	return t->recv_rc ? t->recv_rc : t->handle_rc;
}

/* Send with NEED_REPLY and return the REPLY_ACK value (-1: no ack came). */
static long vt_acked(struct vt *t, uint32_t req, const void *p, uint32_t size, const int *fds,
		     unsigned nfds)
{
	struct vu_msg r;

	vt_send(t, req, NEED, p, size, fds, nfds);
	if (vu_front_recv(&t->f, &r))
		return -1;
	assert_int_equal(r.hdr.request, req);
	assert_true(r.hdr.flags & VHOST_USER_REPLY_MASK);
	assert_int_equal(r.hdr.size, 8);
	assert_int_equal(r.nfds, 0);
	return (long)r.p.u64;
}

static void vt_no_reply(struct vt *t)
{
	struct vu_msg r;

	assert_int_equal(vu_front_recv(&t->f, &r), -EAGAIN);
}

/* GET_FEATURES, SET_OWNER, protocol features @pf, SET_FEATURES @features. */
static void vt_bringup(struct vt *t, uint64_t features, uint64_t pf)
{
	uint64_t got;

	assert_int_equal(vu_front_get_features(&t->f, &got), 0);
	assert_int_equal(got & features, features);
	assert_int_equal(vu_front_set_owner(&t->f), 0);
	if (pf) {
		assert_int_equal(vu_front_get_protocol_features(&t->f, &got), 0);
		assert_int_equal(got & pf, pf);
		assert_int_equal(vu_front_set_protocol_features(&t->f, pf), 0);
		assert_int_equal(t->s.protocol_features, pf);
	}
	assert_int_equal(vu_front_set_features(&t->f, features), 0);
	assert_true(t->s.features_acked);
}

static void vt_ram(struct vt *t)
{
	if (!t->ds)
		t->ds = drvsim_new_flat(RAM_GPA, RAM_SIZE);
	assert_non_null(t->ds);
}

static void vt_mem(struct vt *t)
{
	vt_ram(t);
	assert_int_equal(vu_front_set_mem_table_ds(&t->f, t->ds), 0);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, t->ds->nr);
}

static struct drvsim_split *vt_split(struct vt *t, unsigned idx, uint16_t size, uint64_t base)
{
	uint64_t d, a, u;

	vt_ram(t);
	drvsim_split_free(t->sq[idx]);
	drvsim_split_layout(size, base, &d, &a, &u);
	t->sq[idx] = drvsim_split_new(t->ds, size, d, a, u, 0);
	assert_non_null(t->sq[idx]);
	return t->sq[idx];
}

static struct drvsim_packed *vt_packed(struct vt *t, unsigned idx, uint16_t size, uint64_t base)
{
	uint64_t r, drv, dev;

	vt_ram(t);
	drvsim_packed_free(t->pq[idx]);
	drvsim_packed_layout(size, base, &r, &drv, &dev);
	t->pq[idx] = drvsim_packed_new(t->ds, size, r, drv, dev);
	assert_non_null(t->pq[idx]);
	return t->pq[idx];
}

/* Configure ring @idx from a vu_front_vring with the fixture's eventfds. */
static void vt_ring_setup(struct vt *t, unsigned idx, struct vu_front_vring *v)
{
	v->kick = t->kick[idx];
	v->call = t->call[idx];
	assert_int_equal(vu_front_vring_setup(&t->f, idx, v), 0);
}

/* Split ring @idx of @size at RING(@idx), fully configured and started. */
static struct drvsim_split *vt_start_split(struct vt *t, unsigned idx, uint16_t size)
{
	struct drvsim_split *q = vt_split(t, idx, size, RING(idx));
	struct vu_front_vring v;
	unsigned starts = t->dev.q[idx].starts;

	vu_front_vring_split(q, &v);
	vt_ring_setup(t, idx, &v);
	assert_true(t->dev.q[idx].running);
	assert_true(t->s.vr[idx].started);
	assert_true(t->dev.q[idx].starts > starts);
	return q;
}

static struct drvsim_packed *vt_start_packed(struct vt *t, unsigned idx, uint16_t size)
{
	struct drvsim_packed *q = vt_packed(t, idx, size, RING(idx));
	struct vu_front_vring v;

	vu_front_vring_packed(q, &v);
	vt_ring_setup(t, idx, &v);
	assert_true(t->dev.q[idx].running);
	return q;
}

/* Standard bring-up: features, all protocol features, memory. */
static void vt_ready(struct vt *t, uint64_t features)
{
	vt_bringup(t, features, PF_ALL);
	vt_mem(t);
}

/* Device side of one round trip on a real vq: pop, write @n bytes, push, flush. */
static uint16_t vt_dev_serve(struct vt *t, unsigned idx, uint32_t n)
{
	struct vq *vq = &t->dev.q[idx].vq;
	struct iovec iov[16];
	struct vq_chain c;
	uint32_t left = n;

	vq_chain_init(&c, iov, 16);
	assert_int_equal(vq_pop(vq, &c), VQ_OK);
	for (unsigned k = c.n_out; k < (unsigned)c.n_out + c.n_in && left; k++) {
		size_t m = iov[k].iov_len < left ? iov[k].iov_len : left;

		memset(iov[k].iov_base, 0x5a, m);
		left -= (uint32_t)m;
	}
	assert_int_equal(vq_push(vq, &c, n), 0);
	vq_flush_signal(vq);
	return c.id;
}

/* Snapshot of the per-ring server state, to prove a refused message changed nothing. */
struct vr_snap {
	struct vu_vring vr[VU_MAX_VRINGS];
};

static void vt_snap(const struct vt *t, struct vr_snap *s)
{
	memcpy(s->vr, t->s.vr, sizeof(s->vr));
}

static void vt_assert_unchanged(const struct vt *t, const struct vr_snap *s)
{
	assert_memory_equal(s->vr, t->s.vr, sizeof(s->vr));
}

/* ---- H1: header framing --------------------------------------------------- */

/* H1: 5 bytes of a header, then EOF: a framing error, not a message. */
static void test_H1_short_header_then_eof(void **state)
{
	struct vt *t = *state;
	struct vu_hdr h = { VHOST_USER_SET_OWNER, VER, 0 };
	int rd, wr = tracer(&rd);

	assert_int_equal(vu_front_send_raw(&t->f, &h, 5, &wr, 1), 0);
	close(wr);
	assert_int_equal(shutdown(t->sv[0], SHUT_WR), 0);
	assert_int_equal(vu_front_pump(&t->f), -EPROTO);
	assert_int_equal(t->recv_rc, -EPROTO);
	assert_false(t->s.owner);
	assert_int_equal(t->s.stats.msgs, 0);
	assert_true(pipe_writers_gone(rd)); /* the fd that came with it is closed */
	close(rd);
}

/* H1: EOF exactly between messages is an orderly disconnect. */
static void test_H1_eof_at_message_boundary(void **state)
{
	struct vt *t = *state;

	assert_int_equal(vu_front_set_owner(&t->f), 0);
	assert_true(t->s.owner);
	assert_int_equal(shutdown(t->sv[0], SHUT_WR), 0);
	assert_int_equal(vu_front_pump(&t->f), -ECONNRESET);
}

/* H1: a header arriving in pieces is reassembled (short reads are looped). */
static void test_H1_header_in_pieces(void **state)
{
	struct vt *t = *state;
	struct {
		struct vu_hdr h;
		uint64_t f;
	} __attribute__((packed)) m = { { VHOST_USER_GET_FEATURES, VER, 0 }, 0 };
	const uint8_t *b = (const uint8_t *)&m;
	struct vu_msg r;

	assert_int_equal(vu_front_send_raw(&t->f, b, 1, NULL, 0), 0);
	assert_int_equal(vu_front_send_raw(&t->f, b + 1, 6, NULL, 0), 0);
	assert_int_equal(vu_front_send_raw(&t->f, b + 7, 5, NULL, 0), 0);
	assert_int_equal(vu_front_pump(&t->f), 0);
	assert_int_equal(vu_front_recv(&t->f, &r), 0);
	assert_int_equal(r.hdr.request, VHOST_USER_GET_FEATURES);
	assert_int_equal(r.hdr.size, 8);
	assert_int_equal(r.p.u64, DEV_FEATURES | F_PF | F_LOG_ALL);
	/* and the payload of the next message too */
	m.h.request = VHOST_USER_SET_FEATURES;
	m.h.size = 8;
	m.f = F_V1;
	assert_int_equal(vu_front_send_raw(&t->f, b, 12 + 3, NULL, 0), 0);
	assert_int_equal(vu_front_send_raw(&t->f, b + 15, 5, NULL, 0), 0);
	assert_int_equal(vu_front_pump(&t->f), 0);
	assert_int_equal(t->dev.n_set_features, 1);
	assert_int_equal(t->dev.acked, F_V1);
}

/* ---- H2: payload framing -------------------------------------------------- */

/* H2: hdr.size larger than the payload union: the connection is dropped. */
static void test_H2_payload_larger_than_union(void **state)
{
	struct vt *t = *state;
	static const uint32_t sizes[] = { sizeof(union vu_payload) + 1, 4096, 0x7fffffff,
					  0xffffffff };

	for (unsigned i = 0; i < VH_ARRAY_SIZE(sizes); i++) {
		struct vu_hdr h = { VHOST_USER_SET_FEATURES, VER, sizes[i] };
		uint8_t junk[600];
		int rd, wr = tracer(&rd);

		memset(junk, 0xff, sizeof(junk));
		assert_int_equal(vu_front_send_raw(&t->f, &h, sizeof(h), &wr, 1), 0);
		close(wr);
		assert_int_equal(vu_front_send_raw(&t->f, junk, sizeof(junk), NULL, 0), 0);
		assert_int_equal(vu_front_pump(&t->f), -EPROTO);
		assert_int_equal(t->dev.n_set_features, 0);
		assert_true(pipe_writers_gone(rd));
		close(rd);
		/* resynchronise the test stream: drain what the server did not read */
		while (recv(t->sv[1], junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
	}
}

/* H2: the payload is cut short by EOF. */
static void test_H2_short_payload_then_eof(void **state)
{
	struct vt *t = *state;
	struct vu_hdr h = { VHOST_USER_SET_VRING_ADDR, VER, sizeof(struct vu_vring_addr) };
	uint8_t half[20] = { 0 };
	int rd, wr = tracer(&rd);

	assert_int_equal(vu_front_send_raw(&t->f, &h, sizeof(h), &wr, 1), 0);
	close(wr);
	assert_int_equal(vu_front_send_raw(&t->f, half, sizeof(half), NULL, 0), 0);
	assert_int_equal(shutdown(t->sv[0], SHUT_WR), 0);
	assert_int_equal(vu_front_pump(&t->f), -EPROTO);
	assert_false(t->s.vr[0].addr_set);
	assert_true(pipe_writers_gone(rd));
	close(rd);
}

/* H2: only protocol version 1 is spoken. */
static void test_H2_bad_version_flags(void **state)
{
	struct vt *t = *state;
	static const uint32_t bad[] = { 0, 2, 3, VHOST_USER_NEED_REPLY_MASK };

	/* size 0: a refused header leaves no payload behind in the stream */
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		assert_int_equal(vt_send(t, VHOST_USER_SET_OWNER, bad[i], NULL, 0, NULL, 0),
				 -EPROTO);
		assert_false(t->s.owner);
	}
	assert_int_equal(vt_send(t, VHOST_USER_SET_OWNER, VER, NULL, 0, NULL, 0), 0);
	assert_true(t->s.owner);
}

/* ---- H3: per-request payload size ---------------------------------------- */

struct size_case {
	uint32_t req;
	uint32_t size;  /* a wrong size */
	uint8_t nfds;   /* fds the request would normally carry */
	bool replies;   /* has its own reply: refusal closes the connection */
};

static const struct size_case bad_sizes[] = {
	{ VHOST_USER_GET_FEATURES, 9, 0, true },
	{ VHOST_USER_GET_FEATURES, 16, 0, true },
	{ VHOST_USER_SET_FEATURES, 0, 0, false },
	{ VHOST_USER_SET_FEATURES, 4, 0, false },
	{ VHOST_USER_SET_FEATURES, 9, 0, false },
	{ VHOST_USER_SET_OWNER, 9, 0, false },
	{ VHOST_USER_RESET_OWNER, 9, 0, false },
	{ VHOST_USER_SET_MEM_TABLE, 0, 1, false },
	{ VHOST_USER_SET_MEM_TABLE, 8 + 32 - 1, 1, false },
	{ VHOST_USER_SET_MEM_TABLE, 8 + 32 + 1, 1, false },
	{ VHOST_USER_SET_MEM_TABLE, 8 + 2 * 32, 1, false }, /* nregions says 1 */
	{ VHOST_USER_SET_LOG_BASE, 8, 1, true },
	{ VHOST_USER_SET_LOG_BASE, 24, 1, true },
	{ VHOST_USER_SET_LOG_FD, 9, 1, false },
	{ VHOST_USER_SET_VRING_NUM, 4, 0, false },
	{ VHOST_USER_SET_VRING_NUM, 12, 0, false },
	{ VHOST_USER_SET_VRING_ADDR, 32, 0, false },
	{ VHOST_USER_SET_VRING_ADDR, 48, 0, false },
	{ VHOST_USER_SET_VRING_BASE, 0, 0, false },
	{ VHOST_USER_SET_VRING_BASE, 16, 0, false },
	{ VHOST_USER_GET_VRING_BASE, 4, 0, true },
	{ VHOST_USER_GET_VRING_BASE, 12, 0, true },
	{ VHOST_USER_SET_VRING_KICK, 4, 1, false },
	{ VHOST_USER_SET_VRING_KICK, 16, 1, false },
	{ VHOST_USER_SET_VRING_CALL, 0, 1, false },
	{ VHOST_USER_SET_VRING_ERR, 9, 1, false },
	{ VHOST_USER_GET_PROTOCOL_FEATURES, 9, 0, true },
	{ VHOST_USER_SET_PROTOCOL_FEATURES, 4, 0, false },
	{ VHOST_USER_SET_PROTOCOL_FEATURES, 16, 0, false },
	{ VHOST_USER_GET_QUEUE_NUM, 9, 0, true },
	{ VHOST_USER_SET_VRING_ENABLE, 4, 0, false },
	{ VHOST_USER_SET_VRING_ENABLE, 12, 0, false },
	{ VHOST_USER_GET_CONFIG, 11, 0, true },
	{ VHOST_USER_GET_CONFIG, VU_CONFIG_HDR_SIZE + 257, 0, true },
	{ VHOST_USER_SET_CONFIG, 11, 0, false },
	{ VHOST_USER_SET_CONFIG, VU_CONFIG_HDR_SIZE + 257, 0, false },
	{ VHOST_USER_SET_CONFIG, VU_CONFIG_HDR_SIZE + 5, 0, false }, /* config.size says 4 */
	{ VHOST_USER_RESET_DEVICE, 9, 0, false },
	{ VHOST_USER_GET_MAX_MEM_SLOTS, 9, 0, true },
	{ VHOST_USER_ADD_MEM_REG, 32, 1, false },
	{ VHOST_USER_ADD_MEM_REG, 48, 1, false },
	{ VHOST_USER_REM_MEM_REG, 32, 0, false },
	{ VHOST_USER_REM_MEM_REG, 48, 0, false },
	{ VHOST_USER_SET_STATUS, 4, 0, false },
	{ VHOST_USER_SET_STATUS, 12, 0, false },
	{ VHOST_USER_GET_STATUS, 9, 0, true },
};

/*
 * H3: every request refuses every wrong payload size, with a non-zero ack
 * (REPLY_ACK negotiated), an empty GET_CONFIG reply, or - for requests whose
 * reply the frontend waits for - a connection error and no reply at all.
 * Nothing observable changes: ring state, device calls, memory, fds.
 */
static void test_H3_wrong_payload_size_every_request(void **state)
{
	struct vt *t = *state;
	struct fake_dev before;
	struct vr_snap snap;
	int memfd = make_memfd(RAM_SIZE);

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);

	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad_sizes); i++) {
		const struct size_case *c = &bad_sizes[i];
		uint8_t p[sizeof(union vu_payload)];
		uint64_t errors = t->s.stats.errors, pf = t->s.protocol_features;
		uint64_t feat = t->s.features;
		unsigned fds = count_fds(), maps = count_memfd_maps();
		int fdv[1] = { memfd };
		struct vu_msg r;

		/* plausible contents: a valid message but for its size */
		memset(p, 0, sizeof(p));
		if (c->req == VHOST_USER_SET_MEM_TABLE) {
			struct vu_memory *m = (struct vu_memory *)p;

			m->nregions = 1;
			m->regions[0] = (struct vu_mem_region){ 0x40000000, 0x1000, 0x1000, 0 };
		} else if (c->req == VHOST_USER_SET_LOG_BASE) {
			((struct vu_log *)p)->mmap_size = 0x1000;
		} else if (c->req == VHOST_USER_GET_CONFIG || c->req == VHOST_USER_SET_CONFIG) {
			((struct vu_config *)p)->size = 4;
		} else if (c->req == VHOST_USER_ADD_MEM_REG || c->req == VHOST_USER_REM_MEM_REG) {
			((struct vu_mem_single *)p)->region =
				(struct vu_mem_region){ 0x40000000, 0x1000, 0x1000, 0 };
		} else if (c->req == VHOST_USER_SET_VRING_NUM) {
			((struct vu_vring_state *)p)->num = 128;
		} else if (c->req == VHOST_USER_SET_VRING_ENABLE) {
			((struct vu_vring_state *)p)->num = 1;
		} else if (c->req == VHOST_USER_SET_FEATURES) {
			memcpy(p, &(uint64_t){ F_V1 }, 8);
		}
		if (c->nfds && (c->req == VHOST_USER_SET_VRING_KICK ||
				c->req == VHOST_USER_SET_VRING_CALL ||
				c->req == VHOST_USER_SET_VRING_ERR ||
				c->req == VHOST_USER_SET_LOG_FD))
			fdv[0] = make_efd();
		else if (c->nfds)
			fdv[0] = dup(memfd);
		before = t->dev;
		vt_snap(t, &snap);

		vt_send(t, c->req, NEED, p, c->size, fdv, c->nfds);
		if (c->req == VHOST_USER_GET_CONFIG) {
			assert_int_equal(vu_front_recv(&t->f, &r), 0);
			assert_int_equal(r.hdr.request, c->req);
			assert_int_equal(r.hdr.size, 0); /* the error reply */
		} else if (c->replies) {
			assert_true(t->handle_rc < 0);
			vt_no_reply(t);
		} else {
			assert_int_equal(t->handle_rc, 0);
			assert_int_equal(vu_front_recv(&t->f, &r), 0);
			assert_int_equal(r.hdr.request, c->req);
			assert_int_equal(r.hdr.size, 8);
			assert_int_not_equal(r.p.u64, 0);
		}
		assert_int_equal(t->s.stats.errors, errors + 1);
		if (c->nfds)
			close(fdv[0]);
		/* nothing happened */
		vt_assert_unchanged(t, &snap);
		assert_int_equal(t->s.protocol_features, pf);
		assert_int_equal(t->s.features, feat);
		assert_int_equal(t->dev.n_set_features, before.n_set_features);
		assert_int_equal(t->dev.n_reset, before.n_reset);
		assert_int_equal(t->dev.n_set_config, before.n_set_config);
		assert_int_equal(total_starts(&t->dev), total_starts(&before));
		assert_int_equal(total_stops(&t->dev), total_stops(&before));
		assert_true(t->dev.q[0].running);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1);
		assert_null(t->s.log_base);
		assert_int_equal(count_fds(), fds);
		assert_int_equal(count_memfd_maps(), maps);
	}
	close(memfd);
}

/* H3: without REPLY_ACK a refused request gets no reply even with NEED_REPLY. */
static void test_H3_no_ack_without_reply_ack(void **state)
{
	struct vt *t = *state;
	uint64_t f = F_V1;

	assert_int_equal(vt_send(t, VHOST_USER_SET_FEATURES, NEED, &f, 4, NULL, 0), 0);
	vt_no_reply(t);
	assert_int_equal(t->s.stats.errors, 1);
	assert_int_equal(vt_send(t, VHOST_USER_SET_FEATURES, NEED, &f, 8, NULL, 0), 0);
	vt_no_reply(t);
	assert_int_equal(t->dev.n_set_features, 1);
}

/* REPLY_ACK: success is acked with 0, the request itself with NEED_REPLY. */
static void test_reply_ack_success_is_zero(void **state)
{
	struct vt *t = *state;
	uint64_t f = FEAT_SPLIT;

	vt_bringup(t, FEAT_SPLIT, PF(REPLY_ACK));
	assert_int_equal(vt_acked(t, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 0);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	/* refused: non-zero */
	f |= VIRTIO_BIT(63);
	assert_int_not_equal(vt_acked(t, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 0);
	/* without NEED_REPLY nothing comes back */
	assert_int_equal(vt_send(t, VHOST_USER_SET_OWNER, VER, NULL, 0, NULL, 0), 0);
	vt_no_reply(t);
}

/* Unknown requests (and request 0, which libvhost-user turns into exit()). */
static void test_unknown_request_refused(void **state)
{
	struct vt *t = *state;
	static const uint32_t reqs[] = { VHOST_USER_NONE, VHOST_USER_SEND_RARP,
					 VHOST_USER_IOTLB_MSG, VHOST_USER_POSTCOPY_ADVISE,
					 VHOST_USER_MAX_REQUEST, 99, 0xffffffff };
	uint64_t v = 0;

	vt_bringup(t, FEAT_SPLIT, PF(REPLY_ACK));
	for (unsigned i = 0; i < VH_ARRAY_SIZE(reqs); i++) {
		int rd, wr = tracer(&rd);

		assert_int_equal(vt_acked(t, reqs[i], &v, 8, &wr, 1), 1);
		assert_int_equal(t->handle_rc, 0); /* refused, connection kept */
		close(wr);
		assert_true(pipe_writers_gone(rd));
		close(rd);
	}
	assert_true(t->s.stats.fds_closed >= VH_ARRAY_SIZE(reqs));
}

/* ---- H4: fd accounting ----------------------------------------------------- */

/* H4: fds on requests that take none are refused and closed. */
static void test_H4_unexpected_fds_closed(void **state)
{
	struct vt *t = *state;
	static const uint32_t reqs[] = { VHOST_USER_SET_FEATURES, VHOST_USER_SET_OWNER,
					 VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_BASE,
					 VHOST_USER_SET_VRING_ENABLE,
					 VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_SET_STATUS,
					 VHOST_USER_RESET_DEVICE };
	uint8_t p[64];

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	memset(p, 0, sizeof(p));
	((struct vu_vring_state *)p)->num = 1;
	for (unsigned i = 0; i < VH_ARRAY_SIZE(reqs); i++) {
		uint64_t closed = t->s.stats.fds_closed, errors = t->s.stats.errors;
		unsigned fds = count_fds();
		int rd[3], wr[3];

		for (unsigned k = 0; k < 3; k++)
			wr[k] = tracer(&rd[k]);
		assert_int_equal(vt_acked(t, reqs[i], p, 8, wr, 1 + i % 3), 1);
		assert_int_equal(t->s.stats.errors, errors + 1);
		assert_int_equal(t->s.stats.fds_closed, closed + 1 + i % 3);
		for (unsigned k = 0; k < 3; k++) {
			close(wr[k]);
			assert_true(pipe_writers_gone(rd[k]));
			close(rd[k]);
		}
		assert_int_equal(count_fds(), fds);
	}
	/* the refused requests did nothing */
	assert_int_equal(t->dev.n_set_features, 1);
	assert_int_equal(t->dev.n_reset, 0);
	assert_int_equal(t->s.vr[0].num, 0);
	assert_false(t->s.vr[0].enabled);
	assert_int_equal(t->s.status, 0);

	/* a request with its own reply: refused, fd closed, no reply */
	{
		int rd, wr = tracer(&rd);

		assert_true(vt_send(t, VHOST_USER_GET_FEATURES, VER, NULL, 0, &wr, 1) < 0);
		vt_no_reply(t);
		close(wr);
		assert_true(pipe_writers_gone(rd));
		close(rd);
	}
}

/* H4: more fds than the request takes; the wrong kind of fd-less marker. */
static void test_H4_extra_fds_refused_and_closed(void **state)
{
	struct vt *t = *state;
	uint64_t idx = 0, nofd = VHOST_USER_VRING_NOFD_MASK;
	int rd[2], wr[2];

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	wr[0] = tracer(&rd[0]);
	wr[1] = tracer(&rd[1]);
	/* two fds on a kick */
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_KICK, &idx, 8, wr, 2), 1);
	/* NOFD flag together with an fd */
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_CALL, &nofd, 8, wr, 1), 1);
	/* no NOFD flag and no fd */
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ERR, &idx, 8, NULL, 0), 1);
	/* SET_LOG_FD and ADD_MEM_REG without their fd */
	assert_int_equal(vt_acked(t, VHOST_USER_SET_LOG_FD, NULL, 0, NULL, 0), 1);
	for (unsigned k = 0; k < 2; k++) {
		close(wr[k]);
		assert_true(pipe_writers_gone(rd[k]));
		close(rd[k]);
	}
	assert_int_equal(t->s.vr[0].kick_fd, -1);
	assert_int_equal(t->s.vr[0].call_fd, -1);
	assert_int_equal(t->s.vr[0].err_fd, -1);
	assert_int_equal(t->s.log_fd, -1);
}

/* H4: 9 or more fds overflow the control buffer (MSG_CTRUNC): error, all closed. */
static void test_H4_ctrunc_too_many_fds(void **state)
{
	struct vt *t = *state;
	static const unsigned counts[] = { 9, 16, 64 };

	for (unsigned c = 0; c < VH_ARRAY_SIZE(counts); c++) {
		unsigned n = counts[c], fds = count_fds();
		struct vu_hdr h = { VHOST_USER_SET_OWNER, VER, 0 };
		int rd[64], wr[64];

		for (unsigned k = 0; k < n; k++)
			wr[k] = tracer(&rd[k]);
		assert_int_equal(vu_front_send_raw(&t->f, &h, sizeof(h), wr, n), 0);
		for (unsigned k = 0; k < n; k++)
			close(wr[k]);
		assert_int_equal(vu_front_pump(&t->f), -EPROTO);
		assert_false(t->s.owner);
		for (unsigned k = 0; k < n; k++) {
			assert_true(pipe_writers_gone(rd[k]));
			close(rd[k]);
		}
		assert_int_equal(count_fds(), fds);
	}
	/* exactly 8 is fine framing-wise (and refused by SET_OWNER's rule) */
	{
		struct vu_hdr h = { VHOST_USER_SET_OWNER, VER, 0 };
		int rd[8], wr[8];

		for (unsigned k = 0; k < 8; k++)
			wr[k] = tracer(&rd[k]);
		assert_int_equal(vu_front_send_raw(&t->f, &h, sizeof(h), wr, 8), 0);
		assert_int_equal(vu_front_pump(&t->f), 0);
		assert_int_equal(t->s.stats.fds_closed, 8);
		for (unsigned k = 0; k < 8; k++) {
			close(wr[k]);
			assert_true(pipe_writers_gone(rd[k]));
			close(rd[k]);
		}
	}
}

/* H4: fds riding on payload bytes (a second sendmsg) never leak. */
static void test_H4_fds_on_payload_bytes_not_leaked(void **state)
{
	struct vt *t = *state;
	struct vu_hdr h = { VHOST_USER_SET_FEATURES, VER, 8 };
	uint64_t f = F_V1;
	int rd, wr = tracer(&rd);
	unsigned fds;

	assert_int_equal(vu_front_send_raw(&t->f, &h, sizeof(h), NULL, 0), 0);
	assert_int_equal(vu_front_send_raw(&t->f, &f, sizeof(f), &wr, 1), 0);
	close(wr);
	fds = count_fds();
	vu_front_pump(&t->f);
	assert_true(pipe_writers_gone(rd));
	close(rd);
	assert_true(count_fds() <= fds);
}

/* H4: a request refused by its handler still closes the fds it carried. */
static void test_H4_refused_handler_closes_fds(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x1000);
	unsigned fds, maps;
	struct vu_front_region r = { 0x100000, 0x2000, 0x7f0000000000ULL, 0, memfd };

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	fds = count_fds();
	maps = count_memfd_maps();
	/* region larger than the file: refused by map_region */
	assert_int_equal(vu_front_set_mem_table(&t->f, &r, 1), -EREMOTEIO);
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r), -EREMOTEIO);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps);
	close(memfd);
}

/* ---- H5: vring index ------------------------------------------------------- */

/*
 * H5 / CVE-2020-10723: every vring message with an index >= max_vrings is
 * refused before anything is touched, including indices that alias a valid
 * ring when truncated to 8 or 16 bits (0x10000 + k, 0x100 + k).
 */
static void test_H5_vring_index_out_of_range(void **state)
{
	struct vt *t = *state;
	static const uint32_t idx32[] = { NQ, NQ + 1, 63, 64, 65, 255, 256, 0x101, 0x10000,
					  0x10001, 0x10003, 0x80000001, 0xffffffff };
	static const uint64_t idx64[] = { NQ, 63, 64, 255, 0x10000, 0x10001, 0x10003,
					  0x100000001ULL, 0x8000000000000001ULL, ~0ULL };
	static const uint32_t state_reqs[] = { VHOST_USER_SET_VRING_NUM,
					       VHOST_USER_SET_VRING_BASE,
					       VHOST_USER_SET_VRING_ENABLE };
	static const uint32_t fd_reqs[] = { VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
					    VHOST_USER_SET_VRING_ERR };
	struct vr_snap snap;
	struct fq q0;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	vt_split(t, 1, 64, RING(1));
	vt_snap(t, &snap);
	q0 = t->dev.q[0];

	for (unsigned i = 0; i < VH_ARRAY_SIZE(idx32); i++) {
		struct vu_vring_state st = { idx32[i], 1 };
		struct vu_vring_addr a = { .index = idx32[i],
					   .desc_user_addr = vu_front_uaddr(t->ds, RING(1)) };

		for (unsigned r = 0; r < VH_ARRAY_SIZE(state_reqs); r++)
			assert_int_equal(vt_acked(t, state_reqs[r], &st, 8, NULL, 0), 1);
		assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
		/* GET_VRING_BASE: the frontend waits; refusing closes the connection */
		assert_true(vt_send(t, VHOST_USER_GET_VRING_BASE, VER, &st, 8, NULL, 0) < 0);
		vt_no_reply(t);
	}
	for (unsigned i = 0; i < VH_ARRAY_SIZE(idx64); i++) {
		for (unsigned r = 0; r < VH_ARRAY_SIZE(fd_reqs); r++) {
			int efd = make_efd();

			assert_int_equal(vt_acked(t, fd_reqs[r], &idx64[i], 8, &efd, 1), 1);
			close(efd);
		}
	}
	/* rings 0 and 1 (what 0x10000 / 0x10001 truncate to) are untouched */
	vt_assert_unchanged(t, &snap);
	assert_int_equal(t->dev.q[0].starts, q0.starts);
	assert_int_equal(t->dev.q[0].stops, q0.stops);
	assert_int_equal(t->dev.q[0].enables, 0);
	assert_int_equal(t->dev.q[1].starts, 0);
	assert_int_equal(t->dev.violations, 0);
}

/* H5: max_vrings is the device's, not the protocol's 8-bit limit. */
static void test_H5_index_limit_follows_device(void **state)
{
	struct vt *t = *state;
	struct vu_vring_state st = { 1, 64 };

	t->dev.max_vrings = 1;
	vt_bringup(t, FEAT_SPLIT, PF(REPLY_ACK));
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 1);
	st.index = 0;
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	assert_int_equal(t->s.vr[0].num, 64);
	assert_int_equal(t->s.vr[1].num, 0);
}

/* ---- H6: SET_MEM_TABLE region count ---------------------------------------- */

static void send_mem_table(struct vt *t, uint32_t nregions, uint32_t size, const int *fds,
			   unsigned nfds, long expect_ack)
{
	union vu_payload p; /* room for a 9th region descriptor */
	struct vu_mem_region *reg = (struct vu_mem_region *)(p.raw + 8);

	memset(&p, 0, sizeof(p));
	p.memory.nregions = nregions;
	for (unsigned i = 0; i < 9; i++)
		reg[i] = (struct vu_mem_region){ 0x100000ULL * (i + 1), 0x1000,
						 0x7f0000000000ULL + 0x100000ULL * i,
						 0x1000ULL * i };
	assert_int_equal(vt_acked(t, VHOST_USER_SET_MEM_TABLE, &p, size, fds, nfds), expect_ack);
}

/* H6: more than 8 regions, 0 regions, and fd count != region count. */
static void test_H6_mem_table_region_count(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000), fds[8];
	unsigned nfd0, maps0;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	for (unsigned i = 0; i < 8; i++)
		fds[i] = memfd;
	nfd0 = count_fds();
	maps0 = count_memfd_maps();

	/* valid baseline: 8 regions of one page at offsets 0..7 pages */
	send_mem_table(t, 8, 8 + 8 * 32, fds, 8, 0);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 8);
	assert_int_equal(count_memfd_maps(), maps0 + 8);

	/* nregions > 8: in-range payload size, or the size nregions implies */
	send_mem_table(t, 9, 8 + 8 * 32, fds, 8, 1);
	send_mem_table(t, 9, 8 + 9 * 32, fds, 8, 1);
	send_mem_table(t, 0xffffffff, 8 + 8 * 32, fds, 8, 1);
	send_mem_table(t, 0x80000001, 8 + 32, fds, 1, 1);
	/* zero regions */
	send_mem_table(t, 0, 8, NULL, 0, 1);
	/* fd count != region count */
	send_mem_table(t, 2, 8 + 2 * 32, fds, 1, 1);
	send_mem_table(t, 1, 8 + 32, fds, 2, 1);
	send_mem_table(t, 2, 8 + 2 * 32, NULL, 0, 1);
	send_mem_table(t, 8, 8 + 8 * 32, fds, 7, 1);

	/* the valid table is still the live one, nothing leaked */
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 8);
	assert_int_equal(count_memfd_maps(), maps0 + 8);
	assert_int_equal(count_fds(), nfd0);
	close(memfd);
}

/* ---- H7: region geometry ----------------------------------------------------- */

/* Send a one- or two-region table; returns the ack. */
static long mem_table2(struct vt *t, const struct vu_front_region *r, unsigned n)
{
	int err = vu_front_set_mem_table(&t->f, r, n);

	assert_true(err == 0 || err == -EREMOTEIO);
	return err ? 1 : 0;
}

/* H7: size + offset wrapping 2^64, GPA or frontend VA ranges wrapping. */
static void test_H7_region_overflow(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000);
	const struct vu_front_region bad[] = {
		{ 0x100000, UINT64_MAX - 0xfff, 0x7f0000000000ULL, 0x2000, memfd },
		{ 0x100000, 0x1000, 0x7f0000000000ULL, UINT64_MAX - 0x7ff, memfd },
		{ 0x100000, 0x1000, 0x7f0000000000ULL, UINT64_MAX, memfd },
		{ 0x100000, 1ULL << 63, 0x7f0000000000ULL, 1ULL << 63, memfd },
		{ UINT64_MAX - 0xfff, 0x2000, 0x7f0000000000ULL, 0, memfd }, /* GPA wraps */
		{ 0x100000, 0x2000, UINT64_MAX - 0xfff, 0, memfd },           /* VA wraps */
	};
	unsigned fds, maps;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		assert_int_equal(mem_table2(t, &bad[i], 1), 1);
		assert_int_equal(vu_front_add_mem_reg(&t->f, &bad[i]), -EREMOTEIO);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 0);
	}
	/* the largest GPA that does not wrap is fine */
	{
		const struct vu_front_region ok = { UINT64_MAX - 0xfff, 0x1000, 0x7f0000000000ULL,
						    0, memfd };

		assert_int_equal(mem_table2(t, &ok, 1), 0);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1);
	}
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps + 1);
	close(memfd);
}

/*
 * H7: a region whose mmap offset (so its host address) is not congruent to its
 * GPA modulo 8 would misalign every 16-byte-aligned ring in host memory:
 * refused by SET_MEM_TABLE and ADD_MEM_REG; congruent odd offsets are fine.
 */
static void test_H7_region_host_misaligned(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000);
	struct vu_front_region r = { 0x100000, 0x4000, 0x7f0000000000ULL, 0x4, memfd };
	const struct gmem_region *g;
	unsigned fds, maps;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	fds = count_fds();
	maps = count_memfd_maps();
	for (uint64_t off = 1; off < 8; off++) {
		r.mmap_offset = off;
		assert_int_equal(mem_table2(t, &r, 1), 1);
		assert_int_equal(vu_front_add_mem_reg(&t->f, &r), -EREMOTEIO);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 0);
	}
	r.mmap_offset = 0x1004; /* host address 4 past a page, and the GPA too */
	r.gpa = 0x100004;
	assert_int_equal(mem_table2(t, &r, 1), 0);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1);
	g = &t->s.mem[t->s.cur].gm.r[0];
	assert_int_equal(((uintptr_t)g->hva - g->gpa) & 7, 0);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps + 1);
	close(memfd);
}

/* H7: overlapping regions in guest-physical space. */
static void test_H7_overlapping_gpa(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000);
	struct vu_front_region r[2] = {
		{ 0x100000, 0x4000, 0x7f0000000000ULL, 0, memfd },
		{ 0x103000, 0x4000, 0x7f0000100000ULL, 0x8000, memfd },
	};
	unsigned maps;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	maps = count_memfd_maps();
	assert_int_equal(mem_table2(t, r, 2), 1);
	r[1].gpa = 0x100000; /* identical */
	assert_int_equal(mem_table2(t, r, 2), 1);
	r[1].gpa = 0x0ff000; /* overlaps from below by one page */
	r[1].size = 0x2000;
	assert_int_equal(mem_table2(t, r, 2), 1);
	r[1].gpa = 0x0fe000; /* adjacent: fine */
	assert_int_equal(mem_table2(t, r, 2), 0);
	assert_int_equal(count_memfd_maps(), maps + 2);
	/* ADD_MEM_REG overlapping the live table */
	r[1].gpa = 0x101000;
	r[1].uaddr = 0x7f0000200000ULL;
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r[1]), -EREMOTEIO);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 2);
	assert_int_equal(count_memfd_maps(), maps + 2);
	close(memfd);
}

/* H7: overlapping regions in frontend virtual address space. */
static void test_H7_overlapping_uaddr(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000);
	struct vu_front_region r[2] = {
		{ 0x100000, 0x4000, 0x7f0000000000ULL, 0, memfd },
		{ 0x200000, 0x4000, 0x7f0000003000ULL, 0x8000, memfd },
	};
	unsigned maps;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	maps = count_memfd_maps();
	assert_int_equal(mem_table2(t, r, 2), 1);
	r[1].uaddr = 0x7f0000000000ULL - 0x1000; /* from below */
	assert_int_equal(mem_table2(t, r, 2), 1);
	r[1].uaddr = 0x7f0000004000ULL; /* adjacent */
	assert_int_equal(mem_table2(t, r, 2), 0);
	assert_int_equal(count_memfd_maps(), maps + 2);
	close(memfd);
}

/*
 * H7: a region the file does not back (mapping it would turn guest accesses
 * into SIGBUS in the data path); zero size; not a regular file.
 */
static void test_H7_region_not_backed_by_file(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000), efd = make_efd(), p[2];
	const struct vu_front_region bad[] = {
		{ 0x100000, 0x20000, 0x7f0000000000ULL, 0, memfd },       /* larger than file */
		{ 0x100000, 0x10000, 0x7f0000000000ULL, 0x1000, memfd },  /* off + size > file */
		{ 0x100000, 0x1000, 0x7f0000000000ULL, 0x10000, memfd },  /* off at EOF */
		{ 0x100000, 0x1001, 0x7f0000000000ULL, 0xf000, memfd },   /* one byte over */
		{ 0x100000, 0, 0x7f0000000000ULL, 0, memfd },             /* zero size */
		{ 0x100000, 0x1000, 0x7f0000000000ULL, 0, efd },          /* eventfd */
		{ 0x100000, 0x1000, 0x7f0000000000ULL, 0, -1 },           /* pipe, below */
	};
	unsigned fds, maps;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		struct vu_front_region r = bad[i];

		if (r.fd < 0)
			r.fd = p[0];
		assert_int_equal(mem_table2(t, &r, 1), 1);
		assert_int_equal(vu_front_add_mem_reg(&t->f, &r), -EREMOTEIO);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 0);
	}
	/* exactly the file: fine, including a non-page-aligned offset */
	{
		struct vu_front_region ok = { 0x100000, 0xf000 - 0x10, 0x7f0000000000ULL, 0x1010,
					      memfd };

		assert_int_equal(mem_table2(t, &ok, 1), 0);
		assert_non_null(gmem_translate(&t->s.mem[t->s.cur].gm, 0x100000, ok.size));
	}
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps + 1);
	close(memfd);
	close(efd);
	close(p[0]);
	close(p[1]);
}

/* H7: a refused table leaves the live one (and the rings on it) alone. */
static void test_H7_refused_table_keeps_live_one(void **state)
{
	struct vt *t = *state;
	struct vu_front_region r;
	const struct gmem *gm;
	unsigned stops;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	gm = t->dev.q[0].gm;
	stops = t->dev.q[0].stops;
	vu_front_regions(t->ds, &r, 1);
	r.size = t->ds->map_len * 2; /* not backed */
	assert_int_equal(vu_front_set_mem_table(&t->f, &r, 1), -EREMOTEIO);
	assert_true(t->dev.q[0].running);
	assert_int_equal(t->dev.q[0].stops, stops);
	assert_ptr_equal(t->dev.q[0].gm, gm);
	assert_int_equal(gm->nr, 1);
	assert_non_null(gmem_translate(gm, RAM_GPA, RAM_SIZE));
}

/*
 * H7: an ADD_MEM_REG refused for overlapping must release its own new
 * mapping and leave the live table's mappings alone - also when the new
 * region sorts before the existing ones (found by fuzz_vu_msg,
 * corpus/vu_msg/crash-add-mem-reg-unmaps-live-region.bin).
 */
static void test_H7_refused_add_mem_reg_keeps_live_mapping(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x10000);
	const struct vu_front_region a = { 1ULL << 57, 0x8000, 0x7f0010008000ULL, 0x8000, memfd };
	struct vu_front_region b = { 0x200000000ULL, 0x8000, 0x7f0010008000ULL, 0, memfd };
	const struct vu_map *m;
	unsigned maps;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	maps = count_memfd_maps();
	assert_int_equal(vu_front_add_mem_reg(&t->f, &a), 0);
	m = &t->s.mem[t->s.cur].map[0];
	assert_int_equal(msync(m->base, m->len, MS_ASYNC), 0);
	/* lower GPA (sorts first), same frontend VA: refused for the VA overlap */
	assert_int_equal(vu_front_add_mem_reg(&t->f, &b), -EREMOTEIO);
	m = &t->s.mem[t->s.cur].map[0];
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1);
	assert_int_equal(t->s.mem[t->s.cur].gm.r[0].gpa, a.gpa);
	assert_int_equal(msync(m->base, m->len, MS_ASYNC), 0); /* still mapped */
	assert_int_equal(count_memfd_maps(), maps + 1);          /* nothing leaked */
	/* and the other way round: the refused region sorts last */
	b.gpa = 1ULL << 58;
	assert_int_equal(vu_front_add_mem_reg(&t->f, &b), -EREMOTEIO);
	assert_int_equal(msync(m->base, m->len, MS_ASYNC), 0);
	assert_int_equal(count_memfd_maps(), maps + 1);
	close(memfd);
}

/* ---- H8: ring addresses ---------------------------------------------------------- */

/*
 * Configure ring 0 with raw frontend VAs and a kick; returns the kick's ack.
 * GET_VRING_BASE first drops the kick fd of the previous attempt, so that
 * NUM and ADDR do not already try to start the ring.
 */
static long ring_raw(struct vt *t, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct vu_vring_state st = { 0, num };
	struct vu_vring_addr a = { .index = 0, .desc_user_addr = desc, .avail_user_addr = avail,
				   .used_user_addr = used };
	uint64_t k = 0;
	uint32_t base;

	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(t->s.vr[0].kick_fd, -1);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	return vt_acked(t, VHOST_USER_SET_VRING_KICK, &k, 8, &t->kick[0], 1);
}

/*
 * H8 / A4 / A5: each ring area must lie, at its full length (event fields
 * included), inside one region of frontend VA space; otherwise the ring is
 * not started and the kick is refused.
 */
static void test_H8_ring_areas_translated_at_full_length(void **state)
{
	struct vt *t = *state;
	uint64_t base, end, d = 0, a = 0x2000, u = 0x3000;

	vt_ready(t, FEAT_SPLIT);
	base = vu_front_uaddr(t->ds, RAM_GPA);
	end = base + RAM_SIZE;
	/* size 64: desc 1024, avail 6 + 128 = 134, used 6 + 512 = 518 bytes */
	assert_int_equal(ring_raw(t, 64, end - 1024 + 16, base + a, base + u), 1);
	assert_int_equal(ring_raw(t, 64, base + d, end - 132, base + u), 1); /* used_event out */
	assert_int_equal(ring_raw(t, 64, base + d, base + a, end - 516), 1);  /* avail_event out */
	assert_int_equal(ring_raw(t, 64, base - 16, base + a, base + u), 1);
	assert_int_equal(ring_raw(t, 64, base + d, base + a, UINT64_MAX - 3), 1);
	assert_int_equal(ring_raw(t, 64, base + d, 0, base + u), 1);
	assert_int_equal(t->dev.q[0].starts, 0);
	assert_false(t->s.vr[0].started);
	/* exactly at the end: fine */
	assert_int_equal(ring_raw(t, 64, base + d, end - 134, end - 520), 0);
	assert_true(t->dev.q[0].running);
	assert_int_equal(t->dev.q[0].cfg.driver, RAM_GPA + RAM_SIZE - 134);
	assert_int_equal(t->dev.q[0].cfg.device, RAM_GPA + RAM_SIZE - 520);
}

/* H8: a ring straddling two regions (across a GPA hole) is refused. */
static void test_H8_ring_across_regions_refused(void **state)
{
	struct vt *t = *state;
	uint64_t r0, r1, end0;

	t->ds = drvsim_new_holes(RAM_GPA, 2, 0x10000, 0x10000);
	assert_non_null(t->ds);
	vt_ready(t, FEAT_SPLIT);
	r0 = vu_front_uaddr(t->ds, RAM_GPA);
	r1 = vu_front_uaddr(t->ds, RAM_GPA + 0x20000);
	end0 = r0 + 0x10000;
	assert_int_equal(ring_raw(t, 64, end0 - 512, r1, r1 + 0x1000), 1);
	assert_int_equal(ring_raw(t, 64, end0, r1, r1 + 0x1000), 1); /* guard / hole */
	assert_int_equal(t->dev.q[0].starts, 0);
	/* desc in region 0, rings in region 1: fine, GPAs from each region */
	assert_int_equal(ring_raw(t, 64, end0 - 1024, r1, r1 + 0x1000), 0);
	assert_int_equal(t->dev.q[0].cfg.desc, RAM_GPA + 0x10000 - 1024);
	assert_int_equal(t->dev.q[0].cfg.driver, RAM_GPA + 0x20000);
	assert_int_equal(t->dev.q[0].cfg.device, RAM_GPA + 0x21000);
}

/* ---- H9: SET_VRING_BASE range ---------------------------------------------------- */

static long set_base(struct vt *t, uint32_t idx, uint32_t base)
{
	struct vu_vring_state st = { idx, base };

	return vt_acked(t, VHOST_USER_SET_VRING_BASE, &st, 8, NULL, 0);
}

/* H9 / D6: packed avail and used indices must be < size; split bases are 16 bits. */
static void test_H9_set_vring_base_range(void **state)
{
	struct vt *t = *state;
	struct vu_vring_state num = { 0, 64 };

	vt_bringup(t, FEAT_PACKED, PF_ALL);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_NUM, &num, 8, NULL, 0), 0);
	assert_int_equal(set_base(t, 0, 64), 1);
	assert_int_equal(set_base(t, 0, 64 | 1u << 15), 1);
	assert_int_equal(set_base(t, 0, 0x7fff), 1);
	assert_int_equal(set_base(t, 0, 1 | 64u << 16), 1);
	assert_int_equal(set_base(t, 0, 1 | 0x7fffu << 16 | 1u << 31), 1);
	assert_false(t->s.vr[0].base_set);
	assert_int_equal(set_base(t, 0, 63 | 1u << 15 | 63u << 16 | 1u << 31), 0);
	assert_int_equal(t->s.vr[0].base, 63 | 1u << 15 | 63u << 16 | 1u << 31);

	/* split: any 16-bit index, nothing above */
	assert_int_equal(vu_front_set_features(&t->f, FEAT_SPLIT), 0);
	assert_int_equal(set_base(t, 1, 0x10000), 1);
	assert_int_equal(set_base(t, 1, 0xffffffff), 1);
	assert_int_equal(set_base(t, 1, 0xffff), 0);
	assert_int_equal(t->s.vr[1].base, 0xffff);
}

/* H9: a packed base sent before the size is caught when the ring starts. */
static void test_H9_packed_base_before_num_caught_at_start(void **state)
{
	struct vt *t = *state;
	struct drvsim_packed *q;
	struct vu_front_vring v;

	t->dev.real_vq = true;
	vt_ready(t, FEAT_PACKED);
	q = vt_packed(t, 0, 64, RING(0));
	vu_front_vring_packed(q, &v);
	assert_int_equal(set_base(t, 0, 64 | 1u << 15), 0); /* no size yet: stored */
	assert_int_equal(vu_front_set_vring_num(&t->f, 0, 64), 0);
	assert_int_equal(vu_front_set_vring_addr(&t->f, 0, v.desc, v.avail, v.used, 0, 0), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), -EREMOTEIO);
	assert_false(t->dev.q[0].running);
	assert_false(t->s.vr[0].started);
}

/* ---- H10: inflight fd -------------------------------------------------------------- */

/*
 * H10 / CVE-2021-3839 / CVE-2020-10726 / CVE-2022-0669: INFLIGHT_SHMFD is not
 * offered; GET/SET_INFLIGHT_FD are refused and their fds closed, repeatedly.
 */
static void test_H10_inflight_fd_refused(void **state)
{
	struct vt *t = *state;
	struct {
		uint64_t mmap_size, mmap_offset;
		uint16_t num_queues, queue_size;
	} __attribute__((packed)) in = { 0x10000, 0, 0xffff, 256 };
	uint64_t pf;
	unsigned fds, maps;
	int memfd = make_memfd(0x10000);

	assert_int_equal(vu_front_get_protocol_features(&t->f, &pf), 0);
	assert_false(pf & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	/* acking it anyway is refused */
	pf = PF_ALL | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 1);
	assert_int_equal(t->s.protocol_features, PF_ALL);

	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < 200; i++) {
		int rd, wr = tracer(&rd), two[2] = { memfd, wr };

		assert_int_equal(vt_acked(t, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0),
				 1);
		assert_int_equal(vt_acked(t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), two, 2),
				 1);
		close(wr);
		assert_true(pipe_writers_gone(rd));
		close(rd);
	}
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps);
	close(memfd);
}

/* ---- H11: repeated allocation messages ---------------------------------------- */

/*
 * H11 / CVE-2019-14818: 200 SET_MEM_TABLEs under two running rings: each
 * stops, swaps and restarts the rings, and fd / mapping counts stay flat.
 */
static void test_H11_repeated_mem_table_no_leak(void **state)
{
	struct vt *t = *state;
	unsigned fds, maps, starts, stops;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	vt_start_split(t, 1, 64);
	starts = t->dev.q[0].starts;
	stops = t->dev.q[1].stops;
	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < 200; i++) {
		assert_int_equal(vu_front_set_mem_table_ds(&t->f, t->ds), 0);
		assert_true(t->dev.q[0].running);
		assert_true(t->dev.q[1].running);
	}
	assert_int_equal(t->dev.q[0].starts, starts + 200);
	assert_int_equal(t->dev.q[1].stops, stops + 200);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps);
}

/* H11 / CVE-2020-10722 neighbour: 200 SET_LOG_BASEs, one log mapping at a time. */
static void test_H11_repeated_log_base_no_leak(void **state)
{
	struct vt *t = *state;
	struct vu_front_log lg;
	unsigned fds, maps;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	assert_int_equal(vu_front_log_new(&lg, RAM_GPA + RAM_SIZE), 0);
	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < 200; i++) {
		assert_int_equal(vu_front_set_log_base(&t->f, lg.fd, lg.size, 0), 0);
		assert_non_null(t->s.log_base);
	}
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps + 1);
	assert_true(t->dev.q[0].running);
	vu_front_log_free(&lg);
}

/* H11: 200 rounds of new kick/call/err fds, SET_LOG_FD, ring num and enable. */
static void test_H11_repeated_ring_messages_no_leak(void **state)
{
	struct vt *t = *state;
	unsigned fds;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	fds = count_fds();
	for (unsigned i = 0; i < 200; i++) {
		int k = make_efd(), c = make_efd(), e = make_efd(), l = make_efd();

		assert_int_equal(vu_front_set_vring_kick(&t->f, 0, k), 0);
		assert_int_equal(vu_front_set_vring_call(&t->f, 0, c), 0);
		assert_int_equal(vu_front_set_vring_err(&t->f, 0, e), 0);
		assert_int_equal(vu_front_set_log_fd(&t->f, l), 0);
		assert_int_equal(vu_front_set_vring_enable(&t->f, 0, i & 1), 0);
		assert_int_equal(vu_front_set_vring_num(&t->f, 1, 256), 0);
		close(k);
		close(c);
		close(e);
		close(l);
		assert_true(t->dev.q[0].running);
	}
	/* the server holds one fd of each kind: 3 ring fds + log fd, before 2 ring fds */
	assert_int_equal(count_fds(), fds + 2);
}

/* H11: 200 refused SET_MEM_TABLEs carrying 8 fds each. */
static void test_H11_repeated_refused_mem_table_no_leak(void **state)
{
	struct vt *t = *state;
	int memfd = make_memfd(0x1000), fds[8];
	unsigned n, maps;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	for (unsigned i = 0; i < 8; i++)
		fds[i] = memfd;
	n = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < 200; i++)
		send_mem_table(t, 8, 8 + 8 * 32, fds, 8, 1); /* offsets beyond the file */
	assert_int_equal(count_fds(), n);
	assert_int_equal(count_memfd_maps(), maps);
	close(memfd);
}

/* H11: 200 ADD_MEM_REG / REM_MEM_REG pairs. */
static void test_H11_repeated_add_rem_mem_reg_no_leak(void **state)
{
	struct vt *t = *state;
	struct vu_front_region r[2];
	unsigned fds, maps;

	t->ds = drvsim_new_holes(RAM_GPA, 2, 0x100000, 0x100000);
	assert_non_null(t->ds);
	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	vu_front_regions(t->ds, r, 2);
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r[0]), 0);
	vt_start_split(t, 0, 64);
	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < 200; i++) {
		assert_int_equal(vu_front_add_mem_reg(&t->f, &r[1]), 0);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 2);
		assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[1]), 0);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1);
		assert_true(t->dev.q[0].running);
	}
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps);
}

/* ---- ring configuration ---------------------------------------------------------- */

static long set_num(struct vt *t, uint32_t idx, uint32_t num)
{
	struct vu_vring_state st = { idx, num };

	return vt_acked(t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0);
}

/* A1: sizes 0, > 32768 and (split) non-powers of two are refused. */
static void test_vring_num_limits(void **state)
{
	struct vt *t = *state;
	static const uint32_t bad[] = { 0, 32769, 65536, 0xffffffff };
	static const uint32_t bad_split[] = { 3, 100, 32767, 24576 };

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++)
		assert_int_equal(set_num(t, 0, bad[i]), 1);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad_split); i++)
		assert_int_equal(set_num(t, 0, bad_split[i]), 1);
	assert_int_equal(t->s.vr[0].num, 0);
	assert_int_equal(set_num(t, 0, 1), 0);
	assert_int_equal(set_num(t, 0, 32768), 0);
	assert_int_equal(t->s.vr[0].num, 32768);

	/* packed: any size 1..32768 */
	assert_int_equal(vu_front_set_features(&t->f, FEAT_PACKED), 0);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++)
		assert_int_equal(set_num(t, 1, bad[i]), 1);
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad_split); i++) {
		assert_int_equal(set_num(t, 1, bad_split[i]), 0);
		assert_int_equal(t->s.vr[1].num, bad_split[i]);
	}
}

/* A2: NUM / ADDR / BASE are refused while the ring runs, allowed after GET_VRING_BASE. */
static void test_ring_config_frozen_while_started(void **state)
{
	struct vt *t = *state;
	struct drvsim_split *q;
	struct vu_front_vring v;
	struct vu_vring_addr a;
	uint32_t base;
	unsigned fds;

	vt_ready(t, FEAT_SPLIT);
	q = vt_start_split(t, 0, 64);
	vu_front_vring_split(q, &v);
	a = (struct vu_vring_addr){ .index = 0, .desc_user_addr = v.desc,
				    .avail_user_addr = v.avail, .used_user_addr = v.used };
	t->dev.q[0].has_stop_state = true;
	t->dev.q[0].stop_state = (struct vq_state){ .avail_idx = 17 };

	assert_int_equal(set_num(t, 0, 128), 1);
	assert_int_equal(set_base(t, 0, 5), 1);
	a.desc_user_addr += 0x1000;
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	a.desc_user_addr -= 0x1000;
	/* same addresses, log flag toggled: allowed (migration) */
	a.flags = 1u << VHOST_VRING_F_LOG;
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	assert_int_equal(t->s.vr[0].num, 64);
	assert_int_equal(t->dev.q[0].stops, 1); /* only the CALL restart of the setup */
	assert_true(t->dev.q[0].running);

	fds = count_fds();
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 17);
	assert_false(t->dev.q[0].running);
	assert_int_equal(count_fds(), fds - 1); /* the kick fd is dropped */
	assert_int_equal(set_num(t, 0, 128), 0);
	assert_int_equal(set_base(t, 0, 5), 0);
	a.desc_user_addr += 0x1000;
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	assert_false(t->dev.q[0].running);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_true(t->dev.q[0].running);
	assert_int_equal(t->dev.q[0].cfg.size, 128);
	assert_int_equal(t->dev.q[0].cfg.base.avail_idx, 5);
	assert_int_equal(t->dev.q[0].cfg.desc, q->desc_gpa + 0x1000);
}

enum ingredient { ING_FEATURES, ING_MEM, ING_NUM, ING_ADDR, ING_KICK, ING__COUNT };

static void send_ingredient(struct vt *t, enum ingredient i, const struct vu_front_vring *v)
{
	switch (i) {
	case ING_FEATURES:
		assert_int_equal(vu_front_set_features(&t->f, F_V1), 0);
		break;
	case ING_MEM:
		assert_int_equal(vu_front_set_mem_table_ds(&t->f, t->ds), 0);
		break;
	case ING_NUM:
		assert_int_equal(vu_front_set_vring_num(&t->f, 2, v->num), 0);
		break;
	case ING_ADDR:
		assert_int_equal(vu_front_set_vring_addr(&t->f, 2, v->desc, v->avail, v->used, 0,
							 0),
				 0);
		break;
	default:
		assert_int_equal(vu_front_set_vring_kick(&t->f, 2, t->kick[2]), 0);
		break;
	}
	assert_int_equal(t->handle_rc, 0);
}

/* Next permutation of @a (n elements) in lexicographic order; false after the last. */
static bool next_perm(unsigned *a, unsigned n)
{
	unsigned i = n - 1, j = n - 1, tmp;

	while (i > 0 && a[i - 1] >= a[i])
		i--;
	if (i == 0)
		return false;
	while (a[j] <= a[i - 1])
		j--;
	tmp = a[i - 1];
	a[i - 1] = a[j];
	a[j] = tmp;
	for (j = n - 1; i < j; i++, j--) {
		tmp = a[i];
		a[i] = a[j];
		a[j] = tmp;
	}
	return true;
}

/*
 * In every one of the 120 orders of features, memory, size, addresses and
 * kick fd, the ring starts exactly when the last of them arrives, and never
 * before: queue_start is called once, with the complete configuration.
 */
static void test_ring_starts_only_when_complete(void **state)
{
	struct vt *t = *state;
	struct drvsim_split *q = vt_split(t, 2, 256, RING(2));
	struct vu_front_vring v;
	unsigned order[ING__COUNT] = { 0, 1, 2, 3, 4 }, orders = 0;

	vu_front_vring_split(q, &v);
	do {
		vu_server_reset(&t->s);
		memset(t->dev.q, 0, sizeof(t->dev.q));
		for (unsigned k = 0; k < ING__COUNT; k++) {
			assert_int_equal(t->dev.q[2].starts, 0);
			assert_false(t->s.vr[2].started);
			send_ingredient(t, order[k], &v);
		}
		assert_int_equal(t->dev.q[2].starts, 1);
		assert_true(t->dev.q[2].running);
		/* without VHOST_USER_F_PROTOCOL_FEATURES a started ring is enabled */
		assert_true(t->dev.q[2].enabled);
		assert_int_equal(t->dev.q[2].cfg.size, 256);
		assert_int_equal(t->dev.q[2].cfg.desc, q->desc_gpa);
		assert_int_equal(t->dev.q[2].cfg.driver, q->avail_gpa);
		assert_int_equal(t->dev.q[2].cfg.device, q->used_gpa);
		assert_int_equal(t->dev.q[0].starts + t->dev.q[1].starts + t->dev.q[3].starts, 0);
		orders++;
	} while (next_perm(order, ING__COUNT));
	assert_int_equal(orders, 120);
}

/*
 * queue_start gets GPAs translated from the frontend's VAs (ring in the third
 * of three regions separated by holes), the decoded base, the negotiated
 * features and working eventfds.
 */
static void test_queue_start_split_cfg(void **state)
{
	struct vt *t = *state;
	uint64_t ring = RAM_GPA + 2 * 0x40000;
	struct drvsim_split *q;
	struct vu_front_vring v;
	const struct fq *d = &t->dev.q[1];

	t->ds = drvsim_new_holes(RAM_GPA, 3, 0x20000, 0x20000);
	assert_non_null(t->ds);
	vt_ready(t, FEAT_SPLIT);
	q = vt_split(t, 1, 128, ring);
	vu_front_vring_split(q, &v);
	v.base = 7;
	assert_int_equal(vu_front_set_vring_err(&t->f, 1, t->err[1]), 0);
	vt_ring_setup(t, 1, &v);
	assert_true(d->running);
	assert_int_equal(d->cfg.fmt, VQ_FMT_SPLIT);
	assert_int_equal(d->cfg.size, 128);
	assert_int_equal(d->cfg.desc, q->desc_gpa);
	assert_int_equal(d->cfg.driver, q->avail_gpa);
	assert_int_equal(d->cfg.device, q->used_gpa);
	assert_int_equal(d->cfg.base.avail_idx, 7);
	assert_int_equal(d->cfg.features, FEAT_SPLIT);
	assert_int_equal(t->dev.acked, FEAT_SPLIT & ~F_PF);
	assert_ptr_equal(d->gm, &t->s.mem[t->s.cur].gm);
	assert_false(d->enabled); /* PROTOCOL_FEATURES: starts disabled */
	/* the fds are the frontend's eventfds */
	efd_write(t->kick[1]);
	assert_int_equal(efd_read(d->kick_fd), 1);
	efd_write(d->cfg.call_fd);
	assert_int_equal(efd_read(t->call[1]), 1);
	efd_write(d->cfg.err_fd);
	assert_int_equal(efd_read(t->err[1]), 1);
	/* enable / disable reach the device */
	assert_int_equal(vu_front_set_vring_enable(&t->f, 1, true), 0);
	assert_true(d->enabled);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_VRING_ENABLE,
				  &(struct vu_vring_state){ 1, 2 }, 8, NULL, 0),
			 1);
	assert_true(d->enabled);
	assert_int_equal(vu_front_set_vring_enable(&t->f, 1, false), 0);
	assert_false(d->enabled);
	assert_int_equal(d->enables, 2);
}

/* Packed: event areas as driver/device, base with wrap bits decoded. */
static void test_queue_start_packed_cfg_wrap(void **state)
{
	struct vt *t = *state;
	struct drvsim_packed *q, *q1;
	struct vu_front_vring v;
	const struct fq *d = &t->dev.q[0];
	uint32_t base;

	vt_ready(t, FEAT_PACKED);
	q = vt_packed(t, 0, 64, RING(0));
	vu_front_vring_packed(q, &v);
	v.base = 5 | 0u << 15 | 3u << 16 | 1u << 31;
	vt_ring_setup(t, 0, &v);
	assert_int_equal(d->cfg.fmt, VQ_FMT_PACKED);
	assert_int_equal(d->cfg.desc, q->ring_gpa);
	assert_int_equal(d->cfg.driver, q->drv_gpa);
	assert_int_equal(d->cfg.device, q->dev_gpa);
	assert_int_equal(d->cfg.base.avail_idx, 5);
	assert_false(d->cfg.base.avail_wrap);
	assert_int_equal(d->cfg.base.used_idx, 3);
	assert_true(d->cfg.base.used_wrap);

	/* a 16-bit base (older frontends): used position = avail position */
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 5 | 3u << 16 | 1u << 31);
	assert_int_equal(vu_front_set_vring_base(&t->f, 0, 9 | 1u << 15), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_int_equal(d->cfg.base.avail_idx, 9);
	assert_true(d->cfg.base.avail_wrap);
	assert_int_equal(d->cfg.base.used_idx, 9);
	assert_true(d->cfg.base.used_wrap);

	/* no SET_VRING_BASE at all: the fresh state, both wrap counters set */
	q1 = vt_packed(t, 1, 32, RING(1));
	vu_front_vring_packed(q1, &v);
	assert_int_equal(vu_front_set_vring_num(&t->f, 1, v.num), 0);
	assert_int_equal(vu_front_set_vring_addr(&t->f, 1, v.desc, v.avail, v.used, 0, 0), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 1, t->kick[1]), 0);
	assert_int_equal(t->dev.q[1].cfg.base.avail_idx, 0);
	assert_true(t->dev.q[1].cfg.base.avail_wrap);
	assert_int_equal(t->dev.q[1].cfg.base.used_idx, 0);
	assert_true(t->dev.q[1].cfg.base.used_wrap);
}

/* GET_VRING_BASE stops the ring and returns where it stopped (fake device). */
static void test_get_vring_base_stops_and_reports(void **state)
{
	struct vt *t = *state;
	struct fq *d = &t->dev.q[0];
	uint32_t base;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	d->has_stop_state = true;
	d->stop_state = (struct vq_state){ .avail_idx = 42 };
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 42);
	assert_false(d->running);
	assert_false(t->s.vr[0].started);
	/* stays stopped: a new call fd does not restart it, only a kick does */
	assert_int_equal(vu_front_set_vring_call(&t->f, 0, t->call[0]), 0);
	assert_false(d->running);
	/* a second GET_VRING_BASE on the stopped ring reports the same */
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 42);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_true(d->running);
	assert_int_equal(d->cfg.base.avail_idx, 42); /* resumed where it stopped */
}

/* Packed GET_VRING_BASE encoding: avail | wrap << 15 | used << 16 | wrap << 31. */
static void test_get_vring_base_packed_encoding(void **state)
{
	struct vt *t = *state;
	struct fq *d = &t->dev.q[0];
	uint32_t base;

	vt_ready(t, FEAT_PACKED);
	vt_start_packed(t, 0, 64);
	d->has_stop_state = true;
	d->stop_state = (struct vq_state){ .avail_idx = 5, .avail_wrap = false, .used_idx = 3,
					   .used_wrap = true };
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 5u | 0u << 15 | 3u << 16 | 1u << 31);
	d->stop_state = (struct vq_state){ .avail_idx = 63, .avail_wrap = true, .used_idx = 62,
					   .used_wrap = false };
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 63u | 1u << 15 | 62u << 16 | 0u << 31);
}

/* Real queues: the position GET_VRING_BASE reports is where traffic stopped. */
static void test_get_vring_base_real_positions(void **state)
{
	struct vt *t = *state;
	const struct drvsim_buf b = { BUF(0), 64, true };
	struct drvsim_split *sq;
	struct drvsim_packed *pq;
	uint32_t base, id, len;
	uint16_t pid;

	t->dev.real_vq = true;
	vt_ready(t, FEAT_PACKED);
	/* packed, size 4: five chains wrap both counters once */
	pq = vt_start_packed(t, 0, 4);
	for (unsigned i = 0; i < 5; i++) {
		int bid = drvsim_packed_add(pq, &b, 1);

		assert_true(bid >= 0);
		assert_int_equal(vt_dev_serve(t, 0, 8), bid);
		assert_true(drvsim_packed_get_used(pq, &pid, &len));
		assert_int_equal(pid, bid);
		assert_int_equal(len, 8);
	}
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 1u | 0u << 15 | 1u << 16 | 0u << 31);
	/* resume from exactly that state and keep going */
	assert_int_equal(vu_front_set_vring_base(&t->f, 0, base), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_true(drvsim_packed_add(pq, &b, 1) >= 0);
	vt_dev_serve(t, 0, 4);
	assert_true(drvsim_packed_get_used(pq, &pid, &len));
	assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
	assert_int_equal(base, 2u | 2u << 16);

	/* split: the free-running avail index */
	assert_int_equal(vu_front_set_features(&t->f, FEAT_SPLIT), 0);
	sq = vt_start_split(t, 1, 8);
	for (unsigned i = 0; i < 3; i++) {
		int head = drvsim_split_add(sq, &b, 1);

		assert_true(head >= 0);
		assert_int_equal(vt_dev_serve(t, 1, 16), head);
		assert_true(drvsim_split_get_used(sq, &id, &len));
	}
	assert_int_equal(vu_front_get_vring_base(&t->f, 1, &base), 0);
	assert_int_equal(base, 3);
}

/* SET_VRING_CALL / ERR / KICK on a running ring: stop, swap the fd, restart. */
static void test_set_vring_fd_restarts_running_ring(void **state)
{
	struct vt *t = *state;
	struct fq *d = &t->dev.q[0];
	int c2 = make_efd(), e2 = make_efd(), k2 = make_efd();
	unsigned starts, stops;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	d->has_stop_state = true;
	d->stop_state = (struct vq_state){ .avail_idx = 9 };
	starts = d->starts;
	stops = d->stops;

	assert_int_equal(vu_front_set_vring_call(&t->f, 0, c2), 0);
	assert_int_equal(d->stops, stops + 1);
	assert_int_equal(d->starts, starts + 1);
	assert_true(d->running);
	assert_int_equal(d->cfg.base.avail_idx, 9);
	efd_write(d->cfg.call_fd);
	assert_int_equal(efd_read(c2), 1);
	assert_int_equal(efd_read(t->call[0]), 0);

	assert_int_equal(vu_front_set_vring_err(&t->f, 0, e2), 0);
	assert_int_equal(d->starts, starts + 2);
	efd_write(d->cfg.err_fd);
	assert_int_equal(efd_read(e2), 1);

	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, k2), 0);
	assert_int_equal(d->starts, starts + 3);
	efd_write(k2);
	assert_int_equal(efd_read(d->kick_fd), 1);

	/* NOFD: the call fd goes away, the ring keeps running without it */
	assert_int_equal(vu_front_set_vring_call(&t->f, 0, -1), 0);
	assert_int_equal(d->starts, starts + 4);
	assert_int_equal(d->cfg.call_fd, -1);
	assert_int_equal(d->stops, stops + 4);
	/* kick NOFD (polling mode) is refused and changes nothing */
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, -1), -EREMOTEIO);
	assert_true(d->running);
	assert_int_equal(d->starts, starts + 4);
	close(c2);
	close(e2);
	close(k2);
}

/* ---- memory tables under running rings ------------------------------------------- */

/*
 * A new SET_MEM_TABLE under running rings: every ring is stopped, the table
 * swapped and the ring restarted from its saved position on the new gmem,
 * whose mappings are new; the old mappings are gone afterwards.
 */
static void test_mem_table_swap_restarts_rings(void **state)
{
	struct vt *t = *state;
	struct vu_front_region r;
	const struct gmem *gm0;
	uint8_t *hva0;
	uint64_t desc0;
	unsigned maps;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	vt_start_split(t, 1, 64);
	for (unsigned i = 0; i < 2; i++) {
		t->dev.q[i].has_stop_state = true;
		t->dev.q[i].stop_state = (struct vq_state){ .avail_idx = (uint16_t)(11 + i) };
		t->dev.q[i].starts = t->dev.q[i].stops = 0;
	}
	gm0 = t->dev.q[0].gm;
	hva0 = gm0->r[0].hva;
	desc0 = t->dev.q[0].cfg.desc;
	maps = count_memfd_maps();

	assert_int_equal(vu_front_set_mem_table_ds(&t->f, t->ds), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(t->dev.q[i].stops, 1);
		assert_int_equal(t->dev.q[i].starts, 1);
		assert_true(t->dev.q[i].running);
		assert_int_equal(t->dev.q[i].cfg.base.avail_idx, 11 + i);
		assert_ptr_not_equal(t->dev.q[i].gm, gm0);
		assert_ptr_equal(t->dev.q[i].gm, &t->s.mem[t->s.cur].gm);
	}
	assert_ptr_not_equal(t->dev.q[0].gm->r[0].hva, hva0);
	assert_int_equal(count_memfd_maps(), maps);

	/* same frontend VAs at other GPAs (the frontend moved RAM): GPAs recomputed */
	vu_front_regions(t->ds, &r, 1);
	r.gpa += 0x40000000;
	assert_int_equal(vu_front_set_mem_table(&t->f, &r, 1), 0);
	assert_int_equal(t->dev.q[0].cfg.desc, desc0 + 0x40000000);
	assert_true(t->dev.q[1].running);

	/* a table that no longer holds the rings: stopped, not restarted */
	r.size = 0x1000;
	r.gpa = 0x1000;
	r.uaddr += RAM_SIZE - 0x1000;
	r.mmap_offset += RAM_SIZE - 0x1000;
	assert_int_equal(vu_front_set_mem_table(&t->f, &r, 1), 0);
	assert_false(t->dev.q[0].running);
	assert_false(t->dev.q[1].running);
	assert_int_equal(count_memfd_maps(), maps);
	/* memory back, next kick resumes at the saved position */
	assert_int_equal(vu_front_set_mem_table_ds(&t->f, t->ds), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_true(t->dev.q[0].running);
	assert_int_equal(t->dev.q[0].cfg.base.avail_idx, 11);
	assert_int_equal(t->dev.q[0].cfg.desc, desc0);
}

/* ADD_MEM_REG / REM_MEM_REG (CONFIGURE_MEM_SLOTS). */
/*
 * QEMU runs one vhost device per queue pair over one connection; each adds
 * (and on stop removes) the whole guest memory.  An identical ADD takes a
 * reference instead of failing as an overlap (the mq2 e2e config hit that),
 * and the region stays mapped until the last REM.
 */
static void test_add_mem_reg_duplicate_is_refcounted(void **state)
{
	struct vt *t = *state;
	struct vu_front_region r[1];
	unsigned maps0;

	t->ds = drvsim_new_holes(RAM_GPA, 1, 0x100000, 0x100000);
	assert_non_null(t->ds);
	maps0 = count_memfd_maps();
	vu_front_regions(t->ds, r, 1);
	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r[0]), 0);
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r[0]), 0); /* second device */
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1);
	assert_int_equal(count_memfd_maps(), maps0 + 1); /* mapped once */
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[0]), 0);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 1); /* still referenced */
	assert_non_null(gmem_translate(&t->s.mem[t->s.cur].gm, RAM_GPA, 1));
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[0]), 0);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 0);
	assert_int_equal(count_memfd_maps(), maps0);
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[0]), -EREMOTEIO);
}

static void test_add_rem_mem_reg(void **state)
{
	struct vt *t = *state;
	struct vu_front_region r[3], slot;
	uint64_t ring = RAM_GPA + 0x200000, n;
	struct drvsim_split *q;
	struct vu_front_vring v;
	struct fq *d = &t->dev.q[0];
	unsigned maps0, starts;
	int memfd;

	t->ds = drvsim_new_holes(RAM_GPA, 3, 0x100000, 0x100000);
	assert_non_null(t->ds);
	maps0 = count_memfd_maps(); /* the simulator's own mappings */
	vu_front_regions(t->ds, r, 3);
	/* not negotiated: refused */
	vt_bringup(t, FEAT_SPLIT, PF(REPLY_ACK));
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r[0]), -EREMOTEIO);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 0);

	assert_int_equal(vu_front_set_protocol_features(&t->f, PF_ALL), 0);
	assert_int_equal(vu_front_get_max_mem_slots(&t->f, &n), 0);
	assert_int_equal(n, GMEM_MAX_REGIONS);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vu_front_add_mem_reg(&t->f, &r[i]), 0);
		assert_int_equal(t->s.mem[t->s.cur].gm.nr, i + 1);
	}
	assert_int_equal(count_memfd_maps(), maps0 + 3);
	q = vt_split(t, 0, 64, ring); /* region 1 */
	vu_front_vring_split(q, &v);
	vt_ring_setup(t, 0, &v);
	assert_true(d->running);
	assert_int_equal(d->cfg.desc, ring);

	/* removing another region restarts the ring on the smaller table */
	starts = d->starts;
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[0]), 0);
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, 2);
	assert_true(d->running);
	assert_int_equal(d->starts, starts + 1);
	assert_null(gmem_translate(d->gm, RAM_GPA, 1));
	assert_int_equal(count_memfd_maps(), maps0 + 2);
	/* removing a region that is not there */
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[0]), -EREMOTEIO);
	slot = r[2];
	slot.size -= 0x1000; /* must match exactly */
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &slot), -EREMOTEIO);
	/* removing the ring's region: the ring stops and stays stopped */
	assert_int_equal(vu_front_rem_mem_reg(&t->f, &r[1]), 0);
	assert_false(d->running);
	assert_int_equal(count_memfd_maps(), maps0 + 1);
	/* adding it back and kicking resumes it */
	assert_int_equal(vu_front_add_mem_reg(&t->f, &r[1]), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_true(d->running);

	/* fill every slot: 2 in use, 30 one-page regions, then one too many */
	memfd = make_memfd(31 * 0x1000);
	for (unsigned i = 0; i < 31; i++) {
		slot = (struct vu_front_region){ .gpa = 0x80000000ULL + i * 0x1000,
						 .size = 0x1000,
						 .uaddr = 0x600000000000ULL + i * 0x1000,
						 .mmap_offset = i * 0x1000, .fd = memfd };
		assert_int_equal(vu_front_add_mem_reg(&t->f, &slot),
				 i < 30 ? 0 : -EREMOTEIO);
	}
	assert_int_equal(t->s.mem[t->s.cur].gm.nr, GMEM_MAX_REGIONS);
	assert_int_equal(count_memfd_maps(), maps0 + GMEM_MAX_REGIONS);
	assert_true(d->running);
	close(memfd);
}

/* ---- dirty log ---------------------------------------------------------------------- */

/* CVE-2020-10722: SET_LOG_BASE with wrapping or unbacked geometry is refused. */
static void test_log_base_refused(void **state)
{
	struct vt *t = *state;
	struct vu_front_log lg;
	int efd = make_efd();
	const struct {
		uint64_t size, off;
		bool efd;
	} bad[] = {
		{ 0, 0, false },
		{ UINT64_MAX, 1, false },
		{ 0x1000, UINT64_MAX - 0xfff, false },
		{ 1ULL << 63, 1ULL << 63, false },
		{ UINT64_MAX / 2 + 1, 0, false },
		{ 0x2000, 0, false }, /* larger than the file */
		{ 0x800, 0x900, false },
		{ 0x1000, 0, true },  /* not a file */
	};
	unsigned fds, maps;

	assert_int_equal(vu_front_log_new(&lg, 0x1000ULL * 8 * 0x1000), 0); /* 4 KiB bitmap */
	vt_ready(t, FEAT_SPLIT);
	fds = count_fds();
	maps = count_memfd_maps();
	for (unsigned i = 0; i < VH_ARRAY_SIZE(bad); i++) {
		assert_int_equal(vu_front_set_log_base(&t->f, bad[i].efd ? efd : lg.fd,
						       bad[i].size, bad[i].off),
				 -EAGAIN); /* no reply: the connection is to be closed */
		assert_true(t->handle_rc < 0);
		assert_null(t->s.log_base);
	}
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps);
	/* the whole file, at a non-page-aligned offset: fine */
	assert_int_equal(vu_front_set_log_base(&t->f, lg.fd, 0x800, 0x800), 0);
	assert_non_null(t->s.log_base);
	/* without LOG_SHMFD negotiated it is refused */
	assert_int_equal(vu_front_set_protocol_features(&t->f, PF(REPLY_ACK)), 0);
	assert_int_equal(vu_front_set_log_base(&t->f, lg.fd, 0x1000, 0), -EAGAIN);
	assert_int_equal(vu_front_set_log_fd(&t->f, efd), -EREMOTEIO);
	vu_front_log_free(&lg);
	close(efd);
}

/*
 * Valid log + LOG_ALL: the gmem the rings run on logs, and a chain pushed
 * through a real vq marks exactly the written pages and the used ring.
 */
static void test_log_all_marks_dirty_pages(void **state)
{
	struct vt *t = *state;
	const struct drvsim_buf wb = { BUF(3) + 0x800, 5000, true };
	const struct drvsim_buf rb[2] = { { BUF(10), 100, false }, { BUF(12), 100, true } };
	struct drvsim_split *q;
	struct vu_front_log lg;
	uint32_t id, len;
	unsigned starts;

	t->dev.real_vq = true;
	vt_ready(t, FEAT_SPLIT);
	q = vt_start_split(t, 0, 64);
	assert_int_equal(vu_front_log_new(&lg, RAM_GPA + RAM_SIZE), 0);
	assert_int_equal(vu_front_set_log_base(&t->f, lg.fd, lg.size, 0), 0);
	/* mapped, but not logging until LOG_ALL */
	assert_null(t->dev.q[0].gm->log);
	assert_true(drvsim_split_add(q, &wb, 1) >= 0);
	vt_dev_serve(t, 0, 5000);
	assert_true(drvsim_split_get_used(q, &id, &len));
	for (uint64_t g = RAM_GPA; g < RAM_GPA + RAM_SIZE; g += VHOST_LOG_PAGE)
		assert_false(vu_front_log_dirty(&lg, g));

	/* QEMU starts migration: SET_FEATURES | LOG_ALL under running rings */
	starts = t->dev.q[0].starts;
	assert_int_equal(vu_front_set_features(&t->f, FEAT_SPLIT | F_LOG_ALL), 0);
	assert_int_equal(t->dev.q[0].starts, starts + 1); /* stopped, relogged, restarted */
	assert_true(t->dev.q[0].running);
	assert_non_null(t->dev.q[0].gm->log);
	assert_int_equal(t->dev.acked, FEAT_SPLIT & ~F_PF);
	assert_true(drvsim_split_add(q, &wb, 1) >= 0);
	vt_dev_serve(t, 0, 5000);
	assert_true(drvsim_split_get_used(q, &id, &len));
	assert_int_equal(len, 5000);
	assert_true(vu_front_log_dirty(&lg, BUF(3)));
	assert_true(vu_front_log_dirty(&lg, BUF(4)));
	assert_false(vu_front_log_dirty(&lg, BUF(5)));
	assert_false(vu_front_log_dirty(&lg, BUF(2)));
	assert_true(vu_front_log_dirty(&lg, q->used_gpa)); /* used ring written */

	/* readable buffers are not logged, writable ones only as far as written */
	assert_true(drvsim_split_add(q, rb, 2) >= 0);
	vt_dev_serve(t, 0, 0);
	assert_true(drvsim_split_get_used(q, &id, &len));
	assert_false(vu_front_log_dirty(&lg, BUF(10)));
	assert_false(vu_front_log_dirty(&lg, BUF(12)));

	/* migration cancelled: logging off again */
	assert_int_equal(vu_front_set_features(&t->f, FEAT_SPLIT), 0);
	assert_null(t->dev.q[0].gm->log);
	vu_front_log_clear(&lg);
	assert_true(drvsim_split_add(q, &wb, 1) >= 0);
	vt_dev_serve(t, 0, 5000);
	assert_true(drvsim_split_get_used(q, &id, &len));
	assert_false(vu_front_log_dirty(&lg, BUF(3)));
	assert_false(vu_front_log_dirty(&lg, q->used_gpa));
	vu_front_log_free(&lg);
}

/* ---- config space -------------------------------------------------------------------- */

/* GET_CONFIG: sizes over 256 or refused by the device get the empty (error) reply. */
static void test_get_config_oversize_empty_reply(void **state)
{
	struct vt *t = *state;
	uint8_t buf[256];
	struct vu_config c;
	struct vu_msg r;

	/* without CONFIG negotiated */
	vt_bringup(t, FEAT_SPLIT, PF(REPLY_ACK));
	assert_int_equal(vu_front_get_config(&t->f, 0, buf, 6), -EREMOTEIO);
	assert_int_equal(vu_front_set_protocol_features(&t->f, PF_ALL), 0);

	assert_int_equal(vu_front_get_config(&t->f, 0, buf, 6), 0);
	assert_memory_equal(buf, t->dev.config, 6);
	assert_int_equal(vu_front_get_config(&t->f, 60, buf, 8), -EREMOTEIO); /* device says no */
	assert_int_equal(vu_front_get_config(&t->f, 0, buf, 256), -EREMOTEIO);

	/* config.size 257 inside a 268-byte message, and a 269-byte message */
	memset(&c, 0, sizeof(c));
	c.size = 257;
	assert_int_equal(vt_send(t, VHOST_USER_GET_CONFIG, VER, &c, sizeof(c), NULL, 0), 0);
	assert_int_equal(vu_front_recv(&t->f, &r), 0);
	assert_int_equal(r.hdr.request, VHOST_USER_GET_CONFIG);
	assert_int_equal(r.hdr.size, 0);
	c.size = 0xffffffff;
	assert_int_equal(vt_send(t, VHOST_USER_GET_CONFIG, VER, &c, sizeof(c), NULL, 0), 0);
	assert_int_equal(vu_front_recv(&t->f, &r), 0);
	assert_int_equal(r.hdr.size, 0);
	/* size field disagreeing with the message length */
	c.size = 4;
	assert_int_equal(vt_send(t, VHOST_USER_GET_CONFIG, VER, &c, VU_CONFIG_HDR_SIZE + 8,
				 NULL, 0),
			 0);
	assert_int_equal(vu_front_recv(&t->f, &r), 0);
	assert_int_equal(r.hdr.size, 0);

	/* SET_CONFIG reaches the device */
	memset(buf, 0x11, 4);
	assert_int_equal(vu_front_set_config(&t->f, 2, buf, 4, 0), 0);
	assert_int_equal(t->dev.n_set_config, 1);
	assert_int_equal(t->dev.config[2], 0x11);
	assert_int_equal(vu_front_set_config(&t->f, 62, buf, 4, 0), -EREMOTEIO);
}

/* ---- features, status, reset ---------------------------------------------------- */

/* SET_FEATURES: unoffered bits refused; device features frozen under running rings. */
static void test_set_features_checks(void **state)
{
	struct vt *t = *state;
	uint64_t f;

	vt_ready(t, FEAT_SPLIT);
	f = FEAT_SPLIT | VIRTIO_BIT(63);
	assert_int_equal(vt_acked(t, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 1);
	assert_int_equal(t->dev.n_set_features, 1);
	assert_int_equal(t->s.features, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	f = FEAT_PACKED; /* would change the ring format under a running ring */
	assert_int_equal(vt_acked(t, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 1);
	assert_int_equal(t->s.features, FEAT_SPLIT);
	assert_int_equal(t->dev.n_set_features, 1);
	assert_true(t->dev.q[0].running);
}

static void test_status_and_queue_num(void **state)
{
	struct vt *t = *state;
	uint64_t n;
	uint8_t st = 0xff;

	vt_bringup(t, FEAT_SPLIT, PF_ALL);
	assert_int_equal(vu_front_get_queue_num(&t->f, &n), 0);
	assert_int_equal(n, NQ / 2);
	assert_int_equal(vu_front_get_status(&t->f, &st), 0);
	assert_int_equal(st, 0);
	assert_int_equal(vu_front_set_status(&t->f, 0x0f), 0);
	assert_int_equal(vu_front_get_status(&t->f, &st), 0);
	assert_int_equal(st, 0x0f);
	n = 0x100;
	assert_int_equal(vt_acked(t, VHOST_USER_SET_STATUS, &n, 8, NULL, 0), 1);
	assert_int_equal(vu_front_get_status(&t->f, &st), 0);
	assert_int_equal(st, 0x0f);
}

/*
 * RESET_DEVICE: every ring stopped before the device resets, every ring fd
 * closed, ring configuration and features forgotten (a ring does not start
 * again before a new SET_FEATURES).
 */
static void test_reset_device_closes_ring_fds(void **state)
{
	struct vt *t = *state;
	struct vu_front_vring v;
	unsigned fds;
	int kick0;

	vt_ready(t, FEAT_SPLIT);
	vt_start_split(t, 0, 64);
	vt_start_split(t, 1, 64);
	assert_int_equal(vu_front_set_vring_err(&t->f, 0, t->err[0]), 0);
	assert_int_equal(vu_front_set_vring_err(&t->f, 1, t->err[1]), 0);
	fds = count_fds();
	kick0 = t->s.vr[0].kick_fd;
	assert_true(fd_is_open(kick0));
	assert_int_equal(vu_front_reset_device(&t->f), 0);
	assert_false(fd_is_open(kick0));
	assert_int_equal(t->dev.n_reset, 1);
	assert_false(t->dev.q[0].running);
	assert_false(t->dev.q[1].running);
	assert_int_equal(count_fds(), fds - 6);
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++) {
		assert_int_equal(t->s.vr[i].kick_fd, -1);
		assert_int_equal(t->s.vr[i].call_fd, -1);
		assert_int_equal(t->s.vr[i].err_fd, -1);
		assert_int_equal(t->s.vr[i].num, 0);
		assert_false(t->s.vr[i].addr_set);
	}
	assert_false(t->s.features_acked);
	assert_true(t->s.owner);

	/* re-initialise: nothing starts before SET_FEATURES */
	vu_front_vring_split(t->sq[0], &v);
	vt_ring_setup(t, 0, &v);
	assert_false(t->dev.q[0].running);
	assert_int_equal(vu_front_set_features(&t->f, FEAT_SPLIT), 0);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_true(t->dev.q[0].running);
	/* and RESET_OWNER behaves the same */
	assert_int_equal(vu_front_reset_owner(&t->f), 0);
	assert_false(t->dev.q[0].running);
	assert_int_equal(t->dev.n_reset, 2);
}

/*
 * vu_server_reset (disconnect): everything the server held is released - ring
 * fds, log fd, guest memory and log mappings - and the server is reusable.
 */
static void test_server_reset_releases_everything(void **state)
{
	struct vt *t = *state;
	struct vu_front_log lg;
	unsigned fds, maps;
	int lfd = make_efd();

	vt_ram(t);
	assert_int_equal(vu_front_log_new(&lg, RAM_GPA + RAM_SIZE), 0);
	fds = count_fds();
	maps = count_memfd_maps();
	vt_ready(t, FEAT_SPLIT);
	for (unsigned i = 0; i < NQ; i++) {
		vt_start_split(t, i, 64);
		assert_int_equal(vu_front_set_vring_err(&t->f, i, t->err[i]), 0);
	}
	assert_int_equal(vu_front_set_log_base(&t->f, lg.fd, lg.size, 0), 0);
	assert_int_equal(vu_front_set_log_fd(&t->f, lfd), 0);
	assert_int_equal(vu_front_set_features(&t->f, FEAT_SPLIT | F_LOG_ALL), 0);
	assert_int_equal(count_fds(), fds + 3 * NQ + 1);
	assert_int_equal(count_memfd_maps(), maps + 2);

	vu_server_reset(&t->s);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_memfd_maps(), maps);
	for (unsigned i = 0; i < NQ; i++)
		assert_false(t->dev.q[i].running);
	assert_int_equal(t->dev.n_reset, 1);
	assert_false(t->s.owner);
	assert_int_equal(t->s.protocol_features, 0);
	assert_int_equal(t->s.mem[0].gm.nr + t->s.mem[1].gm.nr, 0);
	assert_null(t->s.log_base);
	assert_int_equal(t->s.log_fd, -1);

	/* a new session on the same server */
	t->f.protocol_features = 0;
	vt_ready(t, FEAT_SPLIT);
	assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
	assert_false(t->dev.q[0].running); /* the old ring configuration is gone */
	assert_int_equal(t->s.vr[0].num, 0);
	vt_start_split(t, 0, 64);
	vu_front_log_free(&lg);
	close(lfd);
}

/* ---- traffic through the protocol ---------------------------------------------- */

/*
 * A QEMU-like session on guest RAM with a GPA hole: the device's real queues,
 * started by the protocol layer from frontend VAs, carry chains both ways.
 */
static void test_split_traffic_through_server(void **state)
{
	struct vt *t = *state;
	struct drvsim_split *q;
	struct vu_front_vring v;
	struct drvsim_buf b[2];
	uint64_t buf = RAM_GPA + 0x10000; /* region 0 */
	uint32_t id, len;
	uint8_t data[64];

	t->dev.real_vq = true;
	t->ds = drvsim_new_holes(RAM_GPA, 2, 0x40000, 0x100000);
	assert_non_null(t->ds);
	vt_ready(t, FEAT_SPLIT);
	q = vt_split(t, 0, 256, RAM_GPA + 0x140000); /* region 1 */
	vu_front_vring_split(q, &v);
	vt_ring_setup(t, 0, &v);
	assert_int_equal(vu_front_set_vring_enable(&t->f, 0, true), 0);
	for (unsigned i = 0; i < 300; i++) {
		int head;

		memset(data, (int)i, sizeof(data));
		assert_int_equal(drvsim_write(t->ds, buf, data, 32), 0);
		b[0] = (struct drvsim_buf){ buf, 32, false };
		b[1] = (struct drvsim_buf){ buf + 0x1000, 64, true };
		head = drvsim_split_add(q, b, 2);
		assert_true(head >= 0);
		/* EVENT_IDX: signal me when you pass what I consumed (like Linux) */
		drvsim_split_set_used_event(q, q->last_used);
		assert_int_equal(vt_dev_serve(t, 0, 64), head);
		assert_true(efd_read(t->call[0]) >= 1);
		assert_true(drvsim_split_get_used(q, &id, &len));
		assert_int_equal(id, head);
		assert_int_equal(len, 64);
		assert_int_equal(drvsim_read(t->ds, buf + 0x1000, data, 64), 0);
		assert_int_equal(data[63], 0x5a);
		memset(data, 0, sizeof(data));
		assert_int_equal(drvsim_write(t->ds, buf + 0x1000, data, 64), 0);
	}
}

static void test_packed_traffic_through_server(void **state)
{
	struct vt *t = *state;
	struct drvsim_packed *q;
	struct vu_front_vring v;
	const struct drvsim_buf b[2] = { { RAM_GPA + 0x8000, 32, false },
					 { RAM_GPA + 0x150000, 100, true } };
	uint16_t id;
	uint32_t len;

	t->dev.real_vq = true;
	t->ds = drvsim_new_holes(RAM_GPA, 2, 0x40000, 0x100000);
	assert_non_null(t->ds);
	vt_ready(t, FEAT_PACKED);
	q = vt_packed(t, 0, 100, RAM_GPA + 0x140000); /* not a power of two */
	vu_front_vring_packed(q, &v);
	vt_ring_setup(t, 0, &v);
	for (unsigned i = 0; i < 250; i++) { /* wraps twice */
		int bid = drvsim_packed_add(q, b, 2);

		assert_true(bid >= 0);
		assert_int_equal(vt_dev_serve(t, 0, 100), bid);
		assert_true(drvsim_packed_get_used(q, &id, &len));
		assert_int_equal(id, bid);
		assert_int_equal(len, 100);
	}
	/* the state survives a stop / start through the protocol */
	{
		uint32_t base;

		assert_int_equal(vu_front_get_vring_base(&t->f, 0, &base), 0);
		assert_int_equal(base & 0x7fff, q->next_avail);
		assert_int_equal(!!(base & 0x8000), q->avail_wrap);
		assert_int_equal((base >> 16) & 0x7fff, q->next_used);
		assert_int_equal(base >> 31, q->used_wrap);
		assert_int_equal(vu_front_set_vring_base(&t->f, 0, base), 0);
		assert_int_equal(vu_front_set_vring_kick(&t->f, 0, t->kick[0]), 0);
		assert_true(drvsim_packed_add(q, b, 2) >= 0);
		vt_dev_serve(t, 0, 1);
		assert_true(drvsim_packed_get_used(q, &id, &len));
		assert_int_equal(len, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VT(test_H1_short_header_then_eof),
		VT(test_H1_eof_at_message_boundary),
		VT(test_H1_header_in_pieces),
		VT(test_H2_payload_larger_than_union),
		VT(test_H2_short_payload_then_eof),
		VT(test_H2_bad_version_flags),
		VT(test_H3_wrong_payload_size_every_request),
		VT(test_H3_no_ack_without_reply_ack),
		VT(test_H4_unexpected_fds_closed),
		VT(test_H4_extra_fds_refused_and_closed),
		VT(test_H4_ctrunc_too_many_fds),
		VT(test_H4_fds_on_payload_bytes_not_leaked),
		VT(test_H4_refused_handler_closes_fds),
		VT(test_H5_vring_index_out_of_range),
		VT(test_H5_index_limit_follows_device),
		VT(test_H6_mem_table_region_count),
		VT(test_H7_region_overflow),
		VT(test_H7_region_host_misaligned),
		VT(test_H7_overlapping_gpa),
		VT(test_H7_overlapping_uaddr),
		VT(test_H7_region_not_backed_by_file),
		VT(test_H7_refused_table_keeps_live_one),
		VT(test_H7_refused_add_mem_reg_keeps_live_mapping),
		VT(test_H8_ring_areas_translated_at_full_length),
		VT(test_H8_ring_across_regions_refused),
		VT(test_H9_set_vring_base_range),
		VT(test_H9_packed_base_before_num_caught_at_start),
		VT(test_H10_inflight_fd_refused),
		VT(test_H11_repeated_mem_table_no_leak),
		VT(test_H11_repeated_log_base_no_leak),
		VT(test_H11_repeated_ring_messages_no_leak),
		VT(test_H11_repeated_refused_mem_table_no_leak),
		VT(test_H11_repeated_add_rem_mem_reg_no_leak),
		VT(test_reply_ack_success_is_zero),
		VT(test_unknown_request_refused),
		VT(test_vring_num_limits),
		VT(test_ring_config_frozen_while_started),
		VT(test_ring_starts_only_when_complete),
		VT(test_queue_start_split_cfg),
		VT(test_queue_start_packed_cfg_wrap),
		VT(test_get_vring_base_stops_and_reports),
		VT(test_get_vring_base_packed_encoding),
		VT(test_get_vring_base_real_positions),
		VT(test_set_vring_fd_restarts_running_ring),
		VT(test_mem_table_swap_restarts_rings),
		VT(test_add_mem_reg_duplicate_is_refcounted),
		VT(test_add_rem_mem_reg),
		VT(test_log_base_refused),
		VT(test_log_all_marks_dirty_pages),
		VT(test_get_config_oversize_empty_reply),
		VT(test_set_features_checks),
		VT(test_status_and_queue_num),
		VT(test_reset_device_closes_ring_fds),
		VT(test_server_reset_releases_everything),
		VT(test_split_traffic_through_server),
		VT(test_packed_traffic_through_server),
	};

	/* refusals are the point of most tests: keep their warnings out of the log */
	vh_log_set_level(VH_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
