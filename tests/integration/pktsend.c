// SPDX-License-Identifier: Apache-2.0
/*
 * pktsend.c - inject frames into a network interface with AF_PACKET, as fast
 * as one core allows, for a bounded time (used by dpdk_interop.sh to feed the
 * TAP that vhostile-net serves; no packet generator package needed).
 *
 * Usage: pktsend IFNAME SECONDS [FRAME-LEN (60..1514, default 60)]
 *
 * Frames: broadcast Ethernet, IPv4/UDP from 10.66.0.1 to 10.66.0.2 with the
 * source port varying (several flows), payload "vhostile-pktsend".  Prints
 * "sent N frames in S s (P pps)" and exits 0; 1 on errors, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int main(int argc, char **argv)
{
	static uint8_t f[1514];
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned long long sent = 0;
	double secs, t0, t;
	size_t len = 60;
	uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t c;
	int s;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s IFNAME SECONDS [FRAME-LEN]\n", argv[0]);
		return 2;
	}
	secs = atof(argv[2]);
	if (argc == 4)
		len = (size_t)atoi(argv[3]);
	if (secs <= 0 || secs > 600 || len < 60 || len > sizeof(f)) {
		fprintf(stderr, "pktsend: bad SECONDS or FRAME-LEN\n");
		return 2;
	}
	sa.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (!sa.sll_ifindex) {
		fprintf(stderr, "pktsend: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(sa.sll_addr, 0xff, 6);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* send only */
	if (s < 0) {
		perror("pktsend: socket");
		return 1;
	}

	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x66\x01", 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x42\x00\x01", 4);
	memcpy(ip + 16, "\x0a\x42\x00\x02", 4);
	c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[2] = 0x13;
	udp[3] = 0x89;
	udp[4] = (uint8_t)((len - 34) >> 8);
	udp[5] = (uint8_t)(len - 34);
	memcpy(udp + 8, "vhostile-pktsend", 16);

	t0 = now_s();
	for (t = t0; t - t0 < secs; ) {
		for (unsigned i = 0; i < 256; i++) {
			udp[0] = 0x40;
			udp[1] = (uint8_t)(sent & 0xf); /* 16 flows */
			if (sendto(s, f, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len) {
				sent++;
			} else if (errno == ENOBUFS || errno == EAGAIN) {
				struct pollfd p = { .fd = s, .events = POLLOUT };

				poll(&p, 1, 1);
			} else if (errno != EINTR) {
				perror("pktsend: sendto");
				return 1;
			}
		}
		t = now_s();
	}
	printf("sent %llu frames in %.2f s (%.0f pps)\n", sent, t - t0, (double)sent / (t - t0));
	close(s);
	return 0;
}
