#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's "run" command: build vhostile-net, start it on its embedded
# default configuration (one queue pair, all offloads, split ring, seccomp on),
# boot a tiny Debian-kernel guest under QEMU against it, and show traffic
# (ping and iperf3 both ways) crossing the TAP inside a private network
# namespace.  Bounded in time; everything it starts is stopped by PID.
#
#   scripts/demo.sh            # split ring (default config)
#   scripts/demo.sh packed     # any tests/e2e/run_matrix.sh config name(s)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: needs root (TAP device, network namespace, hugepage-free QEMU)" >&2
	exit 1
fi
scripts/deps.sh
scripts/deps.sh --e2e

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target vhostile-net

echo "=== vhostile-net $(build/release/net/vhostile-net --version | cut -d' ' -f2):" \
	"guest (QEMU TCG, virtio-net-pci) <-> vhost-user <-> vhostile-net <-> TAP in a netns"
VHOSTILE_NET=$PWD/build/release/net/vhostile-net \
	exec tests/e2e/run_matrix.sh vhostile "${@:-split}"
