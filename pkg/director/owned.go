package director

import (
	"cmp"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Owned is what lvs-rs created, from the state record.
type Owned struct {
	// Services are the virtual services lvs-rs created, each with the
	// destinations in it that are lvs-rs's.
	Services OwnedServices
	Addrs    []vip.Addr      // addresses lvs-rs bound
	Sysctls  []sysctl.Record // parameters lvs-rs changed
	Timeouts []TimeoutRecord // IPVS timeouts lvs-rs changed
	Daemons  []ipvs.Daemon   // sync daemons lvs-rs started, as it asked for them
	Routes   RouteTable      // the announce routes' table and protocol (zero: none)
	// PastRoutes are tables lvs-rs announced in before Routes, kept
	// while routes of theirs may remain (a change of table interrupted).
	PastRoutes []RouteTable
	Marks      bool // lvs-rs's nftables table
}

// OwnedService is a virtual service lvs-rs created, with the destinations
// in it that are lvs-rs's, sorted by key (address, then port), each once.
// It is also the record's entry for the service (the JSON tags).
type OwnedService struct {
	ipvs.ServiceKey
	Destinations []ipvs.DestinationKey `json:"destinations,omitempty"`
}

// OwnedServices are virtual services lvs-rs created, sorted by key (see
// compareKeys), each once: the record's list as it is, found by binary
// search. Their destination lists are shared, never written to: a set
// that changes is built anew (see intents and settle).
type OwnedServices []OwnedService

// find returns the index of the service with key k: a binary search,
// written out (slices.BinarySearchFunc's comparison through a closure was
// ~5% of a status or no-op start's CPU).
func (s OwnedServices) find(k ipvs.ServiceKey) (int, bool) {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareKeys(s[m].ServiceKey, k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s) && s[lo].ServiceKey == k
}

// has reports whether the service with key k is lvs-rs's.
func (s OwnedServices) has(k ipvs.ServiceKey) bool {
	_, ok := s.find(k)
	return ok
}

// dests returns lvs-rs's destinations of the service with key k, and
// whether the service is lvs-rs's.
func (s OwnedServices) dests(k ipvs.ServiceKey) (ownedDests, bool) {
	i, ok := s.find(k)
	if !ok {
		return nil, false
	}
	return s[i].Destinations, true
}

// ownedDests are a service's destinations that are lvs-rs's, sorted by
// key.
type ownedDests []ipvs.DestinationKey

// has reports whether the destination with key k is lvs-rs's.
func (ds ownedDests) has(k ipvs.DestinationKey) bool {
	if len(ds) <= destLinear {
		for _, d := range ds {
			if d == k {
				return true
			}
		}
		return false
	}
	_, ok := slices.BinarySearchFunc(ds, k, compareDestKeys)
	return ok
}

// hasAt is has for the destination at index j of a list of n the
// kernel gave: when ds has n keys too, it first tries the place that
// destination usually has in ds (the kernel lists destinations newest
// first, ds is sorted: usually the mirror of j), then searches.
func (ds ownedDests) hasAt(k ipvs.DestinationKey, j, n int) bool {
	if len(ds) == n && j < n && (ds[n-1-j] == k || ds[j] == k) {
		return true
	}
	return ds.has(k)
}

// sortDestKeys sorts ks by compareDestKeys: in one pass when they are
// sorted already or in reverse (as a service's destinations come from the
// kernel, newest first, after being added in order).
func sortDestKeys(ks []ipvs.DestinationKey) {
	switch {
	case slices.IsSortedFunc(ks, compareDestKeys):
	case slices.IsSortedFunc(ks, func(a, b ipvs.DestinationKey) int { return compareDestKeys(b, a) }):
		slices.Reverse(ks)
	default:
		slices.SortFunc(ks, compareDestKeys)
	}
}

// compareDestKeys orders destination keys: address, then port.
func compareDestKeys(a, b ipvs.DestinationKey) int {
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// normalOwned returns s sorted by key with each key once (the
// destinations of a service listed twice joined), as recordOf writes it:
// s itself when it already is, as a record recordOf wrote always is; a
// sorted copy of a hand-edited one.
func normalOwned(s OwnedServices) OwnedServices {
	sorted := true
	for i := range s {
		if i > 0 && compareKeys(s[i-1].ServiceKey, s[i].ServiceKey) >= 0 || !normalDests(s[i].Destinations) {
			sorted = false
			break
		}
	}
	if sorted {
		return s
	}
	c := slices.Clone(s)
	slices.SortStableFunc(c, func(a, b OwnedService) int { return compareKeys(a.ServiceKey, b.ServiceKey) })
	out := c[:0]
	for _, x := range c {
		if n := len(out); n > 0 && out[n-1].ServiceKey == x.ServiceKey {
			out[n-1].Destinations = append(slices.Clip(out[n-1].Destinations), x.Destinations...)
			continue
		}
		out = append(out, x)
	}
	for i := range out {
		if !normalDests(out[i].Destinations) {
			out[i].Destinations = sortDests(slices.Clone(out[i].Destinations))
		}
	}
	return out
}

// normalDests reports whether ds is sorted by key, each once.
func normalDests(ds []ipvs.DestinationKey) bool {
	for i := 1; i < len(ds); i++ {
		if compareDestKeys(ds[i-1], ds[i]) >= 0 {
			return false
		}
	}
	return true
}

// sortDests sorts ds by key in place and drops repeated keys.
func sortDests(ds []ipvs.DestinationKey) []ipvs.DestinationKey {
	slices.SortFunc(ds, compareDestKeys)
	return slices.Clip(slices.Compact(ds))
}

// clone copies o; the services, never written to, are shared.
func (o Owned) clone() Owned {
	return Owned{Services: o.Services, Addrs: slices.Clone(o.Addrs), Sysctls: slices.Clone(o.Sysctls),
		Timeouts: slices.Clone(o.Timeouts), Daemons: slices.Clone(o.Daemons), Routes: o.Routes, PastRoutes: slices.Clone(o.PastRoutes), Marks: o.Marks}
}

// ownedAdd is a service, or one of its destinations, that a change makes
// lvs-rs's.
type ownedAdd struct {
	svc   ipvs.ServiceKey
	dests []ipvs.DestinationKey // a run of consecutive changes to svc
	isNew bool                  // the run starts with the service's addition
}

// takeServices returns s plus the services and destinations changes
// create (AddService, and AddDestination or EditDestination in a service
// that is lvs-rs's or that changes add), as a new set; s is not modified.
func takeServices(s OwnedServices, changes []Change) OwnedServices {
	var runs []ownedAdd
	n := 0
	for i := range changes {
		switch changes[i].Kind {
		case AddService, AddDestination, EditDestination:
			n++
		}
	}
	if n == 0 {
		return s
	}
	keys := make([]ipvs.DestinationKey, 0, n)
	for i := range changes {
		c := &changes[i]
		k := c.Service.Key()
		switch c.Kind {
		case AddService:
			runs = append(runs, ownedAdd{svc: k, isNew: true})
			continue
		case AddDestination, EditDestination:
		default:
			continue
		}
		if len(runs) == 0 || runs[len(runs)-1].svc != k {
			runs = append(runs, ownedAdd{svc: k})
		}
		r := &runs[len(runs)-1]
		if len(r.dests) == 0 {
			r.dests = keys[len(keys):len(keys)]
		}
		keys = append(keys, c.Destination.Key())
		r.dests = r.dests[:len(r.dests)+1]
	}
	// The plan lists each service's additions together: the runs are
	// sorted, short and few, and joined with s in one merge.
	slices.SortStableFunc(runs, func(a, b ownedAdd) int { return compareKeys(a.svc, b.svc) })
	return mergeOwned(s, runs, len(keys))
}

// mergeOwned joins the sorted runs into s: a new set, sharing the
// destination lists of the services no run touches.
func mergeOwned(s OwnedServices, runs []ownedAdd, keys int) OwnedServices {
	out := make(OwnedServices, 0, len(s)+len(runs))
	slab := make([]ipvs.DestinationKey, 0, keys+len(s))
	i := 0
	for j := 0; j < len(runs); {
		k := runs[j].svc
		for i < len(s) && compareKeys(s[i].ServiceKey, k) < 0 {
			out = append(out, s[i])
			i++
		}
		var have []ipvs.DestinationKey
		mine := false
		if i < len(s) && s[i].ServiceKey == k {
			have, mine = s[i].Destinations, true
			i++
		}
		start := len(slab)
		slab = append(slab, have...)
		for ; j < len(runs) && runs[j].svc == k; j++ {
			mine = mine || runs[j].isNew
			slab = append(slab, runs[j].dests...)
		}
		if !mine {
			slab = slab[:start] // destinations of a service lvs-rs does not own
			continue
		}
		ds := slab[start:len(slab):len(slab)]
		if len(have) < len(ds) {
			ds = sortDests(ds)
			slab = slab[:start+len(ds)]
		}
		out = append(out, OwnedService{ServiceKey: k, Destinations: ds})
	}
	return append(out, s[i:]...)
}
