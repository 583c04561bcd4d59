package director

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// listingKernel is a memKernel that lists many services' destinations in
// one call, as ipvs.Client does, each as memKernel lists it.
// It counts its calls.
type listingKernel struct {
	*memKernel
	lists, single int
	err           error // DestinationsOf and DestinationConfigsOf fail with it
}

func (k *listingKernel) Destinations(ctx context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	k.single++
	return k.memKernel.Destinations(ctx, s)
}

func (k *listingKernel) DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.DestinationExtended)) error {
	k.lists++
	if k.err != nil {
		return k.err
	}
	return listEach(ctx, svcs, k.memKernel.Destinations, each)
}

func (k *listingKernel) DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.Destination)) error {
	return k.DestinationsOf(ctx, svcs, func(i int, ds []ipvs.DestinationExtended) { each(i, configsOf(ds)) })
}

// observeTable is a kernel with three owned services (one of them deleted
// right after the dump of services: its dump of destinations is empty, as
// the kernel's) and a foreign one, and the record owning them.
func observeTable(t *testing.T) (*memKernel, Owned) {
	k := newMemKernel()
	owned := map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}
	var ops []ipvs.Op
	for _, s := range []ipvs.Service{foreignSvc, svc(80), svc(81), svc(82)} {
		ops = append(ops, ipvs.Op{Kind: ipvs.OpNewService, Service: s})
		if s != foreignSvc {
			owned[s.Key()] = map[ipvs.DestinationKey]bool{}
		}
		for _, a := range []netip.Addr{rs1, rs2} {
			d := dst(a, s.Port, ipvs.Route, 1)
			ops = append(ops, ipvs.Op{Kind: ipvs.OpNewDestination, Service: s, Destination: d})
			if s != foreignSvc {
				owned[s.Key()][d.Key()] = true
			}
		}
	}
	for _, err := range k.Apply(t.Context(), ops) {
		if err != nil {
			t.Fatal(err)
		}
	}
	k.afterDump = func(f *fakeKernel) {
		f.services = slices.DeleteFunc(f.services, func(s ipvs.ServiceExtended) bool { return s.Key() == svcKey(81) })
	}
	return k, Owned{Services: ownedOf(owned)}
}

// TestObserveListsInOneCall: a kernel that lists many services'
// destinations in one call is observed through it, once, with the same
// result as one call per service.
func TestObserveListsInOneCall(t *testing.T) {
	d := Desired{Interface: "eth0"}
	for _, counters := range []bool{false, true} {
		read := func(k Kernel, owned Owned) Observed {
			var obs Observed
			var err error
			if counters {
				obs, err = observeCounters(t.Context(), k, d, owned)
			} else {
				obs, err = observe(t.Context(), k, d, owned, true)
			}
			if err != nil {
				t.Fatal(err)
			}
			return obs
		}
		plain, owned := observeTable(t)
		want := read(plain, owned)
		if len(want.Services) != 4 || len(want.Services[svcKey(82)].Destinations) != 2 || want.Services[foreignSvc.Key()].Destinations != nil {
			t.Fatalf("one call per service: %v", want.Services)
		}
		if got := want.Services[svcKey(80)].Counters; counters != (got != nil) {
			t.Fatalf("counters %v: %v", counters, got)
		}
		m, owned := observeTable(t)
		k := &listingKernel{memKernel: m}
		got := read(k, owned)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Fatalf("counters %v: listed in one call (-want +got):\n%s", counters, diff)
		}
		if k.lists != 1 || k.single != 0 {
			t.Fatalf("counters %v: %d lists, %d single dumps; want 1, 0", counters, k.lists, k.single)
		}
		m, owned = observeTable(t)
		k = &listingKernel{memKernel: m, err: errFake}
		if _, err := observeCounters(t.Context(), k, d, owned); !errors.Is(err, errFake) {
			t.Fatalf("a failed list: %v", err)
		}
		if _, err := observe(t.Context(), k, d, owned, true); !errors.Is(err, errFake) {
			t.Fatalf("a failed list: %v", err)
		}
	}
}
