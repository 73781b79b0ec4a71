// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_net_tx.c - virtio-net transmit (net/net_tx.c) against a hostile guest
 * and a flaky TAP.
 *
 * Theory of operation
 * -------------------
 * The engine of fz_net.c drives one transmit queue (split or packed, chosen
 * by the input's feature selector) over the kit's guest RAM layout.  Ops post
 * TX chains (the header cut across any number of descriptors, CVE-2022-2132;
 * hostile headers; writable descriptors; short, header-only and over-long
 * chains; indirect tables; buffers straddling regions or in holes; aliased
 * buffers), run net_tx_run with small budgets, make the fake TAP full
 * (SO_SNDBUF, not draining it), drain it, close it (EPIPE), flip guest bytes
 * between runs, restart the queue from its saved state.  Every frame the TAP
 * gets is checked against the chain it came from; see fz_net.c for the full
 * oracle list and fuzz/NET_RESULTS.md for the input grammar.
 */
#include "fuzz/fz.h"
#include "fuzz/fz_net.h"

/* One engine for every run (fz_net_init resets all of it): no fresh pages per run. */
static struct fz_net engine;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_net *n = &engine;

	if (!fz_net_init(n, data, size, FZ_NM_TX, false))
		fz_net_run_ops(n, FZ_NM_TX);
	fz_net_fini(n);
	return 0;
}
