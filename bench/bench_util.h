/* SPDX-License-Identifier: Apache-2.0 */
/* bench_util.h - small helpers shared by the benchmark tools. */
#ifndef VHOSTILE_BENCH_UTIL_H
#define VHOSTILE_BENCH_UTIL_H

#include <time.h>

/* Monotonic time in seconds. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif /* VHOSTILE_BENCH_UTIL_H */
