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
// window at a time. A failure holds back only what depends on it: the
// windows after it are sent, and what a kernel that stops at a failure
// did not attempt is sent again, so every other change is made; a
// service whose addition fails gets none of its real servers (they are
// not sent at all: the kernel performs every request of a pipelined
// batch, and another tool's service would take them). What earlier
// windows did is never undone.
func TestBatchWindows(t *testing.T) {
	changes := manyDestinations(2*applyWindow + 10)
	for _, tc := range []struct {
		name      string
		pipelined bool // the kernel attempts every request of a batch; else it stops at the failure
		keepGoing bool
		failAt    int // index of the change that fails
		writes    int // requests the kernel saw
		dests     int // destinations the kernel holds after
	}{
		{"failure in the first window", true, false, 10, len(changes), len(changes) - 2},
		{"failure in the second window, kernel stopping there", false, false, applyWindow + 5, len(changes), len(changes) - 2},
		{"teardown keeps going", true, true, 10, len(changes), len(changes) - 2},
		{"the service's addition fails", true, false, 0, 1, 0},
		{"the service's addition fails, kernel stopping there", false, false, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newMemKernel()
			f := k.fakeKernel
			f.pipelined = tc.pipelined
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
				case tc.failAt == 0:
					if !errors.Is(err, ipvs.ErrNotAttempted) {
						t.Errorf("change %d (a real server of the service not added): %v, want ErrNotAttempted", i, err)
					}
				case err != nil:
					t.Errorf("change %d: %v, want done", i, err)
				}
			}
			if got := len(f.dests[svcKey(80)]); got != tc.dests {
				t.Errorf("the kernel holds %d destinations, want %d", got, tc.dests)
			}
		})
	}
}

// TestBatchGivesUpOnABarrenKernel: a kernel that stops at a failure and
// fails every request (a broken socket) is tried barrenRounds times, not
// once per change; the changes never attempted are reported so.
func TestBatchGivesUpOnABarrenKernel(t *testing.T) {
	changes := manyDestinations(50)[1:] // real servers of an existing service
	k := newMemKernel()
	k.services = append(k.services, ipvs.ServiceExtended{Service: svc(80)})
	k.before = func(f *fakeKernel, op ipvs.Op) { f.failOn = op.String() } // every request refused
	errs := executor{k: k}.apply(context.Background(), changes)
	if k.writes != barrenRounds {
		t.Errorf("the kernel saw %d requests, want %d", k.writes, barrenRounds)
	}
	for i, err := range errs {
		switch {
		case i < barrenRounds && !errors.Is(err, unix.EPERM):
			t.Errorf("change %d: %v, want EPERM", i, err)
		case i >= barrenRounds && !errors.Is(err, ipvs.ErrNotAttempted):
			t.Errorf("change %d: %v, want ErrNotAttempted", i, err)
		}
	}
}
