// SPDX-License-Identifier: Apache-2.0
/*
 * iov.c - bounded copies between iovec lists and flat buffers.
 */
#include "core/iov.h"

#include <string.h>

size_t iov_size(const struct iovec *iov, unsigned n)
{
	size_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += iov[i].iov_len;
	return sum;
}

/* Find the iovec holding byte @off; @skip gets the offset inside it. */
static unsigned iov_seek(const struct iovec *iov, unsigned n, size_t off, size_t *skip)
{
	unsigned i = 0;

	while (i < n && off >= iov[i].iov_len) {
		off -= iov[i].iov_len;
		i++;
	}
	*skip = off;
	return i;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	size_t skip, done = 0;
	unsigned i = iov_seek(iov, n, off, &skip);

	for (; i < n && done < len; i++, skip = 0) {
		size_t chunk = iov[i].iov_len - skip;

		if (chunk > len - done)
			chunk = len - done;
		memcpy((char *)buf + done, (const char *)iov[i].iov_base + skip, chunk);
		done += chunk;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf,
		    size_t len)
{
	size_t skip, done = 0;
	unsigned i = iov_seek(iov, n, off, &skip);

	for (; i < n && done < len; i++, skip = 0) {
		size_t chunk = iov[i].iov_len - skip;

		if (chunk > len - done)
			chunk = len - done;
		memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done, chunk);
		done += chunk;
	}
	return done;
}

unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
		   struct iovec *dst, unsigned cap)
{
	size_t skip, done = 0;
	unsigned out = 0, i = iov_seek(src, n, off, &skip);

	for (; i < n && done < len && out < cap; i++, skip = 0) {
		size_t chunk = src[i].iov_len - skip;

		if (chunk == 0)
			continue;
		if (chunk > len - done)
			chunk = len - done;
		dst[out].iov_base = (char *)src[i].iov_base + skip;
		dst[out].iov_len = chunk;
		out++;
		done += chunk;
	}
	return out;
}
