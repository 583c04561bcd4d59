#!/usr/bin/env bash
# vm-prepare.sh — prepare (and cache) what the VM test bed boots.
#
# Installs the Debian packages the bed needs when they are missing
# (qemu-system-x86 busybox-static kmod cpio xz-utils zstd ipvsadm), fetches the stock
# kernel package that linux-image-amd64 depends on in the Debian suite of the
# chosen kernel with `apt-get download` through a private apt configuration
# (its own sources.list, package lists and cache under the cache dir; the
# mirror is the one the machine's own sources name; /etc/apt is never
# touched), unpacks it with
# `dpkg-deb -x`, and builds a small base initramfs: busybox-static with its
# applet links, only the kernel modules the tests need (IPVS and every
# scheduler, ipip, veth, bridge, dummy, vrf, ... and their dependencies, as
# computed by `modprobe --show-depends`), Debian's ipvsadm with its shared
# libraries and loader (for test/vm/bench's comparison with ipvsadm -R),
# the routing daemons of the host's Debian release (bird2, keepalived, and
# frr's zebra, bgpd and vtysh) likewise, and a shell /init that runs /lvsrs/test (appended by internal/vmtest at
# each run).
#
# The kernel is LVSRS_VM_KERNEL:
#   6.1   Debian 12 bookworm's (the default)
#   6.12  Debian 13 trixie's
#   sid   the newest Debian unstable serves
# Modules compressed in the package (.ko.xz, .ko.zst) are decompressed here,
# because busybox's modprobe loads only plain .ko files.
#
# Output, in ${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm-$LVSRS_VM_KERNEL}:
#   vmlinuz               the kernel
#   vmlinux               the same, uncompressed ELF for qemu's PVH boot
#   initramfs-base.cpio.gz
#   stamp                 what the cache was built from; a second run with
#                         an unchanged stamp returns in well under a second
#                         (the suite's package lists are refreshed once a
#                         day, LVSRS_VM_REFRESH_MINUTES, default 1440)
#   apt/                  the private apt configuration, lists and cache
#
# Idempotent; concurrent runs serialise on a file lock in the cache dir.
# Needs root (apt-get, mknod). Usage: scripts/vm-prepare.sh [--force]
set -euo pipefail

KERNEL=${LVSRS_VM_KERNEL:-6.1}
case $KERNEL in
6.1) SUITES=(bookworm bookworm-updates) SECURITY=bookworm-security ;;
6.12) SUITES=(trixie trixie-updates) SECURITY=trixie-security ;;
sid) SUITES=(sid) SECURITY= ;;
*) printf 'vm-prepare: error: LVSRS_VM_KERNEL=%s: want 6.1, 6.12 or sid\n' "$KERNEL" >&2; exit 2 ;;
esac
CACHE=${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm-$KERNEL}
REFRESH=${LVSRS_VM_REFRESH_MINUTES:-1440}
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

log() { printf 'vm-prepare: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (apt-get, mknod)"

# Modules the tests need; dependencies are added by modprobe --show-depends.
# A module in OPTIONAL_MODULES may be missing (merged into another or built
# in on newer kernels).
# crc32c_generic comes first: libcrc32c soft-depends on it, and busybox's
# modprobe ignores soft dependencies, so /init loads it explicitly.
MODULES=(
	crc32c_generic
	ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
	ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_mh ip_vs_fo ip_vs_ovf
	ipip tunnel4 ip_tunnel ip6_tunnel tunnel6 fou ip_gre gre
	veth bridge dummy vrf nf_conntrack sctp
	nf_tables
)
OPTIONAL_MODULES=" crc32c_generic "

# xz-utils: to unpack the XZ-compressed kernel image into a PVH vmlinux.
# ipvsadm: copied into the initramfs with the libraries ldd lists.
PACKAGES=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd ipvsadm)

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# 1. Packages (the machine's own apt).
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	log "apt-get update"
	apt-get update -qq >/dev/null
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Which kernel package: the one linux-image-amd64 depends on in the
# kernel's suite, resolved through a private apt configuration.
BB_VER=$(dpkg-query -W -f='${Version}' busybox-static)
SCRIPT_SUM=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
IPVSADM_VER=$(dpkg-query -W -f='${Version}' ipvsadm)
LOCAL="script=$SCRIPT_SUM busybox=$BB_VER ipvsadm=$IPVSADM_VER kernel-suite=$KERNEL"
cache_complete() {
	[[ $FORCE == 0 && -f $CACHE/stamp && -s $CACHE/vmlinuz && -s $CACHE/initramfs-base.cpio.gz ]] &&
		[[ $(sed -n 3p "$CACHE/stamp") == "$LOCAL" ]]
}
# Fast path: the stamp was checked against the suite less than REFRESH
# minutes ago, so the resolution below would give the same answer.
if cache_complete && [[ -n $(find "$CACHE/stamp" -mmin "-$REFRESH" -print 2>/dev/null) ]]; then
	log "cache valid: $CACHE ($(head -1 "$CACHE/stamp"))"
	exit 0
fi

# The private apt configuration: the machine's Debian mirror (the first
# .../debian and .../debian-security URIs its sources name), this kernel's
# suites, and lists, cache and status of its own.
APTDIR=$CACHE/apt
mirror_of() { # $1: debian or debian-security
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' | grep -oE "https?://[^][[:space:]\"]+/$1/?([[:space:]]|\$)" |
		head -1 | tr -d '[:space:]' | sed 's|/$||' || true
}
MIRROR=$(mirror_of debian)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=$(mirror_of debian-security)
SECMIRROR=${SECMIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
{
	for s in "${SUITES[@]}"; do printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$MIRROR" "$s"; done
	[[ -z $SECURITY ]] || printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$SECMIRROR" "$SECURITY"
} >"$APTDIR/sources.list"
: >"$APTDIR/status"
APT_OPTS=(
	-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$APTDIR/lists" -o "Dir::State::status=$APTDIR/status"
	-o "Dir::Cache=$APTDIR/cache" -o APT::Sandbox::User=root
)

resolve_kernel() { # prints "PACKAGE VERSION"
	apt-cache "${APT_OPTS[@]}" show --no-all-versions linux-image-amd64 2>/dev/null |
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
log "apt-get update ($KERNEL: ${SUITES[*]} $SECURITY from $MIRROR)"
apt-get "${APT_OPTS[@]}" update -qq >/dev/null || log "warning: apt-get update failed"
read -r KPKG KPKG_VER < <(resolve_kernel || true) || true
if [[ -z ${KPKG:-} ]]; then
	if cache_complete; then
		log "warning: cannot resolve linux-image-amd64 in ${SUITES[*]} (offline?); keeping the cache: $(head -1 "$CACHE/stamp")"
		exit 0
	fi
	die "cannot resolve the kernel package linux-image-amd64 depends on in ${SUITES[*]}"
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

# 3. Kernel package: download, unpack, depmod over the full tree. Newer
# kernels split the image package into linux-binary-* (the image),
# linux-modules-* and linux-base-* (config, modules.builtin), exact-version
# dependencies of it, with the image at lib/modules/VERSION/vmlinuz.
split_parts() {
	apt-cache "${APT_OPTS[@]}" show "$KPKG${KPKG_VER:+=$KPKG_VER}" 2>/dev/null |
		awk '/^Depends:/ {
			n = split(substr($0, 10), deps, ",")
			for (i = 1; i <= n; i++)
				if (match(deps[i], /linux-(binary|modules|base)-[0-9][^ ]*/)) print substr(deps[i], RSTART, RLENGTH)
			exit
		}'
}
for p in "$KPKG" $(split_parts); do
	(cd "$WORK" && apt-get "${APT_OPTS[@]}" download -qq "$p${KPKG_VER:+=$KPKG_VER}" >/dev/null 2>&1) ||
		die "apt-get download $p failed"
done
for DEB in "$WORK"/*.deb; do
	log "downloaded $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"
	dpkg-deb -x "$DEB" "$WORK/kroot"
	rm -f "$DEB"
done
# Merged /usr: the modules may be under usr/lib; depmod -b wants lib/.
[[ -e $WORK/kroot/lib ]] || ln -s usr/lib "$WORK/kroot/lib"
KVER=$(ls "$WORK/kroot/lib/modules" | head -1)
VMLINUZ=$WORK/kroot/boot/vmlinuz-$KVER KCONFIG=$WORK/kroot/boot/config-$KVER
[[ -f $VMLINUZ ]] || VMLINUZ=$WORK/kroot/lib/modules/$KVER/vmlinuz KCONFIG=$WORK/kroot/lib/modules/$KVER/config
[[ -n $KVER && -f $VMLINUZ ]] || die "no kernel image found in $KPKG"
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
# --- BEGIN routing daemons (bird2, keepalived, frr) --------------------------
# Debian's bird2 (bird, birdc, birdcl), keepalived and frr (zebra, bgpd,
# vtysh) for the scale-out tests and benchmarks: the packages are
# downloaded and unpacked (never installed, so no daemon starts on this
# host); their shared libraries are installed as packages, and each binary
# is copied with the closure ldd lists at the same paths, like ipvsadm
# above, so they run directly in the VM. FRR's own libraries (libfrr, in
# the frr package under its RUNPATH) come from the unpacked package.
DAEMON_PKGS=(bird2 keepalived frr)
FRR_LIBDIR=usr/lib/x86_64-linux-gnu/frr
apt_update() { apt-get update -qq >/dev/null || log "warning: apt-get update failed"; }
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
FRR_VER=$(dpkg-deb -f "$WORK"/frr_*.deb Version)
rm -f "$WORK"/*.deb
DAEMON_BINS=(usr/sbin/bird usr/sbin/birdc usr/sbin/birdcl usr/sbin/keepalived
	usr/lib/frr/zebra usr/lib/frr/bgpd usr/bin/vtysh)
for bin in "${DAEMON_BINS[@]}"; do
	[[ -x $WORK/daemons/$bin ]] || die "$bin missing from ${DAEMON_PKGS[*]}"
	install -D -m 755 "$WORK/daemons/$bin" "$R/$bin"
	for lib in $(LD_LIBRARY_PATH=$WORK/daemons/$FRR_LIBDIR ldd "$WORK/daemons/$bin" |
		awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
		dst=${lib#"$WORK/daemons"}
		[[ -e $R$dst ]] || install -D -m 755 "$(readlink -f "$lib")" "$R$dst"
	done
done
# FRR's daemons insist on their vty group, with the user they run as (root
# in the tests, -u root -g root) a member of it.
FRR_GROUPS=$'frrvty:x:85:root\nfrr:x:86:\n'
log "daemons: bird birdc birdcl keepalived zebra bgpd vtysh (frr $FRR_VER) and their libraries"
rm -rf "$WORK/daemons"
# --- END routing daemons -----------------------------------------------------
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
printf '127.0.0.1 localhost\n::1 localhost\n' >"$R/etc/hosts"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n%s' "$FRR_GROUPS" >"$R/etc/group"

# Modules: exactly the files modprobe --show-depends lists, decompressed.
KMOD=$WORK/kroot/lib/modules/$KVER
: >"$WORK/deps"
for m in "${MODULES[@]}"; do
	if ! modprobe -d "$WORK/kroot" -S "$KVER" --show-depends "$m" >>"$WORK/deps" 2>/dev/null; then
		[[ $OPTIONAL_MODULES == *" $m "* ]] || die "module $m not in $KPKG"
		log "optional module $m not in $KPKG"
	fi
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
if grep -qx 'CONFIG_PVH=y' "$KCONFIG" 2>/dev/null && extract_vmlinux; then
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
