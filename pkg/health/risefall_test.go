package health

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// outcomeLog is an Observer keeping the outcome of every run in order and
// the index of each run that changed the state.
type outcomeLog struct {
	mu       sync.Mutex
	outcomes []Outcome
	changed  []int
	wake     chan struct{}
}

func (l *outcomeLog) Observe(o Observation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes = append(l.outcomes, o.Outcome)
	if o.Transition {
		l.changed = append(l.changed, len(l.outcomes)-1)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// waitChanges waits until n runs changed the state.
func (l *outcomeLog) waitChanges(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		got := len(l.changed)
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("%d state changes, want %d", got, n)
		}
	}
}

// runOfSame returns how many runs up to and including i had outcome out
// in a row.
func (l *outcomeLog) runOfSame(i int, out Outcome) int {
	n := 0
	for ; i >= 0 && l.outcomes[i] == out; i-- {
		n++
	}
	return n
}

// TestRiseFallRealListener: a listener that goes away and comes back on
// the same port: down after exactly fall refused connections, up again
// after exactly rise accepted ones.
func TestRiseFallRealListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	log := &outcomeLog{wake: make(chan struct{}, 1)}
	var mu sync.Mutex
	var trans []Transition
	c := New(Options{Observer: log, Notify: func(tr Transition) { mu.Lock(); trans = append(trans, tr); mu.Unlock() }})
	const rise, fall = 2, 3
	if err := c.Set([]Target{{ID: "rs", Address: ap.Addr(), Port: ap.Port(),
		Spec: Spec{Type: TCP, Interval: 200 * time.Millisecond, Timeout: time.Second, Rise: rise, Fall: fall}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	log.waitChanges(t, 1) // first check: up at once
	ln.Close()
	log.waitChanges(t, 2)
	ln, err = net.Listen("tcp", ap.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log.waitChanges(t, 3)

	log.mu.Lock()
	first, down, up := log.changed[0], log.changed[1], log.changed[2]
	if first != 0 || log.outcomes[0] != OutcomeUp {
		t.Errorf("first change at run %d (%v), want the first run, up", first, log.outcomes[0])
	}
	if n := log.runOfSame(down, OutcomeDown); n != fall {
		t.Errorf("went down after %d failures in a row, want %d (runs %v)", n, fall, log.outcomes)
	}
	if n := log.runOfSame(up, OutcomeUp); n != rise {
		t.Errorf("came back after %d passes in a row, want %d (runs %v)", n, rise, log.outcomes)
	}
	log.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		if len(trans) >= 3 || time.Now().After(deadline) {
			break
		}
		mu.Unlock()
	}
	defer mu.Unlock()
	if len(trans) < 3 || trans[1].To != Down || !strings.Contains(trans[1].Reason, "connection refused") || trans[2].To != Up {
		t.Errorf("transitions %+v", trans)
	}
}
