package metrics

import (
	"runtime/debug"
	"testing"
)

// TestGOGCAsTheRuntimeHasIt: go_gc_gogc_percent is the collector's target
// as set (by GOGC or the binary), -1 when the collector is off.
func TestGOGCAsTheRuntimeHasIt(t *testing.T) {
	prev := debug.SetGCPercent(250)
	defer debug.SetGCPercent(prev)
	if got := gogc(); got != 250 {
		t.Errorf("after SetGCPercent(250): %v", got)
	}
	debug.SetGCPercent(-1)
	if got := gogc(); got != -1 {
		t.Errorf("with the collector off: %v", got)
	}
}
