package realserver

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"golang.org/x/sys/unix"
)

var gw6 = netip.MustParseAddr("2001:db8::1")

// TestPlanDualGateway: a gateway per family; each is routed when the
// host serves nat VIPs of its family (or has no binding at all), in its
// own slot with its own record, and a family without a gateway is
// warned about, not refused.
func TestPlanDualGateway(t *testing.T) {
	want4, want6 := gatewayRoute(gw), gatewayRoute(gw6)
	old4 := defRoute(gw2, "eth0", 0)
	old6 := Route{Dst: defaultDst(gw6), Gateway: netip.MustParseAddr("2001:db8::fe"), Dev: "eth0", Metric: 1, Protocol: unix.RTPROT_BOOT}
	ra6 := Route{Dst: defaultDst(gw6), Gateway: netip.MustParseAddr("fe80::9"), Dev: "eth0", Metric: 1024, Protocol: unix.RTPROT_RA}
	both := gws(gw, gw6)
	dual := append(bind(config.ModeNAT, vip1), bind(config.ModeNAT, vip6)...)
	applied := func(o *Observed) {
		o.Routes = []Route{want4, want6, ra6}
		o.Record = Record{Route: &RouteRecord{Created: &want4, Replaced: &old4}, Route6: &RouteRecord{Created: &want6}}
	}
	for _, c := range []struct {
		name  string
		d     Desired
		o     Observed
		want  []Change
		warns []string // substrings, one per warning
	}{
		{name: "no bindings, both gateways: both routes, IPv4 first", d: Desired{Gateways: gws(gw6, gw)}, o: host(),
			want: []Change{{Kind: ReplaceRoute, Route: want4}, {Kind: ReplaceRoute, Route: want6}}},
		{name: "dual-stack nat host: each family's route replaces its slot's, IPv6 at metric 1 in front of the learned one", d: Desired{Bindings: dual, Gateways: both},
			o:    with(host(), func(o *Observed) { o.Routes = []Route{old4, old6, ra6} }),
			want: []Change{{Kind: ReplaceRoute, Route: want4, Old: &old4}, {Kind: ReplaceRoute, Route: want6, Old: &old6}}},
		{name: "dual-stack nat host applied: nothing to do", d: Desired{Bindings: dual, Gateways: both},
			o: with(host(), applied)},
		{name: "dual-stack nat host, IPv6 route deleted by someone: only it is drift", d: Desired{Bindings: dual, Gateways: both},
			o:    with(host(), func(o *Observed) { applied(o); o.Routes = []Route{want4, ra6} }),
			want: []Change{{Kind: ReplaceRoute, Route: want6}}},
		{name: "IPv6-only nat host of a file with both gateways: the IPv6 route alone, no warning", d: Desired{Bindings: bind(config.ModeNAT, vip6), Gateways: both},
			o:    with(host(), func(o *Observed) { o.Routes = []Route{old4, ra6} }),
			want: []Change{{Kind: ReplaceRoute, Route: want6}}},
		{name: "IPv6-only nat host of a file with an IPv4 gateway: no route, a warning", d: Desired{Bindings: bind(config.ModeNAT, vip6), Gateways: gws(gw)},
			o:     with(host(), func(o *Observed) { o.Routes = []Route{old4, ra6} }),
			warns: []string{"no IPv6 gateway for the nat VIPs 2001:db8::100: lvs-rs leaves the host's IPv6 default route as it is"}},
		{name: "dual-stack nat host with an IPv4 gateway: the IPv4 route, a warning for IPv6", d: Desired{Bindings: dual, Gateways: gws(gw)},
			o:     host(),
			want:  []Change{{Kind: ReplaceRoute, Route: want4}},
			warns: []string{"no IPv6 gateway for the nat VIPs 2001:db8::100"}},
		{name: "the host drops its IPv6 nat VIP: the IPv6 route goes, the IPv4 one stays", d: Desired{Bindings: bind(config.ModeNAT, vip1), Gateways: both},
			o:    with(host(), func(o *Observed) { applied(o); o.Record.Route6.Replaced = &old6; o.Routes = []Route{want4, want6} }),
			want: []Change{{Kind: DeleteRoute, Route: want6}, {Kind: RestoreRoute, Route: old6}}},
		{name: "stop: both routes deleted, each replaced one put back, IPv4 first", d: Desired{},
			o:    with(host(), func(o *Observed) { applied(o); o.Record.Route6.Replaced = &old6; o.Routes = []Route{want4, want6} }),
			want: []Change{{Kind: DeleteRoute, Route: want4}, {Kind: RestoreRoute, Route: old4}, {Kind: DeleteRoute, Route: want6}, {Kind: RestoreRoute, Route: old6}}},
		{name: "IPv6 gateway change while the IPv4 route stays: lvs-rs's IPv6 route replaced as its own", d: Desired{Bindings: dual, Gateways: gws(gw, netip.MustParseAddr("2001:db8::2"))},
			o:    with(host(), applied),
			want: []Change{{Kind: ReplaceRoute, Route: gatewayRoute(netip.MustParseAddr("2001:db8::2")), Own: &want6}}},
		{name: "start after a crash before the IPv6 replace of a change: Created forgotten, the IPv4 record untouched", d: Desired{Bindings: dual, Gateways: both},
			o: with(host(), func(o *Observed) {
				applied(o)
				o.Record.Route6 = &RouteRecord{Created: ptr(gatewayRoute(netip.MustParseAddr("2001:db8::2"))), Was: &want6}
			}),
			want: []Change{{Kind: ForgetRoute, Route: gatewayRoute(netip.MustParseAddr("2001:db8::2"))}}},
		{name: "dr host with both gateways: both ignored, one warning", d: Desired{Bindings: dr(vip1), Gateways: both}, o: drApplied(),
			warns: []string{"gateway 10.1.0.1, 2001:db8::1 ignored: no nat VIP on this host"}},
		{name: "older record, the IPv6 route alone in route: a dual-stack start adds the IPv4 one", d: Desired{Bindings: dual, Gateways: both},
			o: with(host(), func(o *Observed) {
				o.Routes = []Route{old4, want6}
				o.Record = Record{Version: 2, Route: &RouteRecord{Created: &want6, Replaced: &old6}}
			}),
			want: []Change{{Kind: ReplaceRoute, Route: want4, Old: &old4}}},
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
					t.Errorf("warning %q, want it to say %q", warns[i], w)
				}
			}
		})
	}
}

// TestNormalizeGateways: at most one gateway per family, the IPv4 one
// first; the same one twice is one.
func TestNormalizeGateways(t *testing.T) {
	d, err := Desired{Gateways: gws(gw6, gw, gw)}.Normalize()
	if err != nil || !cmp.Equal(d.Gateways, gws(gw, gw6), eq) {
		t.Errorf("Normalize = %v, %v; want [%s %s]", d.Gateways, err, gw, gw6)
	}
	_, err = Desired{Gateways: gws(gw, gw2)}.Normalize()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "gateways 10.1.0.1 and 10.1.0.254: one gateway per family (IPv4)") {
		t.Errorf("two IPv4 gateways: %v", err)
	}
}

// TestRecordRouteSlots: the record keeps one route per family; Route
// holds the only one, or the IPv4 one while Route6 holds the IPv6 one,
// and the version says so (5 while there are two).
func TestRecordRouteSlots(t *testing.T) {
	r4 := &RouteRecord{Created: ptr(gatewayRoute(gw))}
	r6 := &RouteRecord{Created: ptr(gatewayRoute(gw6))}
	var r Record
	r.setRoute(true, r6)
	if r.Route != r6 || r.Route6 != nil {
		t.Errorf("IPv6 alone: route %v route6 %v", r.Route, r.Route6)
	}
	r.versioned()
	if r.Version != 0 {
		t.Errorf("one route: version %d", r.Version)
	}
	r.setRoute(false, r4)
	if r.Route != r4 || r.Route6 != r6 || r.route(false) != r4 || r.route(true) != r6 {
		t.Errorf("both: route %v route6 %v", r.Route, r.Route6)
	}
	r.versioned()
	if r.Version != dualVersion {
		t.Errorf("two routes: version %d, want %d", r.Version, dualVersion)
	}
	r.setRoute(false, nil)
	if r.Route != r6 || r.Route6 != nil {
		t.Errorf("IPv4 dropped: route %v route6 %v", r.Route, r.Route6)
	}
	r.versioned()
	if r.Version != recordVersion {
		t.Errorf("back to one route: version %d, want %d", r.Version, recordVersion)
	}
}

// olderRecord is the record an lvs-rs of one gateway wrote for an IPv6
// nat host: version 2, the gateway in desired.gateway, its route (and the
// one it replaced) in route.
const olderRecord = `{"version":2,"desired":{"bindings":[{"vip":"2001:db8::100","mode":"nat"}],"gateway":"2001:db8::1"},` +
	`"route":{"created":{"dst":"::/0","table":254,"type":1,"protocol":4,"metric":1,"gateway":"2001:db8::1"},` +
	`"replaced":{"dst":"::/0","protocol":3,"metric":1,"gateway":"2001:db8::fe","dev":"eth0"}}}`

// TestOlderRecordRead: a record of an lvs-rs with one gateway is read
// (its route is the IPv6 one), is clean against the host it describes,
// and is stopped to the host as it was; a dual-stack start from it adds
// the IPv4 route beside (version 5), and stop then restores both
// families.
func TestOlderRecordRead(t *testing.T) {
	// older is the host as the older lvs-rs left it: gatewayHost with
	// its IPv6 route in place of the one there before.
	older := func() (*fakeKernel, snapshot, Record) {
		f := gatewayHost()
		before := f.snap()
		f.routes = slices.DeleteFunc(f.routes, func(r Route) bool { return r.Dst.Addr().Is6() })
		f.routes = append(f.routes, gatewayRoute(gw6))
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, Role+".json"), []byte(olderRecord), 0o600); err != nil {
			t.Fatal(err)
		}
		rec, ok, err := Options{StateDir: dir}.load()
		if err != nil || !ok {
			t.Fatalf("load = %v, %v", ok, err)
		}
		return f, before, rec
	}
	f, before, rec := older()
	if rr := rec.route(true); rr == nil || rr.Created == nil || rr.Replaced == nil || rec.route(false) != nil {
		t.Fatalf("older record: IPv4 route %v, IPv6 route %v", rec.route(false), rec.route(true))
	}
	d := rec.Desired.desired().canon()
	if !cmp.Equal(d.Gateways, gws(gw6), eq) {
		t.Errorf("older record's gateways %v", d.Gateways)
	}
	if changes, warns := Plan(d, f.observed(rec)); len(changes) != 0 || len(warns) != 0 {
		t.Errorf("status of the older record: %q, %q", kinds(changes), warns)
	}
	if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, f.snap(), eq); diff != "" {
		t.Errorf("stop of the older record (-before +after):\n%s", diff)
	}

	f, before, rec = older()
	dual := Desired{Bindings: append(bind(config.ModeNAT, vip1), bind(config.ModeNAT, vip6)...), Gateways: gws(gw, gw6)}
	rec, _, err := runCrashing(t, f, dual, rec, false)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != dualVersion || rec.route(false) == nil || rec.route(false).Replaced == nil || rec.route(true).Replaced == nil {
		t.Errorf("dual-stack start from the older record: version %d, IPv4 %+v, IPv6 %+v", rec.Version, rec.route(false), rec.route(true))
	}
	if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, f.snap(), eq); diff != "" {
		t.Errorf("stop after the dual-stack start (-before +after):\n%s", diff)
	}
}

// TestOlderRecordUpgradeInterruptedAtEveryWrite: a version 2 record of
// an lvs-rs of one gateway, whose IPv6 route is in route (at metric 1,
// or at the 1024 of an older lvs-rs still, to be moved), is taken over by
// a start with a gateway of each family, or with another IPv6 gateway;
// killed right before or right after each of its writes, then stopped
// (or started again, then stopped), the host ends as it was before the
// older lvs-rs's start: both families' replaced routes put back.
func TestOlderRecordUpgradeInterruptedAtEveryWrite(t *testing.T) {
	repl := func(m int) Route {
		return Route{Dst: defaultDst(gw6), Gateway: netip.MustParseAddr("2001:db8::fe"), Dev: "eth0", Metric: m, Protocol: unix.RTPROT_BOOT}
	}
	dual := Desired{Bindings: append(bind(config.ModeNAT, vip1), bind(config.ModeNAT, vip6)...), Gateways: gws(gw, gw6)}
	other6 := Desired{Bindings: bind(config.ModeNAT, vip6), Gateways: gws(netip.MustParseAddr("2001:db8::7"))}
	for _, metric := range []int{1, 1024} {
		// older is crashHost with an IPv6 default route at metric,
		// replaced by the older lvs-rs's route via gw6, and its record.
		older := func() (*fakeKernel, snapshot, Record) {
			f := crashHost()
			f.routes = append(f.routes, repl(metric))
			before := f.snap()
			own := gatewayRoute(gw6)
			own.Metric = metric
			f.routes = append(slices.DeleteFunc(f.routes, func(r Route) bool { return r.Dst.Addr().Is6() }), own)
			rec := Record{Version: 2, Desired: Spec{Bindings: []BindingRecord{{VIP: vip6, Mode: config.ModeNAT}}, Gateway: gw6},
				Route: &RouteRecord{Created: &own, Replaced: ptr(repl(metric))}}
			return f, before, rec
		}
		for _, d := range []Desired{dual, other6} {
			f, _, rec := older()
			if _, _, err := runCrashing(t, f, d, rec, false); err != nil {
				t.Fatal(err)
			}
			n := len(f.writes)
			for k := 1; k <= n; k++ {
				for _, how := range []string{"before", "after"} {
					for _, then := range []string{"stop", "start, stop"} {
						name := fmt.Sprintf("metric %d, to %v: killed %s write %d, then %s", metric, d.Gateways, how, k, then)
						f, before, rec := older()
						f.writes = nil
						if how == "before" {
							f.crashBefore = k
						} else {
							f.crashAfter = k
						}
						rec, crashed, _ := runCrashing(t, f, d, rec, false)
						if !crashed {
							t.Fatalf("%s: no crash", name)
						}
						f.crashBefore, f.crashAfter = 0, 0
						if then == "start, stop" {
							var err error
							if rec, _, err = runCrashing(t, f, d, rec, false); err != nil {
								t.Fatalf("%s: start: %v", name, err)
							}
							if rest, _ := Plan(d, f.observed(rec)); len(rest) != 0 {
								t.Errorf("%s: start did not converge: %q", name, kinds(rest))
							}
						}
						if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
							t.Fatalf("%s: stop: %v", name, err)
						}
						if diff := cmp.Diff(before, f.snap(), eq); diff != "" {
							t.Errorf("%s: host not restored (-before +after):\n%s", name, diff)
						}
					}
				}
			}
		}
	}
}
