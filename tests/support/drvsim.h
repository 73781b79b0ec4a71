/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drvsim.h - guest-driver simulator for tests and benchmarks.
 *
 * Theory of operation
 * -------------------
 * Guest RAM is one memfd mapped into this process.  Each guest region gets its
 * own page-rounded chunk of that mapping, followed by a PROT_NONE guard page,
 * and the region is placed as close to the end of its chunk as alignment
 * allows, so a device that reads past the end of a region faults instead of
 * silently reading a neighbour.  The host address of a region is congruent to
 * its guest-physical address modulo 64, so naturally aligned guest fields are
 * naturally aligned host fields.  The same memfd can be mapped a second time
 * without guard pages (drvsim_alias()): a hostile "guest" thread writes
 * through that mapping while the device reads through the first one.
 *
 * On top of the memory sit two drivers, one per ring format, that behave like
 * the Linux virtio driver (free list of descriptors, buffer ids, wrap
 * counters, release stores before publishing) and also expose raw writes of
 * every ring field for hostile tests.  Driver state lives on the host side;
 * the simulator never trusts what the device wrote except through the
 * documented used-ring read helpers.
 *
 * The simulator is test-side code: it allocates during set-up, never in the
 * add / publish / get-used paths (benchmarks and the no-allocation test rely
 * on that), and has no cmocka dependency.
 */
#ifndef VHOSTILE_TESTS_SUPPORT_DRVSIM_H
#define VHOSTILE_TESTS_SUPPORT_DRVSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gmem.h"
#include "core/virtio_spec.h"
#include "core/virtq.h"

/* Frontend VA base the simulator reports for region 0 (regions follow). */
#define DRVSIM_UADDR_BASE 0x7e0000000000ULL

struct drvsim_region_spec {
	uint64_t gpa;
	uint64_t size; /* > 0 */
};

struct drvsim {
	int memfd;
	uint8_t *map;    /* device mapping, guard pages PROT_NONE */
	uint8_t *alias;  /* second mapping of the same memfd, or NULL */
	size_t map_len;
	unsigned nr;
	struct gmem_region reg[GMEM_MAX_REGIONS]; /* input order */
	size_t off[GMEM_MAX_REGIONS];             /* memfd offset of each region */
	struct gmem gm;                           /* installed table */
	/* bump allocator for drvsim_alloc() */
	unsigned alloc_reg;
	uint64_t alloc_off;
};

/* One buffer of a chain, as the driver describes it. */
struct drvsim_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* ---- guest memory ------------------------------------------------------ */

/**
 * drvsim_new() - create guest RAM with the given regions and install a gmem.
 * @spec: regions (any order, must be valid for gmem_install)
 * @n: number of regions (<= GMEM_MAX_REGIONS)
 *
 * Return: simulator, or NULL (bad layout, gmem_install refused, no memory).
 */
struct drvsim *drvsim_new(const struct drvsim_region_spec *spec, unsigned n);

/**
 * drvsim_new_flat() - one region.
 * @gpa: its guest-physical base
 * @size: its size
 *
 * Return: simulator or NULL.
 */
struct drvsim *drvsim_new_flat(uint64_t gpa, uint64_t size);

/**
 * drvsim_new_holes() - @n equal regions separated by unmapped GPA holes.
 * @gpa: base of region 0
 * @n: number of regions
 * @size: size of each region
 * @hole: bytes of unmapped guest-physical space between two regions
 *
 * Return: simulator or NULL.
 */
struct drvsim *drvsim_new_holes(uint64_t gpa, unsigned n, uint64_t size, uint64_t hole);

/**
 * drvsim_new_tiny() - a ring region followed by many adjacent tiny regions.
 * @gpa: base of the ring region
 * @ring_size: size of the ring region
 * @ntiny: number of tiny regions (at most GMEM_MAX_REGIONS - 1)
 * @tiny_size: size of each tiny region
 *
 * The tiny regions start right after the ring region with no GPA gap, so a
 * buffer in them crosses a region boundary every @tiny_size bytes and needs
 * one iovec per region.  drvsim_tiny_base() gives the first tiny GPA.
 *
 * Return: simulator or NULL.
 */
struct drvsim *drvsim_new_tiny(uint64_t gpa, uint64_t ring_size, unsigned ntiny,
			       uint64_t tiny_size);

/**
 * drvsim_free() - unmap guest RAM and free the simulator.
 * @ds: simulator or NULL
 */
void drvsim_free(struct drvsim *ds);

/* Guest-physical base / size of region @i, in creation order. */
uint64_t drvsim_region_gpa(const struct drvsim *ds, unsigned i);
uint64_t drvsim_region_size(const struct drvsim *ds, unsigned i);

/**
 * drvsim_hva() - the simulator's own translation (an oracle independent of gmem).
 * @ds: simulator
 * @gpa: guest-physical address
 * @len: bytes (0 treated as 1) that must lie in one region
 *
 * Return: host pointer in the device mapping, or NULL.
 */
void *drvsim_hva(const struct drvsim *ds, uint64_t gpa, uint64_t len);

/**
 * drvsim_alias() - host pointer in the second (guard-less) mapping.
 * @ds: simulator
 * @gpa: guest-physical address
 * @len: bytes that must lie in one region
 *
 * Maps the memfd a second time on first use (set-up time; allocates).
 *
 * Return: pointer, or NULL.
 */
void *drvsim_alias(struct drvsim *ds, uint64_t gpa, uint64_t len);

/**
 * drvsim_hva_in_ram() - does [@p, @p + @len) lie inside one region's host range?
 * @ds: simulator
 * @p: host pointer
 * @len: bytes (0 allowed: then @p itself must be inside or at a region's end)
 *
 * Return: true if so.
 */
bool drvsim_hva_in_ram(const struct drvsim *ds, const void *p, size_t len);

/**
 * drvsim_write() - copy into guest memory, across adjacent regions.
 * @ds: simulator
 * @gpa: destination
 * @src: source
 * @len: bytes
 *
 * Return: 0, or -EFAULT if any byte is unmapped (then nothing is written).
 */
int drvsim_write(struct drvsim *ds, uint64_t gpa, const void *src, size_t len);

/**
 * drvsim_read() - copy out of guest memory, across adjacent regions.
 * @ds: simulator
 * @gpa: source
 * @dst: destination
 * @len: bytes
 *
 * Return: 0 or -EFAULT.
 */
int drvsim_read(const struct drvsim *ds, uint64_t gpa, void *dst, size_t len);

/**
 * drvsim_fill() - memset guest memory, across adjacent regions.
 * @ds: simulator
 * @gpa: destination
 * @byte: value
 * @len: bytes
 *
 * Return: 0 or -EFAULT.
 */
int drvsim_fill(struct drvsim *ds, uint64_t gpa, int byte, size_t len);

/**
 * drvsim_alloc() - bump-allocate guest memory that lies inside one region.
 * @ds: simulator
 * @len: bytes (> 0)
 * @align: power of two
 *
 * Allocates from the regions in creation order; never frees.  Use
 * drvsim_alloc_reset() to start over.
 *
 * Return: guest-physical address, or UINT64_MAX when nothing fits.
 */
uint64_t drvsim_alloc(struct drvsim *ds, uint64_t len, uint64_t align);

/**
 * drvsim_alloc_from() - continue bump allocation at @gpa.
 * @ds: simulator
 * @gpa: next allocation starts at or after this address (must be mapped)
 *
 * Return: 0 or -EFAULT.
 */
int drvsim_alloc_from(struct drvsim *ds, uint64_t gpa);

/* ---- split ring driver ------------------------------------------------- */

struct drvsim_split {
	struct drvsim *ds;
	uint16_t size;
	uint16_t mask;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;  /* driver shadow: next avail idx to publish */
	uint16_t last_used;  /* next used index to consume */
	uint16_t free_head;
	uint16_t num_free;
	uint16_t *link;      /* host copy of each descriptor's next (free list, chains) */
	uint16_t *chain_len; /* per head: descriptors to release, 0 = not ours */
};

/**
 * drvsim_split_layout() - standard ring placement from @base.
 * @size: queue size
 * @base: 16-aligned guest-physical base
 * @desc: descriptor table address (= @base)
 * @avail: avail ring address
 * @used: used ring address (4-aligned)
 *
 * Return: bytes from @base to the end of the used ring (event field included).
 */
uint64_t drvsim_split_layout(uint16_t size, uint64_t base, uint64_t *desc, uint64_t *avail,
			     uint64_t *used);

/**
 * drvsim_split_new() - zero and initialise a split ring in guest memory.
 * @ds: simulator
 * @size: queue size (any value; the device decides what it accepts)
 * @desc: descriptor table GPA
 * @avail: avail ring GPA
 * @used: used ring GPA
 * @start_idx: initial avail->idx and used->idx (e.g. 65530 to test wrap)
 *
 * Return: driver, or NULL if a ring area is not mapped.
 */
struct drvsim_split *drvsim_split_new(struct drvsim *ds, uint16_t size, uint64_t desc,
				      uint64_t avail, uint64_t used, uint16_t start_idx);

void drvsim_split_free(struct drvsim_split *q);

/**
 * drvsim_split_cfg() - a vq_cfg that matches the driver's ring.
 * @q: driver
 * @cfg: filled: fmt, size, addresses, @features, base.avail_idx = the driver's
 *       next avail index, call_fd and err_fd -1
 * @features: negotiated features
 */
void drvsim_split_cfg(const struct drvsim_split *q, struct vq_cfg *cfg, uint64_t features);

/**
 * drvsim_split_stage() - write a chain into free descriptors and the avail ring.
 * @q: driver
 * @bufs: buffers, readable ones first (not enforced: hostile tests may not)
 * @n: number of buffers (>= 1)
 *
 * avail->idx is not updated: call drvsim_split_publish().
 *
 * Return: head index, -EINVAL for @n 0, -ENOSPC without enough descriptors.
 */
int drvsim_split_stage(struct drvsim_split *q, const struct drvsim_buf *bufs, unsigned n);

/**
 * drvsim_split_stage_indirect() - chain of direct descriptors then one indirect.
 * @q: driver
 * @direct: direct buffers placed before the indirect descriptor (may be NULL)
 * @ndirect: their count
 * @ind: buffers written into the indirect table (entries chained by next)
 * @nind: their count (>= 1)
 * @table: guest-physical address of the table (16 * @nind bytes)
 *
 * Return: head index, or -errno.
 */
int drvsim_split_stage_indirect(struct drvsim_split *q, const struct drvsim_buf *direct,
				unsigned ndirect, const struct drvsim_buf *ind, unsigned nind,
				uint64_t table);

/* Store avail->idx = shadow with release semantics. */
void drvsim_split_publish(struct drvsim_split *q);

/* drvsim_split_stage() + drvsim_split_publish(). */
int drvsim_split_add(struct drvsim_split *q, const struct drvsim_buf *bufs, unsigned n);

/* drvsim_split_stage_indirect() + drvsim_split_publish(). */
int drvsim_split_add_indirect(struct drvsim_split *q, const struct drvsim_buf *direct,
			      unsigned ndirect, const struct drvsim_buf *ind, unsigned nind,
			      uint64_t table);

/* Raw descriptor write (hostile tests); does not touch the free list. */
void drvsim_split_set_desc(struct drvsim_split *q, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next);

/* Raw: avail->ring[shadow & mask] = @head, shadow++, publish. */
void drvsim_split_post_head(struct drvsim_split *q, uint16_t head);

/* Raw: avail->ring[@slot] = @head (no masking: @slot < size). */
void drvsim_split_set_avail_ring(struct drvsim_split *q, uint16_t slot, uint16_t head);

/* Raw: avail->idx = @idx (release) and the shadow follows. */
void drvsim_split_set_avail_idx(struct drvsim_split *q, uint16_t idx);

void drvsim_split_set_avail_flags(struct drvsim_split *q, uint16_t flags);
void drvsim_split_set_used_event(struct drvsim_split *q, uint16_t v);
uint16_t drvsim_split_avail_event(const struct drvsim_split *q);
uint16_t drvsim_split_used_flags(const struct drvsim_split *q);
/* Raw: used->flags = @v (to detect device writes with a sentinel). */
void drvsim_split_set_used_flags(struct drvsim_split *q, uint16_t v);
/* used->idx, acquire. */
uint16_t drvsim_split_used_idx(const struct drvsim_split *q);
/* Raw: used->idx = @v (only before vq_start). */
void drvsim_split_set_used_idx(struct drvsim_split *q, uint16_t v);

/**
 * drvsim_split_used_elem() - raw used ring entry.
 * @q: driver
 * @idx: free-running used index (masked here)
 * @id: element id
 * @len: element len
 */
void drvsim_split_used_elem(const struct drvsim_split *q, uint16_t idx, uint32_t *id,
			    uint32_t *len);

/**
 * drvsim_split_get_used() - consume the next used element, like a driver.
 * @q: driver
 * @id: element id
 * @len: element len
 *
 * Releases the chain's descriptors to the free list if the head was added
 * through this driver and is in range.
 *
 * Return: true if an element was consumed, false if none is published.
 */
bool drvsim_split_get_used(struct drvsim_split *q, uint32_t *id, uint32_t *len);

/* ---- packed ring driver ------------------------------------------------ */

struct drvsim_packed {
	struct drvsim *ds;
	uint16_t size;
	uint64_t ring_gpa, drv_gpa, dev_gpa;
	struct vring_packed_desc *desc;
	struct vring_packed_event *driver;  /* driver event suppression (we write) */
	struct vring_packed_event *device;  /* device event suppression (device writes) */
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
	uint16_t num_free;   /* free slots */
	uint16_t nfree_ids;
	uint16_t *free_ids;  /* stack of free buffer ids */
	uint16_t *id_slots;  /* per id: slots of its chain, 0 = not ours */
};

/**
 * drvsim_packed_layout() - standard placement: ring, driver event, device event.
 * @size: queue size
 * @base: 16-aligned base
 * @ring: descriptor ring GPA (= @base)
 * @drv: driver event suppression GPA
 * @dev: device event suppression GPA
 *
 * Return: total bytes.
 */
uint64_t drvsim_packed_layout(uint16_t size, uint64_t base, uint64_t *ring, uint64_t *drv,
			      uint64_t *dev);

/**
 * drvsim_packed_new() - zero a packed ring and set up the driver (wrap 1).
 * @ds: simulator
 * @size: queue size
 * @ring: descriptor ring GPA
 * @drv: driver event suppression GPA
 * @dev: device event suppression GPA
 *
 * Return: driver or NULL.
 */
struct drvsim_packed *drvsim_packed_new(struct drvsim *ds, uint16_t size, uint64_t ring,
					uint64_t drv, uint64_t dev);

void drvsim_packed_free(struct drvsim_packed *q);

/* vq_cfg for the ring; base = driver's current positions (0/1/0/1 fresh). */
void drvsim_packed_cfg(const struct drvsim_packed *q, struct vq_cfg *cfg, uint64_t features);

/* AVAIL/USED bits that make a descriptor available for wrap counter @wrap. */
static inline uint16_t drvsim_packed_avail_bits(bool wrap)
{
	return wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
}

/**
 * drvsim_packed_add() - make a chain available (head flags written last).
 * @q: driver
 * @bufs: buffers
 * @n: count (>= 1)
 *
 * Return: buffer id, -EINVAL, or -ENOSPC (no slots or ids).
 */
int drvsim_packed_add(struct drvsim_packed *q, const struct drvsim_buf *bufs, unsigned n);

/**
 * drvsim_packed_add_id() - like drvsim_packed_add() with a caller-chosen id.
 * @q: driver
 * @bufs: buffers
 * @n: count
 * @id: buffer id written into every descriptor (not taken from the id pool)
 *
 * Return: @id or -errno.
 */
int drvsim_packed_add_id(struct drvsim_packed *q, const struct drvsim_buf *bufs, unsigned n,
			 uint16_t id);

/**
 * drvsim_packed_add_raw() - make @n hostile descriptors available as one chain.
 * @q: driver
 * @d: descriptors; addr, len, id and flags are written as given, except that
 *     the AVAIL/USED bits for the slot's wrap counter are or-ed into flags.
 *     NEXT is NOT added: the caller decides how the chain is linked.
 * @n: count (>= 1, <= free slots)
 *
 * The head slot's flags are written last.  The driver remembers the chain as
 * @n slots under the last descriptor's id (never returned to the id pool).
 *
 * Return: the last descriptor's id, or -errno.
 */
int drvsim_packed_add_raw(struct drvsim_packed *q, const struct vring_packed_desc *d,
			  unsigned n);

/**
 * drvsim_packed_add_indirect() - one INDIRECT descriptor whose table holds @bufs.
 * @q: driver
 * @bufs: table entries (sequential, no NEXT)
 * @n: count
 * @table: table GPA
 *
 * Return: buffer id or -errno.
 */
int drvsim_packed_add_indirect(struct drvsim_packed *q, const struct drvsim_buf *bufs,
			       unsigned n, uint64_t table);

/**
 * drvsim_packed_set_desc() - raw descriptor write; @flags stored last (release).
 * @q: driver
 * @slot: ring slot (< size)
 * @addr: buffer address
 * @len: buffer length
 * @id: buffer id
 * @flags: complete flags, AVAIL/USED bits included
 */
void drvsim_packed_set_desc(struct drvsim_packed *q, uint16_t slot, uint64_t addr,
			    uint32_t len, uint16_t id, uint16_t flags);

/* Raw descriptor read (e.g. to inspect a used descriptor). */
void drvsim_packed_read_desc(const struct drvsim_packed *q, uint16_t slot,
			     struct vring_packed_desc *out);

/**
 * drvsim_packed_get_used() - consume the next used descriptor, like a driver.
 * @q: driver
 * @id: buffer id
 * @len: written length
 *
 * A slot is used iff its AVAIL and USED bits both equal the driver's used wrap
 * counter.  The driver then skips the slots of that id's chain (1 for ids it
 * did not add).
 *
 * Return: true if a used descriptor was consumed.
 */
bool drvsim_packed_get_used(struct drvsim_packed *q, uint16_t *id, uint32_t *len);

void drvsim_packed_set_driver_event(struct drvsim_packed *q, uint16_t flags, uint16_t off_wrap);
void drvsim_packed_device_event(const struct drvsim_packed *q, uint16_t *flags,
				uint16_t *off_wrap);
/* Raw write of the device area (to detect device writes with a sentinel). */
void drvsim_packed_set_device_event(struct drvsim_packed *q, uint16_t flags, uint16_t off_wrap);

/* ---- indirect tables --------------------------------------------------- */

/**
 * drvsim_write_table_split() - write a split indirect table (entries chained by next).
 * @ds: simulator
 * @table: GPA (may span adjacent regions)
 * @bufs: entries
 * @n: count
 *
 * Return: 0 or -EFAULT.
 */
int drvsim_write_table_split(struct drvsim *ds, uint64_t table, const struct drvsim_buf *bufs,
			     unsigned n);

/* Same for a packed table: sequential entries, flags WRITE only. */
int drvsim_write_table_packed(struct drvsim *ds, uint64_t table, const struct drvsim_buf *bufs,
			      unsigned n);

/**
 * drvsim_write_desc() - write one raw 16-byte split descriptor anywhere.
 * @ds: simulator
 * @gpa: where (e.g. an indirect table entry)
 * @addr: buffer address
 * @len: length
 * @flags: flags
 * @next: next index
 *
 * Return: 0 or -EFAULT.
 */
int drvsim_write_desc(struct drvsim *ds, uint64_t gpa, uint64_t addr, uint32_t len,
		      uint16_t flags, uint16_t next);

/**
 * drvsim_write_pdesc() - write one raw 16-byte packed descriptor anywhere.
 * @ds: simulator
 * @gpa: where (e.g. a packed indirect table entry)
 * @addr: buffer address
 * @len: length
 * @id: buffer id
 * @flags: flags
 *
 * Return: 0 or -EFAULT.
 */
int drvsim_write_pdesc(struct drvsim *ds, uint64_t gpa, uint64_t addr, uint32_t len,
		       uint16_t id, uint16_t flags);

#endif /* VHOSTILE_TESTS_SUPPORT_DRVSIM_H */
