#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages vhostile builds and tests with.  Idempotent:
# does nothing (and needs no network) when everything is already installed.
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config git
	clang-14 clang libclang-rt-14-dev llvm-14   # libFuzzer, sanitizers, llvm-cov
	libcmocka-dev                               # unit tests
	afl++                                       # AFL++ builds of the fuzz targets
	libseccomp-dev                              # device sandbox
	iproute2 ethtool                            # namespaces, TAP for integration tests
	python3
)

# --e2e: what the QEMU end-to-end tests, the demo and the DPDK interop and
# benchmark scripts need on top.
# --bench: what bench/run.sh needs on top (DPDK's testpmd is in dpdk-dev;
# perf and valgrind for --profile).
case ${1:-} in
--e2e) PKGS=(qemu-system-x86 linux-image-amd64 busybox-static iperf3 dpdk dpdk-dev cpio kmod ethtool) ;;
--bench) PKGS=(dpdk dpdk-dev iproute2 procps util-linux python3 linux-perf valgrind liburing-dev) ;;
"") ;;
*) echo "usage: scripts/deps.sh [--e2e|--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]} (run as root or install them)" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
