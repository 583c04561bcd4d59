package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// TestStopWhileWaitingForLock: another lvs-rs command holds the host
// lock, which the first pass waits for (up to 30 s, as run does); the
// loop told to stop (SIGTERM) returns at once, not at the end of the
// wait.
func TestStopWhileWaitingForLock(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, loopConfig(portOfListener(l2), 0))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: stateDir}
	unlock, err := store.Lock(time.Second) // another command
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	waiting := make(chan struct{}, 1)
	k := newMemKernel()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Lock: func(ctx context.Context) (func(), error) {
			waiting <- struct{}{}
			return store.LockContext(ctx, 30*time.Second)
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lp.Run(ctx) }()
	<-waiting
	time.Sleep(200 * time.Millisecond) // in the wait
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		if d := time.Since(stopped); d > 2*time.Second {
			t.Errorf("Run returned %s after it was told to stop", d.Round(time.Millisecond))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waiting for the host lock 10 s after it was told to stop (the wait ignores the loop's context)")
	}
}

// TestMetricsEndpointRetried: director.metrics on an address the daemon
// cannot listen on when it starts (here its port is taken; an address
// not up yet fails the same way) is served once it can be, without a
// restart; meanwhile status and the STATUS= line say it is not
// listening, and the daemon becomes ready regardless.
func TestMetricsEndpointRetried(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	text := loopConfig(portOfListener(l2), 0)
	text = strings.Replace(text, "director:\n", "director:\n  metrics: "+addr+"\n", 1)
	writeConfig(t, file, text)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	k := newMemKernel()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k, Metrics: metrics.New(),
		Ready:  func(s string) { ready <- s },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, _, stop := goRun(t, lp)
	defer stop()
	var summary string
	select {
	case summary = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("never ready")
	}
	waitUntil(t, "status saying the endpoint is not listening", func() (bool, string) {
		st, _ := lp.Status(ctx)
		return st.Metrics != nil && !st.Metrics.Listening && st.Metrics.Error != "", fmt.Sprintf("%+v", st.Metrics)
	})
	if s := lp.summary(); !strings.Contains(s, "metrics endpoint "+addr+" not listening") {
		t.Errorf("STATUS= line %q (ready: %q) does not say the endpoint is not listening", s, summary)
	}
	taken.Close() // the address is free: the endpoint comes up
	waitUntil(t, "the endpoint serving", func() (bool, string) {
		resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	st, _ := lp.Status(ctx)
	if st.Metrics == nil || !st.Metrics.Listening || st.Metrics.Address != addr {
		t.Errorf("status of the serving endpoint: %+v", st.Metrics)
	}
	if s := lp.summary(); strings.Contains(s, "metrics") {
		t.Errorf("STATUS= line %q still speaks of the endpoint", s)
	}
}

// TestCheckObserverSkipped: the checker's skipped runs (late: every
// worker busy; overlap: the previous run not done) are counted by type
// and reason in lvsrs_health_check_skipped_total, which the metrics hook
// used to drop; a check reported starved is logged once, with or without
// metrics.
func TestCheckObserverSkipped(t *testing.T) {
	reg := metrics.New()
	var logs strings.Builder
	o := checkObserver{m: reg, log: slog.New(slog.NewTextHandler(&logs, nil))}
	exec := health.CheckInfo{Type: health.Exec, Via: health.Direct, Address: "10.0.0.11"}
	o.Observe(health.Observation{Check: exec, Outcome: health.OutcomeLate})
	o.Observe(health.Observation{Check: exec, Outcome: health.OutcomeLate, Starved: 9 * time.Second})
	o.Observe(health.Observation{Check: exec, Outcome: health.OutcomeOverlap})
	o.Observe(health.Observation{Check: exec, Outcome: health.OutcomeUp, Duration: time.Second})
	want := map[string]string{`reason="late",type="exec"`: "2", `reason="overlap",type="exec"`: "1"}
	got := map[string]string{}
	for l := range strings.SplitSeq(reg.WriteText(), "\n") {
		if rest, ok := strings.CutPrefix(l, "lvsrs_health_check_skipped_total{"); ok {
			labels, v, _ := strings.Cut(rest, "} ")
			got[labels] = v
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lvsrs_health_check_skipped_total: %v, want %v", got, want)
	}
	if n := strings.Count(logs.String(), "health check without a result"); n != 1 || !strings.Contains(logs.String(), "real_server=10.0.0.11") || !strings.Contains(logs.String(), "for=9s") {
		t.Errorf("%d starved lines logged, want one naming the real server and how long:\n%s", n, logs.String())
	}
	logs.Reset()
	checkObserver{log: slog.New(slog.NewTextHandler(&logs, nil))}.Observe(health.Observation{Check: exec, Outcome: health.OutcomeOverlap, Starved: 9 * time.Second})
	if !strings.Contains(logs.String(), "health check without a result") {
		t.Errorf("without metrics, a starved check is not logged: %q", logs.String())
	}
}

// TestSourcesFollowAddresses: the director renumbered (its address on
// director.interface replaced) makes the address watcher fire, and the
// checks through the VIP move to the new source address at once, keeping
// their state; before, the source was looked up only at start and at a
// reload, so every such check failed binding the old address and every
// healthy real server was quiesced. (The VIP, of the documentation range,
// is not reached from a loopback source: the check's state here is down,
// and kept.)
func TestSourcesFollowAddresses(t *testing.T) {
	text := `director:
  interface: eth0
  reconcile_interval: 1h
virtual_servers:
  - vip: 192.0.2.100
    port: 80
    mode: tun
    check: {type: tcp, via: vip, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 10.0.0.11}
`
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, text)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	addr := netip.MustParseAddr("127.0.0.1") // the director's address on eth0
	changed := make(chan func(bool), 1)
	ready := make(chan string, 1)
	k := newMemKernel()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Source: func(*config.Config, bool) (netip.Addr, error) {
			mu.Lock()
			defer mu.Unlock()
			if !addr.IsValid() {
				return netip.Addr{}, errors.New("eth0 has no global address of the VIP's family besides the VIPs")
			}
			return addr, nil
		},
		Watch: func(ctx context.Context, f func(bool)) error {
			changed <- f
			<-ctx.Done()
			return nil
		},
		Ready:  func(s string) { ready <- s },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, _, stop := goRun(t, lp)
	defer stop()
	notify := <-changed
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("never ready")
	}
	source := func() netip.Addr {
		lp.mu.Lock()
		defer lp.mu.Unlock()
		for _, tg := range lp.setup.Targets {
			if tg.Spec.Via == health.ThroughVIP {
				return tg.Source
			}
		}
		return netip.Addr{}
	}
	before := lp.checker.Snapshot()[0]
	t.Logf("before: %s (%s)", before.State, before.Last.Reason)
	if before.State == health.Unknown || source() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("before: %+v from %s", before, source())
	}
	renumber := func(a netip.Addr, removed bool) {
		mu.Lock()
		addr = a
		mu.Unlock()
		notify(removed)
	}
	// The old address goes first: no source to be had for a moment.
	renumber(netip.Addr{}, true)
	renumber(netip.MustParseAddr("127.0.0.6"), false)
	waitUntil(t, "the checks through the VIP on the new address", func() (bool, string) {
		return source() == netip.MustParseAddr("127.0.0.6"), source().String()
	})
	time.Sleep(500 * time.Millisecond) // runs from the new address
	st := lp.checker.Snapshot()[0]
	if st.State != before.State || !st.Since.Equal(before.Since) || !st.LastTime.After(before.LastTime) {
		t.Errorf("after the renumbering: %+v, before %+v; want the same state since the same time, checked since", st, before)
	}
}
