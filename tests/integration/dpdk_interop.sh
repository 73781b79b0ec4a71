#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# dpdk_interop.sh - DPDK's virtio-user frontend (dpdk-testpmd, Debian package
# dpdk) passes traffic through vhostile-net, split and packed rings.
#
#   dpdk_interop.sh VHOSTILE_NET PKTSEND [DAEMON-ARGS...]
#
# VHOSTILE_NET is the daemon binary, PKTSEND the AF_PACKET frame injector
# (tests/integration/pktsend.c); DAEMON-ARGS are appended to the daemon's
# command line (the sanitizer builds pass --no-sandbox).  Environment:
# VH_DPDK_SECONDS (traffic time per run, default 4).
#
# What it does, all bounded in time and undone on every exit path:
#  - 2 MiB hugepages: nr_hugepages is raised only if fewer than the pages this
#    test needs are free (never lowered: another DPDK user may rely on them);
#    a PRIVATE hugetlbfs (size-limited) is mounted on a mktemp -d directory
#    and handed to testpmd with --huge-dir, --single-file-segments (without
#    it virtio-user exceeds the 8-region vhost-user limit and never sends
#    SET_MEM_TABLE), -m 256, a unique --file-prefix, --no-pci;
#  - a network namespace of its own; vhostile-net runs inside it (ip netns
#    exec) with --tap and --keep-listening, seccomp on by default; testpmd
#    only needs the unix socket;
#  - four testpmd sessions against the same daemon (so reconnects with a real
#    frontend are exercised too): txonly and rxonly, each split and packed
#    (virtio_user ...,packed_vq=1).  txonly: frames the guest sends must show
#    up as rx_packets of the TAP; rxonly: frames injected into the TAP from
#    inside the namespace (pktsend) must reach testpmd's RX;
#  - counters from three independent places: the TAP (sysfs statistics in
#    the namespace), the daemon (SIGUSR1 JSON, while the session runs) and
#    testpmd's own forward statistics; a table with packets and pps;
#  - finally SIGTERM: the daemon must exit 0 within 2 s.
# Exit: 0 pass, 1 fail, 77 skip (not root, no dpdk-testpmd, no /dev/net/tun).
# Other users of DPDK/QEMU on the machine are left alone: only PIDs started
# here are signalled, names are suffixed with our PID.
set -u

SKIP=77
prog=dpdk_interop
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
skip() { echo "# SKIP: $*"; exit $SKIP; }

[ $# -ge 2 ] || { echo "usage: $0 VHOSTILE_NET PKTSEND [DAEMON-ARGS...]" >&2; exit 2; }
BIN=$1
SEND=$2
shift 2
DARGS=("$@")
DUR=${VH_DPDK_SECONDS:-4}

[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v dpdk-testpmd >/dev/null 2>&1 || skip "dpdk-testpmd not installed (apt-get install dpdk)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null 2>&1 || skip "no iproute2"
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
[ -d "$HP" ] || skip "no 2 MiB hugepage support"
for f in "$BIN" "$SEND"; do
	[ -x "$f" ] || { log "not executable: $f"; exit 1; }
done

NEED=160 # 2 MiB pages: -m 256 plus slack
ID=$$
NS=vhdpdk-$ID
TAP=vhdp$ID
WORK=$(mktemp -d /tmp/vh-dpdk.XXXXXX)
HUGE=$WORK/huge
SOCK=$WORK/vhostile.sock
DPID=''
TPID=''
SPID=''
MOUNTED=0
PREFIXES=()
FAILED=0

cleanup() {
	local p
	for p in $SPID $TPID; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $SPID $TPID; do
		wait "$p" 2>/dev/null
	done
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	if [ "$MOUNTED" = 1 ]; then
		umount "$HUGE" 2>/dev/null || umount -l "$HUGE" 2>/dev/null || log "warning: umount $HUGE failed"
	fi
	ip netns del "$NS" 2>/dev/null
	for p in "${PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$p"
	done
	if [ "$FAILED" = 1 ] && [ -z "${VH_DPDK_KEEP:-}" ]; then
		for p in "$WORK"/*.log; do
			[ -f "$p" ] || continue
			echo "---- $(basename "$p") (last 30 lines) ----" >&2
			tr -d '\r' <"$p" | grep -v '^\s*$' | tail -30 >&2
		done
	fi
	if [ -n "${VH_DPDK_KEEP:-}" ]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	log "FAIL: $*"
	FAILED=1
	exit 1
}

# ---- hugepages: raise only if needed, never lower; private mount ----------
free=$(cat "$HP/free_hugepages")
total=$(cat "$HP/nr_hugepages")
if [ "$free" -lt "$NEED" ]; then
	want=$((total + NEED - free))
	log "hugepages: $free of $total free, raising nr_hugepages to $want"
	echo "$want" >"$HP/nr_hugepages" 2>/dev/null
	free=$(cat "$HP/free_hugepages")
	[ "$free" -ge "$NEED" ] || fail "only $free free 2 MiB hugepages after raising nr_hugepages (need $NEED)"
fi
mkdir -p "$HUGE"
mount -t hugetlbfs -o pagesize=2M,size=$((NEED * 2))M nodev "$HUGE" || fail "cannot mount hugetlbfs on $HUGE"
MOUNTED=1

# ---- namespace, daemon ------------------------------------------------------
ip netns add "$NS" || fail "ip netns add $NS"
ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
ip -n "$NS" link set lo up
# ip netns exec execs the program: $! is the daemon's own PID.
ip netns exec "$NS" "$BIN" --socket-path "$SOCK" --tap "$TAP" --keep-listening "${DARGS[@]}" \
	>"$WORK/daemon.out" 2>"$WORK/daemon.log" </dev/null &
DPID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && break
	kill -0 "$DPID" 2>/dev/null || fail "vhostile-net exited during start-up"
	sleep 0.05
done
[ -S "$SOCK" ] || fail "vhostile-net: no socket after 5 s"
ip -n "$NS" link set "$TAP" up || fail "TAP $TAP not in namespace $NS"
log "vhostile-net pid $DPID in netns $NS, TAP $TAP, socket $SOCK ${DARGS[*]}"

tapstat() { # rx_packets|tx_packets|tx_dropped
	ip netns exec "$NS" cat "/sys/class/net/$TAP/statistics/$1"
}

# Ask the running daemon for one stats line (SIGUSR1) and print it.
daemon_stats() {
	local before after
	before=$(wc -l <"$WORK/daemon.out")
	kill -USR1 "$DPID" || return 1
	for _ in $(seq 40); do
		after=$(wc -l <"$WORK/daemon.out")
		[ "$after" -gt "$before" ] && { tail -n 1 "$WORK/daemon.out"; return 0; }
		sleep 0.05
	done
	return 1
}

json_num() { # JSON DIR KEY -> number of queue pair 0
	printf '%s' "$1" | grep -o "\"$2\":{[^}]*}" | head -1 | grep -o "\"$3\":[0-9]*" | cut -d: -f2
}

tp_stat() { # LOG FIELD (RX-packets|TX-packets) from the accumulated block
	tr -d '\r' <"$1" | awk -v f="$2:" '
		/Accumulated forward statistics/ { acc = 1 }
		acc { for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

ROWS=()
run() { # MODE RING
	local mode=$1 ring=$2 vdev prefix tlog sent_line=''
	local tap_rx0 tap_tx0 tap_rx1 tap_tx1 tap_dr0 tap_dr1 conn0 json tp_rx tp_tx d_rx d_tx pps t0 t1
	prefix=vhdpdk-$ID-$mode-$ring
	PREFIXES+=("$prefix")
	tlog=$WORK/testpmd-$mode-$ring.log
	vdev="net_virtio_user0,path=$SOCK,queues=1,mac=52:54:00:12:34:56"
	[ "$ring" = packed ] && vdev="$vdev,packed_vq=1"
	conn0=$(grep -c 'frontend connected' "$WORK/daemon.log")
	tap_rx0=$(tapstat rx_packets)
	tap_tx0=$(tapstat tx_packets)
	tap_dr0=$(tapstat tx_dropped)
	timeout -k 5 $((DUR + 30)) dpdk-testpmd -l 0,1 --main-lcore 0 -m 256 --huge-dir "$HUGE" \
		--single-file-segments --file-prefix "$prefix" --no-pci --vdev "$vdev" -- \
		--forward-mode="$mode" --auto-start --stats-period 1 --nb-cores=1 \
		--total-num-mbufs=16384 --disable-link-check </dev/null >"$tlog" 2>&1 &
	TPID=$!
	# the session is up when the daemon saw the frontend and testpmd forwards
	for _ in $(seq 200); do
		if [ "$(grep -c 'frontend connected' "$WORK/daemon.log")" -gt "$conn0" ] &&
			grep -q 'packet forwarding - ports=' "$tlog"; then
			break
		fi
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$TPID" 2>/dev/null || fail "$mode/$ring: testpmd exited early (log $tlog)"
	grep -q 'packet forwarding - ports=' "$tlog" || fail "$mode/$ring: testpmd did not start forwarding"
	t0=$(date +%s.%N)
	if [ "$mode" = rxonly ]; then
		ip netns exec "$NS" "$SEND" "$TAP" "$DUR" 60 >"$WORK/pktsend-$ring.out" 2>&1 &
		SPID=$!
		wait "$SPID" || fail "$mode/$ring: pktsend failed: $(cat "$WORK/pktsend-$ring.out")"
		SPID=''
		sent_line=$(cat "$WORK/pktsend-$ring.out")
		sleep 0.3 # let the TAP queue drain into the guest before sampling
	else
		sleep "$DUR"
	fi
	t1=$(date +%s.%N)
	tap_rx1=$(tapstat rx_packets)
	tap_tx1=$(tapstat tx_packets)
	tap_dr1=$(tapstat tx_dropped)
	json=$(daemon_stats) || fail "$mode/$ring: no stats line after SIGUSR1"
	kill -0 "$DPID" 2>/dev/null || fail "$mode/$ring: vhostile-net died"
	kill -TERM "$TPID"
	wait "$TPID"
	TPID=''
	tp_rx=$(tp_stat "$tlog" RX-packets)
	tp_tx=$(tp_stat "$tlog" TX-packets)
	d_rx=$(json_num "$json" rx packets)
	d_tx=$(json_num "$json" tx packets)
	echo "# $mode/$ring daemon stats: $json"
	[ -n "$sent_line" ] && echo "# $mode/$ring pktsend: $sent_line"
	case $json in *'"broken":true'*) fail "$mode/$ring: a queue latched broken: $json" ;; esac
	local dt tap_d
	dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	if [ "$mode" = txonly ]; then
		tap_d=$((tap_rx1 - tap_rx0))
		[ "${tp_tx:-0}" -gt 0 ] || fail "$mode/$ring: testpmd sent nothing"
		[ "$tap_d" -ge 1000 ] || fail "$mode/$ring: only $tap_d frames reached the TAP"
		[ "${d_tx:-0}" -ge "$tap_d" ] || fail "$mode/$ring: daemon tx $d_tx < TAP rx $tap_d"
		[ "$d_tx" -le "$tp_tx" ] || fail "$mode/$ring: daemon tx $d_tx > testpmd tx $tp_tx"
	else
		tap_d=$((tap_tx1 - tap_tx0))
		[ "$tap_d" -ge 1000 ] || fail "$mode/$ring: only $tap_d frames left the TAP towards the daemon"
		[ "${tp_rx:-0}" -ge 1000 ] || fail "$mode/$ring: testpmd received only ${tp_rx:-0} frames"
		[ "${d_rx:-0}" -ge "$tp_rx" ] || fail "$mode/$ring: daemon rx $d_rx < testpmd rx $tp_rx"
	fi
	pps=$(awk -v n="$tap_d" -v t="$dt" 'BEGIN { printf "%.0f", n / t }')
	ROWS+=("$(printf '%-7s %-7s %6s %11s %11s %11s %11s %11s %11s %11s %9s' "$mode" "$ring" \
		"$dt" "${tp_tx:-0}" "${tp_rx:-0}" "${d_tx:-0}" "${d_rx:-0}" "$((tap_rx1 - tap_rx0))" \
		"$((tap_tx1 - tap_tx0))" "$((tap_dr1 - tap_dr0))" "$pps")")
	log "$mode/$ring: ok ($tap_d frames across the TAP, $pps pps)"
}

run txonly split
run txonly packed
run rxonly split
run rxonly packed

# ---- clean exit ----------------------------------------------------------------
kill -TERM "$DPID"
rc=''
for _ in $(seq 40); do
	if ! kill -0 "$DPID" 2>/dev/null; then
		wait "$DPID"
		rc=$?
		break
	fi
	sleep 0.05
done
[ -n "$rc" ] || fail "vhostile-net still running 2 s after SIGTERM"
DPID=''
[ "$rc" -eq 0 ] || fail "vhostile-net exited $rc after SIGTERM"
if grep -qE 'Sanitizer|runtime error' "$WORK/daemon.log"; then
	fail "sanitizer report in the daemon log"
fi

echo "# DPDK virtio-user (testpmd) <-> vhostile-net <-> TAP, ${DUR} s per run, 64 B (txonly) / 60 B (rxonly) frames"
echo "# tap_rx: frames the daemon wrote into the TAP; tap_tx: frames the TAP queued for the daemon;"
echo "# tap_txdrop: TAP queue overflow (injector faster than the path); pps = frames across the TAP / secs"
printf '%-7s %-7s %6s %11s %11s %11s %11s %11s %11s %11s %9s\n' mode ring secs testpmd_tx testpmd_rx \
	daemon_tx daemon_rx tap_rx tap_tx tap_txdrop pps
for r in "${ROWS[@]}"; do
	echo "$r"
done
echo "# SUMMARY: PASS (txonly and rxonly, split and packed; SIGTERM -> exit 0)"
exit 0
