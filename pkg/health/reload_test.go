package health

import (
	"context"
	"io"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestDedupSharesOneCheck: the same real server and spec in two services
// is checked once per slot; both subscribers get the status and their own
// transition. A different check port is a different check.
func TestDedupSharesOneCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s1, s2 := tcpTarget("svc1/rs", "10.0.0.1", time.Second), tcpTarget("svc2/rs", "10.0.0.1", time.Second)
		other := tcpTarget("svc3/rs", "10.0.0.1", time.Second)
		other.Spec.Port = 8080
		h := start(t, Options{}, s1, s2, other)
		defer h.stop(t)
		time.Sleep(5*time.Second + time.Second/2)
		synctest.Wait()
		if n := h.Counters(); n.Checks != 2 || n.Targets != 3 {
			t.Errorf("counters %+v, want 2 checks for 3 targets", n)
		}
		if a, b := len(h.fake.callsOf(s1)), len(h.fake.callsOf(other)); a < 5 || a > 6 || b < 5 || b > 6 {
			t.Errorf("%d runs of the shared check and %d of the other in 5.5 intervals", a, b)
		}
		ids := map[string]bool{}
		for _, tr := range h.transitions() {
			ids[tr.ID] = true
		}
		if len(ids) != 3 {
			t.Errorf("transitions for %v, want all three targets", ids)
		}
		a, b := h.status(t, "svc1/rs"), h.status(t, "svc2/rs")
		b.ID = a.ID
		if a != b {
			t.Errorf("subscribers see different statuses:\n%+v\n%+v", a, b)
		}
	})
}

// TestStatusesIsSnapshotUnsorted: Statuses holds what Snapshot does, one
// status per target (each subscriber of a shared check too); Snapshot is
// sorted by ID; StatusesOf gives those of the IDs asked for that the
// checker has, in their order, and forgets a target another Set removed.
func TestStatusesIsSnapshotUnsorted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var targets []Target
		for i, id := range []string{"e", "c", "a", "d", "b"} {
			targets = append(targets, tcpTarget(id, "10.0.0."+string(rune('1'+i%3)), time.Second))
		}
		h := start(t, Options{}, targets...)
		defer h.stop(t)
		time.Sleep(time.Second + time.Second/2)
		synctest.Wait()
		byID := func(a, b Status) int { return strings.Compare(a.ID, b.ID) }
		snap := h.Snapshot()
		if len(snap) != len(targets) || !slices.IsSortedFunc(snap, byID) {
			t.Errorf("Snapshot: %+v, want %d statuses sorted by ID", snap, len(targets))
		}
		all := h.Statuses()
		slices.SortFunc(all, byID)
		if !slices.Equal(all, snap) {
			t.Errorf("Statuses, sorted: %+v\nSnapshot: %+v", all, snap)
		}
		// snap is a, b, c, d, e.
		if got, want := h.StatusesOf([]string{"d", "x", "a"}), []Status{snap[3], snap[0]}; !slices.Equal(got, want) {
			t.Errorf("StatusesOf(d, x, a): %+v, want %+v", got, want)
		}
		if err := h.Set(targets[1:]); err != nil { // e removed: d keeps the shared check
			t.Fatal(err)
		}
		if got, want := h.StatusesOf([]string{"e", "d"}), []Status{snap[3]}; !slices.Equal(got, want) {
			t.Errorf("after e was removed, StatusesOf(e, d): %+v, want %+v", got, want)
		}
	})
}

// TestReloadKeepsUnchangedChecks: Set again with one target unchanged,
// one whose probe changed and one new: the unchanged one keeps its
// state, since, count and phase; the changed one starts over (for
// schedule edits see reload_spec_test.go); the old check stops; a target
// joining a known check hears its state at once.
func TestReloadKeepsUnchangedChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv = time.Second
		a, b := tcpTarget("a", "10.0.0.1", iv), tcpTarget("b", "10.0.0.2", iv)
		h := start(t, Options{}, a, b)
		defer h.stop(t)
		time.Sleep(3 * iv)
		synctest.Wait()
		before := h.status(t, "a")
		h.transitions()

		b2 := b
		b2.Spec.Port = 8080 // a different probe: a different check, started over
		c := tcpTarget("c", "10.0.0.3", iv)
		h.fake.set("10.0.0.3", true)
		joined := a
		joined.ID = "a-too" // same check as a, another service
		if err := h.Set([]Target{a, b2, c, joined}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := h.status(t, "a"); got != before {
			t.Errorf("a after reload = %+v\nwant %+v", got, before)
		}
		if got := h.status(t, "b"); got.State != Unknown || got.Consecutive != 0 {
			t.Errorf("b with a changed probe kept state: %+v", got)
		}
		tr := h.transitions()
		if len(tr) != 1 || tr[0].ID != "a-too" || tr[0].From != Unknown || tr[0].To != Up {
			t.Errorf("transitions at reload %+v, want a-too unknown->up", tr)
		}
		oldB := len(h.fake.callsOf(b))
		time.Sleep(3 * iv)
		synctest.Wait()
		if n := len(h.fake.callsOf(b)); n != oldB {
			t.Errorf("the removed check of b ran %d more times", n-oldB)
		}
		if len(h.fake.callsOf(b2)) == 0 || len(h.fake.callsOf(c)) == 0 {
			t.Error("new checks did not run")
		}
		for _, at := range h.fake.callsOf(a)[1:] { // the first, prompt one is off the grid
			if _, off := slotOf(a, at); off >= iv/16 {
				t.Errorf("a ran %s after its slot: phase lost", off)
			}
		}
		if got := h.status(t, "a"); got.Since != before.Since || got.Consecutive != before.Consecutive+3 {
			t.Errorf("a after reload and 3 runs = %+v, before %+v", got, before)
		}
		if err := h.Set([]Target{c}); err != nil {
			t.Fatal(err)
		}
		if snap := h.Snapshot(); len(snap) != 1 || snap[0].ID != "c" {
			t.Errorf("snapshot after removing all but c: %+v", snap)
		}
	})
}

func TestSetRejectsInvalidAndKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		h := start(t, Options{}, a)
		defer h.stop(t)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		bad := []struct {
			targets []Target
			want    string
		}{
			{[]Target{a, a}, `target "a": id: duplicate`},
			{[]Target{{ID: "x", Address: a.Address, Port: 80, Spec: Spec{Type: "ping"}}}, `type: "ping" is not one of`},
			{[]Target{{ID: "x", Address: a.Address, Spec: Spec{Type: TCP}}}, "port: missing"},
			{[]Target{{ID: "x", Address: a.Address, Port: 80, Spec: Spec{Type: HTTP, ExpectStatus: "2xx"}}}, "expect_status"},
			{[]Target{{ID: "x", Address: a.Address, Port: 80, Spec: Spec{Type: HTTP, Path: "/a b"}}}, "path"},
			{[]Target{{ID: "x", Address: a.Address, Port: 53, Spec: Spec{Type: DNS}}}, "query: missing"},
			{[]Target{{ID: "x", Address: a.Address, Spec: Spec{Type: Exec}}}, "command: missing"},
		}
		for _, c := range bad {
			if err := h.Set(c.targets); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Set = %v, want an error with %q", err, c.want)
			}
		}
		if snap := h.Snapshot(); len(snap) != 1 || snap[0].State != Up {
			t.Errorf("state after rejected sets: %+v", snap)
		}
	})
}

// TestRunTwice: a Checker runs once.
func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{})
		defer h.stop(t)
		synctest.Wait() // the first Run is running
		if err := h.Run(context.Background()); err == nil {
			t.Error("second Run accepted")
		}
	})
}

// TestDedupServerSide: two subscribers of one real server make one
// connection per slot, counted by the server.
func TestDedupServerSide(t *testing.T) {
	ln := listenCounting(t, nil)
	ap := netip.MustParseAddrPort(ln.Addr().String())
	var mu sync.Mutex
	seen := map[string]bool{}
	both := make(chan struct{})
	c := New(Options{Notify: func(tr Transition) {
		mu.Lock()
		defer mu.Unlock()
		seen[tr.ID] = true
		if len(seen) == 2 {
			close(both)
		}
	}})
	spec := Spec{Type: TCP, Interval: 3 * time.Second}
	if err := c.Set([]Target{
		{ID: "svc1", Address: ap.Addr(), Port: ap.Port(), Spec: spec},
		{ID: "svc2", Address: ap.Addr(), Port: ap.Port(), Spec: spec},
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-both:
	case <-time.After(10 * time.Second):
		t.Fatal("no transitions")
	}
	n := c.Counters()
	cancel()
	<-done
	// The server counts as its accept loop gets to the connections, which
	// a check closes (with a reset) as soon as the handshake is done: give
	// it time to see every connection the slot made.
	for deadline := time.Now().Add(2 * time.Second); ln.accepted.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n.Up != 1 || ln.accepted.Load() != 1 {
		t.Errorf("%d passes and %d connections accepted for two subscribers, want 1 and 1", n.Up, ln.accepted.Load())
	}
}

// TestRunStopsAllGoroutines: with network and exec checks in flight
// (an exec check sleeping, its process group killed), Run returns after
// cancel and leaves no goroutine behind.
func TestRunStopsAllGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	ln := listenCounting(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // never answers
	ap := netip.MustParseAddrPort(ln.Addr().String())
	c := New(Options{Workers: 4, ExecWorkers: 2})
	targets := []Target{
		{ID: "agent", Address: ap.Addr(), Port: ap.Port(), Spec: Spec{Type: Agent, Interval: 200 * time.Millisecond, Timeout: 10 * time.Second}},
		{ID: "exec", Address: ap.Addr(), Spec: Spec{Type: Exec, Interval: 200 * time.Millisecond, Timeout: 10 * time.Second,
			Command: []string{"/bin/sleep", "30"}}},
	}
	if err := c.Set(targets); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(500 * time.Millisecond) // both checks are in flight now
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	ln.Close()
	noLeak(t, base)
}
