/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend.h - where frames go: a small ops table (bhyve net_backends.c).
 *
 * Theory of operation
 * -------------------
 * A backend moves whole frames, each prefixed by a virtio-net header of the
 * negotiated size.  One backend instance serves one queue pair and is used by
 * that pair's worker only.  Three implementations:
 *
 *  - tap (net/tap.c): a TAP queue fd with IFF_VNET_HDR; the product;
 *  - sock (net/tap.c): any already-open datagram fd, e.g. a SOCK_SEQPACKET
 *    socketpair, driven by the very same read/write code as the TAP but with
 *    the TAP ioctls as no-ops (tests, fuzzing);
 *  - null (net/null.c): swallows TX, never produces RX (benchmarks).
 *
 * readv/writev return a byte count or a negative errno; -EAGAIN is the
 * distinct "try again when the fd polls ready" value, 0 from readv is EOF.
 */
#ifndef VHOSTILE_NET_BACKEND_H
#define VHOSTILE_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/compiler.h"

/* Offloads the backend may hand us (TUNSETOFFLOAD); values equal TUN_F_*. */
#define NET_OFF_CSUM 0x01u
#define NET_OFF_TSO4 0x02u
#define NET_OFF_TSO6 0x04u
#define NET_OFF_ECN 0x08u
#define NET_OFF_UFO 0x10u
#define NET_OFF_ALL (NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6 | NET_OFF_ECN | NET_OFF_UFO)

/* Most iovecs one readv/writev takes (Linux UIO_MAXIOV). */
#define NET_BE_IOV_MAX 1024u

struct net_backend;

/**
 * struct net_backend_ops - what a backend implements.
 * @name: short name for logs
 * @writev: send one frame (header + data); bytes written or -errno
 *          (-EAGAIN: full, retry when writable)
 * @readv: receive one frame into @iov; bytes, 0 on EOF, or -errno
 *         (-EAGAIN: nothing queued)
 * @set_vnet_hdr_len: header size in front of each frame; 0 or -errno
 * @set_offload: NET_OFF_* the receiver accepts; 0 or -errno
 * @close: release the backend's resources (may be NULL)
 *
 * The data-path functions must not allocate.
 */
struct net_backend_ops {
	const char *name;
	ssize_t (*writev)(struct net_backend *be, const struct iovec *iov, unsigned n);
	ssize_t (*readv)(struct net_backend *be, const struct iovec *iov, unsigned n);
	int (*set_vnet_hdr_len)(struct net_backend *be, unsigned len);
	int (*set_offload)(struct net_backend *be, unsigned off);
	void (*close)(struct net_backend *be);
};

/**
 * struct net_backend - one queue's backend.
 * @ops: implementation
 * @fd: fd to poll (EPOLLIN for RX, EPOLLOUT after -EAGAIN on TX), -1 if none
 * @offloads: NET_OFF_* the backend accepted when probed
 * @offload_refused: NET_OFF_* it was asked about and refused
 * @vnet_hdr_len: header size currently set
 * @ifname: interface name (tap), or empty
 * @priv: implementation data
 */
struct net_backend {
	const struct net_backend_ops *ops;
	int fd;
	unsigned offloads;
	unsigned offload_refused;
	unsigned vnet_hdr_len;
	char ifname[16];
	void *priv;
};

/**
 * net_be_writev() - send one frame through @be.
 * @be: backend
 * @iov: header then data
 * @n: count (<= NET_BE_IOV_MAX)
 *
 * Return: bytes or -errno.
 */
static inline ssize_t net_be_writev(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	return be->ops->writev(be, iov, n);
}

/**
 * net_be_readv() - receive one frame from @be.
 * @be: backend
 * @iov: destination (header first)
 * @n: count (<= NET_BE_IOV_MAX)
 *
 * Return: bytes, 0 on EOF, or -errno.
 */
static inline ssize_t net_be_readv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	return be->ops->readv(be, iov, n);
}

/**
 * net_be_set_vnet_hdr_len() - set the header size of @be.
 * @be: backend
 * @len: 10 or 12
 *
 * Return: 0 or -errno.
 */
VH_MUST_CHECK int net_be_set_vnet_hdr_len(struct net_backend *be, unsigned len);

/**
 * net_be_set_offload() - tell @be which offloads the guest accepts.
 * @be: backend
 * @off: NET_OFF_* mask
 *
 * Return: 0 or -errno.
 */
VH_MUST_CHECK int net_be_set_offload(struct net_backend *be, unsigned off);

/**
 * net_be_close() - release @be (fd closed if owned); safe on a closed backend.
 * @be: backend
 */
void net_be_close(struct net_backend *be);

/**
 * net_null_init() - backend that discards TX and never has RX.
 * @be: backend to fill
 *
 * Accepts every offload and header size; fd is -1.
 */
void net_null_init(struct net_backend *be);

#endif /* VHOSTILE_NET_BACKEND_H */
