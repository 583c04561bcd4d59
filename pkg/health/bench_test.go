package health

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lagRecorder is an Observer that keeps the lag of every run while on.
type lagRecorder struct {
	mu    sync.Mutex
	on    bool
	lags  []time.Duration
	fails int
	late  int
}

func (r *lagRecorder) Observe(o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	r.lags = append(r.lags, o.Lag)
	switch o.Outcome {
	case OutcomeDown:
		r.fails++
	case OutcomeLate, OutcomeOverlap:
		r.late++
	}
}

func (r *lagRecorder) record(on bool) {
	r.mu.Lock()
	r.on = on
	r.mu.Unlock()
}

// benchListeners opens n TCP listeners on 127.0.1.x (all of 127/8 is
// local) and never accepts: the kernel completes the handshakes, so the
// process's CPU time is the checker's (the backlog outlasts the run).
func benchListeners(b *testing.B, n int) []netip.AddrPort {
	b.Helper()
	out := make([]netip.AddrPort, 0, n)
	for i := range n {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:0", 1+i/200, 1+i%200))
		if err != nil {
			b.Fatalf("listener %d: %v", i, err)
		}
		b.Cleanup(func() { ln.Close() })
		out = append(out, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChecker10k runs 10,000 tcp checks at a 1 s interval against
// local listeners and reports the CPU the process used per wall second
// and the scheduling lag (due time to start of the run). One iteration
// takes about 8 s; run it with -benchtime 1x.
func BenchmarkChecker10k(b *testing.B) {
	const n, window = 10000, 5 * time.Second
	addrs := benchListeners(b, n)
	targets := make([]Target, n)
	for i, ap := range addrs {
		targets[i] = Target{ID: fmt.Sprint(i), Address: ap.Addr(), Port: ap.Port(),
			Spec: Spec{Type: TCP, Interval: time.Second, Timeout: time.Second}}
	}
	for b.Loop() {
		rec := &lagRecorder{lags: make([]time.Duration, 0, 6*n)}
		c := New(Options{Observer: rec})
		if err := c.Set(targets); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		for c.Counters().Unchecked > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second) // one steady interval before measuring
		rec.record(true)
		cpu0, t0 := cpuTime(), time.Now()
		time.Sleep(window)
		cpu1, wall := cpuTime(), time.Since(t0)
		rec.record(false)
		cancel()
		<-done
		slices.Sort(rec.lags)
		q := func(p float64) float64 { return float64(rec.lags[int(p*float64(len(rec.lags)-1))]) / 1e6 }
		b.ReportMetric((cpu1-cpu0).Seconds()/wall.Seconds(), "cpu-s/s")
		b.ReportMetric(q(0.50), "lag-p50-ms")
		b.ReportMetric(q(0.99), "lag-p99-ms")
		b.ReportMetric(float64(len(rec.lags))/wall.Seconds(), "checks/s")
		b.ReportMetric(float64(rec.fails), "failed")
		b.ReportMetric(float64(rec.late), "late")
	}
}

// BenchmarkConnectTCP measures one raw TCP check (connectTCP) against a
// loopback listener whose accept loop makes raw system calls only, so
// allocs/op are the check's own. The handshake is the kernel's work on
// loopback and ns/op varies with the host: to compare two versions of the
// check, run their test binaries alternately with -test.benchtime 50000x
// under /usr/bin/time and compare CPU seconds.
func BenchmarkConnectTCP(b *testing.B) {
	tg := Target{ID: "b", Address: netip.MustParseAddr("127.0.0.1"), Port: acceptingListener(b),
		Spec: Spec{Type: TCP, Interval: time.Second, Timeout: time.Second}}.normalized()
	ctx := context.Background() // the check keeps its timeout itself, as under a worker
	b.ReportAllocs()
	for b.Loop() {
		if err := connectTCP(ctx, tg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunTCP is one TCP check as a worker runs it (Checker.run:
// probe, result, state) against the loopback listener of
// BenchmarkConnectTCP. Compare versions as that benchmark says.
func BenchmarkRunTCP(b *testing.B) {
	tg := Target{ID: "b", Address: netip.MustParseAddr("127.0.0.1"), Port: acceptingListener(b),
		Spec: Spec{Type: TCP, Interval: time.Second, Timeout: time.Second}}
	c, ck := oneCheck(b, Options{}, tg)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.run(ctx, job{ck: ck, seq: ck.seq, due: time.Now()})
	}
	if c.counters.Down != 0 {
		b.Fatalf("%d checks failed", c.counters.Down)
	}
}
