#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command: build with clang source-based coverage, replay the corpus of
# every fuzz target (plus extra corpus directories given as arguments, e.g.
# fuzz/out/libfuzzer/<target>), and print per-file line and branch coverage
# for core/ and net/.
#
#   fuzz/coverage.sh [EXTRA_CORPUS_DIR...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$root/build/coverage
prof=$build/profiles

cmake --preset coverage >/dev/null
cmake --build --preset coverage -j "$(nproc)" >/dev/null
rm -rf "$prof"
mkdir -p "$prof"

bins=()
for r in "$build"/fuzz/replay_*; do
	[ -x "$r" ] || continue
	t=${r##*/replay_}
	dirs=("corpus/$t")
	for extra in "$@"; do
		[ -d "$extra/$t" ] && dirs+=("$extra/$t")
	done
	# crash-* reproducers of already fixed bugs are regular inputs here
	LLVM_PROFILE_FILE="$prof/$t-%p.profraw" "$r" "${dirs[@]}" >/dev/null 2>&1 || true
	bins+=(-object "$r")
done
llvm-profdata-14 merge -sparse "$prof"/*.profraw -o "$prof/all.profdata"
# the first -object is positional for llvm-cov
first=${bins[1]}
llvm-cov-14 report "$first" "${bins[@]:2}" -instr-profile="$prof/all.profdata" \
	-show-branch-summary "$root"/core/*.c "$root"/net/net_*.c "$root"/net/vnet.c \
	"$root"/net/tap.c "$root"/net/backend.c
