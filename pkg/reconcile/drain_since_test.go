package reconcile

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/control"
)

// TestDrainTimeoutAcrossRestart: a real server drained by hand whose
// connections never end is deleted drain_timeout after the drain, also
// when the daemon restarts meanwhile: drains.json keeps when each drain
// was made, and the next daemon counts from then (it counted from its own
// start, so every restart gave the drain a new timeout).
func TestDrainTimeoutAcrossRestart(t *testing.T) {
	file, stateDir, k := shortDrainFiles(t)
	lp, ctx, stop := runLoopOn(t, file, stateDir, k)
	k.setConns(80, "127.0.0.3", 4)
	drained := time.Now()
	if _, err := lp.Drain(ctx, control.DrainRequest{Address: netip.MustParseAddr("127.0.0.3")}); err != nil {
		t.Fatal(err)
	}
	_, since, err := control.LoadDrainsSince(stateDir)
	d := control.Drain{Address: netip.MustParseAddr("127.0.0.3")}
	if err != nil || since[d].Before(drained.Add(-time.Second)) || since[d].After(time.Now()) {
		t.Fatalf("drains.json keeps %v (%v), want the drain's time, about %v", since, err, drained)
	}
	time.Sleep(2 * time.Second)
	stop()
	runLoopOn(t, file, stateDir, k) // 2 s after the drain: 1 s left
	if _, present := k.weights(80)["127.0.0.3"]; !present {
		t.Fatalf("127.0.0.3 deleted before its drain_timeout: %v", k.weights(80))
	}
	// Deleted at 3 s after the drain; counting from the restart, at 5 s.
	waitUntil(t, "127.0.0.3 deleted", func() (bool, string) {
		_, present := k.weights(80)["127.0.0.3"]
		if present && time.Since(drained) > 4500*time.Millisecond {
			t.Fatalf("127.0.0.3, drained by hand %v ago with drain_timeout 3s and busy, is still in the kernel: the restart started its timeout over",
				time.Since(drained).Round(100*time.Millisecond))
		}
		return !present, ""
	})
}

// shortDrainFiles writes loopConfig, with listeners on 127.0.0.2 and
// 127.0.0.3 and drain_timeout 3s, to a config file in a new directory
// and returns it, the state directory beside it and a new kernel, for
// runLoopOn.
func shortDrainFiles(t *testing.T) (file, stateDir string, k *memKernel) {
	t.Helper()
	l2, l3 := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	text := strings.Replace(loopConfig(portOfListener(l2), portOfListener(l3)), "drain_timeout: 1h", "drain_timeout: 3s", 1)
	dir := t.TempDir()
	file, stateDir = filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, text)
	return file, stateDir, newMemKernel()
}
