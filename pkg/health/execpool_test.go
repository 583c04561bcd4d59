package health

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// execTargets returns n exec targets at distinct addresses with interval
// iv, timeout to, rise 2 and fall 3.
func execTargets(n int, iv, to time.Duration) []Target {
	var out []Target
	for i := range n {
		out = append(out, Target{ID: fmt.Sprintf("e%d", i), Address: netip.AddrFrom4([4]byte{10, 2, byte(i / 250), byte(i%250 + 1)}),
			Spec: Spec{Type: Exec, Command: []string{"/usr/local/bin/check", "{address}"}, Interval: iv, Timeout: to, Rise: 2, Fall: 3}})
	}
	return out
}

// TestExecPoolKeepsPromises: 40 exec checks taking 1 s each (interval 2
// s, timeout 3 s, fall 3) get the pool they need, so the promises hold:
// the first round within 2 s plus the timeout, a failing server down
// within fall x interval + timeout (9 s), no run dropped as late. With 4
// workers whatever the file, the first round took 10 s and the failing
// server went down after 41 s, most runs dropped as late.
func TestExecPoolKeepsPromises(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv, to = 2 * time.Second, 3 * time.Second
		targets := execTargets(40, iv, to)
		rec := &recorder{}
		begun := time.Now()
		h := start(t, Options{Observer: rec}, targets...)
		defer h.stop(t)
		h.fake.setDelay(func(netip.Addr) time.Duration { return time.Second })
		for h.Counters().Unchecked > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if first := time.Since(begun); first > 2*time.Second+to {
			t.Errorf("first round of 40 exec checks took %s, want within %s", first, 2*time.Second+to)
		}
		time.Sleep(20 * time.Second)
		h.transitions()
		failed := time.Now()
		h.fake.set(targets[0].Address.String(), false)
		var down time.Duration
		for down == 0 && time.Since(failed) < time.Minute {
			time.Sleep(10 * time.Millisecond)
			for _, tr := range h.transitions() {
				if tr.ID == targets[0].ID && tr.To == Down {
					down = time.Since(failed)
				}
			}
		}
		switch limit := 3*iv + to; {
		case down == 0:
			t.Errorf("a failing server not taken down within a minute, want within fall x interval + timeout = %s", limit)
		case down > limit:
			t.Errorf("a failing server taken down after %s, want within fall x interval + timeout = %s", down, limit)
		}
		if n := h.Counters(); n.Late != 0 || n.ExecWorkers != 40 {
			t.Errorf("counters %+v: want no late run, 40 exec workers", n)
		}
		if m := h.fake.maxRun(); m < 20 {
			t.Errorf("at most %d exec checks ran at once, want the pool used", m)
		}
	})
}

// TestExecPoolSize: the pool is what the exec checks need when all are
// changing state or starting and every run takes its whole timeout (a
// check counting at most once), plus a quarter; at least MinExecWorkers,
// at most one per exec check and MaxExecWorkers; a fixed
// Options.ExecWorkers is kept.
func TestExecPoolSize(t *testing.T) {
	for _, c := range []struct {
		name   string
		n      int
		iv, to time.Duration
		want   int
	}{
		{"no exec check", 0, 0, 0, MinExecWorkers},
		{"40 slow checks", 40, 2 * time.Second, 3 * time.Second, 40},
		{"3 checks", 3, 2 * time.Second, 3 * time.Second, MinExecWorkers},
		{"short timeouts", 100, 10 * time.Second, 100 * time.Millisecond, 7},               // 100 x 0.1/2 = 5, +25%
		{"a thousand", 1000, 30 * time.Second, time.Second, MaxExecWorkers},                // 1000 x 1/2 = 500
		{"first round dominates", 40, time.Hour, time.Second, 25},                          // 40 x 1/2 = 20, +25%
		{"fast interval dominates", 40, 800 * time.Millisecond, 50 * time.Millisecond, 13}, // 40 x 0.05/0.2 = 10, +25%
	} {
		c2 := New(Options{})
		if err := c2.Set(execTargets(c.n, c.iv, c.to)); err != nil {
			t.Fatal(err)
		}
		if got := c2.Counters().ExecWorkers; got != c.want {
			t.Errorf("%s: %d exec workers, want %d", c.name, got, c.want)
		}
	}
	fixed := New(Options{ExecWorkers: 2})
	if err := fixed.Set(execTargets(40, 2*time.Second, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := fixed.Counters().ExecWorkers; got != 2 {
		t.Errorf("Options.ExecWorkers 2: %d exec workers", got)
	}
}

// TestExecPoolFollowsReload: a reload that adds exec checks to a running
// checker grows its pool (the new checks run at once, not behind the
// old pool), and one that removes them shrinks it: the workers beyond
// the new size stop.
func TestExecPoolFollowsReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{}, execTargets(2, 2*time.Second, 3*time.Second)...)
		defer h.stop(t)
		h.fake.setDelay(func(netip.Addr) time.Duration { return time.Second })
		time.Sleep(5 * time.Second)
		big := execTargets(60, 2*time.Second, 3*time.Second)
		for _, tg := range big {
			h.fake.set(tg.Address.String(), true)
		}
		if err := h.Set(big); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if n, m := h.Counters(), h.fake.maxRun(); n.ExecWorkers != 60 || m <= MinExecWorkers || n.Late != 0 {
			t.Errorf("after adding checks: counters %+v, at most %d at once: want 60 workers, used, no late run", n, m)
		}
		if err := h.Set(big[:3]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second) // every worker had a job since
		synctest.Wait()
		h.Checker.mu.Lock()
		have, want := h.execHave, h.execWant
		h.Checker.mu.Unlock()
		if want != MinExecWorkers || have != want {
			t.Errorf("after removing checks: %d workers running, %d wanted", have, want)
		}
	})
}

// TestStarvedOnce: a check whose runs keep being skipped (here behind
// another exec check hogging the only worker) is reported as starved,
// with how long it has gone without a result, once per stretch without
// one: not at every skipped run.
func TestStarvedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hog := Target{ID: "hog", Address: netip.MustParseAddr("10.3.0.1"),
			Spec: Spec{Type: Exec, Command: []string{"x"}, Interval: time.Second, Timeout: 10 * time.Second}}
		victim := Target{ID: "victim", Address: netip.MustParseAddr("10.3.0.2"),
			Spec: Spec{Type: Exec, Command: []string{"x"}, Interval: time.Second, Timeout: 500 * time.Millisecond}}
		rec := &recorder{}
		h := start(t, Options{ExecWorkers: 1, Observer: rec}, hog, victim)
		defer h.stop(t)
		h.fake.setDelay(func(a netip.Addr) time.Duration {
			if a == hog.Address {
				return 10 * time.Second
			}
			return time.Millisecond
		})
		time.Sleep(time.Minute)
		synctest.Wait()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		starved := 0
		for _, o := range rec.obs {
			if o.Check.Address != victim.Address.String() {
				continue
			}
			switch o.Outcome {
			case OutcomeLate, OutcomeOverlap:
				if o.Starved > 0 {
					starved++
					if limit := 2*victim.Spec.Interval + victim.Spec.Timeout; o.Starved <= limit {
						t.Errorf("starved after %s, within its limit %s", o.Starved, limit)
					}
				}
			}
		}
		if starved == 0 {
			t.Fatalf("the starved check was never reported (%d observations)", len(rec.obs))
		}
		results := 0
		for _, o := range rec.obs {
			if o.Check.Address == victim.Address.String() && (o.Outcome == OutcomeUp || o.Outcome == OutcomeDown) {
				results++
			}
		}
		if starved > results+1 {
			t.Errorf("starved reported %d times across %d results: want once per stretch without a result", starved, results)
		}
	})
}
