// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_vu_msg.c - the vhost-user protocol layer (core/vhost_user.c) against a
 * hostile frontend.
 *
 * Theory of operation
 * -------------------
 * The process owns a socketpair and a pool of descriptors (two guest-RAM
 * memfds, a log memfd, an empty memfd, three eventfds -- the third blocking --
 * and a pipe), made on the
 * first run and put back in their initial state after every run (memfd
 * contents punched out, eventfd counters and the pipe drained, both socket
 * ends drained), so each run sees exactly what a fresh pool would show it.
 * A run starts a struct vu_server on one end and plays the frontend on the
 * other.  The input is a config byte and then a stream of ops
 * (corpus/gen/gen_vu.c encodes it):
 *
 *   config:   u8  bits 0-2 max_vrings - 1, bit 3 device protocol features
 *                 (MQ, CONFIG), bit 4 no packed, bit 5 no EVENT_IDX,
 *                 bit 6 no INDIRECT
 *   op VU_OP_MSG:   u32 request, u8 flags mode [u32 flags], u8 size mode
 *                   [u16 size], u8 nfds (mod 10), nfds x u8 fd selector,
 *                   [i8 size delta], payload bytes (hdr.size of them)
 *   op VU_OP_RAW:   u16 length (mod 1024), bytes, u8 nfds, selectors
 *   op VU_OP_EOF:   like VU_OP_RAW, then the frontend shuts its end down
 *   op VU_OP_POKE:  u8 memfd, u32 offset, u8 length, bytes: guest writes
 *   op VU_OP_TRAFFIC: run the device loop on every started ring
 *   op VU_OP_RESET: disconnect (vu_server_reset) and reconnect
 *
 * Every message is written whole before the server reads it, and the server
 * socket is non-blocking, so framing errors can never hang a run.  After each
 * message the server's replies are drained and checked, and the fake device
 * runs a few chains on every started ring: its queues are real struct vq
 * started on the gmem the server hands over, so memory tables, ring addresses
 * and dirty logging are really used.  The frontend VA of a guest memfd is
 * VU_UADDR(memfd) + file offset, as if the frontend had mapped each memfd at a
 * fixed address (QEMU sends its own mapping address).
 *
 * Oracles (fz_fail on violation): the vu_dev_ops contract (no double start,
 * no stop of a stopped ring, reset only with every ring stopped, indices in
 * range, a valid kick fd, a non-empty gmem); server and device agree on which
 * rings run; every fd the server holds is open; every gmem region lies inside
 * a server mapping that really exists; every iovec a queue yields lies inside
 * a region; replies are well formed, at most one per message, and present
 * whenever the frontend waits for one; at the end of a run, after
 * vu_server_reset, the process holds exactly the fds and file mappings it
 * held before the run.
 *
 * Cost: the oracles are exact but cheap -- one poll() for every fd the server
 * holds; the fd count is a getdents of /proc/self/fd through a directory fd
 * kept open (no /proc text to parse); mappings are counted by a ledger of
 * every mmap/munmap call (the binary links with --wrap=mmap,--wrap=munmap)
 * instead of reading /proc/self/maps -- and the pool is never re-created, so a
 * run costs little more than the syscalls of its messages.  Oracle code is not coverage-instrumented (VU_NOCOV): its
 * comparisons are not input features.
 *
 * Environment: FZ_TRACE=1 prints one line per message and per popped chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vhost_user.h"
#include "core/virtq.h"
#include "fuzz/fz.h"

#define VU_MAX_OPS 128u
#define VU_DEV_RINGS 8u
#define VU_POPS_PER_MSG 2u
#define VU_POPS_TRAFFIC 8u
#define VU_IOV 32u
#define VU_RAW_MAX 1024u
#define VU_SEND_FDS 9u

/* oracle code: no coverage instrumentation (its compares are not features) */
#if defined(__clang__)
#define VU_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define VU_NOCOV
#endif

/* fd pool (selector % VU_FD__COUNT) */
enum vu_fd_sel {
	VU_FD_RAM0,  /* 1 MiB guest RAM memfd */
	VU_FD_RAM1,  /* 64 KiB guest RAM memfd */
	VU_FD_LOG,   /* 4 KiB log memfd */
	VU_FD_EMPTY, /* 0-byte memfd */
	VU_FD_EFD0,
	VU_FD_EFD1,
	VU_FD_EFD2,  /* blocking: the server must make it non-blocking */
	VU_FD_PIPE,  /* write end of a pipe */
	VU_FD__COUNT
};

#define VU_RAM0_SIZE 0x100000u
#define VU_RAM1_SIZE 0x10000u
#define VU_LOG_SIZE 0x1000u
/* frontend VA of byte 0 of a memfd of the pool */
#define VU_UADDR(sel) (0x7f0000000000ULL + (uint64_t)(sel) * 0x10000000ULL)

enum vu_op {
	VU_OP_MSG,
	VU_OP_RAW,
	VU_OP_EOF,
	VU_OP_POKE,
	VU_OP_TRAFFIC,
	VU_OP_RESET,
	VU_OP__COUNT
};

/* VU_OP_MSG flags mode (value % 4) */
enum vu_flags_mode { VU_FL_PLAIN, VU_FL_NEED, VU_FL_RAW, VU_FL_NEED2 };

/* VU_OP_MSG size mode (value % 3) */
enum vu_size_mode { VU_SZ_NATURAL, VU_SZ_DELTA, VU_SZ_RAW };

struct vu_fq {
	struct vq vq;
	bool running;
};

struct vu_fdev {
	uint64_t features;
	uint64_t proto;
	unsigned max_vrings;
	struct vu_fq q[VU_DEV_RINGS];
	uint8_t config[32];
};

struct vu_run {
	struct fz_in in;
	int sv[2];            /* frontend end, server end (process-wide) */
	int pool[VU_FD__COUNT];
	int pipe_rd;
	uint8_t *ram0, *ram1; /* the harness' (guest's) own mappings */
	int fd_dir;           /* /proc/self/fd */
	bool ready;           /* the above exist */
	struct vu_server s;
	struct vu_fdev dev;
	struct iovec iov[VU_IOV];
	uint64_t sink;
	bool trace; /* FZ_TRACE set: one line per message and per chain */
};

/* One per process: the pool and the socketpair outlive runs (run_init). */
static struct vu_run vu_run_state;

/* ---- fake device with real queues ------------------------------------------ */

static uint64_t d_get_features(void *dev)
{
	return ((struct vu_fdev *)dev)->features;
}

static uint64_t d_get_protocol_features(void *dev)
{
	return ((struct vu_fdev *)dev)->proto;
}

static uint64_t d_get_queue_num(void *dev)
{
	return (((struct vu_fdev *)dev)->max_vrings + 1) / 2;
}

static unsigned d_max_vrings(void *dev)
{
	return ((struct vu_fdev *)dev)->max_vrings;
}

static int d_set_features(void *dev, uint64_t f)
{
	FZ_CHECK(!(f & ~((struct vu_fdev *)dev)->features), "acked features not offered");
	/* a modern-only device, like vhostile-net: refusals reach the server too */
	return f & VIRTIO_BIT(VIRTIO_F_VERSION_1) ? 0 : -ENOTSUP;
}

static int d_get_config(void *dev, uint32_t off, void *buf, uint32_t len)
{
	struct vu_fdev *d = dev;

	if (off > sizeof(d->config) || len > sizeof(d->config) - off)
		return -EINVAL;
	memcpy(buf, d->config + off, len);
	return 0;
}

static int d_set_config(void *dev, uint32_t off, const void *buf, uint32_t len, uint32_t flags)
{
	struct vu_fdev *d = dev;

	(void)flags;
	if (off > sizeof(d->config) || len > sizeof(d->config) - off)
		return -EINVAL;
	memcpy(d->config + off, buf, len);
	return 0;
}

static int d_queue_start(void *dev, unsigned idx, const struct gmem *gm,
			 const struct vq_cfg *cfg, int kick_fd, bool enabled)
{
	struct vu_fdev *d = dev;
	int err;

	(void)enabled;
	FZ_CHECK(idx < d->max_vrings, "queue_start(%u) beyond max_vrings %u", idx, d->max_vrings);
	FZ_CHECK(!d->q[idx].running, "queue_start(%u) on a running ring", idx);
	FZ_CHECK(kick_fd >= 0 && fcntl(kick_fd, F_GETFD) >= 0, "queue_start(%u) bad kick", idx);
	FZ_CHECK(gm && gm->nr > 0, "queue_start(%u) without memory", idx);
	err = vq_start(&d->q[idx].vq, gm, cfg);
	if (err)
		return err;
	d->q[idx].running = true;
	return 0;
}

static void d_queue_stop(void *dev, unsigned idx, struct vq_state *st)
{
	struct vu_fdev *d = dev;

	FZ_CHECK(idx < d->max_vrings && d->q[idx].running, "queue_stop(%u) on a stopped ring",
		 idx);
	vq_stop(&d->q[idx].vq, st);
	d->q[idx].running = false;
}

static void d_queue_enable(void *dev, unsigned idx, bool enabled)
{
	struct vu_fdev *d = dev;

	(void)enabled;
	FZ_CHECK(idx < d->max_vrings && d->q[idx].running, "queue_enable(%u) on a stopped ring",
		 idx);
}

static void d_reset(void *dev)
{
	struct vu_fdev *d = dev;

	for (unsigned i = 0; i < VU_DEV_RINGS; i++)
		FZ_CHECK(!d->q[i].running, "reset with ring %u running", i);
}

static const struct vu_dev_ops dev_ops = {
	.get_features = d_get_features,
	.get_protocol_features = d_get_protocol_features,
	.get_queue_num = d_get_queue_num,
	.max_vrings = d_max_vrings,
	.set_features = d_set_features,
	.get_config = d_get_config,
	.set_config = d_set_config,
	.queue_start = d_queue_start,
	.queue_stop = d_queue_stop,
	.queue_enable = d_queue_enable,
	.reset = d_reset,
};

/* ---- resource accounting ------------------------------------------------------- */

/*
 * Entries of the /proc directory open as @dfd, re-read from the start: the
 * kernel regenerates it on every read.  /proc/self/fd has one entry per open
 * fd (plus "." and "..").
 */
static VU_NOCOV unsigned count_entries(int dfd)
{
	static uint64_t buf[2048]; /* struct linux_dirent64 records */
	unsigned n = 0;
	long got;

	FZ_CHECK(lseek(dfd, 0, SEEK_SET) == 0, "rewind /proc dir");
	while ((got = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			uint16_t reclen;

			memcpy(&reclen, (const uint8_t *)buf + off + 16, sizeof(reclen));
			FZ_CHECK(reclen > 0, "getdents64 record");
			off += reclen;
			n++;
		}
	}
	FZ_CHECK(got == 0, "getdents64: %s", strerror(errno));
	return n;
}

/*
 * Mapping ledger: the vu_msg binaries link with -Wl,--wrap=mmap,--wrap=munmap
 * (fuzz/CMakeLists.txt), so every mmap and munmap call in the binary -- the
 * server's among them -- comes through here.  The ledger holds the page ranges
 * mapped through mmap and not unmapped since; a run must leave it exactly as
 * it found it.  Overflow (more live ranges than slots) is reported, not
 * ignored.
 */
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);

#define VU_LEDGER 128u
#define VU_PAGE 4096u

struct vu_ledger {
	uintptr_t start[VU_LEDGER], end[VU_LEDGER];
	unsigned n;
	bool overflow;
};

static struct vu_ledger ledger;

static VU_NOCOV void ledger_add(uintptr_t a, uintptr_t e)
{
	if (ledger.n == VU_LEDGER) {
		ledger.overflow = true;
		return;
	}
	ledger.start[ledger.n] = a;
	ledger.end[ledger.n] = e;
	ledger.n++;
}

/* Forget [a, e): whole ranges go, partly covered ones are cut (or split). */
static VU_NOCOV void ledger_sub(uintptr_t a, uintptr_t e)
{
	for (unsigned i = 0; i < ledger.n;) {
		uintptr_t s = ledger.start[i], t = ledger.end[i];

		if (t <= a || s >= e) {
			i++;
			continue;
		}
		if (s < a && t > e) { /* a hole in the middle */
			ledger.end[i] = a;
			ledger_add(e, t);
			i++;
		} else if (s < a) {
			ledger.end[i] = a;
			i++;
		} else if (t > e) {
			ledger.start[i] = e;
			i++;
		} else { /* covered: swap-remove */
			ledger.n--;
			ledger.start[i] = ledger.start[ledger.n];
			ledger.end[i] = ledger.end[ledger.n];
		}
	}
}

static uintptr_t page_end(const void *p, size_t len)
{
	return ((uintptr_t)p + len + VU_PAGE - 1) & ~(uintptr_t)(VU_PAGE - 1);
}

VU_NOCOV void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = __real_mmap(addr, len, prot, flags, fd, off);

	if (p != MAP_FAILED && len) {
		ledger_sub((uintptr_t)p, page_end(p, len)); /* MAP_FIXED replaces */
		ledger_add((uintptr_t)p, page_end(p, len));
	}
	return p;
}

VU_NOCOV int __wrap_munmap(void *addr, size_t len)
{
	int r = __real_munmap(addr, len);

	if (!r && len)
		ledger_sub((uintptr_t)addr & ~(uintptr_t)(VU_PAGE - 1), page_end(addr, len));
	return r;
}

/* [p, p + len) lies in mapped pages (the ledger's ranges never overlap). */
static VU_NOCOV bool ledger_covers(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(VU_PAGE - 1), e = page_end(p, len);

	while (a < e) {
		unsigned i;

		for (i = 0; i < ledger.n; i++) {
			if (ledger.start[i] <= a && a < ledger.end[i])
				break;
		}
		if (i == ledger.n)
			return false;
		a = ledger.end[i];
	}
	return true;
}

/* The ledger equals @snap, range for range (in any order). */
static VU_NOCOV bool ledger_same(const struct vu_ledger *snap)
{
	if (ledger.overflow || ledger.n != snap->n)
		return false;
	for (unsigned i = 0; i < ledger.n; i++) {
		bool found = false;

		for (unsigned j = 0; j < snap->n && !found; j++)
			found = ledger.start[i] == snap->start[j] && ledger.end[i] == snap->end[j];
		if (!found)
			return false;
	}
	return true;
}

/* memfd mappings, for FZ_TRACE only (parses /proc/self/maps: slow) */
static unsigned count_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	unsigned n = 0;

	FZ_CHECK(f, "fopen /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "/memfd:vu_fz"))
			n++;
	}
	fclose(f);
	return n;
}

/* ---- oracles ------------------------------------------------------------------ */

static VU_NOCOV bool in_region(const struct gmem *gm, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < gm->nr; i++) {
		uintptr_t b = (uintptr_t)gm->r[i].hva;

		if (a >= b && len <= gm->r[i].size && a - b <= gm->r[i].size - len)
			return true;
	}
	return false;
}

/* Every fd the server holds, polled at once: POLLNVAL <=> not open. */
struct vu_fdset {
	struct pollfd pf[3 * VU_MAX_VRINGS + 1];
	const char *what[3 * VU_MAX_VRINGS + 1];
	unsigned ring[3 * VU_MAX_VRINGS + 1];
	unsigned n;
};

static VU_NOCOV void fdset_add(struct vu_fdset *fs, int fd, const char *what, unsigned i)
{
	FZ_CHECK(fd >= -1, "%s of ring %u: bad fd %d", what, i, fd);
	if (fd < 0)
		return;
	fs->pf[fs->n] = (struct pollfd){ .fd = fd };
	fs->what[fs->n] = what;
	fs->ring[fs->n] = i;
	fs->n++;
}

static VU_NOCOV void check_server(struct vu_run *r)
{
	const struct vu_server *s = &r->s;
	const struct vu_memtab *t = &s->mem[s->cur];
	static struct vu_fdset fs;

	fs.n = 0;
	for (unsigned i = 0; i < VU_MAX_VRINGS; i++) {
		const struct vu_vring *v = &s->vr[i];
		bool dev = i < VU_DEV_RINGS && r->dev.q[i].running;

		FZ_CHECK(v->started == dev, "ring %u: server says %d, device says %d", i,
			 v->started, dev);
		FZ_CHECK(!v->started || i < r->dev.max_vrings, "ring %u started beyond max", i);
		if ((v->kick_fd & v->call_fd & v->err_fd) == -1)
			continue; /* all three -1 (the common case) */
		fdset_add(&fs, v->kick_fd, "kick", i);
		fdset_add(&fs, v->call_fd, "call", i);
		fdset_add(&fs, v->err_fd, "err", i);
	}
	fdset_add(&fs, s->log_fd, "log fd", 0);
	if (fs.n) {
		int got;

		/* libFuzzer's timeout alarm (SIGALRM) can interrupt even a 0 timeout */
		do {
			got = poll(fs.pf, fs.n, 0);
		} while (got < 0 && errno == EINTR);
		FZ_CHECK(got >= 0, "poll: %s", strerror(errno));
		for (unsigned k = 0; k < fs.n; k++)
			FZ_CHECK(!(fs.pf[k].revents & POLLNVAL), "%s of ring %u: stale fd %d",
				 fs.what[k], fs.ring[k], fs.pf[k].fd);
	}
	FZ_CHECK(t->gm.nr <= GMEM_MAX_REGIONS, "region count");
	for (unsigned i = 0; i < t->gm.nr; i++) {
		const struct gmem_region *g = &t->gm.r[i];
		const struct vu_map *m = &t->map[i];

		FZ_CHECK(m->base && g->hva >= (uint8_t *)m->base &&
				 g->size <= m->len &&
				 (size_t)(g->hva - (uint8_t *)m->base) <= m->len - g->size,
			 "region %u outside its mapping", i);
		FZ_CHECK((((uintptr_t)g->hva - g->gpa) & 7) == 0,
			 "region %u: host address %p not congruent to gpa %#llx mod 8", i,
			 (void *)g->hva, (unsigned long long)g->gpa);
		/* and that mapping still exists */
		FZ_CHECK(ledger_covers(m->base, m->len), "region %u: mapping %p is gone", i,
			 m->base);
	}
	if (t->gm.log)
		FZ_CHECK(t->gm.log == s->log_base && t->gm.log_size == s->log_size,
			 "gmem logs into something else than the log mapping");
}

/* ---- device loop ----------------------------------------------------------------- */

static VU_NOCOV void touch_chain(struct vu_run *r, const struct gmem *gm, const struct vq_chain *c)
{
	for (unsigned k = 0; k < (unsigned)c->n_out + c->n_in; k++) {
		const uint8_t *p = c->iov[k].iov_base;
		size_t n = c->iov[k].iov_len;

		FZ_CHECK(n > 0 && in_region(gm, p, n), "iovec %u outside guest memory", k);
		if (k < c->n_out) {
			/* first and last byte: ASan sees the whole extent as mapped */
			r->sink += p[0] + p[n - 1];
		} else {
			((uint8_t *)c->iov[k].iov_base)[0] = 0x5a;
			((uint8_t *)c->iov[k].iov_base)[n - 1] = 0xa5;
		}
	}
}

static void run_queues(struct vu_run *r, unsigned budget)
{
	for (unsigned i = 0; i < r->dev.max_vrings; i++) {
		struct vq *vq = &r->dev.q[i].vq;

		if (!r->dev.q[i].running)
			continue;
		vq_disable_notify(vq);
		for (unsigned n = 0; n < budget; n++) {
			struct vq_chain c;
			enum vq_status st;

			vq_chain_init(&c, r->iov, VU_IOV);
			st = vq_pop(vq, &c);
			if (r->trace)
				fprintf(stderr, "vu: ring %u pop -> %d (id %u, %u+%u, %s)\n", i, st,
					c.id, c.n_out, c.n_in, vq_fault_name(c.fault));
			if (st == VQ_EMPTY || st == VQ_BROKEN)
				break;
			if (st == VQ_BAD_CHAIN)
				continue;
			touch_chain(r, vq->gm, &c);
			FZ_CHECK(vq_push(vq, &c, n & 1 ? c.in_bytes : c.in_bytes / 2) == 0,
				 "push of a popped chain failed");
		}
		vq_flush_signal(vq);
		vq_enable_notify(vq); /* arms kicks; whether work raced in does not matter here */
	}
}

/* ---- frontend side -------------------------------------------------------------- */

static int send_bytes(int sock, const uint8_t *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(VU_SEND_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	static const uint8_t zero;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t w;

	if (len == 0) {
		if (!nfds)
			return 0;
		iov.iov_base = (void *)&zero;
		iov.iov_len = 1;
		buf = &zero;
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
	w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0)
		return -errno;
	buf += w;
	len -= (size_t)w;
	while (len) {
		w = send(sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static unsigned read_fds(struct vu_run *r, int *fds)
{
	unsigned n = fz_u8(&r->in) % (VU_SEND_FDS + 1);

	for (unsigned i = 0; i < n; i++)
		fds[i] = r->pool[fz_u8(&r->in) % VU_FD__COUNT];
	return n;
}

/* Payload size a well-formed request of this kind would carry. */
static uint32_t natural_size(uint32_t req, unsigned nfds)
{
	switch (req) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_SET_OWNER:
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_RESET_DEVICE:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_SET_LOG_FD:
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
		return 8 + 32 * (nfds ? (nfds > 8 ? 8 : nfds) : 1);
	case VHOST_USER_SET_LOG_BASE:
		return sizeof(struct vu_log);
	case VHOST_USER_SET_VRING_ADDR:
		return sizeof(struct vu_vring_addr);
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return VU_CONFIG_HDR_SIZE + 8;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		return sizeof(struct vu_mem_single);
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_SET_INFLIGHT_FD:
		return 20;
	default:
		return 8;
	}
}

/* Requests the frontend blocks on (they answer with their own reply). */
static bool has_reply(uint32_t req)
{
	switch (req) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_SET_LOG_BASE:
		return true;
	default:
		return false;
	}
}

/*
 * Drain and check the replies to one message; returns how many there were.
 * Replies are sent whole before vu_server_handle returns and carry no fds, so
 * one non-blocking recv into a buffer with room for several takes them all; a
 * full buffer means more than one reply, which serve_one refuses anyway.
 */
static VU_NOCOV unsigned drain_replies(struct vu_run *r, uint32_t req)
{
	static uint8_t buf[4 * (sizeof(struct vu_hdr) + sizeof(union vu_payload))];
	ssize_t got = recv(r->sv[0], buf, sizeof(buf), MSG_DONTWAIT);
	size_t have = got > 0 ? (size_t)got : 0, off = 0;
	unsigned n = 0;

	FZ_CHECK(have < sizeof(buf), "replies to request %u fill %zu bytes", req, have);
	while (off < have) {
		struct vu_hdr h;

		FZ_CHECK(have - off >= sizeof(h), "reply header split (%zu bytes)", have - off);
		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h);
		FZ_CHECK(h.flags == (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK),
			 "reply flags %#x", h.flags);
		FZ_CHECK(h.request == req, "reply to %u for request %u", h.request, req);
		FZ_CHECK(h.size <= sizeof(union vu_payload), "reply payload %u", h.size);
		FZ_CHECK(have - off >= h.size, "reply payload short");
		off += h.size;
		if (req == VHOST_USER_GET_VRING_BASE)
			FZ_CHECK(h.size == sizeof(struct vu_vring_state),
				 "GET_VRING_BASE reply size %u", h.size);
		n++;
	}
	return n;
}

/*
 * Drop whatever is left unread on @fd (a refused frame) so the next op is
 * aligned, closing fds that ride on it: fds left in flight on a socket that is
 * later closed would be reclaimed by the kernel's unix garbage collector,
 * which is slow and global.
 */
static void drain(int fd)
{
	union {
		char buf[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t junk[1024];

	for (;;) {
		struct iovec iov = { junk, sizeof(junk) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *cm;

		if (recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < n; i++) {
				int x;

				memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				close(x);
			}
		}
	}
}

/* Disconnect (vu_server_reset) and reconnect; a new socketpair after an EOF. */
static void reconnect(struct vu_run *r, bool fresh)
{
	vu_server_reset(&r->s);
	for (unsigned i = 0; i < VU_DEV_RINGS; i++)
		FZ_CHECK(!r->dev.q[i].running, "ring %u running after reset", i);
	drain(r->sv[1]);
	drain(r->sv[0]);
	if (fresh) {
		close(r->sv[0]);
		close(r->sv[1]);
		FZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->sv),
			 "socketpair");
		FZ_CHECK(!fcntl(r->sv[1], F_SETFL, O_NONBLOCK), "O_NONBLOCK");
	}
	vu_server_init(&r->s, &dev_ops, &r->dev, r->sv[1]);
}

/*
 * Let the server read and handle one message; check what it answered.
 * @whole: exactly one frame was sent (op_msg), so a successful
 * vu_server_recv consumed all of it and there is nothing left to drop.
 */
static void serve_one(struct vu_run *r, uint32_t req, uint32_t flags, bool whole)
{
	struct vu_msg m;
	unsigned replies;
	int err;

	err = vu_server_recv(&r->s, &m);
	if (!err) {
		req = m.hdr.request;
		flags = m.hdr.flags;
		err = vu_server_handle(&r->s, &m);
	}
	replies = drain_replies(r, req);
	if (r->trace)
		fprintf(stderr,
			"vu: %s (%u) flags %#x -> %d, %u replies; %u regions, %u maps, "
			"%u in the ledger\n",
			vu_request_name(req), req, flags, err, replies, r->s.mem[r->s.cur].gm.nr,
			count_memfd_maps(), ledger.n);
	FZ_CHECK(replies <= 1, "%u replies to one request", replies);
	if (!err) {
		bool ack = (flags & VHOST_USER_NEED_REPLY_MASK) &&
			   (r->s.protocol_features &
			    VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK));

		if (has_reply(req))
			FZ_CHECK(replies == 1, "request %u accepted but not answered", req);
		else
			FZ_CHECK(replies == (ack ? 1u : 0u), "request %u: %u replies, ack %d", req,
				 replies, ack);
	}
	check_server(r);
	if (err) {
		/* a real daemon drops the connection: do the same, then reconnect
		 * (which drops what is left of the frame) */
		reconnect(r, false);
		return;
	}
	if (!whole)
		drain(r->sv[1]);
	/* the device loop changes neither the server nor which rings run */
	run_queues(r, VU_POPS_PER_MSG);
}

static void op_msg(struct vu_run *r)
{
	struct {
		struct vu_hdr h;
		uint8_t p[VU_RAW_MAX];
	} __attribute__((packed)) out;
	uint32_t req = fz_u32(&r->in), size = 0;
	uint8_t fmode = fz_u8(&r->in) % 4, smode;
	int fds[VU_SEND_FDS];
	unsigned nfds;

	out.h.request = req;
	switch (fmode) {
	case VU_FL_PLAIN:
		out.h.flags = VHOST_USER_VERSION;
		break;
	case VU_FL_RAW:
		out.h.flags = fz_u32(&r->in);
		break;
	default:
		out.h.flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK;
		break;
	}
	smode = fz_u8(&r->in) % 3;
	if (smode == VU_SZ_RAW)
		size = fz_u16(&r->in) % VU_RAW_MAX;
	nfds = read_fds(r, fds);
	if (smode == VU_SZ_NATURAL)
		size = natural_size(req, nfds);
	else if (smode == VU_SZ_DELTA)
		size = (uint32_t)((int32_t)natural_size(req, nfds) + (int8_t)fz_u8(&r->in)) %
		       VU_RAW_MAX;
	out.h.size = size;
	fz_bytes(&r->in, out.p, size);
	if (send_bytes(r->sv[0], (const uint8_t *)&out, sizeof(out.h) + size, fds, nfds))
		return;
	serve_one(r, req, out.h.flags, true);
}

static void op_raw(struct vu_run *r, bool eof)
{
	uint8_t buf[VU_RAW_MAX];
	size_t len = fz_u16(&r->in) % VU_RAW_MAX;
	int fds[VU_SEND_FDS];
	unsigned nfds;

	fz_bytes(&r->in, buf, len);
	nfds = read_fds(r, fds);
	if (send_bytes(r->sv[0], buf, len, fds, nfds))
		return;
	if (!eof) {
		serve_one(r, UINT32_MAX, 0, false);
		return;
	}
	FZ_CHECK(!shutdown(r->sv[0], SHUT_WR), "shutdown");
	/* complete messages first, then the EOF (or a framing error) */
	for (unsigned i = 0; i < 16; i++) {
		struct vu_msg m;
		int err = vu_server_recv(&r->s, &m);

		if (!err)
			err = vu_server_handle(&r->s, &m);
		if (err)
			break;
		check_server(r);
	}
	reconnect(r, true);
}

static void op_poke(struct vu_run *r)
{
	bool big = !(fz_u8(&r->in) & 1);
	uint8_t *ram = big ? r->ram0 : r->ram1;
	size_t size = big ? VU_RAM0_SIZE : VU_RAM1_SIZE;
	uint32_t off = fz_u32(&r->in) % size;
	size_t len = fz_u8(&r->in);

	if (len > size - off)
		len = size - off;
	fz_bytes(&r->in, ram + off, len);
}

/* ---- run set-up ------------------------------------------------------------------ */

static int make_memfd(size_t size)
{
	int fd = memfd_create("vu_fz", MFD_CLOEXEC);

	FZ_CHECK(fd >= 0, "memfd_create");
	FZ_CHECK(!ftruncate(fd, (off_t)size), "ftruncate");
	return fd;
}

/* The process-wide pool, socketpair and /proc/self/fd (first run). */
static void pool_init(struct vu_run *r)
{
	int p[2];

	r->trace = getenv("FZ_TRACE") != NULL;
	r->pool[VU_FD_RAM0] = make_memfd(VU_RAM0_SIZE);
	r->pool[VU_FD_RAM1] = make_memfd(VU_RAM1_SIZE);
	r->pool[VU_FD_LOG] = make_memfd(VU_LOG_SIZE);
	r->pool[VU_FD_EMPTY] = make_memfd(0);
	r->pool[VU_FD_EFD0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->pool[VU_FD_EFD1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->pool[VU_FD_EFD2] = eventfd(0, EFD_CLOEXEC);
	FZ_CHECK(!pipe2(p, O_CLOEXEC | O_NONBLOCK), "pipe");
	r->pipe_rd = p[0];
	r->pool[VU_FD_PIPE] = p[1];
	for (unsigned i = 0; i < VU_FD__COUNT; i++)
		FZ_CHECK(r->pool[i] >= 0, "fd pool");
	r->ram0 = mmap(NULL, VU_RAM0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->pool[VU_FD_RAM0], 0);
	r->ram1 = mmap(NULL, VU_RAM1_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->pool[VU_FD_RAM1], 0);
	FZ_CHECK(r->ram0 != MAP_FAILED && r->ram1 != MAP_FAILED, "guest mmap");
	FZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->sv), "socketpair");
	FZ_CHECK(!fcntl(r->sv[1], F_SETFL, O_NONBLOCK), "O_NONBLOCK");
	r->fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FZ_CHECK(r->fd_dir >= 0, "open /proc/self/fd");
	r->ready = true;
}

/*
 * Put the pool back as pool_init made it: guest RAM and log all zero (holes,
 * as after ftruncate), eventfd counters 0, EFD2 blocking, the pipe empty.
 * Nothing else in it is state: the server never changes a memfd's size or
 * seals, and the only fd flag it sets is O_NONBLOCK on eventfds.
 */
static VU_NOCOV void pool_reset(struct vu_run *r)
{
	static const unsigned memfds[] = { VU_FD_RAM0, VU_FD_RAM1, VU_FD_LOG };
	static const size_t sizes[] = { VU_RAM0_SIZE, VU_RAM1_SIZE, VU_LOG_SIZE };
	uint8_t junk[64];

	for (unsigned i = 0; i < 3; i++)
		FZ_CHECK(!fallocate(r->pool[memfds[i]], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    0, (off_t)sizes[i]),
			 "punch memfd %u: %s", memfds[i], strerror(errno));
	/* EFD2 is blocking again after the read (the server may have set O_NONBLOCK
	 * on the shared file description) */
	FZ_CHECK(!fcntl(r->pool[VU_FD_EFD2], F_SETFL, O_NONBLOCK), "EFD2 O_NONBLOCK");
	for (unsigned i = VU_FD_EFD0; i <= VU_FD_EFD2; i++)
		FZ_CHECK(read(r->pool[i], junk, 8) == 8 || errno == EAGAIN, "eventfd read");
	FZ_CHECK(!fcntl(r->pool[VU_FD_EFD2], F_SETFL, 0), "EFD2 blocking");
	while (read(r->pipe_rd, junk, sizeof(junk)) > 0)
		;
}

static void run_init(struct vu_run *r, const uint8_t *data, size_t size)
{
	uint8_t cfg;

	/* everything but the process-wide resources starts from zero */
	memset(&r->in, 0, sizeof(r->in));
	memset(&r->dev, 0, sizeof(r->dev));
	r->sink = 0;
	fz_in_init(&r->in, data, size);
	cfg = fz_u8(&r->in);
	r->dev.max_vrings = 1 + (cfg & 7);
	r->dev.proto = cfg & 8 ? VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) |
					 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG) :
				 0;
	r->dev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (!(cfg & 0x10))
		r->dev.features |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (!(cfg & 0x20))
		r->dev.features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (!(cfg & 0x40))
		r->dev.features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	for (unsigned i = 0; i < sizeof(r->dev.config); i++)
		r->dev.config[i] = (uint8_t)i;
	for (unsigned i = 0; i < VU_DEV_RINGS; i++)
		vq_init(&r->dev.q[i].vq);
	vu_server_init(&r->s, &dev_ops, &r->dev, r->sv[1]);
}

static void run_fini(struct vu_run *r)
{
	vu_server_reset(&r->s);
	for (unsigned i = 0; i < VU_DEV_RINGS; i++)
		FZ_CHECK(!r->dev.q[i].running, "ring %u running after reset", i);
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		FZ_CHECK(!r->s.mem[0].map[i].base && !r->s.mem[1].map[i].base,
			 "mapping %u kept after reset", i);
	FZ_CHECK(!r->s.log_base && r->s.log_fd == -1, "log kept after reset");
	drain(r->sv[1]);
	drain(r->sv[0]);
	pool_reset(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_run *r = &vu_run_state;
	static struct vu_ledger maps0;
	unsigned fds0, fds1;

	vh_log_set_level(VH_LOG_ERR);
	if (!r->ready)
		pool_init(r);
	fds0 = count_entries(r->fd_dir);
	FZ_CHECK(!ledger.overflow, "mapping ledger overflow");
	maps0 = ledger;
	run_init(r, data, size);
	for (unsigned n = 0; n < VU_MAX_OPS && !fz_done(&r->in); n++) {
		switch (fz_u8(&r->in) % VU_OP__COUNT) {
		case VU_OP_MSG:
			op_msg(r);
			break;
		case VU_OP_RAW:
			op_raw(r, false);
			break;
		case VU_OP_EOF:
			op_raw(r, true);
			break;
		case VU_OP_POKE:
			op_poke(r);
			break;
		case VU_OP_TRAFFIC:
			run_queues(r, VU_POPS_TRAFFIC);
			check_server(r);
			break;
		default:
			reconnect(r, false);
			break;
		}
	}
	run_fini(r);
	/* no fd or mapping survives a run (CVE-2019-14818 / CVE-2020-10726 class):
	 * the pool and the socketpair are in both counts */
	fds1 = count_entries(r->fd_dir);
	FZ_CHECK(fds1 == fds0, "fd leak: %u open, %u before", fds1, fds0);
	FZ_CHECK(ledger_same(&maps0), "mapping leak: %u mappings live, %u before%s", ledger.n,
		 maps0.n, ledger.overflow ? " (ledger overflow)" : "");
	return 0;
}
