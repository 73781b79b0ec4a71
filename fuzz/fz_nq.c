// SPDX-License-Identifier: Apache-2.0
/*
 * fz_nq.c - the guest driver model of the net harnesses.
 *
 * Theory of operation
 * -------------------
 * A queue's rings live in its own block at the start of chunk 0 of the kit's
 * guest RAM layout; buffers come from three zones (the data area's buffer and
 * table zones, and a big "bulk" zone after the rings in chunk 0) through a
 * granule allocator that only tries to keep live buffers apart: the truth
 * about overlaps is the arena granule maps (fz_net.gbuf/gwr/gtab), filled
 * from the reference translation of every buffer (fz_ref_pieces).
 *
 * Posting follows a virtio driver: split chains take free descriptors (head
 * = chain id) and are published by the avail index; packed chains take the
 * next slots with the current wrap counter, head flags written last.  Before
 * writing, a reference walk over the model decides what the core must do:
 * accept with exactly these buffers, or reject (the faults of
 * core/virtq_chain.c's theory block).  Completions are read back like a
 * driver reads them; each must return a live chain, once.
 *
 * Buffers that would overlap the rings, or writable buffers that would
 * overlap a live indirect table, are moved to an unmapped address before
 * anything is written: the device scribbling on descriptors it has not read
 * yet would make the model meaningless, and the core targets cover that.
 */
#include "fuzz/fz_net.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A guest-physical address no layout maps (below 2^48, above the data area). */
#define FZ_NQ_UNMAPPED 0x40000000000ULL

static inline void st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void st64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* ---- zones ---------------------------------------------------------------- */

static uint8_t *zone_map(struct fz_net *n, enum fz_nzone z, unsigned *ng)
{
	switch (z) {
	case FZ_NZ_BUF:
		*ng = sizeof(n->zbuf);
		return n->zbuf;
	case FZ_NZ_TAB:
		*ng = sizeof(n->ztab);
		return n->ztab;
	case FZ_NZ_BULK:
		*ng = sizeof(n->zbulk);
		return n->zbulk;
	default:
		*ng = 0;
		return NULL;
	}
}

/* First run of @need free granules at or after @from (below @to), or -1. */
static FZ_NOCOV __attribute__((noinline)) int free_run(const uint8_t *m, unsigned from, unsigned to, unsigned need)
{
	unsigned run = 0;

	for (unsigned k = from; k < to; k++) {
		run = m[k] ? 0 : run + 1;
		if (run == need)
			return (int)(k + 1 - need);
	}
	return -1;
}

int fz_zone_alloc(struct fz_net *n, enum fz_nzone z, uint32_t len, struct fz_nalloc *a)
{
	unsigned ng, need = (len + FZ_NET_GRAN - 1) / FZ_NET_GRAN;
	uint8_t *m = zone_map(n, z, &ng);
	int s;

	a->zone = (uint8_t)z;
	a->first = 0;
	a->count = 0;
	if (!m || need > ng)
		return -1;
	if (need == 0) {
		a->first = n->zcur[z] % ng;
		return 0;
	}
	s = free_run(m, n->zcur[z] % ng, ng, need);
	if (s < 0)
		s = free_run(m, 0, ng, need);
	if (s < 0)
		return -1;
	memset(m + s, 1, need);
	a->first = (uint16_t)s;
	a->count = (uint16_t)need;
	n->zcur[z] = (uint16_t)((s + need) % ng);
	if (z == FZ_NZ_BULK)
		n->bulk_used = true;
	return 0;
}

void fz_zone_free(struct fz_net *n, const struct fz_nalloc *a)
{
	unsigned ng;
	uint8_t *m = zone_map(n, (enum fz_nzone)a->zone, &ng);

	if (m && a->count && a->first < ng)
		memset(m + a->first, 0, a->first + a->count <= ng ? a->count : ng - a->first);
}

uint64_t fz_zone_gpa(const struct fz_net *n, enum fz_nzone z, uint32_t off)
{
	switch (z) {
	case FZ_NZ_BUF:
		return fz_data_gpa(&n->l, off % FZ_BUF_ZONE);
	case FZ_NZ_TAB:
		return fz_data_gpa(&n->l, FZ_BUF_ZONE + off % FZ_TAB_ZONE);
	case FZ_NZ_BULK:
		return n->l.chunk[0].gpa + n->bulk_off + off % FZ_NET_BULK;
	default:
		return FZ_NQ_UNMAPPED;
	}
}

uint8_t *fz_zone_host(const struct fz_net *n, enum fz_nzone z, uint32_t off)
{
	switch (z) {
	case FZ_NZ_BUF:
		return n->l.data + off % FZ_BUF_ZONE;
	case FZ_NZ_TAB:
		return n->l.data + FZ_BUF_ZONE + off % FZ_TAB_ZONE;
	case FZ_NZ_BULK:
		return n->l.arena + n->bulk_off + off % FZ_NET_BULK;
	default:
		return NULL;
	}
}

/* ---- arena granule maps ---------------------------------------------------- */

typedef void (*fz_range_fn)(struct fz_net *n, size_t lo, size_t hi, void *arg);

/* Call @fn on every arena range [lo, hi) that [gpa, gpa + len) maps to. */
static void for_pieces(struct fz_net *n, uint64_t gpa, uint32_t len, fz_range_fn fn, void *arg)
{
	struct iovec pc[FZ_MAX_CHUNKS + 1];
	int np;

	if (!len)
		return;
	/* a range wrapping 2^64 is refused by the device but still written by
	 * fz_ref_write up to 2^64: track that part */
	if (gpa && len > 0 - gpa)
		len = (uint32_t)(0 - gpa);
	np = fz_ref_pieces(&n->l, gpa, len, pc, VH_ARRAY_SIZE(pc));
	if (np < 0)
		np = -1 - np; /* the mapped pieces before the first gap */
	for (int i = 0; i < np && i < (int)VH_ARRAY_SIZE(pc); i++) {
		size_t lo = (size_t)((uint8_t *)pc[i].iov_base - n->l.arena);

		if ((uint8_t *)pc[i].iov_base < n->l.arena || lo >= n->l.arena_size)
			continue; /* outside the arena (huge region): not tracked */
		fn(n, lo, lo + pc[i].iov_len, arg);
	}
}

struct gmark {
	uint8_t *map;
	int delta;
	bool hit; /* some granule was already in use */
};

/* Granule loops over harness-owned maps, in forms the compiler vectorises. */
static FZ_NOCOV FZ_NOASAN void gmark_fn(struct fz_net *n, size_t lo, size_t hi, void *arg)
{
	struct gmark *g = arg;
	uint8_t *m = g->map + lo / FZ_NET_GRAN;
	size_t cnt = (hi - 1) / FZ_NET_GRAN - lo / FZ_NET_GRAN + 1;
	uint8_t any = 0;

	(void)n;
	if (g->delta >= 0) {
		for (size_t k = 0; k < cnt; k++)
			any |= m[k];
		g->hit |= any != 0;
	}
	if (g->delta > 0) {
		for (size_t k = 0; k < cnt; k++)
			m[k] = (uint8_t)(m[k] + (m[k] < 255));
	} else if (g->delta < 0) {
		for (size_t k = 0; k < cnt; k++)
			m[k] = (uint8_t)(m[k] - (m[k] != 0));
	}
}

static bool gmap_touch(struct fz_net *n, uint8_t *map, uint64_t gpa, uint32_t len, int delta)
{
	struct gmark g = { map, delta, false };

	for_pieces(n, gpa, len, gmark_fn, &g);
	return g.hit;
}

struct rng {
	size_t lo, hi;
	bool hit;
};

static FZ_NOCOV void overlap_fn(struct fz_net *n, size_t lo, size_t hi, void *arg)
{
	struct rng *r = arg;

	(void)n;
	if (lo < r->hi && r->lo < hi)
		r->hit = true;
}

/* Does [gpa, gpa + len) map onto any ring block? */
static bool hits_rings(struct fz_net *n, uint64_t gpa, uint32_t len)
{
	struct rng r = { 0, FZ_NR__COUNT * (size_t)FZ_NET_RING_BLOCK, false };

	for_pieces(n, gpa, len, overlap_fn, &r);
	return r.hit;
}

struct maxck {
	const uint8_t *map;
	bool over;
};

static FZ_NOCOV FZ_NOASAN void max1_fn(struct fz_net *n, size_t lo, size_t hi, void *arg)
{
	struct maxck *ck = arg;
	uint8_t over = 0;

	(void)n;
	for (size_t k = lo / FZ_NET_GRAN; k <= (hi - 1) / FZ_NET_GRAN; k++)
		over |= ck->map[k] > 1;
	ck->over |= over != 0;
}

bool fz_nq_chain_exclusive(struct fz_net *n, const struct fz_nchain *c)
{
	for (unsigned i = 0; i < c->nbuf; i++) {
		const struct fz_nbuf *b = &c->buf[i];
		struct maxck ck = { n->gbuf, false };

		if (!b->len)
			continue;
		for_pieces(n, b->gpa, b->len, max1_fn, &ck);
		if (ck.over)
			return false;
	}
	return true;
}

static FZ_NOCOV void fill_fn(struct fz_net *n, size_t lo, size_t hi, void *arg)
{
	memset(n->l.arena + lo, *(const uint8_t *)arg, hi - lo);
}

void fz_nq_fill(struct fz_net *n, uint64_t gpa, uint32_t len, uint8_t v)
{
	for_pieces(n, gpa, len, fill_fn, &v);
}

void fz_nq_sanitise(struct fz_net *n, struct fz_nbuf *b, unsigned nb)
{
	for (unsigned i = 0; i < nb; i++) {
		if (!b[i].len)
			continue;
		if (hits_rings(n, b[i].gpa, b[i].len) ||
		    gmap_touch(n, n->gtab, b[i].gpa, b[i].len, 0))
			b[i].gpa = FZ_NQ_UNMAPPED + 4096u * i;
	}
}

/* ---- model setup ------------------------------------------------------------- */

void fz_nq_setup(struct fz_net *n, struct fz_nq *q, uint16_t size, bool packed, uint64_t features)
{
	uint8_t *blk = n->l.arena + q->ring_off;
	uint64_t base = n->l.chunk[0].gpa + q->ring_off;

	/* retire whatever the old model held: its allocations go back */
	for (unsigned i = 0; q->ch && i < q->size; i++)
		if (q->ch[i].live)
			fz_nq_retire(n, q, &q->ch[i]);
	free(q->ch);
	q->ch = calloc(size, sizeof(*q->ch));
	FZ_CHECK(q->ch, "out of memory");
	memset(blk, 0, FZ_NET_RING_BLOCK);
	q->active = true;
	q->dirty = false;
	q->packed = packed;
	q->event_idx = features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	q->size = size;
	q->desc_gpa = base;
	q->drv_gpa = base + 4096;
	q->dev_gpa = base + 8192;
	q->desc = blk;
	q->drv = blk + 4096;
	q->dev = blk + 8192;
	q->desc_len = 16u * size;
	q->drv_len = packed ? 4 : 6 + 2u * size;
	q->dev_len = packed ? 4 : 6 + 8u * size;
	q->avail_idx = q->used_idx = 0;
	q->next_slot = q->used_slot = 0;
	q->next_wrap = q->used_wrap = true;
	q->free_slots = size;
	q->desc_cur = q->id_cur = 0;
	for (unsigned i = 0; i < FZ_NET_MAX_QSIZE; i++)
		q->owner[i] = -1;
	q->nlive = 0;
	q->ncpl = 0;
	q->saved_valid = false;
	memset(&q->saved, 0, sizeof(q->saved));
	q->saved.avail_wrap = q->saved.used_wrap = true;
}

bool fz_nq_room(const struct fz_nq *q, unsigned nd)
{
	unsigned freed = 0;

	if (!q->active || nd == 0 || nd > q->size)
		return false;
	if (q->packed)
		return q->free_slots >= nd;
	for (unsigned i = 0; i < q->size && freed < nd; i++)
		freed += q->owner[i] < 0;
	return freed >= nd;
}

/* ---- posting ------------------------------------------------------------------ */

/* Write one ring descriptor (split layout or packed layout). */
static void put_desc(uint8_t *d, bool packed, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next_or_id)
{
	st64(d, addr);
	st32(d + 8, len);
	if (packed) {
		st16(d + 12, next_or_id);
		st16(d + 14, flags);
	} else {
		st16(d + 12, flags);
		st16(d + 14, next_or_id);
	}
}

/*
 * The reference walk over the model: would the core accept this chain?
 * Mirrors the chain rules of core/virtq_chain.c's theory block.
 */
static enum fz_nexp ref_walk(struct fz_net *n, const struct fz_nq *q, const struct fz_nbuf *b,
			     unsigned nbuf, bool indirect, unsigned prefix, uint64_t tab_gpa,
			     unsigned iov_cap, uint32_t *out, uint32_t *in)
{
	uint64_t total = 0;
	unsigned iovs = 0;
	bool in_seen = false;

	*out = *in = 0;
	if (nbuf > q->size)
		return FZ_NX_BAD; /* chain longer than the queue */
	if (indirect) {
		uint32_t tlen = 16u * (nbuf - prefix);

		if (!q->indirect || nbuf - prefix > q->size ||
		    fz_ref_pieces(&n->l, tab_gpa, tlen, NULL, 0) < 0)
			return FZ_NX_BAD;
	}
	for (unsigned i = 0; i < nbuf; i++) {
		int np;

		if (b[i].write)
			in_seen = true;
		else if (in_seen)
			return FZ_NX_BAD; /* readable after writable */
		if (!b[i].len)
			continue;
		total += b[i].len;
		if (total > UINT32_MAX)
			return FZ_NX_BAD;
		np = fz_ref_pieces(&n->l, b[i].gpa, b[i].len, NULL, 0);
		if (np < 0)
			return FZ_NX_BAD;
		iovs += (unsigned)np;
		if (iovs > iov_cap)
			return FZ_NX_BAD;
		if (b[i].write)
			*in += b[i].len;
		else
			*out += b[i].len;
	}
	return FZ_NX_GOOD;
}

/* Pick a free buffer id (packed). */
static int free_id(struct fz_nq *q)
{
	for (unsigned k = 0; k < q->size; k++) {
		uint16_t id = (uint16_t)((q->id_cur + k) % q->size);

		if (!q->ch[id].live) {
			q->id_cur = (uint16_t)((id + 1) % q->size);
			return id;
		}
	}
	return -1;
}

/* Pick @nd free descriptors (split), in @slot, rotating from desc_cur. */
static bool free_descs(struct fz_nq *q, unsigned nd, uint16_t *slot)
{
	unsigned got = 0;

	for (unsigned k = 0; k < q->size && got < nd; k++) {
		uint16_t s = (uint16_t)((q->desc_cur + k) % q->size);

		if (q->owner[s] < 0)
			slot[got++] = s;
	}
	if (got < nd)
		return false;
	q->desc_cur = (uint16_t)((slot[nd - 1] + 1) % q->size);
	return true;
}

struct fz_nchain *fz_nq_post(struct fz_net *n, struct fz_nq *q, const struct fz_nbuf *b,
			     unsigned nbuf, bool indirect, unsigned prefix, unsigned iov_cap,
			     const struct fz_nalloc *al, unsigned nal)
{
	struct fz_nbuf buf[FZ_NET_MAX_BUF];
	struct fz_nalloc tal = { FZ_NZ_NONE, 0, 0 };
	uint16_t slot[FZ_NET_MAX_BUF + 1];
	unsigned nring, ntab = 0;
	uint64_t tab_gpa = 0;
	struct fz_nchain *c;
	int id;

	if (!q->active || nbuf == 0 || nbuf > FZ_NET_MAX_BUF)
		goto fail;
	if (!indirect)
		prefix = nbuf;
	if (prefix > nbuf)
		prefix = nbuf;
	if (indirect && prefix == nbuf)
		indirect = false;
	nring = indirect ? prefix + 1 : nbuf;
	if (!fz_nq_room(q, nring))
		goto fail;
	memcpy(buf, b, nbuf * sizeof(*b));

	/* Keep device writes away from descriptors and tables (see top). */
	for (unsigned i = 0; i < nbuf; i++) {
		if (!buf[i].len)
			continue;
		if (hits_rings(n, buf[i].gpa, buf[i].len) ||
		    (buf[i].write && gmap_touch(n, n->gtab, buf[i].gpa, buf[i].len, 0)))
			buf[i].gpa = FZ_NQ_UNMAPPED + 4096u * i;
	}
	if (indirect) {
		ntab = nbuf - prefix;
		if (fz_zone_alloc(n, FZ_NZ_TAB, 16u * ntab, &tal))
			goto fail;
		tab_gpa = fz_zone_gpa(n, FZ_NZ_TAB, tal.first * FZ_NET_GRAN);
		/* a table under a live writable buffer could be rewritten by the
		 * device before it is read: outside the model */
		if (gmap_touch(n, n->gwr, tab_gpa, 16u * ntab, 0))
			q->dirty = true;
		/* The granules are contiguous in the zone, the table in guest-
		 * physical space: where the zone's data chunk ends before the
		 * table does, the table runs on into whatever chunk follows in
		 * GPA order (other chains' tables or buffers, which it
		 * overwrites): outside the model too.  (Found by the CI fuzz
		 * smoke of fuzz_net_tx: a table written over an earlier chain's
		 * one-entry table; corpus/net_tx/crash-table-runs-into-next-chunk.bin.) */
		if (fz_ref_host(&n->l, tab_gpa, 16u * ntab) !=
		    fz_zone_host(n, FZ_NZ_TAB, tal.first * FZ_NET_GRAN))
			q->dirty = true;
	}

	if (q->packed) {
		id = free_id(q);
	} else {
		if (!free_descs(q, nring, slot))
			id = -1;
		else
			id = slot[0];
	}
	if (id < 0) {
		fz_zone_free(n, &tal);
		goto fail;
	}
	c = &q->ch[id];
	memset(c, 0, sizeof(*c));
	c->id = (uint16_t)id;
	c->nbuf = (uint8_t)nbuf;
	memcpy(c->buf, buf, nbuf * sizeof(*buf));
	c->expect = (uint8_t)ref_walk(n, q, buf, nbuf, indirect, prefix, tab_gpa, iov_cap,
				      &c->out_bytes, &c->in_bytes);
	if (q->dirty)
		c->expect = FZ_NX_UNKNOWN;
	memcpy(c->alloc, al, nal * sizeof(*al));
	c->nalloc = (uint8_t)nal;
	if (tal.zone != FZ_NZ_NONE)
		c->alloc[c->nalloc++] = tal;
	c->seq = q->seq++;
	c->nslots = (uint16_t)nring;

	/* overlap bookkeeping */
	for (unsigned i = 0; i < nbuf; i++) {
		if (!buf[i].len)
			continue;
		if (gmap_touch(n, n->gbuf, buf[i].gpa, buf[i].len, 1))
			c->alias = true;
		if (buf[i].write)
			gmap_touch(n, n->gwr, buf[i].gpa, buf[i].len, 1);
	}
	if (indirect)
		gmap_touch(n, n->gtab, tab_gpa, 16u * ntab, 1);

	/* the table first, then the ring */
	for (unsigned i = 0; i < ntab; i++) {
		const struct fz_nbuf *e = &buf[prefix + i];
		uint8_t raw[16];
		uint16_t fl = e->write ? VRING_DESC_F_WRITE : 0;

		if (!q->packed && i + 1 < ntab)
			fl |= VRING_DESC_F_NEXT;
		put_desc(raw, q->packed, e->gpa, e->len, fl, q->packed ? 0 : (uint16_t)(i + 1));
		fz_ref_write(&n->l, tab_gpa + 16u * i, raw, sizeof(raw));
	}

	if (!q->packed) {
		for (unsigned i = 0; i < nring; i++) {
			bool last = i + 1 == nring, tab = indirect && last;
			uint16_t fl = last ? 0 : VRING_DESC_F_NEXT;
			uint64_t addr = tab ? tab_gpa : buf[i].gpa;
			uint32_t len = tab ? 16u * ntab : buf[i].len;

			if (!tab && buf[i].write)
				fl |= VRING_DESC_F_WRITE;
			if (tab)
				fl |= VRING_DESC_F_INDIRECT;
			put_desc(q->desc + 16u * slot[i], false, addr, len, fl,
				 last ? 0 : slot[i + 1]);
			q->owner[slot[i]] = (int16_t)id;
		}
		c->start = q->avail_idx;
		st16(q->drv + 4 + 2u * (q->avail_idx & (q->size - 1)), (uint16_t)id);
		q->avail_idx++;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		st16(q->drv + 2, q->avail_idx);
	} else {
		uint16_t s = q->next_slot, head_flags = 0;
		bool w = q->next_wrap;

		c->start = s;
		c->start_wrap = w;
		for (unsigned i = 0; i < nring; i++) {
			bool last = i + 1 == nring, tab = indirect && last;
			uint16_t fl = last ? 0 : VRING_DESC_F_NEXT;
			uint64_t addr = tab ? tab_gpa : buf[i].gpa;
			uint32_t len = tab ? 16u * ntab : buf[i].len;

			if (!tab && buf[i].write)
				fl |= VRING_DESC_F_WRITE;
			if (tab)
				fl |= VRING_DESC_F_INDIRECT;
			fl |= w ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
			/* head flags last (2.8.21) */
			put_desc(q->desc + 16u * s, true, addr, len, i ? fl : 0, (uint16_t)id);
			if (!i)
				head_flags = fl;
			if (++s == q->size) {
				s = 0;
				w = !w;
			}
		}
		__atomic_thread_fence(__ATOMIC_RELEASE);
		st16(q->desc + 16u * c->start + 14, head_flags);
		q->next_slot = s;
		q->next_wrap = w;
		q->free_slots = (uint16_t)(q->free_slots - nring);
	}
	c->live = true;
	q->nlive++;
	if (n->trace)
		fprintf(stderr,
			"nq %u: post id %u seq %u: %u bufs%s (%u ring) out %u in %u -> %s%s\n",
			q->qidx, c->id, c->seq, nbuf, indirect ? " indirect" : "", nring,
			c->out_bytes, c->in_bytes,
			c->expect == FZ_NX_GOOD	 ? "good"
			: c->expect == FZ_NX_BAD ? "bad"
						 : "?",
			c->alias ? " alias" : "");
	if (n->trace && getenv("FZ_TRACE_BUFS")) {
		for (unsigned i = 0; i < nbuf; i++)
			fprintf(stderr, "    %c %#llx+%u\n", buf[i].write ? 'w' : 'r',
				(unsigned long long)buf[i].gpa, buf[i].len);
		if (indirect)
			fprintf(stderr, "    table %#llx+%u\n", (unsigned long long)tab_gpa,
				16 * ntab);
	}
	return c;
fail:
	for (unsigned i = 0; i < nal; i++)
		fz_zone_free(n, &al[i]);
	return NULL;
}

void fz_nq_retire(struct fz_net *n, struct fz_nq *q, struct fz_nchain *c)
{
	if (!c->live)
		return;
	for (unsigned i = 0; i < c->nbuf; i++) {
		if (!c->buf[i].len)
			continue;
		gmap_touch(n, n->gbuf, c->buf[i].gpa, c->buf[i].len, -1);
		if (c->buf[i].write)
			gmap_touch(n, n->gwr, c->buf[i].gpa, c->buf[i].len, -1);
	}
	for (unsigned i = 0; i < c->nalloc; i++) {
		if (c->alloc[i].zone == FZ_NZ_TAB) {
			uint64_t g = fz_zone_gpa(n, FZ_NZ_TAB, c->alloc[i].first * FZ_NET_GRAN);

			gmap_touch(n, n->gtab, g, c->alloc[i].count * FZ_NET_GRAN, -1);
		}
		fz_zone_free(n, &c->alloc[i]);
	}
	if (!q->packed) {
		for (unsigned i = 0; i < q->size; i++)
			if (q->owner[i] == (int16_t)c->id)
				q->owner[i] = -1;
	} else {
		q->free_slots = (uint16_t)(q->free_slots + c->nslots);
		if (q->free_slots > q->size)
			q->free_slots = q->size;
	}
	c->live = false;
	q->nlive--;
}

/* ---- completions -------------------------------------------------------------- */

static void add_cpl(struct fz_nq *q, uint16_t id, uint32_t len)
{
	if (q->ncpl < VH_ARRAY_SIZE(q->cpl))
		q->cpl[q->ncpl++] = (struct fz_ncpl){ id, len };
}

void fz_nq_collect(struct fz_net *n, struct fz_nq *q)
{
	(void)n;
	q->ncpl = 0;
	if (!q->active)
		return;
	if (!q->packed) {
		uint16_t now = ld16(q->dev + 2), cnt = (uint16_t)(now - q->used_idx);

		if (!q->dirty)
			FZ_CHECK(cnt <= q->nlive,
				 "queue %u: used idx moved by %u with %u chains outstanding",
				 q->qidx, cnt, q->nlive);
		if (cnt > q->size) {
			q->dirty = true;
			q->used_idx = now;
			return;
		}
		for (unsigned k = 0; k < cnt; k++) {
			const uint8_t *e = q->dev + 4 + 8u * ((q->used_idx + k) & (q->size - 1));
			uint32_t id = ld32(e), len = ld32(e + 4);

			if (!q->dirty)
				FZ_CHECK(id < q->size && q->ch[id].live,
					 "queue %u: used[%u] returns id %u, which is not "
					 "outstanding",
					 q->qidx, (uint16_t)(q->used_idx + k), id);
			if (id < q->size && q->ch[id].live) {
				add_cpl(q, (uint16_t)id, len);
				q->ch[id].live = false; /* a second return fails above */
			}
		}
		for (unsigned k = 0; k < q->ncpl; k++)
			q->ch[q->cpl[k].id].live = true;
		q->used_idx = now;
		return;
	}
	for (unsigned k = 0; k < q->size; k++) {
		const uint8_t *d = q->desc + 16u * q->used_slot;
		uint16_t fl = ld16(d + 14), id = ld16(d + 12);
		bool av = fl & VRING_PACKED_DESC_F_AVAIL, us = fl & VRING_PACKED_DESC_F_USED;
		uint32_t len = ld32(d + 8), step;

		if (av != q->used_wrap || us != q->used_wrap)
			break;
		if (id >= q->size || !q->ch[id].live) {
			FZ_CHECK(q->dirty, "queue %u: used slot %u returns id %u, not outstanding",
				 q->qidx, q->used_slot, id);
			break;
		}
		if (!q->dirty)
			FZ_CHECK(!!(fl & VRING_DESC_F_WRITE) == (len != 0),
				 "queue %u: used slot %u: WRITE flag %d with len %u", q->qidx,
				 q->used_slot, !!(fl & VRING_DESC_F_WRITE), len);
		add_cpl(q, id, len);
		step = q->ch[id].nslots;
		/* mark it so a second used descriptor for it in this batch fails */
		q->ch[id].live = false;
		q->used_slot = (uint16_t)(q->used_slot + step);
		if (q->used_slot >= q->size) {
			q->used_slot = (uint16_t)(q->used_slot - q->size);
			q->used_wrap = !q->used_wrap;
		}
	}
	for (unsigned k = 0; k < q->ncpl; k++)
		q->ch[q->cpl[k].id].live = true;
}

/* ---- stop ----------------------------------------------------------------------- */

static uint32_t lap(const struct fz_nq *q, uint16_t s, bool w)
{
	return s + (w ? 0u : q->size);
}

static uint32_t pdist(const struct fz_nq *q, uint16_t a, bool aw, uint16_t b, bool bw)
{
	uint32_t m = 2u * q->size;

	return (lap(q, b, bw) + m - lap(q, a, aw)) % m;
}

void fz_nq_check_unconsumed(const struct fz_nq *q, const struct vq_state *st)
{
	if (q->dirty)
		return;
	for (unsigned i = 0; i < q->size; i++) {
		const struct fz_nchain *c = &q->ch[i];

		if (!c->live)
			continue;
		if (!q->packed) {
			uint16_t left = (uint16_t)(q->avail_idx - st->avail_idx);

			FZ_CHECK((uint16_t)(c->start - st->avail_idx) < left,
				 "queue %u: chain %u (avail %u) was popped but never returned "
				 "(device stopped at avail %u)",
				 q->qidx, c->id, c->start, st->avail_idx);
		} else {
			uint32_t left =
				pdist(q, st->avail_idx, st->avail_wrap, q->next_slot, q->next_wrap);

			FZ_CHECK(pdist(q, st->avail_idx, st->avail_wrap, c->start, c->start_wrap) <
					 left,
				 "queue %u: chain id %u (slot %u) was popped but never returned "
				 "(device stopped at slot %u wrap %d)",
				 q->qidx, c->id, c->start, st->avail_idx, st->avail_wrap);
		}
	}
}

/* ---- write oracle --------------------------------------------------------------- */

static bool in_area(const uint8_t *p, const uint8_t *a, size_t len, const uint8_t **end)
{
	if (p >= a && p < a + len) {
		*end = a + len;
		return true;
	}
	return false;
}

struct wfind {
	size_t o;
	size_t end;
	bool hit;
};

static FZ_NOCOV void wfind_fn(struct fz_net *n, size_t lo, size_t hi, void *arg)
{
	struct wfind *w = arg;

	(void)n;
	if (!w->hit && w->o >= lo && w->o < hi) {
		w->hit = true;
		w->end = hi;
	}
}

bool fz_nq_ring_write_ok(const struct fz_net *n, const struct fz_nq *q, const uint8_t *p,
			const uint8_t **end)
{
	/* The negotiated format may not be the one the driver laid the ring
	 * out in (SET_FEATURES between split and packed, which makes every
	 * queue dirty, then a kick restarts the ring from the layout the
	 * server kept): the device then owns that format's areas at the same
	 * addresses, the split used ring (avail_event included) or the whole
	 * packed ring. */
	bool packed_now = n->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	bool other = n->features_ok && q->packed != packed_now;
	size_t dev_len = q->dev_len;

	if (other && dev_len < vring_used_bytes(q->size))
		dev_len = (size_t)vring_used_bytes(q->size);
	if (in_area(p, q->dev, dev_len, end))
		return true;
	if ((q->packed || other) && p >= q->desc && p < q->desc + q->desc_len) {
		/*
		 * The window the driver gave away: from its used position, as
		 * many slots as live chains hold.  Used descriptors land there
		 * in completion order, not on the completed chains' own slots.
		 */
		uint16_t s = (uint16_t)((p - q->desc) / 16);
		uint32_t d = (s + q->size - q->pre_used_slot) % q->size;

		if (d < q->pre_window || q->dirty || other) {
			*end = q->desc + 16u * (s + 1u);
			return true;
		}
	}
	return false;
}

bool fz_nq_write_ok(const struct fz_net *n, const struct fz_nq *q, const uint8_t *p,
		    const uint8_t **end)
{
	struct fz_net *nn = (struct fz_net *)n;
	size_t o = (size_t)(p - n->l.arena);

	if (!q->active && !q->pre_active)
		return false;
	if (fz_nq_ring_write_ok(n, q, p, end))
		return true;
	if (q->packed && p >= q->desc && p < q->desc + q->desc_len)
		return false;
	if (q->role == FZ_NR_TX)
		return false;
	/* RX / control: writable buffers of live chains the core may pop */
	if (!nn->gwr[o / FZ_NET_GRAN])
		return false;
	for (unsigned i = 0; i < q->size; i++) {
		const struct fz_nchain *c = &q->ch[i];

		if (!c->live || c->expect == FZ_NX_BAD)
			continue;
		for (unsigned k = 0; k < c->nbuf; k++) {
			struct wfind w = { o, 0, false };

			if (!c->buf[k].write || !c->buf[k].len)
				continue;
			for_pieces(nn, c->buf[k].gpa, c->buf[k].len, wfind_fn, &w);
			if (w.hit) {
				*end = n->l.arena + w.end;
				return true;
			}
		}
	}
	return false;
}
