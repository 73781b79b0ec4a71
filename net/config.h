/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - vhostile-net command line and its embedded defaults.
 *
 * Options follow QEMU's "vhost-user backend program conventions"
 * (--socket-path, --fd, --print-capabilities) plus what cloud-hypervisor and
 * crosvm deployments use (--client/--reconnect-ms, --tap/--tap-fd per queue
 * pair, --queue-pairs, --queue-size, --mac, --mtu, --offloads, --disable).
 */
#ifndef VHOSTILE_NET_CONFIG_H
#define VHOSTILE_NET_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/compiler.h"
#include "core/log.h"

#define VNET_MAX_QUEUE_PAIRS 16

/* --disable bits */
#define CFG_DIS_PACKED 0x01u
#define CFG_DIS_EVENT_IDX 0x02u
#define CFG_DIS_INDIRECT 0x04u
#define CFG_DIS_MRG_RXBUF 0x08u
#define CFG_DIS_MQ 0x10u

enum cfg_backend {
	CFG_BACKEND_TAP,
	CFG_BACKEND_NULL,
};

struct vnet_config {
	/* connection */
	const char *socket_path; /* listen (or connect with --client) */
	int listen_fd;           /* --fd or LISTEN_FDS, else -1 */
	bool client;
	unsigned reconnect_ms;   /* --client: retry period, 0 = fail at once */
	bool keep_listening;
	/* backend */
	enum cfg_backend backend;
	const char *tap_name;
	int tap_fds[VNET_MAX_QUEUE_PAIRS];
	unsigned n_tap_fds;
	/* device */
	unsigned queue_pairs;
	unsigned queue_size;     /* max ring size accepted (power of two) */
	uint8_t mac[6];
	bool mac_set;
	unsigned mtu;            /* 0 = not advertised */
	unsigned offloads;       /* NET_OFF_* the operator allows */
	unsigned disable;        /* CFG_DIS_* */
	/* process */
	enum vh_log_level log_level;
	unsigned stats_interval; /* seconds, 0 = off */
	const char *user;        /* drop privileges to this user after set-up */
	bool sandbox;            /* seccomp allow-list (default on) */
	bool print_capabilities;
	bool help;
	bool version;
};

/**
 * vnet_config_defaults() - the embedded default configuration.
 * @c: filled with defaults: socket /tmp/vhostile-net.sock, TAP "vhostile%d",
 *     one queue pair, rings up to 1024, all offloads, sandbox on, log info.
 */
void vnet_config_defaults(struct vnet_config *c);

/**
 * vnet_config_parse() - parse argv (and LISTEN_FDS) into @c.
 * @c: configuration, pre-filled with defaults
 * @argc: argument count
 * @argv: arguments
 * @err: message buffer for the first error
 * @errlen: its size
 *
 * Return: 0, or -EINVAL with @err set (exit code 2).
 */
VH_MUST_CHECK int vnet_config_parse(struct vnet_config *c, int argc, char **argv, char *err,
				    size_t errlen);

/**
 * vnet_config_usage() - the --help text.
 * @prog: argv[0]
 *
 * Return: static text with a %s for the program name already applied (printed
 * to stdout by the caller).
 */
void vnet_config_usage(const char *prog);

#endif /* VHOSTILE_NET_CONFIG_H */
