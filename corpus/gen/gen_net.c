// SPDX-License-Identifier: Apache-2.0
/*
 * gen_net.c - writes the seed corpora and dictionaries of the virtio-net fuzz
 * targets: net_hdr, net_tx, net_rx, vnet_ops.
 *
 * Usage: gen_net <corpus-dir>
 *
 * For each target it removes <corpus-dir>/<target>/seed-*.bin and writes them
 * again, plus <corpus-dir>/<target>.dict.  Output depends on nothing but this
 * file: running it twice gives identical files.  Files not named seed-*
 * (crash reproducers, minimised finds) are left alone.
 *
 * Seeds follow the input grammars in fuzz/NET_RESULTS.md (encoders below):
 * valid traffic shapes (one descriptor, the header across three and more
 * descriptors, mergeable receive over several buffers, packed rings that
 * wrap, indirect tables, the zero-copy receive path, full-size frames), one
 * seed per virtio-net bug class of research/hardening.md (rows F1-F11, G1-G4:
 * seed-F2-hdr-split-12.bin ...) and one per hvisor virtio-net fix of
 * seeds/002 (seed-hvisor-*.bin).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEN_MAX 65536

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

static void bytes(struct gen *g, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		u8(g, p[i]);
}

static void die(const char *what)
{
	fprintf(stderr, "gen_net: %s: %s\n", what, strerror(errno));
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

static void dict(const char *target, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dict", out_dir, target);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die(path);
}

/* ---- shared vocabulary (mirrors fuzz/fz_net.h) ----------------------------- */

/* feature selector bits (fz_net_feat_bits) */
#define F_CSUM 0x0001
#define F_GCSUM 0x0002
#define F_HTSO4 0x0004
#define F_HTSO6 0x0008
#define F_HECN 0x0010
#define F_HUFO 0x0020
#define F_GTSO4 0x0040
#define F_GTSO6 0x0080
#define F_GECN 0x0100
#define F_GUFO 0x0200
#define F_MRG 0x0400
#define F_V1 0x0800
#define F_EVIDX 0x1000
#define F_IND 0x2000
#define F_PACKED 0x4000
#define F_CTRL 0x8000
#define F_HOST_ALL (F_CSUM | F_HTSO4 | F_HTSO6 | F_HECN | F_HUFO)
#define F_GUEST_ALL (F_GCSUM | F_GTSO4 | F_GTSO6 | F_GECN | F_GUFO)

/* ops (enum fz_nop) */
enum {
	OP_POST,
	OP_POSTN,
	OP_RUN,
	OP_INJECT,
	OP_DRAIN,
	OP_SNDBUF,
	OP_CLOSE,
	OP_FLIP,
	OP_RESTART,
	OP_EVENT,
	OP_FAULT /* only with MISC_FAULTS */
};

/* engine header misc bit of net_rx: the fake TAP fails reads on request */
#define MISC_FAULTS 0x20
/* FZ_NOP_FAULT kinds */
enum { FL_EFAULT, FL_EINVAL, FL_EMSGSIZE, FL_ENOBUFS, FL_ENOMEM, FL_EIO, FL_EBADFD };

/* tweaks (enum fz_ntweak) */
enum {
	TW_NONE,
	TW_WRITABLE,
	TW_ORDER,
	TW_ZERO,
	TW_HOLE,
	TW_ALIAS,
	TW_SHORT,
	TW_HDR_ONLY,
	TW_LONG,
	TW_ONE_BYTE,
	TW_IND_NONEG
};

/* shape bits */
#define SH_NB(n) ((unsigned)(n) - 1u)
#define SH_IND 0x10
#define SH_PREFIX 0x20
#define SH_BULK 0x40
#define SH_CROSS 0x80

/* split modes (+ 0x80: 64 KiB more) */
enum { SP_HDR_FIRST, SP_TINY, SP_CUTS, SP_EVEN };
#define SP_BIG 0x80

/* inject length modes */
enum { IN_RUNT, IN_SMALL, IN_ORDINARY, IN_MAX, IN_RAW, IN_MID };

/* header flags / gso */
#define NEEDS_CSUM 1
#define DATA_VALID 2
#define GSO_TCPV4 1
#define GSO_UDP 3
#define GSO_TCPV6 4
#define GSO_UDP_L4 5
#define GSO_ECN 0x80

/* be byte: every offload, SO_SNDBUF class in bits 5-7 */
#define BE_ALL 0x1f
#define BE_SNDBUF(c) ((unsigned)(c) << 5)

struct hd {
	uint8_t flags, gso;
	uint16_t hdr_len, gso_size, cs, co, nb;
};

static void hdr12(uint8_t *p, const struct hd *h)
{
	p[0] = h->flags;
	p[1] = h->gso;
	p[2] = (uint8_t)h->hdr_len;
	p[3] = (uint8_t)(h->hdr_len >> 8);
	p[4] = (uint8_t)h->gso_size;
	p[5] = (uint8_t)(h->gso_size >> 8);
	p[6] = (uint8_t)h->cs;
	p[7] = (uint8_t)(h->cs >> 8);
	p[8] = (uint8_t)h->co;
	p[9] = (uint8_t)(h->co >> 8);
	p[10] = (uint8_t)h->nb;
	p[11] = (uint8_t)(h->nb >> 8);
}

/* Ethernet + IPv4 + TCP-ish prefix for payloads (36 bytes) */
static const uint8_t eth_pfx[36] = {
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x54, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06,
	0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x30, 0x39,
};

/* engine header: features, queue size selector, backend byte, misc (layout flag) */
static void head(struct gen *g, unsigned feat, unsigned size, unsigned be, unsigned misc)
{
	unsigned sel = 0;

	/* split: 1 << (sel % 9); packed: 1 + sel */
	if (feat & F_PACKED)
		sel = size - 1;
	else
		while ((1u << sel) < size)
			sel++;
	u16(g, feat);
	u8(g, sel);
	u8(g, be);
	u8(g, misc);
}

/* fz_layout_build bytes: 4 chunks reversed, 16-byte granularity, no holes */
static void layout_reversed(struct gen *g)
{
	u8(g, 0x80 | (1 << 3) | 3);
	u16(g, 128);
	u16(g, 300);
	u16(g, 700);
}

/* 3 chunks with gaps, one of them a hole, rings at the top of 2^64 */
static void layout_holey(struct gen *g)
{
	u8(g, 0x40 | 0x20 | (2 << 3) | 2);
	u16(g, 2);
	u16(g, 20);
	u8(g, 0x4); /* hole: chunk 2 */
	u8(g, 1);
	u8(g, 3);
	u8(g, 0);
}

/* TX POST operands: shape, tweak, payload length, header, prefix, split mode */
static void post_tx_args(struct gen *g, unsigned shape, unsigned tw, unsigned plen,
			 const struct hd *h, unsigned mode)
{
	uint8_t raw[12];

	u8(g, shape);
	u8(g, tw);
	u16(g, plen);
	hdr12(raw, h);
	bytes(g, raw, 12);
	u8(g, 0x5a); /* pattern seed */
	u8(g, sizeof(eth_pfx));
	bytes(g, eth_pfx, sizeof(eth_pfx));
	u8(g, mode);
}

static void post_tx(struct gen *g, unsigned shape, unsigned tw, unsigned plen, const struct hd *h,
		    unsigned mode)
{
	u8(g, OP_POST);
	post_tx_args(g, shape, tw, plen, h, mode);
}

/* RX POST: shape, tweak, writable bytes, split mode */
static void post_rx(struct gen *g, unsigned shape, unsigned tw, unsigned len, unsigned mode)
{
	u8(g, OP_POST);
	u8(g, shape);
	u8(g, tw);
	u16(g, len);
	u8(g, mode);
}

static void postn(struct gen *g, unsigned cnt, unsigned len)
{
	u8(g, OP_POSTN);
	u8(g, cnt - 1);
	u8(g, len);
}

static void run(struct gen *g, unsigned budget)
{
	u8(g, OP_RUN);
	u8(g, budget & 0x3f);
}

/* INJECT: length mode + operand, header, prefix, repeat count 1..4 */
static void inject(struct gen *g, unsigned lmode, unsigned lop, const struct hd *h, unsigned cnt)
{
	uint8_t raw[12];

	u8(g, OP_INJECT);
	u8(g, lmode | ((cnt - 1) << 4));
	if (lmode == IN_ORDINARY || lmode == IN_RAW || lmode == IN_MID)
		u16(g, lop);
	else
		u8(g, lop);
	hdr12(raw, h);
	bytes(g, raw, 12);
	u8(g, 0x77);
	u8(g, sizeof(eth_pfx));
	bytes(g, eth_pfx, sizeof(eth_pfx));
}

static void op(struct gen *g, unsigned o)
{
	u8(g, o);
}

static const struct hd H0 = { 0 };

/* ---- net_hdr ---------------------------------------------------------------- */

/* one record: sel (bit 0 legacy, bits 1-2 length mode), features, length, header */
static void rec(struct gen *g, unsigned sel, unsigned feat, uint32_t flen, const struct hd *h)
{
	uint8_t raw[12];

	u8(g, sel);
	u16(g, feat);
	switch ((sel >> 1) & 3) {
	case 0:
		u8(g, flen);
		break;
	case 1:
		u16(g, flen);
		break;
	case 2:
		u32(g, flen);
		break;
	default:
		u8(g, flen); /* i8 delta around the checksum end */
		break;
	}
	hdr12(raw, h);
	bytes(g, raw, 12);
}

#define LEN16 (1 << 1)
#define NEAR (3 << 1)

static void gen_hdr(void)
{
	const char *t = "net_hdr";
	struct gen g;
	const unsigned all = F_HOST_ALL | F_GUEST_ALL | F_V1;
	struct hd csum = { NEEDS_CSUM, 0, 0, 0, 34, 16, 0 };
	struct hd tso = { NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16, 0 };

	clean(t);
	memset(&g, 0, sizeof(g));
	rec(&g, LEN16, all, 1514, &H0);
	rec(&g, LEN16, all, 1514, &csum);
	rec(&g, LEN16, all, 1514, &tso);
	emit(t, "valid", &g);

	g.n = 0;
	rec(&g, LEN16, F_V1, 1514, &csum);
	emit(t, "F6-csum-not-negotiated", &g);
	g.n = 0;
	rec(&g, NEAR, all, 0xff, &csum); /* frame one byte short of the checksum */
	rec(&g, NEAR, all, 0x00, &csum); /* exactly the checksum end */
	rec(&g, LEN16, all, 60, &(struct hd){ NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff, 0 });
	emit(t, "F6-csum-range", &g);
	g.n = 0;
	rec(&g, LEN16, F_CSUM | F_V1, 1514, &tso);
	rec(&g, LEN16, all & ~F_HUFO, 1514, &(struct hd){ NEEDS_CSUM, GSO_UDP, 0, 1400, 34, 6, 0 });
	rec(&g, LEN16, all, 1514, &(struct hd){ NEEDS_CSUM, GSO_UDP_L4, 0, 1400, 34, 6, 0 });
	rec(&g, LEN16, all & ~F_HECN, 1514,
	    &(struct hd){ NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 54, 1448, 34, 16, 0 });
	rec(&g, LEN16, all, 1514, &(struct hd){ NEEDS_CSUM, GSO_ECN, 54, 1448, 34, 16, 0 });
	rec(&g, LEN16, all, 1514, &(struct hd){ NEEDS_CSUM, 0x7f, 54, 1448, 34, 16, 0 });
	emit(t, "F6-gso-not-negotiated", &g);
	g.n = 0;
	rec(&g, LEN16, all, 1514, &(struct hd){ NEEDS_CSUM, GSO_TCPV6, 74, 0, 54, 16, 0 });
	emit(t, "F6-gso-size-0", &g);
	g.n = 0;
	rec(&g, LEN16, all, 1514, &(struct hd){ 0, GSO_TCPV4, 54, 1448, 0, 0, 0 });
	emit(t, "F6-gso-without-csum", &g);
	g.n = 0;
	rec(&g, LEN16, all, 100, &(struct hd){ NEEDS_CSUM, 0, 0xffff, 0, 34, 16, 0 });
	rec(&g, LEN16, all, 100, &(struct hd){ NEEDS_CSUM, 0, 2, 0, 34, 16, 0 });
	rec(&g, 2 << 1, all, 0x1ffff, &(struct hd){ NEEDS_CSUM, 0, 0xffff, 0, 0xffff, 0xffff, 0 });
	emit(t, "F6-hdr-len-untrusted", &g);
	g.n = 0;
	rec(&g, LEN16, all, 1514, &(struct hd){ 0xfe, 0, 0, 0, 7, 9, 7 });
	rec(&g, LEN16, all, 1514, &(struct hd){ DATA_VALID | 4, 0, 0, 0, 0, 0, 3 });
	emit(t, "F6-unknown-flags-num-buffers", &g);
	g.n = 0;
	rec(&g, LEN16 | 1, F_HOST_ALL | F_GUEST_ALL, 1514, &tso);
	rec(&g, LEN16, F_MRG, 1514, &tso);
	emit(t, "F4-hdr-size", &g);
	g.n = 0;
	rec(&g, LEN16, F_GCSUM | F_V1, 1514, &tso);
	rec(&g, LEN16, F_V1, 1514, &csum);
	rec(&g, LEN16, F_V1, 1514, &(struct hd){ DATA_VALID, 0, 0, 0, 0, 0, 0 });
	rec(&g, LEN16, F_GUEST_ALL | F_V1, 1514,
	    &(struct hd){ NEEDS_CSUM, GSO_TCPV6 | GSO_ECN, 74, 1428, 54, 16, 0 });
	emit(t, "rx-offloads-not-negotiated", &g);
}

/* ---- net_tx ----------------------------------------------------------------- */

static void gen_tx(void)
{
	const char *t = "net_tx";
	struct gen g;
	const unsigned v1 = F_V1 | F_HOST_ALL | F_IND | F_EVIDX;
	struct hd csum = { NEEDS_CSUM, 0, 0, 0, 34, 16, 0 };
	struct hd tso = { NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16, 0 };

	clean(t);

#define START(feat, size, be)                                                                      \
	do {                                                                                       \
		g.n = 0;                                                                           \
		head(&g, feat, size, be, 0);                                                       \
	} while (0)

	START(v1, 4, BE_ALL);
	post_tx(&g, SH_NB(1), TW_NONE, 100, &H0, SP_HDR_FIRST);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "1desc", &g);

	START(v1, 4, BE_ALL);
	post_tx(&g, SH_NB(2), TW_NONE, 1500, &csum, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_NONE, 60, &H0, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "2desc-hdr-first", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(3), TW_NONE, 200, &H0, SP_EVEN);
	post_tx(&g, SH_NB(4), TW_NONE, 300, &csum, SP_TINY);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "hdr-split-3", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(13), TW_NONE, 120, &csum, SP_TINY);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "F2-hdr-split-12", &g);

	/* packed ring of 3 slots lapped several times with 2-slot chains */
	START(v1 | F_PACKED, 3, BE_ALL);
	for (int i = 0; i < 6; i++) {
		post_tx(&g, SH_NB(2), TW_NONE, 64 + i, &H0, SP_HDR_FIRST);
		run(&g, 1);
	}
	op(&g, OP_DRAIN);
	emit(t, "packed-wrap", &g);

	START(v1 | F_PACKED, 7, BE_ALL);
	post_tx(&g, SH_NB(5) | SH_IND | SH_PREFIX, TW_NONE, 400, &tso, SP_TINY);
	post_tx(&g, SH_NB(3) | SH_IND, TW_NONE, 400, &csum, SP_EVEN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "indirect-packed", &g);

	START(v1, 16, BE_ALL);
	post_tx(&g, SH_NB(8) | SH_IND, TW_NONE, 1000, &csum, SP_CUTS);
	for (int i = 0; i < 7; i++)
		u16(&g, 100 * i + 3);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "indirect-split-cuts", &g);

	START(F_HOST_ALL | F_IND, 4, BE_ALL); /* legacy: 10-byte header */
	post_tx(&g, SH_NB(2), TW_NONE, 80, &csum, SP_HDR_FIRST);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "F4-legacy-hdr-10", &g);

	START(v1, 4, BE_ALL);
	post_tx(&g, SH_NB(4) | SH_BULK, TW_NONE, 65550 - 65536, &tso, SP_HDR_FIRST | SP_BIG);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "max-frame", &g);

	START(v1, 4, BE_ALL);
	post_tx(&g, SH_NB(1), TW_SHORT, 20, &H0, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_SHORT, 5, &H0, SP_HDR_FIRST);
	run(&g, 4);
	emit(t, "F1-short-chain", &g);

	START(v1, 4, BE_ALL);
	post_tx(&g, SH_NB(1), TW_HDR_ONLY, 0, &H0, SP_HDR_FIRST);
	run(&g, 4);
	emit(t, "F3-hdr-only", &g);

	START(v1, 4, BE_ALL);
	post_tx(&g, SH_NB(3), TW_LONG, 7, &tso, SP_EVEN);
	run(&g, 4);
	emit(t, "F5-too-long", &g);

	START(F_V1 | F_CSUM, 8, BE_ALL);
	post_tx(&g, SH_NB(2), TW_NONE, 1500, &tso, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_NONE, 1500,
		&(struct hd){ NEEDS_CSUM, GSO_UDP_L4, 0, 1400, 34, 6, 0 }, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_NONE, 1500,
		&(struct hd){ NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 54, 1448, 34, 16, 0 }, SP_HDR_FIRST);
	run(&g, 8);
	emit(t, "F6-gso-not-negotiated", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(2), TW_NONE, 1500,
		&(struct hd){ NEEDS_CSUM, GSO_TCPV6, 74, 0, 54, 16, 0 }, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_NONE, 1500, &(struct hd){ 0, GSO_TCPV4, 54, 1448, 0, 0, 0 },
		SP_HDR_FIRST);
	run(&g, 8);
	emit(t, "F6-gso-size-0", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(1), TW_NONE, 40, &(struct hd){ NEEDS_CSUM, 0, 0, 0, 30, 9, 0 }, 0);
	post_tx(&g, SH_NB(1), TW_NONE, 41, &(struct hd){ NEEDS_CSUM, 0, 0, 0, 30, 9, 0 }, 0);
	post_tx(&g, SH_NB(1), TW_NONE, 60, &(struct hd){ NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff, 0 },
		0);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "F6-csum-range", &g);

	START(F_V1, 8, BE_ALL);
	post_tx(&g, SH_NB(1), TW_NONE, 100, &csum, 0);
	run(&g, 8);
	emit(t, "F6-csum-not-negotiated", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(2), TW_NONE, 200, &(struct hd){ 0xff, 0, 0xffff, 0, 34, 16, 9 }, 0);
	post_tx(&g, SH_NB(2), TW_NONE, 200, &(struct hd){ DATA_VALID, 0, 900, 77, 1, 2, 1 }, 0);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "F6-hdr-len-flags-sanitised", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(2), TW_NONE, 300, &csum, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_ALIAS, 300, &H0, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "F11-aliased-bufs", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(2), TW_WRITABLE, 100, &H0, SP_HDR_FIRST);
	u8(&g, 12);
	post_tx(&g, SH_NB(3), TW_ORDER, 100, &H0, SP_HDR_FIRST);
	post_tx(&g, SH_NB(1), TW_NONE, 100, &H0, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "B3-writable-descriptor", &g);

	START(F_V1 | F_HOST_ALL, 8, BE_ALL);
	post_tx(&g, SH_NB(2) | SH_IND, TW_IND_NONEG, 100, &H0, SP_HDR_FIRST);
	post_tx(&g, SH_NB(2), TW_ZERO, 100, &H0, SP_HDR_FIRST);
	u8(&g, 0);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "B4-zero-len-indirect-not-negotiated", &g);

	/* a buffer in a hole and one straddling two regions of a holey layout */
	g.n = 0;
	head(&g, v1, 8, BE_ALL, 1);
	layout_holey(&g);
	post_tx(&g, SH_NB(2), TW_HOLE, 100, &H0, SP_HDR_FIRST);
	u8(&g, 1);
	u8(&g, 7); /* fz_addr: gap after a chunk */
	u8(&g, 3);
	u8(&g, 0); /* keep the length */
	post_tx(&g, SH_NB(2) | SH_CROSS, TW_NONE, 100, &H0, SP_HDR_FIRST);
	u8(&g, 0);
	u8(&g, 5);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "B6-hole-straddle", &g);

	g.n = 0;
	head(&g, v1, 16, BE_ALL, 1);
	layout_reversed(&g);
	for (int i = 0; i < 4; i++)
		post_tx(&g, SH_NB(3), TW_NONE, 500 + 100 * i, &csum, SP_EVEN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "layout-reversed", &g);

	/* TAP full: tiny SO_SNDBUF, no draining: EAGAIN, chain kept, retried */
	START(v1, 16, BE_ALL | BE_SNDBUF(1));
	for (int i = 0; i < 6; i++)
		post_tx(&g, SH_NB(2), TW_NONE, 1400, &csum, SP_HDR_FIRST);
	run(&g, 2);
	run(&g, 8);
	op(&g, OP_DRAIN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "eagain-retry", &g);

	START(v1, 8, BE_ALL | BE_SNDBUF(1));
	for (int i = 0; i < 4; i++)
		post_tx(&g, SH_NB(2), TW_NONE, 1400, &csum, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_RESTART);
	op(&g, OP_DRAIN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "eagain-stop-releases", &g);

	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(2), TW_NONE, 100, &H0, SP_HDR_FIRST);
	op(&g, OP_CLOSE);
	post_tx(&g, SH_NB(2), TW_NONE, 100, &H0, SP_HDR_FIRST);
	run(&g, 8);
	run(&g, 8);
	emit(t, "backend-error-epipe", &g);

	START(v1, 8, BE_ALL | BE_SNDBUF(2));
	post_tx(&g, SH_NB(1) | SH_BULK, TW_NONE, 9000, &H0, SP_HDR_FIRST);
	post_tx(&g, SH_NB(1), TW_NONE, 100, &H0, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "backend-error-emsgsize", &g);

	/* guest rewrites the header of a pending chain: the copy taken at pop wins */
	START(v1, 8, BE_ALL | BE_SNDBUF(1));
	post_tx(&g, SH_NB(1), TW_NONE, 4000, &csum, SP_HDR_FIRST);
	post_tx(&g, SH_NB(1), TW_NONE, 4000, &csum, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_FLIP);
	u16(&g, 0);
	u8(&g, 0xff);
	u8(&g, 7);
	op(&g, OP_DRAIN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "B8-header-rewritten-while-pending", &g);

	/* seed 002 (hvisor): first descriptor shorter than the header */
	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(3), TW_NONE, 60, &H0, SP_CUTS);
	u16(&g, 4);
	u16(&g, 9);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "hvisor-hdr-shorter-than-first-desc", &g);

	/* seed 002: buffers added while kicks were off are seen (re-check) */
	START(v1, 8, BE_ALL);
	post_tx(&g, SH_NB(1), TW_NONE, 64, &H0, 0);
	run(&g, 1);
	post_tx(&g, SH_NB(1), TW_NONE, 64, &H0, 0);
	run(&g, 1);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "hvisor-enable-recheck", &g);

	START(v1 & ~F_EVIDX, 8, BE_ALL);
	post_tx(&g, SH_NB(1), TW_NONE, 64, &H0, 0);
	run(&g, 4);
	op(&g, OP_EVENT);
	u8(&g, 0);
	u16(&g, 1); /* NO_INTERRUPT */
	post_tx(&g, SH_NB(1), TW_NONE, 64, &H0, 0);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "hvisor-tx-signal", &g);

	START(v1, 16, BE_ALL);
	post_tx(&g, SH_NB(16), TW_NONE, 3000, &csum, SP_EVEN);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "hvisor-more-than-8-iovecs", &g);

	START(v1, 64, BE_ALL);
	postn(&g, 40, 50);
	run(&g, 0);
	op(&g, OP_DRAIN);
	emit(t, "hvisor-batch-E2-flood", &g);

	START(v1 | F_PACKED, 5, BE_ALL);
	for (int i = 0; i < 5; i++) {
		post_tx(&g, SH_NB(1 + i % 3), TW_NONE, 80, &H0, 0);
		post_tx(&g, SH_NB(1), TW_NONE, 80, &H0, 0);
		run(&g, 3);
		op(&g, OP_RESTART);
	}
	op(&g, OP_DRAIN);
	emit(t, "packed-restart-laps", &g);

	/* TAP still full when the pending chain is retried: the run stops on
	 * it again (no drain between the runs) */
	START(v1, 16, BE_ALL | BE_SNDBUF(1));
	for (int i = 0; i < 6; i++)
		post_tx(&g, SH_NB(2), TW_NONE, 1400, &csum, SP_HDR_FIRST);
	run(&g, 8);
	run(&g, 8);
	run(&g, 8);
	op(&g, OP_DRAIN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "eagain-pending-retried-while-full", &g);

	/* a chain pending on EAGAIN returned by the stop, interrupts wanted
	 * (no EVENT_IDX, avail flags 0): the release publishes and signals */
	START(v1 & ~F_EVIDX, 8, BE_ALL | BE_SNDBUF(1));
	for (int i = 0; i < 4; i++)
		post_tx(&g, SH_NB(2), TW_NONE, 1400, &csum, SP_HDR_FIRST);
	run(&g, 8);
	op(&g, OP_RESTART);
	op(&g, OP_DRAIN);
	run(&g, 8);
	op(&g, OP_DRAIN);
	emit(t, "eagain-stop-releases-and-signals", &g);

	/* legacy 10-byte header at the start of a single (longer) buffer */
	START(F_HOST_ALL | F_IND, 4, BE_ALL);
	post_tx(&g, SH_NB(1), TW_NONE, 80, &csum, SP_HDR_FIRST);
	post_tx(&g, SH_NB(1), TW_NONE, 600, &H0, SP_HDR_FIRST);
	run(&g, 4);
	op(&g, OP_DRAIN);
	emit(t, "F4-legacy-hdr-10-one-buffer", &g);
#undef START
}

/* ---- net_rx ----------------------------------------------------------------- */

static void gen_rx(void)
{
	const char *t = "net_rx";
	struct gen g;
	const unsigned v1 = F_V1 | F_GUEST_ALL | F_IND | F_EVIDX;
	struct hd gtso = { NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16, 0 };
	struct hd valid = { DATA_VALID, 0, 0, 0, 0, 0, 0 };
	struct hd csum_rx = { NEEDS_CSUM, 0, 0, 0, 34, 16, 0 };

	clean(t);

#define START(feat, size)                                                                          \
	do {                                                                                       \
		g.n = 0;                                                                           \
		head(&g, feat, size, BE_ALL, 0);                                                   \
	} while (0)

	START(v1, 4);
	post_rx(&g, SH_NB(1), TW_NONE, 1526, 0);
	inject(&g, IN_ORDINARY, 40, &H0, 1);
	run(&g, 4);
	emit(t, "1buf", &g);

	START(v1 | F_MRG, 8);
	for (int i = 0; i < 4; i++)
		post_rx(&g, SH_NB(1), TW_NONE, 64, 0);
	inject(&g, IN_SMALL, 60, &valid, 1);
	inject(&g, IN_ORDINARY, 100, &gtso, 1);
	run(&g, 8);
	emit(t, "mrg-3bufs", &g);

	START(v1 | F_MRG, 64);
	postn(&g, 64, 16);
	inject(&g, IN_ORDINARY, 300, &H0, 2);
	run(&g, 0);
	emit(t, "mrg-many-tiny", &g);

	START(v1 | F_MRG | F_PACKED, 3);
	for (int i = 0; i < 5; i++) {
		post_rx(&g, SH_NB(2), TW_NONE, 200, 0);
		inject(&g, IN_SMALL, 20 + i, &H0, 1);
		run(&g, 2);
	}
	emit(t, "packed-wrap", &g);

	START(v1, 4);
	post_rx(&g, SH_NB(4) | SH_BULK, TW_NONE, 65562 - 65536, SP_EVEN | SP_BIG);
	inject(&g, IN_MAX, 0, &H0, 1);
	run(&g, 4);
	emit(t, "direct-read-max-frame", &g);

	START(v1 | F_MRG, 8);
	post_rx(&g, SH_NB(2) | SH_BULK, TW_NONE, 60000, SP_EVEN);
	post_rx(&g, SH_NB(3), TW_NONE, 7000, SP_EVEN);
	inject(&g, IN_ORDINARY, 1400, &H0, 2);
	run(&g, 8);
	emit(t, "direct-read-mrg", &g);

	START(v1 | F_MRG, 16);
	post_rx(&g, SH_NB(3) | SH_IND, TW_NONE, 2000, SP_CUTS);
	u16(&g, 3);
	u16(&g, 500);
	post_rx(&g, SH_NB(2) | SH_IND | SH_PREFIX, TW_NONE, 2000, SP_EVEN);
	inject(&g, IN_ORDINARY, 900, &H0, 2);
	run(&g, 8);
	emit(t, "indirect", &g);

	START(F_GUEST_ALL, 4); /* legacy 10-byte header, no mrg */
	post_rx(&g, SH_NB(2), TW_NONE, 1600, SP_HDR_FIRST);
	inject(&g, IN_ORDINARY, 40, &H0, 1);
	run(&g, 4);
	emit(t, "legacy-hdr-10", &g);

	START(v1, 8);
	post_rx(&g, SH_NB(2), TW_WRITABLE, 1600, 0);
	post_rx(&g, SH_NB(3), TW_ORDER, 1600, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_ORDINARY, 40, &H0, 1);
	run(&g, 8);
	emit(t, "F7-readable-desc", &g);

	START(v1, 8);
	post_rx(&g, SH_NB(1), TW_SHORT, 11, 0);
	post_rx(&g, SH_NB(2), TW_SHORT, 3, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_SMALL, 1, &H0, 1);
	run(&g, 8);
	emit(t, "F8-buffer-smaller-than-header", &g);

	START(v1 | F_MRG, 32);
	post_rx(&g, SH_NB(16), TW_ONE_BYTE, 0, 0);
	post_rx(&g, SH_NB(12), TW_ONE_BYTE, 0, 0);
	postn(&g, 8, 1);
	post_rx(&g, SH_NB(1), TW_NONE, 200, 0);
	inject(&g, IN_SMALL, 3, &H0, 1);
	run(&g, 0);
	emit(t, "F8-one-byte-mrg", &g);

	START(v1 | F_MRG, 16);
	post_rx(&g, SH_NB(1), TW_NONE, 100, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 100, 0);
	inject(&g, IN_ORDINARY, 800, &H0, 1);
	run(&g, 8);
	postn(&g, 10, 100);
	run(&g, 8);
	emit(t, "F9-mrg-needs-more-buffers", &g);

	START(v1 | F_MRG, 128);
	postn(&g, 64, 40);
	postn(&g, 60, 40);
	inject(&g, IN_MID, 3000, &gtso, 1);
	run(&g, 0);
	emit(t, "F10-num-buffers", &g);

	START(F_V1 | F_GCSUM | F_MRG, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 2000, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 2000, 0);
	inject(&g, IN_ORDINARY, 1000, &gtso, 1);
	inject(&g, IN_ORDINARY, 1000, &(struct hd){ NEEDS_CSUM, GSO_UDP, 0, 1400, 34, 6, 0 }, 1);
	inject(&g, IN_ORDINARY, 1000, &H0, 1);
	run(&g, 8);
	emit(t, "F6-rx-gso-not-negotiated", &g);

	START(F_V1 | F_MRG, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 2000, 0);
	inject(&g, IN_ORDINARY, 100, &(struct hd){ NEEDS_CSUM, 0, 0, 0, 34, 16, 0 }, 1);
	inject(&g, IN_ORDINARY, 100, &valid, 1);
	run(&g, 8);
	emit(t, "F6-rx-csum-not-negotiated", &g);

	START(v1 | F_MRG, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 2000, 0);
	inject(&g, IN_SMALL, 2, &(struct hd){ NEEDS_CSUM, 0, 0, 0, 60, 60, 0 }, 1);
	inject(&g, IN_SMALL, 2, &(struct hd){ 0xff, 0, 0xffff, 0, 0, 0, 77 }, 1);
	run(&g, 8);
	emit(t, "F6-rx-csum-range-flags", &g);

	START(v1 | F_MRG, 8);
	post_rx(&g, SH_NB(2), TW_NONE, 600, 0);
	post_rx(&g, SH_NB(2), TW_ALIAS, 600, 0);
	inject(&g, IN_ORDINARY, 200, &H0, 2);
	run(&g, 8);
	emit(t, "F11-aliased-bufs", &g);

	START(v1, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_RUNT, 5, &H0, 1);
	inject(&g, IN_RUNT, 25, &H0, 1);
	inject(&g, IN_SMALL, 0, &H0, 1);
	run(&g, 8);
	emit(t, "F1-runt-frames", &g);

	START(v1, 4);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_MAX, 0, &H0, 1);
	inject(&g, IN_ORDINARY, 10, &H0, 1);
	run(&g, 8);
	emit(t, "F5-frame-larger-than-buffer", &g);

	START(v1 | F_MRG, 16);
	for (int i = 0; i < 4; i++)
		inject(&g, IN_SMALL, i, &H0, 4);
	postn(&g, 4, 100);
	run(&g, 2);
	run(&g, 2);
	postn(&g, 16, 100);
	run(&g, 0);
	emit(t, "E2-flood-small-budget", &g);

	/* seed 002 (hvisor) */
	START(v1 | F_MRG, 8);
	post_rx(&g, SH_NB(3), TW_NONE, 300, SP_TINY);
	inject(&g, IN_ORDINARY, 100, &H0, 1);
	run(&g, 8);
	emit(t, "hvisor-first-buffer-shorter-than-header", &g);

	START(v1, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_ORDINARY, 10, &H0, 1);
	op(&g, OP_CLOSE);
	run(&g, 8);
	run(&g, 8);
	op(&g, OP_RESTART);
	run(&g, 8);
	emit(t, "hvisor-eof-keeps-buffers", &g);

	START(v1, 8);
	inject(&g, IN_ORDINARY, 10, &H0, 3);
	run(&g, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	run(&g, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	run(&g, 8);
	emit(t, "hvisor-no-buffers-backpressure", &g);

	START(v1 | F_MRG | F_PACKED, 9);
	post_rx(&g, SH_NB(12), TW_NONE, 1500, SP_EVEN);
	post_rx(&g, SH_NB(3) | SH_IND, TW_NONE, 1500, SP_EVEN);
	inject(&g, IN_ORDINARY, 1300, &H0, 2);
	run(&g, 8);
	op(&g, OP_RESTART);
	run(&g, 8);
	emit(t, "hvisor-many-iovecs-indirect", &g);

	START(v1 & ~F_EVIDX, 8);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_ORDINARY, 10, &H0, 1);
	run(&g, 8);
	emit(t, "hvisor-rx-signal", &g);

	g.n = 0;
	head(&g, v1 | F_MRG, 16, BE_ALL, 1);
	layout_reversed(&g);
	post_rx(&g, SH_NB(4) | SH_CROSS, TW_NONE, 1000, SP_EVEN);
	u8(&g, 1);
	u8(&g, 30);
	post_rx(&g, SH_NB(2), TW_NONE, 1000, SP_EVEN);
	inject(&g, IN_ORDINARY, 1000, &H0, 2);
	run(&g, 8);
	emit(t, "B6-straddling-buffers", &g);

	/* a refused chain uses up a budget of 1 before any buffer is reserved */
	START(v1, 8);
	post_rx(&g, SH_NB(2), TW_WRITABLE, 1600, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_ORDINARY, 40, &H0, 1);
	run(&g, 1);
	run(&g, 4);
	emit(t, "budget-spent-on-refused-chain", &g);

	/* zero-copy receive (one bulk chain holds a maximal frame) of frames
	 * whose header breaks the RX rules (GSO and checksum offloads not
	 * negotiated): the header is checked in guest memory, nothing is
	 * published, the chain stays reserved for the valid frame after them */
	START(F_V1 | F_IND | F_EVIDX, 4);
	post_rx(&g, SH_NB(4) | SH_BULK, TW_NONE, 65562 - 65536, SP_EVEN | SP_BIG);
	inject(&g, IN_ORDINARY, 100, &gtso, 1);
	inject(&g, IN_ORDINARY, 100, &csum_rx, 1);
	inject(&g, IN_ORDINARY, 100, &H0, 1);
	run(&g, 8);
	emit(t, "direct-read-header-refused", &g);

	/* MISC_FAULTS: the fake TAP fails reads as a TAP does.  Each frame
	 * error (EFAULT, EINVAL, EMSGSIZE, ENOBUFS, ENOMEM) costs the frame
	 * being read, counted as a backend drop, the next frame is delivered
	 * into the same buffer */
	g.n = 0;
	head(&g, v1 | F_MRG, 8, BE_ALL, MISC_FAULTS);
	for (unsigned k = FL_EFAULT; k <= FL_ENOMEM; k++) {
		post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
		inject(&g, IN_ORDINARY, 100 + k, &H0, 2);
		op(&g, OP_FAULT);
		u8(&g, k);
		run(&g, 8);
	}
	emit(t, "tap-frame-errors", &g);

	/* ... also when the frame was being read straight into a maximal
	 * reservation (zero-copy path) */
	g.n = 0;
	head(&g, v1, 4, BE_ALL, MISC_FAULTS);
	post_rx(&g, SH_NB(4) | SH_BULK, TW_NONE, 65562 - 65536, SP_EVEN | SP_BIG);
	op(&g, OP_FAULT);
	u8(&g, FL_ENOBUFS);
	inject(&g, IN_MAX, 0, &H0, 1);
	inject(&g, IN_ORDINARY, 100, &H0, 1);
	run(&g, 4);
	emit(t, "tap-frame-error-direct-read", &g);

	/* a hard read error (EIO, then EBADFD: a detached TAP queue) stops the
	 * run with the error and keeps every reserved chain: nothing returned,
	 * the frame still queued is delivered by the next run; once after a
	 * refused chain was already returned in the same run */
	g.n = 0;
	head(&g, v1, 8, BE_ALL, MISC_FAULTS);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_ORDINARY, 100, &H0, 1);
	op(&g, OP_FAULT);
	u8(&g, FL_EIO);
	run(&g, 8);
	run(&g, 8);
	post_rx(&g, SH_NB(2), TW_WRITABLE, 1600, 0);
	post_rx(&g, SH_NB(1), TW_NONE, 1600, 0);
	inject(&g, IN_ORDINARY, 200, &H0, 1);
	op(&g, OP_FAULT);
	u8(&g, FL_EBADFD);
	run(&g, 8);
	run(&g, 8);
	emit(t, "tap-read-error-keeps-buffers", &g);
#undef START
}

/* ---- vnet_ops ---------------------------------------------------------------- */

enum {
	VO_SETUP,
	VO_POST,
	VO_POSTN,
	VO_CTRL,
	VO_INJECT,
	VO_RUN,
	VO_DRAIN,
	VO_VU,
	VO_FLIP,
	VO_EVENT,
	VO_SNDBUF,
	VO_CLOSE,
	VO_RECONNECT,
	VO_MISUSE /* only with MISC_MISUSE */
};
/* VO_MISUSE kinds (enum vo_mis) */
enum {
	VM_FEATURES_RUNNING,
	VM_FEATURES_UNOFFERED,
	VM_START_UNDEFINED,
	VM_START_WRONG_FMT,
	VM_START_NO_FEATURES,
	VM_STOP_UNDEFINED,
	VM_INIT_BAD_PARAMS,
	VM_LINK,
	VM_INIT_OFFER
};
/* engine header misc bits of vnet_ops */
#define MISC_TWO_PAIRS 0x04
#define MISC_MQ 0x08
#define MISC_MISUSE 0x10
enum {
	VV_GET_BASE,
	VV_KICK,
	VV_CALL,
	VV_ERR,
	VV_MEM_SAME,
	VV_MEM_LESS,
	VV_RESET,
	VV_ENABLE,
	VV_FEATURES,
	VV_CONFIG,
	VV_BASE,
	VV_RAW
};
#define VO_C_PROTO 0x01
#define VO_C_ACK 0x02
#define VO_C_NOCALL 0x04
#define VO_C_PACKED_BASE 0x10
#define VO_C_CTRL_RX 0x20
#define VO_C_CTRL_ALL 0xe0 /* CTRL_RX, CTRL_MAC_ADDR, GUEST_ANNOUNCE */

static void vo_run(struct gen *g, unsigned which, unsigned budget)
{
	u8(g, VO_RUN);
	u8(g, which);
	u8(g, budget);
}

static void vo_ctrl(struct gen *g, unsigned cls, unsigned cmd, const uint8_t *d, unsigned dl,
		    unsigned shape)
{
	u8(g, VO_CTRL);
	u8(g, cls);
	u8(g, cmd);
	u8(g, dl);
	bytes(g, d, dl);
	u8(g, shape);
}

/* vnet_ops POST: ring byte then the net_tx / net_rx POST operands */
static void vo_post_tx(struct gen *g, unsigned shape, unsigned plen, const struct hd *h)
{
	u8(g, VO_POST);
	u8(g, 1);
	post_tx_args(g, shape, TW_NONE, plen, h, 0);
}

static void vo_post_rx(struct gen *g, unsigned shape, unsigned len)
{
	u8(g, VO_POST);
	u8(g, 0);
	u8(g, shape);
	u8(g, TW_NONE);
	u16(g, len);
	u8(g, 0);
}

static void vo_inject(struct gen *g, unsigned lmode, unsigned lop, const struct hd *h, unsigned cnt)
{
	/* same operands as OP_INJECT: patch the op byte */
	size_t at = g->n;

	inject(g, lmode, lop, h, cnt);
	g->b[at] = VO_INJECT;
}

static void vo_misuse(struct gen *g, unsigned kind, unsigned sel)
{
	u8(g, VO_MISUSE);
	u8(g, kind);
	u8(g, sel);
}

static void vo_vu(struct gen *g, unsigned kind)
{
	u8(g, VO_VU);
	u8(g, kind);
}

/* GET/SET_CONFIG (@set) of @len bytes at config offset @off, then @dn bytes
 * of payload: @mac repeated (6 bytes, 6 + 4, 6 + 6) */
static void vo_config(struct gen *g, unsigned off, unsigned len, unsigned set,
		      const uint8_t *mac, unsigned dn)
{
	vo_vu(g, VV_CONFIG);
	u8(g, off);
	u8(g, len);
	u8(g, set);
	for (unsigned i = 0; i < dn; i++)
		u8(g, mac[i % 6]);
}

/* fixed layout (misc bit 0 clear): three 12 KiB ring blocks, the 72 KiB bulk
 * zone, then the 16 KiB data area (fz_net.c, fz.c) */
#define VO_ARENA (3u * 12288u + 72u * 1024u + 16384u)

/* vnet_ops FLIP ending at arena byte @at (the harness flips 1 + (u8 % 8)
 * bytes from (offset * 7) % arena): the nearest start a u16 offset reaches */
static void vo_flip(struct gen *g, unsigned at, unsigned x)
{
	for (unsigned d = 0; d < 8; d++) {
		for (unsigned off = 0; off < 65536; off++) {
			if (off * 7u % VO_ARENA != at - d)
				continue;
			u8(g, VO_FLIP);
			u16(g, off);
			u8(g, x);
			u8(g, d); /* d + 1 bytes */
			return;
		}
	}
	die("vo_flip: no offset");
}

/* low byte of a split ring's avail->idx: ring block of queue @q + 4096 + 2 */
#define VO_AVAIL_IDX(q) ((q)*12288u + 4096u + 2u)

static void gen_vnet(void)
{
	const char *t = "vnet_ops";
	struct gen g;
	const unsigned base = F_V1 | F_HOST_ALL | F_GUEST_ALL | F_IND | F_EVIDX | F_MRG;
	struct hd csum = { NEEDS_CSUM, 0, 0, 0, 34, 16, 0 };
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint8_t tab[4 + 12 + 4 + 6];

	clean(t);

#define START(feat, size, choice)                                                                  \
	do {                                                                                       \
		g.n = 0;                                                                           \
		head(&g, feat, size, BE_ALL, 0);                                                   \
		u8(&g, choice);                                                                    \
		u8(&g, VO_SETUP);                                                                  \
	} while (0)

	START(base, 8, 0);
	vo_post_tx(&g, SH_NB(2), 200, &csum);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_run(&g, 0, 8);
	emit(t, "session-split", &g);

	START(base | F_PACKED, 5, VO_C_PROTO | VO_C_ACK | VO_C_PACKED_BASE);
	for (int i = 0; i < 4; i++) {
		vo_post_tx(&g, SH_NB(2), 100 + i, &H0);
		vo_post_rx(&g, SH_NB(2), 400);
		vo_inject(&g, IN_SMALL, 10, &H0, 1);
		vo_run(&g, 1, 8);
		vo_run(&g, 0, 8);
	}
	u8(&g, VO_DRAIN);
	emit(t, "session-packed", &g);

	START(base, 8, VO_C_PROTO);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 1);
	vo_run(&g, 1, 8);
	vo_vu(&g, VV_KICK);
	u8(&g, 1);
	vo_run(&g, 1, 8);
	vo_vu(&g, VV_MEM_SAME);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_run(&g, 0, 8);
	u8(&g, VO_DRAIN);
	emit(t, "get-vring-base-restart", &g);

	START(base, 8, VO_C_PROTO | VO_C_ACK);
	vo_post_tx(&g, SH_NB(2), 300, &csum);
	vo_vu(&g, VV_RESET);
	u8(&g, VO_SETUP);
	vo_post_tx(&g, SH_NB(2), 300, &csum);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	vo_vu(&g, VV_FEATURES);
	u16(&g, base);
	u8(&g, 0);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 0);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 1);
	vo_vu(&g, VV_FEATURES);
	u16(&g, base | F_PACKED);
	u8(&g, 0);
	vo_vu(&g, VV_FEATURES);
	u16(&g, F_GTSO4); /* raw: GUEST_TSO4 without GUEST_CSUM */
	u8(&g, 1);
	vo_vu(&g, VV_KICK);
	u8(&g, 0);
	u8(&g, VO_RECONNECT);
	u8(&g, VO_SETUP);
	vo_run(&g, 1, 8);
	emit(t, "reset-reconnect", &g);

	START(base, 8, VO_C_NOCALL);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_run(&g, 0, 8);
	vo_vu(&g, VV_CALL);
	u8(&g, 0);
	u8(&g, 0);
	vo_vu(&g, VV_ENABLE);
	u8(&g, 0);
	u8(&g, 0);
	vo_config(&g, 0, 6, 0, mac, 0);
	emit(t, "call-nofd-config", &g);

	g.n = 0;
	head(&g, base, 8, BE_ALL, 1);
	layout_reversed(&g);
	u8(&g, 0);
	u8(&g, VO_SETUP);
	vo_post_rx(&g, SH_NB(2), 1600);
	vo_vu(&g, VV_MEM_LESS);
	u8(&g, 0);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_run(&g, 0, 8);
	vo_vu(&g, VV_MEM_SAME);
	vo_run(&g, 0, 8);
	emit(t, "mem-table-shrinks", &g);

	START(base, 8, 0);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	u8(&g, VO_FLIP);
	u16(&g, 2);
	u8(&g, 0x40);
	u8(&g, 3);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "flip-descriptor", &g);

	/* control queue: G1-G4 */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 1, 1, mac, 6, (2 << 2) | 1);
	vo_run(&g, 2, 8);
	emit(t, "ctrl-ok", &g);

	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 0); /* no ack buffer */
	vo_ctrl(&g, 0, 0, NULL, 0, 1 << 2); /* class+cmd, no data */
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, (1 << 2) | 0x20); /* ack first */
	vo_run(&g, 2, 8);
	emit(t, "G1-missing-header-or-ack", &g);

	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 1, 1, mac, 5, 1 << 2);
	vo_ctrl(&g, 0, 1, (const uint8_t *)"\x01\x01", 2, 1 << 2);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x01\x00", 2, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "G2-payload-length", &g);

	/* MAC table: 0xffffffff unicast entries (CVE-2014-0150), then a table
	 * with one unicast and one multicast entry */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	memset(tab, 0, sizeof(tab));
	tab[0] = tab[1] = tab[2] = tab[3] = 0xff;
	vo_ctrl(&g, 1, 0, tab, 8, 1 << 2);
	memset(tab, 0, sizeof(tab));
	tab[0] = 1;
	memcpy(tab + 4, mac, 6);
	tab[10] = 1;
	memcpy(tab + 14, mac, 6);
	vo_ctrl(&g, 1, 0, tab, 20, (2 << 2) | 2);
	vo_run(&g, 2, 8);
	emit(t, "G3-mac-table-overflow", &g);

	START(base | F_CTRL, 8, VO_C_CTRL_RX);
	vo_ctrl(&g, 9, 0, NULL, 0, 1 << 2);
	vo_ctrl(&g, 3, 0, NULL, 0, 1 << 2);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x02\x00", 2, 1 << 2);
	vo_ctrl(&g, 0, 3, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "G4-unknown-or-not-negotiated", &g);

	/* every command of every class the device knows, valid and malformed:
	 * CTRL_RX_EXTRA commands (not offered), unknown commands, wrong lengths,
	 * MAC tables cut short, with trailing bytes or a count past the data,
	 * classes never offered (VLAN, GUEST_OFFLOADS) */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 1, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 0, 2, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 0, 3, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	vo_ctrl(&g, 0, 4, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 0, 5, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 0, 6, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01\x00", 2, 1 << 2);
	vo_ctrl(&g, 1, 0, (const uint8_t *)"\x01\x00", 2, 1 << 2);
	memset(tab, 0, sizeof(tab));
	tab[0] = 1;
	memcpy(tab + 4, mac, 6);
	vo_ctrl(&g, 1, 0, tab, 10, 1 << 2); /* no multicast list */
	vo_run(&g, 2, 8);
	memset(tab, 0, sizeof(tab));
	vo_ctrl(&g, 1, 0, tab, 9, 1 << 2); /* one byte after both lists */
	tab[0] = 5;
	memcpy(tab + 4, mac, 6);
	vo_ctrl(&g, 1, 0, tab, 10, 1 << 2); /* 5 entries, 1 present */
	vo_ctrl(&g, 1, 2, mac, 6, 1 << 2);
	vo_run(&g, 2, 8);
	vo_ctrl(&g, 3, 0, NULL, 0, 1 << 2);
	vo_ctrl(&g, 3, 1, NULL, 0, 1 << 2);
	vo_ctrl(&g, 3, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	vo_ctrl(&g, 2, 0, (const uint8_t *)"\x01\x00", 2, 1 << 2);
	vo_ctrl(&g, 5, 0, (const uint8_t *)"\x00\x00\x00\x00\x00\x00\x00\x00", 8, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "ctrl-every-command", &g);

	/* the same classes with none of their features negotiated */
	START(base | F_CTRL, 8, 0);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 1, 1, mac, 6, 1 << 2);
	vo_ctrl(&g, 1, 0, tab, 20, 1 << 2);
	vo_run(&g, 2, 8);
	vo_ctrl(&g, 3, 0, NULL, 0, 1 << 2);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x01\x00", 2, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "G4-ctrl-features-not-negotiated", &g);

	/* two queue pairs with MQ: the control queue is virtqueue 4; MQ_VQ_PAIRS_SET,
	 * a MAC table of 70 entries (overflow flag), a command over the limit */
	g.n = 0;
	head(&g, base | F_CTRL, 16, BE_ALL, 4 | 8);
	u8(&g, VO_C_CTRL_ALL);
	u8(&g, VO_SETUP);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x02\x00", 2, 1 << 2);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x03\x00", 2, 1 << 2);
	u8(&g, VO_CTRL);
	u8(&g, 1);
	u8(&g, 0);
	u8(&g, 0xf7); /* 8 * 64 = 512 bytes: {70 unicast} {14 multicast} */
	u32(&g, 70);
	for (unsigned i = 0; i < 70 * 6; i++)
		u8(&g, i);
	u32(&g, 14);
	for (unsigned i = 0; i < 14 * 6; i++)
		u8(&g, 0x01);
	u8(&g, 1 << 2);
	u8(&g, VO_CTRL);
	u8(&g, 1);
	u8(&g, 0);
	u8(&g, 0xff); /* 1024 bytes: more than any command */
	for (unsigned i = 0; i < 1024; i++)
		u8(&g, 0);
	u8(&g, (1 << 2) | 2);
	vo_run(&g, 2, 8);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 2);
	emit(t, "G3-mq-and-long-commands", &g);

	/* MQ_VQ_PAIRS_SET malformed: 0 pairs, another command, a short payload;
	 * then one command longer than the device's command buffer */
	g.n = 0;
	head(&g, base | F_CTRL, 16, BE_ALL, 4 | 8);
	u8(&g, VO_C_CTRL_ALL);
	u8(&g, VO_SETUP);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x00\x00", 2, 1 << 2);
	vo_ctrl(&g, 4, 1, (const uint8_t *)"\x01\x00", 2, 1 << 2);
	vo_ctrl(&g, 4, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	u8(&g, VO_CTRL);
	u8(&g, 1);
	u8(&g, 0);
	u8(&g, 0xfd); /* 14 * 64 = 896 bytes */
	for (unsigned i = 0; i < 896; i++)
		u8(&g, 0);
	u8(&g, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "G2-mq-malformed-and-oversized", &g);

	START(base | F_CTRL | F_PACKED, 6, VO_C_PROTO | VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 1, (const uint8_t *)"\x00", 1, (3 << 2) | 0x10 | 2);
	vo_run(&g, 2, 8);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 2);
	vo_vu(&g, VV_KICK);
	u8(&g, 2);
	vo_ctrl(&g, 0, 1, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "ctrl-packed-restart", &g);

	/* requests that do not reconfigure rings, and a hostile SET_VRING_BASE */
	START(base, 8, VO_C_PROTO | VO_C_ACK);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 1);
	vo_vu(&g, VV_BASE);
	u8(&g, 1);
	u32(&g, 0xfff0);
	vo_vu(&g, VV_KICK);
	u8(&g, 1);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	/* GET_MAX_MEM_SLOTS (4) without its feature closes the connection: last */
	for (unsigned i = 0; i < 9; i++) {
		vo_vu(&g, VV_RAW);
		u8(&g, (i + 5) % 9);
		u64(&g, i == 6 ? 0x0f : 0);
	}
	emit(t, "vu-requests-and-base", &g);

	/* seed 002 (hvisor) classes through the whole device */
	START(base & ~F_EVIDX, 8, 0);
	vo_post_tx(&g, SH_NB(1), 64, &H0);
	vo_run(&g, 1, 8);
	vo_post_tx(&g, SH_NB(1), 64, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "hvisor-tx-signal-recheck", &g);

	START(base, 8, 0);
	vo_post_rx(&g, SH_NB(1), 1600);
	u8(&g, VO_CLOSE);
	vo_run(&g, 0, 8);
	vo_run(&g, 0, 8);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 0);
	emit(t, "hvisor-rx-eof", &g);

	/* the guest moves avail->idx of every ring 64 ahead: each queue's next
	 * pop finds a ring fault, the run stops on the broken ring */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_flip(&g, VO_AVAIL_IDX(0), 0x40);
	vo_flip(&g, VO_AVAIL_IDX(1), 0x40);
	vo_flip(&g, VO_AVAIL_IDX(2), 0x40);
	vo_run(&g, 1, 8);
	vo_run(&g, 0, 8);
	vo_run(&g, 2, 8);
	u8(&g, VO_DRAIN);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 1);
	emit(t, "rings-broken-by-avail-idx-jump", &g);

	/* control queue budget 1: one command per run, the rest wait */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_ctrl(&g, 0, 1, (const uint8_t *)"\x00", 1, 1 << 2);
	vo_ctrl(&g, 1, 1, mac, 6, 1 << 2);
	vo_run(&g, 2, 1);
	vo_run(&g, 2, 1);
	vo_run(&g, 2, 8);
	emit(t, "ctrl-budget-one-per-run", &g);

	/* a command of one readable byte (the class, no command byte), also
	 * as three pieces of which two are empty */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, (1 << 2) | 0x40);
	vo_ctrl(&g, 1, 1, mac, 6, (1 << 2) | 0x40 | 2);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "G2-class-byte-only", &g);

	/* config space through GET/SET_CONFIG: a legacy driver (no VERSION_1)
	 * writes the mac, then writes past it, then reads and writes out of
	 * bounds */
	START(base & ~F_V1, 8, VO_C_PROTO);
	vo_config(&g, 0, 6, 1, mac, 6);
	vo_config(&g, 4, 4, 1, mac, 4);
	vo_config(&g, 13, 0, 1, mac, 0);
	vo_config(&g, 4, 10, 1, mac, 10);
	vo_config(&g, 13, 0, 0, mac, 0);
	vo_config(&g, 4, 10, 0, mac, 10);
	vo_config(&g, 0, 12, 0, mac, 12);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "config-legacy-mac-write-and-bounds", &g);

	/* a VERSION_1 driver must not write config (5.1.4.2) */
	START(base, 8, VO_C_PROTO);
	vo_config(&g, 0, 6, 1, mac, 6);
	vo_config(&g, 0, 6, 0, mac, 6);
	emit(t, "config-modern-write-refused", &g);

	/* a frame waiting in the host buffer for more mergeable RX buffers,
	 * rings stopped, SET_FEATURES with other features: dropped and
	 * counted (rx-features-changed) */
	START(base, 8, VO_C_PROTO);
	vo_post_rx(&g, SH_NB(1), 200);
	vo_post_rx(&g, SH_NB(1), 200);
	vo_inject(&g, IN_ORDINARY, 1400, &H0, 1);
	vo_run(&g, 0, 8);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 0);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 1);
	vo_vu(&g, VV_FEATURES);
	u16(&g, base & ~F_GUEST_ALL);
	u8(&g, 0);
	vo_vu(&g, VV_KICK);
	u8(&g, 0);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_run(&g, 0, 8);
	emit(t, "rx-pending-dropped-on-new-features", &g);

	/* rings stopped, then SET_FEATURES with GUEST_TSO4 but not GUEST_CSUM
	 * (5.1.3.1): refused by the device, the old features stay */
	START(base, 8, VO_C_PROTO | VO_C_ACK);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 0);
	vo_vu(&g, VV_GET_BASE);
	u8(&g, 1);
	vo_vu(&g, VV_FEATURES);
	u16(&g, F_V1 | F_GTSO4);
	u8(&g, 1); /* raw: not closed under the dependencies */
	vo_vu(&g, VV_KICK);
	u8(&g, 0);
	vo_vu(&g, VV_KICK);
	u8(&g, 1);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "set-features-dependency-missing", &g);

	/* a started but disabled TX ring (SET_VRING_ENABLE 0): chains are
	 * completed and discarded, the one pending on EAGAIN too; enabled
	 * again, chains go out */
	g.n = 0;
	head(&g, base, 8, BE_ALL | BE_SNDBUF(1), 0);
	u8(&g, VO_C_PROTO);
	u8(&g, VO_SETUP);
	for (int i = 0; i < 4; i++)
		vo_post_tx(&g, SH_NB(2), 1400, &csum);
	vo_run(&g, 1, 8);
	vo_vu(&g, VV_ENABLE);
	u8(&g, 1);
	u8(&g, 0);
	vo_run(&g, 1, 8);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	vo_vu(&g, VV_ENABLE);
	u8(&g, 1);
	u8(&g, 1);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "tx-ring-disabled-discards", &g);

	/* every ring stopped by GET_VRING_BASE, then the data path run on
	 * each: net_rx_run / net_tx_run / net_ctrl_run refuse (-EINVAL) and
	 * touch nothing; a kick restarts RX */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	for (unsigned r = 0; r < 3; r++) {
		vo_vu(&g, VV_GET_BASE);
		u8(&g, r);
	}
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	for (unsigned r = 0; r < 3; r++)
		vo_run(&g, r, 8);
	vo_vu(&g, VV_KICK);
	u8(&g, 0);
	vo_run(&g, 0, 8);
	emit(t, "data-path-on-stopped-rings", &g);

	/* the control queue configured and stopped, SET_FEATURES without
	 * CTRL_VQ, then a kick on its old index 2: vhost-user asks the device
	 * to start a ring the new features do not define, vnet_queue_start
	 * refuses (-EINVAL); TX, kicked again, still runs */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	for (unsigned r = 0; r < 3; r++) {
		vo_vu(&g, VV_GET_BASE);
		u8(&g, r);
	}
	vo_vu(&g, VV_FEATURES);
	u16(&g, base);
	u8(&g, 0);
	vo_vu(&g, VV_KICK);
	u8(&g, 2);
	vo_vu(&g, VV_KICK);
	u8(&g, 1);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "ctrl-ring-kicked-after-ctrl-vq-dropped", &g);

	/* a control command whose only readable descriptor the guest shrinks
	 * to length 0 after posting (descriptor 0 of the control ring, len
	 * 1 -> 0): the chain has no readable iovec, only the ack buffer; the
	 * device reads no class byte and acks VIRTIO_NET_ERR */
	START(base | F_CTRL, 8, VO_C_CTRL_ALL);
	vo_ctrl(&g, 0, 0, NULL, 0, 0x40 | (1 << 2));
	vo_flip(&g, 2u * 12288u + 8u, 0x01);
	vo_run(&g, 2, 8);
	emit(t, "ctrl-readable-part-empty", &g);

	/* MISC_MISUSE: the vnet API misused next to the vhost-user server:
	 * a ring start before features, vnet_init with each kind of bad
	 * parameter (then vnet_destroy of the refused device), SET_FEATURES
	 * with a feature never offered; after set-up, SET_FEATURES while the
	 * control queue, then RX, then only TX runs (-EBUSY), starts of an
	 * undefined index and with the wrong ring format, a stop of an
	 * undefined index; then the rings restart and carry traffic */
	g.n = 0;
	head(&g, base | F_CTRL, 8, BE_ALL, MISC_MISUSE);
	u8(&g, VO_C_CTRL_ALL);
	vo_misuse(&g, VM_START_NO_FEATURES, 0);
	for (unsigned k = 0; k < 5; k++)
		vo_misuse(&g, VM_INIT_BAD_PARAMS, k);
	vo_misuse(&g, VM_FEATURES_UNOFFERED, 0);
	u8(&g, VO_SETUP);
	vo_misuse(&g, VM_FEATURES_RUNNING, 0);
	vo_misuse(&g, VM_FEATURES_UNOFFERED, 0);
	vo_misuse(&g, VM_START_UNDEFINED, 0);
	vo_misuse(&g, VM_START_UNDEFINED, 3);
	vo_misuse(&g, VM_START_WRONG_FMT, 0);
	vo_misuse(&g, VM_STOP_UNDEFINED, 1);
	for (unsigned r = 0; r < 3; r++) {
		vo_vu(&g, VV_GET_BASE);
		u8(&g, (r + 2) % 3); /* control queue, then RX, then TX */
		vo_misuse(&g, VM_FEATURES_RUNNING, 0);
	}
	vo_misuse(&g, VM_FEATURES_UNOFFERED, 0);
	for (unsigned r = 0; r < 3; r++) {
		vo_vu(&g, VV_KICK);
		u8(&g, r);
	}
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	vo_post_rx(&g, SH_NB(1), 1600);
	vo_inject(&g, IN_ORDINARY, 100, &H0, 1);
	vo_run(&g, 0, 8);
	vo_ctrl(&g, 0, 0, (const uint8_t *)"\x01", 1, 1 << 2);
	vo_run(&g, 2, 8);
	emit(t, "misuse-vnet-api", &g);

	/* the same with two queue pairs and MQ (the control queue at 4),
	 * packed rings */
	g.n = 0;
	head(&g, base | F_CTRL | F_PACKED, 8, BE_ALL, MISC_MISUSE | MISC_TWO_PAIRS | MISC_MQ);
	u8(&g, VO_C_PROTO | VO_C_CTRL_ALL);
	u8(&g, VO_SETUP);
	vo_misuse(&g, VM_START_UNDEFINED, 0);
	vo_misuse(&g, VM_START_WRONG_FMT, 0);
	vo_misuse(&g, VM_STOP_UNDEFINED, 2);
	vo_misuse(&g, VM_FEATURES_RUNNING, 0);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "misuse-vnet-api-mq", &g);

	/* MISC_MISUSE, calls the vhost-user server never makes but an operator
	 * might: link down and up (twice each: the second changes nothing),
	 * before and after set-up (with VIRTIO_NET_F_STATUS offered, and on a
	 * second device without it: no config change reported); second
	 * devices with operator allow masks (every bit, none of the 16 named,
	 * offloads only, control features only), no MAC, no MTU; then traffic */
	g.n = 0;
	head(&g, base | F_CTRL, 8, BE_ALL, MISC_MISUSE | MISC_TWO_PAIRS | MISC_MQ);
	u8(&g, VO_C_CTRL_ALL);
	vo_misuse(&g, VM_LINK, 0);
	vo_misuse(&g, VM_LINK, 0);
	vo_misuse(&g, VM_LINK, 1);
	vo_misuse(&g, VM_LINK, 2); /* a second device without STATUS offered */
	vo_misuse(&g, VM_LINK, 3);
	{
		static const struct {
			uint8_t sel;
			uint16_t fs;
		} offers[] = {
			{ 4, 0xffff }, { 3, 0xffff }, { 4, 0 }, { 0, 0x03ff }, { 7, 0x8801 },
		};
		for (unsigned i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
			vo_misuse(&g, VM_INIT_OFFER, offers[i].sel);
			u16(&g, offers[i].fs);
		}
	}
	u8(&g, VO_SETUP);
	vo_misuse(&g, VM_LINK, 0);
	vo_misuse(&g, VM_LINK, 1);
	vo_misuse(&g, VM_LINK, 1);
	vo_misuse(&g, VM_INIT_OFFER, 5);
	u16(&g, 0x0055);
	vo_post_tx(&g, SH_NB(1), 100, &H0);
	vo_run(&g, 1, 8);
	u8(&g, VO_DRAIN);
	emit(t, "misuse-link-and-offer", &g);
#undef START
}

/* ---- dictionaries -------------------------------------------------------------- */

static const char dict_hdr[] =
	"# net_hdr: generated by corpus/gen/gen_net.c\n"
	"needs_csum=\"\\x01\"\n"
	"data_valid=\"\\x02\"\n"
	"gso_tcpv4=\"\\x01\"\n"
	"gso_udp=\"\\x03\"\n"
	"gso_tcpv6=\"\\x04\"\n"
	"gso_udp_l4=\"\\x05\"\n"
	"gso_ecn_tcpv4=\"\\x81\"\n"
	"hdr_csum_tcp4=\"\\x01\\x00\\x00\\x00\\x00\\x00\\x22\\x00\\x10\\x00\"\n"
	"hdr_tso4=\"\\x01\\x01\\x36\\x00\\xa8\\x05\\x22\\x00\\x10\\x00\"\n"
	"feat_all=\"\\xff\\x0b\"\n"
	"feat_host=\"\\x3d\\x08\"\n"
	"feat_guest=\"\\xc2\\x0b\"\n"
	"len_1514=\"\\xea\\x05\"\n"
	"len_max=\"\\x0e\\x00\\x01\\x00\"\n"
	"u16_ffff=\"\\xff\\xff\"\n";

static const char dict_tx[] =
	"# net_tx: generated by corpus/gen/gen_net.c\n"
	"op_post=\"\\x00\"\n"
	"op_postn=\"\\x01\"\n"
	"op_run=\"\\x02\"\n"
	"op_inject=\"\\x03\"\n"
	"op_drain=\"\\x04\"\n"
	"op_sndbuf=\"\\x05\"\n"
	"op_close=\"\\x06\"\n"
	"op_flip=\"\\x07\"\n"
	"op_restart=\"\\x08\"\n"
	"op_event=\"\\x09\"\n"
	"run_drain=\"\\x02\\x08\\x04\"\n"
	"hdr_csum_tcp4=\"\\x01\\x00\\x00\\x00\\x00\\x00\\x22\\x00\\x10\\x00\\x00\\x00\"\n"
	"hdr_tso4=\"\\x01\\x01\\x36\\x00\\xa8\\x05\\x22\\x00\\x10\\x00\\x00\\x00\"\n"
	"hdr_tso6_size0=\"\\x01\\x04\\x4a\\x00\\x00\\x00\\x36\\x00\\x10\\x00\\x00\\x00\"\n"
	"eth_ipv4=\"\\x52\\x54\\x00\\x12\\x34\\x56\\x52\\x54\\x00\\xab\\xcd\\xef\\x08\\x00\"\n"
	"feat_v1_host=\"\\x3d\\x38\"\n"
	"feat_packed=\"\\x3d\\x78\"\n"
	"shape_tiny13=\"\\x0c\\x00\"\n"
	"tweak_long=\"\\x08\"\n"
	"big=\"\\x80\"\n";

static const char dict_rx[] =
	"# net_rx: generated by corpus/gen/gen_net.c\n"
	"op_post=\"\\x00\"\n"
	"op_postn=\"\\x01\"\n"
	"op_run=\"\\x02\"\n"
	"op_inject=\"\\x03\"\n"
	"op_close=\"\\x06\"\n"
	"op_restart=\"\\x08\"\n"
	"op_event=\"\\x09\"\n"
	"inject_run=\"\\x03\\x02\\x28\\x00\"\n"
	"hdr_gso_tcp4=\"\\x01\\x01\\x36\\x00\\xa8\\x05\\x22\\x00\\x10\\x00\\x00\\x00\"\n"
	"hdr_data_valid=\"\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"\n"
	"feat_mrg=\"\\xc2\\x3f\"\n"
	"feat_mrg_packed=\"\\xc2\\x7f\"\n"
	"tweak_one_byte=\"\\x09\"\n"
	"len_1526=\"\\xf6\\x05\"\n"
	"len_max=\"\\x1a\\x00\"\n"
	"big=\"\\x80\"\n";

static const char dict_vnet[] =
	"# vnet_ops: generated by corpus/gen/gen_net.c\n"
	"op_setup=\"\\x00\"\n"
	"op_post_rx=\"\\x01\\x00\"\n"
	"op_post_tx=\"\\x01\\x01\"\n"
	"op_postn=\"\\x02\"\n"
	"op_ctrl=\"\\x03\"\n"
	"op_inject=\"\\x04\"\n"
	"op_run_rx=\"\\x05\\x00\\x08\"\n"
	"op_run_tx=\"\\x05\\x01\\x08\"\n"
	"op_run_ctrl=\"\\x05\\x02\\x08\"\n"
	"op_drain=\"\\x06\"\n"
	"op_vu=\"\\x07\"\n"
	"vu_get_base=\"\\x07\\x00\"\n"
	"vu_kick=\"\\x07\\x01\"\n"
	"vu_mem_same=\"\\x07\\x04\"\n"
	"vu_reset=\"\\x07\\x06\"\n"
	"op_flip=\"\\x08\"\n"
	"op_reconnect=\"\\x0c\"\n"
	"ctrl_rx_promisc=\"\\x00\\x00\\x01\\x01\\x04\"\n"
	"ctrl_mac_set=\"\\x01\\x01\\x06\\x02\\x00\\x00\\x00\\x00\\x01\\x04\"\n"
	"ctrl_mq=\"\\x04\\x00\\x02\\x01\\x00\\x04\"\n"
	"feat_ctrl=\"\\xff\\xbf\"\n";

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	gen_hdr();
	gen_tx();
	gen_rx();
	gen_vnet();
	dict("net_hdr", dict_hdr);
	dict("net_tx", dict_tx);
	dict("net_rx", dict_rx);
	dict("vnet_ops", dict_vnet);
	return 0;
}
