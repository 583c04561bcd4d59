package realserver

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestKernelNATDualStack: a real server serving an IPv4 and an IPv6 nat
// VIP with a gateway of each family gets both routes: the IPv4 one at
// metric 0 in place of the host's own (recorded whole), the IPv6 one at
// metric 1 in front of the default route learned from router
// advertisements; replies of both families go via the director. Status
// is clean and shows both; a route removed by someone is drift of its
// family alone; stop puts the namespace back as it was.
func TestKernelNATDualStack(t *testing.T) {
	h := newRAHost(t)
	nh := h.ns.Handle
	eth0, err := nh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := nh.AddrAdd(eth0, &netlink.Addr{IPNet: mustNet("10.9.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	if err := nh.RouteAdd(&netlink.Route{Gw: net.ParseIP("10.9.0.254"), LinkIndex: eth0.Attrs().Index}); err != nil {
		t.Fatal(err)
	}
	h.advertise(1800)
	waitFor(t, "the advertised default route", func() bool { return learned(h.defaults(), "1024") })
	before := h.snap()

	gw4 := netip.MustParseAddr("10.9.0.1")
	d := Desired{Bindings: append(bind(config.ModeNAT, vip1), bind(config.ModeNAT, vip6)...), Gateways: gws(g6, gw4)}
	res := h.start(d)
	if len(res.Changes) != 2 || res.Changes[0].Kind != ReplaceRoute || res.Changes[0].Old == nil || res.Changes[0].Route.Gateway != gw4 ||
		res.Changes[1].Kind != ReplaceRoute || res.Changes[1].Old != nil || res.Changes[1].Route.Gateway != g6 || len(res.Warnings) != 0 {
		t.Fatalf("start: %q, warnings %q; want the IPv4 route replacing the host's, then the IPv6 one replacing none", res.Changes, res.Warnings)
	}
	if got := h.defaults(); !slices.Contains(got, ours6) || !learned(got, "1024") || len(got) != 2 {
		t.Errorf("IPv6 default routes: %q; want lvs-rs's (%s) and the advertised one", got, ours6)
	}
	for dst, via := range map[string]string{"192.0.2.7": "10.9.0.1", "2001:db8:9::7": "2001:db8:2::1"} {
		rs, err := nh.RouteGet(net.ParseIP(dst))
		if err != nil || len(rs) == 0 || !rs[0].Gw.Equal(net.ParseIP(via)) {
			t.Errorf("route get %s = %+v, %v; want via the director %s", dst, rs, err, via)
		}
	}
	v4 := defaults4(t, h.rsHost)
	if len(v4) != 1 || !strings.Contains(v4[0], "Gw:10.9.0.1 ") || !strings.Contains(v4[0], "Priority:0 ") {
		t.Errorf("IPv4 default routes: %q; want lvs-rs's alone, at metric 0", v4)
	}
	var rec Record
	if b, err := os.ReadFile(filepath.Join(h.opt.StateDir, Role+".json")); err != nil || json.Unmarshal(b, &rec) != nil || rec.Version != dualVersion {
		t.Errorf("record: version %d (%v), want %d", rec.Version, err, dualVersion)
	}

	r := h.status(nil)
	if len(r.Drift) != 0 || len(r.Warnings) != 0 || len(r.Routes) != 2 {
		t.Fatalf("status: drift %q, warnings %q, routes %+v", r.Drift, r.Warnings, r.Routes)
	}
	for i, want := range []struct {
		gw       string
		replaced bool
	}{{"10.9.0.1", true}, {"2001:db8:2::1", false}} {
		rt := r.Routes[i]
		if rt.Gateway.String() != want.gw || !rt.Present || rt.Owner != "lvs-rs" || (rt.Replaced != "") != want.replaced {
			t.Errorf("status route %d: %+v; want via %s, present, lvs-rs's, replaced %v", i, rt, want.gw, want.replaced)
		}
	}
	applied := h.snap()
	if res := h.start(d); len(res.Changes) != 0 {
		t.Errorf("second start: %q", kinds(res.Changes))
	}

	// Someone deletes the IPv6 route: drift of that family alone, and
	// start puts it back.
	if err := nh.RouteDel(&netlink.Route{Gw: net.ParseIP("2001:db8:2::1"), Dst: mustNet("::/0"), Priority: 1}); err != nil {
		t.Fatal(err)
	}
	if r := h.status(nil); len(r.Drift) != 1 || !strings.Contains(r.Drift[0], "2001:db8:2::1") || r.Routes[0].Present == false || r.Routes[1].Present {
		t.Errorf("status after the IPv6 route's removal: drift %q, routes %+v", r.Drift, r.Routes)
	}
	if res := h.start(d); len(res.Changes) != 1 || res.Changes[0].Route.Gateway != g6 {
		t.Errorf("start after drift: %q", res.Changes)
	}
	if diff := cmp.Diff(applied, h.snap()); diff != "" {
		t.Errorf("start did not converge back (-applied +now):\n%s", diff)
	}

	if res := h.stop(); len(res.Warnings) != 0 {
		t.Errorf("stop warns %q", res.Warnings)
	}
	if diff := cmp.Diff(before, h.snap()); diff != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", diff)
	}
	h.advertise(0)
	waitFor(t, "the withdrawn default route to go", func() bool { return len(h.defaults()) == 0 })
}

// defaults4 returns h's IPv4 default routes, as snap shows routes.
func defaults4(t *testing.T, h *rsHost) []string {
	t.Helper()
	var out []string
	for _, r := range h.snap().Routes {
		if strings.Contains(r, "Dst:0.0.0.0/0") {
			out = append(out, r)
		}
	}
	return out
}

// dualHost is a raHost (without advertisements) with IPv4 too
// (10.9.0.2/24 on eth0) and a default route of each family in the slot
// lvs-rs's takes: via 10.9.0.254 at metric 0, via 2001:db8:2::fe at
// metric 1 (proto boot), which nat replaces and stop must put back.
func dualHost(t *testing.T) *raHost {
	h := newRAHost(t)
	nh := h.ns.Handle
	eth0, err := nh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := nh.AddrAdd(eth0, &netlink.Addr{IPNet: mustNet("10.9.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*netlink.Route{
		{Gw: net.ParseIP("10.9.0.254"), LinkIndex: eth0.Attrs().Index},
		{Gw: net.ParseIP("2001:db8:2::fe"), Dst: mustNet("::/0"), LinkIndex: eth0.Attrs().Index, Priority: 1, Protocol: unix.RTPROT_BOOT},
	} {
		if err := nh.RouteAdd(r); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// TestKernelDualGatewayCrashAtEveryWrite: a dual-stack nat host whose
// gateways replace a default route of each family. Start is killed right
// after each of its writes in turn; then start converges (status clean)
// and stop restores the namespace exactly, or stop alone does. Then the
// same for every write of stop.
func TestKernelDualGatewayCrashAtEveryWrite(t *testing.T) {
	d := Desired{Bindings: append(bind(config.ModeNAT, vip1), bind(config.ModeNAT, vip6)...), Gateways: gws(natGW, g6)}
	probe := dualHost(t)
	n, _, err := probe.crashing(0, startWith(d))
	if err != nil || n != 2 {
		t.Fatalf("start made %d writes (%v), want a route of each family", n, err)
	}
	m, _, err := probe.crashing(0, stopIt)
	if err != nil || m != 4 {
		t.Fatalf("stop made %d writes (%v), want a delete and a restore of each family", m, err)
	}
	for k := 1; k <= n; k++ {
		for _, thenStart := range []bool{true, false} {
			h := dualHost(t)
			before := h.snap()
			if _, crashed, _ := h.crashing(k, startWith(d)); !crashed {
				t.Fatalf("k=%d: no crash", k)
			}
			if thenStart {
				h.start(d)
				if r := h.status(nil); len(r.Drift) != 0 || len(r.Warnings) != 0 || len(r.Routes) != 2 || r.Routes[0].Owner != "lvs-rs" || r.Routes[1].Owner != "lvs-rs" {
					t.Errorf("k=%d: status after crash and start: drift %q warnings %q routes %+v", k, r.Drift, r.Warnings, r.Routes)
				}
			}
			if res := h.stop(); len(res.Warnings) != 0 {
				t.Errorf("k=%d: stop warns %q", k, res.Warnings)
			}
			if diff := cmp.Diff(before, h.snap()); diff != "" {
				t.Errorf("k=%d, start again %v: stop did not restore the namespace (-before +after):\n%s", k, thenStart, diff)
			}
		}
	}
	for k := 1; k <= m; k++ {
		h := dualHost(t)
		before := h.snap()
		h.start(d)
		if _, crashed, _ := h.crashing(k, stopIt); !crashed {
			t.Fatalf("stop k=%d: no crash", k)
		}
		if res := h.stop(); len(res.Warnings) != 0 {
			t.Errorf("stop k=%d: second stop warns %q", k, res.Warnings)
		}
		if diff := cmp.Diff(before, h.snap()); diff != "" {
			t.Errorf("stop k=%d: the namespace after a crash and stop (-before +after):\n%s", k, diff)
		}
	}
}
