// SPDX-License-Identifier: Apache-2.0
/*
 * test_tap.c - TAP backend, its socket twin and the null backend (net/tap.c,
 * net/backend.c).
 *
 * The real-TAP test needs root and /dev/net/tun; it runs in a forked child
 * inside a private network namespace (nothing leaks to the host) and is
 * skipped otherwise.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/nettest.h"

static void test_tap_socket_roundtrip_and_error_mapping(void **state)
{
	struct net_backend be;
	uint8_t out[64], in[64];
	struct iovec v = { in, sizeof(in) };
	struct iovec o[2] = { { out, 10 }, { out + 10, 20 } };
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(tap_adopt_socket(&be, sv[0], NET_OFF_CSUM), 0);
	assert_int_equal(be.offloads, NET_OFF_CSUM);
	assert_int_equal(be.offload_refused, NET_OFF_ALL & ~NET_OFF_CSUM);
	assert_true(fcntl(be.fd, F_GETFL) & O_NONBLOCK);

	/* nothing queued: -EAGAIN, distinct from errors and EOF */
	assert_int_equal(net_be_readv(&be, &v, 1), -EAGAIN);
	memset(out, 7, sizeof(out));
	assert_int_equal(net_be_writev(&be, o, 2), 30);
	assert_int_equal(recv(sv[1], in, sizeof(in), 0), 30);
	assert_int_equal(send(sv[1], out, 25, 0), 25);
	assert_int_equal(net_be_readv(&be, &v, 1), 25);
	/* ioctls are no-ops for the twin; offloads outside the mask refused */
	assert_int_equal(net_be_set_vnet_hdr_len(&be, 10), 0);
	assert_int_equal(be.vnet_hdr_len, 10);
	assert_int_equal(net_be_set_offload(&be, NET_OFF_CSUM), 0);
	assert_int_equal(net_be_set_offload(&be, NET_OFF_TSO4), -EOPNOTSUPP);
	/* EOF */
	close(sv[1]);
	assert_int_equal(net_be_readv(&be, &v, 1), 0);
	assert_true(net_be_writev(&be, o, 2) < 0);
	net_be_close(&be);
	assert_int_equal(be.fd, -1);
	net_be_close(&be); /* twice is harmless */
}

static void test_tap_adopt_rejects_non_tap(void **state)
{
	struct net_backend be;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tap_adopt(&be, p[0]), -ENOTTY);
	/* still ours on failure */
	assert_int_equal(fcntl(p[0], F_GETFD) >= 0, 1);
	close(p[0]);
	close(p[1]);
}

static void test_null_backend(void **state)
{
	struct net_backend be;
	uint8_t b[100];
	struct iovec v[2] = { { b, 40 }, { b + 40, 60 } };

	(void)state;
	net_null_init(&be);
	assert_int_equal(be.fd, -1);
	assert_int_equal(be.offloads, NET_OFF_ALL);
	assert_int_equal(net_be_writev(&be, v, 2), 100);
	assert_int_equal(net_be_readv(&be, v, 2), -EAGAIN);
	assert_int_equal(net_be_set_vnet_hdr_len(&be, 12), 0);
	assert_int_equal(net_be_set_offload(&be, NET_OFF_ALL), 0);
	net_be_close(&be);
}

static void test_tap_offload_names(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(tap_offload_names(0, buf, sizeof(buf)), "none");
	assert_string_equal(tap_offload_names(NET_OFF_ALL, buf, sizeof(buf)),
			    "csum,tso4,tso6,ecn,ufo");
	assert_string_equal(tap_offload_names(NET_OFF_TSO6 | NET_OFF_UFO, buf, sizeof(buf)),
			    "tso6,ufo");
	tap_offload_names(NET_OFF_ALL, buf, 6);
	assert_true(strlen(buf) < 6);
}

/* Runs in the child, inside its own network namespace. */
static int real_tap_child(void)
{
	struct net_backend a, b, c;
	int fd;

	if (unshare(CLONE_NEWNET))
		return 10;
	if (tap_open(&a, "vhtest%d"))
		return 11;
	if (strncmp(a.ifname, "vhtest", 6) || a.fd < 0)
		return 12;
	if (!(fcntl(a.fd, F_GETFL) & O_NONBLOCK) || !(fcntl(a.fd, F_GETFD) & FD_CLOEXEC))
		return 13;
	if (!(a.offloads & NET_OFF_CSUM))
		return 14;
	/* one more queue of the same interface (IFF_MULTI_QUEUE) */
	if (tap_open(&b, a.ifname) || strcmp(a.ifname, b.ifname))
		return 15;
	if (net_be_set_vnet_hdr_len(&a, 10) || net_be_set_vnet_hdr_len(&a, 12))
		return 16;
	if (net_be_set_offload(&a, a.offloads & (NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6)))
		return 17;
	if (net_be_set_offload(&a, 0))
		return 18;
	/* nothing to read on a fresh TAP: -EAGAIN, never a block */
	{
		uint8_t buf[2048];
		struct iovec v = { buf, sizeof(buf) };

		if (net_be_readv(&a, &v, 1) != -EAGAIN)
			return 19;
	}
	/* adopt a pre-opened queue fd */
	fd = dup(b.fd);
	if (fd < 0 || tap_adopt(&c, fd) || strcmp(c.ifname, a.ifname))
		return 20;
	net_be_close(&c);
	net_be_close(&b);
	net_be_close(&a);
	return 0;
}

static void test_tap_open_real_in_netns(void **state)
{
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0 || stat("/dev/net/tun", &st))
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(real_tap_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10)
		skip(); /* no CAP_SYS_ADMIN for namespaces (container) */
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_socket_roundtrip_and_error_mapping),
		cmocka_unit_test(test_tap_adopt_rejects_non_tap),
		cmocka_unit_test(test_null_backend),
		cmocka_unit_test(test_tap_offload_names),
		cmocka_unit_test(test_tap_open_real_in_netns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
