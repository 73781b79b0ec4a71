// SPDX-License-Identifier: Apache-2.0
/*
 * fz_vq.c - virtqueue fuzz engine: input header, guest RAM and ring set-up,
 * op dispatch.
 *
 * Theory of operation
 * -------------------
 * An input is a header (format, features, modes, queue size, guest memory
 * layout, base positions, optional configuration tamper) and then ops of the
 * language in fuzz/README.md; raw mode instead takes guest RAM with the rings
 * at fixed offsets and runs the device loop over it.  Ops either play the
 * guest (the driver model of fz_drv.c, or raw hostile writes) or call the
 * device through the checked wrappers of fz_call.c, which hold the oracles;
 * the API-misuse ops (FZ_X_MISUSE) are in fz_misuse.c.
 * Work per input is bounded by a call budget scaled to guest RAM size.
 */
#include "fuzz/fz_vq_int.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FZ_CALL_BYTES (64u << 20) /* guest RAM bytes diffed per input, at most */

/* ---- ops ----------------------------------------------------------------- */

static void op_restart(struct fz_run *r)
{
	uint8_t mode = fz_u8(&r->in) % 4;
	struct vq_cfg cfg = r->cfg;
	struct vq_state st;
	uint16_t v = 0;
	int rc;

	if (mode == FZ_RS_TAMPER)
		v = fz_u16(&r->in);
	if (mode == FZ_RS_FRESH) {
		fz_do_fresh(r);
		return;
	}
	if (mode == FZ_RS_TWICE) {
		fz_pre(r);
		rc = vq_start(&r->vq, &r->l.gm, &r->cfg);
		fz_post(r, false, "vq_start (running)");
		FZ_CHECK(rc == -EBUSY, "vq_start on a running queue returned %d", rc);
		return;
	}
	fz_do_stop(r, &st);
	cfg.base = st;
	if (mode == FZ_RS_TAMPER) {
		if (!r->packed)
			fz_ring_store16(r->rg.dev + 2, v);
		else
			cfg.base.avail_idx = v;
	}
	if (fz_do_start(r, &cfg) != 0) {
		fz_do_fresh(r);
		return;
	}
	if (mode == FZ_RS_TAMPER && r->packed)
		fz_set_dirty(r);
}

static void op_push(struct fz_run *r)
{
	uint8_t which = fz_u8(&r->in), mode = fz_u8(&r->in) % 5;
	uint32_t raw = mode == FZ_PL_RAW ? fz_u32(&r->in) : 0, w;
	struct fz_fl e;

	if (r->nfl == 0)
		return;
	e = r->fl[which % r->nfl];
	switch (mode) {
	case FZ_PL_FULL:
		w = e.in_bytes;
		break;
	case FZ_PL_ZERO:
		w = 0;
		break;
	case FZ_PL_OVER:
		w = e.in_bytes + 1;
		break;
	case FZ_PL_RAW:
		w = raw;
		break;
	default:
		w = e.in_bytes / 2;
		break;
	}
	fz_do_push(r, which % r->nfl, w);
}

/* FZ_OP_UNPOP: give back the newest popped chain; it must come out next. */
static void op_unpop(struct fz_run *r)
{
	struct fz_popped u;
	struct vq_chain c;
	int rc;

	if (!r->nustack)
		return;
	u = *fz_ustack_at(r, --r->nustack);
	vq_chain_init(&c, NULL, 0);
	c.id = u.id;
	c.nslots = u.nslots;
	fz_pre(r);
	rc = vq_unpop(&r->vq, &c);
	fz_post(r, false, "vq_unpop");
	if (!fz_may_write(r)) {
		FZ_CHECK(rc == (r->started ? -EIO : -EINVAL), "unpop on a %s queue: %d",
			 r->started ? "broken" : "stopped", rc);
		return;
	}
	FZ_CHECK(rc == 0, "unpop of the newest in-flight chain %u failed: %d", u.id, rc);
	for (unsigned i = 0; i < r->nfl; i++) {
		if (r->fl[i].id == u.id) {
			fz_fl_del(r, i);
			break;
		}
	}
	if (!r->packed) {
		r->av_pos--;
	} else {
		uint32_t back = r->cfg.size - u.nslots; /* rewind = advance by size - n */

		fz_advance(r, &r->av_pos, &r->av_wrap, back);
		r->av_wrap = !r->av_wrap;
		r->win = r->win > u.nslots ? r->win - u.nslots : 0;
	}
	r->hw = -1;
	fz_drv_unpopped(r, &u);
}

static void op_push_bogus(struct fz_run *r)
{
	uint8_t kind = fz_u8(&r->in) % 3;
	uint16_t v = fz_u16(&r->in);
	struct vq_chain c;
	int rc, want;

	vq_chain_init(&c, NULL, 0);
	c.nslots = 1;
	if (kind == 1) {
		c.id = (uint16_t)(r->cfg.size + (v & 0xff));
	} else if (kind == 2 && r->packed && r->nfl) {
		c.id = r->fl[v % r->nfl].id;
		c.nslots = 0;
	} else {
		c.id = (uint16_t)(v % r->cfg.size);
		if (fz_fl_has(r, c.id))
			return;
	}
	want = !r->started ? -EINVAL : r->broken ? -EIO : -EINVAL;
	fz_pre(r);
	rc = vq_push(&r->vq, &c, 0);
	fz_post(r, false, "vq_push (not in flight)");
	FZ_CHECK(rc == want, "push of id %u (not in flight) returned %d, want %d", c.id, rc, want);
}

static void op_desc(struct fz_run *r, bool flags_only)
{
	uint16_t idx = (uint16_t)(fz_u16(&r->in) % r->cfg.size);
	uint64_t addr = flags_only ? 0 : fz_addr(&r->in, &r->l);
	uint32_t len = flags_only ? 0 : fz_len(&r->in);
	uint16_t flags = fz_u16(&r->in), next = flags_only ? 0 : fz_u16(&r->in);
	uint8_t *d = r->rg.desc + 16 * idx;

	if (!flags_only) {
		uint64_t a = htole64(addr);
		uint32_t l = htole32(len);

		fz_snap_note(d, 16);
		memcpy(d, &a, 8);
		memcpy(d + 8, &l, 4);
		/* split: flags at 12, next at 14; packed: id at 12, flags at 14 */
		fz_ring_store16(d + 12, r->packed ? next : flags);
		fz_ring_store16(d + 14, r->packed ? flags : next);
	} else {
		fz_ring_store16(d + (r->packed ? 14 : 12), flags);
	}
	fz_note_ring_write(r, d);
	fz_set_dirty(r);
}

static void op_itab(struct fz_run *r)
{
	uint8_t t = fz_u8(&r->in) % 8, idx = fz_u8(&r->in) % 64;
	uint64_t addr = htole64(fz_addr(&r->in, &r->l));
	uint32_t len = htole32(fz_len(&r->in));
	uint16_t flags = htole16(fz_u16(&r->in)), next = htole16(fz_u16(&r->in));
	uint8_t e[16];

	/* the ring's own layout: split {.., flags, next}, packed {.., id, flags} */
	memcpy(e, &addr, 8);
	memcpy(e + 8, &len, 4);
	memcpy(e + 12, r->packed ? &next : &flags, 2);
	memcpy(e + 14, r->packed ? &flags : &next, 2);
	fz_ref_write(&r->l, fz_data_gpa(&r->l, FZ_BUF_ZONE + t * 1024u) + 16u * idx, e, 16);
	fz_set_dirty(r);
}

static void op_flip(struct fz_run *r)
{
	uint32_t off = fz_u32(&r->in) % r->l.arena_size;
	uint8_t x = fz_u8(&r->in), *p = r->l.arena + off;

	if (!x || fz_device_only(r, p))
		return;
	fz_snap_note(p, 1);
	*p ^= x;
	fz_note_ring_write(r, p);
	fz_set_dirty(r);
}

static void op_event(struct fz_run *r)
{
	uint8_t which = fz_u8(&r->in) & 1;
	uint16_t v = fz_u16(&r->in);

	if (!r->packed)
		fz_ring_store16(which ? r->rg.drv + 4 + 2 * r->cfg.size : r->rg.drv, v);
	else
		fz_ring_store16(r->rg.drv + (which ? 0 : 2), v);
	r->hw = -1;
}

static void op_avail(struct fz_run *r, bool entry)
{
	uint16_t a = fz_u16(&r->in), b = entry ? fz_u16(&r->in) : 0;

	if (r->packed)
		return;
	if (entry) {
		fz_ring_store16(r->rg.drv + 4 + 2 * (a & (r->cfg.size - 1)), b);
	} else {
		fz_ring_store16(r->rg.drv + 2, a);
		r->drv_pub = a;
	}
	fz_set_dirty(r);
}

/* The device loop of core/virtq.h, bounded. */
static void op_drain(struct fz_run *r)
{
	for (int round = 0; round < 3 && fz_budget(r); round++) {
		fz_do_disable(r);
		for (uint32_t i = 0; i < r->cfg.size + 2 && fz_budget(r); i++) {
			enum vq_status st = fz_do_pop(r);

			if (st == VQ_EMPTY || st == VQ_BROKEN)
				break;
			if (st == VQ_OK)
				fz_do_push(r, r->nfl - 1, r->c.in_bytes);
		}
		fz_do_flush(r);
		if (r->broken || fz_do_enable(r))
			break;
	}
}

static void run_ops(struct fz_run *r, unsigned nops)
{
	while (!fz_done(&r->in) && fz_budget(r)) {
		uint8_t op = fz_u8(&r->in) % nops;

		if (r->trace)
			fprintf(stderr, "fz: @%zu op %u (dirty %d, pending %u/%u, in flight %u)\n",
				r->in.pos - 1, op, r->dirty, r->p_pub, r->p_n, r->nfl);
		switch (op) {
		case FZ_OP_POST:
			fz_drv_post(r);
			break;
		case FZ_OP_DESC:
			op_desc(r, false);
			break;
		case FZ_OP_AVAIL_IDX:
			op_avail(r, false);
			break;
		case FZ_OP_AVAIL_ENT:
			op_avail(r, true);
			break;
		case FZ_OP_FLAGS:
			op_desc(r, true);
			break;
		case FZ_OP_FLIP:
			op_flip(r);
			break;
		case FZ_OP_POP:
			fz_do_pop(r);
			break;
		case FZ_OP_PUSH:
			op_push(r);
			break;
		case FZ_OP_FLUSH:
			fz_do_flush(r);
			break;
		case FZ_OP_ENABLE:
			fz_do_enable(r);
			break;
		case FZ_OP_DISABLE:
			fz_do_disable(r);
			break;
		case FZ_OP_HAS_WORK:
			fz_do_has_work(r);
			break;
		case FZ_OP_RESTART:
			op_restart(r);
			break;
		case FZ_OP_EVENT:
			op_event(r);
			break;
		case FZ_OP_ITAB:
			op_itab(r);
			break;
		case FZ_OP_DRAIN:
			op_drain(r);
			break;
		case FZ_OP_PUSH_BOGUS:
			op_push_bogus(r);
			break;
		case FZ_OP_UNPOP:
			op_unpop(r);
			break;
		case FZ_OP_STOPPED:
			/* Each runs ten checked calls, four eventfd reads and a
			 * restart; campaigns kept inputs repeating it, which
			 * spent a fifth of a split campaign's time on eventfd
			 * reads for paths the first occurrence covers. */
			if (r->nstopped++ < FZ_STOPPED_RUN_OPS)
				fz_op_stopped(r);
			break;
		default:
			fz_op_bad_chain(r);
			break;
		}
		if (!r->started)
			fz_do_fresh(r);
		if (!r->started)
			return; /* out of memory */
	}
}

/* ---- setup --------------------------------------------------------------- */

static uint32_t decode_size(struct fz_in *in, bool packed)
{
	uint8_t v = fz_u8(in);

	if (v < 0xf0) {
		if (!packed || (v & 0x80))
			return 1u << (v % 9);
		return 1u + (v & 0x7f);
	}
	switch (v) {
	case 0xf0:
		return 0;
	case 0xf1:
		return 32768;
	case 0xf2:
		return 32769;
	case 0xf3:
		return 3;
	case 0xf4:
		return 1024;
	case 0xf5:
		return 4096;
	case 0xf6:
		return 65535;
	case 0xf7:
		return 512;
	default:
		return fz_u16(in);
	}
}

/* Ring placement inside chunk 0; returns the bytes the rings need. */
static size_t place_rings(struct vq_cfg *cfg, uint64_t base, uint32_t n, bool packed)
{
	cfg->desc = base;
	if (packed) {
		cfg->driver = base + 16ULL * n;
		cfg->device = cfg->driver + 4;
		return 16ULL * n + 8;
	}
	cfg->driver = base + 16ULL * n;
	cfg->device = (cfg->driver + vring_avail_bytes(n) + 3) & ~3ULL;
	return (size_t)(cfg->device - base + vring_used_bytes(n));
}

static void tamper(struct fz_run *r, struct vq_cfg *cfg)
{
	uint8_t kind = fz_u8(&r->in) % 8;
	uint64_t v = fz_u64(&r->in);

	switch (kind) {
	case 0:
		cfg->desc ^= v;
		break;
	case 1:
		cfg->driver ^= v;
		break;
	case 2:
		cfg->device ^= v;
		break;
	case 3:
		cfg->size = (uint32_t)v;
		break;
	case 4:
		cfg->base.avail_idx = (uint16_t)v;
		break;
	case 5:
		if (r->packed)
			cfg->base.used_idx = (uint16_t)v;
		else
			fz_ring_store16(r->l.arena + (cfg->device - r->l.chunk[0].gpa) + 2,
					(uint16_t)v);
		break;
	case 6:
		cfg->desc = v;
		break;
	default:
		cfg->fmt = (enum vq_fmt)(v & 0xff);
		break;
	}
}

/* Dirty bitmap and the iovec copies vq_push needs to log written buffers. */
static int alloc_log(struct fz_run *r, uint32_t n)
{
	r->log = calloc(1, r->log_size);
	r->fl_iov = malloc((size_t)n * FZ_LOG_IOV * sizeof(*r->fl_iov));
	r->fl_nout = malloc(n * sizeof(*r->fl_nout));
	r->fl_nin = malloc(n * sizeof(*r->fl_nin));
	if (!r->log || !r->fl_iov || !r->fl_nout || !r->fl_nin)
		return -1;
	r->log_cap = n;
	fz_log_ranges(r);
	gmem_set_log(&r->l.gm, r->log, r->log_size);
	return 0;
}

/* Buffers sized by guest RAM: the per-call snapshot and the replay copies. */
static int alloc_snap(struct fz_run *r)
{
	/* kept across runs (run_alloc()); grown, never shrunk */
	if (r->l.arena_size > r->snap_cap) {
		free(r->snap);
		free(r->df_after);
		r->snap = malloc(r->l.arena_size);
		r->df_after = malloc(r->l.arena_size);
		r->snap_cap = r->snap && r->df_after ? r->l.arena_size : 0;
		if (!r->snap_cap)
			return -1;
	}
	if (!r->df_post)
		return 0;
	if (!r->df_vq)
		r->df_vq = malloc(2 * sizeof(*r->df_vq));
	return r->df_vq ? 0 : -1;
}

static int setup_raw(struct fz_run *r)
{
	uint8_t sel = fz_u8(&r->in), feat = fz_u8(&r->in);
	uint16_t base = fz_u16(&r->in);
	struct vq_cfg cfg;
	uint32_t n;

	n = r->packed ? 1u + sel : 1u << (sel % 9);
	if (n > FZ_RAW_MAX_SIZE)
		n = FZ_RAW_MAX_SIZE;
	if (fz_layout_build(&r->l, &r->in, FZ_RAW_RING_BYTES, FZ_LAYOUT_FIXED) ||
	    alloc_snap(r))
		return -1;
	fz_snap_note(r->l.arena, r->l.arena_size);
	fz_bytes(&r->in, r->l.arena, r->l.arena_size);

	memset(&cfg, 0, sizeof(cfg));
	cfg.fmt = r->packed ? VQ_FMT_PACKED : VQ_FMT_SPLIT;
	cfg.size = n;
	cfg.desc = FZ_RAW_DESC;
	cfg.driver = FZ_RAW_DRIVER;
	cfg.device = FZ_RAW_DEVICE;
	cfg.features = ((feat & 1) ? VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
		       ((feat & 2) ? VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) : 0);
	r->touch = feat & 4;
	cfg.base.avail_idx = r->packed ? (uint16_t)(base % n) : base;
	cfg.base.avail_wrap = !(feat & 8);
	cfg.base.used_idx = cfg.base.avail_idx;
	cfg.base.used_wrap = cfg.base.avail_wrap;
	cfg.call_fd = r->efd_call;
	cfg.err_fd = r->efd_err;
	r->cfg0 = cfg;
	r->exp_off = true;
	r->max_ops = 64 + 8 * n;
	if (!r->packed && !fz_cfg_valid(r, &cfg) && fz_ref_host(&r->l, cfg.device, 4)) {
		/* the image's used idx is too far behind: start once as-is
		 * (must fail), then repair it */
		FZ_CHECK(fz_do_start(r, &cfg) != 0, "start accepted an invalid raw image");
		fz_ring_store16(r->l.arena + FZ_RAW_DEVICE + 2, base);
	}
	return fz_do_start(r, &cfg) == 0 ? 0 : -1;
}

/* @nops: the opcode modulus the header selects (FZ_X_MISUSE) */
static int setup_structured(struct fz_run *r, uint8_t m, unsigned *nops)
{
	uint8_t ext = (m & FZ_M_EXT) ? fz_u8(&r->in) : 0, wraps, capsel;
	struct vq_cfg cfg;
	uint32_t n = decode_size(&r->in, r->packed), rn;
	uint16_t avail, used;
	size_t ring;

	*nops = (ext & FZ_X_MISUSE) ? FZ_OP__COUNT : FZ_OP__PLAIN;
	rn = n == 0 ? 1 : n > VQ_MAX_SIZE ? VQ_MAX_SIZE : n;
	memset(&cfg, 0, sizeof(cfg));
	ring = place_rings(&cfg, 0, rn, r->packed);
	if (fz_layout_build(&r->l, &r->in, ring, (ext & FZ_X_HUGE) ? FZ_LAYOUT_HUGE : 0) ||
	    alloc_snap(r))
		return -1;
	place_rings(&cfg, r->l.chunk[0].gpa, rn, r->packed);
	if (ext & FZ_X_LOG) {
		r->log_size = 64u * (1u + fz_u8(&r->in));
		if (rn <= FZ_LOG_MAX_SIZE && alloc_log(r, rn))
			return -1;
	}
	capsel = fz_u8(&r->in);
	avail = fz_u16(&r->in);
	used = fz_u16(&r->in);
	wraps = fz_u8(&r->in);

	r->iov_cap = capsel ? capsel : 1024;
	if (r->log && r->iov_cap > FZ_LOG_IOV)
		r->iov_cap = FZ_LOG_IOV;
	cfg.fmt = r->packed ? VQ_FMT_PACKED : VQ_FMT_SPLIT;
	cfg.size = n;
	if ((m & FZ_M_INDIRECT) != (r->t->indirect_focus ? FZ_M_INDIRECT : 0))
		cfg.features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (m & FZ_M_EVENT_IDX)
		cfg.features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	cfg.call_fd = r->efd_call;
	cfg.err_fd = r->efd_err;
	if (r->packed) {
		cfg.base.avail_idx = (uint16_t)(avail % rn);
		cfg.base.used_idx = (uint16_t)(used % rn);
		cfg.base.avail_wrap = !(wraps & 1);
		cfg.base.used_wrap = !(wraps & 2);
	} else {
		cfg.base.avail_idx = avail;
		cfg.base.used_idx = used; /* written into the ring, read back by start */
	}
	r->max_ops = FZ_WORK_BUDGET / rn;
	if (r->max_ops > FZ_MAX_OPS)
		r->max_ops = FZ_MAX_OPS;
	if (r->max_ops > FZ_CALL_BYTES / r->l.arena_size)
		r->max_ops = (unsigned)(FZ_CALL_BYTES / r->l.arena_size);
	if (r->max_ops < 32)
		r->max_ops = 32;

	/* cfg0: the header's configuration, made valid.  fz_do_fresh() must be
	 * able to start it even when the header's size is invalid (0, above
	 * VQ_MAX_SIZE, split not a power of two) and only the tamper op made
	 * the first start valid: the largest valid size the rings were placed
	 * for. */
	r->cfg0 = cfg;
	r->cfg0.size = rn;
	while (!r->packed && (r->cfg0.size & (r->cfg0.size - 1)))
		r->cfg0.size &= r->cfg0.size - 1;
	/* (against the size cfg0 starts with: a non-power-of-two header size
	 * was cut down above; corpus/split/crash-fresh-used-behind-cut-size.bin) */
	if (!r->packed && (uint16_t)(avail - used) > r->cfg0.size)
		r->cfg0.base.used_idx = avail;
	if (r->packed && !(wraps & 4)) {
		/* default: nothing in flight from a previous life */
		cfg.base.used_idx = r->cfg0.base.used_idx = cfg.base.avail_idx;
		cfg.base.used_wrap = r->cfg0.base.used_wrap = cfg.base.avail_wrap;
	}
	if (!r->packed)
		fz_ring_store16(r->l.arena + (cfg.device - r->l.chunk[0].gpa) + 2, used);

	if (ext & FZ_X_TAMPER)
		tamper(r, &cfg);
	if (fz_do_start(r, &cfg) != 0) {
		if (n != rn || (!r->packed && (n & (n - 1))))
			return -1; /* the size itself is invalid: nothing more to run */
		fz_do_fresh(r);
		if (!r->started)
			return -1;
	} else {
		fz_drv_reset(r);
	}
	return 0;
}

static void run_free(struct fz_run *r)
{
	/* eventfds, snapshot buffers and size-indexed arrays stay for the next
	 * run (run_alloc()) */
	fz_guard_disarm(&r->guard);
	fz_trap_release(&r->trap);
	fz_snap_end(r);
	fz_layout_free(&r->l);
	free(r->ext_snap);
	free(r->ext_after);
	free(r->log);
	free(r->fl_iov);
	free(r->fl_nout);
	free(r->fl_nin);
}

/*
 * The run state (about 8 KiB) and the two iovec arrays are allocated once
 * per process and reused: zeroed at the start of every run, so nothing
 * carries over, but the fuzzer no longer pays fresh (quarantined) heap pages
 * for them on every input.  The expectation pool and the vq_unpop ring (42
 * KiB) are kept without zeroing: an entry is initialised when it is taken
 * (fz_pool_get(), fl_add()) and only taken entries are read.  The same holds for the
 * buffers a run sizes by guest RAM or queue size (snapshot, DF_POST copies,
 * in-flight / FIFO / owner / link / completion arrays: their contents are
 * (re)initialised before use, see ensure_capacity()) and for the two
 * eventfds, whose counters are drained here.  One run at a time.
 */
static struct fz_run *fz_run_mem;
static struct iovec *fz_iov_mem[2];

static struct fz_run *run_alloc(void)
{
	struct fz_run *r = fz_run_mem, keep;
	uint64_t cnt;

	if (!r) {
		r = fz_run_mem = calloc(1, sizeof(*fz_run_mem));
		if (!r)
			return NULL;
		r->efd_call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		r->efd_err = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		fz_efd_register(r->efd_call, r->efd_err); /* (counted in memory: fz_efd.c) */
		/* (entries are initialised when taken: fz_pool_get(), fl_add()) */
		r->pool = malloc(FZ_POOL * sizeof(*r->pool));
		r->ustack = malloc(FZ_USTACK * sizeof(*r->ustack));
		if (!r->pool || !r->ustack) {
			free(r->pool);
			free(r->ustack);
			close(r->efd_call);
			close(r->efd_err);
			free(r);
			fz_run_mem = NULL;
			return NULL;
		}
	}
	for (unsigned i = 0; i < 2; i++)
		if (!fz_iov_mem[i])
			fz_iov_mem[i] = malloc(1024 * sizeof(struct iovec));
	if (!fz_iov_mem[0] || !fz_iov_mem[1])
		return NULL;
	keep = *r;
	memset(r, 0, sizeof(*r));
	r->iov = fz_iov_mem[0];
	r->iov2 = fz_iov_mem[1];
	r->efd_call = keep.efd_call;
	r->efd_err = keep.efd_err;
	r->snap = keep.snap;
	r->df_after = keep.df_after;
	r->snap_cap = keep.snap_cap;
	r->df_vq = keep.df_vq;
	r->fl = keep.fl;
	r->pend = keep.pend;
	r->owner = keep.owner;
	r->link = keep.link;
	r->cap_alloc = keep.cap_alloc;
	r->cpl = keep.cpl;
	r->cpl_cap = keep.cpl_cap;
	r->pool = keep.pool;
	r->ustack = keep.ustack;
	/* nothing signalled from an earlier run */
	if (r->efd_call >= 0 && fz_efd_read(r->efd_call, &cnt) < 0)
		cnt = 0;
	if (r->efd_err >= 0 && fz_efd_read(r->efd_err, &cnt) < 0)
		cnt = 0;
	return r;
}

int fz_vq_run(const uint8_t *data, size_t size, const struct fz_vq_target *t)
{
	struct fz_run *r = run_alloc();
	struct vq_state st;
	const char *kb;
	unsigned nops = FZ_OP__PLAIN;
	uint8_t m;
	int rc;

	if (!r)
		return 0;
	fz_in_init(&r->in, data, size);
	fz_snap_begin(r);
	r->t = t;
	r->held = -1;
	r->hw = -1;
	r->trace = getenv("FZ_TRACE") != NULL;
	kb = getenv("FZ_KNOWN_BUGS");
	r->kb_log_publish = kb && strstr(kb, "log-publish");
	r->kb_enable_cache = kb && strstr(kb, "enable-cache");
	vq_init(&r->vq);

	m = fz_u8(&r->in);
	r->packed = t->fmt_from_input ? !!(m & FZ_M_PACKED) : t->fmt == VQ_FMT_PACKED;
	r->df_post = m & FZ_M_DF_POST;
	/* trap mode is the *_df targets' whole job, and no other target's:
	 * a trap-mode input costs 10-100x a plain one (fz_trap.h) */
	r->df_trap = t->df_trap && fz_trap_supported();
	r->touch = m & FZ_M_TOUCH;
	r->iov_cap = 64;
	if (r->df_trap)
		r->exp_off = true;
	r->trap_budget = FZ_TRAP_RUN_FAULTS;

	if (m & FZ_M_RAW) {
		r->iov_cap = 256;
		r->df_post = r->df_trap = false;
	}
	rc = (m & FZ_M_RAW) ? setup_raw(r) : setup_structured(r, m, &nops);
	if (rc == 0) {
		if (m & FZ_M_RAW) {
			op_drain(r);
			op_drain(r);
			fz_do_stop(r, &st);
			r->cfg.base = st;
			if (fz_do_start(r, &r->cfg) == 0)
				op_drain(r);
		} else {
			run_ops(r, nops);
			/* liveness: whatever was published must still come out */
			unsigned left = r->p_pub + 1;

			while (left-- && fz_may_write(r) && !r->dirty && !r->exp_off) {
				enum vq_status s2 = fz_do_pop(r);

				if (s2 == VQ_EMPTY || s2 == VQ_BROKEN)
					break;
			}
		}
		if (r->started)
			fz_do_stop(r, &st);
	}
	fz_settle(r, "the end of the input");
	fz_log_check_rest(r);
	if (r->trace)
		fprintf(stderr, "fz: end: %zu of %zu input bytes, %u core calls\n", r->in.pos,
			r->in.n, r->ncalls);
	run_free(r);
	return 0;
}
