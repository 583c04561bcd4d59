#!/usr/bin/env bash
# bench-apply.sh — apply 10,000 real servers into a fresh namespace in the
# VM test bed, six ways, in process (BenchmarkApply), and print a table
# (test/vm/bench has the details; scripts/bench.sh apply runs this):
#
#   pipelined    lvs-rs's client: many requests per sendmsg
#   serial       the same client, one request per round trip (the old way)
#   director     director.Start from a config: observe, plan, execute, record
#   ipvsadm      ipvsadm -R with the equivalent restore file
#   floor        the same requests pre-encoded, raw sendto/recvfrom, no Go work
#   floor-noack  the floor with NLM_F_ACK on each chunk's last request only
#
# Usage (root): scripts/bench-apply.sh [-benchtime 3x] [-count N] [other go test flags]
# The table shows medians over the -count runs (noisy hosts: use -count 3).
# Environment: BENCH='regexp' (default '.'), BENCH_OUT=file (raw go test output).
# The VM runs under TCG unless KVM works: those are not hardware numbers,
# compare the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")
if [[ " ${args[*]-} " != *" -benchtime "* && " ${args[*]-} " != *" -benchtime="* ]]; then
	args+=(-benchtime 3x)
fi
out=${BENCH_OUT:-$(mktemp)}
[[ -n ${BENCH_OUT:-} ]] || trap 'rm -f "$out"' EXIT

echo "bench: CGO_ENABLED=0 go test ./test/vm/bench/ -run '^\$' -bench '${BENCH:-.}' ${args[*]} -v" >&2
set +e
CGO_ENABLED=0 LVSRS_VM_NO_LVSRS=1 go test ./test/vm/bench/ -run '^$' -bench "${BENCH:-.}" "${args[@]}" -v -timeout 60m 2>&1 |
	tee "$out" | grep -E '^(Benchmark.*ns/op|--- (FAIL|SKIP)|    .*\.go:[0-9]+:|vmtest: (booting|skipping)|FAIL|ok )' >&2
rc=${PIPESTATUS[0]}
set -e

awk '
function median(list,   v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}
/^BenchmarkApply\/.*ns\/op/ {
	split($1, p, "/"); shape = p[2]; m = p[3]; sub(/-[0-9]+$/, "", m)
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "sys-ms/op") sys = $i
		if ($(i+1) == "user-ms/op") usr = $i
		if ($(i+1) == "rs/s") rs = $i
	}
	k = shape SUBSEP m
	if (!(k in n)) { order[++cnt] = k }
	n[k]++; lns[k] = lns[k] " " ns; lsys[k] = lsys[k] " " sys; lusr[k] = lusr[k] " " usr
	per[k] = rs * ns / 1e9 # real servers per run
}
/^vmtest: booting/ { accel = $NF }
END {
	if (cnt == 0) { print "bench: no benchmark results" > "/dev/stderr"; exit 1 }
	for (i = 1; i <= cnt; i++) { k = order[i]; med[k] = median(lns[k]) / 1e9 }
	printf "\n%-8s %-12s %4s %9s %9s %8s %8s %10s %8s\n", "shape", "method", "runs", "s/op", "rs/s", "sys s", "user s", "/pipelined", "/floor"
	for (i = 1; i <= cnt; i++) {
		k = order[i]; split(k, q, SUBSEP); s = med[k]
		pk = q[1] SUBSEP "pipelined"; fk = q[1] SUBSEP "floor"
		rp = (pk in med) ? sprintf("%.2fx", s / med[pk]) : "-"
		rf = (fk in med) ? sprintf("%.2fx", s / med[fk]) : "-"
		printf "%-8s %-12s %4d %9.3f %9.0f %8.3f %8.3f %10s %8s\n", q[1], q[2], n[k], s, per[k] / s,
			median(lsys[k]) / 1000, median(lusr[k]) / 1000, rp, rf
	}
	printf "\ns/op: median wall time of one run (applying all real servers into a fresh\n"
	printf "namespace) over the -count runs; rs/s: real servers per second at that median;\n"
	printf "sys/user: median CPU seconds per run of the process and its children (ipvsadm\n"
	printf "is a child); sys is the kernel'"'"'s work. accel: %s%s\n", accel,
		(accel == "tcg" ? " (emulated CPU: compare ratios, not absolute numbers)" : "")
}' "$out"
exit "$rc"
