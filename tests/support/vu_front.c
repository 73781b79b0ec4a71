// SPDX-License-Identifier: Apache-2.0
/*
 * vu_front.c - minimal vhost-user frontend (see vu_front.h).
 */
#include "tests/support/vu_front.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define VU_FRONT_MAX_SEND_FDS 64

/* ---- connection ---------------------------------------------------------- */

void vu_front_init_fd(struct vu_front *f, int fd)
{
	memset(f, 0, sizeof(*f));
	f->sock = fd;
	f->timeout_ms = VU_FRONT_TIMEOUT_MS;
}

static int set_rcv_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int vu_front_connect(struct vu_front *f, const char *path, int timeout_ms)
{
	struct sockaddr_un sa;
	int fd, err, waited = 0;

	err = fill_addr(&sa, path);
	if (err)
		return err;
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		err = -errno;
		close(fd);
		if ((err != -ENOENT && err != -ECONNREFUSED) || waited >= timeout_ms)
			return err;
		sleep_ms(10);
		waited += 10;
	}
	vu_front_init_fd(f, fd);
	err = set_rcv_timeout(fd, f->timeout_ms);
	if (err) {
		vu_front_close(f);
		return err;
	}
	return 0;
}

int vu_front_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, err;

	err = fill_addr(&sa, path);
	if (err)
		return err;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int vu_front_accept(struct vu_front *f, int lfd, int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r, fd;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	vu_front_init_fd(f, fd);
	r = set_rcv_timeout(fd, f->timeout_ms);
	if (r) {
		vu_front_close(f);
		return r;
	}
	return 0;
}

void vu_front_close(struct vu_front *f)
{
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
}

void vu_front_set_pump(struct vu_front *f, int (*pump)(void *arg), void *arg)
{
	f->pump = pump;
	f->pump_arg = arg;
}

int vu_front_pump(struct vu_front *f)
{
	if (!f->pump)
		return 0;
	f->pump_rc = f->pump(f->pump_arg);
	return f->pump_rc;
}

/* ---- raw messages -------------------------------------------------------- */

int vu_front_send_raw(struct vu_front *f, const void *buf, size_t len, const int *fds,
		      unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(VU_FRONT_MAX_SEND_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	static const uint8_t zero;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const uint8_t *p = buf;
	ssize_t r;

	if (nfds > VU_FRONT_MAX_SEND_FDS)
		return -EINVAL;
	if (len == 0) {
		if (!nfds)
			return 0;
		/* fds need at least one byte to ride on */
		iov.iov_base = (void *)&zero;
		iov.iov_len = 1;
		p = &zero;
		len = 1;
	}
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do {
		r = sendmsg(f->sock, &mh, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	/* The rest, without fds. */
	p += r;
	len -= (size_t)r;
	while (len) {
		r = send(f->sock, p, len, MSG_NOSIGNAL);
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

int vu_front_send(struct vu_front *f, uint32_t req, uint32_t flags, const void *payload,
		  uint32_t size, const int *fds, unsigned nfds)
{
	struct {
		struct vu_hdr hdr;
		uint8_t p[sizeof(union vu_payload)];
	} __attribute__((packed)) out;
	int err;

	if (size > sizeof(out.p))
		return -E2BIG;
	out.hdr.request = req;
	out.hdr.flags = flags;
	out.hdr.size = size;
	if (size)
		memcpy(out.p, payload, size);
	err = vu_front_send_raw(f, &out, sizeof(out.hdr) + size, fds, nfds);
	if (err)
		return err;
	vu_front_pump(f);
	return 0;
}

static void close_fds(struct vu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

/* Read exactly @len bytes; pump mode never blocks. */
static int read_exact(struct vu_front *f, void *buf, size_t len, struct msghdr *first)
{
	char *p = buf;
	int flags = f->pump ? MSG_DONTWAIT : 0;

	while (len) {
		ssize_t r;

		if (first) {
			first->msg_iov->iov_base = p;
			first->msg_iov->iov_len = len;
			r = recvmsg(f->sock, first, flags | MSG_CMSG_CLOEXEC);
		} else {
			r = recv(f->sock, p, len, flags);
		}
		if (r == 0)
			return p == (char *)buf && first ? -ECONNRESET : -EPROTO;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return f->pump ? -EAGAIN : -ETIMEDOUT;
			return -errno;
		}
		first = NULL;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int vu_front_recv(struct vu_front *f, struct vu_msg *m)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	int err;

	memset(m, 0, sizeof(*m));
	err = read_exact(f, &m->hdr, sizeof(m->hdr), &mh);
	for (cm = CMSG_FIRSTHDR(&mh); !err && cm; cm = CMSG_NXTHDR(&mh, cm)) {
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
	if (!err && m->hdr.size > sizeof(m->p))
		err = -EPROTO;
	if (!err)
		err = read_exact(f, &m->p, m->hdr.size, NULL);
	if (err)
		close_fds(m);
	return err;
}

int vu_front_call(struct vu_front *f, uint32_t req, const void *payload, uint32_t size,
		  const int *fds, unsigned nfds, struct vu_msg *reply)
{
	int err = vu_front_send(f, req, VHOST_USER_VERSION, payload, size, fds, nfds);

	if (!err)
		err = vu_front_recv(f, reply);
	if (err)
		return err;
	close_fds(reply);
	if (reply->hdr.request != req || !(reply->hdr.flags & VHOST_USER_REPLY_MASK) ||
	    (reply->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return -EPROTO;
	return 0;
}

/* Read the REPLY_ACK answer to @req. */
static int read_ack(struct vu_front *f, uint32_t req)
{
	struct vu_msg r;
	int err = vu_front_recv(f, &r);

	if (err)
		return err;
	close_fds(&r);
	if (r.hdr.request != req || !(r.hdr.flags & VHOST_USER_REPLY_MASK) ||
	    r.hdr.size != sizeof(uint64_t))
		return -EPROTO;
	f->last_ack = r.p.u64;
	return r.p.u64 ? -EREMOTEIO : 0;
}

int vu_front_set(struct vu_front *f, uint32_t req, const void *payload, uint32_t size,
		 const int *fds, unsigned nfds)
{
	bool ack = vu_front_reply_ack(f);
	uint32_t flags = VHOST_USER_VERSION | (ack ? VHOST_USER_NEED_REPLY_MASK : 0);
	int err = vu_front_send(f, req, flags, payload, size, fds, nfds);

	if (err || !ack)
		return err;
	return read_ack(f, req);
}

/* ---- device negotiation -------------------------------------------------- */

static int get_u64(struct vu_front *f, uint32_t req, uint64_t *out)
{
	struct vu_msg r;
	int err = vu_front_call(f, req, NULL, 0, NULL, 0, &r);

	if (err)
		return err;
	if (r.hdr.size != sizeof(uint64_t))
		return -EPROTO;
	*out = r.p.u64;
	return 0;
}

static int set_u64(struct vu_front *f, uint32_t req, uint64_t v)
{
	return vu_front_set(f, req, &v, sizeof(v), NULL, 0);
}

int vu_front_get_features(struct vu_front *f, uint64_t *features)
{
	return get_u64(f, VHOST_USER_GET_FEATURES, features);
}

int vu_front_set_features(struct vu_front *f, uint64_t features)
{
	int err = set_u64(f, VHOST_USER_SET_FEATURES, features);

	if (!err)
		f->features = features;
	return err;
}

int vu_front_get_protocol_features(struct vu_front *f, uint64_t *pf)
{
	return get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, pf);
}

int vu_front_set_protocol_features(struct vu_front *f, uint64_t pf)
{
	int err = vu_front_send(f, VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_VERSION, &pf,
				sizeof(pf), NULL, 0);

	if (!err)
		f->protocol_features = pf;
	return err;
}

int vu_front_set_owner(struct vu_front *f)
{
	return vu_front_set(f, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
}

int vu_front_reset_owner(struct vu_front *f)
{
	return vu_front_set(f, VHOST_USER_RESET_OWNER, NULL, 0, NULL, 0);
}

int vu_front_reset_device(struct vu_front *f)
{
	return vu_front_set(f, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0);
}

int vu_front_get_queue_num(struct vu_front *f, uint64_t *n)
{
	return get_u64(f, VHOST_USER_GET_QUEUE_NUM, n);
}

int vu_front_get_max_mem_slots(struct vu_front *f, uint64_t *n)
{
	return get_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS, n);
}

int vu_front_set_status(struct vu_front *f, uint8_t status)
{
	return set_u64(f, VHOST_USER_SET_STATUS, status);
}

int vu_front_get_status(struct vu_front *f, uint8_t *status)
{
	uint64_t v;
	int err = get_u64(f, VHOST_USER_GET_STATUS, &v);

	if (!err)
		*status = (uint8_t)v;
	return err;
}

int vu_front_get_config(struct vu_front *f, uint32_t off, void *buf, uint32_t len)
{
	struct vu_config c;
	struct vu_msg r;
	int err;

	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.offset = off;
	c.size = len;
	err = vu_front_call(f, VHOST_USER_GET_CONFIG, &c, VU_CONFIG_HDR_SIZE + len, NULL, 0, &r);
	if (err)
		return err;
	if (r.hdr.size == 0)
		return -EREMOTEIO;
	if (r.hdr.size != VU_CONFIG_HDR_SIZE + len || r.p.config.size != len)
		return -EPROTO;
	memcpy(buf, r.p.config.region, len);
	return 0;
}

int vu_front_set_config(struct vu_front *f, uint32_t off, const void *buf, uint32_t len,
			uint32_t flags)
{
	struct vu_config c;

	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.offset = off;
	c.size = len;
	c.flags = flags;
	memcpy(c.region, buf, len);
	return vu_front_set(f, VHOST_USER_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + len, NULL, 0);
}

/* ---- memory ------------------------------------------------------------- */

uint64_t vu_front_uaddr(const struct drvsim *ds, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)drvsim_hva(ds, gpa, 1);
}

unsigned vu_front_regions(const struct drvsim *ds, struct vu_front_region *out, unsigned cap)
{
	unsigned n = ds->nr < cap ? ds->nr : cap;

	for (unsigned i = 0; i < n; i++) {
		out[i].gpa = ds->reg[i].gpa;
		out[i].size = ds->reg[i].size;
		/* QEMU: userspace_addr is the frontend's own mapping */
		out[i].uaddr = (uint64_t)(uintptr_t)ds->reg[i].hva;
		out[i].mmap_offset = ds->off[i];
		out[i].fd = ds->memfd;
	}
	return n;
}

static void wire_region(const struct vu_front_region *r, struct vu_mem_region *w)
{
	w->guest_phys_addr = r->gpa;
	w->memory_size = r->size;
	w->userspace_addr = r->uaddr;
	w->mmap_offset = r->mmap_offset;
}

int vu_front_set_mem_table(struct vu_front *f, const struct vu_front_region *r, unsigned n)
{
	struct vu_memory m;
	int fds[VHOST_MEMORY_BASELINE_NREGIONS];

	if (n > VHOST_MEMORY_BASELINE_NREGIONS)
		return -E2BIG;
	memset(&m, 0, sizeof(m));
	m.nregions = n;
	for (unsigned i = 0; i < n; i++) {
		wire_region(&r[i], &m.regions[i]);
		fds[i] = r[i].fd;
	}
	return vu_front_set(f, VHOST_USER_SET_MEM_TABLE, &m,
			    (uint32_t)(8 + n * sizeof(struct vu_mem_region)), fds, n);
}

int vu_front_set_mem_table_ds(struct vu_front *f, const struct drvsim *ds)
{
	struct vu_front_region r[GMEM_MAX_REGIONS];
	unsigned n = vu_front_regions(ds, r, GMEM_MAX_REGIONS);

	return vu_front_set_mem_table(f, r, n);
}

int vu_front_add_mem_reg(struct vu_front *f, const struct vu_front_region *r)
{
	struct vu_mem_single m;

	memset(&m, 0, sizeof(m));
	wire_region(r, &m.region);
	return vu_front_set(f, VHOST_USER_ADD_MEM_REG, &m, sizeof(m), &r->fd, 1);
}

int vu_front_rem_mem_reg(struct vu_front *f, const struct vu_front_region *r)
{
	struct vu_mem_single m;

	memset(&m, 0, sizeof(m));
	wire_region(r, &m.region);
	/* QEMU attaches the region's fd; the backend closes it */
	return vu_front_set(f, VHOST_USER_REM_MEM_REG, &m, sizeof(m), &r->fd, r->fd >= 0);
}

/* ---- rings ---------------------------------------------------------------- */

static int set_state(struct vu_front *f, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vu_vring_state s = { .index = idx, .num = num };

	return vu_front_set(f, req, &s, sizeof(s), NULL, 0);
}

int vu_front_set_vring_num(struct vu_front *f, uint32_t idx, uint32_t num)
{
	return set_state(f, VHOST_USER_SET_VRING_NUM, idx, num);
}

int vu_front_set_vring_addr(struct vu_front *f, uint32_t idx, uint64_t desc, uint64_t avail,
			    uint64_t used, uint32_t flags, uint64_t log)
{
	struct vu_vring_addr a = {
		.index = idx, .flags = flags, .desc_user_addr = desc, .used_user_addr = used,
		.avail_user_addr = avail, .log_guest_addr = log,
	};

	return vu_front_set(f, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

int vu_front_set_vring_base(struct vu_front *f, uint32_t idx, uint32_t base)
{
	return set_state(f, VHOST_USER_SET_VRING_BASE, idx, base);
}

int vu_front_get_vring_base(struct vu_front *f, uint32_t idx, uint32_t *base)
{
	struct vu_vring_state s = { .index = idx, .num = 0 };
	struct vu_msg r;
	int err = vu_front_call(f, VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0, &r);

	if (err)
		return err;
	if (r.hdr.size != sizeof(s) || r.p.state.index != idx)
		return -EPROTO;
	*base = r.p.state.num;
	return 0;
}

static int set_vring_fd(struct vu_front *f, uint32_t req, uint32_t idx, int fd)
{
	uint64_t v = idx & VHOST_USER_VRING_IDX_MASK;

	if (fd < 0)
		v |= VHOST_USER_VRING_NOFD_MASK;
	return vu_front_set(f, req, &v, sizeof(v), &fd, fd >= 0);
}

int vu_front_set_vring_kick(struct vu_front *f, uint32_t idx, int fd)
{
	return set_vring_fd(f, VHOST_USER_SET_VRING_KICK, idx, fd);
}

int vu_front_set_vring_call(struct vu_front *f, uint32_t idx, int fd)
{
	return set_vring_fd(f, VHOST_USER_SET_VRING_CALL, idx, fd);
}

int vu_front_set_vring_err(struct vu_front *f, uint32_t idx, int fd)
{
	return set_vring_fd(f, VHOST_USER_SET_VRING_ERR, idx, fd);
}

int vu_front_set_vring_enable(struct vu_front *f, uint32_t idx, bool enable)
{
	return set_state(f, VHOST_USER_SET_VRING_ENABLE, idx, enable);
}

void vu_front_vring_split(const struct drvsim_split *q, struct vu_front_vring *v)
{
	v->num = q->size;
	v->desc = vu_front_uaddr(q->ds, q->desc_gpa);
	v->avail = vu_front_uaddr(q->ds, q->avail_gpa);
	v->used = vu_front_uaddr(q->ds, q->used_gpa);
	v->base = q->avail_idx;
	v->kick = -1;
	v->call = -1;
}

void vu_front_vring_packed(const struct drvsim_packed *q, struct vu_front_vring *v)
{
	v->num = q->size;
	v->desc = vu_front_uaddr(q->ds, q->ring_gpa);
	v->avail = vu_front_uaddr(q->ds, q->drv_gpa);
	v->used = vu_front_uaddr(q->ds, q->dev_gpa);
	v->base = (uint32_t)q->next_avail | (uint32_t)q->avail_wrap << 15 |
		  (uint32_t)q->next_used << 16 | (uint32_t)q->used_wrap << 31;
	v->kick = -1;
	v->call = -1;
}

int vu_front_vring_setup(struct vu_front *f, uint32_t idx, const struct vu_front_vring *v)
{
	int err;

	err = vu_front_set_vring_num(f, idx, v->num);
	if (!err)
		err = vu_front_set_vring_base(f, idx, v->base);
	if (!err)
		err = vu_front_set_vring_addr(f, idx, v->desc, v->avail, v->used, 0, 0);
	if (!err)
		err = vu_front_set_vring_kick(f, idx, v->kick);
	if (!err && v->call >= 0)
		err = vu_front_set_vring_call(f, idx, v->call);
	return err;
}

/* ---- dirty log ----------------------------------------------------------- */

int vu_front_log_new(struct vu_front_log *l, uint64_t guest_bytes)
{
	uint64_t pages = (guest_bytes + VHOST_LOG_PAGE - 1) / VHOST_LOG_PAGE;
	uint64_t size = (pages + 7) / 8;
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t maplen;
	int err;

	l->fd = -1;
	l->map = NULL;
	l->size = 0;
	if (size == 0)
		size = 1;
	maplen = (size + (uint64_t)pg - 1) & ~((uint64_t)pg - 1);
	l->fd = memfd_create("vu_front_log", MFD_CLOEXEC);
	if (l->fd < 0)
		return -errno;
	if (ftruncate(l->fd, (off_t)maplen)) {
		err = -errno;
		goto fail;
	}
	l->map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, 0);
	if (l->map == MAP_FAILED) {
		err = -errno;
		l->map = NULL;
		goto fail;
	}
	l->size = size;
	return 0;

fail:
	close(l->fd);
	l->fd = -1;
	return err;
}

void vu_front_log_free(struct vu_front_log *l)
{
	long pg = sysconf(_SC_PAGESIZE);

	if (l->map) {
		munmap(l->map, (l->size + (uint64_t)pg - 1) & ~((uint64_t)pg - 1));
		l->map = NULL;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

bool vu_front_log_dirty(const struct vu_front_log *l, uint64_t gpa)
{
	uint64_t page = gpa / VHOST_LOG_PAGE;

	if (page / 8 >= l->size)
		return false;
	return __atomic_load_n(&l->map[page / 8], __ATOMIC_RELAXED) & (1u << (page % 8));
}

void vu_front_log_clear(struct vu_front_log *l)
{
	memset(l->map, 0, l->size);
}

int vu_front_set_log_base(struct vu_front *f, int fd, uint64_t size, uint64_t offset)
{
	struct vu_log lg = { .mmap_size = size, .mmap_offset = offset };
	struct vu_msg r;

	/* LOG_SHMFD: the backend answers when the log is mapped (no REPLY_ACK) */
	return vu_front_call(f, VHOST_USER_SET_LOG_BASE, &lg, sizeof(lg), &fd, 1, &r);
}

int vu_front_set_log_fd(struct vu_front *f, int fd)
{
	return vu_front_set(f, VHOST_USER_SET_LOG_FD, NULL, 0, &fd, 1);
}
