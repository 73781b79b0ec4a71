/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtq.h - one virtqueue interface over split and packed rings.
 *
 * Theory of operation
 * -------------------
 * A queue is configured once by vq_start(), which validates and snapshots the
 * size, the ring addresses and the negotiated features; nothing of it changes
 * until vq_stop().  The owner thread (exactly one) then loops:
 *
 *	vq_disable_notify(vq);
 *	while (budget-- && (st = vq_pop(vq, &chain)) != VQ_EMPTY) {
 *		if (st == VQ_BROKEN) break;		 // latched; err fd signalled
 *		if (st == VQ_BAD_CHAIN) continue;	 // already returned, len 0
 *		... use chain.iov ...
 *		vq_push(vq, &chain, written);
 *	}
 *	if (vq_flush(vq)) vq_signal(vq);		 // one barrier per batch
 *	if (budget exhausted) yield and come back;
 *	else if (vq_enable_notify(vq)) sleep;		 // re-checked: safe
 *	else loop again;				 // work raced in
 *
 * Failure policy: a malformed chain (bad address, loop, bad indirect table,
 * wrong descriptor order, ...) is consumed and returned to the driver with used
 * length 0 by vq_pop itself, which reports VQ_BAD_CHAIN and the reason in
 * chain->fault: no caller can forget to return it.  Ring-level corruption
 * (avail index jump, head or buffer id out of range, duplicate in-flight head,
 * unwalkable packed chain) latches the queue broken: every later call returns
 * VQ_BROKEN without touching guest memory, and the error eventfd is signalled.
 * The same bad head is never examined twice.
 *
 * No function here allocates, locks or blocks.
 */
#ifndef VHOSTILE_CORE_VIRTQ_H
#define VHOSTILE_CORE_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"
#include "core/gmem.h"
#include "core/virtio_spec.h"

#define VQ_MAX_SIZE 32768u

enum vq_fmt {
	VQ_FMT_SPLIT,
	VQ_FMT_PACKED,
};

enum vq_status {
	VQ_OK,        /* chain filled */
	VQ_EMPTY,     /* nothing available */
	VQ_BAD_CHAIN, /* malformed chain consumed and returned (len 0) */
	VQ_BROKEN,    /* ring-level corruption; queue latched broken */
};

/* Why a chain was rejected or the queue broke; tests assert which check fired. */
enum vq_fault {
	VQ_F_NONE = 0,
	/* chain faults (VQ_BAD_CHAIN) */
	VQ_F_NEXT_RANGE,   /* split next >= queue size (or >= indirect table size) */
	VQ_F_CHAIN_LONG,   /* more descriptors than the queue size (loop) */
	VQ_F_ADDR,         /* buffer not in guest memory, gap or addr+len wrap */
	VQ_F_TOO_BIG,      /* chain total >= 2^32 bytes */
	VQ_F_IOV_CAP,      /* more iovecs than the caller's array holds */
	VQ_F_ORDER,        /* device-readable descriptor after a writable one */
	VQ_F_IND_NOT_NEG,  /* INDIRECT without VIRTIO_RING_F_INDIRECT_DESC */
	VQ_F_IND_NESTED,   /* INDIRECT inside an indirect table */
	VQ_F_IND_NEXT,     /* INDIRECT together with NEXT */
	VQ_F_IND_LEN,      /* indirect table length 0 or not a multiple of 16 */
	VQ_F_IND_SIZE,     /* indirect table longer than the queue size */
	VQ_F_IND_ADDR,     /* indirect table not in guest memory */
	/* ring faults (VQ_BROKEN) */
	VQ_F_AVAIL_IDX,    /* avail idx moved by more than the queue size */
	VQ_F_HEAD_RANGE,   /* split head index >= queue size */
	VQ_F_DUP_HEAD,     /* head / buffer id already in flight */
	VQ_F_INFLIGHT,     /* more chains in flight than the queue size */
	VQ_F_ID_RANGE,     /* packed buffer id >= queue size */
	VQ_F_PACKED_CHAIN, /* packed chain runs into a non-available slot or past size */
	VQ_F__COUNT
};

/**
 * vq_fault_name() - stable short name of a fault, for logs and stats.
 * @f: fault
 *
 * Return: static string.
 */
const char *vq_fault_name(enum vq_fault f);

/* Ring position, as saved by vq_stop() and restored by vq_start(). */
struct vq_state {
	uint16_t avail_idx; /* split: next avail index; packed: next slot (< size) */
	uint16_t used_idx;  /* split: taken from the ring at start; packed: slot (< size) */
	bool avail_wrap;    /* packed only; a fresh ring starts with true (2.8.1) */
	bool used_wrap;     /* packed only; a fresh ring starts with true */
};

struct vq_cfg {
	enum vq_fmt fmt;
	uint32_t size;      /* 1..32768; power of two for split */
	uint64_t desc;      /* guest-physical: descriptor table / packed ring */
	uint64_t driver;    /* split avail ring / packed driver event suppression */
	uint64_t device;    /* split used ring / packed device event suppression */
	uint64_t features;  /* negotiated virtio features (INDIRECT_DESC, EVENT_IDX) */
	struct vq_state base;
	int call_fd;        /* eventfd the driver is signalled on, or -1 */
	int err_fd;         /* eventfd signalled when the queue breaks, or -1 */
};

/* A chain in caller-owned storage; no pointer into the ring survives vq_pop. */
struct vq_chain {
	uint16_t id;          /* split: head index; packed: buffer id */
	uint16_t nslots;      /* ring slots the chain occupied (packed) */
	uint16_t n_out;       /* iov[0..n_out) are device-readable */
	uint16_t n_in;        /* iov[n_out..n_out+n_in) are device-writable */
	uint32_t out_bytes;   /* readable total */
	uint32_t in_bytes;    /* writable total (out_bytes + in_bytes < 2^32) */
	uint16_t ndesc;       /* descriptors walked, direct + indirect */
	enum vq_fault fault;  /* set when vq_pop returns VQ_BAD_CHAIN */
	struct iovec *iov;    /* caller array */
	uint16_t iov_cap;
};

struct vq_stats {
	uint64_t chains;      /* chains handed to the caller */
	uint64_t bad_chains;  /* chains returned with len 0 */
	uint64_t signals;     /* flushes that asked for a driver signal */
	uint64_t suppressed;  /* flushes where the driver suppressed the signal */
};

/*
 * struct vq - queue state, owned by exactly one thread.  Complete type so
 * workers embed it; fields are private to core/virtq*.c.
 */
struct vq {
	/* snapshot taken by vq_start */
	enum vq_fmt fmt;
	uint16_t size;       /* 1..32768 while started */
	uint16_t mask;       /* split: size - 1 */
	bool started;
	bool indirect;       /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX negotiated */
	int call_fd;
	int err_fd;
	const struct gmem *gm;
	uint64_t desc_gpa;   /* for dirty logging of device writes */
	uint64_t device_gpa;
	union {
		struct {
			struct vring_desc *desc;
			struct vring_avail *avail;
			struct vring_used *used;
		} split;
		struct {
			struct vring_packed_desc *desc;
			struct vring_packed_event *driver;
			struct vring_packed_event *device;
		} packed;
	} r;

	/* device-side positions */
	uint16_t last_avail;   /* split: free-running; packed: slot */
	uint16_t shadow_avail; /* split: last avail->idx read */
	uint16_t used_idx;     /* split: free-running shadow; packed: slot */
	bool avail_wrap;
	bool used_wrap;

	/* batching and notification */
	uint16_t staged;         /* used entries written, not yet published */
	uint16_t stage_head;     /* packed: slot of the first staged entry */
	uint16_t stage_head_flags;
	uint16_t signalled_used; /* used index at the last notify decision */
	bool signalled_valid;
	bool notify_armed;       /* kicks currently enabled by us */

	/* latched fault */
	bool broken;
	enum vq_fault broken_fault;

	/* in-flight accounting: one bit per head (split) / buffer id (packed) */
	uint32_t inflight;
	uint64_t inflight_map[VQ_MAX_SIZE / 64];

	struct vq_stats stats;
};

/**
 * vq_init() - put @vq in the stopped state (no ring mapped).
 * @vq: queue
 */
void vq_init(struct vq *vq);

/**
 * vq_start() - validate @cfg against @gm and start the queue.
 * @vq: queue, stopped (vq_init() or vq_stop(): its in-flight map is clear)
 * @gm: guest memory; must stay installed until vq_stop
 * @cfg: configuration; copied
 *
 * Rejects: size 0 or > 32768; split size not a power of two; misaligned rings
 * (desc 16, avail 2, used 4, packed events 4); any ring area, event fields
 * included, not wholly inside one region; packed base index >= size; split
 * used index further than the queue size behind the base avail index.
 *
 * Return: 0, -EINVAL (bad parameter), -EFAULT (ring not mapped), -EBUSY (running).
 */
VH_MUST_CHECK int vq_start(struct vq *vq, const struct gmem *gm, const struct vq_cfg *cfg);

/**
 * vq_stop() - stop the queue and report its position (GET_VRING_BASE).
 * @vq: queue
 * @st: position to restore later, or NULL
 *
 * Staged used entries are published first.  Afterwards no ring pointer is kept.
 */
void vq_stop(struct vq *vq, struct vq_state *st);

/**
 * vq_chain_init() - attach a caller-owned iovec array to @c.
 * @c: chain
 * @iov: array
 * @cap: its capacity (at most 65535)
 */
void vq_chain_init(struct vq_chain *c, struct iovec *iov, unsigned cap);

/**
 * vq_pop() - take the next available chain.
 * @vq: started queue
 * @c: chain storage (vq_chain_init)
 *
 * Return: VQ_OK, VQ_EMPTY, VQ_BAD_CHAIN (already returned with len 0, reason
 * in @c->fault, id in @c->id) or VQ_BROKEN (latched).
 */
VH_MUST_CHECK enum vq_status vq_pop(struct vq *vq, struct vq_chain *c);

/**
 * vq_push() - stage the completion of a chain returned by vq_pop (VQ_OK).
 * @vq: queue
 * @c: the chain
 * @written: bytes written into its writable part; clamped to @c->in_bytes
 *
 * Invisible to the driver until vq_flush().  While the guest memory is being
 * dirty-logged (migration), the pages of the first @written writable bytes
 * are marked here, so callers never log by hand.
 *
 * Return: 0, -EINVAL if @c is not in flight (device bug), -EIO if broken.
 */
VH_MUST_CHECK int vq_push(struct vq *vq, const struct vq_chain *c, uint32_t written);

/**
 * vq_unpop() - give back the most recently popped chain, unused.
 * @vq: queue
 * @c: a chain returned by vq_pop (VQ_OK) and not pushed
 *
 * The driver's ring still holds the chain (the device never writes the
 * available side), so rewinding makes the next vq_pop see it again; used by
 * RX when a packet needs more buffers than the guest posted so far, and on
 * stop so that GET_VRING_BASE reports unprocessed chains as still available.
 * Several chains are given back in the reverse order of popping, and only
 * while no other pop happened after them: a VQ_BAD_CHAIN pop in between was
 * already returned to the driver and closes the window (rewinding over it
 * would return it twice).
 *
 * Return: 0, -EINVAL if @c is not in flight, -EIO if broken.
 */
VH_MUST_CHECK int vq_unpop(struct vq *vq, const struct vq_chain *c);

/**
 * vq_flush() - publish staged completions with one release barrier.
 * @vq: queue
 *
 * Return: true if the driver asked to be signalled (EVENT_IDX or flags).
 */
VH_MUST_CHECK bool vq_flush(struct vq *vq);

/**
 * vq_signal() - signal the driver on the call eventfd (if any).
 * @vq: queue
 */
void vq_signal(struct vq *vq);

/**
 * vq_flush_signal() - vq_flush() then vq_signal() if wanted.
 * @vq: queue
 *
 * Return: true if signalled.
 */
bool vq_flush_signal(struct vq *vq);

/**
 * vq_enable_notify() - ask the driver for kicks, at the sleep boundary.
 * @vq: queue
 *
 * Arms kicks (flags or EVENT_IDX), issues a full barrier, then re-checks the
 * ring: a buffer made available before the driver could see the arming would
 * otherwise never be kicked (seeds 001/002).
 *
 * Return: true if it is safe to sleep: the queue is still empty, or it is
 * broken or stopped (nothing will be processed until it is restarted); false
 * if work raced in (keep draining).
 */
bool vq_enable_notify(struct vq *vq);

/**
 * vq_disable_notify() - suppress kicks while draining (lazy: writes only if armed).
 * @vq: queue
 */
void vq_disable_notify(struct vq *vq);

/**
 * vq_has_work() - read-only availability check.
 * @vq: queue
 *
 * Return: true if a buffer is available; false if empty, broken or stopped.
 */
bool vq_has_work(struct vq *vq);

/**
 * vq_is_broken() - whether the queue latched broken.
 * @vq: queue
 * @why: reason, if broken and non-NULL
 *
 * Return: latched state.
 */
bool vq_is_broken(const struct vq *vq, enum vq_fault *why);

#endif /* VHOSTILE_CORE_VIRTQ_H */
