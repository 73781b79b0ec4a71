/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fz.h - shared support for the vhostile fuzz harnesses.
 *
 * Theory of operation
 * -------------------
 * Every harness is one LLVMFuzzerTestOneInput() built three ways (libFuzzer,
 * AFL++, plain replay; see fuzz/CMakeLists.txt).  It consumes its input through
 * a struct fz_in cursor that yields zeros once exhausted, so every prefix of
 * an input is itself a valid input and mutations stay meaningful.
 *
 * Guest RAM is a struct fz_layout: one page-aligned arena per run
 * (freed at the end of the run; nothing survives between runs), cut into
 * chunks.  Chunk 0 holds the rings; the data area after it is cut at
 * fuzz-chosen points into up to FZ_MAX_DATA_CHUNKS chunks that become gmem
 * regions at fuzz-chosen guest-physical addresses: ascending, reversed (so a
 * GPA-contiguous range jumps around in host memory), with gaps, near 2^64,
 * with holes (chunks that are not installed at all).  The layout keeps its
 * own description of that map, independent of core/gmem.c, and the harnesses
 * use it as the reference: fz_ref_*() translate with 128-bit arithmetic.
 *
 * Invariant violations call fz_fail(), which prints the reason and aborts, so
 * libFuzzer, AFL++ and the replay runner all treat them as crashes.
 */
#ifndef VHOSTILE_FUZZ_FZ_H
#define VHOSTILE_FUZZ_FZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/compiler.h"
#include "core/gmem.h"

/*
 * Harness bulk loops (diffing guest RAM, filling buffers) need no coverage
 * feedback; without this, comparison tracing on every byte costs most of the
 * time of a run.
 */
#if defined(__clang__) && __clang_major__ >= 13
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FZ_NOCOV
#endif

/* Bulk compares of guest RAM against a snapshot: both are harness-owned
 * buffers of known size, so ASan's per-call range checks only cost time. */
#define FZ_NOASAN __attribute__((no_sanitize_address))

/**
 * fz_next_diff() - first offset in [@from, @n) where @a and @b differ.
 * @a: buffer (guest RAM)
 * @b: buffer of at least @n bytes (its snapshot)
 * @from: start offset
 * @n: end offset
 *
 * The write oracle's bulk compare: 128 bytes per step with AVX2 when the
 * CPU has it (chosen at run time), else 64 with SSE2 where the compiler
 * offers it, uninstrumented (both buffers are harness-owned and of known
 * size).
 *
 * Return: the offset, or @n if the ranges are equal.
 */
size_t fz_next_diff(const uint8_t *a, const uint8_t *b, size_t from, size_t n);

/* The entry point every harness defines (libFuzzer ABI). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- invariants ---------------------------------------------------------- */

/**
 * fz_fail() - report a violated invariant and abort.
 * @file: source file
 * @line: source line
 * @fmt: printf format of the reason
 */
VH_COLD __attribute__((noreturn)) VH_PRINTF(3, 4) void fz_fail(const char *file, int line,
							 const char *fmt, ...);

/* Called by fz_fail() after the report, before abort() (extra context). */
extern void (*fz_fail_hook)(void);

#define FZ_CHECK(cond, ...)                                                                \
	do {                                                                               \
		if (vh_unlikely(!(cond)))                                                  \
			fz_fail(__FILE__, __LINE__, __VA_ARGS__);                          \
	} while (0)

/* ---- input cursor -------------------------------------------------------- */

struct fz_in {
	const uint8_t *p;
	size_t n;
	size_t pos;
};

void fz_in_init(struct fz_in *in, const uint8_t *data, size_t size);

/* True once every input byte was consumed (readers then return zeros). */
static inline bool fz_done(const struct fz_in *in)
{
	return in->pos >= in->n;
}

/* The queue engine's call/error eventfds, counted in memory (fz_efd.c). */
void fz_efd_register(int call_fd, int err_fd);
ssize_t fz_efd_read(int fd, uint64_t *cnt); /* a non-blocking read(2) of one */

uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in); /* little-endian */
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);

/**
 * fz_bytes() - copy the next @len input bytes into @dst, zero-padded.
 * @in: cursor
 * @dst: destination
 * @len: bytes wanted
 *
 * Return: bytes that came from the input (the rest of @dst is zero).
 */
size_t fz_bytes(struct fz_in *in, void *dst, size_t len);

/* ---- guest RAM layout ---------------------------------------------------- */

#define FZ_PAGE 4096u
#define FZ_MAX_DATA_CHUNKS 8
#define FZ_MAX_CHUNKS (1 + FZ_MAX_DATA_CHUNKS + 1) /* ring + data + huge */

/*
 * Data area (after the ring chunk): the buffer zone holds buffers the driver
 * model posts, the table zone its indirect tables, so harness writes into
 * buffers never clobber descriptors it still expects to be read.
 */
#define FZ_BUF_ZONE 8192u
#define FZ_TAB_ZONE 8192u
#define FZ_DATA_BYTES (FZ_BUF_ZONE + FZ_TAB_ZONE)

/* Guest-physical placement defaults. */
#define FZ_RING_GPA 0x10000ULL
#define FZ_DATA_GPA 0x100000ULL
#define FZ_HUGE_GPA 0x1000000000000ULL /* 2^48 */
#define FZ_HUGE_BYTES ((1ULL << 32) + (1ULL << 20)) /* > 4 GiB: B5 chains */

/* fz_layout_build() flags */
#define FZ_LAYOUT_HUGE 1u  /* add a > 4 GiB region backed by a NORESERVE mapping */
#define FZ_LAYOUT_FIXED 2u /* no input bytes: ring region at GPA 0, data contiguous */

/* Guest RAM from this size up is a private anonymous mapping with PROT_NONE
 * guard pages around it (zero pages are not touched until used), below it a
 * page-aligned heap block.  Either way fz_layout_free() releases it. */
#define FZ_ARENA_MMAP (64u << 10)

struct fz_chunk {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	bool mapped; /* installed as a gmem region */
};

struct fz_layout {
	uint8_t *arena;     /* page-aligned, zeroed; rings then data */
	size_t arena_size;  /* multiple of FZ_PAGE */
	size_t ring_bytes;  /* chunk 0 = arena[0, ring_bytes) */
	uint8_t *data;      /* arena + ring_bytes, FZ_DATA_BYTES long */
	uint8_t *huge;      /* NORESERVE mapping or NULL */
	size_t huge_size;
	unsigned nchunks;
	unsigned ndata;     /* data chunks are chunk[1 .. ndata] */
	struct fz_chunk chunk[FZ_MAX_CHUNKS];
	struct gmem gm;
};

/**
 * fz_layout_build() - allocate guest RAM and install a fuzz-chosen region table.
 * @l: layout to fill
 * @in: cursor; layout bytes are consumed from it (not with FZ_LAYOUT_FIXED)
 * @ring_bytes: bytes needed by the rings (rounded up to a page)
 * @flags: FZ_LAYOUT_*
 *
 * The table built is always valid, so gmem_install() must accept it (checked).
 *
 * Return: 0, or -1 if memory could not be allocated (the run is skipped).
 */
int fz_layout_build(struct fz_layout *l, struct fz_in *in, size_t ring_bytes, unsigned flags);

/* fz_layout_free() - release everything fz_layout_build() allocated. */
void fz_layout_free(struct fz_layout *l);

/**
 * fz_ref_pieces() - reference translation of [@gpa, @gpa + @len).
 * @l: layout
 * @gpa: start
 * @len: length (> 0)
 * @out: pieces (one per region crossed), may be NULL
 * @cap: capacity of @out; pieces beyond it are counted, not stored
 *
 * Return: number of pieces; if some byte is unmapped, -1 - (pieces mapped
 * before the first gap); -1 if the range is empty or wraps 2^64.
 */
int fz_ref_pieces(const struct fz_layout *l, uint64_t gpa, uint64_t len, struct iovec *out,
		  unsigned cap);

/* Host pointer of [@gpa, @gpa + @len) if it lies in one mapped chunk, else NULL. */
uint8_t *fz_ref_host(const struct fz_layout *l, uint64_t gpa, uint64_t len);

/* Write @len bytes at @gpa through the reference map; returns bytes written
 * (stops at the first unmapped byte). */
/* Called with every host range fz_ref_write() stores to, when set (the
 * virtqueue engine keeps its guest-RAM snapshot in sync through it). */
extern void (*fz_write_hook)(const void *p, size_t len);
size_t fz_ref_write(const struct fz_layout *l, uint64_t gpa, const void *src, size_t len);

/* Does host range [@p, @p + @len) lie inside one mapped chunk? */
bool fz_host_mapped(const struct fz_layout *l, const void *p, size_t len);

/* Guest-physical address of host byte @p if it lies in a mapped chunk. */
bool fz_host_gpa(const struct fz_layout *l, const void *p, uint64_t *gpa);

/* Guest-physical address of data-area byte @off (whether mapped or in a hole). */
uint64_t fz_data_gpa(const struct fz_layout *l, size_t off);

/* ---- operand decoders ---------------------------------------------------- */

/**
 * fz_addr() - decode a guest address operand.
 * @in: cursor
 * @l: layout the address is relative to
 *
 * One selector byte picks a base (a data chunk, a data-area offset, the end of
 * a chunk, a raw 64-bit value, just below 2^64, the rings, the table zone, the
 * huge region or a gap) and further bytes an offset.  See fuzz/README.md.
 *
 * Return: address.
 */
uint64_t fz_addr(struct fz_in *in, const struct fz_layout *l);

/* fz_len() - decode a descriptor length operand (small, raw, 0, near 2^32, x16). */
uint32_t fz_len(struct fz_in *in);

/* ---- the op language (fuzz_split, fuzz_packed, fuzz_indirect) ------------ */

/*
 * Header byte 0 (FZ_M_*), then the format-specific header, then ops: one
 * opcode byte (taken modulo FZ_OP__PLAIN, or FZ_OP__COUNT with FZ_X_MISUSE)
 * followed by its operands.  The full grammar is in fuzz/README.md;
 * corpus/gen/gen_corpus.c is its encoder.
 */
#define FZ_M_INDIRECT 0x01 /* negotiate VIRTIO_RING_F_INDIRECT_DESC (fuzz_indirect: inverted) */
#define FZ_M_EVENT_IDX 0x02 /* negotiate VIRTIO_RING_F_EVENT_IDX */
#define FZ_M_DF_POST 0x04   /* double fetch: mutate read bytes after each pop, replay pop */
#define FZ_M_DF_TRAP 0x08   /* double fetch: mutate guest bytes between device loads
                             * (the *_df targets imply it, the others ignore it) */
#define FZ_M_TOUCH 0x10     /* read readable / write writable buffers like a device */
#define FZ_M_PACKED 0x20    /* fuzz_indirect only: packed ring instead of split */
#define FZ_M_EXT 0x40       /* an extension byte (FZ_X_*) follows the layout */
#define FZ_M_RAW 0x80       /* raw mode: the rest is guest RAM with rings at fixed offsets */

#define FZ_X_TAMPER 0x01 /* a cfg tamper op (u8 kind, u64 value) follows */
#define FZ_X_HUGE 0x02   /* add the > 4 GiB region */
#define FZ_X_LOG 0x04    /* dirty logging on: u8 bitmap size (64 B units - 1) follows */
/* The API-misuse ops FZ_OP_STOPPED and FZ_OP_BAD_CHAIN exist (opcodes modulo
 * FZ_OP__COUNT instead of FZ_OP__PLAIN).  Behind a header bit so that no
 * input written before them changes meaning; not 0x08, which a checked-in
 * reproducer happens to carry. */
#define FZ_X_MISUSE 0x10

enum fz_op {
	FZ_OP_POST,       /* u8 shape, u8 tweak, per buffer: u8 len, u8 place */
	FZ_OP_DESC,       /* u16 idx, addr, len, u16 flags, u16 next/id */
	FZ_OP_AVAIL_IDX,  /* u16 idx            (split) */
	FZ_OP_AVAIL_ENT,  /* u16 pos, u16 head  (split) */
	FZ_OP_FLAGS,      /* u16 slot, u16 flags: descriptor flags word only */
	FZ_OP_FLIP,       /* u32 offset, u8 xor: any guest byte except device-only areas */
	FZ_OP_POP,        /* pop one chain */
	FZ_OP_PUSH,       /* u8 which, u8 len-mode [u32] */
	FZ_OP_FLUSH,      /* publish, signal if asked */
	FZ_OP_ENABLE,     /* vq_enable_notify */
	FZ_OP_DISABLE,    /* vq_disable_notify */
	FZ_OP_HAS_WORK,   /* vq_has_work */
	FZ_OP_RESTART,    /* u8 mode [u16 value]: vq_stop + vq_start */
	FZ_OP_EVENT,      /* u8 which, u16 value: driver suppression fields */
	FZ_OP_ITAB,       /* u8 table, u8 idx, addr, len, u16 flags, u16 next */
	FZ_OP_DRAIN,      /* the device loop of core/virtq.h, bounded */
	FZ_OP_PUSH_BOGUS, /* u8 kind: complete a chain that is not in flight */
	FZ_OP_UNPOP,      /* give back the most recently popped chain (vq_unpop) */
	FZ_OP_STOPPED,    /* FZ_X_MISUSE: stop, call everything on the stopped queue, restart */
	FZ_OP_BAD_CHAIN,  /* FZ_X_MISUSE: u8 kind, u16: vq_unpop/vq_push of a chain never popped */
	FZ_OP__COUNT
};
#define FZ_OP__PLAIN FZ_OP_STOPPED /* opcode modulus without FZ_X_MISUSE */

/* FZ_OP_POST shape byte */
#define FZ_SH_NOUT(s) ((s) & 3u)
#define FZ_SH_NIN(s) (((s) >> 2) & 3u)
#define FZ_SH_INDIRECT 0x10 /* buffers go into an indirect table (fuzz_indirect: inverted) */
#define FZ_SH_PREFIX 0x20   /* with INDIRECT: one direct readable buffer before the table */
#define FZ_SH_CROSS 0x40    /* first buffer straddles the end of a data chunk */
#define FZ_SH_HOLD 0x80     /* write the chain but do not make it available yet */

/* FZ_OP_POST tweak byte (value % FZ_TW__COUNT): at most one defect per chain */
enum fz_tweak {
	FZ_TW_NONE,
	FZ_TW_LOOP,        /* split: last descriptor chains back to the head; packed: NEXT on last */
	FZ_TW_NEXT_RANGE,  /* next index outside the ring / table */
	FZ_TW_ORDER,       /* readable buffer after a writable one */
	FZ_TW_HOLE,        /* a buffer outside guest RAM */
	FZ_TW_WRAP,        /* a buffer whose addr + len wraps 2^64 */
	FZ_TW_TOO_BIG,     /* chain total >= 2^32 (needs FZ_X_HUGE) */
	FZ_TW_IOV_CAP,     /* more buffers than the iovec capacity */
	FZ_TW_IND_NESTED,  /* INDIRECT inside the table */
	FZ_TW_IND_NEXT,    /* INDIRECT together with NEXT */
	FZ_TW_IND_LEN_ODD, /* table length not a multiple of 16 */
	FZ_TW_IND_LEN_0,   /* table length 0 */
	FZ_TW_IND_SIZE,    /* table longer than the queue size */
	FZ_TW_IND_HOLE,    /* table outside guest RAM */
	FZ_TW_IND_CROSS,   /* table straddling the end of a data chunk */
	FZ_TW_IND_WRITE,   /* WRITE flag on the pointing descriptor (must be ignored) */
	FZ_TW_ZERO_LEN,    /* one zero-length buffer (valid) */
	FZ_TW_OVERRUN,     /* split: avail idx jumps by size + 1 */
	FZ_TW_HEAD_RANGE,  /* split: avail entry >= size; packed: buffer id >= size */
	FZ_TW_DUP,         /* head / buffer id that is already in flight */
	FZ_TW_LONG,        /* more descriptors than the queue size (table + prefix) */
	FZ_TW__COUNT
};

/* FZ_OP_RESTART mode byte (value % 4) */
enum fz_restart {
	FZ_RS_SAME,   /* restart with the saved state */
	FZ_RS_TAMPER, /* u16: restart with a corrupted state (split: used idx in ring) */
	FZ_RS_FRESH,  /* zero the rings, restart from the initial state (device reset) */
	FZ_RS_TWICE,  /* vq_start on a running queue must fail with -EBUSY */
};

/* FZ_OP_PUSH len-mode byte (value % 5) */
enum fz_pushlen {
	FZ_PL_FULL,  /* in_bytes */
	FZ_PL_ZERO,
	FZ_PL_OVER,  /* in_bytes + 1: must be clamped */
	FZ_PL_RAW,   /* u32 follows */
	FZ_PL_HALF,
};

/* Raw-mode fixed layout (one region at GPA 0, see fuzz/README.md). */
#define FZ_RAW_DESC 0x0000u
#define FZ_RAW_DRIVER 0x1000u /* split avail / packed driver event */
#define FZ_RAW_DEVICE 0x1400u /* split used / packed device event */
#define FZ_RAW_RING_BYTES 0x2000u
#define FZ_RAW_MAX_SIZE 256u

#endif /* VHOSTILE_FUZZ_FZ_H */
