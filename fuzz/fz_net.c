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
 *
 * The engine is four files: this one (checked calls, the write oracle,
 * notifications, queue start / stop, the control queue, set-up and
 * tear-down, the op loop), fz_net_tx.c (the TX oracle), fz_net_rx.c (the RX
 * oracle and the fake TAP's read faults) and fz_net_post.c (building and
 * posting chains); fz_net_int.h holds what they share.
 */
#include "fuzz/fz_net_int.h"

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

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
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

void fz_net_post_diff(struct fz_net *n, const struct fz_nq *q, bool bufs, const char *what)
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
	fz_net_post_diff(n, NULL, false, what);
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
size_t fz_net_chain_read(struct fz_net *n, const struct fz_nchain *c, bool write, size_t from,
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

bool fz_net_took_signal(int fd)
{
	uint64_t v = 0;

	return fd >= 0 && read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) && v;
}

/*
 * After a run on @q that published @npub completions (split: used index
 * @u0 -> @u1): did the driver get the signal it asked for (2.7.7.2, 2.8.10)?
 */
void fz_net_check_signal(struct fz_net *n, struct fz_nq *q, unsigned npub, uint16_t u0,
			 uint16_t u1, const char *what)
{
	bool sig = fz_net_took_signal(q->call_fd), need;

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
void fz_net_check_armed(struct fz_net *n, struct fz_nq *q, struct vq *vq, const char *what)
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
	fz_net_post_diff(n, q, false, "vnet_queue_start");
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
	fz_net_post_diff(n, q, false, "vnet_queue_stop");
	fz_net_on_stop(n, q, was_pending, pend_id, &s);
	if (st)
		*st = s;
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
	(void)fz_net_took_signal(q->call_fd);
	fz_net_pre(n);
	r = net_ctrl_run(&n->dev, budget);
	fz_net_post_diff(n, q, true, "net_ctrl_run");
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
				fz_net_chain_read(n, c, true, 0, &ack, 1);
				if (c->out_bytes > sizeof(cmd)) {
					want = FZ_CTRL_ERR;
				} else {
					fz_net_chain_read(n, c, false, 0, cmd, c->out_bytes);
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
	fz_net_check_signal(n, q, q->ncpl, u0, q->used_idx, "net_ctrl_run");
	if ((unsigned)r < budget)
		fz_net_check_armed(n, q, &n->dev.ctrl, "net_ctrl_run");
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
		fault_ops.readv = fz_net_fault_readv;
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

void fz_net_session_end(struct fz_net *n)
{
	fz_net_tap_drain(n);
	if (n->dev_ok && n->dev.qp) {
		fz_net_tx_reconcile(n);
		fz_net_rx_reconcile(n);
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
			fz_net_op_fault(n);
			break;
		}
	}
}
