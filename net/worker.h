/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.h - one thread per queue pair, and the vhost-user device glue.
 *
 * Theory of operation
 * -------------------
 * Each worker owns its queue pair (two virtqueues, the TAP queue fd, RX
 * reservation, counters); worker 0 also owns the control queue.  The control
 * thread never touches a ring: it posts one command into the worker's mailbox
 * (START, STOP, ENABLE, STATS, QUIT), kicks the mailbox eventfd and blocks
 * on the ack eventfd.  The worker executes the command on its own thread, so
 * vq_start / vq_stop and all ring accesses happen on the owner thread and no
 * lock exists on the data path (seed 000).  The eventfd write/read pair orders
 * the mailbox contents between the threads.
 *
 * Device-wide state (features, config space, the reset that re-creates the
 * queue pairs) is changed by the control thread only while every worker is
 * parked: PARK is acked and the worker then blocks on its resume eventfd,
 * touching nothing until the control thread writes it.  Without that, a
 * worker finishing its loop iteration after an ack (run_queues() reads the
 * queue pair) raced a session reset freeing it (found by the asan preset's
 * SIGTERM test; ThreadSanitizer reports it on every session end, see the
 * tsan preset).
 *
 * The worker sleeps in epoll_wait on: the mailbox, the kick eventfds of its
 * started and enabled rings, and the TAP fd with EPOLLIN only while RX can
 * place frames (guest buffers available) and EPOLLOUT only while TX has a
 * pending frame.  A run that used up its budget leaves work flagged and the
 * next epoll_wait does not sleep, so one busy queue cannot starve the others
 * or the mailbox (CVE-2019-3900).
 */
#ifndef VHOSTILE_NET_WORKER_H
#define VHOSTILE_NET_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/vhost_user.h"
#include "net/config.h"
#include "net/vnet.h"

/* Chains per run call before the worker re-polls its other sources. */
#define WORKER_BUDGET 256u

enum worker_cmd {
	WCMD_NONE,
	WCMD_START,
	WCMD_STOP,
	WCMD_ENABLE,
	WCMD_STATS,
	WCMD_QUIT,
	WCMD_PARK,
};

struct worker_ring {
	bool started;
	bool enabled;
	int kick_fd;
};

struct worker {
	struct vnet *dev;
	unsigned index;
	pthread_t thread;
	bool running;
	int epfd;
	int mbox_fd;
	int ack_fd;
	int resume_fd; /* blocking: a parked worker waits on it */
	bool parked;   /* control thread's view */

	/* mailbox: written by the control thread before kicking mbox_fd */
	struct {
		enum worker_cmd cmd;
		unsigned qidx;
		const struct gmem *gm;
		struct vq_cfg cfg;
		int kick_fd;
		bool enabled;
		int result;
		struct vq_state state;
	} mb;

	/* worker-owned */
	struct worker_ring ring[3]; /* rx, tx, ctrl (worker 0) */
	unsigned tap_events;        /* EPOLLIN/EPOLLOUT currently requested */
	bool tap_registered;
	bool rx_work, tx_work, ctrl_work;

	/* STATS snapshot, copied by the worker */
	struct net_dir_stats snap_rx, snap_tx;
	struct vnet_ctrl_stats snap_ctrl;
	struct vq_stats snap_vq_rx, snap_vq_tx;
	bool snap_rx_broken, snap_tx_broken;
};

/* The device as the vhost-user layer and main.c see it. */
struct netdev {
	struct vnet vnet;
	struct net_backend be[VNET_MAX_QUEUE_PAIRS];
	struct net_backend *bep[VNET_MAX_QUEUE_PAIRS];
	struct vnet_params params;
	unsigned pairs;
	struct worker w[VNET_MAX_QUEUE_PAIRS];
};

extern const struct vu_dev_ops netdev_vu_ops;

/**
 * netdev_init() - backends, device and one worker thread per queue pair.
 * @nd: device
 * @cfg: validated configuration
 *
 * Fails (with a message) when the TAP cannot be opened or refuses an offload
 * the operator explicitly asked for: better not to serve than to advertise
 * what we cannot do.
 *
 * Return: 0 or -errno.
 */
VH_MUST_CHECK int netdev_init(struct netdev *nd, const struct vnet_config *cfg);

/**
 * netdev_destroy() - stop the workers and release everything.
 * @nd: device (no ring running)
 */
void netdev_destroy(struct netdev *nd);

/**
 * netdev_print_stats() - one JSON line with per-queue counters on stdout.
 * @nd: device
 */
void netdev_print_stats(struct netdev *nd);

#endif /* VHOSTILE_NET_WORKER_H */
