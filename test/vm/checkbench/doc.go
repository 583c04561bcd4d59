// Package checkbench measures lvs-rs's health checker (pkg/health) against
// keepalived 2.2.7's (Debian's package, in the VM image) on the same
// workload in the same VM run (internal/vmtest): 10,000 real servers, each
// checked with a TCP connect once a second with a 1 s timeout.
//
// It is a benchmark, not a test of the default suite: TestCheckBench
// skips unless LVSRS_TEST_CHECKBENCH=1, and without that variable TestMain
// does not even boot the VM. scripts/checkbench.sh sets it, runs the
// suite and prints the table.
//
// # Workload
//
// A "servers" network namespace holds the real servers: 100 addresses
// (10.77.1.1-10.77.1.100) times 100 ports (20000-20099), served by one
// listener per port on 0.0.0.0 whose accept loop stamps every accepted
// connection with the time and its local address and closes it at once.
// A "director" namespace (10.77.0.1, same /16 over a bridge) runs the
// contenders, one after the other, each for a warm-up (10 s) and then a
// measurement window (20 s); the order alternates between runs (3).
//
//   - lvs-rs: pkg/health with 10,000 tcp Targets (interval 1 s, timeout
//     1 s, default pools), run by this test binary re-executed as a child
//     process (TestCheckerHelper) in the director namespace.
//   - keepalived: `keepalived --check --dont-fork` with one NAT
//     virtual_server per port (100) holding that port's 100 real_servers,
//     each with TCP_CHECK { connect_timeout 1 } and delay_loop 1. Its
//     IPVS services are real (the VM has IPVS).
//
// # Metrics
//
// Both contenders are measured the same way, from the outside:
//
//   - checks/s: connections accepted by the servers in the window per
//     second (ideal: 10,000);
//   - CPU s/s: utime+stime of the contender's process and all its
//     descendants (keepalived's checker is a child process) from
//     /proc/PID/stat at the start and end of the window, per wall second;
//   - VM idle: idle CPU seconds of the whole VM per wall second (from
//     /proc/stat): near 0 means the VM was saturated and the figures show
//     how each checker degrades rather than what it costs;
//   - err p50/p99: over every pair of consecutive arrivals at one real
//     server, |interval between them - 1 s|;
//   - late p99: how far arrivals lie behind a fixed 1 s grid through the
//     target's earliest arrival; a checker that schedules the next run an
//     interval after the end of the last drifts and accumulates lateness
//     over the window, one on a fixed grid does not;
//   - missed: real servers with fewer than window/1 s - 2 arrivals.
//
// A window in which no real server was checked twice (a checker whose
// cycle is longer than the window) has no interval: err and late show
// "none", and such a run ranks above every measured one in the medians.
//
// The arrival time is taken by the servers' accept loops, so it includes
// their own scheduling delay on the VM's single CPU, which both
// contenders share with the servers: the figures are end-to-end and
// the same for both. lvs-rs's checker draws a jitter below interval/16
// (62.5 ms) for every run on purpose, so its err figures include up to
// that much by design; its own scheduling lag (due time to start,
// health.Observation.Lag) is printed as a separate line.
//
// Under TCG (no KVM) every figure is slower than on hardware and CPU
// seconds are inflated; compare the two contenders of the same run.
package checkbench
