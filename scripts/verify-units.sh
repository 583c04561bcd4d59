#!/usr/bin/env bash
# Installs the units into a scratch root (as `make install` would) and runs
# systemd-analyze verify on them, with the man pages they name.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/sbin/lvs-rs" ./cmd/lvs-rs
for u in scripts/systemd/*.service; do
	sed -e "s|@SBINDIR@|$tmp/sbin|g" -e "s|@DOCDIR@|/usr/share/doc/lvs-rs|g" "$u" > "$tmp/$(basename "$u")"
done
# The man pages the units' Documentation= names must exist: verify runs man.
CGO_ENABLED=0 go build -tags manpages -o "$tmp/lvs-rs-man" ./cmd/lvs-rs
"$tmp/lvs-rs-man" man "$tmp/man/man8"
install -D -m 644 packaging/man/lvs-rs.yaml.5 "$tmp/man/man5/lvs-rs.yaml.5"
# verify prints problems and exits non-zero on errors; warnings about a
# missing /etc/lvs-rs/lvs-rs.yaml condition are not errors.
out=$(MANPATH=$tmp/man systemd-analyze verify "$tmp"/*.service 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || echo "$out"
echo "units verified: $(cd "$tmp" && ls ./*.service | tr '\n' ' ')"
