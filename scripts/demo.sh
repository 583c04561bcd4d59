#!/usr/bin/env bash
# demo.sh — see lvs-rs work, in one command (as root):
#
#   sudo scripts/demo.sh
#
# Builds a direct-routing LVS cluster in network namespaces (a client, a
# director, two real servers on one L2 segment), runs lvs-rs on every node
# with one shared cluster.yaml, sends a dozen HTTP requests through the VIP
# and prints which real server answered each, then the director's
# `lvs-rs status` table; then stops lvs-rs on every node and removes the
# namespaces. Nothing outside the namespaces changes (apart from loading
# the ip_vs module).
#
# When this kernel has no IPVS, the same demo runs inside a qemu VM with
# Debian's stock kernel (the VM test bed: scripts/vm-prepare.sh installs
# qemu and caches the kernel on first use).
#
# Needs: root, Go, and on Debian nothing else. Options:
#   --vm     run in the VM even when this kernel has IPVS
#   --host   run on this kernel (fails without IPVS)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

where=auto
case "${1:-}" in
--vm) where=vm ;;
--host) where=host ;;
"") ;;
*) die "usage: $0 [--vm|--host]" ;;
esac

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, IPVS): sudo $0"
command -v go >/dev/null || die "needs Go (https://go.dev/dl/) on PATH"

has_ipvs() {
	[[ -e /proc/net/ip_vs ]] && return 0
	modprobe -q ip_vs 2>/dev/null || true
	[[ -e /proc/net/ip_vs ]]
}
if [[ $where == auto ]]; then
	where=vm
	has_ipvs && where=host
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ $where == host ]]; then
	go build -o "$tmp/lvs-rs" ./cmd/lvs-rs
	go build -o "$tmp/demo" ./internal/demo/cmd/demo
	exec "$tmp/demo" -lvs-rs "$tmp/lvs-rs"
fi

echo "this kernel has no IPVS: running the demo inside a qemu VM with Debian's stock kernel (about 30 s)"
cache=${LVSRS_VM_CACHE:-/var/cache/lvs-rs/vm-${LVSRS_VM_KERNEL:-6.1}}
if [[ ! -f $cache/stamp ]]; then
	echo "(first run: installing qemu and fetching Debian's kernel package into $cache, once; a few minutes)"
fi
if ! scripts/vm-prepare.sh >"$tmp/prepare.log" 2>&1; then
	cat "$tmp/prepare.log" >&2
	die "scripts/vm-prepare.sh failed"
fi

# The test prefixes each line of the report (vmtest passes LVSRS_TEST_* into
# the VM); everything else go test and the VM print is kept for failures.
mark="demo-report| "
rc=0
LVSRS_TEST_DEMO_PREFIX="$mark" CGO_ENABLED=0 \
	go test -count=1 -v -timeout 10m -run '^TestDemo$' ./test/vm/demo/ >"$tmp/go-test.log" 2>&1 || rc=$?
awk -v m="$mark" 'i = index($0, m) { print substr($0, i + length(m)) }' "$tmp/go-test.log"
if [[ $rc != 0 ]]; then
	echo >&2
	echo "demo: failed (go test exit $rc); its full output:" >&2
	grep -vF "$mark" "$tmp/go-test.log" >&2 || true
	exit 1
fi
