/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost_user.h - backend side of the vhost-user protocol.
 *
 * Theory of operation
 * -------------------
 * One struct vu_server per frontend connection, driven by the control thread:
 * vu_server_recv() reads exactly one message (header, payload, fds) and
 * vu_server_handle() validates it against a per-request table (payload size,
 * fd count, ring index, required protocol feature) before any handler runs.
 * Every fd that a handler does not take over is closed, whatever happens.
 *
 * The server owns guest memory (mmaps of the frontend's fds) and every ring's
 * configuration and eventfds.  The device sees rings only through
 * queue_start / queue_stop: a ring is started when it has a size, addresses,
 * memory and a kick fd, and stopped by GET_VRING_BASE, a reset or a
 * disconnect.  Anything that would change a running ring (new memory table,
 * new call/kick/err fd, logging switched on) stops it, swaps, and restarts it
 * from its saved position, so the device never sees configuration change under
 * a running queue.  Guest memory tables are double-buffered: the old mapping
 * stays valid until every ring has been restarted on the new one.
 */
#ifndef VHOSTILE_CORE_VHOST_USER_H
#define VHOSTILE_CORE_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/gmem.h"
#include "core/virtq.h"
#include "core/vu_msg.h"

#define VU_MAX_VRINGS 64

/*
 * struct vu_dev_ops - what a device implements for the protocol layer.
 * Called from the control thread only.  queue_start hands a ring to whoever
 * processes it; queue_stop returns only when nobody touches the ring, its
 * memory or its fds any more (stop -> ack).
 */
struct vu_dev_ops {
	/* virtio features offered (VHOST_USER_F_PROTOCOL_FEATURES is added here) */
	uint64_t (*get_features)(void *dev);
	/* optional protocol features the device implements (MQ, CONFIG, MTU...) */
	uint64_t (*get_protocol_features)(void *dev);
	/* answer to GET_QUEUE_NUM (vhost-user-net: queue pairs) */
	uint64_t (*get_queue_num)(void *dev);
	/* vrings the device services; indices >= this are refused */
	unsigned (*max_vrings)(void *dev);
	/* acked features, VHOST_USER_F_PROTOCOL_FEATURES and LOG_ALL stripped */
	int (*set_features)(void *dev, uint64_t features);
	int (*get_config)(void *dev, uint32_t off, void *buf, uint32_t len);
	int (*set_config)(void *dev, uint32_t off, const void *buf, uint32_t len, uint32_t flags);
	int (*queue_start)(void *dev, unsigned idx, const struct gmem *gm, const struct vq_cfg *cfg,
			   int kick_fd, bool enabled);
	void (*queue_stop)(void *dev, unsigned idx, struct vq_state *st);
	void (*queue_enable)(void *dev, unsigned idx, bool enabled);
	/* all rings are stopped when this is called */
	void (*reset)(void *dev);
};

struct vu_vring {
	uint32_t num;
	bool addr_set;
	bool base_set;
	bool started;
	bool enabled;
	struct vu_vring_addr addr;
	uint32_t base;      /* SET_VRING_BASE payload, decoded at start */
	struct vq_state state; /* position saved by the last stop */
	bool state_valid;
	int kick_fd;
	int call_fd;
	int err_fd;
};

struct vu_map {
	void *base;
	size_t len;
};

struct vu_memtab {
	struct gmem gm;
	struct vu_map map[GMEM_MAX_REGIONS]; /* indexed like gm.r */
	uint64_t mmap_offset[GMEM_MAX_REGIONS];
	/* ADD_MEM_REG of an identical region takes another reference: QEMU
	 * runs one vhost device per queue pair over the same connection and
	 * each adds (and later removes) the whole guest memory. */
	unsigned refs[GMEM_MAX_REGIONS];
};

struct vu_stats {
	uint64_t msgs;
	uint64_t errors;     /* requests refused */
	uint64_t fds_closed; /* unexpected fds closed */
};

struct vu_server {
	const struct vu_dev_ops *ops;
	void *dev;
	int sock;

	uint64_t features;       /* acked virtio features */
	uint64_t protocol_features;
	bool features_acked;
	bool owner;
	uint8_t status;

	struct vu_memtab mem[2];
	unsigned cur;            /* mem[cur] is live */

	uint8_t *log_base;       /* mmap of the dirty log */
	size_t log_map_len;
	uint64_t log_size;
	int log_fd;              /* SET_LOG_FD eventfd */

	struct vu_vring vr[VU_MAX_VRINGS];
	struct vu_stats stats;
};

/**
 * vu_server_init() - a server for one connection.
 * @s: server
 * @ops: device implementation
 * @dev: device object passed back to @ops
 * @sock: connected socket (owned by the caller; not closed here)
 */
void vu_server_init(struct vu_server *s, const struct vu_dev_ops *ops, void *dev, int sock);

/**
 * vu_server_recv() - read exactly one message from @s->sock.
 * @s: server
 * @m: message storage
 *
 * Blocking; the caller sets a receive timeout on the socket.  On error all
 * received fds are closed.
 *
 * Return: 0, -ECONNRESET on orderly EOF, -EPROTO on a framing violation
 * (short header, oversized payload, truncated control data), other -errno.
 */
VH_MUST_CHECK int vu_server_recv(struct vu_server *s, struct vu_msg *m);

/**
 * vu_server_handle() - validate and execute one message, send its reply.
 * @s: server
 * @m: message; its fds are consumed (taken over or closed)
 *
 * Return: 0 (also when the request was refused with an error reply), or
 * -errno when the connection must be closed.
 */
VH_MUST_CHECK int vu_server_handle(struct vu_server *s, struct vu_msg *m);

/**
 * vu_server_reset() - stop every ring, release memory, fds and state.
 * @s: server
 *
 * Used on disconnect; the next frontend starts from a clean slate.
 */
void vu_server_reset(struct vu_server *s);

/**
 * vu_request_name() - printable request name.
 * @req: request number
 *
 * Return: static string.
 */
const char *vu_request_name(uint32_t req);

#endif /* VHOSTILE_CORE_VHOST_USER_H */
