// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_indirect_df.c - indirect tables (either format) against a guest that rewrites guest
 * memory between any two device loads (double fetch, fz_trap.h).
 *
 * The same input language and oracles as fuzz_indirect.c, with DF_TRAP mode
 * implied for every structured input: during each core call guest RAM is
 * inaccessible, every faulting device load first lets the input rewrite a
 * byte of the block being loaded, and the device's decisions must stay
 * consistent with the bytes it copied.  A separate target because a trapped
 * load costs two signals and two mprotect()s: fuzz_indirect keeps its speed
 * and this one spends all of its time on the double-fetch surface.
 */
#include "fuzz/fz.h"
#include "fuzz/fz_vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fz_vq_target t = {
		.fmt = VQ_FMT_SPLIT,
		.fmt_from_input = true,
		.indirect_focus = true,
		.df_trap = true,
	};

	return fz_vq_run(data, size, &t);
}
