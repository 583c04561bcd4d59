#!/usr/bin/env bash
# vm-prepare.sh — prepare (and cache) what the VM test bed boots.
#
# Installs the Debian packages the bed needs when they are missing
# (qemu-system-x86 busybox-static kmod cpio xz-utils ipvsadm), fetches the stock kernel package
# that linux-image-amd64 depends on with `apt-get download`, unpacks it with
# `dpkg-deb -x`, and builds a small base initramfs: busybox-static with its
# applet links, only the kernel modules the tests need (IPVS and every
# scheduler, ipip, veth, bridge, dummy, ... and their dependencies, as
# computed by `modprobe --show-depends`), Debian's ipvsadm with its shared
# libraries and loader (for test/vm/bench's comparison with ipvsadm -R),
# and a shell /init that runs /lvsrs/test (appended by internal/vmtest at
# each run).
#
# Output, in ${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm}:
#   vmlinuz               the kernel
#   vmlinux               the same, uncompressed ELF for qemu's PVH boot
#   initramfs-base.cpio.gz
#   stamp                 what the cache was built from; a second run with
#                         an unchanged stamp returns in well under a second
#
# Idempotent; concurrent runs serialise on a file lock in the cache dir.
# Needs root (apt-get, mknod). Usage: scripts/vm-prepare.sh [--force]
set -euo pipefail

CACHE=${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm}
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

log() { printf 'vm-prepare: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (apt-get, mknod)"

# Modules the tests need; dependencies are added by modprobe --show-depends.
# crc32c_generic comes first: libcrc32c soft-depends on it, and busybox's
# modprobe ignores soft dependencies, so /init loads it explicitly.
MODULES=(
	crc32c_generic
	ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
	ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_mh ip_vs_fo ip_vs_ovf
	ipip tunnel4 ip_tunnel ip6_tunnel tunnel6
	veth bridge dummy nf_conntrack sctp
)
# xz-utils: to unpack the XZ-compressed kernel image into a PVH vmlinux.
# ipvsadm: copied into the initramfs with the libraries ldd lists.
PACKAGES=(qemu-system-x86 busybox-static kmod cpio xz-utils ipvsadm)

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

APT_UPDATED=0
apt_update() {
	if [[ $APT_UPDATED == 0 ]]; then
		log "apt-get update"
		apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
}

# 1. Packages.
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	apt_update
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Which kernel package: the one linux-image-amd64 depends on.
BB_VER=$(dpkg-query -W -f='${Version}' busybox-static)
SCRIPT_SUM=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
IPVSADM_VER=$(dpkg-query -W -f='${Version}' ipvsadm)
LOCAL="script=$SCRIPT_SUM busybox=$BB_VER ipvsadm=$IPVSADM_VER"
cache_complete() {
	[[ $FORCE == 0 && -f $CACHE/stamp && -s $CACHE/vmlinuz && -s $CACHE/initramfs-base.cpio.gz ]] &&
		[[ $(sed -n 3p "$CACHE/stamp") == "$LOCAL" ]]
}
# Fast path: apt's package lists are no newer than the stamp, so the
# resolution below cannot give another answer (apt-cache costs ~1.5 s here).
if cache_complete && [[ -z $(find /var/lib/apt/lists -maxdepth 1 -type f -newer "$CACHE/stamp" -print -quit 2>/dev/null) ]]; then
	log "cache valid: $CACHE ($(head -1 "$CACHE/stamp"))"
	exit 0
fi
resolve_kernel() { # prints "PACKAGE VERSION"
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		awk '/^Depends:/ {
			n = split(substr($0, 10), deps, ",")
			for (i = 1; i <= n; i++) {
				if (match(deps[i], /linux-image-[0-9][^ ]*/)) {
					pkg = substr(deps[i], RSTART, RLENGTH)
					ver = ""
					if (match(deps[i], /\(= [^)]*\)/)) ver = substr(deps[i], RSTART + 3, RLENGTH - 4)
					print pkg, ver; exit
				}
			}
		}'
}
read -r KPKG KPKG_VER < <(resolve_kernel || true) || true
if [[ -z ${KPKG:-} ]]; then
	apt_update || true
	read -r KPKG KPKG_VER < <(resolve_kernel || true) || true
fi
if [[ -z ${KPKG:-} ]]; then
	if cache_complete; then
		log "warning: cannot resolve linux-image-amd64 (offline?); keeping the cache: $(head -1 "$CACHE/stamp")"
		exit 0
	fi
	die "cannot resolve the kernel package linux-image-amd64 depends on"
fi
WANT="package=$KPKG version=${KPKG_VER:-}"

if cache_complete && [[ $(sed -n 2p "$CACHE/stamp") == "$WANT" ]]; then
	touch "$CACHE/stamp"
	log "cache valid: $CACHE ($(head -1 "$CACHE/stamp"))"
	exit 0
fi

log "building into $CACHE for $KPKG $KPKG_VER"
rm -f "$CACHE/stamp"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 3. Kernel package: download, unpack, depmod over the full tree.
download() { (cd "$WORK" && apt-get download -qq -o APT::Sandbox::User=root "$KPKG" >/dev/null 2>&1); }
if ! download; then
	apt_update
	download || die "apt-get download $KPKG failed"
fi
DEB=$(ls "$WORK"/*.deb)
log "downloaded $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"
dpkg-deb -x "$DEB" "$WORK/kroot"
rm -f "$DEB"
KVER=$(ls "$WORK/kroot/lib/modules" | head -1)
[[ -n $KVER && -f $WORK/kroot/boot/vmlinuz-$KVER ]] || die "no kernel image found in $KPKG"
depmod -b "$WORK/kroot" "$KVER"

# 4. Base initramfs tree.
R=$WORK/initramfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc,root,lvsrs} "$R/lib/modules/$KVER"
cp /bin/busybox "$R/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[[ -e $R/$applet ]] || ln -s /bin/busybox "$R/$applet"
done
# ipvsadm, dynamically linked: the binary, the libraries ldd resolves (at
# the same paths) and the loader. The busybox applets are static.
IPVSADM=$(command -v ipvsadm || echo /usr/sbin/ipvsadm)
install -D -m 755 "$IPVSADM" "$R/usr/sbin/ipvsadm"
for lib in $(ldd "$IPVSADM" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
	install -D -m 755 "$(readlink -f "$lib")" "$R$lib"
done
# --- BEGIN routing daemons (bird2, keepalived) -------------------------------
# Debian's bird2 (bird, birdc, birdcl) and keepalived for the scale-out tests
# and benchmarks: the packages are downloaded and unpacked (never installed,
# so no daemon starts on this host); their shared libraries are installed as
# packages, and each binary is copied with the closure ldd lists at the same
# paths, like ipvsadm above, so they run directly in the VM.
DAEMON_PKGS=(bird2 keepalived)
daemon_libs() { # the lib* packages the daemons depend on
	apt-cache depends "${DAEMON_PKGS[@]}" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^lib/ {print $2}' | sort -u
}
mapfile -t dlibs < <(daemon_libs)
((${#dlibs[@]})) || { apt_update; mapfile -t dlibs < <(daemon_libs); }
((${#dlibs[@]})) || die "cannot resolve the libraries of ${DAEMON_PKGS[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${dlibs[@]}" >/dev/null
(cd "$WORK" && apt-get download -qq -o APT::Sandbox::User=root "${DAEMON_PKGS[@]}" >/dev/null 2>&1) ||
	{ apt_update; (cd "$WORK" && apt-get download -qq -o APT::Sandbox::User=root "${DAEMON_PKGS[@]}" >/dev/null 2>&1); } ||
	die "apt-get download ${DAEMON_PKGS[*]} failed"
for deb in "$WORK"/*.deb; do dpkg-deb -x "$deb" "$WORK/daemons"; done
rm -f "$WORK"/*.deb
for bin in usr/sbin/bird usr/sbin/birdc usr/sbin/birdcl usr/sbin/keepalived; do
	[[ -x $WORK/daemons/$bin ]] || die "$bin missing from ${DAEMON_PKGS[*]}"
	install -D -m 755 "$WORK/daemons/$bin" "$R/$bin"
	for lib in $(ldd "$WORK/daemons/$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
		[[ -e $R$lib ]] || install -D -m 755 "$(readlink -f "$lib")" "$R$lib"
	done
done
log "daemons: bird birdc birdcl keepalived and their libraries"
rm -rf "$WORK/daemons"
# --- END routing daemons -----------------------------------------------------
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
printf '127.0.0.1 localhost\n::1 localhost\n' >"$R/etc/hosts"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"

# Modules: exactly the files modprobe --show-depends lists, decompressed.
KMOD=$WORK/kroot/lib/modules/$KVER
: >"$WORK/deps"
for m in "${MODULES[@]}"; do
	modprobe -d "$WORK/kroot" -S "$KVER" --show-depends "$m" >>"$WORK/deps" ||
		die "module $m not in $KPKG"
done
mapfile -t files < <(awk '$1 == "insmod" {print $2}' "$WORK/deps" | sort -u)
for f in "${files[@]}"; do
	rel=${f#"$KMOD"/}
	dst=$R/lib/modules/$KVER/$rel
	mkdir -p "$(dirname "$dst")"
	case $f in
	*.ko) cp "$f" "$dst" ;;
	*.ko.xz) xz -dc "$f" >"${dst%.xz}" ;;
	*.ko.zst) zstd -qdc "$f" >"${dst%.zst}" ;;
	*.ko.gz) gzip -dc "$f" >"${dst%.gz}" ;;
	*) die "unexpected module file $f" ;;
	esac
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[[ -f $KMOD/$f ]] && cp "$KMOD/$f" "$R/lib/modules/$KVER/"
done
depmod -b "$R" "$KVER"
log "modules: ${#files[@]} files ($(du -sh "$R/lib/modules" | cut -f1)) for: ${MODULES[*]}"

# /init: Go-independent. internal/vmtest appends /lvsrs/{test,args,env,nonce}
# and /bin/lvs-rs; the exit marker is what the host side waits for.
cat >"$R/init" <<'EOF'
#!/bin/sh
# lvs-rs VM test bed init (generated by scripts/vm-prepare.sh).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/netns /var
ln -sfn /run /var/run
# Autoload: the kernel calls this for the IPVS genl family, schedulers, ipip.
echo /sbin/modprobe >/proc/sys/kernel/modprobe
modprobe crc32c_generic || echo "init: modprobe crc32c_generic failed"
ip link set lo up
hostname lvsrs-vm
nonce=$(cat /lvsrs/nonce 2>/dev/null)
rc=127
if [ -x /lvsrs/test ]; then
	set --
	if [ -f /lvsrs/args ]; then
		while IFS= read -r a; do set -- "$@" "$a"; done </lvsrs/args
	fi
	if [ -f /lvsrs/env ]; then
		while IFS= read -r kv; do [ -n "$kv" ] && export "$kv"; done </lvsrs/env
	fi
	export LVSRS_IN_VM=1 LVSRS_BIN=/bin/lvs-rs
	cd /lvsrs/pkg 2>/dev/null || cd /
	echo "LVSRS-START $nonce"
	/lvsrs/test "$@"
	rc=$?
else
	echo "init: /lvsrs/test is missing"
fi
sync
echo "LVSRS-EXIT=$rc $nonce"
poweroff -f
reboot -f
EOF
chmod 755 "$R/init"

(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -6 >"$WORK/initramfs-base.cpio.gz"

# 5. An uncompressed, PVH-bootable vmlinux: qemu loads the ELF directly, which
# skips the real-mode setup and the in-guest decompression (under TCG this
# cuts the boot from ~11 s to ~4 s). Only when the kernel has CONFIG_PVH.
VMLINUZ=$WORK/kroot/boot/vmlinuz-$KVER
extract_vmlinux() {
	local magic tool off
	for pair in '\xfd7zXZ\x00:xz -dc --single-stream' '\x28\xb5\x2f\xfd:zstd -qdc' '\x1f\x8b\x08:gzip -dc'; do
		magic=${pair%%:*} tool=${pair#*:}
		command -v "${tool%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obaP "$magic" "$VMLINUZ" 2>/dev/null | head -3 | cut -d: -f1); do
			tail -c +$((off + 1)) "$VMLINUZ" | $tool >"$WORK/vmlinux" 2>/dev/null || true
			if [[ $(head -c 4 "$WORK/vmlinux" | od -An -c | tr -d ' ') == '177ELF' ]]; then
				return 0
			fi
		done
	done
	return 1
}
rm -f "$CACHE/vmlinux"
if grep -qx 'CONFIG_PVH=y' "$WORK/kroot/boot/config-$KVER" 2>/dev/null && extract_vmlinux; then
	mv -f "$WORK/vmlinux" "$CACHE/vmlinux"
	log "extracted vmlinux for PVH boot"
else
	log "no PVH vmlinux: booting the compressed vmlinuz (slower under TCG)"
fi

# 6. Publish atomically, stamp last.
cp "$VMLINUZ" "$WORK/vmlinuz"
mv -f "$WORK/vmlinuz" "$CACHE/vmlinuz"
mv -f "$WORK/initramfs-base.cpio.gz" "$CACHE/initramfs-base.cpio.gz"
printf '%s\n' "$KVER" >"$CACHE/kernel-version"
printf 'kernel=%s\n%s\n%s\n' "$KVER" "$WANT" "$LOCAL" >"$CACHE/stamp.tmp"
mv -f "$CACHE/stamp.tmp" "$CACHE/stamp"
log "done: kernel $KVER, initramfs $(du -h "$CACHE/initramfs-base.cpio.gz" | cut -f1) in $CACHE"
