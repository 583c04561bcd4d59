#!/usr/bin/env bash
# The project's test command (README "Tests"). On a fresh Debian machine, as
# root, it installs what it needs, then runs:
#   1. gofmt and go vet;
#   2. every Go test: unit tests and host network-namespace tests run on this
#      kernel, the packages under test/vm/ boot Debian's stock kernel under
#      qemu and run inside it (IPVS, ipip);
#   3. a bounded fuzz run of the config loader;
#   4. systemd-analyze verify on the units, and `make install` into a
#      scratch DESTDIR.
# Environment: FUZZTIME (default 30s), GOTESTFLAGS (extra go test flags).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export CGO_ENABLED=0 # the VM runs the test binaries: they must be static

stage() { printf '\n=== %s\n' "$*"; }

stage "prerequisites"
scripts/vm-prepare.sh
for tool in systemd-analyze:systemd make:make; do
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

stage "go test (unit, host namespaces, VM suites)"
# shellcheck disable=SC2086
go test -count=1 -timeout 40m ${GOTESTFLAGS:-} ./...

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

stage "all tests passed"
