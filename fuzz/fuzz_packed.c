// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_packed.c - packed virtqueue (VIRTIO 1.2, 2.8) against a hostile driver.
 *
 * Same engine and op language as fuzz_split; ring positions are (slot, wrap
 * counter) pairs, chains occupy consecutive slots, buffer ids are opaque and
 * used descriptors are written back into the ring.  Raw mode puts the packed
 * ring at offset 0 and the event suppression structures at fixed offsets.
 */
#include "fuzz/fz.h"
#include "fuzz/fz_vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fz_vq_target t = { .fmt = VQ_FMT_PACKED };

	return fz_vq_run(data, size, &t);
}
