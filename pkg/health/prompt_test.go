package health

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// firstRunWindow is the window a check without a state (Unknown) first
// runs within after Set: min(interval, 2s).
func firstRunWindow(iv time.Duration) time.Duration { return min(iv, 2*time.Second) }

// TestFirstRunPrompt: with interval 5m (the config allows up to 1h) every
// new check's first run is due within the prompt window after Set, not at
// its first grid slot up to five minutes away (which held READY=1 past
// the unit's start timeout); the runs are spread over the window, not at
// one instant; and the delay is a function of the check alone, so the
// same check gets the same first run from another Checker.
func TestFirstRunPrompt(t *testing.T) {
	const iv, n, buckets = 5 * time.Minute, 400, 10
	targets := manyTargets(n, iv)
	setAt := time.Now()
	c := New(Options{})
	if err := c.Set(targets); err != nil {
		t.Fatal(err)
	}
	w := firstRunWindow(iv)
	var hist [buckets]int
	late := 0
	for _, ck := range c.checks {
		d := ck.due.Sub(setAt)
		if d < 0 || d >= w+time.Since(setAt) {
			late++
			if late <= 3 {
				t.Errorf("check of %s: first run due %s after Set, want within %s", ck.t.Address, d, w)
			}
			continue
		}
		hist[min(int(d*buckets/w), buckets-1)]++
	}
	if late > 0 {
		t.Fatalf("%d of %d checks with interval %s first run later than %s after Set", late, n, iv, w)
	}
	for i, k := range hist {
		if k > 2*n/buckets {
			t.Errorf("%d of %d first runs in tenth %d of the window (histogram %v)", k, n, i, hist)
		}
	}
	again := New(Options{})
	if err := again.Set(targets); err != nil {
		t.Fatal(err)
	}
	// Both checkers planned from their own time.Now(): a delay that is a
	// function of the check alone puts every check the same distance
	// apart in the two.
	var shift time.Duration
	first := true
	for key, ck := range c.checks {
		d := again.checks[key].due.Sub(ck.due)
		if first {
			shift, first = d, false
		} else if d != shift {
			t.Fatalf("first runs %s and %s apart in two checkers: the delay is not a function of the check", shift, d)
		}
	}
}

// TestFirstRunPromptThenGrid: a new check with interval 5m runs within
// the prompt window, then on its grid (the next run at least half an
// interval later: the prompt run is an extra one, not a second run a few
// milliseconds before a grid slot), so Unchecked reaches 0 within the
// window.
func TestFirstRunPromptThenGrid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv = 5 * time.Minute
		var targets []Target
		for i := range 50 {
			targets = append(targets, tcpTarget(fmt.Sprint(i), fmt.Sprintf("10.0.0.%d", i+1), iv))
		}
		setAt := time.Now()
		h := start(t, Options{}, targets...)
		defer h.stop(t)
		time.Sleep(firstRunWindow(iv))
		synctest.Wait()
		if n := h.Counters().Unchecked; n != 0 {
			t.Fatalf("%d of %d checks unchecked %s after Set (interval %s)", n, len(targets), firstRunWindow(iv), iv)
		}
		time.Sleep(3 * iv)
		synctest.Wait()
		for _, tg := range targets {
			calls := h.fake.callsOf(tg)
			if len(calls) < 3 {
				t.Fatalf("%s: %d runs in 3 intervals", tg.ID, len(calls))
			}
			if d := calls[0].Sub(setAt); d >= firstRunWindow(iv) {
				t.Errorf("%s: first run %s after Set", tg.ID, d)
			}
			if gap := calls[1].Sub(calls[0]); gap < iv/2 {
				t.Errorf("%s: second run %s after the first, want at least %s", tg.ID, gap, iv/2)
			}
			for _, at := range calls[1:] {
				if _, off := slotOf(tg, at); off >= jitterBound(iv) {
					t.Errorf("%s: run at %s is %s after its slot, want on the grid", tg.ID, at, off)
				}
			}
		}
	})
}

// TestReloadPromptOnlyForFreshChecks: at a reload with interval 5m, a
// check whose probe changed (Unknown again) runs within the prompt
// window; one that keeps its state (rise edited) keeps its schedule, on
// its grid.
func TestReloadPromptOnlyForFreshChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv = 5 * time.Minute
		a, b := tcpTarget("a", "10.0.0.1", iv), tcpTarget("b", "10.0.0.2", iv)
		h := start(t, Options{}, a, b)
		defer h.stop(t)
		time.Sleep(iv + iv/16)
		synctest.Wait()
		a2, b2 := a, b
		a2.Spec.Port = 8080 // another probe: starts over
		b2.Spec.Rise = 3    // the same probe: keeps its state
		setAt := time.Now()
		if err := h.Set([]Target{a2, b2}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(firstRunWindow(iv))
		synctest.Wait()
		if calls := h.fake.callsOf(a2); len(calls) != 1 || calls[0].Sub(setAt) >= firstRunWindow(iv) {
			t.Errorf("check with a changed probe: runs %v after the reload at %s, want one within %s", calls, setAt, firstRunWindow(iv))
		}
		if s := h.status(t, "a"); s.State != Up {
			t.Errorf("a after its first run: %+v", s)
		}
		time.Sleep(2 * iv)
		synctest.Wait()
		calls := h.fake.callsOf(b2)
		if len(calls) == 0 {
			t.Fatal("the check that kept its state did not run")
		}
		for _, at := range calls {
			if _, off := slotOf(b2, at); off >= jitterBound(iv) {
				t.Errorf("kept check ran %s after its slot (at %s, reload at %s), want on its grid", off, at, setAt)
			}
		}
	})
}

// TestFirstRunsAtScaleNeverLate: thousands of new checks fall due within
// the prompt window together, more than the workers can start within a
// timeout, one real server in ten black-holed (its run takes the whole
// timeout): every first run still runs (none late), so every target has
// a result within seconds, not an interval and a half later.
func TestFirstRunsAtScaleNeverLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv = 4 * time.Minute
		var targets []Target
		for i := range 3000 {
			tg := tcpTarget(fmt.Sprint(i), fmt.Sprintf("10.%d.%d.%d", i/62500, i/250%250, i%250+1), iv)
			tg.Spec.Timeout = 2 * time.Second
			targets = append(targets, tg)
		}
		h := start(t, Options{Workers: 64}, targets...)
		defer h.stop(t)
		h.fake.setDelay(func(a netip.Addr) time.Duration {
			if a.As4()[3]%10 == 0 {
				return time.Hour
			}
			return 5 * time.Millisecond
		})
		t0 := time.Now()
		for time.Since(t0) < time.Minute {
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			if c := h.Counters(); c.Unchecked == 0 {
				if c.Late != 0 {
					t.Errorf("%d first runs dropped as late", c.Late)
				}
				t.Logf("all checked after %s", time.Since(t0))
				return
			}
		}
		t.Errorf("still unchecked a minute after start: %+v", h.Counters())
	})
}
