/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz_net_int.h - what the files of the net device engine share: fz_net.c
 * (checked calls, write oracle, notifications, queue start / stop, control
 * queue, set-up, op loop), fz_net_tx.c (TX oracle), fz_net_rx.c (RX oracle,
 * fake TAP faults) and fz_net_post.c (building chains).  Harness-internal.
 */
#ifndef VHOSTILE_FUZZ_FZ_NET_INT_H
#define VHOSTILE_FUZZ_FZ_NET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/virtq.h"
#include "fuzz/fz_net.h"
#include "net/backend.h"
#include "net/net_hdr.h"
#include "net/vnet.h"

#define RING_END ((size_t)FZ_NR__COUNT * FZ_NET_RING_BLOCK)
/* Scratch and generation buffers: one frame (header + NET_MAX_FRAME) and slack;
 * kept under the sanitizer allocator's mmap threshold. */
#define SCRATCH (80u * 1024u)

static inline size_t hdr_size(const struct fz_net *n)
{
	size_t h = n->dev.qp ? n->dev.qp[0].hdr_size : 0;

	return h ? h : NET_HDR_LEGACY; /* 0 until features are set */
}

static inline struct vnet_qp *qp0(struct fz_net *n)
{
	return &n->dev.qp[0];
}

/* fz_net.c: the write oracle after a call on @q (NULL: any queue); @bufs:
 * it may write buffers, not only ring areas */
void fz_net_post_diff(struct fz_net *n, const struct fz_nq *q, bool bufs, const char *what);
/* fz_net.c: reading chains out of guest memory */
size_t fz_net_chain_read(struct fz_net *n, const struct fz_nchain *c, bool write, size_t from,
			 uint8_t *dst, size_t len);
/* fz_net.c: notifications */
bool fz_net_took_signal(int fd);
void fz_net_check_signal(struct fz_net *n, struct fz_nq *q, unsigned npub, uint16_t u0,
			 uint16_t u1, const char *what);
void fz_net_check_armed(struct fz_net *n, struct fz_nq *q, struct vq *vq, const char *what);

/* fz_net_tx.c: end of a session */
void fz_net_tx_reconcile(struct fz_net *n);

/* fz_net_rx.c: the fake TAP's read faults (FZ_NET_MISC_FAULTS), end of a session */
ssize_t fz_net_fault_readv(struct net_backend *be, const struct iovec *iov, unsigned cnt);
void fz_net_op_fault(struct fz_net *n);
void fz_net_rx_reconcile(struct fz_net *n);

#endif /* VHOSTILE_FUZZ_FZ_NET_INT_H */
