/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vnet.h - the virtio-net device: features, config space, queue pairs.
 *
 * Theory of operation
 * -------------------
 * struct vnet is set up once (vnet_init: every allocation happens here, the
 * queue-pair table, each pair's bounce buffer and iovec arrays), then driven
 * by the vhost-user layer through plain calls: vnet_features,
 * vnet_set_features, vnet_get_config / vnet_set_config, vnet_queue_start /
 * vnet_queue_stop.  No threads here.  The binary runs one worker per queue
 * pair; the worker is the only thread touching its struct vnet_qp between
 * vnet_queue_start and vnet_queue_stop, and calls net_tx_run / net_rx_run
 * (and net_ctrl_run for the control queue) with a budget.  Those functions
 * never allocate, lock or block.
 *
 * Virtqueue numbering (VIRTIO 1.2, 5.1.2): receiveq(k) = 2k, transmitq(k) =
 * 2k + 1, controlq = 2 * max_virtqueue_pairs with MQ negotiated, else 2.
 *
 * Why a run function stopped is left in the pair (tx_wait / rx_wait) so the
 * worker knows what to poll next:
 *
 *	NET_WAIT_NONE		budget used up: run again after other sources
 *	NET_WAIT_KICK		ring drained (TX) or no guest buffers (RX); kicks
 *				are armed and re-checked: sleep until the kick fd
 *				fires.  RX: stop polling the backend fd meanwhile.
 *	NET_WAIT_BACKEND_OUT	TX: backend full; one chain is kept pending;
 *				poll the backend fd for EPOLLOUT
 *	NET_WAIT_BACKEND_IN	RX: backend has nothing; poll it for EPOLLIN
 *	NET_WAIT_BACKEND_ERR	backend EOF or hard error: stop polling it
 *	NET_WAIT_BROKEN		the virtqueue latched broken: stop until reset
 */
#ifndef VHOSTILE_NET_VNET_H
#define VHOSTILE_NET_VNET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"
#include "core/virtq.h"
#include "net/backend.h"
#include "net/net_hdr.h"

/* Queue pairs one device supports. */
#define VNET_MAX_PAIRS 16u
/* iovecs of one TX chain; with the header in front one writev takes at most
 * NET_BE_IOV_MAX, which is also the kernel's limit (UIO_MAXIOV). */
#define VNET_TX_IOV (NET_BE_IOV_MAX - 1u)
/* RX reservation: chains held for the next packet(s) (power of two) and
 * iovecs per RX chain (a device may limit descriptors per chain, 2.7.4.1;
 * Linux posts 1 for mergeable buffers, at most 19 for big packets). */
#define VNET_RX_SLOTS 128u
#define VNET_RX_SEG 32u
/* Control queue: iovecs per command and the largest command accepted. */
#define VNET_CTRL_IOV 64u
#define VNET_MAC_TABLE_ENTRIES 64u
#define VNET_CTRL_MAX_CMD (2u + 2u * (4u + VNET_MAC_TABLE_ENTRIES * NET_ETH_ALEN))

enum net_wait {
	NET_WAIT_NONE,
	NET_WAIT_KICK,
	NET_WAIT_BACKEND_OUT,
	NET_WAIT_BACKEND_IN,
	NET_WAIT_BACKEND_ERR,
	NET_WAIT_BROKEN,
};

/* Per-direction counters; plain integers owned by the worker. */
struct net_dir_stats {
	uint64_t packets;                  /* frames delivered */
	uint64_t bytes;                    /* their bytes, headers excluded */
	uint64_t chains;                   /* chains completed (any outcome) */
	uint64_t drops[NET_DROP__COUNT];   /* one counter per reason */
	uint64_t bad_chains;               /* malformed chains (core returned them) */
	uint64_t eagain;                   /* backend asked us to retry */
	uint64_t backend_err;              /* backend hard errors (EOF counted too) */
	uint64_t blocked;                  /* RX: stopped for lack of guest buffers */
	uint64_t bounced;                  /* RX: frames copied via the host buffer */
	uint64_t signals;                  /* driver signals sent */
};

/* A chain held by RX between pop and push. */
struct vnet_rx_slot {
	struct vq_chain c;
	struct iovec iov[VNET_RX_SEG];
};

/**
 * struct vnet_qp - one queue pair, owned by one worker.
 * @dev: the device (read-only for the worker)
 * @index: pair number
 * @features: negotiated features, copied at vnet_set_features
 * @hdr_size: virtio-net header size derived from them, once
 * @be: this pair's backend (own TAP queue fd)
 * @rx: receive virtqueue
 * @tx: transmit virtqueue
 * @tx_wait: why net_tx_run last stopped
 * @rx_wait: why net_rx_run last stopped
 * @tx_err: last backend errno seen by TX (positive), 0 if none
 * @rx_err: last backend errno seen by RX (positive; EPIPE for EOF)
 * @tx_chain: the chain being sent (or pending after -EAGAIN)
 * @tx_pending: @tx_chain is popped and its writev must be retried
 * @tx_discard: the ring is started but disabled (vhost-user
 *              SET_VRING_ENABLE 0): net_tx_run completes every chain with
 *              length 0 and sends nothing (counted as tx-disabled drops)
 * @tx_wiov_n: iovecs in @tx_wiov
 * @tx_frame_len: frame bytes of the pending chain
 * @tx_hdr: sanitised header copy, iov[0] of every writev
 * @tx_iov: @tx_chain's iovecs (guest memory)
 * @tx_wiov: header copy then a slice of @tx_iov
 * @rx_qsize: receive queue size (reservation can never exceed it)
 * @rx_head: first reserved slot
 * @rx_count: reserved chains
 * @rx_space: writable bytes of the reserved chains
 * @rx_pending_len: bytes (header included) of a frame waiting in @rx_buf for
 *                  guest buffers, 0 if none
 * @rx_buf: host bounce buffer, NET_HDR_MAX + NET_MAX_FRAME bytes, allocated
 *          once by vnet_init
 * @rx_res: reservation ring
 * @rx_riov: scratch list for one direct readv over reserved chains
 * @stats: counters
 */
struct vnet_qp {
	struct vnet *dev;
	unsigned index;
	uint64_t features;
	uint32_t hdr_size;
	struct net_backend *be;
	struct vq rx;
	struct vq tx;
	enum net_wait tx_wait;
	enum net_wait rx_wait;
	int tx_err;
	int rx_err;

	/* TX */
	struct vq_chain tx_chain;
	bool tx_pending;
	bool tx_discard;
	unsigned tx_wiov_n;
	size_t tx_frame_len;
	uint8_t tx_hdr[NET_HDR_MAX];
	struct iovec tx_iov[VNET_TX_IOV];
	struct iovec tx_wiov[NET_BE_IOV_MAX];

	/* RX */
	unsigned rx_qsize;
	unsigned rx_head;
	unsigned rx_count;
	uint64_t rx_space;
	size_t rx_pending_len;
	uint8_t *rx_buf;
	struct vnet_rx_slot rx_res[VNET_RX_SLOTS];
	struct iovec rx_riov[NET_BE_IOV_MAX];

	struct {
		struct net_dir_stats tx, rx;
	} stats;
};

/* Control queue counters. */
struct vnet_ctrl_stats {
	uint64_t ok;
	uint64_t err;
	uint64_t no_ack;     /* chains without ack space, returned with len 0 */
	uint64_t bad_chains; /* malformed chains (core returned them) */
};

/* Operator configuration for vnet_init. */
struct vnet_params {
	uint8_t mac[NET_ETH_ALEN];
	uint16_t mtu;         /* 0: VIRTIO_NET_F_MTU not offered */
	uint16_t max_pairs;   /* 1..VNET_MAX_PAIRS */
	uint64_t allow;       /* features the operator allows; 0 means all we implement */
};

struct vnet {
	uint64_t offered;
	uint64_t acked;
	bool features_ok;
	uint32_t hdr_size;
	uint16_t max_pairs;
	uint16_t curr_pairs;
	uint8_t mac[NET_ETH_ALEN];
	uint16_t status;
	uint16_t mtu;
	unsigned tap_offloads;   /* NET_OFF_* set on the backends */
	struct vnet_qp *qp;      /* max_pairs entries */

	/* control queue; run by whoever owns it (net_ctrl_run) */
	struct vq ctrl;
	struct vq_chain ctrl_chain;
	struct iovec ctrl_iov[VNET_CTRL_IOV];
	uint8_t ctrl_cmd[VNET_CTRL_MAX_CMD];
	struct {
		bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	} rx_mode;
	struct {
		unsigned n;
		bool overflow;
		uint8_t mac[VNET_MAC_TABLE_ENTRIES][NET_ETH_ALEN];
	} uni, multi;
	struct vnet_ctrl_stats ctrl_stats;
};

/* Features this implementation can offer (before backend limits). */
uint64_t vnet_supported_features(void);

/**
 * vnet_init() - set up a device and all its queue pairs.
 * @dev: device (uninitialised)
 * @p: parameters
 * @be: one backend per pair (p->max_pairs entries); borrowed, must outlive @dev
 *
 * Offered features: what the implementation supports, minus what @p->allow
 * excludes, minus guest offloads any backend refused (and the host offloads
 * tied to them), minus MQ with a single pair.  Allocates the queue-pair table
 * and every pair's buffers; nothing is allocated afterwards.
 *
 * Return: 0, -EINVAL (bad parameters), -ENOMEM.
 */
VH_MUST_CHECK int vnet_init(struct vnet *dev, const struct vnet_params *p,
			    struct net_backend *const *be);

/**
 * vnet_destroy() - free what vnet_init allocated (queues must be stopped).
 * @dev: device
 */
void vnet_destroy(struct vnet *dev);

/**
 * vnet_features() - features offered to the driver.
 * @dev: device
 *
 * Return: feature bits.
 */
uint64_t vnet_features(const struct vnet *dev);

/**
 * vnet_set_features() - accept the driver's feature choice.
 * @dev: device, no queue running
 * @acked: features the driver accepted
 *
 * Refuses features not offered and violated dependencies (VIRTIO 1.2,
 * 5.1.3.1: GUEST_TSO4/TSO6/UFO/ECN need GUEST_CSUM, GUEST_ECN needs a guest
 * TSO, HOST_TSO4/TSO6/UFO need CSUM, HOST_ECN a host TSO, CTRL_RX /
 * CTRL_MAC_ADDR / MQ / GUEST_ANNOUNCE need CTRL_VQ).  Derives the header size
 * once, sets it and the guest offloads on every backend.
 *
 * Return: 0, -EINVAL, -EBUSY (a queue runs), or a backend -errno.
 */
VH_MUST_CHECK int vnet_set_features(struct vnet *dev, uint64_t acked);

/**
 * vnet_get_config() - read device config space (mac, status, pairs, mtu).
 * @dev: device
 * @off: byte offset
 * @buf: output
 * @len: bytes
 *
 * Return: 0, or -EINVAL if [@off, @off + @len) leaves the config space.
 */
VH_MUST_CHECK int vnet_get_config(const struct vnet *dev, uint32_t off, void *buf,
				  uint32_t len);

/**
 * vnet_set_config() - driver write to config space.
 * @dev: device
 * @off: byte offset
 * @buf: data
 * @len: bytes
 *
 * Only the mac, and only for a driver without VERSION_1 (legacy drivers set
 * it this way; modern ones use CTRL_MAC_ADDR).  Everything else is read-only.
 *
 * Return: 0, -EINVAL (out of range), -EPERM (read-only field).
 */
VH_MUST_CHECK int vnet_set_config(struct vnet *dev, uint32_t off, const void *buf,
				  uint32_t len);

/**
 * vnet_set_link() - change the link status bit.
 * @dev: device
 * @up: link state
 *
 * Return: true if config space changed (send a config-change notification).
 */
bool vnet_set_link(struct vnet *dev, bool up);

/**
 * vnet_queue_start() - start virtqueue @qidx.
 * @dev: device with features set
 * @qidx: virtqueue index (see top of file)
 * @gm: guest memory, installed until vnet_queue_stop
 * @cfg: ring configuration; ring features and format must match the
 *       negotiated ones
 *
 * Return: 0, -EINVAL, -EBUSY, -EFAULT (from vq_start).
 */
VH_MUST_CHECK int vnet_queue_start(struct vnet *dev, unsigned qidx, const struct gmem *gm,
				   const struct vq_cfg *cfg);

/**
 * vnet_queue_stop() - stop virtqueue @qidx and report its position.
 * @dev: device
 * @qidx: virtqueue index
 * @st: position (GET_VRING_BASE), or NULL
 *
 * Chains the device still holds are returned first so none is lost: RX
 * reservations and a pending TX chain with used length 0 (the TX frame is
 * counted as a backend drop), then published.
 *
 * Return: 0 or -EINVAL.
 */
int vnet_queue_stop(struct vnet *dev, unsigned qidx, struct vq_state *st);

/**
 * vnet_ctrl_qidx() - index of the control queue under the negotiated features.
 * @dev: device
 *
 * Return: 2 * max_pairs with MQ, else 2.
 */
unsigned vnet_ctrl_qidx(const struct vnet *dev);

/**
 * net_tx_run() - transmit up to @budget chains from the guest.
 * @qp: started pair
 * @budget: most chains to complete in this call (> 0)
 *
 * Sleep-boundary pattern: kicks are disabled while draining; when the ring is
 * empty they are re-armed and the ring re-checked, and draining continues if
 * work raced in (seed 002 lost TX descriptors).  Completions are published
 * once per call and the driver is signalled if it wants it (seed 002 UDP
 * stall).  On backend -EAGAIN the chain stays pending in @qp and is retried
 * first next time; nothing spins.  Reason to stop: @qp->tx_wait.  With
 * @qp->tx_discard set, chains (a pending one included) are completed with
 * length 0 without touching the backend: the vhost-user rule for a started
 * but disabled TX ring ("process and discard").
 *
 * Return: chains completed (dropped ones included), or -EINVAL if the
 * transmit queue is not started.
 */
VH_MUST_CHECK int net_tx_run(struct vnet_qp *qp, unsigned budget);

/**
 * net_rx_run() - deliver backend frames into guest buffers.
 * @qp: started pair
 * @budget: most chains to complete in this call (> 0); a packet's buffers
 *          are never split across calls
 *
 * Reason to stop: @qp->rx_wait.  Chains popped but not yet filled are kept
 * reserved in @qp across calls and backend errors; none is lost or returned
 * with a made-up length.
 *
 * Return: chains completed, -EINVAL if the receive queue is not started, or
 * the backend's -errno (-EPIPE for EOF) when it failed before any chain was
 * completed in this call (rx_wait is then NET_WAIT_BACKEND_ERR).
 */
VH_MUST_CHECK int net_rx_run(struct vnet_qp *qp, unsigned budget);

/**
 * net_ctrl_run() - process control queue commands.
 * @dev: device whose control queue is started
 * @budget: most chains per call
 *
 * Same sleep-boundary pattern as net_tx_run.  A return equal to @budget
 * means more may be pending and kicks are not armed: run again.
 *
 * Return: chains completed, or -EINVAL if the control queue is not started.
 */
VH_MUST_CHECK int net_ctrl_run(struct vnet *dev, unsigned budget);

#endif /* VHOSTILE_NET_VNET_H */
