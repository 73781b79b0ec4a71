// SPDX-License-Identifier: Apache-2.0
/*
 * fz_drv.c - the guest driver model behind FZ_OP_POST: its expectation FIFO
 * and pool, the descriptor and id bookkeeping, and the checks at each pop.
 *
 * Theory of operation
 * -------------------
 * POST builds one chain the way a virtio driver would (descriptors from a
 * free list, buffer ids, wrap counters, head made available last), optionally
 * with exactly one defect (enum fz_tweak), writes it into guest RAM and
 * publishes it.  Before writing, a reference walk over the *model* of the
 * chain (not over guest memory) decides what the device must report: the
 * exact iovecs of a good chain, the set of faults a bad one may be rejected
 * with, or a ring-level break.  The reference follows the rules of
 * core/virtq_chain.c's theory block and VIRTIO 1.2 2.7/2.8; where two checks
 * fire on the same descriptor either fault is accepted (the order between
 * them is not part of the contract).
 *
 * Expectations are kept in a FIFO in ring order and compared at each pop.
 * Any hostile write (raw descriptor/ring ops, byte flips, double-fetch
 * rewrites, device-style writes outside the buffer zone) makes the pending
 * expectations unreliable: the FIFO is dropped and the model resynchronises
 * with the device at the next VQ_EMPTY.  An EMPTY while published chains are
 * pending in a clean state is the lost-buffer bug class (seeds 001/002).
 * fz_drv_post.c builds, writes and publishes the chains; fz_drv_ref.c holds
 * the reference walk.
 */
#include "fuzz/fz_vq_int.h"

#include <string.h>

/* ---- FIFO and pool ------------------------------------------------------- */

struct fz_pend *fz_pend_at(struct fz_run *r, unsigned i)
{
	return &r->pend[(r->p_head + i) % r->cap_size];
}

int fz_pool_get(struct fz_run *r)
{
	for (int i = 0; i < (int)FZ_POOL; i++) {
		if (!(r->pool_busy & (1ULL << i))) {
			r->pool_busy |= 1ULL << i;
			memset(&r->pool[i], 0, sizeof(r->pool[i]));
			return i;
		}
	}
	return -1;
}

void fz_pool_put(struct fz_run *r, int i)
{
	if (i >= 0)
		r->pool_busy &= ~(1ULL << i);
}

bool fz_id_busy(struct fz_run *r, uint16_t id)
{
	if (fz_fl_has(r, id))
		return true;
	for (unsigned i = 0; i < r->p_n; i++)
		if (fz_pend_at(r, i)->id == id)
			return true;
	for (unsigned i = 0; i < r->ncpl; i++)
		if (r->cpl[i].id == id)
			return true;
	return false;
}

void fz_drv_reset(struct fz_run *r)
{
	if (!r->started || !r->cap_size)
		return;
	r->p_head = r->p_n = r->p_pub = 0;
	r->pool_busy = 0;
	r->held = -1;
	r->post_block = false;
	r->dirty = false;
	r->desc_cur = r->id_cur = 0;
	r->tab_cur = 0;
	/* all-ones bytes: -1 in every slot */
	memset(r->owner, 0xff, r->cfg.size * sizeof(*r->owner));
	memset(r->link, 0xff, r->cfg.size * sizeof(*r->link));
	r->drv_pos = r->av_pos;
	r->drv_wrap = r->av_wrap;
	if (!r->packed) {
		/* nothing pending: the avail index is where the device is */
		r->drv_pub = r->av_pos;
		fz_ring_store16(r->rg.drv + 2, r->av_pos);
	}
}

/* Free the descriptor slots of the chain with head @head (split). */
static void free_chain(struct fz_run *r, uint16_t head)
{
	int32_t s = head;

	if (r->owner[head] != head)
		return; /* not a chain the model posted */
	while (s >= 0 && (uint32_t)s < r->cfg.size && r->owner[s] == head) {
		int32_t nx = r->link[s];

		r->owner[s] = -1;
		r->link[s] = -1;
		s = nx;
	}
}

/* Clean state again after hostile writes: the device has drained the ring. */
static void resync(struct fz_run *r)
{
	uint32_t n = r->cfg.size;

	r->p_head = r->p_n = r->p_pub = 0;
	r->pool_busy = 0;
	r->held = -1;
	r->post_block = false;
	if (!r->packed) {
		r->drv_pos = r->drv_pub = fz_ring_load16(r->rg.drv + 2);
		if (r->drv_pos != r->av_pos)
			return; /* not drained after all: stay dirty */
		/* chains in flight or completed but unpublished keep theirs:
		 * their publication frees them (fz_drv_on_complete) */
		for (uint32_t i = 0; i < n; i++)
			if (r->owner[i] == (int32_t)i && !fz_id_busy(r, (uint16_t)i))
				free_chain(r, (uint16_t)i);
	} else {
		/* Slots consumed and not yet returned may carry hostile flags
		 * that look available when the device laps them: wait until
		 * every slot is the driver's again. */
		if (r->win || r->ncpl)
			return;
		r->drv_pos = r->av_pos;
		r->drv_wrap = r->av_wrap;
		/* Scrub: hostile writes may have left slots looking available
		 * (AVAIL != USED); equal bits are never available. */
		for (uint32_t k = 0; k < n; k++)
			fz_ring_store16(r->rg.desc + 16 * k + 14, 0);
	}
	r->dirty = false;
}

void fz_drv_on_complete(struct fz_run *r, uint16_t id)
{
	if (r->packed || !r->cap_size || id >= r->cfg.size || fz_fl_has(r, id))
		return;
	/* A DUP-tweaked avail entry still pending for this head becomes a
	 * valid head again once the chain completes, and the model would hand
	 * the freed descriptors out once more: two live avail entries for one
	 * head.  Exact expectations end here (safety oracles stay);
	 * corpus/indirect/crash-dup-entry-outlives-its-chain.bin. */
	for (unsigned i = 0; i < r->p_n; i++)
		if (fz_pend_at(r, i)->dup && fz_pend_at(r, i)->id == id)
			r->dirty = true;
	free_chain(r, id);
}

/* ---- expectations at pop ------------------------------------------------- */

static void compare_iov(const struct fz_run *r, const struct fz_expect *e)
{
	const struct vq_chain *c = &r->c;
	unsigned n = (unsigned)c->n_out + c->n_in, k = 0;
	struct iovec pc[FZ_MAX_PIECES];

	FZ_CHECK(c->out_bytes == e->out_bytes && c->in_bytes == e->in_bytes,
		 "chain %u: bytes (%u out, %u in), posted (%u, %u)", c->id, c->out_bytes,
		 c->in_bytes, e->out_bytes, e->in_bytes);
	for (unsigned b = 0; b < e->nbuf; b++) {
		int np = fz_ref_pieces(&r->l, e->buf[b].gpa, e->buf[b].len, pc, FZ_MAX_PIECES);

		FZ_CHECK(np > 0 && np <= (int)FZ_MAX_PIECES, "model buffer unmapped");
		for (int i = 0; i < np; i++, k++) {
			FZ_CHECK(k < n, "chain %u: %u iovecs, model has more", c->id, n);
			FZ_CHECK(c->iov[k].iov_base == pc[i].iov_base &&
					 c->iov[k].iov_len == pc[i].iov_len,
				 "chain %u iovec %u = (%p, %zu), posted (%p, %zu)", c->id, k,
				 c->iov[k].iov_base, c->iov[k].iov_len, pc[i].iov_base,
				 pc[i].iov_len);
		}
		if (b + 1 == e->nout)
			FZ_CHECK(k == c->n_out, "chain %u: %u readable iovecs, posted %u", c->id,
				 c->n_out, k);
	}
	if (e->nout == 0)
		FZ_CHECK(c->n_out == 0, "chain %u: %u readable iovecs, posted none", c->id,
			 c->n_out);
	FZ_CHECK(k == n, "chain %u: %u iovecs, posted %u", c->id, n, k);
}

static void check_expect(struct fz_run *r, const struct fz_pend *p, enum vq_status st)
{
	enum vq_fault f = VQ_F_NONE;

	if (p->dup && fz_fl_has(r, p->id)) {
		FZ_CHECK(st == VQ_BROKEN, "id %u offered while in flight: vq_pop returned %d", p->id,
			 st);
		vq_is_broken(&r->vq, &f);
		FZ_CHECK(f == VQ_F_DUP_HEAD || f == VQ_F_INFLIGHT, "duplicate id broke with %s",
			 vq_fault_name(f));
		return;
	}
	switch (p->kind) {
	case FZ_E_BROKEN:
		FZ_CHECK(st == VQ_BROKEN, "expected ring fault %#x, vq_pop returned %d (id %u, %s)",
			 p->faults, st, r->c.id, vq_fault_name(r->c.fault));
		vq_is_broken(&r->vq, &f);
		FZ_CHECK(p->faults & FZ_FBIT(f), "broke with %s, expected one of %#x",
			 vq_fault_name(f), p->faults);
		return;
	case FZ_E_CHAIN:
		if (st == VQ_BROKEN)
			vq_is_broken(&r->vq, &f);
		FZ_CHECK(st != VQ_BROKEN, "posted chain %u broke the queue (%s)", p->id,
			 vq_fault_name(f));
		FZ_CHECK(r->c.id == p->id, "popped id %u, next posted id %u", r->c.id, p->id);
		if (r->packed)
			FZ_CHECK(r->c.nslots == p->nslots, "chain %u: %u slots, posted %u", p->id,
				 r->c.nslots, p->nslots);
		if (p->faults) {
			FZ_CHECK(st == VQ_BAD_CHAIN && (p->faults & FZ_FBIT(r->c.fault)),
				 "chain %u: status %d fault %s, expected one of %#x", p->id, st,
				 vq_fault_name(r->c.fault), p->faults);
			return;
		}
		FZ_CHECK(st == VQ_OK, "good chain %u rejected: %s", p->id,
			 vq_fault_name(r->c.fault));
		if (p->detail >= 0)
			compare_iov(r, &r->pool[p->detail]);
		return;
	default:
		return;
	}
}

void fz_drv_on_pop(struct fz_run *r, enum vq_status st)
{
	struct fz_pend p;

	if (r->exp_off || !r->cap_size)
		return;
	if (r->dirty) {
		if (st == VQ_EMPTY)
			resync(r);
		return;
	}
	if (st == VQ_EMPTY) {
		FZ_CHECK(r->p_pub == 0, "vq_pop: EMPTY with %u published chains pending", r->p_pub);
		return;
	}
	FZ_CHECK(r->p_pub > 0, "vq_pop consumed a chain the driver never published (%d)", st);
	p = *fz_pend_at(r, 0);
	r->p_head = (r->p_head + 1) % r->cap_size;
	r->p_n--;
	r->p_pub--;
	if (r->p_n == 0)
		r->post_block = false;
	check_expect(r, &p, st);
	/* keep a copy: vq_unpop may put this chain back at the front */
	r->last_valid = true;
	r->last_pend = p;
	if (p.detail >= 0)
		r->last_exp = r->pool[p.detail];
	fz_pool_put(r, p.detail);
}

/**
 * fz_drv_unpopped() - a chain went back to the ring: expect it again next.
 * @r: run
 * @u: the chain, with the FIFO entry it consumed
 */
void fz_drv_unpopped(struct fz_run *r, const struct fz_popped *u)
{
	struct fz_pend *p;

	if (r->exp_off || r->dirty || !r->cap_size)
		return;
	if (!u->has_pend || r->p_n == r->cap_size) {
		fz_set_dirty(r); /* it was popped outside the model's view */
		return;
	}
	r->p_head = (r->p_head + r->cap_size - 1) % r->cap_size;
	r->p_n++;
	r->p_pub++;
	p = fz_pend_at(r, 0);
	*p = u->pend;
	p->detail = -1;
	if (u->pend.detail >= 0) {
		p->detail = (int16_t)fz_pool_get(r);
		if (p->detail >= 0)
			r->pool[p->detail] = u->exp;
	}
	/* A straddling table lies outside the cursor's allocation, so the
	 * next table the cursor hands out may land on it: while such a chain
	 * is pending, nothing is posted, as when it was first posted
	 * (corpus/indirect/crash-unpopped-straddling-table-overwritten.bin). */
	if (u->pend.xtab)
		r->post_block = true;
}

/**
 * fz_drv_on_start() - the queue (re)started: its cached avail index is gone.
 * @r: run
 *
 * The device reads avail->idx afresh at its first pop after a start.  Chains
 * given back by vq_unpop() sit ahead of an avail index the driver pushed
 * more than a queue's worth ahead (FZ_TW_OVERRUN); the device served them
 * from its cached index before meeting the jump, but a restarted device
 * meets the jump first and, correctly, latches broken.  Such an order of
 * expectations no longer holds: the model goes dirty (corpus/indirect/
 * crash-restart-after-unpop-before-idx-jump.bin).
 */
void fz_drv_on_start(struct fz_run *r)
{
	for (unsigned i = 1; i < r->p_n && !r->dirty; i++) {
		const struct fz_pend *p = fz_pend_at(r, i);

		if (p->kind == FZ_E_BROKEN && (p->faults & FZ_FBIT(VQ_F_AVAIL_IDX)))
			fz_set_dirty(r);
	}
}
