/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz_vq.h - the virtqueue fuzz engine shared by fuzz_split, fuzz_packed,
 * fuzz_indirect and their double-fetch twins fuzz_*_df: a guest-driver model
 * that speaks the op language of fz.h, and the oracles that check the device
 * after every core call.
 */
#ifndef VHOSTILE_FUZZ_FZ_VQ_H
#define VHOSTILE_FUZZ_FZ_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/virtq.h"

struct fz_vq_target {
	enum vq_fmt fmt;       /* ring format, unless fmt_from_input */
	bool fmt_from_input;   /* FZ_M_PACKED in header byte 0 selects packed */
	bool indirect_focus;   /* INDIRECT_DESC on and POST builds tables unless told not to */
	bool df_trap;          /* the *_df targets: every structured input runs in
				* DF_TRAP mode (header bit FZ_M_DF_TRAP implied);
				* the other targets never trap (the bit is ignored) */
};

/**
 * fz_vq_run() - run one input against a fresh queue.
 * @data: input
 * @size: its length
 * @t: target flavour
 *
 * Aborts (through fz_fail) on the first violated invariant.
 *
 * Return: 0 (libFuzzer convention).
 */
int fz_vq_run(const uint8_t *data, size_t size, const struct fz_vq_target *t);

#endif /* VHOSTILE_FUZZ_FZ_VQ_H */
