#!/usr/bin/env bash
# Runs `make install` into a scratch DESTDIR, as a packager would, and checks
# what lands where: the binary, both units pointing at it, the example config.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/usr >/dev/null
fail() { echo "check-install: $*" >&2; exit 1; }
"$dest/usr/sbin/lvs-rs" version | grep -q '^lvs-rs ' || fail "installed binary does not run"
for role in director realserver; do
	unit="$dest/etc/systemd/system/lvs-rs-$role.service"
	[ -f "$unit" ] || fail "missing $unit"
	grep -q "^ExecStart=/usr/sbin/lvs-rs start --role $role" "$unit" || fail "$unit: ExecStart does not run /usr/sbin/lvs-rs"
	grep -q "^ExecStop=/usr/sbin/lvs-rs stop --role $role" "$unit" || fail "$unit: ExecStop does not run lvs-rs stop"
	! grep -q '@[A-Z]*@' "$unit" || fail "$unit: placeholder left"
done
cmp -s pkg/config/testdata/example.yaml "$dest/etc/lvs-rs/lvs-rs.yaml" || fail "example config not installed"
[ -f "$dest/usr/share/doc/lvs-rs/README.md" ] || fail "README not installed"
echo "install layout ok: $(cd "$dest" && find . -type f | sort | tr '\n' ' ')"
