package reconcile

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestMHDownAtStartKeepsLastWeight: a director started afresh while a
// real server of an mh service is down (or before its first check) adds
// it at its configured weight and quiesces it right after, so that its
// kernel keeps that weight as the real server's last weight and mh's
// lookup table counts it, as on a director that saw it up and quiesced
// it: both build the same table. Added at weight 0, it would have last
// weight 0 and be left out of this director's table alone.
func TestMHDownAtStartKeepsLastWeight(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	text := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: 1s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: mh
    scheduler_flags: [mh-port, mh-fallback]
    check: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 2, check: {port: %d}}
      - {address: 127.0.0.3, weight: 3, check: {port: 1}}
`, portOfListener(l2))
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, text)
	k := newMemKernel()
	runLoopOn(t, file, stateDir, k)
	if w := k.weights(80); fmt.Sprint(w) != fmt.Sprint(map[string]int{"127.0.0.2": 2, "127.0.0.3": 0}) {
		t.Fatalf("weights when ready: %v, want 127.0.0.3 (down) at 0", w)
	}
	if last := k.lastWeights(); last["127.0.0.3"] != 3 || last["127.0.0.2"] != 2 {
		t.Fatalf("last weights %v: 127.0.0.3 (down, configured weight 3) must have last weight 3, or mh leaves it out of this director's table while a director that saw it up keeps it", last)
	}
}
