/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vu_front.h - a minimal vhost-user frontend (what QEMU does) for tests.
 *
 * Theory of operation
 * -------------------
 * A struct vu_front is one end of a vhost-user connection: a unix stream
 * socket to a backend, either connected by path (the real vhostile-net
 * binary) or handed in as an fd (one end of a socketpair whose other end an
 * in-process struct vu_server reads).  Messages are struct vu_msg from
 * core/vu_msg.h in both directions, so tests share the wire format with the
 * backend instead of re-declaring it.
 *
 * In-process use: the test installs a pump (vu_front_set_pump()), a callback
 * that makes the server receive and handle exactly one message.  Every
 * structured send (vu_front_send() and the helpers built on it) calls the
 * pump right after the message is written, so by the time a helper reads the
 * reply the server has already sent it; replies are then read without
 * blocking and a missing reply is -EAGAIN instead of a hang.  Raw sends
 * (vu_front_send_raw()) never pump: hostile tests decide when the server
 * reads.  Without a pump, replies are read with a receive timeout.
 *
 * Guest RAM is not allocated here: the guest-driver simulator (drvsim) owns
 * it, one memfd for all regions with optional GPA holes, and this library
 * only describes it to the backend.  As in QEMU, the frontend virtual address
 * of a region (userspace_addr, and every SET_VRING_ADDR address) is the
 * frontend's own mapping of that memory, i.e. the simulator's host address.
 *
 * REPLY_ACK: once the frontend acked VHOST_USER_PROTOCOL_F_REPLY_ACK, every
 * request that has no reply of its own goes out with NEED_REPLY and the
 * helper waits for the ack; a non-zero ack is -EREMOTEIO.
 *
 * Return convention: 0 or -errno; -EREMOTEIO when the backend refused a
 * request (non-zero ack, or empty GET_CONFIG reply), -EPROTO for a malformed
 * reply.
 */
#ifndef VHOSTILE_TESTS_SUPPORT_VU_FRONT_H
#define VHOSTILE_TESTS_SUPPORT_VU_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vu_msg.h"
#include "tests/support/drvsim.h"

/* Default receive timeout when no pump is installed. */
#define VU_FRONT_TIMEOUT_MS 5000

struct vu_front {
	int sock;
	int timeout_ms;
	uint64_t features;          /* last SET_FEATURES value */
	uint64_t protocol_features; /* last SET_PROTOCOL_FEATURES value */
	/* in-process backend: called after each structured send */
	int (*pump)(void *arg);
	void *pump_arg;
	int pump_rc;                /* what the last pump returned */
	uint64_t last_ack;          /* payload of the last REPLY_ACK reply */
};

/* One memory region as SET_MEM_TABLE / ADD_MEM_REG describe it. */
struct vu_front_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;       /* frontend virtual address */
	uint64_t mmap_offset; /* offset of the region in @fd */
	int fd;               /* not owned: sent as SCM_RIGHTS, kept open */
};

/* One ring as QEMU configures it (vhost_virtqueue_start). */
struct vu_front_vring {
	uint32_t num;
	uint64_t desc;  /* frontend VAs: split desc/avail/used, packed ring/driver/device */
	uint64_t avail;
	uint64_t used;
	uint32_t base;  /* SET_VRING_BASE payload (packed: avail|wrap<<15|used<<16|wrap<<31) */
	int kick;       /* eventfds (-1: none; kick must be valid to start) */
	int call;
};

/* A dirty log as the frontend allocates it for live migration. */
struct vu_front_log {
	int fd;       /* memfd */
	uint8_t *map; /* frontend mapping of the whole memfd */
	uint64_t size; /* bitmap bytes */
};

/* ---- connection ---------------------------------------------------------- */

/**
 * vu_front_init_fd() - use an already connected socket.
 * @f: frontend
 * @fd: connected unix stream socket (owned by @f from now on)
 */
void vu_front_init_fd(struct vu_front *f, int fd);

/**
 * vu_front_connect() - connect to a backend listening on @path.
 * @f: frontend
 * @path: unix socket path
 * @timeout_ms: keep retrying this long while the socket does not exist yet
 *
 * Return: 0 or -errno.
 */
int vu_front_connect(struct vu_front *f, const char *path, int timeout_ms);

/**
 * vu_front_listen() - listen on @path for a backend in client mode.
 * @path: unix socket path (an existing file is removed first)
 *
 * Return: listening socket fd, or -errno.
 */
int vu_front_listen(const char *path);

/**
 * vu_front_accept() - accept one backend connection.
 * @f: frontend
 * @lfd: socket from vu_front_listen()
 * @timeout_ms: how long to wait
 *
 * Return: 0 or -errno (-ETIMEDOUT).
 */
int vu_front_accept(struct vu_front *f, int lfd, int timeout_ms);

/* vu_front_close() - close the socket (idempotent). */
void vu_front_close(struct vu_front *f);

/**
 * vu_front_set_pump() - make the frontend drive an in-process backend.
 * @f: frontend
 * @pump: called after every structured send; returns the backend's verdict
 * @arg: passed to @pump
 */
void vu_front_set_pump(struct vu_front *f, int (*pump)(void *arg), void *arg);

/* vu_front_pump() - run the pump once (no-op without one); returns its result. */
int vu_front_pump(struct vu_front *f);

/* ---- raw messages -------------------------------------------------------- */

/**
 * vu_front_send_raw() - write arbitrary bytes with @nfds fds in one sendmsg.
 * @f: frontend
 * @buf: bytes (may be NULL when @len is 0 and @nfds > 0: one zero byte is sent)
 * @len: byte count
 * @fds: descriptors to pass (not closed)
 * @nfds: their count (any number the kernel accepts, e.g. 9 to overflow)
 *
 * Never pumps.
 *
 * Return: 0 or -errno.
 */
int vu_front_send_raw(struct vu_front *f, const void *buf, size_t len, const int *fds,
		      unsigned nfds);

/**
 * vu_front_send() - send one framed message, then pump.
 * @f: frontend
 * @req: request number
 * @flags: header flags (the version bits are the caller's: pass
 *         VHOST_USER_VERSION, optionally | VHOST_USER_NEED_REPLY_MASK)
 * @payload: payload bytes (may be NULL if @size is 0)
 * @size: hdr.size, also the number of payload bytes sent
 * @fds: descriptors attached to the header (not closed)
 * @nfds: their count
 *
 * Return: 0 or -errno (of the send; the pump's result is in @f->pump_rc).
 */
int vu_front_send(struct vu_front *f, uint32_t req, uint32_t flags, const void *payload,
		  uint32_t size, const int *fds, unsigned nfds);

/**
 * vu_front_recv() - read one message from the backend.
 * @f: frontend
 * @m: message (payload zero-padded; fds received are stored, caller closes)
 *
 * Return: 0, -EAGAIN (pump mode: nothing there), -ETIMEDOUT, -ECONNRESET
 * (EOF), -EPROTO (truncated or oversized).
 */
int vu_front_recv(struct vu_front *f, struct vu_msg *m);

/**
 * vu_front_call() - send a request and read its reply.
 * @f: frontend
 * @req: request
 * @payload: request payload
 * @size: its size
 * @fds: fds to attach
 * @nfds: their count
 * @reply: reply storage (its fds, if any, are closed here)
 *
 * Return: 0 or -errno; -EPROTO if the reply is for another request or lacks
 * the REPLY flag.
 */
int vu_front_call(struct vu_front *f, uint32_t req, const void *payload, uint32_t size,
		  const int *fds, unsigned nfds, struct vu_msg *reply);

/**
 * vu_front_set() - send a request without a reply of its own.
 * @f: frontend
 * @req: request
 * @payload: payload
 * @size: its size
 * @fds: fds to attach
 * @nfds: their count
 *
 * With REPLY_ACK negotiated NEED_REPLY is set and the ack is awaited.
 *
 * Return: 0, -EREMOTEIO if the ack was non-zero (stored in @f->last_ack),
 * other -errno on transport errors.
 */
int vu_front_set(struct vu_front *f, uint32_t req, const void *payload, uint32_t size,
		 const int *fds, unsigned nfds);

/* Is REPLY_ACK negotiated? */
static inline bool vu_front_reply_ack(const struct vu_front *f)
{
	return f->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
}

/* ---- device negotiation -------------------------------------------------- */

/*
 * The GET_* helpers below send the request, wait for its reply and store the
 * u64 payload in *@out-style arguments; the SET_* helpers go through
 * vu_front_set() (REPLY_ACK honoured).  All return 0 or -errno.
 */

/**
 * vu_front_get_features() - GET_FEATURES.
 * @f: frontend
 * @features: offered virtio features (VHOST_USER_F_PROTOCOL_FEATURES included)
 *
 * Return: 0 or -errno.
 */
int vu_front_get_features(struct vu_front *f, uint64_t *features);

/**
 * vu_front_set_features() - SET_FEATURES; remembered in @f->features.
 * @f: frontend
 * @features: acked features (VHOST_F_LOG_ALL to start dirty logging)
 *
 * Return: 0 or -errno.
 */
int vu_front_set_features(struct vu_front *f, uint64_t features);

/**
 * vu_front_get_protocol_features() - GET_PROTOCOL_FEATURES.
 * @f: frontend
 * @pf: offered protocol features
 *
 * Return: 0 or -errno.
 */
int vu_front_get_protocol_features(struct vu_front *f, uint64_t *pf);

/**
 * vu_front_set_protocol_features() - ack protocol features.
 * @f: frontend
 * @pf: features; REPLY_ACK takes effect for the following requests (this one
 *      is sent without NEED_REPLY, as QEMU does)
 *
 * Return: 0 or -errno.
 */
int vu_front_set_protocol_features(struct vu_front *f, uint64_t pf);

/* SET_OWNER, RESET_OWNER, RESET_DEVICE (no payload). */
int vu_front_set_owner(struct vu_front *f);
int vu_front_reset_owner(struct vu_front *f);
int vu_front_reset_device(struct vu_front *f);

/* GET_QUEUE_NUM (queue pairs for vhost-user-net), GET_MAX_MEM_SLOTS. */
int vu_front_get_queue_num(struct vu_front *f, uint64_t *n);
int vu_front_get_max_mem_slots(struct vu_front *f, uint64_t *n);

/* SET_STATUS / GET_STATUS (VHOST_USER_PROTOCOL_F_STATUS): the device status byte. */
int vu_front_set_status(struct vu_front *f, uint8_t status);
int vu_front_get_status(struct vu_front *f, uint8_t *status);

/**
 * vu_front_get_config() - GET_CONFIG.
 * @f: frontend
 * @off: config space offset
 * @buf: destination
 * @len: bytes (the request carries exactly this many)
 *
 * Return: 0, -EREMOTEIO for the empty (error) reply, -EPROTO for a reply of
 * another size.
 */
int vu_front_get_config(struct vu_front *f, uint32_t off, void *buf, uint32_t len);

/**
 * vu_front_set_config() - SET_CONFIG.
 * @f: frontend
 * @off: config space offset
 * @buf: bytes to write
 * @len: their count (<= 256)
 * @flags: VHOST_SET_CONFIG_TYPE_* (0: frontend)
 *
 * Return: 0, -EREMOTEIO if refused (REPLY_ACK), other -errno.
 */
int vu_front_set_config(struct vu_front *f, uint32_t off, const void *buf, uint32_t len,
			uint32_t flags);

/* ---- memory ------------------------------------------------------------- */

/**
 * vu_front_uaddr() - frontend virtual address of guest-physical @gpa.
 * @ds: guest RAM
 * @gpa: guest-physical address (must be mapped)
 *
 * Return: the address, or 0 if @gpa is not in guest RAM.
 */
uint64_t vu_front_uaddr(const struct drvsim *ds, uint64_t gpa);

/**
 * vu_front_regions() - describe the simulator's regions as a frontend would.
 * @ds: guest RAM
 * @out: array of at least @ds->nr entries
 * @cap: its capacity
 *
 * Return: number of regions written.
 */
unsigned vu_front_regions(const struct drvsim *ds, struct vu_front_region *out, unsigned cap);

/**
 * vu_front_set_mem_table() - SET_MEM_TABLE with one fd per region.
 * @f: frontend
 * @r: regions
 * @n: count (no check: hostile tests send > 8)
 *
 * Return: 0 or -errno (-E2BIG if @n > VHOST_MEMORY_BASELINE_NREGIONS: the
 * payload cannot hold them; use vu_front_send() for such tests).
 */
int vu_front_set_mem_table(struct vu_front *f, const struct vu_front_region *r, unsigned n);

/* vu_front_set_mem_table() of every region of @ds. */
int vu_front_set_mem_table_ds(struct vu_front *f, const struct drvsim *ds);

/**
 * vu_front_add_mem_reg() - ADD_MEM_REG (CONFIGURE_MEM_SLOTS) with the region's fd.
 * @f: frontend
 * @r: region
 *
 * Return: 0 or -errno.
 */
int vu_front_add_mem_reg(struct vu_front *f, const struct vu_front_region *r);

/**
 * vu_front_rem_mem_reg() - REM_MEM_REG; like QEMU, the region's fd is attached.
 * @f: frontend
 * @r: region (gpa, size and uaddr must match the one added; @r->fd may be -1)
 *
 * Return: 0 or -errno.
 */
int vu_front_rem_mem_reg(struct vu_front *f, const struct vu_front_region *r);

/* ---- rings ---------------------------------------------------------------- */

/* SET_VRING_NUM: ring size. */
int vu_front_set_vring_num(struct vu_front *f, uint32_t idx, uint32_t num);

/**
 * vu_front_set_vring_addr() - SET_VRING_ADDR.
 * @f: frontend
 * @idx: ring index
 * @desc: frontend VA of the descriptor table (packed: the ring)
 * @avail: avail ring (packed: driver event suppression)
 * @used: used ring (packed: device event suppression)
 * @flags: VHOST_VRING_F_LOG bit
 * @log: log_guest_addr
 *
 * Return: 0 or -errno.
 */
int vu_front_set_vring_addr(struct vu_front *f, uint32_t idx, uint64_t desc, uint64_t avail,
			    uint64_t used, uint32_t flags, uint64_t log);

/* SET_VRING_BASE: next avail index (packed: avail|wrap<<15|used<<16|wrap<<31). */
int vu_front_set_vring_base(struct vu_front *f, uint32_t idx, uint32_t base);

/**
 * vu_front_get_vring_base() - GET_VRING_BASE: stops the ring.
 * @f: frontend
 * @idx: ring
 * @base: returned position (packed: avail|wrap<<15|used<<16|wrap<<31)
 *
 * Return: 0 or -errno (-EPROTO if the reply names another ring).
 */
int vu_front_get_vring_base(struct vu_front *f, uint32_t idx, uint32_t *base);

/* SET_VRING_KICK / CALL / ERR; @fd < 0 sends VHOST_USER_VRING_NOFD_MASK. */
int vu_front_set_vring_kick(struct vu_front *f, uint32_t idx, int fd);
int vu_front_set_vring_call(struct vu_front *f, uint32_t idx, int fd);
int vu_front_set_vring_err(struct vu_front *f, uint32_t idx, int fd);

/* SET_VRING_ENABLE (meaningful once VHOST_USER_F_PROTOCOL_FEATURES is acked). */
int vu_front_set_vring_enable(struct vu_front *f, uint32_t idx, bool enable);

/* Describe a simulator ring (addresses as frontend VAs, base from the driver). */
void vu_front_vring_split(const struct drvsim_split *q, struct vu_front_vring *v);
void vu_front_vring_packed(const struct drvsim_packed *q, struct vu_front_vring *v);

/**
 * vu_front_vring_setup() - configure a ring in QEMU's order.
 * @f: frontend
 * @idx: ring index
 * @v: configuration
 *
 * NUM, BASE, ADDR, KICK, then CALL if @v->call >= 0 (QEMU sets the call fd
 * after the kick), stopping at the first failure.
 *
 * Return: 0 or -errno.
 */
int vu_front_vring_setup(struct vu_front *f, uint32_t idx, const struct vu_front_vring *v);

/* ---- dirty log ----------------------------------------------------------- */

/**
 * vu_front_log_new() - memfd-backed dirty bitmap covering @guest_bytes of GPA space.
 * @l: log
 * @guest_bytes: highest guest-physical address + 1 to cover
 *
 * Return: 0 or -errno.
 */
int vu_front_log_new(struct vu_front_log *l, uint64_t guest_bytes);

/* vu_front_log_free() - unmap and close a log from vu_front_log_new(). */
void vu_front_log_free(struct vu_front_log *l);

/* Is the page holding @gpa marked dirty? */
bool vu_front_log_dirty(const struct vu_front_log *l, uint64_t gpa);

/* Clear the whole bitmap. */
void vu_front_log_clear(struct vu_front_log *l);

/**
 * vu_front_set_log_base() - SET_LOG_BASE (LOG_SHMFD); waits for the reply.
 * @f: frontend
 * @fd: log memfd
 * @size: mmap_size (bitmap bytes)
 * @offset: mmap_offset
 *
 * Return: 0 or -errno.
 */
int vu_front_set_log_base(struct vu_front *f, int fd, uint64_t size, uint64_t offset);

/* SET_LOG_FD: the eventfd the backend signals after logging (LOG_SHMFD). */
int vu_front_set_log_fd(struct vu_front *f, int fd);

#endif /* VHOSTILE_TESTS_SUPPORT_VU_FRONT_H */
