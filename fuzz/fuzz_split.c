// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_split.c - split virtqueue (VIRTIO 1.2, 2.7) against a hostile driver.
 *
 * Structured mode: the op language of fuzz/README.md drives a guest-driver
 * model and hostile raw writes over fuzz-chosen guest memory layouts, with
 * the oracles of fz_vq.c after every core call.  Raw mode (header bit 0x80):
 * the input is guest RAM with the split rings at fixed offsets and the device
 * loop runs over it.  Both double-fetch modes apply (FZ_M_DF_POST, _DF_TRAP).
 */
#include "fuzz/fz.h"
#include "fuzz/fz_vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fz_vq_target t = { .fmt = VQ_FMT_SPLIT };

	return fz_vq_run(data, size, &t);
}
