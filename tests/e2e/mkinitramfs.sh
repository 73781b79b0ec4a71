#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the e2e guest initramfs: busybox-static, iperf3 (+ ethtool when
# installed) with the shared libraries ldd finds, the virtio-net modules of the
# installed Debian kernel in modules.dep order, and tests/e2e/guest-init.sh as
# /init.  Output (default build/e2e/):
#   initramfs.cpio.gz   the archive
#   vmlinuz             symlink to /boot/vmlinuz-KVER
#   initramfs.stamp     hash of every input; nothing is rebuilt while it matches
#
#   tests/e2e/mkinitramfs.sh [--out DIR] [--kver KVER] [--force]
# Env: E2E_BUILD (out dir), E2E_KVER (kernel version).
# Deterministic: sorted cpio (newc, --reproducible), mtimes 0, gzip -n.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

out=$E2E_BUILD
kver=${E2E_KVER:-}
force=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--kver) kver=$2; shift 2 ;;
	--force) force=1; shift ;;
	-h | --help) print_help; exit 0 ;;
	*) usage_die "unknown argument '$1'" ;;
	esac
done

need_cmd busybox iperf3 ldd cpio gzip sha256sum find sort

# The Debian kernel: newest /boot/vmlinuz-* whose modules tree has virtio_net.
if [ -z "$kver" ]; then
	for v in $(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V -r); do
		if find "/lib/modules/$v/kernel/drivers/net" -maxdepth 1 -name 'virtio_net.ko*' 2>/dev/null | grep -q .; then
			kver=$v
			break
		fi
	done
fi
[ -n "$kver" ] || die "no /boot/vmlinuz-* with virtio_net modules; apt-get install -y linux-image-amd64"
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$kernel" ] || die "cannot read $kernel"
[ -r "$moddir/modules.dep" ] || die "no $moddir/modules.dep"

busybox_bin=$(command -v busybox)
if ! { ldd "$busybox_bin" 2>&1 || true; } | grep -q 'not a dynamic executable'; then
	# Debian's "busybox" package is dynamic; busybox-static ships /bin/busybox static.
	die "$busybox_bin is not static; apt-get install -y busybox-static"
fi
iperf3_bin=$(command -v iperf3)
ethtool_bin=$(command -v ethtool || true)

# --- modules, dependency order from modules.dep --------------------------
ROOT_MODULES=(virtio_pci virtio_net)
declare -A mod_path=() mod_deps=() mod_seen=()
while IFS= read -r line; do
	p=${line%%:*}
	n=${p##*/}; n=${n%%.ko*}; n=${n//-/_}
	mod_path[$n]=$p
	mod_deps[$n]=${line#*:}
done <"$moddir/modules.dep"
mod_order=()
resolve() {
	local n=$1 d dn
	[ -n "${mod_seen[$n]:-}" ] && return 0
	mod_seen[$n]=1
	[ -n "${mod_path[$n]:-}" ] || die "module $n not in $moddir/modules.dep (built in? then drop it from ROOT_MODULES)"
	for d in ${mod_deps[$n]}; do
		dn=${d##*/}; dn=${dn%%.ko*}; dn=${dn//-/_}
		resolve "$dn"
	done
	mod_order+=("$n")
}
for m in "${ROOT_MODULES[@]}"; do resolve "$m"; done

# --- binaries and their libraries ----------------------------------------
bins=("$iperf3_bin")
[ -n "$ethtool_bin" ] && bins+=("$ethtool_bin")
declare -A libs=()
for b in "${bins[@]}"; do
	while read -r l; do
		[ -n "$l" ] && libs[$l]=1
	done < <(ldd "$b" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}')
done
mapfile -t lib_list < <(printf '%s\n' "${!libs[@]}" | sort)

# --- stamp: every input, by content --------------------------------------
stamp_inputs() {
	printf 'kver %s\nmodules %s\n' "$kver" "${mod_order[*]}"
	sha256sum "$0" "$E2E_DIR/guest-init.sh" "$busybox_bin" "${bins[@]}" "${lib_list[@]}" \
		"$kernel" | awk '{print $1}'
	for m in "${mod_order[@]}"; do sha256sum "$moddir/${mod_path[$m]}" | awk '{print $1}'; done
}
mkdir -p "$out"
stamp=$(stamp_inputs | sha256sum | awk '{print $1}')
img=$out/initramfs.cpio.gz
if [ "$force" -eq 0 ] && [ -s "$img" ] && [ "$(cat "$out/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
	ln -sfn "$kernel" "$out/vmlinuz"
	log "up to date: $img (kernel $kver)"
	exit 0
fi

# --- stage ---------------------------------------------------------------
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules}
cp "$busybox_bin" "$stage/bin/busybox"
cp "$iperf3_bin" "$stage/bin/iperf3"
[ -n "$ethtool_bin" ] && cp "$ethtool_bin" "$stage/sbin/ethtool"
for l in "${lib_list[@]}"; do
	mkdir -p "$stage$(dirname "$l")"
	cp -L "$l" "$stage$l"
done
i=0
: >"$stage/etc/modules.order"
for m in "${mod_order[@]}"; do
	src=$moddir/${mod_path[$m]}
	dst=$stage/lib/modules/$(printf '%02d' $i)-$m.ko
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -q -dc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
	echo "/lib/modules/$(basename "$dst")" >>"$stage/etc/modules.order"
	i=$((i + 1))
done
cp "$E2E_DIR/guest-init.sh" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox" "$stage/bin/iperf3"
echo "root:x:0:0:root:/:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
printf '%s\n' "$kver" >"$stage/etc/e2e-kernel"
find "$stage" -exec touch -h -d @0 {} +

tmpimg=$(mktemp "$out/.initramfs.XXXXXX")
(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
	gzip -n -6 >"$tmpimg"
chmod 0644 "$tmpimg"
mv "$tmpimg" "$img"
echo "$stamp" >"$out/initramfs.stamp"
ln -sfn "$kernel" "$out/vmlinuz"
log "built $img ($(du -k "$img" | cut -f1) KiB; kernel $kver; modules: ${mod_order[*]})"
