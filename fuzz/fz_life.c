// SPDX-License-Identifier: Apache-2.0
/*
 * fz_life.c - checked queue lifecycle: vq_start() accepted exactly when the
 * reference fz_cfg_valid() says so, vq_stop() reporting the observed
 * positions, and the device reset that starts the valid initial
 * configuration again; the harness arrays grow with the queue size here.
 */
#include "fuzz/fz_vq_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reference: would vq_start accept @cfg with guest RAM as it is now? */
bool fz_cfg_valid(const struct fz_run *r, const struct vq_cfg *cfg)
{
	uint32_t n = cfg->size;
	bool split = cfg->fmt == VQ_FMT_SPLIT;
	const uint8_t *used;

	if (cfg->fmt != VQ_FMT_SPLIT && cfg->fmt != VQ_FMT_PACKED)
		return false;
	if (n == 0 || n > VQ_MAX_SIZE || (split && (n & (n - 1))))
		return false;
	if (cfg->desc % 16 || cfg->driver % (split ? 2 : 4) || cfg->device % 4)
		return false;
	if (!fz_ref_host(&r->l, cfg->desc, vring_desc_bytes(n)) ||
	    !fz_ref_host(&r->l, cfg->driver, split ? vring_avail_bytes(n) : 4))
		return false;
	used = fz_ref_host(&r->l, cfg->device, split ? vring_used_bytes(n) : 4);
	if (!used)
		return false;
	if (!split)
		return cfg->base.avail_idx < n && cfg->base.used_idx < n;
	return (uint16_t)(cfg->base.avail_idx - fz_ring_load16(used + 2)) <= n;
}

static bool ensure_capacity(struct fz_run *r, uint32_t n)
{
	struct fz_fl *fl;
	struct fz_pend *pd;
	int32_t *ow, *lk;

	if (n <= r->cap_size)
		return true;
	if (r->cap_size)
		fz_set_dirty(r); /* the FIFO is a ring over the old capacity */
	if (r->fl_iov && n > r->log_cap) {
		/* a tampered, larger queue: stop checking the dirty log */
		gmem_set_log(&r->l.gm, NULL, 0);
		free(r->log);
		free(r->fl_iov);
		r->log = NULL;
		r->fl_iov = NULL;
	}
	if (n <= r->cap_alloc) {
		/* arrays kept from an earlier run (fz_vq.c run_alloc()) */
		memset(r->owner + r->cap_size, 0xff, (n - r->cap_size) * sizeof(*r->owner));
		memset(r->link + r->cap_size, 0xff, (n - r->cap_size) * sizeof(*r->link));
		r->cap_size = n;
		return true;
	}
	fl = realloc(r->fl, n * sizeof(*fl));
	if (fl)
		r->fl = fl;
	pd = realloc(r->pend, n * sizeof(*pd));
	if (pd)
		r->pend = pd;
	ow = realloc(r->owner, n * sizeof(*ow));
	if (ow) {
		memset(ow + r->cap_size, 0xff, (n - r->cap_size) * sizeof(*ow));
		r->owner = ow;
	}
	lk = realloc(r->link, n * sizeof(*lk));
	if (lk) {
		memset(lk + r->cap_size, 0xff, (n - r->cap_size) * sizeof(*lk));
		r->link = lk;
	}
	if (!fl || !pd || !ow || !lk)
		return false;
	r->cap_size = r->cap_alloc = n;
	return true;
}

static void set_rings(struct fz_run *r, const struct vq_cfg *cfg)
{
	uint32_t n = cfg->size;
	bool split = cfg->fmt == VQ_FMT_SPLIT;

	r->rg.desc_len = vring_desc_bytes(n);
	r->rg.drv_len = split ? vring_avail_bytes(n) : 4;
	r->rg.dev_len = split ? vring_used_bytes(n) : 4;
	r->rg.desc = fz_ref_host(&r->l, cfg->desc, r->rg.desc_len);
	r->rg.drv = fz_ref_host(&r->l, cfg->driver, r->rg.drv_len);
	r->rg.dev = fz_ref_host(&r->l, cfg->device, r->rg.dev_len);
	fz_set_ext(r);
}

/**
 * fz_do_start() - checked vq_start(): accepted exactly when fz_cfg_valid().
 * @r: run
 * @cfg: configuration
 *
 * On success the observed positions restart from @cfg (split: used index from
 * the ring) and nothing is in flight.
 *
 * Return: vq_start()'s result (or -ENOMEM if the harness could not grow).
 */
int fz_do_start(struct fz_run *r, const struct vq_cfg *cfg)
{
	bool valid = fz_cfg_valid(r, cfg);
	struct fz_rings keep = r->rg;
	int rc;

	if (valid) {
		set_rings(r, cfg); /* areas the start may write (kick arming) */
		if (!ensure_capacity(r, cfg->size))
			return -ENOMEM;
		r->cfg = *cfg;
		r->packed = cfg->fmt == VQ_FMT_PACKED;
	}
	fz_pre(r);
	rc = vq_start(&r->vq, &r->l.gm, cfg);
	fz_post(r, valid && rc == 0, "vq_start");
	if (r->trace)
		fprintf(stderr, "fz:   start size %u desc %#llx -> %d\n", cfg->size,
			(unsigned long long)cfg->desc, rc);
	FZ_CHECK((rc == 0) == valid, "vq_start returned %d for a%s configuration", rc,
		 valid ? " valid" : "n invalid");
	if (rc) {
		FZ_CHECK(rc == -EINVAL || rc == -EFAULT, "vq_start error %d", rc);
		r->rg = keep;
		fz_set_ext(r);
		return rc;
	}
	r->started = true;
	r->broken = false;
	r->av_pos = cfg->base.avail_idx;
	r->av_wrap = r->packed ? cfg->base.avail_wrap : true;
	if (r->packed) {
		r->us_pos = cfg->base.used_idx;
		r->us_wrap = cfg->base.used_wrap;
		r->win = fz_dist(r, r->us_pos, r->us_wrap, r->av_pos, r->av_wrap);
	} else {
		r->us_pos = fz_ring_load16(r->rg.dev + 2);
		r->us_wrap = true;
	}
	r->nfl = 0;
	r->ncpl = 0;
	r->nustack = 0;
	r->sig_valid = false;
	r->hw = -1;
	r->used_taint = false;
	fz_drv_on_start(r);
	if (cfg->size != r->cfg0.size || cfg->fmt != r->cfg0.fmt || cfg->desc != r->cfg0.desc ||
	    cfg->driver != r->cfg0.driver || cfg->device != r->cfg0.device)
		r->exp_off = true; /* expectations assume cfg0's geometry */
	r->overlap = fz_overlaps(r->rg.dev, r->rg.dev_len, r->rg.desc, r->rg.desc_len) ||
		     fz_overlaps(r->rg.dev, r->rg.dev_len, r->rg.drv, r->rg.drv_len) ||
		     fz_overlaps(r->rg.dev, r->rg.dev_len, r->l.data, FZ_DATA_BYTES);
	return 0;
}

void fz_do_stop(struct fz_run *r, struct vq_state *st)
{
	bool live = fz_may_write(r);

	memset(st, 0, sizeof(*st));
	fz_pre(r);
	vq_stop(&r->vq, st);
	fz_post(r, live, "vq_stop");
	if (live) {
		fz_verify_publish(r);
		FZ_CHECK(st->avail_idx == r->av_pos && st->used_idx == r->us_pos &&
				 (!r->packed ||
				  (st->avail_wrap == r->av_wrap && st->used_wrap == r->us_wrap)),
			 "vq_stop state (%u/%d, %u/%d), observed (%u/%d, %u/%d)", st->avail_idx,
			 st->avail_wrap, st->used_idx, st->used_wrap, r->av_pos, r->av_wrap,
			 r->us_pos, r->us_wrap);
	}
	/* Chains in flight are lost with the queue; the driver reclaims them. */
	for (unsigned i = 0; i < r->nfl; i++)
		fz_drv_on_complete(r, r->fl[i].id);
	r->nfl = 0;
	r->ncpl = 0;
	r->nustack = 0;
	r->started = false;
	r->broken = false;
	r->hw = -1;
}

/* Device reset: zero the rings, reset the model, start cfg0 (must work). */
void fz_do_fresh(struct fz_run *r)
{
	struct vq_state st;
	int rc;

	if (r->started)
		fz_do_stop(r, &st);
	fz_snap_note(r->l.arena, r->l.ring_bytes);
	memset(r->l.arena, 0, r->l.ring_bytes);
	set_rings(r, &r->cfg0);
	r->cfg = r->cfg0;
	r->packed = r->cfg0.fmt == VQ_FMT_PACKED;
	if (!r->packed) {
		fz_ring_store16(r->rg.drv + 2, r->cfg0.base.avail_idx);
		fz_ring_store16(r->rg.dev + 2, r->cfg0.base.used_idx);
	}
	r->dirty = false;
	rc = fz_do_start(r, &r->cfg0);
	FZ_CHECK(rc == 0 || rc == -ENOMEM, "fresh start failed: %d", rc);
	fz_drv_reset(r);
}
