// SPDX-License-Identifier: Apache-2.0
/*
 * fz_misuse.c - the API-misuse ops of the virtqueue engine (FZ_X_MISUSE,
 * fuzz/fz.h): the harness as a buggy caller of core/virtq.h.  FZ_OP_STOPPED
 * goes on calling a queue it stopped, FZ_OP_BAD_CHAIN hands vq_unpop and
 * vq_push chains vq_pop never produced.  Every call is checked against its
 * documented result and must leave guest RAM, the eventfds and struct vq
 * byte for byte as they were.
 */
#include "fuzz/fz_vq_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* An API-misuse call must leave the queue exactly as it was. */
static void check_unchanged(const struct fz_run *r, const struct vq *before, const char *what)
{
	FZ_CHECK(!memcmp(before, &r->vq, sizeof(*before)), "%s changed the queue state", what);
}

/* ... and signal nothing (both eventfds drained by the caller). */
static void check_no_signal(const struct fz_run *r, const char *what)
{
	uint64_t cnt;

	FZ_CHECK(r->efd_call < 0 || fz_efd_read(r->efd_call, &cnt) < 0,
		 "%s signalled the driver", what);
	FZ_CHECK(r->efd_err < 0 || fz_efd_read(r->efd_err, &cnt) < 0,
		 "%s signalled the error eventfd", what);
}

/*
 * FZ_OP_STOPPED (FZ_X_MISUSE): a buggy caller that goes on using a queue it
 * stopped.  core/virtq.h: vq_pop is VQ_EMPTY, vq_push / vq_unpop of a chain
 * that was in flight before the stop -EINVAL (nothing is in flight now),
 * vq_flush asks for no signal, vq_enable_notify says "safe to sleep",
 * vq_has_work false, vq_disable_notify and a second vq_stop do nothing.
 * None of them may write guest RAM, signal an eventfd, change the stopped
 * queue's state or (vq_pop) write into the caller's chain.  Then the queue
 * restarts from the position the real stop reported, as FZ_RS_SAME does, so
 * the driver model goes on: a call that had changed something behind the
 * model shows up there too.
 */
void fz_op_stopped(struct fz_run *r)
{
	struct fz_fl e = r->nfl ? r->fl[r->nfl - 1] : (struct fz_fl){ 0, 1, 0 };
	struct vq_cfg cfg = r->cfg;
	struct vq_chain c, poison;
	struct vq_state st;
	struct vq before;
	enum vq_status s;
	uint64_t cnt;
	bool b;
	int rc;

	fz_do_stop(r, &st);
	if (r->efd_call >= 0 && fz_efd_read(r->efd_call, &cnt) < 0)
		cnt = 0;
	if (r->efd_err >= 0 && fz_efd_read(r->efd_err, &cnt) < 0)
		cnt = 0;
	memcpy(&before, &r->vq, sizeof(before));

	memset(&c, 0xa5, sizeof(c));
	c.iov = r->iov;
	c.iov_cap = (uint16_t)r->iov_cap;
	poison = c;
	fz_pre(r);
	s = vq_pop(&r->vq, &c);
	fz_post(r, false, "vq_pop (stopped)");
	FZ_CHECK(s == VQ_EMPTY, "vq_pop on a stopped queue returned %d", s);
	FZ_CHECK(!memcmp(&c, &poison, sizeof(c)), "vq_pop on a stopped queue wrote the chain");
	check_unchanged(r, &before, "vq_pop (stopped)");

	vq_chain_init(&c, NULL, 0);
	c.id = e.id;
	c.nslots = e.nslots;
	c.in_bytes = e.in_bytes;
	fz_pre(r);
	rc = vq_push(&r->vq, &c, e.in_bytes);
	fz_post(r, false, "vq_push (stopped)");
	FZ_CHECK(rc == -EINVAL, "vq_push of id %u on a stopped queue returned %d", e.id, rc);
	check_unchanged(r, &before, "vq_push (stopped)");
	fz_pre(r);
	rc = vq_unpop(&r->vq, &c);
	fz_post(r, false, "vq_unpop (stopped)");
	FZ_CHECK(rc == -EINVAL, "vq_unpop of id %u on a stopped queue returned %d", e.id, rc);
	check_unchanged(r, &before, "vq_unpop (stopped)");

	fz_pre(r);
	b = vq_flush_signal(&r->vq);
	fz_post(r, false, "vq_flush (stopped)");
	FZ_CHECK(!b, "vq_flush on a stopped queue asked for a signal");
	check_unchanged(r, &before, "vq_flush (stopped)");
	fz_pre(r);
	b = vq_enable_notify(&r->vq);
	fz_post(r, false, "vq_enable_notify (stopped)");
	FZ_CHECK(b, "vq_enable_notify on a stopped queue: not safe to sleep");
	check_unchanged(r, &before, "vq_enable_notify (stopped)");
	fz_pre(r);
	vq_disable_notify(&r->vq);
	fz_post(r, false, "vq_disable_notify (stopped)");
	check_unchanged(r, &before, "vq_disable_notify (stopped)");
	fz_pre(r);
	b = vq_has_work(&r->vq);
	fz_post(r, false, "vq_has_work (stopped)");
	FZ_CHECK(!b, "vq_has_work on a stopped queue: work");
	FZ_CHECK(!vq_is_broken(&r->vq, NULL), "a stopped queue reports broken");
	check_unchanged(r, &before, "vq_has_work (stopped)");
	fz_pre(r);
	vq_stop(&r->vq, NULL);
	fz_post(r, false, "vq_stop (stopped)");
	check_unchanged(r, &before, "vq_stop (stopped)");
	check_no_signal(r, "a call on a stopped queue");
	if (r->trace)
		fprintf(stderr, "fz:   stopped queue: every call refused, restart at %u/%d\n",
			st.avail_idx, st.avail_wrap);

	cfg.base = st;
	if (fz_do_start(r, &cfg) != 0)
		fz_do_fresh(r);
}

/*
 * FZ_OP_BAD_CHAIN (FZ_X_MISUSE): u8 kind, u16 v.  A buggy caller hands
 * vq_unpop or vq_push a chain vq_pop never produced (kind % 5): unpop of an
 * id not in flight, unpop of an id >= size, packed unpop of an in-flight id
 * with nslots 0 or > size, packed push of an in-flight id with nslots > size
 * (nslots 0 is FZ_OP_PUSH_BOGUS's).  Must be -EINVAL (core/virtq.h; -EIO on
 * a broken queue) and change nothing: no guest write, the queue state byte
 * for byte as before, so the in-flight chain is still there for a later
 * push or unpop of the model.
 */
void fz_op_bad_chain(struct fz_run *r)
{
	uint8_t kind = fz_u8(&r->in) % 5;
	uint16_t v = fz_u16(&r->in);
	bool push = kind == 4;
	struct vq_chain c;
	struct vq before;
	int rc, want;

	vq_chain_init(&c, NULL, 0);
	c.nslots = 1;
	if (kind == 0) {
		c.id = (uint16_t)(v % r->cfg.size);
		if (fz_fl_has(r, c.id))
			return;
	} else if (kind == 1) {
		c.id = (uint16_t)(r->cfg.size + (v & 0xff)); /* size <= 32768 */
	} else {
		if (!r->packed || !r->nfl)
			return;
		c.id = r->fl[v % r->nfl].id;
		c.nslots = kind == 2 ? 0
				     : (uint16_t)(r->cfg.size + 1 +
						  (v >> 8) % (UINT16_MAX - r->cfg.size));
	}
	want = r->broken ? -EIO : -EINVAL;
	memcpy(&before, &r->vq, sizeof(before));
	fz_pre(r);
	rc = push ? vq_push(&r->vq, &c, 0) : vq_unpop(&r->vq, &c);
	fz_post(r, false, push ? "vq_push (never popped)" : "vq_unpop (never popped)");
	if (r->trace)
		fprintf(stderr, "fz:   %s of id %u slots %u (never popped) -> %d\n",
			push ? "push" : "unpop", c.id, c.nslots, rc);
	FZ_CHECK(rc == want, "%s of id %u slots %u (never popped) returned %d, want %d",
		 push ? "vq_push" : "vq_unpop", c.id, c.nslots, rc, want);
	check_unchanged(r, &before, push ? "vq_push (never popped)" : "vq_unpop (never popped)");
	FZ_CHECK(vq_is_broken(&r->vq, NULL) == r->broken, "broken latch %d, observed %d",
		 vq_is_broken(&r->vq, NULL), r->broken);
}
