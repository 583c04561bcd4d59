// Package bench measures how fast lvs-rs programs 10,000 real servers into
// a real kernel's IPVS table, inside the VM test bed (internal/vmtest).
//
// BenchmarkApply/SHAPE/METHOD applies the same table into a fresh network
// namespace per iteration, SHAPE being 100x100 (services x real servers
// each) or 10x1000, METHOD one of:
//
//	pipelined   (*ipvs.Client).Apply: many requests per sendmsg
//	serial      the same client, one request per round trip (an Apply of one
//	            Op each): the previous behaviour, with today's encoder
//	            and socket code, so if anything faster than the old client
//	director    director.Start from a config: observe, plan, execute, record
//	ipvsadm     Debian's ipvsadm -R with the equivalent restore file
//	floor       the same requests, encoded by hand before the timer starts,
//	            sent and acknowledged with raw sendto/recvfrom: no Go work
//	floor-noack the floor with NLM_F_ACK on each chunk's last request only:
//	            what the acknowledgement per request costs the kernel
//
// Before each timed iteration the VM's CPU is let go idle (the kernel frees
// deleted real servers and dead namespaces asynchronously, and the VM has
// one CPU). Beside ns/op each reports rs/s (real servers per second) and
// the CPU time per run of the process and its children (ipvsadm is one):
// sys-ms/op is the kernel's work, the floor of any client. Under TCG these
// are not hardware numbers; compare the ratios, and use -count to see the
// noise of a shared host.
//
// The tests (run by go test ./... like any VM package) check that the
// 10,000 real servers are all created, read back through netlink, by the
// pipelined client (then deleted), by director.Start (then a second start
// changes nothing, and stop removes everything), by ipvsadm -R and by the
// floor's own encoding alike.
//
// TestTable (skipped unless LVSRS_TEST_BENCH_TABLE=1, so go test ./...
// never runs it) measures the lvs-rs command itself: start on an empty
// table, start again, start after one weight changed, status and stop,
// each a process run under busybox time -v for its CPU time and peak
// RSS, against the floor, the pipelined client, ipvsadm -R and -Ln and
// keepalived (no checkers, timed until the kernel holds the whole
// table), for 100x100 and 1000x10; and a DR real server's start and stop
// against the seed scripts' shell lines; and once per shape, lvs-rs run
// holding the table with nothing to do: its CPU, garbage collections and
// resident set over 30 s once it settled. It prints one TABLE line per
// measurement; LVSRS_TEST_BENCH_ROUNDS, _SHAPES, _PROFILE (=1: the
// first round's lvs-rs runs write CPU profiles through the hidden
// LVS_RS_CPUPROFILE=FILE and the test prints them base64) and _PHASES
// (=1: every lvs-rs run writes its phases through the hidden
// LVS_RS_PHASES=FILE, printed as PHASE lines) tune it.
//
// Run as root:
//
//	scripts/bench.sh        # TestTable, medians and ratios in a table
//	scripts/bench.sh apply  # BenchmarkApply, in a table
//	scripts/bench.sh ab REV # TestAB: REV's commands against this tree's
//	scripts/bench.sh vm ./pkg/director -bench ConvergeStart
//	                        # another package's benchmarks in the VM
//	CGO_ENABLED=0 go test ./test/vm/bench/ -run '^$' -bench . -benchtime 3x -v
package bench
