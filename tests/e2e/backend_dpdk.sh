#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The DPDK reference backend: dpdk-testpmd (Debian 12: package dpdk-dev; the
# net_vhost and net_tap PMDs come with package dpdk) forwarding between a
# vhost-user server port (net_vhost, the guest's side) and a TAP (net_tap) in
# io mode.  Port 0 = vhost, port 1 = TAP, paired topology.
#
#   backend_dpdk.sh start --state DIR --socket PATH --tap NAME [--queues N]
#                         [--netns NS] [--tap-mode netns|move]
#                         [--lcores 0,1] [--main-lcore 0] [--max-seconds 1800]
#   backend_dpdk.sh stop --state DIR
#   backend_dpdk.sh hugepages-setup DIR [PAGES]    (default 512 x 2 MiB)
#   backend_dpdk.sh hugepages-restore DIR
#
# --tap-mode netns (default): testpmd runs under `ip netns exec NS`, so net_tap
#   creates the TAP inside the test namespace and the TAP never exists in the
#   host namespace.  --tap-mode move: testpmd runs in the host namespace and
#   the caller (netns.sh tap-up) moves the TAP into NS after testpmd created it.
# start returns once the vhost-user socket and the TAP exist; the caller then
# runs `netns.sh tap-up NS TAP` to address it.  start sets hugepages up itself
# (and stop restores them) unless hugepages-setup was already run.
# State in DIR: testpmd.{pid,log,cmd,rc,stop}, stats (after stop: forward stats).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

HUGE_MNT=/dev/hugepages

hugepages_setup() { # DIR PAGES
	local dir=$1 pages=$2 cur
	mkdir -p "$dir"
	cur=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$cur" -lt "$pages" ]; then
		echo "$cur" >"$dir/hugepages.nr"
		echo "$pages" >/proc/sys/vm/nr_hugepages
		cur=$(cat /proc/sys/vm/nr_hugepages)
		[ "$cur" -ge "$pages" ] || log "warning: only $cur of $pages hugepages could be reserved"
		log "hugepages: nr_hugepages $(cat "$dir/hugepages.nr") -> $cur"
	fi
	if ! awk '$3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		mkdir -p "$HUGE_MNT"
		mount -t hugetlbfs nodev "$HUGE_MNT"
		echo "$HUGE_MNT" >"$dir/hugepages.mounted"
		log "hugepages: mounted hugetlbfs on $HUGE_MNT"
	fi
	echo 1 >"$dir/hugepages.done"
}

hugepages_restore() { # DIR
	local dir=$1 m inuse
	if [ -s "$dir/hugepages.mounted" ]; then
		m=$(cat "$dir/hugepages.mounted")
		if umount "$m"; then log "hugepages: unmounted $m"; else log "warning: umount $m failed (busy?)"; fi
		rm -f "$dir/hugepages.mounted"
	fi
	if [ -s "$dir/hugepages.nr" ]; then
		# Someone else (another DPDK run) holding hugepages: leave the pool alone.
		inuse=$(awk '/^HugePages_Total:/ {t=$2} /^HugePages_Free:/ {f=$2} END {print t-f}' /proc/meminfo)
		if [ "$inuse" -gt 0 ]; then
			log "hugepages: $inuse pages still in use by another process; not shrinking the pool"
		else
			cat "$dir/hugepages.nr" >/proc/sys/vm/nr_hugepages || log "warning: restoring nr_hugepages failed"
			log "hugepages: nr_hugepages restored to $(cat /proc/sys/vm/nr_hugepages)"
		fi
		rm -f "$dir/hugepages.nr"
	fi
	rm -f "$dir/hugepages.done"
}

cmd=${1:-}
case $cmd in -h | --help) print_help; exit 0 ;; esac
[ -n "$cmd" ] || usage_die "subcommand required (start|stop|hugepages-setup|hugepages-restore)"
shift

case $cmd in
hugepages-setup)
	need_root
	hugepages_setup "${1:?DIR}" "${2:-512}"
	;;
hugepages-restore)
	need_root
	hugepages_restore "${1:?DIR}"
	;;
start)
	need_root
	state='' sock='' tap='' queues=1 ns='' tapmode=netns lcores=0,1 main=0 maxs=1800
	while [ $# -gt 0 ]; do
		case $1 in
		--state) state=$2; shift 2 ;;
		--socket) sock=$2; shift 2 ;;
		--tap) tap=$2; shift 2 ;;
		--queues) queues=$2; shift 2 ;;
		--netns) ns=$2; shift 2 ;;
		--tap-mode) tapmode=$2; shift 2 ;;
		--lcores) lcores=$2; shift 2 ;;
		--main-lcore) main=$2; shift 2 ;;
		--max-seconds) maxs=$2; shift 2 ;;
		*) usage_die "start: unknown argument '$1'" ;;
		esac
	done
	if [ -z "$state" ] || [ -z "$sock" ] || [ -z "$tap" ]; then
		usage_die "start needs --state, --socket and --tap"
	fi
	case $tapmode in netns | move) ;; *) usage_die "--tap-mode netns|move" ;; esac
	[ "$tapmode" = move ] || [ -n "$ns" ] || usage_die "--tap-mode netns needs --netns NS"
	need_cmd dpdk-testpmd timeout
	mkdir -p "$state"
	if spawned_alive "$state" testpmd; then
		die "testpmd already running (pid $(cat "$state/testpmd.pid"))"
	fi
	# Use whatever hugepages a caller (run_matrix.sh) set up; else set up our own.
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 256 ] ||
		! awk '$3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		hugepages_setup "$state" 512
		echo 1 >"$state/hugepages.owner"
	fi
	rm -f "$sock"
	pre=()
	[ "$tapmode" = netns ] && pre=(ip netns exec "$ns")
	# --disable-link-check: the vhost port is down until QEMU connects; without
	# it testpmd spends 9 s polling link status at start.  --stats-period keeps
	# the non-interactive testpmd running (else it waits for Enter on stdin).
	tpmd=(dpdk-testpmd -l "$lcores" --main-lcore "$main" --in-memory --no-pci
		--vdev "net_vhost0,iface=$sock,queues=$queues,client=0"
		--vdev "net_tap0,iface=$tap"
		-- --forward-mode=io --auto-start --stats-period 3600 --nb-cores=1
		--rxq="$queues" --txq="$queues" --total-num-mbufs=32768 --disable-link-check)
	log "starting: ${pre[*]} ${tpmd[*]}"
	spawn_bounded "$state" testpmd "$maxs" "${pre[@]}" "${tpmd[@]}" ||
		die "could not start testpmd (log $state/testpmd.log)"
	pid=$(cat "$state/testpmd.pid")
	# shellcheck disable=SC2317
	ready() {
		spawned_alive "$state" testpmd || return 0
		socket_exists "$sock" && { tap_exists "$ns" "$tap" || tap_exists "" "$tap"; }
	}
	wait_until 60 "testpmd socket $sock and TAP $tap" ready || true
	if ! spawned_alive "$state" testpmd; then
		tail -20 "$state/testpmd.log" >&2
		die "testpmd exited during start-up (log $state/testpmd.log)"
	fi
	if ! socket_exists "$sock"; then
		tail -20 "$state/testpmd.log" >&2
		"$0" stop --state "$state" || true
		die "testpmd did not create $sock"
	fi
	log "testpmd pid $pid up: socket $sock, TAP $tap ($tapmode)"
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
	rc=0
	# testpmd 22.11 exits 0 after its clean-up on SIGTERM (measured).
	stop_spawned "$state" testpmd 15 || rc=1
	[ -s "$state/testpmd.stop" ] && log "testpmd stopped: $(cat "$state/testpmd.stop")"
	if [ -s "$state/testpmd.log" ]; then
		# Final "Forward statistics for port N" blocks -> one line.
		tr -d '\r' <"$state/testpmd.log" | awk '
			/Forward statistics for port/ { p = $(NF-1) }
			/RX-packets:/ && p != "" { s = s sprintf(" port%s_rx=%s port%s_rx_dropped=%s", p, $2, p, $4) }
			/TX-packets:/ && p != "" { s = s sprintf(" port%s_tx=%s port%s_tx_dropped=%s", p, $2, p, $4); p = "" }
			END { print "testpmd" s }' >"$state/stats" || true
	fi
	if [ -f "$state/hugepages.owner" ]; then
		need_root
		hugepages_restore "$state"
		rm -f "$state/hugepages.owner"
	fi
	exit "$rc"
	;;
*)
	usage_die "unknown subcommand '$cmd'"
	;;
esac
