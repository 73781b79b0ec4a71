// SPDX-License-Identifier: Apache-2.0
/*
 * vhost_user.c - vhost-user backend state machine (see vhost_user.h).
 *
 * Validation order for every message (rows H1-H11 of the hardening survey):
 *  1. framing (vu_server_recv): exact 12-byte header, payload <= our union,
 *     payload read completely, control data not truncated, at most 8 fds;
 *  2. the request table: known request, payload size, fd count, required
 *     protocol feature;
 *  3. the ring index, for every vring message, as the full 32-bit value
 *     before anything narrows it (CVE-2020-10723);
 *  4. the handler's own value checks.
 * Fds a handler does not take are closed on every path (CVE-2019-14818,
 * CVE-2022-0669).  A refused request gets an error reply where the protocol
 * has one (REPLY_ACK, GET_CONFIG size 0) and is otherwise logged and counted;
 * requests whose reply the frontend is blocked on, if refused, close the
 * connection rather than answer with invented data.
 */
#include "core/vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

/* ---------------------------------------------------------------- table */

enum ring_arg {
	RING_NONE,
	RING_STATE, /* p.state.index */
	RING_ADDR,  /* p.addr.index */
	RING_U64,   /* p.u64 & 0xff, bit 8 = no fd */
};

struct vu_req_rule {
	const char *name;
	uint16_t size_min, size_max; /* payload bytes */
	uint8_t fds_min, fds_max;
	uint8_t ring;                /* enum ring_arg */
	int8_t proto;                /* required protocol feature bit, or -1 */
	bool replies;                /* has its own reply (no REPLY_ACK) */
};

#define RULE(n, smin, smax, fmin, fmax, rg, pf, rep)                                          \
	[VHOST_USER_##n] = { #n, smin, smax, fmin, fmax, rg, pf, rep }

static const struct vu_req_rule rules[VHOST_USER_MAX_REQUEST] = {
	RULE(GET_FEATURES, 0, 8, 0, 0, RING_NONE, -1, true),
	RULE(SET_FEATURES, 8, 8, 0, 0, RING_NONE, -1, false),
	RULE(SET_OWNER, 0, 8, 0, 0, RING_NONE, -1, false),
	RULE(RESET_OWNER, 0, 8, 0, 0, RING_NONE, -1, false),
	RULE(SET_MEM_TABLE, 8, sizeof(struct vu_memory), 0, VHOST_MEMORY_BASELINE_NREGIONS,
	     RING_NONE, -1, false),
	RULE(SET_LOG_BASE, 16, 16, 1, 1, RING_NONE, VHOST_USER_PROTOCOL_F_LOG_SHMFD, true),
	RULE(SET_LOG_FD, 0, 8, 1, 1, RING_NONE, VHOST_USER_PROTOCOL_F_LOG_SHMFD, false),
	RULE(SET_VRING_NUM, 8, 8, 0, 0, RING_STATE, -1, false),
	RULE(SET_VRING_ADDR, 40, 40, 0, 0, RING_ADDR, -1, false),
	RULE(SET_VRING_BASE, 8, 8, 0, 0, RING_STATE, -1, false),
	RULE(GET_VRING_BASE, 8, 8, 0, 0, RING_STATE, -1, true),
	RULE(SET_VRING_KICK, 8, 8, 0, 1, RING_U64, -1, false),
	RULE(SET_VRING_CALL, 8, 8, 0, 1, RING_U64, -1, false),
	RULE(SET_VRING_ERR, 8, 8, 0, 1, RING_U64, -1, false),
	RULE(GET_PROTOCOL_FEATURES, 0, 8, 0, 0, RING_NONE, -1, true),
	RULE(SET_PROTOCOL_FEATURES, 8, 8, 0, 0, RING_NONE, -1, false),
	RULE(GET_QUEUE_NUM, 0, 8, 0, 0, RING_NONE, VHOST_USER_PROTOCOL_F_MQ, true),
	RULE(SET_VRING_ENABLE, 8, 8, 0, 0, RING_STATE, -1, false),
	RULE(GET_CONFIG, VU_CONFIG_HDR_SIZE, sizeof(struct vu_config), 0, 0, RING_NONE,
	     VHOST_USER_PROTOCOL_F_CONFIG, true),
	RULE(SET_CONFIG, VU_CONFIG_HDR_SIZE, sizeof(struct vu_config), 0, 0, RING_NONE,
	     VHOST_USER_PROTOCOL_F_CONFIG, false),
	RULE(RESET_DEVICE, 0, 8, 0, 0, RING_NONE, VHOST_USER_PROTOCOL_F_RESET_DEVICE, false),
	RULE(GET_MAX_MEM_SLOTS, 0, 8, 0, 0, RING_NONE, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS,
	     true),
	RULE(ADD_MEM_REG, sizeof(struct vu_mem_single), sizeof(struct vu_mem_single), 1, 1,
	     RING_NONE, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, false),
	/* REM: spec allows (and says to close) one stray fd */
	RULE(REM_MEM_REG, sizeof(struct vu_mem_single), sizeof(struct vu_mem_single), 0, 1,
	     RING_NONE, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, false),
	RULE(SET_STATUS, 8, 8, 0, 0, RING_NONE, VHOST_USER_PROTOCOL_F_STATUS, false),
	RULE(GET_STATUS, 0, 8, 0, 0, RING_NONE, VHOST_USER_PROTOCOL_F_STATUS, true),
};

/* Protocol features this layer implements itself. */
#define VU_OWN_PROTOCOL_FEATURES                                                              \
	(VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |                                        \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD) |                                        \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                                     \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                              \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_STATUS))
/* Protocol features a device may add. */
#define VU_DEV_PROTOCOL_FEATURES                                                              \
	(VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG))

const char *vu_request_name(uint32_t req)
{
	if (req < VHOST_USER_MAX_REQUEST && rules[req].name)
		return rules[req].name;
	return "UNKNOWN";
}

/* ------------------------------------------------------------- plumbing */

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Close every fd of @m not taken by a handler; count them when unexpected. */
static void release_fds(struct vu_server *s, struct vu_msg *m, bool expected)
{
	for (unsigned i = 0; i < m->nfds; i++) {
		if (m->fds[i] >= 0) {
			close_fd(&m->fds[i]);
			if (!expected)
				s->stats.fds_closed++;
		}
	}
	m->nfds = 0;
}

/* Take ownership of fd @i of @m. */
static int take_fd(struct vu_msg *m, unsigned i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

static uint64_t offered_features(struct vu_server *s)
{
	return s->ops->get_features(s->dev) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
	       VIRTIO_BIT(VHOST_F_LOG_ALL);
}

static uint64_t offered_protocol_features(struct vu_server *s)
{
	uint64_t dev = s->ops->get_protocol_features ? s->ops->get_protocol_features(s->dev) : 0;

	return VU_OWN_PROTOCOL_FEATURES | (dev & VU_DEV_PROTOCOL_FEATURES);
}

static bool proto(const struct vu_server *s, unsigned bit)
{
	return s->protocol_features & VIRTIO_BIT(bit);
}

static unsigned max_vrings(struct vu_server *s)
{
	unsigned n = s->ops->max_vrings(s->dev);

	return n < VU_MAX_VRINGS ? n : VU_MAX_VRINGS;
}

static int send_all(int sock, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = send(sock, p, len, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int send_reply(struct vu_server *s, uint32_t req, const void *payload, uint32_t size)
{
	struct {
		struct vu_hdr hdr;
		uint8_t p[sizeof(union vu_payload)];
	} __attribute__((packed)) out;

	if (size > sizeof(out.p))
		return -EINVAL;
	out.hdr.request = req;
	out.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	out.hdr.size = size;
	if (size)
		memcpy(out.p, payload, size);
	return send_all(s->sock, &out, sizeof(out.hdr) + size);
}

static int reply_u64(struct vu_server *s, uint32_t req, uint64_t v)
{
	return send_reply(s, req, &v, sizeof(v));
}

/* ---------------------------------------------------------------- rings */

static struct gmem *live_gm(struct vu_server *s)
{
	return &s->mem[s->cur].gm;
}

static bool logging(const struct vu_server *s)
{
	return s->log_base && (s->features & VIRTIO_BIT(VHOST_F_LOG_ALL));
}

static bool packed(const struct vu_server *s)
{
	return s->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED);
}

static void ring_stop(struct vu_server *s, unsigned i)
{
	struct vu_vring *v = &s->vr[i];

	if (!v->started)
		return;
	s->ops->queue_stop(s->dev, i, &v->state);
	v->started = false;
	v->state_valid = true;
}

/* Position to start from: saved by our own stop, else SET_VRING_BASE. */
static void ring_base(const struct vu_server *s, const struct vu_vring *v, struct vq_state *st)
{
	memset(st, 0, sizeof(*st));
	if (v->state_valid) {
		*st = v->state;
		return;
	}
	if (!packed(s)) {
		st->avail_idx = (uint16_t)v->base;
		return;
	}
	if (!v->base_set) {
		st->avail_wrap = st->used_wrap = true;
		return;
	}
	/* bits 0-14 avail index, 15 avail wrap, 16-30 used index, 31 used wrap */
	st->avail_idx = v->base & 0x7fff;
	st->avail_wrap = (v->base >> 15) & 1;
	if (v->base >> 16) {
		st->used_idx = (v->base >> 16) & 0x7fff;
		st->used_wrap = (v->base >> 31) & 1;
	} else {
		st->used_idx = st->avail_idx;
		st->used_wrap = st->avail_wrap;
	}
}

static int ring_start(struct vu_server *s, unsigned i)
{
	struct vu_vring *v = &s->vr[i];
	const struct gmem *gm = live_gm(s);
	struct vq_cfg cfg;
	uint64_t dlen, alen, ulen;
	int r;

	if (v->started || !v->num || !v->addr_set || v->kick_fd < 0 || gm->nr == 0 ||
	    !s->features_acked)
		return 0; /* not startable yet: not an error */

	memset(&cfg, 0, sizeof(cfg));
	cfg.fmt = packed(s) ? VQ_FMT_PACKED : VQ_FMT_SPLIT;
	cfg.size = v->num;
	cfg.features = s->features;
	cfg.call_fd = v->call_fd;
	cfg.err_fd = v->err_fd;
	ring_base(s, v, &cfg.base);
	dlen = vring_desc_bytes(v->num);
	alen = packed(s) ? sizeof(struct vring_packed_event) : vring_avail_bytes(v->num);
	ulen = packed(s) ? sizeof(struct vring_packed_event) : vring_used_bytes(v->num);
	/* H8 / A4: each area, at its full length, inside one region */
	if (gmem_uaddr_to_gpa(gm, v->addr.desc_user_addr, dlen, &cfg.desc) ||
	    gmem_uaddr_to_gpa(gm, v->addr.avail_user_addr, alen, &cfg.driver) ||
	    gmem_uaddr_to_gpa(gm, v->addr.used_user_addr, ulen, &cfg.device)) {
		vh_warn("vring %u: ring addresses not in guest memory", i);
		return -EFAULT;
	}
	/* Without VHOST_USER_F_PROTOCOL_FEATURES a started ring is enabled. */
	r = s->ops->queue_start(s->dev, i, gm, &cfg, v->kick_fd,
				v->enabled ||
					!(s->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)));
	if (r) {
		vh_warn("vring %u: start refused (%d)", i, r);
		return r;
	}
	v->started = true;
	return 0;
}

/* Stop the running rings, remembering which (for restart_rings). */
static void stop_rings(struct vu_server *s, bool *was)
{
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++) {
		was[i] = s->vr[i].started;
		ring_stop(s, i);
	}
}

/*
 * Restart the rings @was running, and start any ring whose kick fd arrived
 * before the rest of its configuration (memory, features) was complete.
 */
static void restart_rings(struct vu_server *s, const bool *was)
{
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++) {
		struct vu_vring *v = &s->vr[i];

		if ((was[i] || (v->kick_fd >= 0 && !v->started)) && ring_start(s, i))
			vh_warn("vring %u: not (re)started", i);
	}
}

static void ring_reset(struct vu_vring *v)
{
	close_fd(&v->kick_fd);
	close_fd(&v->call_fd);
	close_fd(&v->err_fd);
	memset(v, 0, sizeof(*v));
	v->kick_fd = v->call_fd = v->err_fd = -1;
}

/* --------------------------------------------------------------- memory */

static void memtab_unmap(struct vu_memtab *t, unsigned i)
{
	if (t->map[i].base) {
		munmap(t->map[i].base, t->map[i].len);
		t->map[i].base = NULL;
		t->map[i].len = 0;
	}
}

static void memtab_clear(struct vu_memtab *t, bool unmap)
{
	for (unsigned i = 0; i < t->gm.nr; i++) {
		if (unmap)
			memtab_unmap(t, i);
	}
	memset(t->map, 0, sizeof(t->map));
	gmem_init(&t->gm);
}

/*
 * mmap @fd for a region.  The file must really back [offset, offset + size):
 * mapping past its end would turn guest accesses into SIGBUS in the data path.
 */
static int map_region(int fd, const struct vu_mem_region *in, struct gmem_region *out,
		      struct vu_map *map)
{
	struct stat st;
	uint64_t align, off, delta, len;
	void *p;

	if (in->memory_size == 0 || in->mmap_offset > UINT64_MAX - in->memory_size)
		return -EINVAL;
	/*
	 * Guest and host addresses must agree modulo 8.  Ring and indirect
	 * table alignment is checked in guest addresses (VIRTIO 1.2, 2.7.2,
	 * 2.8.10.1); a region that shifted them in host memory would make the
	 * device's 2-, 4- and 8-byte loads and stores misaligned: undefined
	 * behaviour in C, torn "atomic" index loads, and an alignment fault for
	 * arm64's load-acquire of avail->idx.  The mapping starts on a page, so
	 * the host address is congruent to mmap_offset.
	 */
	if ((in->mmap_offset - in->guest_phys_addr) & 7)
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	/* memfd, hugetlbfs and /dev/shm files are regular; anything else could
	 * fault in ways we cannot bound. */
	if (!S_ISREG(st.st_mode) || in->mmap_offset + in->memory_size > (uint64_t)st.st_size)
		return -EINVAL;
	{
		/* A memfd whose size is not sealed could be shrunk under us
		 * (SIGBUS); QEMU seals its memfd backend by default. */
		int seals = fcntl(fd, F_GET_SEALS);

		if (seals >= 0 && !(seals & F_SEAL_SHRINK))
			vh_dbg("memory region at gpa %#llx: memfd size not sealed",
			       (unsigned long long)in->guest_phys_addr);
	}
	align = (uint64_t)sysconf(_SC_PAGESIZE);
	if (st.st_blksize > 0 && (uint64_t)st.st_blksize > align &&
	    !((uint64_t)st.st_blksize & ((uint64_t)st.st_blksize - 1)))
		align = (uint64_t)st.st_blksize; /* hugetlbfs */
	off = in->mmap_offset & ~(align - 1);
	delta = in->mmap_offset - off;
	if (in->memory_size > SIZE_MAX - delta)
		return -EINVAL;
	len = in->memory_size + delta;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, (off_t)off);
	if (p == MAP_FAILED)
		return -errno;
	map->base = p;
	map->len = len;
	out->gpa = in->guest_phys_addr;
	out->size = in->memory_size;
	out->uaddr = in->userspace_addr;
	out->hva = (uint8_t *)p + delta;
	return 0;
}

/*
 * Install @n regions (with their maps) as memtab @t, sorted by GPA so that
 * t->map[i] stays paired with t->gm.r[i].
 */
static int memtab_build(struct vu_memtab *t, struct gmem_region *r, struct vu_map *m,
			uint64_t *moff, unsigned *refs, unsigned n)
{
	int err;

	for (unsigned i = 1; i < n; i++) {
		for (unsigned j = i; j > 0 && r[j - 1].gpa > r[j].gpa; j--) {
			struct gmem_region tr = r[j];
			struct vu_map tm = m[j];
			uint64_t to = moff[j];
			unsigned tf = refs[j];

			r[j] = r[j - 1];
			m[j] = m[j - 1];
			moff[j] = moff[j - 1];
			refs[j] = refs[j - 1];
			r[j - 1] = tr;
			m[j - 1] = tm;
			moff[j - 1] = to;
			refs[j - 1] = tf;
		}
	}
	gmem_init(&t->gm);
	err = gmem_install(&t->gm, r, n);
	if (err)
		return err;
	memset(t->map, 0, sizeof(t->map));
	memcpy(t->map, m, n * sizeof(*m));
	memcpy(t->mmap_offset, moff, n * sizeof(*moff));
	memcpy(t->refs, refs, n * sizeof(*refs));
	return 0;
}

static void apply_log(struct vu_server *s, struct gmem *gm)
{
	if (logging(s))
		gmem_set_log(gm, s->log_base, s->log_size);
	else
		gmem_set_log(gm, NULL, 0);
}

/*
 * Make the spare memtab live: stop rings, swap, drop what the old table owned
 * (regions flagged in @unmap_old), restart rings on the new table.
 */
static void memtab_commit(struct vu_server *s, const bool *unmap_old)
{
	struct vu_memtab *old = &s->mem[s->cur];
	bool was[VU_MAX_VRINGS];

	stop_rings(s, was);
	s->cur ^= 1;
	apply_log(s, live_gm(s));
	for (unsigned i = 0; i < old->gm.nr; i++) {
		if (unmap_old[i])
			memtab_unmap(old, i);
	}
	memtab_clear(old, false);
	restart_rings(s, was);
}

static int h_set_mem_table(struct vu_server *s, struct vu_msg *m)
{
	const struct vu_memory *mem = &m->p.memory;
	struct gmem_region r[VHOST_MEMORY_BASELINE_NREGIONS];
	struct vu_map maps[VHOST_MEMORY_BASELINE_NREGIONS];
	uint64_t moff[VHOST_MEMORY_BASELINE_NREGIONS];
	unsigned refs[VHOST_MEMORY_BASELINE_NREGIONS];
	bool unmap_old[GMEM_MAX_REGIONS];
	unsigned n = mem->nregions, done = 0;
	int err = 0;

	/* H6: region count bounded, payload exactly that long, one fd each */
	if (n == 0 || n > VHOST_MEMORY_BASELINE_NREGIONS ||
	    m->hdr.size != 8 + n * sizeof(struct vu_mem_region) || m->nfds != n)
		return -EINVAL;

	memset(maps, 0, sizeof(maps));
	for (; done < n; done++) {
		int fd = take_fd(m, done);

		err = map_region(fd, &mem->regions[done], &r[done], &maps[done]);
		moff[done] = mem->regions[done].mmap_offset;
		refs[done] = 1;
		close(fd);
		if (err)
			break;
	}
	if (!err)
		err = memtab_build(&s->mem[s->cur ^ 1], r, maps, moff, refs, n); /* H7 */
	if (err) {
		for (unsigned i = 0; i < done; i++) {
			if (maps[i].base)
				munmap(maps[i].base, maps[i].len);
		}
		return err;
	}
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		unmap_old[i] = true;
	memtab_commit(s, unmap_old);
	return 0;
}

static int h_add_mem_reg(struct vu_server *s, struct vu_msg *m)
{
	const struct vu_memtab *cur = &s->mem[s->cur];
	struct gmem_region r[GMEM_MAX_REGIONS];
	struct vu_map maps[GMEM_MAX_REGIONS];
	uint64_t moff[GMEM_MAX_REGIONS];
	unsigned refs[GMEM_MAX_REGIONS];
	bool keep[GMEM_MAX_REGIONS] = { false };
	const struct vu_mem_region *in = &m->p.mem_reg.region;
	unsigned n = cur->gm.nr;
	struct vu_map added;
	int fd, err;

	for (unsigned i = 0; i < n; i++) {
		const struct gmem_region *g = &cur->gm.r[i];

		if (g->gpa == in->guest_phys_addr && g->size == in->memory_size &&
		    g->uaddr == in->userspace_addr && cur->mmap_offset[i] == in->mmap_offset) {
			/* the same region again: one more reference, no remap
			 * (the fd is closed with the message's other fds) */
			s->mem[s->cur].refs[i]++;
			return 0;
		}
	}
	if (n >= GMEM_MAX_REGIONS)
		return -ENOSPC;
	memcpy(r, cur->gm.r, n * sizeof(r[0]));
	memcpy(maps, cur->map, n * sizeof(maps[0]));
	memcpy(moff, cur->mmap_offset, n * sizeof(moff[0]));
	memcpy(refs, cur->refs, n * sizeof(refs[0]));
	refs[n] = 1;
	fd = take_fd(m, 0);
	err = map_region(fd, &m->p.mem_reg.region, &r[n], &maps[n]);
	close(fd);
	if (err)
		return err;
	moff[n] = m->p.mem_reg.region.mmap_offset;
	added = maps[n]; /* memtab_build sorts maps[] in place */
	err = memtab_build(&s->mem[s->cur ^ 1], r, maps, moff, refs, n + 1);
	if (err) {
		munmap(added.base, added.len);
		return err;
	}
	memtab_commit(s, keep); /* existing mappings moved, not unmapped */
	return 0;
}

static int h_rem_mem_reg(struct vu_server *s, struct vu_msg *m)
{
	const struct vu_mem_region *in = &m->p.mem_reg.region;
	const struct vu_memtab *cur = &s->mem[s->cur];
	struct gmem_region r[GMEM_MAX_REGIONS];
	struct vu_map maps[GMEM_MAX_REGIONS];
	uint64_t moff[GMEM_MAX_REGIONS];
	unsigned refs[GMEM_MAX_REGIONS];
	bool unmap_old[GMEM_MAX_REGIONS] = { false };
	unsigned n = 0, hit = GMEM_MAX_REGIONS;
	int err;

	for (unsigned i = 0; i < cur->gm.nr; i++) {
		const struct gmem_region *g = &cur->gm.r[i];

		if (hit == GMEM_MAX_REGIONS && g->gpa == in->guest_phys_addr &&
		    g->size == in->memory_size && g->uaddr == in->userspace_addr) {
			hit = i;
			continue;
		}
		r[n] = *g;
		maps[n] = cur->map[i];
		moff[n] = cur->mmap_offset[i];
		refs[n] = cur->refs[i];
		n++;
	}
	if (hit == GMEM_MAX_REGIONS)
		return -ENOENT;
	if (cur->refs[hit] > 1) { /* another vhost device still uses it */
		s->mem[s->cur].refs[hit]--;
		return 0;
	}
	err = memtab_build(&s->mem[s->cur ^ 1], r, maps, moff, refs, n);
	if (err)
		return err;
	unmap_old[hit] = true;
	memtab_commit(s, unmap_old);
	return 0;
}

static void log_unmap(struct vu_server *s)
{
	if (s->log_base) {
		munmap(s->log_base - (s->log_map_len - s->log_size), s->log_map_len);
		s->log_base = NULL;
		s->log_map_len = 0;
		s->log_size = 0;
	}
}

/* Stop rings, change logging state with @fn, restart: no worker sees it change. */
static void relog(struct vu_server *s)
{
	bool was[VU_MAX_VRINGS];

	stop_rings(s, was);
	apply_log(s, live_gm(s));
	restart_rings(s, was);
}

static int h_set_log_base(struct vu_server *s, struct vu_msg *m)
{
	const struct vu_log *l = &m->p.log;
	uint64_t align = (uint64_t)sysconf(_SC_PAGESIZE), off, delta;
	int fd = take_fd(m, 0);
	struct stat st;
	uint8_t *p;
	bool was[VU_MAX_VRINGS];
	int err = 0;

	/* CVE-2020-10722: size + offset must not wrap; the file must back it */
	if (l->mmap_size == 0 || l->mmap_offset > UINT64_MAX - l->mmap_size ||
	    l->mmap_size > SIZE_MAX / 2)
		err = -EINVAL;
	else if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode) || l->mmap_offset + l->mmap_size > (uint64_t)st.st_size)
		err = -EINVAL;
	if (err) {
		close(fd);
		return err;
	}
	off = l->mmap_offset & ~(align - 1);
	delta = l->mmap_offset - off;
	p = mmap(NULL, l->mmap_size + delta, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	err = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;

	stop_rings(s, was);
	log_unmap(s);
	s->log_base = p + delta;
	s->log_size = l->mmap_size;
	s->log_map_len = l->mmap_size + delta;
	apply_log(s, live_gm(s));
	restart_rings(s, was);
	return 0;
}

/* -------------------------------------------------------------- handlers */

static int h_set_features(struct vu_server *s, struct vu_msg *m)
{
	uint64_t f = m->p.u64, dev_f = f & ~(VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
					      VIRTIO_BIT(VHOST_F_LOG_ALL));
	bool running = false;
	int err;

	if (f & ~offered_features(s))
		return -EINVAL;
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++)
		running |= s->vr[i].started;
	if (running) {
		/* Only migration logging may be switched under running rings. */
		if (!s->features_acked ||
		    (f ^ s->features) & ~VIRTIO_BIT(VHOST_F_LOG_ALL))
			return -EBUSY;
		s->features = f;
		relog(s);
		return 0;
	}
	err = s->ops->set_features(s->dev, dev_f);
	if (err)
		return err;
	s->features = f;
	s->features_acked = true;
	relog(s); /* also starts rings that were only waiting for features */
	return 0;
}

static int h_set_protocol_features(struct vu_server *s, struct vu_msg *m)
{
	if (m->p.u64 & ~offered_protocol_features(s))
		return -EINVAL;
	s->protocol_features = m->p.u64;
	return 0;
}

static int h_set_vring_num(struct vu_server *s, unsigned i, uint32_t num)
{
	struct vu_vring *v = &s->vr[i];

	if (v->started)
		return -EBUSY; /* A2: frozen while running */
	/* A1: 0, > 32768, not a power of two for split (when known yet) */
	if (num == 0 || num > VQ_MAX_SIZE)
		return -EINVAL;
	if (s->features_acked && !packed(s) && (num & (num - 1)))
		return -EINVAL;
	v->num = num;
	(void)ring_start(s, i); /* if its kick fd came first; failures are logged */
	return 0;
}

static int h_set_vring_addr(struct vu_server *s, unsigned i, const struct vu_vring_addr *a)
{
	struct vu_vring *v = &s->vr[i];

	if (v->started) {
		/* Frontends re-send unchanged addresses to toggle the log flag. */
		if (a->desc_user_addr != v->addr.desc_user_addr ||
		    a->used_user_addr != v->addr.used_user_addr ||
		    a->avail_user_addr != v->addr.avail_user_addr)
			return -EBUSY;
		v->addr.flags = a->flags;
		v->addr.log_guest_addr = a->log_guest_addr;
		return 0;
	}
	v->addr = *a;
	v->addr_set = true;
	(void)ring_start(s, i); /* if its kick fd came first; failures are logged */
	return 0;
}

static int h_set_vring_base(struct vu_server *s, unsigned i, uint32_t num)
{
	struct vu_vring *v = &s->vr[i];

	if (v->started)
		return -EBUSY;
	/* D6 / H9: packed indices must be inside the ring (checked again at start) */
	if (s->features_acked && packed(s) && v->num &&
	    ((num & 0x7fff) >= v->num || ((num >> 16) & 0x7fff) >= v->num))
		return -EINVAL;
	if (s->features_acked && !packed(s) && num > UINT16_MAX)
		return -EINVAL;
	v->base = num;
	v->base_set = true;
	v->state_valid = false;
	return 0;
}

static int h_get_vring_base(struct vu_server *s, unsigned i)
{
	struct vu_vring *v = &s->vr[i];
	struct vu_vring_state out = { .index = i };
	struct vq_state st;

	ring_stop(s, i);
	ring_base(s, v, &st);
	if (packed(s))
		out.num = (uint32_t)st.avail_idx | (uint32_t)st.avail_wrap << 15 |
			  (uint32_t)st.used_idx << 16 | (uint32_t)st.used_wrap << 31;
	else
		out.num = st.avail_idx;
	/* The ring stays stopped until the next kick fd (vhost-user "Ring states"). */
	close_fd(&v->kick_fd);
	return send_reply(s, VHOST_USER_GET_VRING_BASE, &out, sizeof(out));
}

/*
 * A kick/call/err fd must be an eventfd (an anonymous inode, not a pipe,
 * socket or file: a pipe whose writer is gone polls HUP forever), and we make
 * it non-blocking: a frontend that saturates the counter or drains it between
 * our poll and our read must not block a worker, and through the stop -> ack
 * handshake the control thread.  QEMU, DPDK and cloud-hypervisor create them
 * non-blocking already.
 */
static int check_event_fd(int fd)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) || (st.st_mode & S_IFMT) != 0)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK)))
		return -EINVAL;
	return 0;
}

/* SET_VRING_KICK / CALL / ERR: replace the fd; a running ring is restarted. */
static int h_set_vring_fd(struct vu_server *s, struct vu_msg *m, unsigned i)
{
	struct vu_vring *v = &s->vr[i];
	bool nofd = m->p.u64 & VHOST_USER_VRING_NOFD_MASK;
	bool was = v->started;
	int *slot, fd;

	if ((m->p.u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK)) ||
	    nofd != (m->nfds == 0))
		return -EINVAL;
	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_KICK:
		if (nofd)
			return -ENOTSUP; /* polling mode: never busy-poll a guest */
		slot = &v->kick_fd;
		break;
	case VHOST_USER_SET_VRING_CALL:
		slot = &v->call_fd;
		break;
	default:
		slot = &v->err_fd;
		break;
	}
	if (!nofd && check_event_fd(m->fds[0]))
		return -EINVAL;
	fd = nofd ? -1 : take_fd(m, 0);
	ring_stop(s, i);
	close_fd(slot);
	*slot = fd;
	if (was || m->hdr.request == VHOST_USER_SET_VRING_KICK)
		return ring_start(s, i);
	return 0;
}

static int h_set_vring_enable(struct vu_server *s, unsigned i, uint32_t num)
{
	struct vu_vring *v = &s->vr[i];

	if (num > 1)
		return -EINVAL;
	v->enabled = num;
	if (v->started && s->ops->queue_enable)
		s->ops->queue_enable(s->dev, i,
				     v->enabled || !(s->features &
						     VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)));
	return 0;
}

static int h_get_config(struct vu_server *s, struct vu_msg *m)
{
	struct vu_config *c = &m->p.config;
	int err = -EINVAL;

	if (c->size <= VHOST_USER_MAX_CONFIG_SIZE && m->hdr.size == VU_CONFIG_HDR_SIZE + c->size &&
	    s->ops->get_config)
		err = s->ops->get_config(s->dev, c->offset, c->region, c->size);
	if (err) /* spec: an empty payload reports the error */
		return send_reply(s, VHOST_USER_GET_CONFIG, NULL, 0);
	return send_reply(s, VHOST_USER_GET_CONFIG, c, m->hdr.size);
}

static int h_set_config(struct vu_server *s, struct vu_msg *m)
{
	const struct vu_config *c = &m->p.config;

	if (c->size > VHOST_USER_MAX_CONFIG_SIZE || m->hdr.size != VU_CONFIG_HDR_SIZE + c->size ||
	    !s->ops->set_config)
		return -EINVAL;
	return s->ops->set_config(s->dev, c->offset, c->region, c->size, c->flags);
}

/* Stop everything and forget ring/device state; memory and log too if @all. */
static void reset_state(struct vu_server *s, bool all)
{
	bool was[VU_MAX_VRINGS];

	stop_rings(s, was);
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++)
		ring_reset(&s->vr[i]);
	s->ops->reset(s->dev);
	s->features = 0;
	s->features_acked = false;
	s->status = 0;
	if (all) {
		memtab_clear(&s->mem[s->cur], true);
		memtab_clear(&s->mem[s->cur ^ 1], true);
		log_unmap(s);
		close_fd(&s->log_fd);
		s->protocol_features = 0;
		s->owner = false;
	} else {
		apply_log(s, live_gm(s));
	}
}

/* Ring index of a vring message, from the full-width field. */
static int ring_index(struct vu_server *s, const struct vu_msg *m, uint8_t kind, unsigned *idx)
{
	uint64_t i;

	switch (kind) {
	case RING_STATE:
		i = m->p.state.index;
		break;
	case RING_ADDR:
		i = m->p.addr.index;
		break;
	default:
		i = m->p.u64 & VHOST_USER_VRING_IDX_MASK;
		break;
	}
	if (i >= max_vrings(s))
		return -ERANGE; /* H5 */
	*idx = (unsigned)i;
	return 0;
}

static int dispatch(struct vu_server *s, struct vu_msg *m, unsigned ri)
{
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		return reply_u64(s, m->hdr.request, offered_features(s));
	case VHOST_USER_SET_FEATURES:
		return h_set_features(s, m);
	case VHOST_USER_SET_OWNER:
		s->owner = true;
		return 0;
	case VHOST_USER_RESET_OWNER: /* deprecated: treated as "disable all rings" */
	case VHOST_USER_RESET_DEVICE:
		reset_state(s, false);
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
		return h_set_mem_table(s, m);
	case VHOST_USER_SET_LOG_BASE: {
		int err = h_set_log_base(s, m);

		/* QEMU waits for this reply (LOG_SHMFD); an error closes. */
		return err ? err : send_reply(s, m->hdr.request, NULL, 0);
	}
	case VHOST_USER_SET_LOG_FD:
		close_fd(&s->log_fd);
		s->log_fd = take_fd(m, 0);
		return 0;
	case VHOST_USER_SET_VRING_NUM:
		return h_set_vring_num(s, ri, m->p.state.num);
	case VHOST_USER_SET_VRING_ADDR:
		return h_set_vring_addr(s, ri, &m->p.addr);
	case VHOST_USER_SET_VRING_BASE:
		return h_set_vring_base(s, ri, m->p.state.num);
	case VHOST_USER_GET_VRING_BASE:
		return h_get_vring_base(s, ri);
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return h_set_vring_fd(s, m, ri);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		return reply_u64(s, m->hdr.request, offered_protocol_features(s));
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		return h_set_protocol_features(s, m);
	case VHOST_USER_GET_QUEUE_NUM:
		return reply_u64(s, m->hdr.request, s->ops->get_queue_num(s->dev));
	case VHOST_USER_SET_VRING_ENABLE:
		return h_set_vring_enable(s, ri, m->p.state.num);
	case VHOST_USER_GET_CONFIG:
		return h_get_config(s, m);
	case VHOST_USER_SET_CONFIG:
		return h_set_config(s, m);
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		return reply_u64(s, m->hdr.request, GMEM_MAX_REGIONS);
	case VHOST_USER_ADD_MEM_REG:
		return h_add_mem_reg(s, m);
	case VHOST_USER_REM_MEM_REG:
		return h_rem_mem_reg(s, m);
	case VHOST_USER_SET_STATUS:
		if (m->p.u64 > UINT8_MAX)
			return -EINVAL;
		s->status = (uint8_t)m->p.u64;
		return 0;
	case VHOST_USER_GET_STATUS:
		return reply_u64(s, m->hdr.request, s->status);
	default:
		return -ENOTSUP;
	}
}

int vu_server_handle(struct vu_server *s, struct vu_msg *m)
{
	const struct vu_req_rule *rule = NULL;
	uint32_t req = m->hdr.request;
	bool dispatched = false;
	unsigned ri = 0;
	int err;

	s->stats.msgs++;
	if (req < VHOST_USER_MAX_REQUEST && rules[req].name)
		rule = &rules[req];
	vh_dbg("<- %s (%u) size %u fds %u flags %#x", vu_request_name(req), req, m->hdr.size,
	       m->nfds, m->hdr.flags);

	if (!rule)
		err = -ENOTSUP;
	else if (m->hdr.size < rule->size_min || m->hdr.size > rule->size_max)
		err = -EINVAL; /* H3 */
	else if (m->nfds < rule->fds_min || m->nfds > rule->fds_max)
		err = -EINVAL; /* H4 */
	else if (rule->proto >= 0 && !proto(s, (unsigned)rule->proto) &&
		 !(req == VHOST_USER_GET_QUEUE_NUM &&
		   (offered_protocol_features(s) & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ))))
		err = -ENOTSUP;
	else if (rule->ring != RING_NONE)
		err = ring_index(s, m, rule->ring, &ri);
	else
		err = 0;

	if (!err) {
		dispatched = true;
		err = dispatch(s, m, ri);
	}
	release_fds(s, m, err == 0);

	if (err) {
		s->stats.errors++;
		vh_warn("request %s (%u) refused: %s", vu_request_name(req), req, strerror(-err));
		/* GET_CONFIG has an error reply: an empty payload. */
		if (req == VHOST_USER_GET_CONFIG && !dispatched)
			return send_reply(s, req, NULL, 0);
		/* The frontend is blocked reading a reply we cannot give. */
		if (rule && rule->replies && req != VHOST_USER_GET_CONFIG)
			return err < 0 ? err : -EPROTO;
		if (err == -EPIPE || err == -ECONNRESET)
			return err;
	}
	if (rule && !rule->replies && (m->hdr.flags & VHOST_USER_NEED_REPLY_MASK) &&
	    proto(s, VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		int r = reply_u64(s, req, err ? 1 : 0);

		if (r)
			return r;
	} else if (!rule && (m->hdr.flags & VHOST_USER_NEED_REPLY_MASK) &&
		   proto(s, VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		int r = reply_u64(s, req, 1);

		if (r)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ I/O */

static int read_exact(int sock, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = recv(sock, p, len, 0);

		if (r == 0)
			return -EPROTO; /* EOF inside a message */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int vu_server_recv(struct vu_server *s, struct vu_msg *m)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &m->hdr, sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t r;
	int err = 0;

	memset(&m->hdr, 0, sizeof(m->hdr));
	m->nfds = 0;
	do {
		r = recvmsg(s->sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return -errno;

	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (m->nfds < VU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		err = -EPROTO; /* H4: fds were dropped by the kernel */
	/* H1: the rest of the header, exactly */
	if (!err && (size_t)r < sizeof(m->hdr))
		err = read_exact(s->sock, (char *)&m->hdr + r, sizeof(m->hdr) - (size_t)r);
	/* H2: payload no larger than what any request may carry */
	if (!err && m->hdr.size > sizeof(m->p))
		err = -EPROTO;
	if (!err && (m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		err = -EPROTO;
	if (!err) {
		memset(&m->p, 0, sizeof(m->p));
		err = read_exact(s->sock, &m->p, m->hdr.size);
	}
	if (err) {
		release_fds(s, m, true);
		return err;
	}
	return 0;
}

void vu_server_init(struct vu_server *s, const struct vu_dev_ops *ops, void *dev, int sock)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->dev = dev;
	s->sock = sock;
	s->log_fd = -1;
	gmem_init(&s->mem[0].gm);
	gmem_init(&s->mem[1].gm);
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++)
		s->vr[i].kick_fd = s->vr[i].call_fd = s->vr[i].err_fd = -1;
}

void vu_server_reset(struct vu_server *s)
{
	reset_state(s, true);
}
