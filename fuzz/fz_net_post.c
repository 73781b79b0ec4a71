// SPDX-License-Identifier: Apache-2.0
/*
 * fz_net_post.c - the guest side of the net op language: building chains for
 * the TX, RX and control queues (buffer sizes, placement in the zones,
 * tweaks that make them hostile, the bytes written into them) and posting
 * them through the driver model (fz_nq.c), notification suppression, and
 * the guest rewriting buffer bytes under the device.  Theory of operation in
 * fz_net.c.
 */
#include "fuzz/fz_net_int.h"

#include <endian.h>
#include <string.h>

/* ---- building chains ------------------------------------------------------------------ */

static inline void st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

/* Cut @total bytes into @nb pieces per split mode @mode. */
static void cut(struct fz_net *n, unsigned mode, uint32_t total, unsigned nb, size_t hs,
		uint32_t *len)
{
	switch (mode % 4) {
	case FZ_NP_HDR_FIRST: {
		uint32_t h = total < hs ? total : (uint32_t)hs, rest = total - h;

		len[0] = nb > 1 ? h : total;
		for (unsigned i = 1; i < nb; i++)
			len[i] = rest / (nb - 1) + (i + 1 == nb ? rest % (nb - 1) : 0);
		break;
	}
	case FZ_NP_TINY: {
		uint32_t used = 0;

		/* the header one byte per descriptor (CVE-2022-2132) */
		for (unsigned i = 0; i + 1 < nb; i++) {
			len[i] = used < total ? 1 : 0;
			used += len[i];
		}
		len[nb - 1] = total - used;
		break;
	}
	case FZ_NP_CUTS: {
		uint32_t c[FZ_NET_MAX_BUF + 1];

		c[0] = 0;
		for (unsigned i = 1; i < nb; i++) {
			uint32_t v = fz_u16(&n->in) % (total + 1), k = i;

			while (k > 1 && c[k - 1] > v) {
				c[k] = c[k - 1];
				k--;
			}
			c[k] = v;
		}
		c[nb] = total;
		for (unsigned i = 0; i < nb; i++)
			len[i] = c[i + 1] - c[i];
		break;
	}
	default:
		for (unsigned i = 0; i < nb; i++)
			len[i] = total / nb + (i + 1 == nb ? total % nb : 0);
		break;
	}
}

/* Place the buffers of a chain; returns the number of allocations made. */
static unsigned place(struct fz_net *n, struct fz_nbuf *b, const uint32_t *len, unsigned nb,
		      enum fz_nzone z, bool cross, struct fz_nalloc *al, bool *fail)
{
	unsigned na = 0;

	*fail = false;
	for (unsigned i = 0; i < nb; i++) {
		b[i].len = len[i];
		if (fz_zone_alloc(n, z, len[i], &al[na])) {
			*fail = true;
			return na;
		}
		b[i].gpa = fz_zone_gpa(n, z, al[na].first * FZ_NET_GRAN);
		if (al[na].count)
			na++;
	}
	if (cross && n->l.ndata && z == FZ_NZ_BUF) {
		/* first buffer ends past its chunk: it straddles into the GPA after */
		const struct fz_chunk *c = &n->l.chunk[1 + fz_u8(&n->in) % n->l.ndata];
		uint32_t back = 1 + (len[0] ? fz_u8(&n->in) % len[0] : 0);

		b[0].gpa = c->gpa + c->size - back;
	}
	return na;
}

/* Write generated frame bytes into the readable buffers of a TX chain. */
static void fill_tx(struct fz_net *n, const struct fz_nbuf *b, unsigned nb,
		    const struct fz_frame *f)
{
	uint32_t pos = 0;

	for (unsigned i = 0; i < nb; i++) {
		uint32_t len = b[i].len, k = len < SCRATCH ? len : SCRATCH;

		if (b[i].write || !len)
			continue;
		fz_frame_fill(f, pos, n->scratch, k);
		fz_ref_write(&n->l, b[i].gpa, n->scratch, k);
		pos += len;
		n->gen_bytes += len;
	}
}

/* Pre-fill writable buffers so stale bytes never look like a delivered frame. */
static void fill_rx(struct fz_net *n, const struct fz_nbuf *b, unsigned nb, uint8_t v)
{
	for (unsigned i = 0; i < nb; i++) {
		if (!b[i].write || !b[i].len)
			continue;
		fz_nq_fill(n, b[i].gpa, b[i].len, v);
		n->gen_bytes += b[i].len;
	}
}

static unsigned iov_cap(const struct fz_nq *q)
{
	switch (q->role) {
	case FZ_NR_RX:
		return VNET_RX_SEG;
	case FZ_NR_TX:
		return VNET_TX_IOV;
	default:
		return VNET_CTRL_IOV;
	}
}

/* The most recently posted live chain of @q, for aliasing. */
static const struct fz_nchain *last_chain(const struct fz_nq *q)
{
	const struct fz_nchain *best = NULL;

	for (unsigned i = 0; i < q->size; i++)
		if (q->ch[i].live && q->ch[i].nbuf && (!best || q->ch[i].seq > best->seq))
			best = &q->ch[i];
	return best;
}

void fz_net_op_post(struct fz_net *n, struct fz_nq *q)
{
	size_t hs = hdr_size(n);
	uint8_t shape = fz_u8(&n->in), tw = fz_u8(&n->in) % FZ_NT__COUNT, mode;
	uint16_t lsel = fz_u16(&n->in);
	unsigned nb = FZ_NS_NBUF(shape), na;
	bool rx = q->role != FZ_NR_TX, bulk = shape & FZ_NS_BULK, fail;
	bool indirect = shape & FZ_NS_INDIRECT;
	unsigned prefix = (shape & FZ_NS_PREFIX) ? 1 : 0;
	struct fz_nbuf b[FZ_NET_MAX_BUF];
	struct fz_nalloc al[FZ_NET_MAX_BUF + 1];
	uint32_t len[FZ_NET_MAX_BUF], total, cap, ext;
	struct fz_frame f;
	const struct fz_nchain *prev;
	struct fz_nchain *c;

	memset(&f, 0, sizeof(f));
	memset(b, 0, sizeof(b));
	if (!rx) {
		uint8_t hdr[NET_HDR_MAX], np;

		fz_bytes(&n->in, hdr, sizeof(hdr));
		f.seed = fz_u8(&n->in);
		np = fz_u8(&n->in) % (FZ_NET_PFX - NET_HDR_MAX + 1);
		memcpy(f.pfx, hdr, hs);
		fz_bytes(&n->in, f.pfx + hs, np);
		f.npfx = (uint8_t)(hs + np);
	}
	mode = fz_u8(&n->in);
	if (tw == FZ_NT_LONG)
		bulk = true;
	if (n->gen_bytes > FZ_NET_GEN_BYTES)
		bulk = false, lsel &= 0xff;
	cap = bulk ? FZ_NET_BULK : FZ_BUF_ZONE;
	/* every granule-rounded piece must fit the zone */
	cap -= FZ_NET_GRAN * (FZ_NET_MAX_BUF + 1);

	/* split-mode bit 7 adds 64 KiB: bulk chains reach NET_MAX_FRAME exactly */
	ext = (mode & 0x80) ? 0x10000u : 0;
	switch (tw) {
	case FZ_NT_SHORT:
		total = lsel % (uint32_t)(rx ? hs : hs + NET_ETH_HLEN);
		break;
	case FZ_NT_HDR_ONLY:
		total = (uint32_t)hs;
		break;
	case FZ_NT_LONG:
		total = rx ? cap : (uint32_t)(hs + NET_MAX_FRAME + 1 + lsel % 64);
		break;
	case FZ_NT_ONE_BYTE:
		total = nb;
		break;
	default:
		if (rx)
			total = (lsel + ext) % (cap + 1);
		else
			total = (uint32_t)hs + (lsel + ext) % (uint32_t)(cap - hs + 1);
		break;
	}
	if (total > cap)
		total = cap;
	f.len = total;
	if (tw == FZ_NT_ONE_BYTE) {
		for (unsigned i = 0; i < nb; i++)
			len[i] = 1;
	} else {
		cut(n, mode, total, nb, hs, len);
	}
	na = place(n, b, len, nb, bulk ? FZ_NZ_BULK : FZ_NZ_BUF, shape & FZ_NS_CROSS, al, &fail);
	if (fail) {
		for (unsigned i = 0; i < na; i++)
			fz_zone_free(n, &al[i]);
		return;
	}
	for (unsigned i = 0; i < nb; i++)
		b[i].write = rx;

	switch (tw) {
	case FZ_NT_WRITABLE:
		if (rx) {
			b[0].write = false; /* a readable descriptor first (F7) */
		} else if (nb < FZ_NET_MAX_BUF) {
			/* a writable one at the end of a TX chain (B3) */
			b[nb].gpa = b[nb - 1].gpa;
			b[nb].len = 1 + fz_u8(&n->in) % 64;
			b[nb].write = true;
			nb++;
		}
		break;
	case FZ_NT_ORDER:
		if (nb >= 2) {
			b[nb - 2].write = true;
			b[nb - 1].write = false;
		} else {
			b[0].write = true; /* RX chain: already all writable */
		}
		break;
	case FZ_NT_ZERO:
		b[fz_u8(&n->in) % nb].len = 0;
		break;
	case FZ_NT_HOLE: {
		unsigned k = fz_u8(&n->in) % nb;

		b[k].gpa = fz_addr(&n->in, &n->l);
		if (fz_u8(&n->in) & 1)
			b[k].len = fz_len(&n->in);
		break;
	}
	case FZ_NT_ALIAS:
		prev = last_chain(q);
		if (prev)
			b[0].gpa = prev->buf[0].gpa;
		break;
	case FZ_NT_IND_NONEG:
		indirect = true;
		break;
	default:
		break;
	}
	if (indirect && !q->indirect && tw != FZ_NT_IND_NONEG)
		indirect = false;
	fz_nq_sanitise(n, b, nb);
	if (rx)
		fill_rx(n, b, nb, (uint8_t)(0xe0 | (q->seq & 0xf)));
	else
		fill_tx(n, b, nb, &f);
	c = fz_nq_post(n, q, b, nb, indirect, prefix, iov_cap(q), al, na);
	/*
	 * Aliased receive buffers: a direct read lands the frame in all of them,
	 * and the header the device copies back may be another part of it.  The
	 * device stays safe (every oracle on writes and lengths holds) but what
	 * it delivers or drops is no longer predictable.
	 */
	if (c && c->alias && rx)
		n->rx_wild = true;
}

void fz_net_op_postn(struct fz_net *n, struct fz_nq *q)
{
	unsigned cnt = 1 + fz_u8(&n->in) % 64;
	uint8_t lv = fz_u8(&n->in);
	size_t hs = hdr_size(n);
	bool rx = q->role != FZ_NR_TX;

	for (unsigned k = 0; k < cnt; k++) {
		struct fz_nchain *c;
		struct fz_nbuf b;
		struct fz_nalloc al;
		struct fz_frame f;
		uint32_t len = rx ? lv : (uint32_t)(hs + NET_ETH_HLEN) + lv;

		if (!fz_nq_room(q, 1) || fz_zone_alloc(n, FZ_NZ_BUF, len, &al))
			return;
		b.gpa = fz_zone_gpa(n, FZ_NZ_BUF, al.first * FZ_NET_GRAN);
		b.len = len;
		b.write = rx;
		memset(&f, 0, sizeof(f));
		f.seed = (uint8_t)(lv + k);
		f.len = len;
		f.npfx = (uint8_t)hs; /* an all-zero header: no offloads */
		fz_nq_sanitise(n, &b, 1);
		if (rx)
			fill_rx(n, &b, 1, (uint8_t)(0xe0 | (q->seq & 0xf)));
		else
			fill_tx(n, &b, 1, &f);
		c = fz_nq_post(n, q, &b, 1, false, 0, iov_cap(q), &al, al.count ? 1 : 0);
		if (!c)
			return;
		if (c->alias && rx)
			n->rx_wild = true;
	}
}

/*
 * Control command: u8 class, u8 cmd, u8 data length (0xf0 + k: 64 * (k + 1)
 * bytes), data (zero-padded when the input ends), u8 shape: bits 0-1
 * readable pieces - 1 (max 3), bits 2-3 ack buffer (0, 1, 2, 8 bytes), bit 4
 * indirect, bit 5 ack first (readable after writable).
 */
void fz_net_post_ctrl(struct fz_net *n)
{
	struct fz_nq *q = &n->q[FZ_NR_CTRL];
	uint8_t cmd[2 + 1024], shape;
	unsigned dl, pieces, acklen, nb = 0, na = 0;
	static const unsigned ackl[4] = { 0, 1, 2, 8 };
	struct fz_nbuf b[FZ_NET_MAX_BUF];
	struct fz_nalloc al[FZ_NET_MAX_BUF];
	uint32_t len[4], off = 0;

	cmd[0] = fz_u8(&n->in);
	cmd[1] = fz_u8(&n->in);
	dl = fz_u8(&n->in);
	if (dl >= 0xf0) /* long commands: MAC tables past 64 entries, > VNET_CTRL_MAX_CMD */
		dl = (dl - 0xefu) * 64u;
	fz_bytes(&n->in, cmd + 2, dl);
	shape = fz_u8(&n->in);
	pieces = 1 + (shape & 3) % 3;
	acklen = ackl[(shape >> 2) & 3];
	/* 0x40: the readable part is cut to the class byte (no command byte) */
	cut(n, FZ_NP_EVEN, (shape & 0x40) ? 1 : 2 + dl, pieces, 2, len);
	for (unsigned i = 0; i < pieces; i++) {
		if (fz_zone_alloc(n, FZ_NZ_BUF, len[i], &al[na]))
			goto fail;
		b[nb].gpa = fz_zone_gpa(n, FZ_NZ_BUF, al[na].first * FZ_NET_GRAN);
		b[nb].len = len[i];
		b[nb].write = false;
		fz_ref_write(&n->l, b[nb].gpa, cmd + off, len[i]);
		off += len[i];
		na += al[na].count ? 1 : 0;
		nb++;
	}
	if (acklen) {
		uint8_t fill[8];

		if (fz_zone_alloc(n, FZ_NZ_BUF, acklen, &al[na]))
			goto fail;
		b[nb].gpa = fz_zone_gpa(n, FZ_NZ_BUF, al[na].first * FZ_NET_GRAN);
		b[nb].len = acklen;
		b[nb].write = true;
		memset(fill, 0xee, sizeof(fill));
		fz_ref_write(&n->l, b[nb].gpa, fill, acklen);
		na++;
		nb++;
		if (shape & 0x20) {
			struct fz_nbuf t = b[nb - 1];

			memmove(b + 1, b, (nb - 1) * sizeof(b[0]));
			b[0] = t;
		}
	}
	(void)fz_nq_post(n, q, b, nb, (shape & 0x10) && q->indirect, 0, iov_cap(q), al, na);
	return;
fail:
	for (unsigned i = 0; i < na; i++)
		fz_zone_free(n, &al[i]);
}

void fz_net_op_event(struct fz_net *n, struct fz_nq *q)
{
	uint8_t which = fz_u8(&n->in);
	uint16_t v = fz_u16(&n->in);

	if (!q->active)
		return;
	if (!q->packed) {
		if (which & 1)
			st16(q->drv + 4 + 2u * q->size, v); /* used_event */
		else
			st16(q->drv, v & VRING_AVAIL_F_NO_INTERRUPT);
	} else {
		if (which & 1)
			st16(q->drv, v); /* off_wrap */
		else
			st16(q->drv + 2, v % 3);
	}
}

void fz_net_op_flip(struct fz_net *n, bool anywhere)
{
	uint16_t off = fz_u16(&n->in);
	uint8_t x = fz_u8(&n->in), cnt = 1 + fz_u8(&n->in) % 8;
	size_t at;

	if (!x)
		x = 0xff;
	if (anywhere) {
		at = ((size_t)off * 7u) % n->l.arena_size;
		if (at < RING_END || at + cnt > n->l.ring_bytes + FZ_BUF_ZONE)
			fz_net_all_dirty(n); /* descriptors, rings or tables */
	} else if (off & 1) {
		at = n->bulk_off + ((size_t)(off >> 1) * 3u) % (FZ_NET_BULK - 8);
	} else {
		at = n->l.ring_bytes + (size_t)(off >> 1) % (FZ_BUF_ZONE - 8);
	}
	/* A table whose guest-physical range runs across a chunk boundary can
	 * continue in buffer-zone memory: rewriting it is not a buffer write. */
	for (size_t g = at / FZ_NET_GRAN; g <= (at + cnt - 1) / FZ_NET_GRAN; g++) {
		if (n->gtab[g]) {
			fz_net_all_dirty(n);
			break;
		}
	}
	for (unsigned i = 0; i < cnt && at + i < n->l.arena_size; i++)
		n->l.arena[at + i] ^= x;
}
