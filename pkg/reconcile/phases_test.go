package reconcile

import (
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/phase"
)

// TestPassPhases: with phases recorded (LVS_RS_PHASES), a pass marks its
// own steps around director.Converge's, so the time between passes
// ("wait") is not counted in the pass's first step.
func TestPassPhases(t *testing.T) {
	cfg := "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers:\n      - {address: 10.0.0.11}\n"
	phase.Enable()
	defer phase.Disable()
	lp, _, _ := runLoop(t, cfg)
	lp.Kick()
	waitUntil(t, "a second pass", func() (bool, string) {
		return counts(lp).begun >= 2, ""
	})
	var names []string
	for _, p := range phase.Disable() {
		names = append(names, p.Name)
	}
	want := []string{"wait", "lock", "weights", "overlay", "record-load"}
	if len(names) < len(want) || !slices.Equal(names[:len(want)], want) {
		t.Fatalf("phases %v, want them to begin with %v", names, want)
	}
	end := slices.Index(names, "pass-record")
	if end < 0 || end+1 >= len(names) || names[end+1] != "wait" {
		t.Fatalf("phases %v: want the first pass to end with pass-record, then the next pass's wait", names)
	}
	if !slices.Contains(names[:end], "plan") {
		t.Errorf("phases %v: the first pass has no plan step of director.Converge", names)
	}
}
