/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vu_msg.h - vhost-user wire format (QEMU docs/interop/vhost-user.rst).
 *
 * Native byte order, packed as the frontend sends it.  Sizes are pinned with
 * _Static_assert; the per-request payload sizes are enforced in vhost_user.c.
 */
#ifndef VHOSTILE_CORE_VU_MSG_H
#define VHOSTILE_CORE_VU_MSG_H

#include <stdint.h>

enum vu_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_MAX_REQUEST
};

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD 1
#define VHOST_USER_PROTOCOL_F_RARP 2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_MTU 4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ 5
#define VHOST_USER_PROTOCOL_F_CONFIG 9
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE 13
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHOST_USER_PROTOCOL_F_STATUS 16

/* vhost feature: the frontend logs dirty pages (live migration). */
#define VHOST_F_LOG_ALL 26

#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)
#define VHOST_VRING_F_LOG 0
#define VHOST_LOG_PAGE 0x1000u

#define VHOST_MEMORY_BASELINE_NREGIONS 8
#define VHOST_USER_MAX_CONFIG_SIZE 256
#define VU_MAX_FDS 8

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vu_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[VHOST_MEMORY_BASELINE_NREGIONS];
} __attribute__((packed));

struct vu_mem_single {
	uint64_t padding;
	struct vu_mem_region region;
} __attribute__((packed));

struct vu_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
} __attribute__((packed));

#define VU_CONFIG_HDR_SIZE 12u

union vu_payload {
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_memory memory;
	struct vu_mem_single mem_reg;
	struct vu_log log;
	struct vu_config config;
	uint8_t raw[512];
};

/* A message as received: header, payload (zero-padded), attached fds. */
struct vu_msg {
	struct vu_hdr hdr;
	union vu_payload p;
	int fds[VU_MAX_FDS];
	unsigned nfds;
};

_Static_assert(sizeof(struct vu_hdr) == 12, "vu_hdr");
_Static_assert(sizeof(struct vu_vring_state) == 8, "vu_vring_state");
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vu_vring_addr");
_Static_assert(sizeof(struct vu_mem_region) == 32, "vu_mem_region");
_Static_assert(sizeof(struct vu_memory) == 8 + 8 * 32, "vu_memory");
_Static_assert(sizeof(struct vu_mem_single) == 40, "vu_mem_single");
_Static_assert(sizeof(struct vu_log) == 16, "vu_log");
_Static_assert(sizeof(struct vu_config) == 12 + 256, "vu_config");
_Static_assert(sizeof(union vu_payload) == 512, "vu_payload");

#endif /* VHOSTILE_CORE_VU_MSG_H */
