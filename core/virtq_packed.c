// SPDX-License-Identifier: Apache-2.0
/*
 * virtq_packed.c - packed ring accessors (VIRTIO 1.2, 2.8).
 *
 * Theory of operation
 * -------------------
 * The only code that touches packed ring memory.  A slot is available when
 * its AVAIL bit equals our avail wrap counter and its USED bit does not
 * (2.8.1).  Availability is decided on the flags word alone (one 16-bit load,
 * seed 001); the rest of the descriptor is copied after an acquire fence that
 * pairs with the driver's barrier before it flips the head's flags.  The driver
 * makes the head available last (2.8.21), so every later slot of the chain must
 * already be available with the (possibly flipped) wrap counter: if not, or if
 * the chain is longer than the ring, its end cannot be found and the queue is
 * latched broken.  A chain with any other fault is walked to its end (flags
 * only) so its buffer id and slot count are known, then returned with len 0.
 *
 * Used descriptors: one per chain at the device's used slot, which then skips
 * the chain's slot count (2.8.7).  A batch is published by writing the first
 * staged descriptor's flags last, after one release fence; the driver reads
 * used descriptors in order, so the later ones cannot be seen earlier.
 */
#include "core/virtq_internal.h"

#include <endian.h>
#include <errno.h>

static inline bool slot_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VRING_PACKED_DESC_F_AVAIL) == wrap &&
	       !!(flags & VRING_PACKED_DESC_F_USED) != wrap;
}

static inline uint16_t load_flags(const struct vq *vq, uint16_t slot)
{
	return le16toh(vh_load(&vq->r.packed.desc[slot].flags));
}

int vq_start_packed(struct vq *vq, const struct vq_cfg *cfg)
{
	uint32_t n = cfg->size;

	if ((cfg->desc & 15) || (cfg->driver & 3) || (cfg->device & 3))
		return -EINVAL;
	/* D6 / H9: restored positions must be inside the ring. */
	if (cfg->base.avail_idx >= n || cfg->base.used_idx >= n)
		return -EINVAL;
	vq->r.packed.desc = gmem_translate(vq->gm, cfg->desc, vring_desc_bytes(n));
	vq->r.packed.driver = gmem_translate(vq->gm, cfg->driver, sizeof(struct vring_packed_event));
	vq->r.packed.device = gmem_translate(vq->gm, cfg->device, sizeof(struct vring_packed_event));
	if (!vq->r.packed.desc || !vq->r.packed.driver || !vq->r.packed.device)
		return -EFAULT;

	vq->last_avail = cfg->base.avail_idx;
	vq->avail_wrap = cfg->base.avail_wrap;
	vq->used_idx = cfg->base.used_idx;
	vq->used_wrap = cfg->base.used_wrap;
	return 0;
}

enum vq_status vq_pop_packed(struct vq *vq, struct vq_chain *c)
{
	uint16_t slot = vq->last_avail, flags = load_flags(vq, slot), id;
	bool wrap = vq->avail_wrap;
	enum vq_fault fault = VQ_F_NONE;
	enum vq_status st;
	struct vq_walk w;

	if (!slot_avail(flags, wrap))
		return VQ_EMPTY;
	vh_acquire_fence();

	vq_walk_begin(&w, c);
	for (;;) {
		const struct vring_packed_desc *p = &vq->r.packed.desc[slot];
		struct vq_desc d;

		/* The single fetch; flags were loaded (and judged) above. */
		d.addr = le64toh(vh_load(&p->addr));
		d.len = le32toh(vh_load(&p->len));
		d.next = le16toh(vh_load(&p->id));
		d.flags = flags;
		c->nslots++;

		if (fault == VQ_F_NONE)
			fault = vq_walk_desc(vq, &w, &d);
		if (!(flags & VRING_DESC_F_NEXT)) {
			id = d.next;
			break;
		}
		if (c->nslots == vq->size)
			return vq_set_broken(vq, VQ_F_PACKED_CHAIN);
		if (++slot == vq->size) {
			slot = 0;
			wrap = !wrap;
		}
		flags = load_flags(vq, slot);
		if (!slot_avail(flags, wrap))
			return vq_set_broken(vq, VQ_F_PACKED_CHAIN);
	}

	st = vq_claim(vq, id, VQ_F_ID_RANGE);
	if (st != VQ_OK)
		return st;
	if (++slot == vq->size) {
		slot = 0;
		wrap = !wrap;
	}
	vq->last_avail = slot;
	vq->avail_wrap = wrap;
	c->id = id;
	c->fault = fault;
	return VQ_OK;
}

void vq_stage_packed(struct vq *vq, uint16_t id, uint32_t len, uint16_t nslots)
{
	struct vring_packed_desc *p = &vq->r.packed.desc[vq->used_idx];
	uint16_t flags = vq->used_wrap ? (VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED) : 0;

	if (len)
		flags |= VRING_DESC_F_WRITE;
	vh_store(&p->id, htole16(id));
	vh_store(&p->len, htole32(len));
	gmem_log_gpa(vq->gm, vq->desc_gpa + 16ULL * vq->used_idx, 16);
	if (vq->staged == 0) {
		vq->stage_head = vq->used_idx;
		vq->stage_head_flags = flags;
	} else {
		vh_store(&p->flags, htole16(flags));
	}
	vq->used_idx = (uint16_t)(vq->used_idx + nslots);
	if (vq->used_idx >= vq->size) {
		vq->used_idx = (uint16_t)(vq->used_idx - vq->size);
		vq->used_wrap = !vq->used_wrap;
	}
	vq->staged++;
}

void vq_publish_packed(struct vq *vq)
{
	/* Release: every staged id/len (and later slots' flags) is visible
	 * before the first staged slot turns used. */
	vh_store_release(&vq->r.packed.desc[vq->stage_head].flags, htole16(vq->stage_head_flags));
	gmem_log_gpa(vq->gm, vq->desc_gpa + 16ULL * vq->stage_head + 14, 2);
}

bool vq_need_signal_packed(struct vq *vq)
{
	int old = vq->signalled_used, new_idx = vq->used_idx, off;
	bool valid = vq->signalled_valid;
	uint16_t flags, off_wrap;

	/* Full fence: publish before reading the driver's suppression state
	 * (pairs with the driver's barrier after it writes that state). */
	vh_full_fence();
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;

	flags = le16toh(vh_load(&vq->r.packed.driver->flags));
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	/* ENABLE, or an unknown value (D7: spurious signals are allowed). */
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx || !valid)
		return true;

	vh_acquire_fence(); /* flags before off_wrap, as the driver wrote them */
	off_wrap = le16toh(vh_load(&vq->r.packed.driver->off_wrap));
	off = off_wrap & ~(1u << VRING_PACKED_EVENT_WRAP_SHIFT);
	/* Unwrap into one index space: the batch [old, new) may cross the end
	 * of the ring, and the event offset may belong to the previous lap. */
	if (new_idx <= old)
		old -= vq->size;
	if (!!(off_wrap >> VRING_PACKED_EVENT_WRAP_SHIFT) != vq->used_wrap)
		off -= vq->size;
	return vring_need_event((uint16_t)off, (uint16_t)new_idx, (uint16_t)old);
}

bool vq_enable_notify_packed(struct vq *vq)
{
	struct vring_packed_event *ev = vq->r.packed.device;

	if (vq->event_idx) {
		uint16_t off_wrap = (uint16_t)(vq->last_avail |
					       (vq->avail_wrap << VRING_PACKED_EVENT_WRAP_SHIFT));

		vh_store(&ev->off_wrap, htole16(off_wrap));
		/* off_wrap before flags: the driver reads flags first. */
		vh_store_release(&ev->flags, htole16(VRING_PACKED_EVENT_FLAG_DESC));
	} else if (!vq->notify_armed) {
		vh_store(&ev->flags, htole16(VRING_PACKED_EVENT_FLAG_ENABLE));
	}
	gmem_log_gpa(vq->gm, vq->device_gpa, sizeof(*ev));
	vq->notify_armed = true;

	/* Full fence, then re-check (see vq_enable_notify_split). */
	vh_full_fence();
	return !slot_avail(load_flags(vq, vq->last_avail), vq->avail_wrap);
}

void vq_disable_notify_packed(struct vq *vq)
{
	vh_store(&vq->r.packed.device->flags, htole16(VRING_PACKED_EVENT_FLAG_DISABLE));
	gmem_log_gpa(vq->gm, vq->device_gpa, sizeof(struct vring_packed_event));
	vq->notify_armed = false;
}

bool vq_has_work_packed(struct vq *vq)
{
	return slot_avail(load_flags(vq, vq->last_avail), vq->avail_wrap);
}
