#!/bin/bash -eu
# SPDX-License-Identifier: Apache-2.0
# Build script shared by OSS-Fuzz (oss-fuzz/build.sh) and ClusterFuzzLite
# (.clusterfuzzlite/build.sh), kept in the repository like libxml2's.  Uses
# the infrastructure's $CC, $CFLAGS, $LIB_FUZZING_ENGINE and $OUT, so the same
# targets become libFuzzer, AFL++ or honggfuzz binaries.  Runs locally too:
#   CC=clang CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/oss-fuzz-build.sh
cd "$(dirname "$0")/.."
build=build/oss-fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
	-DCMAKE_BUILD_TYPE=Release -DVH_OSSFUZZ=ON -DVH_WERROR=OFF \
	-DVH_BUILD_TESTS=OFF -DVH_BUILD_BENCH=OFF -DLIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
cmake --build "$build" -j "$(nproc)"
mkdir -p "$OUT"
for b in "$build"/fuzz/fuzz_*; do
	case $b in *.dict | *.options) continue ;; esac
	t=${b##*/fuzz_}
	cp "$b" "$OUT/"
	[ -f "corpus/$t.dict" ] && cp "corpus/$t.dict" "$OUT/fuzz_$t.dict"
	[ -f "fuzz/$t.options" ] && cp "fuzz/$t.options" "$OUT/fuzz_$t.options"
	if [ -d "corpus/$t" ]; then
		(cd "corpus/$t" && zip -q -r "$OUT/fuzz_${t}_seed_corpus.zip" .)
	fi
done
