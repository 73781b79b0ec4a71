#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end matrix: a Debian-kernel guest (virtio_net) under QEMU TCG, a
# vhost-user-net backend, a TAP inside a throw-away network namespace; per
# configuration: ping + iperf3 both directions + negotiated-feature checks.
#
#   tests/e2e/run_matrix.sh BACKEND [CONFIG...]
#     BACKEND  dpdk      DPDK testpmd net_vhost <-> net_tap, io forwarding (reference)
#              vhostile  $VHOSTILE_NET (default build/release/net/vhostile-net)
#     CONFIG   split packed mrg_off evidx_off indirect_off mq2   (default: these six)
#              be_packed_off be_mrg_off be_evidx_off be_indirect_off
#                        (vhostile only: feature withheld by the backend's
#                         --disable while QEMU offers it)
#              all       the six, plus the be_* ones for vhostile
#
# Env: E2E_BUILD (build/e2e)  E2E_OUT (run dir, default $E2E_BUILD/runs/BACKEND-DATE)
#      E2E_IPERF_TIME (5)  E2E_PING_COUNT (20)  E2E_MAX_LOSS (10, percent)
#      E2E_GUEST_TIMEOUT (90)  E2E_TAP_MODE (netns|move; default netns)
#      E2E_MQ_PARALLEL (4: iperf3 -P for multi-queue configs)
#      E2E_MQ_STRICT (0; 1 = fail a multi-queue config unless every rx and tx
#                     queue carried packets; flow hashing may leave one idle)
#      VHOSTILE_NET, VHOSTILE_ARGS (see backend_vhostile.sh)
# Exit: 0 all configs passed; 1 a config failed; 2 usage.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

STD_CONFIGS=(split packed mrg_off evidx_off indirect_off mq2)
BE_CONFIGS=(be_packed_off be_mrg_off be_evidx_off be_indirect_off)

backend=${1:-}
case $backend in
dpdk | vhostile) shift ;;
-h | --help) print_help; exit 0 ;;
"") print_help >&2; exit 2 ;;
*) usage_die "BACKEND must be dpdk or vhostile, got '$backend'" ;;
esac
configs=()
for c in "$@"; do
	if [ "$c" = all ]; then
		configs+=("${STD_CONFIGS[@]}")
		[ "$backend" = vhostile ] && configs+=("${BE_CONFIGS[@]}")
	else
		configs+=("$c")
	fi
done
[ ${#configs[@]} -gt 0 ] || configs=("${STD_CONFIGS[@]}")

iperf_time=${E2E_IPERF_TIME:-5}
ping_count=${E2E_PING_COUNT:-20}
max_loss=${E2E_MAX_LOSS:-10}
guest_tmo=${E2E_GUEST_TIMEOUT:-90}
tap_mode=${E2E_TAP_MODE:-netns}
mq_par=${E2E_MQ_PARALLEL:-4}

# config NAME -> qemu_opts, be_disable, queues, exp (features: 1 expected, 0 expected off)
config() {
	qemu_opts=() be_disable='' queues=1 par=1
	local packed=0 mrg=1 evidx=1 indirect=1
	case $1 in
	split) ;;
	packed) qemu_opts=(--packed on); packed=1 ;;
	mrg_off) qemu_opts=(--mrg-rxbuf off); mrg=0 ;;
	evidx_off) qemu_opts=(--event-idx off); evidx=0 ;;
	indirect_off) qemu_opts=(--indirect-desc off); indirect=0 ;;
	mq2) qemu_opts=(--queues 2); queues=2; par=$mq_par ;;
	be_packed_off) qemu_opts=(--packed on); be_disable=packed; packed=0 ;;
	be_mrg_off) be_disable='mrg-rxbuf'; mrg=0 ;;
	be_evidx_off) be_disable='event-idx'; evidx=0 ;;
	be_indirect_off) be_disable=indirect; indirect=0 ;;
	*) return 1 ;;
	esac
	exp=(--expect "packed=$packed" --expect "mrg_rxbuf=$mrg" --expect "event_idx=$evidx"
		--expect "indirect_desc=$indirect" --expect "mq=$([ "$queues" -gt 1 ] && echo 1 || echo 0)"
		--expect version_1=1)
}
for c in "${configs[@]}"; do
	config "$c" || usage_die "unknown config '$c' (see --help)"
	if [ -n "$be_disable" ] && [ "$backend" = dpdk ]; then
		usage_die "config '$c' needs backend-side --disable: vhostile only"
	fi
done

need_root
need_cmd qemu-system-x86_64 ip iperf3 timeout ss
[ "$backend" = dpdk ] && need_cmd dpdk-testpmd
if [ "$backend" = vhostile ]; then
	vbin=${VHOSTILE_NET:-$REPO_ROOT/build/release/net/vhostile-net}
	[ -x "$vbin" ] || die "vhostile-net not found at $vbin (build it or set VHOSTILE_NET)"
fi

"$E2E_DIR/mkinitramfs.sh"

out=${E2E_OUT:-$E2E_BUILD/runs/$backend-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log "run directory: $out"

# --- clean-up of whatever is live; idempotent ---------------------------------
cur_ns='' cur_state='' guest_pid=''
cleanup_config() {
	if [ -n "$guest_pid" ]; then
		if pid_alive "$guest_pid"; then kill -TERM "$guest_pid" 2>/dev/null || true; fi
		wait "$guest_pid" 2>/dev/null || true
		guest_pid=
	fi
	if [ -n "$cur_state" ]; then
		"$E2E_DIR/netns.sh" iperf-stop "$cur_state/iperf3.pid" || true
		if [ "$backend" = dpdk ]; then
			"$E2E_DIR/backend_dpdk.sh" stop --state "$cur_state" || true
		else
			"$E2E_DIR/backend_vhostile.sh" stop --state "$cur_state" || true
		fi
	fi
	if [ -n "$cur_ns" ]; then
		"$E2E_DIR/netns.sh" destroy "$cur_ns" || true
	fi
	cur_ns='' cur_state=''
}
huge_state=$out/.hugepages
cleanup_all() {
	cleanup_config
	if [ "$backend" = dpdk ]; then "$E2E_DIR/backend_dpdk.sh" hugepages-restore "$huge_state" || true; fi
}
trap cleanup_all EXIT
trap 'log "interrupted"; exit 1' INT TERM

if [ "$backend" = dpdk ]; then
	"$E2E_DIR/backend_dpdk.sh" hugepages-setup "$huge_state" 512
fi

# --- one configuration ----------------------------------------------------------
field() { # FILE KIND KEY -> value from the first "E2E-RESULT KIND ... KEY=value" line
	awk -v kind="$2" -v key="$3" '
		$1 == "E2E-RESULT" && $2 == kind {
			for (i = 3; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit }
		}' "$1"
}
iperf_field() { # FILE DIR KEY
	awk -v dir="$2" -v key="$3" '
		$1 == "E2E-RESULT" && $2 == "iperf3" && $3 == "dir=" dir {
			for (i = 4; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit }
		}' "$1"
}

rows=()
failed=0
idx=0
for c in "${configs[@]}"; do
	config "$c"
	idx=$((idx + 1))
	dir=$out/$c
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	if [ ${#sock} -gt 100 ]; then
		sdir=$(mktemp -d /tmp/vhe2e.XXXXXX)
		sock=$sdir/vhost.sock
	fi
	ns=vhe2e-$$-$idx
	tap=vhe2e$$t$idx
	t0=$SECONDS
	why=''
	load0=$(cut -d' ' -f1 /proc/loadavg)
	log "=== [$idx/${#configs[@]}] $c ($backend, ${queues} queue pair(s)${be_disable:+, backend --disable $be_disable})"

	rm -f "$dir/results" "$dir/stats"
	cur_ns=$ns cur_state=$dir
	"$E2E_DIR/netns.sh" create "$ns" || why="namespace setup failed"
	bargs=(--state "$dir" --socket "$sock" --tap "$tap" --queues "$queues" --tap-mode "$tap_mode")
	[ "$tap_mode" = netns ] && bargs+=(--netns "$ns")
	if [ -n "$why" ]; then
		:
	elif [ "$backend" = dpdk ]; then
		"$E2E_DIR/backend_dpdk.sh" start "${bargs[@]}" || why="backend start failed"
	else
		[ -n "$be_disable" ] && bargs+=(--disable "$be_disable")
		"$E2E_DIR/backend_vhostile.sh" start "${bargs[@]}" || why="backend start failed"
	fi
	if [ -z "$why" ]; then
		"$E2E_DIR/netns.sh" tap-up "$ns" "$tap" 10.99.0.1/24 || why="TAP setup failed"
	fi
	if [ -z "$why" ]; then
		"$E2E_DIR/netns.sh" iperf-start "$ns" "$dir/iperf3.pid" "$dir/iperf3-server.log" 10.99.0.1 ||
			why="iperf3 server failed"
	fi
	grc=1
	if [ -z "$why" ]; then
		"$E2E_DIR/run_guest.sh" --socket "$sock" --queues "$queues" "${qemu_opts[@]}" "${exp[@]}" \
			--ping-count "$ping_count" --iperf-time "$iperf_time" --iperf-parallel "$par" \
			--timeout "$guest_tmo" --log "$dir/guest.log" --results "$dir/results" &
		guest_pid=$!
		grc=0
		wait "$guest_pid" || grc=$?
		guest_pid=
	fi
	# Stop in order: iperf3, backend (its clean exit is checked for vhostile), namespace.
	"$E2E_DIR/netns.sh" iperf-stop "$dir/iperf3.pid" || true
	bstop=ok
	if [ "$backend" = dpdk ]; then
		"$E2E_DIR/backend_dpdk.sh" stop --state "$dir" || bstop=fail
	else
		"$E2E_DIR/backend_vhostile.sh" stop --state "$dir" || bstop=fail
	fi
	"$E2E_DIR/netns.sh" destroy "$ns" || true
	cur_ns='' cur_state=''
	[ -n "${sdir:-}" ] && rm -rf "$sdir" && sdir=

	res=$dir/results
	[ -f "$res" ] || : >"$res"
	loss=$(field "$res" ping loss); loss=${loss:--}
	rtt=$(field "$res" ping avg_ms); rtt=${rtt:--}
	tx=$(iperf_field "$res" tx mbps); tx=${tx:--}
	rx=$(iperf_field "$res" rx mbps); rx=${rx:--}
	rxq=$(field "$res" link rx_queues); rxq=${rxq:--}
	txq=$(field "$res" link tx_queues); txq=${txq:--}
	fs=""
	for f in packed mrg_rxbuf event_idx indirect_desc mq; do
		fs+="$(field "$res" features "$f" || true)"
	done
	qstats=$(grep -m1 '^E2E-RESULT qstats' "$res" | cut -d' ' -f3- || true)
	# queues that carried packets: "RXUSED/TXUSED" from the guest's per-queue counters
	qused=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "=");
		if (kv[1] ~ /^rxq/ && kv[2] > 0) r++; if (kv[1] ~ /^txq/ && kv[2] > 0) t++ } }
		END { printf "%d/%d", r, t }' <<<"$qstats")
	if [ -z "$why" ] && [ "$grc" -ne 0 ]; then
		why=$(grep -m1 -E '^E2E-(ERROR|HOST expect_fail)' "$res" | cut -d' ' -f2- || true)
		why=${why:-guest run failed (see $dir/guest.log)}
	fi
	if [ -z "$why" ]; then
		l=${loss%\%}
		if ! [[ $l =~ ^[0-9]+$ ]] || [ "$l" -gt "$max_loss" ]; then why="ping loss $loss > ${max_loss}%"; fi
	fi
	if [ -z "$why" ] && { [ "$tx" = - ] || [ "$rx" = - ] || [ "${tx%%.*}" -le 0 ] || [ "${rx%%.*}" -le 0 ]; }; then
		why="iperf3 failed (tx=$tx rx=$rx)"
	fi
	if [ -z "$why" ] && [ "$queues" -gt 1 ] && { [ "$rxq" != "$queues" ] || [ "$txq" != "$queues" ]; }; then
		why="guest uses $rxq rx / $txq tx queues, expected $queues"
	fi
	if [ -z "$why" ] && [ "$queues" -gt 1 ] && [ "${E2E_MQ_STRICT:-0}" = 1 ] && [ "$qused" != "$queues/$queues" ]; then
		why="E2E_MQ_STRICT: traffic on rx/tx queues $qused of $queues"
	fi
	if [ -z "$why" ] && [ "$backend" = vhostile ] && [ "$bstop" != ok ]; then
		why="vhostile-net did not exit cleanly on SIGTERM ($(cat "$dir/vhostile.stop" 2>/dev/null || true))"
	fi
	verdict=PASS
	if [ -n "$why" ]; then
		verdict=FAIL
		failed=$((failed + 1))
		log "FAIL $c: $why"
	fi
	secs=$((SECONDS - t0))
	load=$load0/$(cut -d' ' -f1 /proc/loadavg)
	rows+=("$(printf '%-16s %6s %8s %8s %8s %-7s %-5s %4s %-11s %s' "$c" "$loss" "$rtt" "$tx" "$rx" "$rxq:$qused" "$fs" "$secs" "$load" "$verdict${why:+ ($why)}")")
	{
		printf 'config=%s backend=%s verdict=%s loss=%s avg_ms=%s tx_mbps=%s rx_mbps=%s queues=%s features=%s secs=%s loadavg=%s' \
			"$c" "$backend" "$verdict" "$loss" "$rtt" "$tx" "$rx" "$rxq" "$fs" "$secs" "$load"
		[ -n "$qstats" ] && printf ' qstats="%s"' "$qstats"
		[ -s "$dir/stats" ] && printf ' backend_stats="%s"' "$(cat "$dir/stats")"
		echo
	} >>"$out/summary.kv"
	log "$c: $verdict in ${secs}s (loss $loss, rtt ${rtt} ms, tx $tx Mbit/s, rx $rx Mbit/s)"
done

{
	echo
	echo "e2e matrix, backend $backend ($(date -u +%Y-%m-%dT%H:%M:%SZ); iperf3 -t $iperf_time; ping -c $ping_count -i 0.2)"
	echo "feats: packed mrg_rxbuf event_idx indirect_desc mq as negotiated (1/0); queues: guest queue pairs:rx/tx queues that carried packets"
	echo "load: host 1-min load average at start/end of the config ($(nproc) CPUs; TCG numbers drop under load)"
	printf '%-16s %6s %8s %8s %8s %-7s %-5s %4s %-11s %s\n' config loss rtt_ms tx_Mbps rx_Mbps queues feats secs load result
	printf '%s\n' "${rows[@]}"
	echo "logs: $out"
} | tee "$out/summary.txt"

if [ "$failed" -gt 0 ]; then
	echo "run_matrix.sh: $failed of ${#configs[@]} configuration(s) FAILED"
	exit 1
fi
echo "run_matrix.sh: all ${#configs[@]} configuration(s) passed"
