package reconcile

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// loopConfig is a file with one service on port 80 and real servers
// 127.0.0.2 (weight 2) and, when p3 is not 0, 127.0.0.3 (weight 3),
// checked with tcp on ports p2 and p3.
func loopConfig(p2, p3 int) string {
	s := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: 1s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: wrr
    drain_timeout: 1h
    check: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 2, check: {port: %d}}
`, p2)
	if p3 != 0 {
		s += fmt.Sprintf("      - {address: 127.0.0.3, weight: 3, check: {port: %d}}\n", p3)
	}
	return s
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

func portOfListener(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

func waitUntil(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %s; last: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitWeights(t *testing.T, k *memKernel, want map[string]int) {
	t.Helper()
	waitUntil(t, fmt.Sprint("weights ", want), func() (bool, string) {
		got := k.weights(80)
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
}

// TestLoop drives the loop against an in-memory kernel and real tcp
// checks: health, drift repair, drain and enable (kept in the state
// directory), a rejected reload, and a real server leaving the file.
func TestLoop(t *testing.T) {
	l2, l3 := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	p2, p3 := portOfListener(l2), portOfListener(l3)
	lp, k, ctx := runLoop(t, loopConfig(p2, p3))
	file, stateDir := lp.opts.File, lp.opts.StateDir
	// Ready comes after the first check round: both are up already.
	if got := k.weights(80); fmt.Sprint(got) != fmt.Sprint(map[string]int{"127.0.0.2": 2, "127.0.0.3": 3}) {
		t.Fatalf("weights when ready: %v", got)
	}

	outer := t // listeners must outlive the subtests
	t.Run("health", func(t *testing.T) {
		l2.Close()
		waitWeights(t, k, map[string]int{"127.0.0.2": 0, "127.0.0.3": 3})
		st, _ := lp.Status(ctx)
		if r := row(st, "127.0.0.2"); r.State != control.StateDown || r.LastResult != control.ResultFail || r.Reason == "" {
			t.Fatalf("status row of the dead real server: %+v", r)
		}
		listen(outer, fmt.Sprintf("127.0.0.2:%d", p2))
		waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 3})
	})

	t.Run("drift", func(t *testing.T) {
		k.setWeight(80, "127.0.0.3", 9)
		waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 3})
		if st, _ := lp.Status(ctx); st.DriftRepairs == 0 {
			t.Fatal("the repair is not counted")
		}
	})

	t.Run("drain", func(t *testing.T) {
		k.setConns(80, "127.0.0.3", 4)
		res, err := lp.Drain(ctx, control.DrainRequest{Address: netip.MustParseAddr("127.0.0.3")})
		if err != nil || len(res.Targets) != 1 || !res.Targets[0].Changed {
			t.Fatalf("drain: %+v, %v", res, err)
		}
		// Drain returns after a pass applied it; busy: weight 0, kept.
		if got := k.weights(80); got["127.0.0.3"] != 0 || len(got) != 2 {
			t.Fatalf("right after drain: %v", got)
		}
		kept, err := control.LoadDrains(stateDir)
		if err != nil || len(kept) != 1 || kept[0].Address.String() != "127.0.0.3" {
			t.Fatalf("drains kept: %v, %v", kept, err)
		}
		k.setConns(80, "127.0.0.3", 0)
		lp.Kick()
		waitWeights(t, k, map[string]int{"127.0.0.2": 2})
		if _, err := lp.Enable(ctx, control.DrainRequest{Address: netip.MustParseAddr("127.0.0.3")}); err != nil {
			t.Fatal(err)
		}
		if got := k.weights(80); got["127.0.0.3"] != 3 {
			t.Fatalf("right after enable: %v", got)
		}
	})

	t.Run("bad reload", func(t *testing.T) {
		writeConfig(t, file, "director:\n  interface: eth0\n  bogus: 1\n")
		lp.Reload()
		waitUntil(t, "the rejection", func() (bool, string) {
			st, _ := lp.Status(ctx)
			return !st.Config.Accepted, fmt.Sprintf("%+v", st.Config)
		})
		st, _ := lp.Status(ctx)
		if want := file + ":3:3: "; len(st.Config.Rejection) < len(want) || st.Config.Rejection[:len(want)] != want {
			t.Fatalf("rejection %q, want FILE:LINE:COLUMN %q first", st.Config.Rejection, want)
		}
		lp.Kick()
		time.Sleep(200 * time.Millisecond)
		if got := k.weights(80); fmt.Sprint(got) != fmt.Sprint(map[string]int{"127.0.0.2": 2, "127.0.0.3": 3}) {
			t.Fatalf("after a rejected reload: %v", got)
		}
	})

	t.Run("leaving", func(t *testing.T) {
		k.setConns(80, "127.0.0.3", 2)
		writeConfig(t, file, loopConfig(p2, 0))
		lp.Reload()
		waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 0})
		st, _ := lp.Status(ctx)
		if !st.Config.Accepted || row(st, "127.0.0.3").State != control.StateDraining {
			t.Fatalf("after the reload: %+v", st)
		}
		k.setConns(80, "127.0.0.3", 0)
		lp.Kick()
		waitWeights(t, k, map[string]int{"127.0.0.2": 2})
	})
}

// loopCounts is what the loop tests read of a running Loop.
type loopCounts struct {
	begun, passes, repairs uint64
	nextFull               time.Time
}

// counts reads lp's counts under its lock.
func counts(lp *Loop) loopCounts {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return loopCounts{begun: lp.begun, passes: lp.passes, repairs: lp.repairs, nextFull: lp.nextFull}
}

// writeConfig writes cfg to file.
func writeConfig(t testing.TB, file, cfg string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runLoop writes text as the config file of a Loop (lp.opts.File, with
// its state directory lp.opts.StateDir beside it), runs the Loop against
// an in-memory kernel and returns it once it is ready, with the kernel
// and its context; the loop stops (and its error is checked) when the
// test ends.
func runLoop(t *testing.T, text string) (*Loop, *memKernel, context.Context) {
	t.Helper()
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, text)
	k := newMemKernel()
	lp, ctx, _ := runLoopOn(t, file, stateDir, k)
	return lp, k, ctx
}

// goRun runs lp.Run in a goroutine and returns its context, a channel
// closed when Run has returned, and stop, which cancels the context,
// waits for Run and checks its error; stop is called when the test ends
// if it was not called before.
func goRun(t *testing.T, lp *Loop) (context.Context, <-chan struct{}, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	var runErr error
	go func() {
		defer close(exited)
		runErr = lp.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-exited
			if runErr != nil {
				t.Errorf("Run: %v", runErr)
			}
		})
	}
	t.Cleanup(stop)
	return ctx, exited, stop
}

// runLoopOn runs a Loop of file and stateDir against k and returns it
// once it is ready, with its context and stop, which stops it (as
// SIGTERM does) and checks Run's error; the loop is stopped when the
// test ends if stop was not called.
func runLoopOn(t *testing.T, file, stateDir string, k *memKernel) (*Loop, context.Context, func()) {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	lp, err := New(Options{
		Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready:  func(s string) { ready <- s },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, _, stop := goRun(t, lp)
	select {
	case s := <-ready:
		t.Logf("ready: %s", s)
	case <-time.After(10 * time.Second):
		t.Fatal("never ready")
	}
	return lp, ctx, stop
}

func row(st control.Status, addr string) control.RealServer {
	for _, r := range st.RealServers {
		if r.Address.String() == addr {
			return r
		}
	}
	return control.RealServer{}
}
