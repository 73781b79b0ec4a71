// SPDX-License-Identifier: Apache-2.0
/*
 * virtq.c - format-independent queue logic: start/stop, the broken latch,
 * in-flight accounting, two-phase completion and the notify decision.
 *
 * Theory of operation
 * -------------------
 * Completions are two-phase (bhyve prepare/publish, DPDK shadow ring):
 * vq_push() writes the used entry where the driver cannot see it yet and
 * vq_flush() makes the whole batch visible with a single release store, then
 * decides once whether the driver wants a signal.  Every chain handed out is
 * recorded in an in-flight bitmap indexed by head / buffer id; a head that is
 * offered again while in flight, or more in-flight chains than the queue
 * size, is ring-level corruption (CVE-2016-5403 class) and breaks the queue.
 */
#include "core/virtq_internal.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static const char *const fault_names[VQ_F__COUNT] = {
	[VQ_F_NONE] = "none",
	[VQ_F_NEXT_RANGE] = "next-out-of-range",
	[VQ_F_CHAIN_LONG] = "chain-too-long",
	[VQ_F_ADDR] = "bad-address",
	[VQ_F_TOO_BIG] = "chain-over-4GiB",
	[VQ_F_IOV_CAP] = "too-many-iovecs",
	[VQ_F_ORDER] = "readable-after-writable",
	[VQ_F_IND_NOT_NEG] = "indirect-not-negotiated",
	[VQ_F_IND_NESTED] = "indirect-nested",
	[VQ_F_IND_NEXT] = "indirect-with-next",
	[VQ_F_IND_LEN] = "indirect-bad-length",
	[VQ_F_IND_SIZE] = "indirect-too-large",
	[VQ_F_IND_ADDR] = "indirect-bad-address",
	[VQ_F_AVAIL_IDX] = "avail-idx-jump",
	[VQ_F_HEAD_RANGE] = "head-out-of-range",
	[VQ_F_DUP_HEAD] = "duplicate-in-flight",
	[VQ_F_INFLIGHT] = "too-many-in-flight",
	[VQ_F_ID_RANGE] = "buffer-id-out-of-range",
	[VQ_F_PACKED_CHAIN] = "packed-chain-broken",
};

const char *vq_fault_name(enum vq_fault f)
{
	if ((unsigned)f >= VQ_F__COUNT)
		return "unknown";
	return fault_names[f];
}

/* Everything but the in-flight map: the stopped state's fields. */
static void vq_clear_fields(struct vq *vq)
{
	memset(vq, 0, offsetof(struct vq, inflight_map));
	memset(&vq->stats, 0, sizeof(vq->stats));
	vq->call_fd = -1;
	vq->err_fd = -1;
}

void vq_init(struct vq *vq)
{
	memset(vq->inflight_map, 0, sizeof(vq->inflight_map));
	vq_clear_fields(vq);
}

/*
 * The in-flight map of a stopped queue is all zero (vq_init(), then every
 * vq_stop()), and a started queue sets bits below its size only (vq_claim()),
 * so stop clears just the words of the size it ran with and start clears
 * none: 4 KiB memsets a restart no longer pays for.
 */
static void vq_reset(struct vq *vq)
{
	size_t words = vq->started ? ((size_t)vq->size + 63) / 64 : 0;

	memset(vq->inflight_map, 0, words * sizeof(vq->inflight_map[0]));
	vq_clear_fields(vq);
}

void vq_chain_init(struct vq_chain *c, struct iovec *iov, unsigned cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = iov;
	c->iov_cap = (uint16_t)(cap > UINT16_MAX ? UINT16_MAX : cap);
}

static void eventfd_kick(int fd)
{
	uint64_t one = 1;
	ssize_t r;

	if (fd < 0)
		return;
	/* A full counter (EAGAIN) already means "signalled"; other errors are
	 * the frontend's problem and must not stop the data path. */
	r = write(fd, &one, sizeof(one));
	(void)r;
}

enum vq_status vq_set_broken(struct vq *vq, enum vq_fault f)
{
	if (!vq->broken) {
		vq->broken = true;
		vq->broken_fault = f;
		vq->staged = 0; /* nothing more is written to the ring */
		eventfd_kick(vq->err_fd);
	}
	return VQ_BROKEN;
}

bool vq_is_broken(const struct vq *vq, enum vq_fault *why)
{
	if (vq->broken && why)
		*why = vq->broken_fault;
	return vq->broken;
}

enum vq_status vq_claim(struct vq *vq, uint16_t id, enum vq_fault range_fault)
{
	if (id >= vq->size)
		return vq_set_broken(vq, range_fault);
	if (vq->inflight >= vq->size)
		return vq_set_broken(vq, VQ_F_INFLIGHT);
	if (vq_inflight_test(vq, id))
		return vq_set_broken(vq, VQ_F_DUP_HEAD);
	vq_inflight_set(vq, id);
	return VQ_OK;
}

int vq_start(struct vq *vq, const struct gmem *gm, const struct vq_cfg *cfg)
{
	int r;

	if (vq->started)
		return -EBUSY;
	if (cfg->size == 0 || cfg->size > VQ_MAX_SIZE)
		return -EINVAL;
	if (cfg->fmt != VQ_FMT_SPLIT && cfg->fmt != VQ_FMT_PACKED)
		return -EINVAL;

	vq_clear_fields(vq); /* (stopped: the in-flight map is clear) */
	vq->fmt = cfg->fmt;
	vq->size = (uint16_t)cfg->size;
	vq->mask = (uint16_t)(cfg->size - 1);
	vq->indirect = cfg->features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	vq->event_idx = cfg->features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	vq->gm = gm;
	vq->desc_gpa = cfg->desc;
	vq->device_gpa = cfg->device;

	r = cfg->fmt == VQ_FMT_SPLIT ? vq_start_split(vq, cfg) : vq_start_packed(vq, cfg);
	if (r) {
		vq_clear_fields(vq);
		return r;
	}
	vq->call_fd = cfg->call_fd;
	vq->err_fd = cfg->err_fd;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = false;
	vq->started = true;
	/* Establish a known notification state: kicks armed. */
	(void)vq_enable_notify(vq);
	return 0;
}

void vq_stop(struct vq *vq, struct vq_state *st)
{
	if (vq->started && !vq->broken && vq->staged) {
		/* Publish what was completed; the frontend that stops the ring
		 * owns signalling from here on. */
		bool want = vq_flush(vq);

		(void)want;
	}
	if (st) {
		st->avail_idx = vq->last_avail;
		st->used_idx = vq->used_idx;
		st->avail_wrap = vq->avail_wrap;
		st->used_wrap = vq->used_wrap;
	}
	vq_reset(vq);
}

enum vq_status vq_pop(struct vq *vq, struct vq_chain *c)
{
	enum vq_status st;

	if (vh_unlikely(!vq->started))
		return VQ_EMPTY;
	if (vh_unlikely(vq->broken))
		return VQ_BROKEN;

	st = vq->fmt == VQ_FMT_SPLIT ? vq_pop_split(vq, c) : vq_pop_packed(vq, c);
	if (st == VQ_OK) {
		if (vh_likely(c->fault == VQ_F_NONE)) {
			vq->stats.chains++;
			return VQ_OK;
		}
		/* Consumed and returned with len 0: never re-polled, never lost. */
		vq_inflight_clear(vq, c->id);
		if (vq->fmt == VQ_FMT_SPLIT)
			vq_stage_split(vq, c->id, 0);
		else
			vq_stage_packed(vq, c->id, 0, c->nslots);
		vq->stats.bad_chains++;
		c->n_out = c->n_in = 0;
		c->out_bytes = c->in_bytes = 0;
		return VQ_BAD_CHAIN;
	}
	return st;
}

/* Mark the guest pages of the first @written writable bytes of @c dirty. */
static void log_written(struct vq *vq, const struct vq_chain *c, uint32_t written)
{
	const struct iovec *iov = c->iov + c->n_out;

	for (unsigned i = 0; i < c->n_in && written; i++) {
		uint32_t n = iov[i].iov_len < written ? (uint32_t)iov[i].iov_len : written;

		gmem_log_hva(vq->gm, iov[i].iov_base, n);
		written -= n;
	}
}

int vq_push(struct vq *vq, const struct vq_chain *c, uint32_t written)
{
	if (vh_unlikely(!vq->started))
		return -EINVAL;
	if (vh_unlikely(vq->broken))
		return -EIO;
	if (c->id >= vq->size || !vq_inflight_test(vq, c->id))
		return -EINVAL;
	if (vq->fmt == VQ_FMT_PACKED && (c->nslots == 0 || c->nslots > vq->size))
		return -EINVAL;

	vq_inflight_clear(vq, c->id);
	if (written > c->in_bytes)
		written = c->in_bytes;
	if (vh_unlikely(gmem_logging(vq->gm)))
		log_written(vq, c, written);
	if (vq->fmt == VQ_FMT_SPLIT)
		vq_stage_split(vq, c->id, written);
	else
		vq_stage_packed(vq, c->id, written, c->nslots);
	return 0;
}

int vq_unpop(struct vq *vq, const struct vq_chain *c)
{
	if (vh_unlikely(!vq->started))
		return -EINVAL;
	if (vh_unlikely(vq->broken))
		return -EIO;
	if (c->id >= vq->size || !vq_inflight_test(vq, c->id))
		return -EINVAL;
	if (vq->fmt == VQ_FMT_PACKED) {
		if (c->nslots == 0 || c->nslots > vq->size)
			return -EINVAL;
		if (vq->last_avail >= c->nslots) {
			vq->last_avail = (uint16_t)(vq->last_avail - c->nslots);
		} else {
			vq->last_avail = (uint16_t)(vq->last_avail + vq->size - c->nslots);
			vq->avail_wrap = !vq->avail_wrap;
		}
	} else {
		vq->last_avail--;
	}
	vq_inflight_clear(vq, c->id);
	vq->stats.chains--;
	return 0;
}

bool vq_flush(struct vq *vq)
{
	bool want;

	if (!vq->started || vq->broken || vq->staged == 0)
		return false;
	if (vq->fmt == VQ_FMT_SPLIT) {
		vq_publish_split(vq);
		want = vq_need_signal_split(vq);
	} else {
		vq_publish_packed(vq);
		want = vq_need_signal_packed(vq);
	}
	vq->staged = 0;
	if (want)
		vq->stats.signals++;
	else
		vq->stats.suppressed++;
	return want;
}

void vq_signal(struct vq *vq)
{
	eventfd_kick(vq->call_fd);
}

bool vq_flush_signal(struct vq *vq)
{
	if (!vq_flush(vq))
		return false;
	vq_signal(vq);
	return true;
}

bool vq_enable_notify(struct vq *vq)
{
	if (!vq->started || vq->broken)
		return true;
	return vq->fmt == VQ_FMT_SPLIT ? vq_enable_notify_split(vq) : vq_enable_notify_packed(vq);
}

void vq_disable_notify(struct vq *vq)
{
	if (!vq->started || vq->broken || !vq->notify_armed)
		return;
	if (vq->fmt == VQ_FMT_SPLIT)
		vq_disable_notify_split(vq);
	else
		vq_disable_notify_packed(vq);
}

bool vq_has_work(struct vq *vq)
{
	if (!vq->started || vq->broken)
		return false;
	return vq->fmt == VQ_FMT_SPLIT ? vq_has_work_split(vq) : vq_has_work_packed(vq);
}
