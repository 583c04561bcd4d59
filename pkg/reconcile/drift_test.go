package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// TestDriftRepairsCounted: a weight changed by hand and put back by the
// next pass is a drift repair; a weight the configuration changes is not,
// nor is the first pass's work.
func TestDriftRepairsCounted(t *testing.T) {
	lp, k, _ := runLoop(t, config80(2))
	repairs := func() uint64 { return counts(lp).repairs }
	// settled waits for the weights, then for the pass that set them to
	// have recorded its outcome.
	settled := func(want map[string]int) {
		t.Helper()
		waitWeights(t, k, want)
		n := counts(lp).begun
		waitUntil(t, "the pass recorded", func() (bool, string) {
			c := counts(lp)
			return c.passes >= n, fmt.Sprintf("%d of %d passes recorded", c.passes, n)
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

	writeConfig(t, lp.opts.File, config80(4))
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

	// Another lvs-rs command between two passes: a start with a file of
	// its own changes a weight and rewrites the record. The daemon's
	// effective state is the one of its last pass, so putting the weight
	// back repairs drift, whatever the record says now.
	other := filepath.Join(t.TempDir(), "other.yaml")
	writeConfig(t, other, strings.Replace(config80(4), "weight: 3", "weight: 8", 1))
	cfg, err := config.Load(other)
	if err != nil {
		t.Fatal(err)
	}
	o := lp.opts.Director
	o.Records = nil // another process
	lp.mu.Lock()    // no pass meanwhile
	_, err = director.Start(context.Background(), cfg, o)
	lp.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if w := k.weights(80)["10.0.0.12"]; w != 8 {
		t.Fatalf("the other start left weight %d, want 8", w)
	}
	lp.Kick()
	settled(map[string]int{"10.0.0.11": 4, "10.0.0.12": 3})
	if n := repairs(); n != 3 {
		t.Fatalf("after another start changed a weight: %d drift repairs, want 3", n)
	}
}

// config80 is one service on port 80 with two real servers, the first of
// weight w.
func config80(w int) string {
	return fmt.Sprintf("director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers:\n"+
		"      - {address: 10.0.0.11, weight: %d}\n      - {address: 10.0.0.12, weight: 3}\n", w)
}
