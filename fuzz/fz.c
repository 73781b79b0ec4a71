// SPDX-License-Identifier: Apache-2.0
/*
 * fz.c - input cursor, guest RAM layouts and operand decoders for harnesses.
 *
 * Theory of operation
 * -------------------
 * Nothing here keeps state outside the structures the caller passes: a run
 * builds a layout, uses it, frees it.  (One exception, invisible to callers:
 * guest RAM under FZ_ARENA_MMAP comes from one heap block kept for the whole
 * process, see arena_small().)  The reference translation (fz_ref_*)
 * deliberately shares no code with core/gmem.c: it walks the chunk list with
 * 128-bit sums, so an off-by-one or wrap bug in the core cannot hide behind
 * the same bug in the oracle.
 */
#include "fuzz/fz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define FZ_HAVE_AVX2_DIFF 1
#endif

/*
 * ASan's poisoning interface, looked up at link time rather than by
 * __has_feature(address_sanitizer): fuzz builds compile this engine without
 * ASan (fuzz/CMakeLists.txt) while the core it checks, and the runtime, have
 * it; the calls must still happen there.  Weak: absent in plain builds.
 */
void __asan_poison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));
void __asan_unpoison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));

static void fz_poison(const void *p, size_t n)
{
	if (__asan_poison_memory_region)
		__asan_poison_memory_region(p, n);
}

static void fz_unpoison(const void *p, size_t n)
{
	if (__asan_unpoison_memory_region)
		__asan_unpoison_memory_region(p, n);
}

typedef unsigned __int128 fz_u128; /* arithmetic helper, not a struct typedef */

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define FZ_NOSAN __attribute__((no_sanitize("address", "undefined")))
#else
#define FZ_NOSAN
#endif

#ifdef FZ_HAVE_AVX2_DIFF
/* 128 bytes per step; half the instructions of the SSE2 loop, twice its
 * speed on 16-64 KiB arenas here.  Chosen at run time (fz_next_diff()). */
__attribute__((target("avx2"))) FZ_NOCOV FZ_NOSAN static size_t
next_diff_avx2(const uint8_t *a, const uint8_t *b, size_t from, size_t n)
{
	while (n - from >= 128) {
		const __m256i *x = (const __m256i *)(const void *)(a + from);
		const __m256i *y = (const __m256i *)(const void *)(b + from);
		__m256i d = _mm256_xor_si256(_mm256_loadu_si256(x), _mm256_loadu_si256(y));

		d = _mm256_or_si256(d, _mm256_xor_si256(_mm256_loadu_si256(x + 1),
							_mm256_loadu_si256(y + 1)));
		d = _mm256_or_si256(d, _mm256_xor_si256(_mm256_loadu_si256(x + 2),
							_mm256_loadu_si256(y + 2)));
		d = _mm256_or_si256(d, _mm256_xor_si256(_mm256_loadu_si256(x + 3),
							_mm256_loadu_si256(y + 3)));
		if (!_mm256_testz_si256(d, d))
			break; /* the byte loop finds it within these 128 */
		from += 128;
	}
	for (; from < n; from++)
		if (a[from] != b[from])
			return from;
	return n;
}

static int fz_avx2 = -1; /* unknown, no, yes */
#endif

FZ_NOCOV FZ_NOSAN size_t fz_next_diff(const uint8_t *a, const uint8_t *b, size_t from, size_t n)
{
#ifdef __SSE2__
	const __m128i zero = _mm_setzero_si128();
#endif

	while (from < n && (from & 63)) {
		if (a[from] != b[from])
			return from;
		from++;
	}
#ifdef FZ_HAVE_AVX2_DIFF
	if (fz_avx2 < 0) {
		__builtin_cpu_init();
		fz_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	if (fz_avx2)
		return next_diff_avx2(a, b, from, n);
#endif
#ifdef __SSE2__
	while (n - from >= 64) {
		const __m128i *x = (const __m128i *)(const void *)(a + from);
		const __m128i *y = (const __m128i *)(const void *)(b + from);
		__m128i d = _mm_xor_si128(_mm_loadu_si128(x), _mm_loadu_si128(y));

		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128(x + 1), _mm_loadu_si128(y + 1)));
		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128(x + 2), _mm_loadu_si128(y + 2)));
		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128(x + 3), _mm_loadu_si128(y + 3)));
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(d, zero)) != 0xffff)
			break; /* the byte loop finds it within these 64 */
		from += 64;
	}
#endif
	for (; from < n; from++)
		if (a[from] != b[from])
			return from;
	return n;
}

void (*fz_fail_hook)(void);

void fz_fail(const char *file, int line, const char *fmt, ...)
{
	void (*hook)(void) = fz_fail_hook;
	va_list ap;

	fprintf(stderr, "fz: invariant violated at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fz_fail_hook = NULL; /* (once: the hook may fail itself) */
	if (hook)
		hook();
	fflush(stderr);
	abort();
}

/* ---- input cursor -------------------------------------------------------- */

void fz_in_init(struct fz_in *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->n = data ? size : 0;
	in->pos = 0;
}

uint8_t fz_u8(struct fz_in *in)
{
	return in->pos < in->n ? in->p[in->pos++] : 0;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

uint32_t fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t)fz_u16(in) << 16;
}

uint64_t fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

size_t fz_bytes(struct fz_in *in, void *dst, size_t len)
{
	size_t have = in->pos < in->n ? in->n - in->pos : 0;

	if (have > len)
		have = len;
	if (have)
		memcpy(dst, in->p + in->pos, have);
	memset((uint8_t *)dst + have, 0, len - have);
	in->pos += have;
	return have;
}

/* ---- layout -------------------------------------------------------------- */

/* Frontend VA of host byte @hva: distinct chunks get distinct, non-wrapping VAs. */
#define FZ_UADDR_BASE 0x7e0000000000ULL
#define FZ_UADDR_HUGE 0x7f0000000000ULL

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Cut the data area at fuzz-chosen points.  @gran keeps every host offset and
 * every GPA congruent modulo 16, so naturally aligned guest fields stay
 * naturally aligned in host memory (as with real, page-aligned regions).
 */
static unsigned cut_data(struct fz_in *in, unsigned want, size_t gran, size_t *start)
{
	size_t cut[FZ_MAX_DATA_CHUNKS + 1];
	unsigned n = 0, k = 0;

	cut[n++] = 0;
	for (unsigned i = 1; i < want; i++) {
		size_t c = (fz_u16(in) % (FZ_DATA_BYTES / gran)) * gran;

		if (c)
			cut[n++] = c;
	}
	qsort(cut, n, sizeof(cut[0]), cmp_size);
	for (unsigned i = 0; i < n; i++)
		if (k == 0 || cut[i] != start[k - 1])
			start[k++] = cut[i];
	start[k] = FZ_DATA_BYTES;
	return k;
}

static void install(struct fz_layout *l)
{
	struct gmem_region r[FZ_MAX_CHUNKS];
	unsigned n = 0;
	int rc;

	for (unsigned i = 0; i < l->nchunks; i++) {
		const struct fz_chunk *c = &l->chunk[i];

		if (!c->mapped)
			continue;
		r[n].gpa = c->gpa;
		r[n].size = c->size;
		r[n].hva = c->hva;
		r[n].uaddr = c->hva == l->huge ? FZ_UADDR_HUGE
					       : FZ_UADDR_BASE + (uint64_t)(c->hva - l->arena);
		n++;
	}
	gmem_init(&l->gm);
	rc = gmem_install(&l->gm, r, n);
	/* Our tables are valid by construction: refusing one is a core bug. */
	FZ_CHECK(rc == 0, "gmem_install refused a valid %u-region table: %d", n, rc);
}

/*
 * Guest RAM under FZ_ARENA_MMAP: one page-aligned heap block of
 * FZ_ARENA_MMAP - FZ_PAGE bytes, kept for the process (a fresh block per run
 * cost the fuzzer new, faulted-in, quarantined heap pages on every input).
 * The arena is the block's tail, so the allocator's right redzone still
 * follows its last byte; the unused head is poisoned, so under ASan a load
 * or store just before the arena is reported as before.  Zeroed per run.
 * One layout at a time uses it; a second one gets its own block.
 */
static uint8_t *fz_small_blk;
static bool fz_small_busy;

#define FZ_SMALL_BYTES (FZ_ARENA_MMAP - FZ_PAGE)

static uint8_t *arena_small(size_t size)
{
	uint8_t *a;

	if (fz_small_busy || size > FZ_SMALL_BYTES) {
		a = aligned_alloc(FZ_PAGE, size);
		if (a)
			memset(a, 0, size);
		return a;
	}
	if (!fz_small_blk) {
		fz_small_blk = aligned_alloc(FZ_PAGE, FZ_SMALL_BYTES);
		if (!fz_small_blk)
			return NULL;
	}
	fz_small_busy = true;
	a = fz_small_blk + FZ_SMALL_BYTES - size;
	fz_unpoison(fz_small_blk, FZ_SMALL_BYTES);
	fz_poison(fz_small_blk, FZ_SMALL_BYTES - size);
	memset(a, 0, size);
	return a;
}

static void arena_small_free(uint8_t *a)
{
	if (fz_small_blk && a >= fz_small_blk && a < fz_small_blk + FZ_SMALL_BYTES)
		fz_small_busy = false;
	else
		free(a);
}

/*
 * Guest RAM from FZ_ARENA_MMAP up (large rings): one anonymous mapping kept
 * for the process and grown when a larger arena is asked for.  Layout:
 * a PROT_NONE page, the capacity, a PROT_NONE page; the arena is the
 * capacity's tail, so the trailing page follows its last byte, and the part
 * of the capacity before it is PROT_NONE too, standing in for the
 * allocator's redzones as the small block's poisoned head does.  Zeroed per
 * run.  A fresh mapping per run cost a page fault for every page the
 * snapshot read (about 40 % of a 32768-entry ring input on this VM).
 */
static uint8_t *fz_big_map;  /* the mapping (leading PROT_NONE page) */
static size_t fz_big_cap;    /* bytes between the two PROT_NONE pages */
static size_t fz_big_rw;     /* length of the readable tail now */
static bool fz_big_busy;

/* A fresh mapping: a PROT_NONE page, @size read-write bytes, a PROT_NONE page. */
static uint8_t *map_arena(size_t size)
{
	uint8_t *m = mmap(NULL, size + 2 * FZ_PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m + FZ_PAGE, size, PROT_READ | PROT_WRITE) != 0) {
		munmap(m, size + 2 * FZ_PAGE);
		return NULL;
	}
	return m + FZ_PAGE;
}

static uint8_t *arena_big(size_t size)
{
	uint8_t *a;

	if (fz_big_busy)
		return map_arena(size); /* (a second layout at once: its own) */
	if (size > fz_big_cap) { /* (grown, never shrunk) */
		a = map_arena(size);
		if (!a)
			return NULL;
		if (fz_big_map)
			munmap(fz_big_map, fz_big_cap + 2 * FZ_PAGE);
		fz_big_map = a - FZ_PAGE;
		fz_big_cap = fz_big_rw = size;
	}
	a = fz_big_map + FZ_PAGE + fz_big_cap - size;
	if (size != fz_big_rw) {
		if (mprotect(fz_big_map + FZ_PAGE, fz_big_cap - size, PROT_NONE) != 0 ||
		    mprotect(a, size, PROT_READ | PROT_WRITE) != 0) {
			fz_big_rw = 0;
			return NULL;
		}
		fz_big_rw = size;
	}
	memset(a, 0, size);
	fz_big_busy = true;
	return a;
}

int fz_layout_build(struct fz_layout *l, struct fz_in *in, size_t ring_bytes, unsigned flags)
{
	size_t start[FZ_MAX_DATA_CHUNKS + 1], gran;
	uint64_t ring_gpa = FZ_RING_GPA, span = 0, gap[FZ_MAX_DATA_CHUNKS] = { 0 }, at;
	unsigned mode, place, holes = 0;

	memset(l, 0, sizeof(*l));
	ring_bytes = (ring_bytes + FZ_PAGE - 1) / FZ_PAGE * FZ_PAGE;
	if (ring_bytes == 0)
		ring_bytes = FZ_PAGE;
	l->ring_bytes = ring_bytes;
	l->arena_size = ring_bytes + FZ_DATA_BYTES;
	if (l->arena_size >= FZ_ARENA_MMAP) {
		l->arena = arena_big(l->arena_size);
		if (!l->arena)
			return -1;
	} else {
		l->arena = arena_small(l->arena_size);
		if (!l->arena)
			return -1;
	}
	l->data = l->arena + ring_bytes;

	if (flags & FZ_LAYOUT_FIXED) {
		l->chunk[0] = (struct fz_chunk){ 0, l->arena_size, l->arena, true };
		l->nchunks = 1;
		install(l);
		return 0;
	}

	mode = fz_u8(in);
	place = (mode >> 3) & 3;
	gran = (mode & 0x80) ? 16 : 256;
	if (mode & 0x40)
		ring_gpa = 0 - (uint64_t)ring_bytes; /* ring region ends exactly at 2^64 */
	l->chunk[0] = (struct fz_chunk){ ring_gpa, ring_bytes, l->arena, true };

	l->ndata = cut_data(in, 1 + (mode & 7), gran, start);
	if (mode & 0x20)
		holes = fz_u8(in);
	for (unsigned i = 0; i < l->ndata; i++) {
		if (place == 2)
			gap[i] = (uint64_t)fz_u8(in) * 64;
		span += (start[i + 1] - start[i]) + gap[i];
	}

	if (place == 3)
		at = ((mode & 0x40) ? ring_gpa - (1ULL << 20) : 0) - span;
	else
		at = FZ_DATA_GPA;
	for (unsigned k = 0; k < l->ndata; k++) {
		/* reversed placement walks the host chunks backwards */
		unsigned i = place == 1 ? l->ndata - 1 - k : k;
		struct fz_chunk *c = &l->chunk[1 + i];

		c->size = start[i + 1] - start[i];
		c->hva = l->data + start[i];
		c->gpa = at;
		c->mapped = !(holes & (1u << i));
		at += c->size + gap[i];
	}
	l->nchunks = 1 + l->ndata;

	if (flags & FZ_LAYOUT_HUGE) {
		void *m = mmap(NULL, FZ_HUGE_BYTES, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (m != MAP_FAILED) {
			l->huge = m;
			l->huge_size = FZ_HUGE_BYTES;
			l->chunk[l->nchunks++] =
				(struct fz_chunk){ FZ_HUGE_GPA, FZ_HUGE_BYTES, l->huge, true };
		}
	}
	install(l);
	return 0;
}

void fz_layout_free(struct fz_layout *l)
{
	if (l->arena && l->arena_size >= FZ_ARENA_MMAP) {
		if (fz_big_map && l->arena > fz_big_map && l->arena < fz_big_map + fz_big_cap + FZ_PAGE)
			fz_big_busy = false;
		else
			munmap(l->arena - FZ_PAGE, l->arena_size + 2 * FZ_PAGE);
	} else if (l->arena)
		arena_small_free(l->arena);
	if (l->huge)
		munmap(l->huge, l->huge_size);
	memset(l, 0, sizeof(*l));
}

/* Mapped chunk holding byte @gpa, or NULL. */
static const struct fz_chunk *ref_chunk(const struct fz_layout *l, uint64_t gpa)
{
	for (unsigned i = 0; i < l->nchunks; i++) {
		const struct fz_chunk *c = &l->chunk[i];

		if (c->mapped && gpa >= c->gpa && (fz_u128)gpa < (fz_u128)c->gpa + c->size)
			return c;
	}
	return NULL;
}

int fz_ref_pieces(const struct fz_layout *l, uint64_t gpa, uint64_t len, struct iovec *out,
		  unsigned cap)
{
	fz_u128 at = gpa, end = (fz_u128)gpa + len;
	int n = 0;

	if (len == 0 || end > ((fz_u128)1 << 64))
		return -1;
	while (at < end) {
		const struct fz_chunk *c = ref_chunk(l, (uint64_t)at);
		fz_u128 cend, take;

		if (!c)
			return -1 - n;
		cend = (fz_u128)c->gpa + c->size;
		take = (cend < end ? cend : end) - at;
		if (out && (unsigned)n < cap) {
			out[n].iov_base = c->hva + (uint64_t)(at - c->gpa);
			out[n].iov_len = (size_t)take;
		}
		n++;
		at += take;
	}
	return n;
}

uint8_t *fz_ref_host(const struct fz_layout *l, uint64_t gpa, uint64_t len)
{
	const struct fz_chunk *c = ref_chunk(l, gpa);

	if (!c || len == 0 || (fz_u128)gpa + len > (fz_u128)c->gpa + c->size)
		return NULL;
	return c->hva + (gpa - c->gpa);
}

void (*fz_write_hook)(const void *p, size_t len);

size_t fz_ref_write(const struct fz_layout *l, uint64_t gpa, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		const struct fz_chunk *c = ref_chunk(l, gpa + done);
		fz_u128 room;
		size_t take;

		if (!c || (fz_u128)gpa + done >= ((fz_u128)1 << 64))
			break;
		room = (fz_u128)c->gpa + c->size - (gpa + done);
		take = room < len - done ? (size_t)room : len - done;
		if (fz_write_hook) /* (before the store: fz_snap_note()) */
			fz_write_hook(c->hva + (gpa + done - c->gpa), take);
		memcpy(c->hva + (gpa + done - c->gpa), (const uint8_t *)src + done, take);
		done += take;
	}
	return done;
}

bool fz_host_mapped(const struct fz_layout *l, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < l->nchunks; i++) {
		const struct fz_chunk *c = &l->chunk[i];
		uintptr_t b = (uintptr_t)c->hva;

		if (c->mapped && a >= b && a - b <= c->size && len <= c->size - (a - b))
			return true;
	}
	return false;
}

bool fz_host_gpa(const struct fz_layout *l, const void *p, uint64_t *gpa)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < l->nchunks; i++) {
		const struct fz_chunk *c = &l->chunk[i];
		uintptr_t b = (uintptr_t)c->hva;

		if (c->mapped && a >= b && a - b < c->size) {
			*gpa = c->gpa + (a - b);
			return true;
		}
	}
	return false;
}

uint64_t fz_data_gpa(const struct fz_layout *l, size_t off)
{
	off %= FZ_DATA_BYTES;
	for (unsigned i = 1; i <= l->ndata; i++) {
		const struct fz_chunk *c = &l->chunk[i];
		size_t s = (size_t)(c->hva - l->data);

		if (off >= s && off - s < c->size)
			return c->gpa + (off - s);
	}
	/* fixed layout: the data area follows the rings inside region 0 */
	return l->chunk[0].gpa + l->ring_bytes + off;
}

/* ---- operand decoders ---------------------------------------------------- */

static const struct fz_chunk *pick_data_chunk(const struct fz_layout *l, unsigned v)
{
	if (l->ndata == 0)
		return &l->chunk[0];
	return &l->chunk[1 + v % l->ndata];
}

uint64_t fz_addr(struct fz_in *in, const struct fz_layout *l)
{
	uint8_t sel = fz_u8(in);
	const struct fz_chunk *c = pick_data_chunk(l, sel >> 3);

	switch (sel & 7) {
	case 0: /* inside a data chunk (mapped or hole) */
		return c->gpa + fz_u16(in) % c->size;
	case 1: /* data-area host offset, wherever it is mapped */
		return fz_data_gpa(l, fz_u16(in));
	case 2: /* just before the end of a chunk: straddles into the next GPA */
		return c->gpa + c->size - 1 - fz_u8(in) % 64;
	case 3:
		return fz_u64(in);
	case 4: /* just below 2^64 */
		return UINT64_MAX - fz_u16(in);
	case 5: /* the rings themselves */
		return l->chunk[0].gpa + fz_u16(in) % l->ring_bytes;
	case 6: /* table zone */
		return fz_data_gpa(l, FZ_BUF_ZONE + (size_t)(fz_u8(in) % 8) * 1024);
	default: /* huge region, or the gap after a chunk */
		if (l->huge)
			return FZ_HUGE_GPA + fz_u32(in);
		return c->gpa + c->size + fz_u8(in);
	}
}

uint32_t fz_len(struct fz_in *in)
{
	uint8_t sel = fz_u8(in);

	switch (sel & 7) {
	case 0:
		return fz_u8(in);
	case 1:
		return fz_u16(in);
	case 2:
		return fz_u32(in);
	case 3:
		return 0;
	case 4:
		return UINT32_MAX - fz_u8(in);
	case 5:
		return 16u * fz_u8(in);
	case 6:
		return 16u * fz_u8(in) + 8;
	default:
		return 0x80000000u + fz_u16(in);
	}
}
