// SPDX-License-Identifier: Apache-2.0
/*
 * fz_net.c - the virtio-net device engine of the net harnesses.
 *
 * Theory of operation
 * -------------------
 * One struct vnet with one queue pair; its backend is one end of a
 * SOCK_SEQPACKET socketpair adopted with tap_adopt_socket (the TAP's own
 * readv/writev), the harness holds the other end: frames the device sends
 * are read from it, frames "from the network" are written into it.  The
 * backend end's SO_SNDBUF makes the TAP "full" (EAGAIN) on demand; closing
 * the harness end makes it fail (EPIPE on TX, EOF on RX).
 *
 * Every device call is wrapped: guest RAM is snapshotted, the call made, and
 * the diff checked (pre/post), then completions are read back through the
 * driver model (fz_nq.c) and checked against what the model says each chain
 * must produce.  The oracles:
 *
 *  - writes: only the used ring / device event area, packed slots of chains
 *    the driver posted and has not got back, and (RX, control) writable
 *    buffers of live chains; never a readable buffer, a rejected chain, a
 *    descriptor, an indirect table;
 *  - completions: each returns a live chain once; TX always with len 0; RX
 *    with len <= the chain's writable bytes, 0 exactly for chains the device
 *    must refuse (readable descriptors, smaller than the header) and > 0 for
 *    every other chain returned during a run (EOF and errors never return
 *    buffers); net_*_run's return value and the stats agree with them;
 *  - TX frames: in order, each equal byte for byte to the chain it came from
 *    (the reference-sanitised header copied at pop, then the guest bytes
 *    after the header), every header sane for the negotiated features; every
 *    chain the reference says must be sent is either received or counted as
 *    a backend drop (nothing lost on EAGAIN); a chain kept pending on EAGAIN
 *    is the model's next sendable chain; on a disabled TX ring (vnet_ops,
 *    SET_VRING_ENABLE 0) nothing is sent and every chain the core accepted
 *    is counted as tx-disabled;
 *  - RX packets: one chain without MRG_RXBUF; with it num_buffers chains, all
 *    published in the same call, all but the last completely filled; the
 *    bytes equal the next frame the TAP sent that the device may deliver,
 *    with the reference-sanitised header and num_buffers; frames skipped are
 *    accounted per reason against the drop counters at the end;
 *  - notifications: after a run that published completions, the call eventfd
 *    was signalled whenever the driver's flags / used_event asked for it;
 *    after a run that stopped to wait for a kick, the ring is really empty
 *    and kicks are armed (seed 002: lost TX descriptors, UDP stall);
 *  - vnet_queue_stop: every chain the device popped comes back (len 0), the
 *    ones still live are exactly those it never popped.
 */
#include "fuzz/fz_net.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "net/tap.h"

#define RING_END ((size_t)FZ_NR__COUNT * FZ_NET_RING_BLOCK)
/* Scratch and generation buffers: one frame (header + NET_MAX_FRAME) and slack;
 * kept under the sanitizer allocator's mmap threshold. */
#define SCRATCH (80u * 1024u)

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline void st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static size_t hdr_size(const struct fz_net *n)
{
	size_t h = n->dev.qp ? n->dev.qp[0].hdr_size : 0;

	return h ? h : NET_HDR_LEGACY; /* 0 until features are set */
}

static bool mrg(const struct fz_net *n)
{
	return n->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
}

/* ---- guest RAM snapshot and the write oracle ------------------------------- */

/*
 * Arena ranges under watch: the ring blocks of queues the driver laid out
 * (the others are never handed to the device), the data area, and the bulk
 * zone once used.
 */
static unsigned watch(const struct fz_net *n, size_t *lo, size_t *hi)
{
	unsigned k = 0;

	for (unsigned i = 0; i < FZ_NR__COUNT; i++) {
		if (!n->q[i].active && !n->q[i].pre_active)
			continue;
		if (k && hi[k - 1] == n->q[i].ring_off) {
			hi[k - 1] += FZ_NET_RING_BLOCK;
			continue;
		}
		lo[k] = n->q[i].ring_off;
		hi[k++] = n->q[i].ring_off + FZ_NET_RING_BLOCK;
	}
	if (n->bulk_used) {
		lo[k] = n->bulk_off;
		hi[k++] = n->bulk_off + FZ_NET_BULK;
	}
	lo[k] = n->l.ring_bytes;
	hi[k++] = n->l.arena_size;
	return k;
}

void fz_net_pre(struct fz_net *n)
{
	size_t lo[FZ_NR__COUNT + 2], hi[FZ_NR__COUNT + 2];
	unsigned k;

	/* the packed slots the driver has given away, before the call retires any */
	for (unsigned i = 0; i < FZ_NR__COUNT; i++) {
		n->q[i].pre_used_slot = n->q[i].used_slot;
		n->q[i].pre_window = (uint16_t)(n->q[i].size - n->q[i].free_slots);
		n->q[i].pre_active = n->q[i].active;
	}
	k = watch(n, lo, hi);
	for (unsigned i = 0; i < k; i++)
		memcpy(n->snap + lo[i], n->l.arena + lo[i], hi[i] - lo[i]);
}

/* May the call on @q (NULL: on any queue) write arena byte @p? */
static bool write_ok(const struct fz_net *n, const struct fz_nq *q, bool bufs, const uint8_t *p,
		     const uint8_t **end)
{
	for (unsigned i = 0; i < FZ_NR__COUNT; i++) {
		const struct fz_nq *qq = &n->q[i];

		if (q && qq != q)
			continue;
		if (!qq->active && !qq->pre_active)
			continue;
		if (!bufs && qq->role != FZ_NR_TX) {
			/* ring areas only */
			if (fz_nq_ring_write_ok(n, qq, p, end))
				return true;
			continue;
		}
		if (qq->dirty && qq->role != FZ_NR_TX)
			return true; /* hostile descriptors may point anywhere */
		if (fz_nq_write_ok(n, qq, p, end))
			return true;
	}
	return false;
}

static void post_diff(struct fz_net *n, const struct fz_nq *q, bool bufs, const char *what)
{
	size_t lo[FZ_NR__COUNT + 2], hi[FZ_NR__COUNT + 2];
	unsigned k = watch(n, lo, hi);

	for (unsigned i = 0; i < k; i++) {
		size_t o = fz_next_diff(n->l.arena, n->snap, lo[i], hi[i]);

		while (o < hi[i]) {
			const uint8_t *end = n->l.arena + o + 1;

			FZ_CHECK(write_ok(n, q, bufs, n->l.arena + o, &end),
				 "%s wrote guest RAM it does not own: arena+%#zx %02x->%02x", what,
				 o, n->snap[o], n->l.arena[o]);
			o = (size_t)(end - n->l.arena);
			if (o <= lo[i] || o > hi[i])
				o = hi[i];
			o = fz_next_diff(n->l.arena, n->snap, o, hi[i]);
		}
	}
}

void fz_net_post(struct fz_net *n, const char *what)
{
	post_diff(n, NULL, false, what);
}

void fz_net_all_dirty(struct fz_net *n)
{
	for (unsigned i = 0; i < FZ_NR__COUNT; i++)
		n->q[i].dirty = true;
	n->tx_wild = true;
	n->rx_wild = true;
}

/* ---- reading chains out of guest memory ----------------------------------- */

/*
 * Copy bytes [@from, @from + @len) of a chain's readable (@write false) or
 * writable stream into @dst.  Only the mapped parts of each buffer count.
 *
 * Return: bytes copied.
 */
static size_t chain_read(struct fz_net *n, const struct fz_nchain *c, bool write, size_t from,
			 uint8_t *dst, size_t len)
{
	size_t pos = 0, got = 0;

	for (unsigned i = 0; i < c->nbuf && got < len; i++) {
		const struct fz_nbuf *b = &c->buf[i];
		struct iovec pc[FZ_MAX_CHUNKS + 1];
		int np;

		if (b->write != write || !b->len)
			continue;
		np = fz_ref_pieces(&n->l, b->gpa, b->len, pc, VH_ARRAY_SIZE(pc));
		if (np < 0)
			np = -1 - np;
		for (int k = 0; k < np && k < (int)VH_ARRAY_SIZE(pc) && got < len; k++) {
			size_t pl = pc[k].iov_len, s, t;

			if (pos + pl <= from + got) {
				pos += pl;
				continue;
			}
			s = from + got - pos;
			t = pl - s < len - got ? pl - s : len - got;
			memcpy(dst + got, (uint8_t *)pc[k].iov_base + s, t);
			got += t;
			pos += pl;
		}
	}
	return got;
}

/* ---- notifications -------------------------------------------------------------- */

static bool took_signal(int fd)
{
	uint64_t v = 0;

	return fd >= 0 && read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) && v;
}

/*
 * After a run on @q that published @npub completions (split: used index
 * @u0 -> @u1): did the driver get the signal it asked for (2.7.7.2, 2.8.10)?
 */
static void check_signal(struct fz_net *n, struct fz_nq *q, unsigned npub, uint16_t u0, uint16_t u1,
			 const char *what)
{
	bool sig = took_signal(q->call_fd), need;

	(void)n;
	if (q->dirty || !npub || !q->call_set)
		return;
	if (!q->packed) {
		if (q->event_idx)
			need = vring_need_event(ld16(q->drv + 4 + 2u * q->size), u1, u0);
		else
			need = !(ld16(q->drv) & VRING_AVAIL_F_NO_INTERRUPT);
	} else {
		need = ld16(q->drv + 2) == VRING_PACKED_EVENT_FLAG_ENABLE;
	}
	FZ_CHECK(!need || sig,
		 "%s published %u completions the driver asked to hear about "
		 "but did not signal it (seed 002: UDP TX stall)",
		 what, npub);
}

/* The run stopped to wait for a kick: the ring must be empty, kicks armed. */
static void check_armed(struct fz_net *n, struct fz_nq *q, struct vq *vq, const char *what)
{
	(void)n;
	if (q->dirty)
		return;
	FZ_CHECK(!vq_has_work(vq),
		 "%s sleeps on kicks with chains available (seed 002: "
		 "lost descriptors)",
		 what);
	if (!q->packed) {
		if (q->event_idx)
			FZ_CHECK(ld16(q->dev + 4 + 8u * q->size) == q->avail_idx,
				 "%s sleeps with avail_event %u, next avail %u", what,
				 ld16(q->dev + 4 + 8u * q->size), q->avail_idx);
		else
			FZ_CHECK(!(ld16(q->dev) & VRING_USED_F_NO_NOTIFY),
				 "%s sleeps with kicks suppressed", what);
	} else {
		uint16_t fl = ld16(q->dev + 2), ow = ld16(q->dev);

		if (q->event_idx)
			FZ_CHECK(fl == VRING_PACKED_EVENT_FLAG_DESC &&
					 ow == (uint16_t)(q->next_slot | q->next_wrap << 15),
				 "%s sleeps with device event %#x/%#x, next slot %u wrap %d", what,
				 fl, ow, q->next_slot, q->next_wrap);
		else
			FZ_CHECK(fl == VRING_PACKED_EVENT_FLAG_ENABLE,
				 "%s sleeps with kicks suppressed (flags %#x)", what, fl);
	}
}

/* ---- queue start / stop ----------------------------------------------------------- */

static struct vnet_qp *qp0(struct fz_net *n)
{
	return &n->dev.qp[0];
}

int fz_net_queue_start(struct fz_net *n, struct fz_nq *q, const struct gmem *gm,
		       const struct vq_state *base)
{
	struct vq_cfg cfg;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fmt = q->packed ? VQ_FMT_PACKED : VQ_FMT_SPLIT;
	cfg.size = q->size;
	cfg.desc = q->desc_gpa;
	cfg.driver = q->drv_gpa;
	cfg.device = q->dev_gpa;
	cfg.features = n->features;
	if (base) {
		cfg.base = *base;
	} else {
		cfg.base.avail_wrap = true;
		cfg.base.used_wrap = true;
	}
	cfg.call_fd = q->call_fd;
	cfg.err_fd = q->err_fd;
	fz_net_pre(n);
	r = vnet_queue_start(&n->dev, q->qidx, gm, &cfg);
	post_diff(n, q, false, "vnet_queue_start");
	if (!r)
		q->started = true;
	if (q->role == FZ_NR_TX)
		n->tx_pending_prev = false;
	return r;
}

/* Completions returned by a stop: held chains, len 0, nothing else. */
static void stop_completions(struct fz_net *n, struct fz_nq *q, bool was_pending, uint16_t pend_id,
			     const char *what)
{
	unsigned released = 0;

	for (unsigned i = 0; i < q->ncpl; i++) {
		struct fz_nchain *c = &q->ch[q->cpl[i].id];

		if (!q->dirty) {
			FZ_CHECK(q->cpl[i].len == 0, "%s returned chain %u with len %u", what,
				 c->id, q->cpl[i].len);
			if (q->role == FZ_NR_TX)
				FZ_CHECK(was_pending && c->id == pend_id,
					 "%s returned TX chain %u that was not pending", what,
					 c->id);
			if (q->role == FZ_NR_RX)
				FZ_CHECK(c->expect == FZ_NX_GOOD && !c->out_bytes &&
						 c->in_bytes >= hdr_size(n),
					 "%s returned RX chain %u that could not be reserved", what,
					 c->id);
			FZ_CHECK(q->role != FZ_NR_CTRL, "%s returned a control chain", what);
		}
		released++;
		fz_nq_retire(n, q, c);
	}
	if (q->role == FZ_NR_TX && was_pending) {
		if (!q->dirty)
			FZ_CHECK(released == 1, "%s: pending TX chain %u not returned", what,
				 pend_id);
		n->tx_released++;
	}
}

void fz_net_on_stop(struct fz_net *n, struct fz_nq *q, bool was_pending, uint16_t pend_id,
		    const struct vq_state *s)
{
	q->started = false;
	fz_nq_collect(n, q);
	stop_completions(n, q, was_pending, pend_id, "vnet_queue_stop");
	fz_nq_check_unconsumed(q, s);
	q->saved = *s;
	q->saved_valid = true;
	if (q->role == FZ_NR_TX)
		n->tx_pending_prev = false;
}

void fz_net_queue_stop(struct fz_net *n, struct fz_nq *q, struct vq_state *st)
{
	struct vq_state s;
	bool was_pending = q->role == FZ_NR_TX && qp0(n)->tx_pending;
	uint16_t pend_id = qp0(n)->tx_chain.id;

	fz_net_pre(n);
	FZ_CHECK(vnet_queue_stop(&n->dev, q->qidx, &s) == 0, "vnet_queue_stop(%u)", q->qidx);
	post_diff(n, q, false, "vnet_queue_stop");
	fz_net_on_stop(n, q, was_pending, pend_id, &s);
	if (st)
		*st = s;
}

/* ---- TX -------------------------------------------------------------------------- */

static void txe_push(struct fz_net *n, const struct fz_txexp *e)
{
	if (n->txe_head == n->ntxe)
		n->txe_head = n->ntxe = 0;
	if (n->ntxe == n->txe_cap) {
		unsigned cap = n->txe_cap ? 2 * n->txe_cap : 64;
		struct fz_txexp *p = realloc(n->txe, cap * sizeof(*p));

		FZ_CHECK(p, "out of memory");
		n->txe = p;
		n->txe_cap = cap;
	}
	n->txe[n->ntxe++] = *e;
}

/* Hash @hs header bytes @raw, then bytes [@hs, @to) of @c's readable stream. */
static uint64_t hash_stream(struct fz_net *n, const struct fz_nchain *c, const uint8_t *raw,
			    size_t hs, size_t to)
{
	size_t got;

	/* one contiguous buffer: fz_hash works on words, it cannot be resumed */
	memcpy(n->scratch, raw, hs);
	got = chain_read(n, c, false, hs, n->scratch + hs, to - hs);
	FZ_CHECK(got == to - hs, "chain %u: %zu of %zu readable bytes mapped", c->id, got,
		 to - hs);
	return fz_hash(FZ_HASH_INIT, n->scratch, to);
}

/*
 * What must reach the TAP for completed TX chain @c.
 *
 * Return: true with *@e filled if the reference says the frame is sent.
 */
static bool tx_expect(struct fz_net *n, struct fz_nchain *c, struct fz_txexp *e)
{
	size_t hs = hdr_size(n), frame;
	uint8_t raw[NET_HDR_MAX];
	struct net_hdr h;

	if (c->expect == FZ_NX_BAD)
		return false;
	if (c->in_bytes || c->out_bytes < hs + NET_ETH_HLEN)
		return false;
	frame = c->out_bytes - hs;
	if (frame > NET_MAX_FRAME)
		return false;
	if (c->popped_hdr)
		memcpy(raw, c->hdr, hs);
	else
		chain_read(n, c, false, 0, raw, hs);
	fz_hdr_decode(&h, raw, hs);
	if (fz_ref_tx_hdr(&h, n->features, frame))
		return false;
	fz_hdr_encode(raw, hs, &h);
	e->len = (uint32_t)(hs + frame);
	e->hash = hash_stream(n, c, raw, hs, c->out_bytes);
	e->id = c->id;
	e->wild = false;
	return true;
}

void fz_net_run_tx(struct fz_net *n, unsigned budget)
{
	struct fz_nq *q = &n->q[FZ_NR_TX];
	struct vnet_qp *qp = qp0(n);
	struct net_dir_stats s0 = qp->stats.tx;
	uint16_t u0 = q->used_idx;
	/* vnet_ops: a disabled TX ring (SET_VRING_ENABLE 0) discards */
	bool discard = qp->tx_discard, unknown = false;
	unsigned nsend = 0, ndisc = 0;
	uint64_t be_err;
	int r;

	if (!q->started) {
		FZ_CHECK(net_tx_run(qp, budget) == -EINVAL, "net_tx_run on a stopped queue");
		return;
	}
	(void)took_signal(q->call_fd);
	fz_net_pre(n);
	r = net_tx_run(qp, budget);
	post_diff(n, q, false, "net_tx_run");
	fz_nq_collect(n, q);
	if (n->trace)
		fprintf(stderr, "net: tx_run(%u) -> %d, %u completions, wait %d, pending %d\n",
			budget, r, q->ncpl, qp->tx_wait, qp->tx_pending);
	FZ_CHECK(r >= 0 && (unsigned)r <= budget, "net_tx_run(%u) returned %d", budget, r);
	be_err = qp->stats.tx.backend_err - s0.backend_err;
	if (!q->dirty) {
		FZ_CHECK((unsigned)r == q->ncpl, "net_tx_run returned %d with %u completions", r,
			 q->ncpl);
		FZ_CHECK(qp->stats.tx.chains - s0.chains == q->ncpl,
			 "tx stats count %llu chains, %u completions",
			 (unsigned long long)(qp->stats.tx.chains - s0.chains), q->ncpl);
		FZ_CHECK(!vq_is_broken(&qp->tx, NULL), "TX queue broke on well-formed rings");
	}
	for (unsigned i = 0; i < q->ncpl; i++) {
		struct fz_nchain *c = &q->ch[q->cpl[i].id];
		struct fz_txexp e;

		if (q->dirty || c->expect == FZ_NX_UNKNOWN) {
			n->tx_wild = true;
			unknown = true;
		} else {
			FZ_CHECK(q->cpl[i].len == 0, "TX chain %u returned with len %u", c->id,
				 q->cpl[i].len);
			if (n->tx_pending_prev && c->id == n->tx_pending_id)
				n->tx_pending_prev = false; /* the pending one went out */
			if (discard) {
				/* completed with len 0, never sent */
				ndisc += c->expect == FZ_NX_GOOD;
			} else if (tx_expect(n, c, &e)) {
				e.may_fail = be_err > 0;
				txe_push(n, &e);
				nsend++;
				n->tx_sent_exp++;
			}
		}
		fz_nq_retire(n, q, c);
	}
	if (!q->dirty && discard && !unknown)
		FZ_CHECK(qp->stats.tx.drops[NET_DROP_TX_DISABLED] - s0.drops[NET_DROP_TX_DISABLED] ==
				 ndisc,
			 "disabled TX ring: %u good chains completed, %llu discarded", ndisc,
			 (unsigned long long)(qp->stats.tx.drops[NET_DROP_TX_DISABLED] -
					      s0.drops[NET_DROP_TX_DISABLED]));
	if (!q->dirty)
		FZ_CHECK(qp->stats.tx.packets - s0.packets +
					 (qp->stats.tx.drops[NET_DROP_BACKEND] -
					  s0.drops[NET_DROP_BACKEND]) ==
				 nsend,
			 "%u chains had to be sent, %llu sent + %llu backend drops", nsend,
			 (unsigned long long)(qp->stats.tx.packets - s0.packets),
			 (unsigned long long)(qp->stats.tx.drops[NET_DROP_BACKEND] -
					      s0.drops[NET_DROP_BACKEND]));

	/* EAGAIN: the chain stays with the device, nothing lost (seed 002) */
	FZ_CHECK(qp->tx_pending == (qp->tx_wait == NET_WAIT_BACKEND_OUT),
		 "tx_pending %d with tx_wait %d", qp->tx_pending, qp->tx_wait);
	if (qp->tx_pending) {
		uint16_t id = qp->tx_chain.id;
		struct fz_nchain *c = id < q->size ? &q->ch[id] : NULL;
		struct fz_txexp e;

		if (!q->dirty) {
			FZ_CHECK(c && c->live, "pending TX chain %u is not outstanding", id);
			FZ_CHECK(!n->tx_pending_prev || n->tx_pending_id == id,
				 "pending TX chain %u replaced chain %u without completing it", id,
				 n->tx_pending_id);
			if (!n->tx_pending_prev) {
				/* popped in this call: the device copied the header now */
				chain_read(n, c, false, 0, c->hdr, hdr_size(n));
				c->popped_hdr = true;
				FZ_CHECK(c->expect == FZ_NX_GOOD && tx_expect(n, c, &e),
					 "TX chain %u kept pending, but it must not be sent", id);
			}
		}
		n->tx_pending_prev = true;
		n->tx_pending_id = id;
	} else if (!q->dirty) {
		FZ_CHECK(!n->tx_pending_prev, "pending TX chain %u vanished", n->tx_pending_id);
	}
	check_signal(n, q, q->ncpl, u0, q->used_idx, "net_tx_run");
	if (qp->tx_wait == NET_WAIT_KICK)
		check_armed(n, q, &qp->tx, "net_tx_run");
}

/*
 * Entry @e (no backend error, so it must have gone out) has no frame left to
 * match.  Arrivals are matched to the earliest expected entry, but when the
 * last frames matched may_fail entries with the same bytes as @e (a run of
 * identical frames, every entry between them skipped), the backend may have
 * dropped one of those earlier entries and the frames were the later ones:
 * shift the run by one (an earlier entry counts as missing), once per
 * may_fail entry in the run (corpus/net_tx/crash-identical-frame-after-
 * backend-drop.bin: one; crash-three-identical-frames-first-dropped.bin: a
 * run of three).  Return: whether that explains @e.
 */
static bool tx_rematch(struct fz_net *n, const struct fz_txexp *e)
{
	if (!n->tx_last_valid || !n->tx_slack || e->wild || e->len != n->tx_last.len ||
	    e->hash != n->tx_last.hash)
		return false;
	n->tx_slack--;
	n->tx_missing++;
	n->tx_last = *e;
	return true;
}

/* Check one frame the TAP received. */
static void tx_frame(struct fz_net *n, const uint8_t *f, size_t len)
{
	size_t hs = hdr_size(n);
	uint64_t h = fz_hash(FZ_HASH_INIT, f, len);
	struct net_hdr hd;
	const char *why;

	FZ_CHECK(len >= hs + NET_ETH_HLEN && len <= hs + NET_MAX_FRAME,
		 "TAP received a %zu-byte frame (header %zu)", len, hs);
	fz_hdr_decode(&hd, f, hs);
	why = fz_tx_hdr_sane(&hd, n->features, len - hs);
	FZ_CHECK(!why,
		 "TAP received an unsanitised header: %s (flags %#x gso %#x/%u csum %u+%u "
		 "hdr_len %u, frame %zu)",
		 why, hd.flags, hd.gso_type, hd.gso_size, hd.csum_start, hd.csum_offset, hd.hdr_len,
		 len - hs);
	n->tx_got++;
	if (n->trace)
		fprintf(stderr, "net: TAP got %zu bytes%s\n", len,
			n->tx_wild ? " (unchecked)" : "");
	if (n->tx_wild)
		return;
	while (n->txe_head < n->ntxe) {
		const struct fz_txexp *e = &n->txe[n->txe_head++];

		if (e->wild || (e->len == len && e->hash == h)) {
			bool run = n->tx_last_valid && !e->wild && e->len == n->tx_last.len &&
				   e->hash == n->tx_last.hash;

			n->tx_slack = (run ? n->tx_slack : 0) + (!e->wild && e->may_fail);
			n->tx_last = *e;
			n->tx_last_valid = !e->wild;
			return;
		}
		FZ_CHECK(e->may_fail || tx_rematch(n, e),
			 "TAP received %zu bytes, expected chain %u's frame (%u bytes)%s", len,
			 e->id, e->len, e->len == len ? ": same length, different bytes" : "");
		if (e->may_fail)
			n->tx_missing++;
	}
	FZ_CHECK(0, "TAP received a %zu-byte frame no chain produced", len);
}

void fz_net_tap_drain(struct fz_net *n)
{
	if (n->tap_peer < 0)
		return;
	for (;;) {
		ssize_t r = recv(n->tap_peer, n->scratch, SCRATCH, MSG_DONTWAIT | MSG_TRUNC);

		if (r < 0)
			break;
		FZ_CHECK(r > 0 && (size_t)r <= SCRATCH, "TAP read returned %zd", r);
		tx_frame(n, n->scratch, (size_t)r);
	}
}

void fz_net_tap_close(struct fz_net *n)
{
	if (n->tap_peer < 0)
		return;
	fz_net_tap_drain(n);
	close(n->tap_peer);
	n->tap_peer = -1;
}

/*
 * fault_readv() - the socket twin's readv, failing once when a fault is armed
 * (FZ_NET_MISC_FAULTS), with a TAP's errors: a frame error (the kernel frees
 * the frame it failed to copy: tun_do_read) consumes the next datagram, a
 * hard error (EIO, EBADFD) consumes nothing.  With nothing queued it reads
 * as the socket does and the fault stays armed.
 */
static ssize_t fault_readv(struct net_backend *be, const struct iovec *iov, unsigned cnt)
{
	struct fz_net *n = be->priv;
	int err = n->fault;
	uint8_t b;
	ssize_t r;

	if (!err) {
		r = n->sock_ops->readv(be, iov, cnt);
		n->tap_reads += r > 0;
		return r;
	}
	if (err == EIO || err == EBADFD) {
		n->fault = 0;
		n->fault_hit = err;
		return -err;
	}
	r = recv(be->fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC); /* the whole datagram */
	if (r <= 0)
		return n->sock_ops->readv(be, iov, cnt); /* -EAGAIN, or EOF */
	/* datagrams leave in the order the harness queued them: this is the
	 * (tap_reads)th frame of the session (rxf_push) */
	FZ_CHECK(n->tap_reads >= n->rxf_base && n->tap_reads - n->rxf_base < n->nrxf,
		 "fake TAP read frame %llu, frames %llu..%llu queued",
		 (unsigned long long)n->tap_reads, (unsigned long long)n->rxf_base,
		 (unsigned long long)(n->rxf_base + n->nrxf));
	n->rxf[n->tap_reads++ - n->rxf_base].tap_drop = true;
	n->fault = 0;
	n->fault_hit = err;
	n->fault_frames++;
	if (n->trace)
		fprintf(stderr, "net: fake TAP dropped a %zd-byte frame: error %d\n", r, err);
	return -err;
}

/* FZ_NOP_FAULT: u8 kind (% 7): arm the next read's error. */
static void op_fault(struct fz_net *n)
{
	static const int errs[7] = { EFAULT, EINVAL, EMSGSIZE, ENOBUFS, ENOMEM, EIO, EBADFD };

	n->fault = errs[fz_u8(&n->in) % 7];
}

void fz_net_op_sndbuf(struct fz_net *n)
{
	static const int sz[8] = { 1, 2048, 4096, 8192, 16384, 32768, 65536, 212992 };
	int v = sz[fz_u8(&n->in) % 8];

	(void)setsockopt(n->tap_be, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/* ---- RX -------------------------------------------------------------------------- */

static void rxf_push(struct fz_net *n, const struct fz_frame *f)
{
	if (n->rxf_head == n->nrxf) {
		n->rxf_base += n->nrxf;
		n->rxf_head = n->nrxf = 0;
	}
	if (n->nrxf == n->rxf_cap) {
		unsigned cap = n->rxf_cap ? 2 * n->rxf_cap : 64;
		struct fz_frame *p = realloc(n->rxf, cap * sizeof(*p));

		FZ_CHECK(p, "out of memory");
		n->rxf = p;
		n->rxf_cap = cap;
	}
	n->rxf[n->nrxf++] = *f;
}

void fz_net_op_inject(struct fz_net *n)
{
	size_t hs = hdr_size(n);
	uint8_t mode = fz_u8(&n->in), cnt;
	struct fz_frame f;
	uint8_t hdr[NET_HDR_MAX], np;
	uint32_t len;

	switch ((mode & 0x0f) % 6) {
	case 0: /* runt */
		len = 1 + fz_u8(&n->in) % (uint32_t)(hs + NET_ETH_HLEN - 1);
		break;
	case 1: /* smallest frames */
		len = (uint32_t)(hs + NET_ETH_HLEN) + fz_u8(&n->in) % 64;
		break;
	case 2: /* ordinary */
		len = (uint32_t)(hs + 60) + fz_u16(&n->in) % 1455;
		break;
	case 3: /* maximal */
		len = FZ_NET_INJ_MAX - fz_u8(&n->in) % 8;
		break;
	case 4:
		len = 1 + fz_u16(&n->in) % FZ_NET_INJ_MAX;
		break;
	default:
		len = (uint32_t)(hs + NET_ETH_HLEN) + fz_u16(&n->in) % 8192;
		break;
	}
	if (len > FZ_NET_INJ_MAX)
		len = FZ_NET_INJ_MAX;
	fz_bytes(&n->in, hdr, sizeof(hdr));
	memset(&f, 0, sizeof(f));
	f.len = len;
	f.seed = fz_u8(&n->in);
	np = fz_u8(&n->in) % (FZ_NET_PFX - NET_HDR_MAX + 1);
	memcpy(f.pfx, hdr, hs);
	fz_bytes(&n->in, f.pfx + hs, np);
	f.npfx = (uint8_t)(hs + np);
	cnt = 1 + (mode >> 4) % 4;
	if (n->tap_peer < 0)
		return;
	fz_frame_fill(&f, 0, n->scratch, f.len);
	for (unsigned k = 0; k < cnt; k++) {
		ssize_t w;

		if (n->inj_bytes + len > FZ_NET_INJ_BYTES)
			return;
		w = send(n->tap_peer, n->scratch, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w != (ssize_t)len)
			return; /* the "network" is full: not sent */
		n->inj_bytes += len;
		if (n->trace)
			fprintf(stderr, "net: inject %u bytes (hdr %02x %02x)\n", len, f.pfx[0],
				f.pfx[1]);
		rxf_push(n, &f);
	}
}

/* Reference verdict of a frame: 0 deliverable, else a skip class. */
enum { RXV_OK, RXV_RUNT, RXV_CSUM, RXV_GSO, RXV_BOTH };

static int rx_verdict(const struct fz_net *n, const struct fz_frame *f, struct net_hdr *h)
{
	size_t hs = hdr_size(n);
	uint8_t raw[NET_HDR_MAX];
	uint32_t bad;

	if (f->len < hs + NET_ETH_HLEN)
		return RXV_RUNT;
	for (size_t i = 0; i < hs; i++)
		raw[i] = fz_frame_byte(f, (uint32_t)i);
	fz_hdr_decode(h, raw, hs);
	bad = fz_ref_rx_hdr(h, n->features, f->len - hs);
	if (!bad)
		return RXV_OK;
	if (bad == FZ_NDROP(NET_DROP_RX_CSUM))
		return RXV_CSUM;
	if (bad == FZ_NDROP(NET_DROP_RX_GSO))
		return RXV_GSO;
	return RXV_BOTH;
}

static void rx_skip(struct fz_net *n, int v)
{
	switch (v) {
	case RXV_OK:
		n->skip.valid++;
		break;
	case RXV_RUNT:
		n->skip.runt++;
		break;
	case RXV_CSUM:
		n->skip.hdr_csum++;
		break;
	case RXV_GSO:
		n->skip.hdr_gso++;
		break;
	default:
		n->skip.hdr_both++;
		break;
	}
}

/* Do bytes [@from, @len) of @p equal frame @f's?  Generates into scratch + GEN. */
static bool payload_eq(struct fz_net *n, const struct fz_frame *f, const uint8_t *p, size_t from,
		       size_t len)
{
	uint8_t *g = n->gen;

	if (len <= from)
		return true;
	fz_frame_fill(f, (uint32_t)from, g, (uint32_t)(len - from));
	return !memcmp(p + from, g, len - from);
}

/* Expected guest header of deliverable frame @f in @nb buffers. */
static void rx_hdr_expect(const struct fz_net *n, struct net_hdr *h, unsigned nb, uint8_t *raw)
{
	h->num_buffers = (uint16_t)nb;
	fz_hdr_encode(raw, hdr_size(n), h);
}

/*
 * Is the packet @p (@len bytes, @nb buffers) exactly a deliverable frame
 * queued after the next one (same payload and the sanitised header)?
 */
static bool later_twin(struct fz_net *n, const uint8_t *p, size_t len, unsigned nb)
{
	size_t hs = hdr_size(n);

	for (unsigned k = n->rxf_head + 1; k < n->nrxf; k++) {
		struct net_hdr h2;
		uint8_t w2[NET_HDR_MAX];
		const struct fz_frame *g = &n->rxf[k];

		if (g->tap_drop || g->len != len || rx_verdict(n, g, &h2) != RXV_OK ||
		    !payload_eq(n, g, p, hs, len))
			continue;
		rx_hdr_expect(n, &h2, nb, w2);
		if (!memcmp(w2, p, hs))
			return true;
	}
	return false;
}

/* Match a packet of @len bytes (in n->scratch) in @nb buffers to the TAP's frames. */
static void rx_match(struct fz_net *n, size_t len, unsigned nb)
{
	size_t hs = hdr_size(n);
	const uint8_t *p = n->scratch;
	struct net_hdr got;
	const char *why;

	fz_hdr_decode(&got, p, hs);
	why = fz_rx_hdr_sane(&got, n->features, len - hs);
	FZ_CHECK(!why,
		 "guest received a header that claims too much: %s (flags %#x gso %#x/%u "
		 "csum %u+%u hdr_len %u)",
		 why, got.flags, got.gso_type, got.gso_size, got.csum_start, got.csum_offset,
		 got.hdr_len);
	n->rx_delivered++;
	if (n->trace)
		fprintf(stderr, "net: guest got %zu bytes in %u buffers%s\n", len, nb,
			n->rx_wild ? " (unchecked)" : "");
	if (n->rx_wild)
		return;
	while (n->rxf_head < n->nrxf) {
		const struct fz_frame *f = &n->rxf[n->rxf_head];
		struct net_hdr h;
		uint8_t want[NET_HDR_MAX];
		int v;
		bool same;

		if (f->tap_drop) { /* never reached the device */
			n->skip.tap++;
			n->rxf_head++;
			continue;
		}
		v = rx_verdict(n, f, &h);
		same = f->len == len && payload_eq(n, f, p, hs, len);

		if (same && v == RXV_OK) {
			rx_hdr_expect(n, &h, nb, want);
			if (!memcmp(want, p, hs)) {
				n->rxf_head++;
				return;
			}
			/*
			 * Same payload, another header: this frame may have been
			 * dropped for room (its chain too small without
			 * MRG_RXBUF) and a later frame with the same payload
			 * delivered.  Then it counts as a valid frame skipped,
			 * which the drop counters must account for at the end.
			 */
			FZ_CHECK(later_twin(n, p, len, nb),
				 "guest header %02x %02x %02x%02x %02x%02x %02x%02x %02x%02x, "
				 "expected "
				 "%02x %02x %02x%02x %02x%02x %02x%02x %02x%02x (nb %u)",
				 p[0], p[1], p[3], p[2], p[5], p[4], p[7], p[6], p[9], p[8],
				 want[0], want[1], want[3], want[2], want[5], want[4], want[7],
				 want[6], want[9], want[8], nb);
		} else if (same) {
			/* the device may only have delivered a later twin of it */
			FZ_CHECK(later_twin(n, p, len, nb),
				 "guest received a frame the device must drop (%s)",
				 v == RXV_RUNT ? "runt" : "offload the guest did not negotiate");
		}
		rx_skip(n, v);
		n->rxf_head++;
	}
	FZ_CHECK(0, "guest received a %zu-byte packet in %u buffers that no TAP frame matches", len,
		 nb);
}

/* Collect one RX packet starting at completion @i; returns completions used. */
static unsigned rx_packet(struct fz_net *n, struct fz_nq *q, unsigned i)
{
	size_t hs = hdr_size(n), total = 0;
	const struct fz_ncpl *cp = &q->cpl[i];
	struct fz_nchain *c = &q->ch[cp->id];
	uint8_t raw[NET_HDR_MAX];
	unsigned nb = 1;
	bool excl = true;

	chain_read(n, c, true, 0, raw, hs);
	if (mrg(n)) {
		nb = (unsigned)(raw[10] | raw[11] << 8);
		FZ_CHECK(nb >= 1 && nb <= q->ncpl - i,
			 "num_buffers %u with %u completions published in this call", nb,
			 q->ncpl - i);
	}
	for (unsigned j = 0; j < nb; j++) {
		const struct fz_ncpl *cj = &q->cpl[i + j];
		struct fz_nchain *x = &q->ch[cj->id];

		FZ_CHECK(x->expect == FZ_NX_GOOD && !x->out_bytes && x->in_bytes >= hs,
			 "packet buffer %u of %u is chain %u, which the device had to refuse", j,
			 nb, x->id);
		FZ_CHECK(cj->len > 0 && cj->len <= x->in_bytes,
			 "RX chain %u: used len %u, writable %u", x->id, cj->len, x->in_bytes);
		if (j + 1 < nb)
			FZ_CHECK(cj->len == x->in_bytes,
				 "mergeable buffer %u of %u (chain %u) not full: %u of %u", j, nb,
				 x->id, cj->len, x->in_bytes);
		FZ_CHECK(total + cj->len <= SCRATCH, "packet larger than any frame");
		chain_read(n, x, true, 0, n->scratch + total, cj->len);
		total += cj->len;
		excl &= !x->alias && fz_nq_chain_exclusive(n, x);
	}
	FZ_CHECK(total >= hs + NET_ETH_HLEN && total <= FZ_NET_INJ_MAX,
		 "RX packet of %zu bytes (header %zu)", total, hs);
	if (!excl)
		n->rx_wild = true; /* aliased buffers: the bytes may be someone else's */
	rx_match(n, total, nb);
	return nb;
}

void fz_net_run_rx(struct fz_net *n, unsigned budget)
{
	struct fz_nq *q = &n->q[FZ_NR_RX];
	struct vnet_qp *qp = qp0(n);
	uint16_t u0 = q->used_idx;
	size_t hs = hdr_size(n);
	int r;

	if (!q->started) {
		FZ_CHECK(net_rx_run(qp, budget) == -EINVAL, "net_rx_run on a stopped queue");
		return;
	}
	(void)took_signal(q->call_fd);
	n->fault_hit = 0;
	fz_net_pre(n);
	r = net_rx_run(qp, budget);
	post_diff(n, q, true, "net_rx_run");
	fz_nq_collect(n, q);
	if (n->fault_hit == EIO || n->fault_hit == EBADFD) {
		/* the backend is unusable: the run stops there, keeps every
		 * reserved chain, and reports the error (as the call's result
		 * when it completed nothing) */
		FZ_CHECK(qp->rx_wait == NET_WAIT_BACKEND_ERR && qp->rx_err == n->fault_hit &&
				 r == (q->ncpl ? (int)q->ncpl : -n->fault_hit),
			 "read error %d: net_rx_run returned %d (wait %d, rx_err %d, %u "
			 "completions)",
			 n->fault_hit, r, qp->rx_wait, qp->rx_err, q->ncpl);
	}
	if (n->trace) {
		fprintf(stderr,
			"net: rx_run(%u) -> %d, %u completions, wait %d, pending %zu, bad "
			"chains %llu, drops",
			budget, r, q->ncpl, qp->rx_wait, qp->rx_pending_len,
			(unsigned long long)qp->stats.rx.bad_chains);
		for (unsigned d = 1; d < NET_DROP__COUNT; d++)
			if (qp->stats.rx.drops[d])
				fprintf(stderr, " %s %llu", net_drop_name((enum net_drop)d),
					(unsigned long long)qp->stats.rx.drops[d]);
		for (unsigned i = 0; i < q->ncpl; i++)
			fprintf(stderr, " [%u:%u]", q->cpl[i].id, q->cpl[i].len);
		fputc('\n', stderr);
	}
	if (r < 0)
		FZ_CHECK(qp->rx_wait == NET_WAIT_BACKEND_ERR && q->ncpl == 0,
			 "net_rx_run returned %d (wait %d, %u completions)", r, qp->rx_wait,
			 q->ncpl);
	else if (!q->dirty)
		FZ_CHECK((unsigned)r == q->ncpl, "net_rx_run returned %d with %u completions", r,
			 q->ncpl);
	if (!q->dirty)
		FZ_CHECK(!vq_is_broken(&qp->rx, NULL), "RX queue broke on well-formed rings");

	/* aliased buffers: another packet may have overwritten this one's bytes,
	 * num_buffers included; from here on only what needs no bytes is checked */
	for (unsigned i = 0; i < q->ncpl && !n->rx_wild; i++) {
		const struct fz_nchain *c = &q->ch[q->cpl[i].id];

		if (q->cpl[i].len && (c->alias || !fz_nq_chain_exclusive(n, c)))
			n->rx_wild = true;
	}
	for (unsigned i = 0; i < q->ncpl;) {
		struct fz_nchain *c = &q->ch[q->cpl[i].id];
		uint32_t len = q->cpl[i].len;

		if (q->dirty || c->expect == FZ_NX_UNKNOWN || (n->rx_wild && len)) {
			n->rx_wild = true;
			if (c->expect == FZ_NX_GOOD && !q->dirty)
				FZ_CHECK(len <= c->in_bytes &&
						 (len == 0) == (c->out_bytes || c->in_bytes < hs),
					 "RX chain %u: len %u, writable %u, readable %u", c->id,
					 len, c->in_bytes, c->out_bytes);
			i++;
			continue;
		}
		if (c->expect == FZ_NX_BAD || c->out_bytes || c->in_bytes < hs) {
			FZ_CHECK(len == 0, "RX chain %u (%s) returned with len %u", c->id,
				 c->expect == FZ_NX_BAD ? "malformed"
				 : c->out_bytes		? "readable descriptors (F7)"
							: "smaller than the header (F8)",
				 len);
			i++;
			continue;
		}
		FZ_CHECK(len > 0, "RX chain %u returned unused during a run (lost buffer)", c->id);
		i += rx_packet(n, q, i);
	}
	for (unsigned i = 0; i < q->ncpl; i++)
		fz_nq_retire(n, q, &q->ch[q->cpl[i].id]);
	check_signal(n, q, q->ncpl, u0, q->used_idx, "net_rx_run");
	if (r >= 0 && qp->rx_wait == NET_WAIT_KICK)
		check_armed(n, q, &qp->rx, "net_rx_run");
	if (r >= 0 && qp->rx_wait == NET_WAIT_BACKEND_IN) {
		uint8_t b;

		FZ_CHECK(recv(n->tap_be, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0,
			 "net_rx_run waits for the TAP with a frame queued");
	}
}

/* ---- control queue ------------------------------------------------------------------ */

void fz_net_run_ctrl(struct fz_net *n, unsigned budget)
{
	struct fz_nq *q = &n->q[FZ_NR_CTRL];
	uint16_t u0 = q->used_idx;
	uint8_t cmd[VNET_CTRL_MAX_CMD], mac_set[NET_ETH_ALEN];
	int mac_known = 0; /* 1: mac_set is the last MAC set; -1: unknown */
	int r;

	if (!q->started) {
		FZ_CHECK(net_ctrl_run(&n->dev, budget) == -EINVAL,
			 "net_ctrl_run on a stopped queue");
		return;
	}
	(void)took_signal(q->call_fd);
	fz_net_pre(n);
	r = net_ctrl_run(&n->dev, budget);
	post_diff(n, q, true, "net_ctrl_run");
	fz_nq_collect(n, q);
	if (n->trace)
		fprintf(stderr, "net: ctrl_run(%u) -> %d, %u completions\n", budget, r, q->ncpl);
	FZ_CHECK(r >= 0 && (unsigned)r <= budget, "net_ctrl_run(%u) returned %d", budget, r);
	if (!q->dirty) {
		FZ_CHECK((unsigned)r == q->ncpl, "net_ctrl_run returned %d with %u completions", r,
			 q->ncpl);
		FZ_CHECK(!vq_is_broken(&n->dev.ctrl, NULL),
			 "ctrl queue broke on well-formed rings");
	}
	for (unsigned i = 0; i < q->ncpl; i++) {
		struct fz_nchain *c = &q->ch[q->cpl[i].id];
		uint32_t len = q->cpl[i].len;
		bool seen = !q->dirty && c->expect == FZ_NX_BAD; /* rejected: no effect */

		if (!q->dirty && c->expect == FZ_NX_BAD) {
			FZ_CHECK(len == 0, "malformed ctrl chain %u returned with len %u", c->id,
				 len);
		} else if (!q->dirty && c->expect == FZ_NX_GOOD) {
			uint8_t ack = 0xee;
			int want;

			FZ_CHECK(len == (c->in_bytes ? 1u : 0u),
				 "ctrl chain %u: len %u, writable %u (G1)", c->id, len,
				 c->in_bytes);
			if (c->in_bytes && !c->alias) {
				seen = true;
				chain_read(n, c, true, 0, &ack, 1);
				if (c->out_bytes > sizeof(cmd)) {
					want = FZ_CTRL_ERR;
				} else {
					chain_read(n, c, false, 0, cmd, c->out_bytes);
					want = fz_ref_ctrl(n->features, n->dev.max_pairs, cmd,
							   c->out_bytes);
				}
				FZ_CHECK(ack == want,
					 "ctrl chain %u (class %u cmd %u, %u bytes): ack %u, "
					 "expected %u",
					 c->id, c->out_bytes ? cmd[0] : 0,
					 c->out_bytes > 1 ? cmd[1] : 0, c->out_bytes, ack, want);
				if (want == FZ_CTRL_OK && cmd[0] == 1 && cmd[1] == 1) {
					memcpy(mac_set, cmd + 2, sizeof(mac_set));
					mac_known = 1;
				}
				if (n->trace)
					fprintf(stderr,
						"net: ctrl class %u cmd %u (%u bytes): ack %u\n",
						c->out_bytes ? cmd[0] : 0,
						c->out_bytes > 1 ? cmd[1] : 0, c->out_bytes, ack);
				n->ctrl_ok += want == FZ_CTRL_OK;
				n->ctrl_err += want != FZ_CTRL_OK;
			}
		}
		if (!seen)
			mac_known = -1; /* a command the model could not read */
		fz_nq_retire(n, q, c);
	}
	/* Commands run in completion order: the last MAC_ADDR_SET wins. */
	if (mac_known > 0) {
		uint8_t mac[NET_ETH_ALEN];

		FZ_CHECK(!vnet_get_config(&n->dev, 0, mac, sizeof(mac)) &&
				 !memcmp(mac, mac_set, sizeof(mac)),
			 "MAC_ADDR_SET acknowledged, config mac is not the last one set");
	}
	check_signal(n, q, q->ncpl, u0, q->used_idx, "net_ctrl_run");
	if ((unsigned)r < budget)
		check_armed(n, q, &n->dev.ctrl, "net_ctrl_run");
}

/* ---- building chains ------------------------------------------------------------------ */

/* Cut @total bytes into @nb pieces per split mode @mode. */
static void cut(struct fz_net *n, unsigned mode, uint32_t total, unsigned nb, size_t hs,
		uint32_t *len)
{
	switch (mode % 4) {
	case FZ_NP_HDR_FIRST: {
		uint32_t h = total < hs ? total : (uint32_t)hs, rest = total - h;

		len[0] = nb > 1 ? h : total;
		for (unsigned i = 1; i < nb; i++)
			len[i] = rest / (nb - 1) + (i + 1 == nb ? rest % (nb - 1) : 0);
		break;
	}
	case FZ_NP_TINY: {
		uint32_t used = 0;

		/* the header one byte per descriptor (CVE-2022-2132) */
		for (unsigned i = 0; i + 1 < nb; i++) {
			len[i] = used < total ? 1 : 0;
			used += len[i];
		}
		len[nb - 1] = total - used;
		break;
	}
	case FZ_NP_CUTS: {
		uint32_t c[FZ_NET_MAX_BUF + 1];

		c[0] = 0;
		for (unsigned i = 1; i < nb; i++) {
			uint32_t v = fz_u16(&n->in) % (total + 1), k = i;

			while (k > 1 && c[k - 1] > v) {
				c[k] = c[k - 1];
				k--;
			}
			c[k] = v;
		}
		c[nb] = total;
		for (unsigned i = 0; i < nb; i++)
			len[i] = c[i + 1] - c[i];
		break;
	}
	default:
		for (unsigned i = 0; i < nb; i++)
			len[i] = total / nb + (i + 1 == nb ? total % nb : 0);
		break;
	}
}

/* Place the buffers of a chain; returns the number of allocations made. */
static unsigned place(struct fz_net *n, struct fz_nbuf *b, const uint32_t *len, unsigned nb,
		      enum fz_nzone z, bool cross, struct fz_nalloc *al, bool *fail)
{
	unsigned na = 0;

	*fail = false;
	for (unsigned i = 0; i < nb; i++) {
		b[i].len = len[i];
		if (fz_zone_alloc(n, z, len[i], &al[na])) {
			*fail = true;
			return na;
		}
		b[i].gpa = fz_zone_gpa(n, z, al[na].first * FZ_NET_GRAN);
		if (al[na].count)
			na++;
	}
	if (cross && n->l.ndata && z == FZ_NZ_BUF) {
		/* first buffer ends past its chunk: it straddles into the GPA after */
		const struct fz_chunk *c = &n->l.chunk[1 + fz_u8(&n->in) % n->l.ndata];
		uint32_t back = 1 + (len[0] ? fz_u8(&n->in) % len[0] : 0);

		b[0].gpa = c->gpa + c->size - back;
	}
	return na;
}

/* Write generated frame bytes into the readable buffers of a TX chain. */
static void fill_tx(struct fz_net *n, const struct fz_nbuf *b, unsigned nb,
		    const struct fz_frame *f)
{
	uint32_t pos = 0;

	for (unsigned i = 0; i < nb; i++) {
		uint32_t len = b[i].len, k = len < SCRATCH ? len : SCRATCH;

		if (b[i].write || !len)
			continue;
		fz_frame_fill(f, pos, n->scratch, k);
		fz_ref_write(&n->l, b[i].gpa, n->scratch, k);
		pos += len;
		n->gen_bytes += len;
	}
}

/* Pre-fill writable buffers so stale bytes never look like a delivered frame. */
static void fill_rx(struct fz_net *n, const struct fz_nbuf *b, unsigned nb, uint8_t v)
{
	for (unsigned i = 0; i < nb; i++) {
		if (!b[i].write || !b[i].len)
			continue;
		fz_nq_fill(n, b[i].gpa, b[i].len, v);
		n->gen_bytes += b[i].len;
	}
}

static unsigned iov_cap(const struct fz_nq *q)
{
	switch (q->role) {
	case FZ_NR_RX:
		return VNET_RX_SEG;
	case FZ_NR_TX:
		return VNET_TX_IOV;
	default:
		return VNET_CTRL_IOV;
	}
}

/* The most recently posted live chain of @q, for aliasing. */
static const struct fz_nchain *last_chain(const struct fz_nq *q)
{
	const struct fz_nchain *best = NULL;

	for (unsigned i = 0; i < q->size; i++)
		if (q->ch[i].live && q->ch[i].nbuf && (!best || q->ch[i].seq > best->seq))
			best = &q->ch[i];
	return best;
}

void fz_net_op_post(struct fz_net *n, struct fz_nq *q)
{
	size_t hs = hdr_size(n);
	uint8_t shape = fz_u8(&n->in), tw = fz_u8(&n->in) % FZ_NT__COUNT, mode;
	uint16_t lsel = fz_u16(&n->in);
	unsigned nb = FZ_NS_NBUF(shape), na;
	bool rx = q->role != FZ_NR_TX, bulk = shape & FZ_NS_BULK, fail;
	bool indirect = shape & FZ_NS_INDIRECT;
	unsigned prefix = (shape & FZ_NS_PREFIX) ? 1 : 0;
	struct fz_nbuf b[FZ_NET_MAX_BUF];
	struct fz_nalloc al[FZ_NET_MAX_BUF + 1];
	uint32_t len[FZ_NET_MAX_BUF], total, cap, ext;
	struct fz_frame f;
	const struct fz_nchain *prev;
	struct fz_nchain *c;

	memset(&f, 0, sizeof(f));
	memset(b, 0, sizeof(b));
	if (!rx) {
		uint8_t hdr[NET_HDR_MAX], np;

		fz_bytes(&n->in, hdr, sizeof(hdr));
		f.seed = fz_u8(&n->in);
		np = fz_u8(&n->in) % (FZ_NET_PFX - NET_HDR_MAX + 1);
		memcpy(f.pfx, hdr, hs);
		fz_bytes(&n->in, f.pfx + hs, np);
		f.npfx = (uint8_t)(hs + np);
	}
	mode = fz_u8(&n->in);
	if (tw == FZ_NT_LONG)
		bulk = true;
	if (n->gen_bytes > FZ_NET_GEN_BYTES)
		bulk = false, lsel &= 0xff;
	cap = bulk ? FZ_NET_BULK : FZ_BUF_ZONE;
	/* every granule-rounded piece must fit the zone */
	cap -= FZ_NET_GRAN * (FZ_NET_MAX_BUF + 1);

	/* split-mode bit 7 adds 64 KiB: bulk chains reach NET_MAX_FRAME exactly */
	ext = (mode & 0x80) ? 0x10000u : 0;
	switch (tw) {
	case FZ_NT_SHORT:
		total = lsel % (uint32_t)(rx ? hs : hs + NET_ETH_HLEN);
		break;
	case FZ_NT_HDR_ONLY:
		total = (uint32_t)hs;
		break;
	case FZ_NT_LONG:
		total = rx ? cap : (uint32_t)(hs + NET_MAX_FRAME + 1 + lsel % 64);
		break;
	case FZ_NT_ONE_BYTE:
		total = nb;
		break;
	default:
		if (rx)
			total = (lsel + ext) % (cap + 1);
		else
			total = (uint32_t)hs + (lsel + ext) % (uint32_t)(cap - hs + 1);
		break;
	}
	if (total > cap)
		total = cap;
	f.len = total;
	if (tw == FZ_NT_ONE_BYTE) {
		for (unsigned i = 0; i < nb; i++)
			len[i] = 1;
	} else {
		cut(n, mode, total, nb, hs, len);
	}
	na = place(n, b, len, nb, bulk ? FZ_NZ_BULK : FZ_NZ_BUF, shape & FZ_NS_CROSS, al, &fail);
	if (fail) {
		for (unsigned i = 0; i < na; i++)
			fz_zone_free(n, &al[i]);
		return;
	}
	for (unsigned i = 0; i < nb; i++)
		b[i].write = rx;

	switch (tw) {
	case FZ_NT_WRITABLE:
		if (rx) {
			b[0].write = false; /* a readable descriptor first (F7) */
		} else if (nb < FZ_NET_MAX_BUF) {
			/* a writable one at the end of a TX chain (B3) */
			b[nb].gpa = b[nb - 1].gpa;
			b[nb].len = 1 + fz_u8(&n->in) % 64;
			b[nb].write = true;
			nb++;
		}
		break;
	case FZ_NT_ORDER:
		if (nb >= 2) {
			b[nb - 2].write = true;
			b[nb - 1].write = false;
		} else {
			b[0].write = true; /* RX chain: already all writable */
		}
		break;
	case FZ_NT_ZERO:
		b[fz_u8(&n->in) % nb].len = 0;
		break;
	case FZ_NT_HOLE: {
		unsigned k = fz_u8(&n->in) % nb;

		b[k].gpa = fz_addr(&n->in, &n->l);
		if (fz_u8(&n->in) & 1)
			b[k].len = fz_len(&n->in);
		break;
	}
	case FZ_NT_ALIAS:
		prev = last_chain(q);
		if (prev)
			b[0].gpa = prev->buf[0].gpa;
		break;
	case FZ_NT_IND_NONEG:
		indirect = true;
		break;
	default:
		break;
	}
	if (indirect && !q->indirect && tw != FZ_NT_IND_NONEG)
		indirect = false;
	fz_nq_sanitise(n, b, nb);
	if (rx)
		fill_rx(n, b, nb, (uint8_t)(0xe0 | (q->seq & 0xf)));
	else
		fill_tx(n, b, nb, &f);
	c = fz_nq_post(n, q, b, nb, indirect, prefix, iov_cap(q), al, na);
	/*
	 * Aliased receive buffers: a direct read lands the frame in all of them,
	 * and the header the device copies back may be another part of it.  The
	 * device stays safe (every oracle on writes and lengths holds) but what
	 * it delivers or drops is no longer predictable.
	 */
	if (c && c->alias && rx)
		n->rx_wild = true;
}

void fz_net_op_postn(struct fz_net *n, struct fz_nq *q)
{
	unsigned cnt = 1 + fz_u8(&n->in) % 64;
	uint8_t lv = fz_u8(&n->in);
	size_t hs = hdr_size(n);
	bool rx = q->role != FZ_NR_TX;

	for (unsigned k = 0; k < cnt; k++) {
		struct fz_nchain *c;
		struct fz_nbuf b;
		struct fz_nalloc al;
		struct fz_frame f;
		uint32_t len = rx ? lv : (uint32_t)(hs + NET_ETH_HLEN) + lv;

		if (!fz_nq_room(q, 1) || fz_zone_alloc(n, FZ_NZ_BUF, len, &al))
			return;
		b.gpa = fz_zone_gpa(n, FZ_NZ_BUF, al.first * FZ_NET_GRAN);
		b.len = len;
		b.write = rx;
		memset(&f, 0, sizeof(f));
		f.seed = (uint8_t)(lv + k);
		f.len = len;
		f.npfx = (uint8_t)hs; /* an all-zero header: no offloads */
		fz_nq_sanitise(n, &b, 1);
		if (rx)
			fill_rx(n, &b, 1, (uint8_t)(0xe0 | (q->seq & 0xf)));
		else
			fill_tx(n, &b, 1, &f);
		c = fz_nq_post(n, q, &b, 1, false, 0, iov_cap(q), &al, al.count ? 1 : 0);
		if (!c)
			return;
		if (c->alias && rx)
			n->rx_wild = true;
	}
}

/*
 * Control command: u8 class, u8 cmd, u8 data length (0xf0 + k: 64 * (k + 1)
 * bytes), data (zero-padded when the input ends), u8 shape: bits 0-1
 * readable pieces - 1 (max 3), bits 2-3 ack buffer (0, 1, 2, 8 bytes), bit 4
 * indirect, bit 5 ack first (readable after writable).
 */
void fz_net_post_ctrl(struct fz_net *n)
{
	struct fz_nq *q = &n->q[FZ_NR_CTRL];
	uint8_t cmd[2 + 1024], shape;
	unsigned dl, pieces, acklen, nb = 0, na = 0;
	static const unsigned ackl[4] = { 0, 1, 2, 8 };
	struct fz_nbuf b[FZ_NET_MAX_BUF];
	struct fz_nalloc al[FZ_NET_MAX_BUF];
	uint32_t len[4], off = 0;

	cmd[0] = fz_u8(&n->in);
	cmd[1] = fz_u8(&n->in);
	dl = fz_u8(&n->in);
	if (dl >= 0xf0) /* long commands: MAC tables past 64 entries, > VNET_CTRL_MAX_CMD */
		dl = (dl - 0xefu) * 64u;
	fz_bytes(&n->in, cmd + 2, dl);
	shape = fz_u8(&n->in);
	pieces = 1 + (shape & 3) % 3;
	acklen = ackl[(shape >> 2) & 3];
	/* 0x40: the readable part is cut to the class byte (no command byte) */
	cut(n, FZ_NP_EVEN, (shape & 0x40) ? 1 : 2 + dl, pieces, 2, len);
	for (unsigned i = 0; i < pieces; i++) {
		if (fz_zone_alloc(n, FZ_NZ_BUF, len[i], &al[na]))
			goto fail;
		b[nb].gpa = fz_zone_gpa(n, FZ_NZ_BUF, al[na].first * FZ_NET_GRAN);
		b[nb].len = len[i];
		b[nb].write = false;
		fz_ref_write(&n->l, b[nb].gpa, cmd + off, len[i]);
		off += len[i];
		na += al[na].count ? 1 : 0;
		nb++;
	}
	if (acklen) {
		uint8_t fill[8];

		if (fz_zone_alloc(n, FZ_NZ_BUF, acklen, &al[na]))
			goto fail;
		b[nb].gpa = fz_zone_gpa(n, FZ_NZ_BUF, al[na].first * FZ_NET_GRAN);
		b[nb].len = acklen;
		b[nb].write = true;
		memset(fill, 0xee, sizeof(fill));
		fz_ref_write(&n->l, b[nb].gpa, fill, acklen);
		na++;
		nb++;
		if (shape & 0x20) {
			struct fz_nbuf t = b[nb - 1];

			memmove(b + 1, b, (nb - 1) * sizeof(b[0]));
			b[0] = t;
		}
	}
	(void)fz_nq_post(n, q, b, nb, (shape & 0x10) && q->indirect, 0, iov_cap(q), al, na);
	return;
fail:
	for (unsigned i = 0; i < na; i++)
		fz_zone_free(n, &al[i]);
}

void fz_net_op_event(struct fz_net *n, struct fz_nq *q)
{
	uint8_t which = fz_u8(&n->in);
	uint16_t v = fz_u16(&n->in);

	if (!q->active)
		return;
	if (!q->packed) {
		if (which & 1)
			st16(q->drv + 4 + 2u * q->size, v); /* used_event */
		else
			st16(q->drv, v & VRING_AVAIL_F_NO_INTERRUPT);
	} else {
		if (which & 1)
			st16(q->drv, v); /* off_wrap */
		else
			st16(q->drv + 2, v % 3);
	}
}

void fz_net_op_flip(struct fz_net *n, bool anywhere)
{
	uint16_t off = fz_u16(&n->in);
	uint8_t x = fz_u8(&n->in), cnt = 1 + fz_u8(&n->in) % 8;
	size_t at;

	if (!x)
		x = 0xff;
	if (anywhere) {
		at = ((size_t)off * 7u) % n->l.arena_size;
		if (at < RING_END || at + cnt > n->l.ring_bytes + FZ_BUF_ZONE)
			fz_net_all_dirty(n); /* descriptors, rings or tables */
	} else if (off & 1) {
		at = n->bulk_off + ((size_t)(off >> 1) * 3u) % (FZ_NET_BULK - 8);
	} else {
		at = n->l.ring_bytes + (size_t)(off >> 1) % (FZ_BUF_ZONE - 8);
	}
	/* A table whose guest-physical range runs across a chunk boundary can
	 * continue in buffer-zone memory: rewriting it is not a buffer write. */
	for (size_t g = at / FZ_NET_GRAN; g <= (at + cnt - 1) / FZ_NET_GRAN; g++) {
		if (n->gtab[g]) {
			fz_net_all_dirty(n);
			break;
		}
	}
	for (unsigned i = 0; i < cnt && at + i < n->l.arena_size; i++)
		n->l.arena[at + i] ^= x;
}

/* ---- set-up and tear-down ------------------------------------------------------------- */

/*
 * Harness buffers that outlive a run: allocated once (grown when a layout
 * needs more) so that no run pays for fresh pages of its snapshot, granule
 * maps and scratch buffers (the sanitizer allocator quarantines freed memory,
 * and maps blocks above 128 KiB afresh on every allocation).  Their contents
 * are rewritten before use by every run; nothing carries over.
 */
struct keep_buf {
	void *p;
	size_t cap;
};

static struct keep_buf keep_snap, keep_gmap, keep_scratch, keep_gen;

static void *keep(struct keep_buf *k, size_t want)
{
	if (k->cap < want) {
		free(k->p);
		k->p = malloc(want);
		k->cap = k->p ? want : 0;
	}
	return k->p;
}

/* Move the layout's guest RAM into a memfd so a vhost-user frontend can share it. */
static int to_memfd(struct fz_net *n)
{
	struct fz_layout *l = &n->l;
	uint8_t *m;

	n->memfd = memfd_create("vh_fz_net", MFD_CLOEXEC);
	if (n->memfd < 0)
		return -1;
	if (ftruncate(n->memfd, (off_t)l->arena_size))
		return -1;
	m = mmap(NULL, l->arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, n->memfd, 0);
	if (m == MAP_FAILED)
		return -1;
	memcpy(m, l->arena, l->arena_size);
	n->map = m;
	n->heap_arena = l->arena;
	for (unsigned i = 0; i < l->nchunks; i++)
		if (l->chunk[i].hva >= l->arena && l->chunk[i].hva < l->arena + l->arena_size)
			l->chunk[i].hva = m + (l->chunk[i].hva - l->arena);
	l->data = m + (l->data - l->arena);
	l->arena = m;
	return 0;
}

int fz_net_init(struct fz_net *n, const uint8_t *data, size_t size, enum fz_net_mode mode,
		bool memfd)
{
	uint16_t feat;
	uint8_t ssel, besel, misc;
	int sv[2], r;
	uint16_t qsize;
	struct fz_nq *q;

	memset(n, 0, sizeof(*n));
	n->memfd = -1;
	n->be1_peer = -1;
	n->memfd_mode = memfd;
	n->tap_peer = n->tap_be = -1;
	for (unsigned i = 0; i < FZ_NR__COUNT; i++) {
		n->q[i].role = (enum fz_nrole)i;
		n->q[i].qidx = i; /* rx0 = 0, tx0 = 1, ctrl = 2 (no MQ) */
		n->q[i].ring_off = (size_t)i * FZ_NET_RING_BLOCK;
		n->q[i].call_fd = n->q[i].err_fd = n->q[i].kick_fd = -1;
	}
	n->trace = getenv("FZ_TRACE") != NULL;
	vh_log_set_level(n->trace ? VH_LOG_DEBUG : VH_LOG_ERR);
	/* the fake TAP is a socket: a closed peer must give EPIPE, not kill us */
	signal(SIGPIPE, SIG_IGN);
	fz_in_init(&n->in, data, size);
	feat = fz_u16(&n->in);
	ssel = fz_u8(&n->in);
	besel = fz_u8(&n->in);
	misc = fz_u8(&n->in);

	if (fz_layout_build(&n->l, &n->in, RING_END + FZ_NET_BULK,
			    (misc & 1) ? 0 : FZ_LAYOUT_FIXED))
		return -1;
	n->bulk_off = RING_END;
	if (memfd && to_memfd(n))
		return -1;
	n->snap = keep(&keep_snap, n->l.arena_size);
	n->gbuf = keep(&keep_gmap, 3 * (n->l.arena_size / FZ_NET_GRAN + 1));
	n->scratch = keep(&keep_scratch, SCRATCH);
	n->gen = keep(&keep_gen, SCRATCH);
	if (!n->snap || !n->gbuf || !n->scratch || !n->gen)
		return -1;
	memset(n->gbuf, 0, 3 * (n->l.arena_size / FZ_NET_GRAN + 1));
	n->gwr = n->gbuf + n->l.arena_size / FZ_NET_GRAN + 1;
	n->gtab = n->gwr + n->l.arena_size / FZ_NET_GRAN + 1;
	for (unsigned i = 0; i < FZ_NR__COUNT; i++) {
		n->q[i].call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		n->q[i].err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		FZ_CHECK(n->q[i].call_fd >= 0 && n->q[i].err_fd >= 0, "eventfd");
	}

	FZ_CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
	n->tap_peer = sv[0];
	n->tap_be = sv[1];
	FZ_CHECK(!fcntl(n->tap_peer, F_SETFL, O_NONBLOCK), "O_NONBLOCK");
	r = tap_adopt_socket(&n->be, sv[1], besel & NET_OFF_ALL);
	FZ_CHECK(r == 0, "tap_adopt_socket: %d", r);
	n->faults = mode == FZ_NM_RX && !memfd && (misc & FZ_NET_MISC_FAULTS);
	if (n->faults) {
		static struct net_backend_ops fault_ops;

		n->sock_ops = n->be.ops;
		fault_ops = *n->be.ops;
		fault_ops.name = "sock+faults";
		fault_ops.readv = fault_readv;
		n->be.ops = &fault_ops;
		n->be.priv = n;
	}
	{
		static const int sz[8] = { 0, 1, 4096, 8192, 16384, 32768, 65536, 0 };
		int v = sz[besel >> 5];

		if (v)
			(void)setsockopt(n->tap_be, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}

	n->bep[0] = &n->be;
	n->bep[1] = &n->be1;
	memcpy(n->params.mac, "\x52\x54\x00\x12\x34\x56", NET_ETH_ALEN);
	n->params.mtu = (misc & 2) ? 1500 : 0;
	/* two pairs (vnet_ops): MQ offered, the control queue moves to 4 with it */
	n->params.max_pairs = memfd && (misc & 4) ? 2 : 1;
	n->want_mq = memfd && (misc & 8);
	if (n->params.max_pairs > 1) {
		FZ_CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
		n->be1_peer = sv[0];
		r = tap_adopt_socket(&n->be1, sv[1], besel & NET_OFF_ALL);
		FZ_CHECK(r == 0, "tap_adopt_socket: %d", r);
	}
	r = vnet_init(&n->dev, &n->params, n->bep);
	FZ_CHECK(r == 0, "vnet_init: %d", r);
	n->dev_ok = true;

	n->features = fz_net_features(fz_net_feat_decode(feat), vnet_features(&n->dev));
	if (memfd)
		return 0; /* vnet_ops negotiates through vhost-user */
	r = vnet_set_features(&n->dev, n->features);
	FZ_CHECK(r == 0, "vnet_set_features refused %#llx (offered %#llx): %d",
		 (unsigned long long)n->features, (unsigned long long)vnet_features(&n->dev), r);
	n->features_ok = true;
	q = &n->q[mode == FZ_NM_TX ? FZ_NR_TX : FZ_NR_RX];
	q->call_set = true;
	if (n->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED))
		qsize = (uint16_t)(1 + ssel);
	else
		qsize = (uint16_t)(1u << (ssel % 9));
	fz_nq_setup(n, q, qsize, n->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED), n->features);
	r = fz_net_queue_start(n, q, &n->l.gm, NULL);
	FZ_CHECK(r == 0, "vnet_queue_start of a valid ring: %d", r);
	return 0;
}

/* RX: every frame the TAP sent is delivered, dropped for a reason, or still queued. */
static void rx_reconcile(struct fz_net *n)
{
	const struct net_dir_stats *s = &qp0(n)->stats.rx;
	uint64_t left = 0, pend = qp0(n)->rx_pending_len ? 1 : 0, rest, tail;
	uint64_t hdr_drops, off_drops;

	for (;;) {
		ssize_t r = recv(n->tap_be, n->scratch, 1, MSG_DONTWAIT | MSG_TRUNC);

		if (r <= 0)
			break;
		left++;
	}
	/* every frame error comes from the fake TAP (the socket has none) */
	if (n->faults)
		FZ_CHECK(s->drops[NET_DROP_BACKEND] == n->fault_frames,
			 "rx backend drops %llu, the fake TAP dropped %llu frames",
			 (unsigned long long)s->drops[NET_DROP_BACKEND],
			 (unsigned long long)n->fault_frames);
	if (n->rx_wild || n->q[FZ_NR_RX].dirty)
		return;
	rest = n->nrxf - n->rxf_head;
	FZ_CHECK(rest >= left + pend, "%llu frames unaccounted, %llu still queued, %llu pending",
		 (unsigned long long)rest, (unsigned long long)left, (unsigned long long)pend);
	tail = rest - left - pend;
	for (uint64_t k = 0; k < tail; k++) {
		const struct fz_frame *f = &n->rxf[n->rxf_head + k];
		struct net_hdr h;

		if (f->tap_drop)
			n->skip.tap++;
		else
			rx_skip(n, rx_verdict(n, f, &h));
	}
	FZ_CHECK(n->skip.tap == n->fault_frames,
		 "%llu frames the fake TAP dropped skipped, %llu dropped",
		 (unsigned long long)n->skip.tap, (unsigned long long)n->fault_frames);
	FZ_CHECK(s->packets == n->rx_delivered, "rx stats: %llu packets, guest got %llu",
		 (unsigned long long)s->packets, (unsigned long long)n->rx_delivered);
	FZ_CHECK(s->drops[NET_DROP_RX_RUNT] == n->skip.runt, "rx runt drops %llu, expected %llu",
		 (unsigned long long)s->drops[NET_DROP_RX_RUNT], (unsigned long long)n->skip.runt);
	hdr_drops = s->drops[NET_DROP_RX_CSUM] + s->drops[NET_DROP_RX_GSO];
	/* a frame waiting in the host buffer when the features changed is
	 * dropped as rx-features-changed (found as the open finding
	 * rx-drop-count: the device used to drop it uncounted) */
	off_drops = s->drops[NET_DROP_RX_NO_ROOM] + s->drops[NET_DROP_BACKEND] +
		    s->drops[NET_DROP_RX_RENEGOTIATED];
	FZ_CHECK(hdr_drops + off_drops == n->skip.hdr_csum + n->skip.hdr_gso +
						  n->skip.hdr_both + n->skip.valid + n->skip.tap,
		 "rx drops: %llu header + %llu room/backend, expected %llu frames with bad "
		 "headers, %llu valid ones and %llu the TAP dropped",
		 (unsigned long long)hdr_drops, (unsigned long long)off_drops,
		 (unsigned long long)(n->skip.hdr_csum + n->skip.hdr_gso + n->skip.hdr_both),
		 (unsigned long long)n->skip.valid, (unsigned long long)n->skip.tap);
	FZ_CHECK(s->drops[NET_DROP_RX_CSUM] <= n->skip.hdr_csum + n->skip.hdr_both &&
			 s->drops[NET_DROP_RX_GSO] <= n->skip.hdr_gso + n->skip.hdr_both &&
			 off_drops >= n->skip.valid + n->skip.tap,
		 "rx drop reasons: csum %llu gso %llu room/backend %llu for frames csum %llu gso "
		 "%llu both %llu valid %llu",
		 (unsigned long long)s->drops[NET_DROP_RX_CSUM],
		 (unsigned long long)s->drops[NET_DROP_RX_GSO], (unsigned long long)off_drops,
		 (unsigned long long)n->skip.hdr_csum, (unsigned long long)n->skip.hdr_gso,
		 (unsigned long long)n->skip.hdr_both, (unsigned long long)n->skip.valid);
}

/* TX: every frame the reference says must go out went out or was a backend drop. */
static void tx_reconcile(struct fz_net *n)
{
	const struct net_dir_stats *s = &qp0(n)->stats.tx;

	if (n->tx_wild || n->q[FZ_NR_TX].dirty)
		return;
	while (n->txe_head < n->ntxe) {
		const struct fz_txexp *e = &n->txe[n->txe_head++];

		FZ_CHECK(e->may_fail || tx_rematch(n, e),
			 "chain %u's frame (%u bytes) was sent but never arrived", e->id, e->len);
		if (e->may_fail)
			n->tx_missing++;
	}
	FZ_CHECK(n->tx_missing + n->tx_released == s->drops[NET_DROP_BACKEND] - n->tx_be_base,
		 "%llu frames missing + %llu released, %llu backend drops",
		 (unsigned long long)n->tx_missing, (unsigned long long)n->tx_released,
		 (unsigned long long)(s->drops[NET_DROP_BACKEND] - n->tx_be_base));
	FZ_CHECK(n->tx_got + n->tx_missing == n->tx_sent_exp,
		 "%llu frames received + %llu missing, %llu expected",
		 (unsigned long long)n->tx_got, (unsigned long long)n->tx_missing,
		 (unsigned long long)n->tx_sent_exp);
}

void fz_net_session_end(struct fz_net *n)
{
	fz_net_tap_drain(n);
	if (n->dev_ok && n->dev.qp) {
		tx_reconcile(n);
		rx_reconcile(n);
	}
	n->txe_head = n->ntxe = 0;
	n->tx_wild = false;
	n->tx_last_valid = false;
	n->tx_slack = 0;
	n->tx_sent_exp = n->tx_got = n->tx_missing = n->tx_released = 0;
	n->tx_be_base = n->dev_ok && n->dev.qp ? n->dev.qp[0].stats.tx.drops[NET_DROP_BACKEND] : 0;
	n->tx_pending_prev = false;
	n->rxf_head = n->nrxf = 0;
	n->rxf_base = n->tap_reads = 0;
	n->rx_wild = false;
	memset(&n->skip, 0, sizeof(n->skip));
	n->rx_delivered = 0;
}

void fz_net_fini(struct fz_net *n)
{
	if (n->dev_ok && n->features_ok && !n->memfd_mode) {
		for (unsigned i = 0; i < FZ_NR__COUNT; i++)
			if (n->q[i].started)
				fz_net_queue_stop(n, &n->q[i], NULL);
		fz_net_session_end(n);
	}
	if (n->dev_ok) {
		vnet_destroy(&n->dev);
		n->dev_ok = false;
	}
	if (n->be1.ops)
		net_be_close(&n->be1);
	if (n->be1_peer >= 0)
		close(n->be1_peer);
	if (n->be.ops)
		net_be_close(&n->be);
	else if (n->tap_be >= 0)
		close(n->tap_be);
	if (n->tap_peer >= 0)
		close(n->tap_peer);
	for (unsigned i = 0; i < FZ_NR__COUNT; i++) {
		if (n->q[i].call_fd >= 0)
			close(n->q[i].call_fd);
		if (n->q[i].err_fd >= 0)
			close(n->q[i].err_fd);
		if (n->q[i].kick_fd >= 0)
			close(n->q[i].kick_fd);
	}
	if (n->map) {
		munmap(n->map, n->l.arena_size);
		n->l.arena = n->heap_arena;
	}
	if (n->memfd >= 0)
		close(n->memfd);
	if (n->l.arena)
		fz_layout_free(&n->l);
	for (unsigned i = 0; i < FZ_NR__COUNT; i++)
		free(n->q[i].ch);
	free(n->txe);
	free(n->rxf);
}

/* ---- op loop of fuzz_net_tx / fuzz_net_rx ------------------------------------------------ */

static unsigned budget_of(uint8_t v)
{
	return (v & 0x3f) ? (v & 0x3f) : 256u;
}

void fz_net_run_ops(struct fz_net *n, enum fz_net_mode mode)
{
	struct fz_nq *q = &n->q[mode == FZ_NM_TX ? FZ_NR_TX : FZ_NR_RX];

	for (n->ops = 0; n->ops < FZ_NET_MAX_OPS && !fz_done(&n->in); n->ops++) {
		uint8_t op = fz_u8(&n->in) % (n->faults ? FZ_NOP__COUNT : FZ_NOP__PLAIN);

		if (n->trace)
			fprintf(stderr, "net: op %u at %zu\n", op, n->in.pos - 1);
		switch (op) {
		case FZ_NOP_POST:
			fz_net_op_post(n, q);
			break;
		case FZ_NOP_POSTN:
			fz_net_op_postn(n, q);
			break;
		case FZ_NOP_RUN:
			if (mode == FZ_NM_TX)
				fz_net_run_tx(n, budget_of(fz_u8(&n->in)));
			else
				fz_net_run_rx(n, budget_of(fz_u8(&n->in)));
			break;
		case FZ_NOP_INJECT:
			fz_net_op_inject(n);
			break;
		case FZ_NOP_DRAIN:
			fz_net_tap_drain(n);
			break;
		case FZ_NOP_SNDBUF:
			fz_net_op_sndbuf(n);
			break;
		case FZ_NOP_CLOSE:
			fz_net_tap_close(n);
			break;
		case FZ_NOP_FLIP:
			fz_net_op_flip(n, false);
			break;
		case FZ_NOP_RESTART:
			if (q->started) {
				struct vq_state st;

				fz_net_queue_stop(n, q, &st);
				FZ_CHECK(fz_net_queue_start(n, q, &n->l.gm, &st) == 0,
					 "restart from the saved state refused");
			}
			break;
		case FZ_NOP_EVENT:
			fz_net_op_event(n, q);
			break;
		default:
			op_fault(n);
			break;
		}
	}
}
