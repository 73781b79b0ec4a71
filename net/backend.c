// SPDX-License-Identifier: Apache-2.0
/*
 * backend.c - backend-independent wrappers and the null backend.
 *
 * Theory of operation
 * -------------------
 * The null backend exists so benchmarks measure the ring and header work
 * alone: TX frames are accepted whole and forgotten, RX never has anything
 * (-EAGAIN), so a worker using it never busy-loops on RX.
 */
#include "net/backend.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int net_be_set_vnet_hdr_len(struct net_backend *be, unsigned len)
{
	int r = be->ops->set_vnet_hdr_len ? be->ops->set_vnet_hdr_len(be, len) : 0;

	if (r == 0)
		be->vnet_hdr_len = len;
	return r;
}

int net_be_set_offload(struct net_backend *be, unsigned off)
{
	if (off & ~be->offloads)
		return -EOPNOTSUPP;
	return be->ops->set_offload ? be->ops->set_offload(be, off) : 0;
}

void net_be_close(struct net_backend *be)
{
	if (be->ops && be->ops->close)
		be->ops->close(be);
	else if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
	be->ops = NULL;
}

/* null: every frame is "sent" in full. */
static ssize_t null_writev(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	size_t sum = 0;

	(void)be;
	for (unsigned i = 0; i < n; i++)
		sum += iov[i].iov_len;
	return (ssize_t)sum;
}

static ssize_t null_readv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	(void)be;
	(void)iov;
	(void)n;
	return -EAGAIN;
}

static void null_close(struct net_backend *be)
{
	(void)be;
}

static const struct net_backend_ops null_ops = {
	.name = "null",
	.writev = null_writev,
	.readv = null_readv,
	.close = null_close,
};

void net_null_init(struct net_backend *be)
{
	memset(be, 0, sizeof(*be));
	be->ops = &null_ops;
	be->fd = -1;
	be->offloads = NET_OFF_ALL;
}
