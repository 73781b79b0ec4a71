// SPDX-License-Identifier: Apache-2.0
/*
 * drvsim.c - guest-driver simulator (see drvsim.h for the theory of operation).
 */
#include "tests/support/drvsim.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Region host addresses are congruent to their GPA modulo this. */
#define DRVSIM_HVA_ALIGN 64ULL

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* [gpa, gpa + len) inside @r, written without gpa + len (len >= 1). */
static bool in_region(const struct gmem_region *r, uint64_t gpa, uint64_t len)
{
	return gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len;
}

/* Region holding byte @gpa, or NULL; *@left = bytes from @gpa to its end. */
static const struct gmem_region *region_of(const struct drvsim *ds, uint64_t gpa,
					   uint64_t *left)
{
	for (unsigned i = 0; i < ds->nr; i++) {
		const struct gmem_region *r = &ds->reg[i];

		if (in_region(r, gpa, 1)) {
			*left = r->size - (gpa - r->gpa);
			return r;
		}
	}
	return NULL;
}

struct drvsim *drvsim_new(const struct drvsim_region_spec *spec, unsigned n)
{
	size_t pg = page_size(), total = 0, chunk[GMEM_MAX_REGIONS];
	struct drvsim *ds;

	if (n == 0 || n > GMEM_MAX_REGIONS)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		if (spec[i].size == 0 || spec[i].size > (1ULL << 40))
			return NULL;
		chunk[i] = round_up(spec[i].size + DRVSIM_HVA_ALIGN, pg);
		total += chunk[i] + pg; /* + guard page */
	}

	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return NULL;
	ds->memfd = memfd_create("drvsim", MFD_CLOEXEC);
	if (ds->memfd < 0)
		goto fail_free;
	if (ftruncate(ds->memfd, (off_t)total))
		goto fail_fd;
	ds->map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       ds->memfd, 0);
	if (ds->map == MAP_FAILED)
		goto fail_fd;
	ds->map_len = total;
	ds->nr = n;

	for (size_t i = 0, off = 0; i < n; i++) {
		uint64_t size = spec[i].size, s;

		/* As close to the guard page as GPA-congruent alignment allows. */
		s = ((chunk[i] - size) & ~(DRVSIM_HVA_ALIGN - 1)) +
		    (spec[i].gpa & (DRVSIM_HVA_ALIGN - 1));
		if (s + size > chunk[i])
			s -= DRVSIM_HVA_ALIGN;
		ds->off[i] = off + s;
		ds->reg[i].gpa = spec[i].gpa;
		ds->reg[i].size = size;
		ds->reg[i].uaddr = DRVSIM_UADDR_BASE + ds->off[i];
		ds->reg[i].hva = ds->map + ds->off[i];
		if (mprotect(ds->map + off + chunk[i], pg, PROT_NONE))
			goto fail_map;
		off += chunk[i] + pg;
	}
	if (gmem_install(&ds->gm, ds->reg, n))
		goto fail_map;
	return ds;

fail_map:
	munmap(ds->map, ds->map_len);
fail_fd:
	close(ds->memfd);
fail_free:
	free(ds);
	return NULL;
}

struct drvsim *drvsim_new_flat(uint64_t gpa, uint64_t size)
{
	struct drvsim_region_spec s = { .gpa = gpa, .size = size };

	return drvsim_new(&s, 1);
}

struct drvsim *drvsim_new_holes(uint64_t gpa, unsigned n, uint64_t size, uint64_t hole)
{
	struct drvsim_region_spec s[GMEM_MAX_REGIONS];

	if (n == 0 || n > GMEM_MAX_REGIONS)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		s[i].gpa = gpa + i * (size + hole);
		s[i].size = size;
	}
	return drvsim_new(s, n);
}

struct drvsim *drvsim_new_tiny(uint64_t gpa, uint64_t ring_size, unsigned ntiny,
			       uint64_t tiny_size)
{
	struct drvsim_region_spec s[GMEM_MAX_REGIONS];

	if (ntiny + 1 > GMEM_MAX_REGIONS)
		return NULL;
	s[0].gpa = gpa;
	s[0].size = ring_size;
	for (unsigned i = 0; i < ntiny; i++) {
		s[i + 1].gpa = gpa + ring_size + i * tiny_size;
		s[i + 1].size = tiny_size;
	}
	return drvsim_new(s, ntiny + 1);
}

void drvsim_free(struct drvsim *ds)
{
	if (!ds)
		return;
	if (ds->alias)
		munmap(ds->alias, ds->map_len);
	munmap(ds->map, ds->map_len);
	close(ds->memfd);
	free(ds);
}

uint64_t drvsim_region_gpa(const struct drvsim *ds, unsigned i)
{
	return i < ds->nr ? ds->reg[i].gpa : UINT64_MAX;
}

uint64_t drvsim_region_size(const struct drvsim *ds, unsigned i)
{
	return i < ds->nr ? ds->reg[i].size : 0;
}

void *drvsim_hva(const struct drvsim *ds, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned i = 0; i < ds->nr; i++) {
		const struct gmem_region *r = &ds->reg[i];

		if (in_region(r, gpa, len))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

void *drvsim_alias(struct drvsim *ds, uint64_t gpa, uint64_t len)
{
	uint8_t *p = drvsim_hva(ds, gpa, len);

	if (!p)
		return NULL;
	if (!ds->alias) {
		void *m = mmap(NULL, ds->map_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_NORESERVE, ds->memfd, 0);

		if (m == MAP_FAILED)
			return NULL;
		ds->alias = m;
	}
	return ds->alias + (p - ds->map);
}

bool drvsim_hva_in_ram(const struct drvsim *ds, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < ds->nr; i++) {
		uintptr_t b = (uintptr_t)ds->reg[i].hva;

		if (a >= b && len <= ds->reg[i].size && a - b <= ds->reg[i].size - len)
			return true;
	}
	return false;
}

/* Is every byte of [gpa, gpa + len) mapped (adjacent regions allowed)? */
static bool range_mapped(const struct drvsim *ds, uint64_t gpa, uint64_t len)
{
	while (len) {
		uint64_t left;

		if (!region_of(ds, gpa, &left))
			return false;
		if (left >= len)
			return true;
		gpa += left;
		len -= left;
	}
	return true;
}

/* Walk [gpa, gpa + len) region by region; @op 0 read, 1 write, 2 fill. */
static int guest_copy(const struct drvsim *ds, uint64_t gpa, void *buf, size_t len, int op,
		      int byte)
{
	uint8_t *h = buf;

	if (!range_mapped(ds, gpa, len))
		return -EFAULT;
	while (len) {
		uint64_t left;
		const struct gmem_region *r = region_of(ds, gpa, &left);
		uint8_t *p = r->hva + (gpa - r->gpa);
		size_t chunk = left < len ? (size_t)left : len;

		if (op == 0)
			memcpy(h, p, chunk);
		else if (op == 1)
			memcpy(p, h, chunk);
		else
			memset(p, byte, chunk);
		if (h)
			h += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int drvsim_write(struct drvsim *ds, uint64_t gpa, const void *src, size_t len)
{
	return guest_copy(ds, gpa, (void *)src, len, 1, 0);
}

int drvsim_read(const struct drvsim *ds, uint64_t gpa, void *dst, size_t len)
{
	return guest_copy(ds, gpa, dst, len, 0, 0);
}

int drvsim_fill(struct drvsim *ds, uint64_t gpa, int byte, size_t len)
{
	return guest_copy(ds, gpa, NULL, len, 2, byte);
}

uint64_t drvsim_alloc(struct drvsim *ds, uint64_t len, uint64_t align)
{
	if (len == 0 || align == 0 || (align & (align - 1)))
		return UINT64_MAX;
	for (; ds->alloc_reg < ds->nr; ds->alloc_reg++, ds->alloc_off = 0) {
		const struct gmem_region *r = &ds->reg[ds->alloc_reg];
		uint64_t at = round_up(r->gpa + ds->alloc_off, align);

		if (at < r->gpa || !in_region(r, at, len))
			continue;
		ds->alloc_off = at - r->gpa + len;
		return at;
	}
	return UINT64_MAX;
}

int drvsim_alloc_from(struct drvsim *ds, uint64_t gpa)
{
	for (unsigned i = 0; i < ds->nr; i++) {
		if (in_region(&ds->reg[i], gpa, 1)) {
			ds->alloc_reg = i;
			ds->alloc_off = gpa - ds->reg[i].gpa;
			return 0;
		}
	}
	return -EFAULT;
}

/* ---- guest-field accessors ---------------------------------------------- */

static inline void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static inline void st16_release(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

static inline void st32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

static inline void st64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, htole64(v), __ATOMIC_RELAXED);
}

static inline uint16_t ld16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline uint16_t ld16_acquire(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline uint32_t ld32(const uint32_t *p)
{
	return le32toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

int drvsim_write_desc(struct drvsim *ds, uint64_t gpa, uint64_t addr, uint32_t len,
		      uint16_t flags, uint16_t next)
{
	struct vring_desc d = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	return drvsim_write(ds, gpa, &d, sizeof(d));
}

int drvsim_write_table_split(struct drvsim *ds, uint64_t table, const struct drvsim_buf *bufs,
			     unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VRING_DESC_F_NEXT : 0));

		if (drvsim_write_desc(ds, table + 16ULL * i, bufs[i].gpa, bufs[i].len, flags,
				      (uint16_t)(i + 1 < n ? i + 1 : 0)))
			return -EFAULT;
	}
	return 0;
}

int drvsim_write_pdesc(struct drvsim *ds, uint64_t gpa, uint64_t addr, uint32_t len,
		       uint16_t id, uint16_t flags)
{
	struct vring_packed_desc d = {
		.addr = htole64(addr),
		.len = htole32(len),
		.id = htole16(id),
		.flags = htole16(flags),
	};

	return drvsim_write(ds, gpa, &d, sizeof(d));
}

int drvsim_write_table_packed(struct drvsim *ds, uint64_t table, const struct drvsim_buf *bufs,
			      unsigned n)
{
	/* 2.8.19: a packed indirect table holds packed descriptors */
	for (unsigned i = 0; i < n; i++) {
		if (drvsim_write_pdesc(ds, table + 16ULL * i, bufs[i].gpa, bufs[i].len, 0,
				       bufs[i].write ? VRING_DESC_F_WRITE : 0))
			return -EFAULT;
	}
	return 0;
}

/* ---- split ring --------------------------------------------------------- */

uint64_t drvsim_split_layout(uint16_t size, uint64_t base, uint64_t *desc, uint64_t *avail,
			     uint64_t *used)
{
	*desc = base;
	*avail = base + vring_desc_bytes(size);
	*used = round_up(*avail + vring_avail_bytes(size), 4);
	return *used + vring_used_bytes(size) - base;
}

struct drvsim_split *drvsim_split_new(struct drvsim *ds, uint16_t size, uint64_t desc,
				      uint64_t avail, uint64_t used, uint16_t start_idx)
{
	struct drvsim_split *q;

	if (size == 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->link = calloc(size, sizeof(*q->link));
	q->chain_len = calloc(size, sizeof(*q->chain_len));
	q->desc = drvsim_hva(ds, desc, vring_desc_bytes(size));
	q->avail = drvsim_hva(ds, avail, vring_avail_bytes(size));
	q->used = drvsim_hva(ds, used, vring_used_bytes(size));
	if (!q->link || !q->chain_len || !q->desc || !q->avail || !q->used) {
		drvsim_split_free(q);
		return NULL;
	}
	memset(q->desc, 0, vring_desc_bytes(size));
	memset(q->avail, 0, vring_avail_bytes(size));
	memset(q->used, 0, vring_used_bytes(size));
	q->ds = ds;
	q->size = size;
	q->mask = (uint16_t)(size - 1);
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	for (unsigned i = 0; i < size; i++)
		q->link[i] = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = size;
	q->avail_idx = start_idx;
	q->last_used = start_idx;
	st16(&q->avail->idx, start_idx);
	st16(&q->used->idx, start_idx);
	return q;
}

void drvsim_split_free(struct drvsim_split *q)
{
	if (!q)
		return;
	free(q->link);
	free(q->chain_len);
	free(q);
}

void drvsim_split_cfg(const struct drvsim_split *q, struct vq_cfg *cfg, uint64_t features)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fmt = VQ_FMT_SPLIT;
	cfg->size = q->size;
	cfg->desc = q->desc_gpa;
	cfg->driver = q->avail_gpa;
	cfg->device = q->used_gpa;
	cfg->features = features;
	cfg->base.avail_idx = q->avail_idx;
	cfg->call_fd = -1;
	cfg->err_fd = -1;
}

void drvsim_split_set_desc(struct drvsim_split *q, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &q->desc[i];

	st64(&d->addr, addr);
	st32(&d->len, len);
	st16(&d->flags, flags);
	st16(&d->next, next);
}

/* Take @n descriptors from the free list; returns the head. */
static uint16_t split_take(struct drvsim_split *q, unsigned n)
{
	uint16_t head = q->free_head, i = head;

	for (unsigned k = 0; k < n; k++)
		i = q->link[i];
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free - n);
	q->chain_len[head] = (uint16_t)n;
	return head;
}

static void split_expose(struct drvsim_split *q, uint16_t head)
{
	st16(&q->avail->ring[q->avail_idx & q->mask], head);
	q->avail_idx++;
}

int drvsim_split_stage(struct drvsim_split *q, const struct drvsim_buf *bufs, unsigned n)
{
	uint16_t head, i;

	if (n == 0)
		return -EINVAL;
	if (n > q->num_free)
		return -ENOSPC;
	head = split_take(q, n);
	i = head;
	for (unsigned k = 0; k < n; k++) {
		bool last = k + 1 == n;
		uint16_t flags = (uint16_t)((bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					    (last ? 0 : VRING_DESC_F_NEXT));

		drvsim_split_set_desc(q, i, bufs[k].gpa, bufs[k].len, flags,
				      last ? 0 : q->link[i]);
		i = q->link[i];
	}
	split_expose(q, head);
	return head;
}

int drvsim_split_stage_indirect(struct drvsim_split *q, const struct drvsim_buf *direct,
				unsigned ndirect, const struct drvsim_buf *ind, unsigned nind,
				uint64_t table)
{
	uint16_t head, i;

	if (nind == 0 || nind > 0xffff / 16 + 1)
		return -EINVAL;
	if (ndirect + 1 > q->num_free)
		return -ENOSPC;
	if (drvsim_write_table_split(q->ds, table, ind, nind))
		return -EFAULT;
	head = split_take(q, ndirect + 1);
	i = head;
	for (unsigned k = 0; k < ndirect; k++) {
		uint16_t flags = (uint16_t)((direct[k].write ? VRING_DESC_F_WRITE : 0) |
					    VRING_DESC_F_NEXT);

		drvsim_split_set_desc(q, i, direct[k].gpa, direct[k].len, flags, q->link[i]);
		i = q->link[i];
	}
	drvsim_split_set_desc(q, i, table, 16U * nind, VRING_DESC_F_INDIRECT, 0);
	split_expose(q, head);
	return head;
}

void drvsim_split_publish(struct drvsim_split *q)
{
	/* Release: descriptors and ring entries before the index (2.7.13). */
	st16_release(&q->avail->idx, q->avail_idx);
}

int drvsim_split_add(struct drvsim_split *q, const struct drvsim_buf *bufs, unsigned n)
{
	int head = drvsim_split_stage(q, bufs, n);

	if (head >= 0)
		drvsim_split_publish(q);
	return head;
}

int drvsim_split_add_indirect(struct drvsim_split *q, const struct drvsim_buf *direct,
			      unsigned ndirect, const struct drvsim_buf *ind, unsigned nind,
			      uint64_t table)
{
	int head = drvsim_split_stage_indirect(q, direct, ndirect, ind, nind, table);

	if (head >= 0)
		drvsim_split_publish(q);
	return head;
}

void drvsim_split_post_head(struct drvsim_split *q, uint16_t head)
{
	split_expose(q, head);
	drvsim_split_publish(q);
}

void drvsim_split_set_avail_ring(struct drvsim_split *q, uint16_t slot, uint16_t head)
{
	st16(&q->avail->ring[slot], head);
}

void drvsim_split_set_avail_idx(struct drvsim_split *q, uint16_t idx)
{
	q->avail_idx = idx;
	drvsim_split_publish(q);
}

void drvsim_split_set_avail_flags(struct drvsim_split *q, uint16_t flags)
{
	st16(&q->avail->flags, flags);
}

void drvsim_split_set_used_event(struct drvsim_split *q, uint16_t v)
{
	st16(&q->avail->ring[q->size], v);
}

uint16_t drvsim_split_avail_event(const struct drvsim_split *q)
{
	return ld16((const uint16_t *)&q->used->ring[q->size]);
}

uint16_t drvsim_split_used_flags(const struct drvsim_split *q)
{
	return ld16(&q->used->flags);
}

void drvsim_split_set_used_flags(struct drvsim_split *q, uint16_t v)
{
	st16(&q->used->flags, v);
}

uint16_t drvsim_split_used_idx(const struct drvsim_split *q)
{
	return ld16_acquire(&q->used->idx);
}

void drvsim_split_set_used_idx(struct drvsim_split *q, uint16_t v)
{
	st16(&q->used->idx, v);
	q->last_used = v;
}

void drvsim_split_used_elem(const struct drvsim_split *q, uint16_t idx, uint32_t *id,
			    uint32_t *len)
{
	const struct vring_used_elem *e = &q->used->ring[idx & q->mask];

	*id = ld32(&e->id);
	*len = ld32(&e->len);
}

bool drvsim_split_get_used(struct drvsim_split *q, uint32_t *id, uint32_t *len)
{
	uint16_t n, i, last;

	if (drvsim_split_used_idx(q) == q->last_used)
		return false;
	drvsim_split_used_elem(q, q->last_used, id, len);
	q->last_used++;
	if (*id >= q->size || q->chain_len[*id] == 0)
		return true;

	/* Give the chain's descriptors back to the free list. */
	n = q->chain_len[*id];
	q->chain_len[*id] = 0;
	last = i = (uint16_t)*id;
	for (uint16_t k = 1; k < n; k++)
		last = q->link[last];
	q->link[last] = q->free_head;
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free + n);
	return true;
}

/* ---- packed ring -------------------------------------------------------- */

uint64_t drvsim_packed_layout(uint16_t size, uint64_t base, uint64_t *ring, uint64_t *drv,
			      uint64_t *dev)
{
	*ring = base;
	*drv = base + vring_desc_bytes(size);
	*dev = *drv + sizeof(struct vring_packed_event);
	return *dev + sizeof(struct vring_packed_event) - base;
}

struct drvsim_packed *drvsim_packed_new(struct drvsim *ds, uint16_t size, uint64_t ring,
					uint64_t drv, uint64_t dev)
{
	struct drvsim_packed *q;

	if (size == 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->free_ids = calloc(size, sizeof(*q->free_ids));
	q->id_slots = calloc(size, sizeof(*q->id_slots));
	q->desc = drvsim_hva(ds, ring, vring_desc_bytes(size));
	q->driver = drvsim_hva(ds, drv, sizeof(*q->driver));
	q->device = drvsim_hva(ds, dev, sizeof(*q->device));
	if (!q->free_ids || !q->id_slots || !q->desc || !q->driver || !q->device) {
		drvsim_packed_free(q);
		return NULL;
	}
	memset(q->desc, 0, vring_desc_bytes(size));
	memset(q->driver, 0, sizeof(*q->driver));
	memset(q->device, 0, sizeof(*q->device));
	q->ds = ds;
	q->size = size;
	q->ring_gpa = ring;
	q->drv_gpa = drv;
	q->dev_gpa = dev;
	q->avail_wrap = true;
	q->used_wrap = true;
	q->num_free = size;
	/* Stack: id 0 on top. */
	for (unsigned i = 0; i < size; i++)
		q->free_ids[i] = (uint16_t)(size - 1 - i);
	q->nfree_ids = size;
	return q;
}

void drvsim_packed_free(struct drvsim_packed *q)
{
	if (!q)
		return;
	free(q->free_ids);
	free(q->id_slots);
	free(q);
}

void drvsim_packed_cfg(const struct drvsim_packed *q, struct vq_cfg *cfg, uint64_t features)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fmt = VQ_FMT_PACKED;
	cfg->size = q->size;
	cfg->desc = q->ring_gpa;
	cfg->driver = q->drv_gpa;
	cfg->device = q->dev_gpa;
	cfg->features = features;
	cfg->base.avail_idx = q->next_avail;
	cfg->base.avail_wrap = q->avail_wrap;
	cfg->base.used_idx = q->next_used;
	cfg->base.used_wrap = q->used_wrap;
	cfg->call_fd = -1;
	cfg->err_fd = -1;
}

void drvsim_packed_set_desc(struct drvsim_packed *q, uint16_t slot, uint64_t addr,
			    uint32_t len, uint16_t id, uint16_t flags)
{
	struct vring_packed_desc *d = &q->desc[slot];

	st64(&d->addr, addr);
	st32(&d->len, len);
	st16(&d->id, id);
	st16_release(&d->flags, flags);
}

void drvsim_packed_read_desc(const struct drvsim_packed *q, uint16_t slot,
			     struct vring_packed_desc *out)
{
	const struct vring_packed_desc *d = &q->desc[slot];

	out->flags = ld16_acquire(&d->flags);
	out->addr = le64toh(__atomic_load_n(&d->addr, __ATOMIC_RELAXED));
	out->len = ld32(&d->len);
	out->id = ld16(&d->id);
}

/*
 * Write @n descriptors from the driver's next slot with buffer id @id, the
 * head's flags last (2.8.21: the first descriptor is made available last).
 * @extra is or-ed into every descriptor's flags (INDIRECT).
 */
static void packed_write_chain(struct drvsim_packed *q, const struct drvsim_buf *bufs,
			       unsigned n, uint16_t id, uint16_t extra)
{
	uint16_t head = q->next_avail, head_flags = 0;

	for (unsigned k = 0; k < n; k++) {
		uint16_t slot = q->next_avail;
		uint16_t flags = (uint16_t)(extra | drvsim_packed_avail_bits(q->avail_wrap) |
					    (bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		struct vring_packed_desc *p = &q->desc[slot];

		st64(&p->addr, bufs[k].gpa);
		st32(&p->len, bufs[k].len);
		st16(&p->id, id);
		if (k == 0)
			head_flags = flags;
		else
			st16_release(&p->flags, flags);
		if (++q->next_avail == q->size) {
			q->next_avail = 0;
			q->avail_wrap = !q->avail_wrap;
		}
	}
	st16_release(&q->desc[head].flags, head_flags);
	q->num_free = (uint16_t)(q->num_free - n);
}

/* @id < 0: take one from the pool. */
static int packed_add(struct drvsim_packed *q, const struct drvsim_buf *bufs, unsigned n,
		      int id, uint16_t extra)
{
	bool pooled = id < 0;

	if (n == 0)
		return -EINVAL;
	if (n > q->num_free)
		return -ENOSPC;
	if (pooled) {
		if (!q->nfree_ids)
			return -ENOSPC;
		id = q->free_ids[--q->nfree_ids];
	}
	if (id < q->size) {
		q->id_slots[id] = (uint16_t)n;
		if (!pooled)
			q->id_slots[id] |= 0x8000; /* not from the pool: never freed */
	}
	packed_write_chain(q, bufs, n, (uint16_t)id, extra);
	return id;
}

int drvsim_packed_add(struct drvsim_packed *q, const struct drvsim_buf *bufs, unsigned n)
{
	return packed_add(q, bufs, n, -1, 0);
}

int drvsim_packed_add_id(struct drvsim_packed *q, const struct drvsim_buf *bufs, unsigned n,
			 uint16_t id)
{
	return packed_add(q, bufs, n, id, 0);
}

int drvsim_packed_add_indirect(struct drvsim_packed *q, const struct drvsim_buf *bufs,
			       unsigned n, uint64_t table)
{
	struct drvsim_buf d = { .gpa = table, .len = 16U * n, .write = false };

	if (n == 0 || n > 0xffff / 16 + 1)
		return -EINVAL;
	if (drvsim_write_table_packed(q->ds, table, bufs, n))
		return -EFAULT;
	return packed_add(q, &d, 1, -1, VRING_DESC_F_INDIRECT);
}

int drvsim_packed_add_raw(struct drvsim_packed *q, const struct vring_packed_desc *d,
			  unsigned n)
{
	uint16_t head = q->next_avail, head_flags = 0, id;

	if (n == 0)
		return -EINVAL;
	if (n > q->num_free)
		return -ENOSPC;
	for (unsigned k = 0; k < n; k++) {
		struct vring_packed_desc *p = &q->desc[q->next_avail];
		uint16_t flags = (uint16_t)(d[k].flags | drvsim_packed_avail_bits(q->avail_wrap));

		st64(&p->addr, d[k].addr);
		st32(&p->len, d[k].len);
		st16(&p->id, d[k].id);
		if (k == 0)
			head_flags = flags;
		else
			st16_release(&p->flags, flags);
		if (++q->next_avail == q->size) {
			q->next_avail = 0;
			q->avail_wrap = !q->avail_wrap;
		}
	}
	st16_release(&q->desc[head].flags, head_flags);
	q->num_free = (uint16_t)(q->num_free - n);
	id = d[n - 1].id;
	if (id < q->size)
		q->id_slots[id] = (uint16_t)(n | 0x8000);
	return id;
}

bool drvsim_packed_get_used(struct drvsim_packed *q, uint16_t *id, uint32_t *len)
{
	const struct vring_packed_desc *p = &q->desc[q->next_used];
	uint16_t flags = ld16_acquire(&p->flags), slots = 1;
	bool avail = flags & VRING_PACKED_DESC_F_AVAIL, used = flags & VRING_PACKED_DESC_F_USED;

	if (avail != q->used_wrap || used != q->used_wrap)
		return false;
	*id = ld16(&p->id);
	*len = ld32(&p->len);
	if (*id < q->size && (q->id_slots[*id] & 0x7fff)) {
		slots = q->id_slots[*id] & 0x7fff;
		if (!(q->id_slots[*id] & 0x8000))
			q->free_ids[q->nfree_ids++] = *id;
		q->id_slots[*id] = 0;
	}
	q->num_free = (uint16_t)(q->num_free + slots);
	q->next_used = (uint16_t)(q->next_used + slots);
	if (q->next_used >= q->size) {
		q->next_used = (uint16_t)(q->next_used - q->size);
		q->used_wrap = !q->used_wrap;
	}
	return true;
}

void drvsim_packed_set_driver_event(struct drvsim_packed *q, uint16_t flags, uint16_t off_wrap)
{
	st16(&q->driver->off_wrap, off_wrap);
	st16_release(&q->driver->flags, flags);
}

void drvsim_packed_device_event(const struct drvsim_packed *q, uint16_t *flags,
				uint16_t *off_wrap)
{
	*flags = ld16_acquire(&q->device->flags);
	*off_wrap = ld16(&q->device->off_wrap);
}

void drvsim_packed_set_device_event(struct drvsim_packed *q, uint16_t flags, uint16_t off_wrap)
{
	st16(&q->device->off_wrap, off_wrap);
	st16(&q->device->flags, flags);
}
