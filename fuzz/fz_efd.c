// SPDX-License-Identifier: Apache-2.0
/*
 * fz_efd.c - the queue engine's eventfds, counted in memory.
 *
 * The core signals the driver (call) and the frontend (error) by writing an
 * 8-byte 1 to an eventfd (core/virtq.c).  Through the kernel that cost the
 * queue targets about twelve system calls per input: the device's writes and
 * the harness's reads after every flush, pop of a broken queue and run start
 * (strace of a split campaign), each a couple of microseconds on this VM.
 * Every fuzz binary is linked with -Wl,--wrap=write (fuzz/CMakeLists.txt):
 * a write to one of the two registered descriptors (real eventfds, so the
 * numbers are the core's to use and no other file has them) is applied to a
 * counter with the kernel's eventfd rules, anything else goes to the real
 * write().  fz_efd_read() is a non-blocking read(2) of such a descriptor.
 * The core, its write() call and its arguments are unchanged; an argument
 * the kernel would refuse (fewer than 8 bytes, value 2^64-1) is refused too,
 * so a signal the kernel would drop is dropped and reported as missing.
 */
#include "fuzz/fz.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

#define FZ_EFD_MAX UINT64_C(0xfffffffffffffffe) /* an eventfd counter's ceiling */

static int efd_fd[2] = { -1, -1 };
static uint64_t efd_cnt[2];

static int efd_slot(int fd)
{
	for (int i = 0; i < 2; i++)
		if (fd >= 0 && efd_fd[i] == fd)
			return i;
	return -1;
}

void fz_efd_register(int call_fd, int err_fd)
{
	efd_fd[0] = call_fd;
	efd_fd[1] = err_fd;
	efd_cnt[0] = efd_cnt[1] = 0;
}

ssize_t fz_efd_read(int fd, uint64_t *cnt)
{
	int i = efd_slot(fd);

	if (i < 0)
		return read(fd, cnt, sizeof(*cnt));
	if (efd_cnt[i] == 0) {
		errno = EAGAIN;
		return -1;
	}
	*cnt = efd_cnt[i];
	efd_cnt[i] = 0;
	return (ssize_t)sizeof(*cnt);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	int i = efd_slot(fd);
	uint64_t v;

	if (i < 0)
		return __real_write(fd, buf, n);
	if (!buf) {
		errno = EFAULT;
		return -1;
	}
	if (n < sizeof(v)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&v, buf, sizeof(v));
	if (v == UINT64_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (v > FZ_EFD_MAX - efd_cnt[i]) {
		errno = EAGAIN; /* non-blocking eventfd, counter full */
		return -1;
	}
	efd_cnt[i] += v;
	return (ssize_t)sizeof(v);
}
