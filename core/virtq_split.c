// SPDX-License-Identifier: Apache-2.0
/*
 * virtq_split.c - split ring accessors (VIRTIO 1.2, 2.7).
 *
 * Theory of operation
 * -------------------
 * The only code that touches split ring memory.  The driver-written avail
 * index is read once per batch and cached in shadow_avail (seed 001: the
 * availability check is read-only and cheap); the avail index may never move
 * more than the queue size ahead of what we consumed (A6).  A head is consumed
 * (last_avail advanced) before it is validated, so a bad head is never
 * examined twice.  Used entries are written immediately but only become
 * visible when used->idx is stored with release semantics in
 * vq_publish_split(), once per batch.
 */
#include "core/virtq_internal.h"

#include <endian.h>
#include <errno.h>

/* used_event lives after the avail ring, avail_event after the used ring. */
static inline uint16_t *used_event_ptr(struct vq *vq)
{
	return &vq->r.split.avail->ring[vq->size];
}

static inline uint16_t *avail_event_ptr(struct vq *vq)
{
	return (uint16_t *)&vq->r.split.used->ring[vq->size];
}

int vq_start_split(struct vq *vq, const struct vq_cfg *cfg)
{
	uint32_t n = cfg->size;
	uint16_t used;

	if (n & (n - 1))
		return -EINVAL;
	if ((cfg->desc & 15) || (cfg->driver & 1) || (cfg->device & 3))
		return -EINVAL;
	vq->r.split.desc = gmem_translate(vq->gm, cfg->desc, vring_desc_bytes(n));
	vq->r.split.avail = gmem_translate(vq->gm, cfg->driver, vring_avail_bytes(n));
	vq->r.split.used = gmem_translate(vq->gm, cfg->device, vring_used_bytes(n));
	if (!vq->r.split.desc || !vq->r.split.avail || !vq->r.split.used)
		return -EFAULT;

	/*
	 * Resume: the next avail index comes from the frontend, the used index
	 * from the ring.  More than a queue's worth between them is garbage.
	 */
	used = le16toh(vh_load(&vq->r.split.used->idx));
	if ((uint16_t)(cfg->base.avail_idx - used) > n)
		return -EINVAL;
	vq->last_avail = cfg->base.avail_idx;
	vq->shadow_avail = cfg->base.avail_idx;
	vq->used_idx = used;
	return 0;
}

enum vq_status vq_pop_split(struct vq *vq, struct vq_chain *c)
{
	struct vq_walk w;
	uint16_t head, i;
	enum vq_status st;

	if (vq->last_avail == vq->shadow_avail) {
		/* Acquire pairs with the driver's write barrier before its idx
		 * store: ring entries up to idx are visible after this load. */
		uint16_t idx = le16toh(vh_load_acquire(&vq->r.split.avail->idx));

		if (vh_unlikely((uint16_t)(idx - vq->last_avail) > vq->size))
			return vq_set_broken(vq, VQ_F_AVAIL_IDX);
		vq->shadow_avail = idx;
		if (idx == vq->last_avail)
			return VQ_EMPTY;
	}

	head = le16toh(vh_load(&vq->r.split.avail->ring[vq->last_avail & vq->mask]));
	vq->last_avail++;
	st = vq_claim(vq, head, VQ_F_HEAD_RANGE);
	if (st != VQ_OK)
		return st;

	vq_walk_begin(&w, c);
	c->id = head;
	c->nslots = 1;
	for (i = head;;) {
		const struct vring_desc *p = &vq->r.split.desc[i];
		struct vq_desc d;

		/* The single fetch: every decision below uses the copy. */
		d.addr = le64toh(vh_load(&p->addr));
		d.len = le32toh(vh_load(&p->len));
		d.flags = le16toh(vh_load(&p->flags));
		d.next = le16toh(vh_load(&p->next));

		c->fault = vq_walk_desc(vq, &w, &d);
		if (c->fault || (d.flags & VRING_DESC_F_INDIRECT) || !(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			c->fault = VQ_F_NEXT_RANGE;
			break;
		}
		i = d.next; /* a loop ends at the queue-size count in the walker */
	}
	return VQ_OK;
}

void vq_stage_split(struct vq *vq, uint16_t id, uint32_t len)
{
	struct vring_used_elem *e = &vq->r.split.used->ring[vq->used_idx & vq->mask];

	vh_store(&e->id, htole32(id));
	vh_store(&e->len, htole32(len));
	gmem_log_gpa(vq->gm, vq->device_gpa + 4 + 8ULL * (vq->used_idx & vq->mask), 8);
	vq->used_idx++;
	vq->staged++;
}

void vq_publish_split(struct vq *vq)
{
	/* Release: the used elements written by vq_stage_split are visible
	 * before the index that exposes them (2.7.8.2). */
	vh_store_release(&vq->r.split.used->idx, htole16(vq->used_idx));
	gmem_log_gpa(vq->gm, vq->device_gpa + 2, 2);
}

bool vq_need_signal_split(struct vq *vq)
{
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx;
	bool valid = vq->signalled_valid;

	/* Full fence: our used->idx store must be visible before we read the
	 * driver's suppression state, pairing with the driver's barrier between
	 * updating used_event/flags and re-reading used->idx. */
	vh_full_fence();
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (vq->event_idx) {
		uint16_t ev = le16toh(vh_load(used_event_ptr(vq)));

		return !valid || vring_need_event(ev, new_idx, old);
	}
	return !(le16toh(vh_load(&vq->r.split.avail->flags)) & VRING_AVAIL_F_NO_INTERRUPT);
}

bool vq_enable_notify_split(struct vq *vq)
{
	if (vq->event_idx) {
		vh_store(avail_event_ptr(vq), htole16(vq->last_avail));
		gmem_log_gpa(vq->gm, vq->device_gpa + 4 + 8ULL * vq->size, 2);
	} else if (!vq->notify_armed) {
		vh_store(&vq->r.split.used->flags, htole16(0));
		gmem_log_gpa(vq->gm, vq->device_gpa, 2);
	}
	vq->notify_armed = true;

	/* Full fence: the arming store must be visible before we re-read the
	 * avail index, pairing with the driver's barrier between its idx store
	 * and its read of flags/avail_event.  Otherwise a buffer added in the
	 * window would be neither seen nor kicked (seeds 001, 002). */
	vh_full_fence();
	/* Entries already cached (shadow_avail) are work too, whatever the
	 * guest has since done to avail->idx. */
	if (vq->last_avail != vq->shadow_avail)
		return false;
	return le16toh(vh_load_acquire(&vq->r.split.avail->idx)) == vq->last_avail;
}

void vq_disable_notify_split(struct vq *vq)
{
	/* With EVENT_IDX the driver kicks once when it passes avail_event;
	 * leaving avail_event behind is the suppression, no write needed. */
	if (!vq->event_idx) {
		vh_store(&vq->r.split.used->flags, htole16(VRING_USED_F_NO_NOTIFY));
		gmem_log_gpa(vq->gm, vq->device_gpa, 2);
	}
	vq->notify_armed = false;
}

bool vq_has_work_split(struct vq *vq)
{
	if (vq->last_avail != vq->shadow_avail)
		return true;
	return le16toh(vh_load_acquire(&vq->r.split.avail->idx)) != vq->last_avail;
}
