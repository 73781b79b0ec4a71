// SPDX-License-Identifier: Apache-2.0
/*
 * test_net_tap_netns.c - the virtio-net data path against a real TAP.
 *
 * Theory of operation
 * -------------------
 * Everything happens in a forked child that first moves into a private
 * network namespace (unshare(CLONE_NEWNET)): the TAPs, addresses, routes and
 * traffic exist only there, and the kernel removes all of it when the child
 * exits, whatever way it exits (the parent also kills it after a deadline).
 * Skips (exit 77) when not root, without /dev/net/tun, or when namespaces
 * are not permitted.
 *
 * Inside: TAP "vhint0" is the device's backend (tap_open, one queue); a
 * simulated guest (drvsim rings in a memfd) drives net_tx_run / net_rx_run.
 * For each ring format (split, packed) x MRG_RXBUF (off, on) x offloads
 * (off, on):
 *
 *  - TX: minimum (60 B) and MTU-sized (1514 B) frames posted by the guest
 *    are captured byte-identical by an AF_PACKET socket bound to vhint0;
 *  - RX: the same frames sent with AF_PACKET out of vhint0 arrive intact in
 *    guest buffers, with a header valid for the negotiated features;
 *  - TSO (offloads on): a 64 KiB TCP/IPv4 frame with gso_type TCPV4 sent by
 *    the guest is routed by the namespace's kernel out of a second TAP
 *    "vhint1" (MTU 1500, no offloads) and captured there with AF_PACKET: it
 *    must arrive as MTU-sized segments with valid IPv4 and TCP checksums,
 *    contiguous sequence numbers and exactly the original payload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/iov.h"
#include "net/net_hdr.h"
#include "net/tap.h"
#include "net/vnet.h"
#include "tests/support/drvsim.h"

#define SKIP 77
#define ETH_TEST 0x88b5 /* IEEE local experimental ethertype */
#define RAM_GPA 0x100000ULL
#define RAM_SIZE (16ULL << 20)
#define QSIZE 256
#define TSO_PAYLOAD 65000u
#define MSS 1460u

#define F(x) VIRTIO_BIT(VIRTIO_NET_F_##x)

#define CHECK(c)                                                                            \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "FAIL %s:%d: %s [%s]\n", __FILE__, __LINE__, #c,    \
				scen);                                                      \
			exit(1);                                                            \
		}                                                                           \
	} while (0)

static char scen[128];
static uint8_t capbuf[70000];

struct env {
	struct net_backend be, be2;
	int ifindex, ifindex2, pkt, pkt2, pkt_gso;
	uint8_t mac[6];
};

struct guest {
	struct drvsim *ds;
	struct drvsim_split *rxs, *txs;
	struct drvsim_packed *rxp, *txp;
	bool packed;
	struct vnet dev;
};

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
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

static int packet_socket(int ifindex)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = ifindex };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	CHECK(s >= 0);
	CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return s;
}

/* Next captured frame of the given direction; -1 on timeout. */
static ssize_t capture(int s, bool outgoing, uint16_t ethertype, void *buf, size_t len,
		       int ms)
{
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, ms) != 1)
			return -1;
		n = recvfrom(s, buf, len, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 14)
			continue;
		if ((from.sll_pkttype == PACKET_OUTGOING) != outgoing)
			continue;
		if (((uint8_t *)buf)[12] != ethertype >> 8 || ((uint8_t *)buf)[13] != (ethertype & 0xff))
			continue;
		return n;
	}
}

static void drain(int s)
{
	while (recv(s, capbuf, sizeof(capbuf), MSG_DONTWAIT) > 0)
		;
}

static void env_setup(struct env *e)
{
	struct ifreq ifr;
	int s;

	/* no IPv6 chatter (router solicitations, MLD) on the test links */
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv4/ip_forward", "1");
	write_file("/proc/sys/net/ipv4/conf/all/rp_filter", "0");
	write_file("/proc/sys/net/ipv4/conf/default/rp_filter", "0");

	CHECK(tap_open(&e->be, "vhint0") == 0);
	{
		char a[64], r[64];

		printf("# TAP offloads accepted: %s; refused: %s\n",
		       tap_offload_names(e->be.offloads, a, sizeof(a)),
		       tap_offload_names(e->be.offload_refused, r, sizeof(r)));
	}
	/* the egress link of the TSO test: a TAP without offloads, attached
	 * (an unattached TAP has no carrier and would drop everything) */
	CHECK(tap_open(&e->be2, "vhint1") == 0);
	CHECK(sh("ip link set vhint0 mtu 1500 up && ip addr add 10.99.1.1/24 dev vhint0") == 0);
	CHECK(sh("ip link set vhint1 mtu 1500 up && ip addr add 10.99.2.1/24 dev vhint1") == 0);
	CHECK(sh("ip neigh replace 10.99.2.2 lladdr 02:00:00:00:02:02 dev vhint1 nud permanent") ==
	      0);
	CHECK(sh("ip neigh replace 10.99.1.2 lladdr 52:54:00:00:00:02 dev vhint0 nud permanent") ==
	      0);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "vhint0");
	CHECK(ioctl(s, SIOCGIFHWADDR, &ifr) == 0);
	memcpy(e->mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	e->ifindex = (int)if_nametoindex("vhint0");
	e->ifindex2 = (int)if_nametoindex("vhint1");
	CHECK(e->ifindex > 0 && e->ifindex2 > 0);
	e->pkt = packet_socket(e->ifindex);
	e->pkt2 = packet_socket(e->ifindex2);
	/* send-only socket that hands the kernel GSO frames (virtio header
	 * in front, PACKET_VNET_HDR); protocol 0: it never receives */
	{
		int one = 1;

		e->pkt_gso = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		CHECK(e->pkt_gso >= 0);
		CHECK(setsockopt(e->pkt_gso, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0);
	}
}

static uint64_t alloc(struct guest *g, uint64_t len)
{
	uint64_t a = drvsim_alloc(g->ds, len, 64);

	CHECK(a != UINT64_MAX);
	return a;
}

static void ring(struct guest *g, unsigned qidx, uint64_t features)
{
	uint64_t d, a, u, base;
	struct vq_cfg cfg;

	if (g->packed) {
		base = alloc(g, drvsim_packed_layout(QSIZE, 0, &d, &a, &u) + 64) + 63;
		base &= ~63ULL;
		drvsim_packed_layout(QSIZE, base, &d, &a, &u);
		if (qidx) {
			g->txp = drvsim_packed_new(g->ds, QSIZE, d, a, u);
			CHECK(g->txp);
			drvsim_packed_cfg(g->txp, &cfg, features);
		} else {
			g->rxp = drvsim_packed_new(g->ds, QSIZE, d, a, u);
			CHECK(g->rxp);
			drvsim_packed_cfg(g->rxp, &cfg, features);
		}
	} else {
		base = alloc(g, drvsim_split_layout(QSIZE, 0, &d, &a, &u) + 64) + 63;
		base &= ~63ULL;
		drvsim_split_layout(QSIZE, base, &d, &a, &u);
		if (qidx) {
			g->txs = drvsim_split_new(g->ds, QSIZE, d, a, u, 0);
			CHECK(g->txs);
			drvsim_split_cfg(g->txs, &cfg, features);
		} else {
			g->rxs = drvsim_split_new(g->ds, QSIZE, d, a, u, 0);
			CHECK(g->rxs);
			drvsim_split_cfg(g->rxs, &cfg, features);
		}
	}
	CHECK(vnet_queue_start(&g->dev, qidx, &g->ds->gm, &cfg) == 0);
}

static int add(struct guest *g, unsigned qidx, const struct drvsim_buf *b, unsigned n)
{
	int id = g->packed ? drvsim_packed_add(qidx ? g->txp : g->rxp, b, n)
			   : drvsim_split_add(qidx ? g->txs : g->rxs, b, n);

	CHECK(id >= 0);
	return id;
}

static bool used(struct guest *g, unsigned qidx, uint32_t *id, uint32_t *len)
{
	uint16_t pid;

	if (!g->packed)
		return drvsim_split_get_used(qidx ? g->txs : g->rxs, id, len);
	if (!drvsim_packed_get_used(qidx ? g->txp : g->rxp, &pid, len))
		return false;
	*id = pid;
	return true;
}

static void test_frame(uint8_t *f, size_t len, const uint8_t *dst, uint8_t tag)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, "\x52\x54\x00\x00\x00\x02", 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(tag + i * 13u);
	f[14] = tag;
}

/* Guest TX of one frame; returns once the used element is back. */
static void guest_tx(struct guest *g, const struct net_hdr *h, const uint8_t *frame, size_t len)
{
	size_t hs = g->dev.hdr_size;
	uint64_t a = alloc(g, hs + len);
	struct drvsim_buf b[2] = { { a, (uint32_t)hs, false }, { a + hs, (uint32_t)len, false } };
	uint64_t drops = g->dev.qp[0].stats.tx.drops[NET_DROP_BACKEND];
	uint8_t raw[NET_HDR_MAX];
	uint32_t id, ulen;
	int head, r;

	net_hdr_store(raw, hs, h);
	CHECK(drvsim_write(g->ds, a, raw, hs) == 0);
	CHECK(drvsim_write(g->ds, a + hs, frame, len) == 0);
	head = add(g, 1, b, 2);
	r = net_tx_run(&g->dev.qp[0], 64);
	CHECK(r == 1);
	CHECK(used(g, 1, &id, &ulen) && id == (uint32_t)head && ulen == 0);
	CHECK(g->dev.qp[0].stats.tx.drops[NET_DROP_BACKEND] == drops);
}

static void check_tx(struct env *e, struct guest *g, size_t len, uint8_t tag)
{
	static uint8_t f[1514];
	struct net_hdr h = { 0 };
	ssize_t n;

	test_frame(f, len, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", tag);
	drain(e->pkt);
	guest_tx(g, &h, f, len);
	do {
		n = capture(e->pkt, false, ETH_TEST, capbuf, sizeof(capbuf), 2000);
		CHECK(n > 0);
	} while (capbuf[14] != tag);
	CHECK((size_t)n == len);
	CHECK(memcmp(capbuf, f, len) == 0);
}

/* RX buffers: ids come back as posted; remember the GPA per id. */
static uint64_t rx_gpa[QSIZE];
static uint32_t rx_len;

static uint64_t rx_gpa_of(uint32_t id)
{
	CHECK(id < QSIZE);
	return rx_gpa[id];
}

static void rx_post(struct guest *g, uint64_t a)
{
	struct drvsim_buf b = { a, rx_len, true };
	int id = add(g, 0, &b, 1);

	CHECK(id >= 0 && id < QSIZE);
	rx_gpa[id] = a;
}

/*
 * guest_rx_packet() - take one packet off the RX used ring like a driver:
 * header from the first buffer, num_buffers buffers with MRG_RXBUF, every
 * buffer posted again.
 *
 * Return: frame bytes copied to @out (header excluded), or -1 if none.
 */
static ssize_t guest_rx_packet(struct guest *g, uint8_t *out, size_t cap, struct net_hdr *h)
{
	bool mrg = g->dev.acked & F(MRG_RXBUF);
	size_t hs = g->dev.hdr_size, n = 0;
	uint8_t raw[NET_HDR_MAX];
	uint32_t id, ulen;
	unsigned nb;
	uint64_t a;

	if (!used(g, 0, &id, &ulen))
		return -1;
	a = rx_gpa_of(id);
	CHECK(ulen >= hs && ulen <= rx_len);
	CHECK(drvsim_read(g->ds, a, raw, hs) == 0);
	net_hdr_load(h, raw, hs);
	nb = mrg ? h->num_buffers : 1;
	CHECK(hs == 10 || h->num_buffers == (mrg ? nb : 1));
	CHECK(nb >= 1);
	CHECK(ulen - hs <= cap);
	CHECK(drvsim_read(g->ds, a + hs, out, ulen - hs) == 0);
	n = ulen - hs;
	rx_post(g, a);
	for (unsigned i = 1; i < nb; i++) {
		CHECK(used(g, 0, &id, &ulen));
		a = rx_gpa_of(id);
		CHECK(ulen <= rx_len && n + ulen <= cap);
		/* 5.1.6.4.1: all but the last buffer completely filled */
		CHECK(i == nb - 1 || ulen == rx_len);
		CHECK(drvsim_read(g->ds, a, out + n, ulen) == 0);
		n += ulen;
		rx_post(g, a);
	}
	return (ssize_t)n;
}

/* Run the device's RX until a packet shows up (or ~5 s pass). */
static ssize_t guest_rx_wait(struct env *e, struct guest *g, uint8_t *out, size_t cap,
			     struct net_hdr *h)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd p = { .fd = e->be.fd, .events = POLLIN };
		ssize_t n = guest_rx_packet(g, out, cap, h);

		if (n >= 0)
			return n;
		CHECK(net_rx_run(&g->dev.qp[0], 64) >= 0);
		n = guest_rx_packet(g, out, cap, h);
		if (n >= 0)
			return n;
		poll(&p, 1, 100);
	}
	return -1;
}

/* The header a guest gets is valid for what it negotiated. */
static void check_rx_hdr(struct guest *g, const struct net_hdr *h, size_t len)
{
	uint64_t f = g->dev.acked;

	if (!(f & F(GUEST_CSUM)))
		CHECK(h->flags == 0);
	CHECK(!(h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		CHECK((uint32_t)h->csum_start + h->csum_offset + 2 <= len);
	if (h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4)
		CHECK(f & F(GUEST_TSO4));
	else
		CHECK(h->gso_type == 0);
}

static void check_rx(struct env *e, struct guest *g, size_t len, uint8_t tag)
{
	static uint8_t f[1514], got[70000];
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = e->ifindex,
				  .sll_halen = 6 };
	struct net_hdr h;
	ssize_t n;

	test_frame(f, len, (const uint8_t *)"\x52\x54\x00\x00\x00\x02", tag);
	memcpy(sa.sll_addr, f, 6);
	CHECK(sendto(e->pkt, f, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len);
	for (;;) {
		n = guest_rx_wait(e, g, got, sizeof(got), &h);
		CHECK(n >= 0); /* else the frame never reached the guest */
		check_rx_hdr(g, &h, (size_t)n);
		if ((size_t)n == len && got[12] == (ETH_TEST >> 8) && got[14] == tag)
			break; /* anything else is kernel chatter */
	}
	CHECK(memcmp(got, f, len) == 0);
}

static uint16_t csum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t pseudo(const uint8_t *ip, uint32_t l4len)
{
	uint32_t s = 0;

	for (int i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	return s + 6 + l4len;
}

/*
 * tcp_frame() - Ethernet + IPv4 + TCP frame with @payload bytes, the TCP
 * checksum field holding the pseudo-header sum (a partial checksum, as a
 * NEEDS_CSUM sender leaves it).  Returns the frame length.
 */
static size_t tcp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, const char *sip,
			const char *dip, uint32_t payload)
{
	uint8_t *ip = f + 14, *tcp = f + 34;
	uint16_t c;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((40 + payload) >> 8);
	ip[3] = (uint8_t)(40 + payload);
	ip[5] = 1;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, sip, 4);
	memcpy(ip + 16, dip, 4);
	c = (uint16_t)~csum16(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	tcp[0] = 40000 >> 8;
	tcp[1] = 40000 & 0xff;
	tcp[2] = 5001 >> 8;
	tcp[3] = 5001 & 0xff;
	tcp[6] = 0x03; /* seq 1000 */
	tcp[7] = 0xe8;
	tcp[12] = 0x50;
	tcp[13] = 0x18;
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	for (uint32_t i = 0; i < payload; i++)
		tcp[20 + i] = (uint8_t)(i * 31u + (i >> 8));
	c = csum16(NULL, 0, pseudo(ip, 20 + payload));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	return 54 + payload;
}

/*
 * tcp_segment() - check one captured/received TCP/IPv4 segment and copy its
 * payload into @seen at its sequence offset.  @full: checksums complete.
 *
 * Return: payload bytes, or 0 if it is not one of ours.
 */
static uint32_t tcp_segment(const uint8_t *fr, size_t n, const char *dip, uint8_t *seen,
			    bool full)
{
	const uint8_t *sip = fr + 14, *stcp;
	uint32_t iplen, seq, plen, thl;

	if (n < 54 || fr[12] != 0x08 || fr[13] != 0 || sip[9] != 6 || memcmp(sip + 16, dip, 4))
		return 0;
	CHECK(n <= 1514);
	iplen = (uint32_t)(sip[2] << 8 | sip[3]);
	CHECK(iplen + 14 == (uint32_t)n);
	CHECK(csum16(sip, 20, 0) == 0xffff); /* IPv4 header checksum */
	stcp = sip + 20;
	thl = (uint32_t)(stcp[12] >> 4) * 4;
	if (full)
		CHECK(csum16(stcp, iplen - 20, pseudo(sip, iplen - 20)) == 0xffff);
	seq = (uint32_t)stcp[4] << 24 | (uint32_t)stcp[5] << 16 | (uint32_t)stcp[6] << 8 | stcp[7];
	plen = iplen - 20 - thl;
	CHECK(plen <= MSS);
	CHECK(seq >= 1000 && seq - 1000 + plen <= TSO_PAYLOAD);
	memcpy(seen + (seq - 1000), stcp + thl, plen);
	return plen;
}

/* Guest TX of a 64 KiB TSO frame: segments must leave through vhint1. */
static void check_tso(struct env *e, struct guest *g)
{
	static uint8_t f[14 + 40 + TSO_PAYLOAD], seen[TSO_PAYLOAD];
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .hdr_len = 54,
			     .gso_size = MSS,
			     .csum_start = 34,
			     .csum_offset = 16 };
	uint32_t total = 0, segs = 0;
	size_t len = tcp_frame(f, e->mac, (const uint8_t *)"\x52\x54\x00\x00\x00\x02",
			       "\x0a\x63\x01\x02", "\x0a\x63\x02\x02", TSO_PAYLOAD);

	drain(e->pkt2);
	memset(seen, 0, sizeof(seen));
	guest_tx(g, &h, f, len);
	while (total < TSO_PAYLOAD) {
		ssize_t n = capture(e->pkt2, true, 0x0800, capbuf, sizeof(capbuf), 1000);
		uint32_t p;

		if (n < 0)
			break;
		p = tcp_segment(capbuf, (size_t)n, "\x0a\x63\x02\x02", seen, true);
		total += p;
		segs += p != 0;
	}
	printf("# TX TSO: %u-byte TCP payload left the namespace as %u segments\n", total,
	       segs);
	CHECK(total == TSO_PAYLOAD);
	CHECK(segs == (TSO_PAYLOAD + MSS - 1) / MSS);
	CHECK(memcmp(seen, f + 54, TSO_PAYLOAD) == 0);
}

/*
 * The kernel sends a 64 KiB TCP GSO frame out of vhint0 (AF_PACKET with a
 * virtio header).  With GUEST_TSO4 the guest must get it whole (TCPV4,
 * NEEDS_CSUM, across mergeable buffers or one big buffer); without it, as
 * MTU-sized segments with complete checksums and flags 0.
 */
static void check_rx_gso(struct env *e, struct guest *g)
{
	static uint8_t f[NET_HDR_LEGACY + 14 + 40 + TSO_PAYLOAD], got[70000], seen[TSO_PAYLOAD];
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = e->ifindex,
				  .sll_halen = 6 };
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .hdr_len = 54,
			     .gso_size = MSS,
			     .csum_start = 34,
			     .csum_offset = 16 };
	bool tso = g->dev.acked & F(GUEST_TSO4);
	uint32_t total = 0, segs = 0;
	uint8_t *fr = f + NET_HDR_LEGACY;
	size_t len = tcp_frame(fr, (const uint8_t *)"\x52\x54\x00\x00\x00\x02", e->mac,
			       "\x0a\x63\x01\x01", "\x0a\x63\x01\x02", TSO_PAYLOAD);

	net_hdr_store(f, NET_HDR_LEGACY, &h);
	memcpy(sa.sll_addr, fr, 6);
	memset(seen, 0, sizeof(seen));
	CHECK(sendto(e->pkt_gso, f, NET_HDR_LEGACY + len, 0, (struct sockaddr *)&sa, sizeof(sa)) ==
	      (ssize_t)(NET_HDR_LEGACY + len));
	while (total < TSO_PAYLOAD) {
		struct net_hdr gh;
		ssize_t n = guest_rx_wait(e, g, got, sizeof(got), &gh);

		if (n < 0)
			break;
		check_rx_hdr(g, &gh, (size_t)n);
		if (tso && (size_t)n == len) {
			CHECK(gh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4);
			CHECK(gh.gso_size == MSS);
			CHECK(gh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
			CHECK(memcmp(got, fr, 34) == 0);
			CHECK(memcmp(got + 54, fr + 54, TSO_PAYLOAD) == 0);
			memcpy(seen, got + 54, TSO_PAYLOAD);
			total = TSO_PAYLOAD;
			segs = 1;
			break;
		}
		CHECK(gh.gso_type == 0);
		{
			uint32_t p = tcp_segment(got, (size_t)n, "\x0a\x63\x01\x02", seen,
						 !(gh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));

			total += p;
			segs += p != 0;
		}
	}
	printf("# RX %s: %u-byte TCP payload reached the guest as %u packet(s)\n",
	       tso ? "GUEST_TSO4" : "no offload", total, segs);
	CHECK(total == TSO_PAYLOAD);
	CHECK(segs == (tso ? 1 : (TSO_PAYLOAD + MSS - 1) / MSS));
	CHECK(memcmp(seen, fr + 54, TSO_PAYLOAD) == 0);
}

/*
 * Link down (seed 002, issue "link down handled"): TX chains still come back
 * (the kernel refuses the write: a counted backend drop), RX keeps its
 * buffers and just finds nothing to read; after link up traffic flows.
 */
static void check_link_down(struct env *e, struct guest *g)
{
	struct vnet_qp *qp = &g->dev.qp[0];
	uint64_t drops = qp->stats.tx.drops[NET_DROP_BACKEND], pkts = qp->stats.tx.packets;
	size_t hs = g->dev.hdr_size;
	uint64_t a = alloc(g, hs + 60);
	struct drvsim_buf b = { a, (uint32_t)(hs + 60), false };
	uint8_t f[60] = { 0 };
	uint32_t id, ulen;
	int head;

	test_frame(f, 60, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 9);
	CHECK(drvsim_fill(g->ds, a, 0, hs) == 0);
	CHECK(drvsim_write(g->ds, a + hs, f, 60) == 0);
	CHECK(sh("ip link set vhint0 down") == 0);
	head = add(g, 1, &b, 1);
	CHECK(net_tx_run(qp, 64) == 1);
	CHECK(used(g, 1, &id, &ulen) && id == (uint32_t)head && ulen == 0);
	CHECK(qp->stats.tx.drops[NET_DROP_BACKEND] == drops + 1 && qp->tx_err == EIO);
	CHECK(qp->stats.tx.packets == pkts);
	CHECK(net_rx_run(qp, 64) >= 0);
	CHECK(qp->rx_wait == NET_WAIT_BACKEND_IN);
	CHECK(!used(g, 0, &id, &ulen));
	CHECK(sh("ip link set vhint0 up") == 0);
	check_tx(e, g, 60, 10);
	check_rx(e, g, 60, 11);
}

static void scenario(struct env *e, bool packed, bool mrg, bool offloads)
{
	struct vnet_params p = { .mac = { 0x52, 0x54, 0, 0, 0, 2 }, .mtu = 1500, .max_pairs = 1 };
	struct net_backend *bep = &e->be;
	struct guest *g = calloc(1, sizeof(*g));
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);

	snprintf(scen, sizeof(scen), "%s mrg=%d offloads=%d", packed ? "packed" : "split", mrg,
		 offloads);
	CHECK(g);
	g->packed = packed;
	if (packed)
		f |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (mrg)
		f |= F(MRG_RXBUF);
	if (offloads)
		f |= F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(GUEST_TSO4) |
		     F(GUEST_TSO6);
	g->ds = drvsim_new_flat(RAM_GPA, RAM_SIZE);
	CHECK(g->ds);
	CHECK(vnet_init(&g->dev, &p, &bep) == 0);
	CHECK((vnet_features(&g->dev) & f) == f);
	CHECK(vnet_set_features(&g->dev, f) == 0);
	ring(g, 0, f);
	ring(g, 1, f);
	/* RX buffers as Linux posts them: 2 KiB mergeable buffers, or without
	 * MRG_RXBUF one buffer for the largest packet the guest accepts */
	rx_len = (mrg || !offloads) ? 2048 : 12 + NET_MAX_FRAME;
	for (unsigned i = 0; i < 64; i++)
		rx_post(g, alloc(g, rx_len));

	check_tx(e, g, 60, 1);
	check_tx(e, g, 1514, 2);
	check_rx(e, g, 60, 3);
	check_rx(e, g, 1514, 4);
	if (offloads)
		check_tso(e, g);
	check_rx_gso(e, g);
	check_link_down(e, g);

	CHECK(vnet_queue_stop(&g->dev, 0, NULL) == 0);
	CHECK(vnet_queue_stop(&g->dev, 1, NULL) == 0);
	vnet_destroy(&g->dev);
	drvsim_split_free(g->rxs);
	drvsim_split_free(g->txs);
	drvsim_packed_free(g->rxp);
	drvsim_packed_free(g->txp);
	drvsim_free(g->ds);
	free(g);
	printf("ok - %s\n", scen);
}

static int child(void)
{
	struct env e;
	unsigned n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	if (unshare(CLONE_NEWNET))
		return SKIP;
	alarm(90); /* bounded even if something blocks */
	snprintf(scen, sizeof(scen), "setup");
	memset(&e, 0, sizeof(e));
	env_setup(&e);
	for (int packed = 0; packed < 2; packed++)
		for (int mrg = 0; mrg < 2; mrg++)
			for (int off = 0; off < 2; off++, n++)
				scenario(&e, packed, mrg, off);
	net_be_close(&e.be);
	net_be_close(&e.be2);
	printf("%u passed, 0 failed\n", n);
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct stat st;
	int status;
	pid_t pid;

	if (geteuid() != 0 || stat("/dev/net/tun", &st)) {
		printf("# SKIP: needs root and /dev/net/tun\n");
		return SKIP;
	}
	if (system("ip -V >/dev/null 2>&1") != 0) {
		printf("# SKIP: needs iproute2\n");
		return SKIP;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(child());
	/* the namespace dies with the child: nothing to clean up here */
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "FAIL: child killed by signal %d\n", WTERMSIG(status));
		return 1;
	}
	if (WEXITSTATUS(status) == SKIP)
		printf("# SKIP: network namespaces not permitted\n");
	return WEXITSTATUS(status);
}
