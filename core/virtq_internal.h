/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtq_internal.h - shared between core/virtq*.c only.
 *
 * Both ring formats normalise each descriptor into a host-side struct vq_desc
 * (copied once from guest memory) and hand it to the one chain builder in
 * virtq_chain.c, so every validation rule exists exactly once.
 */
#ifndef VHOSTILE_CORE_VIRTQ_INTERNAL_H
#define VHOSTILE_CORE_VIRTQ_INTERNAL_H

#include "core/virtq.h"

/* A descriptor after the single fetch; host byte order. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next; /* split: next index; packed: buffer id */
};

/* Per-pop walk state. */
struct vq_walk {
	struct vq_chain *c;
	bool in_seen; /* a device-writable descriptor was seen */
};

void vq_walk_begin(struct vq_walk *w, struct vq_chain *c);

/**
 * vq_walk_desc() - add one descriptor (direct or indirect pointer) to a chain.
 * @vq: queue
 * @w: walk state
 * @d: the descriptor copy
 *
 * An INDIRECT descriptor is validated and its table walked here.
 *
 * Return: VQ_F_NONE or the fault.
 */
enum vq_fault vq_walk_desc(struct vq *vq, struct vq_walk *w, const struct vq_desc *d);

/* Latch @vq broken with @f and signal the error eventfd. */
enum vq_status vq_set_broken(struct vq *vq, enum vq_fault f);

/* In-flight bitmap, one bit per head / buffer id (< size). */
static inline bool vq_inflight_test(const struct vq *vq, uint16_t id)
{
	return vq->inflight_map[id / 64] & (1ULL << (id % 64));
}

static inline void vq_inflight_set(struct vq *vq, uint16_t id)
{
	vq->inflight_map[id / 64] |= 1ULL << (id % 64);
	vq->inflight++;
}

static inline void vq_inflight_clear(struct vq *vq, uint16_t id)
{
	vq->inflight_map[id / 64] &= ~(1ULL << (id % 64));
	vq->inflight--;
}

/**
 * vq_claim() - ring-level checks for a new head / buffer id, then mark it in flight.
 * @vq: queue
 * @id: head index (split) or buffer id (packed)
 * @range_fault: fault to latch if @id >= size
 *
 * Return: VQ_OK or VQ_BROKEN (latched).
 */
enum vq_status vq_claim(struct vq *vq, uint16_t id, enum vq_fault range_fault);

/* Format twins (virtq_split.c, virtq_packed.c). */
int vq_start_split(struct vq *vq, const struct vq_cfg *cfg);
int vq_start_packed(struct vq *vq, const struct vq_cfg *cfg);
enum vq_status vq_pop_split(struct vq *vq, struct vq_chain *c);
enum vq_status vq_pop_packed(struct vq *vq, struct vq_chain *c);
void vq_stage_split(struct vq *vq, uint16_t id, uint32_t len);
void vq_stage_packed(struct vq *vq, uint16_t id, uint32_t len, uint16_t nslots);
void vq_publish_split(struct vq *vq);
void vq_publish_packed(struct vq *vq);
bool vq_need_signal_split(struct vq *vq);
bool vq_need_signal_packed(struct vq *vq);
bool vq_enable_notify_split(struct vq *vq);
bool vq_enable_notify_packed(struct vq *vq);
void vq_disable_notify_split(struct vq *vq);
void vq_disable_notify_packed(struct vq *vq);
bool vq_has_work_split(struct vq *vq);
bool vq_has_work_packed(struct vq *vq);

#endif /* VHOSTILE_CORE_VIRTQ_INTERNAL_H */
