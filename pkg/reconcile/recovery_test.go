package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// gate is a slog.Handler that holds the first record match accepts until
// open: a slow journal. The checker calls Notify one transition at a
// time, so while the loop logs one transition the later ones wait
// undelivered, though the checker's statuses already show them.
type gate struct {
	match    func(slog.Record) bool
	hold     sync.Once
	blocked  chan struct{} // closed once the first match is held
	release  chan struct{}
	released sync.Once
	mu       sync.Mutex
	held     slog.Record
}

func newGate(match func(slog.Record) bool) *gate {
	return &gate{match: match, blocked: make(chan struct{}), release: make(chan struct{})}
}

// open lets the held record (and every later one) through; it may be
// called more than once.
func (g *gate) open() { g.released.Do(func() { close(g.release) }) }

// heldAttr is the attribute key of the held record.
func (g *gate) heldAttr(key string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return attrOf(g.held, key)
}

func (g *gate) Enabled(context.Context, slog.Level) bool { return true }
func (g *gate) WithAttrs([]slog.Attr) slog.Handler       { return g }
func (g *gate) WithGroup(string) slog.Handler            { return g }
func (g *gate) Handle(_ context.Context, r slog.Record) error {
	if g.match(r) {
		g.hold.Do(func() {
			g.mu.Lock()
			g.held = r.Clone()
			g.mu.Unlock()
			close(g.blocked)
			<-g.release
		})
	}
	return nil
}

// attrOf is the value of r's attribute key, "" when it has none.
func attrOf(r slog.Record, key string) string {
	v := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// healthChanged matches the loop's log line of a state change from from.
func healthChanged(from string) func(slog.Record) bool {
	return func(r slog.Record) bool {
		return r.Message == "real server health changed" && attrOf(r, "from") == from
	}
}

// startLoop runs a Loop of text against an in-memory kernel, logging to
// log and calling ready (when not nil) as Options.Ready; the loop stops
// when the test ends. Release any gate in log before that (defer).
func startLoop(t *testing.T, text string, log *slog.Logger, ready func(string)) (*Loop, *memKernel) {
	t.Helper()
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, text)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	k := newMemKernel()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k, Logger: log, Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, lp)
	return lp, k
}

// TestSlowStartWhileRecoveryUndelivered: one check serves a real server
// in two services (ports 80 and 81). When it comes back, the loop is
// still logging the first service's notification, so the second's waits
// undelivered; a full pass meanwhile (a Kick here; reconcile_interval, a
// reload or a drain alike) sees the check up in both and must ramp both
// from the first slow-start step, not give the second its full weight
// until its notification arrives.
func TestSlowStartWhileRecoveryUndelivered(t *testing.T) {
	ln := listen(t, "127.0.0.2:0")
	p := portOfListener(ln)
	svc := func(port int) string {
		return fmt.Sprintf(`  - vip: 10.0.0.100
    port: %d
    scheduler: wrr
    slow_start: 1h
    check: {type: tcp, port: %d, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 100}
`, port, p)
	}
	text := "director:\n  interface: eth0\n  reconcile_interval: 24h\nvirtual_servers:\n" + svc(80) + svc(81)
	g := newGate(healthChanged("down"))
	defer g.open()
	lp, k := startLoop(t, text, slog.New(g), nil)
	both := func(want func(w80, w81 int) bool) func() (bool, string) {
		return func() (bool, string) {
			w80, w81 := k.weights(80)["127.0.0.2"], k.weights(81)["127.0.0.2"]
			return want(w80, w81), fmt.Sprintf("port 80 weight %d, port 81 weight %d", w80, w81)
		}
	}
	waitUntil(t, "both at weight 100", both(func(a, b int) bool { return a == 100 && b == 100 }))
	ln.Close()
	waitUntil(t, "both at weight 0", both(func(a, b int) bool { return a == 0 && b == 0 }))
	listen(t, fmt.Sprintf("127.0.0.2:%d", p))
	select {
	case <-g.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("no recovery logged")
	}
	lp.Kick()
	waitUntil(t, "a pass putting both back", both(func(a, b int) bool { return a > 0 && b > 0 }))
	if ok, res := both(func(a, b int) bool { return a == 1 && b == 1 })(); !ok {
		t.Fatalf("while the recovery of %s was being logged and the other undelivered: %s; want 1 and 1 (the first slow-start step of weight 100 over 1h)",
			g.heldAttr("service"), res)
	}
	g.open()
	// Once delivered, the notifications change nothing: the ramp began
	// when the check came back, not when the loop heard of it.
	time.Sleep(300 * time.Millisecond)
	if ok, res := both(func(a, b int) bool { return a == 1 && b == 1 })(); !ok {
		t.Fatalf("after the notifications: %s, want 1 and 1", res)
	}
}

// TestReadyNotAfterScopedPass: READY=1 needs a pass that saw every
// service with every check's first result in. Here both checks have
// their first result, but the loop is still logging the first one's
// notification (so the second's waits undelivered) when a pass of the
// first one's service alone runs (its kick, as after the log line): the
// other service still has its pending weights from the start, and that
// pass must not make the loop ready.
func TestReadyNotAfterScopedPass(t *testing.T) {
	a, c := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	svc := func(port int, addr string, check int) string {
		return fmt.Sprintf(`  - vip: 10.0.0.100
    port: %d
    scheduler: wrr
    check: {type: tcp, port: %d, interval: 1s, timeout: 500ms, rise: 1, fall: 1}
    real_servers:
      - {address: %s, weight: 5}
`, port, check, addr)
	}
	text := "director:\n  interface: eth0\n  reconcile_interval: 24h\nvirtual_servers:\n" +
		svc(80, "127.0.0.2", portOfListener(a)) + svc(81, "127.0.0.3", portOfListener(c))
	g := newGate(healthChanged("unknown"))
	defer g.open()
	ready := make(chan string, 1)
	lp, k := startLoop(t, text, slog.New(g), func(s string) { ready <- s })
	select {
	case <-g.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("no first result logged")
	}
	waitUntil(t, "every check's first result", func() (bool, string) {
		n := lp.checker.Counters()
		return n.Unchecked == 0, fmt.Sprintf("%d unchecked", n.Unchecked)
	})
	lp.mu.Lock()
	touched := len(lp.touched)
	lp.mu.Unlock()
	select {
	case s := <-ready:
		t.Fatalf("ready before the scoped pass (%s): the setup did not hold", s)
	default:
	}
	if counts(lp).passes == 0 || touched != 1 {
		t.Fatalf("%d passes, %d services touched: the setup did not hold", counts(lp).passes, touched)
	}
	// The held notification's kick: a pass of its service alone.
	trySend(lp.kick, struct{}{})
	var s string
	select {
	case s = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("never ready")
	}
	w := []int{k.weights(80)["127.0.0.2"], k.weights(81)["127.0.0.3"]}
	if !strings.Contains(s, " 2 up,") || !strings.Contains(s, " 0 unchecked") || w[0] != 5 || w[1] != 5 {
		t.Fatalf("ready with %q, weights %v (service %s logged, the other undelivered); want both up at weight 5",
			s, w, g.heldAttr("service"))
	}
}

// TestRecoveries: when a real server is back from down, from the
// statuses the passes read (with the state their check came from, as
// the checker reports it), the notifications heard and reloads.
func TestRecoveries(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// st is a status of state s since since, entered from from.
	st := func(s health.State, since int, from ...health.State) health.Status {
		x := health.Status{ID: "a", State: s}
		if s != health.Unknown {
			x.Since = at(since)
		}
		if len(from) > 0 {
			x.From = from[0]
		}
		return x
	}
	up, dn, unk := health.Up, health.Down, health.Unknown
	down := func(from health.State, s int) health.Transition {
		return health.Transition{ID: "a", From: from, To: health.Down, Time: at(s)}
	}
	type step struct {
		read   *health.Status     // a pass reads it: want is what observe returns
		heard  *health.Transition // a notification arrives
		reload []health.Status    // a reload at 100 s leaves these statuses
		want   int                // seconds; -1: zero (not recovering)
	}
	read := func(s health.Status, want int) step { return step{read: &s, want: want} }
	heard := func(tr health.Transition) step { return step{heard: &tr} }
	reload := func(s ...health.Status) step { return step{reload: s} }
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"first result up", []step{read(st(unk, 0), -1), read(st(up, 1, unk), -1), read(st(up, 1, unk), -1)}},
		{"first seen up", []step{read(st(up, 1, unk), -1)}},
		{"down read, then up", []step{read(st(up, 1, unk), -1), read(st(dn, 2, up), -1), read(st(up, 3, dn), 3), read(st(up, 3, dn), 3)}},
		{"first result down, then up", []step{read(st(dn, 1, unk), -1), read(st(up, 3, dn), 3)}},
		{"down unseen between two reads", []step{read(st(up, 1, unk), -1), read(st(up, 5, dn), 5), read(st(up, 5, dn), 5)}},
		{"down heard, not read", []step{read(st(unk, 0), -1), heard(down(unk, 2)), read(st(up, 3, dn), 3)}},
		{"down heard after the up was read", []step{read(st(dn, 2, unk), -1), read(st(up, 3, dn), 3), heard(down(up, 2)), read(st(up, 3, dn), 3)}},
		{"down again", []step{read(st(dn, 2, unk), -1), read(st(up, 3, dn), 3), heard(down(up, 4)), read(st(dn, 4, up), -1)}},
		// The first result, a down and the up again, none read nor heard
		// (right after start-up): only the status tells.
		{"down and up unseen after a read unknown", []step{read(st(unk, 0), -1), read(st(up, 3, dn), 3), read(st(up, 3, dn), 3)}},
		{"down and up unseen, first read", []step{read(st(up, 3, dn), 3)}},
		{"reload keeps a carried-over check", []step{read(st(dn, 2, unk), -1), read(st(up, 3, dn), 3), reload(st(up, 3, dn)), read(st(up, 3, dn), 3)}},
		{"reload restarts the check", []step{read(st(dn, 2, unk), -1), read(st(up, 3, dn), 3), reload(st(unk, 0)), read(st(up, 101, unk), -1)}},
		{"reload restarts the check, first result in", []step{read(st(up, 1, unk), -1), reload(st(up, 100, unk)), read(st(up, 100, unk), -1)}},
		{"reload joins an up check", []step{read(st(dn, 2, unk), -1), reload(st(up, 1, unk)), read(st(up, 1, unk), 100)}},
		{"reload joins a check up from down before the down", []step{read(st(dn, 2, unk), -1), reload(st(up, 1, dn)), read(st(up, 1, dn), 100)}},
		{"up before the reload", []step{read(st(dn, 2, unk), -1), reload(st(up, 50, dn)), read(st(up, 50, dn), 50)}},
		{"reload: a new target joins a check back from down", []step{reload(st(up, 50, dn)), read(st(up, 50, dn), 50)}},
		{"reload drops a target", []step{read(st(dn, 2, unk), -1), reload(), read(st(up, 3, unk), -1)}},
	} {
		r := recoveries{}
		for i, s := range c.steps {
			switch {
			case s.heard != nil:
				r.heard(*s.heard)
			case s.read != nil:
				want := time.Time{}
				if s.want >= 0 {
					want = at(s.want)
				}
				if got := r.observe(*s.read); !got.Equal(want) {
					t.Errorf("%s: step %d (%s since %v): recovered %v, want %v", c.name, i, s.read.State, s.read.Since.Sub(t0), got.Sub(t0), want.Sub(t0))
				}
			default:
				r = r.rebase(s.reload, at(100))
			}
		}
	}
}

// TestSlowStartRecoveryUnseenAtStart: right after start-up the loop's
// only pass read the check Unknown; then the check's first result (up),
// a down and the up again all happen while the loop is still logging the
// first notification, so neither the down nor the ups reach it. The
// next pass sees the server up for the first time, and must ramp it:
// the checker's status says the up came from down (From), which the
// loop's own memory (Unknown) cannot tell.
func TestSlowStartRecoveryUnseenAtStart(t *testing.T) {
	var failing atomic.Bool
	var lp *Loop
	var lpMu sync.Mutex
	firstPassed := func() bool {
		lpMu.Lock()
		defer lpMu.Unlock()
		return lp != nil && counts(lp).passes > 0
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// The first result waits (within the check's timeout) for the
		// loop's first pass: that pass must read the check Unknown.
		for deadline := time.Now().Add(300 * time.Millisecond); !firstPassed() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	text := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: 24h
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: wrr
    slow_start: 1h
    check: {type: http, port: %d, interval: 500ms, timeout: 400ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 100}
`, portOfListener(ln))
	g := newGate(healthChanged("unknown"))
	defer g.open()
	started, k := startLoop(t, text, slog.New(g), nil)
	lpMu.Lock()
	lp = started
	lpMu.Unlock()
	id := ""
	for tid := range lp.setup.Members {
		id = tid
	}
	status := func() health.Status {
		st := lp.checker.StatusesOf([]string{id})
		if len(st) != 1 {
			t.Fatalf("no status of %s", id)
		}
		return st[0]
	}
	select {
	case <-g.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("no first result logged")
	}
	failing.Store(true)
	waitUntil(t, "the check down", func() (bool, string) { s := status(); return s.State == health.Down, s.State.String() })
	downAt := status().Since
	failing.Store(false)
	waitUntil(t, "the check back up", func() (bool, string) { s := status(); return s.State == health.Up, s.State.String() })
	if s := status(); !s.Since.After(downAt) {
		t.Fatalf("up since %v, down since %v: the setup did not hold", s.Since, downAt)
	}
	lp.mu.Lock()
	seenState, passes := lp.recovered[id].state, lp.passes
	lp.mu.Unlock()
	if seenState != health.Unknown || passes != 1 {
		t.Fatalf("the loop saw the check %v in %d passes before the recovery, want unknown in 1: the setup did not hold", seenState, passes)
	}
	lp.Kick()
	waitUntil(t, "a pass putting it back", func() (bool, string) {
		w := k.weights(80)["127.0.0.2"]
		return w > 0, fmt.Sprintf("weight %d", w)
	})
	if w := k.weights(80)["127.0.0.2"]; w != 1 {
		t.Fatalf("a server down and back before any pass saw it up, first seen up by a pass: weight %d, want 1 (the first slow-start step of weight 100 over 1h)", w)
	}
}
