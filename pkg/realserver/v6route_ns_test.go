package realserver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// raHost is a real server (h) whose eth0 is linked to eth0 of a router
// namespace (g) that sends router advertisements on demand: h learns its
// IPv6 default route from them, as a host on a SLAAC network does. h has
// 2001:db8:2::11/64, g 2001:db8:2::1/64 (the director, the nat gateway).
type raHost struct {
	*rsHost
	g *nstest.NS
}

func newRAHost(t *testing.T) *raHost {
	h := &raHost{rsHost: newHost(t), g: nstest.New(t)}
	// No duplicate address detection: link-local addresses are usable
	// (an advertisement's source must be one) as soon as the links are up.
	h.setSysctl("net/ipv6/conf/default/accept_dad", "0")
	if err := h.g.Do(func() error { return writeSys("net/ipv6/conf/default/accept_dad", "0") }); err != nil {
		t.Fatal(err)
	}
	nh := h.ns.Handle
	if err := nh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(h.g.Fd())}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		h    *netlink.Handle
		addr string
	}{{nh, "2001:db8:2::11/64"}, {h.g.Handle, "2001:db8:2::1/64"}} {
		l, err := x.h.LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if err := x.h.AddrAdd(l, &netlink.Addr{IPNet: mustNet(x.addr), Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatal(err)
		}
		if err := x.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []*netlink.Handle{nh, h.g.Handle} {
		waitFor(t, "a link-local address on eth0", func() bool {
			l, _ := x.LinkByName("eth0")
			as, _ := x.AddrList(l, netlink.FAMILY_V6)
			return slices.ContainsFunc(as, func(a netlink.Addr) bool {
				return a.IP.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0
			})
		})
	}
	return h
}

// writeSys writes a /proc/sys parameter in the calling thread's namespace.
func writeSys(key, v string) error {
	return os.WriteFile(filepath.Join("/proc/sys", key), []byte(v+"\n"), 0)
}

// advertise sends a router advertisement out of g's eth0 with the given
// router lifetime (0 withdraws the default route).
func (h *raHost) advertise(lifetime uint16) {
	h.t.Helper()
	if err := h.g.Advertise("eth0", lifetime); err != nil {
		h.t.Fatal(err)
	}
}

// defaults returns h's IPv6 default routes in the main table, as
// "via GW dev DEV metric N proto P".
func (h *raHost) defaults() []string {
	h.t.Helper()
	rs, err := h.ns.Handle.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		if r.Dst != nil && !r.Dst.IP.IsUnspecified() {
			continue
		}
		r.Dst = defaultNet(netlink.FAMILY_V6)
		out = append(out, fromNetlink(r, h.name).String()+" proto "+r.Protocol.String())
	}
	slices.Sort(out)
	return out
}

func (h *raHost) name(i int) string {
	l, err := h.ns.Handle.LinkByIndex(i)
	if err != nil {
		return ""
	}
	return l.Attrs().Name
}

// learned reports whether one of routes is a default route from a router
// advertisement at metric m.
func learned(routes []string, m string) bool {
	return slices.ContainsFunc(routes, func(r string) bool {
		return strings.Contains(r, "via fe80::") && strings.HasSuffix(r, " metric "+m+" proto ra")
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

const ours6 = "default (inet6) via 2001:db8:2::1 dev eth0 metric 1 proto static"

// TestKernelNATIPv6KeepsRADefault: on a real server whose IPv6 default
// route comes from router advertisements, nat puts lvs-rs's route in
// front (metric 1) and leaves the learned one to the kernel: while
// started, replies go via the director and a new advertisement changes
// nothing; stop deletes lvs-rs's route alone; and the learned route is
// still the kernel's, withdrawn by the router's next advertisement.
// Before, lvs-rs replaced the learned route and stop put it back as a
// permanent static route that a withdrawal no longer removed.
func TestKernelNATIPv6KeepsRADefault(t *testing.T) {
	h := newRAHost(t)
	h.advertise(1800)
	waitFor(t, "the advertised default route", func() bool { return learned(h.defaults(), "1024") })
	before := h.snap()

	res := h.start(Desired{Gateways: gws(g6)})
	if len(res.Changes) != 1 || res.Changes[0].Kind != ReplaceRoute || res.Changes[0].Old != nil {
		t.Errorf("start: %q, want one route added, replacing none", kinds(res.Changes))
	}
	got := h.defaults()
	if !slices.Contains(got, ours6) || !learned(got, "1024") || len(got) != 2 {
		t.Errorf("default routes after start: %q; want lvs-rs's (%s) and the advertised one", got, ours6)
	}
	rs, err := h.ns.Handle.RouteGet(net.ParseIP("2001:db8:9::7"))
	if err != nil || len(rs) == 0 || !rs[0].Gw.Equal(net.ParseIP("2001:db8:2::1")) {
		t.Errorf("route get 2001:db8:9::7 = %+v, %v; want via the director 2001:db8:2::1", rs, err)
	}
	h.advertise(1800)
	time.Sleep(200 * time.Millisecond)
	if r := h.status(nil); len(r.Drift) != 0 || len(r.Warnings) != 0 || r.Route == nil || r.Route.Owner != "lvs-rs" || r.Route.Replaced != "" {
		t.Errorf("status after a new advertisement: drift %q, warnings %q, route %+v", r.Drift, r.Warnings, r.Route)
	}

	if res := h.stop(); len(res.Warnings) != 0 {
		t.Errorf("stop warns %q", res.Warnings)
	}
	if got := h.defaults(); len(got) != 1 || !learned(got, "1024") {
		t.Errorf("default routes after stop: %q; want the advertised one alone", got)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}
	h.advertise(0)
	waitFor(t, "the withdrawn default route to go", func() bool { return len(h.defaults()) == 0 })
}

// TestKernelNATIPv6CompetingRADefault: a router advertisement whose
// default route lands at lvs-rs's metric (ra_defrtr_metric=1) sits beside
// lvs-rs's route, and the kernel may send replies through it: status
// warns, naming the fix; stop leaves it. With it there, start refuses to
// replace it (lvs-rs could not put it back as the kernel's) and changes
// nothing.
func TestKernelNATIPv6CompetingRADefault(t *testing.T) {
	h := newRAHost(t)
	h.setSysctl("net/ipv6/conf/eth0/ra_defrtr_metric", "1")
	before := h.snap()
	h.start(Desired{Gateways: gws(g6)})
	h.advertise(1800)
	waitFor(t, "the advertised default route at metric 1", func() bool { return learned(h.defaults(), "1") })
	if got := h.defaults(); !slices.Contains(got, ours6) {
		t.Errorf("default routes: %q; lvs-rs's %s missing", got, ours6)
	}
	r := h.status(nil)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "competes with lvs-rs's") || !strings.Contains(r.Warnings[0], "ra_defrtr_metric") {
		t.Errorf("status warnings %q; want one naming the advertised route that competes", r.Warnings)
	}
	h.stop()
	if got := h.defaults(); len(got) != 1 || !learned(got, "1") {
		t.Errorf("default routes after stop: %q; want the advertised one alone", got)
	}

	learnedOnly := h.snap()
	var err error
	h.in(func() error { _, err = Start(t.Context(), Desired{Gateways: gws(g6)}, h.opt); return nil })
	if err == nil || !strings.Contains(err.Error(), "router advertisement") {
		t.Errorf("start over an advertised route at metric 1 = %v; want a refusal naming the router advertisement", err)
	}
	if d := cmp.Diff(learnedOnly, h.snap()); d != "" {
		t.Errorf("the refused start changed the namespace (-before +after):\n%s", d)
	}
	h.stop()
	h.advertise(0)
	waitFor(t, "the withdrawn default route to go", func() bool { return len(h.defaults()) == 0 })
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("namespace (-before +after):\n%s", d)
	}
}

// TestKernelNATLinkLocalGateway: a nat gateway given as the director's
// link-local address with its interface (fe80::1%eth0) becomes
// "default via fe80::1 dev eth0", which stop deletes; an interface that
// does not exist is refused before any change, naming it.
func TestKernelNATLinkLocalGateway(t *testing.T) {
	h := newRAHost(t)
	before := h.snap()
	llgw := netip.MustParseAddr("fe80::1%eth0")
	res := h.start(Desired{Gateways: gws(llgw)})
	if len(res.Changes) != 1 || res.Changes[0].Kind != ReplaceRoute {
		t.Errorf("start: %q", kinds(res.Changes))
	}
	want := "default (inet6) via fe80::1 dev eth0 metric 1 proto static"
	if got := h.defaults(); !slices.Equal(got, []string{want}) {
		t.Errorf("default routes after start: %q, want %q", got, want)
	}
	if r := h.status(nil); len(r.Drift) != 0 || r.Route == nil || !r.Route.Present || r.Route.Owner != "lvs-rs" || r.Route.Gateway != llgw {
		t.Errorf("status: drift %q, route %+v", r.Drift, r.Route)
	}
	if res := h.start(Desired{Gateways: gws(llgw)}); len(res.Changes) != 0 {
		t.Errorf("second start: %q", kinds(res.Changes))
	}
	h.stop()
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}

	var err error
	h.in(func() error {
		_, err = Start(t.Context(), Desired{Gateways: gws(netip.MustParseAddr("fe80::1%eth9"))}, h.opt)
		return nil
	})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "eth9") {
		t.Errorf("start with gateway fe80::1%%eth9 = %v, want ErrInvalid naming eth9", err)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("the refused start changed the namespace (-before +after):\n%s", d)
	}
	if r := h.status(nil); r.Applied {
		t.Error("the refused start left a record")
	}
}
