/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz_trap.h - "the guest writes between every two device loads".
 *
 * Theory of operation
 * -------------------
 * While armed, guest RAM (a page-aligned range) is PROT_NONE.  Every device
 * access faults; the SIGSEGV handler makes the faulting page accessible (and
 * any other page the same instruction faults on while it is stepped, without
 * counting or rewriting: the same as opening the whole range), and for a
 * load first rewrites one byte of the 16-byte block being loaded (as chosen
 * by the fuzz input), then sets the x86 trap flag so the faulting instruction
 * executes exactly once before SIGTRAP re-protects those pages.  Two loads of
 * the same guest field therefore see different values whenever the input
 * says so, deterministically, in one thread: a double fetch turns into an
 * inconsistent chain, an out-of-bounds iovec or a sanitizer report.
 *
 * Device-written areas (used ring, device event, staged used descriptors) are
 * listed as skip ranges and never rewritten, so the completion oracles stay
 * exact.  Each rewrite is mirrored into the caller's pre-call snapshot, so the
 * "device wrote only where allowed" diff still sees device writes only.
 *
 * x86-64 Linux only; elsewhere fz_trap_supported() is false and the mode is a
 * no-op.
 */
#ifndef VHOSTILE_FUZZ_FZ_TRAP_H
#define VHOSTILE_FUZZ_FZ_TRAP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fz.h"

#define FZ_TRAP_MAX_SKIP 4
#define FZ_TRAP_MAX_FAULTS 4000u /* per armed window; then the range stays open */
#define FZ_TRAP_MAX_OPEN 4       /* pages one stepped instruction may open */

struct fz_trap {
	uint8_t *base;   /* protected range, page aligned */
	size_t len;      /* multiple of the page size */
	uint8_t *mirror; /* same layout as base: receives every rewrite, or NULL */
	struct fz_in *in;
	struct {
		const uint8_t *lo, *hi;
	} skip[FZ_TRAP_MAX_SKIP];
	unsigned nskip;
	unsigned faults;
	unsigned rewrites;
	bool open; /* gave up protecting in this window */
	volatile bool armed; /* inside a call (between arm and disarm) */
	bool stepping;       /* a faulting instruction is being single-stepped */
	uint8_t *opened[FZ_TRAP_MAX_OPEN]; /* pages opened for it */
	unsigned nopen;      /* > FZ_TRAP_MAX_OPEN: the whole range */
	bool installed;      /* handlers installed (until fz_trap_release()) */
	struct sigaction old_segv, old_trap;
};

/* fz_trap_supported() - can this build single-step faulting loads? */
bool fz_trap_supported(void);

/**
 * fz_trap_arm() - protect @t->base and install the handlers.
 * @t: configured trap (base, len, mirror, in, skip ranges)
 *
 * Only one trap may be armed at a time (the handlers find it through one
 * static pointer; it is NULL once the trap is released, so nothing carries
 * over between runs).  The handlers are installed by the first arm and stay
 * until fz_trap_release(); outside an armed window they pass every fault on.
 */
void fz_trap_arm(struct fz_trap *t);

/* fz_trap_disarm() - unprotect (the handlers stay installed). */
void fz_trap_disarm(struct fz_trap *t);

/* fz_trap_release() - restore the previous handlers (no-op if not installed).
 * Before the trap's memory goes away, after any guard installed later was
 * disarmed (handlers are restored in reverse order of installation). */
void fz_trap_release(struct fz_trap *t);

/*
 * Write guard: "the device wrote nothing outside its areas" without diffing
 * all of guest RAM.  While a call is guarded, every page of a (page-aligned)
 * range is read-only except the ranges listed writable; a store to a
 * read-only page is reported from the SIGSEGV handler, naming the call.
 * The caller still snapshots and diffs the writable pages byte by byte, so
 * the guarantee is the same as a whole-RAM diff.  Never armed together with
 * a trap (fz_trap_arm()).  Portable to any POSIX system with mprotect() and
 * SA_SIGINFO.
 *
 * The protection is lazy: fz_guard_end() leaves the pages as they are, so
 * consecutive calls with the same writable set (a drain loop) cost no
 * mprotect() at all, and fz_guard_arm() changes only the pages whose
 * protection differs.  A store to a read-only page while no call is guarded
 * is the harness (the guest) writing: the handler makes the whole range
 * writable again and lets the store proceed; the next fz_guard_arm()
 * re-protects.  (Each mprotect() that drops write access costs a TLB
 * shoot-down, which dominated large-ring runs when done twice per call.)
 */
#define FZ_GUARD_MAX_RW 4

struct fz_guard {
	uint8_t *base;    /* guarded range, page aligned */
	size_t len;       /* multiple of the page size */
	const char *what; /* call name for the report */
	struct {
		size_t lo, hi; /* writable [lo, hi) offsets, page aligned, ascending */
	} rw[FZ_GUARD_MAX_RW];
	unsigned nrw;
	struct sigaction old_segv;
	/* protection state (fz_trap.c) */
	struct {
		size_t lo, hi;
	} cur[FZ_GUARD_MAX_RW]; /* writable ranges as applied, if protected */
	unsigned ncur;
	bool installed;   /* handler installed (until fz_guard_disarm()) */
	volatile bool protected_; /* pages outside cur[] are read-only now */
	volatile bool active; /* a guarded call is running */
};

/**
 * fz_guard_arm() - before a call: @g->base read-only except @g->rw[].
 * @g: configured guard (base, len, what, rw[], nrw)
 *
 * Installs the handler on first use.  Like fz_trap_arm(), one guard at a
 * time, found through one static pointer that is NULL while no guard is
 * installed.  Base and length must not change until fz_guard_disarm().
 *
 * Return: true if armed; false if a page could not be protected (the guard
 * is disarmed then and the caller must diff all of its range itself).
 */
bool fz_guard_arm(struct fz_guard *g);

/* fz_guard_end() - after the call: stop reporting stores (pages stay as they are). */
void fz_guard_end(struct fz_guard *g);

/* fz_guard_disarm() - everything writable again, previous handler back
 * (no-op if not installed).  Before the range is freed or reused. */
void fz_guard_disarm(struct fz_guard *g);

#endif /* VHOSTILE_FUZZ_FZ_TRAP_H */
