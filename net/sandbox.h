/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.h - confine vhostile-net after set-up.
 *
 * Order: everything that needs privileges (TAP open, socket bind, worker
 * threads) happens first; then sandbox_enter() drops to --user, sets
 * no_new_privs and installs the seccomp allow-list for the whole process
 * (all threads, TSYNC).  SECURITY.md lists the allowed syscalls and why.
 */
#ifndef VHOSTILE_NET_SANDBOX_H
#define VHOSTILE_NET_SANDBOX_H

#include <stdbool.h>

#include "core/compiler.h"

/**
 * sandbox_enter() - drop privileges and install the syscall allow-list.
 * @user: user name to switch to (NULL: stay)
 * @seccomp: install the filter
 *
 * Return: 0 or -errno (the caller exits: never run half-confined).
 */
VH_MUST_CHECK int sandbox_enter(const char *user, bool seccomp);

#endif /* VHOSTILE_NET_SANDBOX_H */
