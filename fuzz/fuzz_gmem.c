// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_gmem.c - the guest memory table (core/gmem.c) against hostile tables
 * and hostile addresses.
 *
 * Input: u8 region count (mod 34, so 33 exercises -E2BIG), then per region a
 * kind byte choosing how its size, guest-physical base and frontend VA are
 * derived (adjacent, overlapping, raw, ending exactly at 2^64, wrapping by a
 * few bytes, ...) and their operands.  Every region's host range lies inside
 * one 64 KiB arena (regions may alias each other there, as two mappings of one
 * memfd would).  Then up to G_MAX_OPS operations (op byte % 10): translate,
 * map_iov, read, write, uaddr_to_gpa, check, each with fuzz-chosen addresses
 * and lengths around the region edges and 2^64; and the dirty log:
 * set_log (u8: bits 0-1 bitmap size 0 / 1 / 64 / 512 bytes, 0x04 NULL
 * bitmap), log_gpa (address, length), log_hva (u8 host address selector:
 * inside the arena, near or just past a region's end, before the arena;
 * operand; length).  Op 9 drives core/iov.c, which copies between the
 * iovecs of translated guest ranges and flat buffers at offsets a guest header
 * can choose: u8 iovec count (% (G_IOV_LIST + 1)), per iovec u16 arena offset
 * and u8 length selector (zero-length ones included), then u8 call (to_buf,
 * from_buf, slice), offset and length selectors (around the list's end and
 * SIZE_MAX), u8 slice capacity.
 *
 * Oracle: an independent 128-bit reference over the region list decides
 * whether the table is valid (installation must agree both ways), and for
 * every operation what the answer must be, byte for byte; the dirty bitmap
 * must equal a reference bitmap after every log call (exactly the pages of
 * the range that the bitmap covers, nothing outside it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/gmem.h"
#include "core/iov.h"
#include "fuzz/fz.h"

#define G_ARENA 16384u
#define G_MAX_OPS 512u
#define G_MAX_COPY (2u * G_ARENA)
#define G_PATTERN (G_MAX_COPY + 4096u)
#define G_MAX_IOV 40u
#define G_LOG_MAX 512u /* dirty bitmap bytes: pages of the first 16 MiB */
#define G_IOV_LIST 8u  /* iovecs in an op_iov list */

typedef unsigned __int128 g_u128; /* arithmetic helper */

struct g_run {
	struct fz_in in;
	uint8_t *arena, *expect, *buf, *pattern;
	uint8_t log[G_LOG_MAX], log_ref[G_LOG_MAX];
	uint64_t log_bytes; /* reference: bitmap bytes while logging, else 0 */
	unsigned n;
	struct gmem_region r[GMEM_MAX_REGIONS + 1];
	struct gmem gm;
};

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return (g_u128)a < (g_u128)b + bs && (g_u128)b < (g_u128)a + as;
}

/* The installation rule of gmem.h, computed independently. */
static bool table_valid(const struct g_run *g)
{
	if (g->n > GMEM_MAX_REGIONS)
		return false;
	for (unsigned i = 0; i < g->n; i++) {
		const struct gmem_region *a = &g->r[i];

		if (a->size == 0 || !a->hva || (g_u128)a->gpa + a->size > ((g_u128)1 << 64) ||
		    (g_u128)a->uaddr + a->size > ((g_u128)1 << 64))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (ranges_overlap(a->gpa, a->size, g->r[j].gpa, g->r[j].size) ||
			    ranges_overlap(a->uaddr, a->size, g->r[j].uaddr, g->r[j].size))
				return false;
	}
	return true;
}

/* Region wholly containing [a, a + len) in GPA (@va false) or VA space. */
static const struct gmem_region *ref_find(const struct g_run *g, uint64_t a, uint64_t len, bool va)
{
	for (unsigned i = 0; i < g->n; i++) {
		const struct gmem_region *r = &g->r[i];
		uint64_t base = va ? r->uaddr : r->gpa;

		if (a >= base && (g_u128)a + len <= (g_u128)base + r->size)
			return r;
	}
	return NULL;
}

/*
 * Reference split of [gpa, gpa + len) into per-region pieces.  Returns the
 * number of pieces; *@gap is set if the range is not wholly mapped (the count
 * is then the pieces before the gap).
 */
static unsigned ref_pieces(const struct g_run *g, uint64_t gpa, uint64_t len, struct iovec *out,
			   unsigned cap, bool *gap)
{
	g_u128 at = gpa, end = (g_u128)gpa + len;
	unsigned k = 0;

	*gap = len == 0 || end > ((g_u128)1 << 64);
	while (!*gap && at < end) {
		const struct gmem_region *r = ref_find(g, (uint64_t)at, 1, false);
		g_u128 take;

		if (!r) {
			*gap = true;
			break;
		}
		take = ((g_u128)r->gpa + r->size < end ? (g_u128)r->gpa + r->size : end) - at;
		if (out && k < cap) {
			out[k].iov_base = r->hva + (uint64_t)(at - r->gpa);
			out[k].iov_len = (size_t)take;
		}
		k++;
		at += take;
	}
	return k;
}

static void build_region(struct g_run *g, unsigned i)
{
	struct gmem_region *r = &g->r[i], *prev = i ? &g->r[i - 1] : NULL;
	uint8_t kind = fz_u8(&g->in);
	uint32_t off = fz_u16(&g->in) % G_ARENA;
	uint64_t prev_end = prev ? prev->gpa + prev->size : 0x100000;

	switch (kind & 3) {
	case 0:
		r->size = fz_u16(&g->in) % (G_ARENA - off + 1); /* may be 0 */
		break;
	case 1:
		r->size = G_ARENA - off;
		break;
	case 2:
		r->size = 1 + fz_u8(&g->in) % (G_ARENA - off);
		break;
	default:
		r->size = fz_u8(&g->in) ? 4096u % (G_ARENA - off + 1) : 0;
		break;
	}
	r->hva = g->arena + off;

	switch ((kind >> 2) & 7) {
	case 0:
		r->gpa = prev_end; /* adjacent: ranges crossing regions stay contiguous */
		break;
	case 1:
		r->gpa = fz_u64(&g->in);
		break;
	case 2:
		r->gpa = 0 - r->size; /* ends exactly at 2^64 */
		break;
	case 3:
		r->gpa = 0 - r->size + 1 + fz_u8(&g->in); /* wraps by a few bytes */
		break;
	case 4:
		r->gpa = prev ? prev->gpa + fz_u16(&g->in) : 0; /* likely overlap */
		break;
	case 5:
		r->gpa = (uint64_t)fz_u32(&g->in) * 4096;
		break;
	case 6:
		r->gpa = prev_end + fz_u16(&g->in); /* gap */
		break;
	default:
		r->gpa = 0 - r->size - fz_u16(&g->in);
		break;
	}

	switch ((kind >> 5) & 3) {
	case 0:
		r->uaddr = 0x7e0000000000ULL + ((uint64_t)i << 32);
		break;
	case 1:
		r->uaddr = fz_u64(&g->in);
		break;
	case 2:
		r->uaddr = prev ? prev->uaddr + fz_u16(&g->in) : 0;
		break;
	default:
		r->uaddr = 0 - r->size - (kind >> 7);
		break;
	}
}

static void install(struct g_run *g)
{
	struct gmem before;
	bool valid = table_valid(g);
	int rc;

	memset(&g->gm, 0xa5, sizeof(g->gm));
	gmem_init(&g->gm);
	memcpy(&before, &g->gm, sizeof(before));
	rc = gmem_install(&g->gm, g->r, g->n);
	if (g->n > GMEM_MAX_REGIONS)
		FZ_CHECK(rc == -E2BIG, "install of %u regions: %d", g->n, rc);
	else
		FZ_CHECK((rc == 0) == valid, "install returned %d for a%s table", rc,
			 valid ? " valid" : "n invalid");
	if (rc) {
		FZ_CHECK(rc == -E2BIG || rc == -EINVAL, "install error %d", rc);
		FZ_CHECK(memcmp(&before, &g->gm, sizeof(before)) == 0,
			 "failed install changed the table");
		g->n = 0;
		return;
	}
	FZ_CHECK(g->gm.nr == g->n, "installed %u of %u regions", g->gm.nr, g->n);
}

static uint64_t pick_addr(struct g_run *g, bool va)
{
	uint8_t sel = fz_u8(&g->in);
	const struct gmem_region *r = g->n ? &g->r[(sel >> 3) % g->n] : NULL;
	uint64_t base = r ? (va ? r->uaddr : r->gpa) : 0, size = r ? r->size : 0;

	switch (sel & 7) {
	case 0:
		return base + fz_u16(&g->in);
	case 1:
		return base + size - fz_u8(&g->in);
	case 2:
		return fz_u64(&g->in);
	case 3:
		return UINT64_MAX - fz_u16(&g->in);
	case 4:
		return base - 1 - fz_u8(&g->in);
	case 5:
		return base + size;
	case 6:
		return 0;
	default:
		return base;
	}
}

static uint64_t pick_len(struct g_run *g, uint64_t addr)
{
	uint8_t sel = fz_u8(&g->in);

	switch (sel & 7) {
	case 0:
		return 0;
	case 1:
		return fz_u8(&g->in);
	case 2:
		return fz_u16(&g->in);
	case 3:
		return g->n ? g->r[(sel >> 3) % g->n].size : 1;
	case 4:
		return fz_u64(&g->in);
	case 5:
		return UINT64_MAX - fz_u8(&g->in);
	case 6:
		return 0 - addr; /* exactly to 2^64 */
	default:
		return 2ULL * G_ARENA + fz_u8(&g->in);
	}
}

static void op_translate(struct g_run *g)
{
	uint64_t gpa = pick_addr(g, false), len = pick_len(g, gpa);
	const struct gmem_region *r = ref_find(g, gpa, len ? len : 1, false);
	void *p = gmem_translate(&g->gm, gpa, len);

	FZ_CHECK(p == (r ? r->hva + (gpa - r->gpa) : NULL),
		 "translate(%#llx, %#llx) = %p, reference %p", (unsigned long long)gpa,
		 (unsigned long long)len, p, r ? (void *)(r->hva + (gpa - r->gpa)) : NULL);
}

static void op_map_iov(struct g_run *g)
{
	uint64_t gpa = pick_addr(g, false), len = pick_len(g, gpa);
	unsigned cap = fz_u8(&g->in) % G_MAX_IOV, n = 0xdead, k;
	struct iovec iov[G_MAX_IOV], ref[GMEM_MAX_REGIONS + 1];
	bool gap;
	int rc;

	rc = gmem_map_iov(&g->gm, gpa, len, iov, cap, &n);
	if (len == 0) { /* precondition violated: only safety is required */
		FZ_CHECK(rc != 0 || n <= cap, "map_iov(len 0) wrote %u > %u iovecs", n, cap);
		return;
	}
	k = ref_pieces(g, gpa, len, ref, GMEM_MAX_REGIONS + 1, &gap);
	if (gap) {
		FZ_CHECK(rc == -EFAULT || (rc == -E2BIG && k > cap),
			 "map_iov(%#llx, %#llx, cap %u) = %d over a gap after %u pieces",
			 (unsigned long long)gpa, (unsigned long long)len, cap, rc, k);
		return;
	}
	if (k > cap) {
		FZ_CHECK(rc == -E2BIG, "map_iov needs %u > cap %u iovecs: %d", k, cap, rc);
		return;
	}
	FZ_CHECK(rc == 0 && n == k, "map_iov(%#llx, %#llx) = %d, n %u, reference %u",
		 (unsigned long long)gpa, (unsigned long long)len, rc, n, k);
	for (unsigned i = 0; i < k; i++)
		FZ_CHECK(iov[i].iov_base == ref[i].iov_base && iov[i].iov_len == ref[i].iov_len,
			 "map_iov piece %u = (%p, %zu), reference (%p, %zu)", i, iov[i].iov_base,
			 iov[i].iov_len, ref[i].iov_base, ref[i].iov_len);
}

static void op_read(struct g_run *g)
{
	uint64_t gpa = pick_addr(g, false), len = pick_len(g, gpa);
	struct iovec ref[GMEM_MAX_REGIONS + 1];
	unsigned k;
	bool gap;
	int rc;

	if (len == 0) { /* nothing to copy: only safety is required */
		rc = gmem_read(&g->gm, gpa, g->buf, 0);
		FZ_CHECK(rc == 0 || rc == -EFAULT, "read of 0 bytes returned %d", rc);
		return;
	}
	k = ref_pieces(g, gpa, len, ref, GMEM_MAX_REGIONS + 1, &gap);
	if (gap) {
		/* must fail without writing: a tiny buffer makes ASan the judge */
		uint8_t *small = malloc(16);

		if (!small)
			return;
		rc = gmem_read(&g->gm, gpa, small, len);
		free(small);
		FZ_CHECK(rc == -EFAULT, "read over a gap returned %d", rc);
		return;
	}
	if (len > G_MAX_COPY)
		return;
	rc = gmem_read(&g->gm, gpa, g->buf, len);
	FZ_CHECK(rc == 0, "read of a mapped range returned %d", rc);
	for (unsigned i = 0, at = 0; i < k; at += ref[i].iov_len, i++)
		FZ_CHECK(memcmp(g->buf + at, ref[i].iov_base, ref[i].iov_len) == 0,
			 "read piece %u differs", i);
}

static void op_write(struct g_run *g)
{
	uint64_t gpa = pick_addr(g, false), len = pick_len(g, gpa);
	const uint8_t *src = g->pattern + fz_u8(&g->in) * 16u;
	struct iovec ref[GMEM_MAX_REGIONS + 1];
	unsigned k;
	bool gap;
	int rc;

	if (len == 0) { /* nothing to copy: guest RAM must stay as it is */
		memcpy(g->expect, g->arena, G_ARENA);
		rc = gmem_write(&g->gm, gpa, src, 0);
		FZ_CHECK(rc == 0 || rc == -EFAULT, "write of 0 bytes returned %d", rc);
		FZ_CHECK(memcmp(g->expect, g->arena, G_ARENA) == 0, "write of 0 bytes wrote");
		return;
	}
	k = ref_pieces(g, gpa, len, ref, GMEM_MAX_REGIONS + 1, &gap);
	if (!gap && len > G_MAX_COPY)
		return;
	memcpy(g->expect, g->arena, G_ARENA);
	if (!gap)
		for (unsigned i = 0, at = 0; i < k; at += ref[i].iov_len, i++)
			memcpy(g->expect + ((uint8_t *)ref[i].iov_base - g->arena), src + at,
			       ref[i].iov_len);
	rc = gmem_write(&g->gm, gpa, src, len);
	FZ_CHECK(rc == (gap ? -EFAULT : 0), "write(%#llx, %#llx) = %d, reference %s",
		 (unsigned long long)gpa, (unsigned long long)len, rc, gap ? "gap" : "mapped");
	FZ_CHECK(memcmp(g->expect, g->arena, G_ARENA) == 0, "write left different guest RAM");
}

static void op_uaddr(struct g_run *g)
{
	uint64_t va = pick_addr(g, true), len = pick_len(g, va), gpa = 0;
	const struct gmem_region *r = ref_find(g, va, len ? len : 1, true);
	int rc = gmem_uaddr_to_gpa(&g->gm, va, len, &gpa);

	if (len == 0 && !r)
		return; /* length 0 is not specified beyond "not mapped" */
	FZ_CHECK(rc == (r ? 0 : -EFAULT), "uaddr_to_gpa(%#llx, %#llx) = %d",
		 (unsigned long long)va, (unsigned long long)len, rc);
	if (r)
		FZ_CHECK(gpa == r->gpa + (va - r->uaddr), "uaddr_to_gpa gave %#llx",
			 (unsigned long long)gpa);
}

static void op_check(struct g_run *g)
{
	uint64_t gpa = pick_addr(g, false), len = pick_len(g, gpa);
	bool gap;
	int rc = gmem_check(&g->gm, gpa, len);

	ref_pieces(g, gpa, len, NULL, 0, &gap);
	FZ_CHECK(rc == (gap ? -EFAULT : 0), "check(%#llx, %#llx) = %d, reference %s",
		 (unsigned long long)gpa, (unsigned long long)len, rc, gap ? "unmapped" : "mapped");
}

/* ---- dirty log ----------------------------------------------------------- */

/* Reference: mark the 4 KiB pages [@gpa, @gpa + @len) meets (clipped at 2^64)
 * that the bitmap covers. */
static void ref_log_gpa(struct g_run *g, uint64_t gpa, uint64_t len)
{
	g_u128 end = (g_u128)gpa + len, last;

	if (!g->log_bytes || len == 0)
		return;
	if (end > ((g_u128)1 << 64))
		end = (g_u128)1 << 64;
	last = (end - 1) / 4096; /* last page touched */
	for (g_u128 p = gpa / 4096; p <= last && p < g->log_bytes * 8; p++)
		g->log_ref[p / 8] |= (uint8_t)(1u << (p % 8));
}

static void log_check(const struct g_run *g, const char *what)
{
	if (!memcmp(g->log, g->log_ref, G_LOG_MAX))
		return;
	for (unsigned i = 0; i < G_LOG_MAX; i++)
		FZ_CHECK(g->log[i] == g->log_ref[i], "%s: bitmap byte %u is %#x, reference %#x",
			 what, i, g->log[i], g->log_ref[i]);
}

static void op_set_log(struct g_run *g)
{
	static const uint64_t sizes[4] = { 0, 1, 64, G_LOG_MAX };
	uint8_t sel = fz_u8(&g->in);
	uint64_t size = sizes[sel & 3];
	uint8_t *log = (sel & 4) ? NULL : g->log;

	memset(g->log, 0, sizeof(g->log));
	memset(g->log_ref, 0, sizeof(g->log_ref));
	gmem_set_log(&g->gm, log, size);
	g->log_bytes = log && size ? size : 0;
	FZ_CHECK(g->gm.log == (g->log_bytes ? g->log : NULL) &&
			 g->gm.log_size == (log ? size : 0),
		 "set_log(%p, %llu): log %p size %llu", (void *)log, (unsigned long long)size,
		 (void *)g->gm.log, (unsigned long long)g->gm.log_size);
}

static void op_log_gpa(struct g_run *g)
{
	uint64_t gpa = pick_addr(g, false), len = pick_len(g, gpa);

	gmem_log_gpa(&g->gm, gpa, len);
	ref_log_gpa(g, gpa, len);
	log_check(g, "log_gpa");
}

static void op_log_hva(struct g_run *g)
{
	uint8_t sel = fz_u8(&g->in);
	const struct gmem_region *r = g->n ? &g->r[(sel >> 2) % g->n] : NULL, *hit = NULL;
	uintptr_t a = (uintptr_t)g->arena, h;
	uint64_t len;

	switch (sel & 3) {
	case 0:
		h = a + fz_u16(&g->in) % G_ARENA;
		break;
	case 1:
		h = r ? (uintptr_t)r->hva + r->size - 1 - fz_u8(&g->in) % r->size : a;
		break;
	case 2:
		h = r ? (uintptr_t)r->hva + r->size : a + G_ARENA;
		break;
	default:
		h = a - 1 - fz_u8(&g->in);
		break;
	}
	len = pick_len(g, 0);
	/* the table is sorted by GPA: the lowest-GPA region holding the byte */
	for (unsigned i = 0; i < g->n; i++) {
		const struct gmem_region *c = &g->r[i];

		if (h >= (uintptr_t)c->hva && h - (uintptr_t)c->hva < c->size &&
		    (!hit || c->gpa < hit->gpa))
			hit = c;
	}
	gmem_log_hva(&g->gm, (const void *)h, len);
	if (hit) {
		uint64_t off = h - (uintptr_t)hit->hva;

		ref_log_gpa(g, hit->gpa + off, len < hit->size - off ? len : hit->size - off);
	}
	log_check(g, "log_hva");
}

/* ---- iovec copies (core/iov.c) ------------------------------------------- */

/* An offset or length for a list of @total bytes. */
static size_t pick_iov_off(struct g_run *g, size_t total)
{
	uint8_t sel = fz_u8(&g->in);

	switch (sel & 7) {
	case 0:
		return sel >> 3;
	case 1:
		return fz_u16(&g->in);
	case 2:
		return total;
	case 3:
		return total - (sel >> 3) % (total + 1);
	case 4:
		return total + 1 + (sel >> 3);
	case 5:
		return SIZE_MAX - (sel >> 3);
	case 6:
		return (size_t)fz_u64(&g->in);
	default:
		return fz_u8(&g->in);
	}
}

/*
 * Reference: the non-empty pieces of bytes [@off, @off + @len) of the list,
 * clipped at its end, into @out (capacity G_IOV_LIST).  Returns the count;
 * *@bytes gets their total.
 */
static unsigned ref_iov_range(const struct iovec *iov, unsigned n, size_t off, size_t len,
			      struct iovec *out, size_t *bytes)
{
	g_u128 at = 0, lo = off, hi = (g_u128)off + len;
	unsigned k = 0;

	*bytes = 0;
	for (unsigned i = 0; i < n; at += iov[i].iov_len, i++) {
		g_u128 a = at > lo ? at : lo, b = at + iov[i].iov_len;

		if (b > hi)
			b = hi;
		if (a >= b)
			continue;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + (size_t)(a - at);
		out[k].iov_len = (size_t)(b - a);
		*bytes += out[k].iov_len;
		k++;
	}
	return k;
}

/* Reference scatter of @flat over the pieces, in order. */
static void ref_iov_copy(const struct iovec *pc, unsigned k, const uint8_t *flat)
{
	for (unsigned i = 0; i < k; flat += pc[i].iov_len, i++)
		memcpy(pc[i].iov_base, flat, pc[i].iov_len);
}

static void op_iov(struct g_run *g)
{
	struct iovec iov[G_IOV_LIST], ref[G_IOV_LIST], out[G_IOV_LIST + 1];
	unsigned n = fz_u8(&g->in) % (G_IOV_LIST + 1), k, cap, got;
	size_t total, off, len, want, done;
	uint8_t call;

	for (unsigned i = 0; i < n; i++) {
		uint32_t at = fz_u16(&g->in) % G_ARENA;
		uint8_t sel = fz_u8(&g->in);

		iov[i].iov_base = g->arena + at;
		iov[i].iov_len = sel == 0 ? 0 : sel == 0xff ? G_ARENA - at : sel % (G_ARENA - at + 1);
	}
	total = iov_size(iov, n);
	ref_iov_range(iov, n, 0, SIZE_MAX, ref, &want);
	FZ_CHECK(total == want, "iov_size of %u iovecs = %zu, reference %zu", n, total, want);
	call = fz_u8(&g->in) % 3;
	off = pick_iov_off(g, total);
	len = pick_iov_off(g, total);
	if (call != 2 && len > G_MAX_COPY)
		len = G_MAX_COPY; /* the flat buffer holds @len bytes: clip at its size */
	k = ref_iov_range(iov, n, off, len, ref, &want);
	switch (call) {
	case 0: { /* the destination holds @len bytes, exactly: ASan guards its end */
		uint8_t *dst = malloc(len ? len : 1);

		if (!dst)
			return;
		memset(dst, 0x5a, len);
		done = iov_to_buf(iov, n, off, dst, len);
		FZ_CHECK(done == want, "iov_to_buf(off %zu, len %zu) of %zu bytes = %zu, reference %zu",
			 off, len, total, done, want);
		for (unsigned i = 0, at = 0; i < k; at += (unsigned)ref[i].iov_len, i++)
			FZ_CHECK(memcmp(dst + at, ref[i].iov_base, ref[i].iov_len) == 0,
				 "iov_to_buf piece %u differs", i);
		/* the rest of the buffer untouched: all bytes equal, the first 0x5a */
		FZ_CHECK(want == len || (dst[want] == 0x5a &&
					 !memcmp(dst + want, dst + want + 1, len - want - 1)),
			 "iov_to_buf of %zu bytes wrote past them", want);
		free(dst);
		return;
	}
	case 1: { /* the source: @len bytes of the pattern */
		const uint8_t *src = g->pattern + fz_u8(&g->in) * 16u;

		/* the reference copies onto g->expect in list order, as the
		 * device does: where iovecs alias, the later one wins */
		memcpy(g->expect, g->arena, G_ARENA);
		for (unsigned i = 0; i < k; i++)
			ref[i].iov_base = g->expect + ((uint8_t *)ref[i].iov_base - g->arena);
		ref_iov_copy(ref, k, src);
		done = iov_from_buf(iov, n, off, src, len);
		FZ_CHECK(done == want,
			 "iov_from_buf(off %zu, len %zu) of %zu bytes = %zu, reference %zu", off,
			 len, total, done, want);
		FZ_CHECK(memcmp(g->expect, g->arena, G_ARENA) == 0,
			 "iov_from_buf left different guest RAM");
		return;
	}
	default:
		cap = fz_u8(&g->in) % (G_IOV_LIST + 1);
		memset(out, 0x5a, sizeof(out));
		got = iov_slice(iov, n, off, len, out, cap);
		FZ_CHECK(got == (k < cap ? k : cap),
			 "iov_slice(off %zu, len %zu, cap %u) of %zu bytes = %u, reference %u", off,
			 len, cap, total, got, k < cap ? k : cap);
		for (unsigned i = 0; i < got; i++)
			FZ_CHECK(out[i].iov_base == ref[i].iov_base && out[i].iov_len == ref[i].iov_len,
				 "iov_slice piece %u = (%p, %zu), reference (%p, %zu)", i,
				 out[i].iov_base, out[i].iov_len, ref[i].iov_base, ref[i].iov_len);
		for (unsigned i = got; i <= G_IOV_LIST; i++)
			FZ_CHECK(out[i].iov_len == (size_t)0x5a5a5a5a5a5a5a5aULL,
				 "iov_slice wrote iovec %u past %u", i, got);
		return;
	}
}

/* Distinct bytes so a misplaced copy is visible (@n a multiple of 8). */
static FZ_NOCOV void fill(uint8_t *p, size_t n, uint64_t salt)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = (i + salt) * 0x9e3779b97f4a7c15ULL;

		memcpy(p + i, &v, 8);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct g_run *g = calloc(1, sizeof(*g));

	if (!g)
		return 0;
	fz_in_init(&g->in, data, size);
	g->arena = malloc(G_ARENA);
	g->expect = malloc(G_ARENA);
	g->buf = malloc(G_MAX_COPY);
	g->pattern = malloc(G_PATTERN);
	if (!g->arena || !g->expect || !g->buf || !g->pattern)
		goto out;
	fill(g->arena, G_ARENA, 1);
	fill(g->pattern, G_PATTERN, 1ULL << 40);

	g->n = fz_u8(&g->in) % (GMEM_MAX_REGIONS + 2);
	for (unsigned i = 0; i < g->n; i++)
		build_region(g, i);
	install(g);
	if (g->n == 0 && fz_done(&g->in))
		goto out;

	for (unsigned op = 0; op < G_MAX_OPS && !fz_done(&g->in); op++) {
		switch (fz_u8(&g->in) % 10) {
		case 0:
			op_translate(g);
			break;
		case 1:
			op_map_iov(g);
			break;
		case 2:
			op_read(g);
			break;
		case 3:
			op_write(g);
			break;
		case 4:
			op_uaddr(g);
			break;
		case 5:
			op_check(g);
			break;
		case 6:
			op_set_log(g);
			break;
		case 7:
			op_log_gpa(g);
			break;
		case 8:
			op_log_hva(g);
			break;
		default:
			op_iov(g);
			break;
		}
	}
out:
	free(g->arena);
	free(g->expect);
	free(g->buf);
	free(g->pattern);
	free(g);
	return 0;
}
