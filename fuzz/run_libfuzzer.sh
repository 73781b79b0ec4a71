#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run_libfuzzer.sh - run every libFuzzer target (or the ones named) for N seconds.
#
#   fuzz/run_libfuzzer.sh [-t SECONDS] [-b BUILD_DIR] [-o OUT_DIR] [TARGET...]
#
# Needs the fuzz preset built (cmake --preset fuzz && cmake --build --preset fuzz).
# Each target fuzzes a private copy of corpus/<target>/ (seeds and regression
# inputs; crash-* reproducers of known, reported bugs are left out so they do
# not stop the campaign) in OUT_DIR/<target>/, so corpus/ is never modified; new
# interesting inputs stay in OUT_DIR for `-merge=1` into corpus/ by hand.
# Fails (exit 1) on any crash, leak, timeout or out-of-memory, leaving the
# artifact in OUT_DIR/<target>/.  Prints one summary line per target with the
# measured exec/s.  FZ_KNOWN_BUGS is passed through (fuzz/README.md).
# For every failed target OUT_DIR/failures.txt gets the sanitizer/libFuzzer
# report and each artifact in base64, so a CI log tail is enough to reproduce:
#   base64 -d > crash.bin; FZ_REPLAY_NOFORK=1 build/release/fuzz/replay_<t> crash.bin
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=60
build=$root/build/fuzz
out=$root/fuzz/out/libfuzzer
while getopts t:b:o: opt; do
	case $opt in
	t) secs=$OPTARG ;;
	b) build=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-b BUILD_DIR] [-o OUT_DIR] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then # every libFuzzer target that was built
	for b in "$build"/fuzz/fuzz_*; do
		case $b in *.dict | *.options) continue ;; esac
		[ -x "$b" ] && set -- "$@" "${b##*/fuzz_}"
	done
fi

# report_failure TARGET DIR RC: the lines of DIR/log that say what went wrong
# (sanitizer summary, first stack frames, libFuzzer's verdict) and every
# artifact as base64 (inputs are at most -max_len=8192 bytes).
report_failure() {
	echo "--- fuzz smoke: $1 failed (rc $3), log $2/log"
	grep -aE '^(==[0-9]+==ERROR|SUMMARY:|    #[0-9] |    #1[0-2] |.*runtime error:|fz: |FZ |ALARM|.*deadly signal|Test unit written|MS: |Base64:)' \
		"$2/log" | head -n 40
	echo "log tail:"
	tail -n 5 "$2/log"
	find "$2" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | head -n 3 | while read -r a; do
		echo "artifact ${a##*/} ($(wc -c <"$a") bytes), base64:"
		base64 -w 120 "$a"
	done
}

fail=0
mkdir -p "$out"
rm -f "$out/failures.txt"
printf '%-9s %10s %8s %7s %7s %7s  %s\n' target execs exec/s cov ft corpus result
for t in "$@"; do
	bin=$build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "$t: $bin not built (cmake --build --preset fuzz)" >&2; exit 2; }
	w=$out/$t
	rm -rf "$w"
	mkdir -p "$w/corpus"
	find "$root/corpus/$t" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$w/corpus/" \;
	set +e
	"$bin" "$w/corpus" -dict="$root/corpus/$t.dict" -max_total_time="$secs" \
		-rss_limit_mb=2560 -timeout=25 -max_len=8192 -print_final_stats=1 \
		-artifact_prefix="$w/" >"$w/log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tr -cd '0-9')
	st=$(grep -aE '^#[0-9]+.*cov: ' "$w/log" | tail -1 | tr -cd '[:print:]')
	cov=$(echo "$st" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$st" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$st" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	arts=$(find "$w" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	res=ok
	if [ "$rc" -ne 0 ] || [ "$arts" -ne 0 ]; then
		res="FAIL (rc $rc, $arts artifacts in $w; see $w/log)"
		fail=1
		report_failure "$t" "$w" "$rc" >>"$out/failures.txt"
	fi
	printf '%-9s %10s %8s %7s %7s %7s  %s\n' "$t" "${execs:-?}" \
		"$(( ${execs:-0} / secs ))" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$res"
done
exit $fail
