package reconcile

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestDriftRepairsCounted: a weight changed by hand and put back by the
// next pass is a drift repair; a weight the configuration changes is not,
// nor is the first pass's work.
func TestDriftRepairsCounted(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lvs-rs.yaml")
	write := func(w int) {
		cfg := fmt.Sprintf("director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers:\n"+
			"      - {address: 10.0.0.11, weight: %d}\n      - {address: 10.0.0.12, weight: 3}\n", w)
		writeConfig(t, file, cfg)
	}
	write(2)
	lp, k, _ := runLoop(t, file, filepath.Join(dir, "state"))
	repairs := func() uint64 {
		lp.mu.Lock()
		defer lp.mu.Unlock()
		return lp.repairs
	}
	// settled waits for the weights, then for the pass that set them to
	// have recorded its outcome.
	settled := func(want map[string]int) {
		t.Helper()
		waitWeights(t, k, want)
		lp.mu.Lock()
		n := lp.begun
		lp.mu.Unlock()
		waitUntil(t, "the pass recorded", func() (bool, string) {
			lp.mu.Lock()
			defer lp.mu.Unlock()
			return lp.passes >= n, fmt.Sprintf("%d of %d passes recorded", lp.passes, n)
		})
	}
	if n := repairs(); n != 0 {
		t.Fatalf("the first pass counted %d drift repairs, want 0", n)
	}

	k.setWeight(80, "10.0.0.11", 9) // by hand
	lp.Kick()
	settled(map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	if n := repairs(); n != 1 {
		t.Fatalf("after a weight changed by hand: %d drift repairs, want 1", n)
	}

	write(4)
	lp.Reload()
	settled(map[string]int{"10.0.0.11": 4, "10.0.0.12": 3})
	if n := repairs(); n != 1 {
		t.Fatalf("after the configuration changed a weight: %d drift repairs, want still 1", n)
	}

	k.setWeight(80, "10.0.0.12", 1) // by hand again
	lp.Kick()
	settled(map[string]int{"10.0.0.11": 4, "10.0.0.12": 3})
	if n := repairs(); n != 2 {
		t.Fatalf("after a second weight changed by hand: %d drift repairs, want 2", n)
	}
}
