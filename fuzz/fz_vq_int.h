/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz_vq_int.h - state shared by fz_vq.c (input, ops), fz_misuse.c (API-misuse
 * ops), fz_call.c (checked core calls, oracles), fz_life.c (checked start,
 * stop and reset), fz_dfpost.c (DF_POST replay and rewrite), fz_drv.c
 * (guest-driver model: expectations, checks at pop), fz_drv_ref.c (its
 * reference chain walker) and fz_drv_post.c (its chain building and
 * posting).  Harness-internal.
 */
#ifndef VHOSTILE_FUZZ_FZ_VQ_INT_H
#define VHOSTILE_FUZZ_FZ_VQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/virtq.h"
#include "fuzz/fz.h"
#include "fuzz/fz_trap.h"
#include "fuzz/fz_vq.h"

/* Ops (and drain pops) one input may run.  Every checked-in input, crash
 * reproducers included, needs at most 138; campaigns kept inputs of up to
 * 4000, which were most of a split campaign's time (fuzz/README.md,
 * Throughput, fifth round). */
#define FZ_MAX_OPS 512u
#define FZ_WORK_BUDGET (1u << 20) /* ops x queue size per input */
#define FZ_MAX_BUF 32u            /* buffers of one POST chain */
#define FZ_MAX_DIRECT 40u         /* ring descriptors of one POST chain */
#define FZ_MAX_PIECES 64u
#define FZ_POOL 64u               /* detailed expectations in flight */
#define FZ_TRAP_RUN_FAULTS 20000  /* single-step budget of one double-fetch run */
#define FZ_STOPPED_RUN_OPS 4      /* FZ_OP_STOPPED ops one input may run */
#define FZ_LOG_IOV 16u            /* iovec capacity when dirty logging is checked */
#define FZ_LOG_MAX_SIZE 1024u     /* largest queue with dirty logging checked */
#define FZ_USTACK 16u             /* chains vq_unpop may give back, newest last */
#define FZ_LOG_PAGE 4096u
#define FZ_GUARD_MIN (64u << 10) /* guest RAM from which calls run write-guarded */

#define FZ_FBIT(f) (1u << (f))
#define FZ_CHAIN_FAULTS                                                                   \
	(FZ_FBIT(VQ_F_NEXT_RANGE) | FZ_FBIT(VQ_F_CHAIN_LONG) | FZ_FBIT(VQ_F_ADDR) |       \
	 FZ_FBIT(VQ_F_TOO_BIG) | FZ_FBIT(VQ_F_IOV_CAP) | FZ_FBIT(VQ_F_ORDER) |            \
	 FZ_FBIT(VQ_F_IND_NOT_NEG) | FZ_FBIT(VQ_F_IND_NESTED) | FZ_FBIT(VQ_F_IND_NEXT) |   \
	 FZ_FBIT(VQ_F_IND_LEN) | FZ_FBIT(VQ_F_IND_SIZE) | FZ_FBIT(VQ_F_IND_ADDR))
#define FZ_RING_FAULTS                                                                    \
	(FZ_FBIT(VQ_F_AVAIL_IDX) | FZ_FBIT(VQ_F_HEAD_RANGE) | FZ_FBIT(VQ_F_DUP_HEAD) |    \
	 FZ_FBIT(VQ_F_INFLIGHT) | FZ_FBIT(VQ_F_ID_RANGE) | FZ_FBIT(VQ_F_PACKED_CHAIN))

/* What the driver model expects the device to do with one published chain. */
enum fz_ekind {
	FZ_E_UNKNOWN, /* outside the model: generic invariants only */
	FZ_E_CHAIN,   /* VQ_OK (faults == 0) or VQ_BAD_CHAIN with a fault in faults */
	FZ_E_BROKEN,  /* VQ_BROKEN with a fault in faults */
};

struct fz_ebuf {
	uint64_t gpa;
	uint32_t len;
};

/* Buffers of an expected-good chain, readable ones first (zero-length omitted). */
struct fz_expect {
	uint32_t out_bytes, in_bytes;
	uint16_t nbuf, nout;
	struct fz_ebuf buf[FZ_MAX_BUF];
};

struct fz_pend {
	uint8_t kind;     /* enum fz_ekind */
	bool dup;         /* reuses an id: if still in flight at pop, expect VQ_F_DUP_HEAD */
	bool xtab;        /* its table lies outside the table cursor's allocation */
	uint16_t id;      /* head / buffer id */
	uint16_t nslots;  /* packed ring slots */
	uint32_t faults;  /* FZ_FBIT set */
	int16_t detail;   /* pool index (good chains), or -1 */
};

struct fz_fl {
	uint16_t id, nslots;
	uint32_t in_bytes;
};

struct fz_cpl {
	uint16_t id, nslots;
	uint32_t len;
};

/* A popped chain that vq_unpop may still give back. */
struct fz_popped {
	uint16_t id, nslots;
	bool has_pend;         /* the FIFO entry it consumed, to put back */
	struct fz_pend pend;
	struct fz_expect exp;
};

/* Host view of the ring areas of the running configuration. */
struct fz_rings {
	uint8_t *desc, *drv, *dev;
	size_t desc_len, drv_len, dev_len;
};

struct fz_run {
	struct fz_in in;
	const struct fz_vq_target *t;
	struct fz_layout l;
	struct vq vq;
	struct vq_cfg cfg;  /* running configuration */
	struct vq_cfg cfg0; /* the valid initial one (FZ_RS_FRESH) */
	struct fz_rings rg;
	uint32_t cap_size;  /* capacity of the size-indexed arrays */
	uint32_t cap_alloc; /* ... as allocated (kept across runs, >= cap_size) */
	unsigned max_ops;
	bool packed, touch, df_post, df_trap, trace;
	bool overlap;        /* device area shares bytes with guest-written areas */
	int trap_budget;     /* faults left for FZ_M_DF_TRAP in this run */
	unsigned nstopped;   /* FZ_OP_STOPPED ops run (FZ_STOPPED_RUN_OPS) */

	/* dirty logging (FZ_X_LOG) */
	uint8_t *log;
	size_t log_size;
	uint32_t log_cap;     /* queue size fl_iov was sized for */
	/* the bitmap bytes that cover mapped guest RAM: the only ones a call
	 * may set, so the only ones fz_pre() clears (fz_log_ranges()) */
	uint32_t log_lo[FZ_MAX_CHUNKS], log_hi[FZ_MAX_CHUNKS];
	unsigned log_nr;
	bool kb_log_publish;  /* FZ_KNOWN_BUGS=log-publish (reported, now fixed) */
	bool kb_enable_cache; /* FZ_KNOWN_BUGS=enable-cache (reported, unfixed) */
	struct iovec *fl_iov; /* FZ_LOG_IOV per in-flight chain, parallel to fl[] */
	uint16_t *fl_nout;    /* readable iovecs of each in-flight chain */
	uint16_t *fl_nin;

	/* vq_unpop candidates and the FIFO entry of the last pop */
	struct fz_popped *ustack; /* FZ_USTACK, a ring: fz_ustack_at() (kept) */
	unsigned ubase, nustack;
	bool last_valid;
	struct fz_pend last_pend;
	struct fz_expect last_exp;
	size_t snap_cap;    /* bytes allocated for snap and df_after (kept) */
	uint8_t *snap;      /* guest RAM before the current core call (guarded:
			     * only the writable pages, at their offsets) */
	/* Incremental snapshot (small guest RAM, no DF_TRAP): snap is
	 * kept equal to guest RAM as of the last fz_pre() except in the 64-byte
	 * blocks marked here: written by the harness since (fz_snap_note()) or
	 * by the device in the last call (fz_post()).  FZ_SNAP_CHECK=1 verifies
	 * it against a full copy at every fz_pre(). */
	uint64_t snap_blk[FZ_GUARD_MIN / 64 / 64];
	uint32_t snap_wsum; /* bit w: snap_blk[w] != 0 */
	bool snap_ok;       /* snap in sync up to snap_blk */
	bool snap_check;    /* FZ_SNAP_CHECK */
	/* Deferred whole-RAM check (plain runs with the incremental snapshot):
	 * a call's fz_post() diffs only the ranges the device may write; the
	 * rest of guest RAM, which no call may change, is compared with the
	 * snapshot before the harness stores into it (fz_snap_note()) and
	 * once at the end of the input (fz_settle()). */
	bool lazy;          /* the last call's fz_post() was deferred */
	bool eager;         /* FZ_EAGER_DIFF: diff all guest RAM after every call */
	unsigned unsettled; /* deferred calls since the last whole-RAM check */
	const char *unsettled_first; /* the first of them */
	unsigned lz_n;      /* device ranges the last call's diff covered ... */
	size_t lz_lo[2], lz_hi[2]; /* ... (arena offsets) ... */
	size_t lz_clo[2], lz_chi[2]; /* ... and the span it changed (chi 0:
				      * none), not yet copied into snap */
	unsigned ncalls;    /* core calls this run (FZ_PLANT_STRAY) */
	unsigned plant_at;  /* FZ_PLANT_STRAY: call that stores a stray byte */
	bool plant_desc;    /* ... into the descriptor table */
	bool guarded;       /* the last call ran under the write guard */
	bool in_pop;        /* the call being guarded is vq_pop */
	struct fz_guard guard;
	struct iovec *iov, *iov2;
	unsigned iov_cap;
	struct vq_chain c;
	int efd_call, efd_err;

	/* oracle state: what the device has done, as observed */
	bool started, broken;
	uint16_t av_pos; /* split: next avail index (free running); packed: slot */
	bool av_wrap;
	uint16_t us_pos; /* split: published used index; packed: published used slot */
	bool us_wrap;
	uint32_t win;    /* packed: slots consumed and not yet returned (may exceed size) */
	struct fz_fl *fl;
	unsigned nfl;
	struct fz_cpl *cpl;
	unsigned ncpl, cpl_cap;
	bool sig_valid;
	uint16_t sig_used;
	int hw;          /* -1 unknown; 0: next pop must be EMPTY; 1: must not be */
	bool used_taint; /* guest scribbled on staged packed used descriptors */

	/* driver model */
	bool dirty;   /* pending expectations unreliable until the next EMPTY */
	bool exp_off; /* no expectations for the rest of the run */
	bool post_block;
	uint16_t drv_pos; /* split: next avail index to fill; packed: next slot */
	bool drv_wrap;
	uint16_t drv_pub; /* split: avail->idx as last stored */
	int held;         /* packed: slot of a chain whose head flags are held, or -1 */
	uint16_t held_flags;
	unsigned held_pend; /* FIFO entries behind (and including) the held head */
	int32_t *owner;   /* split: descriptor slot -> head using it, -1 free */
	int32_t *link;    /* split: next slot of the same chain, -1 last */
	uint16_t desc_cur, id_cur;
	size_t tab_cur;
	struct fz_pend *pend; /* FIFO of chains posted and not yet popped */
	unsigned p_head, p_n, p_pub;
	struct fz_expect *pool; /* FZ_POOL entries, kept across runs */
	uint64_t pool_busy;

	/* Rings a tampered restart placed outside the arena (in the huge
	 * region): snapshotted apart, so the write check and the DF_POST
	 * replay cover their bytes too. */
	struct fz_ext {
		uint8_t *p;
		size_t len;
	} ext[3];
	unsigned next;
	uint8_t *ext_snap, *ext_after; /* ext[] bytes back to back */
	size_t ext_cap;

	/* double fetch */
	uint8_t *df_after;
	struct vq *df_vq; /* two saved queue states */
	struct fz_trap trap;
};

/* fz_call.c: helpers */
uint16_t fz_ring_load16(const uint8_t *p);
void fz_ring_store16(uint8_t *p, uint16_t v);
/* The @i-th oldest vq_unpop candidate (0 <= @i < nustack). */
static inline struct fz_popped *fz_ustack_at(struct fz_run *r, unsigned i)
{
	return &r->ustack[(r->ubase + i) % FZ_USTACK];
}

void fz_snap_note(const void *p, size_t len);
void fz_snap_begin(struct fz_run *r);
void fz_snap_end(struct fz_run *r);
void fz_settle(struct fz_run *r, const char *at);
const uint8_t *fz_snap_at(const struct fz_run *r, const uint8_t *p);
void fz_set_ext(struct fz_run *r);
void fz_ext_copy(struct fz_run *r, uint8_t *buf, bool save);
bool fz_ext_equal(const struct fz_run *r, const uint8_t *buf);
void fz_log_ranges(struct fz_run *r);
void fz_log_check_rest(const struct fz_run *r);
void fz_check_logged(const struct fz_run *r, const void *p, size_t len, const char *what);
bool fz_in_window(const struct fz_run *r, uint32_t s);
bool fz_in_range(const uint8_t *p, const uint8_t *base, size_t len);
bool fz_overlaps(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
uint32_t fz_dist(const struct fz_run *r, uint16_t a, bool aw, uint16_t b, bool bw);
void fz_advance(const struct fz_run *r, uint16_t *pos, bool *wrap, uint32_t by);
bool fz_fl_has(const struct fz_run *r, uint16_t id);
void fz_fl_del(struct fz_run *r, unsigned i);
void fz_set_dirty(struct fz_run *r);
void fz_note_ring_write(struct fz_run *r, const uint8_t *p);
bool fz_device_only(const struct fz_run *r, const uint8_t *p);
bool fz_may_write(const struct fz_run *r);
bool fz_budget(struct fz_run *r);

/* fz_call.c: checked core calls (snapshot, call, diff, contract checks) */
void fz_pre(struct fz_run *r);
void fz_post(struct fz_run *r, bool may_write, const char *what);
void fz_check_pop(struct fz_run *r, enum vq_status st);
enum vq_status fz_do_pop(struct fz_run *r);
void fz_do_push(struct fz_run *r, unsigned which, uint32_t written);
void fz_do_flush(struct fz_run *r);
bool fz_do_enable(struct fz_run *r);
void fz_do_disable(struct fz_run *r);
void fz_do_has_work(struct fz_run *r);
void fz_verify_publish(struct fz_run *r);

/* fz_dfpost.c: the DF_POST replay and rewrite around fz_do_pop() */
void fz_vq_state_copy(struct vq *dst, const struct vq *src);
void fz_replay_pop(struct fz_run *r, enum vq_status st);
void fz_mutate_after_pop(struct fz_run *r, uint16_t pos0, uint16_t nslots);

/* fz_life.c: checked queue lifecycle */
bool fz_cfg_valid(const struct fz_run *r, const struct vq_cfg *cfg);
int fz_do_start(struct fz_run *r, const struct vq_cfg *cfg);
void fz_do_stop(struct fz_run *r, struct vq_state *st);
void fz_do_fresh(struct fz_run *r);

/* fz_misuse.c: the FZ_X_MISUSE ops */
void fz_op_stopped(struct fz_run *r);
void fz_op_bad_chain(struct fz_run *r);

/* fz_drv.c */
void fz_drv_reset(struct fz_run *r);
void fz_drv_on_pop(struct fz_run *r, enum vq_status st);
void fz_drv_on_complete(struct fz_run *r, uint16_t id);
void fz_drv_on_start(struct fz_run *r);
void fz_drv_unpopped(struct fz_run *r, const struct fz_popped *u);
struct fz_pend *fz_pend_at(struct fz_run *r, unsigned i);
int fz_pool_get(struct fz_run *r);
void fz_pool_put(struct fz_run *r, int i);
bool fz_id_busy(struct fz_run *r, uint16_t id);

/* fz_drv_ref.c: the model's chains and the reference walk over them */
struct fz_mdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One chain as the model built it. */
struct fz_mchain {
	unsigned nd;                       /* ring descriptors / slots */
	struct fz_mdesc d[FZ_MAX_DIRECT];
	uint16_t slot[FZ_MAX_DIRECT];      /* split: descriptor index of d[i] */
	uint64_t tgpa;                     /* indirect table */
	bool xtab;                         /* ... not where the table cursor put it */
	unsigned nfill, nt;                /* zero-length fillers first, then t[] */
	struct fz_mdesc t[FZ_MAX_BUF];
	uint16_t id;                       /* packed buffer id */
};

struct fz_mdesc fz_table_entry(const struct fz_run *r, const struct fz_mchain *m,
			       uint32_t i, uint32_t n);
void fz_ref_chain(struct fz_run *r, const struct fz_mchain *m, struct fz_pend *p,
		  struct fz_expect *e);

/* fz_drv_post.c */
void fz_drv_post(struct fz_run *r);

#endif /* VHOSTILE_FUZZ_FZ_VQ_INT_H */
