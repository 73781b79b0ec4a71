// SPDX-License-Identifier: Apache-2.0
/*
 * worker.c - queue-pair worker threads and the vhost-user device glue
 * (see worker.h for the theory of operation).
 */
#include "net/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "net/tap.h"

enum { RING_RX, RING_TX, RING_CTRL };
enum { TAG_MBOX = 1, TAG_KICK_RX, TAG_KICK_TX, TAG_KICK_CTRL, TAG_TAP };

/* ------------------------------------------------------- worker thread */

static void drain_eventfd(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));

	(void)r; /* only called after EPOLLIN: never blocks */
}

static void signal_eventfd(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));

	(void)r;
}

static struct vnet_qp *wqp(struct worker *w)
{
	return w->dev->qp ? &w->dev->qp[w->index] : NULL;
}

static bool ring_live(const struct worker *w, int r)
{
	return w->ring[r].started && w->ring[r].enabled;
}

/* Poll the TAP for what RX/TX are waiting on, and nothing else. */
static void update_tap(struct worker *w)
{
	struct vnet_qp *qp = wqp(w);
	struct epoll_event ev = { .data.u32 = TAG_TAP };
	unsigned want = 0;
	int fd;

	if (!qp || qp->be->fd < 0)
		return;
	fd = qp->be->fd;
	if (ring_live(w, RING_RX) && !w->rx_work &&
	    (qp->rx_wait == NET_WAIT_BACKEND_IN || qp->rx_wait == NET_WAIT_NONE))
		want |= EPOLLIN;
	if (ring_live(w, RING_TX) && qp->tx_wait == NET_WAIT_BACKEND_OUT)
		want |= EPOLLOUT;
	if (want == w->tap_events && w->tap_registered)
		return;
	ev.events = want;
	if (!w->tap_registered) {
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
			w->tap_registered = true;
	} else {
		(void)epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	w->tap_events = want;
}

static void run_queues(struct worker *w)
{
	struct vnet_qp *qp = wqp(w);
	int r;

	if (!qp)
		return;
	if (w->tx_work) {
		w->tx_work = false;
		if (w->ring[RING_TX].started) {
			/* Disabled: process and discard (vhost-user ring states). */
			qp->tx_discard = !w->ring[RING_TX].enabled;
			r = net_tx_run(qp, WORKER_BUDGET);
			w->tx_work = r >= 0 && qp->tx_wait == NET_WAIT_NONE;
		}
	}
	if (w->rx_work) {
		w->rx_work = false;
		if (ring_live(w, RING_RX)) {
			r = net_rx_run(qp, WORKER_BUDGET);
			(void)r; /* the reason to stop is in rx_wait */
			w->rx_work = qp->rx_wait == NET_WAIT_NONE;
		}
	}
	if (w->ctrl_work) {
		w->ctrl_work = false;
		if (ring_live(w, RING_CTRL)) {
			r = net_ctrl_run(w->dev, WORKER_BUDGET);
			w->ctrl_work = r >= (int)WORKER_BUDGET;
		}
	}
	update_tap(w);
}

static int ring_of(const struct worker *w, unsigned qidx)
{
	if (w->index == 0 && qidx == vnet_ctrl_qidx(w->dev))
		return RING_CTRL;
	return qidx % 2 ? RING_TX : RING_RX;
}

static void set_work(struct worker *w, int r)
{
	if (r == RING_RX)
		w->rx_work = true;
	else if (r == RING_TX)
		w->tx_work = true;
	else
		w->ctrl_work = true;
}

static void do_command(struct worker *w)
{
	int r = w->mb.cmd == WCMD_STATS || w->mb.cmd == WCMD_QUIT ? 0 : ring_of(w, w->mb.qidx);
	struct worker_ring *ring = &w->ring[r];
	struct vnet_qp *qp = wqp(w);

	w->mb.result = 0;
	switch (w->mb.cmd) {
	case WCMD_START: {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_KICK_RX + (uint32_t)r };

		w->mb.result = vnet_queue_start(w->dev, w->mb.qidx, w->mb.gm, &w->mb.cfg);
		if (w->mb.result)
			break;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->mb.kick_fd, &ev)) {
			w->mb.result = -errno;
			(void)vnet_queue_stop(w->dev, w->mb.qidx, NULL);
			break;
		}
		ring->started = true;
		ring->enabled = w->mb.enabled;
		ring->kick_fd = w->mb.kick_fd;
		set_work(w, r); /* buffers may already be waiting */
		break;
	}
	case WCMD_STOP:
		memset(&w->mb.state, 0, sizeof(w->mb.state));
		if (!ring->started)
			break;
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, ring->kick_fd, NULL);
		w->mb.result = vnet_queue_stop(w->dev, w->mb.qidx, &w->mb.state);
		ring->started = false;
		ring->kick_fd = -1;
		break;
	case WCMD_ENABLE:
		ring->enabled = w->mb.enabled;
		/* TX: disabled rings are drained too (discarding), so look now. */
		if (ring->enabled || r == RING_TX)
			set_work(w, r);
		break;
	case WCMD_STATS:
		if (!qp)
			break;
		w->snap_rx = qp->stats.rx;
		w->snap_tx = qp->stats.tx;
		w->snap_vq_rx = qp->rx.stats;
		w->snap_vq_tx = qp->tx.stats;
		w->snap_rx_broken = vq_is_broken(&qp->rx, NULL);
		w->snap_tx_broken = vq_is_broken(&qp->tx, NULL);
		if (w->index == 0)
			w->snap_ctrl = w->dev->ctrl_stats;
		break;
	case WCMD_QUIT:
	case WCMD_PARK: /* handled by worker_main() */
	case WCMD_NONE:
		break;
	}
	update_tap(w);
}

/* Ack, then wait for the control thread to be done with the device. */
static void park(struct worker *w)
{
	uint64_t v;
	ssize_t r;

	w->mb.result = 0;
	signal_eventfd(w->ack_fd);
	do {
		r = read(w->resume_fd, &v, sizeof(v));
	} while (r < 0 && errno == EINTR);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[8];

	for (;;) {
		/* Work left over from a budget-limited run: poll, don't sleep. */
		int timeout = (w->rx_work || w->tx_work || w->ctrl_work) ? 0 : -1;
		int n = epoll_wait(w->epfd, ev, (int)VH_ARRAY_SIZE(ev), timeout);

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			switch (ev[i].data.u32) {
			case TAG_MBOX:
				drain_eventfd(w->mbox_fd);
				if (w->mb.cmd == WCMD_PARK) {
					park(w);
					break;
				}
				do_command(w);
				if (w->mb.cmd == WCMD_QUIT) {
					signal_eventfd(w->ack_fd);
					return NULL;
				}
				signal_eventfd(w->ack_fd);
				break;
			case TAG_KICK_RX:
				drain_eventfd(w->ring[RING_RX].kick_fd);
				w->rx_work = true;
				break;
			case TAG_KICK_TX:
				drain_eventfd(w->ring[RING_TX].kick_fd);
				w->tx_work = true;
				break;
			case TAG_KICK_CTRL:
				drain_eventfd(w->ring[RING_CTRL].kick_fd);
				w->ctrl_work = true;
				break;
			case TAG_TAP:
				if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
					w->rx_work = true;
				if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
					w->tx_work = true;
				break;
			}
		}
		run_queues(w);
	}
	vh_err("worker %u: epoll_wait failed: %s", w->index, strerror(errno));
	return NULL;
}

/* Post a command and wait for the worker's ack (control thread only). */
static int worker_call(struct worker *w, enum worker_cmd cmd)
{
	uint64_t v;
	ssize_t r;

	w->mb.cmd = cmd;
	signal_eventfd(w->mbox_fd);
	do {
		r = read(w->ack_fd, &v, sizeof(v));
	} while (r < 0 && errno == EINTR);
	return r == sizeof(v) ? w->mb.result : -EIO;
}

static int worker_init(struct worker *w, struct vnet *dev, unsigned index)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_MBOX };
	int err;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->index = index;
	for (int i = 0; i < 3; i++)
		w->ring[i].kick_fd = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->mbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->ack_fd = eventfd(0, EFD_CLOEXEC); /* blocking: the control thread waits */
	w->resume_fd = eventfd(0, EFD_CLOEXEC);
	if (w->epfd < 0 || w->mbox_fd < 0 || w->ack_fd < 0 || w->resume_fd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->mbox_fd, &ev))
		return -errno;
	err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err)
		return -err;
	w->running = true;
	return 0;
}

static void worker_fini(struct worker *w)
{
	if (w->running) {
		(void)worker_call(w, WCMD_QUIT);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	if (w->epfd > 0)
		close(w->epfd);
	if (w->mbox_fd > 0)
		close(w->mbox_fd);
	if (w->ack_fd > 0)
		close(w->ack_fd);
	if (w->resume_fd > 0)
		close(w->resume_fd);
	w->epfd = w->mbox_fd = w->ack_fd = w->resume_fd = -1;
}

/*
 * Device-wide changes (worker.h): every worker parked around them.  A worker
 * that did not ack is not resumed, so no stray count is left to let a later
 * park through early.
 */
static void park_all(struct netdev *nd)
{
	for (unsigned i = 0; i < nd->pairs; i++) {
		struct worker *w = &nd->w[i];

		w->parked = w->running && worker_call(w, WCMD_PARK) == 0;
	}
}

static void resume_all(struct netdev *nd)
{
	for (unsigned i = 0; i < nd->pairs; i++) {
		if (nd->w[i].parked)
			signal_eventfd(nd->w[i].resume_fd);
		nd->w[i].parked = false;
	}
}

/* ------------------------------------------------------ vhost-user glue */

/* Worker serving virtqueue @qidx, or NULL if it does not exist. */
static struct worker *worker_for(struct netdev *nd, unsigned qidx)
{
	if (qidx == vnet_ctrl_qidx(&nd->vnet))
		return (nd->vnet.offered & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)) ? &nd->w[0] : NULL;
	if (qidx / 2 >= nd->pairs)
		return NULL;
	return &nd->w[qidx / 2];
}

static uint64_t nd_get_features(void *d)
{
	return vnet_features(&((struct netdev *)d)->vnet);
}

static uint64_t nd_get_protocol_features(void *d)
{
	(void)d;
	return VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
}

static uint64_t nd_get_queue_num(void *d)
{
	return ((struct netdev *)d)->pairs;
}

static unsigned nd_max_vrings(void *d)
{
	struct netdev *nd = d;

	return 2 * nd->pairs + ((nd->vnet.offered & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)) ? 1 : 0);
}

static int nd_set_features(void *d, uint64_t f)
{
	struct netdev *nd = d;
	int r;

	park_all(nd);
	r = vnet_set_features(&nd->vnet, f);
	resume_all(nd);
	return r;
}

/* Config space: the control queue (worker 0) may set the MAC meanwhile. */
static int nd_get_config(void *d, uint32_t off, void *buf, uint32_t len)
{
	struct netdev *nd = d;
	int r;

	park_all(nd);
	r = vnet_get_config(&nd->vnet, off, buf, len);
	resume_all(nd);
	return r;
}

static int nd_set_config(void *d, uint32_t off, const void *buf, uint32_t len, uint32_t flags)
{
	struct netdev *nd = d;
	int r;

	(void)flags;
	park_all(nd);
	r = vnet_set_config(&nd->vnet, off, buf, len);
	resume_all(nd);
	return r;
}

static int nd_queue_start(void *d, unsigned idx, const struct gmem *gm, const struct vq_cfg *cfg,
			  int kick_fd, bool enabled)
{
	struct worker *w = worker_for(d, idx);

	if (!w)
		return -EINVAL;
	w->mb.qidx = idx;
	w->mb.gm = gm;
	w->mb.cfg = *cfg;
	w->mb.kick_fd = kick_fd;
	w->mb.enabled = enabled;
	return worker_call(w, WCMD_START);
}

static void nd_queue_stop(void *d, unsigned idx, struct vq_state *st)
{
	struct worker *w = worker_for(d, idx);

	memset(st, 0, sizeof(*st));
	if (!w)
		return;
	w->mb.qidx = idx;
	(void)worker_call(w, WCMD_STOP);
	*st = w->mb.state;
}

static void nd_queue_enable(void *d, unsigned idx, bool enabled)
{
	struct worker *w = worker_for(d, idx);

	if (!w)
		return;
	w->mb.qidx = idx;
	w->mb.enabled = enabled;
	(void)worker_call(w, WCMD_ENABLE);
}

/* A new frontend session (or a reset) starts from a freshly set-up device. */
static void nd_reset(void *d)
{
	struct netdev *nd = d;
	int err;

	park_all(nd);
	vnet_destroy(&nd->vnet);
	err = vnet_init(&nd->vnet, &nd->params, nd->bep);
	resume_all(nd);
	if (err)
		vh_err("device reset failed: %s", strerror(-err));
}

const struct vu_dev_ops netdev_vu_ops = {
	.get_features = nd_get_features,
	.get_protocol_features = nd_get_protocol_features,
	.get_queue_num = nd_get_queue_num,
	.max_vrings = nd_max_vrings,
	.set_features = nd_set_features,
	.get_config = nd_get_config,
	.set_config = nd_set_config,
	.queue_start = nd_queue_start,
	.queue_stop = nd_queue_stop,
	.queue_enable = nd_queue_enable,
	.reset = nd_reset,
};

/* ------------------------------------------------------------- set-up */

static int open_backends(struct netdev *nd, const struct vnet_config *cfg)
{
	char buf[64];

	for (unsigned i = 0; i < nd->pairs; i++) {
		struct net_backend *be = &nd->be[i];
		int err = 0;

		if (cfg->backend == CFG_BACKEND_NULL)
			net_null_init(be);
		else if (cfg->n_tap_fds)
			err = tap_adopt(be, cfg->tap_fds[i]);
		else
			err = tap_open(be, i == 0 ? cfg->tap_name : nd->be[0].ifname);
		if (err) {
			vh_err("queue pair %u: TAP %s: %s", i,
			       cfg->n_tap_fds ? "fd" : cfg->tap_name, strerror(-err));
			return err;
		}
		nd->bep[i] = be;
		/* An offload the operator asked for by name must be available. */
		if (cfg->offloads != NET_OFF_ALL && (be->offload_refused & cfg->offloads)) {
			vh_err("TAP refuses offloads: %s",
			       tap_offload_names(be->offload_refused & cfg->offloads, buf,
						 sizeof(buf)));
			return -EOPNOTSUPP;
		}
	}
	if (cfg->backend == CFG_BACKEND_TAP)
		vh_info("TAP %s: %u queue(s), offloads %s", nd->be[0].ifname, nd->pairs,
			tap_offload_names(nd->be[0].offloads, buf, sizeof(buf)));
	return 0;
}

/* Operator's allow-list of features from --offloads / --disable. */
static uint64_t allowed_features(const struct vnet_config *cfg)
{
	uint64_t f = vnet_supported_features();

	if (cfg->disable & CFG_DIS_PACKED)
		f &= ~VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (cfg->disable & CFG_DIS_EVENT_IDX)
		f &= ~VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (cfg->disable & CFG_DIS_INDIRECT)
		f &= ~VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (cfg->disable & CFG_DIS_MRG_RXBUF)
		f &= ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (cfg->disable & CFG_DIS_MQ)
		f &= ~VIRTIO_BIT(VIRTIO_NET_F_MQ);
	if (!(cfg->offloads & NET_OFF_CSUM))
		f &= ~(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	if (!(cfg->offloads & NET_OFF_TSO4))
		f &= ~(VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	if (!(cfg->offloads & NET_OFF_TSO6))
		f &= ~(VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
	if (!(cfg->offloads & NET_OFF_ECN))
		f &= ~(VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN));
	if (!(cfg->offloads & NET_OFF_UFO))
		f &= ~(VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO));
	if (!cfg->mtu)
		f &= ~VIRTIO_BIT(VIRTIO_NET_F_MTU);
	return f;
}

int netdev_init(struct netdev *nd, const struct vnet_config *cfg)
{
	int err;

	memset(nd, 0, sizeof(*nd));
	for (unsigned i = 0; i < VNET_MAX_QUEUE_PAIRS; i++) {
		nd->be[i].fd = -1;
		nd->w[i].epfd = nd->w[i].mbox_fd = nd->w[i].ack_fd = nd->w[i].resume_fd = -1;
	}
	nd->pairs = cfg->queue_pairs;
	err = open_backends(nd, cfg);
	if (err)
		return err;
	memcpy(nd->params.mac, cfg->mac, 6);
	nd->params.mtu = (uint16_t)cfg->mtu;
	nd->params.max_pairs = (uint16_t)cfg->queue_pairs;
	nd->params.allow = allowed_features(cfg);
	err = vnet_init(&nd->vnet, &nd->params, nd->bep);
	if (err) {
		vh_err("device set-up failed: %s", strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < nd->pairs; i++) {
		err = worker_init(&nd->w[i], &nd->vnet, i);
		if (err) {
			vh_err("worker %u: %s", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

void netdev_destroy(struct netdev *nd)
{
	for (unsigned i = 0; i < VNET_MAX_QUEUE_PAIRS; i++)
		worker_fini(&nd->w[i]);
	vnet_destroy(&nd->vnet);
	for (unsigned i = 0; i < nd->pairs; i++)
		net_be_close(&nd->be[i]);
}

static void print_dir(FILE *f, const char *name, const struct net_dir_stats *s,
		      const struct vq_stats *vs, bool broken)
{
	uint64_t drops = 0;

	for (int i = 0; i < NET_DROP__COUNT; i++)
		drops += s->drops[i];
	fprintf(f,
		"\"%s\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"drops\":%" PRIu64
		",\"bad_chains\":%" PRIu64 ",\"broken\":%s,\"signals\":%" PRIu64
		",\"backend_errors\":%" PRIu64 ",\"blocked\":%" PRIu64,
		name, s->packets, s->bytes, drops, vs->bad_chains, broken ? "true" : "false",
		s->signals, s->backend_err, s->blocked);
	for (int i = 1; i < NET_DROP__COUNT; i++) {
		if (s->drops[i])
			fprintf(f, ",\"drop_%s\":%" PRIu64, net_drop_name((enum net_drop)i),
				s->drops[i]);
	}
	fputc('}', f);
}

void netdev_print_stats(struct netdev *nd)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("{\"time\":%ld,\"queue_pairs\":[", (long)ts.tv_sec);
	for (unsigned i = 0; i < nd->pairs; i++) {
		struct worker *w = &nd->w[i];

		(void)worker_call(w, WCMD_STATS);
		printf("%s{\"pair\":%u,", i ? "," : "", i);
		print_dir(stdout, "rx", &w->snap_rx, &w->snap_vq_rx, w->snap_rx_broken);
		putchar(',');
		print_dir(stdout, "tx", &w->snap_tx, &w->snap_vq_tx, w->snap_tx_broken);
		putchar('}');
	}
	printf("],\"ctrl\":{\"ok\":%" PRIu64 ",\"err\":%" PRIu64 ",\"bad_chains\":%" PRIu64 "}}\n",
	       nd->w[0].snap_ctrl.ok, nd->w[0].snap_ctrl.err, nd->w[0].snap_ctrl.bad_chains);
	fflush(stdout);
}
