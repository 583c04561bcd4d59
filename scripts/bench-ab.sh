#!/usr/bin/env bash
# bench-ab.sh — compare this tree's lvs-rs with another revision's in one
# VM run (scripts/bench.sh ab runs this; test/vm/bench TestAB has the
# details): the commands a director runs on a table of 11,000 and of
# 10,100 objects (start on an empty table, no-op start, one-weight edit,
# status, stop), each round timing both binaries in turn, the order
# alternating, on fresh namespaces. Under a busy host one TestTable run
# minutes after another can differ by a fifth; interleaved rounds
# disturbed alike show a change of a few percent.
#
#   scripts/bench-ab.sh REV [go test flags]
#
# REV is any git revision (a commit, a tag, HEAD~3, main); it is built in
# a temporary worktree, statically, as vmtest builds this tree's.
# Environment: ROUNDS=N (default 9), SHAPES=1000x10,100x100 (default both),
# BENCH_OUT=file (raw go test output).
set -euo pipefail
cd "$(dirname "$0")/.."

rev=${1:?usage: scripts/bench.sh ab REV [go test flags]}
shift
commit=$(git rev-parse --verify "$rev^{commit}")
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/src" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach "$tmp/src" "$commit" >/dev/null 2>&1
(cd "$tmp/src" && CGO_ENABLED=0 go build -o "$tmp/lvs-rs-baseline" ./cmd/lvs-rs)
echo "bench: baseline ${commit:0:12} ($rev) against this tree" >&2

out=${BENCH_OUT:-$tmp/out}
echo "bench: CGO_ENABLED=0 LVSRS_VM_BASELINE=... go test ./test/vm/bench/ -run '^TestAB\$' -v $*" >&2
set +e
CGO_ENABLED=0 LVSRS_VM_BASELINE="$tmp/lvs-rs-baseline" LVSRS_TEST_BENCH_ROUNDS="${ROUNDS:-9}" \
	LVSRS_TEST_BENCH_SHAPES="${SHAPES:-}" \
	go test ./test/vm/bench/ -run '^TestAB$' -count=1 -v -timeout 90m "$@" >"$out" 2>&1
rc=$?
set -e
grep -E '^(--- (FAIL|SKIP)|    .*\.go:[0-9]+:|vmtest: (booting|skipping)|FAIL|ok )' "$out" >&2 || true
# The comparison: from each shape's heading to the end of its table.
awk '/^[0-9]+x[0-9]+  \(medians of/ {p = 1} p && /^$/ {p = 0} p' "$out"
echo "baseline: ${commit:0:12} ($rev)"
exit "$rc"
