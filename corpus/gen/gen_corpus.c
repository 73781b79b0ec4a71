// SPDX-License-Identifier: Apache-2.0
/*
 * gen_corpus.c - writes the seed corpora and dictionaries of the fuzz targets.
 *
 * Usage: gen_corpus <corpus-dir>
 *
 * For every target it removes <corpus-dir>/<target>/seed-*.bin and writes
 * them again, plus <corpus-dir>/<target>.dict.  Output depends on nothing but
 * this file, so running it twice gives identical files (corpus/regen.sh).
 * Files not named seed-* (crash reproducers, minimised fuzzer finds) are left
 * alone.
 *
 * Seeds are written in the op language of fuzz/README.md through the small
 * encoder below; every bug class of research/hardening.md rows A-E that
 * applies to a target gets one seed named after the row (seed-B1-loop.bin),
 * and the applicable hvisor virtio-net bugs of seeds/002 get seed-hvisor-*.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/virtio_spec.h"
#include "fuzz/fz.h"

#define GEN_MAX 32768

struct gen {
	uint8_t b[GEN_MAX];
	size_t n;
};

static const char *out_dir;

static void u8(struct gen *g, unsigned v)
{
	if (g->n < GEN_MAX)
		g->b[g->n++] = (uint8_t)v;
}

static void u16(struct gen *g, unsigned v)
{
	u8(g, v & 0xff);
	u8(g, (v >> 8) & 0xff);
}

static void u32(struct gen *g, uint32_t v)
{
	u16(g, v & 0xffff);
	u16(g, v >> 16);
}

static void u64(struct gen *g, uint64_t v)
{
	u32(g, (uint32_t)v);
	u32(g, (uint32_t)(v >> 32));
}

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void emit(const char *target, const char *name, const struct gen *g)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/seed-%s.bin", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(g->b, 1, g->n, f) != g->n || fclose(f))
		die(path);
}

/* The double-fetch twins (fuzz_<t>_df.c) run every input in trap mode. */
static int is_df(const char *target)
{
	size_t l = strlen(target);

	return l > 3 && strcmp(target + l - 3, "_df") == 0;
}

/* Remove the seeds we own so renamed/removed seeds do not linger. */
static void clean(const char *target)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) && errno != EEXIST)
		die(path);
	d = opendir(path);
	if (!d)
		die(path);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char p[4096 + 256];

		if (strncmp(e->d_name, "seed-", 5) || l < 4 || strcmp(e->d_name + l - 4, ".bin"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (unlink(p))
			die(p);
	}
	closedir(d);
}

/* ---- structured header ----------------------------------------------------- */

struct hdr {
	uint8_t m;         /* FZ_M_* */
	uint8_t ext;       /* FZ_X_* (FZ_M_EXT added when non-zero) */
	uint8_t size_sel;  /* see decode_size() in fz_vq.c */
	uint8_t layout[16];
	unsigned nlayout;  /* 0: one flat data chunk (layout byte 0) */
	uint8_t log_sel;
	uint8_t cap;       /* iovec capacity, 0 = 1024 */
	uint16_t avail, used;
	uint8_t wraps;
	uint8_t tamper_kind;
	uint64_t tamper_val;
};

static void hdr(struct gen *g, const struct hdr *h)
{
	g->n = 0;
	u8(g, h->m | (h->ext ? FZ_M_EXT : 0));
	if (h->ext)
		u8(g, h->ext);
	u8(g, h->size_sel);
	if (h->nlayout == 0)
		u8(g, 0);
	for (unsigned i = 0; i < h->nlayout; i++)
		u8(g, h->layout[i]);
	if (h->ext & FZ_X_LOG)
		u8(g, h->log_sel);
	u8(g, h->cap);
	u16(g, h->avail);
	u16(g, h->used);
	u8(g, h->wraps);
	if (h->ext & FZ_X_TAMPER) {
		u8(g, h->tamper_kind);
		u64(g, h->tamper_val);
	}
}

/*
 * set_layout() - fz_layout_build() bytes: mode (chunks - 1 | placement << 3 |
 * 0x20 holes | 0x40 rings at the top), cut points in 256-byte units, the
 * hole mask.
 */
static void set_layout(struct hdr *h, uint8_t mode, const uint16_t *cut_units,
		       unsigned ncut, uint8_t holes)
{
	h->nlayout = 0;
	h->layout[h->nlayout++] = (uint8_t)(mode | ncut | (holes ? 0x20 : 0));
	for (unsigned i = 0; i < ncut; i++) {
		h->layout[h->nlayout++] = (uint8_t)(cut_units[i] & 0xff);
		h->layout[h->nlayout++] = (uint8_t)(cut_units[i] >> 8);
	}
	if (holes)
		h->layout[h->nlayout++] = holes;
}

/* Size selector for split rings (1 << (sel % 9)) and packed ones (1 + sel). */
static uint8_t sz_split(unsigned n)
{
	uint8_t s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/* ---- ops ------------------------------------------------------------------- */

struct bufspec {
	uint8_t len, place;
};

/*
 * post() - FZ_OP_POST.  @nb must be the buffer count the harness derives from
 * @shape and @tw (fz_drv_post.c): nout + nin, at least 2 for ORDER/TOO_BIG,
 * and an extra prefix buffer when the chain uses a table with FZ_SH_PREFIX or
 * LONG.
 */
static void post(struct gen *g, uint8_t shape, uint8_t tw, uint8_t x, const struct bufspec *b,
		 unsigned nb)
{
	u8(g, FZ_OP_POST);
	u8(g, shape);
	u8(g, tw);
	u8(g, x);
	for (unsigned i = 0; i < nb; i++) {
		u8(g, b[i].len);
		u8(g, b[i].place);
	}
}

/* A chain of @nout readable and @nin writable buffers, 64 bytes each. */
static void post_simple(struct gen *g, unsigned nout, unsigned nin, uint8_t extra_shape,
			uint8_t tw)
{
	struct bufspec b[8];
	unsigned nb;

	if (nout + nin == 0)
		nout = 1;
	nb = nout + nin;

	for (unsigned i = 0; i < 8; i++)
		b[i] = (struct bufspec){ 64, (uint8_t)(4 * i + 1) };
	if ((tw == FZ_TW_ORDER || tw == FZ_TW_TOO_BIG) && nb < 2) {
		nin += tw == FZ_TW_ORDER;
		nout += tw == FZ_TW_TOO_BIG;
		nb = 2;
	}
	post(g, (uint8_t)(nout | nin << 2 | extra_shape), tw, 1, b,
	     nb + ((extra_shape & FZ_SH_PREFIX) || tw == FZ_TW_LONG ? 1 : 0));
	if (extra_shape & FZ_SH_CROSS)
		u8(g, 0);
}

static void op(struct gen *g, enum fz_op o)
{
	u8(g, o);
}

static void push(struct gen *g, uint8_t which, enum fz_pushlen mode, uint32_t raw)
{
	u8(g, FZ_OP_PUSH);
	u8(g, which);
	u8(g, mode);
	if (mode == FZ_PL_RAW)
		u32(g, raw);
}

/* The everyday device step: pop, complete fully, publish. */
static void serve(struct gen *g)
{
	op(g, FZ_OP_POP);
	push(g, 0, FZ_PL_FULL, 0);
	op(g, FZ_OP_FLUSH);
}

static void restart(struct gen *g, enum fz_restart mode, uint16_t v)
{
	u8(g, FZ_OP_RESTART);
	u8(g, mode);
	if (mode == FZ_RS_TAMPER)
		u16(g, v);
}

static void event(struct gen *g, uint8_t which, uint16_t v)
{
	u8(g, FZ_OP_EVENT);
	u8(g, which);
	u16(g, v);
}

/* Raw descriptor write; addr and len use their raw selectors (3 and 2). */
static void desc(struct gen *g, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	u8(g, FZ_OP_DESC);
	u16(g, idx);
	u8(g, 3);
	u64(g, addr);
	u8(g, 2);
	u32(g, len);
	u16(g, flags);
	u16(g, next);
}

static void flags_op(struct gen *g, uint16_t slot, uint16_t flags)
{
	u8(g, FZ_OP_FLAGS);
	u16(g, slot);
	u16(g, flags);
}

static void avail_ent(struct gen *g, uint16_t pos, uint16_t head)
{
	u8(g, FZ_OP_AVAIL_ENT);
	u16(g, pos);
	u16(g, head);
}

static void avail_idx(struct gen *g, uint16_t idx)
{
	u8(g, FZ_OP_AVAIL_IDX);
	u16(g, idx);
}

static void itab(struct gen *g, uint8_t t, uint8_t idx, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	u8(g, FZ_OP_ITAB);
	u8(g, t);
	u8(g, idx);
	u8(g, 3);
	u64(g, addr);
	u8(g, 2);
	u32(g, len);
	u16(g, flags);
	u16(g, next);
}

/* One chain with a single-defect tweak, then the device loop around it. */
static void tweak_seed(const char *target, const char *name, struct hdr h, unsigned nout,
		       unsigned nin, uint8_t shape, uint8_t tw)
{
	struct gen g;

	if (tw == FZ_TW_IOV_CAP) { /* the harness posts capacity + 1 buffers */
		nout = h.cap && h.cap < 8 ? h.cap + 1u : 8;
		nin = 0;
	}
	hdr(&g, &h);
	post_simple(&g, nout, nin, shape, tw);
	serve(&g);
	op(&g, FZ_OP_ENABLE);
	op(&g, FZ_OP_POP);
	emit(target, name, &g);
}

/* ---- shared traffic shapes ------------------------------------------------- */

static struct hdr base_hdr(uint8_t m, unsigned size, int packed)
{
	struct hdr h;

	memset(&h, 0, sizeof(h));
	h.m = m;
	h.size_sel = packed ? (uint8_t)(size - 1) : sz_split(size); /* size <= 128 */
	return h;
}

/*
 * edge_seeds() - core paths the traffic shapes do not reach: every call on a
 * broken queue, a push longer than the chain's writable bytes (clamped),
 * the in-flight limit (split), vq_unpop across the ring's end, a chain
 * exactly as long as the ring, and the driver's event flags (packed).
 */
static void edge_seeds(const char *t, int packed)
{
	struct gen g;
	struct hdr h;

	/* a chain in flight, then a ring fault; then every call must refuse */
	h = base_hdr(0, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	post_simple(&g, 1, 0, 0, FZ_TW_HEAD_RANGE);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_FULL, 0);
	op(&g, FZ_OP_UNPOP);
	op(&g, FZ_OP_FLUSH);
	op(&g, FZ_OP_ENABLE);
	op(&g, FZ_OP_DISABLE);
	op(&g, FZ_OP_HAS_WORK);
	op(&g, FZ_OP_POP);
	u8(&g, FZ_OP_PUSH_BOGUS);
	u8(&g, 0);
	u16(&g, 3);
	emit(t, "broken-calls", &g);

	/* written > in_bytes: the used length is clamped */
	h = base_hdr(FZ_M_TOUCH, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 2, 0, 0);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_OVER, 0);
	op(&g, FZ_OP_FLUSH);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_RAW, 0xffffffffu);
	op(&g, FZ_OP_FLUSH);
	emit(t, "push-over", &g);

	/* dirty logging of a push spanning two writable buffers, and of one
	 * that ends inside the first */
	h = base_hdr(FZ_M_TOUCH, 8, packed);
	h.ext = FZ_X_LOG;
	h.log_sel = 7;
	hdr(&g, &h);
	post_simple(&g, 1, 2, 0, 0);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_FULL, 0);
	post_simple(&g, 1, 2, 0, 0);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_RAW, 8);
	op(&g, FZ_OP_FLUSH);
	emit(t, "dirty-log-two-buffers", &g);

	/* A: a start with an unknown ring format must be refused */
	h = base_hdr(0, 8, packed);
	h.ext = FZ_X_TAMPER;
	h.tamper_kind = 7;
	h.tamper_val = 5;
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "A-bad-format", &g);

	/* size 0 in the header, made valid by the tamper op; then a device
	 * reset must fall back to a valid size (a harness regression) */
	h = base_hdr(0, 8, packed);
	h.size_sel = 0xf0;
	h.ext = FZ_X_TAMPER;
	h.tamper_kind = 3;
	h.tamper_val = 1;
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	restart(&g, FZ_RS_FRESH, 0);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "tampered-size-then-reset", &g);

	if (!packed) {
		/* size 1: the only id is in flight when the driver offers it again */
		h = base_hdr(0, 1, packed);
		hdr(&g, &h);
		post_simple(&g, 1, 0, 0, 0);
		op(&g, FZ_OP_POP);
		avail_idx(&g, 2);
		op(&g, FZ_OP_POP);
		emit(t, "inflight-full", &g);
		return;
	}

	/* a two-slot chain across the ring's end (slots 3, 0), given back */
	h = base_hdr(0, 4, packed);
	h.avail = 3;
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_UNPOP);
	serve(&g);
	emit(t, "unpop-wrap", &g);

	/* NEXT on every slot of a two-slot ring: the chain never ends */
	h = base_hdr(0, 2, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, FZ_TW_LOOP);
	op(&g, FZ_OP_POP);
	emit(t, "chain-ring-long", &g);

	/* driver event flags: DISABLE (no signal), DESC without EVENT_IDX */
	h = base_hdr(0, 8, packed);
	hdr(&g, &h);
	event(&g, 0, VRING_PACKED_EVENT_FLAG_DISABLE);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	event(&g, 0, VRING_PACKED_EVENT_FLAG_DESC);
	event(&g, 1, 1);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	emit(t, "event-flags", &g);

	/* EVENT_IDX: the driver's off_wrap on this lap and the previous one,
	 * batches crossing the ring's end */
	h = base_hdr(FZ_M_EVENT_IDX, 4, packed);
	hdr(&g, &h);
	event(&g, 0, VRING_PACKED_EVENT_FLAG_DESC);
	for (int i = 0; i < 6; i++) {
		event(&g, 1, (uint16_t)((i & 1) ? (i % 4) : (0x8000 | (i % 4))));
		post_simple(&g, 1, 0, 0, 0);
		post_simple(&g, 1, 0, 0, 0);
		serve(&g);
		serve(&g);
	}
	emit(t, "event-idx-off-wrap", &g);

	/* A2 for the driver area: misaligned, and unmapped */
	h = base_hdr(0, 8, packed);
	h.ext = FZ_X_TAMPER;
	h.tamper_kind = 1;
	h.tamper_val = 2;
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "A3-misaligned-driver", &g);
	h.tamper_val = 1ULL << 40;
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "A4-driver-unmapped", &g);

	/* pushes of an in-flight id with a bad slot count must be refused */
	h = base_hdr(0, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	u8(&g, FZ_OP_PUSH_BOGUS);
	u8(&g, 2);
	u16(&g, 0);
	push(&g, 0, FZ_PL_FULL, 0);
	op(&g, FZ_OP_FLUSH);
	emit(t, "push-bad-nslots", &g);
}

/* FZ_OP_BAD_CHAIN: @kind (unpop not in flight, unpop id >= size, packed unpop
 * nslots 0 / > size, packed push nslots > size), @v picks the id */
static void bad_chain(struct gen *g, uint8_t kind, uint16_t v)
{
	u8(g, FZ_OP_BAD_CHAIN);
	u8(g, kind);
	u16(g, v);
}

/*
 * misuse_seeds() - FZ_X_MISUSE: the harness as a buggy caller.  Every call
 * on a stopped queue (with a chain in flight and completions staged at the
 * stop, and once on a broken queue), and vq_unpop / vq_push of chains
 * vq_pop never produced, on a working and on a broken queue; the chains
 * really in flight must still complete afterwards.
 */
static void misuse_seeds(const char *t, int packed)
{
	struct gen g;
	struct hdr h;

	h = base_hdr(FZ_M_EVENT_IDX, 8, packed);
	h.ext = FZ_X_MISUSE;
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_FULL, 0);
	op(&g, FZ_OP_STOPPED);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	op(&g, FZ_OP_ENABLE);
	op(&g, FZ_OP_POP);
	emit(t, "misuse-calls-on-stopped-queue", &g);

	h = base_hdr(0, 8, packed);
	h.ext = FZ_X_MISUSE;
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	post_simple(&g, 1, 0, 0, FZ_TW_HEAD_RANGE);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_STOPPED);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	emit(t, "misuse-stopped-after-broken", &g);

	h = base_hdr(0, 8, packed);
	h.ext = FZ_X_MISUSE;
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	post_simple(&g, 1, 2, 0, 0);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_POP);
	for (uint8_t k = 0; k < 5; k++)
		bad_chain(&g, k, (uint16_t)(0x0105 + k));
	bad_chain(&g, 0, 7);
	bad_chain(&g, 3, 0xff00);
	op(&g, FZ_OP_UNPOP);
	push(&g, 0, FZ_PL_FULL, 0);
	op(&g, FZ_OP_FLUSH);
	serve(&g);
	post_simple(&g, 1, 0, 0, FZ_TW_HEAD_RANGE);
	op(&g, FZ_OP_POP);
	for (uint8_t k = 0; k < 5; k++)
		bad_chain(&g, k, (uint16_t)(0x0203 + k));
	emit(t, "misuse-chains-never-popped", &g);
}

static void traffic_seeds(const char *t, uint8_t fmt_bit, int packed, uint8_t ind_shape,
			  uint8_t ind_m)
{
	struct gen g;
	struct hdr h;

	/* 1 descriptor, 2 descriptors, indirect */
	h = base_hdr(FZ_M_TOUCH | fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	op(&g, FZ_OP_ENABLE);
	emit(t, "1desc", &g);

	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	op(&g, FZ_OP_HAS_WORK);
	op(&g, FZ_OP_POP);
	emit(t, "2desc", &g);

	h = base_hdr(FZ_M_TOUCH | ind_m | fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 2, 2, ind_shape, 0);
	post_simple(&g, 1, 1, ind_shape | FZ_SH_PREFIX, 0);
	serve(&g);
	serve(&g);
	emit(t, "indirect", &g);

	/* batches: several chains, the device loop, notifications */
	h = base_hdr(FZ_M_TOUCH | FZ_M_EVENT_IDX | fmt_bit, 16, packed);
	hdr(&g, &h);
	for (int i = 0; i < 6; i++)
		post_simple(&g, 1 + i % 2, i % 3, 0, 0);
	op(&g, FZ_OP_DRAIN);
	event(&g, 1, 3);
	for (int i = 0; i < 4; i++)
		post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_DRAIN);
	emit(t, "drain-event-idx", &g);

	/* held publication (split: idx bumped late; packed: head flipped late) */
	h = base_hdr(fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 0, FZ_SH_HOLD, 0);
	op(&g, FZ_OP_POP);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	serve(&g);
	emit(t, "held", &g);

	/* long traffic: many laps of the ring (split idx 65530 -> 4; packed wrap) */
	h = base_hdr(fmt_bit, 4, packed);
	if (!packed)
		h.avail = h.used = 65530;
	hdr(&g, &h);
	for (int i = 0; i < 12; i++) {
		post_simple(&g, 1, i % 2, 0, 0);
		serve(&g);
	}
	emit(t, packed ? "wrap-laps" : "wrap-65535", &g);

	/* stop / restart with the saved state, and a device reset */
	h = base_hdr(fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	post_simple(&g, 1, 0, 0, 0);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_HALF, 0);
	restart(&g, FZ_RS_SAME, 0);
	serve(&g);
	restart(&g, FZ_RS_FRESH, 0);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	emit(t, "restart", &g);

	/* vq_unpop: give a chain back, it comes out again */
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	post_simple(&g, 2, 0, 0, 0);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_UNPOP);
	op(&g, FZ_OP_UNPOP);
	serve(&g);
	serve(&g);
	emit(t, "unpop", &g);

	/* fragmented guest RAM: 4 reversed chunks, buffers straddling them */
	h = base_hdr(FZ_M_TOUCH | fmt_bit, 8, packed);
	set_layout(&h, 1 << 3, (const uint16_t[]){ 0x10, 0x20, 0x30 }, 3, 0); /* reversed */
	hdr(&g, &h);
	post_simple(&g, 1, 1, FZ_SH_CROSS, 0); /* crosses from chunk 1 into the GPA gap above */
	post_simple(&g, 1, 1, FZ_SH_CROSS, 0);
	g.b[g.n - 1] = 1; /* chunk 2: crosses into chunk 1, elsewhere in host memory */
	post_simple(&g, 2, 1, 0, 0);
	serve(&g);
	serve(&g);
	emit(t, "layout-reversed", &g);

	/* rings and data right below 2^64 */
	set_layout(&h, 3 << 3 | 0x40, (const uint16_t[]){ 0x20 }, 1, 0); /* data and rings at the top */
	hdr(&g, &h);
	post_simple(&g, 1, 1, FZ_SH_CROSS, 0);
	serve(&g);
	emit(t, "layout-top", &g);

	/* dirty logging during traffic (migration) */
	h = base_hdr(FZ_M_TOUCH | fmt_bit, 8, packed);
	h.ext = FZ_X_LOG;
	h.log_sel = 7;
	hdr(&g, &h);
	for (int i = 0; i < 3; i++) {
		post_simple(&g, 1, 1, 0, 0);
		serve(&g);
	}
	op(&g, FZ_OP_ENABLE);
	op(&g, FZ_OP_DISABLE);
	emit(t, "dirty-log", &g);

	/* B8: double-fetch modes over ordinary traffic */
	h = base_hdr(FZ_M_DF_POST | FZ_M_TOUCH | ind_m | fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	post_simple(&g, 2, 1, ind_shape, 0);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_FULL, 0);
	push(&g, 0, FZ_PL_OVER, 0);
	op(&g, FZ_OP_FLUSH);
	emit(t, "B8-double-fetch-post", &g);

	/* (only the *_df targets trap: elsewhere this would be a plain run) */
	if (!is_df(t))
		return;
	h.m = FZ_M_DF_TRAP | FZ_M_TOUCH | ind_m | fmt_bit;
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	post_simple(&g, 2, 1, ind_shape, 0);
	op(&g, FZ_OP_DRAIN);
	for (int i = 0; i < 96; i++)
		u8(&g, 0x80 | i); /* the trap handler's rewrite bytes, then more ops */
	emit(t, "B8-double-fetch-trap", &g);
}

/* ---- per-target seeds ------------------------------------------------------ */

static void common_ring_seeds(const char *t, uint8_t fmt_bit, int packed)
{
	struct gen g;
	struct hdr h;
	const uint32_t n = 8, ring_desc = 16 * n, avail_bytes = 6 + 2 * n;
	uint32_t dev = packed ? ring_desc + 4 : ((ring_desc + avail_bytes + 3) & ~3u);

	/* A1: sizes 0, not a power of two (split), > 32768 */
	h = base_hdr(fmt_bit, 8, packed);
	h.size_sel = 0xf0;
	hdr(&g, &h);
	emit(t, "A1-size-0", &g);
	h.size_sel = 0xf3;
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "A1-size-3", &g);
	h.size_sel = 0xf2;
	hdr(&g, &h);
	emit(t, "A1-size-32769", &g);
	h.size_sel = 0xf1;
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	emit(t, "A1-size-32768", &g);

	/* A2: configuration changes while running are refused */
	h = base_hdr(fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	restart(&g, FZ_RS_TWICE, 0);
	serve(&g);
	emit(t, "A2-start-running", &g);

	/* A3: misaligned rings; A4: rings outside guest RAM; A5: event field */
	h.ext = FZ_X_TAMPER;
	h.tamper_kind = 0;
	h.tamper_val = 8;
	hdr(&g, &h);
	emit(t, "A3-misaligned-desc", &g);
	h.tamper_kind = 2;
	h.tamper_val = 2;
	hdr(&g, &h);
	emit(t, "A3-misaligned-device", &g);
	h.tamper_kind = 6;
	h.tamper_val = 0xdead0000;
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "A4-ring-unmapped", &g);
	h.tamper_kind = 0;
	h.tamper_val = FZ_PAGE - 64; /* desc table straddles the end of the ring chunk */
	hdr(&g, &h);
	emit(t, "A4-ring-straddles", &g);
	/* split: used ring whose avail_event field lies past the chunk;
	 * packed: device event structure just past it */
	h.tamper_kind = 2;
	h.tamper_val = dev ^ (packed ? FZ_PAGE : FZ_PAGE - 68);
	hdr(&g, &h);
	emit(t, "A5-event-outside", &g);

	/* A7: a head / buffer id offered again while in flight */
	h = base_hdr(fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	op(&g, FZ_OP_POP);
	post_simple(&g, 1, 0, 0, FZ_TW_DUP);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_POP);
	emit(t, "A7-dup-in-flight", &g);

	/* A8 / D4: head index or buffer id >= size */
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	post_simple(&g, 1, 0, 0, FZ_TW_HEAD_RANGE);
	serve(&g);
	op(&g, FZ_OP_POP);
	emit(t, packed ? "D4-id-range" : "A8-head-range", &g);

	/* A9: completing something not in flight is refused */
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	u8(&g, FZ_OP_PUSH_BOGUS);
	u8(&g, 1);
	u16(&g, 3);
	u8(&g, FZ_OP_PUSH_BOGUS);
	u8(&g, 0);
	u16(&g, 5);
	serve(&g);
	u8(&g, FZ_OP_PUSH_BOGUS);
	u8(&g, 2);
	u16(&g, 0);
	emit(t, "A9-push-not-in-flight", &g);

	/* A10: reset, then the stale ring is not reused */
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	restart(&g, FZ_RS_FRESH, 0);
	op(&g, FZ_OP_POP);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	emit(t, "A10-reset", &g);

	/* B1..B7 through the driver model's single-defect tweaks */
	h = base_hdr(FZ_M_TOUCH | fmt_bit, 8, packed);
	tweak_seed(t, packed ? "D3-chain-no-end" : "B1-loop", h, 2, 0, 0, FZ_TW_LOOP);
	if (!packed)
		tweak_seed(t, "B2-next-range", h, 2, 0, 0, FZ_TW_NEXT_RANGE);
	tweak_seed(t, "B3-order", h, 1, 1, 0, FZ_TW_ORDER);
	tweak_seed(t, "B4-zero-len", h, 2, 1, 0, FZ_TW_ZERO_LEN);
	tweak_seed(t, "B5-addr-wrap", h, 1, 0, 0, FZ_TW_WRAP);
	h.ext = FZ_X_HUGE;
	tweak_seed(t, "B5-over-4GiB", h, 2, 0, 0, FZ_TW_TOO_BIG);
	h.ext = 0;
	set_layout(&h, 0, (const uint16_t[]){ 0x10, 0x20 }, 2, 0x02); /* middle chunk a hole */
	tweak_seed(t, "B6-hole", h, 1, 1, 0, FZ_TW_HOLE);
	set_layout(&h, 0, (const uint16_t[]){ 0x10, 0x20 }, 2, 0);
	tweak_seed(t, "B6-straddle", h, 1, 1, FZ_SH_CROSS, 0);
	h.nlayout = 0;
	h.cap = 2;
	tweak_seed(t, "B7-iov-cap", h, 0, 0, 0, FZ_TW_IOV_CAP);
	h.cap = 0;

	/* E1: suppression fields full of garbage; E2: a guest that never stops */
	h = base_hdr(FZ_M_EVENT_IDX | fmt_bit, 8, packed);
	hdr(&g, &h);
	event(&g, 0, 0xffff);
	event(&g, 1, 0x8123);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	op(&g, FZ_OP_ENABLE);
	event(&g, 1, 0x7fff);
	post_simple(&g, 1, 1, 0, 0);
	serve(&g);
	emit(t, "E1-event-garbage", &g);

	h = base_hdr(fmt_bit, 16, packed);
	hdr(&g, &h);
	for (int i = 0; i < 48; i++) {
		post_simple(&g, 1, 0, 0, i % 5 == 4 ? FZ_TW_HOLE : 0);
		if (i % 6 == 5)
			op(&g, FZ_OP_DRAIN);
	}
	emit(t, "E2-flood", &g);

	/* hvisor #102 (seeds/002): a buffer added while kicks were off is not lost */
	h = base_hdr(fmt_bit, 8, packed);
	hdr(&g, &h);
	op(&g, FZ_OP_DISABLE);
	post_simple(&g, 1, 0, 0, 0);
	op(&g, FZ_OP_ENABLE); /* must report the work, and the pop must find it */
	op(&g, FZ_OP_POP);
	push(&g, 0, FZ_PL_FULL, 0);
	op(&g, FZ_OP_FLUSH);
	op(&g, FZ_OP_ENABLE);
	emit(t, "hvisor-enable-recheck", &g);

	/* hvisor #102: TX completions must signal the driver (UDP stall) */
	hdr(&g, &h);
	event(&g, 0, 0);
	for (int i = 0; i < 4; i++) {
		post_simple(&g, 2, 0, 0, 0);
		serve(&g);
	}
	emit(t, "hvisor-tx-signal", &g);

	/* hvisor #102: a chain rejected mid-way is returned, never leaked */
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, FZ_TW_HOLE);
	post_simple(&g, 1, 1, 0, 0);
	op(&g, FZ_OP_POP);
	serve(&g);
	emit(t, "hvisor-bad-chain-returned", &g);

	/* hostile raw writes mixed with traffic */
	h = base_hdr(FZ_M_TOUCH | fmt_bit, 8, packed);
	hdr(&g, &h);
	post_simple(&g, 1, 1, 0, 0);
	desc(&g, 3, FZ_DATA_GPA + 0x100, 0x40, VRING_DESC_F_NEXT, 3);
	if (packed) {
		flags_op(&g, 1, VRING_PACKED_DESC_F_AVAIL | VRING_DESC_F_NEXT);
	} else {
		avail_ent(&g, 1, 3);
		avail_idx(&g, 2);
	}
	op(&g, FZ_OP_DRAIN);
	u8(&g, FZ_OP_FLIP);
	u32(&g, 0x20);
	u8(&g, 0x41);
	op(&g, FZ_OP_DRAIN);
	emit(t, "hostile-raw", &g);
}

static void split_only_seeds(const char *t)
{
	struct gen g;
	struct hdr h = base_hdr(0, 8, 0);

	/* A6: avail idx more than a queue ahead */
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	post_simple(&g, 1, 0, 0, FZ_TW_OVERRUN);
	op(&g, FZ_OP_POP);
	op(&g, FZ_OP_POP);
	emit(t, "A6-avail-jump", &g);

	/* restart with a used index too far behind the avail index */
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	restart(&g, FZ_RS_TAMPER, 0x8000);
	serve(&g);
	emit(t, "A6-restart-used-behind", &g);
}

static void packed_only_seeds(const char *t)
{
	struct gen g;
	struct hdr h = base_hdr(FZ_M_TOUCH, 4, 1);

	/* D1: every AVAIL/USED combination on the next slot */
	hdr(&g, &h);
	for (unsigned f = 0; f < 4; f++) {
		uint16_t fl = (f & 1 ? VRING_PACKED_DESC_F_AVAIL : 0) |
			      (f & 2 ? VRING_PACKED_DESC_F_USED : 0);

		desc(&g, 0, FZ_DATA_GPA + 0x40, 0x20, fl, 0);
		op(&g, FZ_OP_HAS_WORK);
		op(&g, FZ_OP_POP);
	}
	emit(t, "D1-wrap-bits", &g);

	/* D2: chains that wrap past the end of the ring */
	h = base_hdr(FZ_M_TOUCH, 5, 1);
	hdr(&g, &h);
	for (int i = 0; i < 6; i++) {
		post_simple(&g, 2, 1, 0, 0);
		serve(&g);
	}
	emit(t, "D2-chain-wraps", &g);

	/* D5: zero length and bad addresses inside a packed batch */
	h = base_hdr(0, 8, 1);
	hdr(&g, &h);
	for (int i = 0; i < 4; i++)
		post_simple(&g, 1, 0, 0, i % 2 ? FZ_TW_ZERO_LEN : FZ_TW_HOLE);
	op(&g, FZ_OP_DRAIN);
	emit(t, "D5-batch-zero-bad", &g);

	/* D6: restored position >= size is refused */
	hdr(&g, &h);
	post_simple(&g, 1, 0, 0, 0);
	restart(&g, FZ_RS_TAMPER, 9);
	serve(&g);
	emit(t, "D6-base-range", &g);
	h.ext = FZ_X_TAMPER;
	h.tamper_kind = 5;
	h.tamper_val = 8;
	hdr(&g, &h);
	emit(t, "D6-used-range", &g);

	/* D7: driver event suppression with unknown and DESC values */
	h = base_hdr(FZ_M_EVENT_IDX, 8, 1);
	hdr(&g, &h);
	event(&g, 0, 3);
	post_simple(&g, 1, 0, 0, 0);
	serve(&g);
	event(&g, 0, VRING_PACKED_EVENT_FLAG_DESC);
	event(&g, 1, 0x8005);
	for (int i = 0; i < 6; i++) {
		post_simple(&g, 1, 0, 0, 0);
		serve(&g);
	}
	emit(t, "D7-event-suppression", &g);
}

static void indirect_seeds(const char *t, int packed)
{
	uint8_t fmt = packed ? FZ_M_PACKED : 0;
	const char *sfx = packed ? "-packed" : "-split";
	char name[64];
	struct gen g;
	struct hdr h = base_hdr(FZ_M_TOUCH | fmt, 8, packed);
	static const struct {
		const char *name;
		uint8_t tw, shape;
		unsigned nout, nin;
	} rows[] = {
		{ "C1-nested", FZ_TW_IND_NESTED, 0, 1, 1 },
		{ "C2-len-odd", FZ_TW_IND_LEN_ODD, 0, 1, 0 },
		{ "C2-len-0", FZ_TW_IND_LEN_0, 0, 1, 0 },
		{ "C3-too-large", FZ_TW_IND_SIZE, 0, 1, 0 },
		{ "C3-long-chain", FZ_TW_LONG, 0, 1, 0 },
		{ "C4-with-next", FZ_TW_IND_NEXT, 0, 1, 1 },
		{ "C5-after-direct", 0, FZ_SH_PREFIX, 2, 1 },
		{ "C6-straddle", FZ_TW_IND_CROSS, 0, 2, 2 },
		{ "C6-hole", FZ_TW_IND_HOLE, 0, 1, 0 },
		{ "C7-write-on-pointer", FZ_TW_IND_WRITE, 0, 1, 1 },
		{ "B1-table-loop", FZ_TW_LOOP, 0, 2, 0 },
		{ "B2-table-next", FZ_TW_NEXT_RANGE, 0, 2, 0 },
		{ "B3-table-order", FZ_TW_ORDER, 0, 1, 1 },
		{ "B7-table-iov-cap", FZ_TW_IOV_CAP, 0, 0, 0 },
	};

	/* fragmented layout so C6 finds a boundary inside the table zone */
	set_layout(&h, 0, (const uint16_t[]){ 0x18, 0x28, 0x38 }, 3, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hdr hh = h;

		if (rows[i].tw == FZ_TW_IOV_CAP)
			hh.cap = 3;
		snprintf(name, sizeof(name), "%s%s", rows[i].name, sfx);
		tweak_seed(t, name, hh, rows[i].nout, rows[i].nin, rows[i].shape, rows[i].tw);
	}

	/* C8: INDIRECT without the feature (FZ_M_INDIRECT turns it off here) */
	h.m |= FZ_M_INDIRECT;
	snprintf(name, sizeof(name), "C8-not-negotiated%s", sfx);
	tweak_seed(t, name, h, 1, 1, 0, 0);
	h.m &= (uint8_t)~FZ_M_INDIRECT;

	/* raw table entries written by ITAB, pointed at by a raw descriptor */
	h.nlayout = 0;
	hdr(&g, &h);
	itab(&g, 0, 0, FZ_DATA_GPA + 0x80, 0x30, packed ? 0 : VRING_DESC_F_NEXT, 1);
	itab(&g, 0, 1, FZ_DATA_GPA + 0x100, 0x30, VRING_DESC_F_WRITE, 0);
	desc(&g, 0, FZ_DATA_GPA + FZ_BUF_ZONE, 32,
	     VRING_DESC_F_INDIRECT | (packed ? VRING_PACKED_DESC_F_AVAIL : 0), 0);
	if (!packed) {
		avail_ent(&g, 0, 0);
		avail_idx(&g, 1);
	}
	op(&g, FZ_OP_DRAIN);
	snprintf(name, sizeof(name), "itab-raw%s", sfx);
	emit(t, name, &g);
}

/* Raw mode: the input is guest RAM with the rings at fixed offsets. */
static void raw_seeds(const char *t, int packed)
{
	const size_t img_len = FZ_RAW_RING_BYTES + FZ_DATA_BYTES;
	uint8_t *img = calloc(1, img_len);
	const uint32_t n = 8;
	struct gen g;

	if (!img)
		die("calloc");
	for (uint32_t i = 0; i < 3; i++) {
		uint8_t *d = img + FZ_RAW_DESC + 16 * i;
		uint64_t addr = FZ_RAW_RING_BYTES + 0x100 * i;
		uint32_t len = 0x80;
		uint16_t fl = i == 1 ? VRING_DESC_F_WRITE : 0;

		memcpy(d, &addr, 8); /* little-endian host, as the harness */
		memcpy(d + 8, &len, 4);
		if (!packed) {
			uint16_t next = (uint16_t)(i + 1);

			fl |= i == 0 ? VRING_DESC_F_NEXT : 0;
			memcpy(d + 12, &fl, 2);
			memcpy(d + 14, &next, 2);
		} else {
			uint16_t id = i == 0 ? 0 : (uint16_t)i, pf;

			pf = fl | (i == 0 ? VRING_DESC_F_NEXT : 0) | VRING_PACKED_DESC_F_AVAIL;
			memcpy(d + 12, &id, 2);
			memcpy(d + 14, &pf, 2);
		}
	}
	if (!packed) {
		uint16_t idx = 2, h0 = 0, h1 = 2;

		memcpy(img + FZ_RAW_DRIVER + 2, &idx, 2);
		memcpy(img + FZ_RAW_DRIVER + 4, &h0, 2);
		memcpy(img + FZ_RAW_DRIVER + 6, &h1, 2);
	}
	g.n = 0;
	u8(&g, FZ_M_RAW);
	u8(&g, packed ? n - 1 : sz_split(n));
	u8(&g, 0x04); /* touch buffers */
	u16(&g, 0);
	for (size_t i = 0; i < img_len; i++)
		u8(&g, img[i]);
	while (g.n > 6 && g.b[g.n - 1] == 0)
		g.n--; /* zeros are implied */
	emit(t, "raw-ring", &g);

	/* the same image with every descriptor pointing at the rings */
	for (uint32_t i = 0; i < 3; i++) {
		uint64_t addr = FZ_RAW_DRIVER;

		memcpy(img + FZ_RAW_DESC + 16 * i, &addr, 8);
	}
	g.n = 0;
	u8(&g, FZ_M_RAW);
	u8(&g, packed ? n - 1 : sz_split(n));
	u8(&g, 0x07);
	u16(&g, 0);
	for (size_t i = 0; i < FZ_RAW_RING_BYTES; i++)
		u8(&g, img[i]);
	emit(t, "raw-buffers-on-rings", &g);
	free(img);
}

/* ---- fuzz_gmem -------------------------------------------------------------- */

/* Region kinds: bits 0-1 size rule, 2-4 gpa rule, 5-6 uaddr rule (fuzz_gmem.c). */
static void gmem_region(struct gen *g, uint8_t kind, uint16_t off, uint64_t a, uint64_t b)
{
	u8(g, kind);
	u16(g, off);
	switch (kind & 3) {
	case 0:
		u16(g, (uint16_t)a);
		break;
	case 2:
		u8(g, (uint8_t)a);
		break;
	case 3:
		u8(g, 1);
		break;
	default:
		break;
	}
	switch ((kind >> 2) & 7) {
	case 1:
		u64(g, b);
		break;
	case 3:
		u8(g, (uint8_t)b);
		break;
	case 4:
	case 6:
	case 7:
		u16(g, (uint16_t)b);
		break;
	case 5:
		u32(g, (uint32_t)b);
		break;
	default:
		break;
	}
	if (((kind >> 5) & 3) == 1)
		u64(g, 0x7f0000000000ULL + b);
	else if (((kind >> 5) & 3) == 2)
		u16(g, 0x100);
}

/* One of each gmem operation around region @k's edges. */
static void gmem_ops(struct gen *g, uint8_t k)
{
	uint8_t base = (uint8_t)(k << 3);

	u8(g, 0); /* translate: inside */
	u8(g, base | 0);
	u16(g, 0x10);
	u8(g, 1);
	u8(g, 0x40);
	u8(g, 1); /* map_iov: from the end of the region, crossing it */
	u8(g, base | 1);
	u8(g, 0x20);
	u8(g, 2);
	u16(g, 0x400);
	u8(g, 4);
	u8(g, 2); /* read */
	u8(g, base | 1);
	u8(g, 0x20);
	u8(g, 1);
	u8(g, 0x80);
	u8(g, 3); /* write */
	u8(g, base | 0);
	u16(g, 0x8);
	u8(g, 1);
	u8(g, 0x30);
	u8(g, 7);
	u8(g, 4); /* uaddr_to_gpa */
	u8(g, base | 0);
	u16(g, 0x20);
	u8(g, 1);
	u8(g, 8);
	u8(g, 5); /* check: exactly to 2^64 */
	u8(g, base | 3);
	u16(g, 0x10);
	u8(g, 6);
}

static void gmem_seeds(void)
{
	const char *t = "gmem";
	struct gen g;

	/* one region; three adjacent (crossing ranges stay contiguous) */
	g.n = 0;
	u8(&g, 1);
	gmem_region(&g, 1, 0, 0, 0);
	gmem_ops(&g, 0);
	emit(t, "one-region", &g);

	g.n = 0;
	u8(&g, 3);
	gmem_region(&g, 2, 0x0000, 0xff, 0);
	gmem_region(&g, 2, 0x1000, 0xff, 0);
	gmem_region(&g, 2, 0x2000, 0xff, 0);
	gmem_ops(&g, 0);
	gmem_ops(&g, 1);
	emit(t, "adjacent", &g);

	/* H7: overlapping GPA, overlapping VA, zero size, wrap, end at 2^64 */
	g.n = 0;
	u8(&g, 2);
	gmem_region(&g, 2, 0, 0x80, 0);
	gmem_region(&g, 2 | 4 << 2, 0x100, 0x80, 0x10);
	gmem_ops(&g, 0);
	emit(t, "H7-gpa-overlap", &g);

	g.n = 0;
	u8(&g, 2);
	gmem_region(&g, 2, 0, 0x80, 0);
	gmem_region(&g, 2 | 2 << 5, 0x100, 0x80, 0);
	emit(t, "H7-va-overlap", &g);

	g.n = 0;
	u8(&g, 1);
	gmem_region(&g, 0, 0x10, 0, 0);
	gmem_ops(&g, 0);
	emit(t, "zero-size", &g);

	g.n = 0;
	u8(&g, 1);
	gmem_region(&g, 2 | 3 << 2, 0, 0x40, 4);
	emit(t, "gpa-wraps", &g);

	g.n = 0;
	u8(&g, 2);
	gmem_region(&g, 2 | 2 << 2, 0, 0x40, 0);
	gmem_region(&g, 2 | 7 << 2 | 3 << 5, 0x1000, 0x40, 0x40);
	gmem_ops(&g, 0);
	gmem_ops(&g, 1);
	emit(t, "top-of-2-64", &g);

	/* more regions than the table holds */
	g.n = 0;
	u8(&g, GMEM_MAX_REGIONS + 1);
	for (unsigned i = 0; i <= GMEM_MAX_REGIONS; i++)
		gmem_region(&g, 3, (uint16_t)(i * 0x100), 0, 0);
	emit(t, "too-many", &g);

	/* full table of adjacent regions: long map_iov splits, cap exhaustion */
	g.n = 0;
	u8(&g, GMEM_MAX_REGIONS);
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		gmem_region(&g, 2, (uint16_t)(i * 0x200), 0xff, 0);
	u8(&g, 1);
	u8(&g, 0);
	u16(&g, 0);
	u8(&g, 2);
	u16(&g, 0x4000);
	u8(&g, 39);
	u8(&g, 1);
	u8(&g, 0);
	u16(&g, 0);
	u8(&g, 2);
	u16(&g, 0x4000);
	u8(&g, 3);
	emit(t, "many-regions", &g);

	/* near-2^64 lengths and addresses against a small table */
	g.n = 0;
	u8(&g, 2);
	gmem_region(&g, 2, 0, 0xff, 0);
	gmem_region(&g, 2 | 6 << 2, 0x800, 0xff, 0x10);
	for (uint8_t o = 0; o < 6; o++) {
		u8(&g, o);
		u8(&g, 3);
		u16(&g, 0x10);
		u8(&g, 5);
		u8(&g, 0x10);
		if (o == 1)
			u8(&g, 8);
		if (o == 3)
			u8(&g, 1);
	}
	emit(t, "near-2-64", &g);

	/* every operation with length 0, a length wrapping 2^64 from a region's
	 * base, and a short range from just below 2^64 (map_iov takes an iovec
	 * capacity byte, write a pattern offset byte) */
	g.n = 0;
	u8(&g, 2);
	gmem_region(&g, 2, 0, 0x80, 0);
	gmem_region(&g, 2, 0x100, 0x80, 0);
	for (uint8_t o = 0; o < 6; o++) {
		u8(&g, o);
		u8(&g, 7); /* region 0's base */
		u8(&g, 0); /* length 0 */
		if (o == 1 || o == 3)
			u8(&g, 4);
	}
	for (uint8_t o = 0; o < 6; o++) {
		u8(&g, o);
		u8(&g, 7);
		u8(&g, 5); /* 2^64 - 1 */
		u8(&g, 0);
		if (o == 1 || o == 3)
			u8(&g, 4);
	}
	for (uint8_t o = 0; o < 6; o++) {
		u8(&g, o);
		u8(&g, 3); /* 2^64 - 1 - 0x10 */
		u16(&g, 0x10);
		u8(&g, 1); /* 0x40 bytes: wraps */
		u8(&g, 0x40);
		if (o == 1 || o == 3)
			u8(&g, 4);
	}
	emit(t, "len-0-and-wraps", &g);

	/* H7 in VA space only: GPA ranges apart, user addresses overlapping */
	g.n = 0;
	u8(&g, 2);
	gmem_region(&g, 1, 0, 0, 0);            /* the whole arena */
	gmem_region(&g, 2 | 6 << 2 | 2 << 5, 0x100, 0x40, 0x10); /* uaddr + 0x100 */
	u8(&g, 5);
	u8(&g, 7);
	u8(&g, 1);
	u8(&g, 8);
	emit(t, "H7-va-only-overlap", &g);

	/* a user address range wrapping 2^64 */
	g.n = 0;
	u8(&g, 1);
	u8(&g, 2 | 1 << 5);
	u16(&g, 0);
	u8(&g, 0x80);
	u64(&g, 0xffffffffffffff80ULL);
	u8(&g, 5);
	u8(&g, 7);
	u8(&g, 1);
	u8(&g, 8);
	emit(t, "va-wraps", &g);

	/* dirty log: logging off, a 512-byte bitmap (the first 16 MiB), ranges
	 * across pages, wrapping 2^64, past the bitmap, length 0; host
	 * addresses in a region, in two aliasing regions (the lower GPA wins),
	 * at a region's last byte, past a region, before the arena; a NULL
	 * bitmap, a 0-byte bitmap, a 1-byte bitmap; zero-length read/write */
	g.n = 0;
	u8(&g, 4);
	gmem_region(&g, 2, 0x0000, 0xff, 0);		/* GPA 1 MiB, 256 bytes */
	gmem_region(&g, 2 | 5 << 2, 0x1000, 0xff, 0xfff); /* GPA 0xfff000: page 4095 */
	gmem_region(&g, 1 | 2 << 2, 0x3000, 0, 0);	/* 4 KiB ending at 2^64 */
	gmem_region(&g, 2 | 1 << 2, 0x0080, 0xff, 0x2000); /* aliases region 0's host bytes */
	u8(&g, 7); /* log_gpa while not logging */
	u8(&g, 7);
	u8(&g, 1);
	u8(&g, 0x10);
	u8(&g, 6); /* set_log: 512 bytes */
	u8(&g, 3);
	u8(&g, 7); /* region 0, 0x2001 bytes: three pages */
	u8(&g, 7);
	u8(&g, 2);
	u16(&g, 0x2001);
	u8(&g, 7); /* 2^64 - 1 - 0x10, length 2^64 - 1: wraps */
	u8(&g, 3);
	u16(&g, 0x10);
	u8(&g, 5);
	u8(&g, 0);
	u8(&g, 7); /* length 0 */
	u8(&g, 7);
	u8(&g, 0);
	u8(&g, 7); /* across region 1's end: the bitmap's last page */
	u8(&g, 1 << 3 | 1);
	u8(&g, 0x10);
	u8(&g, 1);
	u8(&g, 0x40);
	u8(&g, 7); /* 16 MiB: past the bitmap */
	u8(&g, 2);
	u64(&g, 0x1000000);
	u8(&g, 1);
	u8(&g, 1);
	u8(&g, 8); /* log_hva: region 0 only */
	u8(&g, 0);
	u16(&g, 0x10);
	u8(&g, 1);
	u8(&g, 8);
	u8(&g, 8); /* region 3 only, clipped at its end */
	u8(&g, 0);
	u16(&g, 0x100);
	u8(&g, 2);
	u16(&g, 0x1000);
	u8(&g, 8); /* both: region 3 (lower GPA) */
	u8(&g, 0);
	u16(&g, 0x90);
	u8(&g, 3 << 3 | 3);
	u8(&g, 8); /* region 1's last byte, huge length */
	u8(&g, 1 << 2 | 1);
	u8(&g, 0);
	u8(&g, 4);
	u64(&g, 0xffffffffffffULL);
	u8(&g, 8); /* just past region 2: no region */
	u8(&g, 2 << 2 | 2);
	u8(&g, 1);
	u8(&g, 4);
	u8(&g, 8); /* before the arena */
	u8(&g, 3);
	u8(&g, 0);
	u8(&g, 1);
	u8(&g, 4);
	u8(&g, 8); /* length 0 */
	u8(&g, 0);
	u16(&g, 0x10);
	u8(&g, 0);
	u8(&g, 2); /* read and write of 0 bytes */
	u8(&g, 7);
	u8(&g, 0);
	u8(&g, 3);
	u8(&g, 7);
	u8(&g, 0);
	u8(&g, 0);
	u8(&g, 6); /* NULL bitmap of 64 bytes: logging off */
	u8(&g, 4 | 2);
	u8(&g, 8);
	u8(&g, 0);
	u16(&g, 0x10);
	u8(&g, 1);
	u8(&g, 8);
	u8(&g, 7);
	u8(&g, 7);
	u8(&g, 1);
	u8(&g, 8);
	u8(&g, 6); /* a bitmap of 0 bytes: logging off */
	u8(&g, 0);
	u8(&g, 7);
	u8(&g, 7);
	u8(&g, 1);
	u8(&g, 8);
	u8(&g, 6); /* 1 byte: pages 0-7 */
	u8(&g, 1);
	u8(&g, 7); /* region 3 (GPA 0x2000), 0x8000 bytes: pages 2-9 */
	u8(&g, 3 << 3 | 7);
	u8(&g, 2);
	u16(&g, 0x8000);
	u8(&g, 7); /* region 2 to 2^64 */
	u8(&g, 2 << 3 | 7);
	u8(&g, 6);
	emit(t, "dirty-log", &g);

	/* core/iov.c (op 9): lists with zero-length and aliasing iovecs; copies
	 * at offsets inside, at and past the list's end and near SIZE_MAX;
	 * slices cut by their capacity */
	g.n = 0;
	u8(&g, 1);
	gmem_region(&g, 1, 0, 0, 0);
	for (uint8_t call = 0; call < 3; call++) {
		static const uint8_t offs[][2] = {
			{ 1 << 3 | 0, 7 },	  /* byte 1, u8 length */
			{ 2, 0 },		  /* at the end, length 0 */
			{ 1 << 3 | 3, 5 },	  /* 1 byte before the end, SIZE_MAX */
			{ 4, 0 },		  /* past the end */
			{ 0, 5 },		  /* the whole list, SIZE_MAX */
			{ 5, 2 },		  /* SIZE_MAX offset */
		};
		for (unsigned o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			u8(&g, 9);
			u8(&g, 5); /* 5 iovecs: 0x20, empty, 0x30 aliasing the first, empty, 0x10 */
			u16(&g, 0x100);
			u8(&g, 0x20);
			u16(&g, 0x200);
			u8(&g, 0);
			u16(&g, 0x110);
			u8(&g, 0x30);
			u16(&g, 0x300);
			u8(&g, 0);
			u16(&g, 0x400);
			u8(&g, 0x10);
			u8(&g, call);
			u8(&g, offs[o][0]);
			u8(&g, offs[o][1]);
			if (offs[o][1] == 7)
				u8(&g, 0x28);
			if (call == 1)
				u8(&g, (uint8_t)o); /* pattern offset */
			if (call == 2) /* slice capacity: 0, 2 (cuts the whole list), 8 */
				u8(&g, (uint8_t)(o == 2 ? 0 : o == 4 ? 2 : 8));
		}
	}
	u8(&g, 9); /* one iovec to the arena's end, a 32 KiB copy clipped at it */
	u8(&g, 1);
	u16(&g, 0x3000);
	u8(&g, 0xff);
	u8(&g, 0);
	u8(&g, 0);
	u8(&g, 1);
	u16(&g, 0x8000);
	emit(t, "iov", &g);
}

/* ---- dictionaries ---------------------------------------------------------- */

static void dict(const char *target, const char *extra)
{
	static const char common[] =
		"# op codes (one byte each)\n"
		"op_post=\"\\x00\"\nop_desc=\"\\x01\"\nop_avail_idx=\"\\x02\"\nop_avail_ent=\"\\x03\"\n"
		"op_flags=\"\\x04\"\nop_flip=\"\\x05\"\nop_pop=\"\\x06\"\nop_push=\"\\x07\"\n"
		"op_flush=\"\\x08\"\nop_enable=\"\\x09\"\nop_disable=\"\\x0a\"\nop_has_work=\"\\x0b\"\n"
		"op_restart=\"\\x0c\"\nop_event=\"\\x0d\"\nop_itab=\"\\x0e\"\nop_drain=\"\\x0f\"\n"
		"op_push_bogus=\"\\x10\"\nop_unpop=\"\\x11\"\n"
		"# common sequences\n"
		"serve=\"\\x06\\x07\\x00\\x00\\x08\"\n"
		"post_1r1w=\"\\x00\\x05\\x00\\x01\\x40\\x01\\x40\\x05\"\n"
		"# descriptor flags (le16)\n"
		"f_next=\"\\x01\\x00\"\nf_write=\"\\x02\\x00\"\nf_indirect=\"\\x04\\x00\"\n"
		"f_next_write=\"\\x03\\x00\"\nf_ind_next=\"\\x05\\x00\"\n"
		"f_avail=\"\\x80\\x00\"\nf_used=\"\\x00\\x80\"\nf_avail_used=\"\\x80\\x80\"\n"
		"f_avail_next=\"\\x81\\x00\"\nf_avail_write=\"\\x82\\x00\"\n"
		"# sizes and indices (le16 / le32)\n"
		"s_32768=\"\\x00\\x80\"\ns_65535=\"\\xff\\xff\"\ns_256=\"\\x00\\x01\"\n"
		"l_16=\"\\x10\\x00\\x00\\x00\"\nl_4g=\"\\xff\\xff\\xff\\xff\"\nl_2g=\"\\x00\\x00\\x00\\x80\"\n"
		"# addresses (le64)\n"
		"a_data=\"\\x00\\x00\\x10\\x00\\x00\\x00\\x00\\x00\"\n"
		"a_ring=\"\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\"\n"
		"a_top=\"\\xf0\\xff\\xff\\xff\\xff\\xff\\xff\\xff\"\n"
		"a_huge=\"\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\"\n";
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dict", out_dir, target);
	f = fopen(path, "w");
	if (!f)
		die(path);
	fprintf(f, "# %s: generated by corpus/gen/gen_corpus.c (corpus/regen.sh)\n", target);
	if (strcmp(target, "gmem"))
		fputs(common, f);
	fputs(extra, f);
	if (fclose(f))
		die(path);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];

	clean("gmem");
	gmem_seeds();
	dict("gmem", "# region count, kinds, ops\n"
		     "n_32=\"\\x20\"\nn_33=\"\\x21\"\n"
		     "k_adjacent=\"\\x02\"\nk_raw=\"\\x06\"\nk_top=\"\\x0a\"\nk_wrap=\"\\x0e\"\n"
		     "k_overlap=\"\\x12\"\nk_gap=\"\\x1a\"\nk_va_overlap=\"\\x42\"\n"
		     "len_top=\"\\x06\"\nlen_max=\"\\x05\\xff\"\n"
		     "u64_max=\"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\"\n"
		     "u64_top=\"\\x00\\xf0\\xff\\xff\\xff\\xff\\xff\\xff\"\n"
		     "op_iov=\"\\x09\"\niov_5=\"\\x09\\x05\"\n");

	clean("split");
	traffic_seeds("split", 0, 0, FZ_SH_INDIRECT, FZ_M_INDIRECT);
	edge_seeds("split", 0);
	misuse_seeds("split", 0);
	common_ring_seeds("split", 0, 0);
	split_only_seeds("split");
	raw_seeds("split", 0);
	dict("split", "# split header bits\nm_raw=\"\\x80\"\nm_post=\"\\x04\"\n");

	clean("packed");
	traffic_seeds("packed", 0, 1, FZ_SH_INDIRECT, FZ_M_INDIRECT);
	edge_seeds("packed", 1);
	misuse_seeds("packed", 1);
	common_ring_seeds("packed", 0, 1);
	packed_only_seeds("packed");
	raw_seeds("packed", 1);
	dict("packed", "# packed event flags\ne_disable=\"\\x01\\x00\"\ne_desc=\"\\x02\\x00\"\n"
		       "e_bad=\"\\x03\\x00\"\nwrap_bit=\"\\x00\\x80\"\n");

	clean("indirect");
	indirect_seeds("indirect", 0);
	indirect_seeds("indirect", 1);
	traffic_seeds("indirect", FZ_M_PACKED, 1, 0, 0);
	dict("indirect", "# table lengths (le32)\nt_16=\"\\x10\\x00\\x00\\x00\"\n"
			 "t_24=\"\\x18\\x00\\x00\\x00\"\nt_4096=\"\\x00\\x10\\x00\\x00\"\n"
			 "m_packed=\"\\x20\"\n");

	/* Double-fetch twins: every input is trapped, so the seeds are the
	 * traffic shapes (each one a different pattern of device loads to
	 * rewrite between) and, for indirect_df, the table seeds. */
	clean("split_df");
	traffic_seeds("split_df", 0, 0, FZ_SH_INDIRECT, FZ_M_INDIRECT);
	dict("split_df", "# split header bits\nm_touch=\"\\x10\"\n");
	clean("packed_df");
	traffic_seeds("packed_df", 0, 1, FZ_SH_INDIRECT, FZ_M_INDIRECT);
	dict("packed_df", "# packed event flags\ne_disable=\"\\x01\\x00\"\ne_desc=\"\\x02\\x00\"\n"
			  "wrap_bit=\"\\x00\\x80\"\n");
	clean("indirect_df");
	indirect_seeds("indirect_df", 0);
	indirect_seeds("indirect_df", 1);
	traffic_seeds("indirect_df", FZ_M_PACKED, 1, 0, 0);
	dict("indirect_df", "# table lengths (le32)\nt_16=\"\\x10\\x00\\x00\\x00\"\n"
			    "t_24=\"\\x18\\x00\\x00\\x00\"\nm_packed=\"\\x20\"\n");
	return 0;
}
