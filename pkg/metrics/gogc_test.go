package metrics

import (
	"runtime/debug"
	"sync"
	"testing"
)

// TestGOGCAsTheRuntimeHasIt: go_gc_gogc_percent is the collector's target
// as set (by GOGC or the binary) when first read, -1 when the collector is
// off.
func TestGOGCAsTheRuntimeHasIt(t *testing.T) {
	prev := debug.SetGCPercent(250)
	defer debug.SetGCPercent(prev)
	var g gcTarget
	if got := g.get(); got != 250 {
		t.Errorf("after SetGCPercent(250): %v", got)
	}
	debug.SetGCPercent(-1)
	var off gcTarget
	if got := off.get(); got != -1 {
		t.Errorf("with the collector off: %v", got)
	}
}

// TestGOGCReadIsNotAWrite: concurrent scrapes read go_gc_gogc_percent
// without setting it: each sees GOGC as set, and it stays so.
func TestGOGCReadIsNotAWrite(t *testing.T) {
	prev := debug.SetGCPercent(200)
	defer debug.SetGCPercent(prev)
	var mu sync.Mutex
	wrong := map[float64]int{}
	start := make(chan struct{}) // the readers overlap from the start
	var wg sync.WaitGroup
	var g gcTarget
	for range 4 {
		wg.Go(func() {
			<-start
			for range 100000 {
				if v := g.get(); v != 200 {
					mu.Lock()
					wrong[v]++
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if p := debug.SetGCPercent(200); p != 200 {
		t.Errorf("GOGC is %d after concurrent reads, was 200", p)
	}
	if len(wrong) > 0 {
		t.Errorf("go_gc_gogc_percent read as other than 200 (value: times): %v", wrong)
	}
}
