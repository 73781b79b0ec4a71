/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iov.h - bounded copies between iovec lists and flat host buffers.
 *
 * The iovecs usually point into guest memory (from gmem_map_iov / vq_pop); a
 * copy out of them is the single fetch that callers then validate.
 */
#ifndef VHOSTILE_CORE_IOV_H
#define VHOSTILE_CORE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/**
 * iov_size() - total bytes of @n iovecs.
 * @iov: array
 * @n: count
 *
 * Return: sum of lengths (callers built @iov with a bounded total).
 */
size_t iov_size(const struct iovec *iov, unsigned n);

/**
 * iov_to_buf() - copy up to @len bytes starting @off bytes into @iov.
 * @iov: source array
 * @n: count
 * @off: byte offset into the list
 * @buf: destination
 * @len: bytes wanted
 *
 * Return: bytes copied (less than @len if the list is shorter).
 */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);

/**
 * iov_from_buf() - copy @len bytes from @buf into @iov starting at @off.
 * @iov: destination array
 * @n: count
 * @off: byte offset into the list
 * @buf: source
 * @len: bytes to copy
 *
 * Return: bytes copied (less than @len if the list is shorter).
 */
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf,
		    size_t len);

/**
 * iov_slice() - view of [@off, @off + @len) of @src as a new iovec list.
 * @src: source array
 * @n: count
 * @off: start offset
 * @len: bytes
 * @dst: output array (no aliasing with @src)
 * @cap: its capacity
 *
 * Return: number of iovecs written; the slice is shorter than @len if @src
 * ends or @cap is reached first (check with iov_size).
 */
unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
		   struct iovec *dst, unsigned cap);

#endif /* VHOSTILE_CORE_IOV_H */
