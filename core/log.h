/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - leveled, rate-limited logging to stderr.
 *
 * The level is process configuration set once at start-up, the one piece of
 * mutable module state (like passt's log.c).  Guest- or frontend-supplied
 * bytes are never printed raw: callers print numbers.
 */
#ifndef VHOSTILE_CORE_LOG_H
#define VHOSTILE_CORE_LOG_H

#include "core/compiler.h"

enum vh_log_level {
	VH_LOG_ERR,
	VH_LOG_WARN,
	VH_LOG_INFO,
	VH_LOG_DEBUG,
};

void vh_log_set_level(enum vh_log_level l);
enum vh_log_level vh_log_get_level(void);

/**
 * vh_log_parse_level() - "error", "warn", "info", "debug" (or 0-3).
 * @s: text
 * @out: result
 *
 * Return: 0 or -EINVAL.
 */
VH_MUST_CHECK int vh_log_parse_level(const char *s, enum vh_log_level *out);

void vh_log(enum vh_log_level l, const char *fmt, ...) VH_PRINTF(2, 3);

#define vh_err(...) vh_log(VH_LOG_ERR, __VA_ARGS__)
#define vh_warn(...) vh_log(VH_LOG_WARN, __VA_ARGS__)
#define vh_info(...) vh_log(VH_LOG_INFO, __VA_ARGS__)
#define vh_dbg(...) vh_log(VH_LOG_DEBUG, __VA_ARGS__)

/**
 * struct vh_ratelimit - at most @burst messages per second per site.
 */
struct vh_ratelimit {
	long sec;
	unsigned count;
};

/**
 * vh_ratelimit_ok() - may this site log now?
 * @rl: per-site state (embed in the object that logs)
 * @burst: messages allowed per second
 *
 * Return: true if the message should be printed.
 */
bool vh_ratelimit_ok(struct vh_ratelimit *rl, unsigned burst);

#endif /* VHOSTILE_CORE_LOG_H */
