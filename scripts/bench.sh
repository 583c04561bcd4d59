#!/usr/bin/env bash
# bench.sh — measure lvs-rs against the kernel's floor, ipvsadm and
# keepalived in the VM test bed, and print a table (test/vm/bench has the
# details).
#
#   scripts/bench.sh [go test flags]          the table (TestTable), default
#   scripts/bench.sh report FILE              the table again from the raw
#                                             output of an earlier run
#                                             (BENCH_OUT=FILE)
#   scripts/bench.sh apply [go test flags]    the in-process benchmarks
#                                             (BenchmarkApply: pipelined,
#                                             serial, director, ipvsadm,
#                                             floor, floor-noack)
#   scripts/bench.sh ab REV [go test flags]   this tree's commands against
#                                             revision REV's, interleaved
#                                             in one VM run (TestAB; see
#                                             scripts/bench-ab.sh)
#   scripts/bench.sh vm PKG [go test flags]   package PKG's benchmarks
#                                             (-bench NAME) in the VM, under
#                                             its emulated CPU, through the
#                                             vmbench build tag (PKG's
#                                             vm_bench_test.go); e.g.
#                                             scripts/bench.sh vm
#                                             ./pkg/director -bench
#                                             ConvergeStart -benchtime 8x
#
# The table: for 100 x 100 (10,000 real servers) and 1,000 x 10 (11,000
# objects), each in fresh network namespaces, ROUNDS rounds (default 3),
# medians (and the best run: on a busy host the least disturbed one):
#
#   floor         the table pre-encoded, raw sendto/recvfrom, an
#                 acknowledgement per request: the kernel's own work
#   floor-noack   the same, one acknowledgement per sendmsg
#   pipelined     lvs-rs's IPVS client (ipvs.Client.Apply) in process
#   start         lvs-rs start --role director, empty table
#   noop          lvs-rs start again, nothing changed
#   edit          lvs-rs start after one weight changed in the config
#   status        lvs-rs status --role director (table to /dev/null)
#   stop          lvs-rs stop --role director
#   floor-delete  the floor of stop's writes: the services deleted,
#                 pre-encoded
#   floor-status  the floor of the reads status and stop need: one dump
#                 of the services and one of each service's destinations
#                 (IPVS has no dump of every destination; stop must know
#                 them, since a real server someone else added keeps its
#                 service), pre-encoded, replies read but not decoded
#   dumps         floor-status's reads by lvs-rs's IPVS client in process
#                 (Services, then DestinationConfigsOf), decoded: over
#                 floor-status, the client's own cost of reading
#   floor-stop    floor-status's reads then floor-delete's deletions: the
#                 floor of everything stop must do to the kernel
#   ipvsadm-R     ipvsadm -R with the same table
#   ipvsadm-Ln    ipvsadm -Ln of the table lvs-rs loaded
#   keepalived    keepalived (no checkers) from start until the kernel
#                 holds the whole table
#
# plus a DR real server's start and stop next to the seed scripts' shell
# lines (busybox ifconfig, route, echo into /proc/sys), lvs-rs version
# (starting the binary, the floor of any lvs-rs command), and a director
# binding 20 VIPs (one service each): its start and stop, with the time
# each waits beside its CPU (wall minus CPU); and once per shape, lvs-rs
# run holding the table with nothing to do (no checks): its CPU, garbage
# collections and resident set over 30 s once it settled. CPU is the command's
# user+system seconds, RSS its peak resident set.
#
# Environment: ROUNDS=N, SHAPES=100x100,1000x10 (SHAPES=realserver: only
# the real-server and 20-VIP sections, which every round runs), PHASES=1
# (each lvs-rs command's phases by wall clock, through the hidden
# LVS_RS_PHASES=FILE, in a table per shape: where the time goes; "process"
# is starting the binary until its first phase began, and its exit),
# PROFILE=1 (CPU profiles
# of the first round's lvs-rs runs at 100 Hz, written to BENCH_PROFILES,
# default ./bench-profiles; PROFILE=HZ, e.g. 1000, samples that fast),
# BENCH_OUT=file (raw go test output).
# The VM runs under TCG unless KVM works: not hardware numbers, compare
# the ratios (all taken in one VM run).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == apply ]]; then
	shift
	exec scripts/bench-apply.sh "$@"
fi
if [[ ${1:-} == ab ]]; then
	shift
	exec scripts/bench-ab.sh "$@"
fi
if [[ ${1:-} == vm ]]; then
	shift
	pkg=${1:?usage: scripts/bench.sh vm ./PKG [go test flags]}
	shift
	echo "bench: CGO_ENABLED=0 LVSRS_VM_NO_LVSRS=1 go test -tags vmbench $pkg -run '^\$' $*" >&2
	CGO_ENABLED=0 LVSRS_VM_NO_LVSRS=1 exec go test -tags vmbench "$pkg" -run '^$' -count=1 "$@"
fi
# measure runs TestTable in the VM with go test's raw output to $out,
# sets rc to its exit status, and unpacks the CPU profiles (PROFILE).
measure() {
	echo "bench: CGO_ENABLED=0 LVSRS_TEST_BENCH_TABLE=1 go test ./test/vm/bench/ -run '^TestTable\$' -v $*" >&2
	set +e
	CGO_ENABLED=0 LVSRS_TEST_BENCH_TABLE=1 LVSRS_TEST_BENCH_ROUNDS="${ROUNDS:-3}" \
		LVSRS_TEST_BENCH_SHAPES="${SHAPES:-}" LVSRS_TEST_BENCH_PROFILE="${PROFILE:-}" \
		LVSRS_TEST_BENCH_PHASES="${PHASES:-}" \
		go test ./test/vm/bench/ -run '^TestTable$' -count=1 -v -timeout 90m "$@" >"$out" 2>&1
	rc=$?
	set -e
	grep -E '^(--- (FAIL|SKIP)|    .*\.go:[0-9]+:|vmtest: (booting|skipping)|FAIL|ok )' "$out" >&2 || true
	[[ -n ${PROFILE:-} ]] || return 0
	local dir=${BENCH_PROFILES:-bench-profiles} f
	mkdir -p "$dir"
	awk -v dir="$dir" '/^PPROF-BEGIN/ {f = dir "/" $2 ".pprof.b64"; printf "" > f; next}
		/^PPROF-END/ {close(f); f = ""; next} f {print > f}' "$out"
	for f in "$dir"/*.pprof.b64; do
		[[ -e $f ]] || continue
		base64 -d "$f" >"${f%.b64}" && rm -f "$f"
	done
	echo "bench: CPU profiles in $dir (go tool pprof -top FILE)" >&2
}

if [[ ${1:-} == report ]]; then
	# The table again from an earlier run's raw output (BENCH_OUT).
	out=${2:?usage: scripts/bench.sh report BENCH_OUT_FILE}
	rc=0
else
	out=${BENCH_OUT:-$(mktemp)}
	[[ -n ${BENCH_OUT:-} ]] || trap 'rm -f "$out"' EXIT
	measure "$@"
fi

awk '
function best(list,   v, n, i, m) {
	n = split(list, v, " ")
	m = v[1]
	for (i = 2; i <= n; i++) if (v[i] + 0 < m + 0) m = v[i]
	return m
}
function median(list,   v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}
$1 == "TABLE" {
	k = $2 SUBSEP $3
	if (!($2 in seen)) { seen[$2] = 1; shapes[++ns] = $2 }
	n[k]++; wall[k] = wall[k] " " $4; cpu[k] = cpu[k] " " $5; rss[k] = rss[k] " " $6
}
$1 == "PHASE" {
	k = $2 SUBSEP $3
	if (!(($2 SUBSEP $4) in prow)) { prow[$2 SUBSEP $4] = 1; nrow[$2]++; rows[$2, nrow[$2]] = $4 }
	pv[k SUBSEP $4] = pv[k SUBSEP $4] " " $5
	phased[k] = 1
}
$1 == "DAEMON" { dgcs[$2] = $3; dsettle[$2] = $4 }
/^vmtest: booting/ { accel = $NF }
function w(s, m) { return ((s SUBSEP m) in n) ? median(wall[s SUBSEP m]) : -1 }
function bw(s, m) { return ((s SUBSEP m) in n) ? best(wall[s SUBSEP m]) : -1 }
function ratio(a, b) { return (a < 0 || b <= 0) ? "-" : sprintf("%.2fx", a / b) }
# known is ok when both measurements a and b were taken, else "" (n/a).
function known(a, b, ok) { return (a < 0 || b < 0) ? "" : ok }
function check(label, ok, detail, bestDetail) {
	printf "  %-4s %-44s %-8s %s\n", (ok == "" ? "n/a" : ok ? "met" : "NOT"), label, detail, bestDetail
}
END {
	if (ns == 0) { print "bench: no results" > "/dev/stderr"; exit 1 }
	split("floor floor-noack pipelined start noop edit status stop floor-delete floor-status dumps floor-stop ipvsadm-R ipvsadm-Ln keepalived", order, " ")
	for (i = 1; i <= ns; i++) {
		s = shapes[i]
		if (s == "realserver" || s ~ /^vips/) continue
		f = w(s, "floor")
		printf "\n%s  (median of %d runs)\n", s, n[s SUBSEP "floor"]
		printf "  %-13s %9s %8s %8s %8s %8s\n", "what", "seconds", "/floor", "best s", "cpu s", "rss MB"
		for (j = 1; j in order; j++) {
			m = order[j]; k = s SUBSEP m
			if (!(k in n)) continue
			r = median(rss[k])
			printf "  %-13s %9.3f %8s %8.3f %8.3f %8s\n", m, w(s, m), ratio(w(s, m), f), bw(s, m), median(cpu[k]),
				(r > 0 ? sprintf("%.1f", r / 1024) : "-")
		}
	}
	if (("realserver" SUBSEP "rs-start") in n) {
		printf "\nDR real server  (median of %d runs)\n", n["realserver" SUBSEP "rs-start"]
		printf "  %-13s %9s %8s %8s\n", "what", "seconds", "cpu s", "rss MB"
		split("version rs-start sh-start rs-stop sh-stop", rso, " ")
		for (j = 1; j in rso; j++) {
			k = "realserver" SUBSEP rso[j]
			if (k in n) printf "  %-13s %9.4f %8.4f %8.1f\n", rso[j], median(wall[k]), median(cpu[k]), median(rss[k]) / 1024
		}
	}
	for (i = 1; i <= ns; i++) {
		s = shapes[i]
		if (s !~ /^vips/) continue
		printf "\nDirector binding %s VIPs, one service each  (median of %d runs)\n", substr(s, 5), n[s SUBSEP "start"]
		printf "  %-13s %9s %8s %8s\n", "what", "seconds", "cpu s", "wait s"
		split("start stop", vo, " ")
		for (j = 1; j in vo; j++) {
			k = s SUBSEP vo[j]
			if (k in n) printf "  %-13s %9.4f %8.4f %8.4f\n", vo[j], median(wall[k]), median(cpu[k]), median(wall[k]) - median(cpu[k])
		}
	}
	for (i = 1; i <= ns; i++) {
		s = shapes[i]
		split("start noop edit status stop rs-start rs-stop", pc, " ")
		nc = 0
		for (j = 1; j in pc; j++) if ((s SUBSEP pc[j]) in phased) cols[++nc] = pc[j]
		if (nc == 0) continue
		printf "\n%s: where the time goes (PHASES=1; milliseconds, medians; each phase runs from the end of the one before)\n", s
		printf "  %-16s", "phase"
		for (j = 1; j <= nc; j++) printf " %9s", cols[j]
		printf "\n"
		for (r = 1; r <= nrow[s]; r++) {
			printf "  %-16s", rows[s, r]
			for (j = 1; j <= nc; j++) {
				k = s SUBSEP cols[j] SUBSEP rows[s, r]
				if (k in pv) printf " %9.1f", median(pv[k]) * 1000; else printf " %9s", "-"
			}
			printf "\n"
		}
		printf "  %-16s", "wall"
		for (j = 1; j <= nc; j++) printf " %9.1f", w(s, cols[j]) * 1000
		printf "\n"
	}
	nd = 0
	for (i = 1; i <= ns; i++) if ((shapes[i] SUBSEP "daemon-idle") in n) nd++
	if (nd > 0) {
		printf "\nlvs-rs run idle (no checks, reconcile_interval 10s), after it settled  (one run)\n"
		printf "  %-10s %8s %8s %8s %6s %8s %10s\n", "shape", "window s", "cpu s", "cpu %", "GCs", "rss MB", "settled s"
		for (i = 1; i <= ns; i++) {
			s = shapes[i]; k = s SUBSEP "daemon-idle"
			if (!(k in n)) continue
			win = median(wall[k]); c = median(cpu[k])
			printf "  %-10s %8.0f %8.2f %7.1f%% %6d %8.1f %10.1f\n", s, win, c, 100 * c / win, dgcs[s], median(rss[k]) / 1024, dsettle[s]
		}
	}
	printf "\nTargets (ratios within this run):\n"
	for (i = 1; i <= ns; i++) {
		s = shapes[i]
		if (s == "realserver" || s ~ /^vips/) continue
		f = w(s, "floor"); ln = w(s, "ipvsadm-Ln"); no = w(s, "noop")
		check(s ": start <= 1.1x floor", known(w(s, "start"), f, w(s, "start") <= 1.1 * f), ratio(w(s, "start"), f), "best " ratio(bw(s, "start"), bw(s, "floor")))
		check(s ": no-op start <= 1.0x ipvsadm -Ln", known(no, ln, no <= ln), ratio(no, ln), "best " ratio(bw(s, "noop"), bw(s, "ipvsadm-Ln")))
		check(s ": status <= 1.0x ipvsadm -Ln", known(w(s, "status"), ln, w(s, "status") <= ln), ratio(w(s, "status"), ln),
			"best " ratio(bw(s, "status"), bw(s, "ipvsadm-Ln")))
		check(s ": one-weight edit <= no-op + 5%", known(w(s, "edit"), no, w(s, "edit") <= 1.05 * no), ratio(w(s, "edit"), no), "best " ratio(bw(s, "edit"), bw(s, "noop")))
		check(s ": stop <= 1.1x floor of its deletes", known(w(s, "stop"), w(s, "floor-delete"), w(s, "stop") <= 1.1 * w(s, "floor-delete")), ratio(w(s, "stop"), w(s, "floor-delete")),
			"best " ratio(bw(s, "stop"), bw(s, "floor-delete")))
		check(s ": stop <= 1.1x floor of its reads and deletes", known(w(s, "stop"), w(s, "floor-stop"), w(s, "stop") <= 1.1 * w(s, "floor-stop")),
			ratio(w(s, "stop"), w(s, "floor-stop")), "best " ratio(bw(s, "stop"), bw(s, "floor-stop")))
		peak = 0
		split("start noop edit status stop", cmds, " ")
		for (j = 1; j in cmds; j++) { k = s SUBSEP cmds[j]; if ((k in n) && median(rss[k]) > peak) peak = median(rss[k]) }
		check(s ": peak RSS <= 30 MB", peak <= 30 * 1024, sprintf("%.1f MB", peak / 1024))
	}
	if (("realserver" SUBSEP "rs-start") in n)
		check("real server start <= seed script", known(w("realserver", "rs-start"), w("realserver", "sh-start"), w("realserver", "rs-start") <= w("realserver", "sh-start")),
			ratio(w("realserver", "rs-start"), w("realserver", "sh-start")), "best " ratio(bw("realserver", "rs-start"), bw("realserver", "sh-start")))
	printf "\naccel: %s%s\n", accel, (accel == "tcg" ? " (emulated CPU: compare ratios, not absolute numbers)" : "")
}' "$out"
exit "$rc"
