#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run_afl.sh - bounded parallel AFL++ campaign for one target on a 2-core box.
#
#   fuzz/run_afl.sh TARGET [SECONDS]
#
# One main instance (-M, the ASan build of the afl preset) and one secondary
# (-S) that adds the cmplog binary of the afl-cmplog preset with -c; both stop
# after SECONDS (afl-fuzz -V, default 600).  Input is corpus/TARGET/ minus
# crash-* reproducers; output goes to fuzz/out/afl-TARGET/ (override with OUT),
# never into corpus/.  Both instances are killed by PID on exit or interrupt.
# Exit 1 if either instance saved a crash or a hang.
#
# Builds: cmake --preset afl && cmake --build --preset afl
#         cmake --preset afl-cmplog && cmake --build --preset afl-cmplog
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
t=${1:?usage: $0 TARGET [SECONDS]}
secs=${2:-600}
bin=${AFL_BUILD:-$root/build/afl}/fuzz/afl_$t
cmplog=${AFL_CMPLOG_BUILD:-$root/build/afl-cmplog}/fuzz/afl_$t
out=${OUT:-$root/fuzz/out/afl-$t}
dict=$root/corpus/$t.dict

[ -x "$bin" ] || { echo "$bin not built (cmake --build --preset afl)" >&2; exit 2; }
[ -x "$cmplog" ] || { echo "$cmplog not built (cmake --build --preset afl-cmplog)" >&2; exit 2; }

in=$out.in
rm -rf "$out" "$in"
mkdir -p "$in"
find "$root/corpus/$t" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$in/" \;

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
# containers often hide which cores are free: do not let the second instance give up
export AFL_NO_AFFINITY=${AFL_NO_AFFINITY:-1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=0}

pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

afl-fuzz -i "$in" -o "$out" -M main -V "$secs" -t 5000 -m none -x "$dict" \
	-- "$bin" >"$out.main.log" 2>&1 &
pids="$pids $!"
sleep 2 # the main instance creates the sync directory
afl-fuzz -i "$in" -o "$out" -S cmplog -c "$cmplog" -V "$secs" -t 5000 -m none -x "$dict" \
	-- "$bin" >"$out.cmplog.log" 2>&1 &
pids="$pids $!"

rc=0
for p in $pids; do
	wait "$p" || rc=$?
done
pids=
trap - EXIT INT TERM

found=0
for d in "$out"/*/crashes "$out"/*/hangs; do
	[ -d "$d" ] || continue
	n=$(find "$d" -type f ! -name README.txt | wc -l)
	found=$((found + n))
done
for s in "$out"/*/fuzzer_stats; do
	[ -f "$s" ] || continue
	printf '%s: execs %s, %s exec/s, corpus %s, edges %s, crashes %s, hangs %s\n' \
		"$(basename "$(dirname "$s")")" \
		"$(sed -n 's/^execs_done *: *//p' "$s")" \
		"$(sed -n 's/^execs_per_sec *: *//p' "$s")" \
		"$(sed -n 's/^corpus_count *: *//p' "$s")" \
		"$(sed -n 's/^edges_found *: *//p' "$s")" \
		"$(sed -n 's/^saved_crashes *: *//p' "$s")" \
		"$(sed -n 's/^saved_hangs *: *//p' "$s")"
done
if [ "$found" -ne 0 ]; then
	echo "afl: $found crash/hang inputs under $out/*/{crashes,hangs}" >&2
	exit 1
fi
[ "$rc" -eq 0 ] || { echo "afl-fuzz exited with $rc (logs: $out.*.log)" >&2; exit 1; }
