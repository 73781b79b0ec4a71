// SPDX-License-Identifier: Apache-2.0
/*
 * gen_vu.c - seed inputs for fuzz/fuzz_vu_msg.c.
 *
 * Usage: gen_vu <outdir>   (writes <outdir>/seed-*.bin, normally corpus/vu_msg;
 *                           the output is deterministic, byte for byte)
 *
 * Theory of operation
 * -------------------
 * An encoder for the op language documented at the top of fuzz_vu_msg.c, and
 * the sessions it encodes: a QEMU-like bring-up of two split rings with
 * traffic and GET_VRING_BASE, the same with packed rings, a live-migration
 * round (SET_LOG_BASE, LOG_ALL), then one seed per row H1-H11 of
 * research/hardening.md, each starting from a valid session so that the
 * hostile message meets running rings and mapped memory, then seeds for the
 * refusal paths a frontend can reach (ring start order, packed bases, device
 * config, memory slots, log base, framing, a device without MQ and a
 * frontend without protocol features).  Sizes are always
 * encoded explicitly (size mode "raw") so a seed does not depend on the
 * harness' idea of a natural size.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/virtio_spec.h"
#include "core/vu_msg.h"

/* Must match fuzz_vu_msg.c. */
enum { OP_MSG, OP_RAW, OP_EOF, OP_POKE, OP_TRAFFIC, OP_RESET };
enum { FL_PLAIN, FL_NEED, FL_RAW };
enum { SZ_RAW = 2 };
enum { FD_RAM0, FD_RAM1, FD_LOG, FD_EMPTY, FD_EFD0, FD_EFD1, FD_EFD2, FD_PIPE };
#define RAM0_SIZE 0x100000u
#define RAM1_SIZE 0x10000u
#define RAM1_GPA 0x100000000ULL
#define LOG_SIZE 0x1000u
#define UADDR(sel) (0x7f0000000000ULL + (uint64_t)(sel) * 0x10000000ULL)

#define F_V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_PF VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)
#define F_SPLIT                                                                             \
	(F_V1 | F_PF | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |                                 \
	 VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC))
#define F_PACKED (F_SPLIT | VIRTIO_BIT(VIRTIO_F_RING_PACKED))
#define PF(b) VIRTIO_BIT(VHOST_USER_PROTOCOL_F_##b)
#define PF_ALL                                                                              \
	(PF(MQ) | PF(LOG_SHMFD) | PF(REPLY_ACK) | PF(CONFIG) | PF(RESET_DEVICE) |          \
	 PF(CONFIGURE_MEM_SLOTS) | PF(STATUS))

#define RING_SIZE 256u
#define RING_OFF(i) (0x10000u * ((i) + 1)) /* in RAM0, = GPA */
#define BUF_OFF 0x80000u

struct gv {
	uint8_t b[65536];
	size_t n;
	bool packed;
	uint16_t next[2];  /* per ring: next free descriptor / packed slot */
	uint16_t avail[2]; /* split: avail->idx published so far */
};

static void put(struct gv *g, const void *p, size_t len)
{
	if (g->n + len > sizeof(g->b)) {
		fprintf(stderr, "gen_vu: seed too large\n");
		exit(1);
	}
	memcpy(g->b + g->n, p, len);
	g->n += len;
}

static void put8(struct gv *g, uint8_t v)
{
	put(g, &v, 1);
}

static void put16(struct gv *g, uint16_t v)
{
	put8(g, (uint8_t)v);
	put8(g, (uint8_t)(v >> 8));
}

static void put32(struct gv *g, uint32_t v)
{
	put16(g, (uint16_t)v);
	put16(g, (uint16_t)(v >> 16));
}

/* One message; @need sets NEED_REPLY. */
static void msg_fds(struct gv *g, uint32_t req, bool need, const void *p, uint16_t size,
		    const uint8_t *sel, unsigned nfds)
{
	put8(g, OP_MSG);
	put32(g, req);
	put8(g, need ? FL_NEED : FL_PLAIN);
	put8(g, SZ_RAW);
	put16(g, size);
	put8(g, (uint8_t)nfds);
	for (unsigned i = 0; i < nfds; i++)
		put8(g, sel[i]);
	put(g, p, size);
}

static void msg(struct gv *g, uint32_t req, const void *p, uint16_t size)
{
	msg_fds(g, req, true, p, size, NULL, 0);
}

static void msg_u64(struct gv *g, uint32_t req, uint64_t v)
{
	msg(g, req, &v, 8);
}

static void msg_state(struct gv *g, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vu_vring_state s = { idx, num };

	msg(g, req, &s, sizeof(s));
}

static void msg_vring_fd(struct gv *g, uint32_t req, uint64_t idx, uint8_t sel)
{
	msg_fds(g, req, true, &idx, 8, &sel, 1);
}

static void raw(struct gv *g, uint8_t op, const void *p, uint16_t len, const uint8_t *sel,
		unsigned nfds)
{
	put8(g, op);
	put16(g, len);
	put(g, p, len);
	put8(g, (uint8_t)nfds);
	for (unsigned i = 0; i < nfds; i++)
		put8(g, sel[i]);
}

static void poke(struct gv *g, bool ram1, uint32_t off, const void *p, uint8_t len)
{
	put8(g, OP_POKE);
	put8(g, ram1 ? 1 : 0);
	put32(g, off);
	put8(g, len);
	put(g, p, len);
}

/* ---- session building blocks ---------------------------------------------- */

static void begin(struct gv *g, uint8_t cfg, bool packed)
{
	memset(g, 0, sizeof(*g));
	g->packed = packed;
	put8(g, cfg);
}

static void negotiate(struct gv *g, uint64_t features)
{
	msg(g, VHOST_USER_SET_OWNER, NULL, 0);
	msg(g, VHOST_USER_GET_FEATURES, NULL, 0);
	msg(g, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0);
	msg_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, PF_ALL);
	msg(g, VHOST_USER_GET_QUEUE_NUM, NULL, 0);
	msg(g, VHOST_USER_GET_MAX_MEM_SLOTS, NULL, 0);
	msg_u64(g, VHOST_USER_SET_FEATURES, features);
}

static void region(struct vu_mem_region *r, uint64_t gpa, uint64_t size, uint8_t sel,
		   uint64_t off)
{
	r->guest_phys_addr = gpa;
	r->memory_size = size;
	r->userspace_addr = UADDR(sel) + off;
	r->mmap_offset = off;
}

/* Both guest memfds: RAM0 at GPA 0, RAM1 at 4 GiB (a GPA hole between). */
static void mem_table(struct gv *g)
{
	struct vu_memory m;
	static const uint8_t sel[2] = { FD_RAM0, FD_RAM1 };

	memset(&m, 0, sizeof(m));
	m.nregions = 2;
	region(&m.regions[0], 0, RAM0_SIZE, FD_RAM0, 0);
	region(&m.regions[1], RAM1_GPA, RAM1_SIZE, FD_RAM1, 0);
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 2 * 32, sel, 2);
}

static void ring_layout(bool packed, unsigned i, uint64_t *desc, uint64_t *avail,
			uint64_t *used)
{
	*desc = RING_OFF(i);
	if (packed) {
		*avail = *desc + 16ULL * RING_SIZE;
		*used = *avail + 4;
	} else {
		*avail = *desc + 16ULL * RING_SIZE;
		*used = (*avail + 6 + 2ULL * RING_SIZE + 3) & ~3ULL;
	}
}

/* NUM, BASE, ADDR, KICK, CALL, ENABLE: QEMU's order. */
static void ring(struct gv *g, unsigned i)
{
	struct vu_vring_addr a;
	uint64_t d, av, u;

	ring_layout(g->packed, i, &d, &av, &u);
	msg_state(g, VHOST_USER_SET_VRING_NUM, i, RING_SIZE);
	msg_state(g, VHOST_USER_SET_VRING_BASE, i, g->packed ? 1u << 15 | 1u << 31 : 0);
	memset(&a, 0, sizeof(a));
	a.index = i;
	a.desc_user_addr = UADDR(FD_RAM0) + d;
	a.avail_user_addr = UADDR(FD_RAM0) + av;
	a.used_user_addr = UADDR(FD_RAM0) + u;
	msg(g, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a));
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, i, FD_EFD0);
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, i, FD_EFD1);
	msg_vring_fd(g, VHOST_USER_SET_VRING_ERR, i, FD_EFD2);
	msg_state(g, VHOST_USER_SET_VRING_ENABLE, i, 1);
}

/* Make one chain available on ring @i: @n buffers, writable iff @write. */
static void chain(struct gv *g, unsigned i, unsigned n, bool write)
{
	unsigned slot = g->next[i];
	uint64_t d, av, u;

	g->next[i] = (uint16_t)(slot + n);
	ring_layout(g->packed, i, &d, &av, &u);
	(void)u;
	for (unsigned k = 0; k < n; k++) {
		uint64_t addr = BUF_OFF + 0x4000ULL * i + 0x400ULL * (slot + k);

		if (g->packed) {
			struct vring_packed_desc pd = {
				.addr = addr, .len = 256, .id = (uint16_t)slot,
				.flags = (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) |
						    (write ? VRING_DESC_F_WRITE : 0) |
						    VRING_PACKED_DESC_F_AVAIL),
			};

			poke(g, false, (uint32_t)(d + 16 * (slot + k)), &pd, sizeof(pd));
		} else {
			struct vring_desc sd = {
				.addr = addr, .len = 256,
				.flags = (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) |
						    (write ? VRING_DESC_F_WRITE : 0)),
				.next = (uint16_t)(slot + k + 1),
			};

			poke(g, false, (uint32_t)(d + 16 * (slot + k)), &sd, sizeof(sd));
		}
	}
	if (!g->packed) {
		uint16_t head = (uint16_t)slot, pos = g->avail[i] % RING_SIZE;

		poke(g, false, (uint32_t)(av + 4 + 2 * pos), &head, 2);
		g->avail[i]++;
		poke(g, false, (uint32_t)(av + 2), &g->avail[i], 2);
	}
}

/* The valid session every hostile seed builds on: 2 rings up, one chain each. */
static void session(struct gv *g, bool packed)
{
	begin(g, 1 | 8, packed); /* 2 vrings, device offers MQ + CONFIG */
	negotiate(g, packed ? F_PACKED : F_SPLIT);
	mem_table(g);
	ring(g, 0);
	ring(g, 1);
	chain(g, 0, 2, false);
	chain(g, 1, 1, true);
	put8(g, OP_TRAFFIC);
}

static void save(const char *dir, const char *name, const struct gv *g)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s.bin", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(g->b, 1, g->n, f) != g->n || fclose(f)) {
		fprintf(stderr, "gen_vu: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* ---- seeds ------------------------------------------------------------------ */

static void seed_sessions(const char *dir, struct gv *g)
{
	struct vu_config c;

	for (int packed = 0; packed < 2; packed++) {
		session(g, packed);
		chain(g, 0, 3, false);
		chain(g, 1, 2, true);
		put8(g, OP_TRAFFIC);
		msg_state(g, VHOST_USER_GET_VRING_BASE, 0, 0);
		msg_state(g, VHOST_USER_GET_VRING_BASE, 1, 0);
		memset(&c, 0, sizeof(c));
		c.size = 8;
		msg(g, VHOST_USER_GET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8);
		msg_u64(g, VHOST_USER_SET_STATUS, 0x0f);
		msg(g, VHOST_USER_GET_STATUS, NULL, 0);
		msg(g, VHOST_USER_RESET_DEVICE, NULL, 0);
		save(dir, packed ? "session-packed" : "session-split", g);
	}

	/* live migration: log, LOG_ALL under running rings, traffic, log off */
	{
		struct vu_log lg = { LOG_SIZE, 0 };
		static const uint8_t lsel = FD_LOG, efd = FD_EFD2;

		session(g, false);
		msg_fds(g, VHOST_USER_SET_LOG_BASE, false, &lg, sizeof(lg), &lsel, 1);
		msg_fds(g, VHOST_USER_SET_LOG_FD, true, NULL, 0, &efd, 1);
		msg_u64(g, VHOST_USER_SET_FEATURES, F_SPLIT | VIRTIO_BIT(VHOST_F_LOG_ALL));
		chain(g, 1, 2, true);
		put8(g, OP_TRAFFIC);
		msg_u64(g, VHOST_USER_SET_FEATURES, F_SPLIT);
		msg_state(g, VHOST_USER_GET_VRING_BASE, 1, 0);
		save(dir, "session-migration", g);
	}

	/* memory hot-plug: ADD_MEM_REG / REM_MEM_REG under a running ring */
	{
		struct vu_mem_single m;
		static const uint8_t s1 = FD_RAM1;

		session(g, false);
		memset(&m, 0, sizeof(m));
		region(&m.region, RAM1_GPA, RAM1_SIZE, FD_RAM1, 0);
		msg_fds(g, VHOST_USER_REM_MEM_REG, true, &m, sizeof(m), &s1, 1);
		region(&m.region, RAM1_GPA * 2, RAM1_SIZE / 2, FD_RAM1, RAM1_SIZE / 2);
		msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &s1, 1);
		chain(g, 0, 1, false);
		put8(g, OP_TRAFFIC);
		save(dir, "session-memslots", g);
	}
}

static void seed_h1(const char *dir, struct gv *g)
{
	struct vu_hdr h = { VHOST_USER_SET_OWNER, VHOST_USER_VERSION, 0 };
	static const uint8_t sel = FD_PIPE;

	session(g, false);
	raw(g, OP_EOF, &h, 5, &sel, 1);
	negotiate(g, F_SPLIT); /* after the reconnect */
	save(dir, "H1-short-header-eof", g);
}

static void seed_h2(const char *dir, struct gv *g)
{
	uint8_t big[600];

	memset(big, 0x41, sizeof(big));
	session(g, false);
	msg(g, VHOST_USER_SET_FEATURES, big, sizeof(big)); /* > the payload union */
	save(dir, "H2-payload-over-union", g);

	{
		struct {
			struct vu_hdr h;
			uint8_t p[20];
		} __attribute__((packed)) m = { { VHOST_USER_SET_VRING_ADDR, VHOST_USER_VERSION,
						   40 },
						 { 0 } };

		session(g, false);
		raw(g, OP_EOF, &m, sizeof(m), NULL, 0);
		save(dir, "H2-short-payload-eof", g);
	}
}

static void seed_h3(const char *dir, struct gv *g)
{
	uint8_t p[64] = { 0 };

	session(g, false);
	msg(g, VHOST_USER_SET_VRING_NUM, p, 4);
	msg(g, VHOST_USER_SET_VRING_ADDR, p, 32);
	msg(g, VHOST_USER_SET_FEATURES, p, 9);
	msg(g, VHOST_USER_SET_CONFIG, p, 11);
	msg(g, VHOST_USER_ADD_MEM_REG, p, 48);
	/* requests the frontend waits on: refusing them drops the connection */
	msg(g, VHOST_USER_GET_VRING_BASE, p, 12);
	save(dir, "H3-wrong-payload-size", g);
}

static void seed_h4(const char *dir, struct gv *g)
{
	static const uint8_t three[3] = { FD_EFD0, FD_PIPE, FD_RAM0 };
	static const uint8_t nine[9] = { FD_PIPE, FD_PIPE, FD_EFD0, FD_EFD1, FD_EFD2,
					 FD_RAM0, FD_RAM1, FD_LOG, FD_EMPTY };
	uint64_t v = F_SPLIT;

	session(g, false);
	msg_fds(g, VHOST_USER_SET_FEATURES, true, &v, 8, three, 3);
	v = 0;
	msg_fds(g, VHOST_USER_SET_VRING_KICK, true, &v, 8, three, 2);
	v = VHOST_USER_VRING_NOFD_MASK;
	msg_fds(g, VHOST_USER_SET_VRING_CALL, true, &v, 8, three, 1);
	msg_fds(g, VHOST_USER_GET_FEATURES, true, NULL, 0, three, 1);
	msg_fds(g, VHOST_USER_SET_OWNER, true, NULL, 0, nine, 9); /* MSG_CTRUNC */
	save(dir, "H4-fd-accounting", g);
}

static void seed_h5(const char *dir, struct gv *g)
{
	struct vu_vring_addr a;

	session(g, false);
	msg_state(g, VHOST_USER_SET_VRING_NUM, 0x10001, 64); /* CVE-2020-10723 */
	msg_state(g, VHOST_USER_SET_VRING_BASE, 0x10000, 1);
	memset(&a, 0, sizeof(a));
	a.index = 0x10000;
	msg(g, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a));
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 0x10001, FD_EFD0);
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 0xff, FD_EFD1);
	msg_state(g, VHOST_USER_SET_VRING_ENABLE, 64, 1);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 0xffffffff, 0);
	save(dir, "H5-vring-index", g);
}

static void seed_h6(const char *dir, struct gv *g)
{
	union vu_payload p;
	struct vu_mem_region *r = (struct vu_mem_region *)(p.raw + 8);
	static const uint8_t sel[8] = { FD_RAM0, FD_RAM0, FD_RAM0, FD_RAM0,
					FD_RAM0, FD_RAM0, FD_RAM0, FD_RAM0 };

	session(g, false);
	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i < 9; i++)
		region(&r[i], 0x100000ULL * i, 0x1000, FD_RAM0, 0x1000ULL * i);
	p.memory.nregions = 9;
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &p, 8 + 9 * 32, sel, 8);
	p.memory.nregions = 2;
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &p, 8 + 2 * 32, sel, 1);
	p.memory.nregions = 1;
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &p, 8 + 32, sel, 3);
	save(dir, "H6-region-count", g);
}

static void seed_h7(const char *dir, struct gv *g)
{
	struct vu_memory m;
	static const uint8_t two[2] = { FD_RAM0, FD_RAM0 }, one = FD_RAM1, empty = FD_EMPTY;

	session(g, false);
	memset(&m, 0, sizeof(m));
	m.nregions = 1;
	region(&m.regions[0], 0, UINT64_MAX - 0xfff, FD_RAM0, 0x2000); /* size + off wraps */
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, two, 1);
	region(&m.regions[0], 0, RAM0_SIZE, FD_RAM1, 0); /* larger than its memfd */
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, &one, 1);
	region(&m.regions[0], 0, 0, FD_RAM0, 0); /* zero size */
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, two, 1);
	region(&m.regions[0], 0, 0x1000, FD_EMPTY, 0); /* empty file */
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, &empty, 1);
	m.nregions = 2; /* GPA overlap */
	region(&m.regions[0], 0, 0x8000, FD_RAM0, 0);
	region(&m.regions[1], 0x4000, 0x8000, FD_RAM0, 0x10000);
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 64, two, 2);
	region(&m.regions[1], 0x100000, 0x8000, FD_RAM0, 0x10000); /* VA overlap */
	m.regions[1].userspace_addr = UADDR(FD_RAM0) + 0x4000;
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 64, two, 2);
	region(&m.regions[0], UINT64_MAX - 0xfff, 0x2000, FD_RAM0, 0); /* GPA wraps */
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, two, 1);
	save(dir, "H7-region-geometry", g);
}

/* H7: a region whose host address is not congruent to its GPA mod 8 would
 * misalign every ring in host memory: refused; congruent odd offsets are not. */
static void seed_h7_align(const char *dir, struct gv *g)
{
	struct vu_memory m;
	static const uint8_t one = FD_RAM0;

	session(g, false);
	memset(&m, 0, sizeof(m));
	m.nregions = 1;
	region(&m.regions[0], 0, RAM0_SIZE - 0x1000, FD_RAM0, 4);
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, &one, 1);
	region(&m.regions[0], 0x1004, RAM0_SIZE - 0x1000, FD_RAM0, 0x1004);
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &m, 8 + 32, &one, 1);
	save(dir, "H7-region-host-misaligned", g);
}

static void seed_h8(const char *dir, struct gv *g)
{
	struct vu_vring_addr a;

	session(g, false);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 1, 0);
	memset(&a, 0, sizeof(a));
	a.index = 1;
	a.desc_user_addr = UADDR(FD_RAM0) + RAM0_SIZE - 0x800; /* table runs off the end */
	a.avail_user_addr = UADDR(FD_RAM0) + 0x2000;
	a.used_user_addr = UADDR(FD_RAM1) + RAM1_SIZE - 0x100; /* used runs off the end */
	msg(g, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a));
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, FD_EFD0);
	a.desc_user_addr = UADDR(FD_RAM1) + 0x1000; /* across the GPA hole: VA unmapped */
	a.used_user_addr = UADDR(FD_RAM0) + RAM0_SIZE;
	msg(g, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a));
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, FD_EFD0);
	put8(g, OP_TRAFFIC);
	save(dir, "H8-ring-addresses", g);
}

static void seed_h9(const char *dir, struct gv *g)
{
	session(g, true);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 0, 0);
	msg_state(g, VHOST_USER_SET_VRING_BASE, 0, RING_SIZE | 1u << 15); /* avail >= size */
	msg_state(g, VHOST_USER_SET_VRING_BASE, 0, 1 | (RING_SIZE + 1) << 16);
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 0, FD_EFD0);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 1, 0);
	msg_state(g, VHOST_USER_SET_VRING_NUM, 1, 0);
	msg_state(g, VHOST_USER_SET_VRING_NUM, 1, 32769);
	msg_state(g, VHOST_USER_SET_VRING_BASE, 1, 0x7fff);
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, FD_EFD0);
	put8(g, OP_TRAFFIC);
	save(dir, "H9-vring-base", g);
}

static void seed_h10(const char *dir, struct gv *g)
{
	struct {
		uint64_t size, off;
		uint16_t num_queues, queue_size;
	} __attribute__((packed)) in = { 0x10000, 0, 0xffff, 256 };
	static const uint8_t sel[2] = { FD_LOG, FD_PIPE };

	session(g, false);
	for (unsigned i = 0; i < 4; i++) {
		msg(g, VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in));
		msg_fds(g, VHOST_USER_SET_INFLIGHT_FD, true, &in, sizeof(in), sel, 2);
	}
	save(dir, "H10-inflight", g);
}

static void seed_h11(const char *dir, struct gv *g)
{
	struct vu_log lg = { LOG_SIZE, 0 };
	static const uint8_t lsel = FD_LOG;

	session(g, false);
	for (unsigned i = 0; i < 20; i++) {
		mem_table(g);
		msg_fds(g, VHOST_USER_SET_LOG_BASE, false, &lg, sizeof(lg), &lsel, 1);
		msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 0, (uint8_t)(FD_EFD0 + i % 3));
		msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, (uint8_t)(FD_EFD0 + i % 3));
		msg_state(g, VHOST_USER_SET_VRING_NUM, 1, RING_SIZE);
	}
	put8(g, OP_TRAFFIC);
	save(dir, "H11-repeated-allocations", g);
}

/* ---- coverage seeds: every refusal path a frontend can reach ------------------- */

static void addr3(struct gv *g, unsigned i, uint64_t d, uint64_t av, uint64_t u)
{
	struct vu_vring_addr a;

	memset(&a, 0, sizeof(a));
	a.index = i;
	a.desc_user_addr = d;
	a.avail_user_addr = av;
	a.used_user_addr = u;
	msg(g, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a));
}

/* A message with raw header flags (flags mode "raw"). */
static void msg_flags(struct gv *g, uint32_t req, uint32_t flags, const void *p, uint16_t size)
{
	put8(g, OP_MSG);
	put32(g, req);
	put8(g, FL_RAW);
	put32(g, flags);
	put8(g, SZ_RAW);
	put16(g, size);
	put8(g, 0);
	put(g, p, size);
}

static void ring_addr(struct gv *g, unsigned i, uint32_t flags, uint64_t shift)
{
	struct vu_vring_addr a;
	uint64_t d, av, u;

	ring_layout(g->packed, i, &d, &av, &u);
	memset(&a, 0, sizeof(a));
	a.index = i;
	a.flags = flags;
	a.desc_user_addr = UADDR(FD_RAM0) + d + shift;
	a.avail_user_addr = UADDR(FD_RAM0) + av + shift;
	a.used_user_addr = UADDR(FD_RAM0) + u + shift;
	msg(g, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a));
}

/*
 * Ring start order: kick before size, memory and features; a size the queue
 * refuses once split is known; every "frozen while running" refusal; event fd
 * shapes (no-fd flag, stray bits, pipe, memfd); feature changes under running
 * rings; requests refused for a protocol feature that was not negotiated.
 */
static void seed_ring_order(const char *dir, struct gv *g)
{
	static const uint8_t zero[VU_CONFIG_HDR_SIZE];

	begin(g, 1 | 8, false);
	msg_u64(g, 0x1234, 0); /* unknown, NEED_REPLY before REPLY_ACK: no answer */
	msg_flags(g, 0x1234, VHOST_USER_VERSION, zero, 8); /* unknown, no NEED_REPLY */
	msg_flags(g, VHOST_USER_SET_OWNER, 2, zero, 0);     /* version 2: framing error */
	msg(g, VHOST_USER_GET_QUEUE_NUM, NULL, 0); /* MQ offered, not negotiated: allowed */
	msg(g, VHOST_USER_GET_CONFIG, zero, sizeof(zero)); /* CONFIG not negotiated */
	msg(g, VHOST_USER_GET_STATUS, NULL, 0); /* refused: the connection drops */
	msg(g, VHOST_USER_SET_OWNER, NULL, 0);
	msg_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, PF_ALL | (1ULL << 20)); /* not offered */
	msg_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, PF_ALL);
	msg_state(g, VHOST_USER_SET_VRING_BASE, 0, 0x10000); /* format not known yet */
	msg_fds(g, VHOST_USER_SET_LOG_FD, true, NULL, 0, NULL, 0); /* its fd missing */
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 0, FD_EFD0); /* kick first */
	msg_state(g, VHOST_USER_SET_VRING_NUM, 0, 3);           /* accepted: format unknown */
	ring_addr(g, 0, 0, 0);
	msg_state(g, VHOST_USER_SET_VRING_NUM, 1, RING_SIZE);
	ring_addr(g, 1, 0, 0);
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, FD_EFD0); /* no memory yet */
	mem_table(g);                                          /* no features yet */
	msg_u64(g, VHOST_USER_SET_FEATURES, F_SPLIT | (1ULL << 40)); /* not offered */
	msg_u64(g, VHOST_USER_SET_FEATURES, F_SPLIT); /* ring 1 starts, ring 0 (size 3) not */
	msg_state(g, VHOST_USER_SET_VRING_NUM, 0, 3);  /* split now: not a power of two */
	msg_state(g, VHOST_USER_SET_VRING_NUM, 0, RING_SIZE); /* starts ring 0 */
	msg_state(g, VHOST_USER_SET_VRING_NUM, 0, RING_SIZE); /* running: busy */
	ring_addr(g, 0, 1u << VHOST_VRING_F_LOG, 0);   /* same addresses, log flag: fine */
	ring_addr(g, 0, 0, 0x1000);                    /* moved while running: busy */
	addr3(g, 0, UADDR(FD_RAM0) + RING_OFF(0), UADDR(FD_RAM0) + RING_OFF(0) + 0x1000,
	      UADDR(FD_RAM0) + 0x3000); /* used moved */
	addr3(g, 0, UADDR(FD_RAM0) + RING_OFF(0), UADDR(FD_RAM0) + 0x3000,
	      UADDR(FD_RAM0) + RING_OFF(0) + 0x1208); /* avail moved */
	msg_state(g, VHOST_USER_SET_VRING_ENABLE, 0, 0); /* disabled while running */
	msg_state(g, VHOST_USER_SET_VRING_BASE, 0, 0); /* running: busy */
	msg_u64(g, VHOST_USER_SET_FEATURES, F_SPLIT & ~VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	msg_state(g, VHOST_USER_SET_VRING_ENABLE, 0, 2);
	msg_u64(g, VHOST_USER_SET_VRING_KICK, 1 | VHOST_USER_VRING_NOFD_MASK); /* polling */
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 0 | VHOST_USER_VRING_NOFD_MASK, FD_EFD1);
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 0x1000, FD_EFD1); /* stray bits */
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 0, FD_PIPE);
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 0, FD_RAM1);
	msg_u64(g, VHOST_USER_SET_VRING_ERR, 0 | VHOST_USER_VRING_NOFD_MASK);
	chain(g, 0, 1, false);
	put8(g, OP_TRAFFIC);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 1, 0);
	msg_state(g, VHOST_USER_SET_VRING_BASE, 1, 0x10000); /* split: > 16 bits */
	msg_vring_fd(g, VHOST_USER_SET_VRING_CALL, 1, FD_EFD2); /* stopped ring: no start */
	msg_state(g, VHOST_USER_SET_VRING_ENABLE, 1, 1);        /* stopped ring */
	addr3(g, 1, UADDR(FD_RAM0) + RING_OFF(1), UADDR(FD_RAM0) + RAM0_SIZE - 2,
	      UADDR(FD_RAM0) + RING_OFF(1) + 0x1208); /* avail runs off the end */
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, FD_EFD0);
	msg_u64(g, VHOST_USER_SET_STATUS, 0x100);
	msg(g, VHOST_USER_RESET_OWNER, NULL, 0);
	save(dir, "ring-start-order", g);
}

/* Packed bases: none sent (wrap counters start at 1), used half 0 (= avail). */
static void seed_packed_base(const char *dir, struct gv *g)
{
	begin(g, 1 | 8, true);
	negotiate(g, F_PACKED);
	mem_table(g);
	msg_state(g, VHOST_USER_SET_VRING_NUM, 0, RING_SIZE);
	ring_addr(g, 0, 0, 0);
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 0, FD_EFD0); /* no SET_VRING_BASE */
	msg_state(g, VHOST_USER_SET_VRING_BASE, 1, 0 | 1u << 15); /* before its size */
	msg_state(g, VHOST_USER_SET_VRING_NUM, 1, RING_SIZE);
	ring_addr(g, 1, 0, 0);
	msg_vring_fd(g, VHOST_USER_SET_VRING_KICK, 1, FD_EFD0);
	chain(g, 0, 1, false);
	chain(g, 1, 1, true);
	put8(g, OP_TRAFFIC);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 0, 0);
	msg_state(g, VHOST_USER_GET_VRING_BASE, 1, 0);
	save(dir, "packed-base-forms", g);
}

/* Device config: device errors, size mismatches, SET_CONFIG. */
static void seed_config(const char *dir, struct gv *g)
{
	struct vu_config c;

	session(g, false);
	memset(&c, 0, sizeof(c));
	c.offset = 30;
	c.size = 8; /* beyond the device's 32 bytes: empty reply */
	msg(g, VHOST_USER_GET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8);
	c.offset = 0;
	msg(g, VHOST_USER_GET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 4); /* size field disagrees */
	memset(c.region, 0xee, 8);
	msg(g, VHOST_USER_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8);
	msg(g, VHOST_USER_GET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8);
	msg(g, VHOST_USER_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 4);
	c.size = 300;
	msg(g, VHOST_USER_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8);
	c.size = 8;
	c.offset = 30;
	msg(g, VHOST_USER_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8);
	msg(g, VHOST_USER_GET_CONFIG, &c, 4); /* refused before the handler */
	c.size = 300;
	c.offset = 0;
	msg(g, VHOST_USER_GET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8); /* > 256 bytes */
	save(dir, "config", g);
}

/*
 * Memory slots: an empty table, a duplicate ADD (reference) and its REMs, a
 * REM of nothing, ADDs the server must refuse (file too small, not a file),
 * then ADDs up to GMEM_MAX_REGIONS and one more.
 */
static void seed_memslots_edge(const char *dir, struct gv *g)
{
	struct vu_mem_single m;
	union vu_payload p;
	static const uint8_t r0 = FD_RAM0, r1 = FD_RAM1, efd = FD_EFD0;

	session(g, false);
	memset(&p, 0, sizeof(p));
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &p, 8, NULL, 0); /* 0 regions */
	p.memory.nregions = 9;
	msg_fds(g, VHOST_USER_SET_MEM_TABLE, true, &p, 8 + 32, &r0, 1); /* 9, one sent */
	memset(&m, 0, sizeof(m));
	region(&m.region, RAM1_GPA, RAM1_SIZE, FD_RAM1, 0);
	msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &r1, 1); /* the same again */
	msg_fds(g, VHOST_USER_REM_MEM_REG, true, &m, sizeof(m), NULL, 0); /* one reference */
	msg_fds(g, VHOST_USER_REM_MEM_REG, true, &m, sizeof(m), NULL, 0); /* gone */
	msg_fds(g, VHOST_USER_REM_MEM_REG, true, &m, sizeof(m), NULL, 0); /* not there */
	/* near misses of RAM0's region: a different size, VA, offset */
	region(&m.region, 0, 0x1000, FD_RAM0, 0);
	msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &r0, 1); /* overlaps */
	msg_fds(g, VHOST_USER_REM_MEM_REG, true, &m, sizeof(m), NULL, 0); /* not there */
	region(&m.region, 0, RAM0_SIZE, FD_RAM0, 0);
	m.region.userspace_addr += 0x1000;
	msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &r0, 1);
	msg_fds(g, VHOST_USER_REM_MEM_REG, true, &m, sizeof(m), NULL, 0);
	m.region.userspace_addr -= 0x1000;
	m.region.mmap_offset = 0x1000;
	msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &r0, 1);
	region(&m.region, RAM1_GPA, RAM0_SIZE, FD_RAM1, 0);
	msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &r1, 1); /* past EOF */
	region(&m.region, RAM1_GPA, 0x1000, FD_RAM1, 0);
	msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &efd, 1); /* an eventfd */
	for (unsigned i = 0; i < 32; i++) {
		region(&m.region, 0x200000000ULL + 0x1000ULL * i, 0x1000, FD_RAM0,
		       0x1000ULL * i);
		m.region.userspace_addr = 0x100000000000ULL + 0x1000ULL * i;
		msg_fds(g, VHOST_USER_ADD_MEM_REG, true, &m, sizeof(m), &r0, 1);
	}
	put8(g, OP_TRAFFIC);
	save(dir, "memslots-edge", g);
}

/* SET_LOG_BASE refusals; each drops the connection (QEMU waits for the reply). */
static void seed_log_edge(const char *dir, struct gv *g)
{
	static const struct vu_log bad[] = {
		{ 0, 0 },                           /* empty */
		{ 0x1000, UINT64_MAX - 0xfff },     /* offset + size wraps */
		{ 0x8000000000000000ULL, 0 },       /* more than half the address space */
		{ 2 * LOG_SIZE, 0 },                /* past the end of the file */
	};
	static const uint8_t lsel = FD_LOG, efd = FD_EFD0;
	struct vu_log ok = { LOG_SIZE, 0 };

	session(g, false);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, PF_ALL);
		msg_fds(g, VHOST_USER_SET_LOG_BASE, false, &bad[i], sizeof(bad[i]), &lsel, 1);
	}
	msg_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, PF_ALL);
	msg_fds(g, VHOST_USER_SET_LOG_BASE, false, &ok, sizeof(ok), &efd, 1); /* not a file */
	save(dir, "log-base-edge", g);
}

/* Framing: unknown requests (ack'ed as failures), nothing to read, clean EOF. */
static void seed_framing_edge(const char *dir, struct gv *g)
{
	session(g, false);
	msg_u64(g, VHOST_USER_SEND_RARP, 0); /* known name, no rule */
	msg_u64(g, 0x1234, 0);               /* beyond the table */
	raw(g, OP_RAW, NULL, 0, NULL, 0);        /* nothing sent: EAGAIN */
	{
		struct {
			struct vu_hdr h;
			uint8_t p[20];
		} __attribute__((packed)) m = { { VHOST_USER_SET_VRING_ADDR, VHOST_USER_VERSION,
						   40 },
						 { 0 } };

		raw(g, OP_RAW, &m, sizeof(m), NULL, 0); /* payload short, no EOF: EAGAIN */
	}
	raw(g, OP_EOF, NULL, 0, NULL, 0);        /* orderly EOF between messages */
	negotiate(g, F_SPLIT);
	save(dir, "framing-edge", g);
}

/*
 * A device without MQ: GET_QUEUE_NUM is refused (and the connection dropped).
 * Then a frontend without VHOST_USER_F_PROTOCOL_FEATURES (and so without
 * REPLY_ACK): a started ring is enabled whatever SET_VRING_ENABLE says.
 */
static void seed_no_mq(const char *dir, struct gv *g)
{
	begin(g, 1, false);
	msg(g, VHOST_USER_GET_QUEUE_NUM, NULL, 0);
	msg_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, PF_ALL); /* MQ, CONFIG not offered */
	msg(g, VHOST_USER_SET_OWNER, NULL, 0);
	msg_u64(g, VHOST_USER_SET_FEATURES, F_PF); /* the device wants VERSION_1 */
	msg_u64(g, VHOST_USER_SET_FEATURES, F_SPLIT & ~F_PF);
	mem_table(g);
	ring(g, 0);
	msg_state(g, VHOST_USER_SET_VRING_ENABLE, 0, 0);
	chain(g, 0, 1, false);
	put8(g, OP_TRAFFIC);
	save(dir, "no-mq", g);
}

/**
 * gen_vu() - write every vu_msg seed into @dir.
 * @dir: output directory (exists)
 *
 * A combined generator can include this file with GEN_VU_NO_MAIN defined and
 * call this function for the vu_msg target.
 */
void gen_vu(const char *dir);

void gen_vu(const char *dir)
{
	static struct gv g;

	seed_sessions(dir, &g);
	seed_h1(dir, &g);
	seed_h2(dir, &g);
	seed_h3(dir, &g);
	seed_h4(dir, &g);
	seed_h5(dir, &g);
	seed_h6(dir, &g);
	seed_h7(dir, &g);
	seed_h7_align(dir, &g);
	seed_h8(dir, &g);
	seed_h9(dir, &g);
	seed_h10(dir, &g);
	seed_h11(dir, &g);
	seed_ring_order(dir, &g);
	seed_packed_base(dir, &g);
	seed_config(dir, &g);
	seed_memslots_edge(dir, &g);
	seed_log_edge(dir, &g);
	seed_framing_edge(dir, &g);
	seed_no_mq(dir, &g);
}

#ifndef GEN_VU_NO_MAIN
int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_vu <outdir>\n");
		return 2;
	}
	gen_vu(argv[1]);
	return 0;
}
#endif
