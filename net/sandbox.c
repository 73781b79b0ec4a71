// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox.c - privilege drop and the one seccomp allow-list (passt style:
 * the list lives next to the code, and each entry says who needs it).
 *
 * The filter kills the whole process on any other syscall: a compromised
 * device cannot open files, exec, fork, create sockets of other families or
 * change memory protections to executable.
 */
#include "net/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

/* Allowed without argument filtering. */
static const int allow[] = {
	/* data path: eventfds, TAP, vhost-user socket */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	/* worker and control loops */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_create1), SCMP_SYS(eventfd2), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(close), SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx),
	/* vhost-user: accept the next frontend, reconnect as client */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(connect), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockopt),
	/* SET_MEM_TABLE / SET_LOG_BASE map the frontend's fds (PROT_EXEC denied below) */
	SCMP_SYS(munmap), SCMP_SYS(madvise),
	/* threads: mailbox waits, timers, signals, exit */
	SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(signalfd4), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield),
	/* glibc internals on this path (stdio buffers, thread stacks on exit) */
	SCMP_SYS(brk), SCMP_SYS(getrandom), SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
};

static int drop_user(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		vh_err("--user %s: no such user", user);
		return -ENOENT;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		int e = errno;

		vh_err("--user %s: cannot switch: %s", user, strerror(e));
		return -e;
	}
	if (setuid(0) == 0) { /* must be irreversible */
		vh_err("--user %s: privileges could be regained", user);
		return -EPERM;
	}
	return 0;
}

static int install_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < VH_ARRAY_SIZE(allow) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0);
	/* mmap/mprotect: never executable memory */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* ioctl: only the TAP settings that follow feature negotiation */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, TUNSETOFFLOAD, 0));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, TUNSETVNETHDRSZ, 0));
	/* ioctl FIONREAD: is a whole vhost-user message queued (net/main.c) */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0));
	/* socket(): only AF_UNIX, for --client reconnects */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int sandbox_enter(const char *user, bool seccomp)
{
	int r;

	if (user) {
		r = drop_user(user);
		if (r)
			return r;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return -errno;
	if (!seccomp)
		return 0;
	r = install_filter();
	if (r) {
		vh_err("seccomp filter not installed: %s", strerror(-r));
		return r;
	}
	vh_info("sandbox: no_new_privs, seccomp allow-list of %zu syscalls installed",
		VH_ARRAY_SIZE(allow) + 4);
	return 0;
}
