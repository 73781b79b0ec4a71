// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_vnet_ops.c - the whole virtio-net device: vhost-user set-up, guest ring
 * operations and TAP events, interleaved.
 *
 * Theory of operation
 * -------------------
 * The kit's guest RAM layout is moved into a memfd (fz_net_init with memfd)
 * and shared with a struct vu_server through a SOCK_STREAM socketpair, as a
 * frontend would: SET_MEM_TABLE sends the memfd once per mapped chunk (its
 * frontend address is VO_UADDR + file offset), the rings of rx0 (0), tx0 (1)
 * and the control queue (2) live in the engine's ring blocks.  The device
 * behind the server is the real struct vnet, driven through an in-process
 * struct vu_dev_ops (the daemon's netdev_vu_ops hands rings to worker
 * threads; here queue_start/queue_stop call vnet_queue_start/stop directly on
 * the fuzz thread, and the data path runs when an op says so; like the
 * worker, a started but disabled TX ring sets tx_discard).
 *
 * Each message is written whole, then vu_server_recv + vu_server_handle run
 * it with guest RAM snapshotted around (a message may only touch ring areas:
 * stops publish, starts arm kicks); replies are read back and GET_VRING_BASE's
 * answer is checked against the position the device reported.  A refused
 * message that must close the connection does so (vu_server_reset), as the
 * daemon would.  Device callbacks check the ops contract (starts only on rings
 * the driver laid out, with the position it expects; stops return everything
 * popped; reset only with every ring stopped) and end the device session
 * (fz_net_session_end: every TX and RX frame accounted for) before the device
 * is re-created.
 *
 * Input: the engine header (fz_net_init), a u8 of vhost-user choices
 * (VO_C_*), then ops (enum vo_op) until the input or VO_MAX_OPS ends.  Guest
 * writes to rings, tables or a changed memory table make the queues "dirty"
 * (fz_net.h): exact expectations stop, the generic oracles stay.  At the end
 * the connection is reset and the device destroyed; the process must hold
 * exactly the fds and memfd mappings it held before the run.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/vhost_user.h"
#include "fuzz/fz.h"
#include "fuzz/fz_net.h"

#define VO_MAX_OPS 192u
#define VO_UADDR 0x7f1000000000ULL
#define VO_NRINGS 3u

/* vhost-user choices byte */
#define VO_C_PROTO 0x01 /* negotiate VHOST_USER_F_PROTOCOL_FEATURES */
#define VO_C_ACK 0x02 /* ... with REPLY_ACK, and ask for acks */
#define VO_C_NOCALL 0x04 /* rx0 gets SET_VRING_CALL with NOFD */
#define VO_C_NOOWNER 0x08 /* skip SET_OWNER */
#define VO_C_PACKED_BASE 0x10 /* packed: SET_VRING_BASE names the used position too */
#define VO_C_CTRL_RX 0x20 /* also ask for VIRTIO_NET_F_CTRL_RX */
#define VO_C_CTRL_MAC 0x40 /* ... VIRTIO_NET_F_CTRL_MAC_ADDR */
#define VO_C_ANNOUNCE 0x80 /* ... VIRTIO_NET_F_GUEST_ANNOUNCE */

/* Engine header misc bit (fz_net_init ignores it): the op VO_MISUSE exists.
 * Behind a bit so that no input written before it changes meaning. */
#define VO_MISC_MISUSE 0x10

enum vo_op {
	VO_SETUP, /* full set-up (features, memory, rings) if not done */
	VO_POST, /* u8 ring (bit 0: tx), then the engine's POST */
	VO_POSTN, /* u8 ring, then POSTN */
	VO_CTRL, /* control command (fz_net_post_ctrl) */
	VO_INJECT, /* frame(s) into the fake TAP */
	VO_RUN, /* u8 which (% 3: rx, tx, ctrl), u8 budget */
	VO_DRAIN, /* fake TAP reads every frame */
	VO_VU, /* u8 kind, operands: one vhost-user message (enum vo_vu) */
	VO_FLIP, /* guest byte anywhere (rings and tables make queues dirty) */
	VO_EVENT, /* u8 ring, then EVENT */
	VO_SNDBUF,
	VO_CLOSE, /* close the fake TAP's far end */
	VO_RECONNECT, /* frontend disconnects and comes back */
	VO_MISUSE, /* VO_MISC_MISUSE: u8 kind, u8 sel: the vnet API misused (enum vo_mis) */
	VO__COUNT
};
#define VO__PLAIN VO_MISUSE /* op modulus without VO_MISC_MISUSE */

/* VO_MISUSE kinds: calls vhost-user never makes, each with its documented
 * result (the last two are an operator's calls, not errors) */
enum vo_mis {
	VM_FEATURES_RUNNING, /* vnet_set_features with a ring running: -EBUSY */
	VM_FEATURES_UNOFFERED, /* ... with a feature never offered: -EINVAL (-EBUSY if running) */
	VM_START_UNDEFINED, /* vnet_queue_start of an index the features do not define */
	VM_START_WRONG_FMT, /* ... of rx0 with the other ring format */
	VM_START_NO_FEATURES, /* ... of rx0 before any features were accepted */
	VM_STOP_UNDEFINED, /* vnet_queue_stop of an index the features do not define */
	VM_INIT_BAD_PARAMS, /* vnet_init with bad parameters, then vnet_destroy of it */
	VM_LINK, /* vnet_set_link (an operator's carrier hook): status bit and config only */
	VM_INIT_OFFER, /* u16 allow: vnet_init with an operator allow mask, no MAC, no MTU */
	VM__COUNT
};

enum vo_vu {
	VV_GET_BASE, /* u8 ring: GET_VRING_BASE (stops it) */
	VV_KICK, /* u8 ring: SET_VRING_KICK with a new eventfd (restarts it) */
	VV_CALL, /* u8 ring, u8 nofd: SET_VRING_CALL */
	VV_ERR, /* u8 ring: SET_VRING_ERR */
	VV_MEM_SAME, /* SET_MEM_TABLE, same table again (rings restart) */
	VV_MEM_LESS, /* SET_MEM_TABLE without one data region (dirty) */
	VV_RESET, /* RESET_DEVICE (or RESET_OWNER without the feature) */
	VV_ENABLE, /* u8 ring, u8 on: SET_VRING_ENABLE */
	VV_FEATURES, /* u16 selector: SET_FEATURES (refused while rings run) */
	VV_CONFIG, /* u8 off, u8 len, u8 set, bytes: GET_CONFIG / SET_CONFIG */
	VV_BASE, /* u8 ring, u32: SET_VRING_BASE (stopped rings only) */
	VV_RAW, /* u32 request, u64 payload: any small request */
	VV__COUNT
};

struct vo {
	struct fz_net *n;
	struct vu_server s;
	int sv[2];
	uint8_t choice;
	uint16_t feat_sel;
	uint8_t size_sel;
	bool misuse; /* VO_MISC_MISUSE */
	bool set_up;
	bool ctrl; /* the control queue is set up */
	uint64_t acked; /* virtio features sent (without vhost-user bits) */
	uint64_t proto; /* protocol features negotiated */
	uint16_t reply_req;
	uint8_t reply[sizeof(union vu_payload)];
	uint32_t reply_size;
	unsigned replies;
};

/* ---- in-process device ops ---------------------------------------------------- */

/* The model of virtqueue @idx: rx0, tx0, the control queue; NULL for pair 1. */
static struct fz_nq *ring_q(struct vo *v, unsigned idx)
{
	if (idx < 2)
		return &v->n->q[idx];
	if (idx == v->n->q[FZ_NR_CTRL].qidx)
		return &v->n->q[FZ_NR_CTRL];
	return NULL;
}

static uint64_t d_get_features(void *d)
{
	return vnet_features(&((struct vo *)d)->n->dev);
}

static uint64_t d_get_protocol_features(void *d)
{
	(void)d;
	return VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
}

static uint64_t d_get_queue_num(void *d)
{
	return ((struct vo *)d)->n->dev.max_pairs;
}

static unsigned d_max_vrings(void *d)
{
	const struct vnet *dev = &((struct vo *)d)->n->dev;

	return 2u * dev->max_pairs + ((dev->offered & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)) ? 1 : 0);
}

static int d_set_features(void *d, uint64_t f)
{
	struct vo *v = d;
	struct fz_net *n = v->n;
	const uint64_t ring = VIRTIO_BIT(VIRTIO_F_RING_PACKED) |
			      VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |
			      VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	int r;

	for (unsigned i = 0; i < VO_NRINGS; i++)
		FZ_CHECK(!n->q[i].started, "set_features with ring %u running", i);
	/* frames in flight were framed for the old header size */
	fz_net_tap_drain(n);
	r = vnet_set_features(&n->dev, f);
	if (r)
		return r;
	if (n->features_ok && f != n->features) {
		n->rx_wild = true; /* a frame waiting in the host buffer is dropped */
		if ((f ^ n->features) & ring)
			fz_net_all_dirty(n);
	}
	n->features = f;
	n->features_ok = true;
	/* 2 * max_pairs with MQ, else 2 (5.1.2) */
	n->q[FZ_NR_CTRL].qidx = vnet_ctrl_qidx(&n->dev);
	return 0;
}

static int d_get_config(void *d, uint32_t off, void *buf, uint32_t len)
{
	return vnet_get_config(&((struct vo *)d)->n->dev, off, buf, len);
}

static int d_set_config(void *d, uint32_t off, const void *buf, uint32_t len, uint32_t flags)
{
	(void)flags;
	return vnet_set_config(&((struct vo *)d)->n->dev, off, buf, len);
}

static int d_queue_start(void *d, unsigned idx, const struct gmem *gm, const struct vq_cfg *cfg,
			 int kick_fd, bool enabled)
{
	struct vo *v = d;
	struct fz_net *n = v->n;
	struct fz_nq *q = ring_q(v, idx);
	int r;

	FZ_CHECK(q, "queue_start(%u) beyond the rings", idx);
	FZ_CHECK(!q->started, "queue_start(%u) on a running ring", idx);
	FZ_CHECK(kick_fd >= 0 && fcntl(kick_fd, F_GETFD) >= 0, "queue_start(%u): bad kick fd", idx);
	FZ_CHECK(gm && gm->nr > 0, "queue_start(%u) without memory", idx);
	FZ_CHECK(q->active, "queue_start(%u) of a ring the driver never laid out", idx);
	if (!q->dirty) {
		/* the frontend only ever sent the driver's own ring layout */
		FZ_CHECK(cfg->size == q->size && cfg->desc == q->desc_gpa &&
				 cfg->driver == q->drv_gpa && cfg->device == q->dev_gpa &&
				 (cfg->fmt == VQ_FMT_PACKED) == q->packed,
			 "queue_start(%u): configuration is not the driver's", idx);
		if (q->saved_valid)
			FZ_CHECK(cfg->base.avail_idx == q->saved.avail_idx &&
					 (!q->packed ||
					  (cfg->base.avail_wrap == q->saved.avail_wrap &&
					   cfg->base.used_idx == q->saved.used_idx &&
					   cfg->base.used_wrap == q->saved.used_wrap)),
				 "queue_start(%u) resumes at avail %u, stopped at %u", idx,
				 cfg->base.avail_idx, q->saved.avail_idx);
	}
	r = vnet_queue_start(&n->dev, idx, gm, cfg);
	if (r)
		return r;
	q->started = true;
	/* as the daemon's worker: a started but disabled TX ring is processed
	 * and its chains discarded (net_tx_run with tx_discard) */
	if (idx == 1)
		n->dev.qp[0].tx_discard = !enabled;
	if (q->role == FZ_NR_TX)
		n->tx_pending_prev = false;
	return 0;
}

static void d_queue_stop(void *d, unsigned idx, struct vq_state *st)
{
	struct vo *v = d;
	struct fz_net *n = v->n;
	struct fz_nq *q = ring_q(v, idx);
	bool was_pending = idx == 1 && n->dev.qp[0].tx_pending;
	uint16_t pend = n->dev.qp[0].tx_chain.id;

	FZ_CHECK(q && q->started, "queue_stop(%u) on a stopped ring", idx);
	FZ_CHECK(vnet_queue_stop(&n->dev, idx, st) == 0, "vnet_queue_stop(%u)", idx);
	fz_net_on_stop(n, q, was_pending, pend, st);
}

static void d_queue_enable(void *d, unsigned idx, bool enabled)
{
	struct vo *v = d;
	struct fz_nq *q = ring_q(v, idx);

	FZ_CHECK(q && q->started, "queue_enable(%u) on a stopped ring", idx);
	if (idx == 1)
		v->n->dev.qp[0].tx_discard = !enabled;
}

/* Forget a queue model (device reset): its chains are gone with the rings. */
static void forget(struct fz_net *n, struct fz_nq *q)
{
	for (unsigned i = 0; q->ch && i < q->size; i++)
		if (q->ch[i].live)
			fz_nq_retire(n, q, &q->ch[i]);
	q->active = false;
	q->dirty = false;
	q->saved_valid = false;
	q->call_set = false;
}

static void d_reset(void *d)
{
	struct vo *v = d;
	struct fz_net *n = v->n;
	int r;

	for (unsigned i = 0; i < VO_NRINGS; i++)
		FZ_CHECK(!n->q[i].started, "reset with ring %u running", i);
	/* every frame of the session accounted for, then a fresh device */
	fz_net_session_end(n);
	for (unsigned i = 0; i < VO_NRINGS; i++)
		forget(n, &n->q[i]);
	vnet_destroy(&n->dev);
	r = vnet_init(&n->dev, &n->params, n->bep);
	FZ_CHECK(r == 0, "vnet_init after reset: %d", r);
	n->features_ok = false;
	n->tx_be_base = 0;
	n->q[FZ_NR_CTRL].qidx = vnet_ctrl_qidx(&n->dev);
	v->set_up = false;
	v->ctrl = false;
}

static const struct vu_dev_ops vo_ops = {
	.get_features = d_get_features,
	.get_protocol_features = d_get_protocol_features,
	.get_queue_num = d_get_queue_num,
	.max_vrings = d_max_vrings,
	.set_features = d_set_features,
	.get_config = d_get_config,
	.set_config = d_set_config,
	.queue_start = d_queue_start,
	.queue_stop = d_queue_stop,
	.queue_enable = d_queue_enable,
	.reset = d_reset,
};

/* ---- frontend ------------------------------------------------------------------ */

static void reconnect(struct vo *v)
{
	vu_server_reset(&v->s);
	for (unsigned i = 0; i < VO_NRINGS; i++)
		FZ_CHECK(!v->n->q[i].started, "ring %u running after disconnect", i);
	vu_server_init(&v->s, &vo_ops, v, v->sv[1]);
	v->set_up = false;
	v->ctrl = false;
	v->proto = 0;
}

/* Read every reply the server sent; keep the last one. */
static void read_replies(struct vo *v, uint32_t req)
{
	v->replies = 0;
	for (;;) {
		struct vu_hdr h;
		ssize_t r = recv(v->sv[0], &h, sizeof(h), MSG_DONTWAIT);

		if (r <= 0)
			break;
		FZ_CHECK(r == (ssize_t)sizeof(h), "reply header split (%zd)", r);
		FZ_CHECK(h.flags == (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK) &&
				 h.request == req && h.size <= sizeof(v->reply),
			 "bad reply (req %u flags %#x size %u) to %u", h.request, h.flags, h.size,
			 req);
		if (h.size)
			FZ_CHECK(recv(v->sv[0], v->reply, h.size, MSG_DONTWAIT) == (ssize_t)h.size,
				 "short reply payload");
		v->reply_size = h.size;
		v->replies++;
	}
	FZ_CHECK(v->replies <= 1, "%u replies to one request", v->replies);
}

/*
 * Send one message and let the server handle it.
 *
 * Return: the server's verdict (0, or -errno when it dropped the connection).
 */
static int vo_msg(struct vo *v, uint32_t req, const void *p, uint32_t size, const int *fds,
		  unsigned nfds)
{
	struct {
		struct vu_hdr h;
		uint8_t p[sizeof(union vu_payload)];
	} __attribute__((packed)) out;
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &out, sizeof(out.h) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct vu_msg m;
	int err;

	out.h.request = req;
	out.h.flags = VHOST_USER_VERSION;
	if ((v->choice & VO_C_ACK) && (v->proto & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)))
		out.h.flags |= VHOST_USER_NEED_REPLY_MASK;
	out.h.size = size;
	if (size)
		memcpy(out.p, p, size);
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	FZ_CHECK(sendmsg(v->sv[0], &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len, "sendmsg");

	fz_net_pre(v->n);
	err = vu_server_recv(&v->s, &m);
	if (!err)
		err = vu_server_handle(&v->s, &m);
	fz_net_post(v->n, vu_request_name(req));
	read_replies(v, req);
	if (v->n->trace)
		fprintf(stderr, "vu: %s -> %d (%u replies)\n", vu_request_name(req), err,
			v->replies);
	if (err)
		reconnect(v); /* the daemon drops such a connection */
	return err;
}

static int vo_u64(struct vo *v, uint32_t req, uint64_t x)
{
	return vo_msg(v, req, &x, sizeof(x), NULL, 0);
}

static int vo_state(struct vo *v, uint32_t req, unsigned idx, uint32_t num)
{
	struct vu_vring_state st = { idx, num };

	return vo_msg(v, req, &st, sizeof(st), NULL, 0);
}

/* An fd-carrying ring message; @fd is sent (a copy stays with the caller). */
static int vo_ring_fd(struct vo *v, uint32_t req, unsigned idx, int fd)
{
	uint64_t x = idx | (fd < 0 ? VHOST_USER_VRING_NOFD_MASK : 0);

	return vo_msg(v, req, &x, sizeof(x), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1);
}

static int vo_kick(struct vo *v, unsigned idx)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), r;

	FZ_CHECK(fd >= 0, "eventfd");
	r = vo_ring_fd(v, VHOST_USER_SET_VRING_KICK, idx, fd);
	close(fd);
	return r;
}

/* SET_MEM_TABLE: one region per mapped chunk of the layout (up to 8), minus @skip. */
static int vo_mem(struct vo *v, int skip)
{
	const struct fz_layout *l = &v->n->l;
	struct vu_memory mem;
	int fds[VHOST_MEMORY_BASELINE_NREGIONS];
	unsigned k = 0;

	memset(&mem, 0, sizeof(mem));
	for (unsigned i = 0; i < l->nchunks && k < VHOST_MEMORY_BASELINE_NREGIONS; i++) {
		const struct fz_chunk *c = &l->chunk[i];
		uint64_t off = (uint64_t)(c->hva - l->arena);

		if (!c->mapped || (int)i == skip)
			continue;
		mem.regions[k].guest_phys_addr = c->gpa;
		mem.regions[k].memory_size = c->size;
		mem.regions[k].userspace_addr = VO_UADDR + off;
		mem.regions[k].mmap_offset = off;
		fds[k++] = v->n->memfd;
	}
	mem.nregions = k;
	return vo_msg(v, VHOST_USER_SET_MEM_TABLE, &mem, 8 + k * sizeof(mem.regions[0]), fds, k);
}

static uint16_t qsize(const struct vo *v, bool packed)
{
	if (packed)
		return (uint16_t)(1 + v->size_sel);
	return (uint16_t)(1u << (v->size_sel % 9));
}

/* Lay out ring @role in the driver model and configure it; the KICK starts it. */
static int vo_ring(struct vo *v, unsigned role)
{
	struct fz_net *n = v->n;
	struct fz_nq *q = &n->q[role];
	unsigned idx = q->qidx;
	bool packed = v->acked & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	struct vu_vring_addr a;
	uint32_t base = 0;

	fz_nq_setup(n, q, qsize(v, packed), packed, v->acked);
	if (vo_state(v, VHOST_USER_SET_VRING_NUM, idx, q->size))
		return -1;
	/* a fresh ring (an earlier SET_VRING_BASE may linger in the server):
	 * packed avail wrap counter 1, used position implied or explicit */
	if (packed)
		base = (v->choice & VO_C_PACKED_BASE) ? 1u << 15 | 1u << 31 : 1u << 15;
	if (vo_state(v, VHOST_USER_SET_VRING_BASE, idx, base))
		return -1;
	memset(&a, 0, sizeof(a));
	a.index = idx;
	a.desc_user_addr = VO_UADDR + q->ring_off;
	a.avail_user_addr = VO_UADDR + q->ring_off + 4096;
	a.used_user_addr = VO_UADDR + q->ring_off + 8192;
	if (vo_msg(v, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0))
		return -1;
	q->call_set = !(role == FZ_NR_RX && (v->choice & VO_C_NOCALL));
	if (vo_ring_fd(v, VHOST_USER_SET_VRING_CALL, idx, q->call_set ? q->call_fd : -1) ||
	    vo_ring_fd(v, VHOST_USER_SET_VRING_ERR, idx, q->err_fd) || vo_kick(v, idx))
		return -1;
	FZ_CHECK(q->started, "ring %u not started after a complete configuration", idx);
	if ((v->choice & VO_C_PROTO) && vo_state(v, VHOST_USER_SET_VRING_ENABLE, idx, 1))
		return -1;
	return 0;
}

/* Features wanted: the selector's, plus the control features of the choice byte. */
static uint64_t vo_want(const struct vo *v, uint16_t sel)
{
	uint64_t f = fz_net_feat_decode(sel);

	if (v->choice & VO_C_CTRL_RX)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX);
	if (v->choice & VO_C_CTRL_MAC)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
	if (v->choice & VO_C_ANNOUNCE)
		f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE);
	if (v->n->want_mq)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
	return fz_net_features(f, vnet_features(&v->n->dev));
}

static void vo_setup(struct vo *v)
{
	struct fz_net *n = v->n;
	uint64_t offered, f;

	if (v->set_up)
		return;
	if (!(v->choice & VO_C_NOOWNER) && vo_msg(v, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0))
		return;
	if (vo_msg(v, VHOST_USER_GET_FEATURES, NULL, 0, NULL, 0) || v->replies != 1 ||
	    v->reply_size != 8)
		return;
	memcpy(&offered, v->reply, 8);
	FZ_CHECK(offered & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES),
		 "GET_FEATURES without PROTOCOL_FEATURES");
	v->acked = vo_want(v, v->feat_sel);
	f = v->acked;
	if (v->choice & VO_C_PROTO)
		f |= VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	if (vo_u64(v, VHOST_USER_SET_FEATURES, f))
		return;
	FZ_CHECK(n->features_ok && n->features == v->acked,
		 "SET_FEATURES %#llx accepted, device has %#llx", (unsigned long long)v->acked,
		 (unsigned long long)n->features);
	if (v->choice & VO_C_PROTO) {
		uint64_t pf;

		if (vo_msg(v, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0) ||
		    v->replies != 1)
			return;
		memcpy(&pf, v->reply, 8);
		pf &= VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
		      VIRTIO_BIT(VHOST_USER_PROTOCOL_F_STATUS) |
		      ((v->choice & VO_C_ACK) ? VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) : 0);
		if (vo_u64(v, VHOST_USER_SET_PROTOCOL_FEATURES, pf))
			return;
		v->proto = pf;
	}
	if (vo_mem(v, -1))
		return;
	for (unsigned i = 0; i < 2; i++)
		if (vo_ring(v, i))
			return;
	if (v->acked & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)) {
		if (vo_ring(v, FZ_NR_CTRL))
			return;
		v->ctrl = true;
	}
	v->set_up = true;
}

static unsigned vo_ring_sel(struct vo *v)
{
	return fz_u8(&v->n->in) % (v->ctrl ? 3u : 2u);
}

static void vo_vu(struct vo *v)
{
	struct fz_net *n = v->n;
	uint8_t kind = fz_u8(&n->in) % VV__COUNT;
	unsigned idx;

	switch (kind) {
	case VV_GET_BASE: {
		struct fz_nq *q;
		uint32_t want;

		q = &n->q[vo_ring_sel(v)];
		idx = q->qidx;
		if (vo_state(v, VHOST_USER_GET_VRING_BASE, idx, 0))
			return;
		FZ_CHECK(v->replies == 1 && v->reply_size == sizeof(struct vu_vring_state),
			 "GET_VRING_BASE: %u replies", v->replies);
		if (!q->active || !q->saved_valid || q->dirty)
			return;
		want = q->packed ? (uint32_t)q->saved.avail_idx |
					   (uint32_t)q->saved.avail_wrap << 15 |
					   (uint32_t)q->saved.used_idx << 16 |
					   (uint32_t)q->saved.used_wrap << 31
				 : q->saved.avail_idx;
		{
			struct vu_vring_state st;

			memcpy(&st, v->reply, sizeof(st));
			FZ_CHECK(st.index == idx && st.num == want,
				 "GET_VRING_BASE(%u) = %#x, the device stopped at %#x", idx, st.num,
				 want);
		}
		return;
	}
	case VV_KICK:
		(void)vo_kick(v, n->q[vo_ring_sel(v)].qidx);
		return;
	case VV_CALL: {
		struct fz_nq *q;
		bool nofd;

		q = &n->q[vo_ring_sel(v)];
		nofd = fz_u8(&n->in) & 1;
		if (!vo_ring_fd(v, VHOST_USER_SET_VRING_CALL, q->qidx, nofd ? -1 : q->call_fd))
			q->call_set = !nofd;
		return;
	}
	case VV_ERR: {
		struct fz_nq *q = &n->q[vo_ring_sel(v)];

		(void)vo_ring_fd(v, VHOST_USER_SET_VRING_ERR, q->qidx, q->err_fd);
		return;
	}
	case VV_MEM_SAME:
		(void)vo_mem(v, -1);
		return;
	case VV_MEM_LESS:
		if (n->l.ndata < 1)
			return;
		fz_net_all_dirty(n);
		(void)vo_mem(v, 1 + (int)(fz_u8(&n->in) % n->l.ndata));
		return;
	case VV_RESET:
		if (v->proto & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE))
			(void)vo_msg(v, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0);
		else
			(void)vo_msg(v, VHOST_USER_RESET_OWNER, NULL, 0, NULL, 0);
		return;
	case VV_ENABLE:
		idx = n->q[vo_ring_sel(v)].qidx;
		(void)vo_state(v, VHOST_USER_SET_VRING_ENABLE, idx, fz_u8(&n->in) & 1);
		return;
	case VV_FEATURES: {
		uint16_t sel = fz_u16(&n->in);
		/* raw: neither closed under 5.1.3.1 nor limited to what is offered */
		uint64_t f = (fz_u8(&n->in) & 1) ? fz_net_feat_decode(sel) : vo_want(v, sel);

		if (v->choice & VO_C_PROTO)
			f |= VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
		(void)vo_u64(v, VHOST_USER_SET_FEATURES, f);
		return;
	}
	case VV_CONFIG: {
		struct vu_config c;
		uint8_t set;

		memset(&c, 0, sizeof(c));
		c.offset = fz_u8(&n->in) % 16;
		c.size = fz_u8(&n->in) % 16;
		set = fz_u8(&n->in);
		fz_bytes(&n->in, c.region, c.size);
		(void)vo_msg(v, (set & 1) ? VHOST_USER_SET_CONFIG : VHOST_USER_GET_CONFIG, &c,
			     VU_CONFIG_HDR_SIZE + c.size, NULL, 0);
		return;
	}
	case VV_BASE: {
		struct fz_nq *q;
		uint32_t num;

		q = &n->q[vo_ring_sel(v)];
		num = fz_u32(&n->in);
		if (!vo_state(v, VHOST_USER_SET_VRING_BASE, q->qidx, num) && !q->started)
			q->dirty = true; /* the next start resumes somewhere else */
		return;
	}
	default: {
		/* small requests that do not reconfigure rings behind the model */
		static const uint32_t reqs[] = {
			VHOST_USER_GET_QUEUE_NUM,     VHOST_USER_GET_PROTOCOL_FEATURES,
			VHOST_USER_SET_STATUS,	      VHOST_USER_GET_STATUS,
			VHOST_USER_GET_MAX_MEM_SLOTS, VHOST_USER_SEND_RARP,
			VHOST_USER_NET_SET_MTU,	      VHOST_USER_IOTLB_MSG,
			VHOST_USER_MAX_REQUEST + 7u,
		};
		uint32_t req = reqs[fz_u8(&n->in) % VH_ARRAY_SIZE(reqs)];

		(void)vo_u64(v, req, fz_u64(&n->in));
		return;
	}
	}
}

/* ---- the vnet API misused -------------------------------------------------------- */

/* Device and guest RAM as they were before a misuse call (kept across runs). */
static struct {
	struct vnet dev;
	struct vnet_qp *qp;
	uint8_t *ram;
	size_t qp_cap, ram_cap;
} mis_before;

static void *grow(void *p, size_t *cap, size_t want)
{
	if (want <= *cap)
		return p;
	free(p);
	p = malloc(want);
	FZ_CHECK(p, "out of memory");
	*cap = want;
	return p;
}

static void mis_save(const struct fz_net *n)
{
	size_t qb = n->dev.max_pairs * sizeof(*n->dev.qp);

	mis_before.dev = n->dev;
	mis_before.qp = grow(mis_before.qp, &mis_before.qp_cap, qb);
	memcpy(mis_before.qp, n->dev.qp, qb);
	mis_before.ram = grow(mis_before.ram, &mis_before.ram_cap, n->l.arena_size);
	memcpy(mis_before.ram, n->l.arena, n->l.arena_size);
}

/* A refused call leaves the device (every queue pair, ring and counter) and
 * guest RAM exactly as they were. */
static void mis_unchanged(const struct fz_net *n, const char *what)
{
	FZ_CHECK(!memcmp(&mis_before.dev, &n->dev, sizeof(n->dev)) &&
			 !memcmp(mis_before.qp, n->dev.qp, n->dev.max_pairs * sizeof(*n->dev.qp)),
		 "%s changed the device", what);
	FZ_CHECK(!memcmp(mis_before.ram, n->l.arena, n->l.arena_size), "%s wrote guest RAM",
		 what);
}

/* A virtqueue index the negotiated features do not define (5.1.2): past the
 * pairs in use and the control queue; @sel picks one of four. */
static unsigned undefined_qidx(const struct vnet *dev, uint8_t sel)
{
	bool mq = dev->acked & VIRTIO_BIT(VIRTIO_NET_F_MQ);
	bool ctrl = dev->acked & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ);

	return 2u * (mq ? dev->max_pairs : 1u) + (ctrl ? 1u : 0u) + sel % 4u;
}

/*
 * VM_LINK with @sel bit 1: the same on a second device whose operator mask
 * withholds VIRTIO_NET_F_STATUS (the live device always offers it): the bit
 * still follows, but no config change is reported.
 */
static void vo_link_unoffered(struct fz_net *n, bool up)
{
	static struct vnet scratch;
	struct vnet_params p = n->params;
	uint16_t was, want;
	bool changed;
	int r;

	p.allow = vnet_supported_features() & ~VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	mis_save(n);
	r = vnet_init(&scratch, &p, n->bep);
	FZ_CHECK(r == 0, "vnet_init without STATUS returned %d", r);
	FZ_CHECK(!(vnet_features(&scratch) & VIRTIO_BIT(VIRTIO_NET_F_STATUS)),
		 "STATUS offered against the operator's mask");
	was = scratch.status;
	want = up ? (uint16_t)(was | VIRTIO_NET_S_LINK_UP)
		  : (uint16_t)(was & ~VIRTIO_NET_S_LINK_UP);
	changed = vnet_set_link(&scratch, !up);
	changed |= vnet_set_link(&scratch, up);
	FZ_CHECK(!changed && scratch.status == want,
		 "vnet_set_link without STATUS offered: change %d, status %#x -> %#x", changed,
		 was, scratch.status);
	vnet_destroy(&scratch);
	mis_unchanged(n, "vnet_set_link (second device)");
}

/*
 * VM_LINK: the link status bit follows vnet_set_link(), in the device and in
 * its configuration space; the call reports a config change exactly when the
 * bit changed and VIRTIO_NET_F_STATUS is offered; nothing else changes.
 */
static void vo_link(struct fz_net *n, bool up)
{
	uint16_t was = n->dev.status, now, cfg = 0;
	uint16_t want = up ? (uint16_t)(was | VIRTIO_NET_S_LINK_UP)
			   : (uint16_t)(was & ~VIRTIO_NET_S_LINK_UP);
	bool changed, notify = vnet_features(&n->dev) & VIRTIO_BIT(VIRTIO_NET_F_STATUS);

	mis_save(n);
	changed = vnet_set_link(&n->dev, up);
	now = n->dev.status;
	if (n->trace)
		fprintf(stderr, "vo: vnet_set_link(%d): status %#x -> %#x, change %d\n", up, was,
			now, changed);
	FZ_CHECK(now == want, "vnet_set_link(%d): status %#x -> %#x", up, was, now);
	FZ_CHECK(changed == (now != was && notify),
		 "vnet_set_link(%d) reported %d (status %#x -> %#x, STATUS offered %d)", up,
		 changed, was, now, notify);
	FZ_CHECK(vnet_get_config(&n->dev, offsetof(struct virtio_net_config, status), &cfg,
				 sizeof(cfg)) == 0 &&
			 le16toh(cfg) == now,
		 "config status %#x, device status %#x", le16toh(cfg), now);
	n->dev.status = was;
	mis_unchanged(n, "vnet_set_link");
	n->dev.status = now;
}

/*
 * VM_INIT_OFFER: a second device built with the live one's parameters but an
 * operator allow mask (@fs: the 16 feature bits of fz_net_feat_decode; @sel
 * bit 2 adds the features those do not name), and with @sel bit 0 no MAC
 * address, bit 1 no MTU.  Its offer must be the live offer cut to that mask,
 * without MAC / MTU, then closed under 5.1.3.1 by the harness's own
 * dependency table; every offer is within vnet_supported_features().  The
 * live device and guest RAM stay as they were.
 */
static void vo_init_offer(struct fz_net *n, uint8_t sel, uint16_t fs)
{
	static struct vnet scratch;
	const uint64_t named = VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
			       VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |
			       VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
			       VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
	uint64_t live = vnet_features(&n->dev), all = vnet_supported_features();
	uint64_t allow = fz_net_feat_decode(fs) | ((sel & 4) ? named : 0), cut, want, got;
	struct vnet_params p = n->params;
	int r;

	FZ_CHECK(!(live & ~all), "offered %#llx beyond vnet_supported_features %#llx",
		 (unsigned long long)live, (unsigned long long)all);
	if (p.allow)
		allow &= p.allow;
	if (!allow)
		allow = p.allow ? p.allow : ~0ULL; /* allow 0 means "all" */
	p.allow = allow;
	cut = allow;
	if (sel & 1) {
		memset(p.mac, 0, sizeof(p.mac));
		cut &= ~VIRTIO_BIT(VIRTIO_NET_F_MAC);
	}
	if (sel & 2) {
		p.mtu = 0;
		cut &= ~VIRTIO_BIT(VIRTIO_NET_F_MTU);
	}
	want = fz_net_features(cut, live);
	mis_save(n);
	r = vnet_init(&scratch, &p, n->bep);
	FZ_CHECK(r == 0, "vnet_init with allow %#llx returned %d", (unsigned long long)allow, r);
	got = vnet_features(&scratch);
	vnet_destroy(&scratch);
	if (n->trace)
		fprintf(stderr, "vo: vnet_init allow %#llx (sel %#x) offers %#llx\n",
			(unsigned long long)allow, sel, (unsigned long long)got);
	FZ_CHECK(got == want && !(got & ~all),
		 "vnet_init allow %#llx (no mac %d, no mtu %d) offers %#llx, reference %#llx",
		 (unsigned long long)allow, sel & 1, !!(sel & 2), (unsigned long long)got,
		 (unsigned long long)want);
	mis_unchanged(n, "vnet_init (allow mask)");
}

/*
 * VO_MISUSE: the harness as a buggy caller of the vnet API, next to the
 * vhost-user server, which itself never makes these calls (it refuses
 * SET_FEATURES while rings run, checks the offer first, starts only rings
 * it can index, derives the format from the same features).  Each call must
 * return the error net/vnet.h documents and change nothing: the device byte
 * for byte, guest RAM, which rings run.
 */
static void vo_misuse(struct vo *v)
{
	struct fz_net *n = v->n;
	uint8_t kind = fz_u8(&n->in) % VM__COUNT, sel = fz_u8(&n->in);
	struct fz_nq *q0 = &n->q[FZ_NR_RX];
	bool running = false;
	const char *what;
	struct vq_state st;
	struct vq_cfg cfg;
	uint64_t f;
	int r, want;

	if (!n->dev_ok)
		return;
	for (unsigned i = 0; i < VO_NRINGS; i++)
		running |= n->q[i].started;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fmt = q0->packed ? VQ_FMT_PACKED : VQ_FMT_SPLIT;
	cfg.size = q0->active ? q0->size : 8;
	cfg.desc = q0->desc_gpa;
	cfg.driver = q0->drv_gpa;
	cfg.device = q0->dev_gpa;
	cfg.base.avail_wrap = cfg.base.used_wrap = true;
	cfg.call_fd = cfg.err_fd = -1;
	if (kind == VM_LINK) {
		if (sel & 2)
			vo_link_unoffered(n, sel & 1);
		else
			vo_link(n, sel & 1);
		return;
	}
	if (kind == VM_INIT_OFFER) {
		vo_init_offer(n, sel, fz_u16(&n->in));
		return;
	}
	if (kind == VM_INIT_BAD_PARAMS) {
		static struct vnet scratch;
		struct net_backend none = { 0 };
		struct net_backend *bep[2] = { n->bep[0], n->bep[1] };
		struct vnet_params p = n->params;

		switch (sel % 5) {
		case 0:
			p.max_pairs = 0;
			break;
		case 1:
			p.max_pairs = (uint16_t)(VNET_MAX_PAIRS + 1 + sel / 5);
			break;
		case 2:
			p.mtu = (uint16_t)(1 + sel % 67); /* below the IPv4 minimum of 68 */
			break;
		case 3:
			bep[p.max_pairs - 1] = NULL;
			break;
		default:
			bep[p.max_pairs - 1] = &none; /* no ops */
			break;
		}
		mis_save(n);
		r = vnet_init(&scratch, &p, bep);
		FZ_CHECK(r == -EINVAL, "vnet_init with bad parameters (%u) returned %d", sel % 5,
			 r);
		FZ_CHECK(!scratch.qp, "vnet_init refused but allocated");
		/* the daemon destroys a device whose re-initialisation failed */
		vnet_destroy(&scratch);
		FZ_CHECK(!scratch.qp && !scratch.max_pairs, "vnet_destroy of a refused device");
		mis_unchanged(n, "vnet_init (bad parameters)");
		if (n->trace)
			fprintf(stderr, "vo: misuse vnet_init (bad parameters %u) -> %d\n", sel % 5,
				r);
		return;
	}
	switch (kind) {
	case VM_FEATURES_RUNNING:
	case VM_FEATURES_UNOFFERED:
		if (kind == VM_FEATURES_RUNNING && !running)
			return;
		f = n->features_ok ? n->features : 0;
		if (kind == VM_FEATURES_UNOFFERED) {
			uint64_t un = ~vnet_features(&n->dev);

			f |= un & -un; /* the lowest feature bit not offered */
		}
		want = running ? -EBUSY : -EINVAL;
		what = "vnet_set_features";
		mis_save(n);
		r = vnet_set_features(&n->dev, f);
		break;
	case VM_START_UNDEFINED:
	case VM_START_WRONG_FMT:
	case VM_START_NO_FEATURES:
		if (kind == VM_START_NO_FEATURES && n->dev.features_ok)
			return;
		if (kind == VM_START_WRONG_FMT)
			cfg.fmt = (n->dev.acked & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) ? VQ_FMT_SPLIT
										   : VQ_FMT_PACKED;
		want = -EINVAL;
		what = "vnet_queue_start";
		mis_save(n);
		r = vnet_queue_start(&n->dev,
				     kind == VM_START_UNDEFINED ? undefined_qidx(&n->dev, sel) : 0,
				     &n->l.gm, &cfg);
		break;
	default:
		want = -EINVAL;
		what = "vnet_queue_stop";
		memset(&st, 0xa5, sizeof(st));
		mis_save(n);
		r = vnet_queue_stop(&n->dev, undefined_qidx(&n->dev, sel), &st);
		break;
	}
	if (n->trace)
		fprintf(stderr, "vo: misuse %u: %s -> %d\n", kind, what, r);
	FZ_CHECK(r == want, "misuse %u: %s returned %d, want %d", kind, what, r, want);
	mis_unchanged(n, what);
}

/* ---- resource accounting ------------------------------------------------------- */

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned k = 0;

	FZ_CHECK(d, "opendir /proc/self/fd");
	while (readdir(d))
		k++;
	closedir(d);
	return k;
}

static unsigned count_maps(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	static const char pat[] = "/memfd:vh_fz_net";
	size_t have = 0;
	unsigned k = 0;

	FZ_CHECK(fd >= 0, "open /proc/self/maps");
	/* whole reads, keeping a pattern's length of overlap between them */
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *p;

		FZ_CHECK(r >= 0, "read /proc/self/maps");
		if (r == 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		for (p = buf; (p = strstr(p, pat)) != NULL; p += sizeof(pat) - 1)
			k++;
		if (have >= sizeof(pat) - 1) {
			memmove(buf, buf + have - (sizeof(pat) - 2), sizeof(pat) - 2);
			have = sizeof(pat) - 2;
		}
	}
	close(fd);
	return k;
}

/* ---- run ----------------------------------------------------------------------- */

static unsigned budget_of(uint8_t b)
{
	return (b & 0x3f) ? (b & 0x3f) : 256u;
}

static void run_ops(struct vo *v)
{
	struct fz_net *n = v->n;

	for (unsigned k = 0; k < VO_MAX_OPS && !fz_done(&n->in); k++) {
		uint8_t op = fz_u8(&n->in) % (v->misuse ? VO__COUNT : VO__PLAIN);

		if (n->trace)
			fprintf(stderr, "vo: op %u at %zu\n", op, n->in.pos - 1);
		switch (op) {
		case VO_SETUP:
			vo_setup(v);
			break;
		case VO_POST:
			fz_net_op_post(n, &n->q[fz_u8(&n->in) & 1]);
			break;
		case VO_POSTN:
			fz_net_op_postn(n, &n->q[fz_u8(&n->in) & 1]);
			break;
		case VO_CTRL:
			fz_net_post_ctrl(n);
			break;
		case VO_INJECT:
			fz_net_op_inject(n);
			break;
		case VO_RUN: {
			uint8_t w = fz_u8(&n->in) % 3;
			unsigned b = budget_of(fz_u8(&n->in));

			if (!n->features_ok)
				break;
			if (w == 0)
				fz_net_run_rx(n, b);
			else if (w == 1)
				fz_net_run_tx(n, b);
			else if (v->ctrl)
				fz_net_run_ctrl(n, b);
			break;
		}
		case VO_DRAIN:
			fz_net_tap_drain(n);
			break;
		case VO_VU:
			vo_vu(v);
			break;
		case VO_FLIP:
			fz_net_op_flip(n, true);
			break;
		case VO_EVENT:
			fz_net_op_event(n, &n->q[vo_ring_sel(v)]);
			break;
		case VO_SNDBUF:
			fz_net_op_sndbuf(n);
			break;
		case VO_CLOSE:
			fz_net_tap_close(n);
			break;
		case VO_RECONNECT:
			reconnect(v);
			break;
		default:
			vo_misuse(v);
			break;
		}
	}
}

/* One harness state for every run (reset at the start of each): no fresh pages per run. */
static struct vo vo_run;
static struct fz_net vo_engine;

/*
 * Mappings of the guest RAM memfd when the run starts: counted once, then
 * carried over, since each run ends by checking that it left exactly as many
 * as it found (the count a run starts with is the count the previous one was
 * checked to end with; only this harness maps that memfd).  Open fds are
 * counted at both ends of every run: libFuzzer itself opens files between
 * runs.
 */
static bool base_valid;
static unsigned base_maps;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vo *v = &vo_run;
	unsigned fds0, maps0, fds1, maps1;

	memset(v, 0, sizeof(*v));
	v->n = &vo_engine;
	if (!base_valid) {
		base_maps = count_maps();
		base_valid = true;
	}
	fds0 = count_fds();
	maps0 = base_maps;
	if (fz_net_init(v->n, data, size, FZ_NM_TX, true) == 0) {
		/* the engine header was consumed; its selectors are ours to use */
		v->feat_sel = (uint16_t)(data && size >= 2 ? data[0] | data[1] << 8 : 0);
		v->size_sel = size >= 3 ? data[2] : 0;
		v->misuse = size >= 5 && (data[4] & VO_MISC_MISUSE);
		v->choice = fz_u8(&v->n->in);
		FZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, v->sv), "socketpair");
		FZ_CHECK(!fcntl(v->sv[1], F_SETFL, O_NONBLOCK), "O_NONBLOCK");
		vu_server_init(&v->s, &vo_ops, v, v->sv[1]);
		run_ops(v);
		/* disconnect: every ring stopped, the device reset (session end) */
		vu_server_reset(&v->s);
		for (unsigned i = 0; i < VO_NRINGS; i++)
			FZ_CHECK(!v->n->q[i].started, "ring %u running after reset", i);
		close(v->sv[0]);
		close(v->sv[1]);
	}
	fz_net_fini(v->n);
	fds1 = count_fds();
	maps1 = count_maps();
	FZ_CHECK(fds1 == fds0, "fd leak: %u open, %u before", fds1, fds0);
	FZ_CHECK(maps1 == maps0, "mapping leak: %u memfd maps, %u before", maps1, maps0);
	return 0;
}
