#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Network-namespace helpers for the e2e tests.  Every address used lives only
# inside the namespace this script creates; nothing touches the host's own
# interfaces, routes or addresses.
#
#   netns.sh create NS                   ip netns add NS, lo up, IPv6 off
#   netns.sh tap-up NS TAP [CIDR] [T]    wait up to T s (30) for TAP in NS -- or in the
#                                        host namespace, then move it into NS --
#                                        assign CIDR (10.99.0.1/24), link up
#   netns.sh iperf-start NS PIDFILE [LOG] [BIND]  iperf3 -s -D inside NS (bind 10.99.0.1)
#   netns.sh iperf-stop PIDFILE          SIGTERM that PID (then SIGKILL)
#   netns.sh destroy NS                  stop every process still in NS (by PID),
#                                        delete NS
#   netns.sh exec NS CMD...              ip netns exec NS CMD...
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cmd=${1:-}
case $cmd in -h | --help) print_help; exit 0 ;; esac
[ -n "$cmd" ] || usage_die "subcommand required (create|tap-up|iperf-start|iperf-stop|destroy|exec)"
shift

ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

case $cmd in
create)
	need_root
	ns=${1:?NS}
	ns_exists "$ns" && die "namespace $ns already exists"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true
	;;
tap-up)
	need_root
	ns=${1:?NS} tap=${2:?TAP} cidr=${3:-10.99.0.1/24} t=${4:-30}
	ns_exists "$ns" || die "no namespace $ns"
	# shellcheck disable=SC2317  # invoked indirectly through wait_until
	tap_somewhere() { tap_exists "$ns" "$tap" || tap_exists "" "$tap"; }
	wait_until "$t" "TAP $tap" tap_somewhere || die "TAP $tap did not appear within ${t}s"
	if ! tap_exists "$ns" "$tap" >/dev/null 2>&1; then
		log "moving $tap from the host namespace into $ns"
		ip link set dev "$tap" netns "$ns"
		wait_until 5 "TAP $tap in $ns" tap_exists "$ns" "$tap" || die "moving $tap into $ns failed"
	fi
	ip netns exec "$ns" sysctl -q -w "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null || true
	ip -n "$ns" addr flush dev "$tap"
	ip -n "$ns" addr add "$cidr" dev "$tap"
	ip -n "$ns" link set dev "$tap" up
	;;
iperf-start)
	need_root
	ns=${1:?NS} pidfile=${2:?PIDFILE} logf=${3:-/dev/null} bind=${4:-10.99.0.1}
	need_cmd iperf3
	rm -f "$pidfile"
	ip netns exec "$ns" timeout 5 iperf3 -s -D -B "$bind" --pidfile "$pidfile" --logfile "$logf" ||
		die "iperf3 -s failed in $ns"
	wait_until 5 "iperf3 pid file" test -s "$pidfile" || die "iperf3 wrote no pid file"
	# shellcheck disable=SC2317
	listening() { ip netns exec "$ns" ss -Hltn "sport = :5201" | grep -q .; }
	wait_until 5 "iperf3 listening in $ns" listening || die "iperf3 not listening in $ns"
	;;
iperf-stop)
	pidfile=${1:?PIDFILE}
	if [ -s "$pidfile" ]; then
		pid=$(tr -dc '0-9' <"$pidfile")
		[ -n "$pid" ] && stop_pid "$pid" 5
	fi
	rm -f "$pidfile"
	;;
destroy)
	need_root
	ns=${1:?NS}
	ns_exists "$ns" || exit 0
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		log "stopping leftover pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) in $ns"
		stop_pid "$pid" 5 || true
	done
	ip netns del "$ns"
	;;
exec)
	ns=${1:?NS}; shift
	exec ip netns exec "$ns" "$@"
	;;
*)
	usage_die "unknown subcommand '$cmd'"
	;;
esac
