package director

import (
	"cmp"
	"iter"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Plan returns the changes that take the kernel from observed to desired,
// touching only what owned says lvs-rs created. It is pure. The order is
// stable: sysctl writes (in key order), IPVS timeouts (tcp, tcp_fin,
// udp), sync daemon starts (master, backup), binds, service and
// destination additions (each service's destinations in config order;
// under mh, one at weight 0 with a last weight is added at that weight
// and edited to 0 right after: see DesiredService.LastWeights), edits
// (in place, never a delete), then destination and service
// deletions, unbinds, sync daemon stops, and timeout and sysctl
// restorations. A nil desired plans a full teardown.
//
// A service the config names that exists but is not owned is left out
// (see Conflicts): lvs-rs never edits what it did not create.
func Plan(desired *config.Config, observed Observed, owned Owned) []Change {
	return plan(DesiredFrom(desired), observed, owned)
}

// Conflicts lists the services desired names that exist in the kernel but
// were not created by lvs-rs, in config order.
func Conflicts(desired *config.Config, observed Observed, owned Owned) []ipvs.ServiceKey {
	return conflicts(DesiredFrom(desired), observed, owned)
}

func conflicts(d Desired, observed Observed, owned Owned) []ipvs.ServiceKey {
	var out []ipvs.ServiceKey
	mine := ownedCursor{s: owned.Services}
	for i := range d.Services {
		k := d.Services[i].Service.Key()
		if _, exists := observed.Services[k]; exists {
			if _, ok := mine.find(k); !ok {
				out = append(out, k)
			}
		}
	}
	return out
}

// Phases of a plan, in order.
const (
	phaseSysctlSet = iota
	phaseBind
	phaseAdd
	phaseEdit
	phaseDeleteDest
	phaseDeleteService
	phaseUnbind
	phaseSysctlRestore
	phases
)

func plan(d Desired, obs Observed, owned Owned) []Change {
	var out [phases][]Change
	// A start from an empty table plans 11,000 additions: reserve them,
	// and room for the rest of a usual plan, so that the list is neither
	// grown by doubling nor copied once more by join.
	if n := additions(d, obs); n > 0 {
		out[phaseAdd] = make([]Change, 0, n+2*len(d.VIPs)+len(d.Sysctls)+len(d.Sync)+8)
	}
	planSettings(&out, d, obs, owned)
	planAddrs(&out, d, obs, owned)
	planServices(&out, d, obs, owned)
	planMarks(&out, d, obs, owned)
	planAnnounce(&out, d, obs, owned)
	return join(&out)
}

// join concatenates the phases in order. When one phase has room for all
// of them (the additions of a start, the edits of a large change), the
// others are moved into its array: the plan is never held twice.
func join(out *[phases][]Change) []Change {
	n, big := 0, 0
	for i, p := range out {
		n += len(p)
		if cap(p) > cap(out[big]) {
			big = i
		}
	}
	if n == 0 {
		return nil
	}
	if cap(out[big]) < n {
		all := make([]Change, 0, n)
		for _, p := range out {
			all = append(all, p...)
		}
		return all
	}
	all := out[big][:n]
	at := 0
	for _, p := range out[:big] {
		at += len(p)
	}
	copy(all[at:], out[big]) // the phases never share an array
	at = 0
	for i, p := range out {
		if i != big {
			copy(all[at:], p)
		}
		at += len(p)
	}
	return all
}

// addrKey identifies an address on a device regardless of prefix length
// and label.
type addrKey struct {
	dev  string
	addr netip.Addr
}

func keyOf(a vip.Addr) addrKey { return addrKey{a.Dev, hostAddr(a)} }

// planAddrs binds each VIP on the director interface (a VIP already there
// in any form is adopted as is) and unbinds lvs-rs's VIPs no longer wanted.
// A VIP recorded but not bound (a run interrupted before its bind) gets
// the label it was recorded with, unless an address there holds it now,
// so that the run after a crash binds what an uninterrupted one would.
func planAddrs(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	present := map[addrKey]bool{}
	used := map[string]bool{}
	taken := map[string]bool{} // labels of the addresses on the interface
	for _, a := range obs.Addrs {
		present[keyOf(a)] = true
		if a.Dev == d.Interface && a.Label != "" {
			used[a.Label] = true
			taken[a.Label] = true
		}
	}
	recorded := map[addrKey]string{}
	for _, a := range owned.Addrs {
		if a.Label != "" {
			used[a.Label] = true
			recorded[keyOf(a)] = a.Label
		}
	}
	want := map[addrKey]bool{}
	n := 0
	for _, v := range d.VIPs {
		k := addrKey{d.Interface, v}
		want[k] = true
		if present[k] {
			continue
		}
		a := vip.Addr{Dev: d.Interface, Prefix: vip.HostPrefix(v)}
		if l, ok := recorded[k]; ok && v.Is4() && !taken[l] {
			a.Label = l
		} else if v.Is4() {
			for ; ; n++ {
				l := vip.Label(d.Interface, n)
				if l == "" || !used[l] {
					a.Label = l
					used[l] = l != ""
					break
				}
			}
		}
		out[phaseBind] = append(out[phaseBind], Change{Kind: Bind, x: &changeDetail{Addr: a.Normalize()}})
	}
	var stale []vip.Addr
	for _, a := range owned.Addrs {
		if !want[keyOf(a)] && present[keyOf(a)] {
			stale = append(stale, a)
		}
	}
	slices.SortFunc(stale, func(a, b vip.Addr) int {
		return cmp.Or(cmp.Compare(a.Dev, b.Dev), a.Prefix.Addr().Compare(b.Prefix.Addr()))
	})
	for _, a := range stale {
		out[phaseUnbind] = append(out[phaseUnbind], Change{Kind: Unbind, x: &changeDetail{Addr: a}})
	}
}

// planServices adds, edits and deletes services and destinations.
func planServices(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	want := make(map[ipvs.ServiceKey]bool, len(d.Services))
	ownedAt := ownedCursor{s: owned.Services}
	for si := range d.Services {
		ds := &d.Services[si]
		k := ds.Service.Key()
		want[k] = true
		cur, exists := obs.Services[k]
		i, mine := ownedAt.find(k)
		var ownDests ownedDests
		if mine {
			ownDests = owned.Services[i].Destinations
		}
		switch {
		case !exists:
			out[phaseAdd] = appendIPVS(out[phaseAdd], AddService, &ds.Service, nil)
			at := 0
			for j := range ds.Destinations {
				out[phaseAdd] = appendAdd(out[phaseAdd], ds, &ds.Destinations[j], &at)
			}
			continue
		case !mine:
			continue // a foreign service: Conflicts reports it
		}
		if cur.Service != ds.Service {
			out[phaseEdit] = append(out[phaseEdit], Change{Kind: EditService, Service: ds.Service, x: &changeDetail{From: cur.Service}})
		}
		have := destIndex(cur.Destinations)
		found, at := 0, 0
		for j := range ds.Destinations {
			dst := &ds.Destinations[j]
			now, ok := have.findAt(dst.Key(), j)
			switch {
			case !ok:
				out[phaseAdd] = appendAdd(out[phaseAdd], ds, dst, &at)
				continue
			case now != *dst:
				// lvs-rs's own, or a hand-added one the config now names
				// (adopted: the service is lvs-rs's).
				out[phaseEdit] = append(out[phaseEdit], Change{Kind: EditDestination, Service: ds.Service, Destination: *dst, x: &changeDetail{FromDestination: now}})
			}
			found++
		}
		if found == len(cur.Destinations) {
			continue // every destination there is wanted: nothing to delete
		}
		wantDest := make(map[ipvs.DestinationKey]bool, len(ds.Destinations))
		for j := range ds.Destinations {
			wantDest[ds.Destinations[j].Key()] = true
		}
		for dx := range sortedDests(cur.Destinations) {
			if !wantDest[dx.Key()] && ownDests.has(dx.Key()) {
				out[phaseDeleteDest] = append(out[phaseDeleteDest], Change{Kind: DeleteDestination, Service: ds.Service, Destination: dx})
			}
		}
	}
	planGone(out, want, obs, owned)
}

// appendAdd appends to cs the addition of dst to ds, at its weight; under
// mh, one at weight 0 with a LastWeight above it (see
// DesiredService.LastWeights) is added at that weight and set to 0 by an
// edit right after it, so that the kernel counts it in the mh lookup
// table as a real server quiesced after it served. The two go to the
// kernel in one batch, in this order (see executor.batch). at is
// ds.lastWeight's cursor.
func appendAdd(cs []Change, ds *DesiredService, dst *ipvs.Destination, at *int) []Change {
	w, quiesce := ds.lastWeight(dst, at)
	if !quiesce {
		return appendIPVS(cs, AddDestination, &ds.Service, dst)
	}
	added := *dst
	added.Weight = w
	cs = appendIPVS(cs, AddDestination, &ds.Service, &added)
	return append(cs, Change{Kind: EditDestination, Service: ds.Service, Destination: *dst,
		x: &changeDetail{FromDestination: added, Quiesce: true}})
}

// appendIPVS appends to cs the change of kind k on svc (and dst, unless
// nil), written in place: appending a composite literal builds it on the
// stack and copies it, 176 bytes for each of a start's 11,000 additions
// (see the package doc on copies).
func appendIPVS(cs []Change, k Kind, svc *ipvs.Service, dst *ipvs.Destination) []Change {
	cs = slices.Grow(cs, 1)[:len(cs)+1]
	c := &cs[len(cs)-1]
	c.Kind, c.Service, c.x = k, *svc, nil
	if dst != nil {
		c.Destination = *dst
	} else {
		c.Destination = ipvs.Destination{}
	}
	return cs
}

// planGone deletes lvs-rs's services that are no longer wanted: a service
// that holds only lvs-rs's destinations goes whole; from one that holds
// someone else's too, lvs-rs's destinations go and the service is
// released. The deletions are reserved at once: a stop deletes every
// service, and growing the list by doubling would copy them over and over.
func planGone(out *[phases][]Change, want map[ipvs.ServiceKey]bool, obs Observed, owned Owned) {
	gone := 0
	for i := range owned.Services {
		k := owned.Services[i].ServiceKey
		if _, exists := obs.Services[k]; exists && !want[k] {
			gone++
		}
	}
	if gone == 0 {
		return
	}
	if out[phaseDeleteService] == nil {
		// Room for the rest of a teardown too, so that join moves the
		// other phases here instead of copying the plan once more.
		out[phaseDeleteService] = make([]Change, 0, gone+len(owned.Addrs)+len(owned.Sysctls)+len(owned.Timeouts)+len(owned.Daemons)+8)
	}
	for i := range owned.Services { // in key order
		s := &owned.Services[i]
		cur, exists := obs.Services[s.ServiceKey]
		if !exists || want[s.ServiceKey] {
			continue
		}
		ownDests := ownedDests(s.Destinations)
		foreign := 0
		for j := range cur.Destinations {
			if !ownDests.has(cur.Destinations[j].Key()) {
				foreign++
			}
		}
		if foreign == 0 {
			out[phaseDeleteService] = append(out[phaseDeleteService], Change{Kind: DeleteService, Service: cur.Service})
			continue
		}
		keys := make([]ipvs.DestinationKey, 0, foreign)
		for dx := range sortedDests(cur.Destinations) {
			if ownDests.has(dx.Key()) {
				out[phaseDeleteDest] = append(out[phaseDeleteDest], Change{Kind: DeleteDestination, Service: cur.Service, Destination: dx})
			} else {
				keys = append(keys, dx.Key())
			}
		}
		out[phaseDeleteService] = append(out[phaseDeleteService], Change{Kind: ReleaseService, Service: cur.Service, x: &changeDetail{Foreign: keys}})
	}
}

// ownedCursor finds services in an owned list that is mostly visited in
// its own (key) order, as a config's services usually are: the one after
// the last found is tried before a binary search.
type ownedCursor struct {
	s    OwnedServices
	next int
}

// find is OwnedServices.find.
func (c *ownedCursor) find(k ipvs.ServiceKey) (int, bool) {
	if c.next < len(c.s) && c.s[c.next].ServiceKey == k {
		c.next++
		return c.next - 1, true
	}
	i, ok := c.s.find(k)
	if ok {
		c.next = i + 1
	}
	return i, ok
}

// additions counts the changes that add the services of d missing in
// obs and their destinations: a start from an empty table plans 11,000 of
// them, and growing the list by doubling would copy them over and over.
func additions(d Desired, obs Observed) int {
	n := 0
	for i := range d.Services {
		ds := &d.Services[i]
		if _, exists := obs.Services[ds.Service.Key()]; !exists {
			n += 1 + len(ds.Destinations)
		}
	}
	return n
}

// destLinear is how many destinations destIndex searches in place; more
// are indexed by a map, built at the first lookup the list's order does
// not answer.
const destLinear = 16

// destIndexed finds a service's destinations by key.
type destIndexed struct {
	list []ipvs.Destination
	m    map[ipvs.DestinationKey]ipvs.Destination // a long list's, once needed
}

// destIndex indexes ds: a short list (the usual service) is searched in
// place, which allocates nothing; a long one gets a map when a lookup
// first misses the place findAt tries, which a converged service never
// does (a no-op pass over 100 services of 100 real servers built 100
// maps of 100 for nothing).
func destIndex(ds []ipvs.Destination) destIndexed { return destIndexed{list: ds} }

// findAt is find, trying first the places where the destination at
// index j of a desired list usually is: j (the same order) and its mirror
// (the kernel lists a service's destinations newest first). Of two
// destinations with one key (an IPv4 address and its IPv4-mapped form,
// which the kernel tells apart), either may be found, as with find (the
// first of a short list, the last of a long one).
func (x *destIndexed) findAt(k ipvs.DestinationKey, j int) (ipvs.Destination, bool) {
	if j < len(x.list) {
		if d := x.list[len(x.list)-1-j]; d.Key() == k {
			return d, true
		}
		if d := x.list[j]; d.Key() == k {
			return d, true
		}
	}
	return x.find(k)
}

// has reports whether a destination with key k is indexed.
func (x *destIndexed) has(k ipvs.DestinationKey) bool {
	_, ok := x.find(k)
	return ok
}

func (x *destIndexed) find(k ipvs.DestinationKey) (ipvs.Destination, bool) {
	if len(x.list) > destLinear {
		if x.m == nil {
			x.m = make(map[ipvs.DestinationKey]ipvs.Destination, len(x.list))
			for i := range x.list {
				x.m[x.list[i].Key()] = x.list[i]
			}
		}
		d, ok := x.m[k]
		return d, ok
	}
	for i := range x.list {
		if x.list[i].Key() == k {
			return x.list[i], true
		}
	}
	return ipvs.Destination{}, false
}

// sortedDests yields the destinations' configurations in key order. The
// kernel lists a service's destinations newest first, so the ones added
// in order come back in descending order: a list in either order is
// walked in place, without copying; any other is copied and sorted.
func sortedDests(ds []ipvs.Destination) iter.Seq[ipvs.Destination] {
	return func(yield func(ipvs.Destination) bool) {
		switch {
		case slices.IsSortedFunc(ds, compareDests):
			for i := range ds {
				if !yield(ds[i]) {
					return
				}
			}
		case descending(ds):
			for i := len(ds) - 1; i >= 0; i-- {
				if !yield(ds[i]) {
					return
				}
			}
		default:
			out := slices.Clone(ds)
			slices.SortFunc(out, compareDests)
			for _, d := range out {
				if !yield(d) {
					return
				}
			}
		}
	}
}

// compareDests orders destinations by key: address, then port.
func compareDests(a, b ipvs.Destination) int {
	return cmp.Or(a.Address.Compare(b.Address), cmp.Compare(a.Port, b.Port))
}

// descending reports whether ds is in strictly descending key order.
func descending(ds []ipvs.Destination) bool {
	for i := 1; i < len(ds); i++ {
		if compareDests(ds[i-1], ds[i]) <= 0 {
			return false
		}
	}
	return true
}

// compareKeys orders service keys: family, fwmark, protocol, address, port.
// It stops at the first field that differs (cmp.Or would compare them all:
// the owned set's binary searches call it some 50,000 times a pass).
func compareKeys(a, b ipvs.ServiceKey) int {
	switch {
	case a.Family != b.Family:
		return cmp.Compare(a.Family, b.Family)
	case a.FWMark != b.FWMark:
		return cmp.Compare(a.FWMark, b.FWMark)
	case a.Protocol != b.Protocol:
		return cmp.Compare(a.Protocol, b.Protocol)
	}
	if a.Address != b.Address { // services usually share their VIPs
		return a.Address.Compare(b.Address)
	}
	return cmp.Compare(a.Port, b.Port)
}
