#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's test command (README.md, .ci/run): installs what is missing,
# then builds and runs the whole ctest suite (unit, fuzz corpus replay,
# integration) under every preset in $VH_PRESETS, and a bounded libFuzzer
# smoke campaign over every target.
#
#   scripts/test.sh            # full: release, asan (gcc) + clang variants, tsan,
#                              # fuzz smoke, QEMU end-to-end matrix
#   VH_PRESETS="release" VH_FUZZ_SECONDS=0 VH_E2E=0 scripts/test.sh   # quick
set -euo pipefail
cd "$(dirname "$0")/.."

PRESETS=${VH_PRESETS:-"release asan release-clang asan-clang tsan"}
FUZZ_SECONDS=${VH_FUZZ_SECONDS:-60}
E2E=${VH_E2E:-1}
JOBS=$(nproc)

scripts/deps.sh
if [ "$E2E" != 0 ] && [ "$(id -u)" -eq 0 ]; then
	scripts/deps.sh --e2e # QEMU, kernel, busybox, iperf3, DPDK (interop + e2e)
fi

fail=0
failed_presets=""
for p in $PRESETS; do
	echo "=== preset $p: configure + build"
	cmake --preset "$p" >/dev/null
	cmake --build --preset "$p" -j "$JOBS"
	echo "=== preset $p: ctest"
	if ! ctest --preset "$p" -j "$JOBS"; then
		echo "!!! preset $p: tests failed"
		failed_presets="$failed_presets $p"
		fail=1
	fi
done

if [ "$FUZZ_SECONDS" -gt 0 ] && [ -x fuzz/run_libfuzzer.sh ]; then
	echo "=== fuzz smoke: every target ${FUZZ_SECONDS}s on its corpus"
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j "$JOBS"
	if ! fuzz/run_libfuzzer.sh -t "$FUZZ_SECONDS" -b build/fuzz -o build/fuzz-smoke; then
		echo "!!! fuzz smoke failed"
		fail=1
	fi
fi

if [ "$E2E" != 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "=== e2e: skipped (needs root)"
	else
		echo "=== e2e: Linux guest under QEMU <-> vhostile-net <-> TAP, full matrix"
		cmake --preset release >/dev/null
		cmake --build --preset release -j "$JOBS" --target vhostile-net
		if ! VHOSTILE_NET=$PWD/build/release/net/vhostile-net tests/e2e/run_matrix.sh vhostile; then
			echo "!!! e2e matrix failed"
			fail=1
		fi
	fi
fi

if [ "$fail" -ne 0 ]; then
	# A CI log is often read from its tail: say what failed here, last.
	echo "=== failure summary"
	for p in $failed_presets; do
		f=build/$p/Testing/Temporary/LastTestsFailed.log
		echo "--- preset $p: failed tests: $(cut -d: -f2 "$f" 2>/dev/null | tr '\n' ' ')"
		echo "--- preset $p: re-run of the failed tests (output tail):"
		ctest --preset "$p" --rerun-failed --output-on-failure 2>&1 | tail -n 40 || true
	done
	[ -s build/fuzz-smoke/failures.txt ] && head -n 120 build/fuzz-smoke/failures.txt
	echo "scripts/test.sh: FAILED"
	exit 1
fi
echo "scripts/test.sh: all presets passed"
