#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: Apache-2.0
# /init of the e2e guest (embedded by tests/e2e/mkinitramfs.sh).  Busybox ash.
#
# Parameters come from the kernel command line (all optional):
#   vh.ip=10.99.0.2/24     address of eth0
#   vh.peer=10.99.0.1      the TAP side (iperf3 -s runs there)
#   vh.mode=ping,iperf     what to run (comma list: ping, iperf; "none" = boot only)
#   vh.ping_count=20       measured echo requests (after a warm-up, see below)
#   vh.ping_interval=0.2   seconds between them
#   vh.iperf_time=5        seconds per iperf3 direction
#   vh.iperf_parallel=1    iperf3 -P
#   vh.queues=1            queue pairs to enable with `ethtool -L eth0 combined N`
#                          (busybox has no ethtool; mkinitramfs.sh copies the
#                          host's /usr/sbin/ethtool when installed.  Without
#                          it the virtio_net default applies, which is
#                          min(#vCPUs, max_queue_pairs), i.e. 1 with -smp 1.)
#
# Everything the host parses is one line starting with "E2E-RESULT " (key=value
# fields) and a final "E2E-DONE status=ok|fail".  The guest always powers off.

PATH=/bin:/sbin
export PATH

/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null || /bin/busybox mount -t tmpfs tmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin

status=ok
res() { echo "E2E-RESULT $*"; }
fail() { echo "E2E-ERROR $*"; status=fail; }
finish() {
	res "uptime s=$(cut -d' ' -f1 /proc/uptime)"
	echo "E2E-DONE status=$status"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

# --- parameters --------------------------------------------------------------
P_ip=10.99.0.2/24 P_peer=10.99.0.1 P_mode=ping,iperf P_ping_count=20
P_ping_interval=0.2 P_iperf_time=5 P_iperf_parallel=1 P_queues=1
read -r cmdline </proc/cmdline
for kv in $cmdline; do
	case $kv in
	vh.ip=*) P_ip=${kv#*=} ;;
	vh.peer=*) P_peer=${kv#*=} ;;
	vh.mode=*) P_mode=${kv#*=} ;;
	vh.ping_count=*) P_ping_count=${kv#*=} ;;
	vh.ping_interval=*) P_ping_interval=${kv#*=} ;;
	vh.iperf_time=*) P_iperf_time=${kv#*=} ;;
	vh.iperf_parallel=*) P_iperf_parallel=${kv#*=} ;;
	vh.queues=*) P_queues=${kv#*=} ;;
	esac
done
want() { case ",$P_mode," in *",$1,"*) return 0 ;; esac; return 1; }

res "boot kernel=$(uname -r) uptime_s=$(cut -d' ' -f1 /proc/uptime) cpus=$(nproc)"

# --- modules -----------------------------------------------------------------
while read -r m; do
	insmod "$m" || fail "insmod $m failed"
done </etc/modules.order

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
	fail "no eth0 after loading virtio_net"
	dmesg | tail -20
	finish
fi

# --- negotiated virtio features ----------------------------------------------
# /sys/class/net/eth0/device/features: one character per feature bit, bit 0 first.
fbits=$(cat /sys/class/net/eth0/device/features)
bit() { echo "$fbits" | cut -c$(($1 + 1)); }
res "features bits=$fbits csum=$(bit 0) guest_csum=$(bit 1) ctrl_vq=$(bit 17) mrg_rxbuf=$(bit 15) mq=$(bit 22) indirect_desc=$(bit 28) event_idx=$(bit 29) version_1=$(bit 32) packed=$(bit 34)"

# --- link + queues -------------------------------------------------------------
ip link set lo up
if [ "$P_queues" -gt 1 ]; then
	if command -v ethtool >/dev/null; then
		ethtool -L eth0 combined "$P_queues" || fail "ethtool -L eth0 combined $P_queues failed"
	else
		echo "no ethtool in the initramfs: relying on the virtio_net default queue count"
	fi
fi
ip addr add "$P_ip" dev eth0 || fail "ip addr add $P_ip failed"
ip link set eth0 up || fail "ip link set eth0 up failed"
nrx=$(find /sys/class/net/eth0/queues -maxdepth 1 -name 'rx-*' | wc -l)
ntx=$(find /sys/class/net/eth0/queues -maxdepth 1 -name 'tx-*' | wc -l)
res "link mtu=$(cat /sys/class/net/eth0/mtu) mac=$(cat /sys/class/net/eth0/address) rx_queues=$nrx tx_queues=$ntx"
if command -v ethtool >/dev/null; then
	ethtool -k eth0 2>/dev/null | awk -F': ' '
		/^tx-checksumming:/ {t=$2} /^rx-checksumming:/ {r=$2}
		/^tcp-segmentation-offload:/ {s=$2} /^generic-receive-offload:/ {g=$2}
		END {sub(/ .*/,"",t); sub(/ .*/,"",r); sub(/ .*/,"",s); sub(/ .*/,"",g);
		     printf "E2E-RESULT offloads tx_csum=%s rx_csum=%s tso=%s gro=%s\n", t, r, s, g}'
fi

# --- reachability: warm-up until the first echo reply (ARP, backend ready) ---
t0=$(cut -d' ' -f1 /proc/uptime)
up=0
i=0
while [ $i -lt 20 ]; do
	if ping -c 1 -W 1 "$P_peer" >/dev/null 2>&1; then up=1; break; fi
	i=$((i + 1))
done
t1=$(cut -d' ' -f1 /proc/uptime)
warm=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
if [ $up = 1 ]; then
	res "reach peer=$P_peer ok=1 warmup_s=$warm"
else
	fail "peer $P_peer unreachable after ${warm}s"
	res "reach peer=$P_peer ok=0 warmup_s=$warm"
	ip link show eth0
	ip neigh
	grep . /sys/class/net/eth0/statistics/*_packets
fi

# --- ping --------------------------------------------------------------------
if want ping; then
	out=$(ping -q -c "$P_ping_count" -i "$P_ping_interval" -W 3 "$P_peer" 2>&1)
	echo "$out"
	echo "$out" | awk -v peer="$P_peer" '
		/packets transmitted/ { tx=$1; rx=$4; loss=$7 }
		/round-trip/ { split($4, a, "/"); mn=a[1]; av=a[2]; mx=a[3] }
		END {
			if (tx == "") { print "E2E-RESULT ping peer=" peer " sent=0 recv=0 loss=100% status=fail"; exit }
			if (av == "") { mn="-"; av="-"; mx="-" }
			printf "E2E-RESULT ping peer=%s sent=%s recv=%s loss=%s min_ms=%s avg_ms=%s max_ms=%s\n", peer, tx, rx, loss, mn, av, mx
		}'
fi

# --- iperf3 ------------------------------------------------------------------
# Bitrate from the receiver summary line (the "[SUM]" one with -P > 1).
iperf_dir() { # tx|rx
	dir=$1 flag=
	[ "$dir" = rx ] && flag=-R
	tmo=$((P_iperf_time + 25))
	out=$(timeout "$tmo" iperf3 -c "$P_peer" $flag -t "$P_iperf_time" -P "$P_iperf_parallel" \
		-f m --connect-timeout 5000 2>&1)
	rc=$?
	echo "$out" | tail -6
	mbps=$(echo "$out" | awk -v par="$P_iperf_parallel" '
		/receiver/ && (par == 1 || /^\[SUM\]/) {
			for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) }
		END { print v }')
	retr=$(echo "$out" | awk -v par="$P_iperf_parallel" '
		/sender/ && (par == 1 || /^\[SUM\]/) {
			for (i = 2; i <= NF; i++) if ($i == "Mbits/sec" && $(i+1) ~ /^[0-9]+$/) v = $(i+1) }
		END { print v }')
	if [ $rc -ne 0 ] || [ -z "$mbps" ]; then
		fail "iperf3 $dir failed (rc=$rc)"
		res "iperf3 dir=$dir status=fail rc=$rc"
	else
		res "iperf3 dir=$dir mbps=$mbps retr=${retr:--} secs=$P_iperf_time parallel=$P_iperf_parallel status=ok"
	fi
}
if want iperf; then
	iperf_dir tx
	iperf_dir rx
fi

# --- per-queue counters (multiqueue check) -------------------------------------
if command -v ethtool >/dev/null; then
	ethtool -S eth0 2>/dev/null | awk '
		$1 ~ /^rx_queue_[0-9]+_packets:$/ || $1 ~ /^tx_queue_[0-9]+_packets:$/ {
			k=$1; sub(/_packets:$/, "", k); sub(/_queue_/, "q", k); s = s " " k "=" $2 }
		END { if (s != "") print "E2E-RESULT qstats" s }'
fi
st=/sys/class/net/eth0/statistics
res "ifstats rx_packets=$(cat $st/rx_packets) rx_errors=$(cat $st/rx_errors) rx_dropped=$(cat $st/rx_dropped) tx_packets=$(cat $st/tx_packets) tx_errors=$(cat $st/tx_errors) tx_dropped=$(cat $st/tx_dropped)"
# virtio complaints (any case), and kernel WARN/BUG/oops (case-sensitive, so the
# harmless TCG "MP-BIOS bug: 8254 timer not connected" under host load is ignored).
{ dmesg | grep -iE 'virtio.*(error|fail|bug|unexpected|bad|too (long|short|many))'
  dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace'; } >/tmp/kwarn
if [ -s /tmp/kwarn ]; then
	fail "kernel warnings (below)"
	cat /tmp/kwarn
fi
finish
