package realserver

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"golang.org/x/sys/unix"
)

// Plan decides the changes that take the observed host to d. It is pure:
// everything it needs is in o, including the state record of what lvs-rs
// created before. Stop is Plan with an empty Desired.
//
// The order is stable and safe:
//
//  1. LoadIPIP, TunnelUp (or NoteTunnelUp) for tunl0 (ipip, gue), the
//     same for gre0 (gre), then LoadFOU and AddFOU for each gue port:
//     the devices must exist before their sysctls and VIPs;
//  2. Sysctl sets, before any VIP is bound, so the host never answers ARP
//     for a VIP;
//  3. Bind, in VIP order;
//  4. ReplaceRoute, for each family whose gateway is routed, IPv4 first
//     (after taking back lvs-rs's route of that family and putting back
//     the route it replaced, when it is in another slot: the metric
//     of an older lvs-rs);
//  5. Unbind / ForgetAddr of VIPs lvs-rs bound that are no longer wanted;
//  6. DeleteRoute, RestoreRoute / ForgetRoute of each family whose
//     gateway is no longer routed, IPv4 first;
//  7. Sysctl restores and forgets, only after the VIPs they protected are
//     gone;
//  8. DeleteFOU / ForgetFOU, then TunnelDown / DeleteTunnel /
//     ForgetTunnel and the same for gre0.
//
// Adds come before deletes, so a VIP that moves (dr to tun) is on tunl0
// before it leaves lo. A VIP already on its device is adopted: nothing is
// bound and it is never recorded, so it is never removed; so is a GUE
// receive port already on its UDP port. Only recorded
// objects are ever removed or restored. The warnings name what is left as
// is: sysctls and routes someone changed since lvs-rs wrote them, VIPs on
// other devices, an ignored gateway, nat VIPs of a family that has no
// gateway.
func Plan(d Desired, o Observed) ([]Change, []string) {
	d = d.canon()
	rec := o.Record
	var adds, dels []Change
	var warns []string

	// 1. The tunnels: tunl0, gre0, then the GUE receive ports (GUE
	// carries IPIP packets, for tunl0).
	adds = append(adds, tunnelUp(d.needsTunnel(), o.Tunnel, rec.Tunnel, ipipKinds)...)
	adds = append(adds, tunnelUp(d.needsGRE(), o.GRE, rec.GRE, greKinds)...)
	c, w := fouAdds(d.guePorts(), o.FOU)
	adds, warns = append(adds, c...), append(warns, w...)

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
	for _, b := range d.Bindings {
		if dev := device(b); dev != "" {
			wanted[devAddr{dev, b.VIP}] = true
		}
	}
	used := map[string]bool{} // labels in use or planned
	for _, a := range o.Addrs {
		if a.Label != "" {
			used[a.Label] = true
		}
	}
	planned := map[devAddr]bool{} // a VIP of two tunnels on one device (ipip and gue) is bound once
	for _, b := range d.Bindings {
		dev := device(b)
		if dev == "" || planned[devAddr{dev, b.VIP}] {
			continue
		}
		planned[devAddr{dev, b.VIP}] = true
		for _, a := range o.Addrs {
			if a.Prefix.Addr() == b.VIP && a.Dev != dev && !created[a] && !wanted[devAddr{a.Dev, b.VIP}] {
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

	// 4. and 6. The default routes, one per family.
	for _, v6 := range []bool{false, true} {
		a, dl, w := planRoute(d, v6, rec.route(v6), o.Routes)
		adds, dels, warns = append(adds, a...), append(dels, dl...), append(warns, w...)
	}
	warns = append(warns, gatewayWarnings(d)...)

	// 7. Sysctl restores.
	for _, op := range restores {
		dels = append(dels, Change{Kind: Sysctl, Op: op})
	}

	// 8. The GUE receive ports no longer wanted, then the tunnels.
	dels = append(dels, fouDels(d.guePorts(), o.FOU, rec.FOU)...)
	dels = append(dels, tunnelDown(d.needsTunnel(), o.Tunnel, rec.Tunnel, ipipKinds)...)
	dels = append(dels, tunnelDown(d.needsGRE(), o.GRE, rec.GRE, greKinds)...)
	return append(adds, dels...), warns
}

// tunKinds are the kinds of change of one fallback device.
type tunKinds struct{ load, up, note, down, del, forget Kind }

var (
	ipipKinds = tunKinds{LoadIPIP, TunnelUp, NoteTunnelUp, TunnelDown, DeleteTunnel, ForgetTunnel}
	greKinds  = tunKinds{LoadGRE, GREUp, NoteGREUp, GREDown, DeleteGRE, ForgetGRE}
)

// tunnelUp plans a fallback device needed: loaded, up, and whether it was
// up before recorded.
func tunnelUp(need bool, l tunnel.Link, rec *TunnelRecord, k tunKinds) []Change {
	switch {
	case !need:
		return nil
	case !l.Exists:
		return []Change{{Kind: k.load}, {Kind: k.up}}
	case !l.Up:
		return []Change{{Kind: k.up}}
	case rec == nil:
		return []Change{{Kind: k.note}}
	}
	return nil
}

// tunnelDown plans a fallback device recorded and no longer needed back
// to how it was: down unless it was up, deleted when lvs-rs created it.
func tunnelDown(need bool, l tunnel.Link, rec *TunnelRecord, k tunKinds) []Change {
	if need || rec == nil {
		return nil
	}
	switch {
	case rec.Created && l.Exists:
		// Down first: if lvs-rs crashed before it knew that the module
		// made the device (the kernel keeps that one on delete), it still
		// ends down, as it was.
		var out []Change
		if l.Up {
			out = append(out, Change{Kind: k.down})
		}
		return append(out, Change{Kind: k.del})
	case !rec.WasUp && l.Up:
		return []Change{{Kind: k.down}}
	}
	return []Change{{Kind: k.forget}}
}

// fouAdds plans the GUE receive ports wanted: fou loaded, then each port
// that is missing added. A port the kernel already has as GUE is kept,
// lvs-rs's when recorded, adopted otherwise; one held by a FOU port of
// another kind is planned as refused (Foreign), so that start stops
// there and status names it.
func fouAdds(ports []uint16, o FOUState) ([]Change, []string) {
	if len(ports) == 0 {
		return nil, nil
	}
	var out []Change
	var warns []string
	if !o.Loaded {
		out = append(out, Change{Kind: LoadFOU})
	}
	for _, p := range ports {
		i := slices.IndexFunc(o.Ports, func(x tunnel.FOUPort) bool { return x.Port == p })
		switch {
		case i < 0:
			out = append(out, Change{Kind: AddFOU, Port: p})
		case !o.Ports[i].GUE:
			out = append(out, Change{Kind: AddFOU, Port: p, Foreign: fmt.Sprintf("receive port for ipproto %d", o.Ports[i].Protocol)})
		case o.Ports[i].Bound:
			warns = append(warns, fmt.Sprintf("gue receive port %d is bound to an address or a device: left as is (it must take the director's packets to this host's address)", p))
		}
	}
	return out, warns
}

// fouDels plans the GUE receive ports lvs-rs added that are no longer
// wanted: deleted while the kernel has them as GUE, forgotten otherwise
// (removed by someone, or replaced by another kind of port, which is not
// lvs-rs's).
func fouDels(ports []uint16, o FOUState, rec []FOURecord) []Change {
	var out []Change
	for _, r := range rec {
		if slices.Contains(ports, r.Port) {
			continue
		}
		if slices.ContainsFunc(o.Ports, func(x tunnel.FOUPort) bool { return x.Port == r.Port && x.GUE }) {
			out = append(out, Change{Kind: DeleteFOU, Port: r.Port})
		} else {
			out = append(out, Change{Kind: ForgetFOU, Port: r.Port})
		}
	}
	return out
}

// planRoute plans the default route of a family (IPv6 when v6): the
// adds that make d's gateway of that family the default route when it is
// routed, or the deletes that take back lvs-rs's route of that family
// (rr, its record) when it is not, and the warnings.
func planRoute(d Desired, v6 bool, rr *RouteRecord, routes []Route) (adds, dels []Change, warns []string) {
	gw := d.gateway(v6)
	if !d.routed(gw) {
		if rr != nil {
			dels, warns = unroute(rr, routes)
		}
		return nil, dels, warns
	}
	want := gatewayRoute(gw)
	if s := rr.slot(); s != nil && !sameSlot(*s, want) {
		// lvs-rs's route is in another slot (an older lvs-rs's metric),
		// or, lvs-rs's deleted, the replaced one is still to be put back
		// there: it goes before the record holds the new one.
		adds, warns = unroute(rr, routes)
		rr = nil
	}
	i := slices.IndexFunc(routes, func(r Route) bool { return sameSlot(r, want) })
	j := slices.IndexFunc(routes, func(r Route) bool { return sameGateway(r, want) })
	switch {
	case j < 0:
		c := Change{Kind: ReplaceRoute, Route: want}
		if i >= 0 {
			if own := rr.own(routes[i]); own != nil {
				c.Own = own.clone()
			} else {
				c.Old = routes[i].clone()
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
	if j >= 0 {
		for _, r := range competing(routes, j) {
			warns = append(warns, competingWarning(r, want))
		}
	}
	return adds, nil, warns
}

// gatewayWarnings names what d's gateways leave undone: all of them
// ignored on a host with bindings but no nat one, and, when d has a
// gateway, the nat VIPs of a family it has none of (their replies follow
// whatever default route the host has of that family, which lvs-rs
// leaves as it is: routing may come from elsewhere).
func gatewayWarnings(d Desired) []string {
	if len(d.Gateways) == 0 || len(d.Bindings) == 0 {
		return nil
	}
	if !d.servesNAT(false) && !d.servesNAT(true) {
		var gws []string
		for _, g := range d.Gateways {
			gws = append(gws, g.String())
		}
		return []string{fmt.Sprintf("gateway %s ignored: no nat VIP on this host, and its default route stays as it is", strings.Join(gws, ", "))}
	}
	var warns []string
	for _, v6 := range []bool{false, true} {
		if !d.servesNAT(v6) || d.gateway(v6).IsValid() {
			continue
		}
		var vips []string
		for _, b := range d.Bindings {
			if b.Mode == config.ModeNAT && b.VIP.Is6() == v6 {
				vips = append(vips, b.VIP.String())
			}
		}
		fam := familyName(v6)
		warns = append(warns, fmt.Sprintf("no %s gateway for the nat VIPs %s: lvs-rs leaves the host's %s default route as it is; their replies reach clients only if it goes via the director (give realserver.gateway the director's %s address, or --gateway)",
			fam, strings.Join(vips, ", "), fam, fam))
	}
	return warns
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
