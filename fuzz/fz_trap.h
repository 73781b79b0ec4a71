/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz_trap.h - "the guest writes between every two device loads".
 *
 * Theory of operation
 * -------------------
 * While armed, guest RAM (a page-aligned range) is PROT_NONE.  Every device
 * access faults; the SIGSEGV handler makes the range accessible, and for a
 * load first rewrites one byte of the 16-byte block being loaded (as chosen
 * by the fuzz input), then sets the x86 trap flag so the faulting instruction
 * executes exactly once before SIGTRAP re-protects the range.  Two loads of
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
	struct sigaction old_segv, old_trap;
};

/* fz_trap_supported() - can this build single-step faulting loads? */
bool fz_trap_supported(void);

/**
 * fz_trap_arm() - protect @t->base and install the handlers.
 * @t: configured trap (base, len, mirror, in, skip ranges)
 *
 * Only one trap may be armed at a time (the handlers find it through one
 * static pointer, the only mutable static in the fuzz kit; it is NULL outside
 * an armed window, so nothing carries over between runs).
 */
void fz_trap_arm(struct fz_trap *t);

/* fz_trap_disarm() - unprotect and restore the previous handlers. */
void fz_trap_disarm(struct fz_trap *t);

/*
 * Write guard: "the device wrote nothing outside its areas" without diffing
 * all of guest RAM.  While armed, every page of a (page-aligned) range is
 * read-only except the ranges listed writable; a store to a read-only page
 * is reported through fz_fail() from the SIGSEGV handler, naming the call.
 * The caller still snapshots and diffs the writable pages byte by byte, so
 * the guarantee is the same as a whole-RAM diff, at the cost of a few
 * mprotect() calls.  Never armed together with a trap (fz_trap_arm()).
 * Portable to any POSIX system with mprotect() and SA_SIGINFO.
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
};

/**
 * fz_guard_arm() - make @g->base read-only except @g->rw[], install the handler.
 * @g: configured guard (base, len, what, rw[], nrw)
 *
 * Like fz_trap_arm(), one guard at a time, found through one static pointer
 * that is NULL outside an armed window.
 *
 * Return: true if armed; false if a page could not be protected (nothing is
 * armed then and the caller must diff all of its range itself).
 */
bool fz_guard_arm(struct fz_guard *g);

/* fz_guard_disarm() - everything writable again, previous handler back. */
void fz_guard_disarm(struct fz_guard *g);

#endif /* VHOSTILE_FUZZ_FZ_TRAP_H */
