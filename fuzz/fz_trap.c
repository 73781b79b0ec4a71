// SPDX-License-Identifier: Apache-2.0
/*
 * fz_trap.c - page-protection + single-step rewriting of guest memory.
 *
 * See fz_trap.h for the idea.  The handlers only do what is async-signal
 * safe: mprotect(), sigaction() and plain loads/stores.
 */
#include "fuzz/fz_trap.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- write guard (any POSIX system) -------------------------------------- */

static struct fz_guard *fz_guard_cur; /* installed guard, or NULL (see fz_guard_arm) */

static void on_guard_segv(int sig, siginfo_t *si, void *ucv)
{
	struct fz_guard *g = fz_guard_cur;
	uint8_t *a = si->si_addr;
	char msg[192];

	(void)ucv;
	if (!g || a < g->base || a >= g->base + g->len) {
		/* not ours: the previous handler sees the re-executed fault */
		if (g)
			sigaction(SIGSEGV, &g->old_segv, NULL);
		else
			signal(sig, SIG_DFL);
		return;
	}
	if (!g->active) {
		/* the harness writes guest RAM between calls: unprotect, retry */
		if (mprotect(g->base, g->len, PROT_READ | PROT_WRITE) == 0) {
			g->protected_ = false;
			return;
		}
		sigaction(SIGSEGV, &g->old_segv, NULL);
		return;
	}
	/* Report, then let the previous handler (sanitizer, fuzzer engine)
	 * see the re-executed store: its report has the device's stack. */
	snprintf(msg, sizeof(msg),
		 "fz: invariant violated: %s wrote guest RAM outside device areas: arena+%#zx "
		 "(store to a write-protected page)\n",
		 g->what ? g->what : "a core call", (size_t)(a - g->base));
	if (write(2, msg, strlen(msg)) < 0)
		msg[0] = 0;
	fz_guard_cur = NULL;
	sigaction(SIGSEGV, &g->old_segv, NULL);
}

static bool in_ranges(const size_t (*r)[2], unsigned n, size_t off)
{
	for (unsigned i = 0; i < n; i++)
		if (off >= r[i][0] && off < r[i][1])
			return true;
	return false;
}

bool fz_guard_arm(struct fz_guard *g)
{
	size_t want[FZ_GUARD_MAX_RW][2], have[FZ_GUARD_MAX_RW][2];
	size_t run = 0;
	int run_prot = -1;

	if (!g->installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sa.sa_sigaction = on_guard_segv;
		g->protected_ = false;
		g->active = false;
		fz_guard_cur = g;
		sigaction(SIGSEGV, &sa, &g->old_segv);
		g->installed = true;
	}
	for (unsigned i = 0; i < g->nrw; i++) {
		want[i][0] = g->rw[i].lo;
		want[i][1] = g->rw[i].hi;
	}
	for (unsigned i = 0; i < g->ncur; i++) {
		have[i][0] = g->cur[i].lo;
		have[i][1] = g->cur[i].hi;
	}
	/* change only pages whose protection differs, one call per run of them */
	for (size_t at = 0; at <= g->len; at += FZ_PAGE) {
		int p = -1;

		if (at < g->len) {
			bool w = in_ranges((const size_t(*)[2])want, g->nrw, at);
			bool h = !g->protected_ || in_ranges((const size_t(*)[2])have, g->ncur, at);

			if (w != h)
				p = w ? PROT_READ | PROT_WRITE : PROT_READ;
		}
		if (p == run_prot)
			continue;
		if (run_prot >= 0 && mprotect(g->base + run, at - run, run_prot) != 0) {
			g->protected_ = true; /* partly: make all of it writable */
			fz_guard_disarm(g);
			return false;
		}
		run = at;
		run_prot = p;
	}
	for (unsigned i = 0; i < g->nrw; i++)
		g->cur[i].lo = g->rw[i].lo, g->cur[i].hi = g->rw[i].hi;
	g->ncur = g->nrw;
	g->protected_ = true;
	g->active = true;
	return true;
}

void fz_guard_end(struct fz_guard *g)
{
	g->active = false;
}

void fz_guard_disarm(struct fz_guard *g)
{
	if (!g->installed)
		return;
	if (g->protected_)
		mprotect(g->base, g->len, PROT_READ | PROT_WRITE);
	sigaction(SIGSEGV, &g->old_segv, NULL);
	fz_guard_cur = NULL;
	g->installed = g->protected_ = g->active = false;
	g->ncur = 0;
}

#if defined(__x86_64__) && defined(__linux__)

#include <ucontext.h>

#define FZ_EFLAGS_TF 0x100
#define FZ_PF_WRITE 0x2 /* page-fault error code: the access was a store */

static struct fz_trap *fz_trap_cur; /* armed trap, or NULL (see fz_trap_arm) */

bool fz_trap_supported(void)
{
	return true;
}

static bool skipped(const struct fz_trap *t, const uint8_t *p)
{
	for (unsigned i = 0; i < t->nskip; i++)
		if (p >= t->skip[i].lo && p < t->skip[i].hi)
			return true;
	return false;
}

/* Rewrite one byte of the 16-byte block holding @addr, as the input says. */
static void rewrite(struct fz_trap *t, const uint8_t *addr)
{
	uint8_t sel = fz_u8(t->in), x;
	size_t off;

	if (!(sel & 1))
		return;
	off = (size_t)(((uintptr_t)addr & ~(uintptr_t)15) - (uintptr_t)t->base) + ((sel >> 1) & 15);
	x = fz_u8(t->in) | 1; /* never a no-op */
	if (off >= t->len || skipped(t, t->base + off))
		return;
	t->base[off] ^= x;
	if (t->mirror)
		t->mirror[off] ^= x;
	t->rewrites++;
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	struct fz_trap *t = fz_trap_cur;
	ucontext_t *uc = ucv;
	uint8_t *a = si->si_addr;

	if (!t || !t->armed || a < t->base || a >= t->base + t->len) {
		/* A real crash: let the previous handler (sanitizer, fuzzer
		 * engine) see the re-executed fault. */
		if (t)
			sigaction(SIGSEGV, &t->old_segv, NULL);
		else
			signal(sig, SIG_DFL);
		return;
	}
	if (t->stepping) {
		/* the instruction being stepped touches another page: open it
		 * too (as if the whole range were open: no rewrite, no count) */
		uint8_t *pg = t->base + (size_t)(a - t->base) / FZ_PAGE * FZ_PAGE;

		if (t->nopen < FZ_TRAP_MAX_OPEN) {
			mprotect(pg, FZ_PAGE, PROT_READ | PROT_WRITE);
			t->opened[t->nopen++] = pg;
		} else {
			mprotect(t->base, t->len, PROT_READ | PROT_WRITE);
			t->nopen = FZ_TRAP_MAX_OPEN + 1;
		}
		return;
	}
	if (++t->faults > FZ_TRAP_MAX_FAULTS || fz_done(t->in)) {
		/* bounded work, or the input is used up (every further fault
		 * would read a zero selector and rewrite nothing): stop
		 * trapping for this window */
		mprotect(t->base, t->len, PROT_READ | PROT_WRITE);
		t->open = true;
		return;
	}
	/* Open only the faulting page: an mprotect() costs per page changed
	 * (TLB invalidations, hypercalls under some hypervisors). */
	t->opened[0] = t->base + (size_t)(a - t->base) / FZ_PAGE * FZ_PAGE;
	t->nopen = 1;
	t->stepping = true;
	mprotect(t->opened[0], FZ_PAGE, PROT_READ | PROT_WRITE);
	if (!(uc->uc_mcontext.gregs[REG_ERR] & FZ_PF_WRITE))
		rewrite(t, a);
	uc->uc_mcontext.gregs[REG_EFL] |= FZ_EFLAGS_TF;
}

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	struct fz_trap *t = fz_trap_cur;
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)FZ_EFLAGS_TF;
	if (!t)
		return;
	if (t->armed && !t->open && t->stepping) {
		if (t->nopen <= FZ_TRAP_MAX_OPEN)
			for (unsigned i = 0; i < t->nopen; i++)
				mprotect(t->opened[i], FZ_PAGE, PROT_NONE);
		else
			mprotect(t->base, t->len, PROT_NONE);
	}
	t->stepping = false;
	t->nopen = 0;
}

/* The handlers stay installed from the first fz_trap_arm() of a run to
 * fz_trap_release(): four sigaction() calls per run instead of per call. */
void fz_trap_arm(struct fz_trap *t)
{
	if (!t->installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sa.sa_sigaction = on_segv;
		sigaction(SIGSEGV, &sa, &t->old_segv);
		sa.sa_sigaction = on_trap;
		sigaction(SIGTRAP, &sa, &t->old_trap);
		t->installed = true;
	}
	t->faults = 0;
	t->open = false;
	t->stepping = false;
	t->nopen = 0;
	fz_trap_cur = t;
	t->armed = true;
	mprotect(t->base, t->len, PROT_NONE);
}

void fz_trap_disarm(struct fz_trap *t)
{
	t->armed = false;
	mprotect(t->base, t->len, PROT_READ | PROT_WRITE);
}

void fz_trap_release(struct fz_trap *t)
{
	if (!t->installed)
		return;
	sigaction(SIGSEGV, &t->old_segv, NULL);
	sigaction(SIGTRAP, &t->old_trap, NULL);
	t->installed = false;
	fz_trap_cur = NULL;
}

#else /* !x86-64 Linux */

bool fz_trap_supported(void)
{
	return false;
}

void fz_trap_arm(struct fz_trap *t)
{
	(void)t;
}

void fz_trap_disarm(struct fz_trap *t)
{
	(void)t;
}

void fz_trap_release(struct fz_trap *t)
{
	(void)t;
}

#endif
