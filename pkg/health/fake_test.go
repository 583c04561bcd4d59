package health

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeProbe stands in for the network: each target address is up or down
// as the test says, a run takes delay(address), and every call is recorded.
type fakeProbe struct {
	mu         sync.Mutex
	up         map[netip.Addr]bool
	delay      func(netip.Addr) time.Duration
	calls      []fakeCall
	running    int
	maxRunning int
}

type fakeCall struct {
	key string
	at  time.Time
}

func newFakeProbe() *fakeProbe { return &fakeProbe{up: map[netip.Addr]bool{}} }

func (f *fakeProbe) set(addr string, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up[netip.MustParseAddr(addr)] = up
}

func (f *fakeProbe) probe(ctx context.Context, t Target) Result {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{key: t.key(), at: time.Now()})
	f.running++
	f.maxRunning = max(f.maxRunning, f.running)
	up := f.up[t.Address]
	var d time.Duration
	if f.delay != nil {
		d = f.delay(t.Address)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if d > 0 {
		// Bounded by the check's timeout, as every probe is.
		timeout := time.NewTimer(t.Spec.Timeout)
		defer timeout.Stop()
		select {
		case <-time.After(d):
		case <-timeout.C:
			return Result{Reason: "fake timeout"}
		case <-ctx.Done():
			return Result{Reason: "fake timeout"}
		}
	}
	if up {
		return Result{Up: true, Reason: "fake up"}
	}
	return Result{Reason: "fake down"}
}

func (f *fakeProbe) setDelay(d func(netip.Addr) time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *fakeProbe) maxRun() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxRunning
}

// callsOf returns the start times of the runs of the check of tg.
func (f *fakeProbe) callsOf(tg Target) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := tg.normalized().key()
	var out []time.Time
	for _, c := range f.calls {
		if c.key == key {
			out = append(out, c.at)
		}
	}
	return out
}

// harness runs a Checker with a fake probe inside a synctest bubble.
type harness struct {
	*Checker
	fake   *fakeProbe
	mu     sync.Mutex
	trans  []Transition
	cancel context.CancelFunc
	done   chan error
}

// start creates and runs a checker; call stop before the bubble ends.
func start(t *testing.T, opts Options, targets ...Target) *harness {
	t.Helper()
	h := &harness{fake: newFakeProbe(), done: make(chan error, 1)}
	opts.Notify = func(tr Transition) {
		h.mu.Lock()
		h.trans = append(h.trans, tr)
		h.mu.Unlock()
	}
	h.Checker = New(opts)
	h.probe = h.fake.probe
	for _, tg := range targets {
		h.fake.set(tg.Address.String(), true)
	}
	if err := h.Set(targets); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.Run(ctx) }()
	return h
}

func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	if err := <-h.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// transitions returns the transitions seen so far and forgets them.
func (h *harness) transitions() []Transition {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.trans
	h.trans = nil
	return out
}

func (h *harness) status(t *testing.T, id string) Status {
	t.Helper()
	for _, s := range h.Snapshot() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no status for %q", id)
	return Status{}
}

// tcpTarget is a tcp target id at addr:80 with interval iv.
func tcpTarget(id, addr string, iv time.Duration) Target {
	return Target{ID: id, Address: netip.MustParseAddr(addr), Port: 80,
		Spec: Spec{Type: TCP, Interval: iv, Timeout: iv / 2, Rise: 2, Fall: 3}}
}

// slotOf returns the index of the grid slot of tg's check that at falls
// in (at may be up to jitterBound of jitter after the slot) and the
// offset from that slot.
func slotOf(tg Target, at time.Time) (int64, time.Duration) {
	n := tg.normalized()
	iv := n.Spec.Interval
	since := time.Duration(at.UnixNano()) - phaseOf(n.probeKey(), iv)
	return int64(since / iv), since % iv
}
