#!/usr/bin/env bash
# boot-test.sh — the lvs-rs .deb on a real systemd boot.
#
# Installs the .deb (default: the newest dist/lvs-rs_*.deb; `make deb`)
# into a copy of the cached Debian bookworm root filesystem
# (scripts/boot-prepare.sh), first checking that `apt install ./DEB`,
# `apt remove` and `apt purge` work and leave no file behind. Then makes
# three disks from it, a director, a dr real server and a nat real server,
# each configured as an operator would (the same /etc/lvs-rs/lvs-rs.yaml,
# test/boot/lvs-rs.yaml, on the director and the dr real server; the nat
# real server's own test/boot/lvs-rs-nat.yaml; the unit for its role
# enabled; a static address by systemd-networkd), and boots them under
# qemu with systemd as PID 1 and the VM bed's Debian kernel. The director
# and the dr real server share one Ethernet segment (a qemu hub in the
# director's qemu joined to the real server's over a unix socket): the
# director's eth0, the real server's eth0, and the director's eth1, which a
# unit moves into a network namespace as the client.
#
# The guests check themselves (test/boot/bin/check-*) and print
# "LVSRS-BOOT PASS|FAIL NAME: detail" on their serial consoles:
#   real server: lvs-rs-realserver finished before network-pre.target and
#     before systemd-networkd started; at network-pre.target eth0 had no
#     address while the VIP was on lo with arp_ignore=1, arp_announce=2;
#   nat real server (a NIC of its own; it powers off when done):
#     lvs-rs-realserver-nat succeeded, started after network-online.target
#     and left the default route via the director (10.0.0.1); `systemctl
#     stop` removed it (the host had none before);
#   director: lvs-rs-director started after network-online.target; the
#     client's requests to the VIP reach the real server with no command
#     typed, and the VIP's ARP entry is the director's; `systemctl reload`
#     applies a changed weight in place with the connection counters kept;
#     `systemctl stop` restores the snapshot taken just before the start;
#   director, long-running: while the client sends requests without pause,
#     the one-shot unit is switched to lvs-rs-director-daemon (a tcp check),
#     which becomes active (READY) with the real server up in `lvs-rs
#     status`, is restarted, and reloaded with a changed weight: no request
#     fails and the IPVS service's connection counter never resets;
#     `systemctl stop` of the daemon exits cleanly and leaves the kernel as
#     it is (traffic flows), then `lvs-rs stop --role director` restores the snapshot;
#   `systemd-analyze security` of the four units is no worse than
#     2.9 (director), 3.0 (director daemon), 2.4 (real server), 2.3 (nat real server).
# The run fails unless every expected check passed.
#
# Usage: scripts/boot-test.sh [DEB]. Needs root. BOOT_TIMEOUT (default 600 s);
# the serial consoles are kept in BOOT_LOGS (default /var/tmp/lvsrs-boot-logs).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'boot-test: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root"

DEB=${1:-$(ls -t dist/lvs-rs_*.deb 2>/dev/null | head -1)}
[[ -f $DEB ]] || die "no .deb (run make deb)"
DEB=$(realpath "$DEB")
scripts/boot-prepare.sh
CACHE=${LVSRS_BOOT_CACHE:-/var/cache/lvs-rs/boot}
VMCACHE=${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm-6.1}
TIMEOUT=${BOOT_TIMEOUT:-600}

WORK=$(mktemp -d /var/tmp/lvsrs-boot.XXXXXX)
QEMU_PIDS=()
LOGS=${BOOT_LOGS:-/var/tmp/lvsrs-boot-logs}
cleanup() {
	for p in "${QEMU_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	mkdir -p "$LOGS" && cp "$WORK"/*.log "$LOGS/" 2>/dev/null || true
	mountpoint -q "$WORK/root/proc" && umount "$WORK/root/proc"
	rm -rf "$WORK"
}
trap cleanup EXIT
R=$WORK/root
log "copying the root filesystem"
cp -a "$CACHE/rootfs" "$R"

# 1. Install, remove, purge, install with apt in the chroot.
listing() { (cd "$R" && find . -xdev \( -path ./proc -o -path ./var/lib/dpkg -o -path ./var/lib/apt \
	-o -path ./var/cache -o -path ./var/log -o -path ./tmp -o -path ./run \) -prune -o -print | sort); }
mount -t proc proc "$R/proc"
cp "$DEB" "$R/tmp/lvs-rs.deb"
listing >"$WORK/before"
apt_in() { chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" >>"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log"; die "apt-get $* failed in the chroot"; }; }
apt_in install /tmp/lvs-rs.deb
for f in /usr/sbin/lvs-rs /lib/systemd/system/lvs-rs-director.service /lib/systemd/system/lvs-rs-realserver.service \
	/etc/lvs-rs/lvs-rs.yaml /etc/default/lvs-rs /usr/share/man/man8/lvs-rs.8.gz /usr/share/man/man8/lvs-rs-start.8.gz \
	/lib/systemd/system/lvs-rs-director-daemon.service /usr/share/man/man5/lvs-rs.yaml.5.gz /usr/share/bash-completion/completions/lvs-rs \
	/usr/share/zsh/vendor-completions/_lvs-rs /usr/share/fish/vendor_completions.d/lvs-rs.fish \
	/usr/share/doc/lvs-rs/README.md /usr/share/doc/lvs-rs/copyright; do
	[[ -e $R$f ]] || die "installed package lacks $f"
done
chroot "$R" lvs-rs version | grep -q '^lvs-rs ' || die "the installed lvs-rs does not run"
grep -q '^ExecStart=/usr/sbin/lvs-rs start --role director' "$R/lib/systemd/system/lvs-rs-director.service" ||
	die "director unit does not run /usr/sbin/lvs-rs"
[[ -z $(find "$R/etc/systemd/system" -name 'lvs-rs-*' -print -quit) ]] || die "installing enabled a unit"
grep -qx /etc/lvs-rs/lvs-rs.yaml "$R/var/lib/dpkg/info/lvs-rs.conffiles" || die "lvs-rs.yaml is not a conffile"
grep -qx /etc/default/lvs-rs "$R/var/lib/dpkg/info/lvs-rs.conffiles" || die "/etc/default/lvs-rs is not a conffile"
apt_in remove lvs-rs
[[ ! -e $R/usr/sbin/lvs-rs && -e $R/etc/lvs-rs/lvs-rs.yaml ]] || die "apt remove: binary left or conffile gone"
apt_in purge lvs-rs
listing >"$WORK/after"
diff -u "$WORK/before" "$WORK/after" >"$WORK/leftover" || { cat "$WORK/leftover"; die "apt purge left files behind"; }
log "apt install, remove and purge: ok (no file left behind)"
apt_in install /tmp/lvs-rs.deb
umount "$R/proc"

# 2. The three disks.
install -D -m 644 test/boot/lvs-rs.yaml "$R/etc/lvs-rs/lvs-rs.yaml"
install -d "$R/usr/local/lib/lvsrs-boot"
install -m 755 test/boot/bin/* "$R/usr/local/lib/lvsrs-boot/"
install -m 644 test/boot/units/*.service "$R/etc/systemd/system/"
SIZE=$(( $(du -sm "$R" | cut -f1) + 300 ))
network() { # MAC ADDRESS
	printf '[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s\n' "$1" "$2" >"$R/etc/systemd/network/10-eth0.network"
}
mkdisk() { # NAME
	echo "$1" >"$R/etc/hostname"
	mkfs.ext4 -q -F -L root -d "$R" "$WORK/$1.img" "${SIZE}M" >/dev/null
}
units() { chroot "$R" systemctl --quiet "$@"; }
units mask serial-getty@ttyS0.service # no login prompt amid the results

network 52:54:00:00:00:01 10.0.0.1/24
units enable lvs-rs-director.service lvsrs-boot-snapshot.service lvsrs-boot-client.service lvsrs-boot-check.service
mkdisk lvsrs-director
units disable lvs-rs-director.service lvsrs-boot-snapshot.service lvsrs-boot-client.service lvsrs-boot-check.service

network 52:54:00:00:00:02 10.0.0.2/24
echo 'LVS_RS_ADDRESS=10.0.0.2' >>"$R/etc/default/lvs-rs"
install -D -m 644 /dev/stdin "$R/srv/www/index.html" <<<"real-1"
units enable lvs-rs-realserver.service lvsrs-boot-probe.service lvsrs-boot-httpd.service lvsrs-boot-report.service
mkdisk lvsrs-real
units disable lvs-rs-realserver.service lvsrs-boot-probe.service lvsrs-boot-httpd.service lvsrs-boot-report.service

# The nat real server: its own file (a nat service, realserver.gateway),
# lvs-rs-realserver-nat.service, no LVS_RS_ADDRESS (it starts once the
# network is online). It needs no peer: a NIC of its own on an empty hub.
network 52:54:00:00:00:04 10.0.0.4/24
sed -i '/^LVS_RS_ADDRESS=/d' "$R/etc/default/lvs-rs"
install -m 644 test/boot/lvs-rs-nat.yaml "$R/etc/lvs-rs/lvs-rs.yaml"
units enable lvs-rs-realserver-nat.service lvsrs-boot-natreport.service
mkdisk lvsrs-nat
log "disks: ${SIZE} MB each"

# 3. Boot: the real server first (it serves the socket), then the director.
KVER=$(cat "$CACHE/kernel-version")
KERNEL=$CACHE/vmlinuz
if [[ -f $VMCACHE/vmlinux && $(cat "$VMCACHE/kernel-version" 2>/dev/null) == "$KVER" ]]; then
	KERNEL=$VMCACHE/vmlinux # PVH: much faster under TCG
fi
ACCEL=tcg
[[ ${LVSRS_VM_ACCEL:-} == kvm ]] && ACCEL=kvm
SOCK=$WORK/segment.sock
qemu() { # NAME SERIAL-LOG NET-ARGS... (NICE: the nice level, default 0)
	local name=$1 out=$2
	shift 2
	nice -n "${NICE:-0}" qemu-system-x86_64 -name "$name" -nographic -no-reboot -m 512 -smp 1 -accel "$ACCEL" \
		-kernel "$KERNEL" -initrd "$CACHE/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw net.ifnames=0 quiet panic=-1 systemd.show_status=0" \
		-drive "file=$WORK/$name.img,format=raw,if=virtio,cache=unsafe" "$@" \
		</dev/null >"$out" 2>&1 &
	QEMU_PIDS+=($!)
}
t0=$SECONDS
qemu lvsrs-real "$WORK/real.log" \
	-netdev "stream,id=seg,server=on,addr.type=unix,addr.path=$SOCK" \
	-device virtio-net-pci,romfile=,netdev=seg,mac=52:54:00:00:00:02
for _ in $(seq 50); do [[ -S $SOCK ]] && break; sleep 0.1; done
qemu lvsrs-director "$WORK/director.log" \
	-netdev "stream,id=up,server=off,addr.type=unix,addr.path=$SOCK" \
	-netdev hubport,id=hp0,hubid=0,netdev=up \
	-netdev hubport,id=hp1,hubid=0 -device virtio-net-pci,romfile=,netdev=hp1,mac=52:54:00:00:00:01 \
	-netdev hubport,id=hp2,hubid=0 -device virtio-net-pci,romfile=,netdev=hp2,mac=52:54:00:00:00:03
# The nat real server at a lower priority: it only checks itself, while
# the director's checks time traffic.
NICE=10 qemu lvsrs-nat "$WORK/nat.log" \
	-netdev hubport,id=hp0,hubid=0 -device virtio-net-pci,romfile=,netdev=hp0,mac=52:54:00:00:00:04
log "booting the real servers and the director (kernel $KVER, $ACCEL)"
done_both() {
	grep -q 'LVSRS-BOOT-DONE director' "$WORK/director.log" && grep -q 'LVSRS-BOOT-DONE realserver' "$WORK/real.log" &&
		grep -q 'LVSRS-BOOT-DONE natrealserver' "$WORK/nat.log"
}
while ! done_both; do
	if ((SECONDS - t0 > TIMEOUT)); then
		tail -50 "$WORK/real.log" "$WORK/nat.log" "$WORK/director.log" | tr -d '\r' >&2
		die "the guests did not finish within ${TIMEOUT}s"
	fi
	# A VM whose qemu exited before it reported (the nat real server
	# powers off once it has) fails the run now, not at the timeout.
	for vm in 0:real:realserver 1:director:director 2:nat:natrealserver; do
		IFS=: read -r i name marker <<<"$vm"
		if ! kill -0 "${QEMU_PIDS[i]}" 2>/dev/null && ! grep -q "LVSRS-BOOT-DONE $marker" "$WORK/$name.log"; then
			tail -50 "$WORK/$name.log" | tr -d '\r' >&2
			die "the $name VM stopped before its checks finished"
		fi
	done
	sleep 2
done
log "the three guests reported after $((SECONDS - t0))s"

# 4. Results.
results=$(cat "$WORK/real.log" "$WORK/nat.log" "$WORK/director.log" | tr -d '\r' | grep -ao 'LVSRS-BOOT.*' || true)
echo "$results"
cat "$WORK/real.log" "$WORK/nat.log" "$WORK/director.log" | tr -d '\r' | grep -ao 'LVSRS-DEBUG.*' || true
EXPECTED=(realserver-unit-succeeded realserver-before-network-pre realserver-before-networkd
	realserver-ready-before-nic-address realserver-vip-and-arp-before-network
	natrs-unit-succeeded natrs-after-network-online natrs-gateway-route natrs-stop-removes-route
	director-unit-active director-after-network-online traffic-reaches-real-server
	vip-answered-by-director-only reload-applies-weight reload-keeps-counters traffic-after-reload
	stop-restores-snapshot daemon-ipvs-sysctls daemon-unit-ready daemon-status-up daemon-restart-ready daemon-reload-applies-weight
	daemon-switch-restart-reload-drop-nothing daemon-counters-kept daemon-stop-clean daemon-stop-keeps-kernel
	daemon-teardown-restores-snapshot daemon-teardown-restores-ipvs-sysctls security-lvs-rs-director.service security-lvs-rs-director-daemon.service
	security-lvs-rs-realserver.service security-lvs-rs-realserver-nat.service)
failed=0
for n in "${EXPECTED[@]}"; do
	grep -q "^LVSRS-BOOT PASS $n:" <<<"$results" || { log "FAIL: $n"; failed=1; }
done
if grep -q '^LVSRS-BOOT FAIL' <<<"$results"; then failed=1; fi
((failed == 0)) || die "boot test failed"
log "boot test passed: ${#EXPECTED[@]} checks"
