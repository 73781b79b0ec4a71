// SPDX-License-Identifier: Apache-2.0
/*
 * virtq_chain.c - the one chain builder shared by split and packed rings.
 *
 * Theory of operation
 * -------------------
 * The ring files copy each descriptor once into a struct vq_desc and call
 * vq_walk_desc().  Properties guaranteed for a chain that comes out clean:
 *
 *  - at most queue-size buffer descriptors, direct and indirect together
 *    (the descriptor that points at an indirect table is not a buffer and is
 *    not counted, so a table of exactly queue-size entries is legal);
 *  - zero-length descriptors produce no iovec but are counted;
 *  - every device-readable descriptor precedes every device-writable one
 *    (VIRTIO 1.2, 2.7.4.2);
 *  - every buffer lies in guest memory; a buffer crossing regions becomes one
 *    iovec per region and the caller's capacity is checked per iovec;
 *  - out_bytes + in_bytes <= UINT32_MAX (2.7.5.2);
 *  - indirect tables: feature negotiated, not nested, not combined with NEXT,
 *    length a non-zero multiple of 16 and at most queue-size entries, the
 *    whole table mapped (it may span adjacent regions, entries are then
 *    copied with gmem_read), WRITE on the pointing descriptor ignored
 *    (2.7.5.3.2); indirect may follow direct descriptors.
 *
 * Split tables chain their entries by `next` from entry 0; packed tables are
 * read sequentially and NEXT inside them is ignored (2.8.19).
 */
#include "core/virtq_internal.h"

#include <endian.h>
#include <errno.h>

void vq_walk_begin(struct vq_walk *w, struct vq_chain *c)
{
	c->n_out = 0;
	c->n_in = 0;
	c->out_bytes = 0;
	c->in_bytes = 0;
	c->ndesc = 0;
	c->nslots = 0;
	c->fault = VQ_F_NONE;
	w->c = c;
	w->in_seen = false;
}

/* A buffer descriptor (not an indirect pointer). */
static enum vq_fault walk_buf(struct vq *vq, struct vq_walk *w, const struct vq_desc *d)
{
	struct vq_chain *c = w->c;
	unsigned used = (unsigned)c->n_out + c->n_in, k = 0;
	int r;

	if (++c->ndesc > vq->size)
		return VQ_F_CHAIN_LONG;
	if (d->flags & VRING_DESC_F_WRITE)
		w->in_seen = true;
	else if (w->in_seen)
		return VQ_F_ORDER;
	if (d->len == 0)
		return VQ_F_NONE;
	if ((uint64_t)c->out_bytes + c->in_bytes + d->len > UINT32_MAX)
		return VQ_F_TOO_BIG;

	r = gmem_map_iov(vq->gm, d->addr, d->len, c->iov + used, c->iov_cap - used, &k);
	if (r == -E2BIG)
		return VQ_F_IOV_CAP;
	if (r)
		return VQ_F_ADDR;

	if (d->flags & VRING_DESC_F_WRITE) {
		c->n_in = (uint16_t)(c->n_in + k);
		c->in_bytes += d->len;
	} else {
		c->n_out = (uint16_t)(c->n_out + k);
		c->out_bytes += d->len;
	}
	return VQ_F_NONE;
}

/*
 * Copy entry @i of an indirect table.  @tab is the host mapping when the table
 * lies in one region (aligned loads, one per field), else NULL and the entry
 * is copied with gmem_read from @gpa.  Entries have the ring's own layout:
 * split {addr, len, flags, next}, packed {addr, len, id, flags} (2.8.19).
 */
static int read_table_entry(const struct vq *vq, const void *tab, uint64_t gpa, uint32_t i,
			    struct vq_desc *d)
{
	union {
		struct vring_desc s;
		struct vring_packed_desc p;
	} raw;

	if (tab && vq->fmt == VQ_FMT_PACKED) {
		const struct vring_packed_desc *e = (const struct vring_packed_desc *)tab + i;

		raw.p.addr = vh_load(&e->addr);
		raw.p.len = vh_load(&e->len);
		raw.p.id = vh_load(&e->id);
		raw.p.flags = vh_load(&e->flags);
	} else if (tab) {
		const struct vring_desc *e = (const struct vring_desc *)tab + i;

		raw.s.addr = vh_load(&e->addr);
		raw.s.len = vh_load(&e->len);
		raw.s.flags = vh_load(&e->flags);
		raw.s.next = vh_load(&e->next);
	} else if (gmem_read(vq->gm, gpa + 16ULL * i, &raw, sizeof(raw))) {
		return -EFAULT;
	}
	d->addr = le64toh(raw.s.addr);
	d->len = le32toh(raw.s.len);
	if (vq->fmt == VQ_FMT_PACKED) {
		d->flags = le16toh(raw.p.flags);
		d->next = le16toh(raw.p.id);
	} else {
		d->flags = le16toh(raw.s.flags);
		d->next = le16toh(raw.s.next);
	}
	return 0;
}

static enum vq_fault walk_indirect(struct vq *vq, struct vq_walk *w, const struct vq_desc *ind)
{
	const void *tab;
	uint32_t n, i = 0;

	if (!vq->indirect)
		return VQ_F_IND_NOT_NEG;
	if (ind->flags & VRING_DESC_F_NEXT)
		return VQ_F_IND_NEXT;
	if (ind->len == 0 || ind->len % 16)
		return VQ_F_IND_LEN;
	n = ind->len / 16;
	if (n > vq->size)
		return VQ_F_IND_SIZE;
	if (gmem_check(vq->gm, ind->addr, ind->len))
		return VQ_F_IND_ADDR;
	/* Fast path: one region and naturally aligned for per-field loads. */
	tab = (ind->addr % 8) ? NULL : gmem_translate(vq->gm, ind->addr, ind->len);

	for (;;) {
		struct vq_desc d;
		enum vq_fault f;

		if (read_table_entry(vq, tab, ind->addr, i, &d))
			return VQ_F_IND_ADDR;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return VQ_F_IND_NESTED;
		f = walk_buf(vq, w, &d);
		if (f)
			return f;
		if (vq->fmt == VQ_FMT_PACKED) {
			if (++i == n)
				return VQ_F_NONE;
			continue;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VQ_F_NONE;
		if (d.next >= n)
			return VQ_F_NEXT_RANGE;
		i = d.next; /* loops end at the queue-size count in walk_buf */
	}
}

enum vq_fault vq_walk_desc(struct vq *vq, struct vq_walk *w, const struct vq_desc *d)
{
	if (d->flags & VRING_DESC_F_INDIRECT)
		return walk_indirect(vq, w, d);
	return walk_buf(vq, w, d);
}
