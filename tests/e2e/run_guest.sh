#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot the e2e guest under QEMU against a vhost-user-net backend that is
# already listening on --socket, capture the serial console, parse the guest's
# E2E-RESULT lines and check the negotiated features.
#
#   tests/e2e/run_guest.sh --socket PATH [options]
#
# Device / matrix options (virtio-net-pci properties):
#   --queues N             queue pairs (N > 1 adds queues=N to the netdev and mq=on)
#   --packed on|off        packed=           (default: QEMU's, i.e. off)
#   --mrg-rxbuf on|off     mrg_rxbuf=
#   --event-idx on|off     event_idx=
#   --indirect-desc on|off indirect_desc=
#   --mac MAC              default 52:54:00:e2:e0:01
#   --expect NAME=0|1      fail unless feature NAME was negotiated (1) / not (0);
#                          NAME: packed mrg_rxbuf event_idx indirect_desc mq
#                          version_1 ctrl_vq csum guest_csum; repeatable
# Guest options:
#   --ip CIDR (10.99.0.2/24)  --peer IP (10.99.0.1)  --mode LIST (ping,iperf)
#   --ping-count N (20)  --iperf-time S (5)  --iperf-parallel N (1)
# QEMU options:
#   --kernel F --initrd F  (default build/e2e/vmlinuz, build/e2e/initramfs.cpio.gz)
#   --mem SIZE (256M)  --smp N (1)  --accel tcg|kvm (tcg; env E2E_ACCEL)
#   --timeout S (90; env E2E_GUEST_TIMEOUT)  hard limit for the whole boot
#   --log FILE            serial console (default build/e2e/guest.log)
#   --results FILE        parsed E2E-RESULT lines (default LOG.results)
#   --append STR          extra kernel command line
#   --verbose             also copy the console to stderr while it runs
# Exit: 0 guest finished with E2E-DONE status=ok and every --expect held;
#       1 otherwise; 2 usage.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sock='' queues=1 packed='' mrg='' evidx='' indirect='' mac=52:54:00:e2:e0:01
ip_cidr=10.99.0.2/24 peer=10.99.0.1 mode=ping,iperf ping_count=20
iperf_time=5 iperf_par=1 kernel=$E2E_BUILD/vmlinuz initrd=$E2E_BUILD/initramfs.cpio.gz
mem=256M smp=1 accel=${E2E_ACCEL:-tcg} tmo=${E2E_GUEST_TIMEOUT:-90}
logf=$E2E_BUILD/guest.log resf='' extra='' verbose=0
expects=()

onoff() { case $2 in on | off) ;; *) usage_die "$1 wants on|off, got '$2'" ;; esac; }
while [ $# -gt 0 ]; do
	case $1 in
	--socket) sock=$2; shift 2 ;;
	--queues) queues=$2; shift 2 ;;
	--packed) onoff "$1" "$2"; packed=$2; shift 2 ;;
	--mrg-rxbuf) onoff "$1" "$2"; mrg=$2; shift 2 ;;
	--event-idx) onoff "$1" "$2"; evidx=$2; shift 2 ;;
	--indirect-desc) onoff "$1" "$2"; indirect=$2; shift 2 ;;
	--mac) mac=$2; shift 2 ;;
	--expect) expects+=("$2"); shift 2 ;;
	--ip) ip_cidr=$2; shift 2 ;;
	--peer) peer=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--ping-count) ping_count=$2; shift 2 ;;
	--iperf-time) iperf_time=$2; shift 2 ;;
	--iperf-parallel) iperf_par=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--log) logf=$2; shift 2 ;;
	--results) resf=$2; shift 2 ;;
	--append) extra=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	-h | --help) print_help; exit 0 ;;
	*) usage_die "unknown argument '$1'" ;;
	esac
done
[ -n "$sock" ] || usage_die "--socket PATH is required"
[[ $queues =~ ^[1-8]$ ]] || usage_die "--queues must be 1..8"
[[ $tmo =~ ^[0-9]+$ ]] || usage_die "--timeout must be seconds"
case $accel in tcg | kvm) ;; *) usage_die "--accel tcg|kvm" ;; esac
[ -n "$resf" ] || resf=$logf.results
need_cmd qemu-system-x86_64 timeout
[ -r "$kernel" ] || die "no kernel $kernel (run tests/e2e/mkinitramfs.sh)"
[ -r "$initrd" ] || die "no initramfs $initrd (run tests/e2e/mkinitramfs.sh)"
wait_until 10 "vhost-user socket $sock" socket_exists "$sock" || die "backend socket $sock missing"
mkdir -p "$(dirname "$logf")" "$(dirname "$resf")"

netdev="vhost-user,id=net0,chardev=chr0"
dev="virtio-net-pci,netdev=net0,mac=$mac,vectors=0"
# vectors=0: QEMU 7.2 under TCG segfaults in msix_set_vector_notifiers when a
# vhost-user virtio-net starts with MSI-X; INTx works.
if [ "$queues" -gt 1 ]; then
	netdev+=",queues=$queues"
	dev+=",mq=on"
fi
[ -n "$packed" ] && dev+=",packed=$packed"
[ -n "$mrg" ] && dev+=",mrg_rxbuf=$mrg"
[ -n "$evidx" ] && dev+=",event_idx=$evidx"
[ -n "$indirect" ] && dev+=",indirect_desc=$indirect"

cmdline="console=ttyS0 panic=-1 quiet ipv6.disable=1 vh.ip=$ip_cidr vh.peer=$peer"
cmdline+=" vh.mode=$mode vh.ping_count=$ping_count vh.iperf_time=$iperf_time"
cmdline+=" vh.iperf_parallel=$iperf_par vh.queues=$queues"
[ -n "$extra" ] && cmdline+=" $extra"

qemu=(qemu-system-x86_64
	-machine "q35,accel=$accel,memory-backend=mem"
	-object "memory-backend-memfd,id=mem,size=$mem,share=on"
	-m "$mem" -smp "$smp"
	-display none -monitor none -serial stdio -no-reboot -nodefaults
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	-chardev "socket,id=chr0,path=$sock"
	-netdev "$netdev"
	-device "$dev")
case $logf in *.log) ;; *) usage_die "--log FILE must end in .log" ;; esac
ldir=$(dirname "$logf") lname=$(basename "$logf" .log)
log "qemu: -netdev $netdev -device $dev (timeout ${tmo}s, log $logf)"

# QEMU runs under timeout(1) via spawn_bounded; on SIGINT/SIGTERM (e.g. from
# run_matrix.sh) this script stops it by PID before exiting.
# shellcheck disable=SC2317
on_signal() {
	log "interrupted: stopping QEMU"
	stop_spawned "$ldir" "$lname" 5 || true
	exit 1
}
trap on_signal INT TERM
t0=$SECONDS
spawn_bounded "$ldir" "$lname" "$tmo" "${qemu[@]}" || die "QEMU did not start (log $logf)"
qpid=$(cat "$ldir/$lname.pid")
if [ "$verbose" -eq 1 ]; then
	tail -n +1 -f --pid="$qpid" "$logf" >&2 &
fi
while [ ! -s "$ldir/$lname.rc" ] && [ $((SECONDS - t0)) -le $((tmo + 20)) ]; do
	sleep 0.2
done
[ -s "$ldir/$lname.rc" ] || stop_spawned "$ldir" "$lname" 5 || true
rc=$(cat "$ldir/$lname.rc" 2>/dev/null || echo 255)
rm -f "$ldir/$lname.pid" "$ldir/$lname.wrapper.pid"
elapsed=$((SECONDS - t0))

# --- parse -------------------------------------------------------------------
tr -d '\r' <"$logf" | grep -E '^E2E-(RESULT|ERROR|DONE) ' >"$resf" || true
echo "E2E-HOST qemu_rc=$rc elapsed_s=$elapsed" >>"$resf"

ok=1
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then  # timeout(1): timed out / killed
	log "FAIL: guest did not finish within ${tmo}s"
	ok=0
elif [ "$rc" -ne 0 ]; then
	log "FAIL: qemu exited with $rc"
	ok=0
fi
if ! grep -q '^E2E-DONE status=ok' "$resf"; then
	log "FAIL: guest did not report E2E-DONE status=ok"
	ok=0
fi
grep '^E2E-ERROR' "$resf" | sed 's/^/  guest: /' >&2 || true
feat=$(grep -m1 '^E2E-RESULT features ' "$resf" || true)
for e in "${expects[@]}"; do
	name=${e%%=*} want=${e#*=}
	got=$(sed -n "s/.* $name=\([01]\).*/\1/p" <<<"$feat")
	if [ "$got" != "$want" ]; then
		log "FAIL: feature $name negotiated=${got:-unknown}, expected $want"
		echo "E2E-HOST expect_fail $name got=${got:-unknown} want=$want" >>"$resf"
		ok=0
	fi
done
log "guest finished in ${elapsed}s; results in $resf"
sed 's/^/  /' "$resf" >&2
[ "$ok" -eq 1 ]
