/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gmem.h - the one door to guest memory.
 *
 * Guest memory is a table of regions, each a contiguous guest-physical range
 * backed by a host mapping.  The table is validated when installed and
 * immutable afterwards; whoever installed it keeps it alive while any queue
 * uses it (the vhost-user layer stops queues before replacing it).
 *
 * Every guest-supplied (address, length) pair is checked without computing
 * address + length, so no 64-bit sum can wrap.
 */
#ifndef VHOSTILE_CORE_GMEM_H
#define VHOSTILE_CORE_GMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"

/* vhost-user VHOST_USER_GET_MAX_MEM_SLOTS answer; QEMU uses up to 509 but 32
 * is what the common frontends configure for virtio-net guests. */
#define GMEM_MAX_REGIONS 32

struct gmem_region {
	uint64_t gpa;   /* guest-physical base */
	uint64_t size;  /* bytes, > 0 */
	uint64_t uaddr; /* frontend (VMM) virtual base, for vring addresses */
	uint8_t *hva;   /* host mapping of the first byte */
};

struct gmem {
	unsigned nr;
	struct gmem_region r[GMEM_MAX_REGIONS]; /* sorted by gpa, disjoint */
	/* Dirty log for live migration (vhost-user SET_LOG_BASE): one bit per
	 * VHOST_LOG_PAGE of guest-physical space; NULL when not logging. */
	uint8_t *log;
	uint64_t log_size; /* bytes */
};

/**
 * gmem_init() - empty table (every translation fails).
 * @gm: table
 */
void gmem_init(struct gmem *gm);

/**
 * gmem_install() - validate @n regions and install them into @gm.
 * @gm: table to fill; unchanged on error
 * @in: regions in any order
 * @n: number of regions
 *
 * Guarantees after success: every region has size > 0; neither its GPA range,
 * frontend VA range nor host range wraps 2^64; no two GPA ranges overlap and no
 * two frontend VA ranges overlap.
 *
 * Return: 0, -E2BIG if @n > GMEM_MAX_REGIONS, -EINVAL on any violation.
 */
VH_MUST_CHECK int gmem_install(struct gmem *gm, const struct gmem_region *in, unsigned n);

/**
 * gmem_translate() - host pointer for [@gpa, @gpa + @len) inside one region.
 * @gm: table
 * @gpa: guest-physical address
 * @len: length in bytes; 0 is treated as 1 (the address itself must be mapped)
 *
 * Return: host pointer, or NULL if the range is not wholly inside one region.
 */
void *gmem_translate(const struct gmem *gm, uint64_t gpa, uint64_t len);

/**
 * gmem_uaddr_to_gpa() - map a frontend virtual range onto guest-physical.
 * @gm: table
 * @uaddr: frontend virtual address (vhost-user SET_VRING_ADDR)
 * @len: length; the whole range must lie in one region
 * @gpa: result
 *
 * Return: 0, or -EFAULT.
 */
VH_MUST_CHECK int gmem_uaddr_to_gpa(const struct gmem *gm, uint64_t uaddr, uint64_t len,
				    uint64_t *gpa);

/**
 * gmem_check() - is [@gpa, @gpa + @len) mapped, possibly across adjacent regions?
 * @gm: table
 * @gpa: guest-physical start
 * @len: length, > 0
 *
 * Return: 0, or -EFAULT (gap, unmapped, wrap or @len 0).
 */
VH_MUST_CHECK int gmem_check(const struct gmem *gm, uint64_t gpa, uint64_t len);

/**
 * gmem_map_iov() - describe [@gpa, @gpa + @len) as host iovecs.
 * @gm: table
 * @gpa: guest-physical start
 * @len: length, > 0
 * @iov: output array
 * @cap: capacity of @iov
 * @n: number of iovecs written (on success)
 *
 * A range crossing region boundaries is split, one iovec per region; a gap
 * between regions fails.  The capacity is checked before every iovec is
 * written, inside the split loop.
 *
 * Return: 0, -EFAULT (unmapped part or address wrap), -E2BIG (@cap too small).
 */
VH_MUST_CHECK int gmem_map_iov(const struct gmem *gm, uint64_t gpa, uint64_t len,
			       struct iovec *iov, unsigned cap, unsigned *n);

/**
 * gmem_read() - copy guest memory into host memory, once.
 * @gm: table
 * @gpa: guest-physical start (may span regions without gaps)
 * @dst: host destination
 * @len: bytes
 *
 * The copy is what the caller validates and uses; guest memory is not read
 * again, so later guest writes cannot change a decision (no double fetch).
 *
 * Return: 0 or -EFAULT (nothing meaningful in @dst).
 */
VH_MUST_CHECK int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len);

/**
 * gmem_write() - copy host memory into guest memory.
 * @gm: table
 * @gpa: guest-physical start (may span regions without gaps)
 * @src: source
 * @len: bytes
 *
 * Return: 0 or -EFAULT (nothing written).
 */
VH_MUST_CHECK int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len);

/**
 * gmem_set_log() - start (or with @log NULL stop) dirty logging.
 * @gm: table
 * @log: bitmap, bit N = guest page N (4 KiB); shared with the frontend
 * @size: bitmap size in bytes
 */
void gmem_set_log(struct gmem *gm, uint8_t *log, uint64_t size);

/**
 * gmem_log_gpa() - mark [@gpa, @gpa + @len) dirty (no-op when not logging).
 * @gm: table
 * @gpa: guest-physical start
 * @len: bytes
 *
 * Pages beyond the bitmap are ignored: the frontend sized it; we never write
 * outside it.
 */
void gmem_log_gpa(const struct gmem *gm, uint64_t gpa, uint64_t len);

/**
 * gmem_log_hva() - mark the guest pages behind a host range dirty.
 * @gm: table
 * @hva: host address inside one region (as produced by gmem_map_iov)
 * @len: bytes
 */
void gmem_log_hva(const struct gmem *gm, const void *hva, uint64_t len);

static inline int gmem_logging(const struct gmem *gm)
{
	return gm->log != NULL;
}

#endif /* VHOSTILE_CORE_GMEM_H */
