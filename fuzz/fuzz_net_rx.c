// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_net_rx.c - virtio-net receive (net/net_rx.c) into hostile buffer sets.
 *
 * Theory of operation
 * -------------------
 * The engine of fz_net.c drives one receive queue (split or packed,
 * MRG_RXBUF on or off, from the input's feature selector).  Ops post RX
 * buffer sets (smaller than the header, readable descriptors, readable after
 * writable, one-byte buffers, many tiny buffers, indirect tables, straddling
 * or unmapped buffers, bulk buffers big enough for the zero-copy path), inject
 * frames into the fake TAP (runts, maximal frames, offload headers the guest
 * did not negotiate), run net_rx_run with small budgets, add buffers between
 * runs, close the TAP (EOF) and restart the queue.  What the guest receives is
 * compared byte for byte with what the TAP sent; see fz_net.c for the oracle
 * list and fuzz/NET_RESULTS.md for the input grammar.
 */
#include "fuzz/fz.h"
#include "fuzz/fz_net.h"

/* One engine for every run (fz_net_init resets all of it): no fresh pages per run. */
static struct fz_net engine;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_net *n = &engine;

	if (!fz_net_init(n, data, size, FZ_NM_RX, false))
		fz_net_run_ops(n, FZ_NM_RX);
	fz_net_fini(n);
	return 0;
}
