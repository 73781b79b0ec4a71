// SPDX-License-Identifier: Apache-2.0
/*
 * tap.c - TAP queue backend and its socket twin.
 *
 * Theory of operation
 * -------------------
 * A TAP opened with IFF_VNET_HDR prefixes every frame with a virtio-net
 * header of the size set by TUNSETVNETHDRSZ, in the byte order set by
 * TUNSETVNETLE, so the guest's header (after sanitising) can be written in
 * front of the frame with one writev, and the kernel's header lands in the
 * guest's buffer with one readv.  Each read or write moves exactly one frame.
 *
 * TUNSETOFFLOAD says what the kernel may hand us: TUN_F_CSUM (partial
 * checksums), TUN_F_TSO4/6 and TUN_F_TSO_ECN (TCP super-frames), TUN_F_UFO.
 * The kernel rejects combinations it does not know with -EINVAL, which is how
 * a feature is probed; what it refuses is never offered to the guest.
 *
 * The socket twin runs the same readv/writev and error mapping over any
 * datagram fd; its ioctls do nothing.  That is the tests' fake TAP.
 *
 * Error mapping (seed 002): EAGAIN/EWOULDBLOCK -> -EAGAIN (the caller keeps
 * its descriptors and polls); a read of 0 -> EOF; EINTR is retried once;
 * anything else is passed up as -errno for the caller to count.
 */
#include "net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

_Static_assert(NET_OFF_CSUM == TUN_F_CSUM, "TUN_F_CSUM");
_Static_assert(NET_OFF_TSO4 == TUN_F_TSO4, "TUN_F_TSO4");
_Static_assert(NET_OFF_TSO6 == TUN_F_TSO6, "TUN_F_TSO6");
_Static_assert(NET_OFF_ECN == TUN_F_TSO_ECN, "TUN_F_TSO_ECN");
_Static_assert(NET_OFF_UFO == TUN_F_UFO, "TUN_F_UFO");

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

static ssize_t fd_writev(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	ssize_t r = writev(be->fd, iov, (int)n);

	if (r < 0 && errno == EINTR)
		r = writev(be->fd, iov, (int)n);
	if (r >= 0)
		return r;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static ssize_t fd_readv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	ssize_t r = readv(be->fd, iov, (int)n);

	if (r < 0 && errno == EINTR)
		r = readv(be->fd, iov, (int)n);
	if (r >= 0)
		return r;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int tap_set_vnet_hdr_len(struct net_backend *be, unsigned len)
{
	int v = (int)len;

	return ioctl(be->fd, TUNSETVNETHDRSZ, &v) ? -errno : 0;
}

static int tap_set_offload(struct net_backend *be, unsigned off)
{
	return ioctl(be->fd, TUNSETOFFLOAD, (unsigned long)off) ? -errno : 0;
}

static void fd_close(struct net_backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
}

static const struct net_backend_ops tap_ops = {
	.name = "tap",
	.writev = fd_writev,
	.readv = fd_readv,
	.set_vnet_hdr_len = tap_set_vnet_hdr_len,
	.set_offload = tap_set_offload,
	.close = fd_close,
};

static const struct net_backend_ops sock_ops = {
	.name = "sock",
	.writev = fd_writev,
	.readv = fd_readv,
	.close = fd_close,
};

const char *tap_offload_names(unsigned off, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ NET_OFF_CSUM, "csum" }, { NET_OFF_TSO4, "tso4" }, { NET_OFF_TSO6, "tso6" },
		{ NET_OFF_ECN, "ecn" },   { NET_OFF_UFO, "ufo" },
	};
	size_t pos = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < VH_ARRAY_SIZE(names); i++) {
		int w;

		if (!(off & names[i].bit))
			continue;
		w = snprintf(buf + pos, len - pos, "%s%s", pos ? "," : "", names[i].name);
		if (w < 0 || (size_t)w >= len - pos)
			break;
		pos += (size_t)w;
	}
	if (pos == 0)
		snprintf(buf, len, "none");
	return buf;
}

/*
 * probe_offloads() - which TUNSETOFFLOAD combinations does the kernel take?
 *
 * TSO and ECN are only meaningful on top of CSUM (the kernel ignores TSO bits
 * without TUN_F_CSUM and then fails on the leftover bits), so each is tried
 * in its smallest valid combination.  Offloads end up disabled.
 */
static void probe_offloads(struct net_backend *be)
{
	static const struct {
		unsigned bit, combo;
	} tries[] = {
		{ NET_OFF_CSUM, NET_OFF_CSUM },
		{ NET_OFF_TSO4, NET_OFF_CSUM | NET_OFF_TSO4 },
		{ NET_OFF_TSO6, NET_OFF_CSUM | NET_OFF_TSO6 },
		{ NET_OFF_ECN, NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_ECN },
		{ NET_OFF_UFO, NET_OFF_CSUM | NET_OFF_UFO },
	};

	be->offloads = 0;
	be->offload_refused = 0;
	for (size_t i = 0; i < VH_ARRAY_SIZE(tries); i++) {
		if ((tries[i].combo & ~tries[i].bit & ~be->offloads) == 0 &&
		    tap_set_offload(be, tries[i].combo) == 0)
			be->offloads |= tries[i].bit;
		else
			be->offload_refused |= tries[i].bit;
	}
	(void)tap_set_offload(be, 0);
}

/* Common tail of open/adopt: non-blocking, LE headers, 12-byte header, probe. */
static int tap_setup(struct net_backend *be)
{
	int one = 1, fl, r;

	fl = fcntl(be->fd, F_GETFL);
	if (fl < 0 || fcntl(be->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	/* Little-endian headers (virtio 1.x).  Native on little-endian hosts,
	 * where an old kernel without the ioctl is fine too. */
	if (ioctl(be->fd, TUNSETVNETLE, &one) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
		return -errno;
	r = tap_set_vnet_hdr_len(be, 12);
	if (r)
		return r;
	be->vnet_hdr_len = 12;
	probe_offloads(be);
	return 0;
}

int tap_open(struct net_backend *be, const char *name)
{
	struct ifreq ifr;
	int fd, r;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	memset(be, 0, sizeof(*be));
	be->fd = -1;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = TAP_FLAGS;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		r = -errno;
		close(fd);
		return r;
	}
	be->ops = &tap_ops;
	be->fd = fd;
	memcpy(be->ifname, ifr.ifr_name, sizeof(be->ifname) - 1);
	r = tap_setup(be);
	if (r)
		net_be_close(be);
	return r;
}

int tap_adopt(struct net_backend *be, int fd)
{
	struct ifreq ifr;
	int r;

	memset(be, 0, sizeof(*be));
	be->fd = -1;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr))
		return errno == EBADFD || errno == EINVAL ? -ENOTTY : -errno;
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI) ||
	    !(ifr.ifr_flags & IFF_VNET_HDR))
		return -EINVAL;
	be->ops = &tap_ops;
	be->fd = fd;
	memcpy(be->ifname, ifr.ifr_name, sizeof(be->ifname) - 1);
	r = tap_setup(be);
	if (r) {
		/* Not ours yet: the caller still owns @fd on failure. */
		be->fd = -1;
		be->ops = NULL;
	}
	return r;
}

int tap_adopt_socket(struct net_backend *be, int fd, unsigned offloads)
{
	int fl;

	memset(be, 0, sizeof(*be));
	be->fd = -1;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	be->ops = &sock_ops;
	be->fd = fd;
	be->offloads = offloads & NET_OFF_ALL;
	be->offload_refused = NET_OFF_ALL & ~be->offloads;
	be->vnet_hdr_len = 12;
	return 0;
}
