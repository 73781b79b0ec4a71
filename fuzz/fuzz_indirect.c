// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_indirect.c - indirect descriptor tables (2.7.5.3, 2.8.19) on both ring
 * formats.
 *
 * Differences from fuzz_split/fuzz_packed: header bit FZ_M_PACKED picks the
 * format; VIRTIO_RING_F_INDIRECT_DESC is negotiated unless FZ_M_INDIRECT is
 * set (C8 then); FZ_OP_POST builds an indirect table unless FZ_SH_INDIRECT is
 * set.  The tweaks of enum fz_tweak cover table lengths (0, not x16, larger
 * than the queue), nesting, INDIRECT|NEXT, WRITE on the pointer, tables in
 * holes or straddling regions, direct descriptors before a table, and chains
 * one descriptor longer than the queue; FZ_OP_ITAB writes raw table entries.
 */
#include "fuzz/fz.h"
#include "fuzz/fz_vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fz_vq_target t = {
		.fmt = VQ_FMT_SPLIT,
		.fmt_from_input = true,
		.indirect_focus = true,
	};

	return fz_vq_run(data, size, &t);
}
