package health

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
)

// TestViaVIPSourceGoneIsNoResult: a check through the VIP whose source
// address the director no longer has (renumbered since the check was
// set up) cannot bind it; that is the director's failure, not the real
// server's: the run is no result (Result.Local), not a failed check.
func TestViaVIPSourceGoneIsNoResult(t *testing.T) {
	v := newViaNS(t)
	tg := v.target(43)
	tg.Source = netip.MustParseAddr("10.1.1.9") // not the namespace's
	var r Result
	if err := v.ns.Do(func() error { r = runProbe(tg); return nil }); err != nil {
		t.Fatal(err)
	}
	if !r.Local || r.Up {
		t.Fatalf("result %+v: want no result (Local), the director's own source gone", r)
	}
	wantResult(t, r, false, "bind: cannot assign requested address")
}

// TestDirectorLocal: which errors are the director's own.
func TestDirectorLocal(t *testing.T) {
	for _, c := range []struct {
		err   error
		local bool
	}{
		{os.NewSyscallError("bind", unix.EADDRNOTAVAIL), true},
		{os.NewSyscallError("socket", unix.EMFILE), true},
		{os.NewSyscallError("socket", unix.ENFILE), true},
		{os.NewSyscallError("sendto", unix.ENOBUFS), true},
		{os.NewSyscallError("fork/exec", unix.EAGAIN), true},
		{os.NewSyscallError("connect", unix.ECONNREFUSED), false},
		{os.NewSyscallError("connect", unix.EHOSTUNREACH), false},
		{os.NewSyscallError("connect", unix.EPERM), false},
		{os.ErrDeadlineExceeded, false},
	} {
		if got := directorLocal(c.err); got != c.local {
			t.Errorf("directorLocal(%v) = %v, want %v", c.err, got, c.local)
		}
		if r := failure("connect", c.err, time.Second); r.Local != c.local || r.Up {
			t.Errorf("failure(%v) = %+v, want Local %v", c.err, r, c.local)
		}
	}
}

// TestExecMissingProgramFails: an exec check whose program does not
// exist fails (the file's error, not a passing trouble of the director).
func TestExecMissingProgramFails(t *testing.T) {
	r := runProbe(target(t, Exec, "127.0.0.1:1", func(s *Spec) { s.Command = []string{"/nonexistent/check"} }))
	if r.Up || r.Local {
		t.Errorf("result %+v: want a failed check", r)
	}
}

// TestLocalErrorKeepsState: runs that fail on the director itself (its
// source address gone, out of descriptors) leave an up server up, with
// no transition, however many of them there are (before, fall of them
// in a row took every healthy real server down); they are counted and
// observed as local, the check reported starved once; the next real
// result counts as usual.
func TestLocalErrorKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tg := tcpTarget("a", "10.0.0.1", time.Second)
		var local, down atomic.Bool
		rec := &recorder{}
		var mu sync.Mutex
		var trans []Transition
		c := New(Options{Observer: rec, Notify: func(tr Transition) { mu.Lock(); trans = append(trans, tr); mu.Unlock() }})
		c.probe = func(context.Context, Target) Result {
			switch {
			case local.Load():
				return failure("connect", os.NewSyscallError("bind", unix.EADDRNOTAVAIL), time.Second)
			case down.Load():
				return Result{Reason: "connect: connection refused"}
			}
			return Result{Up: true, Reason: "connected"}
		}
		if err := c.Set([]Target{tg}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		since := c.Snapshot()[0].Since
		local.Store(true)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		st := c.Snapshot()[0]
		mu.Lock()
		if st.State != Up || !st.Since.Equal(since) || len(trans) != 1 {
			t.Errorf("after 30 s of runs failing on the director: %+v, transitions %+v; want up since %s, only the first transition", st, trans, since)
		}
		mu.Unlock()
		n := c.Counters()
		if n.Local < 25 || n.Down != 0 || rec.count(OutcomeLocal) != int(n.Local) {
			t.Errorf("counters %+v, %d observed local: want the local runs counted and observed, none down", n, rec.count(OutcomeLocal))
		}
		starved := 0
		for _, o := range rec.obs {
			if o.Starved > 0 {
				starved++
				if o.Outcome != OutcomeLocal || o.Reason != "connect: bind: cannot assign requested address" {
					t.Errorf("starved observation %+v: want the local failure and its reason", o)
				}
			}
		}
		if starved != 1 {
			t.Errorf("reported starved %d times, want once", starved)
		}
		local.Store(false)
		down.Store(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := c.Snapshot()[0]; st.State != Down {
			t.Errorf("a real failure after the local ones: %+v, want down after fall", st)
		}
	})
}

// TestSourceChangeKeepsState: the director's source address of a check
// through the VIP changing (Set with the new Source after the director
// was renumbered) keeps the check's state, since and results in a row:
// it is the same question asked of the same real server, not a fresh
// start whose first result would decide at once.
func TestSourceChangeKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tg := Target{ID: "rs", Address: netip.MustParseAddr("10.3.3.3"), Port: 80,
			Spec: Spec{Type: TCP, Via: ThroughVIP, Interval: time.Second, Timeout: 500 * time.Millisecond, Rise: 2, Fall: 3},
			VIP:  netip.MustParseAddr("10.2.2.2"), Mark: 7, Source: netip.MustParseAddr("10.1.1.1")}
		h := start(t, Options{}, tg)
		defer h.stop(t)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		before := h.status(t, "rs")
		h.transitions()
		tg.Source = netip.MustParseAddr("10.1.1.2")
		if err := h.Set([]Target{tg}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		after := h.status(t, "rs")
		if after.State != Up || !after.Since.Equal(before.Since) || after.Consecutive < before.Consecutive {
			t.Errorf("after the source changed: %+v, before %+v; want the state kept", after, before)
		}
		if tr := h.transitions(); len(tr) != 0 {
			t.Errorf("transitions at the source change: %+v", tr)
		}
	})
}
