package realserver

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"golang.org/x/sys/unix"
)

var (
	g6     = netip.MustParseAddr("2001:db8:2::1")
	raHop  = netip.MustParseAddr("fe80::fe")
	g6Link = netip.MustParseAddr("fe80::1%eth0")
)

// raRoute is a default route the kernel learned from a router
// advertisement, at metric m.
func raRoute(m int) Route {
	return Route{Dst: defaultDst(g6), Gateway: raHop, Dev: "eth0", Metric: m, Protocol: unix.RTPROT_RA}
}

// TestPlanIPv6GatewayRoute: lvs-rs's IPv6 default route goes at metric 1,
// in front of the host's (a router advertisement's at 1024 is never
// replaced, so there is nothing to put back); a default route at its
// metric beside it is warned about; a link-local gateway's zone names the
// route's device.
func TestPlanIPv6GatewayRoute(t *testing.T) {
	nat := Desired{Gateways: gws(g6)}
	ours := gatewayRoute(g6)
	if ours.Metric != 1 || ours.Dev != "" {
		t.Fatalf("gatewayRoute(%s) = %s, want metric 1 and no device", g6, ours)
	}
	old := Route{Dst: defaultDst(g6), Gateway: g6, Metric: 1024, Protocol: unix.RTPROT_STATIC} // an older lvs-rs's
	static := Route{Dst: defaultDst(g6), Gateway: netip.MustParseAddr("2001:db8:2::fe"), Dev: "eth0", Metric: 1024, Protocol: unix.RTPROT_BOOT}
	v4 := func(g string) Route { return defRoute(netip.MustParseAddr(g), "eth0", 0) }
	for _, c := range []struct {
		name  string
		d     Desired
		o     Observed
		want  []Change
		warns []string // a substring of each warning, in order
	}{
		{name: "an RA default at 1024 is left alone, nothing recorded to put back", d: nat,
			o:    with(host(), func(o *Observed) { o.Routes = []Route{raRoute(1024)} }),
			want: []Change{{Kind: ReplaceRoute, Route: ours}}},
		{name: "applied beside the RA default: nothing to do, no warning", d: nat,
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{ours, raRoute(1024)}
				o.Record = Record{Route: &RouteRecord{Created: &ours}}
			})},
		{name: "an RA default at lvs-rs's metric competes: warned, naming ra_defrtr_metric", d: nat,
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{ours, raRoute(1)}
				o.Record = Record{Route: &RouteRecord{Created: &ours}}
			}),
			warns: []string{"default route default (inet6) via fe80::fe dev eth0 metric 1 competes with lvs-rs's default (inet6) via 2001:db8:2::1 metric 1: " +
				"replies may leave through it, bypassing the director; it was learned from a router advertisement: set net.ipv6.conf.eth0.ra_defrtr_metric above 1"}},
		{name: "an IPv4 default put in front of lvs-rs's competes", d: Desired{Gateways: gws(gw)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{v4("10.1.0.254"), gatewayRoute(gw)}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(gw))}}
			}),
			warns: []string{"via 10.1.0.254 dev eth0 metric 0 competes with lvs-rs's"}},
		{name: "an IPv4 default appended behind lvs-rs's does not", d: Desired{Gateways: gws(gw)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{gatewayRoute(gw), v4("10.1.0.254")}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(gw))}}
			})},
		{name: "an older lvs-rs's route at 1024 that replaced an RA route: stop does not put that one back", d: Desired{},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{old}
				o.Record = Record{Route: &RouteRecord{Created: &old, Replaced: ptr(raRoute(1024))}}
			}),
			want:  []Change{{Kind: DeleteRoute, Route: old}, {Kind: ForgetRoute, Route: raRoute(1024)}},
			warns: []string{"came from a router advertisement, and the next one adds it again"}},
		{name: "an older lvs-rs's route at 1024: moved to metric 1, the route it replaced put back", d: nat,
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{old}
				o.Record = Record{Route: &RouteRecord{Created: &old, Replaced: &static}}
			}),
			want: []Change{{Kind: DeleteRoute, Route: old}, {Kind: RestoreRoute, Route: static}, {Kind: ReplaceRoute, Route: ours}}},
		{name: "link-local gateway: the route names the zone's device", d: Desired{Gateways: gws(g6Link)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{{Dst: defaultDst(g6), Gateway: g6Link.WithZone(""), Dev: "eth1", Metric: 1, Protocol: unix.RTPROT_BOOT}}
			}),
			want: []Change{{Kind: ReplaceRoute, Route: Route{Dst: defaultDst(g6), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST,
				Gateway: g6Link.WithZone(""), Dev: "eth0", Metric: 1, Protocol: unix.RTPROT_STATIC},
				Old: &Route{Dst: defaultDst(g6), Gateway: g6Link.WithZone(""), Dev: "eth1", Metric: 1, Protocol: unix.RTPROT_BOOT}}}},
		{name: "link-local gateway applied: no change", d: Desired{Gateways: gws(g6Link)},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{{Dst: defaultDst(g6), Gateway: g6Link.WithZone(""), Dev: "eth0", Metric: 1, Protocol: unix.RTPROT_STATIC}}
				o.Record = Record{Route: &RouteRecord{Created: ptr(gatewayRoute(g6Link))}}
			})},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, warns := Plan(c.d, c.o)
			if d := cmp.Diff(c.want, got, eq); d != "" {
				t.Errorf("Plan (-want +got):\n%s", d)
			}
			if len(warns) != len(c.warns) {
				t.Fatalf("warnings %q, want %d", warns, len(c.warns))
			}
			for i, w := range c.warns {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %q does not say %q", warns[i], w)
				}
			}
		})
	}
}

// TestLinkLocalGatewayNeedsZone: a link-local gateway without the
// interface it is on is refused (the kernel could not route through it).
func TestLinkLocalGatewayNeedsZone(t *testing.T) {
	_, err := Desired{Gateways: gws(netip.MustParseAddr("fe80::1"))}.Normalize()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "fe80::1%IFACE") {
		t.Errorf("Normalize(gateway fe80::1) = %v, want ErrInvalid asking for fe80::1%%IFACE", err)
	}
	if d, err := (Desired{Gateways: gws(g6Link)}).Normalize(); err != nil || d.gateway(true) != g6Link {
		t.Errorf("Normalize(gateway %s) = %v, %v", g6Link, d.Gateways, err)
	}
}

// TestIPv4LinkLocalGateway: an IPv4 link-local gateway (169.254.1.1, the
// one Calico gives its pods) is reached through the route to it, as any
// IPv4 gateway; it takes no zone (the config refuses one), so it is not
// refused for lacking one.
func TestIPv4LinkLocalGateway(t *testing.T) {
	ll := netip.MustParseAddr("169.254.1.1")
	d, err := Desired{Bindings: bind(config.ModeNAT, vip1), Gateways: gws(ll)}.Normalize()
	if err != nil || d.gateway(false) != ll {
		t.Fatalf("Normalize(gateway %s) = %v, %v; want it kept", ll, d.Gateways, err)
	}
	if got, _ := Plan(d, host()); len(got) != 1 || got[0].Kind != ReplaceRoute || got[0].Route.Gateway != ll || got[0].Route.Dev != "" {
		t.Errorf("Plan: %q; want the default route via %s, no device", got, ll)
	}
}
