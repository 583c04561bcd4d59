package director

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// manyDestinations is one service's addition then n destinations' (more
// than one window of Ops).
func manyDestinations(n int) []Change {
	s := svc(80)
	changes := []Change{{Kind: AddService, Service: s}}
	base := netip.MustParseAddr("10.1.0.0").As4()
	for i := range n {
		a := base
		a[2], a[3] = byte(i>>8), byte(i)
		d := dst(netip.AddrFrom4(a), 80, ipvs.Route, 1)
		changes = append(changes, Change{Kind: AddDestination, Service: s, Destination: d})
	}
	return changes
}

// TestBatchWindows: the executor hands the kernel its IPVS changes a
// window at a time. A failure in one window stops the windows after it
// (not attempted, as after a failed chunk of one batch) unless the run
// keeps going (teardown), and never undoes what earlier windows did.
func TestBatchWindows(t *testing.T) {
	changes := manyDestinations(2*applyWindow + 10)
	for _, tc := range []struct {
		name      string
		keepGoing bool
		failAt    int // index of the change that fails
		writes    int // requests the kernel saw
	}{
		{"failure in the first window", false, 10, applyWindow},
		{"failure in the second window", false, applyWindow + 5, 2 * applyWindow},
		{"teardown keeps going", true, 10, len(changes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newMemKernel()
			f := k.fakeKernel
			f.pipelined = true // a chunk's requests are all performed, as by the kernel
			c := &changes[tc.failAt]
			kind, _ := c.Kind.ipvsOp()
			f.failOn = ipvs.Op{Kind: kind, Service: c.Service, Destination: c.Destination}.String()
			errs := executor{k: k, keepGoing: tc.keepGoing}.apply(context.Background(), changes)
			if f.writes != tc.writes {
				t.Errorf("the kernel saw %d requests, want %d", f.writes, tc.writes)
			}
			for i, err := range errs {
				switch {
				case i == tc.failAt:
					if !errors.Is(err, unix.EPERM) {
						t.Errorf("change %d: %v, want EPERM", i, err)
					}
				case i < tc.writes:
					if err != nil {
						t.Errorf("change %d (attempted): %v", i, err)
					}
				default:
					if !errors.Is(err, ipvs.ErrNotAttempted) {
						t.Errorf("change %d (after the failed window): %v, want ErrNotAttempted", i, err)
					}
				}
			}
			if got, want := len(f.dests[svcKey(80)]), tc.writes-2; got != want {
				t.Errorf("the kernel holds %d destinations, want %d", got, want)
			}
		})
	}
}
