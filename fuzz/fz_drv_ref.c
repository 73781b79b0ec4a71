// SPDX-License-Identifier: Apache-2.0
/*
 * fz_drv_ref.c - the driver model's reference walk (fz_drv.c, "Theory of
 * operation"): what the device must report for a chain the model built.
 *
 * The walk runs over the model of the chain (struct fz_mchain), not over
 * guest memory, and yields the exact iovecs of a good chain, the set of
 * faults a bad one may be rejected with, or "unknown" where the chain leaves
 * what the model wrote.  Its rules are core/virtq_chain.c's theory block and
 * VIRTIO 1.2 2.7/2.8.
 */
#include "fuzz/fz_vq_int.h"

/* Reference walk state. */
struct fz_walk {
	const struct fz_run *r;
	uint32_t ndesc, iovs;
	uint64_t total;
	bool in_seen;
	bool lost_detail;
	struct fz_expect *e;
};

static bool indirect_neg(const struct fz_run *r)
{
	return r->cfg.features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
}

/* ---- reference walk ------------------------------------------------------ */

/* Faults a buffer descriptor raises; *@pieces gets its iovec count. */
static uint32_t buf_faults(const struct fz_walk *w, const struct fz_mdesc *d, int *pieces)
{
	const struct fz_run *r = w->r;
	bool wr = d->flags & VRING_DESC_F_WRITE;
	uint32_t f = 0, room = r->iov_cap - w->iovs;
	int np;

	*pieces = 0;
	if (w->ndesc + 1 > r->cfg.size)
		f |= FZ_FBIT(VQ_F_CHAIN_LONG);
	if (!wr && w->in_seen)
		f |= FZ_FBIT(VQ_F_ORDER);
	if (d->len == 0)
		return f;
	if (w->total + d->len > UINT32_MAX)
		f |= FZ_FBIT(VQ_F_TOO_BIG);
	np = fz_ref_pieces(&r->l, d->addr, d->len, NULL, 0);
	if (np < 0) {
		f |= FZ_FBIT(VQ_F_ADDR);
		if ((uint32_t)(-np - 1) > room) /* capacity runs out before the gap */
			f |= FZ_FBIT(VQ_F_IOV_CAP);
	} else if ((uint32_t)np > room) {
		f |= FZ_FBIT(VQ_F_IOV_CAP);
	}
	*pieces = np;
	return f;
}

static void buf_apply(struct fz_walk *w, const struct fz_mdesc *d, int pieces)
{
	struct fz_expect *e = w->e;
	bool wr = d->flags & VRING_DESC_F_WRITE;

	w->ndesc++;
	if (wr)
		w->in_seen = true;
	if (d->len == 0)
		return;
	w->total += d->len;
	w->iovs += (uint32_t)pieces;
	if (!e)
		return;
	if (e->nbuf == FZ_MAX_BUF) {
		w->lost_detail = true;
		return;
	}
	e->buf[e->nbuf++] = (struct fz_ebuf){ d->addr, d->len };
	if (wr) {
		e->in_bytes += d->len;
	} else {
		e->out_bytes += d->len;
		e->nout = e->nbuf;
	}
}

static uint32_t ref_buf(struct fz_walk *w, const struct fz_mdesc *d)
{
	int pieces;
	uint32_t f = buf_faults(w, d, &pieces);

	if (!f)
		buf_apply(w, d, pieces);
	return f;
}

struct fz_mdesc fz_table_entry(const struct fz_run *r, const struct fz_mchain *m,
			       uint32_t i, uint32_t n)
{
	struct fz_mdesc e = { 0, 0, 0, (uint16_t)(i + 1) };

	if (i >= m->nfill)
		return m->t[i - m->nfill];
	if (!r->packed && i + 1 < n)
		e.flags = VRING_DESC_F_NEXT;
	return e;
}

static uint32_t ref_indirect(struct fz_walk *w, const struct fz_mchain *m,
			     const struct fz_mdesc *p, bool *unknown)
{
	const struct fz_run *r = w->r;
	uint32_t f = 0, n, i = 0;

	if (!indirect_neg(r))
		f |= FZ_FBIT(VQ_F_IND_NOT_NEG);
	if (p->flags & VRING_DESC_F_NEXT)
		f |= FZ_FBIT(VQ_F_IND_NEXT);
	if (p->len == 0 || p->len % 16)
		f |= FZ_FBIT(VQ_F_IND_LEN);
	else if (p->len / 16 > r->cfg.size)
		f |= FZ_FBIT(VQ_F_IND_SIZE);
	if (fz_ref_pieces(&r->l, p->addr, p->len ? p->len : 1, NULL, 0) < 0)
		f |= FZ_FBIT(VQ_F_IND_ADDR);
	if (f)
		return f;
	n = p->len / 16;
	if (n != m->nfill + m->nt || p->addr != m->tgpa) {
		*unknown = true;
		return 0;
	}
	for (uint32_t steps = 0; steps <= r->cfg.size + 1; steps++) {
		struct fz_mdesc e = fz_table_entry(r, m, i, n);
		int pieces;

		f = buf_faults(w, &e, &pieces);
		if (e.flags & VRING_DESC_F_INDIRECT)
			f |= FZ_FBIT(VQ_F_IND_NESTED);
		if (f)
			return f;
		buf_apply(w, &e, pieces);
		if (r->packed) {
			if (++i == n)
				return 0;
			continue;
		}
		if (!(e.flags & VRING_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return FZ_FBIT(VQ_F_NEXT_RANGE);
		i = e.next;
	}
	*unknown = true; /* the count check must have fired: model bug */
	return 0;
}

/* Decide what the device must report for @m. */
void fz_ref_chain(struct fz_run *r, const struct fz_mchain *m, struct fz_pend *p,
		  struct fz_expect *e)
{
	struct fz_walk w = { .r = r, .e = e };
	bool unknown = false;
	uint32_t f = 0;
	unsigned i = 0;

	if (!r->packed) {
		for (uint32_t steps = 0;; steps++) {
			const struct fz_mdesc *d = &m->d[i];
			unsigned j;

			if (steps > r->cfg.size + 1) {
				unknown = true;
				break;
			}
			if (d->flags & VRING_DESC_F_INDIRECT) {
				f = ref_indirect(&w, m, d, &unknown);
				break;
			}
			f = ref_buf(&w, d);
			if (f || !(d->flags & VRING_DESC_F_NEXT))
				break;
			if (d->next >= r->cfg.size) {
				f = FZ_FBIT(VQ_F_NEXT_RANGE);
				break;
			}
			for (j = 0; j < m->nd && m->slot[j] != d->next; j++)
				;
			if (j == m->nd) {
				unknown = true; /* chains into a descriptor we did not write */
				break;
			}
			i = j;
		}
	} else {
		for (i = 0; i < m->nd && !f && !unknown; i++) {
			const struct fz_mdesc *d = &m->d[i];

			f = (d->flags & VRING_DESC_F_INDIRECT) ? ref_indirect(&w, m, d, &unknown)
							       : ref_buf(&w, d);
		}
	}
	p->kind = unknown ? FZ_E_UNKNOWN : FZ_E_CHAIN;
	p->faults = f;
	if (unknown || f || w.lost_detail) {
		fz_pool_put(r, p->detail);
		p->detail = -1;
	}
}
