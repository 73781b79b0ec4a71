# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Common helpers for the tests/e2e scripts.  Sourced, never executed.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
: "${E2E_BUILD:=$REPO_ROOT/build/e2e}"

e2e_prog=$(basename "$0")

log() { printf '%s: %s\n' "$e2e_prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$e2e_prog" "$*" >&2; exit 1; }
usage_die() { printf '%s: usage error: %s\n' "$e2e_prog" "$*" >&2; exit 2; }

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, TAP, hugepages)"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "missing command '$c' (see tests/e2e/README.md: apt-get install ...)"
	done
}

# wait_until TIMEOUT_S DESCRIPTION CMD...: poll CMD every 0.1 s until it
# succeeds; fail after TIMEOUT_S seconds.
wait_until() {
	local t=$1 what=$2; shift 2
	local deadline=$((SECONDS + t))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "timed out after ${t}s waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
	local st
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# stop_pid PID [GRACE_S]: SIGTERM, wait up to GRACE_S (default 10), then
# SIGKILL.  Only ever signals the one PID it is given.
stop_pid() {
	local pid=$1 grace=${2:-10} i
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < grace * 10; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	log "pid $pid ignored SIGTERM for ${grace}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	return 1
}

# The TAP exists in namespace NS ("" = this namespace).
tap_exists() {
	local ns=$1 tap=$2
	if [ -n "$ns" ]; then
		ip -n "$ns" link show dev "$tap"
	else
		ip link show dev "$tap"
	fi
}

socket_exists() { [ -S "$1" ]; }

# spawn_bounded DIR NAME MAX_S CMD...: run CMD in the background under
# timeout(1) (hard bound MAX_S), stdin /dev/null, output to DIR/NAME.log.
# Writes DIR/NAME.pid (the process of CMD itself, the child of timeout, which
# stays the same PID across exec, e.g. `ip netns exec NS prog`),
# DIR/NAME.wrapper.pid (timeout) and, when it ends, DIR/NAME.rc (its exit
# status; 128+N for signal N).
spawn_bounded() {
	local dir=$1 name=$2 maxs=$3; shift 3
	local w i kids
	rm -f "$dir/$name.pid" "$dir/$name.rc" "$dir/$name.wrapper.pid"
	printf '%q ' "$@" >"$dir/$name.cmd"
	echo >>"$dir/$name.cmd"
	(
		trap '' INT
		timeout -s TERM -k 10 "$maxs" "$@" </dev/null >"$dir/$name.log" 2>&1 &
		echo $! >"$dir/$name.wrapper.pid"
		rc=0
		wait $! || rc=$?
		echo "$rc" >"$dir/$name.rc"
	) </dev/null >/dev/null 2>&1 &
	for ((i = 0; i < 100; i++)); do
		if [ -s "$dir/$name.wrapper.pid" ]; then
			w=$(cat "$dir/$name.wrapper.pid")
			kids=$(cat "/proc/$w/task/$w/children" 2>/dev/null || true)
			if [ -n "${kids// /}" ]; then
				echo "${kids%% *}" >"$dir/$name.pid"
				return 0
			fi
		fi
		[ -s "$dir/$name.rc" ] && break
		sleep 0.05
	done
	log "spawn $name: could not find the process (rc $(cat "$dir/$name.rc" 2>/dev/null || echo '?'))"
	return 1
}

# spawned_alive DIR NAME
spawned_alive() {
	[ -s "$1/$2.pid" ] && [ ! -s "$1/$2.rc" ] && pid_alive "$(cat "$1/$2.pid")"
}

# stop_spawned DIR NAME [GRACE_S]: SIGTERM the process (not the wrapper),
# SIGKILL after GRACE_S (10); waits for DIR/NAME.rc and writes
# DIR/NAME.stop ("rc=N stop_ms=M killed=0|1").  Returns 0 if it ended.
stop_spawned() {
	local dir=$1 name=$2 grace=${3:-10} pid t0 killed=0 i rc ms
	[ -s "$dir/$name.pid" ] || return 0
	pid=$(cat "$dir/$name.pid")
	t0=$(date +%s%N)
	if [ ! -s "$dir/$name.rc" ] && pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 20; i++)); do
			[ -s "$dir/$name.rc" ] && break
			sleep 0.05
		done
		if [ ! -s "$dir/$name.rc" ] && pid_alive "$pid"; then
			log "$name (pid $pid) ignored SIGTERM for ${grace}s; SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			killed=1
		fi
	fi
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/$name.rc" ] && break
		sleep 0.05
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	rc=$(cat "$dir/$name.rc" 2>/dev/null || echo unknown)
	echo "rc=$rc stop_ms=$ms killed=$killed" >"$dir/$name.stop"
	rm -f "$dir/$name.pid"
	[ "$rc" != unknown ]
}

# print_help: the script's leading comment block (after the shebang and SPDX line).
print_help() {
	awk 'NR <= 2 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}
