package health

import (
	"testing"
	"testing/synctest"
	"time"
)

// stepRuns advances the bubble's clock in steps shorter than any interval
// until the check of tg has started n more runs, and returns once they
// have been recorded.
func stepRuns(t *testing.T, h *harness, tg Target, n int) {
	t.Helper()
	want := len(h.fake.callsOf(tg)) + n
	deadline := time.Now().Add(time.Minute)
	for len(h.fake.callsOf(tg)) < want {
		if time.Now().After(deadline) {
			t.Fatalf("check of %q: %d runs in a minute, want %d", tg.ID, len(h.fake.callsOf(tg)), want)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
	}
}

// upFor starts a harness with targets and waits until every one is Up.
func upFor(t *testing.T, targets ...Target) *harness {
	t.Helper()
	h := start(t, Options{}, targets...)
	time.Sleep(3 * time.Second)
	synctest.Wait()
	for _, tg := range targets {
		if s := h.status(t, tg.ID); s.State != Up {
			t.Fatalf("%s before the reload: %+v, want up", tg.ID, s)
		}
	}
	h.transitions()
	return h
}

// TestReloadIntervalEditKeepsUpThroughOneFailure: a reload that edits only
// the interval keeps the check's state, so one failure (fall 3) at the
// first run after it leaves an Up server Up; the check runs on the new
// interval's grid and stays checked (Unchecked 0).
func TestReloadIntervalEditKeepsUpThroughOneFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		h := upFor(t, a)
		defer h.stop(t)
		before := h.status(t, "a")

		a2 := a
		a2.Spec.Interval = 2 * time.Second
		if err := h.Set([]Target{a2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := h.status(t, "a"); got != before {
			t.Errorf("status right after the reload = %+v\nwant %+v", got, before)
		}
		if n := h.Counters(); n.Unchecked != 0 || n.Checks != 1 {
			t.Errorf("counters after the reload %+v, want 1 check, none unchecked", n)
		}
		h.fake.set("10.0.0.1", false) // one glitch...
		stepRuns(t, h, a2, 1)         // ...at the first run of the edited check
		h.fake.set("10.0.0.1", true)
		if s := h.status(t, "a"); s.State != Up || s.Last.Up || s.Consecutive != 1 || s.Since != before.Since {
			t.Errorf("after one failure (fall 3) following an interval edit: %+v, want up since %v, 1 failure", s, before.Since)
		}
		stepRuns(t, h, a2, 3)
		if s := h.status(t, "a"); s.State != Up || !s.Last.Up || s.Since != before.Since {
			t.Errorf("after the glitch: %+v, want up since %v", s, before.Since)
		}
		if tr := h.transitions(); len(tr) != 0 {
			t.Errorf("transitions after an interval edit and one failure: %+v, want none", tr)
		}
		calls := h.fake.callsOf(a2)
		last := calls[len(calls)-1]
		if _, off := slotOf(a2, last); off >= jitterBound(a2.Spec.Interval) {
			t.Errorf("last run %s after its slot of the 2s grid", off)
		}
		if n := len(h.fake.callsOf(a)); n != 0 && h.fake.callsOf(a)[n-1].After(calls[0]) {
			t.Error("the check with the old spec ran after the reload")
		}
	})
}

// TestReloadRiseFallEditKeepsState: a reload that edits rise, fall and
// timeout keeps the state, Since and the failures in a row so far, and
// the new fall and rise apply from the next result: one failure before
// the reload and one after make two in a row, which is the new fall.
func TestReloadRiseFallEditKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		h := upFor(t, a)
		defer h.stop(t)
		h.fake.set("10.0.0.1", false)
		stepRuns(t, h, a, 1)
		before := h.status(t, "a")
		if before.State != Up || before.Consecutive != 1 || before.Last.Up {
			t.Fatalf("after one failure: %+v", before)
		}

		a2 := a
		a2.Spec.Rise, a2.Spec.Fall, a2.Spec.Timeout = 3, 2, 300*time.Millisecond
		setAt := time.Now()
		if err := h.Set([]Target{a2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := h.status(t, "a"); got != before {
			t.Errorf("status right after a rise/fall edit = %+v\nwant %+v", got, before)
		}
		stepRuns(t, h, a2, 1)
		fast := fastInterval(a2.Spec.Interval)
		if wait := h.fake.callsOf(a2)[0].Sub(setAt); wait > fast+jitterBound(fast) {
			t.Errorf("first run %s after the reload, want the fast interval (%s): a change was in progress", wait, fast)
		}
		if s := h.status(t, "a"); s.State != Down || s.Consecutive != 2 {
			t.Errorf("after a second failure in a row (new fall 2): %+v, want down", s)
		}
		h.fake.set("10.0.0.1", true)
		stepRuns(t, h, a2, 2)
		if s := h.status(t, "a"); s.State != Down {
			t.Errorf("after 2 passes (new rise 3): %+v, want still down", s)
		}
		stepRuns(t, h, a2, 1)
		if s := h.status(t, "a"); s.State != Up {
			t.Errorf("after 3 passes (new rise 3): %+v, want up", s)
		}
		tr := h.transitions()
		if len(tr) != 2 || tr[0].From != Up || tr[0].To != Down || tr[1].From != Down || tr[1].To != Up {
			t.Errorf("transitions %+v, want up->down, down->up", tr)
		}
		if n := h.Counters(); n.Transitions != 3 { // the first result, down, up
			t.Errorf("counters %+v, want 3 transitions", n)
		}
	})
}

// TestReloadProbeEditStartsUnknown: a reload that changes what is probed
// (the check port of a tcp check, the path of an http check) starts that
// check over: Unknown, no count, and its first result decides.
func TestReloadProbeEditStartsUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		b := tcpTarget("b", "10.0.0.2", time.Second)
		b.Spec.Type, b.Spec.Path = HTTP, "/health"
		h := upFor(t, a, b)
		defer h.stop(t)

		a2, b2 := a, b
		a2.Spec.Port = 8080
		b2.Spec.Path = "/ready"
		b2.Spec.Interval = 2 * time.Second // with a schedule edit too
		if err := h.Set([]Target{a2, b2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		for _, id := range []string{"a", "b"} {
			if s := h.status(t, id); s.State != Unknown || s.Consecutive != 0 || !s.Since.IsZero() {
				t.Errorf("%s after its probe changed: %+v, want unknown", id, s)
			}
		}
		if n := h.Counters(); n.Unchecked != 2 {
			t.Errorf("counters %+v, want 2 unchecked", n)
		}
		h.fake.set("10.0.0.1", false)
		stepRuns(t, h, a2, 1)
		if s := h.status(t, "a"); s.State != Down {
			t.Errorf("a after the first run of its new probe failed: %+v, want down", s)
		}
		var ofA []Transition
		for _, tr := range h.transitions() {
			if tr.ID == "a" {
				ofA = append(ofA, tr)
			}
		}
		if len(ofA) != 1 || ofA[0].From != Unknown || ofA[0].To != Down {
			t.Errorf("transitions of a %+v, want unknown->down", ofA)
		}
	})
}

// TestReloadIntervalEditKeepsDownUntilRise: a Down server stays Down
// across an interval edit until rise passes in a row, and then comes back
// from Down (so the caller's slow start applies), not from Unknown.
func TestReloadIntervalEditKeepsDownUntilRise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		h := start(t, Options{}, a)
		defer h.stop(t)
		h.fake.set("10.0.0.1", false)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		before := h.status(t, "a")
		if before.State != Down {
			t.Fatalf("before the reload: %+v, want down", before)
		}
		h.transitions()

		a2 := a
		a2.Spec.Interval = 2 * time.Second
		if err := h.Set([]Target{a2}); err != nil {
			t.Fatal(err)
		}
		h.fake.set("10.0.0.1", true)
		stepRuns(t, h, a2, 1)
		if s := h.status(t, "a"); s.State != Down || !s.Last.Up || s.Since != before.Since {
			t.Errorf("after one pass (rise 2) following an interval edit: %+v, want down since %v", s, before.Since)
		}
		stepRuns(t, h, a2, 1)
		if s := h.status(t, "a"); s.State != Up {
			t.Errorf("after 2 passes (rise 2): %+v, want up", s)
		}
		if tr := h.transitions(); len(tr) != 1 || tr[0].From != Down || tr[0].To != Up {
			t.Errorf("transitions %+v, want one down->up", tr)
		}
	})
}

// TestReloadSpecEditSharedCheck: two targets share a check; editing the
// interval of one moves it to a check of its own with the shared state
// (no transition for either); editing the other alike makes it join that
// check, again without a transition; a new target joining hears the
// state from Unknown.
func TestReloadSpecEditSharedCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("svc1/rs", "10.0.0.1", time.Second)
		b := tcpTarget("svc2/rs", "10.0.0.1", time.Second)
		h := upFor(t, a, b)
		defer h.stop(t)
		before := h.status(t, a.ID)

		a2 := a
		a2.Spec.Interval = 3 * time.Second
		if err := h.Set([]Target{a2, b}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := h.Counters(); n.Checks != 2 || n.Unchecked != 0 {
			t.Errorf("counters %+v, want 2 checks, none unchecked", n)
		}
		for _, id := range []string{a.ID, b.ID} {
			if s := h.status(t, id); s.State != Up || s.Since != before.Since {
				t.Errorf("%s after one subscriber's interval edit: %+v, want up since %v", id, s, before.Since)
			}
		}

		b2 := b
		b2.Spec.Interval = 3 * time.Second
		c := a2
		c.ID = "svc3/rs"
		if err := h.Set([]Target{a2, b2, c}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := h.Counters(); n.Checks != 1 || n.Targets != 3 || n.Unchecked != 0 {
			t.Errorf("counters %+v, want 1 check for 3 targets", n)
		}
		for _, id := range []string{a.ID, b.ID, c.ID} {
			if s := h.status(t, id); s.State != Up || s.Since != before.Since {
				t.Errorf("%s after both edits: %+v, want up since %v", id, s, before.Since)
			}
		}
		if tr := h.transitions(); len(tr) != 1 || tr[0].ID != c.ID || tr[0].From != Unknown || tr[0].To != Up {
			t.Errorf("transitions %+v, want only svc3/rs unknown->up", tr)
		}
	})
}

// TestReloadMergeSameProbe: two targets of the same probe on two checks
// (fall 1 and fall 3) disagree after one failure; a reload that gives
// them both fall 2 merges them into one new check carrying one of the two
// states, and only the target whose state that is not hears a Transition,
// from the state it had.
func TestReloadMergeSameProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("svc1/rs", "10.0.0.1", time.Second)
		b := tcpTarget("svc2/rs", "10.0.0.1", time.Second)
		a.Spec.Fall = 1
		h := upFor(t, a, b)
		defer h.stop(t)
		h.fake.set("10.0.0.1", false)
		stepRuns(t, h, a, 1)
		stepRuns(t, h, b, 1)
		sa, sb := h.status(t, a.ID), h.status(t, b.ID)
		if sa.State != Down || sb.State != Up {
			t.Fatalf("after one failure: %+v, %+v; want down (fall 1), up (fall 3)", sa, sb)
		}
		h.transitions()

		a2, b2 := a, b // both edited: a new check, and two to inherit from
		a2.Spec.Fall, b2.Spec.Fall = 2, 2
		if err := h.Set([]Target{a2, b2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := h.Counters(); n.Checks != 1 || n.Unchecked != 0 {
			t.Errorf("counters %+v, want 1 check, none unchecked", n)
		}
		merged := h.status(t, b.ID).State
		if merged == Unknown || h.status(t, a.ID).State != merged {
			t.Fatalf("after the merge: %+v, %+v; want one known state", h.status(t, a.ID), h.status(t, b.ID))
		}
		want := map[string]State{a.ID: Down, b.ID: Up}
		tr := h.transitions()
		if len(tr) != 1 || tr[0].To != merged || tr[0].From != want[tr[0].ID] || tr[0].From == merged {
			t.Errorf("transitions at the merge into %v: %+v, want one, from the other state", merged, tr)
		}
	})
}

// TestReloadKeepsFrom: a check that came back from down and is then
// edited (interval) still says it came from down: inherit copies From
// with the rest of the state, so a reader deciding slow start from the
// status alone sees the same recovery before and after the reload.
func TestReloadKeepsFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		h := upFor(t, a)
		defer h.stop(t)
		if s := h.status(t, "a"); s.From != Unknown {
			t.Errorf("after the first result: %+v, want from unknown", s)
		}
		h.fake.set("10.0.0.1", false)
		stepRuns(t, h, a, 3) // fall 3
		if s := h.status(t, "a"); s.State != Down || s.From != Up {
			t.Fatalf("after 3 failures: %+v, want down from up", s)
		}
		h.fake.set("10.0.0.1", true)
		stepRuns(t, h, a, 2) // rise 2
		before := h.status(t, "a")
		if before.State != Up || before.From != Down {
			t.Fatalf("after 2 passes: %+v, want up from down", before)
		}
		a2 := a
		a2.Spec.Interval = 2 * time.Second
		if err := h.Set([]Target{a2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := h.status(t, "a"); got.From != Down || got != before {
			t.Errorf("after an interval edit: %+v\nwant %+v", got, before)
		}
		stepRuns(t, h, a2, 2)
		if s := h.status(t, "a"); s.State != Up || s.From != Down || s.Since != before.Since {
			t.Errorf("runs after the reload: %+v, want still up from down since %v", s, before.Since)
		}
	})
}
