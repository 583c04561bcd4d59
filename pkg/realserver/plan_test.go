package realserver

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

var (
	vip1 = netip.MustParseAddr("10.0.0.100")
	vip2 = netip.MustParseAddr("10.0.0.101")
	vip6 = netip.MustParseAddr("2001:db8::100")
	gw   = netip.MustParseAddr("10.1.0.1")
	// vipGUE and vipGRE are the tun VIPs of everything() reached by gue
	// and gre.
	vipGUE = netip.MustParseAddr("10.0.0.104")
	vipGRE = netip.MustParseAddr("10.0.0.105")
	gw2    = netip.MustParseAddr("10.1.0.254")
)

const (
	loI   = "net/ipv4/conf/lo/arp_ignore"
	loA   = "net/ipv4/conf/lo/arp_announce"
	allI  = "net/ipv4/conf/all/arp_ignore"
	allA  = "net/ipv4/conf/all/arp_announce"
	allR  = "net/ipv4/conf/all/rp_filter"
	tunI  = "net/ipv4/conf/tunl0/arp_ignore"
	tunA  = "net/ipv4/conf/tunl0/arp_announce"
	tunRF = "net/ipv4/conf/tunl0/rp_filter"
	greI  = "net/ipv4/conf/gre0/arp_ignore"
	greA  = "net/ipv4/conf/gre0/arp_announce"
	greRF = "net/ipv4/conf/gre0/rp_filter"
)

func dr(ips ...netip.Addr) []config.Binding  { return bind(config.ModeDR, ips...) }
func tun(ips ...netip.Addr) []config.Binding { return bind(config.ModeTUN, ips...) }

// gue binds ips in tun mode through a gue tunnel on port, as
// config.RealServerVIPs gives them (with the type and a flag).
func gue(port uint16, ips ...netip.Addr) []config.Binding {
	out := tun(ips...)
	for i := range out {
		out[i].Tunnel, out[i].TunnelPort, out[i].TunnelFlag = config.TunnelGUE, port, config.TunnelCsum
	}
	return out
}

// gre binds ips in tun mode through a gre tunnel.
func gre(ips ...netip.Addr) []config.Binding {
	out := tun(ips...)
	for i := range out {
		out[i].Tunnel = config.TunnelGRE
	}
	return out
}

func bind(m config.Mode, ips ...netip.Addr) []config.Binding {
	var out []config.Binding
	for _, ip := range ips {
		out = append(out, config.Binding{VIP: ip, Mode: m})
	}
	return out
}

func onLo(ip netip.Addr, label string) vip.Addr {
	return vip.Addr{Dev: "lo", Prefix: vip.HostPrefix(ip), Label: label, HostScope: true}.Normalize()
}

func onTun(ip netip.Addr, label string) vip.Addr {
	return vip.Addr{Dev: tunnel.Dev, Prefix: vip.HostPrefix(ip), Label: label}
}

// host is a typical real server before lvs-rs: lo, eth0, all defaults 0.
func host() Observed {
	return Observed{
		Addrs: []vip.Addr{
			{Dev: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8"), HostScope: true},
			{Dev: "lo", Prefix: netip.MustParsePrefix("::1/128")},
			{Dev: "eth0", Prefix: netip.MustParsePrefix("10.1.0.5/24")},
		},
		Sysctls: map[string]string{loI: "0", loA: "0", allI: "0", allA: "0", allR: "0"},
	}
}

func with(o Observed, f func(*Observed)) Observed {
	o.Sysctls = cloneMap(o.Sysctls)
	f(&o)
	return o
}

func cloneMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// eq lets go-cmp compare net/netip values.
var eq = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

func set(k, v, cur string) Change {
	return Change{Kind: Sysctl, Op: arp.Op{Kind: arp.OpSet, Key: k, Value: v, Current: cur}}
}

// hostOnly marks sysctl sets as planned for VIPs that are all scope
// host (dr only).
func hostOnly(cs ...Change) []Change {
	for i := range cs {
		cs[i].Op.HostOnly = true
	}
	return cs
}
func restore(k, prior, cur, wrote string) Change {
	return Change{Kind: Sysctl, Op: arp.Op{Kind: arp.OpRestore, Key: k, Value: prior, Current: cur, Wrote: wrote}}
}
func forget(k, prior, cur, wrote string) Change {
	return Change{Kind: Sysctl, Op: arp.Op{Kind: arp.OpForget, Key: k, Value: prior, Current: cur, Wrote: wrote}}
}
func rec(k, prior, wrote string) sysctl.Record {
	return sysctl.Record{Key: k, Prior: prior, Wrote: wrote}
}

// drApplied is host() after a dr start with vip1.
func drApplied() Observed {
	return with(host(), func(o *Observed) {
		o.Addrs = append(o.Addrs, onLo(vip1, "lo:0"))
		o.Sysctls[loI], o.Sysctls[loA], o.Sysctls[allI], o.Sysctls[allA] = "1", "2", "1", "2"
		o.Record = Record{
			Sysctls:   []sysctl.Record{rec(loI, "0", "1"), rec(loA, "0", "2"), rec(allI, "0", "1"), rec(allA, "0", "2")},
			Addresses: []AddrRecord{addrRecord(onLo(vip1, "lo:0"))},
		}
	})
}

func defRoute(g netip.Addr, dev string, metric int) Route {
	return Route{Dst: defaultDst(g), Gateway: g, Dev: dev, Metric: metric, Protocol: 3}
}

func TestPlan(t *testing.T) {
	drSets := hostOnly(set(loI, "1", "0"), set(loA, "2", "0"), set(allI, "1", "0"), set(allA, "2", "0"))
	tunSets := []Change{set(tunI, "1", ""), set(tunA, "2", ""), set(tunRF, "0", ""), set(allI, "1", "0"), set(allA, "2", "0"), set(allR, "0", "1")}
	wantRoute := gatewayRoute(gw)
	old := defRoute(gw2, "eth0", 0)

	for _, c := range []struct {
		name  string
		d     Desired
		o     Observed
		want  []Change
		warns int
	}{
		{name: "dr fresh: sysctls before the VIP", d: Desired{Bindings: dr(vip1)}, o: host(),
			want: append(drSets, Change{Kind: Bind, Addr: onLo(vip1, "lo:0")})},
		{name: "dr second start: nothing", d: Desired{Bindings: dr(vip1)}, o: drApplied()},
		{name: "dr, sysctls already right and not recorded: bind only", d: Desired{Bindings: dr(vip1)},
			o: with(host(), func(o *Observed) {
				o.Sysctls[loI], o.Sysctls[loA], o.Sysctls[allI], o.Sysctls[allA] = "1", "2", "1", "2"
			}),
			want: []Change{{Kind: Bind, Addr: onLo(vip1, "lo:0")}}},
		{name: "dr, a stricter arp_ignore (2 on all, 3 on lo): left as is, not recorded", d: Desired{Bindings: dr(vip1)},
			o:    with(host(), func(o *Observed) { o.Sysctls[allI], o.Sysctls[loI] = "2", "3" }),
			want: append(hostOnly(set(loA, "2", "0"), set(allA, "2", "0")), Change{Kind: Bind, Addr: onLo(vip1, "lo:0")})},
		{name: "dr, all/arp_ignore=3 with a VIP on lo of scope global: set to 1", d: Desired{Bindings: dr(vip1)},
			o: with(host(), func(o *Observed) {
				o.Sysctls[allI] = "3"
				o.Addrs = append(o.Addrs, vip.Addr{Dev: "lo", Prefix: vip.HostPrefix(vip1)})
			}),
			want: []Change{set(loI, "1", "0"), set(loA, "2", "0"), set(allI, "1", "3"), set(allA, "2", "0")}},
		{name: "tun, all/arp_ignore=3 (the VIP on tunl0 is scope global): set to 1, 8 left", d: Desired{Bindings: tun(vip1)},
			o: with(host(), func(o *Observed) {
				o.Tunnel = tunnel.Link{Exists: true, Up: true}
				o.Record.Tunnel = &TunnelRecord{Dev: tunnel.Dev, WasUp: true}
				o.Sysctls[tunI], o.Sysctls[tunA], o.Sysctls[tunRF], o.Sysctls[allI], o.Sysctls[allR] = "8", "2", "0", "3", "0"
			}),
			want: []Change{set(allI, "1", "3"), set(allA, "2", "0"), {Kind: Bind, Addr: onTun(vip1, "tunl0:0")}}},
		{name: "VIP already on lo before lvs-rs: adopted, no bind", d: Desired{Bindings: dr(vip1)},
			o:    with(host(), func(o *Observed) { o.Addrs = append(o.Addrs, onLo(vip1, "")) }),
			want: drSets},
		{name: "stop leaves an adopted VIP", d: Desired{},
			o:    with(drApplied(), func(o *Observed) { o.Record.Addresses = nil }),
			want: []Change{restore(loI, "0", "1", "1"), restore(loA, "0", "2", "2"), restore(allI, "0", "1", "1"), restore(allA, "0", "2", "2")}},
		{name: "VIP removed by hand: bind again", d: Desired{Bindings: dr(vip1)},
			o:    with(drApplied(), func(o *Observed) { o.Addrs = o.Addrs[:3] }),
			want: []Change{{Kind: Bind, Addr: onLo(vip1, "lo:0")}}},
		{name: "sysctl reset by hand: set again", d: Desired{Bindings: dr(vip1)},
			o:    with(drApplied(), func(o *Observed) { o.Sysctls[allA] = "0" }),
			want: []Change{{Kind: Sysctl, Op: arp.Op{Kind: arp.OpSet, Key: allA, Value: "2", Current: "0", Wrote: "2", HostOnly: true}}}},
		{name: "config drops one VIP: only that one goes, sysctls stay", d: Desired{Bindings: dr(vip1)},
			o: with(drApplied(), func(o *Observed) {
				o.Addrs = append(o.Addrs, onLo(vip2, "lo:1"))
				o.Record.Addresses = append(o.Record.Addresses, addrRecord(onLo(vip2, "lo:1")))
			}),
			want: []Change{{Kind: Unbind, Addr: onLo(vip2, "lo:1")}}},
		{name: "config drops a VIP someone already removed: forget", d: Desired{Bindings: dr(vip1)},
			o: with(drApplied(), func(o *Observed) {
				o.Record.Addresses = append(o.Record.Addresses, addrRecord(onLo(vip2, "lo:1")))
			}),
			want: []Change{{Kind: ForgetAddr, Addr: onLo(vip2, "lo:1")}}},
		{name: "config drops an adopted VIP: left alone", d: Desired{Bindings: dr(vip1)},
			o: with(drApplied(), func(o *Observed) { o.Addrs = append(o.Addrs, onLo(vip2, "")) })},
		{name: "two VIPs: labels in VIP order, skipping a used label", d: Desired{Bindings: dr(vip2, vip1)},
			o: with(host(), func(o *Observed) {
				o.Addrs = append(o.Addrs, vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("192.0.2.9/32"), Label: "lo:0", HostScope: true})
			}),
			want: append(drSets, Change{Kind: Bind, Addr: onLo(vip1, "lo:1")}, Change{Kind: Bind, Addr: onLo(vip2, "lo:2")})},
		{name: "dr to tun: tunl0 first, VIP added before removed, lo sysctls restored last", d: Desired{Bindings: tun(vip1)},
			o: with(drApplied(), func(o *Observed) { o.Sysctls[allR] = "1" }),
			want: []Change{
				{Kind: LoadIPIP}, {Kind: TunnelUp},
				set(tunI, "1", ""), set(tunA, "2", ""), set(tunRF, "0", ""), set(allR, "0", "1"),
				{Kind: Bind, Addr: onTun(vip1, "tunl0:0")},
				{Kind: Unbind, Addr: onLo(vip1, "lo:0")},
				restore(loI, "0", "1", "1"), restore(loA, "0", "2", "2"),
			}},
		{name: "tun fresh, tunl0 exists but down", d: Desired{Bindings: tun(vip1)},
			o: with(host(), func(o *Observed) {
				o.Tunnel = tunnel.Link{Exists: true}
				o.Sysctls[allR] = "1"
			}),
			want: append(append([]Change{{Kind: TunnelUp}}, tunSets...), Change{Kind: Bind, Addr: onTun(vip1, "tunl0:0")})},
		{name: "tun, tunl0 already up: noted so stop leaves it up", d: Desired{Bindings: tun(vip1)},
			o: with(host(), func(o *Observed) {
				o.Tunnel = tunnel.Link{Exists: true, Up: true}
				o.Sysctls[tunI], o.Sysctls[tunA], o.Sysctls[tunRF] = "1", "2", "0"
				o.Sysctls[allI], o.Sysctls[allA] = "1", "2"
				o.Addrs = append(o.Addrs, onTun(vip1, ""))
			}),
			want: []Change{{Kind: NoteTunnelUp}}},
		{name: "stop tun: tunl0 down again after its sysctls", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Tunnel = tunnel.Link{Exists: true, Up: true}
				o.Sysctls[tunRF] = "0"
				o.Addrs = append(o.Addrs, onTun(vip1, "tunl0:0"))
				o.Record = Record{
					Sysctls:   []sysctl.Record{rec(tunRF, "1", "0")},
					Addresses: []AddrRecord{addrRecord(onTun(vip1, "tunl0:0"))},
					Tunnel:    &TunnelRecord{Dev: tunnel.Dev},
				}
			}),
			want: []Change{{Kind: Unbind, Addr: onTun(vip1, "tunl0:0")}, restore(tunRF, "1", "0", "0"), {Kind: TunnelDown}}},
		{name: "stop tun, tunl0 was up before: left up", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Tunnel = tunnel.Link{Exists: true, Up: true}
				o.Record = Record{Tunnel: &TunnelRecord{Dev: tunnel.Dev, WasUp: true}}
			}),
			want: []Change{{Kind: ForgetTunnel}}},
		{name: "stop tun, tunl0 created by lvs-rs: deleted", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Tunnel = tunnel.Link{Exists: true}
				o.Record = Record{Tunnel: &TunnelRecord{Dev: tunnel.Dev, Created: true}}
			}),
			want: []Change{{Kind: DeleteTunnel}}},
		{name: "stop: a sysctl changed by someone is left, with a warning", d: Desired{},
			o: with(drApplied(), func(o *Observed) { o.Sysctls[allA] = "5" }),
			want: []Change{
				{Kind: Unbind, Addr: onLo(vip1, "lo:0")},
				restore(loI, "0", "1", "1"), restore(loA, "0", "2", "2"), restore(allI, "0", "1", "1"), forget(allA, "0", "5", "2"),
			}, warns: 1},
		{name: "IPv6 dr: /128 on lo, no label, no sysctl", d: Desired{Bindings: dr(vip6)}, o: host(),
			want: []Change{{Kind: Bind, Addr: onLo(vip6, "")}}},
		{name: "nat without VIPs: default route added", d: Desired{Gateways: gws(gw)}, o: host(),
			want: []Change{{Kind: ReplaceRoute, Route: wantRoute}}},
		{name: "nat: a default route at the same metric is replaced and recorded", d: Desired{Bindings: bind(config.ModeNAT, vip1), Gateways: gws(gw)},
			o:    with(host(), func(o *Observed) { o.Routes = []Route{old} }),
			want: []Change{{Kind: ReplaceRoute, Route: wantRoute, Old: &old}}},
		{name: "nat: a default route at another metric stays", d: Desired{Gateways: gws(gw)},
			o:    with(host(), func(o *Observed) { o.Routes = []Route{defRoute(gw2, "eth0", 100)} }),
			want: []Change{{Kind: ReplaceRoute, Route: wantRoute}}},
		{name: "nat: default already via the gateway: adopted", d: Desired{Gateways: gws(gw)},
			o: with(host(), func(o *Observed) { o.Routes = []Route{defRoute(gw, "eth0", 0)} })},
		{name: "stop nat: delete ours, restore the replaced one", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{wantRoute}
				o.Record = Record{Route: &RouteRecord{Created: &wantRoute, Replaced: &old}}
			}),
			want: []Change{{Kind: DeleteRoute, Route: wantRoute}, {Kind: RestoreRoute, Route: old}}},
		{name: "stop nat: route changed by someone: both left, warning", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{defRoute(netip.MustParseAddr("10.1.0.7"), "eth0", 0)}
				o.Record = Record{Route: &RouteRecord{Created: &wantRoute, Replaced: &old}}
			}),
			want:  []Change{{Kind: ForgetRoute, Route: wantRoute}, {Kind: ForgetRoute, Route: old}},
			warns: 2},
		{name: "nat: a multipath default route is replaced and recorded whole", d: Desired{Gateways: gws(gw)},
			o:    with(host(), func(o *Observed) { o.Routes = []Route{multipath()} }),
			want: []Change{{Kind: ReplaceRoute, Route: wantRoute, Old: ptr(multipath())}}},
		{name: "stop nat after a crash before the replace: the slot holds the replaced route, forget both", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{multipath()}
				o.Record = Record{Route: &RouteRecord{Created: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ForgetRoute, Route: wantRoute}, {Kind: ForgetRoute, Route: multipath()}}},
		{name: "stop nat after a crash after the delete: restore the replaced route", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Record = Record{Route: &RouteRecord{Created: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ForgetRoute, Route: wantRoute}, {Kind: RestoreRoute, Route: multipath()}}},
		{name: "stop nat after a crash after the restore: forget", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{multipath()}
				o.Record = Record{Route: &RouteRecord{Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ForgetRoute, Route: multipath()}}},
		{name: "start after a crash before the replace: replace, recording the same route", d: Desired{Gateways: gws(gw)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{multipath()}
				o.Record = Record{Route: &RouteRecord{Created: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ReplaceRoute, Route: wantRoute, Old: ptr(multipath())}}},
		{name: "gateway change: lvs-rs's route is replaced, the route it replaced first stays recorded", d: Desired{Gateways: gws(gw2)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{wantRoute}
				o.Record = Record{Route: &RouteRecord{Created: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ReplaceRoute, Route: gatewayRoute(gw2), Own: &wantRoute}}},
		{name: "start after a crash before a gateway change's replace: the slot holds Was, lvs-rs's", d: Desired{Gateways: gws(gw2)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{wantRoute}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(gw2)), Was: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ReplaceRoute, Route: gatewayRoute(gw2), Own: &wantRoute}}},
		{name: "start after a crash after a gateway change's replace: Was is forgotten", d: Desired{Gateways: gws(gw2)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{gatewayRoute(gw2)}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(gw2)), Was: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ForgetRoute, Route: wantRoute}}},
		{name: "start with the old gateway after a crash before the replace: Created is forgotten", d: Desired{Gateways: gws(gw)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{wantRoute}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(gw2)), Was: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ForgetRoute, Route: gatewayRoute(gw2)}}},
		{name: "stop after a crash before a gateway change's replace: Was is deleted, the first route restored", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{wantRoute}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(gw2)), Was: &wantRoute, Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ForgetRoute, Route: gatewayRoute(gw2)}, {Kind: DeleteRoute, Route: wantRoute}, {Kind: RestoreRoute, Route: multipath()}}},
		{name: "IPv6 gateway after a crash between deleting lvs-rs's IPv4 route and restoring: IPv6 route added, IPv4 one restored", d: Desired{Gateways: gws(vip6)},
			o: with(host(), func(o *Observed) {
				o.Record = Record{Route: &RouteRecord{Replaced: ptr(multipath())}}
			}),
			want: []Change{{Kind: ReplaceRoute, Route: gatewayRoute(vip6)}, {Kind: RestoreRoute, Route: multipath()}}},
		{name: "start after a crash before a bind: the intended VIP is bound", d: Desired{Bindings: dr(vip1)},
			o:    with(drApplied(), func(o *Observed) { o.Addrs = o.Addrs[:3] }),
			want: []Change{{Kind: Bind, Addr: onLo(vip1, "lo:0")}}},
		{name: "stop after a crash right after a sysctl write: restored", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Sysctls[allA] = "2"
				o.Record = Record{Sysctls: []sysctl.Record{rec(loI, "0", "1"), rec(allA, "0", "2")}}
			}),
			want: []Change{forget(loI, "0", "0", "1"), restore(allA, "0", "2", "2")}},
		{name: "dr host with a cluster gateway: route left, warning", d: Desired{Bindings: dr(vip1), Gateways: gws(gw)},
			o: drApplied(), warns: 1},
		{name: "nat binding next to dr: no extra VIP", d: Desired{Bindings: append(dr(vip1), bind(config.ModeNAT, vip1)...)},
			o: drApplied()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, warns := Plan(c.d, c.o)
			if d := cmp.Diff(c.want, got, eq); d != "" {
				t.Errorf("Plan (-want +got):\n%s", d)
			}
			if len(warns) != c.warns {
				t.Errorf("warnings %q, want %d", warns, c.warns)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		name string
		d    Desired
		ok   bool
	}{
		{"dr v4 and v6", Desired{Bindings: append(dr(vip1), dr(vip6)...)}, true},
		{"dr and nat on one VIP", Desired{Bindings: append(dr(vip1), bind(config.ModeNAT, vip1)...)}, true},
		{"dr and tun on one VIP", Desired{Bindings: append(dr(vip1), tun(vip1)...)}, false},
		{"tun IPv6", Desired{Bindings: tun(vip6)}, false},
		{"unknown mode", Desired{Bindings: bind("gre", vip1)}, false},
		{"zero VIP", Desired{Bindings: dr(netip.Addr{})}, false},
		{"loopback VIP", Desired{Bindings: dr(netip.MustParseAddr("127.0.0.2"))}, false},
		{"multicast gateway", Desired{Gateways: gws(netip.MustParseAddr("224.0.0.1"))}, false},
	} {
		_, err := c.d.Normalize()
		if (err == nil) != c.ok {
			t.Errorf("%s: Normalize = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	d, err := Desired{Bindings: []config.Binding{
		{VIP: vip2, Mode: config.ModeDR}, {VIP: netip.MustParseAddr("::ffff:10.0.0.100"), Mode: config.ModeDR}, {VIP: vip1, Mode: config.ModeDR},
	}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dr(vip1, vip2), d.Bindings, eq); diff != "" {
		t.Errorf("Normalize: unmapped, deduplicated, sorted (-want +got):\n%s", diff)
	}
	_, err = Desired{Bindings: tun(vip6)}.Normalize()
	if err == nil || !strings.Contains(err.Error(), "ip6tnl") {
		t.Errorf("tun IPv6 error %v does not name ip6tnl", err)
	}
}
