// SPDX-License-Identifier: Apache-2.0
/*
 * fz_snap.c - the write oracle around every core call (fz_pre()/fz_post()).
 *
 * Before a call: bring the guest-RAM snapshot up to date (incremental: the
 * 64-byte blocks the harness noted, the device span the last call changed),
 * or arm the write guard (large guest RAM) or the double-fetch trap
 * (DF_TRAP).  After it: every changed byte of the ranges the device may
 * write is checked at once; the rest of guest RAM, which no call may change,
 * is checked deferred (before each harness store, fz_snap_note(), and at the
 * end of the input, fz_settle()), or by the guard.  fz_call.c wraps the core
 * calls in these and checks their contracts; fuzz/README.md, "Oracles".
 */
#include "fuzz/fz_vq_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- incremental snapshot ------------------------------------------------- */

static struct fz_run *fz_snap_run; /* the run whose harness writes are noted */

static bool snap_inc(const struct fz_run *r)
{
	/* (DF_POST too: its after-pop rewrite notes what it changes, and its
	 * replay leaves guest RAM as the first pop did: the device span
	 * post_lazy() recorded, or the blocks an eager fz_post() marked) */
	return !r->df_trap && r->l.arena_size < FZ_GUARD_MIN;
}

_Static_assert(FZ_GUARD_MIN / 64 / 64 <= 32, "snap_wsum has a bit per snap_blk word");

static void snap_mark(struct fz_run *r, size_t o, size_t len)
{
	size_t last;

	if (o >= r->l.arena_size)
		return;
	last = o + len - 1 < r->l.arena_size ? o + len - 1 : r->l.arena_size - 1;
	for (size_t b = o / 64; b <= last / 64; b++) {
		r->snap_blk[b / 64] |= 1ULL << (b % 64);
		r->snap_wsum |= 1u << (b / 64);
	}
}

/* ---- deferred whole-RAM check ------------------------------------------- */

/* Copy what the last deferred call changed in the device ranges into the
 * snapshot (its diff checked every changed byte there). */
static void lz_sync(struct fz_run *r)
{
	for (unsigned i = 0; i < r->lz_n; i++)
		if (r->lz_chi[i])
			memcpy(r->snap + r->lz_clo[i], r->l.arena + r->lz_clo[i],
			       r->lz_chi[i] - r->lz_clo[i]);
	r->lz_n = 0;
}

/* Guest byte at arena offset @o changed since the last whole-RAM check,
 * outside any device range and not stored by the harness: a stray store by
 * one of the deferred calls. */
static void lz_stray(struct fz_run *r, size_t o, const char *at)
{
	unsigned n = r->unsettled;

	r->unsettled = 0; /* (reported here, not again by lz_on_fail()) */
	FZ_CHECK(0,
		 "a core call wrote guest RAM outside device areas: arena+%#zx %02x->%02x "
		 "(found at %s; %u calls since the last whole-RAM check, the first %s; "
		 "FZ_EAGER_DIFF=1 names the call)",
		 o, r->snap[o], r->l.arena[o], at, n,
		 r->unsettled_first ? r->unsettled_first : "-");
}

/* The first byte of arena [@o, @o + @len) outside the marked 64-byte blocks
 * that differs from the snapshot, or SIZE_MAX. */
static size_t lz_scan(struct fz_run *r, size_t o, size_t len)
{
	const uint8_t *a = r->l.arena, *b = r->snap;
	size_t n = r->l.arena_size, end = o + len < n ? o + len : n;

	lz_sync(r);
	/* runs of unmarked blocks, one diff each (marked blocks were stored by
	 * the harness since the last call) */
	for (size_t blk = o / 64, bend = (end + 63) / 64; blk < bend;) {
		uint64_t m = r->snap_blk[blk / 64] >> (blk % 64);
		size_t left = 64 - blk % 64, run, lo, hi, d;

		if (m & 1) { /* skip the marked run */
			run = ~m ? (size_t)__builtin_ctzll(~m) : left;
			blk += run < left ? run : left;
			continue;
		}
		run = m ? (size_t)__builtin_ctzll(m) : left;
		lo = blk * 64;
		blk = blk + run < bend ? blk + run : bend;
		/* (whole blocks: a marked block's snapshot is replaced whole) */
		hi = blk * 64 < n ? blk * 64 : n;
		d = fz_next_diff(a, b, lo, hi);
		if (d < hi)
			return d;
	}
	return SIZE_MAX;
}

/* Compare the unmarked blocks of arena [@o, @o + @len) with the snapshot. */
static void lz_verify(struct fz_run *r, size_t o, size_t len, const char *at)
{
	size_t d = lz_scan(r, o, len);

	if (d != SIZE_MAX)
		lz_stray(r, d, at);
}

/* fz_fail() hook: another oracle failed while calls were deferred.  A stray
 * store may be why (it can change what the device reads next): say so. */
static void lz_on_fail(void)
{
	struct fz_run *r = fz_snap_run;
	size_t d;

	if (!r || !r->unsettled)
		return;
	d = lz_scan(r, 0, r->l.arena_size);
	if (d != SIZE_MAX)
		fprintf(stderr,
			"fz: and guest RAM at arena+%#zx changed %02x->%02x outside device areas "
			"during the last %u calls (the first %s): a stray store, reported late by "
			"the deferred write check; FZ_EAGER_DIFF=1 names the call\n",
			d, r->snap[d], r->l.arena[d], r->unsettled,
			r->unsettled_first ? r->unsettled_first : "-");
}

/**
 * fz_settle() - the whole-RAM half of the deferred write oracle.
 * @r: run
 * @at: where it runs, for the report
 *
 * Deferred calls diffed only the ranges the device may write; every other
 * guest byte must still equal the snapshot unless the harness stored it
 * since the last call (its blocks are marked, and were compared before the
 * store, fz_snap_note()).  Runs at the end of every input and before
 * anything replaces the snapshot wholesale, so no stray store goes unseen:
 * it is only reported later than eager mode would, without the call's name.
 */
void fz_settle(struct fz_run *r, const char *at)
{
	if (!r->unsettled)
		return;
	lz_verify(r, 0, r->l.arena_size, at);
	r->unsettled = 0;
	r->unsettled_first = NULL;
}

/**
 * fz_snap_note() - the harness (the guest) is about to store to guest RAM
 * at [@p, @p + @len).
 *
 * Every harness store to guest RAM goes through here, before the store
 * (directly, through fz_ring_store16(), or through fz_ref_write()'s hook), so
 * fz_pre() can bring the snapshot up to date by copying only what changed.
 * With the deferred check the blocks are first compared with the snapshot:
 * a stray device store there is reported before the harness overwrites it.
 * A store noted late, or not at all, shows up as a device write (a loud
 * false positive, never a silent miss); FZ_SNAP_CHECK=1 names it at fz_pre().
 */
void fz_snap_note(const void *p, size_t len)
{
	struct fz_run *r = fz_snap_run;
	const uint8_t *q = p;
	size_t o;

	if (!r || !r->snap_ok || !len || !fz_in_range(q, r->l.arena, r->l.arena_size))
		return;
	o = (size_t)(q - r->l.arena);
	if (r->lazy)
		lz_verify(r, o, len, "a harness store");
	snap_mark(r, o, len);
}

void fz_snap_begin(struct fz_run *r)
{
	const char *c = getenv("FZ_SNAP_CHECK"), *e = getenv("FZ_EAGER_DIFF");
	const char *s = getenv("FZ_PLANT_STRAY");

	r->snap_check = c && *c && *c != '0';
	r->eager = e && *e && *e != '0';
	r->plant_at = s ? (unsigned)strtoul(s, NULL, 0) : 0;
	r->plant_desc = s && strstr(s, ",desc");
	r->snap_ok = false;
	r->lazy = false;
	r->unsettled = 0;
	r->lz_n = 0;
	fz_snap_run = r;
	fz_write_hook = fz_snap_note;
	fz_fail_hook = lz_on_fail;
}

void fz_snap_end(struct fz_run *r)
{
	(void)r;
	fz_snap_run = NULL;
	fz_write_hook = NULL;
	fz_fail_hook = NULL;
}

/* Bring the snapshot up to date: copy the marked blocks, or everything. */
static void snap_take(struct fz_run *r)
{
	if (!snap_inc(r) || !r->snap_ok) {
		fz_settle(r, "a full snapshot");
		memcpy(r->snap, r->l.arena, r->l.arena_size);
		memset(r->snap_blk, 0, sizeof(r->snap_blk));
		r->snap_wsum = 0;
		r->snap_ok = snap_inc(r);
		return;
	}
	for (uint32_t ws = r->snap_wsum; ws; ws &= ws - 1) { /* words with marks */
		size_t w = (size_t)__builtin_ctz(ws);
		uint64_t m = r->snap_blk[w];

		while (m) {
			unsigned b = (unsigned)__builtin_ctzll(m), e = b;
			size_t o, len;

			while (e < 64 && (m >> e) & 1)
				e++;
			o = (w * 64 + b) * 64;
			len = (size_t)(e - b) * 64;
			if (o + len > r->l.arena_size)
				len = r->l.arena_size - o;
			memcpy(r->snap + o, r->l.arena + o, len);
			m = e < 64 ? m & (~0ULL << e) : 0; /* bits below b are clear */
		}
		r->snap_blk[w] = 0;
	}
	r->snap_wsum = 0;
	if (r->snap_check && memcmp(r->snap, r->l.arena, r->l.arena_size) != 0) {
		size_t o = 0;

		while (r->snap[o] == r->l.arena[o])
			o++;
		FZ_CHECK(0, "FZ_SNAP_CHECK: guest RAM at arena+%#zx changed (%02x->%02x) without "
			    "fz_snap_note()", o, r->snap[o], r->l.arena[o]);
	}
}

/* ---- around every core call --------------------------------------------- */

static void trap_setup(struct fz_run *r)
{
	struct fz_trap *t = &r->trap;
	uint32_t n = r->cfg.size;

	t->base = r->l.arena;
	t->len = r->l.arena_size;
	t->mirror = r->snap;
	t->in = &r->in;
	t->nskip = 0;
	t->skip[t->nskip].lo = r->rg.dev;
	t->skip[t->nskip++].hi = r->rg.dev + r->rg.dev_len;
	if (r->packed) {
		/* consumed-but-not-used slots hold staged used descriptors */
		uint32_t a = r->us_pos, b = a + (r->win < n ? r->win : n);

		t->skip[t->nskip].lo = r->rg.desc + 16 * a;
		t->skip[t->nskip++].hi = r->rg.desc + 16 * (b < n ? b : n);
		if (b > n) {
			t->skip[t->nskip].lo = r->rg.desc;
			t->skip[t->nskip++].hi = r->rg.desc + 16 * (b - n);
		}
	}
}

/* Add host range [@p, @p + @len) of guest RAM, widened to pages, to the guard's
 * writable set (kept ascending and disjoint). */
static void guard_add(struct fz_run *r, const uint8_t *p, size_t len)
{
	struct fz_guard *g = &r->guard;
	size_t lo, hi;
	unsigned i, j;

	if (!len || !fz_in_range(p, r->l.arena, r->l.arena_size))
		return;
	lo = (size_t)(p - r->l.arena) / FZ_PAGE * FZ_PAGE;
	hi = (size_t)(p - r->l.arena) + len;
	hi = hi > r->l.arena_size ? r->l.arena_size : (hi + FZ_PAGE - 1) / FZ_PAGE * FZ_PAGE;
	for (i = 0; i < g->nrw && g->rw[i].hi < lo; i++)
		;
	/* merge with every range it touches */
	for (j = i; j < g->nrw && g->rw[j].lo <= hi; j++) {
		lo = g->rw[j].lo < lo ? g->rw[j].lo : lo;
		hi = g->rw[j].hi > hi ? g->rw[j].hi : hi;
	}
	memmove(&g->rw[i + 1], &g->rw[j], (g->nrw - j) * sizeof(g->rw[0]));
	g->nrw = g->nrw - (j - i) + 1;
	g->rw[i].lo = lo;
	g->rw[i].hi = hi;
}

/*
 * Large guest RAM: instead of copying and diffing all of it around each call,
 * write-protect every page that holds no byte the device may write (a store
 * there is reported by the guard's handler) and snapshot only the rest, which
 * fz_post() diffs byte by byte as before.  Same guarantee, a few syscalls.
 * The writable set is a superset of what fz_post() allows after the call
 * (a packed vq_pop: the whole descriptor ring, as its window grows by the
 * slots it consumes), so nothing write_allowed() accepts can fault.
 */
static bool guard_setup(struct fz_run *r)
{
	struct fz_guard *g = &r->guard;
	uint32_t n = r->cfg.size;

	if (r->l.arena_size < FZ_GUARD_MIN || r->df_post)
		return false; /* small: a plain diff is cheaper; DF_POST replays all */
	g->base = r->l.arena;
	g->len = r->l.arena_size;
	g->nrw = 0;
	guard_add(r, r->rg.dev, r->rg.dev_len);
	if (r->packed && r->rg.desc && n) {
		/* A pop widens the window by the slots it consumes, and may
		 * stage (write) a rejected chain there, so pops need the whole
		 * ring writable.  The other calls get it too: the diff still
		 * holds every changed byte to the window (write_allowed()),
		 * and a writable set that does not change from call to call
		 * costs no mprotect() (TLB shoot-downs) with the lazy guard,
		 * where alternating pop / has_work / notify calls re-protected
		 * the ring every time. */
		guard_add(r, r->rg.desc, 16ULL * n);
	}
	for (unsigned i = 0; i < g->nrw; i++)
		memcpy(r->snap + g->rw[i].lo, r->l.arena + g->rw[i].lo, g->rw[i].hi - g->rw[i].lo);
	return fz_guard_arm(g);
}

/* The pre-call value of guest byte @p: a guarded call could not change pages
 * outside its writable set, and only those were snapshotted. */
const uint8_t *fz_snap_at(const struct fz_run *r, const uint8_t *p)
{
	size_t o = (size_t)(p - r->l.arena);

	if (r->guarded) {
		unsigned i;

		for (i = 0; i < r->guard.nrw; i++)
			if (o >= r->guard.rw[i].lo && o < r->guard.rw[i].hi)
				break;
		if (i == r->guard.nrw)
			return p;
	}
	return r->snap + o;
}

/* Note the ring areas outside the arena (see struct fz_ext). */
void fz_set_ext(struct fz_run *r)
{
	const struct fz_ext a[3] = { { r->rg.desc, r->rg.desc_len },
				     { r->rg.drv, r->rg.drv_len },
				     { r->rg.dev, r->rg.dev_len } };
	size_t total = 0;

	r->next = 0;
	for (unsigned i = 0; i < 3; i++) {
		if (!a[i].p || fz_in_range(a[i].p, r->l.arena, r->l.arena_size))
			continue;
		r->ext[r->next++] = a[i];
		total += a[i].len;
	}
	if (total > r->ext_cap) {
		uint8_t *s = realloc(r->ext_snap, total), *t;

		if (s)
			r->ext_snap = s;
		t = s ? realloc(r->ext_after, total) : NULL;
		if (t)
			r->ext_after = t;
		if (!s || !t) {
			r->next = 0; /* out of memory: those bytes go unchecked */
			return;
		}
		r->ext_cap = total;
	}
}

/* Copy the ext[] ranges into @buf (@save) or back from it. */
void fz_ext_copy(struct fz_run *r, uint8_t *buf, bool save)
{
	for (unsigned i = 0; i < r->next; i++) {
		if (save)
			memcpy(buf, r->ext[i].p, r->ext[i].len);
		else
			memcpy(r->ext[i].p, buf, r->ext[i].len);
		buf += r->ext[i].len;
	}
}

bool fz_ext_equal(const struct fz_run *r, const uint8_t *buf)
{
	for (unsigned i = 0; i < r->next; i++) {
		if (memcmp(r->ext[i].p, buf, r->ext[i].len) != 0)
			return false;
		buf += r->ext[i].len;
	}
	return true;
}

void fz_pre(struct fz_run *r)
{
	fz_ext_copy(r, r->ext_snap, true);
	r->guarded = false;
	/* The frontend may collect the log between any two calls.
	 * FZ_KNOWN_BUGS=log-publish: not while completions are staged. */
	if (r->log && !(r->kb_log_publish && r->ncpl))
		for (unsigned i = 0; i < r->log_nr; i++)
			memset(r->log + r->log_lo[i], 0, r->log_hi[i] - r->log_lo[i]);
	/* (once the input is used up, a trap could rewrite nothing more) */
	r->ncalls++;
	if (r->df_trap && r->started && !r->broken && r->trap_budget > 0 && !fz_done(&r->in)) {
		fz_guard_disarm(&r->guard); /* (if an earlier call was guarded) */
		fz_settle(r, "a trap-mode call");
		r->lazy = false;
		memcpy(r->snap, r->l.arena, r->l.arena_size); /* (no incremental snapshot) */
		trap_setup(r);
		fz_trap_arm(&r->trap);
		return;
	}
	if (r->snap_check)
		fz_settle(r, "FZ_SNAP_CHECK");
	lz_sync(r);
	r->guarded = guard_setup(r);
	if (!r->guarded)
		snap_take(r);
	r->lazy = !r->guarded && r->snap_ok && !r->eager;
}

/**
 * fz_log_ranges() - note which dirty-bitmap bytes cover mapped guest RAM.
 * @r: run, layout built, r->log allocated
 *
 * The device logs the pages it writes, and it can write mapped guest RAM
 * only, so only these bytes can change during a call: fz_pre() clears just
 * them (the whole bitmap, up to 16 KiB, was a memset per call), and
 * fz_log_check_rest() reports a bit set in any other bitmap byte: a page
 * logged that is no guest RAM (a wrong GPA in the log path).  Bytes are the
 * grain: a stray bit in a byte that also covers guest RAM is cleared unseen.
 */
void fz_log_ranges(struct fz_run *r)
{
	uint64_t pages = (uint64_t)r->log_size * 8;

	r->log_nr = 0;
	for (unsigned i = 0; i < r->l.nchunks; i++) {
		const struct fz_chunk *c = &r->l.chunk[i];
		uint64_t first = c->gpa / FZ_LOG_PAGE, last;

		if (!c->mapped || !c->size || first >= pages)
			continue;
		last = (c->gpa + (c->size - 1)) / FZ_LOG_PAGE; /* (chunks end by 2^64) */
		if (last >= pages)
			last = pages - 1;
		r->log_lo[r->log_nr] = (uint32_t)(first / 8);
		r->log_hi[r->log_nr++] = (uint32_t)(last / 8 + 1);
	}
}

/* End of the input: no bit outside fz_log_ranges() was ever set (they are
 * never cleared, so one check sees every call's). */
void fz_log_check_rest(const struct fz_run *r)
{
	if (!r->log)
		return;
	for (size_t b = 0; b < r->log_size; b++) {
		bool covered = false;

		if (!r->log[b])
			continue;
		for (unsigned i = 0; i < r->log_nr && !covered; i++)
			covered = b >= r->log_lo[i] && b < r->log_hi[i];
		FZ_CHECK(covered,
			 "the dirty log marks page %#zx (bitmap byte %zu = %02x), which holds no "
			 "mapped guest RAM", b * 8 + (size_t)__builtin_ctz(r->log[b]), b, r->log[b]);
	}
}

/* Migration: every guest byte the device wrote must be in a dirty page. */
void fz_check_logged(const struct fz_run *r, const void *p, size_t len, const char *what)
{
	uint64_t gpa, page, last;

	if (!r->log || !len || !fz_host_gpa(&r->l, p, &gpa))
		return;
	last = (gpa + (len - 1)) / FZ_LOG_PAGE;
	for (page = gpa / FZ_LOG_PAGE; page <= last && page < r->log_size * 8ULL; page++)
		FZ_CHECK(r->log[page / 8] & (1u << (page % 8)),
			 "%s wrote guest page %#llx (gpa %#llx) without logging it dirty", what,
			 (unsigned long long)page, (unsigned long long)gpa);
}

static bool write_allowed(const struct fz_run *r, const uint8_t *p)
{
	if (fz_in_range(p, r->rg.dev, r->rg.dev_len))
		return true;
	if (r->packed && fz_in_range(p, r->rg.desc, r->rg.desc_len))
		return fz_in_window(r, (uint32_t)((p - r->rg.desc) / 16));
	return false;
}

/* Guest byte at arena offset @o changed during call @what. */
static void post_byte(struct fz_run *r, bool may_write, const char *what, size_t o)
{
	const uint8_t *a = r->l.arena, *b = r->snap;

	FZ_CHECK(may_write && write_allowed(r, a + o),
		 "%s wrote guest RAM outside device areas: arena+%#zx %02x->%02x%s", what, o, b[o],
		 a[o], may_write ? "" : " (no write allowed)");
	fz_check_logged(r, a + o, 1, what);
	if (r->snap_ok && !r->lazy)
		snap_mark(r, o, 1); /* the next fz_pre() copies it */
}

/* The arena part of [@p, @p + @len) as offsets; false if there is none. */
static bool arena_part(const struct fz_run *r, const uint8_t *p, size_t len, size_t *lo,
		       size_t *hi)
{
	uintptr_t a = (uintptr_t)r->l.arena, e = a + r->l.arena_size;
	uintptr_t x = (uintptr_t)p, y = x + len;

	if (!p || !len || y < x || y <= a || x >= e)
		return false;
	*lo = (x > a ? x : a) - a;
	*hi = (y < e ? y : e) - a;
	return true;
}

/* Deferred call: diff the ranges the device may write (write_allowed() holds
 * each changed byte to them exactly), leave the rest to fz_settle(). */
static void post_lazy(struct fz_run *r, bool may_write, const char *what)
{
	const uint8_t *p[2] = { r->rg.dev, r->packed ? r->rg.desc : NULL };
	size_t len[2] = { r->rg.dev_len, r->packed ? r->rg.desc_len : 0 };

	r->lz_n = 0;
	for (unsigned i = 0; i < 2; i++) {
		size_t lo, hi, first = 0, end = 0;

		if (!arena_part(r, p[i], len[i], &lo, &hi))
			continue;
		for (size_t o = fz_next_diff(r->l.arena, r->snap, lo, hi); o < hi;
		     o = fz_next_diff(r->l.arena, r->snap, o + 1, hi)) {
			post_byte(r, may_write, what, o);
			if (!end)
				first = o;
			end = o + 1;
		}
		r->lz_lo[r->lz_n] = lo;
		r->lz_hi[r->lz_n] = hi;
		r->lz_clo[r->lz_n] = first;
		r->lz_chi[r->lz_n++] = end;
	}
	if (!r->unsettled++)
		r->unsettled_first = what;
}

/* FZ_PLANT_STRAY=N[,desc]: call N of the run stores one byte outside the
 * device areas, as a buggy device would (a self-test of the write oracle):
 * the last byte of guest RAM, or with ",desc" the first descriptor's. */
static void plant_stray(struct fz_run *r)
{
	size_t o = r->l.arena_size - 1;
	size_t lo, hi;

	if (r->plant_desc && arena_part(r, r->rg.desc, r->rg.desc_len, &lo, &hi))
		o = lo;
	if (r->ncalls != r->plant_at || write_allowed(r, r->l.arena + o))
		return;
	r->l.arena[o] ^= 0x5a;
	fprintf(stderr, "fz: FZ_PLANT_STRAY: call %u stored arena+%#zx\n", r->ncalls, o);
}

/**
 * fz_post() - after a core call: diff guest RAM against the fz_pre() snapshot.
 * @r: run
 * @may_write: the call may write device areas (started, not broken, not a
 *             read-only call)
 * @what: call name for the report
 *
 * Every changed byte must lie in a device area (write_allowed()) and, when
 * dirty logging is on, in a page the call marked dirty.
 */
void fz_post(struct fz_run *r, bool may_write, const char *what)
{
	const uint8_t *a = r->l.arena, *b = r->snap;
	size_t n = r->l.arena_size, off = 0;

	if (r->plant_at)
		plant_stray(r);
	for (unsigned i = 0; i < r->next; i++) {
		const uint8_t *p = r->ext[i].p, *e = r->ext_snap + off;

		off += r->ext[i].len;
		if (memcmp(p, e, r->ext[i].len) == 0)
			continue;
		for (size_t o = 0; o < r->ext[i].len; o++) {
			if (p[o] == e[o])
				continue;
			FZ_CHECK(may_write && write_allowed(r, p + o),
				 "%s wrote guest RAM outside device areas: ring byte %p %02x->%02x%s",
				 what, (const void *)(p + o), e[o], p[o],
				 may_write ? "" : " (no write allowed)");
			fz_check_logged(r, p + o, 1, what);
		}
	}
	if (r->df_trap && r->trap.base) {
		fz_trap_disarm(&r->trap);
		r->trap.base = NULL;
		r->trap_budget -= r->trap.faults < (unsigned)r->trap_budget ? (int)r->trap.faults
									    : r->trap_budget;
	}
	if (r->guarded) {
		/* read-only pages were checked by the guard; diff the others
		 * (the pages stay protected until the harness writes one) */
		fz_guard_end(&r->guard);
		for (unsigned i = 0; i < r->guard.nrw; i++) {
			size_t lo = r->guard.rw[i].lo, hi = r->guard.rw[i].hi;

			for (size_t o = fz_next_diff(a, b, lo, hi); o < hi;
			     o = fz_next_diff(a, b, o + 1, hi))
				post_byte(r, may_write, what, o);
		}
		return;
	}
	if (r->lazy) {
		post_lazy(r, may_write, what);
		return;
	}
	for (size_t o = fz_next_diff(a, b, 0, n); o < n; o = fz_next_diff(a, b, o + 1, n))
		post_byte(r, may_write, what, o);
}
