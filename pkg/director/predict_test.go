package director

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestPredict: the table predict derives from a plan whose every change
// succeeded is the one applying the changes one by one gives, for random
// tables and desired states (services and real servers drawn from small
// sets, so that plans add, edit and delete), and predict never writes
// through the observed real server lists it was given.
func TestPredict(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		obs := randomTable(r)
		d := randomDesired(r)
		changes := plan(d, Observed{Services: obs}, ownAll(obs))
		want := applyNaively(obs, changes)
		before := map[ipvs.ServiceKey][]ipvs.Destination{} // the lists as given, and copies of them
		copies := map[ipvs.ServiceKey][]ipvs.Destination{}
		for k, s := range obs {
			before[k], copies[k] = s.Destinations, slices.Clone(s.Destinations)
		}
		got := predict(obs, changes)
		if diff := cmp.Diff(sortedTable(want), sortedTable(got), cmpOpts); diff != "" {
			t.Fatalf("seed %d: predict after %d changes differs from applying them one by one (-want +got):\n%s", seed, len(changes), diff)
		}
		for k, ds := range before {
			if !slices.Equal(ds, copies[k]) {
				t.Fatalf("seed %d: predict wrote through the observed real servers of %v: %v, were %v", seed, k, ds, copies[k])
			}
		}
	}
}

// randomTable is a kernel table of up to 6 services of up to 5 real
// servers.
func randomTable(r *rand.Rand) map[ipvs.ServiceKey]ObservedService {
	m := map[ipvs.ServiceKey]ObservedService{}
	for range r.IntN(7) {
		s := randomService(r)
		m[s.Key()] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: s}, Destinations: someDests(r)}
	}
	return m
}

// randomDesired wants up to 6 services of up to 5 real servers.
func randomDesired(r *rand.Rand) Desired {
	var d Desired
	seen := map[ipvs.ServiceKey]bool{}
	for range r.IntN(7) {
		s := randomService(r)
		if seen[s.Key()] {
			continue
		}
		seen[s.Key()] = true
		d.Services = append(d.Services, DesiredService{Service: s, Destinations: someDests(r)})
	}
	return d
}

func randomService(r *rand.Rand) ipvs.Service {
	return ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(8))}),
		Port: 80, Scheduler: []string{"wrr", "rr"}[r.IntN(2)], Netmask: 32}
}

// someDests are up to 5 real servers with distinct keys, in random order.
func someDests(r *rand.Rand) []ipvs.Destination {
	var ds []ipvs.Destination
	seen := map[ipvs.DestinationKey]bool{}
	for range r.IntN(6) {
		d := ipvs.Destination{Family: ipvs.Inet, Address: netip.AddrFrom4([4]byte{10, 1, 0, byte(r.IntN(8))}), Port: 80,
			Forward: ipvs.Route, Weight: uint32(r.IntN(3))}
		if !seen[d.Key()] {
			seen[d.Key()] = true
			ds = append(ds, d)
		}
	}
	return ds
}

// ownAll is lvs-rs owning every service and real server of t.
func ownAll(t map[ipvs.ServiceKey]ObservedService) Owned {
	var o Owned
	for k, s := range t {
		os := OwnedService{ServiceKey: k}
		for _, d := range s.Destinations {
			os.Destinations = append(os.Destinations, d.Key())
		}
		o.Services = append(o.Services, os)
	}
	o.Services = normalOwned(o.Services)
	return o
}

// applyNaively applies changes to a deep copy of t, one by one.
func applyNaively(t map[ipvs.ServiceKey]ObservedService, changes []Change) map[ipvs.ServiceKey]ObservedService {
	m := map[ipvs.ServiceKey]ObservedService{}
	for k, s := range t {
		s.Destinations = slices.Clone(s.Destinations)
		m[k] = s
	}
	for _, c := range changes {
		k := c.Service.Key()
		s, ok := m[k]
		switch c.Kind {
		case AddService:
			m[k] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: c.Service}}
			continue
		case DeleteService:
			delete(m, k)
			continue
		}
		if !ok {
			continue
		}
		switch c.Kind {
		case EditService:
			s.Service = c.Service
		case AddDestination:
			s.Destinations = append(s.Destinations, c.Destination)
		case EditDestination, DeleteDestination:
			i := slices.IndexFunc(s.Destinations, func(d ipvs.Destination) bool { return d.Key() == c.Destination.Key() })
			if i >= 0 && c.Kind == EditDestination {
				s.Destinations[i] = c.Destination
			} else if i >= 0 {
				s.Destinations = slices.Delete(s.Destinations, i, i+1)
			}
		}
		m[k] = s
	}
	return m
}

// sortedTable is t with each real server list sorted by key, and empty
// lists nil: predict's order within a list is not part of its result.
func sortedTable(t map[ipvs.ServiceKey]ObservedService) map[ipvs.ServiceKey]ObservedService {
	out := map[ipvs.ServiceKey]ObservedService{}
	for k, s := range t {
		ds := slices.Clone(s.Destinations)
		slices.SortFunc(ds, compareDests)
		if len(ds) == 0 {
			ds = nil
		}
		s.Destinations = ds
		out[k] = s
	}
	return out
}
