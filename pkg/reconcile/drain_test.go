package reconcile

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/control"
)

// TestDrainFailedPass: a drain whose pass fails is an error that says the
// drain is kept and pending, the kernel's weight unchanged; a retry while
// it is pending fails the same way and is not "already drained"; once the
// edit works the drain is applied, and the retry that saw it applied
// reports it drained.
func TestDrainFailedPass(t *testing.T) {
	l2, l3 := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	lp, k, ctx := runLoop(t, loopConfig(portOfListener(l2), portOfListener(l3)))
	k.setConns(80, "127.0.0.3", 4)
	k.setFailEdit(unix.EIO)
	req := control.DrainRequest{Address: netip.MustParseAddr("127.0.0.3")}
	for try := 1; try <= 2; try++ {
		res, err := lp.Drain(ctx, req)
		if err == nil {
			t.Fatalf("drain %d, its pass failing: %+v, no error; kernel %v", try, res, k.weights(80))
		}
		t.Logf("drain %d: %v", try, err)
		if msg := err.Error(); !strings.Contains(msg, "not applied yet") || !strings.Contains(msg, unix.EIO.Error()) {
			t.Errorf("drain %d: the error %q does not say the drain is pending, and why", try, msg)
		}
		if got := k.weights(80); got["127.0.0.3"] != 3 {
			t.Fatalf("kernel after the failed drain %d: %v", try, got)
		}
	}
	if kept, err := control.LoadDrains(lp.opts.StateDir); err != nil || len(kept) != 1 {
		t.Fatalf("drains kept: %v, %v", kept, err)
	}
	k.setFailEdit(nil)
	res, err := lp.Drain(ctx, req)
	if err != nil || len(res.Targets) != 1 || !res.Targets[0].Changed {
		t.Fatalf("drain once the edit works: %+v, %v; want drained (changed), not already drained", res, err)
	}
	if got := k.weights(80); got["127.0.0.3"] != 0 {
		t.Fatalf("kernel after the drain: %v", got)
	}
	if res, err := lp.Drain(ctx, req); err != nil || res.Targets[0].Changed {
		t.Fatalf("drain once applied: %+v, %v; want already drained", res, err)
	}

	// A pending drain is applied by the passes that follow, unasked.
	if _, err := lp.Enable(ctx, req); err != nil {
		t.Fatal(err)
	}
	k.setFailEdit(unix.EIO)
	if _, err := lp.Drain(ctx, req); err == nil {
		t.Fatal("drain with its pass failing: no error")
	}
	k.setFailEdit(nil)
	waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 0})
}
