package health

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// manyTargets returns n tcp targets with interval iv at distinct addresses.
func manyTargets(n int, iv time.Duration) []Target {
	var out []Target
	for i := range n {
		out = append(out, tcpTarget(fmt.Sprint(i), fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), iv))
	}
	return out
}

// TestBoundedConcurrency: never more network checks at once than workers.
func TestBoundedConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{Workers: 3}, manyTargets(40, time.Second)...)
		defer h.stop(t)
		h.fake.setDelay(func(netip.Addr) time.Duration { return 100 * time.Millisecond })
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if h.fake.maxRun() != 3 {
			t.Errorf("at most %d checks ran at once, want exactly 3", h.fake.maxRun())
		}
	})
}

// recorder is an Observer keeping every observation.
type recorder struct {
	mu  sync.Mutex
	obs []Observation
}

func (r *recorder) Observe(o Observation) {
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
}

func (r *recorder) count(out Outcome) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.obs {
		if o.Outcome == out {
			n++
		}
	}
	return n
}

// TestLateIsNotFailure: with too few workers, checks that cannot start
// within their timeout are skipped as late; no healthy server goes down.
func TestLateIsNotFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		targets := manyTargets(30, time.Second)
		h := start(t, Options{Workers: 1, Observer: rec}, targets...)
		defer h.stop(t)
		h.fake.setDelay(func(netip.Addr) time.Duration { return 200 * time.Millisecond })
		time.Sleep(10 * time.Second)
		synctest.Wait()
		n := h.Counters()
		if n.Late == 0 || n.Down != 0 || n.Up == 0 {
			t.Errorf("counters %+v, want late runs, passes and no failures", n)
		}
		if rec.count(OutcomeLate) != int(n.Late) || rec.count(OutcomeUp) != int(n.Up) {
			t.Errorf("observer saw %d late %d up, counters %+v", rec.count(OutcomeLate), rec.count(OutcomeUp), n)
		}
		for _, o := range rec.obs {
			if o.Outcome == OutcomeLate && o.Lag <= 500*time.Millisecond {
				t.Errorf("late with lag %s, within the timeout", o.Lag)
			}
		}
		for _, s := range h.Snapshot() {
			if s.State == Down {
				t.Errorf("%s went down", s.ID)
			}
		}
	})
}

// TestOverlapSkipsSlot: a run still going at the next slot makes that
// slot skipped, not a second concurrent run.
func TestOverlapSkipsSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tcpTarget("a", "10.0.0.1", time.Second)
		a.Spec.Timeout = 3 * time.Second
		rec := &recorder{}
		h := start(t, Options{Observer: rec}, a)
		defer h.stop(t)
		h.fake.setDelay(func(netip.Addr) time.Duration { return 1500 * time.Millisecond })
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if h.fake.maxRun() != 1 || h.Counters().Overlap == 0 || rec.count(OutcomeOverlap) == 0 {
			t.Errorf("max running %d, counters %+v", h.fake.maxRun(), h.Counters())
		}
	})
}

// TestExecPoolSeparate: exec checks use their own pool, so a slow exec
// check does not hold up network checks (and vice versa).
func TestExecPoolSeparate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := Target{ID: "e", Address: netip.MustParseAddr("10.0.0.9"),
			Spec: Spec{Type: Exec, Command: []string{"x"}, Interval: time.Second, Timeout: 900 * time.Millisecond}}
		targets := append(manyTargets(5, time.Second), ex)
		h := start(t, Options{Workers: 1, ExecWorkers: 1}, targets...)
		defer h.stop(t)
		h.fake.setDelay(func(a netip.Addr) time.Duration {
			if a == ex.Address {
				return 800 * time.Millisecond
			}
			return time.Millisecond
		})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := h.Counters(); n.Late != 0 || h.fake.maxRun() != 2 {
			t.Errorf("counters %+v, max running %d, want no late run and the two pools busy at once", n, h.fake.maxRun())
		}
	})
}
