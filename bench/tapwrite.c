// SPDX-License-Identifier: Apache-2.0
/*
 * tapwrite.c - what one frame written into a TAP costs the writer, and what
 * batching the writes through io_uring would save (bench/README.md, "why
 * guest->TAP is at parity").  A measurement tool, not part of the daemon.
 *
 * Creates TAP "vhtw<pid>" (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, 12-byte
 * header, the daemon's settings) in the current network namespace (run it
 * in a throw-away one: `ip netns exec NS vh_tapwrite ...`), brings it up and
 * writes 60 B Ethernet frames behind a zero virtio-net header for SECONDS:
 *
 *   writev   one writev() per frame (header iovec + frame iovec), as the
 *            daemon and DPDK's net_tap do;
 *   uring    the same two-iovec writes as IORING_OP_WRITEV, BATCH per
 *            io_uring_enter (fixed file), i.e. one system call per batch.
 *
 * Prints frames/s, the process's CPU (all threads, io_uring workers
 * included) and CPU ns per frame for each mode, alternating the modes
 * ROUNDS times.  The TAP disappears with the process.
 *
 *   vh_tapwrite [SECONDS-PER-RUN (default 2)] [ROUNDS (default 2)] [BATCH (1..256, default 64)]
 *
 * Exit 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"

#define MAX_BATCH 256
#define HDR 12
#define FRAME 60

static double cpu_s(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
	       (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

static int tap_open(char *name, size_t cap)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd, hs = HDR, s;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vhtw%d", (int)getpid() % 100000);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hs))
		goto fail;
	snprintf(name, cap, "%s", ifr.ifr_name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr)) {
			close(s);
			goto fail;
		}
	}
	close(s);
	return fd;
fail:
	close(fd);
	return -1;
}

struct result {
	double pps, cpu, ns;
};

static int run(int fd, struct io_uring *ring, unsigned batch, double secs, struct result *res)
{
	static uint8_t hdr[HDR], frame[FRAME];
	static struct iovec iov[MAX_BATCH][2];
	unsigned long long n = 0, bad = 0;
	double t0, c0, dt, dc;

	memset(frame, 0xff, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x77\x01", 6);
	frame[12] = 0x08; /* IPv4 ethertype; payload is not a valid packet: dropped early */
	frame[14] = 0x45;
	for (unsigned i = 0; i < batch; i++) {
		iov[i][0] = (struct iovec){ hdr, HDR };
		iov[i][1] = (struct iovec){ frame, FRAME };
	}
	t0 = bench_now();
	c0 = cpu_s();
	while (bench_now() - t0 < secs) {
		if (!ring) {
			for (unsigned i = 0; i < batch; i++) {
				if (writev(fd, iov[i], 2) == HDR + FRAME)
					n++;
				else
					bad++;
			}
			continue;
		}
		for (unsigned i = 0; i < batch; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			if (!sqe)
				return -ENOSPC;
			io_uring_prep_writev(sqe, 0, iov[i], 2, 0);
			sqe->flags |= IOSQE_FIXED_FILE;
		}
		int r = io_uring_submit_and_wait(ring, batch);

		if (r < 0)
			return r;
		struct io_uring_cqe *cqe;
		unsigned head, k = 0;

		io_uring_for_each_cqe(ring, head, cqe)
		{
			if (cqe->res == HDR + FRAME)
				n++;
			else
				bad++;
			k++;
		}
		io_uring_cq_advance(ring, k);
	}
	dt = bench_now() - t0;
	dc = cpu_s() - c0;
	if (n == 0)
		return -EIO;
	res->pps = (double)n / dt;
	res->cpu = 100.0 * dc / dt;
	res->ns = dc * 1e9 / (double)n;
	if (bad)
		fprintf(stderr, "tapwrite: %llu writes failed or were short\n", bad);
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	int rounds = argc > 2 ? atoi(argv[2]) : 2;
	unsigned batch = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
	struct io_uring ring;
	char name[IFNAMSIZ];
	int fd, r;

	if (argc > 4 || secs <= 0 || secs > 60 || rounds < 1 || rounds > 20 || batch < 1 ||
	    batch > MAX_BATCH) {
		fprintf(stderr, "usage: %s [SECONDS (0..60]] [ROUNDS 1..20] [BATCH 1..256]\n", argv[0]);
		return 2;
	}
	fd = tap_open(name, sizeof(name));
	if (fd < 0) {
		perror("tapwrite: TAP");
		return 1;
	}
	r = io_uring_queue_init(2 * batch, &ring, 0);
	if (r == 0)
		r = io_uring_register_files(&ring, &fd, 1);
	if (r < 0) {
		fprintf(stderr, "tapwrite: io_uring: %s\n", strerror(-r));
		return 1;
	}
	printf("TAP %s, %d B frames + %d B virtio-net header, io_uring batch %u\n", name, FRAME, HDR,
	       batch);
	for (int i = 0; i < rounds; i++) {
		for (int m = 0; m < 2; m++) {
			struct result res;

			r = run(fd, m ? &ring : NULL, batch, secs, &res);
			if (r < 0) {
				fprintf(stderr, "tapwrite: %s\n", strerror(-r));
				return 1;
			}
			printf("%-7s %10.0f frames/s  cpu %4.0f%%  %6.0f ns cpu/frame\n",
			       m ? "uring" : "writev", res.pps, res.cpu, res.ns);
			fflush(stdout);
		}
	}
	io_uring_queue_exit(&ring);
	close(fd);
	return 0;
}
