#!/usr/bin/env bash
# Installs the units into a scratch root (as `make install` would) and runs
# systemd-analyze verify on them.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/sbin/lvs-rs" ./cmd/lvs-rs
for u in scripts/systemd/*.service; do
	sed "s|@SBINDIR@|$tmp/sbin|g" "$u" > "$tmp/$(basename "$u")"
done
# verify prints problems and exits non-zero on errors; warnings about a
# missing /etc/lvs-rs/lvs-rs.yaml condition are not errors.
out=$(systemd-analyze verify "$tmp"/*.service 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || echo "$out"
echo "units verified: $(cd "$tmp" && ls ./*.service | tr '\n' ' ')"
