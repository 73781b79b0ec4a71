// SPDX-License-Identifier: Apache-2.0
/*
 * fz_net_tx.c - the TX oracle of the net device engine: what must reach the
 * fake TAP for each completed chain (the reference-sanitised header, then
 * the guest's bytes), net_tx_run checked against the driver model, every
 * frame the TAP receives matched in order, and at the end of a session every
 * expected frame accounted as received or dropped by the backend.  Theory of
 * operation in fz_net.c.
 */
#include "fuzz/fz_net_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	got = fz_net_chain_read(n, c, false, hs, n->scratch + hs, to - hs);
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
		fz_net_chain_read(n, c, false, 0, raw, hs);
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
	(void)fz_net_took_signal(q->call_fd);
	fz_net_pre(n);
	r = net_tx_run(qp, budget);
	fz_net_post_diff(n, q, false, "net_tx_run");
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
				fz_net_chain_read(n, c, false, 0, c->hdr, hdr_size(n));
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
	fz_net_check_signal(n, q, q->ncpl, u0, q->used_idx, "net_tx_run");
	if (qp->tx_wait == NET_WAIT_KICK)
		fz_net_check_armed(n, q, &qp->tx, "net_tx_run");
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

void fz_net_op_sndbuf(struct fz_net *n)
{
	static const int sz[8] = { 1, 2048, 4096, 8192, 16384, 32768, 65536, 212992 };
	int v = sz[fz_u8(&n->in) % 8];

	(void)setsockopt(n->tap_be, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/* TX: every frame the reference says must go out went out or was a backend drop. */
void fz_net_tx_reconcile(struct fz_net *n)
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
