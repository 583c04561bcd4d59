#!/usr/bin/env bash
# boot-prepare.sh — prepare (and cache) the Debian bookworm root filesystem
# that scripts/boot-test.sh boots with systemd as PID 1.
#
# Builds with mmdebstrap from Debian's packages (the mirror the machine's own
# apt sources name; /etc/apt is never touched): systemd, udev, iproute2,
# ipvsadm, busybox (httpd, wget), and the same kernel package the VM test bed
# boots (scripts/vm-prepare.sh, LVSRS_VM_KERNEL=6.1), whose initramfs mounts
# the root disk. Timers and services a test boot does not need are masked;
# systemd-networkd configures the network.
#
# Output, in ${LVSRS_BOOT_CACHE:-/var/cache/lvs-rs/boot}:
#   rootfs/        the root filesystem (without lvs-rs: boot-test installs
#                  the .deb into a copy)
#   vmlinuz, initrd.img, kernel-version
#   stamp          what the cache was built from; an unchanged stamp
#                  returns at once
#
# Idempotent; concurrent runs serialise on a lock. Needs root.
# Usage: scripts/boot-prepare.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${LVSRS_BOOT_CACHE:-/var/cache/lvs-rs/boot}
VMCACHE=${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm-6.1}
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1
log() { printf 'boot-prepare: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root (mmdebstrap, chroot)"

for tool in mmdebstrap:mmdebstrap mkfs.ext4:e2fsprogs qemu-system-x86_64:qemu-system-x86; do
	if ! command -v "${tool%%:*}" >/dev/null; then
		log "apt-get install ${tool#*:}"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null
	fi
done

# The kernel: the package the 6.1 VM bed was built from.
LVSRS_VM_KERNEL=6.1 LVSRS_VM_CACHE=$VMCACHE scripts/vm-prepare.sh
KPKG=$(sed -n 's/^package=\([^ ]*\) version=.*/\1/p' "$VMCACHE/stamp")
KVERSION=$(sed -n 's/^package=[^ ]* version=//p' "$VMCACHE/stamp")
[[ $KPKG == linux-image-* ]] || die "cannot read the kernel package from $VMCACHE/stamp"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
WANT="script=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1) kernel=$KPKG=$KVERSION mmdebstrap=$(dpkg-query -W -f='${Version}' mmdebstrap)"
if [[ $FORCE == 0 && -f $CACHE/stamp && $(cat "$CACHE/stamp") == "$WANT" ]]; then
	log "cache valid: $CACHE ($KPKG $KVERSION)"
	exit 0
fi

mirror_of() { # $1: debian or debian-security; the first URI the machine's sources name
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' | grep -oE "https?://[^][[:space:]\"]+/$1/?([[:space:]]|\$)" |
		head -1 | tr -d '[:space:]' | sed 's|/$||' || true
}
MIRROR=$(mirror_of debian)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=$(mirror_of debian-security)
SECMIRROR=${SECMIRROR:-http://deb.debian.org/debian-security}

log "building $CACHE/rootfs (bookworm from $MIRROR, $KPKG $KVERSION)"
rm -f "$CACHE/stamp"
rm -rf "$CACHE/rootfs.new"
PKGS=systemd,systemd-sysv,udev,dbus,kmod,iproute2,ipvsadm,busybox,procps,initramfs-tools,zstd,$KPKG=$KVERSION
# Drivers a two-NIC virtio guest never loads, and sound, go after the
# initramfs is built (it has its own copies of what it needs).
TRIM='gpu media net/wireless net/ethernet infiniband staging usb bluetooth iio hid input isdn mmc hwmon platform nfc scsi'
mmdebstrap --quiet --variant=apt --include="$PKGS" \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-timesyncd.service getty@tty1.service' \
	--customize-hook='chroot "$1" passwd -d root >/dev/null' \
	--customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"' \
	--customize-hook='for d in '"$TRIM"'; do rm -rf "$1"/lib/modules/*/kernel/drivers/$d; done; rm -rf "$1"/lib/modules/*/kernel/sound; chroot "$1" depmod -a '"${KPKG#linux-image-}" \
	bookworm "$CACHE/rootfs.new" \
	"deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECMIRROR bookworm-security main"
KVER=${KPKG#linux-image-}
[[ -f $CACHE/rootfs.new/boot/vmlinuz-$KVER && -f $CACHE/rootfs.new/boot/initrd.img-$KVER ]] ||
	die "no kernel or initramfs in the image"
rm -rf "$CACHE/rootfs"
mv "$CACHE/rootfs.new" "$CACHE/rootfs"
cp "$CACHE/rootfs/boot/vmlinuz-$KVER" "$CACHE/vmlinuz"
cp "$CACHE/rootfs/boot/initrd.img-$KVER" "$CACHE/initrd.img"
printf '%s\n' "$KVER" >"$CACHE/kernel-version"
printf '%s\n' "$WANT" >"$CACHE/stamp"
log "done: $(du -sh "$CACHE/rootfs" | cut -f1) root filesystem, kernel $KVER"
