#!/usr/bin/env bash
# checkbench.sh — the health-check benchmark: lvs-rs's checker (pkg/health)
# and keepalived's, each checking 10,000 real servers over TCP once a
# second, one after the other in the same VM run; prints a table of check
# rate, CPU seconds per second and schedule accuracy as the servers saw it
# (test/vm/checkbench has the details and the definitions).
#
# Usage (root): scripts/checkbench.sh [other go test flags]
# Environment (defaults in brackets), passed into the VM:
#   CHECKBENCH_TARGETS [10000]  real servers (100 ports per address)
#   CHECKBENCH_RUNS    [3]      runs per contender; the table shows medians
#   CHECKBENCH_WINDOW  [20]     seconds measured per run
#   CHECKBENCH_WARMUP  [10]     seconds before the window
#   CHECKBENCH_OUT     file     keep the raw go test output there
#   LVSRS_TEST_CHECKBENCH_PROFILE=1  the lvs-rs checker's CPU profile of its
#                               first run, printed base64 between PPROF-BEGIN
#                               and PPROF-END in CHECKBENCH_OUT
# The VM runs under TCG unless KVM works: those are not hardware numbers
# (CPU seconds are inflated); compare the two contenders.
set -euo pipefail
cd "$(dirname "$0")/.."

export LVSRS_TEST_CHECKBENCH=1
export LVSRS_TEST_CHECKBENCH_TARGETS=${CHECKBENCH_TARGETS:-10000}
export LVSRS_TEST_CHECKBENCH_RUNS=${CHECKBENCH_RUNS:-3}
export LVSRS_TEST_CHECKBENCH_WINDOW=${CHECKBENCH_WINDOW:-20}
export LVSRS_TEST_CHECKBENCH_WARMUP=${CHECKBENCH_WARMUP:-10}
out=${CHECKBENCH_OUT:-$(mktemp)}
[[ -n ${CHECKBENCH_OUT:-} ]] || trap 'rm -f "$out"' EXIT

echo "checkbench: CGO_ENABLED=0 go test ./test/vm/checkbench/ -run '^TestCheckBench\$' -v $*" >&2
set +e
CGO_ENABLED=0 LVSRS_VM_NO_LVSRS=1 go test -count=1 ./test/vm/checkbench/ -run '^TestCheckBench$' -v -timeout 60m "$@" 2>&1 |
	tee "$out" | grep --line-buffered -E '^(checkbench: run|--- (FAIL|SKIP)|    .*\.go:[0-9]+:|vmtest: (booting|skipping)|FAIL|ok )' >&2
rc=${PIPESTATUS[0]}
set -e

accel=$(awk '/^vmtest: booting/ {print $NF}' "$out" | tail -1)
if ! grep -q '^checkbench-table-end' "$out"; then
	echo "checkbench: no table (go test exit status $rc)" >&2
	exit $((rc ? rc : 1))
fi
echo
sed -n '/^checkbench-table-begin/,/^checkbench-table-end/p' "$out" | sed '1d;$d'
echo "VM accelerator: ${accel:-unknown}${accel:+$([[ $accel == tcg ]] && echo ' (emulated: absolute CPU is inflated, compare the rows)')}"
exit "$rc"
