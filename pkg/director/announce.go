package director

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/announce"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// Announce asks for one blackhole route per VIP (VIP/32 or /128) in
// kernel routing table Table with route protocol Protocol, for a BGP
// daemon (BIRD's "protocol kernel { learn; kernel table N; }", FRR's
// "redistribute kernel" in a VRF on table N) to announce to the routers.
type Announce struct {
	Table    uint32 `json:"table"`
	Protocol uint8  `json:"protocol"`
	// VIPs are the VIPs to announce, in config order: each must be able
	// to serve. DesiredFrom puts in every configured VIP with at least one
	// real server of weight > 0 (the one-shot start's view); the
	// long-running director narrows the list to the VIPs with a real
	// server up by its health checks (or a sorry server in service), and
	// an empty list withdraws every route while the table stays lvs-rs's.
	// Every route of Table with Protocol is lvs-rs's: one not listed here
	// is deleted.
	VIPs []netip.Addr `json:"vips,omitempty"`
}

// RouteTable is a routing table and route protocol: lvs-rs owns every
// route of the table with the protocol.
type RouteTable struct {
	Table    uint32 `json:"table"`
	Protocol uint8  `json:"protocol"`
}

// String renders "table 100 proto 250".
func (t RouteTable) String() string { return fmt.Sprintf("table %d proto %d", t.Table, t.Protocol) }

// key returns the table the announcement uses; the zero RouteTable for
// none.
func (a *Announce) key() RouteTable {
	if a == nil {
		return RouteTable{}
	}
	return RouteTable{a.Table, a.Protocol}
}

// announceFrom builds the announcement of cfg: nil when off.
func announceFrom(cfg *config.Config) *Announce {
	an := cfg.Director.Announce
	if an == nil {
		return nil
	}
	a := &Announce{Table: an.Table, Protocol: an.Protocol}
	if a.Protocol == 0 {
		a.Protocol = announce.DefaultProtocol
	}
	var seen seenSet[netip.Addr]
	for _, vs := range cfg.VirtualServers {
		vip := vs.VIP.Unmap()
		if serves(vs) && seen.add(vip) {
			a.VIPs = append(a.VIPs, vip)
		}
	}
	return a
}

// serves reports a virtual server with a real server of weight > 0.
func serves(vs config.VirtualServer) bool {
	return slices.ContainsFunc(vs.RealServers, func(rs config.RealServer) bool { return rs.Weight > 0 })
}

// planAnnounce adds the missing routes of d.Announce at the end of the
// additions (a VIP is announced once its services exist) and deletes, at
// the start of the deletions (withdrawn before its services go), the
// routes no longer wanted: those of the wanted table not listed, and all
// of each table lvs-rs recorded (now or in the past) that is no longer
// the wanted one. A route of lvs-rs's in the wanted table number under
// another protocol (announce.protocol changed) is the kernel's same route
// (its key has no protocol: adding the new one is refused with EEXIST),
// so it is deleted right before its replacement is added instead.
func planAnnounce(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	want := d.Announce.key()
	moved := map[netip.Prefix]RouteTable{} // prefix -> the same-number table it leaves
	var dels []Change
	for _, t := range ownedTables(owned) {
		if t == want {
			continue
		}
		for _, c := range announce.Plan(nil, obs.Routes[t]) {
			if t.Table == want.Table && d.Announce.wants(c.Prefix) {
				moved[c.Prefix] = t
				continue
			}
			dels = append(dels, Change{Kind: DeleteRoute, x: &changeDetail{Route: t, Prefix: c.Prefix}})
		}
	}
	if d.Announce != nil {
		for _, c := range announce.Plan(d.Announce.VIPs, obs.Routes[want]) {
			ch := Change{Kind: AddRoute, x: &changeDetail{Route: want, Prefix: c.Prefix}}
			if c.Kind == announce.Delete {
				ch.Kind = DeleteRoute
				dels = append(dels, ch)
				continue
			}
			if from, ok := moved[c.Prefix]; ok {
				out[phaseAdd] = append(out[phaseAdd], Change{Kind: DeleteRoute, x: &changeDetail{Route: from, Prefix: c.Prefix}})
			}
			out[phaseAdd] = append(out[phaseAdd], ch)
		}
	}
	out[phaseDeleteDest] = append(dels, out[phaseDeleteDest]...)
}

// announceable is d with its announcement narrowed to the VIPs lvs-rs
// serves: a VIP with a service lvs-rs owns (any service of the record,
// not only those of a pass converging a few) or is about to add (wanted
// and not in obs). A VIP whose every service is another tool's (left out
// of the pass: Options.SkipForeign) is not announced, by a full pass nor
// by one converging other services. A fwmark service serves the VIPs its
// wanted mark rules name. d's Announce is not modified.
func announceable(d Desired, obs Observed, owned Owned) Desired {
	if d.Announce == nil || len(d.Announce.VIPs) == 0 {
		return d
	}
	var marks map[uint32][]netip.Addr
	serving := map[netip.Addr]bool{}
	add := func(k ipvs.ServiceKey) {
		if k.FWMark == 0 {
			serving[k.Address.Unmap()] = true
			return
		}
		if marks == nil {
			marks = markVIPs(d.Marks)
		}
		for _, v := range marks[k.FWMark] {
			serving[v] = true
		}
	}
	for i := range owned.Services {
		add(owned.Services[i].ServiceKey)
	}
	for i := range d.Services {
		if k := d.Services[i].Service.Key(); !obs.hasService(k) {
			add(k)
		}
	}
	if !slices.ContainsFunc(d.Announce.VIPs, func(v netip.Addr) bool { return !serving[v.Unmap()] }) {
		return d
	}
	a := *d.Announce
	a.VIPs = slices.DeleteFunc(slices.Clone(a.VIPs), func(v netip.Addr) bool { return !serving[v.Unmap()] })
	d.Announce = &a
	return d
}

// hasService reports whether the service with key k was found.
func (o Observed) hasService(k ipvs.ServiceKey) bool {
	_, ok := o.Services[k]
	return ok
}

// wants reports whether a announces the host prefix p.
func (a *Announce) wants(p netip.Prefix) bool {
	if a == nil {
		return false
	}
	return slices.ContainsFunc(a.VIPs, func(v netip.Addr) bool { return announce.HostPrefix(v) == p })
}

// routeTables returns the tables observe reads: the wanted one and the
// recorded ones, without duplicates or the zero table.
func routeTables(d Desired, owned Owned) []RouteTable {
	return sortedTables(append(ownedTables(owned), d.Announce.key()))
}

// ownedTables returns the tables lvs-rs's routes may be in: the recorded
// one, then the past ones (sorted, without duplicates or the zero table).
func ownedTables(o Owned) []RouteTable {
	return sortedTables(append([]RouteTable{o.Routes}, o.PastRoutes...))
}

// sortedTables returns ts sorted, without duplicates or the zero table.
func sortedTables(ts []RouteTable) []RouteTable {
	var out []RouteTable
	for _, t := range ts {
		if t != (RouteTable{}) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b RouteTable) int {
		return cmp.Or(cmp.Compare(a.Table, b.Table), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

// takeRoutes records t as the table lvs-rs announces in, before its
// first route there is added. The table recorded until now becomes a past
// one: its routes are deleted only after the new ones are added, and a
// crash or a failed addition in between must leave them lvs-rs's.
func (o *Owned) takeRoutes(t RouteTable) {
	if o.Routes != t {
		o.PastRoutes = sortedTables(append(o.PastRoutes, o.Routes))
	}
	o.PastRoutes = slices.DeleteFunc(o.PastRoutes, func(p RouteTable) bool { return p == t })
	if len(o.PastRoutes) == 0 {
		o.PastRoutes = nil
	}
	o.Routes = t
}

// settleRoutes keeps the recorded table while routes of it remain after
// the run, or while it is the wanted one, and the past tables while
// routes of theirs remain.
func settleRoutes(intended Owned, after Observed, d Desired) (RouteTable, []RouteTable) {
	t := intended.Routes
	if t != (RouteTable{}) && t != d.Announce.key() && len(after.Routes[t]) == 0 {
		t = RouteTable{}
	}
	var past []RouteTable
	for _, p := range intended.PastRoutes {
		if p != t && len(after.Routes[p]) > 0 {
			past = append(past, p)
		}
	}
	return t, past
}

// routeString renders a route change as one line.
func (c Change) routeString() string {
	if c.Kind == AddRoute {
		return fmt.Sprintf("announce %v: add blackhole route %s", c.Prefix().Addr(), c.Route())
	}
	return fmt.Sprintf("withdraw %v: delete route %s", c.Prefix().Addr(), c.Route())
}

// routeDrift renders the difference a route change would repair.
func (c Change) routeDrift() string {
	if c.Kind == AddRoute {
		return fmt.Sprintf("announce route %v (%s) is missing", c.Prefix(), c.Route())
	}
	return fmt.Sprintf("announce route %v (%s) is lvs-rs's and not wanted", c.Prefix(), c.Route())
}

// recordNetwork renders o's route table and nftables table for the
// record.
func recordNetwork(o Owned) (*RouteTable, string) {
	var t *RouteTable
	if o.Routes != (RouteTable{}) {
		rt := o.Routes
		t = &rt
	}
	name := ""
	if o.Marks {
		name = nftmark.TableName
	}
	return t, name
}
