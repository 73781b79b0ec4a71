// SPDX-License-Identifier: Apache-2.0
/*
 * fz_dfpost.c - DF_POST (FZ_M_DF_POST): the replay of every pop and the
 * guest's rewrite after it.
 *
 * fz_do_pop() (fz_call.c) saves the queue state before the call
 * (fz_vq_state_copy()); fz_replay_pop() restores queue state and guest RAM and pops
 * again, requiring the same status, chain, guest writes and queue state;
 * fz_mutate_after_pop() then rewrites what the device just read (descriptor
 * table, avail entry, indirect-table zone) with a key stream from the input
 * (fuzz/README.md, "Double-fetch modes").
 */
#include "fuzz/fz_vq_int.h"

#include <stddef.h>
#include <string.h>

/* Deferred pop: only the device ranges its diff covered can differ from the
 * snapshot (a stray store elsewhere is fz_settle()'s to report), so saving,
 * restoring and comparing those ranges is the whole replay state.
 * (@save: copy them to df_after; else restore them from the snapshot.) */
static void lz_ranges_copy(struct fz_run *r, bool save)
{
	for (unsigned i = 0; i < r->lz_n; i++) {
		size_t lo = r->lz_lo[i], len = r->lz_hi[i] - lo;

		if (save)
			memcpy(r->df_after + lo, r->l.arena + lo, len);
		else
			memcpy(r->l.arena + lo, r->snap + lo, len);
	}
}

static bool lz_ranges_equal(const struct fz_run *r)
{
	for (unsigned i = 0; i < r->lz_n; i++) {
		size_t lo = r->lz_lo[i];

		if (memcmp(r->l.arena + lo, r->df_after + lo, r->lz_hi[i] - lo) != 0)
			return false;
	}
	return true;
}

/*
 * Queue state for the DF_POST replay without the in-flight map's words past
 * the queue size (4 KiB of struct vq, mostly never used: a 64-entry queue
 * uses one word).  The words past the size are never written by the core;
 * the copies below leave them as they are.
 */
static size_t vq_map_bytes(const struct vq *q)
{
	return ((size_t)q->size + 63) / 64 * sizeof(q->inflight_map[0]);
}

void fz_vq_state_copy(struct vq *dst, const struct vq *src)
{
	memcpy(dst, src, offsetof(struct vq, inflight_map));
	memcpy(dst->inflight_map, src->inflight_map, vq_map_bytes(src));
	dst->stats = src->stats;
}

static bool vq_state_equal(const struct vq *a, const struct vq *b)
{
	return memcmp(a, b, offsetof(struct vq, inflight_map)) == 0 &&
	       memcmp(a->inflight_map, b->inflight_map, vq_map_bytes(a)) == 0 &&
	       memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0;
}

/* Pop again from the saved state: same result, same memory, same queue. */
void fz_replay_pop(struct fz_run *r, enum vq_status st)
{
	struct vq_chain c2;
	enum vq_status st2;
	unsigned n = (unsigned)r->c.n_out + r->c.n_in;
	bool lazy = r->lazy;

	if (lazy)
		lz_ranges_copy(r, true);
	else
		memcpy(r->df_after, r->l.arena, r->l.arena_size);
	fz_ext_copy(r, r->ext_after, true);
	fz_vq_state_copy(&r->df_vq[1], &r->vq);
	if (lazy)
		lz_ranges_copy(r, false);
	else
		memcpy(r->l.arena, r->snap, r->l.arena_size);
	fz_ext_copy(r, r->ext_snap, false);
	fz_vq_state_copy(&r->vq, &r->df_vq[0]);

	vq_chain_init(&c2, r->iov2, r->iov_cap);
	st2 = vq_pop(&r->vq, &c2);
	FZ_CHECK(st2 == st, "replayed pop: status %d, first %d", st2, st);
	if (st == VQ_OK || st == VQ_BAD_CHAIN) {
		FZ_CHECK(c2.id == r->c.id && c2.nslots == r->c.nslots && c2.n_out == r->c.n_out &&
				 c2.n_in == r->c.n_in && c2.out_bytes == r->c.out_bytes &&
				 c2.in_bytes == r->c.in_bytes && c2.fault == r->c.fault,
			 "replayed pop: different chain");
		FZ_CHECK(memcmp(c2.iov, r->c.iov, n * sizeof(*c2.iov)) == 0,
			 "replayed pop: different iovecs");
	}
	FZ_CHECK((lazy ? lz_ranges_equal(r)
		       : memcmp(r->l.arena, r->df_after, r->l.arena_size) == 0) &&
			 fz_ext_equal(r, r->ext_after),
		 "replayed pop: different guest writes");
	FZ_CHECK(vq_state_equal(&r->vq, &r->df_vq[1]),
		 "replayed pop: different queue state");
}

/*
 * The rewrite key stream: x <- x * 167 + 13 (mod 256) from the input's seed,
 * one byte per guest byte.  That map is a permutation of the bytes made of
 * four cycles of length 64, so the stream repeats every 64 bytes: make one
 * period (plus 8 bytes, so any 8-byte window is contiguous) per rewrite and
 * XOR it in 8 bytes at a time instead of stepping the map byte by byte (the
 * byte loop was 38 % of a DF_POST campaign input; the bytes written are the
 * same).
 */
#define DF_KEY_PERIOD 64

struct df_key {
	uint8_t k[DF_KEY_PERIOD + 8];
	unsigned ph; /* next stream byte: k[ph] */
};

static void df_key_init(struct df_key *key, uint8_t seed)
{
	uint8_t x = seed;

	for (unsigned i = 0; i < DF_KEY_PERIOD; i++) {
		x = (uint8_t)(x * 167 + 13);
		key->k[i] = x;
	}
	memcpy(key->k + DF_KEY_PERIOD, key->k, 8);
	key->ph = 0;
}

/* XOR the next @len stream bytes into @p. */
static FZ_NOCOV FZ_NOASAN void df_key_xor(struct df_key *key, uint8_t *p, size_t len)
{
	unsigned ph = key->ph;
	size_t i = 0;
	uint64_t w, k;

	if (len >= 2 * DF_KEY_PERIOD) {
		/* whole periods: the key rotated to the phase, 64 bytes a step
		 * (the phase is the same at every step) */
		uint64_t rot[DF_KEY_PERIOD / 8];

		for (unsigned j = 0; j < DF_KEY_PERIOD / 8; j++)
			memcpy(&rot[j], key->k + (ph + 8 * j) % DF_KEY_PERIOD, 8);
		for (; i + DF_KEY_PERIOD <= len; i += DF_KEY_PERIOD)
			for (unsigned j = 0; j < DF_KEY_PERIOD / 8; j++) {
				memcpy(&w, p + i + 8 * j, 8);
				w ^= rot[j];
				memcpy(p + i + 8 * j, &w, 8);
			}
	}
	for (; i + 8 <= len; i += 8, ph = (ph + 8) % DF_KEY_PERIOD) {
		memcpy(&w, p + i, 8);
		memcpy(&k, key->k + ph, 8);
		w ^= k;
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++, ph = (ph + 1) % DF_KEY_PERIOD)
		p[i] ^= key->k[ph];
	key->ph = ph;
}

/* Skip @len stream bytes (the rewrite leaves those guest bytes alone). */
static void df_key_skip(struct df_key *key, size_t len)
{
	key->ph = (unsigned)((key->ph + len) % DF_KEY_PERIOD);
}

/*
 * XOR the stream into the indirect-table zone except where a device-written
 * ring area lies in it (the fuzz layout may put the rings anywhere in guest
 * RAM, also there): the used ring / device event, and the whole packed
 * descriptor ring, whose staged used entries the completion oracle checks
 * byte for byte.  The key advances over skipped bytes, so the bytes written
 * elsewhere are the same as without the skip.  (Found by the CI fuzz smoke of
 * fuzz_indirect: a packed ring inside the zone had a staged used entry
 * rewritten; corpus/indirect/crash-post-rewrite-hit-staged-used-entry.bin.)
 */
static FZ_NOCOV FZ_NOASAN void df_key_xor_zone(struct df_key *key, const struct fz_run *r,
						uint8_t *p, size_t len)
{
	const uint8_t *lo[2], *hi[2];
	unsigned n = 0;
	size_t at = 0;

	if (r->rg.dev && r->rg.dev_len)
		lo[n] = r->rg.dev, hi[n] = r->rg.dev + r->rg.dev_len, n++;
	if (r->packed && r->rg.desc && r->rg.desc_len)
		lo[n] = r->rg.desc, hi[n] = r->rg.desc + r->rg.desc_len, n++;
	if (n == 2 && lo[1] < lo[0]) {
		const uint8_t *t = lo[0], *u = hi[0];

		lo[0] = lo[1], hi[0] = hi[1], lo[1] = t, hi[1] = u;
	}
	for (unsigned i = 0; i < n && at < len; i++) {
		size_t a, b;

		if (hi[i] <= p + at || lo[i] >= p + len)
			continue; /* (outside the zone, or behind us) */
		a = lo[i] > p + at ? (size_t)(lo[i] - p) : at;
		b = hi[i] < p + len ? (size_t)(hi[i] - p) : len;
		df_key_xor(key, p + at, a - at);
		df_key_skip(key, b - a);
		at = b;
	}
	df_key_xor(key, p + at, len - at);
}

/* After a pop, the guest rewrites what the device just read.  (Loops over
 * ring and table zone, in bounds by construction: not ASan-instrumented.) */
FZ_NOCOV FZ_NOASAN void fz_mutate_after_pop(struct fz_run *r, uint16_t pos0, uint16_t nslots)
{
	uint8_t seed = fz_u8(&r->in);
	uint32_t n = r->cfg.size;
	struct df_key key;

	if (!seed)
		return;
	/* the incremental snapshot must copy these blocks at the next fz_pre() */
	fz_snap_note(r->rg.desc, r->rg.desc_len);
	fz_snap_note(r->rg.drv, r->rg.drv_len);
	fz_snap_note(r->l.data + FZ_BUF_ZONE, FZ_TAB_ZONE);
	df_key_init(&key, seed);
	if (!r->packed) {
		/* The split table is never device-written: rewrite all of it. */
		df_key_xor(&key, r->rg.desc, r->rg.desc_len);
		r->rg.drv[4 + 2 * ((uint16_t)(pos0) & (n - 1))] ^= seed;
	} else {
		/* Consumed slots may hold staged used entries: only their
		 * address fields are free for the guest to rewrite. */
		for (uint32_t s = 0; s < nslots; s++)
			df_key_xor(&key, r->rg.desc + 16 * ((pos0 + s) % n), 8);
	}
	df_key_xor_zone(&key, r, r->l.data + FZ_BUF_ZONE, FZ_TAB_ZONE);
	fz_set_dirty(r);
}
