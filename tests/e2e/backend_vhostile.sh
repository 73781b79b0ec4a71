#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device under test: vhostile-net (issue 4 CLI) serving a vhost-user
# socket, backed by a TAP.
#
#   backend_vhostile.sh start --state DIR --socket PATH --tap NAME [--queues N]
#                             [--disable LIST] [--netns NS] [--tap-mode netns|move]
#                             [--max-seconds 1800]
#   backend_vhostile.sh stop --state DIR
#
# Binary: $VHOSTILE_NET (default build/release/net/vhostile-net).  Extra
# arguments: $VHOSTILE_ARGS (word-split, e.g. "--log-level debug").
# Command run:  vhostile-net --socket-path PATH --tap NAME --queue-pairs N
#               [--disable LIST] $VHOSTILE_ARGS
# --tap-mode netns (default): run under `ip netns exec NS` so the TAP is
# created inside the namespace; move: run in the host namespace and let
# netns.sh tap-up move the TAP (then vhostile-net must not touch the TAP by
# name after creating it).
# stop sends SIGTERM and records in DIR/vhostile.stop "rc=N stop_ms=M killed=0|1";
# it fails unless vhostile-net exited 0 without needing SIGKILL (issue 4:
# "exit quickly and cleanly on SIGTERM").
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

bin=${VHOSTILE_NET:-$REPO_ROOT/build/release/net/vhostile-net}

cmd=${1:-}
case $cmd in -h | --help) print_help; exit 0 ;; esac
[ -n "$cmd" ] || usage_die "subcommand required (start|stop)"
shift

case $cmd in
start)
	need_root
	state='' sock='' tap='' queues=1 ns='' tapmode=netns disable='' maxs=1800
	while [ $# -gt 0 ]; do
		case $1 in
		--state) state=$2; shift 2 ;;
		--socket) sock=$2; shift 2 ;;
		--tap) tap=$2; shift 2 ;;
		--queues) queues=$2; shift 2 ;;
		--disable) disable=$2; shift 2 ;;
		--netns) ns=$2; shift 2 ;;
		--tap-mode) tapmode=$2; shift 2 ;;
		--max-seconds) maxs=$2; shift 2 ;;
		*) usage_die "start: unknown argument '$1'" ;;
		esac
	done
	if [ -z "$state" ] || [ -z "$sock" ] || [ -z "$tap" ]; then
		usage_die "start needs --state, --socket and --tap"
	fi
	case $tapmode in netns | move) ;; *) usage_die "--tap-mode netns|move" ;; esac
	[ "$tapmode" = move ] || [ -n "$ns" ] || usage_die "--tap-mode netns needs --netns NS"
	[ -x "$bin" ] || die "vhostile-net not found at $bin (build it, or set VHOSTILE_NET)"
	mkdir -p "$state"
	if spawned_alive "$state" vhostile; then
		die "vhostile-net already running (pid $(cat "$state/vhostile.pid"))"
	fi
	rm -f "$sock"
	pre=()
	[ "$tapmode" = netns ] && pre=(ip netns exec "$ns")
	args=(--socket-path "$sock" --tap "$tap" --queue-pairs "$queues")
	[ -n "$disable" ] && args+=(--disable "$disable")
	# shellcheck disable=SC2206  # deliberate word splitting of user extras
	[ -n "${VHOSTILE_ARGS:-}" ] && args+=(${VHOSTILE_ARGS})
	log "starting: ${pre[*]} $bin ${args[*]}"
	spawn_bounded "$state" vhostile "$maxs" "${pre[@]}" "$bin" "${args[@]}" ||
		die "could not start vhostile-net (log $state/vhostile.log)"
	pid=$(cat "$state/vhostile.pid")
	# shellcheck disable=SC2317
	ready() {
		spawned_alive "$state" vhostile || return 0
		socket_exists "$sock" && { tap_exists "$ns" "$tap" || tap_exists "" "$tap"; }
	}
	wait_until 20 "vhostile-net socket $sock and TAP $tap" ready || true
	if ! spawned_alive "$state" vhostile; then
		tail -20 "$state/vhostile.log" >&2
		die "vhostile-net exited during start-up with rc=$(cat "$state/vhostile.rc" 2>/dev/null || echo '?') (log $state/vhostile.log)"
	fi
	if ! socket_exists "$sock"; then
		tail -20 "$state/vhostile.log" >&2
		"$0" stop --state "$state" || true
		die "vhostile-net did not create $sock"
	fi
	# Issue 4: the TAP is set up before the socket serves (fail early otherwise).
	if ! tap_exists "$ns" "$tap" >/dev/null 2>&1 && ! tap_exists "" "$tap" >/dev/null 2>&1; then
		"$0" stop --state "$state" || true
		die "vhostile-net serves $sock but TAP $tap does not exist"
	fi
	log "vhostile-net pid $pid up: socket $sock, TAP $tap ($tapmode)"
	;;
stop)
	state=''
	while [ $# -gt 0 ]; do
		case $1 in
		--state) state=$2; shift 2 ;;
		*) usage_die "stop: unknown argument '$1'" ;;
		esac
	done
	[ -n "$state" ] || usage_die "stop needs --state DIR"
	[ -s "$state/vhostile.pid" ] || exit 0
	stop_spawned "$state" vhostile 10 || true
	st=$(cat "$state/vhostile.stop" 2>/dev/null || echo "rc=unknown")
	log "vhostile-net stopped: $st"
	case $st in
	"rc=0 "*"killed=0") exit 0 ;;
	*) log "vhostile-net did not exit cleanly on SIGTERM ($st; log $state/vhostile.log)"; exit 1 ;;
	esac
	;;
*)
	usage_die "unknown subcommand '$cmd'"
	;;
esac
