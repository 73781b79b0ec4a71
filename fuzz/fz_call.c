// SPDX-License-Identifier: Apache-2.0
/*
 * fz_call.c - checked calls into core/virtq and the oracles behind them.
 *
 * Theory of operation
 * -------------------
 * Every call into core/virtq goes through an fz_do_*() wrapper that snapshots
 * guest RAM, makes the call, and diffs guest RAM afterwards: the device may
 * write only the split used ring, the packed device event structure and the
 * packed slots it has consumed and not yet returned; a stopped or broken queue
 * may write nothing, and vq_has_work() nothing at all.  The wrappers then
 * check the call's contract against what the harness has observed so far
 * (fuzz/README.md, "Oracles"): chain invariants, exact publication of staged
 * completions, notification arming and signalling, has_work/enable_notify
 * agreement with the next pop, start validity, stop state, dirty logging, and
 * the double-fetch replay of DF_POST.  The start/stop/reset wrappers are in
 * fz_life.c, the DF_POST replay and rewrite in fz_dfpost.c.  fz_drv.c adds
 * the guest-driver model whose posted chains carry exact expectations;
 * fz_vq.c decodes the input.
 */
#include "fuzz/fz_vq_int.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------- */

uint16_t fz_ring_load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

void fz_ring_store16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	fz_snap_note(p, sizeof(v));
	memcpy(p, &v, sizeof(v));
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

bool fz_in_range(const uint8_t *p, const uint8_t *base, size_t len)
{
	return base && p >= base && p < base + len;
}

bool fz_overlaps(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return a < b + bl && b < a + al;
}

/*
 * fz_dist() - ring positions from @a to @b.  Split: free-running 16-bit
 * indices.  Packed: (slot, wrap) pairs on a lap of 2 * size positions, wrap
 * counters starting at 1.
 */
uint32_t fz_dist(const struct fz_run *r, uint16_t a, bool aw, uint16_t b, bool bw)
{
	uint32_t n = r->cfg.size, la, lb;

	if (!r->packed)
		return (uint16_t)(b - a);
	la = a + (aw ? 0 : n);
	lb = b + (bw ? 0 : n);
	return (lb + 2 * n - la) % (2 * n);
}

void fz_advance(const struct fz_run *r, uint16_t *pos, bool *wrap, uint32_t by)
{
	uint32_t p = *pos + by;

	while (p >= r->cfg.size) {
		p -= r->cfg.size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

bool fz_fl_has(const struct fz_run *r, uint16_t id)
{
	for (unsigned i = 0; i < r->nfl; i++)
		if (r->fl[i].id == id)
			return true;
	return false;
}

void fz_set_dirty(struct fz_run *r)
{
	r->hw = -1;
	if (r->dirty)
		return;
	r->dirty = true;
	r->p_n = r->p_pub = 0;
	r->pool_busy = 0;
	r->held = -1;
	r->post_block = false;
	for (unsigned i = 0; i < r->nustack; i++)
		fz_ustack_at(r, i)->has_pend = false;
}

/* Is packed slot @s between the published used position and the avail position? */
bool fz_in_window(const struct fz_run *r, uint32_t s)
{
	uint32_t n = r->cfg.size;

	return r->win >= n || (s + n - r->us_pos) % n < r->win;
}

/* A guest write hit the packed ring: remember if it may clobber staged entries. */
void fz_note_ring_write(struct fz_run *r, const uint8_t *p)
{
	if (r->packed && r->started && fz_in_range(p, r->rg.desc, r->rg.desc_len) &&
	    fz_in_window(r, (uint32_t)((p - r->rg.desc) / 16)))
		r->used_taint = true;
}

/* Device-only areas: the harness never scribbles there (the device owns them). */
bool fz_device_only(const struct fz_run *r, const uint8_t *p)
{
	return r->started && fz_in_range(p, r->rg.dev, r->rg.dev_len);
}

/* ---- checked core calls -------------------------------------------------- */

bool fz_budget(struct fz_run *r)
{
	if (r->max_ops == 0)
		return false;
	r->max_ops--;
	return true;
}

static bool event_idx(const struct fz_run *r)
{
	return r->cfg.features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
}

bool fz_may_write(const struct fz_run *r)
{
	return r->started && !r->broken;
}

/* Only vq_flush()/vq_stop() may make completions visible. */
static void check_unpublished(const struct fz_run *r, const char *what)
{
	/* (a tampered configuration may put the rings outside the snapshot) */
	if (!fz_may_write(r) || r->overlap || !fz_in_range(r->rg.desc, r->l.arena, r->l.arena_size) ||
	    !fz_in_range(r->rg.dev, r->l.arena, r->l.arena_size))
		return;
	if (!r->packed) {
		const uint8_t *u = r->rg.dev + 2;

		FZ_CHECK(memcmp(u, fz_snap_at(r, u), 2) == 0, "%s published: used idx %u -> %u",
			 what, fz_ring_load16(fz_snap_at(r, u)), fz_ring_load16(u));
	} else {
		const uint8_t *f = r->rg.desc + 16 * r->us_pos + 14;
		uint32_t slots = 0;

		for (unsigned i = 0; i < r->ncpl; i++)
			slots += r->cpl[i].nslots;
		FZ_CHECK(slots >= r->cfg.size || memcmp(f, fz_snap_at(r, f), 2) == 0,
			 "%s wrote the flags of the published used slot %u", what, r->us_pos);
	}
}

/* All staged completions must now be visible, exactly and in order. */
void fz_verify_publish(struct fz_run *r)
{
	uint16_t pos = r->us_pos;
	bool wrap = r->us_wrap;
	uint32_t n = r->cfg.size, slots = 0;

	for (unsigned k = 0; k < r->ncpl; k++)
		slots += r->cpl[k].nslots;
	if (!r->packed) {
		uint16_t now = fz_ring_load16(r->rg.dev + 2);

		FZ_CHECK(now == (uint16_t)(pos + r->ncpl) || (r->overlap && !r->ncpl),
			 "used idx %u after publishing %u entries from %u", now, r->ncpl, pos);
		now = (uint16_t)(pos + r->ncpl);
		for (unsigned k = r->ncpl > n ? r->ncpl - n : 0; k < r->ncpl && !r->overlap; k++) {
			const uint8_t *e = r->rg.dev + 4 + 8 * ((uint16_t)(pos + k) & (n - 1));

			FZ_CHECK(load32(e) == r->cpl[k].id && load32(e + 4) == r->cpl[k].len,
				 "used[%u] = (%u, %u), expected (%u, %u)", (uint16_t)(pos + k),
				 load32(e), load32(e + 4), r->cpl[k].id, r->cpl[k].len);
		}
		r->us_pos = now;
	} else {
		for (unsigned k = 0; k < r->ncpl; k++) {
			const uint8_t *d = r->rg.desc + 16 * pos;
			uint16_t fl = fz_ring_load16(d + 14), want = wrap ? 0x8080 : 0;

			if (!r->used_taint && !r->overlap && slots < n) {
				FZ_CHECK(fz_ring_load16(d + 12) == r->cpl[k].id &&
						 load32(d + 8) == r->cpl[k].len &&
						 (fl & 0x8080) == want,
					 "used slot %u = (id %u, len %u, flags %#x), expected (%u, %u, wrap %d)",
					 pos, fz_ring_load16(d + 12), load32(d + 8), fl, r->cpl[k].id,
					 r->cpl[k].len, wrap);
			}
			fz_advance(r, &pos, &wrap, r->cpl[k].nslots);
		}
		r->us_pos = pos;
		r->us_wrap = wrap;
		r->win = r->win > slots ? r->win - slots : 0;
		r->used_taint = false;
	}
	for (unsigned k = 0; k < r->ncpl; k++)
		fz_drv_on_complete(r, r->cpl[k].id);
	r->ncpl = 0;
}

static void cpl_add(struct fz_run *r, uint16_t id, uint32_t len, uint16_t nslots)
{
	if (r->ncpl == r->cpl_cap) {
		unsigned cap = r->cpl_cap ? 2 * r->cpl_cap : 64;
		struct fz_cpl *p = realloc(r->cpl, cap * sizeof(*p));

		FZ_CHECK(p, "out of memory");
		r->cpl = p;
		r->cpl_cap = cap;
	}
	r->cpl[r->ncpl++] = (struct fz_cpl){ id, nslots, len };
}

/*
 * A writable buffer may lie on the rings when a restart moved them into the
 * data area (tampered configurations; the model's own rings stay in the
 * arena).  Filling it is a guest-visible write there like any other: it may
 * clobber used entries the device staged in the packed ring (found by
 * fuzz_indirect: corpus/indirect/crash-buffer-fill-over-staged-used.bin),
 * and the driver model no longer knows what its rings hold.
 */
static FZ_NOCOV void ring_hit(struct fz_run *r, const uint8_t *p, const uint8_t *e)
{
	size_t n = (size_t)(e - p);

	if (!fz_overlaps(p, n, r->rg.desc, r->rg.desc_len) &&
	    !fz_overlaps(p, n, r->rg.drv, r->rg.drv_len) &&
	    !fz_overlaps(p, n, r->rg.dev, r->rg.dev_len))
		return;
	for (uint32_t s = 0; r->packed && s < r->cfg.size; s++)
		if (fz_overlaps(p, n, r->rg.desc + 16 * s, 16))
			fz_note_ring_write(r, r->rg.desc + 16 * s);
	fz_set_dirty(r);
}

static FZ_NOCOV void touch(struct fz_run *r)
{
	const struct vq_chain *c = &r->c;
	volatile uint8_t sink = 0;
	uint8_t scratch[4096];
	bool outside = false;

	for (unsigned i = 0; i < (unsigned)c->n_out + c->n_in; i++) {
		uint8_t *p = c->iov[i].iov_base, *e = p + c->iov[i].iov_len;
		uint8_t *d0 = r->l.data, *d1 = r->l.data + FZ_DATA_BYTES;
		bool wr = i >= c->n_out;

		if (r->l.huge && p >= r->l.huge && p < r->l.huge + r->l.huge_size) {
			sink ^= p[0] ^ e[-1]; /* first and last byte prove the mapping */
			if (wr)
				p[0] = e[-1] = 0x5a;
			continue;
		}
		/* read every byte (ASan checks each copied range) */
		for (const uint8_t *q = p; q < e; q += sizeof(scratch)) {
			size_t k = (size_t)(e - q) < sizeof(scratch) ? (size_t)(e - q) : sizeof(scratch);

			memcpy(scratch, q, k);
			sink ^= scratch[0];
		}
		if (!wr)
			continue;
		/* Write like a device, but only into the data area: the rings are
		 * the device's to write, and the harness must not fake that. */
		if (p < d0)
			p = d0;
		if (e > d1)
			e = d1;
		if (p < e) {
			ring_hit(r, p, e);
			fz_snap_note(p, (size_t)(e - p));
			memset(p, 0xa5 ^ (uint8_t)i, (size_t)(e - p));
			if (e > d0 + FZ_BUF_ZONE)
				outside = true;
		}
	}
	(void)sink;
	r->hw = -1;
	if (outside)
		fz_set_dirty(r);
}

/**
 * fz_check_pop() - invariants of one vq_pop() result that need no model.
 * @r: run
 * @st: the status vq_pop() returned; the chain is in @r->c
 *
 * Status agrees with a pending has_work/enable_notify promise; a broken
 * queue latched a ring fault and signalled the error eventfd; a bad chain
 * carries a named chain fault; a good chain's iovecs are non-empty, inside
 * guest RAM, within capacity and sum to its totals (< 2^32), and its id is in
 * range and not already in flight.
 */
void fz_check_pop(struct fz_run *r, enum vq_status st)
{
	const struct vq_chain *c = &r->c;
	uint64_t out = 0, in = 0;
	unsigned n;

	FZ_CHECK(st <= VQ_BROKEN, "vq_pop returned %d", st);
	if (!r->started) {
		FZ_CHECK(st == VQ_EMPTY, "pop on a stopped queue returned %d", st);
		return;
	}
	if (r->broken) {
		FZ_CHECK(st == VQ_BROKEN, "pop on a broken queue returned %d", st);
		return;
	}
	/* With rings that overlap, the device's own stores since the promise
	 * (vq_disable_notify()'s used flags, a publish) may have rewritten the
	 * driver area it judged: a used flags word on the avail index
	 * (corpus/split/crash-disable-flags-over-avail-idx.bin). */
	if (r->hw >= 0 && !r->overlap)
		FZ_CHECK((st != VQ_EMPTY) == r->hw,
			 "has_work/enable_notify promised %s, vq_pop returned %d",
			 r->hw ? "work" : "empty", st);
	r->hw = -1;

	if (st == VQ_BROKEN) {
		enum vq_fault f = VQ_F_NONE;
		uint64_t cnt = 0;

		FZ_CHECK(vq_is_broken(&r->vq, &f), "VQ_BROKEN but not latched");
		FZ_CHECK(FZ_RING_FAULTS & FZ_FBIT(f), "broken with non-ring fault %s",
			 vq_fault_name(f));
		if (r->efd_err >= 0)
			FZ_CHECK(fz_efd_read(r->efd_err, &cnt) == sizeof(cnt) && cnt >= 1,
				 "error eventfd not signalled");
		return;
	}
	if (st == VQ_EMPTY)
		return;

	FZ_CHECK(c->id < r->cfg.size, "chain id %u >= size %u", c->id, r->cfg.size);
	FZ_CHECK(!fz_fl_has(r, c->id), "id %u handed out twice", c->id);
	if (r->packed)
		FZ_CHECK(c->nslots >= 1 && c->nslots <= r->cfg.size, "nslots %u", c->nslots);
	if (st == VQ_BAD_CHAIN) {
		FZ_CHECK(FZ_CHAIN_FAULTS & FZ_FBIT(c->fault), "bad chain with fault %d", c->fault);
		FZ_CHECK(strcmp(vq_fault_name(c->fault), "unknown") != 0, "fault %d has no name",
			 c->fault);
		return;
	}

	n = (unsigned)c->n_out + c->n_in;
	FZ_CHECK(c->fault == VQ_F_NONE, "VQ_OK with fault %s", vq_fault_name(c->fault));
	FZ_CHECK(n <= r->iov_cap, "%u iovecs > capacity %u", n, r->iov_cap);
	FZ_CHECK(c->ndesc >= 1 && c->ndesc <= r->cfg.size, "ndesc %u, size %u", c->ndesc,
		 r->cfg.size);
	for (unsigned i = 0; i < n; i++) {
		FZ_CHECK(c->iov[i].iov_len > 0, "empty iovec %u", i);
		FZ_CHECK(fz_host_mapped(&r->l, c->iov[i].iov_base, c->iov[i].iov_len),
			 "iovec %u (%p, %zu) outside guest RAM", i, c->iov[i].iov_base,
			 c->iov[i].iov_len);
		if (i < c->n_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	FZ_CHECK(out == c->out_bytes && in == c->in_bytes,
		 "totals (%u, %u) != iovec sums (%llu, %llu)", c->out_bytes, c->in_bytes,
		 (unsigned long long)out, (unsigned long long)in);
	FZ_CHECK(out + in <= UINT32_MAX, "chain total >= 2^32");
}

/* Record a VQ_OK chain as in flight (and as a vq_unpop candidate). */
static void fl_add(struct fz_run *r)
{
	unsigned i = r->nfl++, n = (unsigned)r->c.n_out + r->c.n_in;
	struct fz_popped *u;

	r->fl[i] = (struct fz_fl){ r->c.id, r->c.nslots, r->c.in_bytes };
	if (r->fl_iov) {
		memcpy(r->fl_iov + i * FZ_LOG_IOV, r->c.iov,
		       (n < FZ_LOG_IOV ? n : FZ_LOG_IOV) * sizeof(*r->c.iov));
		r->fl_nout[i] = r->c.n_out;
		r->fl_nin[i] = r->c.n_in;
	}
	if (r->nustack == FZ_USTACK) { /* forget the oldest */
		r->ubase = (r->ubase + 1) % FZ_USTACK;
		r->nustack--;
	}
	u = fz_ustack_at(r, r->nustack++);
	u->id = r->c.id;
	u->nslots = r->c.nslots;
	u->has_pend = r->last_valid;
	u->pend = r->last_pend;
	u->exp = r->last_exp;
}

/* Forget in-flight entry @i (pushed or given back). */
void fz_fl_del(struct fz_run *r, unsigned i)
{
	unsigned last = --r->nfl;

	r->fl[i] = r->fl[last];
	if (r->fl_iov && i != last) {
		memcpy(r->fl_iov + i * FZ_LOG_IOV, r->fl_iov + last * FZ_LOG_IOV,
		       FZ_LOG_IOV * sizeof(*r->fl_iov));
		r->fl_nout[i] = r->fl_nout[last];
		r->fl_nin[i] = r->fl_nin[last];
	}
}

/* Chain @id left the device's hands: it and everything popped before it can
 * no longer be given back (vq_unpop works in reverse popping order). */
static void ustack_cut(struct fz_run *r, uint16_t id)
{
	for (unsigned i = r->nustack; i-- > 0;) {
		if (fz_ustack_at(r, i)->id == id) {
			r->ubase = (r->ubase + i + 1) % FZ_USTACK; /* drop the oldest i + 1 */
			r->nustack -= i + 1;
			return;
		}
	}
}

/**
 * fz_do_pop() - checked vq_pop(), with the DF_POST replay and rewrite.
 * @r: run
 *
 * Return: the status vq_pop() returned (the chain is in @r->c).
 */
enum vq_status fz_do_pop(struct fz_run *r)
{
	bool replay = r->df_post && !r->df_trap && fz_may_write(r);
	bool live = fz_may_write(r);
	uint16_t pos0 = r->av_pos;
	enum vq_status st;

	if (replay)
		fz_vq_state_copy(&r->df_vq[0], &r->vq);
	vq_chain_init(&r->c, r->iov, r->iov_cap);
	r->in_pop = true;
	fz_pre(r);
	st = vq_pop(&r->vq, &r->c);
	r->in_pop = false;
	if (live && (st == VQ_OK || st == VQ_BAD_CHAIN)) {
		if (!r->packed)
			r->av_pos++;
		else if (r->c.nslots >= 1 && r->c.nslots <= r->cfg.size) {
			fz_advance(r, &r->av_pos, &r->av_wrap, r->c.nslots);
			r->win += r->c.nslots;
		}
	}
	fz_post(r, live, "vq_pop");
	if (replay)
		fz_replay_pop(r, st); /* before the harness touches guest RAM again */
	if (r->trace)
		fprintf(stderr, "fz:   pop -> %d id %u slots %u out %u in %u fault %s\n", st,
			r->c.id, r->c.nslots, r->c.out_bytes, r->c.in_bytes,
			vq_fault_name(r->c.fault));
	check_unpublished(r, "vq_pop");
	fz_check_pop(r, st);
	if (live) {
		r->last_valid = false;
		fz_drv_on_pop(r, st);
		if (st == VQ_OK) {
			FZ_CHECK(r->nfl < r->cfg.size, "more than size chains in flight");
			fl_add(r);
		} else if (st == VQ_BAD_CHAIN) {
			cpl_add(r, r->c.id, 0, r->c.nslots);
			r->nustack = 0; /* rewinding past a returned chain would repeat it */
		} else if (st == VQ_BROKEN) {
			r->broken = true;
			fz_set_dirty(r);
		}
	}
	if (st == VQ_OK && r->touch)
		touch(r);
	if (r->df_post && live && (st == VQ_OK || st == VQ_BAD_CHAIN))
		fz_mutate_after_pop(r, pos0, r->c.nslots);
	return st;
}

void fz_do_push(struct fz_run *r, unsigned which, uint32_t written)
{
	struct fz_fl e = r->fl[which];
	struct vq_chain c;
	int rc;

	vq_chain_init(&c, NULL, 0);
	c.id = e.id;
	c.nslots = e.nslots;
	c.in_bytes = e.in_bytes;
	if (r->fl_iov) { /* dirty logging reads the writable iovecs */
		c.iov = r->fl_iov + which * FZ_LOG_IOV;
		c.iov_cap = FZ_LOG_IOV;
		c.n_out = r->fl_nout[which];
		c.n_in = r->fl_nin[which];
	}
	fz_pre(r);
	rc = vq_push(&r->vq, &c, written);
	fz_post(r, fz_may_write(r), "vq_push");
	if (!r->started) {
		FZ_CHECK(rc == -EINVAL, "push on a stopped queue: %d", rc);
		return;
	}
	if (r->broken) {
		FZ_CHECK(rc == -EIO, "push on a broken queue: %d", rc);
		return;
	}
	FZ_CHECK(rc == 0, "push of in-flight id %u failed: %d", e.id, rc);
	check_unpublished(r, "vq_push");
	if (r->fl_iov) {
		uint32_t w = written < e.in_bytes ? written : e.in_bytes;

		for (unsigned i = c.n_out; i < (unsigned)c.n_out + c.n_in && w; i++) {
			size_t k = c.iov[i].iov_len < w ? c.iov[i].iov_len : w;

			fz_check_logged(r, c.iov[i].iov_base, k, "vq_push (buffer)");
			w -= (uint32_t)k;
		}
	}
	fz_fl_del(r, which);
	ustack_cut(r, e.id);
	cpl_add(r, e.id, written < e.in_bytes ? written : e.in_bytes, e.nslots);
}

/**
 * fz_do_flush() - checked vq_flush_signal().
 * @r: run
 *
 * Every staged completion must now be visible (fz_verify_publish()), the call
 * eventfd written if a signal was asked for, and a signal asked for whenever
 * the driver's flags / used_event / event structure require one.
 */
void fz_do_flush(struct fz_run *r)
{
	uint16_t flags = 0, ev = 0;
	bool live = fz_may_write(r), want;
	unsigned published = r->ncpl;

	if (live && !r->packed) {
		flags = fz_ring_load16(r->rg.drv);
		ev = fz_ring_load16(r->rg.drv + 4 + 2 * r->cfg.size); /* used_event */
	} else if (live) {
		flags = fz_ring_load16(r->rg.drv + 2); /* driver event flags */
	}
	fz_pre(r);
	want = vq_flush_signal(&r->vq); /* vq_flush + vq_signal when wanted */
	fz_post(r, live, "vq_flush");
	/* Packed: publishing writes used descriptors into slots the device
	 * consumed.  A hostile driver may already have marked such a slot
	 * available again (with a 1-slot ring it is the next slot to pop), so
	 * the device's own completion legitimately overwrites what an earlier
	 * has_work/enable_notify judged: that answer no longer binds the next
	 * pop (corpus/packed/crash-flush-overwrites-promised-slot.bin). */
	if (r->packed)
		r->hw = -1;
	if (!live) {
		FZ_CHECK(!want, "flush on a stopped/broken queue asked for a signal");
		return;
	}
	fz_verify_publish(r);
	if (want && r->efd_call >= 0) {
		uint64_t cnt = 0;

		FZ_CHECK(fz_efd_read(r->efd_call, &cnt) == sizeof(cnt) && cnt >= 1,
			 "flush asked for a signal but the call eventfd was not written");
	}
	if (published == 0 || r->df_trap || r->overlap)
		return; /* overlapping rings: the publish itself may rewrite used_event */
	if (!r->packed) {
		if (!event_idx(r))
			FZ_CHECK(want || (flags & VRING_AVAIL_F_NO_INTERRUPT),
				 "missed signal: avail flags %#x", flags);
		else if (r->sig_valid)
			FZ_CHECK(want || !vring_need_event(ev, r->us_pos, r->sig_used),
				 "missed signal: used_event %u, used %u -> %u", ev, r->sig_used,
				 r->us_pos);
		r->sig_used = r->us_pos;
		r->sig_valid = true;
	} else {
		FZ_CHECK(want || flags == VRING_PACKED_EVENT_FLAG_DISABLE ||
				 (flags == VRING_PACKED_EVENT_FLAG_DESC && event_idx(r)),
			 "missed signal: driver event flags %#x", flags);
	}
}

static void check_armed(struct fz_run *r)
{
	if (r->overlap)
		return; /* the guest may have scribbled on the device's fields */
	if (!r->packed) {
		if (event_idx(r))
			FZ_CHECK(fz_ring_load16(r->rg.dev + 4 + 8 * r->cfg.size) == r->av_pos,
				 "avail_event %u, next avail %u",
				 fz_ring_load16(r->rg.dev + 4 + 8 * r->cfg.size), r->av_pos);
		else
			FZ_CHECK(!(fz_ring_load16(r->rg.dev) & VRING_USED_F_NO_NOTIFY),
				 "kicks not armed: used flags %#x", fz_ring_load16(r->rg.dev));
	} else {
		uint16_t ow = fz_ring_load16(r->rg.dev), fl = fz_ring_load16(r->rg.dev + 2);

		if (event_idx(r))
			FZ_CHECK(fl == VRING_PACKED_EVENT_FLAG_DESC &&
					 ow == (r->av_pos | (uint16_t)(r->av_wrap << 15)),
				 "device event (%#x, %#x), next avail %u/%d", ow, fl, r->av_pos,
				 r->av_wrap);
		else
			FZ_CHECK(fl == VRING_PACKED_EVENT_FLAG_ENABLE, "device event flags %#x", fl);
	}
}

bool fz_do_enable(struct fz_run *r)
{
	bool live = fz_may_write(r), ret;

	fz_pre(r);
	ret = vq_enable_notify(&r->vq);
	fz_post(r, live, "vq_enable_notify");
	if (r->trace && live)
		fprintf(stderr, "fz:   enable -> %d (next avail %u/%d)\n", ret, r->av_pos, r->av_wrap);
	if (!live || r->df_trap)
		return ret;
	check_unpublished(r, "vq_enable_notify");
	check_armed(r);
	/* FZ_KNOWN_BUGS=enable-cache: do not hold "empty" against the next pop */
	r->hw = ret ? (r->kb_enable_cache ? -1 : 0) : 1;
	return ret;
}

void fz_do_disable(struct fz_run *r)
{
	bool live = fz_may_write(r);

	fz_pre(r);
	vq_disable_notify(&r->vq);
	fz_post(r, live, "vq_disable_notify");
	if (!live)
		return;
	check_unpublished(r, "vq_disable_notify");
	if (r->overlap)
		return;
	if (r->packed)
		FZ_CHECK(fz_ring_load16(r->rg.dev + 2) == VRING_PACKED_EVENT_FLAG_DISABLE,
			 "kicks not suppressed: device event flags %#x",
			 fz_ring_load16(r->rg.dev + 2));
	else if (!event_idx(r))
		FZ_CHECK(fz_ring_load16(r->rg.dev) & VRING_USED_F_NO_NOTIFY,
			 "kicks not suppressed: used flags %#x", fz_ring_load16(r->rg.dev));
}

void fz_do_has_work(struct fz_run *r)
{
	bool ret;

	fz_pre(r);
	ret = vq_has_work(&r->vq);
	fz_post(r, false, "vq_has_work");
	if (fz_may_write(r) && !r->df_trap)
		r->hw = ret;
}