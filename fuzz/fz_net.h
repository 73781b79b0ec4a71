/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz_net.h - shared support for the virtio-net harnesses (fuzz_net_hdr,
 * fuzz_net_tx, fuzz_net_rx, fuzz_vnet_ops).
 *
 * Theory of operation
 * -------------------
 * Three layers, each usable on its own:
 *
 *  - Reference header rules (fz_ref_*): an independent re-statement of the
 *    virtio-net header rules of VIRTIO 1.2 5.1.6 and net/net_hdr.h, sharing
 *    no code with net/net_hdr.c, plus "is this header sanitised" predicates.
 *    A check removed from net/net_hdr.c cannot hide behind the same omission
 *    in the oracle.
 *
 *  - A guest driver model per virtqueue (struct fz_nq, fz_nq.c): posts
 *    chains into split or packed rings in the kit's guest RAM layout
 *    (struct fz_layout), keeps every posted chain with the buffers it holds
 *    and what the core must do with it (accept with exactly these buffers, or
 *    reject), and reads completions back from the used ring, checking that
 *    every completion returns a chain that was posted and not yet returned.
 *
 *  - The device engine (struct fz_net, fz_net.c with fz_net_tx.c,
 *    fz_net_rx.c, fz_net_post.c): a struct vnet with one queue pair whose
 *    backend is a SOCK_SEQPACKET socketpair standing in for the TAP
 *    (tap_adopt_socket: the same readv/writev code as the TAP).  Every
 *    net_tx_run / net_rx_run / net_ctrl_run / vnet_queue_stop goes through a
 *    wrapper that snapshots guest RAM, makes the call, diffs guest RAM, reads
 *    the completions and the TAP, and checks the net oracles (listed in
 *    fuzz/NET_RESULTS.md and at the top of fz_net.c).
 *
 * A queue whose ring or table memory was scribbled on by the harness (or
 * whose memory table changed under it) is "dirty": exact expectations are
 * dropped for it and only the invariants that need no model stay on.
 *
 * Nothing survives a run: every allocation, fd and mapping is released by
 * fz_net_fini().
 */
#ifndef VHOSTILE_FUZZ_FZ_NET_H
#define VHOSTILE_FUZZ_FZ_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/virtq.h"
#include "fuzz/fz.h"
#include "net/backend.h"
#include "net/net_hdr.h"
#include "net/vnet.h"

/* ---- reference header rules ---------------------------------------------- */

/* Bit of a drop reason in the reason sets returned by the reference. */
#define FZ_NDROP(d) (1u << (d))

/**
 * fz_hdr_decode() - reference decoder of a little-endian virtio-net header.
 * @h: output
 * @raw: @size bytes
 * @size: 10 or 12 (num_buffers is 0 with 10)
 */
void fz_hdr_decode(struct net_hdr *h, const uint8_t *raw, size_t size);

/**
 * fz_hdr_encode() - reference encoder.
 * @raw: @size bytes of output
 * @size: 10 or 12
 * @h: header
 */
void fz_hdr_encode(uint8_t *raw, size_t size, const struct net_hdr *h);

/**
 * fz_ref_tx_hdr() - what the device must do with a guest TX header.
 * @h: decoded header; rewritten to its sanitised form when accepted
 * @features: negotiated features
 * @frame_len: bytes after the header
 *
 * Return: 0 if the header must be accepted, else the set (FZ_NDROP bits) of
 * every rule it breaks; the device may report any one of them.
 */
uint32_t fz_ref_tx_hdr(struct net_hdr *h, uint64_t features, size_t frame_len);

/**
 * fz_ref_rx_hdr() - what the device must do with a backend RX header.
 * @h: decoded header; rewritten to its sanitised form when accepted
 *     (num_buffers 0: the caller sets it)
 * @features: negotiated features
 * @frame_len: bytes after the header
 *
 * Return: 0 or the set of broken rules (NET_DROP_RX_CSUM / NET_DROP_RX_GSO).
 */
uint32_t fz_ref_rx_hdr(struct net_hdr *h, uint64_t features, size_t frame_len);

/**
 * fz_tx_hdr_sane() - does a header the TAP received obey every TX rule?
 * @h: decoded header
 * @features: negotiated features
 * @frame_len: bytes after the header
 *
 * Return: NULL if sane, else which rule it breaks.
 */
const char *fz_tx_hdr_sane(const struct net_hdr *h, uint64_t features, size_t frame_len);

/**
 * fz_rx_hdr_sane() - does a header the guest received claim only what it
 * negotiated (5.1.6.4.1)?
 * @h: decoded header (num_buffers ignored)
 * @features: negotiated features
 * @frame_len: bytes after the header
 *
 * Return: NULL if sane, else which rule it breaks.
 */
const char *fz_rx_hdr_sane(const struct net_hdr *h, uint64_t features, size_t frame_len);

/* Control queue command verdicts (5.1.6.5). */
#define FZ_CTRL_OK 0
#define FZ_CTRL_ERR 1

/**
 * fz_ref_ctrl() - reference verdict of one control command.
 * @features: negotiated features
 * @max_pairs: the device's queue pairs
 * @cmd: readable bytes of the chain (class, command, data)
 * @len: their count (<= VNET_CTRL_MAX_CMD)
 *
 * Return: FZ_CTRL_OK or FZ_CTRL_ERR.
 */
int fz_ref_ctrl(uint64_t features, unsigned max_pairs, const uint8_t *cmd, size_t len);

/**
 * fz_net_features() - close a wished-for feature set under 5.1.3.1.
 * @want: features wanted (net and ring bits)
 * @offered: what the device offers
 *
 * Return: the largest subset of @want & @offered whose dependencies hold.
 */
uint64_t fz_net_features(uint64_t want, uint64_t offered);

/* The feature bits a u16 input selector maps to, lowest bit first. */
extern const uint8_t fz_net_feat_bits[16];

/**
 * fz_net_feat_decode() - feature set from an input selector.
 * @sel: one bit per fz_net_feat_bits entry
 *
 * Return: feature bits.
 */
uint64_t fz_net_feat_decode(uint16_t sel);

/* ---- guest driver model -------------------------------------------------- */

#define FZ_NET_MAX_QSIZE 256u /* largest queue the model drives */
#define FZ_NET_MAX_BUF 16u /* buffers of one posted chain */
#define FZ_NET_PFX 48u /* literal leading bytes of a generated frame */
#define FZ_NET_RING_BLOCK 12288u /* guest RAM reserved for one queue's rings */
#define FZ_NET_BULK (72u * 1024u) /* big-buffer zone after the rings, chunk 0 */
#define FZ_NET_GRAN 16u /* allocation granule of the buffer zones */

enum fz_nrole { FZ_NR_RX, FZ_NR_TX, FZ_NR_CTRL, FZ_NR__COUNT };

/* Where a buffer lives (allocation zone) */
enum fz_nzone {
	FZ_NZ_BUF, /* buffer zone of the data area (may be cut into chunks, holes) */
	FZ_NZ_BULK, /* bulk zone in chunk 0 (one contiguous mapped range) */
	FZ_NZ_TAB, /* table zone of the data area */
	FZ_NZ_NONE, /* not allocated (hostile address) */
};

struct fz_nbuf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* What the core must do with a posted chain. */
enum fz_nexp {
	FZ_NX_GOOD, /* vq_pop yields it with exactly these buffers */
	FZ_NX_BAD, /* vq_pop rejects it (returned with len 0 by the core) */
	FZ_NX_UNKNOWN, /* outside the model */
};

struct fz_nalloc {
	uint8_t zone; /* enum fz_nzone */
	uint16_t first; /* granule */
	uint16_t count; /* granules */
};

/**
 * struct fz_nchain - one chain the driver posted.
 * @live: posted and not returned yet
 * @popped_hdr: TX: the header was copied by the device (chain pending)
 * @alias: a buffer overlaps another live chain's buffer (content unchecked)
 * @expect: enum fz_nexp
 * @id: head (split) / buffer id (packed)
 * @nslots: ring slots (packed) / descriptors (split)
 * @seq: post order
 * @start: packed: first slot
 * @start_wrap: packed: wrap counter of the first slot
 * @nbuf: buffers (zero-length ones included)
 * @nalloc: allocations to release on return
 * @out_bytes: readable bytes (model)
 * @in_bytes: writable bytes (model)
 * @buf: buffers, readable first unless a tweak reorders them
 * @alloc: allocations
 * @hdr: TX: header bytes the device copied at pop (valid with @popped_hdr)
 */
struct fz_nchain {
	bool live;
	bool popped_hdr;
	bool alias;
	uint8_t expect;
	uint16_t id;
	uint16_t nslots;
	uint32_t seq;
	uint16_t start;
	bool start_wrap;
	uint8_t nbuf;
	uint8_t nalloc;
	uint32_t out_bytes;
	uint32_t in_bytes;
	struct fz_nbuf buf[FZ_NET_MAX_BUF];
	struct fz_nalloc alloc[FZ_NET_MAX_BUF + 1];
	uint8_t hdr[NET_HDR_MAX];
};

struct fz_ncpl {
	uint16_t id;
	uint32_t len;
};

/**
 * struct fz_nq - a virtqueue as the guest driver sees it.
 *
 * Split: @avail_idx is the next avail index (free running), @used_idx the
 * next used index to read.  Packed: @next_slot/@next_wrap the next slot to
 * fill, @used_slot/@used_wrap the next used descriptor to read.
 */
struct fz_nq {
	enum fz_nrole role;
	unsigned qidx;
	bool active; /* rings laid out by the driver, model valid */
	bool started; /* the device has the queue started */
	bool dirty; /* exact expectations off */
	bool packed, event_idx, indirect;
	uint16_t size;
	uint64_t desc_gpa, drv_gpa, dev_gpa;
	uint8_t *desc, *drv, *dev; /* harness view of the ring areas */
	size_t desc_len, drv_len, dev_len;
	size_t ring_off; /* offset of the queue's ring block in the arena */

	uint16_t avail_idx, used_idx;
	uint16_t next_slot, used_slot;
	bool next_wrap, used_wrap;
	uint16_t free_slots;
	uint16_t pre_used_slot, pre_window; /* packed window when the call began */
	bool pre_active; /* active when the call began (a reset may forget it) */
	uint16_t desc_cur, id_cur;
	int16_t owner[FZ_NET_MAX_QSIZE]; /* split: descriptor -> head, -1 free */
	uint32_t seq;
	unsigned nlive;
	struct fz_nchain *ch; /* by id, @size entries (fz_nq_setup) */

	struct fz_ncpl cpl[2 * FZ_NET_MAX_QSIZE]; /* completions of the last call */
	unsigned ncpl;

	int call_fd, err_fd, kick_fd;
	bool call_set; /* the device signals @call_fd (not NOFD) */
	struct vq_state saved;
	bool saved_valid;
};

/* ---- device engine ------------------------------------------------------- */

#define FZ_NET_MAX_OPS 256u
#define FZ_NET_GEN_BYTES (4u << 20) /* bytes written into guest buffers per run */
#define FZ_NET_INJ_BYTES (2u << 20) /* bytes injected into the fake TAP per run */
#define FZ_NET_INJ_MAX (NET_HDR_LEGACY + NET_MAX_FRAME) /* largest injected datagram */

/* A datagram the fake TAP sent towards the device. */
struct fz_frame {
	uint32_t len;
	uint8_t seed;
	uint8_t npfx;
	bool tap_drop; /* FZ_NET_MISC_FAULTS: the fake TAP dropped it on a read error */
	uint8_t pfx[FZ_NET_PFX];
};

/* A frame the fake TAP must receive from the device, in order. */
struct fz_txexp {
	uint32_t len;
	uint64_t hash;
	uint16_t id;
	bool may_fail; /* a backend error happened in that call: may be missing */
	bool wild; /* content unknown: any sanitised frame of any length */
};

/* Per-reason counts of frames the device consumed without delivering. */
struct fz_rxskip {
	uint64_t runt, hdr_csum, hdr_gso, hdr_both, valid;
	uint64_t tap; /* dropped by the fake TAP (frame errors), whatever their class */
};

struct fz_net {
	struct fz_in in;
	struct fz_layout l;
	bool trace;
	bool memfd_mode; /* guest RAM lives in a memfd (vnet_ops) */
	int memfd;
	uint8_t *map; /* memfd mapping (arena of the layout) */
	uint8_t *heap_arena; /* the layout's own arena, restored before free */
	size_t bulk_off; /* arena offset of the bulk zone */
	bool bulk_used;

	/* allocation zones: granule use counts */
	uint8_t zbuf[FZ_BUF_ZONE / FZ_NET_GRAN];
	uint8_t ztab[FZ_TAB_ZONE / FZ_NET_GRAN];
	uint8_t zbulk[FZ_NET_BULK / FZ_NET_GRAN];
	uint16_t zcur[3];

	/* device */
	struct vnet dev;
	bool dev_ok;
	struct net_backend be;
	struct net_backend be1; /* pair 1's backend (vnet_ops with two pairs; idle) */
	int be1_peer;
	struct net_backend *bep[2];
	struct vnet_params params;
	uint64_t features; /* negotiated (vnet_set_features accepted) */
	bool want_mq; /* vnet_ops: ask for VIRTIO_NET_F_MQ too */
	bool features_ok;
	int tap_peer; /* harness end of the fake TAP, -1 once closed */
	int tap_be; /* backend end (owned by @be) */
	bool tap_closed;
	/* FZ_NET_MISC_FAULTS: @be reads through fz_net_rx.c's fz_net_fault_readv */
	bool faults;
	const struct net_backend_ops *sock_ops; /* the socket twin's own ops */
	int fault; /* errno the next read fails with, 0 none */
	int fault_hit; /* errno a read failed with during the current call, 0 none */
	uint64_t fault_frames; /* frames the fake TAP dropped on a frame error */
	uint64_t tap_reads; /* datagrams the device took from the fake TAP this session */
	uint64_t rxf_base; /* session-wide index of rxf[0] (rxf_push restarts the array) */

	struct fz_nq q[FZ_NR__COUNT];

	/* guest RAM snapshot for the write oracle */
	uint8_t *snap;
	/* arena granule maps (FZ_NET_GRAN bytes each): live buffers, live
	 * writable buffers, live indirect tables */
	uint8_t *gbuf, *gwr, *gtab;

	/* TX oracle */
	struct fz_txexp *txe;
	unsigned ntxe, txe_head, txe_cap;
	bool tx_wild; /* exact frame matching off */
	uint64_t tx_sent_exp; /* frames expected (sent or backend error) */
	uint64_t tx_got; /* frames received */
	uint64_t tx_missing; /* may_fail frames that did not arrive */
	/* The entry the last received frame was matched to (exact matches
	 * only): a may_fail entry followed by identical frames is ambiguous.
	 * tx_slack: may_fail entries matched in the current run of identical
	 * frames, each of which may have been dropped instead (tx_rematch). */
	struct fz_txexp tx_last;
	bool tx_last_valid;
	unsigned tx_slack;
	uint64_t tx_released; /* pending chains released by stop */
	uint64_t tx_be_base; /* backend drops before this session */
	bool tx_pending_prev;
	uint16_t tx_pending_id;

	/* RX oracle */
	struct fz_frame *rxf;
	unsigned nrxf, rxf_head, rxf_cap;
	bool rx_wild;
	struct fz_rxskip skip;
	uint64_t rx_delivered;

	/* ctrl */
	uint64_t ctrl_ok, ctrl_err;

	uint64_t gen_bytes, inj_bytes;
	unsigned ops;
	uint8_t *scratch; /* one frame and slack */
	uint8_t *gen;     /* generated frame bytes to compare with */
};

/* Harness-side view of a run target (fuzz_net_tx / fuzz_net_rx). */
enum fz_net_mode {
	FZ_NM_TX,
	FZ_NM_RX,
};

/* Ops of the net op language (op byte modulo FZ_NOP__COUNT). */
enum fz_nop {
	FZ_NOP_POST, /* post one chain (grammar in fuzz/NET_RESULTS.md) */
	FZ_NOP_POSTN, /* u8 n, u8 len: n one-buffer chains */
	FZ_NOP_RUN, /* u8 budget: net_tx_run / net_rx_run */
	FZ_NOP_INJECT, /* RX: frames into the fake TAP */
	FZ_NOP_DRAIN, /* TX: the fake TAP reads every frame queued */
	FZ_NOP_SNDBUF, /* u8 class: SO_SNDBUF of the backend end */
	FZ_NOP_CLOSE, /* close the harness end of the fake TAP */
	FZ_NOP_FLIP, /* u16 offset, u8 xor, u8 len: guest writes buffer bytes */
	FZ_NOP_RESTART, /* vnet_queue_stop + vnet_queue_start from the saved state */
	FZ_NOP_EVENT, /* u8 which, u16 value: driver notification suppression */
	FZ_NOP_FAULT, /* FZ_NET_MISC_FAULTS: u8 kind: the fake TAP's next read fails */
	FZ_NOP__COUNT
};
#define FZ_NOP__PLAIN FZ_NOP_FAULT /* op modulus without FZ_NET_MISC_FAULTS */

/* Engine header misc bit, net_rx only: the fake TAP fails a read on request
 * (FZ_NOP_FAULT), as a TAP does: a frame error (EFAULT, EINVAL, EMSGSIZE,
 * ENOBUFS, ENOMEM) costs the frame it was reading, EIO / EBADFD (a detached
 * queue) none.  Behind a bit so that no input written before it changes
 * meaning; vnet_ops uses bit 0x10. */
#define FZ_NET_MISC_FAULTS 0x20

/* POST tweak byte (value % FZ_NT__COUNT): at most one defect per chain. */
enum fz_ntweak {
	FZ_NT_NONE,
	FZ_NT_WRITABLE, /* TX: a writable buffer at the end; RX: a readable one first */
	FZ_NT_ORDER, /* readable after writable (core rejects) */
	FZ_NT_ZERO, /* one zero-length buffer (valid) */
	FZ_NT_HOLE, /* one buffer at a hostile address + length (addr/len operands) */
	FZ_NT_ALIAS, /* first buffer overlaps the previous chain's first buffer */
	FZ_NT_SHORT, /* TX: fewer bytes than header + Ethernet; RX: < header */
	FZ_NT_HDR_ONLY, /* TX: exactly the header (F3); RX: exactly the header */
	FZ_NT_LONG, /* TX: frame > NET_MAX_FRAME (bulk zone) */
	FZ_NT_ONE_BYTE, /* every buffer one byte long (RX with MRG_RXBUF) */
	FZ_NT_IND_NONEG, /* indirect table without the feature */
	FZ_NT__COUNT
};

/* POST shape byte */
#define FZ_NS_NBUF(s) (1u + ((s)&0x0fu)) /* buffers 1..16 */
#define FZ_NS_INDIRECT 0x10u /* buffers in an indirect table */
#define FZ_NS_PREFIX 0x20u /* with INDIRECT: first buffer direct, before the table */
#define FZ_NS_BULK 0x40u /* buffers in the bulk zone */
#define FZ_NS_CROSS 0x80u /* buffers placed at chunk ends (straddling regions) */

/* POST split mode (value % 4): how the bytes are cut into buffers */
enum fz_nsplit {
	FZ_NP_HDR_FIRST, /* first buffer exactly the header, rest even */
	FZ_NP_TINY, /* header one byte per buffer (CVE-2022-2132), rest last */
	FZ_NP_CUTS, /* (nbuf - 1) u16 cut points from the input */
	FZ_NP_EVEN, /* even pieces */
};

/**
 * fz_net_init() - set up guest RAM, the fake TAP and the device.
 * @n: engine (zeroed by the caller or not; fully initialised here)
 * @data: input
 * @size: its length
 * @mode: which queue fz_net_run_ops drives (vnet_ops passes FZ_NM_TX and
 *        drives the rest itself)
 * @memfd: guest RAM in a memfd (vnet_ops) instead of the heap
 *
 * Consumes the input header (see fuzz/NET_RESULTS.md).
 *
 * Return: 0, or -1 when the run is to be skipped (allocation failure).
 */
int fz_net_init(struct fz_net *n, const uint8_t *data, size_t size, enum fz_net_mode mode,
		bool memfd);

/**
 * fz_net_session_end() - end of a device session (queues stopped): drain the
 * TAP, reconcile every TX and RX frame against the device's counters, reset
 * the frame oracles for the next session (vnet_ops: a device reset).
 * @n: engine
 */
void fz_net_session_end(struct fz_net *n);

/* fz_net_fini() - final oracles, then release everything. */
void fz_net_fini(struct fz_net *n);

/**
 * fz_net_run_ops() - the op loop of fuzz_net_tx / fuzz_net_rx.
 * @n: engine after fz_net_init
 * @mode: which direction
 */
void fz_net_run_ops(struct fz_net *n, enum fz_net_mode mode);

/* Building blocks shared with fuzz_vnet_ops. */
void fz_net_op_post(struct fz_net *n, struct fz_nq *q);
void fz_net_op_postn(struct fz_net *n, struct fz_nq *q);
void fz_net_op_inject(struct fz_net *n);
void fz_net_op_event(struct fz_net *n, struct fz_nq *q);
void fz_net_op_flip(struct fz_net *n, bool anywhere);
void fz_net_op_sndbuf(struct fz_net *n);
void fz_net_tap_close(struct fz_net *n);
void fz_net_tap_drain(struct fz_net *n);
void fz_net_run_tx(struct fz_net *n, unsigned budget);
void fz_net_run_rx(struct fz_net *n, unsigned budget);
void fz_net_run_ctrl(struct fz_net *n, unsigned budget);
void fz_net_post_ctrl(struct fz_net *n);

/**
 * fz_net_queue_stop() - vnet_queue_stop with the "nothing lost" oracle.
 * @n: engine
 * @q: queue (started)
 * @st: saved position, or NULL
 */
void fz_net_queue_stop(struct fz_net *n, struct fz_nq *q, struct vq_state *st);

/**
 * fz_net_queue_start() - vnet_queue_start of @q on its rings.
 * @n: engine
 * @q: queue (active)
 * @gm: guest memory
 * @base: position, or NULL for a fresh ring
 *
 * Return: vnet_queue_start's result.
 */
int fz_net_queue_start(struct fz_net *n, struct fz_nq *q, const struct gmem *gm,
		       const struct vq_state *base);

/* Call-wrapper pieces for callers that make the device call themselves
 * (vnet_ops: vhost-user messages stop and start rings). */
void fz_net_pre(struct fz_net *n);
void fz_net_post(struct fz_net *n, const char *what);
/**
 * fz_net_on_stop() - oracles after the device stopped @q (vnet_queue_stop
 * made by the caller or by the vhost-user layer).
 * @n: engine
 * @q: queue
 * @was_pending: TX: a chain was pending before the stop
 * @pend_id: its id
 * @s: the position the stop reported
 */
void fz_net_on_stop(struct fz_net *n, struct fz_nq *q, bool was_pending, uint16_t pend_id,
		    const struct vq_state *s);

/* Mark every queue dirty (hostile memory change). */
void fz_net_all_dirty(struct fz_net *n);

/* ---- driver model (fz_nq.c) ---------------------------------------------- */

/**
 * fz_nq_setup() - lay out a fresh ring for @q and reset the model.
 * @n: engine
 * @q: queue
 * @size: queue size (1..FZ_NET_MAX_QSIZE; power of two for split)
 * @packed: ring format
 * @features: negotiated ring features (INDIRECT_DESC, EVENT_IDX)
 */
void fz_nq_setup(struct fz_net *n, struct fz_nq *q, uint16_t size, bool packed, uint64_t features);

/**
 * fz_nq_post() - write a chain of @nbuf buffers and make it available.
 * @n: engine
 * @q: queue
 * @b: buffers in descriptor order
 * @nbuf: count (1..FZ_NET_MAX_BUF)
 * @indirect: put them (after @prefix direct ones) in an indirect table
 * @prefix: direct buffers before the table
 * @ind_ok: the table may be used (else the model expects a rejection unless
 *          INDIRECT_DESC is negotiated)
 * @iov_cap: the device's iovec capacity for this queue
 * @al: allocations the chain owns (freed on return)
 * @nal: their count
 *
 * Return: the chain, or NULL if the ring had no room (allocations freed).
 */
struct fz_nchain *fz_nq_post(struct fz_net *n, struct fz_nq *q, const struct fz_nbuf *b,
			     unsigned nbuf, bool indirect, unsigned prefix, unsigned iov_cap,
			     const struct fz_nalloc *al, unsigned nal);

/**
 * fz_nq_collect() - read the completions published since the last call.
 * @n: engine
 * @q: queue
 *
 * Fills @q->cpl; each must return a live chain (clean queues).
 */
void fz_nq_collect(struct fz_net *n, struct fz_nq *q);

/* Is every granule of @c's buffers owned by @c alone (no aliasing)? */
bool fz_nq_chain_exclusive(struct fz_net *n, const struct fz_nchain *c);

/*
 * Move buffers the harness must not write (they overlap a ring block or a
 * live indirect table) to an unmapped address, before they are filled.
 */
void fz_nq_sanitise(struct fz_net *n, struct fz_nbuf *b, unsigned nb);

/* The guest writes @v over the mapped part of [@gpa, @gpa + @len). */
void fz_nq_fill(struct fz_net *n, uint64_t gpa, uint32_t len, uint8_t v);

/* Release a chain the device returned. */
void fz_nq_retire(struct fz_net *n, struct fz_nq *q, struct fz_nchain *c);

/* Room left in the ring for a chain of @nd descriptors. */
bool fz_nq_room(const struct fz_nq *q, unsigned nd);

/**
 * fz_nq_check_unconsumed() - after vnet_queue_stop: the chains still live are
 * exactly the ones the device did not pop (nothing popped was kept).
 * @q: queue
 * @st: the position vnet_queue_stop reported
 */
void fz_nq_check_unconsumed(const struct fz_nq *q, const struct vq_state *st);

/* May a call that writes ring areas only (start, stop, vhost-user message)
 * write host byte @p (arena) of @q's rings? */
bool fz_nq_ring_write_ok(const struct fz_net *n, const struct fz_nq *q, const uint8_t *p,
			const uint8_t **end);

/* Is host byte @p (arena) a place the device may write during a call on @q? */
bool fz_nq_write_ok(const struct fz_net *n, const struct fz_nq *q, const uint8_t *p,
		    const uint8_t **end);

/* Zone allocator. */
int fz_zone_alloc(struct fz_net *n, enum fz_nzone z, uint32_t len, struct fz_nalloc *a);
void fz_zone_free(struct fz_net *n, const struct fz_nalloc *a);
uint64_t fz_zone_gpa(const struct fz_net *n, enum fz_nzone z, uint32_t off);
uint8_t *fz_zone_host(const struct fz_net *n, enum fz_nzone z, uint32_t off);

/* 64-bit FNV-1a-like hash of @len bytes, from @h, by 8-byte words: hashing a
 * buffer in two calls differs from hashing it in one. */
uint64_t fz_hash(uint64_t h, const void *p, size_t len);
#define FZ_HASH_INIT 0xcbf29ce484222325ULL

/* Generated frame byte @i: literal prefix, then a pattern of @seed. */
static inline uint8_t fz_frame_byte(const struct fz_frame *f, uint32_t i)
{
	if (i < f->npfx)
		return f->pfx[i];
	return (uint8_t)(f->seed + i * 31u + (i >> 8) * 7u);
}

/* Bytes [@from, @from + @len) of generated frame @f into @dst (bulk, no coverage). */
void fz_frame_fill(const struct fz_frame *f, uint32_t from, uint8_t *dst, uint32_t len);

#endif /* VHOSTILE_FUZZ_FZ_NET_H */
