#!/usr/bin/env bash
# The project's test command (README "How the tests run"). On a fresh Debian
# machine, as root, it installs what it needs, then runs:
#   1. gofmt and go vet (the main module and packaging/);
#   2. the Debian package: make deb, lintian (no errors), and, while that
#      runs, the VM suites smoke, director and e2e on the other two kernels
#      (Debian 13's 6.12 and the newest in sid) in the background;
#   3. every Go test: unit tests and host network-namespace tests run on this
#      kernel, the packages under test/vm/ boot Debian 12's 6.1 under qemu
#      and run inside it (IPVS, ipip);
#   4. a bounded fuzz run of the config loader;
#   5. systemd-analyze verify on the units, and `make install` into a
#      scratch DESTDIR;
#   6. the boot test (scripts/boot-test.sh): apt install/remove/purge of the
#      .deb in a Debian chroot, then a director, a dr real server and a nat
#      real server booted with systemd from it;
#   7. the result of the other kernels' suites.
# Environment: FUZZTIME (default 30s), GOTESTFLAGS (extra go test flags),
# EXTRA_KERNELS (default "6.12 sid"; empty skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export CGO_ENABLED=0 # the VM runs the test binaries: they must be static

stage() { printf '\n=== %s\n' "$*"; }

stage "prerequisites"
EXTRA_KERNELS=${EXTRA_KERNELS-6.12 sid}
for k in 6.1 $EXTRA_KERNELS; do LVSRS_VM_KERNEL=$k scripts/vm-prepare.sh; done
# deb-systemd-helper, unshare, ip and cmp: packaging/checks (which skips
# its maintainer-script tests without the first two).
for tool in systemd-analyze:systemd make:make lintian:lintian mmdebstrap:mmdebstrap \
	deb-systemd-helper:init-system-helpers unshare:util-linux ip:iproute2 cmp:diffutils; do
	if ! command -v "${tool%%:*}" >/dev/null; then
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null
	fi
done

stage "gofmt and go vet"
unformatted=$(gofmt -l cmd pkg internal test 2>/dev/null || true)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
go vet ./...
unformatted=$(gofmt -l packaging 2>/dev/null || true)
[ -z "$unformatted" ] || { echo "not gofmt-formatted:"; echo "$unformatted"; exit 1; }
(cd packaging && go vet ./... && go test -count=1 ./...)

# The other kernels' suites run in the background while the package is
# built and checked (little CPU), and go on beside the main suite.
logs=$(mktemp -d)
extra_pid=
# On an early exit the background suites (their own process group) go too.
trap '[ -z "$extra_pid" ] || kill -- "-$extra_pid" 2>/dev/null; rm -rf "$logs"' EXIT
if [ -n "$EXTRA_KERNELS" ]; then
	stage "VM suites smoke, director, e2e on kernels $EXTRA_KERNELS (background)"
	# shellcheck disable=SC2016
	setsid bash -c '
		rc=0
		for k in $0; do
			echo "--- kernel $k"
			LVSRS_VM_KERNEL=$k go test -count=1 -p 1 -timeout 30m $1 \
				./test/vm/smoke/ ./test/vm/director/ ./test/vm/e2e/ || rc=1
		done
		exit $rc' "$EXTRA_KERNELS" "${GOTESTFLAGS:-}" >"$logs/kernels" 2>&1 &
	extra_pid=$!
fi

stage "Debian package: make deb, lintian"
make -s deb
deb=$(ls -t dist/lvs-rs_*.deb | head -1)
# Overridden tags are documented in packaging/lintian-overrides.
lint=$(lintian --fail-on error --pedantic "$deb" 2>&1) || { echo "$lint"; echo "lintian reports errors for $deb"; exit 1; }
printf '%s\n' "$lint" | grep -v '^running with root' || true
echo "lintian: no errors in $deb"
scripts/boot-prepare.sh

stage "go test (unit, host namespaces, VM suites on 6.1)"
# One package at a time (-p 1): each VM suite gets a core of its own next
# to the other kernels' suites, so timing-sensitive tests (health checks,
# reloads under traffic) do not compete with a second VM; unit tests are
# short, and the VM suites take about four minutes in all.
# shellcheck disable=SC2086
go test -count=1 -p 1 -timeout 40m ${GOTESTFLAGS:-} ./...
# The man page generator is built only with -tags manpages (make man).
go test -count=1 -tags manpages -run '^TestManPages$' ./cmd/lvs-rs/

stage "fuzz the config loader (${FUZZTIME:-30s})"
# A crash is saved under pkg/config/testdata/fuzz/ and fails the run. The
# fuzz engine itself can stall a worker on a loaded machine and fail with no
# input saved; only that case is retried once.
fuzz() { go test -run '^$' -fuzz '^FuzzParse$' -fuzztime "${FUZZTIME:-30s}" ./pkg/config; }
if ! fuzz; then
	if [ -n "$(git status --porcelain -- pkg/config/testdata/fuzz 2>/dev/null)" ]; then
		echo "the fuzzer found a failing input (see pkg/config/testdata/fuzz/)"; exit 1
	fi
	echo "fuzz run failed without a failing input; retrying once"
	fuzz
fi

stage "systemd-analyze verify"
scripts/verify-units.sh

stage "make install into a scratch DESTDIR"
scripts/check-install.sh

stage "boot test: apt install/remove/purge, systemd boot of a director and two real servers (dr, nat)"
scripts/boot-test.sh "$deb"

if [ -n "$extra_pid" ]; then
	stage "VM suites on kernels $EXTRA_KERNELS"
	extra_rc=0
	wait "$extra_pid" || extra_rc=$?
	extra_pid=
	cat "$logs/kernels"
	[ "$extra_rc" = 0 ] || { echo "VM suites failed on one of: $EXTRA_KERNELS"; exit 1; }
fi

stage "all tests passed"
