// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - command line parsing for vhostile-net.
 *
 * Every value is range-checked here so that the rest of the program can trust
 * its configuration; errors name the option and the value.
 */
#include "net/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/backend.h"

void vnet_config_defaults(struct vnet_config *c)
{
	memset(c, 0, sizeof(*c));
	c->socket_path = "/tmp/vhostile-net.sock";
	c->listen_fd = -1;
	c->reconnect_ms = 1000;
	c->backend = CFG_BACKEND_TAP;
	c->tap_name = "vhostile%d";
	c->queue_pairs = 1;
	c->queue_size = 1024;
	/* locally administered, unicast; QEMU normally supplies the MAC */
	memcpy(c->mac, (const uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	c->offloads = NET_OFF_ALL;
	c->log_level = VH_LOG_INFO;
	c->sandbox = true;
}

void vnet_config_usage(const char *prog)
{
	printf("Usage: %s [OPTIONS]\n"
	       "vhost-user virtio-net backend on a TAP device; all guest memory is hostile.\n"
	       "\n"
	       "Connection (one of):\n"
	       "  --socket-path PATH      listen on PATH (default /tmp/vhostile-net.sock)\n"
	       "  --fd N                  use the inherited listening or connected socket N\n"
	       "                          (systemd socket activation via LISTEN_FDS also works)\n"
	       "  --client                connect to PATH instead of listening\n"
	       "  --reconnect-ms MS       with --client: retry period (default 1000, 0 = no retry)\n"
	       "  --keep-listening        serve the next frontend after a disconnect\n"
	       "Backend:\n"
	       "  --tap NAME              TAP interface to create/attach (default vhostile%%d)\n"
	       "  --tap-fd FD[,FD...]     pre-opened TAP queue fds, one per queue pair\n"
	       "  --backend tap|null      null discards TX (benchmarks); default tap\n"
	       "Device:\n"
	       "  --queue-pairs N         1..%d (default 1)\n"
	       "  --queue-size N          largest ring accepted, power of two 64..32768 (default 1024)\n"
	       "  --mac XX:XX:XX:XX:XX:XX MAC in config space (default 52:54:00:12:34:56)\n"
	       "  --mtu N                 advertise MTU N (68..65535) to the guest\n"
	       "  --offloads LIST|all|none  csum,tso4,tso6,ecn,ufo the guest may use (default all)\n"
	       "  --disable LIST          packed,event-idx,indirect,mrg-rxbuf,mq\n"
	       "Process:\n"
	       "  --log-level LEVEL       error, warn, info, debug (default info)\n"
	       "  --stats-interval S      print per-queue stats as JSON every S seconds\n"
	       "                          (also on SIGUSR1)\n"
	       "  --user NAME             drop to this user after set-up\n"
	       "  --no-sandbox            do not install the seccomp allow-list\n"
	       "  --print-capabilities    print capabilities as JSON and exit\n"
	       "  --help, --version\n"
	       "\n"
	       "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
	       prog, VNET_MAX_QUEUE_PAIRS);
}

static int fail(char *err, size_t len, const char *fmt, ...) VH_PRINTF(3, 4);

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Unsigned decimal in [lo, hi]; no sign, no trailing junk. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1) /* multicast MAC cannot be a station address */
		return -EINVAL;
	return 0;
}

struct name_bit {
	const char *name;
	unsigned bit;
};

static const struct name_bit offload_names[] = {
	{ "csum", NET_OFF_CSUM }, { "tso4", NET_OFF_TSO4 }, { "tso6", NET_OFF_TSO6 },
	{ "ecn", NET_OFF_ECN },   { "ufo", NET_OFF_UFO },
};

static const struct name_bit disable_names[] = {
	{ "packed", CFG_DIS_PACKED },       { "event-idx", CFG_DIS_EVENT_IDX },
	{ "indirect", CFG_DIS_INDIRECT },   { "mrg-rxbuf", CFG_DIS_MRG_RXBUF },
	{ "mq", CFG_DIS_MQ },
};

/* Comma list of names into a bit mask; @bad gets the offending word. */
static int parse_list(const char *s, const struct name_bit *t, size_t n, unsigned *out,
		      char *bad, size_t badlen)
{
	unsigned mask = 0;

	while (*s) {
		size_t len = strcspn(s, ",");
		size_t i;

		for (i = 0; i < n; i++) {
			if (strlen(t[i].name) == len && !strncmp(s, t[i].name, len))
				break;
		}
		if (i == n) {
			snprintf(bad, badlen, "%.*s", (int)(len < 32 ? len : 32), s);
			return -EINVAL;
		}
		mask |= t[i].bit;
		s += len;
		if (*s == ',')
			s++;
	}
	*out = mask;
	return 0;
}

static int parse_tap_fds(struct vnet_config *c, const char *s)
{
	c->n_tap_fds = 0;
	while (*s) {
		unsigned long v;
		char num[16];
		size_t len = strcspn(s, ",");

		if (len == 0 || len >= sizeof(num) || c->n_tap_fds == VNET_MAX_QUEUE_PAIRS)
			return -EINVAL;
		memcpy(num, s, len);
		num[len] = 0;
		if (parse_uint(num, 0, 1u << 20, &v))
			return -EINVAL;
		c->tap_fds[c->n_tap_fds++] = (int)v;
		s += len;
		if (*s == ',')
			s++;
	}
	return c->n_tap_fds ? 0 : -EINVAL;
}

enum {
	OPT_SOCKET = 256, OPT_FD, OPT_CLIENT, OPT_RECONNECT, OPT_KEEP, OPT_TAP, OPT_TAP_FD,
	OPT_BACKEND, OPT_QP, OPT_QSIZE, OPT_MAC, OPT_MTU, OPT_OFFLOADS, OPT_DISABLE, OPT_LOG,
	OPT_STATS, OPT_USER, OPT_NO_SANDBOX, OPT_CAPS, OPT_HELP, OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "socket-path", required_argument, NULL, OPT_SOCKET },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "client", no_argument, NULL, OPT_CLIENT },
	{ "reconnect-ms", required_argument, NULL, OPT_RECONNECT },
	{ "keep-listening", no_argument, NULL, OPT_KEEP },
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "tap-fd", required_argument, NULL, OPT_TAP_FD },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "queue-pairs", required_argument, NULL, OPT_QP },
	{ "queue-size", required_argument, NULL, OPT_QSIZE },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "offloads", required_argument, NULL, OPT_OFFLOADS },
	{ "disable", required_argument, NULL, OPT_DISABLE },
	{ "log-level", required_argument, NULL, OPT_LOG },
	{ "stats-interval", required_argument, NULL, OPT_STATS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "print-capabilities", no_argument, NULL, OPT_CAPS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* systemd socket activation: LISTEN_PID == us, LISTEN_FDS == 1 -> fd 3. */
static int listen_fds_env(struct vnet_config *c, char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	unsigned long p, n;

	if (!pid || !fds)
		return 0;
	if (parse_uint(pid, 1, (unsigned long)INT32_MAX, &p) || (pid_t)p != getpid())
		return 0; /* meant for another process */
	if (parse_uint(fds, 0, 64, &n) || n != 1)
		return fail(err, errlen, "LISTEN_FDS=%s: exactly one socket expected", fds);
	if (c->listen_fd < 0)
		c->listen_fd = 3; /* SD_LISTEN_FDS_START */
	return 0;
}

int vnet_config_parse(struct vnet_config *c, int argc, char **argv, char *err, size_t errlen)
{
	bool have_socket = false, have_tap = false;
	unsigned long v;
	char bad[40];
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *a = optarg;

		switch (opt) {
		case OPT_SOCKET:
			if (!*a || strlen(a) >= 108)
				return fail(err, errlen, "--socket-path: empty or longer than 107");
			c->socket_path = a;
			have_socket = true;
			break;
		case OPT_FD:
			if (parse_uint(a, 0, 1u << 20, &v))
				return fail(err, errlen, "--fd %s: not a file descriptor number", a);
			c->listen_fd = (int)v;
			break;
		case OPT_CLIENT:
			c->client = true;
			break;
		case OPT_RECONNECT:
			if (parse_uint(a, 0, 3600000, &v))
				return fail(err, errlen, "--reconnect-ms %s: 0..3600000", a);
			c->reconnect_ms = (unsigned)v;
			break;
		case OPT_KEEP:
			c->keep_listening = true;
			break;
		case OPT_TAP:
			if (!*a || strlen(a) >= 16)
				return fail(err, errlen, "--tap %s: interface names are 1..15 chars", a);
			c->tap_name = a;
			have_tap = true;
			break;
		case OPT_TAP_FD:
			if (parse_tap_fds(c, a))
				return fail(err, errlen, "--tap-fd %s: comma list of up to %d fds", a,
					    VNET_MAX_QUEUE_PAIRS);
			break;
		case OPT_BACKEND:
			if (!strcmp(a, "tap"))
				c->backend = CFG_BACKEND_TAP;
			else if (!strcmp(a, "null"))
				c->backend = CFG_BACKEND_NULL;
			else
				return fail(err, errlen, "--backend %s: tap or null", a);
			break;
		case OPT_QP:
			if (parse_uint(a, 1, VNET_MAX_QUEUE_PAIRS, &v))
				return fail(err, errlen, "--queue-pairs %s: 1..%d", a,
					    VNET_MAX_QUEUE_PAIRS);
			c->queue_pairs = (unsigned)v;
			break;
		case OPT_QSIZE:
			if (parse_uint(a, 64, 32768, &v) || (v & (v - 1)))
				return fail(err, errlen, "--queue-size %s: power of two 64..32768", a);
			c->queue_size = (unsigned)v;
			break;
		case OPT_MAC:
			if (parse_mac(a, c->mac))
				return fail(err, errlen, "--mac %s: XX:XX:XX:XX:XX:XX, unicast", a);
			c->mac_set = true;
			break;
		case OPT_MTU:
			if (parse_uint(a, 68, 65535, &v))
				return fail(err, errlen, "--mtu %s: 68..65535", a);
			c->mtu = (unsigned)v;
			break;
		case OPT_OFFLOADS:
			if (!strcmp(a, "all"))
				c->offloads = NET_OFF_ALL;
			else if (!strcmp(a, "none"))
				c->offloads = 0;
			else if (parse_list(a, offload_names, VH_ARRAY_SIZE(offload_names),
					    &c->offloads, bad, sizeof(bad)))
				return fail(err, errlen, "--offloads: unknown offload '%s'", bad);
			break;
		case OPT_DISABLE:
			if (parse_list(a, disable_names, VH_ARRAY_SIZE(disable_names), &c->disable,
				       bad, sizeof(bad)))
				return fail(err, errlen, "--disable: unknown feature '%s'", bad);
			break;
		case OPT_LOG:
			if (vh_log_parse_level(a, &c->log_level))
				return fail(err, errlen, "--log-level %s: error|warn|info|debug", a);
			break;
		case OPT_STATS:
			if (parse_uint(a, 0, 86400, &v))
				return fail(err, errlen, "--stats-interval %s: 0..86400", a);
			c->stats_interval = (unsigned)v;
			break;
		case OPT_USER:
			if (!*a)
				return fail(err, errlen, "--user: empty name");
			c->user = a;
			break;
		case OPT_NO_SANDBOX:
			c->sandbox = false;
			break;
		case OPT_CAPS:
			c->print_capabilities = true;
			break;
		case OPT_HELP:
			c->help = true;
			break;
		case OPT_VERSION:
			c->version = true;
			break;
		default:
			if (optopt && optopt < 256)
				return fail(err, errlen, "unknown option -%c", optopt);
			return fail(err, errlen, "unknown or incomplete option '%s'",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (c->print_capabilities || c->help || c->version)
		return 0; /* other options are ignored (backend conventions) */

	if (listen_fds_env(c, err, errlen))
		return -EINVAL;
	if (have_socket && c->listen_fd >= 0)
		return fail(err, errlen, "--socket-path and --fd are mutually exclusive");
	if (c->client && c->listen_fd >= 0)
		return fail(err, errlen, "--client needs --socket-path, not --fd");
	if (c->n_tap_fds && have_tap)
		return fail(err, errlen, "--tap and --tap-fd are mutually exclusive");
	if (c->n_tap_fds && c->n_tap_fds != c->queue_pairs)
		return fail(err, errlen, "--tap-fd gives %u fds for %u queue pairs", c->n_tap_fds,
			    c->queue_pairs);
	if (c->backend == CFG_BACKEND_NULL && (c->n_tap_fds || have_tap))
		return fail(err, errlen, "--backend null takes no --tap/--tap-fd");
	if (c->queue_pairs > 1 && (c->disable & CFG_DIS_MQ))
		return fail(err, errlen, "--queue-pairs %u needs multiqueue (--disable mq given)",
			    c->queue_pairs);
	return 0;
}
