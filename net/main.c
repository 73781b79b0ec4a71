// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - vhostile-net: a vhost-user virtio-net backend on a TAP device.
 *
 * Theory of operation
 * -------------------
 * Set-up runs with whatever privileges we were given: parse and validate the
 * command line (exit 2 on a usage error), open the TAP queues, set up the
 * device and its worker threads, create or adopt the vhost-user socket (exit 1
 * if any of it fails: never serve half a device).  Then the process confines
 * itself (net/sandbox.c) and the control thread serves one frontend at a time:
 * it reads messages (net/../core/vhost_user.c) until the frontend disconnects,
 * resets everything, and either waits for the next frontend (--keep-listening,
 * --client reconnects) or exits 0.  SIGTERM/SIGINT end the process promptly
 * and cleanly; SIGUSR1 prints statistics.  All signals arrive through a
 * signalfd in the control loop, so no handler runs asynchronously.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vhost_user.h"
#include "net/config.h"
#include "net/net_hdr.h"
#include "net/sandbox.h"
#include "net/worker.h"

#define VHOSTILE_VERSION "0.1.0"

/* Seconds a frontend may take to deliver the rest of a started message. */
#define MSG_TIMEOUT_S 5

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

struct app {
	struct vnet_config cfg;
	struct netdev nd;
	struct vu_server vu;
	int listen_fd;
	int sig_fd;
	int timer_fd;
	bool unlink_path;
	bool quit;
};

static void print_capabilities(void)
{
	/* QEMU vhost-user.json VHostUserBackendCapabilities */
	printf("{\n  \"type\": \"net\",\n  \"features\": [\n"
	       "    \"tap\",\n    \"tap-fd\",\n    \"multiqueue\",\n    \"packed-ring\",\n"
	       "    \"event-idx\",\n    \"indirect-desc\",\n    \"mrg-rxbuf\",\n"
	       "    \"offloads\",\n    \"control-queue\",\n    \"reconnect\",\n"
	       "    \"dirty-log\",\n    \"seccomp\"\n  ]\n}\n");
}

static int make_listener(struct app *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->cfg.socket_path);
	/* A stale socket from a previous run; never remove anything else. */
	{
		struct stat st;

		if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(sun.sun_path);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 1)) {
		err = -errno;
		close(fd);
		return err;
	}
	a->listen_fd = fd;
	a->unlink_path = true;
	return 0;
}

/* --fd N: a listening socket, or an already connected one. */
static int adopt_fd(struct app *a, int *conn)
{
	int acc = 0;
	socklen_t len = sizeof(acc);

	if (getsockopt(a->cfg.listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len))
		return -errno;
	if (acc)
		a->listen_fd = a->cfg.listen_fd;
	else
		*conn = a->cfg.listen_fd;
	return 0;
}

static int connect_once(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void handle_signal(struct app *a)
{
	struct signalfd_siginfo si;

	while (read(a->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			netdev_print_stats(&a->nd);
		else
			a->quit = true;
	}
}

static void handle_timer(struct app *a)
{
	uint64_t n;

	if (read(a->timer_fd, &n, sizeof(n)) == sizeof(n))
		netdev_print_stats(&a->nd);
}

/*
 * Wait for @fd readable while still serving signals and the stats timer.
 * Return: 1 readable, 0 quit requested, <0 error.
 */
static int wait_readable(struct app *a, int fd, int timeout_ms)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = a->sig_fd, .events = POLLIN },
			{ .fd = a->timer_fd, .events = POLLIN },
		};
		int n = poll(p, 3, timeout_ms);

		if (n < 0 && errno == EINTR)
			continue; /* not a quit request: signals arrive via sig_fd */
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (p[1].revents)
			handle_signal(a);
		if (p[2].revents)
			handle_timer(a);
		if (a->quit)
			return 0;
		if (p[0].revents)
			return 1;
	}
}

/* Obtain the next frontend connection; -1 when there is none (quit). */
static int next_connection(struct app *a)
{
	for (;;) {
		int r, fd;

		if (a->quit)
			return -1;
		if (a->cfg.client) {
			fd = connect_once(a->cfg.socket_path);
			if (fd >= 0) {
				vh_info("connected to %s", a->cfg.socket_path);
				return fd;
			}
			if (!a->cfg.reconnect_ms) {
				vh_err("connect %s: %s", a->cfg.socket_path, strerror(-fd));
				return -1;
			}
			r = wait_readable(a, -1, (int)a->cfg.reconnect_ms);
			if (r == 0)
				return -1;
			continue;
		}
		r = wait_readable(a, a->listen_fd, -1);
		if (r <= 0)
			return -1;
		fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			vh_info("frontend connected");
			return fd;
		}
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			vh_warn("accept: %s", strerror(errno));
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Is a whole message queued on @conn: the header and as much payload as it
 * announces (capped at what any request may carry; a larger size is refused
 * by vu_server_recv() right after the header)?  Also true at EOF or on a
 * socket error, which vu_server_recv() then reports without blocking.
 */
static bool message_queued(int conn)
{
	struct pollfd p = { .fd = conn, .events = POLLIN | POLLRDHUP };
	struct vu_hdr h;
	size_t want = sizeof(h);
	ssize_t n;
	int queued;

	if (poll(&p, 1, 0) != 1)
		return false;
	if (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL))
		return true;
	n = recv(conn, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return true;
	if ((size_t)n == sizeof(h) && h.size <= sizeof(union vu_payload))
		want += h.size;
	if (ioctl(conn, FIONREAD, &queued) || queued < 0)
		return true;
	return (size_t)queued >= want;
}

/*
 * Wait for the next message, serving signals and the stats timer meanwhile,
 * and return only once it is queued completely, so vu_server_recv() never
 * blocks: a frontend that stops or trickles inside a message can neither
 * delay SIGTERM nor hold the control thread for more than MSG_TIMEOUT_S
 * (a blocking read with a per-call timeout allowed both).  Messages arrive
 * whole from real frontends; only a partial one is re-checked every 10 ms.
 *
 * Return: 1 ready (or EOF/error pending), 0 quit, -ETIMEDOUT, other -errno.
 */
static int wait_message(struct app *a, int conn)
{
	uint64_t deadline;
	int r = wait_readable(a, conn, -1);

	if (r <= 0)
		return r;
	deadline = mono_ms() + MSG_TIMEOUT_S * 1000;
	while (!message_queued(conn)) {
		uint64_t now = mono_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		r = wait_readable(a, -1, deadline - now < 10 ? (int)(deadline - now) : 10);
		if (r == 0)
			return 0;
		if (r != -ETIMEDOUT)
			return r;
	}
	return 1;
}

/* Serve one frontend until it disconnects or we are told to quit. */
static void serve(struct app *a, int conn)
{
	struct timeval tv = { .tv_sec = MSG_TIMEOUT_S };
	struct vu_msg m;

	/* Backstop only: wait_message() hands over complete messages. */
	(void)setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	vu_server_init(&a->vu, &netdev_vu_ops, &a->nd, conn);
	for (;;) {
		int r = wait_message(a, conn);

		if (r == -ETIMEDOUT)
			vh_warn("closing the connection: message incomplete after %d s",
				MSG_TIMEOUT_S);
		if (r <= 0)
			break;
		r = vu_server_recv(&a->vu, &m);
		if (!r)
			r = vu_server_handle(&a->vu, &m);
		if (r) {
			if (r == -ECONNRESET)
				vh_info("frontend disconnected");
			else
				vh_warn("closing the connection: %s", strerror(-r));
			break;
		}
	}
	/* Workers stop, memory is unmapped, the next session starts clean. */
	vu_server_reset(&a->vu);
	close(conn);
}

static int setup_signals(struct app *a)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	/* Before any thread exists, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	a->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->sig_fd < 0)
		return -errno;
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->timer_fd < 0)
		return -errno;
	if (a->cfg.stats_interval) {
		struct itimerspec its = {
			.it_interval = { .tv_sec = a->cfg.stats_interval },
			.it_value = { .tv_sec = a->cfg.stats_interval },
		};

		if (timerfd_settime(a->timer_fd, 0, &its, NULL))
			return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct app a; /* large (device, rings); not on the stack */
	char err[256];
	int conn = -1, r;

	vnet_config_defaults(&a.cfg);
	a.listen_fd = a.sig_fd = a.timer_fd = -1;
	if (vnet_config_parse(&a.cfg, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "vhostile-net: %s\nTry '%s --help'.\n", err, argv[0]);
		return EXIT_USAGE;
	}
	if (a.cfg.help) {
		vnet_config_usage(argv[0]);
		return EXIT_OK;
	}
	if (a.cfg.version) {
		printf("vhostile-net %s\n", VHOSTILE_VERSION);
		return EXIT_OK;
	}
	if (a.cfg.print_capabilities) {
		print_capabilities();
		return EXIT_OK;
	}
	vh_log_set_level(a.cfg.log_level);

	r = setup_signals(&a);
	if (!r)
		r = netdev_init(&a.nd, &a.cfg);
	if (!r) {
		if (a.cfg.listen_fd >= 0)
			r = adopt_fd(&a, &conn);
		else if (!a.cfg.client)
			r = make_listener(&a);
		if (r)
			vh_err("vhost-user socket %s: %s",
			       a.cfg.listen_fd >= 0 ? "(--fd)" : a.cfg.socket_path, strerror(-r));
	}
	if (!r)
		r = sandbox_enter(a.cfg.user, a.cfg.sandbox);
	if (r) {
		netdev_destroy(&a.nd);
		return EXIT_RUNTIME;
	}
	if (a.listen_fd >= 0)
		vh_info("listening on %s", a.cfg.listen_fd >= 0 ? "inherited fd" : a.cfg.socket_path);

	for (;;) {
		if (conn < 0)
			conn = next_connection(&a);
		if (conn < 0)
			break;
		serve(&a, conn);
		conn = -1;
		if (a.quit || (!a.cfg.keep_listening && !a.cfg.client))
			break;
	}

	vh_info("exiting");
	netdev_destroy(&a.nd);
	if (a.listen_fd >= 0)
		close(a.listen_fd);
	/* Under seccomp unlink() is not allowed (a confined device deletes
	 * nothing); the stale socket is replaced at the next start. */
	if (a.unlink_path && !a.cfg.sandbox)
		unlink(a.cfg.socket_path);
	return EXIT_OK;
}
