package health

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// target returns a normalized target of type typ for addr ("ip:port").
func target(t testing.TB, typ Type, addr string, mod func(*Spec)) Target {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	tg := Target{ID: "t", Address: ap.Addr(), Port: ap.Port(), Spec: Spec{Type: typ, Timeout: 2 * time.Second}}
	if mod != nil {
		mod(&tg.Spec)
	}
	tg = tg.normalized()
	if err := tg.validate(); err != nil {
		t.Fatal(err)
	}
	return tg
}

// runProbe runs one check of tg as a worker does: the probe must keep
// tg.Spec.Timeout itself, from a context without a deadline. That context
// is cancelled 10 s after the timeout, and a probe still running then
// returns a result saying so. It runs in the calling thread (and so in
// its network namespace).
func runProbe(tg Target) Result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchdog := time.AfterFunc(tg.Spec.Timeout+10*time.Second, cancel)
	defer watchdog.Stop()
	r := probe(ctx, tg)
	if ctx.Err() != nil {
		return Result{Reason: fmt.Sprintf("probe still running 10s after its timeout (%v)", tg.Spec.Timeout)}
	}
	return r
}

// oneCheck returns a Checker (not running) with opts and tg as its only
// target, and tg's check.
func oneCheck(tb testing.TB, opts Options, tg Target) (*Checker, *check) {
	tb.Helper()
	c := New(opts)
	if err := c.Set([]Target{tg}); err != nil {
		tb.Fatal(err)
	}
	if len(c.checks) != 1 {
		tb.Fatalf("%d checks, want 1", len(c.checks))
	}
	var ck *check
	for _, x := range c.checks {
		ck = x
	}
	return c, ck
}

// wantResult fails t unless r has the outcome up and a reason containing
// reason.
func wantResult(t testing.TB, r Result, up bool, reason string) {
	t.Helper()
	if r.Up != up || !strings.Contains(r.Reason, reason) {
		t.Fatalf("result = %+v, want up=%v with reason containing %q", r, up, reason)
	}
}

// countingListener accepts and counts connections, closing each after
// serve (or at once).
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

// listenCounting is a countingListener on 127.0.0.1.
func listenCounting(t testing.TB, serve func(net.Conn)) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveCounting(t, ln, serve)
}

// serveCounting accepts and counts connections on ln (closed when t
// ends), closing each after serve (or at once).
func serveCounting(t testing.TB, ln net.Listener, serve func(net.Conn)) *countingListener {
	cl := &countingListener{Listener: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cl.accepted.Add(1)
			go func() {
				defer c.Close()
				if serve != nil {
					serve(c)
				}
			}()
		}
	}()
	return cl
}

// closedPort returns 127.0.0.1:PORT with nothing listening.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// noLeak fails t when goroutines started after base are still running
// after a grace period.
func noLeak(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
