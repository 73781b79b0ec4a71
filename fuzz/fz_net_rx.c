// SPDX-License-Identifier: Apache-2.0
/*
 * fz_net_rx.c - the RX oracle of the net device engine: frames injected into
 * the fake TAP (and the read errors it fails with, FZ_NET_MISC_FAULTS), the
 * reference verdict on each, net_rx_run checked against the driver model,
 * every packet the guest receives matched to the next deliverable frame, and
 * at the end of a session every frame accounted as delivered, dropped for a
 * reason or still queued.  Theory of operation in fz_net.c.
 */
#include "fuzz/fz_net_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- RX -------------------------------------------------------------------------- */

static bool mrg(const struct fz_net *n)
{
	return n->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
}

static void rxf_push(struct fz_net *n, const struct fz_frame *f)
{
	if (n->rxf_head == n->nrxf) {
		n->rxf_base += n->nrxf;
		n->rxf_head = n->nrxf = 0;
	}
	if (n->nrxf == n->rxf_cap) {
		unsigned cap = n->rxf_cap ? 2 * n->rxf_cap : 64;
		struct fz_frame *p = realloc(n->rxf, cap * sizeof(*p));

		FZ_CHECK(p, "out of memory");
		n->rxf = p;
		n->rxf_cap = cap;
	}
	n->rxf[n->nrxf++] = *f;
}

void fz_net_op_inject(struct fz_net *n)
{
	size_t hs = hdr_size(n);
	uint8_t mode = fz_u8(&n->in), cnt;
	struct fz_frame f;
	uint8_t hdr[NET_HDR_MAX], np;
	uint32_t len;

	switch ((mode & 0x0f) % 6) {
	case 0: /* runt */
		len = 1 + fz_u8(&n->in) % (uint32_t)(hs + NET_ETH_HLEN - 1);
		break;
	case 1: /* smallest frames */
		len = (uint32_t)(hs + NET_ETH_HLEN) + fz_u8(&n->in) % 64;
		break;
	case 2: /* ordinary */
		len = (uint32_t)(hs + 60) + fz_u16(&n->in) % 1455;
		break;
	case 3: /* maximal */
		len = FZ_NET_INJ_MAX - fz_u8(&n->in) % 8;
		break;
	case 4:
		len = 1 + fz_u16(&n->in) % FZ_NET_INJ_MAX;
		break;
	default:
		len = (uint32_t)(hs + NET_ETH_HLEN) + fz_u16(&n->in) % 8192;
		break;
	}
	if (len > FZ_NET_INJ_MAX)
		len = FZ_NET_INJ_MAX;
	fz_bytes(&n->in, hdr, sizeof(hdr));
	memset(&f, 0, sizeof(f));
	f.len = len;
	f.seed = fz_u8(&n->in);
	np = fz_u8(&n->in) % (FZ_NET_PFX - NET_HDR_MAX + 1);
	memcpy(f.pfx, hdr, hs);
	fz_bytes(&n->in, f.pfx + hs, np);
	f.npfx = (uint8_t)(hs + np);
	cnt = 1 + (mode >> 4) % 4;
	if (n->tap_peer < 0)
		return;
	fz_frame_fill(&f, 0, n->scratch, f.len);
	for (unsigned k = 0; k < cnt; k++) {
		ssize_t w;

		if (n->inj_bytes + len > FZ_NET_INJ_BYTES)
			return;
		w = send(n->tap_peer, n->scratch, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w != (ssize_t)len)
			return; /* the "network" is full: not sent */
		n->inj_bytes += len;
		if (n->trace)
			fprintf(stderr, "net: inject %u bytes (hdr %02x %02x)\n", len, f.pfx[0],
				f.pfx[1]);
		rxf_push(n, &f);
	}
}

/*
 * fz_net_fault_readv() - the socket twin's readv, failing once when a fault is armed
 * (FZ_NET_MISC_FAULTS), with a TAP's errors: a frame error (the kernel frees
 * the frame it failed to copy: tun_do_read) consumes the next datagram, a
 * hard error (EIO, EBADFD) consumes nothing.  With nothing queued it reads
 * as the socket does and the fault stays armed.
 */
ssize_t fz_net_fault_readv(struct net_backend *be, const struct iovec *iov, unsigned cnt)
{
	struct fz_net *n = be->priv;
	int err = n->fault;
	uint8_t b;
	ssize_t r;

	if (!err) {
		r = n->sock_ops->readv(be, iov, cnt);
		n->tap_reads += r > 0;
		return r;
	}
	if (err == EIO || err == EBADFD) {
		n->fault = 0;
		n->fault_hit = err;
		return -err;
	}
	r = recv(be->fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC); /* the whole datagram */
	if (r <= 0)
		return n->sock_ops->readv(be, iov, cnt); /* -EAGAIN, or EOF */
	/* datagrams leave in the order the harness queued them: this is the
	 * (tap_reads)th frame of the session (rxf_push) */
	FZ_CHECK(n->tap_reads >= n->rxf_base && n->tap_reads - n->rxf_base < n->nrxf,
		 "fake TAP read frame %llu, frames %llu..%llu queued",
		 (unsigned long long)n->tap_reads, (unsigned long long)n->rxf_base,
		 (unsigned long long)(n->rxf_base + n->nrxf));
	n->rxf[n->tap_reads++ - n->rxf_base].tap_drop = true;
	n->fault = 0;
	n->fault_hit = err;
	n->fault_frames++;
	if (n->trace)
		fprintf(stderr, "net: fake TAP dropped a %zd-byte frame: error %d\n", r, err);
	return -err;
}

/* FZ_NOP_FAULT: u8 kind (% 7): arm the next read's error. */
void fz_net_op_fault(struct fz_net *n)
{
	static const int errs[7] = { EFAULT, EINVAL, EMSGSIZE, ENOBUFS, ENOMEM, EIO, EBADFD };

	n->fault = errs[fz_u8(&n->in) % 7];
}

/* Reference verdict of a frame: 0 deliverable, else a skip class. */
enum { RXV_OK, RXV_RUNT, RXV_CSUM, RXV_GSO, RXV_BOTH };

static int rx_verdict(const struct fz_net *n, const struct fz_frame *f, struct net_hdr *h)
{
	size_t hs = hdr_size(n);
	uint8_t raw[NET_HDR_MAX];
	uint32_t bad;

	if (f->len < hs + NET_ETH_HLEN)
		return RXV_RUNT;
	for (size_t i = 0; i < hs; i++)
		raw[i] = fz_frame_byte(f, (uint32_t)i);
	fz_hdr_decode(h, raw, hs);
	bad = fz_ref_rx_hdr(h, n->features, f->len - hs);
	if (!bad)
		return RXV_OK;
	if (bad == FZ_NDROP(NET_DROP_RX_CSUM))
		return RXV_CSUM;
	if (bad == FZ_NDROP(NET_DROP_RX_GSO))
		return RXV_GSO;
	return RXV_BOTH;
}

static void rx_skip(struct fz_net *n, int v)
{
	switch (v) {
	case RXV_OK:
		n->skip.valid++;
		break;
	case RXV_RUNT:
		n->skip.runt++;
		break;
	case RXV_CSUM:
		n->skip.hdr_csum++;
		break;
	case RXV_GSO:
		n->skip.hdr_gso++;
		break;
	default:
		n->skip.hdr_both++;
		break;
	}
}

/* Do bytes [@from, @len) of @p equal frame @f's?  Generates into scratch + GEN. */
static bool payload_eq(struct fz_net *n, const struct fz_frame *f, const uint8_t *p, size_t from,
		       size_t len)
{
	uint8_t *g = n->gen;

	if (len <= from)
		return true;
	fz_frame_fill(f, (uint32_t)from, g, (uint32_t)(len - from));
	return !memcmp(p + from, g, len - from);
}

/* Expected guest header of deliverable frame @f in @nb buffers. */
static void rx_hdr_expect(const struct fz_net *n, struct net_hdr *h, unsigned nb, uint8_t *raw)
{
	h->num_buffers = (uint16_t)nb;
	fz_hdr_encode(raw, hdr_size(n), h);
}

/*
 * Is the packet @p (@len bytes, @nb buffers) exactly a deliverable frame
 * queued after the next one (same payload and the sanitised header)?
 */
static bool later_twin(struct fz_net *n, const uint8_t *p, size_t len, unsigned nb)
{
	size_t hs = hdr_size(n);

	for (unsigned k = n->rxf_head + 1; k < n->nrxf; k++) {
		struct net_hdr h2;
		uint8_t w2[NET_HDR_MAX];
		const struct fz_frame *g = &n->rxf[k];

		if (g->tap_drop || g->len != len || rx_verdict(n, g, &h2) != RXV_OK ||
		    !payload_eq(n, g, p, hs, len))
			continue;
		rx_hdr_expect(n, &h2, nb, w2);
		if (!memcmp(w2, p, hs))
			return true;
	}
	return false;
}

/* Match a packet of @len bytes (in n->scratch) in @nb buffers to the TAP's frames. */
static void rx_match(struct fz_net *n, size_t len, unsigned nb)
{
	size_t hs = hdr_size(n);
	const uint8_t *p = n->scratch;
	struct net_hdr got;
	const char *why;

	fz_hdr_decode(&got, p, hs);
	why = fz_rx_hdr_sane(&got, n->features, len - hs);
	FZ_CHECK(!why,
		 "guest received a header that claims too much: %s (flags %#x gso %#x/%u "
		 "csum %u+%u hdr_len %u)",
		 why, got.flags, got.gso_type, got.gso_size, got.csum_start, got.csum_offset,
		 got.hdr_len);
	n->rx_delivered++;
	if (n->trace)
		fprintf(stderr, "net: guest got %zu bytes in %u buffers%s\n", len, nb,
			n->rx_wild ? " (unchecked)" : "");
	if (n->rx_wild)
		return;
	while (n->rxf_head < n->nrxf) {
		const struct fz_frame *f = &n->rxf[n->rxf_head];
		struct net_hdr h;
		uint8_t want[NET_HDR_MAX];
		int v;
		bool same;

		if (f->tap_drop) { /* never reached the device */
			n->skip.tap++;
			n->rxf_head++;
			continue;
		}
		v = rx_verdict(n, f, &h);
		same = f->len == len && payload_eq(n, f, p, hs, len);

		if (same && v == RXV_OK) {
			rx_hdr_expect(n, &h, nb, want);
			if (!memcmp(want, p, hs)) {
				n->rxf_head++;
				return;
			}
			/*
			 * Same payload, another header: this frame may have been
			 * dropped for room (its chain too small without
			 * MRG_RXBUF) and a later frame with the same payload
			 * delivered.  Then it counts as a valid frame skipped,
			 * which the drop counters must account for at the end.
			 */
			FZ_CHECK(later_twin(n, p, len, nb),
				 "guest header %02x %02x %02x%02x %02x%02x %02x%02x %02x%02x, "
				 "expected "
				 "%02x %02x %02x%02x %02x%02x %02x%02x %02x%02x (nb %u)",
				 p[0], p[1], p[3], p[2], p[5], p[4], p[7], p[6], p[9], p[8],
				 want[0], want[1], want[3], want[2], want[5], want[4], want[7],
				 want[6], want[9], want[8], nb);
		} else if (same) {
			/* the device may only have delivered a later twin of it */
			FZ_CHECK(later_twin(n, p, len, nb),
				 "guest received a frame the device must drop (%s)",
				 v == RXV_RUNT ? "runt" : "offload the guest did not negotiate");
		}
		rx_skip(n, v);
		n->rxf_head++;
	}
	FZ_CHECK(0, "guest received a %zu-byte packet in %u buffers that no TAP frame matches", len,
		 nb);
}

/* Collect one RX packet starting at completion @i; returns completions used. */
static unsigned rx_packet(struct fz_net *n, struct fz_nq *q, unsigned i)
{
	size_t hs = hdr_size(n), total = 0;
	const struct fz_ncpl *cp = &q->cpl[i];
	struct fz_nchain *c = &q->ch[cp->id];
	uint8_t raw[NET_HDR_MAX];
	unsigned nb = 1;
	bool excl = true;

	fz_net_chain_read(n, c, true, 0, raw, hs);
	if (mrg(n)) {
		nb = (unsigned)(raw[10] | raw[11] << 8);
		FZ_CHECK(nb >= 1 && nb <= q->ncpl - i,
			 "num_buffers %u with %u completions published in this call", nb,
			 q->ncpl - i);
	}
	for (unsigned j = 0; j < nb; j++) {
		const struct fz_ncpl *cj = &q->cpl[i + j];
		struct fz_nchain *x = &q->ch[cj->id];

		FZ_CHECK(x->expect == FZ_NX_GOOD && !x->out_bytes && x->in_bytes >= hs,
			 "packet buffer %u of %u is chain %u, which the device had to refuse", j,
			 nb, x->id);
		FZ_CHECK(cj->len > 0 && cj->len <= x->in_bytes,
			 "RX chain %u: used len %u, writable %u", x->id, cj->len, x->in_bytes);
		if (j + 1 < nb)
			FZ_CHECK(cj->len == x->in_bytes,
				 "mergeable buffer %u of %u (chain %u) not full: %u of %u", j, nb,
				 x->id, cj->len, x->in_bytes);
		FZ_CHECK(total + cj->len <= SCRATCH, "packet larger than any frame");
		fz_net_chain_read(n, x, true, 0, n->scratch + total, cj->len);
		total += cj->len;
		excl &= !x->alias && fz_nq_chain_exclusive(n, x);
	}
	FZ_CHECK(total >= hs + NET_ETH_HLEN && total <= FZ_NET_INJ_MAX,
		 "RX packet of %zu bytes (header %zu)", total, hs);
	if (!excl)
		n->rx_wild = true; /* aliased buffers: the bytes may be someone else's */
	rx_match(n, total, nb);
	return nb;
}

void fz_net_run_rx(struct fz_net *n, unsigned budget)
{
	struct fz_nq *q = &n->q[FZ_NR_RX];
	struct vnet_qp *qp = qp0(n);
	uint16_t u0 = q->used_idx;
	size_t hs = hdr_size(n);
	int r;

	if (!q->started) {
		FZ_CHECK(net_rx_run(qp, budget) == -EINVAL, "net_rx_run on a stopped queue");
		return;
	}
	(void)fz_net_took_signal(q->call_fd);
	n->fault_hit = 0;
	fz_net_pre(n);
	r = net_rx_run(qp, budget);
	fz_net_post_diff(n, q, true, "net_rx_run");
	fz_nq_collect(n, q);
	if (n->fault_hit == EIO || n->fault_hit == EBADFD) {
		/* the backend is unusable: the run stops there, keeps every
		 * reserved chain, and reports the error (as the call's result
		 * when it completed nothing) */
		FZ_CHECK(qp->rx_wait == NET_WAIT_BACKEND_ERR && qp->rx_err == n->fault_hit &&
				 r == (q->ncpl ? (int)q->ncpl : -n->fault_hit),
			 "read error %d: net_rx_run returned %d (wait %d, rx_err %d, %u "
			 "completions)",
			 n->fault_hit, r, qp->rx_wait, qp->rx_err, q->ncpl);
	}
	if (n->trace) {
		fprintf(stderr,
			"net: rx_run(%u) -> %d, %u completions, wait %d, pending %zu, bad "
			"chains %llu, drops",
			budget, r, q->ncpl, qp->rx_wait, qp->rx_pending_len,
			(unsigned long long)qp->stats.rx.bad_chains);
		for (unsigned d = 1; d < NET_DROP__COUNT; d++)
			if (qp->stats.rx.drops[d])
				fprintf(stderr, " %s %llu", net_drop_name((enum net_drop)d),
					(unsigned long long)qp->stats.rx.drops[d]);
		for (unsigned i = 0; i < q->ncpl; i++)
			fprintf(stderr, " [%u:%u]", q->cpl[i].id, q->cpl[i].len);
		fputc('\n', stderr);
	}
	if (r < 0)
		FZ_CHECK(qp->rx_wait == NET_WAIT_BACKEND_ERR && q->ncpl == 0,
			 "net_rx_run returned %d (wait %d, %u completions)", r, qp->rx_wait,
			 q->ncpl);
	else if (!q->dirty)
		FZ_CHECK((unsigned)r == q->ncpl, "net_rx_run returned %d with %u completions", r,
			 q->ncpl);
	if (!q->dirty)
		FZ_CHECK(!vq_is_broken(&qp->rx, NULL), "RX queue broke on well-formed rings");

	/* aliased buffers: another packet may have overwritten this one's bytes,
	 * num_buffers included; from here on only what needs no bytes is checked */
	for (unsigned i = 0; i < q->ncpl && !n->rx_wild; i++) {
		const struct fz_nchain *c = &q->ch[q->cpl[i].id];

		if (q->cpl[i].len && (c->alias || !fz_nq_chain_exclusive(n, c)))
			n->rx_wild = true;
	}
	for (unsigned i = 0; i < q->ncpl;) {
		struct fz_nchain *c = &q->ch[q->cpl[i].id];
		uint32_t len = q->cpl[i].len;

		if (q->dirty || c->expect == FZ_NX_UNKNOWN || (n->rx_wild && len)) {
			n->rx_wild = true;
			if (c->expect == FZ_NX_GOOD && !q->dirty)
				FZ_CHECK(len <= c->in_bytes &&
						 (len == 0) == (c->out_bytes || c->in_bytes < hs),
					 "RX chain %u: len %u, writable %u, readable %u", c->id,
					 len, c->in_bytes, c->out_bytes);
			i++;
			continue;
		}
		if (c->expect == FZ_NX_BAD || c->out_bytes || c->in_bytes < hs) {
			FZ_CHECK(len == 0, "RX chain %u (%s) returned with len %u", c->id,
				 c->expect == FZ_NX_BAD ? "malformed"
				 : c->out_bytes		? "readable descriptors (F7)"
							: "smaller than the header (F8)",
				 len);
			i++;
			continue;
		}
		FZ_CHECK(len > 0, "RX chain %u returned unused during a run (lost buffer)", c->id);
		i += rx_packet(n, q, i);
	}
	for (unsigned i = 0; i < q->ncpl; i++)
		fz_nq_retire(n, q, &q->ch[q->cpl[i].id]);
	fz_net_check_signal(n, q, q->ncpl, u0, q->used_idx, "net_rx_run");
	if (r >= 0 && qp->rx_wait == NET_WAIT_KICK)
		fz_net_check_armed(n, q, &qp->rx, "net_rx_run");
	if (r >= 0 && qp->rx_wait == NET_WAIT_BACKEND_IN) {
		uint8_t b;

		FZ_CHECK(recv(n->tap_be, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0,
			 "net_rx_run waits for the TAP with a frame queued");
	}
}

/* RX: every frame the TAP sent is delivered, dropped for a reason, or still queued. */
void fz_net_rx_reconcile(struct fz_net *n)
{
	const struct net_dir_stats *s = &qp0(n)->stats.rx;
	uint64_t left = 0, pend = qp0(n)->rx_pending_len ? 1 : 0, rest, tail;
	uint64_t hdr_drops, off_drops;

	for (;;) {
		ssize_t r = recv(n->tap_be, n->scratch, 1, MSG_DONTWAIT | MSG_TRUNC);

		if (r <= 0)
			break;
		left++;
	}
	/* every frame error comes from the fake TAP (the socket has none) */
	if (n->faults)
		FZ_CHECK(s->drops[NET_DROP_BACKEND] == n->fault_frames,
			 "rx backend drops %llu, the fake TAP dropped %llu frames",
			 (unsigned long long)s->drops[NET_DROP_BACKEND],
			 (unsigned long long)n->fault_frames);
	if (n->rx_wild || n->q[FZ_NR_RX].dirty)
		return;
	rest = n->nrxf - n->rxf_head;
	FZ_CHECK(rest >= left + pend, "%llu frames unaccounted, %llu still queued, %llu pending",
		 (unsigned long long)rest, (unsigned long long)left, (unsigned long long)pend);
	tail = rest - left - pend;
	for (uint64_t k = 0; k < tail; k++) {
		const struct fz_frame *f = &n->rxf[n->rxf_head + k];
		struct net_hdr h;

		if (f->tap_drop)
			n->skip.tap++;
		else
			rx_skip(n, rx_verdict(n, f, &h));
	}
	FZ_CHECK(n->skip.tap == n->fault_frames,
		 "%llu frames the fake TAP dropped skipped, %llu dropped",
		 (unsigned long long)n->skip.tap, (unsigned long long)n->fault_frames);
	FZ_CHECK(s->packets == n->rx_delivered, "rx stats: %llu packets, guest got %llu",
		 (unsigned long long)s->packets, (unsigned long long)n->rx_delivered);
	FZ_CHECK(s->drops[NET_DROP_RX_RUNT] == n->skip.runt, "rx runt drops %llu, expected %llu",
		 (unsigned long long)s->drops[NET_DROP_RX_RUNT], (unsigned long long)n->skip.runt);
	hdr_drops = s->drops[NET_DROP_RX_CSUM] + s->drops[NET_DROP_RX_GSO];
	/* a frame waiting in the host buffer when the features changed is
	 * dropped as rx-features-changed (found as the open finding
	 * rx-drop-count: the device used to drop it uncounted) */
	off_drops = s->drops[NET_DROP_RX_NO_ROOM] + s->drops[NET_DROP_BACKEND] +
		    s->drops[NET_DROP_RX_RENEGOTIATED];
	FZ_CHECK(hdr_drops + off_drops == n->skip.hdr_csum + n->skip.hdr_gso +
						  n->skip.hdr_both + n->skip.valid + n->skip.tap,
		 "rx drops: %llu header + %llu room/backend, expected %llu frames with bad "
		 "headers, %llu valid ones and %llu the TAP dropped",
		 (unsigned long long)hdr_drops, (unsigned long long)off_drops,
		 (unsigned long long)(n->skip.hdr_csum + n->skip.hdr_gso + n->skip.hdr_both),
		 (unsigned long long)n->skip.valid, (unsigned long long)n->skip.tap);
	FZ_CHECK(s->drops[NET_DROP_RX_CSUM] <= n->skip.hdr_csum + n->skip.hdr_both &&
			 s->drops[NET_DROP_RX_GSO] <= n->skip.hdr_gso + n->skip.hdr_both &&
			 off_drops >= n->skip.valid + n->skip.tap,
		 "rx drop reasons: csum %llu gso %llu room/backend %llu for frames csum %llu gso "
		 "%llu both %llu valid %llu",
		 (unsigned long long)s->drops[NET_DROP_RX_CSUM],
		 (unsigned long long)s->drops[NET_DROP_RX_GSO], (unsigned long long)off_drops,
		 (unsigned long long)n->skip.hdr_csum, (unsigned long long)n->skip.hdr_gso,
		 (unsigned long long)n->skip.hdr_both, (unsigned long long)n->skip.valid);
}
