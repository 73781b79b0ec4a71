/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compiler.h - attributes, barriers and guest-shared memory accessors.
 *
 * Guest memory is shared with a hostile party that may change it at any time.
 * Every load from it goes through vh_load*() (one relaxed atomic load, never
 * rematerialised by the compiler), every store through vh_store*().  Ordering is
 * explicit with the vh_*_fence() helpers; each use says what it pairs with.
 */
#ifndef VHOSTILE_CORE_COMPILER_H
#define VHOSTILE_CORE_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VH_MUST_CHECK __attribute__((warn_unused_result))
#define VH_COLD __attribute__((cold))
#define VH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define vh_likely(x) __builtin_expect(!!(x), 1)
#define vh_unlikely(x) __builtin_expect(!!(x), 0)
#define VH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Loads/stores of guest-shared memory: single access, no tearing for aligned
 * naturally-sized fields, never duplicated or elided by the compiler. */
#define vh_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define vh_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define vh_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define vh_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Orders earlier loads before later loads and stores (read side of a publish). */
static inline void vh_acquire_fence(void)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* Orders earlier loads and stores before later stores (publish). */
static inline void vh_release_fence(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Full fence: orders earlier stores before later loads (store-load), needed
 * whenever we publish something and then read the other side's reaction. */
static inline void vh_full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif /* VHOSTILE_CORE_COMPILER_H */
