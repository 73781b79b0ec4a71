#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/run.sh - vhostile-net and DPDK's vhost backend side by side, with the
# same real frontend (DPDK virtio-user in dpdk-testpmd), row by row, and a
# table of pps, Gbps, backend CPU% and the vhostile/DPDK ratio.
#
#   bench/run.sh [--quick] [options]          (as root; see bench/README.md)
#
# Cases (each for split and packed rings, each row vhostile then DPDK):
#   sink   guest->sink: frontend txonly; backend (a) vhostile-net --backend
#          null (full virtqueue path, TX discarded), (b) testpmd net_vhost in
#          rxonly.  Counted at the backend: frames taken off the guest's ring.
#   g2tap  guest->TAP: frontend txonly; backend (a) vhostile-net --tap,
#          (b) testpmd net_vhost <-> net_tap in io forwarding.  The TAP lives
#          in a namespace created here; counted at the TAP (rx_packets, i.e.
#          frames the kernel accepted).
#   tap2g  TAP->guest: vh_pktblast (AF_PACKET sendmmsg, qdisc bypass) keeps
#          the TAP's queue full from inside the namespace (backing off 50 us
#          whenever the TAP drops, so the frontend sharing its CPU keeps
#          refilling the RX ring); frontend rxonly; counted at the frontend
#          (frames that reached the guest's RX ring).
#   tso    guest->TAP with 64 KiB-class TSO frames (65000 B): the frontend
#          replays one IPv4/TCP frame from a pcap (net_pcap infinite_rx) and
#          forwards it to the virtio-user port with `csum` forwarding, TCP
#          checksum offload and `tso set 1448`; the DPDK reference is net_vhost
#          (tso=1) -> csum forwarding with `tso set 1446` -> net_tap (software
#          GSO; 1446 is the largest segment net_tap accepts on a 1500 MTU).
#          pps = guest frames/s taken by the backend, Gbps = bytes the TAP
#          accepted.
#   tsorx  TAP->guest with 64 KiB-class TSO frames: vh_pktblast sends 65000 B
#          IPv4/TCP frames with a GSO virtio-net header (PACKET_VNET_HDR) into
#          the TAP; the frontend (rxonly, Rx offloads TCP/UDP checksum, LRO and
#          scatter, 0x201c: it negotiates
#          GUEST_TSO4/6 and GUEST_CSUM) takes them.  vhostile-net enables TSO
#          on its TAP from the guest's offloads, so the frames reach the guest
#          whole; DPDK's net_tap negotiates no offloads, so the kernel segments
#          them (software GSO) and the guest gets 1514 B frames.  pps = frames
#          the guest received, Gbps = their bytes; ratio compares Gbps.
# Frame sizes follow RFC 2544 (on the wire, FCS included): "64" = 60 B and
# "1518" = 1514 B Ethernet frames (DPDK --txpkts / pktblast length); Gbps
# counts Ethernet bytes without FCS.
#
# CPU placement (2 CPUs are enough): both backends run on --backend-cpu
# (vhostile-net via taskset, DPDK's forwarding lcore there), the frontend's
# forwarding lcore and the TAP->guest generator on --frontend-cpu.
# vhostile-net runs in its default (and only) mode: event-driven.
# Backend CPU% = utime+stime delta of the backend process (/proc/PID/stat)
# over the measurement window / window length.
#
# Options:
#   --quick              shorter warm-up and window (whole run < 3 min)
#   --warmup S           seconds of traffic before the window (default 2; quick 1)
#   --seconds S          measurement window (default 5; quick 1.5)
#   --cases LIST         sink,g2tap,tap2g,tso,tsorx (default all)
#   --rings LIST         split,packed (default both)
#   --sizes LIST         64,1518 (default both; tso ignores it)
#   --repeat N           measure each row N times, backends alternated, and
#                        report the run with the median pps plus the spread
#                        (default 1; mind --budget)
#   --queue-size N       frontend ring size (virtio-user queue_size, default 1024)
#   --txqueuelen N       TAP queue length, both backends (default 1000)
#   --backend-cpu N      default 0
#   --frontend-cpu N     default 1
#   --vhostile PATH      default build/release/net/vhostile-net
#   --pktblast PATH      default build/release/bench/vh_pktblast
#   --budget S           hard wall-clock budget (default 570; quick 170):
#                        rows that would not fit are reported as skipped
#   --out DIR            also write results.tsv, logs, machine.txt there
#   --keep               keep the work directory (logs) in /tmp
#   --wait-quiet S       first wait up to S seconds for a quiet machine (load1
#                        < 0.5, no fuzz_*/afl-fuzz/qemu processes), then run
#                        anyway.  Whatever the machine: the table's oth%
#                        column is the CPU time everything but the backend,
#                        frontend and generator used during the windows, and
#                        rows where it exceeds 15% of a CPU are marked '*' 
#   --profile            no table: profile vhostile-net on the first of --cases
#                        (sink or g2tap; default sink), 64 B, first of --rings
#                        (frontend txonly as above): `perf record`
#                        (cpu-clock sampling, DWARF call graphs) top functions
#                        and CPU ns per packet; then `valgrind --tool=callgrind`
#                        instructions per packet (Ir counted between a zero and
#                        a dump / packets counted between the same instants;
#                        this instance runs with --no-sandbox; sink only)
#   -h, --help
# Binaries missing -> built with `cmake --preset release` first.
# Exit: 0 table printed, 1 error, 2 usage.
#
# Clean-up on every exit path: only processes started here are signalled
# (bounded by timeout(1) even if this script is killed), the namespace and
# the private hugetlbfs mount are removed, DPDK runtime dirs of our file
# prefixes deleted.  nr_hugepages is only ever raised (other DPDK users may
# rely on the pool), never lowered.
set -euo pipefail

prog=bench/run.sh
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { sed -n '/^# bench\/run.sh/,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'; }
usage_die() { printf '%s: usage error: %s\n' "$prog" "$*" >&2; exit 2; }

# ------------------------------------------------------------------ options
QUICK=0 WARM='' WIN='' CASES=sink,g2tap,tap2g,tso,tsorx RINGS=split,packed SIZES=64,1518
QSIZE=1024 TXQLEN=1000 BCPU=0 FCPU=1 BUDGET='' OUT='' KEEP=0 PROFILE=0 WAITQ=0 REPEAT=1
VH_BIN=$REPO/build/release/net/vhostile-net
BLAST=$REPO/build/release/bench/vh_pktblast
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; shift ;;
	--warmup) WARM=${2:?}; shift 2 ;;
	--seconds) WIN=${2:?}; shift 2 ;;
	--cases) CASES=${2:?}; shift 2 ;;
	--rings) RINGS=${2:?}; shift 2 ;;
	--sizes) SIZES=${2:?}; shift 2 ;;
	--queue-size) QSIZE=${2:?}; shift 2 ;;
	--txqueuelen) TXQLEN=${2:?}; shift 2 ;;
	--backend-cpu) BCPU=${2:?}; shift 2 ;;
	--frontend-cpu) FCPU=${2:?}; shift 2 ;;
	--vhostile) VH_BIN=${2:?}; shift 2 ;;
	--pktblast) BLAST=${2:?}; shift 2 ;;
	--budget) BUDGET=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--profile) PROFILE=1; shift ;;
	--wait-quiet) WAITQ=${2:?}; shift 2 ;;
	--repeat) REPEAT=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_die "unknown argument '$1' (--help)" ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	: "${WARM:=1}" "${WIN:=1.5}" "${BUDGET:=170}"
else
	: "${WARM:=2}" "${WIN:=5}" "${BUDGET:=570}"
fi
isnum() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
isint() { [[ $1 =~ ^[0-9]+$ ]]; }
if ! { isnum "$WARM" && isnum "$WIN" && isint "$BUDGET"; }; then
	usage_die "--warmup/--seconds/--budget: numbers"
fi
if ! { isint "$QSIZE" && isint "$TXQLEN" && isint "$BCPU" && isint "$FCPU" && isint "$WAITQ" && isint "$REPEAT"; }; then
	usage_die "numeric option expected"
fi
[ "$REPEAT" -ge 1 ] || usage_die "--repeat N, N >= 1"
[ "$BCPU" != "$FCPU" ] || usage_die "--backend-cpu and --frontend-cpu must differ"
for c in ${CASES//,/ }; do case $c in sink | g2tap | tap2g | tso | tsorx) ;; *) usage_die "case '$c'" ;; esac; done
for r in ${RINGS//,/ }; do case $r in split | packed) ;; *) usage_die "ring '$r'" ;; esac; done
for s in ${SIZES//,/ }; do case $s in 64 | 1518) ;; *) usage_die "size '$s' (64 or 1518)" ;; esac; done
case $QSIZE in 256 | 512 | 1024 | 2048 | 4096) ;; *) usage_die "--queue-size 256..4096, power of two" ;; esac

# ------------------------------------------------------------- preflight
[ "$(id -u)" -eq 0 ] || die "must run as root (namespace, TAP, hugepages)"
# Debian packages (idempotent; no network when everything is installed)
{ "$REPO/scripts/deps.sh" && "$REPO/scripts/deps.sh" --bench; } >&2 || die "scripts/deps.sh failed"
for c in dpdk-testpmd python3 ip taskset timeout pgrep awk mount umount; do
	command -v "$c" >/dev/null 2>&1 ||
		die "missing '$c' (Debian: scripts/deps.sh --bench)"
done
[ -c /dev/net/tun ] || die "no /dev/net/tun"
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
[ -d "$HP" ] || die "no 2 MiB hugepage support in this kernel"
if [ ! -x "$VH_BIN" ] || [ ! -x "$BLAST" ]; then
	case $VH_BIN$BLAST in
	"$REPO/build/release/net/vhostile-net$REPO/build/release/bench/vh_pktblast")
		log "building the release preset (vhostile-net, vh_pktblast)"
		(cd "$REPO" && cmake --preset release >/dev/null &&
			cmake --build --preset release --target vhostile-net vh_pktblast >/dev/null) ||
			die "build failed (cmake --preset release && cmake --build --preset release)"
		;;
	*) die "not executable: $VH_BIN or $BLAST" ;;
	esac
fi
HELPER=$BENCH_DIR/dpdk_helper.py
TCK=$(getconf CLK_TCK)
DPDK_VER=$(dpdk-testpmd -v --no-huge -m 16 --no-pci --in-memory -- --help 2>&1 |
	grep -o 'DPDK [0-9][0-9.]*' | head -1 || true)
: "${DPDK_VER:=DPDK (version unknown)}"

# ---------------------------------------------------------- state, cleanup
ID=$$
T_START=$SECONDS
WORK=$(mktemp -d /tmp/vhbench.XXXXXX)
HUGE=$WORK/huge
NS=vhbench-$ID
TAPV=vhbv$ID # vhostile's TAP
TAPD=vhbd$ID # DPDK net_tap's TAP
MOUNTED=0
WRAPPERS=() # timeout(1) PIDs of everything long-lived we started
PREFIXES=()

# stop_wrapper PID: SIGTERM the command under timeout(1) wrapper PID (timeout
# forwards it), wait up to 10 s, then SIGKILL it.  Only this one process tree.
stop_wrapper() {
	local w=$1 c i
	kill -0 "$w" 2>/dev/null || { wait "$w" 2>/dev/null || true; return 0; }
	c=$(pgrep -P "$w" 2>/dev/null | head -1 || true)
	kill -TERM "$w" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$w" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$w" 2>/dev/null; then
		log "pid ${c:-$w} ignored SIGTERM for 10 s: SIGKILL"
		[ -n "$c" ] && kill -KILL "$c" 2>/dev/null
		kill -KILL "$w" 2>/dev/null || true
	fi
	wait "$w" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by trap
cleanup() {
	local rc=$? w p
	trap - EXIT INT TERM
	for w in "${WRAPPERS[@]}"; do
		stop_wrapper "$w"
	done
	ip netns del "$NS" 2>/dev/null || true
	if [ "$MOUNTED" = 1 ]; then
		umount "$HUGE" 2>/dev/null || umount -l "$HUGE" 2>/dev/null || log "warning: umount $HUGE failed"
	fi
	for p in "${PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$p"
	done
	if [ "$KEEP" = 1 ]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# spawn NAME LIMIT_S CMD... : background CMD under timeout(1) (hard bound),
# output to $WORK/NAME.log; sets LAST_WRAPPER.  CMD may start with
# `ip netns exec NS` (ip execs, so the wrapper is still timeout's parent).
spawn() {
	local name=$1 lim=$2
	shift 2
	timeout -k 5 "$lim" "$@" </dev/null >"$WORK/$name.log" 2>&1 &
	LAST_WRAPPER=$!
	WRAPPERS+=("$LAST_WRAPPER")
}
spawn_ns() {
	local name=$1 lim=$2
	shift 2
	ip netns exec "$NS" timeout -k 5 "$lim" "$@" </dev/null >"$WORK/$name.log" 2>&1 &
	LAST_WRAPPER=$!
	WRAPPERS+=("$LAST_WRAPPER")
}
forget_wrapper() {
	local w=$1 i keep=()
	for i in "${WRAPPERS[@]}"; do
		[ "$i" = "$w" ] || keep+=("$i")
	done
	WRAPPERS=("${keep[@]}")
}
# child_of WRAPPER: the PID of the command timeout(1) runs.
child_of() {
	local i c
	for ((i = 0; i < 50; i++)); do
		c=$(pgrep -P "$1" 2>/dev/null | head -1 || true)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
	done
	return 1
}
remaining() { echo $((BUDGET - (SECONDS - T_START))); }
lim() {
	local r
	r=$(remaining)
	if [ "$r" -gt 10 ]; then echo "$r"; else echo 10; fi
}

# --------------------------------------------------------------- machine
busy_procs() {
	ps -eo comm= | awk '/^(fuzz_|qemu|afl-fuzz)/ { n[$1]++ } END { for (k in n) { printf "%s%s x%d", s, k, n[k]; s = ", " } }'
}
quiet_status() {
	local load busy
	load=$(cut -d' ' -f1 /proc/loadavg)
	busy=$(busy_procs)
	if awk -v l="$load" 'BEGIN { exit !(l < 0.5) }' && [ -z "$busy" ]; then
		echo "quiet (load1 $load)"
	else
		echo "NOT quiet (load1 $load${busy:+; running: $busy})"
	fi
}
Q0=$(quiet_status)
if [ "$WAITQ" -gt 0 ]; then
	T_WAIT=$SECONDS
	while [ "${Q0#quiet}" = "$Q0" ] && [ $((SECONDS - T_WAIT)) -lt "$WAITQ" ]; do
		log "waiting for a quiet machine ($Q0)"
		sleep 10
		Q0=$(quiet_status)
	done
	T_START=$SECONDS # the budget counts from here
fi
{
	echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
	echo "dpdk: $DPDK_VER (dpdk-testpmd $(command -v dpdk-testpmd))"
	echo "vhostile-net: $VH_BIN ($("$VH_BIN" --version 2>&1 | sed -n 1p))"
	echo "settings: warm-up ${WARM}s, window ${WIN}s, frontend queue_size $QSIZE, TAP txqueuelen $TXQLEN, backend CPU $BCPU, frontend CPU $FCPU"
	echo "machine at start: $Q0"
} >"$WORK/machine.txt"
cat "$WORK/machine.txt" >&2

# ------------------------------------------------------------- hugepages
NEED=340 # 2 MiB pages: frontend (-m 384 for TSO) + DPDK backend (-m 256) + slack
free=$(cat "$HP/free_hugepages")
if [ "$free" -lt "$NEED" ]; then
	total=$(cat "$HP/nr_hugepages")
	log "hugepages: $free of $total free; raising nr_hugepages to $((total + NEED - free)) (never lowered)"
	echo $((total + NEED - free)) >"$HP/nr_hugepages"
	free=$(cat "$HP/free_hugepages")
	[ "$free" -ge "$NEED" ] || die "only $free free 2 MiB hugepages (need $NEED)"
fi
mkdir -p "$HUGE"
mount -t hugetlbfs -o pagesize=2M,size=$((NEED * 2))M nodev "$HUGE" || die "cannot mount hugetlbfs on $HUGE"
MOUNTED=1
EAL_COMMON=(--huge-dir "$HUGE" --single-file-segments --no-pci --log-level=lib.eal:warning)

# ------------------------------------------------------ namespace, daemons
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true

VH_MAXQ=$((QSIZE > 1024 ? QSIZE : 1024))
SOCK_VN=$WORK/vh-null.sock
SOCK_VT=$WORK/vh-tap.sock
# vhostile-net, --backend null (guest->sink), pinned to the backend CPU.
spawn vh-null "$(lim)" taskset -c "$BCPU" "$VH_BIN" --socket-path "$SOCK_VN" --backend null \
	--keep-listening --queue-size "$VH_MAXQ"
VHN_W=$LAST_WRAPPER
# vhostile-net on a TAP inside the namespace (guest->TAP, TAP->guest, TSO).
spawn_ns vh-tap "$(lim)" taskset -c "$BCPU" "$VH_BIN" --socket-path "$SOCK_VT" --tap "$TAPV" \
	--keep-listening --queue-size "$VH_MAXQ"
VHT_W=$LAST_WRAPPER
for ((i = 0; i < 100; i++)); do
	[ -S "$SOCK_VN" ] && [ -S "$SOCK_VT" ] && break
	if ! kill -0 "$VHN_W" 2>/dev/null || ! kill -0 "$VHT_W" 2>/dev/null; then
		cat "$WORK"/vh-*.log >&2
		die "vhostile-net exited during start-up"
	fi
	sleep 0.05
done
if [ ! -S "$SOCK_VN" ] || [ ! -S "$SOCK_VT" ]; then die "vhostile-net: no socket after 5 s"; fi
VHN_PID=$(child_of "$VHN_W") || die "vhostile-net (null): no pid"
VHT_PID=$(child_of "$VHT_W") || die "vhostile-net (tap): no pid"
# stdout carries the SIGUSR1 JSON; timeout(1) shares it with the log file.
ip -n "$NS" link set "$TAPV" up txqueuelen "$TXQLEN"
log "vhostile-net pids $VHN_PID (null) and $VHT_PID (TAP $TAPV in netns $NS)"

PCAP=$WORK/tso.pcap
TSO_LEN=65000
python3 "$HELPER" pcap "$PCAP" "$TSO_LEN"
printf '%s\n' 'port stop all' 'csum set ip hw 1' 'csum set tcp hw 1' 'tso set 1448 1' 'port start all' \
	>"$WORK/fe-tso.cmd"
printf '%s\n' 'port stop all' 'csum set ip hw 1' 'csum set tcp hw 1' 'tso set 1446 1' 'port start all' \
	>"$WORK/be-tso.cmd"

# -------------------------------------------------------------- samplers
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# vh_stats PID LOG DIR(tx|rx): one SIGUSR1 JSON line -> "packets bytes"
vh_stats() {
	local pid=$1 f=$2 dir=$3 before line i
	before=$(grep -c '^{"time"' "$f" || true)
	kill -USR1 "$pid"
	for ((i = 0; i < 200; i++)); do
		if [ "$(grep -c '^{"time"' "$f" || true)" -gt "$before" ]; then
			line=$(grep '^{"time"' "$f" | tail -1)
			printf '%s' "$line" | grep -o "\"$dir\":{[^}]*}" | awk 'NR == 1' |
				awk -F'[:,]' '{ for (i = 1; i < NF; i++) { if ($i ~ /"packets"/) p = $(i + 1); if ($i ~ /"bytes"/) b = $(i + 1) } print p, b }'
			return 0
		fi
		sleep 0.01
	done
	return 1
}
# dpdk_stats PREFIX PORT -> "ipackets ibytes opackets obytes oerrors"
dpdk_stats() { python3 "$HELPER" stats "$1" "$2"; }
# tap_stats DEV -> "rx_packets rx_bytes tx_packets tx_dropped"
tap_stats() {
	# shellcheck disable=SC2016 # $1 is expanded by the inner sh
	ip netns exec "$NS" sh -c 'cd /sys/class/net/$1/statistics && echo $(cat rx_packets rx_bytes tx_packets tx_dropped)' sh "$1"
}

# counters CASE BACKEND -> "pkts bytes" at this instant
counters() {
	local a b
	case $1/$2 in
	sink/vh) vh_stats "$VHN_PID" "$WORK/vh-null.log" tx ;;
	sink/dpdk) dpdk_stats "$BE_PREFIX" 0 | awk '{ print $1, $2 }' ;;
	g2tap/vh) tap_stats "$TAPV" | awk '{ print $1, $2 }' ;;
	g2tap/dpdk) tap_stats "$TAPD" | awk '{ print $1, $2 }' ;;
	tap2g/* | tsorx/*) dpdk_stats "$FE_PREFIX" 0 | awk '{ print $1, $2 }' ;;
	tso/vh)
		a=$(vh_stats "$VHT_PID" "$WORK/vh-tap.log" tx | awk '{ print $1 }')
		b=$(tap_stats "$TAPV" | awk '{ print $2 }')
		echo "$a $b"
		;;
	tso/dpdk)
		a=$(dpdk_stats "$BE_PREFIX" 0 | awk '{ print $1 }')
		b=$(tap_stats "$TAPD" | awk '{ print $2 }')
		echo "$a $b"
		;;
	esac
}

# busy ticks of all CPUs (everything but idle and iowait)
all_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# ticks of the processes in "$@" (ours: frontend, generator), 0 if gone
ours_ticks() {
	local p t=0 x
	for p in "$@"; do
		x=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
		t=$((t + x))
	done
	echo "$t"
}

# sample CASE BACKEND PID [OTHER-PIDS...] -> "time cputicks pkts bytes
# all_busy_ticks ours_ticks"; time and backend CPU ticks are the midpoints of
# what was read before and after the counters.  all_busy - backend - ours =
# CPU time of everything else on the machine (the quietness check per row).
sample() {
	local t0 t1 c0 c1 v a o
	local c=$1 be=$2 pid=$3
	shift 3
	t0=$EPOCHREALTIME
	a=$(all_busy)
	o=$(ours_ticks "$@")
	c0=$(cpu_ticks "$pid")
	v=$(counters "$c" "$be") || return 1
	c1=$(cpu_ticks "$pid")
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v v="$v" -v all="$a" -v o="$o" \
		'BEGIN { printf "%.6f %.1f %s %s %s\n", (a + b) / 2, (c + d) / 2, v, all, o }'
}

# -------------------------------------------------------------- backends
RUN=0
BE_W='' BE_PID='' BE_PREFIX='' FE_PREFIX=''

# start_dpdk_backend KIND(sink|tap|tso) SOCK
start_dpdk_backend() {
	local kind=$1 sock=$2 i
	local eal vd fwd extra=()
	BE_PREFIX=vhb$ID-be$RUN
	PREFIXES+=("$BE_PREFIX")
	rm -f "$sock"
	eal=(-l "$BCPU,$FCPU" --main-lcore "$FCPU" -m 256 --file-prefix "$BE_PREFIX" "${EAL_COMMON[@]}")
	case $kind in
	sink)
		vd=(--vdev "net_vhost0,iface=$sock,queues=1")
		fwd=rxonly
		;;
	tap)
		vd=(--vdev "net_vhost0,iface=$sock,queues=1" --vdev "net_tap0,iface=$TAPD")
		fwd=io
		;;
	tso)
		vd=(--vdev "net_vhost0,iface=$sock,queues=1,tso=1" --vdev "net_tap0,iface=$TAPD")
		fwd=csum
		extra=(--cmdline-file="$WORK/be-tso.cmd")
		;;
	esac
	local args=(dpdk-testpmd "${eal[@]}" "${vd[@]}" -- --forward-mode="$fwd" "${extra[@]}" --auto-start
		--stats-period 3600 --nb-cores=1 --total-num-mbufs=32768 --disable-link-check)
	echo "${args[*]}" >"$WORK/be$RUN.cmdline"
	if [ "$kind" = sink ]; then
		spawn "be$RUN" "$(lim)" "${args[@]}"
	else
		spawn_ns "be$RUN" "$(lim)" "${args[@]}"
	fi
	BE_W=$LAST_WRAPPER
	for ((i = 0; i < 300; i++)); do
		if [ -S "$sock" ] && { [ "$kind" = sink ] || ip -n "$NS" link show "$TAPD" >/dev/null 2>&1; }; then
			grep -q 'packet forwarding - ports=' "$WORK/be$RUN.log" && break
		fi
		kill -0 "$BE_W" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q 'packet forwarding - ports=' "$WORK/be$RUN.log"; then
		tail -20 "$WORK/be$RUN.log" >&2
		return 1
	fi
	BE_PID=$(child_of "$BE_W") || return 1
	if [ "$kind" != sink ]; then
		ip -n "$NS" link set "$TAPD" up txqueuelen "$TXQLEN"
	fi
}
stop_dpdk_backend() {
	[ -n "$BE_W" ] || return 0
	stop_wrapper "$BE_W"
	forget_wrapper "$BE_W"
	BE_W='' BE_PID=''
}

# start_frontend CASE RING SIZE SOCK: dpdk-testpmd with virtio-user
start_frontend() {
	local c=$1 ring=$2 size=$3 sock=$4 i vdev args
	FE_PREFIX=vhb$ID-fe$RUN
	PREFIXES+=("$FE_PREFIX")
	vdev="net_virtio_user0,path=$sock,queues=1,queue_size=$QSIZE"
	[ "$ring" = packed ] && vdev="$vdev,packed_vq=1"
	args=(dpdk-testpmd -l "$BCPU,$FCPU" --main-lcore "$BCPU" --file-prefix "$FE_PREFIX" "${EAL_COMMON[@]}")
	case $c in
	sink | g2tap)
		args+=(-m 256 --vdev "$vdev" -- --forward-mode=txonly --txpkts="$size" --total-num-mbufs=32768) ;;
	tap2g)
		args+=(-m 256 --vdev "$vdev" -- --forward-mode=rxonly --total-num-mbufs=32768) ;;
	tsorx)
		args+=(-m 256 --vdev "$vdev" -- --forward-mode=rxonly --total-num-mbufs=32768
			--rx-offloads=0x201c) ;;
	tso)
		args+=(-m 384 --vdev "net_pcap0,rx_pcap=$PCAP,infinite_rx=1" --vdev "$vdev" --
			--forward-mode=csum --cmdline-file="$WORK/fe-tso.cmd" --mbuf-size=65535
			--total-num-mbufs=2048) ;;
	esac
	args+=(--auto-start --stats-period 3600 --nb-cores=1 --disable-link-check)
	echo "${args[*]}" >"$WORK/fe$RUN.cmdline"
	spawn "fe$RUN" "$(lim)" "${args[@]}"
	FE_W=$LAST_WRAPPER
	FE_PID=$(child_of "$FE_W") || FE_PID=0
	for ((i = 0; i < 300; i++)); do
		grep -q 'packet forwarding - ports=' "$WORK/fe$RUN.log" && return 0
		kill -0 "$FE_W" 2>/dev/null || break
		sleep 0.05
	done
	tail -20 "$WORK/fe$RUN.log" >&2
	return 1
}
stop_frontend() {
	[ -n "${FE_W:-}" ] || return 0
	stop_wrapper "$FE_W"
	forget_wrapper "$FE_W"
	FE_W=''
}

# --------------------------------------------------------------- one run
# measure CASE RING SIZE BACKEND(vh|dpdk): sets M_RES to "pps gbps cpu"
# ("- - -" if the run failed).  Not to be called in a subshell: it keeps the
# PID and prefix lists cleanup() works from.
measure() {
	local c=$1 ring=$2 size=$3 be=$4 sock pid s0 s1 gen_w='' len
	RUN=$((RUN + 1))
	M_RES="- - - -"
	len=$((size - 4))
	[ "$c" = tso ] || [ "$c" = tsorx ] && len=$TSO_LEN
	if [ "$be" = vh ]; then
		if [ "$c" = sink ]; then sock=$SOCK_VN pid=$VHN_PID; else sock=$SOCK_VT pid=$VHT_PID; fi
	else
		sock=$WORK/dpdk$RUN.sock
		local kind=tap
		[ "$c" = sink ] && kind=sink
		[ "$c" = tso ] && kind=tso
		if ! start_dpdk_backend "$kind" "$sock"; then
			log "$c/$ring/$size dpdk: backend did not start (log $WORK/be$RUN.log)"
			stop_dpdk_backend
			return 0
		fi
		pid=$BE_PID
	fi
	if ! start_frontend "$c" "$ring" "$len" "$sock"; then
		log "$c/$ring/$size $be: frontend did not start (log $WORK/fe$RUN.log)"
		stop_frontend
		[ "$be" = dpdk ] && stop_dpdk_backend
		return 0
	fi
	if [ "$c" = tap2g ] || [ "$c" = tsorx ]; then
		local tap=$TAPV
		[ "$be" = dpdk ] && tap=$TAPD
		local gsecs
		gsecs=$(awk -v w="$WARM" -v d="$WIN" 'BEGIN { print w + d + 2 }')
		spawn_ns "gen$RUN" "$(lim)" taskset -c "$FCPU" "$BLAST" "$tap" "$gsecs" "$len"
		gen_w=$LAST_WRAPPER
	fi
	sleep "$WARM"
	local others=("$FE_PID")
	[ -n "$gen_w" ] && others+=("$(child_of "$gen_w" || echo 0)")
	if s0=$(sample "$c" "$be" "$pid" "${others[@]}") && sleep "$WIN" &&
		s1=$(sample "$c" "$be" "$pid" "${others[@]}"); then
		echo "$s0" >"$WORK/run$RUN.s0"
		echo "$s1" >"$WORK/run$RUN.s1"
		# pps Gbps backend-cpu% foreign-cpu% (foreign: all busy CPU time
		# minus backend, frontend and generator; kernel work done for us in
		# softirq threads lands there too)
		M_RES=$(awk -v tck="$TCK" -v a="$s0" -v b="$s1" 'BEGIN {
			split(a, x, " "); split(b, y, " "); dt = y[1] - x[1]
			be = (y[2] - x[2]) / tck / dt; f = (y[5] - x[5]) / tck / dt - be - (y[6] - x[6]) / tck / dt
			printf "%.0f %.3f %.0f %.0f\n", (y[3] - x[3]) / dt, (y[4] - x[4]) * 8 / dt / 1e9,
				100 * be, (f > 0 ? 100 * f : 0) }')
	else
		log "$c/$ring/$size $be: sampling failed"
	fi
	[ "$be" = vh ] && [ "$c" = sink ] && [ "$ring" = split ] && [ "$size" = 64 ] &&
		grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|HugetlbPages)' "/proc/$VHN_PID/status" >"$WORK/rss-null.txt"
	[ "$be" = vh ] && [ "$c" = g2tap ] && [ "$ring" = split ] && [ "$size" = 64 ] &&
		grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|HugetlbPages)' "/proc/$VHT_PID/status" >"$WORK/rss-tap.txt"
	if [ -n "$gen_w" ]; then
		stop_wrapper "$gen_w"
		forget_wrapper "$gen_w"
	fi
	stop_frontend
	[ "$be" = dpdk ] && stop_dpdk_backend
	return 0
}

# --------------------------------------------------------------- profile
# profile_run: see --profile.  Output to stdout (and $WORK/profile.txt).
profile_run() {
	local p0 p1 t0 t1 c0 c1 w pid ir i pc pr psock ppid plog
	command -v perf >/dev/null 2>&1 || die "--profile needs perf (apt-get install linux-perf)"
	command -v valgrind >/dev/null 2>&1 || die "--profile needs valgrind"
	pc=${CASES%%,*} pr=${RINGS%%,*}
	case $pc in
	sink) psock=$SOCK_VN ppid=$VHN_PID plog=$WORK/vh-null.log ;;
	g2tap) psock=$SOCK_VT ppid=$VHT_PID plog=$WORK/vh-tap.log ;;
	*) die "--profile: case sink or g2tap, not '$pc'" ;;
	esac
	{
		echo "# vhostile-net profile: $pc, 60 B Ethernet frames (64 B on the wire), $pr ring, event-driven"
		sed 's/^/# /' "$WORK/machine.txt"
	} >"$WORK/profile.txt"

	# 1. perf on the real (sandboxed, pinned) daemon at full speed.
	RUN=$((RUN + 1))
	start_frontend "$pc" "$pr" 60 "$psock" || die "frontend did not start"
	sleep "$WARM"
	read -r p0 _ <<<"$(vh_stats "$ppid" "$plog" tx)"
	c0=$(cpu_ticks "$ppid")
	t0=$EPOCHREALTIME
	perf record -q -F 999 -g --call-graph dwarf -p "$ppid" -o "$WORK/perf.data" -- sleep "$WIN" \
		>"$WORK/perf-record.log" 2>&1 || die "perf record failed ($WORK/perf-record.log)"
	t1=$EPOCHREALTIME
	c1=$(cpu_ticks "$ppid")
	read -r p1 _ <<<"$(vh_stats "$ppid" "$plog" tx)"
	stop_frontend
	{
		awk -v p0="$p0" -v p1="$p1" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v tck="$TCK" 'BEGIN {
			dt = t1 - t0; n = p1 - p0; cpu = (c1 - c0) / tck
			printf "perf window %.2f s: %d packets, %.0f pps, backend CPU %.0f%%, %.0f ns of backend CPU per packet\n",
				dt, n, n / dt, 100 * cpu / dt, (n > 0 ? cpu * 1e9 / n : 0) }'
		echo "perf (cpu-clock samples, self time by DSO):"
		perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | awk 'NR <= 8'
		echo "perf (cpu-clock samples, self time, top 30; [k] = kernel, [.] = user):"
		perf report -i "$WORK/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | awk 'NR <= 30'
	} | tee -a "$WORK/profile.txt"
	if [ "$pc" != sink ]; then
		[ -z "$OUT" ] || { mkdir -p "$OUT" && cp "$WORK/profile.txt" "$OUT/profile-$pc-$pr.txt"; }
		return 0
	fi

	# 2. callgrind on a second, unsandboxed instance (valgrind needs syscalls
	#    the seccomp list does not allow).
	RUN=$((RUN + 1))
	local sock=$WORK/vh-cg.sock
	spawn vh-cg "$(lim)" valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
		"$VH_BIN" --socket-path "$sock" --backend null --keep-listening --no-sandbox --log-level warn
	w=$LAST_WRAPPER
	for ((i = 0; i < 200; i++)); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	[ -S "$sock" ] || die "vhostile-net under valgrind: no socket after 20 s"
	pid=$(child_of "$w")
	start_frontend sink "$pr" 60 "$sock" || die "frontend did not start (callgrind)"
	sleep 3
	read -r p0 _ <<<"$(vh_stats "$pid" "$WORK/vh-cg.log" tx)"
	callgrind_control -z "$pid" >/dev/null
	sleep "$(awk -v d="$WIN" 'BEGIN { print 2 * d }')"
	callgrind_control -d "$pid" >/dev/null
	read -r p1 _ <<<"$(vh_stats "$pid" "$WORK/vh-cg.log" tx)"
	stop_frontend
	stop_wrapper "$w"
	forget_wrapper "$w"
	ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$WORK/callgrind.out.1")
	{
		awk -v ir="$ir" -v n=$((p1 - p0)) 'BEGIN {
			printf "callgrind window: %d packets, %d instructions (Ir, user space): %.0f instructions per packet\n", n, ir, ir / n }'
		echo "callgrind (self Ir per packet, top 25):"
		callgrind_annotate --threshold=100 --inclusive=no "$WORK/callgrind.out.1" 2>/dev/null |
			grep -E '^ *[0-9,]+ \(' | grep -v -E 'PROGRAM TOTALS|clone.S|pthread_create.c' | awk 'NR <= 25' |
			awk -v n=$((p1 - p0)) '{ x = $1; gsub(",", "", x); sub(/^ *[0-9,]+ \( *[0-9.]+%\) */, ""); printf "%8.1f  %s\n", x / n, $0 }'
		echo "callgrind (inclusive Ir per packet, top 20):"
		callgrind_annotate --threshold=100 --inclusive=yes "$WORK/callgrind.out.1" 2>/dev/null |
			grep -E '^ *[0-9,]+ \(' | grep -v -E 'PROGRAM TOTALS|clone.S|pthread_create.c' | awk 'NR <= 20' |
			awk -v n=$((p1 - p0)) '{ x = $1; gsub(",", "", x); sub(/^ *[0-9,]+ \( *[0-9.]+%\) */, ""); printf "%8.1f  %s\n", x / n, $0 }'
	} | tee -a "$WORK/profile.txt"
	if [ -n "$OUT" ]; then
		mkdir -p "$OUT"
		cp "$WORK/profile.txt" "$OUT/profile-$pc-$pr.txt"
		cp "$WORK/callgrind.out.1" "$OUT/callgrind-$pc-$pr.out"
		log "profile in $OUT"
	fi
}
if [ "$PROFILE" = 1 ]; then
	profile_run
	exit 0
fi

# ------------------------------------------------------------------ rows
ROWS=()
for c in ${CASES//,/ }; do
	for ring in ${RINGS//,/ }; do
		if [ "$c" = tso ] || [ "$c" = tsorx ]; then
			ROWS+=("$c $ring 65000")
		else
			for s in ${SIZES//,/ }; do ROWS+=("$c $ring $s"); done
		fi
	done
done
# Worst-case seconds one row takes: per repetition two runs of start-up
# (~3 s), warm-up, window, sampling and stop (~2 s).
ROW_COST=$(awk -v w="$WARM" -v d="$WIN" -v r="$REPEAT" 'BEGIN { printf "%d", r * 2 * (w + d + 5) + 0.999 }')

# pick_median "pps gbps cpu oth" lines on stdin -> the line with the median
# pps (lower median for an even count) and the spread (max-min)/median in %
# appended; "- - - - -" if no run produced numbers.
pick_median() {
	awk '$1 ~ /^[0-9]/' | sort -n -k1,1 | awk '
		{ l[NR] = $0; p[NR] = $1 }
		END {
			if (NR == 0) { print "- - - - -"; exit }
			m = int((NR + 1) / 2)
			printf "%s %s\n", l[m], ((NR > 1 && p[m] > 0) ? sprintf("%.0f", 100 * (p[NR] - p[1]) / p[m]) : "-")
		}'
}

LOADED_ROWS=0
FOREIGN_MAX=15 # % of one CPU used by others during a window that marks the row
RESULTS=$WORK/results.tsv
printf 'case\tring\tframe\tvh_pps\tvh_gbps\tvh_cpu\tdpdk_pps\tdpdk_gbps\tdpdk_cpu\tratio\tothers_cpu\tvh_spread\tdpdk_spread\n' >"$RESULTS"
printf 'case\tring\tframe\tbackend\trepetition\tpps\tgbps\tcpu\tothers_cpu\n' >"$WORK/runs.tsv"
for row in "${ROWS[@]}"; do
	read -r c ring s <<<"$row"
	if [ "$(remaining)" -lt "$ROW_COST" ]; then
		log "$c/$ring/$s: skipped (time budget ${BUDGET}s)"
		printf '%s\t%s\t%s\tskipped\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' "$c" "$ring" "$s" >>"$RESULTS"
		continue
	fi
	vruns='' druns=''
	for ((rep = 1; rep <= REPEAT; rep++)); do
		# Alternate the backends so slow drifts of the machine hit both.
		measure "$c" "$ring" "$s" vh
		vruns+="$M_RES"$'\n'
		printf '%s\t%s\t%s\tvhostile\t%s\t%s\n' "$c" "$ring" "$s" "$rep" "${M_RES// /$'\t'}" >>"$WORK/runs.tsv"
		measure "$c" "$ring" "$s" dpdk
		druns+="$M_RES"$'\n'
		printf '%s\t%s\t%s\tdpdk\t%s\t%s\n' "$c" "$ring" "$s" "$rep" "${M_RES// /$'\t'}" >>"$WORK/runs.tsv"
	done
	read -r vp vg vc _ vs <<<"$(printf '%s' "$vruns" | pick_median)"
	read -r dp dg dc _ ds <<<"$(printf '%s' "$druns" | pick_median)"
	# TSO rows compare bytes (tsorx: the DPDK guest gets segments)
	case $c in tso | tsorx) ra=$vg rb=$dg ;; *) ra=$vp rb=$dp ;; esac
	ratio=$(awk -v a="$ra" -v b="$rb" 'BEGIN { if (a ~ /^[0-9]/ && b ~ /^[0-9]/ && b > 0) printf "%.2f", a / b; else print "-" }')
	oth=$(printf '%s%s' "$vruns" "$druns" | awk '{ x = $4 + 0; if (x > m) m = x } END { print m + 0 }')
	if [ "$oth" -gt "$FOREIGN_MAX" ]; then
		s="$s*"
		LOADED_ROWS=1
	fi
	log "$c/$ring/$s: vhostile $vp pps ${vc}% cpu, dpdk $dp pps ${dc}% cpu, ratio $ratio, others ${oth}% cpu"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$ring" "$s" "$vp" "$vg" "$vc" \
		"$dp" "$dg" "$dc" "$ratio" "$oth" "$vs" "$ds" >>"$RESULTS"
done

# ---------------------------------------------------------- clean stop
for w in "$VHN_W" "$VHT_W"; do
	stop_wrapper "$w"
	forget_wrapper "$w"
done
grep -h -o -E 'Sanitizer.*|runtime error.*|"broken":true' "$WORK"/vh-*.log >&2 || true
# The load average now includes this run: only other processes count here;
# the per-row oth% column is the real check.
Q1=$(busy_procs)
if [ -n "$Q1" ]; then Q1="NOT quiet (running: $Q1)"; else Q1="no fuzz_*/afl-fuzz/qemu processes"; fi
echo "machine at end: $Q1" >>"$WORK/machine.txt"

# ------------------------------------------------------------------ table
{
	echo "# vhostile-net vs DPDK vhost (testpmd net_vhost), frontend: DPDK virtio-user (testpmd), 1 queue pair"
	sed 's/^/# /' "$WORK/machine.txt"
	case "$Q0$Q1" in *NOT*) echo "# NOTE: measured under load from other processes: numbers are indicative only" ;; esac
	[ "$LOADED_ROWS" = 0 ] || echo "# rows marked * had other processes using > ${FOREIGN_MAX}% of a CPU during a window: not comparable"
	echo "# pps/Gbps/cpu%: vhostile-net (event-driven) | DPDK reference (busy-polling); ratio = vhostile pps / DPDK pps"
	echo "# (tso, tsorx: Gbps / Gbps); eff = the same ratio per backend CPU-second; oth% = CPU used by everything else"
	echo "# (worst of the windows)"
	echo "# frame = on-the-wire size incl. FCS (64 = 60 B, 1518 = 1514 B Ethernet frames; tso: 65000 B frames)"
	if [ "$REPEAT" -gt 1 ]; then
		echo "# each cell: the run with the median pps of $REPEAT (backends alternated); vh+-/dp+- = (max-min)/median pps in %"
	fi
	printf '%-6s %-6s %6s | %11s %7s %5s | %11s %7s %5s | %6s %6s %5s' case ring frame \
		vh_pps vh_Gbps vh_cpu dpdk_pps dp_Gbps dp_cpu ratio eff oth%
	[ "$REPEAT" -gt 1 ] && printf ' %5s %5s' vh+- dp+-
	echo
	tail -n +2 "$RESULTS" | while IFS=$'\t' read -r c ring s vp vg vc dp dg dc ratio oth vs ds; do
		case $c in tso | tsorx) ea=$vg eb=$dg ;; *) ea=$vp eb=$dp ;; esac
		eff=$(awk -v a="$ea" -v ac="$vc" -v b="$eb" -v bc="$dc" 'BEGIN {
			if (a ~ /^[0-9]/ && b ~ /^[0-9]/ && b > 0 && ac > 0 && bc > 0) printf "%.2f", (a / ac) / (b / bc); else print "-" }')
		printf '%-6s %-6s %6s | %11s %7s %5s | %11s %7s %5s | %6s %6s %5s' "$c" "$ring" "$s" \
			"$vp" "$vg" "$vc" "$dp" "$dg" "$dc" "$ratio" "$eff" "$oth"
		[ "$REPEAT" -gt 1 ] && printf ' %5s %5s' "$vs" "$ds"
		echo
	done
	for f in rss-null rss-tap; do
		[ -s "$WORK/$f.txt" ] || continue
		echo "# vhostile-net ${f#rss-} backend, 1 queue pair, connected: $(tr -s ' \t\n' ' ' <"$WORK/$f.txt")"
	done
	echo "# total time $((SECONDS - T_START)) s"
} | tee "$WORK/table.txt"

if [ -n "$OUT" ]; then
	mkdir -p "$OUT"
	cp "$WORK/table.txt" "$RESULTS" "$WORK/runs.tsv" "$WORK/machine.txt" "$OUT/"
	mkdir -p "$OUT/logs"
	cp "$WORK"/*.log "$WORK"/*.cmdline "$OUT/logs/" 2>/dev/null || true
	log "results in $OUT"
fi
exit 0
