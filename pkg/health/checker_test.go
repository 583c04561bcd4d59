package health

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestFirstCheckDecidesAtOnce: the first result sets the state without
// waiting for rise or fall.
func TestFirstCheckDecidesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := tcpTarget("a", "10.0.0.1", time.Second), tcpTarget("b", "10.0.0.2", time.Second)
		h := start(t, Options{}, a, b)
		defer h.stop(t)
		h.fake.set("10.0.0.2", false)
		if n := h.Counters().Unchecked; n != 2 {
			t.Errorf("unchecked before the first round = %d, want 2", n)
		}
		time.Sleep(time.Second + time.Second/16)
		synctest.Wait()
		got := map[string]string{}
		for _, tr := range h.transitions() {
			got[tr.ID] = fmt.Sprintf("%s->%s %s", tr.From, tr.To, tr.Reason)
		}
		want := map[string]string{"a": "unknown->up fake up", "b": "unknown->down fake down"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("transitions %v, want %v", got, want)
		}
		if n := h.Counters().Unchecked; n != 0 {
			t.Errorf("unchecked after the first round = %d", n)
		}
	})
}

// TestRiseFallAndFastInterval: an up server that starts failing is
// checked at the fast interval and goes down at the fall-th failure; it
// comes back after rise passes; then the normal grid resumes.
func TestRiseFallAndFastInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv = time.Second
		a := tcpTarget("a", "10.0.0.1", iv)
		h := start(t, Options{}, a)
		defer h.stop(t)
		time.Sleep(2 * iv)
		synctest.Wait()
		if s := h.status(t, "a"); s.State != Up {
			t.Fatalf("state %v", s.State)
		}
		h.transitions()
		before := len(h.fake.callsOf(a))
		h.fake.set("10.0.0.1", false)
		time.Sleep(2 * iv)
		synctest.Wait()
		tr := h.transitions()
		if len(tr) != 1 || tr[0].From != Up || tr[0].To != Down || tr[0].Reason != "fake down" {
			t.Fatalf("transitions %+v, want one up->down", tr)
		}
		calls := h.fake.callsOf(a)[before:]
		// The first failure is on the grid; the next two follow at the
		// fast interval (250ms) plus its jitter, and the third decides.
		if len(calls) < 3 {
			t.Fatalf("%d runs after the failure began", len(calls))
		}
		// Gaps are from slot to slot plus each run's jitter: below
		// jitterBound(iv) for the first (normal) run, jitterBound(fast)
		// for fast ones.
		fast := fastInterval(iv)
		for i, early := range []time.Duration{jitterBound(iv), jitterBound(fast)} {
			gap := calls[i+1].Sub(calls[i])
			if gap <= fast-early || gap >= fast+jitterBound(fast) {
				t.Errorf("gap %d = %s, want the fast interval %s (-%s, +%s)", i+1, gap, fast, early, jitterBound(fast))
			}
		}
		if !tr[0].Time.Equal(calls[2]) {
			t.Errorf("down at %s, want at the third failure %s", tr[0].Time, calls[2])
		}
		// Down and stable: back on the grid.
		for _, at := range calls[3:] {
			if _, off := slotOf(a, at); off >= iv/16 {
				t.Errorf("run at %s is %s after its slot, want on the grid", at, off)
			}
		}
		h.fake.set("10.0.0.1", true)
		time.Sleep(2 * iv)
		synctest.Wait()
		tr = h.transitions()
		if len(tr) != 1 || tr[0].From != Down || tr[0].To != Up {
			t.Fatalf("transitions %+v, want one down->up", tr)
		}
		if s := h.status(t, "a"); s.Consecutive < 2 || !s.Since.Equal(tr[0].Time) {
			t.Errorf("status %+v", s)
		}
	})
}

// TestFixedRateNoDrift: runs that take up to 90% of the interval do not
// push later runs back: run k is in slot k of the check's grid (counting
// from the second run: the first is the prompt one, off the grid).
func TestFixedRateNoDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv, cycles = time.Second, 200
		a := tcpTarget("a", "10.0.0.1", iv)
		a.Spec.Timeout = iv
		h := start(t, Options{}, a)
		defer h.stop(t)
		n := 0
		h.fake.setDelay(func(_ netip.Addr) time.Duration { n++; return time.Duration(n*37%90) * iv / 100 })
		time.Sleep(cycles*iv + iv/2)
		synctest.Wait()
		calls := h.fake.callsOf(a)[1:] // after the prompt first run
		if len(calls) < cycles-1 {
			t.Fatalf("%d runs in %d intervals", len(calls), cycles)
		}
		first, _ := slotOf(a, calls[0])
		var minOff, maxOff time.Duration = iv, 0
		for k, at := range calls {
			slot, off := slotOf(a, at)
			if slot != first+int64(k) || off >= jitterBound(iv) {
				t.Fatalf("run %d at slot %d + %s, want slot %d + less than %s", k, slot, off, first+int64(k), jitterBound(iv))
			}
			minOff, maxOff = min(minOff, off), max(maxOff, off)
		}
		// Jitter: spread over [0, jitterBound) cycle by cycle, not a
		// constant.
		b := jitterBound(iv)
		if minOff > b/4 || maxOff < b-b/4 {
			t.Errorf("jitter between %s and %s, want spread over [0, %s)", minOff, maxOff, b)
		}
	})
}

// TestPhasesSpread: checks with the same interval start spread over it.
func TestPhasesSpread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv, n, buckets = time.Second, 200, 10
		var targets []Target
		for i := range n {
			targets = append(targets, tcpTarget(fmt.Sprint(i), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), iv))
		}
		h := start(t, Options{}, targets...)
		defer h.stop(t)
		startAt := time.Now()
		time.Sleep(iv + iv/16)
		synctest.Wait()
		var hist [buckets]int
		for _, c := range h.fake.calls {
			hist[int(c.at.Sub(startAt)*buckets/(iv+iv/16))]++
		}
		for i, c := range hist {
			if c > 2*n/buckets {
				t.Errorf("%d of %d first runs in tenth %d of the interval (histogram %v)", c, n, i, hist)
			}
		}
	})
}

// infoRecorder keeps the last observation's check identity.
type infoRecorder struct {
	mu   sync.Mutex
	last CheckInfo
}

func (r *infoRecorder) Observe(o Observation) {
	r.mu.Lock()
	r.last = o.Check
	r.mu.Unlock()
}

// TestObserveCheckInfo: an observer is told which check ran (type, via,
// real server, check port), and telling it allocates nothing: the
// identity is rendered once, when the check is made.
func TestObserveCheckInfo(t *testing.T) {
	rec := &infoRecorder{}
	tg := Target{ID: "a", Address: netip.MustParseAddr("10.0.0.1"), Port: 80,
		Spec: Spec{Type: TCP, Port: 8080, Interval: time.Second, Timeout: time.Second}}
	c, ck := oneCheck(t, Options{Observer: rec}, tg)
	n := testing.AllocsPerRun(100, func() { c.observe(ck, Observation{Outcome: OutcomeUp}) })
	if want := (CheckInfo{Type: TCP, Via: ck.t.Spec.Via, Address: "10.0.0.1", Port: 8080}); rec.last != want || n != 0 {
		t.Fatalf("observer told %+v with %v allocations, want %+v and none", rec.last, n, want)
	}
}

// TestWallClockStepBack: a wall clock stepped back (NTP, date -s) does not
// hold a check back by the size of the step: its next run is due within
// an interval plus jitter of the new time, on its grid, and runs then.
func TestWallClockStepBack(t *testing.T) {
	iv := 2 * time.Second
	tg := tcpTarget("a", "10.0.0.1", iv)
	c, ck := oneCheck(t, Options{}, tg)
	now := time.Now()
	c.dispatchDue(now)
	stepped := now.Add(-time.Hour).Round(0) // the wall clock an hour back
	wait := c.dispatchDue(stepped)
	if limit := iv + jitterBound(iv); wait < 0 || wait > limit {
		t.Fatalf("after a step back of 1h the next run is due in %s, want at most %s", wait, limit)
	}
	if _, off := slotOf(tg, ck.base); off != 0 {
		t.Errorf("slot %s is %s off the check's grid", ck.base, off)
	}
	before := ck.seq + c.counters.Overlap
	c.dispatchDue(stepped.Add(wait))
	if n := ck.seq + c.counters.Overlap - before; n != 1 {
		t.Errorf("%d runs dispatched at the new due time, want 1", n)
	}
}

// TestWallClockStepBackEveryCheck: after a step back, a check with a short
// interval is not held back behind one with a long interval that the step
// left within its interval.
func TestWallClockStepBackEveryCheck(t *testing.T) {
	long, short := tcpTarget("long", "10.0.0.1", time.Minute), tcpTarget("short", "10.0.0.2", 2*time.Second)
	c := New(Options{})
	if err := c.Set([]Target{long, short}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.dispatchDue(now)
	cks := map[string]*check{}
	for _, ck := range c.checks {
		cks[ck.t.Address.String()] = ck
	}
	c.mu.Lock()
	c.sched.plan(cks["10.0.0.1"], now.Add(time.Second).Round(0))
	c.sched.plan(cks["10.0.0.2"], now.Add(1500*time.Millisecond).Round(0))
	c.mu.Unlock()
	stepped := now.Add(-30 * time.Second).Round(0)
	wait := c.dispatchDue(stepped)
	if d, limit := cks["10.0.0.2"].due.Sub(stepped), 2*time.Second+jitterBound(2*time.Second); wait > limit || d > limit {
		t.Errorf("after a step back of 30s: next run in %s, the 2s check's in %s; want both at most %s", wait, d, limit)
	}
}

// TestNextBaseClockBack: a slot planned from a run whose slot is later
// than now (the wall clock stepped back while it ran) is within an
// interval of now, on the grid, in both modes.
func TestNextBaseClockBack(t *testing.T) {
	iv := 2 * time.Second
	tg := tcpTarget("a", "10.0.0.1", iv)
	_, ck := oneCheck(t, Options{}, tg)
	base := gridAfter(time.Now(), iv, ck.phase)
	now := base.Add(-time.Hour)
	for _, changing := range []bool{false, true} {
		ck.m.state, ck.m.last.Up = Up, !changing // changing: a first failure
		if ck.m.changing() != changing {
			t.Fatalf("changing = %v, want %v", ck.m.changing(), changing)
		}
		n := nextBase(ck, base, now)
		if d := n.Sub(now); d <= 0 || d > iv {
			t.Errorf("changing %v: next slot %s after now, want within %s", changing, d, iv)
		}
		if _, off := slotOf(tg, n); off != 0 {
			t.Errorf("changing %v: next slot %s off the grid", changing, off)
		}
	}
}
