// SPDX-License-Identifier: Apache-2.0
/*
 * core_bench.c - in-process virtqueue benchmark (numbers, not a test).
 *
 * A minimal driver in the same thread posts chains into split or packed rings
 * in one guest-memory region; the device side is the real core (vq_pop,
 * vq_push, vq_flush, notify decisions).  Each case runs for a fixed time and
 * prints chains/s and ns/chain for the whole driver+device round trip, plus a
 * memcpy bandwidth reference measured in the same run so results from
 * different machines can be compared as ratios.  Batch = chains the driver
 * posts before the device pops, pushes and flushes them (one used-index
 * publish and one notify decision per batch): 1, 8, 32 and 128.
 *
 *   vh_core_bench [seconds-per-case]     (default 0.3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/virtq.h"
#include "bench/bench_util.h"

#define QSIZE 256
#define RAM_SIZE (4u << 20)
#define DESC_GPA 0x1000
#define DRIVER_GPA 0x3000
#define DEVICE_GPA 0x4000
#define IND_GPA 0x10000  /* indirect tables, one per slot */
#define BUF_GPA 0x100000 /* data buffers */
#define BUF_LEN 1536

enum shape { ONE_DESC, TWO_DESC, INDIRECT };

static const char *const shape_name[] = { "1-desc", "2-desc", "indirect(2)" };

struct bench {
	uint8_t *ram;
	struct gmem gm;
	struct vq vq;
	enum vq_fmt fmt;
	enum shape shape;
	/* driver side */
	uint16_t avail_idx;  /* split: free-running; packed: slot */
	uint16_t used_seen;  /* split: free-running; packed: slot */
	bool avail_wrap, used_wrap;
	unsigned outstanding;
	unsigned long signals; /* flushes where the driver wanted a signal */
};

static void *gpa(struct bench *b, uint64_t a)
{
	return b->ram + a;
}

/* Fill descriptor(s) for slot/head @i; returns descriptors used in the ring. */
static unsigned fill_split(struct bench *b, uint16_t head)
{
	struct vring_desc *d = gpa(b, DESC_GPA);
	uint64_t buf = BUF_GPA + (uint64_t)head * BUF_LEN;

	switch (b->shape) {
	case ONE_DESC:
		d[head] = (struct vring_desc){ buf, BUF_LEN, 0, 0 };
		break;
	case TWO_DESC: /* heads are even, tails odd: QSIZE/2 chains in flight */
		d[head] = (struct vring_desc){ buf, 12, VRING_DESC_F_NEXT, (uint16_t)(head + 1) };
		d[head + 1] = (struct vring_desc){ buf + 12, BUF_LEN - 12, 0, 0 };
		break;
	case INDIRECT: {
		struct vring_desc *t = gpa(b, IND_GPA + (uint64_t)head * 32);

		t[0] = (struct vring_desc){ buf, 12, VRING_DESC_F_NEXT, 1 };
		t[1] = (struct vring_desc){ buf + 12, BUF_LEN - 12, 0, 0 };
		d[head] = (struct vring_desc){ IND_GPA + (uint64_t)head * 32, 32,
					       VRING_DESC_F_INDIRECT, 0 };
		break;
	}
	}
	return b->shape == TWO_DESC ? 2 : 1;
}

static void post_split(struct bench *b, unsigned n)
{
	struct vring_avail *a = gpa(b, DRIVER_GPA);
	unsigned step = b->shape == TWO_DESC ? 2 : 1;

	for (unsigned k = 0; k < n; k++) {
		uint16_t head = (uint16_t)((b->avail_idx * step) % QSIZE);

		fill_split(b, head);
		a->ring[b->avail_idx % QSIZE] = head;
		b->avail_idx++;
	}
	__atomic_store_n(&a->idx, b->avail_idx, __ATOMIC_RELEASE);
	b->outstanding += n;
}

static unsigned reap_split(struct bench *b)
{
	struct vring_used *u = gpa(b, DEVICE_GPA);
	uint16_t idx = __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
	unsigned n = (uint16_t)(idx - b->used_seen);

	b->used_seen = idx;
	b->outstanding -= n;
	return n;
}

static void post_packed(struct bench *b, unsigned n)
{
	struct vring_packed_desc *d = gpa(b, DESC_GPA);

	for (unsigned k = 0; k < n; k++) {
		uint16_t first = b->avail_idx, first_flags = 0;
		unsigned ndesc = b->shape == TWO_DESC ? 2 : 1;
		uint16_t id = first;

		for (unsigned j = 0; j < ndesc; j++) {
			uint16_t s = b->avail_idx;
			uint64_t buf = BUF_GPA + (uint64_t)id * BUF_LEN;
			uint16_t f = b->avail_wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;

			if (b->shape == INDIRECT) {
				struct vring_desc *t = gpa(b, IND_GPA + (uint64_t)id * 32);

				t[0] = (struct vring_desc){ buf, 12, 0, 0 };
				t[1] = (struct vring_desc){ buf + 12, BUF_LEN - 12, 0, 0 };
				d[s].addr = IND_GPA + (uint64_t)id * 32;
				d[s].len = 32;
				f |= VRING_DESC_F_INDIRECT;
			} else if (ndesc == 2) {
				d[s].addr = j ? buf + 12 : buf;
				d[s].len = j ? BUF_LEN - 12 : 12;
				if (!j)
					f |= VRING_DESC_F_NEXT;
			} else {
				d[s].addr = buf;
				d[s].len = BUF_LEN;
			}
			d[s].id = id;
			if (j == 0)
				first_flags = f;
			else
				d[s].flags = f;
			if (++b->avail_idx == QSIZE) {
				b->avail_idx = 0;
				b->avail_wrap = !b->avail_wrap;
			}
		}
		/* head made available last (2.8.21) */
		__atomic_store_n(&d[first].flags, first_flags, __ATOMIC_RELEASE);
	}
	b->outstanding += n;
}

static unsigned reap_packed(struct bench *b)
{
	struct vring_packed_desc *d = gpa(b, DESC_GPA);
	unsigned n = 0, ndesc = b->shape == TWO_DESC ? 2 : 1;

	for (;;) {
		uint16_t f = __atomic_load_n(&d[b->used_seen].flags, __ATOMIC_ACQUIRE);
		bool a = f & VRING_PACKED_DESC_F_AVAIL, u = f & VRING_PACKED_DESC_F_USED;

		if (a != b->used_wrap || u != b->used_wrap)
			break;
		b->used_seen = (uint16_t)(b->used_seen + ndesc);
		if (b->used_seen >= QSIZE) {
			b->used_seen = (uint16_t)(b->used_seen - QSIZE);
			b->used_wrap = !b->used_wrap;
		}
		n++;
	}
	b->outstanding -= n;
	return n;
}

static int setup(struct bench *b, enum vq_fmt fmt, enum shape shape)
{
	struct gmem_region r = { .gpa = 0, .size = RAM_SIZE, .uaddr = 0x7f0000000000ULL };
	struct vq_cfg cfg = {
		.fmt = fmt, .size = QSIZE, .desc = DESC_GPA, .driver = DRIVER_GPA,
		.device = DEVICE_GPA, .call_fd = -1, .err_fd = -1,
		.features = VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			    VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX),
		.base = { .avail_wrap = true, .used_wrap = true },
	};

	memset(b->ram, 0, RAM_SIZE);
	r.hva = b->ram;
	b->fmt = fmt;
	b->shape = shape;
	b->avail_idx = b->used_seen = 0;
	b->avail_wrap = b->used_wrap = true;
	b->outstanding = 0;
	b->signals = 0;
	gmem_init(&b->gm);
	if (gmem_install(&b->gm, &r, 1))
		return -1;
	vq_init(&b->vq);
	return vq_start(&b->vq, &b->gm, &cfg);
}

/* One case: returns chains/s; *bad counts unexpected pop results. */
static double run_case(struct bench *b, enum vq_fmt fmt, enum shape shape, unsigned batch,
		       double secs, unsigned long *bad)
{
	struct iovec iov[8];
	struct vq_chain c;
	unsigned long chains = 0;
	unsigned cap = shape == TWO_DESC ? QSIZE / 2 : QSIZE;
	double t0, t;

	if (setup(b, fmt, shape)) {
		fprintf(stderr, "setup failed\n");
		exit(1);
	}
	if (batch > cap)
		batch = cap;
	vq_chain_init(&c, iov, 8);
	t0 = bench_now();
	do {
		for (int rep = 0; rep < 64; rep++) {
			if (fmt == VQ_FMT_SPLIT)
				post_split(b, batch);
			else
				post_packed(b, batch);
			for (unsigned k = 0; k < batch; k++) {
				if (vq_pop(&b->vq, &c) != VQ_OK || vq_push(&b->vq, &c, 0)) {
					(*bad)++;
					continue;
				}
			}
			if (vq_flush(&b->vq))
				b->signals++;
			chains += fmt == VQ_FMT_SPLIT ? reap_split(b) : reap_packed(b);
		}
		t = bench_now() - t0;
	} while (t < secs);
	vq_stop(&b->vq, NULL);
	return chains / t;
}

static double memcpy_gbps(uint8_t *ram, double secs)
{
	size_t len = 1536;
	unsigned long n = 0;
	uint8_t *src = ram, *dst = ram + (2u << 20);
	double t0 = bench_now(), t;

	do {
		for (int i = 0; i < 4096; i++) {
			memcpy(dst + (i % 512) * len, src + (i % 512) * len, len);
			__asm__ volatile("" ::"r"(dst) : "memory");
		}
		n += 4096;
		t = bench_now() - t0;
	} while (t < secs);
	return n * len * 8.0 / t / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	static const unsigned batches[] = { 1, 8, 32, 128 };
	struct bench b;
	unsigned long bad = 0;
	double ref;

	if (secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: %s [seconds-per-case (0-60]]\n", argv[0]);
		return 2;
	}
	b.ram = aligned_alloc(4096, RAM_SIZE);
	if (!b.ram)
		return 1;
	ref = memcpy_gbps(b.ram, secs);
	printf("vhostile core benchmark: queue size %u, %.2fs per case, driver+device in one thread\n",
	       QSIZE, secs);
	printf("reference: memcpy 1536 B chunks %.1f Gbit/s (%.1f ns per 1536 B copy)\n", ref,
	       1536 * 8.0 / ref);
	printf("%-7s %-12s %5s %14s %10s %16s\n", "ring", "shape", "batch", "chains/s", "ns/chain",
	       "chains per copy");
	for (int f = 0; f < 2; f++) {
		for (int s = 0; s < 3; s++) {
			for (unsigned k = 0; k < VH_ARRAY_SIZE(batches); k++) {
				double cps = run_case(&b, f ? VQ_FMT_PACKED : VQ_FMT_SPLIT, (enum shape)s,
						      batches[k], secs, &bad);
				double ns = 1e9 / cps;

				printf("%-7s %-12s %5u %14.0f %10.1f %16.2f\n", f ? "packed" : "split",
				       shape_name[s], batches[k], cps, ns, (1536 * 8.0 / ref) / ns);
			}
		}
	}
	free(b.ram);
	if (bad) {
		fprintf(stderr, "unexpected pop/push results: %lu\n", bad);
		return 1;
	}
	return 0;
}
