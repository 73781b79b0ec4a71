// SPDX-License-Identifier: Apache-2.0
/*
 * pktblast.c - frame generator for bench/run.sh (TAP->guest cases): sends
 * IPv4/UDP frames into a network interface with AF_PACKET, sendmmsg() in
 * batches and PACKET_QDISC_BYPASS (straight to the driver's xmit, for a TAP
 * that is tun_net_xmit into the queue the backend reads), as fast as one
 * core allows, for a bounded time.  No kernel pktgen module needed.
 *
 *   vh_pktblast IFNAME SECONDS [FRAME-LEN (60..9000 or TSO 9001..65000, default 60)]
 *               [BATCH (1..256, default 64)] [BACKOFF-US (0..10000, default 50)]
 *
 * Frames: broadcast destination, 02:00:00:00:66:01 source, 10.66.0.1 ->
 * 10.66.0.2 UDP, 16 flows (source port varies).  A full TAP queue drops the
 * frame (TAP tx_dropped; sendmmsg stops at it with ENOBUFS).  The generator
 * then sleeps BACKOFF-US before trying again instead of spinning: on a small
 * machine it shares a CPU with the (busy-polling) frontend, which must keep
 * refilling the guest's RX ring or no backend can deliver anything.  The TAP
 * queue stays (nearly) full, so the backend draining it is never starved
 * and its best rate is what gets measured.  Prints "sent N frames in S s (P pps)".
 *
 * TSO mode (FRAME-LEN > 9000): IPv4/TCP frames of that length, sent with a
 * virtio-net header (PACKET_VNET_HDR: NEEDS_CSUM, GSO_TCPV4, MSS 1448) the
 * way a local TCP sender hands a 64 KiB segment to a TSO-capable device.  A
 * TAP whose reader enabled TSO4 (TUNSETOFFLOAD) queues it whole, header
 * included, for the reader; otherwise the kernel segments it first (software
 * GSO) and the reader gets MSS-sized frames.  (No qdisc bypass in this mode:
 * the direct transmit path drops frames it would have to segment.)
 * Exit 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"

#define MAX_LEN 9000
#define MAX_TSO_LEN 65000
#define TSO_MSS 1448
#define MAX_BATCH 256
#define FLOWS 16

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 header of a @len-byte frame carrying @proto; returns the
 * L4 header (offset 34). */
static uint8_t *build_l3(uint8_t *f, size_t len, uint8_t proto)
{
	uint8_t *ip = f + 14;
	uint16_t c;

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x66\x01", 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, "\x0a\x42\x00\x01", 4);
	memcpy(ip + 16, "\x0a\x42\x00\x02", 4);
	c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	return f + 34;
}

static void build(uint8_t *f, size_t len, unsigned flow)
{
	uint8_t *udp = build_l3(f, len, 17);

	udp[0] = 0x40;
	udp[1] = (uint8_t)flow;
	udp[2] = 0x13;
	udp[3] = 0x89;
	udp[4] = (uint8_t)((len - 34) >> 8);
	udp[5] = (uint8_t)(len - 34);
	memcpy(udp + 8, "vhostile-pktblast", 17);
}

/* IPv4/TCP frame of @len bytes for TSO mode; the TCP checksum field holds the
 * pseudo-header sum (CHECKSUM_PARTIAL, completed per segment by the stack or
 * by whoever receives the GSO frame). */
static void build_tcp(uint8_t *f, size_t len, unsigned flow)
{
	uint8_t *tcp = build_l3(f, len, 6);
	size_t tcplen = len - 34;
	uint32_t s;

	tcp[0] = 0x40;
	tcp[1] = (uint8_t)flow;
	tcp[2] = 0x13;
	tcp[3] = 0x89;
	tcp[7] = 1;        /* seq */
	tcp[12] = 5 << 4;  /* data offset */
	tcp[13] = 0x18;    /* PSH|ACK */
	tcp[14] = 0xff;    /* window */
	tcp[15] = 0xff;
	s = 0x0a42 + 0x0001 + 0x0a42 + 0x0002 + 6 + (uint32_t)tcplen;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	tcp[16] = (uint8_t)(s >> 8);
	tcp[17] = (uint8_t)s;
}

int main(int argc, char **argv)
{
	static uint8_t frames[FLOWS][MAX_TSO_LEN];
	static struct mmsghdr msg[MAX_BATCH];
	static struct iovec iov[MAX_BATCH][2];
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54,
		.gso_size = TSO_MSS,
		.csum_start = 34,
		.csum_offset = 16,
	};
	bool tso;
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned long long sent = 0, full = 0;
	unsigned batch = 64, backoff_us = 50;
	double secs, t0, t;
	size_t len = 60;
	int s, one = 1;

	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: %s IFNAME SECONDS [FRAME-LEN] [BATCH] [BACKOFF-US]\n", argv[0]);
		return 2;
	}
	secs = atof(argv[2]);
	if (argc >= 4)
		len = (size_t)atoi(argv[3]);
	if (argc >= 5)
		batch = (unsigned)atoi(argv[4]);
	if (argc == 6)
		backoff_us = (unsigned)atoi(argv[5]);
	if (secs <= 0 || secs > 600 || len < 60 || len > MAX_TSO_LEN || batch < 1 || batch > MAX_BATCH ||
	    backoff_us > 10000) {
		fprintf(stderr, "pktblast: bad SECONDS, FRAME-LEN, BATCH or BACKOFF-US\n");
		return 2;
	}
	sa.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (!sa.sll_ifindex) {
		fprintf(stderr, "pktblast: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(sa.sll_addr, 0xff, 6);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: send only */
	if (s < 0) {
		perror("pktblast: socket");
		return 1;
	}
	tso = len > MAX_LEN;
	/* Best effort: without it frames go through the TAP's qdisc.  Not in
	 * TSO mode: the direct path drops what it would have to segment (a TAP
	 * without TSO), the qdisc path segments it. */
	if (!tso && setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		perror("pktblast: PACKET_QDISC_BYPASS (continuing)");
	if (tso && setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) {
		perror("pktblast: PACKET_VNET_HDR");
		return 1;
	}
	for (unsigned i = 0; i < FLOWS; i++) {
		if (tso)
			build_tcp(frames[i], len, i);
		else
			build(frames[i], len, i);
	}
	for (unsigned i = 0; i < batch; i++) {
		unsigned k = 0;

		if (tso) {
			iov[i][k].iov_base = &vh;
			iov[i][k++].iov_len = sizeof(vh);
		}
		iov[i][k].iov_base = frames[i % FLOWS];
		iov[i][k++].iov_len = len;
		msg[i].msg_hdr.msg_name = &sa;
		msg[i].msg_hdr.msg_namelen = sizeof(sa);
		msg[i].msg_hdr.msg_iov = iov[i];
		msg[i].msg_hdr.msg_iovlen = k;
	}

	t0 = bench_now();
	for (t = t0; t - t0 < secs;) {
		for (unsigned k = 0; k < 16; k++) {
			int r = sendmmsg(s, msg, batch, 0);

			if (r > 0) {
				sent += (unsigned)r;
			} else if (r < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
				/* The TAP queue is full: it dropped the frame. */
				struct timespec ts = { 0, (long)backoff_us * 1000 };

				full++;
				if (backoff_us)
					(void)nanosleep(&ts, NULL);
			} else if (r < 0 && errno != EINTR) {
				perror("pktblast: sendmmsg");
				return 1;
			}
		}
		t = bench_now();
	}
	printf("sent %llu frames in %.2f s (%.0f pps, %llu times full)\n", sent, t - t0,
	       (double)sent / (t - t0), full);
	close(s);
	return 0;
}
