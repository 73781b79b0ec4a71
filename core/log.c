// SPDX-License-Identifier: Apache-2.0
/*
 * log.c - leveled logging to stderr, one line per call (single write).
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum vh_log_level log_level = VH_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void vh_log_set_level(enum vh_log_level l)
{
	log_level = l;
}

enum vh_log_level vh_log_get_level(void)
{
	return log_level;
}

int vh_log_parse_level(const char *s, enum vh_log_level *out)
{
	for (unsigned i = 0; i < VH_ARRAY_SIZE(level_names); i++) {
		if (!strcmp(s, level_names[i]) || (s[0] == (char)('0' + i) && !s[1])) {
			*out = (enum vh_log_level)i;
			return 0;
		}
	}
	if (!strcmp(s, "warning")) {
		*out = VH_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void vh_log(enum vh_log_level l, const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	va_list ap;
	int n, m;
	ssize_t r;

	if (l > log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "vhostile: %ld.%03ld %s: ", (long)ts.tv_sec,
		     ts.tv_nsec / 1000000, level_names[l]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	r = write(STDERR_FILENO, line, (size_t)n);
	(void)r;
}

bool vh_ratelimit_ok(struct vh_ratelimit *rl, unsigned burst)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec != rl->sec) {
		rl->sec = ts.tv_sec;
		rl->count = 0;
	}
	return rl->count++ < burst;
}
