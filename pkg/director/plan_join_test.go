package director

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// phaseChanges returns n changes marked with their phase and rank, in a
// slice of capacity c.
func phaseChanges(phase, n, c int) []Change {
	out := make([]Change, 0, c)
	for i := range n {
		out = append(out, Change{Kind: Kind(fmt.Sprintf("%d.%d", phase, i)), Service: ipvs.Service{Port: uint16(i)}})
	}
	return out
}

// TestJoin: the phases come out in order whether one of them has room
// for all (and then its array is reused, not copied) or none has.
func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		big    int
		bigCap int
		reuse  bool
	}{
		{"first phase has room", 0, 64, true},
		{"middle phase has room", phaseAdd, 64, true},
		{"last phase has room", phaseSysctlRestore, 64, true},
		{"no phase has room", phaseAdd, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out [phases][]Change
			var want []string
			for p := range phases {
				n, c := p%3+1, p%3+1
				if p == tc.big {
					n, c = 5, tc.bigCap
				}
				out[p] = phaseChanges(p, n, c)
				for _, ch := range out[p] {
					want = append(want, string(ch.Kind))
				}
			}
			bigArray := &out[tc.big][:1][0]
			got := join(&out)
			if len(got) != len(want) {
				t.Fatalf("joined %d changes, want %d", len(got), len(want))
			}
			for i := range got {
				if string(got[i].Kind) != want[i] {
					t.Fatalf("change %d is %s, want %s (all: %v)", i, got[i].Kind, want[i], got)
				}
			}
			if reused := &got[0] == bigArray; reused != tc.reuse {
				t.Errorf("joined in the largest phase's array: %v, want %v", reused, tc.reuse)
			}
		})
	}
	var none [phases][]Change
	if got := join(&none); got != nil {
		t.Errorf("join of no changes = %v, want nil", got)
	}
}

// TestPlanStartHoldsOneList: a start from an empty table allocates its
// list of changes once; joining the phases copies no second list.
func TestPlanStartHoldsOneList(t *testing.T) {
	d := DesiredFrom(bigConfig(100, 10))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := plan(d, Observed{}, Owned{})
	runtime.ReadMemStats(&after)
	if len(got) != 1101 {
		t.Fatalf("planned %d changes, want 1101", len(got))
	}
	list := uint64(len(got)) * uint64(unsafe.Sizeof(Change{}))
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > list*3/2 {
		t.Errorf("plan allocated %d bytes for a list of %d", alloc, list)
	}
}
