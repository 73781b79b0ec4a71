#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Rebuild corpus/gen/gen_corpus and regenerate every seed-*.bin and <target>.dict
# under corpus/.  Deterministic: running it twice leaves identical files.
# Crash reproducers and other non-seed files are not touched.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VH_GEN_BUILD_DIR:-$root/build/gen}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVH_BUILD_TESTS=OFF \
      -DVH_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target gen_corpus >/dev/null
"$build/fuzz/gen_corpus" "$root/corpus"
for t in gmem split packed indirect split_df packed_df indirect_df; do
	printf '%-9s %3d seeds\n' "$t" "$(ls "$root/corpus/$t"/seed-*.bin | wc -l)"
done
# virtio-net targets: their own generator (corpus/gen/gen_net.c)
cmake --build "$build" --target gen_net >/dev/null
"$build/fuzz/gen_net" "$root/corpus"
for t in net_hdr net_tx net_rx vnet_ops; do
	printf '%-9s %3d seeds\n' "$t" "$(ls "$root/corpus/$t"/seed-*.bin | wc -l)"
done
# vhost-user message target: its own generator (corpus/gen/gen_vu.c)
cmake --build "$build" --target gen_vu >/dev/null
"$build/fuzz/gen_vu" "$root/corpus/vu_msg"
printf '%-9s %3d seeds\n' vu_msg "$(ls "$root/corpus/vu_msg"/seed-*.bin | wc -l)"
