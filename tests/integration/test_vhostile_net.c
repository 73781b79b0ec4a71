// SPDX-License-Identifier: Apache-2.0
/*
 * test_vhostile_net.c - the real vhostile-net binary driven over its socket.
 *
 * Usage: test_vhostile_net PATH-TO-vhostile-net [EXTRA-DAEMON-ARGS...]
 *
 * Theory of operation
 * -------------------
 * The test process first moves into a network namespace of its own
 * (unshare(CLONE_NEWNET)); every daemon it starts inherits it, so the TAPs
 * and all traffic exist only there and vanish with the process.  It starts
 * the real binary (seccomp on unless EXTRA-DAEMON-ARGS say otherwise) with a
 * socket in a private temp directory, --tap vhtN and --keep-listening, its
 * stdout on a pipe (SIGUSR1 statistics) and its stderr in a log file that is
 * printed when a check fails.  The frontend is tests/support/vu_front over a
 * drvsim guest (memfd RAM, split or packed rings) and negotiates in QEMU's
 * order: GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_OWNER,
 * GET_CONFIG, SET_FEATURES, SET_MEM_TABLE, then per ring NUM, BASE, ADDR,
 * KICK, CALL, ERR, ENABLE.  Frames are observed on the TAP with an AF_PACKET
 * socket bound to it and injected into it the same way.
 *
 * Cases (each printed as "ok N - ..." / "not ok N - ..."):
 *  - for split and packed x MRG_RXBUF off and on (EVENT_IDX alternating),
 *    and split without VERSION_1 (10-byte legacy header, and 12 with MRG):
 *    guest TX of 60 B (one descriptor), 1514 B (header and frame in separate
 *    descriptors) and an indirect chain, byte-identical on the TAP, used
 *    elements returned with len 0, the call eventfd signalled; RX of 60 B and
 *    1514 B injected into the TAP, intact in guest buffers behind a valid
 *    header (num_buffers 2 for 1514 B in 1 KiB mergeable buffers);
 *    malformed TX chains (buffer outside guest RAM, descriptor loop, next out
 *    of range, zero-length and misaligned indirect tables, writable before
 *    readable) come back with used len 0, nothing reaches the TAP, the next
 *    good frame does, the error eventfd stays quiet; GET_VRING_BASE returns
 *    the driver's positions and a new kick fd resumes the ring; SIGUSR1
 *    prints one JSON line whose tx packets / bad_chains match this session;
 *  - TX frames the virtio-net layer drops (header only, 13 B, > 65550 B, a
 *    writable tail, GSO / NEEDS_CSUM not negotiated): len 0, nothing on the
 *    TAP, one drop counter per reason;
 *  - RX backpressure: with no guest buffers a frame waits in the TAP; bad RX
 *    chains (outside RAM, device-readable, smaller than the header) come
 *    back with len 0 and the waiting frame lands in the next good buffer;
 *  - one connection, several device lives: SET_MEM_TABLE under running
 *    rings, SET_VRING_ENABLE 0/1 on TX (disabled: processed and discarded),
 *    stop (GET_VRING_BASE) and a new
 *    feature set, guest RAM and rings (split -> packed -> split);
 *  - malformed messages that the daemon refuses but survives (wrong payload
 *    size, ring index 0x10000, SET_MEM_TABLE with 9 regions or an fd count
 *    mismatch, unknown request numbers): REPLY_ACK nacks and traffic goes on
 *    in the same session;
 *  - malformed messages that end the session (9 fds, oversized header size,
 *    bad version, GET_VRING_BASE on ring 0x10000, truncated header then
 *    close): the daemon closes, stays alive and the next full session passes
 *    traffic;
 *  - no leaks: after every session the daemon is back to its idle fd count
 *    and has no guest memory mapped;
 *  - two queue pairs (--queue-pairs 2, MQ): TX on pair 1 reaches the TAP and
 *    is counted on pair 1, RX frames of many flows all arrive, some on pair 1;
 *  - a frontend trickling a message is dropped 5 s after the message began
 *    and the next one is served;
 *  - SIGTERM: exit status 0 within 2 s, idle, with a frontend attached and
 *    with a frontend stuck in the middle of a message; no sanitizer report
 *    in the daemon's log (ASan builds: LeakSanitizer runs at this exit).
 *
 * VH_IT_KEEP=1 keeps the temp directory with the daemons' logs.
 *
 * Everything is bounded: an alarm kills the daemons (by PID) and fails the
 * test; every failure path kills them too.  Exit 77 (skip) when not root,
 * without /dev/net/tun or without permission to create a namespace.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/virtio_spec.h"
#include "core/vu_msg.h"
#include "net/net_hdr.h"
#include "tests/support/drvsim.h"
#include "tests/support/vu_front.h"

#define SKIP 77
#define ETH_TEST 0x88b5 /* IEEE local experimental ethertype */
#define RAM_GPA 0x100000ULL
#define RAM_SIZE (16ULL << 20)
#define QSIZE 256
#define RX_POST 64
#define MAX_PAIRS 2
#define WAIT_MS 3000
#define F(x) VIRTIO_BIT(VIRTIO_NET_F_##x)

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ------------------------------------------------------------ reporting */

struct daemon {
	pid_t pid;
	int out;          /* read end of its stdout */
	char log[256];    /* its stderr */
	char tap[IFNAMSIZ];
	char sock[200];
	int ifindex;
	int pkt;          /* AF_PACKET socket bound to the TAP */
	unsigned pairs;
	unsigned idle_fds;
	char line[4096];  /* stdout line assembly */
	size_t line_len;
};

static struct daemon *daemons[4];
static char tmpdir[64];
static char current[160];
static unsigned cases_ok, case_no;

static void kill_daemons(void)
{
	for (unsigned i = 0; i < 4; i++) {
		struct daemon *d = daemons[i];

		if (d && d->pid > 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			d->pid = -1;
		}
	}
}

static void dump_logs(void)
{
	for (unsigned i = 0; i < 4; i++) {
		char buf[8192];
		ssize_t n;
		int fd;

		if (!daemons[i] || !daemons[i]->log[0])
			continue;
		fd = open(daemons[i]->log, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		fprintf(stderr, "---- daemon %s log (last 8 KiB) ----\n", daemons[i]->tap);
		{
			off_t end = lseek(fd, 0, SEEK_END);

			lseek(fd, end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0, SEEK_SET);
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, stderr);
		close(fd);
	}
}

static void cleanup_tmp(void)
{
	DIR *dir;
	struct dirent *e;

	if (!tmpdir[0])
		return;
	if (getenv("VH_IT_KEEP")) { /* debugging: keep the daemon logs */
		printf("# kept %s\n", tmpdir);
		return;
	}
	dir = opendir(tmpdir);
	if (dir) {
		while ((e = readdir(dir))) {
			char p[512];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(dir);
	}
	rmdir(tmpdir);
	tmpdir[0] = 0;
}

static void __attribute__((noreturn, format(printf, 3, 4)))
fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d [%s]: ", file, line, current);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	printf("not ok %u - %s\n", case_no, current);
	kill_daemons();
	dump_logs();
	cleanup_tmp();
	printf("# SUMMARY: FAIL (%u case(s) passed before the failure)\n", cases_ok);
	fflush(stdout);
	exit(1);
}

#define CHECK(c)                                                                            \
	do {                                                                                \
		if (!(c))                                                                   \
			fail(__FILE__, __LINE__, "%s", #c);                                 \
	} while (0)
#define CHECKF(c, ...)                                                                      \
	do {                                                                                \
		if (!(c))                                                                   \
			fail(__FILE__, __LINE__, __VA_ARGS__);                              \
	} while (0)
#define CHECK0(e)                                                                           \
	do {                                                                                \
		long _r = (long)(e);                                                        \
		if (_r)                                                                     \
			fail(__FILE__, __LINE__, "%s = %ld (%s)", #e, _r,                   \
			     _r < 0 ? strerror((int)-_r) : "");                             \
	} while (0)

static void case_begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(current, sizeof(current), fmt, ap);
	va_end(ap);
	case_no++;
}

static void case_end(void)
{
	cases_ok++;
	printf("ok %u - %s\n", case_no, current);
	fflush(stdout);
}

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: global timeout, killing the daemons\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);

	(void)r;
	(void)sig;
	for (unsigned i = 0; i < 4; i++) {
		if (daemons[i] && daemons[i]->pid > 0)
			kill(daemons[i]->pid, SIGKILL);
	}
	_exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, v, strlen(v)) < 0)
		perror(path);
	close(fd);
}

/* -------------------------------------------------------------- daemon */

static const char *daemon_bin;
static char **daemon_extra;
static int daemon_nextra;

static bool daemon_alive(struct daemon *d)
{
	int st;

	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, &st, WNOHANG) == 0)
		return true;
	fprintf(stderr, "daemon %s died: %s %d\n", d->tap,
		WIFSIGNALED(st) ? "signal" : "exit status",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	d->pid = -1;
	return false;
}

static unsigned count_fds(pid_t pid)
{
	char p[64];
	unsigned n = 0;
	DIR *dir;
	struct dirent *e;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	dir = opendir(p);
	CHECKF(dir, "opendir %s: %s", p, strerror(errno));
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* Mappings of guest memory (drvsim's memfd) still in the daemon. */
static unsigned count_guest_maps(pid_t pid)
{
	char p[64], line[512];
	unsigned n = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	f = fopen(p, "re");
	CHECKF(f, "fopen %s: %s", p, strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:drvsim") != NULL;
	fclose(f);
	return n;
}

static int packet_socket(int ifindex)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = ifindex };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	int big = 4 << 20;

	CHECK(s >= 0);
	CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	(void)setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return s;
}

static void link_up(const char *ifname)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CHECK(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	CHECKF(ioctl(s, SIOCGIFFLAGS, &ifr) == 0, "SIOCGIFFLAGS %s: %s", ifname, strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	CHECKF(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "SIOCSIFFLAGS %s: %s", ifname, strerror(errno));
	close(s);
}

static void daemon_start(struct daemon *d, unsigned slot, const char *tap, unsigned pairs)
{
	char qp[8];
	char *argv[32];
	int out[2], n = 0;
	uint64_t t0;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->pairs = pairs;
	snprintf(d->tap, sizeof(d->tap), "%s", tap);
	snprintf(d->sock, sizeof(d->sock), "%s/%s.sock", tmpdir, tap);
	snprintf(d->log, sizeof(d->log), "%s/%s.log", tmpdir, tap);
	snprintf(qp, sizeof(qp), "%u", pairs);
	argv[n++] = (char *)daemon_bin;
	argv[n++] = "--socket-path";
	argv[n++] = d->sock;
	argv[n++] = "--tap";
	argv[n++] = d->tap;
	argv[n++] = "--queue-pairs";
	argv[n++] = qp;
	argv[n++] = "--keep-listening";
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	for (int i = 0; i < daemon_nextra && n < 31; i++)
		argv[n++] = daemon_extra[i];
	argv[n] = NULL;

	CHECK(pipe2(out, O_CLOEXEC) == 0);
	fflush(stdout);
	fflush(stderr);
	d->pid = fork();
	CHECK(d->pid >= 0);
	if (d->pid == 0) {
		int lfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		if (lfd < 0 || dup2(out[1], 1) < 0 || dup2(lfd, 2) < 0)
			_exit(127);
		{
			int nul = open("/dev/null", O_RDONLY);

			if (nul >= 0)
				dup2(nul, 0);
		}
		execv(daemon_bin, argv);
		_exit(127);
	}
	daemons[slot] = d;
	close(out[1]);
	d->out = out[0];
	CHECK(fcntl(d->out, F_SETFL, O_NONBLOCK) == 0);

	/* Ready when its socket exists (the TAP is created before it). */
	t0 = now_ms();
	for (;;) {
		struct stat st;

		CHECKF(daemon_alive(d), "daemon %s exited during start-up", tap);
		if (stat(d->sock, &st) == 0 && S_ISSOCK(st.st_mode))
			break;
		CHECKF(now_ms() - t0 < 5000, "daemon %s: no socket after 5 s", tap);
		sleep_ms(10);
	}
	d->ifindex = (int)if_nametoindex(d->tap);
	CHECKF(d->ifindex > 0, "TAP %s does not exist", d->tap);
	link_up(d->tap);
	d->pkt = packet_socket(d->ifindex);
	sleep_ms(50);
	d->idle_fds = count_fds(d->pid);
}

/* Read one stdout line of the daemon (without the newline); -1 on timeout. */
static int daemon_read_line(struct daemon *d, char *out, size_t cap, int ms)
{
	uint64_t t0 = now_ms();

	for (;;) {
		char *nl = memchr(d->line, '\n', d->line_len);
		struct pollfd p = { .fd = d->out, .events = POLLIN };
		ssize_t n;
		int left;

		if (nl) {
			size_t len = (size_t)(nl - d->line);

			CHECK(len < cap);
			memcpy(out, d->line, len);
			out[len] = 0;
			memmove(d->line, nl + 1, d->line_len - len - 1);
			d->line_len -= len + 1;
			return 0;
		}
		left = ms - (int)(now_ms() - t0);
		if (left <= 0)
			return -1;
		if (poll(&p, 1, left) <= 0)
			continue;
		n = read(d->out, d->line + d->line_len, sizeof(d->line) - d->line_len - 1);
		CHECKF(n > 0 || (n < 0 && errno == EAGAIN), "daemon stdout closed");
		if (n > 0)
			d->line_len += (size_t)n;
		CHECK(d->line_len < sizeof(d->line) - 1);
	}
}

/* SIGUSR1 -> exactly one JSON line. */
static void daemon_stats(struct daemon *d, char *json, size_t cap)
{
	char extra[64];

	CHECK(daemon_alive(d));
	CHECK(kill(d->pid, SIGUSR1) == 0);
	CHECKF(daemon_read_line(d, json, cap, 2000) == 0, "no stats line within 2 s of SIGUSR1");
	CHECKF(json[0] == '{' && json[strlen(json) - 1] == '}', "not a JSON object: %s", json);
	/* one line per signal: nothing else follows */
	CHECKF(daemon_read_line(d, extra, sizeof(extra), 100) != 0, "extra stdout after SIGUSR1");
}

/* Integer field @key of direction @dir ("rx"/"tx") of queue pair @pair. */
static uint64_t json_get(const char *json, unsigned pair, const char *dir, const char *key)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "{\"pair\":%u,", pair);
	p = strstr(json, pat);
	CHECKF(p, "pair %u missing in %s", pair, json);
	snprintf(pat, sizeof(pat), "\"%s\":{", dir);
	p = strstr(p, pat);
	CHECKF(p, "%s missing in %s", dir, json);
	end = strchr(p, '}');
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	CHECKF(p && p < end, "pair %u %s.%s missing in %s", pair, dir, key, json);
	return strtoull(p + strlen(pat), NULL, 10);
}

/* SIGTERM; must exit 0 within 2 s. */
static void daemon_term(struct daemon *d)
{
	uint64_t t0 = now_ms(), dt;
	int st = 0;
	pid_t r;

	CHECK(daemon_alive(d));
	CHECK(kill(d->pid, SIGTERM) == 0);
	for (;;) {
		r = waitpid(d->pid, &st, WNOHANG);
		if (r == d->pid)
			break;
		CHECKF(now_ms() - t0 < 2000, "daemon %s still running 2 s after SIGTERM", d->tap);
		sleep_ms(5);
	}
	dt = now_ms() - t0;
	d->pid = -1;
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon %s: %s %d after SIGTERM", d->tap,
	       WIFSIGNALED(st) ? "killed by signal" : "exit status",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	printf("# %s: SIGTERM -> exit 0 in %" PRIu64 " ms\n", d->tap, dt);
	/* sanitizer builds: nothing reported (leaks are checked at this exit) */
	{
		static char logbuf[1 << 20];
		int fd = open(d->log, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, logbuf, sizeof(logbuf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		logbuf[n > 0 ? n : 0] = 0;
		CHECKF(!strstr(logbuf, "Sanitizer") && !strstr(logbuf, "runtime error"),
		       "daemon %s: sanitizer report in its log", d->tap);
	}
	close(d->out);
	close(d->pkt);
	unlink(d->sock); /* a sandboxed daemon may not unlink it */
}

/* After a session ended: back to the idle fd count, no guest memory mapped. */
static void daemon_check_clean(struct daemon *d)
{
	uint64_t t0 = now_ms();
	unsigned fds, maps;

	for (;;) {
		CHECK(daemon_alive(d));
		fds = count_fds(d->pid);
		maps = count_guest_maps(d->pid);
		if (fds == d->idle_fds && maps == 0)
			return;
		CHECKF(now_ms() - t0 < 3000, "daemon %s after the session: %u fds (idle %u), %u guest maps",
		       d->tap, fds, d->idle_fds, maps);
		sleep_ms(10);
	}
}

/* --------------------------------------------------------------- guest */

struct gqueue {
	struct drvsim_split *s;
	struct drvsim_packed *p;
	int kick, call, err;
	uint64_t buf_gpa[QSIZE]; /* RX: buffer of each head / id */
};

struct guest {
	struct daemon *d;
	struct vu_front f;
	struct drvsim *ds;
	bool packed, mrg, event_idx;
	bool legacy; /* no VERSION_1 (a legacy driver through a transitional device) */
	unsigned pairs;
	uint64_t offered;
	uint64_t features;
	uint32_t hs;     /* virtio-net header size */
	uint32_t rx_len; /* RX buffer size */
	struct gqueue q[2 * MAX_PAIRS];
	uint64_t tx_sent[MAX_PAIRS];
	uint64_t tx_bad[MAX_PAIRS];
	uint8_t tag;
};

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	CHECK(fd >= 0);
	return fd;
}

static void efd_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

static bool efd_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v);
}

static void kick(struct gqueue *q)
{
	uint64_t one = 1;

	CHECK(write(q->kick, &one, sizeof(one)) == sizeof(one));
}

static uint64_t galloc(struct guest *g, uint64_t len)
{
	uint64_t a = drvsim_alloc(g->ds, len, 64);

	CHECKF(a != UINT64_MAX, "guest RAM exhausted");
	return a;
}

/* Ask for a used signal on the next element (split EVENT_IDX: used_event). */
static void arm_call(struct guest *g, struct gqueue *q)
{
	if (!g->packed && g->event_idx)
		drvsim_split_set_used_event(q->s, q->s->last_used);
}

static bool get_used(struct guest *g, struct gqueue *q, uint32_t *id, uint32_t *len)
{
	uint16_t pid;

	if (!g->packed)
		return drvsim_split_get_used(q->s, id, len);
	if (!drvsim_packed_get_used(q->p, &pid, len))
		return false;
	*id = pid;
	return true;
}

static bool wait_used(struct guest *g, struct gqueue *q, uint32_t *id, uint32_t *len, int ms)
{
	uint64_t t0 = now_ms();

	for (;;) {
		if (get_used(g, q, id, len))
			return true;
		if ((int)(now_ms() - t0) >= ms)
			return false;
		arm_call(g, q);
		if (get_used(g, q, id, len))
			return true;
		efd_wait(q->call, 20);
	}
}

static int add_chain(struct guest *g, struct gqueue *q, const struct drvsim_buf *b, unsigned n)
{
	int id = g->packed ? drvsim_packed_add(q->p, b, n) : drvsim_split_add(q->s, b, n);

	CHECKF(id >= 0, "cannot add a chain: %d", id);
	return id;
}

static void ring_create(struct guest *g, unsigned qi)
{
	struct gqueue *q = &g->q[qi];
	struct vu_front_vring v;
	uint64_t d, a, u, base;

	if (g->packed) {
		base = galloc(g, drvsim_packed_layout(QSIZE, 0, &d, &a, &u));
		drvsim_packed_layout(QSIZE, base, &d, &a, &u);
		q->p = drvsim_packed_new(g->ds, QSIZE, d, a, u);
		CHECK(q->p);
		vu_front_vring_packed(q->p, &v);
	} else {
		base = galloc(g, drvsim_split_layout(QSIZE, 0, &d, &a, &u));
		drvsim_split_layout(QSIZE, base, &d, &a, &u);
		q->s = drvsim_split_new(g->ds, QSIZE, d, a, u, 0);
		CHECK(q->s);
		vu_front_vring_split(q->s, &v);
	}
	q->kick = efd();
	q->call = efd();
	q->err = efd();
	v.kick = q->kick;
	v.call = q->call;
	CHECK0(vu_front_vring_setup(&g->f, qi, &v));
	CHECK0(vu_front_set_vring_err(&g->f, qi, q->err));
}

static void rx_post(struct guest *g, struct gqueue *q, uint64_t a)
{
	struct drvsim_buf b = { a, g->rx_len, true };
	int id = add_chain(g, q, &b, 1);

	CHECK(id < QSIZE);
	q->buf_gpa[id] = a;
}

/* Device part of QEMU's vhost_dev_start: features, memory, rings, enable. */
static void guest_setup(struct guest *g, bool post_rx)
{
	g->ds = drvsim_new_flat(RAM_GPA, RAM_SIZE);
	CHECK(g->ds);
	g->features = (g->legacy ? 0 : VIRTIO_BIT(VIRTIO_F_VERSION_1)) |
		      VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
		      VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) | F(MAC) | F(STATUS);
	if (g->packed)
		g->features |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (g->mrg)
		g->features |= F(MRG_RXBUF);
	if (g->event_idx)
		g->features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (g->pairs > 1)
		g->features |= F(MQ) | F(CTRL_VQ);
	CHECKF((g->offered & g->features) == g->features,
	       "offered %#" PRIx64 " lacks %#" PRIx64, g->offered, g->features & ~g->offered);
	CHECK0(vu_front_set_features(&g->f, g->features));
	CHECK0(vu_front_set_mem_table_ds(&g->f, g->ds));
	/* 5.1.6: 12 bytes with VERSION_1 or MRG_RXBUF, else the legacy 10 */
	g->hs = g->legacy && !g->mrg ? NET_HDR_LEGACY : NET_HDR_MAX;
	/* mergeable: 1 KiB buffers, so a 1514 B frame needs two */
	g->rx_len = g->mrg ? 1024 : 2048;
	for (unsigned p = 0; p < g->pairs; p++) {
		ring_create(g, 2 * p);
		ring_create(g, 2 * p + 1);
	}
	for (unsigned i = 0; i < 2 * g->pairs; i++)
		CHECK0(vu_front_set_vring_enable(&g->f, i, true));
	for (unsigned p = 0; post_rx && p < g->pairs; p++) {
		struct gqueue *rx = &g->q[2 * p];

		for (unsigned i = 0; i < RX_POST; i++)
			rx_post(g, rx, galloc(g, g->rx_len));
		kick(rx);
	}
}

/* Free rings, eventfds and guest RAM (the connection stays). */
static void guest_teardown(struct guest *g)
{
	for (unsigned i = 0; i < 2 * MAX_PAIRS; i++) {
		struct gqueue *q = &g->q[i];

		if (q->kick >= 0)
			close(q->kick);
		if (q->call >= 0)
			close(q->call);
		if (q->err >= 0)
			close(q->err);
		drvsim_split_free(q->s);
		drvsim_packed_free(q->p);
		memset(q, 0, sizeof(*q));
		q->kick = q->call = q->err = -1;
	}
	drvsim_free(g->ds);
	g->ds = NULL;
}

/* What QEMU does, in its order, for a fresh session. */
static void guest_connect_rx(struct guest *g, struct daemon *d, bool packed, bool mrg,
			     bool event_idx, unsigned pairs, bool post_rx, bool legacy)
{
	uint64_t pf, want_pf, qn;
	uint8_t mac[6];
	int err;

	memset(g, 0, sizeof(*g));
	for (unsigned i = 0; i < 2 * MAX_PAIRS; i++)
		g->q[i].kick = g->q[i].call = g->q[i].err = -1;
	g->d = d;
	g->packed = packed;
	g->mrg = mrg;
	g->event_idx = event_idx;
	g->pairs = pairs;
	g->legacy = legacy;
	g->tag = 1;

	err = vu_front_connect(&g->f, d->sock, 3000);
	CHECKF(daemon_alive(d), "daemon %s is gone", d->tap);
	CHECK0(err);
	CHECK0(vu_front_get_features(&g->f, &g->offered));
	if (d->pairs == 1)
		CHECKF(!(g->offered & F(MQ)), "MQ offered by a one-pair daemon");
	CHECK0(vu_front_get_protocol_features(&g->f, &pf));
	want_pf = VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		  VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
	CHECKF((pf & want_pf) == want_pf, "protocol features %#" PRIx64, pf);
	CHECK0(vu_front_set_protocol_features(&g->f, want_pf));
	CHECK0(vu_front_get_queue_num(&g->f, &qn));
	CHECKF(qn == d->pairs, "GET_QUEUE_NUM %" PRIu64 " != %u", qn, d->pairs);
	CHECK0(vu_front_set_owner(&g->f));
	CHECK0(vu_front_get_config(&g->f, 0, mac, 6));
	CHECK(memcmp(mac, guest_mac, 6) == 0);
	guest_setup(g, post_rx);
}

static void guest_connect(struct guest *g, struct daemon *d, bool packed, bool mrg,
			  bool event_idx, unsigned pairs)
{
	guest_connect_rx(g, d, packed, mrg, event_idx, pairs, true, false);
}

static void guest_close(struct guest *g)
{
	vu_front_close(&g->f);
	guest_teardown(g);
	memset(g, 0, sizeof(*g));
}

/* ------------------------------------------------------------- frames */

static void make_frame(uint8_t *f, size_t len, const uint8_t *dst, uint8_t tag)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(tag * 7u + i * 13u);
	f[14] = tag;
}

static uint8_t capbuf[70000];

/* Next frame on the TAP that the daemon wrote (not one we sent); -1 on timeout. */
static ssize_t tap_capture(struct daemon *d, uint16_t ethertype, int ms)
{
	uint64_t t0 = now_ms();

	for (;;) {
		struct pollfd p = { .fd = d->pkt, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		int left = ms - (int)(now_ms() - t0);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) != 1)
			return -1;
		n = recvfrom(d->pkt, capbuf, sizeof(capbuf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &fl);
		if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (capbuf[12] != ethertype >> 8 || capbuf[13] != (ethertype & 0xff))
			continue;
		return n;
	}
}

static void tap_drain(struct daemon *d)
{
	while (recv(d->pkt, capbuf, sizeof(capbuf), MSG_DONTWAIT) > 0)
		;
}

enum tx_layout { TX_ONE, TX_TWO, TX_INDIRECT };

/* Guest TX of one frame on pair @pair; checks TAP bytes, used element, call. */
static void guest_tx(struct guest *g, unsigned pair, size_t len, enum tx_layout lay)
{
	static uint8_t f[1514];
	struct gqueue *q = &g->q[2 * pair + 1];
	uint8_t hdr[NET_HDR_MAX] = { 0 };
	uint64_t a = galloc(g, g->hs + len);
	uint8_t tag = g->tag++;
	struct drvsim_buf b[2];
	uint32_t id, ulen;
	ssize_t n;
	int head;

	make_frame(f, len, bcast, tag);
	CHECK(drvsim_write(g->ds, a, hdr, g->hs) == 0);
	CHECK(drvsim_write(g->ds, a + g->hs, f, len) == 0);
	tap_drain(g->d);
	efd_drain(q->call);
	arm_call(g, q);
	switch (lay) {
	case TX_ONE:
		b[0] = (struct drvsim_buf){ a, (uint32_t)(g->hs + len), false };
		head = add_chain(g, q, b, 1);
		break;
	case TX_TWO:
		b[0] = (struct drvsim_buf){ a, g->hs, false };
		b[1] = (struct drvsim_buf){ a + g->hs, (uint32_t)len, false };
		head = add_chain(g, q, b, 2);
		break;
	default: {
		uint64_t table = galloc(g, 2 * 16);

		b[0] = (struct drvsim_buf){ a, g->hs, false };
		b[1] = (struct drvsim_buf){ a + g->hs, (uint32_t)len, false };
		head = g->packed ? drvsim_packed_add_indirect(q->p, b, 2, table)
				 : drvsim_split_add_indirect(q->s, NULL, 0, b, 2, table);
		CHECK(head >= 0);
		break;
	}
	}
	kick(q);
	CHECKF(efd_wait(q->call, WAIT_MS), "TX %zu B: call eventfd not signalled", len);
	CHECKF(wait_used(g, q, &id, &ulen, WAIT_MS), "TX %zu B: used element not returned", len);
	CHECKF(id == (uint32_t)head && ulen == 0, "TX used id %u len %u (head %d)", id, ulen, head);
	for (;;) {
		n = tap_capture(g->d, ETH_TEST, WAIT_MS);
		CHECKF(n > 0, "TX %zu B (tag %u) never appeared on the TAP", len, tag);
		if (capbuf[14] == tag)
			break;
	}
	CHECKF((size_t)n == len && memcmp(capbuf, f, len) == 0,
	       "TX %zu B: TAP got %zd different bytes", len, n);
	g->tx_sent[pair]++;
}

/* @n frames posted at once, one kick: all on the TAP in order, all returned. */
static void guest_tx_burst(struct guest *g, unsigned pair, unsigned n)
{
	static uint8_t f[1514];
	struct gqueue *q = &g->q[2 * pair + 1];
	uint8_t hdr[NET_HDR_MAX] = { 0 }, first = g->tag;
	unsigned got = 0, used = 0;
	uint64_t t0;

	tap_drain(g->d);
	for (unsigned i = 0; i < n; i++) {
		size_t len = 60 + (i * 97) % 1455;
		uint64_t a = galloc(g, g->hs + len);
		struct drvsim_buf b = { a, (uint32_t)(g->hs + len), false };
		int head;

		make_frame(f, len, bcast, g->tag++);
		CHECK(drvsim_write(g->ds, a, hdr, g->hs) == 0);
		CHECK(drvsim_write(g->ds, a + g->hs, f, len) == 0);
		head = g->packed ? drvsim_packed_add(q->p, &b, 1) : drvsim_split_stage(q->s, &b, 1);
		CHECK(head >= 0);
	}
	if (!g->packed)
		drvsim_split_publish(q->s);
	kick(q);
	t0 = now_ms();
	while (used < n) {
		uint32_t id, ulen;

		CHECKF(wait_used(g, q, &id, &ulen, WAIT_MS), "burst: %u of %u used", used, n);
		CHECK(ulen == 0);
		used++;
		CHECKF(now_ms() - t0 < 2 * WAIT_MS, "burst too slow");
	}
	while (got < n) {
		uint8_t tag = (uint8_t)(first + got);
		size_t len = 60 + (got * 97) % 1455;
		ssize_t r = tap_capture(g->d, ETH_TEST, WAIT_MS);

		CHECKF(r > 0, "burst: %u of %u frames on the TAP", got, n);
		make_frame(f, len, bcast, tag);
		CHECKF((size_t)r == len && memcmp(capbuf, f, len) == 0,
		       "burst frame %u: %zd bytes, tag %u (want %zu, tag %u)", got, r, capbuf[14],
		       len, tag);
		got++;
	}
	g->tx_sent[pair] += n;
}

/*
 * Take one packet off RX ring @qi like a driver (header, num_buffers buffers,
 * each reposted).  Return: frame bytes in @out, or -1 if nothing is used.
 */
static ssize_t guest_rx_one(struct guest *g, unsigned qi, uint8_t *out, size_t cap,
			    struct net_hdr *h, unsigned *nbufs)
{
	struct gqueue *q = &g->q[qi];
	uint8_t raw[NET_HDR_MAX];
	uint32_t id, ulen;
	size_t n;
	unsigned nb;
	uint64_t a;

	if (!get_used(g, q, &id, &ulen))
		return -1;
	CHECKF(id < QSIZE && q->buf_gpa[id], "RX used id %u not posted", id);
	a = q->buf_gpa[id];
	if (ulen == 0) { /* a reserved buffer given back (ring stop) */
		rx_post(g, q, a);
		*nbufs = 0;
		return 0;
	}
	CHECKF(ulen >= g->hs && ulen <= g->rx_len, "RX used len %u", ulen);
	CHECK(drvsim_read(g->ds, a, raw, g->hs) == 0);
	net_hdr_load(h, raw, g->hs);
	nb = g->mrg ? h->num_buffers : 1;
	CHECKF(nb >= 1 && nb <= 8, "num_buffers %u", h->num_buffers);
	if (!g->mrg)
		CHECKF(g->hs == NET_HDR_LEGACY || h->num_buffers == 1,
		       "num_buffers %u without MRG_RXBUF", h->num_buffers);
	n = ulen - g->hs;
	CHECK(n <= cap);
	CHECK(drvsim_read(g->ds, a + g->hs, out, n) == 0);
	rx_post(g, q, a);
	for (unsigned i = 1; i < nb; i++) {
		uint64_t t0 = now_ms();

		/* all buffers of a packet are published together */
		while (!get_used(g, q, &id, &ulen)) {
			CHECKF(now_ms() - t0 < 1000, "RX: buffer %u of %u missing", i + 1, nb);
			sleep_ms(1);
		}
		CHECK(id < QSIZE && q->buf_gpa[id]);
		a = q->buf_gpa[id];
		CHECKF(ulen > 0 && ulen <= g->rx_len && n + ulen <= cap, "RX buffer len %u", ulen);
		/* 5.1.6.4.1: all but the last buffer filled completely */
		CHECKF(i == nb - 1 || ulen == g->rx_len, "RX buffer %u len %u not full", i, ulen);
		CHECK(drvsim_read(g->ds, a, out + n, ulen) == 0);
		n += ulen;
		rx_post(g, q, a);
	}
	kick(q); /* buffers reposted */
	*nbufs = nb;
	return (ssize_t)n;
}

static void check_rx_hdr(const struct net_hdr *h)
{
	/* no offloads negotiated: nothing but a plain frame */
	CHECKF(h->flags == 0 && h->gso_type == 0, "RX header flags %#x gso %#x", h->flags,
	       h->gso_type);
}

/* Inject @len bytes into the TAP; they must land intact on pair @pair's RX. */
static void guest_rx(struct guest *g, unsigned pair, size_t len, unsigned want_bufs)
{
	static uint8_t f[1514], got[4096];
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = g->d->ifindex,
				  .sll_halen = 6 };
	uint8_t tag = g->tag++;
	uint64_t t0;

	make_frame(f, len, guest_mac, tag);
	memcpy(sa.sll_addr, guest_mac, 6);
	CHECK(sendto(g->d->pkt, f, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len);
	t0 = now_ms();
	for (;;) {
		struct gqueue *q = &g->q[2 * pair];
		struct net_hdr h;
		unsigned nb;
		ssize_t n;

		arm_call(g, q);
		n = guest_rx_one(g, 2 * pair, got, sizeof(got), &h, &nb);
		if (n < 0) {
			CHECKF(now_ms() - t0 < WAIT_MS, "RX %zu B (tag %u) never reached the guest",
			       len, tag);
			efd_wait(q->call, 20);
			continue;
		}
		if (nb == 0)
			continue;
		check_rx_hdr(&h);
		if ((size_t)n != len || got[12] != (ETH_TEST >> 8) || got[14] != tag)
			continue; /* kernel chatter */
		CHECKF(memcmp(got, f, len) == 0, "RX %zu B: payload differs", len);
		if (want_bufs)
			CHECKF(nb == want_bufs, "RX %zu B: num_buffers %u, expected %u", len, nb,
			       want_bufs);
		return;
	}
}

/* ----------------------------------------------------- malformed chains */

enum bad_kind { BAD_ADDR, BAD_LOOP, BAD_NEXT, BAD_IND_ZERO, BAD_IND_LEN, BAD_ORDER };
static const char *const bad_names[] = { "buffer outside guest RAM", "descriptor loop",
					 "next out of range", "zero-length indirect table",
					 "indirect length 24", "writable before readable" };

/* Post one malformed TX chain: returned with len 0, nothing on the TAP. */
static void guest_tx_bad(struct guest *g, unsigned pair, enum bad_kind k)
{
	struct gqueue *q = &g->q[2 * pair + 1];
	uint64_t a = galloc(g, 256), table = galloc(g, 64);
	uint8_t f[128];
	uint32_t id, ulen;
	int head;

	make_frame(f, 60, bcast, 0xee);
	CHECK(drvsim_fill(g->ds, a, 0, g->hs) == 0);
	CHECK(drvsim_write(g->ds, a + g->hs, f, 60) == 0);
	tap_drain(g->d);
	efd_drain(q->err);
	arm_call(g, q);
	if (g->packed) {
		struct vring_packed_desc d = { .addr = table, .len = 0, .id = 0,
					       .flags = VRING_DESC_F_INDIRECT };
		struct drvsim_buf b[2] = { { 0xdead00000000ULL, 72, false }, { 0, 0, false } };

		switch (k) {
		case BAD_ADDR:
			head = drvsim_packed_add(q->p, b, 1);
			break;
		case BAD_IND_ZERO:
		case BAD_IND_LEN:
			/* an id no chain of ours holds right now */
			d.id = (uint16_t)(QSIZE - 1 - (k == BAD_IND_LEN));
			d.len = k == BAD_IND_LEN ? 24 : 0;
			CHECK(drvsim_write_pdesc(g->ds, table, a, 72, 0, 0) == 0);
			head = drvsim_packed_add_raw(q->p, &d, 1);
			break;
		default: /* BAD_ORDER */
			b[0] = (struct drvsim_buf){ a, 64, true };
			b[1] = (struct drvsim_buf){ a + 64, 64, false };
			head = drvsim_packed_add(q->p, b, 2);
			break;
		}
		CHECK(head >= 0);
	} else {
		struct drvsim_buf b[2] = { { a, 72, false }, { a + 128, 64, false } };

		if (k == BAD_ADDR)
			b[0].gpa = 0xdead00000000ULL;
		if (k == BAD_ORDER)
			b[0].write = true;
		head = drvsim_split_stage(q->s, b, k == BAD_ORDER ? 2 : 1);
		CHECK(head >= 0);
		switch (k) {
		case BAD_LOOP:
			drvsim_split_set_desc(q->s, (uint16_t)head, a, 72, VRING_DESC_F_NEXT,
					      (uint16_t)head);
			break;
		case BAD_NEXT:
			drvsim_split_set_desc(q->s, (uint16_t)head, a, 72, VRING_DESC_F_NEXT, 0xffff);
			break;
		case BAD_IND_ZERO:
		case BAD_IND_LEN:
			CHECK(drvsim_write_desc(g->ds, table, a, 72, 0, 0) == 0);
			drvsim_split_set_desc(q->s, (uint16_t)head, table, k == BAD_IND_LEN ? 24 : 0,
					      VRING_DESC_F_INDIRECT, 0);
			break;
		default:
			break;
		}
		drvsim_split_publish(q->s);
	}
	kick(q);
	CHECKF(wait_used(g, q, &id, &ulen, WAIT_MS), "bad chain (%s) not returned", bad_names[k]);
	CHECKF(id == (uint32_t)head && ulen == 0, "bad chain (%s): used id %u len %u, head %d",
	       bad_names[k], id, ulen, head);
	CHECKF(tap_capture(g->d, ETH_TEST, 100) < 0, "bad chain (%s) reached the TAP",
	       bad_names[k]);
	/* a bad chain is the guest's problem, not a broken ring */
	CHECKF(!efd_wait(q->err, 0), "bad chain (%s) signalled the error eventfd", bad_names[k]);
	g->tx_bad[pair]++;
}

/* ------------------------------------------------------ ring positions */

/*
 * GET_VRING_BASE on every ring.  Every chain the device took is back in the
 * used ring (RX buffers it held are returned with len 0 at the stop), so its
 * next avail position equals the driver's used position: split, the used
 * index (TX: also the avail index, everything was consumed); packed, the
 * driver's next used slot and wrap counter in both halves.
 */
static void check_vring_base(struct guest *g)
{
	for (unsigned qi = 0; qi < 2 * g->pairs; qi++) {
		struct gqueue *q = &g->q[qi];
		uint32_t base, want, id, ulen;
		struct net_hdr h;
		unsigned nb;
		uint8_t junk[4096];

		CHECK0(vu_front_get_vring_base(&g->f, qi, &base));
		if (qi % 2 == 0) {
			while (guest_rx_one(g, qi, junk, sizeof(junk), &h, &nb) >= 0)
				;
		} else {
			CHECKF(!get_used(g, q, &id, &ulen), "TX ring %u: used after stop", qi);
		}
		if (g->packed) {
			uint32_t pos = (uint32_t)q->p->next_used | (uint32_t)q->p->used_wrap << 15;

			want = pos | pos << 16;
			if (qi % 2)
				CHECK(q->p->next_avail == q->p->next_used &&
				      q->p->avail_wrap == q->p->used_wrap);
			CHECKF(base == want, "ring %u: GET_VRING_BASE %#x, driver %#x", qi, base, want);
		} else {
			want = drvsim_split_used_idx(q->s);
			if (qi % 2)
				CHECK(want == q->s->avail_idx);
			CHECKF(base == want, "ring %u: GET_VRING_BASE %u, driver %u", qi, base, want);
		}
		printf("# ring %u: GET_VRING_BASE %#x\n", qi, base);
	}
}

/* After GET_VRING_BASE: a new kick fd restarts a ring from where it stopped. */
static void resume_rings(struct guest *g)
{
	for (unsigned qi = 0; qi < 2 * g->pairs; qi++) {
		struct gqueue *q = &g->q[qi];

		close(q->kick);
		q->kick = efd();
		CHECK0(vu_front_set_vring_kick(&g->f, qi, q->kick));
		if (qi % 2 == 0)
			kick(q);
	}
}

/* ---------------------------------------------------- malformed messages */

static void send_nacked(struct guest *g, uint32_t req, const void *p, uint32_t size,
			const int *fds, unsigned nfds, const char *what)
{
	struct vu_msg r;
	int err = vu_front_send(&g->f, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, p, size,
				fds, nfds);

	CHECKF(!err, "%s: send: %s", what, strerror(-err));
	err = vu_front_recv(&g->f, &r);
	CHECKF(!err, "%s: no REPLY_ACK (%s)", what, strerror(-err));
	CHECKF(r.hdr.request == req && (r.hdr.flags & VHOST_USER_REPLY_MASK) &&
		       r.hdr.size == 8 && r.p.u64 != 0,
	       "%s: expected a non-zero ack, got req %u size %u value %" PRIu64, what,
	       r.hdr.request, r.hdr.size, r.p.u64);
	for (unsigned i = 0; i < r.nfds; i++)
		close(r.fds[i]);
	CHECKF(daemon_alive(g->d), "%s killed the daemon", what);
}

/* The daemon must close the connection (and stay alive). */
static void expect_closed(struct guest *g, const char *what)
{
	struct vu_msg r;
	uint64_t t0 = now_ms();
	int err;

	for (;;) {
		err = vu_front_recv(&g->f, &r);
		if (err == -ECONNRESET || err == -EPROTO)
			break;
		if (!err) {
			for (unsigned i = 0; i < r.nfds; i++)
				close(r.fds[i]);
			continue; /* stray acks before the close */
		}
		CHECKF(now_ms() - t0 < 6000, "%s: connection not closed (%s)", what, strerror(-err));
	}
	CHECKF(daemon_alive(g->d), "%s killed the daemon", what);
}

/* ----------------------------------------------------------------- cases */

static void traffic_basic(struct guest *g, unsigned pair)
{
	guest_tx(g, pair, 60, TX_ONE);
	guest_rx(g, pair, 60, 1);
}

static void scenario(struct daemon *d, bool packed, bool mrg, bool event_idx, bool legacy)
{
	struct guest g;
	char json[4096];

	case_begin("%s%s mrg_rxbuf=%s event_idx=%s: TX, RX, bad chains, GET_VRING_BASE, stats",
		   packed ? "packed" : "split", legacy ? " legacy (no VERSION_1)" : "",
		   mrg ? "on" : "off", event_idx ? "on" : "off");
	guest_connect_rx(&g, d, packed, mrg, event_idx, 1, true, legacy);
	guest_tx(&g, 0, 60, TX_ONE);
	guest_tx(&g, 0, 1514, TX_TWO);
	guest_tx(&g, 0, 1514, TX_INDIRECT);
	guest_rx(&g, 0, 60, 1);
	guest_rx(&g, 0, 1514, mrg ? 2 : 1);
	for (int k = BAD_ADDR; k <= BAD_ORDER; k++) {
		if (packed && (k == BAD_LOOP || k == BAD_NEXT))
			continue; /* no next pointers in a packed ring */
		guest_tx_bad(&g, 0, (enum bad_kind)k);
		guest_tx(&g, 0, 60, TX_ONE); /* the next good frame still goes through */
	}
	guest_tx_burst(&g, 0, 64);
	guest_rx(&g, 0, 1514, mrg ? 2 : 1);

	daemon_stats(d, json, sizeof(json));
	CHECKF(json_get(json, 0, "tx", "packets") == g.tx_sent[0],
	       "stats tx packets %" PRIu64 " != %" PRIu64 " sent: %s",
	       json_get(json, 0, "tx", "packets"), g.tx_sent[0], json);
	CHECKF(json_get(json, 0, "tx", "bad_chains") == g.tx_bad[0],
	       "stats tx bad_chains %" PRIu64 " != %" PRIu64 ": %s",
	       json_get(json, 0, "tx", "bad_chains"), g.tx_bad[0], json);
	CHECKF(json_get(json, 0, "rx", "packets") >= 3, "stats rx packets: %s", json);
	CHECK(strstr(json, "\"broken\":true") == NULL);
	printf("# stats: %s\n", json);

	check_vring_base(&g);
	resume_rings(&g);
	traffic_basic(&g, 0);
	guest_tx(&g, 0, 1514, TX_TWO);

	guest_close(&g);
	daemon_check_clean(d);
	case_end();
}

static void msgs_survivable(struct daemon *d)
{
	struct guest g;
	struct vu_vring_state st = { .index = 0x10000, .num = 256 };
	uint8_t st12[12] = { 0 };
	uint8_t mem[8 + 9 * 32];
	int kfd, fds[2];
	uint32_t four = 4;
	uint64_t v;

	case_begin("malformed messages refused (REPLY_ACK nack), session keeps serving");
	guest_connect(&g, d, false, true, true, 1);
	traffic_basic(&g, 0);

	/* wrong payload size */
	send_nacked(&g, VHOST_USER_SET_FEATURES, &four, 4, NULL, 0, "SET_FEATURES size 4");
	send_nacked(&g, VHOST_USER_SET_VRING_NUM, st12, 12, NULL, 0, "SET_VRING_NUM size 12");
	/* ring index 0x10000 (would alias ring 0 if narrowed) */
	send_nacked(&g, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0,
		    "SET_VRING_NUM index 0x10000");
	send_nacked(&g, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0,
		    "SET_VRING_ENABLE index 0x10000");
	kfd = efd();
	v = 0x10000;
	send_nacked(&g, VHOST_USER_SET_VRING_KICK, &v, 8, &kfd, 1, "SET_VRING_KICK index 0x10000");
	v = 2 * MAX_PAIRS + 7;
	send_nacked(&g, VHOST_USER_SET_VRING_CALL, &v, 8, &kfd, 1, "SET_VRING_CALL index 11");
	close(kfd);
	/* SET_MEM_TABLE: 9 regions; fd count != region count */
	memset(mem, 0, sizeof(mem));
	mem[0] = 9;
	fds[0] = fds[1] = g.ds->memfd;
	send_nacked(&g, VHOST_USER_SET_MEM_TABLE, mem, sizeof(mem), fds, 1,
		    "SET_MEM_TABLE 9 regions");
	{
		struct vu_memory m;

		memset(&m, 0, sizeof(m));
		m.nregions = 1;
		m.regions[0].guest_phys_addr = RAM_GPA;
		m.regions[0].memory_size = 4096;
		m.regions[0].userspace_addr = 0x10000000;
		send_nacked(&g, VHOST_USER_SET_MEM_TABLE, &m, 8 + 32, fds, 2,
			    "SET_MEM_TABLE 1 region 2 fds");
		m.nregions = 2;
		m.regions[1] = m.regions[0];
		m.regions[1].guest_phys_addr = RAM_GPA + 0x10000000;
		send_nacked(&g, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds, 1,
			    "SET_MEM_TABLE 2 regions 1 fd");
		send_nacked(&g, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, NULL, 0,
			    "SET_MEM_TABLE 2 regions no fd");
	}
	/* garbage request numbers */
	send_nacked(&g, 0xdeadbeef, NULL, 0, NULL, 0, "request 0xdeadbeef");
	send_nacked(&g, VHOST_USER_MAX_REQUEST, NULL, 0, NULL, 0, "request 41");
	send_nacked(&g, 0, &v, 8, NULL, 0, "request 0");
	/* unsupported but known: postcopy, inflight */
	send_nacked(&g, VHOST_USER_POSTCOPY_ADVISE, NULL, 0, NULL, 0, "POSTCOPY_ADVISE");

	/* still serving, same session, same rings */
	guest_tx(&g, 0, 1514, TX_TWO);
	guest_rx(&g, 0, 1514, 2);
	traffic_basic(&g, 0);
	guest_close(&g);
	daemon_check_clean(d);
	case_end();
}

enum fatal_kind { FATAL_NINE_FDS, FATAL_HUGE_SIZE, FATAL_VERSION, FATAL_GET_BASE_IDX,
		  FATAL_TRUNC_HDR, FATAL_TRUNC_PAYLOAD, FATAL_RESET_MIDWAY };

static void msg_fatal(struct daemon *d, enum fatal_kind k, bool packed)
{
	static const char *const names[] = {
		"SET_MEM_TABLE with 9 fds (control data truncated)", "header size 0x1000",
		"header version 2", "GET_VRING_BASE index 0x10000", "truncated header then close",
		"truncated payload then close", "close with rings running, then reconnect"
	};
	struct guest g;
	int fds[9];

	case_begin("%s: daemon survives, next session (%s) passes traffic", names[k],
		   packed ? "packed" : "split");
	guest_connect(&g, d, packed, false, false, 1);
	traffic_basic(&g, 0);
	switch (k) {
	case FATAL_NINE_FDS: {
		uint8_t mem[8 + 8 * 32] = { 8 };

		for (int i = 0; i < 9; i++)
			fds[i] = g.ds->memfd;
		CHECK0(vu_front_send(&g.f, VHOST_USER_SET_MEM_TABLE, VHOST_USER_VERSION, mem,
				     sizeof(mem), fds, 9));
		expect_closed(&g, names[k]);
		break;
	}
	case FATAL_HUGE_SIZE: {
		struct vu_hdr h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 0x1000 };

		CHECK0(vu_front_send_raw(&g.f, &h, sizeof(h), NULL, 0));
		expect_closed(&g, names[k]);
		break;
	}
	case FATAL_VERSION: {
		uint64_t f = g.features;

		CHECK0(vu_front_send(&g.f, VHOST_USER_SET_FEATURES, 2, &f, 8, NULL, 0));
		expect_closed(&g, names[k]);
		break;
	}
	case FATAL_GET_BASE_IDX: {
		struct vu_vring_state st = { .index = 0x10000 };

		CHECK0(vu_front_send(&g.f, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &st,
				     sizeof(st), NULL, 0));
		expect_closed(&g, names[k]);
		break;
	}
	case FATAL_TRUNC_HDR: {
		struct vu_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };

		CHECK0(vu_front_send_raw(&g.f, &h, 6, NULL, 0));
		break;
	}
	case FATAL_TRUNC_PAYLOAD: {
		struct {
			struct vu_hdr h;
			uint32_t half;
		} __attribute__((packed)) m = { { VHOST_USER_SET_VRING_NUM, VHOST_USER_VERSION, 8 },
						0 };

		CHECK0(vu_front_send_raw(&g.f, &m, sizeof(m), NULL, 0));
		break;
	}
	case FATAL_RESET_MIDWAY:
		break;
	}
	guest_close(&g);
	daemon_check_clean(d);
	CHECKF(daemon_alive(d), "%s killed the daemon", names[k]);

	/* reconnect: a full new session serves both directions */
	guest_connect(&g, d, packed, true, true, 1);
	traffic_basic(&g, 0);
	guest_tx(&g, 0, 1514, TX_TWO);
	guest_rx(&g, 0, 1514, 2);
	guest_close(&g);
	daemon_check_clean(d);
	case_end();
}

/* Two queue pairs: traffic on pair 1. */
static void scenario_mq(struct daemon *d)
{
	static uint8_t got[4096];
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = d->ifindex,
				  .sll_halen = 6 };
	unsigned per_pair[2] = { 0, 0 }, flows = 32, seen = 0;
	bool have[32] = { false };
	struct guest g;
	char json[4096];
	uint64_t t0;

	case_begin("--queue-pairs 2, MQ negotiated: TX and RX on pair 1");
	guest_connect(&g, d, false, true, true, 2);
	/* TX on pair 1 (ring 3) and, for contrast, pair 0 */
	guest_tx(&g, 1, 60, TX_ONE);
	guest_tx(&g, 1, 1514, TX_TWO);
	guest_tx(&g, 1, 1514, TX_INDIRECT);
	guest_tx(&g, 0, 60, TX_ONE);
	guest_tx_bad(&g, 1, BAD_ADDR);
	guest_tx(&g, 1, 60, TX_ONE);

	/* RX: UDP/IPv4 frames of @flows flows; the TAP spreads them by flow hash */
	memcpy(sa.sll_addr, guest_mac, 6);
	for (unsigned i = 0; i < flows; i++) {
		uint8_t f[128] = { 0 };
		uint8_t *ip = f + 14, *udp = f + 34;

		memcpy(f, guest_mac, 6);
		memcpy(f + 6, peer_mac, 6);
		f[12] = 0x08;
		ip[0] = 0x45;
		ip[3] = 28 + 20;
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, "\x0a\x63\x00\x01", 4);
		memcpy(ip + 16, "\x0a\x63\x00\x02", 4);
		udp[0] = 0x9c;
		udp[1] = (uint8_t)(0x40 + i); /* source port varies */
		udp[2] = 0x13;
		udp[3] = 0x89;
		udp[5] = 28;
		memcpy(udp + 8, "vhostile-mq", 11);
		udp[19] = (uint8_t)i;
		CHECK(sendto(d->pkt, f, 62, 0, (struct sockaddr *)&sa, sizeof(sa)) == 62);
	}
	t0 = now_ms();
	while (seen < flows) {
		bool any = false;

		for (unsigned p = 0; p < 2; p++) {
			struct net_hdr h;
			unsigned nb;
			ssize_t n = guest_rx_one(&g, 2 * p, got, sizeof(got), &h, &nb);

			if (n < 0 || nb == 0)
				continue;
			any = true;
			if (n != 62 || got[12] != 0x08 || memcmp(got + 42, "vhostile-mq", 11))
				continue;
			check_rx_hdr(&h);
			CHECK(got[53] < flows);
			if (!have[got[53]]) {
				have[got[53]] = true;
				seen++;
				per_pair[p]++;
			}
		}
		if (!any) {
			CHECKF(now_ms() - t0 < WAIT_MS, "MQ RX: %u of %u flows arrived", seen, flows);
			efd_wait(g.q[2].call, 10);
		}
	}
	printf("# MQ RX: %u flows on pair 0, %u on pair 1\n", per_pair[0], per_pair[1]);
	CHECKF(per_pair[1] > 0, "no RX flow was steered to pair 1");

	daemon_stats(d, json, sizeof(json));
	printf("# stats: %s\n", json);
	CHECKF(json_get(json, 1, "tx", "packets") == g.tx_sent[1] &&
		       json_get(json, 0, "tx", "packets") == g.tx_sent[0],
	       "per-pair tx packets (%" PRIu64 ", %" PRIu64 ") in %s", g.tx_sent[0], g.tx_sent[1],
	       json);
	CHECK(json_get(json, 1, "tx", "bad_chains") == 1);
	CHECK(json_get(json, 1, "rx", "packets") >= per_pair[1]);
	check_vring_base(&g);
	resume_rings(&g);
	guest_tx(&g, 1, 60, TX_ONE);
	/* SIGTERM while a frontend is attached and rings run */
	case_end();

	case_begin("SIGTERM with a frontend attached: exit 0 within 2 s");
	daemon_term(d);
	guest_close(&g);
	case_end();
}

/*
 * TX chains the virtio-net layer drops (well-formed rings, bad frames): each
 * comes back with len 0, nothing reaches the TAP, exactly one drop counter
 * per reason moves, and the next good frame goes through.
 */
static void tx_post_raw(struct guest *g, const struct net_hdr *h, size_t frame_len,
			bool writable_tail, const char *what)
{
	struct gqueue *q = &g->q[1];
	uint64_t a = galloc(g, g->hs + frame_len + 64);
	uint8_t raw[NET_HDR_MAX], f[1514];
	struct drvsim_buf b[2];
	uint32_t id, ulen;
	int head;

	net_hdr_store(raw, g->hs, h);
	CHECK(drvsim_write(g->ds, a, raw, g->hs) == 0);
	make_frame(f, frame_len < sizeof(f) ? (frame_len < 14 ? 14 : frame_len) : sizeof(f), bcast,
		   0xdd);
	CHECK(drvsim_write(g->ds, a + g->hs, f, frame_len < sizeof(f) ? frame_len : sizeof(f)) ==
	      0);
	b[0] = (struct drvsim_buf){ a, (uint32_t)(g->hs + frame_len), false };
	b[1] = (struct drvsim_buf){ a + g->hs + frame_len, 64, true };
	tap_drain(g->d);
	arm_call(g, q);
	head = add_chain(g, q, b, writable_tail ? 2 : 1);
	kick(q);
	CHECKF(wait_used(g, q, &id, &ulen, WAIT_MS), "%s: not returned", what);
	CHECKF(id == (uint32_t)head && ulen == 0, "%s: used id %u len %u", what, id, ulen);
	CHECKF(tap_capture(g->d, ETH_TEST, 100) < 0, "%s reached the TAP", what);
}

static void tx_drops(struct daemon *d, bool packed)
{
	static const char *const keys[] = { "drop_tx-too-short", "drop_tx-too-long",
					    "drop_tx-writable-descriptor", "drop_gso-not-negotiated",
					    "drop_csum-not-negotiated" };
	unsigned want[5] = { 2, 1, 1, 1, 1 };
	/* (NEEDS_CSUM is checked before gso_type: leave it off here) */
	struct net_hdr h0 = { 0 }, gso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					   .gso_size = 1460, .hdr_len = 54 };
	struct net_hdr csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				.csum_offset = 16 };
	struct guest g;
	char json[4096];

	case_begin("%s: TX frames dropped by virtio-net checks (short, long, writable, gso/csum "
		   "not negotiated) return len 0, counted per reason",
		   packed ? "packed" : "split");
	guest_connect(&g, d, packed, false, true, 1);
	tx_post_raw(&g, &h0, 0, false, "header-only chain");
	guest_tx(&g, 0, 60, TX_ONE);
	tx_post_raw(&g, &h0, 13, false, "13-byte frame");
	guest_tx(&g, 0, 60, TX_ONE);
	tx_post_raw(&g, &h0, NET_MAX_FRAME + 1, false, "65551-byte frame");
	guest_tx(&g, 0, 1514, TX_TWO);
	tx_post_raw(&g, &h0, 60, true, "chain with a writable tail");
	guest_tx(&g, 0, 60, TX_ONE);
	tx_post_raw(&g, &gso, 1514, false, "GSO TCPV4 without HOST_TSO4");
	guest_tx(&g, 0, 60, TX_ONE);
	tx_post_raw(&g, &csum, 1514, false, "NEEDS_CSUM without CSUM");
	guest_tx(&g, 0, 60, TX_ONE);
	daemon_stats(d, json, sizeof(json));
	for (int i = 0; i < 5; i++)
		CHECKF(json_get(json, 0, "tx", keys[i]) == want[i], "%s != %u in %s", keys[i],
		       want[i], json);
	CHECKF(json_get(json, 0, "tx", "drops") == 6 && json_get(json, 0, "tx", "bad_chains") == 0 &&
		       json_get(json, 0, "tx", "packets") == g.tx_sent[0],
	       "tx counters in %s", json);
	guest_close(&g);
	daemon_check_clean(d);
	case_end();
}

/*
 * RX backpressure and malformed RX chains: with no guest buffers a frame in
 * the TAP waits (it is not dropped); then the guest posts three bad chains
 * (outside guest RAM, device-readable, smaller than the header) followed by
 * good buffers: the bad ones come back with len 0, the waiting frame lands
 * intact in the next good buffer, each problem is counted once.
 */
static void rx_backpressure(struct daemon *d, bool packed, bool mrg)
{
	static uint8_t f[1514], got[4096];
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned zero = 0, nb;
	struct guest g;
	struct gqueue *q;
	struct net_hdr h;
	char json[4096];
	uint8_t tag;
	uint64_t t0;
	ssize_t n;

	case_begin("%s mrg_rxbuf=%s: RX waits for guest buffers; bad RX chains returned len 0; the "
		   "waiting frame lands intact",
		   packed ? "packed" : "split", mrg ? "on" : "off");
	guest_connect_rx(&g, d, packed, mrg, false, 1, false, false);
	q = &g.q[0];
	sa.sll_ifindex = d->ifindex;
	memcpy(sa.sll_addr, guest_mac, 6);
	tag = g.tag++;
	make_frame(f, 1514, guest_mac, tag);
	CHECK(sendto(d->pkt, f, 1514, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1514);
	sleep_ms(300);
	CHECKF(!get_used(&g, q, &(uint32_t){ 0 }, &(uint32_t){ 0 }),
	       "RX used element without any posted buffer");
	CHECK(daemon_alive(d));
	{
		struct drvsim_buf bad[3] = { { 0xdead00000000ULL, g.rx_len, true },
					     { galloc(&g, g.rx_len), g.rx_len, false },
					     { galloc(&g, 64), 4, true } };

		for (int i = 0; i < 3; i++) {
			int id = add_chain(&g, q, &bad[i], 1);

			q->buf_gpa[id] = galloc(&g, g.rx_len); /* replaced by a good one */
		}
	}
	for (unsigned i = 0; i < 16; i++)
		rx_post(&g, q, galloc(&g, g.rx_len));
	kick(q);
	t0 = now_ms();
	for (;;) {
		n = guest_rx_one(&g, 0, got, sizeof(got), &h, &nb);
		if (n < 0) {
			CHECKF(now_ms() - t0 < WAIT_MS, "the waiting frame never arrived");
			efd_wait(q->call, 20);
			continue;
		}
		if (nb == 0) {
			zero++;
			continue;
		}
		check_rx_hdr(&h);
		if (n == 1514 && got[14] == tag)
			break;
	}
	CHECK(memcmp(got, f, 1514) == 0);
	CHECKF(zero == 3, "%u chains returned with len 0 before the frame, expected 3", zero);
	guest_rx(&g, 0, 60, 1);
	daemon_stats(d, json, sizeof(json));
	CHECKF(json_get(json, 0, "rx", "bad_chains") == 1 &&
		       json_get(json, 0, "rx", "drop_rx-readable-descriptor") == 1 &&
		       json_get(json, 0, "rx", "drop_rx-buffer-too-small") == 1 &&
		       json_get(json, 0, "rx", "packets") >= 2,
	       "rx counters in %s", json);
	guest_close(&g);
	daemon_check_clean(d);
	case_end();
}

/*
 * One connection, several device lives (what QEMU does on guest reboot or a
 * driver reload): SET_MEM_TABLE re-sent under running rings, TX ring disabled
 * then re-enabled, all rings stopped with GET_VRING_BASE, then a new feature
 * set (split -> packed, MRG_RXBUF on), new guest RAM and rings: traffic works
 * after every step.
 */
static void renegotiate(struct daemon *d)
{
	struct gqueue *tx;
	struct guest g;
	uint32_t id, ulen;
	int head;

	case_begin("same connection: SET_MEM_TABLE under running rings, SET_VRING_ENABLE 0/1, "
		   "stop + re-negotiation split -> packed");
	guest_connect(&g, d, false, false, true, 1);
	traffic_basic(&g, 0);
	/* memory table again (QEMU: hotplug) while the rings run */
	CHECK0(vu_front_set_mem_table_ds(&g.f, g.ds));
	traffic_basic(&g, 0);
	guest_tx(&g, 0, 1514, TX_TWO);
	/* disabled TX ring: processed and discarded (vhost-user ring states:
	 * the chain comes back with length 0, nothing reaches the TAP);
	 * re-enabled: frames go out again */
	tx = &g.q[1];
	CHECK0(vu_front_set_vring_enable(&g.f, 1, false));
	{
		uint64_t a = galloc(&g, g.hs + 60);
		uint8_t f[60], hdr[NET_HDR_MAX] = { 0 };
		struct drvsim_buf b = { a, g.hs + 60, false };

		make_frame(f, 60, bcast, 0xcc);
		CHECK(drvsim_write(g.ds, a, hdr, g.hs) == 0);
		CHECK(drvsim_write(g.ds, a + g.hs, f, 60) == 0);
		tap_drain(d);
		head = add_chain(&g, tx, &b, 1);
		kick(tx);
		CHECKF(wait_used(&g, tx, &id, &ulen, WAIT_MS) && id == (uint32_t)head && ulen == 0,
		       "disabled TX ring: chain not processed and returned");
		CHECKF(tap_capture(d, ETH_TEST, 200) < 0, "disabled TX ring: a frame reached the TAP");
		CHECK0(vu_front_set_vring_enable(&g.f, 1, true));
		head = add_chain(&g, tx, &b, 1);
		kick(tx);
		CHECKF(wait_used(&g, tx, &id, &ulen, WAIT_MS) && id == (uint32_t)head,
		       "re-enabled TX ring: chain not processed");
		CHECKF(tap_capture(d, ETH_TEST, WAIT_MS) == 60 && capbuf[14] == 0xcc,
		       "re-enabled TX ring: frame not on the TAP");
		g.tx_sent[0]++;
	}
	traffic_basic(&g, 0);
	/* stop (QEMU vhost_dev_stop), then a new device life on this connection */
	check_vring_base(&g);
	guest_teardown(&g);
	g.packed = true;
	g.mrg = true;
	g.event_idx = false;
	guest_setup(&g, true);
	traffic_basic(&g, 0);
	guest_tx(&g, 0, 1514, TX_INDIRECT);
	guest_rx(&g, 0, 1514, 2);
	/* and back to split, via RESET_OWNER-free plain re-negotiation */
	check_vring_base(&g);
	guest_teardown(&g);
	g.packed = false;
	g.mrg = false;
	guest_setup(&g, true);
	traffic_basic(&g, 0);
	guest_rx(&g, 0, 1514, 1);
	guest_close(&g);
	daemon_check_clean(d);
	case_end();
}

/*
 * A frontend that trickles a message byte by byte: the daemon must drop it
 * once the message is not complete 5 s after it began (not 5 s per byte)
 * and serve the next frontend; and a SIGTERM that arrives while a frontend
 * sits in the middle of a message must still end the process within 2 s.
 */
static void stalled_frontend(struct daemon *d)
{
	struct vu_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 8 };
	struct vu_front stall;
	struct guest g;
	struct vu_msg r;
	uint64_t t0;
	int err;

	case_begin("frontend trickles a message (1 byte / 0.5 s): dropped after the 5 s message "
		   "timeout, next frontend served");
	CHECK0(vu_front_connect(&stall, d->sock, 3000));
	{
		struct timeval tv = { 0, 500000 };

		CHECK(setsockopt(stall.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	}
	h.request = VHOST_USER_SET_VRING_ADDR;
	h.size = sizeof(struct vu_vring_addr); /* 40 bytes: 20 s at this pace */
	CHECK0(vu_front_send_raw(&stall, &h, sizeof(h), NULL, 0));
	t0 = now_ms();
	for (;;) {
		static const uint8_t zero;

		if (vu_front_send_raw(&stall, &zero, 1, NULL, 0))
			break; /* EPIPE / ECONNRESET: closed */
		err = vu_front_recv(&stall, &r);
		if (err == -ECONNRESET || err == -EPROTO)
			break;
		CHECKF(err == -ETIMEDOUT, "trickling frontend: %s", strerror(-err));
		CHECKF(now_ms() - t0 < 8000, "trickling frontend not dropped after 8 s");
	}
	CHECKF(now_ms() - t0 >= 4000, "dropped after only %" PRIu64 " ms", now_ms() - t0);
	printf("# trickling frontend dropped after %" PRIu64 " ms\n", now_ms() - t0);
	vu_front_close(&stall);
	CHECK(daemon_alive(d));
	guest_connect(&g, d, true, true, true, 1);
	traffic_basic(&g, 0);
	guest_close(&g);
	daemon_check_clean(d);
	case_end();

	case_begin("SIGTERM while a frontend stalls inside a message: exit 0 within 2 s");
	CHECK0(vu_front_connect(&stall, d->sock, 3000));
	CHECK0(vu_front_send_raw(&stall, &h, 6, NULL, 0)); /* half a header */
	sleep_ms(100);
	daemon_term(d);
	vu_front_close(&stall);
	case_end();
}

int main(int argc, char **argv)
{
	static struct daemon d1, d2, d3;
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-vhostile-net [DAEMON-ARGS...]\n", argv[0]);
		return 2;
	}
	daemon_bin = argv[1];
	daemon_extra = argv + 2;
	daemon_nextra = argc - 2;
	if (geteuid() != 0 || stat("/dev/net/tun", &st)) {
		printf("# SKIP: needs root and /dev/net/tun\n");
		return SKIP;
	}
	if (access(daemon_bin, X_OK)) {
		fprintf(stderr, "FAIL: %s: %s\n", daemon_bin, strerror(errno));
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("# SKIP: cannot create a network namespace: %s\n", strerror(errno));
		return SKIP;
	}
	/* no IPv6 chatter on the test links */
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(160);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhostile-it.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("# daemon: %s", daemon_bin);
	for (int i = 0; i < daemon_nextra; i++)
		printf(" %s", daemon_extra[i]);
	printf("\n");

	case_begin("start vhostile-net --queue-pairs 1 --keep-listening (idle fds, TAP up)");
	daemon_start(&d1, 0, "vht0", 1);
	printf("# vht0: pid %d, %u fds idle\n", (int)d1.pid, d1.idle_fds);
	case_end();

	scenario(&d1, false, false, true, false);
	scenario(&d1, false, true, false, false);
	scenario(&d1, true, false, false, false);
	scenario(&d1, true, true, true, false);
	scenario(&d1, false, false, true, true);
	scenario(&d1, false, true, false, true);
	tx_drops(&d1, false);
	tx_drops(&d1, true);
	rx_backpressure(&d1, false, true);
	rx_backpressure(&d1, true, false);
	renegotiate(&d1);
	msgs_survivable(&d1);
	for (int k = FATAL_NINE_FDS; k <= FATAL_RESET_MIDWAY; k++)
		msg_fatal(&d1, (enum fatal_kind)k, k % 2);

	case_begin("SIGTERM while idle (between frontends): exit 0 within 2 s");
	daemon_term(&d1);
	case_end();

	case_begin("start vhostile-net --queue-pairs 2");
	daemon_start(&d2, 1, "vht1", 2);
	case_end();
	scenario_mq(&d2);

	case_begin("start vhostile-net (stalled-frontend cases)");
	daemon_start(&d3, 2, "vht2", 1);
	case_end();
	stalled_frontend(&d3);

	kill_daemons();
	cleanup_tmp();
	printf("# SUMMARY: PASS (%u cases)\n", cases_ok);
	printf("1..%u\n", case_no);
	return 0;
}
