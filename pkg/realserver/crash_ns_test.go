package realserver

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// natGW is the director's inner address the nat tests route through.
var natGW = netip.MustParseAddr("10.9.0.1")

// multipathHost is a namespace with two uplinks (eth0, eth1, veth pairs
// without IPv6) and a two-nexthop default route at metric 0 (weights 1
// and 2, the second onlink, mtu 1400, proto boot), plus a single default
// route at metric 200.
func multipathHost(t *testing.T) *rsHost {
	t.Helper()
	h := newHost(t)
	nh := h.ns.Handle
	idx := map[string]int{}
	for i, name := range []string{"eth0", "eth1"} {
		peer := "peer" + name[3:]
		if err := nh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{name, peer} {
			h.setSysctl("net/ipv6/conf/"+n+"/disable_ipv6", "1")
			l, err := nh.LinkByName(n)
			if err == nil {
				err = nh.LinkSetUp(l)
			}
			if err != nil {
				t.Fatal(err)
			}
			idx[n] = l.Attrs().Index
		}
		l, _ := nh.LinkByName(name)
		if err := nh.AddrAdd(l, &netlink.Addr{IPNet: mustNet([]string{"10.9.0.2/24", "10.8.0.2/24"}[i])}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*netlink.Route{
		{Dst: mustNet("0.0.0.0/0"), MTU: 1400, MultiPath: []*netlink.NexthopInfo{
			{LinkIndex: idx["eth0"], Gw: net.ParseIP("10.9.0.254"), Hops: 0},
			{LinkIndex: idx["eth1"], Gw: net.ParseIP("10.7.0.254"), Hops: 1, Flags: unix.RTNH_F_ONLINK},
		}},
		{Dst: mustNet("0.0.0.0/0"), Gw: net.ParseIP("10.9.0.253"), LinkIndex: idx["eth0"], Priority: 200},
	} {
		if err := nh.RouteAdd(r); err != nil {
			t.Fatalf("route %v: %v", r, err)
		}
	}
	return h
}

// crashing runs fn (Start or Stop) in the namespace with a kill -9
// simulated right after kernel write k (k <= 0: none): every save and
// write after it is lost. It returns the number of writes made.
func (h *rsHost) crashing(k int, fn func(Options) error) (writes int, crashed bool, err error) {
	o := h.opt
	o.afterWrite = func(string) {
		writes++
		if writes == k {
			panic(crash{})
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(crash); !ok {
					panic(r)
				}
				crashed = true // this goroutine's thread stays locked and dies with it
			}
		}()
		err = h.ns.Do(func() error { return fn(o) })
	}()
	<-done
	return writes, crashed, err
}

func startWith(d Desired) func(Options) error {
	return func(o Options) error { _, err := Start(context.Background(), d, o); return err }
}

func stopIt(o Options) error { _, err := Stop(context.Background(), o); return err }

// defaults returns the namespace's default routes, whole.
func (h *rsHost) defaults() []string {
	var out []string
	for _, r := range h.snap().Routes {
		if strings.Contains(r, "Dst:0.0.0.0/0") {
			out = append(out, r)
		}
	}
	return out
}

// TestKernelMultipathRestored: a nat start replaces a two-nexthop default
// route; the record holds it whole; stop puts it back identical.
func TestKernelMultipathRestored(t *testing.T) {
	h := multipathHost(t)
	before := h.snap()
	d := Desired{Gateways: gws(natGW)}
	res := h.start(d)
	if len(res.Changes) != 1 || res.Changes[0].Old == nil || len(res.Changes[0].Old.NextHops) != 2 {
		t.Fatalf("start: %q", kinds(res.Changes))
	}
	got := strings.Join(h.defaults(), "\n")
	if strings.Contains(got, "10.9.0.254") || !strings.Contains(got, "Gw:10.9.0.1 ") {
		t.Errorf("default routes after start:\n%s", got)
	}
	rec, _, err := h.opt.load()
	if err != nil {
		t.Fatal(err)
	}
	old := *res.Changes[0].Old
	want := []NextHop{{Gateway: netip.MustParseAddr("10.9.0.254"), Dev: "eth0", Weight: 1}, {Gateway: netip.MustParseAddr("10.7.0.254"), Dev: "eth1", Weight: 2, OnLink: true}}
	if diff := cmp.Diff(want, old.NextHops, eq); diff != "" || old.Metrics.MTU != 1400 || old.Protocol != unix.RTPROT_BOOT {
		t.Errorf("replaced route as observed: %s (next hops -want +got:\n%s)", old, diff)
	}
	if rec.Route == nil || rec.Route.Replaced == nil || !rec.Route.Replaced.Equal(old) {
		t.Errorf("record of the replaced route: %+v", rec.Route)
	}
	if r := h.status(nil); len(r.Drift) != 0 || r.Route == nil || r.Route.Owner != "lvs-rs" {
		t.Errorf("status: %+v %+v", r.Drift, r.Route)
	}
	h.stop()
	if diff := cmp.Diff(before, h.snap()); diff != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", diff)
	}
}

// TestKernelStopRouteDeviceGone: after start replaced the multipath
// route, eth1 disappears (and the kernel takes every route through it).
// Stop says which device is gone, undoes the rest, and succeeds; a
// second stop has nothing left to do.
func TestKernelStopRouteDeviceGone(t *testing.T) {
	h := multipathHost(t)
	h.setSysctl(allA, "1")
	d := Desired{Bindings: append(dr(vip1), bind(config.ModeNAT, vip2)...), Gateways: gws(natGW)}
	h.start(d)
	l, err := h.ns.Handle.LinkByName("eth1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ns.Handle.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	res := h.stop()
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "device eth1 no longer exists") {
		t.Errorf("stop warnings: %q", res.Warnings)
	}
	if h.sysctl(allA) != "1" || h.sysctl(loI) != "0" || hasAddr(t, h.ns.Handle, onLo(vip1, "lo:0")) {
		t.Errorf("stop did not undo the rest: all/arp_announce %s, lo/arp_ignore %s", h.sysctl(allA), h.sysctl(loI))
	}
	got := strings.Join(h.defaults(), "\n")
	if strings.Contains(got, "Gw:10.9.0.1 ") || !strings.Contains(got, "Gw:10.9.0.253 ") {
		t.Errorf("default routes after stop:\n%s", got)
	}
	if r := h.status(nil); r.Applied {
		t.Error("record left after stop")
	}
	if res := h.stop(); len(res.Changes) != 0 {
		t.Errorf("second stop: %q", kinds(res.Changes))
	}
}

// TestKernelCrashAtEveryWrite: a dr VIP and a nat gateway replacing the
// multipath route. For every kernel write k of start, start is killed
// right after write k (after the route replace, a sysctl write, a bind);
// then start converges (status clean) and stop restores the namespace
// exactly; and with the crash, stop alone restores it. Then the same for
// every write of stop.
func TestKernelCrashAtEveryWrite(t *testing.T) {
	d := Desired{Bindings: append(dr(vip1), bind(config.ModeNAT, vip2)...), Gateways: gws(natGW)}
	probe := multipathHost(t)
	probe.setSysctl(allA, "1")
	n, _, err := probe.crashing(0, startWith(d))
	if err != nil || n != 6 {
		t.Fatalf("start made %d writes (%v), want 4 sysctls, a bind and a route", n, err)
	}
	m, _, err := probe.crashing(0, stopIt)
	if err != nil || m != 7 {
		t.Fatalf("stop made %d writes (%v)", m, err)
	}
	for k := 1; k <= n; k++ {
		for _, thenStart := range []bool{true, false} {
			h := multipathHost(t)
			h.setSysctl(allA, "1")
			before := h.snap()
			if _, crashed, _ := h.crashing(k, startWith(d)); !crashed {
				t.Fatalf("k=%d: no crash", k)
			}
			if thenStart {
				h.start(d)
				if r := h.status(nil); len(r.Drift) != 0 || len(r.Warnings) != 0 || r.VIPs[0].Owner != "lvs-rs" {
					t.Errorf("k=%d: status after crash and start: drift %q warnings %q VIPs %+v", k, r.Drift, r.Warnings, r.VIPs)
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
		h := multipathHost(t)
		h.setSysctl(allA, "1")
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
