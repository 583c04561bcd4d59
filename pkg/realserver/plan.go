package realserver

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"golang.org/x/sys/unix"
)

// Plan decides the changes that take the observed host to d. It is pure:
// everything it needs is in o, including the state record of what lvs-rs
// created before. Stop is Plan with an empty Desired.
//
// The order is stable and safe:
//
//  1. LoadIPIP, TunnelUp (or NoteTunnelUp): tunl0 must exist before its
//     sysctls and VIPs;
//  2. Sysctl sets, before any VIP is bound, so the host never answers ARP
//     for a VIP;
//  3. Bind, in VIP order;
//  4. ReplaceRoute (after taking back lvs-rs's route of the other family
//     and putting back the route it replaced there, when the gateway
//     changed family);
//  5. Unbind / ForgetAddr of VIPs lvs-rs bound that are no longer wanted;
//  6. DeleteRoute, RestoreRoute / ForgetRoute;
//  7. Sysctl restores and forgets, only after the VIPs they protected are
//     gone;
//  8. TunnelDown / DeleteTunnel / ForgetTunnel.
//
// Adds come before deletes, so a VIP that moves (dr to tun) is on tunl0
// before it leaves lo. A VIP already on its device is adopted: nothing is
// bound and it is never recorded, so it is never removed. Only recorded
// objects are ever removed or restored. The warnings name what is left as
// is: sysctls and routes someone changed since lvs-rs wrote them, VIPs on
// other devices, an ignored gateway.
func Plan(d Desired, o Observed) ([]Change, []string) {
	d = d.canon()
	rec := o.Record
	var adds, dels []Change
	var warns []string

	// 1. The tunnel.
	if d.needsTunnel() {
		switch {
		case !o.Tunnel.Exists:
			adds = append(adds, Change{Kind: LoadIPIP}, Change{Kind: TunnelUp})
		case !o.Tunnel.Up:
			adds = append(adds, Change{Kind: TunnelUp})
		case rec.Tunnel == nil:
			adds = append(adds, Change{Kind: NoteTunnelUp})
		}
	}

	// 2. and 7. Sysctls.
	sets, restores, w := arp.Plan(d.sysctlWants(), o.Sysctls, rec.Sysctls, d.hostOnly(o.Addrs))
	warns = append(warns, w...)
	for _, op := range sets {
		adds = append(adds, Change{Kind: Sysctl, Op: op})
	}

	// 3. and 5. VIPs.
	type devAddr struct {
		dev string
		ip  netip.Addr
	}
	created := map[vip.Addr]bool{}
	for _, a := range rec.Addresses {
		created[a.Addr()] = true
	}
	wanted := map[devAddr]bool{}
	used := map[string]bool{} // labels in use or planned
	for _, a := range o.Addrs {
		if a.Label != "" {
			used[a.Label] = true
		}
	}
	for _, b := range d.Bindings {
		dev := device(b.Mode)
		if dev == "" {
			continue
		}
		wanted[devAddr{dev, b.VIP}] = true
		for _, a := range o.Addrs {
			if a.Prefix.Addr() == b.VIP && a.Dev != dev && !created[a] {
				warns = append(warns, fmt.Sprintf("VIP %s is also on %s, not bound by lvs-rs: left as is (the host may answer ARP/ND for it there)", b.VIP, a.Dev))
			}
		}
		if slices.ContainsFunc(o.Addrs, func(a vip.Addr) bool { return a.Dev == dev && a.Prefix.Addr() == b.VIP }) {
			continue
		}
		a := vip.Addr{Dev: dev, Prefix: vip.HostPrefix(b.VIP), HostScope: dev == "lo"}
		if b.VIP.Is4() {
			a.Label = freeLabel(dev, used)
			used[a.Label] = true
		}
		adds = append(adds, Change{Kind: Bind, Addr: a.Normalize()})
	}
	for _, r := range rec.Addresses {
		a := r.Addr()
		if wanted[devAddr{a.Dev, a.Prefix.Addr()}] {
			continue
		}
		if slices.ContainsFunc(o.Addrs, func(x vip.Addr) bool { return x.Dev == a.Dev && x.Prefix == a.Prefix }) {
			dels = append(dels, Change{Kind: Unbind, Addr: a})
		} else {
			dels = append(dels, Change{Kind: ForgetAddr, Addr: a})
		}
	}

	// 4. and 6. The default route.
	if d.routed() {
		want := gatewayRoute(d.Gateway)
		rr := rec.Route
		if s := rr.slot(); s != nil && !sameSlot(*s, want) {
			// The gateway changed family: the old route is in another
			// slot (or, lvs-rs's deleted, the replaced one is still to
			// be put back there), and goes before the record holds the
			// new one.
			c, w := unroute(rr, o.Routes)
			adds, warns = append(adds, c...), append(warns, w...)
			rr = nil
		}
		i := slices.IndexFunc(o.Routes, func(r Route) bool { return sameSlot(r, want) })
		switch {
		case !slices.ContainsFunc(o.Routes, func(r Route) bool { return sameGateway(r, want) }):
			c := Change{Kind: ReplaceRoute, Route: want}
			if i >= 0 {
				if own := rr.own(o.Routes[i]); own != nil {
					c.Own = own.clone()
				} else {
					c.Old = o.Routes[i].clone()
				}
			}
			adds = append(adds, c)
		case rr != nil && rr.Was != nil:
			// A gateway change was under way and the kernel holds the
			// wanted route: that one is lvs-rs's, the other is forgotten.
			gone := rr.Was
			if sameGateway(want, *rr.Was) {
				gone = rr.Created
			}
			adds = append(adds, Change{Kind: ForgetRoute, Route: *gone})
		}
		if j := slices.IndexFunc(o.Routes, func(r Route) bool { return sameGateway(r, want) }); j >= 0 {
			for _, r := range competing(o.Routes, j) {
				warns = append(warns, competingWarning(r, want))
			}
		}
	} else {
		if d.Gateway.IsValid() {
			warns = append(warns, fmt.Sprintf("gateway %s ignored: no nat VIP on this host, and its default route stays as it is", d.Gateway))
		}
		if rec.Route != nil {
			c, w := unroute(rec.Route, o.Routes)
			dels, warns = append(dels, c...), append(warns, w...)
		}
	}

	// 7. Sysctl restores.
	for _, op := range restores {
		dels = append(dels, Change{Kind: Sysctl, Op: op})
	}

	// 8. The tunnel again.
	if !d.needsTunnel() && rec.Tunnel != nil {
		switch t := rec.Tunnel; {
		case t.Created && o.Tunnel.Exists:
			// Down first: if lvs-rs crashed before it knew that the
			// module made tunl0 (the kernel keeps that one on delete),
			// it still ends down, as it was.
			if o.Tunnel.Up {
				dels = append(dels, Change{Kind: TunnelDown})
			}
			dels = append(dels, Change{Kind: DeleteTunnel})
		case !t.WasUp && o.Tunnel.Up:
			dels = append(dels, Change{Kind: TunnelDown})
		default:
			dels = append(dels, Change{Kind: ForgetTunnel})
		}
	}
	return append(adds, dels...), warns
}

// competingWarning says that r may carry the replies that lvs-rs's
// route want is for.
func competingWarning(r, want Route) string {
	fix := "delete it or give it a higher metric"
	if r.Protocol == unix.RTPROT_RA {
		fix = "it was learned from a router advertisement: set net.ipv6.conf." + cmp.Or(r.Dev, "IFACE") + ".ra_defrtr_metric above " + strconv.Itoa(want.Metric) + ", or accept_ra_defrtr=0"
	}
	return fmt.Sprintf("default route %s competes with lvs-rs's %s: replies may leave through it, bypassing the director; %s", r, want, fix)
}

// freeLabel returns the lowest DEV:N not in used.
func freeLabel(dev string, used map[string]bool) string {
	for n := 0; ; n++ {
		l := vip.Label(dev, n)
		if l == "" || !used[l] {
			return l
		}
	}
}

// unroute plans taking back the default route lvs-rs set, and putting
// back the one it replaced, given the routes now in the kernel. Both are
// in one slot. The slot tells what happened: lvs-rs's route there is
// deleted; the replaced route there, whole, means the replace never
// happened (a crash between the record and the write) and both entries
// are forgotten; an empty slot gets the replaced route back; any other
// route there is someone else's, and both are left with a warning. While
// a gateway change was under way (Was), the slot tells which of the two
// is lvs-rs's route; the other is forgotten first.
func unroute(rr *RouteRecord, routes []Route) ([]Change, []string) {
	var out []Change
	var warns []string
	created, replaced := rr.Created, rr.Replaced
	slot := rr.slot()
	if slot == nil {
		return nil, nil
	}
	var occ *Route
	if i := slices.IndexFunc(routes, func(x Route) bool { return sameSlot(x, *slot) }); i >= 0 {
		occ = &routes[i]
	}
	if w := rr.Was; w != nil && created != nil {
		if occ != nil && sameGateway(*occ, *w) {
			out = append(out, Change{Kind: ForgetRoute, Route: *created}) // Was becomes Created
			created = w
		} else {
			out = append(out, Change{Kind: ForgetRoute, Route: *w})
		}
	}
	free := occ == nil
	if c := created; c != nil {
		switch {
		case occ != nil && sameGateway(*occ, *c):
			out = append(out, Change{Kind: DeleteRoute, Route: *c})
			free = true
		case occ != nil && replaced != nil && occ.Equal(*replaced):
			return append(out, Change{Kind: ForgetRoute, Route: *c}, Change{Kind: ForgetRoute, Route: *replaced}), nil
		case occ != nil:
			warns = append(warns, fmt.Sprintf("route %s was changed since lvs-rs set %s: left as is", *occ, *c))
			out = append(out, Change{Kind: ForgetRoute, Route: *c})
		default:
			out = append(out, Change{Kind: ForgetRoute, Route: *c})
		}
	}
	if r := replaced; r != nil {
		switch {
		case free && r.Protocol == unix.RTPROT_RA:
			// Replaced by an lvs-rs before 1 became its IPv6 metric:
			// put back, it would be a route the kernel no longer
			// updates nor expires.
			warns = append(warns, fmt.Sprintf("route %s, replaced by lvs-rs, not put back: it came from a router advertisement, and the next one adds it again", *r))
			out = append(out, Change{Kind: ForgetRoute, Route: *r})
		case free:
			out = append(out, Change{Kind: RestoreRoute, Route: *r})
		case occ.Equal(*r):
			out = append(out, Change{Kind: ForgetRoute, Route: *r})
		default:
			warns = append(warns, fmt.Sprintf("route %s, replaced by lvs-rs, not restored: the slot now holds another route", *r))
			out = append(out, Change{Kind: ForgetRoute, Route: *r})
		}
	}
	return out, warns
}
