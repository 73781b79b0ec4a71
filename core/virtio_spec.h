/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_spec.h - wire layouts from the virtio 1.2 specification.
 *
 * All multi-byte fields are little-endian in guest memory (VIRTIO_F_VERSION_1;
 * legacy big-endian guests are not supported).  Only this header and
 * core/vu_msg.h define wire structures; sizes are pinned with _Static_assert.
 */
#ifndef VHOSTILE_CORE_VIRTIO_SPEC_H
#define VHOSTILE_CORE_VIRTIO_SPEC_H

#include <stdint.h>

/* Feature bits shared by all device types (virtio 1.2 section 6). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35
/* vhost-user only: the frontend may send VHOST_USER_GET/SET_PROTOCOL_FEATURES. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

#define VIRTIO_BIT(b) (1ULL << (b))

/* Device status bits (2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE 1
#define VIRTIO_CONFIG_S_DRIVER 2
#define VIRTIO_CONFIG_S_DRIVER_OK 4
#define VIRTIO_CONFIG_S_FEATURES_OK 8
#define VIRTIO_CONFIG_S_NEEDS_RESET 64
#define VIRTIO_CONFIG_S_FAILED 128

/* Descriptor flags (2.7.5, 2.8.1). */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_PACKED_DESC_F_AVAIL (1u << 7)
#define VRING_PACKED_DESC_F_USED (1u << 15)

/* Split ring notification suppression (2.7.7, 2.7.10). */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

/* Packed ring event suppression (2.8.10). */
#define VRING_PACKED_EVENT_FLAG_ENABLE 0
#define VRING_PACKED_EVENT_FLAG_DISABLE 1
#define VRING_PACKED_EVENT_FLAG_DESC 2
#define VRING_PACKED_EVENT_WRAP_SHIFT 15

/* Split descriptor (2.7.5). */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Split available ring (2.7.6): flags, idx, ring[size], used_event. */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* Split used ring (2.7.8): flags, idx, ring[size], avail_event. */
struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

/* Packed descriptor (2.8.13). */
struct vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/* Packed event suppression structure (2.8.14). */
struct vring_packed_event {
	uint16_t off_wrap;
	uint16_t flags;
};

_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc");
_Static_assert(sizeof(struct vring_avail) == 4, "vring_avail");
_Static_assert(sizeof(struct vring_used_elem) == 8, "vring_used_elem");
_Static_assert(sizeof(struct vring_used) == 4, "vring_used");
_Static_assert(sizeof(struct vring_packed_desc) == 16, "vring_packed_desc");
_Static_assert(sizeof(struct vring_packed_event) == 4, "vring_packed_event");

/* Ring area sizes, event fields included (A5: always map them). */
static inline uint64_t vring_desc_bytes(uint32_t num)
{
	return 16ULL * num;
}

static inline uint64_t vring_avail_bytes(uint32_t num)
{
	return 6ULL + 2ULL * num;
}

static inline uint64_t vring_used_bytes(uint32_t num)
{
	return 6ULL + 8ULL * num;
}

/*
 * vring_need_event() - the EVENT_IDX rule (2.7.7.2 / 2.7.10): notify iff
 * @event_idx lies in [old, new) in wrapping 16-bit arithmetic.
 */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

#endif /* VHOSTILE_CORE_VIRTIO_SPEC_H */
