// SPDX-License-Identifier: Apache-2.0
/*
 * gmem.c - guest memory region table.
 *
 * Theory of operation
 * -------------------
 * The table is a small array sorted by guest-physical base.  Installation
 * validates every region (size > 0, no wrap of any of its three ranges, no
 * overlap with another region in GPA or frontend VA space) so lookups may
 * assume a consistent table.  Lookups never form gpa + len: a range
 * [gpa, gpa + len) lies in region r iff
 *
 *	gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len
 *
 * which cannot overflow.  Tables are tiny (a handful of regions for real
 * guests), so a linear scan beats anything cleverer.
 */
#include "core/gmem.h"

#include <errno.h>
#include <string.h>

void gmem_init(struct gmem *gm)
{
	gm->nr = 0;
	gm->log = NULL;
	gm->log_size = 0;
}

/* Does [base, base + size) wrap past 2^64?  (size > 0) */
static int range_wraps(uint64_t base, uint64_t size)
{
	return base > UINT64_MAX - (size - 1);
}

/* Do [a, a + as) and [b, b + bs) intersect?  (sizes > 0, no wrap) */
static int ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a <= b + (bs - 1) && b <= a + (as - 1);
}

int gmem_install(struct gmem *gm, const struct gmem_region *in, unsigned n)
{
	struct gmem_region tmp[GMEM_MAX_REGIONS];

	if (n > GMEM_MAX_REGIONS)
		return -E2BIG;

	for (unsigned i = 0; i < n; i++) {
		const struct gmem_region *r = &in[i];

		if (r->size == 0 || r->hva == NULL)
			return -EINVAL;
		if (range_wraps(r->gpa, r->size) || range_wraps(r->uaddr, r->size) ||
		    range_wraps((uint64_t)(uintptr_t)r->hva, r->size))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++) {
			if (ranges_overlap(r->gpa, r->size, in[j].gpa, in[j].size) ||
			    ranges_overlap(r->uaddr, r->size, in[j].uaddr, in[j].size))
				return -EINVAL;
		}
	}

	/* insertion sort by gpa: n <= 32 */
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;

		while (j > 0 && tmp[j - 1].gpa > in[i].gpa) {
			tmp[j] = tmp[j - 1];
			j--;
		}
		tmp[j] = in[i];
	}
	memcpy(gm->r, tmp, n * sizeof(tmp[0]));
	gm->nr = n;
	return 0;
}

/* Region holding [gpa, gpa + len), len >= 1, or NULL. */
static const struct gmem_region *find(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gmem_region *r = &gm->r[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r;
	}
	return NULL;
}

void *gmem_translate(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	const struct gmem_region *r = find(gm, gpa, len ? len : 1);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

int gmem_uaddr_to_gpa(const struct gmem *gm, uint64_t uaddr, uint64_t len, uint64_t *gpa)
{
	if (len == 0)
		len = 1;
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gmem_region *r = &gm->r[i];

		if (uaddr >= r->uaddr && len <= r->size && uaddr - r->uaddr <= r->size - len) {
			*gpa = r->gpa + (uaddr - r->uaddr);
			return 0;
		}
	}
	return -EFAULT;
}

/*
 * Region containing byte @gpa; *@avail gets the bytes from @gpa to its end.
 */
static const struct gmem_region *find_byte(const struct gmem *gm, uint64_t gpa,
					   uint64_t *avail)
{
	const struct gmem_region *r = find(gm, gpa, 1);

	if (r)
		*avail = r->size - (gpa - r->gpa);
	return r;
}

int gmem_map_iov(const struct gmem *gm, uint64_t gpa, uint64_t len, struct iovec *iov,
		 unsigned cap, unsigned *n)
{
	unsigned k = 0;

	if (len == 0 || range_wraps(gpa, len))
		return -EFAULT;

	while (len) {
		uint64_t avail, chunk;
		const struct gmem_region *r = find_byte(gm, gpa, &avail);

		if (!r)
			return -EFAULT;
		if (k == cap)
			return -E2BIG;
		chunk = len < avail ? len : avail;
		iov[k].iov_base = r->hva + (gpa - r->gpa);
		iov[k].iov_len = chunk;
		k++;
		gpa += chunk; /* cannot wrap: checked above */
		len -= chunk;
	}
	*n = k;
	return 0;
}

int gmem_check(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	if (len == 0 || range_wraps(gpa, len))
		return -EFAULT;
	for (;;) {
		uint64_t avail;

		if (!find_byte(gm, gpa, &avail))
			return -EFAULT;
		if (avail >= len)
			return 0;
		gpa += avail;
		len -= avail;
	}
}

/*
 * Copy between host and a guest range that may span adjacent regions.
 * Validates the whole range before copying anything.
 */
static int copy_guest(const struct gmem *gm, uint64_t gpa, void *host, size_t len, int to_guest)
{
	uint64_t at, left;
	char *h = host;

	if (len == 0)
		return 0;
	if (gmem_check(gm, gpa, len))
		return -EFAULT;

	for (at = gpa, left = len; left;) {
		uint64_t avail, chunk;
		const struct gmem_region *r = find_byte(gm, at, &avail);
		uint8_t *p;

		if (!r) /* cannot happen: the table is immutable and was checked */
			return -EFAULT;
		p = r->hva + (at - r->gpa);

		chunk = left < avail ? left : avail;
		if (to_guest)
			memcpy(p, h, chunk);
		else
			memcpy(h, p, chunk);
		h += chunk;
		at += chunk;
		left -= chunk;
	}
	return 0;
}

int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len)
{
	return copy_guest(gm, gpa, dst, len, 0);
}

int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len)
{
	return copy_guest(gm, gpa, (void *)src, len, 1);
}

/* 4 KiB dirty-log pages (vhost-user VHOST_LOG_PAGE). */
#define LOG_PAGE_SHIFT 12

void gmem_set_log(struct gmem *gm, uint8_t *log, uint64_t size)
{
	gm->log = size ? log : NULL;
	gm->log_size = log ? size : 0;
}

void gmem_log_gpa(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t page, last, nbits;

	if (!gm->log || len == 0)
		return;
	nbits = gm->log_size * 8;
	page = gpa >> LOG_PAGE_SHIFT;
	last = range_wraps(gpa, len) ? UINT64_MAX >> LOG_PAGE_SHIFT
				     : (gpa + (len - 1)) >> LOG_PAGE_SHIFT;
	for (; page <= last && page < nbits; page++)
		__atomic_fetch_or(&gm->log[page / 8], (uint8_t)(1u << (page % 8)),
				  __ATOMIC_RELAXED);
}

void gmem_log_hva(const struct gmem *gm, const void *hva, uint64_t len)
{
	uintptr_t h = (uintptr_t)hva;

	if (!gm->log || len == 0)
		return;
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gmem_region *r = &gm->r[i];
		uintptr_t base = (uintptr_t)r->hva;

		if (h >= base && h - base < r->size) {
			uint64_t off = h - base;

			gmem_log_gpa(gm, r->gpa + off, len < r->size - off ? len : r->size - off);
			return;
		}
	}
}
