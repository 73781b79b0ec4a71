// SPDX-License-Identifier: Apache-2.0
/*
 * fz_drv_post.c - FZ_OP_POST, the posting side of the guest driver model
 * (fz_drv.c, "Theory of operation"): build one chain the way a virtio driver
 * would, optionally with one defect, place its indirect table, queue the
 * expectation the reference walk (fz_drv_ref.c) gives for it, then write the
 * chain into guest RAM and publish it.
 */
#include "fuzz/fz_vq_int.h"

#include <endian.h>
#include <stdio.h>
#include <string.h>

struct fz_bspec {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* ---- tables the device will read again ----------------------------------- */

/*
 * A new table may land on the table of a chain the device will read again:
 * one still pending, or one already popped that vq_unpop() can give back
 * (the device walks its table afresh on the next pop).  Pending chains make
 * the model dirty; popped ones lose their expectation, so giving one back
 * makes it dirty then (fz_drv_unpopped()).  (Found by fuzz_indirect: a
 * straddling table over an unpopped chain's table, corpus/indirect/
 * crash-unpop-after-table-overwrite.bin.)
 */
static void tables_overwritten(struct fz_run *r)
{
	if (r->p_n)
		fz_set_dirty(r);
	for (unsigned i = 0; i < r->nustack; i++)
		fz_ustack_at(r, i)->has_pend = false;
}

/* Any new table may land on a straddling (FZ_TW_IND_CROSS) table, which the
 * cursor does not know about: popped chains with one lose their expectation. */
static void table_written(struct fz_run *r)
{
	for (unsigned i = 0; i < r->nustack; i++)
		if (fz_ustack_at(r, i)->pend.xtab)
			fz_ustack_at(r, i)->has_pend = false;
}

/* Does [@gpa, @gpa + @len) map exactly onto table-zone bytes [@off, @off + @len)? */
static bool table_in_place(const struct fz_run *r, uint64_t gpa, uint32_t len, uint32_t off)
{
	struct iovec pc[FZ_MAX_PIECES];
	const uint8_t *want = r->l.data + FZ_BUF_ZONE + off;
	int np = fz_ref_pieces(&r->l, gpa, len, pc, FZ_MAX_PIECES);

	if (np <= 0 || np > (int)FZ_MAX_PIECES)
		return false; /* partly unmapped: what is mapped may be anything */
	for (int i = 0; i < np; i++) {
		if (pc[i].iov_base != want)
			return false;
		want += pc[i].iov_len;
	}
	return true;
}

/* ---- building and writing a chain ---------------------------------------- */

static uint64_t hole_gpa(const struct fz_run *r)
{
	for (unsigned i = 1; i <= r->l.ndata; i++)
		if (!r->l.chunk[i].mapped)
			return r->l.chunk[i].gpa + r->l.chunk[i].size / 2;
	return 0xdead00000000ULL;
}

/*
 * Does a table of @need bytes at @gpa in a hole store any entry into mapped
 * memory?  A hole shorter than the table leaves its later entries on what
 * follows it, which may be another pending chain's table (corpus/split/
 * crash-hole-table-tail-over-pending-table.bin).
 */
static bool hole_spills(const struct fz_run *r, uint64_t gpa, uint32_t need)
{
	for (uint32_t off = 0; off < need; off += 16)
		if (fz_ref_host(&r->l, gpa + off, 1))
			return true;
	return false;
}

/* A table start that straddles the end of a data chunk (into a neighbour or a gap). */
static uint64_t cross_gpa(const struct fz_run *r, uint8_t x, uint32_t need)
{
	const struct fz_chunk *c;
	uint32_t back = 16u * (1u + x % (need > 16 ? need / 16 - 1 : 1));

	for (unsigned i = 1; i <= r->l.ndata; i++) {
		c = &r->l.chunk[i];
		for (unsigned j = 1; j <= r->l.ndata; j++)
			if (c->mapped && r->l.chunk[j].mapped && r->l.chunk[j].gpa == c->gpa + c->size &&
			    c->size >= back)
				return c->gpa + c->size - back;
	}
	c = &r->l.chunk[r->l.ndata ? 1 + x % r->l.ndata : 0];
	return c->gpa + c->size - (c->size >= back ? back : c->size);
}

static void put_desc(uint8_t *d, const struct fz_mdesc *m, bool packed, uint16_t id,
		     uint16_t avail_bits)
{
	uint64_t a = htole64(m->addr);
	uint32_t l = htole32(m->len);

	fz_snap_note(d, 16);
	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	if (packed) {
		fz_ring_store16(d + 12, id);
		fz_ring_store16(d + 14, (uint16_t)(m->flags | avail_bits));
	} else {
		fz_ring_store16(d + 12, m->flags);
		fz_ring_store16(d + 14, m->next);
	}
}

/*
 * Do the bytes fz_ref_write() stores for [@gpa, @gpa + @len) (everything up
 * to the first unmapped byte) all land in the table zone?  *@gap: the range
 * runs into unmapped guest memory.
 */
static bool stores_in_zone(const struct fz_run *r, uint64_t gpa, uint64_t len, bool *gap)
{
	struct iovec pc[FZ_MAX_PIECES];
	int np = fz_ref_pieces(&r->l, gpa, len, pc, FZ_MAX_PIECES);
	const uint8_t *z0 = r->l.data + FZ_BUF_ZONE, *z1 = r->l.data + FZ_DATA_BYTES;
	int k = np >= 0 ? np : -np - 1; /* pieces actually written */

	*gap = np < 0;
	if (k > (int)FZ_MAX_PIECES)
		return false;
	for (int i = 0; i < k; i++) {
		const uint8_t *p = pc[i].iov_base;

		if (p < z0 || p + pc[i].iov_len > z1)
			return false;
	}
	return true;
}

/*
 * Write the table; true if every byte stayed inside the table zone.  Entries
 * are stored one by one, so when the table runs into unmapped guest memory
 * the entries after the gap still land wherever they map: a FZ_TW_IND_HOLE
 * table in a hole shorter than the table ends on the memory after the hole,
 * which may hold another pending chain's table (corpus/split/
 * crash-hole-table-tail-over-pending-table.bin).
 */
static bool write_table(struct fz_run *r, const struct fz_mchain *m)
{
	uint32_t n = m->nfill + m->nt;
	uint8_t buf[16];
	bool gap, g, inside = stores_in_zone(r, m->tgpa, 16ULL * n, &gap);

	for (uint32_t i = 1; gap && inside && i < n; i++)
		inside = stores_in_zone(r, m->tgpa + 16ULL * i, 16, &g);
	for (uint32_t i = 0; i < n; i++) {
		struct fz_mdesc e = fz_table_entry(r, m, i, n);

		/* packed tables hold struct pvirtq_desc (2.8.19): id 0, flags at 14 */
		put_desc(buf, &e, r->packed, 0, 0);
		fz_ref_write(&r->l, m->tgpa + 16ULL * i, buf, 16);
	}
	return inside;
}

static uint16_t avail_bits(bool wrap)
{
	return wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
}

/* Split: @k free descriptor slots for head @head; false if the table is full. */
static bool alloc_slots(struct fz_run *r, struct fz_mchain *m)
{
	uint32_t n = r->cfg.size, got = 0;

	for (uint32_t s = 0; s < n && got < m->nd; s++) {
		uint16_t i = (uint16_t)((r->desc_cur + s) % n);

		/* the head must not be an id in flight (hostile chains too) */
		if (r->owner[i] < 0 && (got || !fz_fl_has(r, i)))
			m->slot[got++] = i;
	}
	if (got < m->nd)
		return false;
	r->desc_cur = (uint16_t)((m->slot[got - 1] + 1) % n);
	for (unsigned i = 0; i < m->nd; i++) {
		r->owner[m->slot[i]] = m->slot[0];
		r->link[m->slot[i]] = i + 1 < m->nd ? m->slot[i + 1] : -1;
	}
	return true;
}

static bool alloc_id(struct fz_run *r, uint16_t *id)
{
	uint32_t n = r->cfg.size;

	for (uint32_t s = 0; s < n; s++) {
		uint16_t i = (uint16_t)((r->id_cur + s) % n);

		if (!fz_id_busy(r, i)) {
			*id = i;
			r->id_cur = (uint16_t)((i + 1) % n);
			return true;
		}
	}
	return false;
}

static struct fz_pend *pend_push(struct fz_run *r)
{
	struct fz_pend *p;

	if (r->p_n == r->cap_size)
		return NULL;
	p = fz_pend_at(r, r->p_n++);
	memset(p, 0, sizeof(*p));
	p->detail = -1;
	return p;
}

/* Publish a split avail entry for @head; @hold defers the idx store. */
static void split_publish(struct fz_run *r, uint16_t head, bool hold)
{
	fz_ring_store16(r->rg.drv + 4 + 2 * (r->drv_pos & (r->cfg.size - 1)), head);
	r->drv_pos++;
	if (hold)
		return;
	fz_ring_store16(r->rg.drv + 2, r->drv_pos);
	r->drv_pub = r->drv_pos;
	r->p_pub = r->p_n;
}

/* Split ring-level defects: an avail entry or index without descriptors. */
static void post_split_ring(struct fz_run *r, uint8_t tw, uint16_t x)
{
	struct fz_pend *p;

	if (tw == FZ_TW_OVERRUN) {
		if (r->p_n || r->drv_pos != r->av_pos || r->dirty || r->exp_off)
			return;
		r->drv_pub = (uint16_t)(r->av_pos + r->cfg.size + 1);
		fz_ring_store16(r->rg.drv + 2, r->drv_pub);
		p = pend_push(r);
		p->kind = FZ_E_BROKEN;
		p->faults = FZ_FBIT(VQ_F_AVAIL_IDX);
		r->p_pub = r->p_n;
		r->post_block = true;
		return;
	}
	p = (r->dirty || r->exp_off) ? NULL : pend_push(r);
	if (tw == FZ_TW_HEAD_RANGE) {
		uint16_t head = (uint16_t)(r->cfg.size + x % 64);

		if (p) {
			p->kind = FZ_E_BROKEN;
			p->faults = FZ_FBIT(VQ_F_HEAD_RANGE);
			p->id = head;
		}
		split_publish(r, head, false);
		return;
	}
	/* FZ_TW_DUP: re-offer the head of a chain in flight */
	if (p) {
		p->kind = FZ_E_UNKNOWN;
		p->dup = true;
		p->id = r->fl[x % r->nfl].id;
	}
	split_publish(r, r->fl[x % r->nfl].id, false);
}

/**
 * fz_drv_post() - FZ_OP_POST: build, check against the reference, write, publish.
 * @r: run
 *
 * Operands: u8 shape (FZ_SH_*), u8 tweak (enum fz_tweak), u8 tweak argument,
 * then per buffer u8 length and u8 placement (32-byte units in the buffer
 * zone); with FZ_SH_PREFIX one more buffer; with FZ_SH_CROSS one u8 chunk.
 */
void fz_drv_post(struct fz_run *r)
{
	uint8_t shape = fz_u8(&r->in), tw = fz_u8(&r->in) % FZ_TW__COUNT, x = fz_u8(&r->in);
	bool table = !!(shape & FZ_SH_INDIRECT) != r->t->indirect_focus;
	bool prefix = false, hold = shape & FZ_SH_HOLD, block = false, dup = false;
	unsigned nout = FZ_SH_NOUT(shape), nin = FZ_SH_NIN(shape), nb;
	uint32_t n = r->cfg.size;
	struct fz_bspec b[FZ_MAX_BUF + 1], pre = { 0 };
	struct fz_mchain m;
	struct fz_pend *p = NULL;
	uint8_t kind = FZ_E_CHAIN;
	uint32_t ring_faults = 0;

	r->hw = -1;
	memset(&m, 0, sizeof(m));
	if (tw >= FZ_TW_IND_NESTED && tw <= FZ_TW_IND_WRITE)
		table = true;
	if (tw == FZ_TW_LONG)
		table = prefix = true;
	if (table && (shape & FZ_SH_PREFIX))
		prefix = true;
	if (nout + nin == 0)
		nout = 1;
	if (tw == FZ_TW_ORDER && nout + nin < 2)
		nin = 1;
	if (tw == FZ_TW_TOO_BIG && nout + nin < 2)
		nout = 2;
	if (tw == FZ_TW_IOV_CAP) {
		nout = r->iov_cap + 1 < FZ_MAX_BUF ? r->iov_cap + 1 : FZ_MAX_BUF;
		nin = 0;
	}
	nb = nout + nin;
	for (unsigned i = 0; i < nb + prefix; i++) {
		uint32_t len = fz_u8(&r->in), off = (fz_u8(&r->in) * 32u) % (FZ_BUF_ZONE - 256);

		if (tw == FZ_TW_IOV_CAP)
			len |= 1;
		b[i] = (struct fz_bspec){ fz_data_gpa(&r->l, off), len, i >= nout && i < nb };
	}
	if (prefix) {
		pre = b[nb];
		pre.write = false;
	}
	if (shape & FZ_SH_CROSS) {
		const struct fz_chunk *c = &r->l.chunk[r->l.ndata ? 1 + fz_u8(&r->in) % r->l.ndata : 0];

		if (b[0].len < 2)
			b[0].len = 32;
		b[0].gpa = c->gpa + c->size - b[0].len / 2;
	}

	switch (tw) {
	case FZ_TW_ORDER:
		b[0].write = true;
		b[nb - 1].write = false;
		break;
	case FZ_TW_HOLE:
		b[0].gpa = hole_gpa(r);
		break;
	case FZ_TW_WRAP:
		b[0] = (struct fz_bspec){ UINT64_MAX - 7, 64, b[0].write };
		break;
	case FZ_TW_TOO_BIG:
		b[0] = (struct fz_bspec){ FZ_HUGE_GPA, 0xc0000000u, false };
		b[1] = (struct fz_bspec){ FZ_HUGE_GPA + 0x1000, 0x80000000u, false };
		break;
	case FZ_TW_ZERO_LEN:
		b[nb / 2].len = 0;
		break;
	default:
		break;
	}

	/* --- the model chain --- */
	if (table) {
		struct fz_mdesc ptr = { 0, 0, VRING_DESC_F_INDIRECT, 0 };

		if (tw == FZ_TW_LONG && 16u * n <= FZ_TAB_ZONE && n > nb)
			m.nfill = n - nb;
		if (tw == FZ_TW_IND_SIZE && 16u * (n + 1) <= FZ_TAB_ZONE && n + 1 > nb)
			m.nfill = n + 1 - nb;
		m.nt = nb;
		for (unsigned i = 0; i < nb; i++) {
			m.t[i] = (struct fz_mdesc){ b[i].gpa, b[i].len,
						    b[i].write ? VRING_DESC_F_WRITE : 0,
						    (uint16_t)(m.nfill + i + 1) };
			if (!r->packed && i + 1 < nb)
				m.t[i].flags |= VRING_DESC_F_NEXT;
		}
		switch (tw) {
		case FZ_TW_IND_NESTED:
			m.t[nb - 1].flags |= VRING_DESC_F_INDIRECT;
			m.t[nb - 1].len = 16;
			break;
		case FZ_TW_NEXT_RANGE: /* packed: NEXT inside a table is ignored */
			m.t[0].flags |= VRING_DESC_F_NEXT;
			m.t[0].next = (uint16_t)(m.nfill + nb + x % 4);
			break;
		case FZ_TW_LOOP: /* packed: ignored as well */
			m.t[nb - 1].flags |= VRING_DESC_F_NEXT;
			m.t[nb - 1].next = 0;
			break;
		default:
			break;
		}
		ptr.len = 16u * (m.nfill + m.nt);
		if (tw == FZ_TW_IND_LEN_ODD)
			ptr.len += 8;
		if (tw == FZ_TW_IND_LEN_0)
			ptr.len = 0;
		if (tw == FZ_TW_IND_WRITE)
			ptr.flags |= VRING_DESC_F_WRITE;
		if (prefix)
			m.d[m.nd++] = (struct fz_mdesc){ pre.gpa, pre.len, VRING_DESC_F_NEXT, 0 };
		if (tw == FZ_TW_IND_NEXT)
			ptr.flags |= VRING_DESC_F_NEXT;
		m.d[m.nd++] = ptr;
		if (tw == FZ_TW_IND_NEXT)
			m.d[m.nd++] = (struct fz_mdesc){ b[0].gpa, 1, 0, 0 };
	} else {
		for (unsigned i = 0; i < nb; i++) {
			m.d[m.nd] = (struct fz_mdesc){ b[i].gpa, b[i].len,
						       b[i].write ? VRING_DESC_F_WRITE : 0, 0 };
			if (i + 1 < nb)
				m.d[m.nd].flags |= VRING_DESC_F_NEXT;
			m.nd++;
		}
	}

	/* --- room in the ring --- */
	if (!r->started || r->broken || r->post_block)
		return;
	if (!r->packed && (tw == FZ_TW_OVERRUN || tw == FZ_TW_HEAD_RANGE ||
			   (tw == FZ_TW_DUP && r->nfl))) {
		if ((uint16_t)(r->drv_pos - r->us_pos) >= n)
			return;
		post_split_ring(r, tw, x);
		return;
	}
	if (!r->packed) {
		if ((uint16_t)(r->drv_pos - r->us_pos) >= n || !alloc_slots(r, &m))
			return;
		for (unsigned i = 0; i + 1 < m.nd; i++)
			if (m.d[i].flags & VRING_DESC_F_NEXT)
				m.d[i].next = m.slot[i + 1];
		if (tw == FZ_TW_LOOP && !table) {
			m.d[m.nd - 1].flags |= VRING_DESC_F_NEXT;
			m.d[m.nd - 1].next = m.slot[0];
		}
		if (tw == FZ_TW_NEXT_RANGE && !table) {
			m.d[m.nd - 1].flags |= VRING_DESC_F_NEXT;
			m.d[m.nd - 1].next = (uint16_t)(n + x % 8);
		}
		m.id = m.slot[0];
	} else {
		uint32_t busy = r->win + fz_dist(r, r->av_pos, r->av_wrap, r->drv_pos, r->drv_wrap);

		if (busy >= n || m.nd > n - busy)
			return;
		if (tw == FZ_TW_HEAD_RANGE) {
			m.id = (uint16_t)(n + x % 64);
			kind = FZ_E_BROKEN;
			ring_faults = FZ_FBIT(VQ_F_ID_RANGE);
		} else if (tw == FZ_TW_DUP && r->nfl) {
			m.id = r->fl[x % r->nfl].id;
			dup = true;
		} else if (!alloc_id(r, &m.id)) {
			return;
		}
		if (tw == FZ_TW_LOOP && !table) {
			m.d[m.nd - 1].flags |= VRING_DESC_F_NEXT;
			kind = FZ_E_BROKEN;
			ring_faults = FZ_FBIT(VQ_F_PACKED_CHAIN);
			block = true;
		}
	}

	/* --- indirect table placement --- */
	if (table) {
		uint32_t need = 16u * (m.nfill + m.nt);
		bool xtab;

		if (r->tab_cur + need > FZ_TAB_ZONE) {
			r->tab_cur = 0;
			tables_overwritten(r);
		}
		m.tgpa = fz_data_gpa(&r->l, FZ_BUF_ZONE + r->tab_cur);
		/* The table is written through guest addresses, like a real
		 * driver's: if the chunk holding its start ends inside it, the
		 * rest lands on whatever guest memory follows (another table,
		 * a buffer), not on the cursor's own bytes. */
		xtab = !table_in_place(r, m.tgpa, need, r->tab_cur);
		r->tab_cur += (need + 15) & ~15u;
		if (tw == FZ_TW_IND_HOLE) {
			m.tgpa = hole_gpa(r);
			xtab = hole_spills(r, m.tgpa, need);
		}
		if (tw == FZ_TW_IND_CROSS) {
			m.tgpa = cross_gpa(r, x, need);
			xtab = true;
		}
		if (xtab) {
			/* outside the cursor's allocation: it may overlap the
			 * tables of pending chains, and later ones may overlap it */
			tables_overwritten(r);
			block = true;
		}
		m.xtab = xtab;
		for (unsigned i = 0; i < m.nd; i++)
			if (m.d[i].flags & VRING_DESC_F_INDIRECT)
				m.d[i].addr = m.tgpa;
		if (tw == FZ_TW_IND_NESTED)
			m.t[nb - 1].addr = m.tgpa;
		table_written(r);
		if (!write_table(r, &m))
			fz_set_dirty(r);
	}

	/* --- expectation --- */
	if (!r->dirty && !r->exp_off) {
		p = pend_push(r);
		if (p) {
			p->id = m.id;
			p->nslots = (uint16_t)m.nd;
			p->dup = dup;
			p->xtab = m.xtab;
			p->detail = (int16_t)fz_pool_get(r);
			fz_ref_chain(r, &m, p, p->detail >= 0 ? &r->pool[p->detail] : NULL);
			if (kind == FZ_E_BROKEN && p->kind == FZ_E_CHAIN) {
				p->kind = FZ_E_BROKEN;
				p->faults = ring_faults;
				fz_pool_put(r, p->detail);
				p->detail = -1;
			}
		}
	}

	if (r->trace)
		fprintf(stderr, "fz:   post id %u nd %u table %d (%u+%u @%#llx) tweak %u hold %d -> %s %#x\n",
			m.id, m.nd, table, m.nfill, m.nt, (unsigned long long)m.tgpa, tw, hold,
			!p ? "none" : p->kind == FZ_E_CHAIN ? "chain" : p->kind == FZ_E_BROKEN ? "broken" : "unknown",
			p ? p->faults : 0);

	/* --- write and publish --- */
	if (!r->packed) {
		for (unsigned i = 0; i < m.nd; i++)
			put_desc(r->rg.desc + 16 * m.slot[i], &m.d[i], false, 0, 0);
		split_publish(r, m.slot[0], hold);
	} else {
		uint16_t s = r->drv_pos;
		bool w = r->drv_wrap;
		uint16_t head = s, head_flags = (uint16_t)(m.d[0].flags | avail_bits(w));

		for (unsigned i = 0; i < m.nd; i++) {
			fz_note_ring_write(r, r->rg.desc + 16 * s);
			put_desc(r->rg.desc + 16 * s, &m.d[i], true, m.id, avail_bits(w));
			if (i == 0) /* the head turns available last */
				fz_ring_store16(r->rg.desc + 16 * s + 14, 0);
			if (++s == n) {
				s = 0;
				w = !w;
			}
		}
		r->drv_pos = s;
		r->drv_wrap = w;
		if (r->held >= 0) {
			/* A hostile flags write may have made the held head available
			 * already, and the device consumed it: then this store lands
			 * on a staged used entry, as a real driver's would
			 * (corpus/indirect/crash-held-head-released-over-staged-used.bin). */
			fz_note_ring_write(r, r->rg.desc + 16 * r->held + 14);
			fz_ring_store16(r->rg.desc + 16 * r->held + 14, r->held_flags);
			r->held = -1;
			if (!r->dirty)
				r->p_pub = r->p_n - (p ? 1 : 0);
		}
		if (hold) {
			r->held = head;
			r->held_flags = head_flags;
		} else {
			fz_ring_store16(r->rg.desc + 16 * head + 14, head_flags);
			if (!r->dirty)
				r->p_pub = r->p_n;
		}
	}
	if (block)
		r->post_block = true;
}
