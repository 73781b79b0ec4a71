/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tap.h - TAP queue backend (and its socket twin for tests).
 *
 * One fd per queue pair: the TAP is created IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR | IFF_MULTI_QUEUE, every further tap_open() with the same name
 * attaches one more queue.  All fds are non-blocking and close-on-exec.
 */
#ifndef VHOSTILE_NET_TAP_H
#define VHOSTILE_NET_TAP_H

#include "core/compiler.h"
#include "net/backend.h"

/**
 * tap_open() - open (or attach one more queue to) a TAP interface.
 * @be: backend to fill
 * @name: interface name, or "" / a pattern with %d for a kernel-chosen name
 *
 * Sets the header size to 12 and little-endian headers, then probes which
 * TUNSETOFFLOAD combinations the kernel accepts (@be->offloads and
 * @be->offload_refused) and leaves offloads off until set_features.
 * #syscalls: open ioctl(TUNSETIFF TUNSETVNETHDRSZ TUNSETVNETLE TUNSETOFFLOAD)
 *
 * Return: 0, or -errno (-ENAMETOOLONG, -ENOENT without /dev/net/tun, -EPERM, ...).
 */
VH_MUST_CHECK int tap_open(struct net_backend *be, const char *name);

/**
 * tap_adopt() - use a TAP queue fd opened by someone else.
 * @be: backend to fill
 * @fd: TAP fd; owned by @be on success (closed by net_be_close)
 *
 * The fd must be a TAP with IFF_NO_PI and IFF_VNET_HDR (TUNGETIFF); it is
 * switched to non-blocking, then probed like tap_open().
 *
 * Return: 0, -ENOTTY (not a TAP), -EINVAL (wrong flags), or -errno.
 */
VH_MUST_CHECK int tap_adopt(struct net_backend *be, int fd);

/**
 * tap_adopt_socket() - datagram fd standing in for a TAP (tests, fuzzing).
 * @be: backend to fill
 * @fd: e.g. one end of socketpair(AF_UNIX, SOCK_SEQPACKET); owned on success
 * @offloads: NET_OFF_* to pretend the "kernel" accepted
 *
 * Same read/write code as the TAP; the TAP ioctls are no-ops.
 *
 * Return: 0 or -errno.
 */
VH_MUST_CHECK int tap_adopt_socket(struct net_backend *be, int fd, unsigned offloads);

/**
 * tap_offload_names() - human-readable list of NET_OFF_* bits.
 * @off: mask
 * @buf: output
 * @len: its size
 *
 * Return: @buf.
 */
const char *tap_offload_names(unsigned off, char *buf, size_t len);

#endif /* VHOSTILE_NET_TAP_H */
