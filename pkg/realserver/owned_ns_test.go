package realserver

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestKernelStopVIPReaddedWithoutLabel: someone removes the VIP lvs-rs
// bound on lo and adds it back by hand without its label (ip addr add
// VIP/32 dev lo). The VIP is still lvs-rs's (device and prefix), so stop
// removes it and then restores the ARP sysctls: the namespace ends as it
// was before start.
func TestKernelStopVIPReaddedWithoutLabel(t *testing.T) {
	h := newHost(t)
	h.setSysctl(allA, "1")
	before := h.snap()
	h.start(Desired{Bindings: dr(vip1)})
	lo, err := h.ns.Handle.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	ipnet := &net.IPNet{IP: net.IP(vip1.AsSlice()), Mask: net.CIDRMask(32, 32)}
	if err := h.ns.Handle.AddrDel(lo, &netlink.Addr{IPNet: ipnet, Label: "lo:0"}); err != nil {
		t.Fatal(err)
	}
	if err := h.ns.Handle.AddrAdd(lo, &netlink.Addr{IPNet: ipnet}); err != nil {
		t.Fatal(err)
	}
	if !hasAddr(t, h.ns.Handle, vip.Addr{Dev: "lo", Prefix: vip.HostPrefix(vip1)}) {
		t.Fatal("the VIP was not re-added without a label")
	}
	res := h.stop()
	if len(res.Warnings) != 0 {
		t.Errorf("stop warns %q", res.Warnings)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}
	if r := h.status(nil); r.Applied {
		t.Error("record left after stop")
	}
}

// TestKernelStricterArpIgnoreKept: all/arp_ignore is 2 before start, which
// keeps a dr VIP at least as quiet as 1 (the kernel applies the larger of
// conf/all and conf/DEV). Start leaves it at 2 and records nothing for
// it, status reports no drift, and stop leaves it at 2.
func TestKernelStricterArpIgnoreKept(t *testing.T) {
	h := newHost(t)
	h.setSysctl(allI, "2")
	before := h.snap()
	d := Desired{Bindings: dr(vip1)}
	h.start(d)
	if got := h.sysctl(allI); got != "2" {
		t.Errorf("all/arp_ignore = %s after start, want 2 left as is", got)
	}
	rec, _, err := h.opt.load()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rec.Sysctls {
		if s.Key == allI {
			t.Errorf("record holds %+v, which lvs-rs never wrote", s)
		}
	}
	for _, want := range []*Desired{nil, &d} {
		r := h.status(want)
		if len(r.Drift) != 0 {
			t.Errorf("status drift %q", r.Drift)
		}
		for _, row := range r.Sysctls {
			if !row.OK {
				t.Errorf("status row %+v not ok", row)
			}
		}
	}
	h.stop()
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}
}

// TestKernelVIPAddedByAnotherTool: another tool adds the VIP on lo after
// start saw it absent, right before lvs-rs binds it. The bind is refused
// (EEXIST) and the VIP is not recorded, so stop leaves it on lo (and
// restores the sysctls); the next start adopts it.
func TestKernelVIPAddedByAnotherTool(t *testing.T) {
	h := newHost(t)
	foreign := vip.Addr{Dev: "lo", Prefix: vip.HostPrefix(vip1)}
	opt := h.opt
	opt.afterWrite = func(what string) {
		if what == "sysctl "+allA+"=2" { // the last write before the bind
			if err := vip.Bind(h.ns.Handle, foreign); err != nil {
				t.Error(err)
			}
		}
	}
	d := Desired{Bindings: dr(vip1)}
	var err error
	h.in(func() error { _, err = Start(context.Background(), d, opt); return nil })
	if !errors.Is(err, unix.EEXIST) {
		t.Fatalf("start = %v, want EEXIST from the bind", err)
	}
	if rec, _, err := h.opt.load(); err != nil || len(rec.Addresses) != 0 {
		t.Errorf("record after the refused bind: %+v, %v", rec.Addresses, err)
	}
	if r := h.status(&d); len(r.VIPs) != 1 || r.VIPs[0].Owner != "adopted" {
		t.Errorf("status: %+v", r.VIPs)
	}
	h.start(d)
	h.stop()
	if !hasAddr(t, h.ns.Handle, foreign) {
		t.Error("stop removed the VIP another tool added")
	}
	if h.sysctl(allI) != "0" {
		t.Errorf("all/arp_ignore = %s after stop, want 0", h.sysctl(allI))
	}
}

// TestKernelAppendedDefaultRouteRestored: two IPv4 default routes share
// metric 0 (the second added with ip route append). nat replaces the
// first; stop puts it back in front of the other, as it was, instead of
// failing with EEXIST and forgetting it.
func TestKernelAppendedDefaultRouteRestored(t *testing.T) {
	h := newHost(t)
	nh := h.ns.Handle
	if err := nh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eth0", "peer0"} {
		h.setSysctl("net/ipv6/conf/"+name+"/disable_ipv6", "1")
		l, err := nh.LinkByName(name)
		if err == nil {
			err = nh.LinkSetUp(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	eth0, _ := nh.LinkByName("eth0")
	if err := nh.AddrAdd(eth0, &netlink.Addr{IPNet: mustNet("10.9.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	if err := nh.RouteAdd(&netlink.Route{Gw: net.ParseIP("10.9.0.254"), LinkIndex: eth0.Attrs().Index}); err != nil {
		t.Fatal(err)
	}
	if err := nh.RouteAppend(&netlink.Route{Gw: net.ParseIP("10.9.0.253"), LinkIndex: eth0.Attrs().Index}); err != nil {
		t.Fatal(err)
	}
	order := func() []string { // the kernel's order of the default routes
		var out []string
		rs, err := nh.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				out = append(out, r.Gw.String())
			}
		}
		return out
	}
	before, first := h.snap(), order()
	h.start(Desired{Bindings: bind(config.ModeNAT, vip1), Gateways: gws(natGW)})
	if got := order(); !slices.Equal(got, []string{natGW.String(), "10.9.0.253"}) {
		t.Errorf("default routes after start: %v", got)
	}
	if res := h.stop(); len(res.Warnings) != 0 {
		t.Errorf("stop warns %q", res.Warnings)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}
	if got := order(); !slices.Equal(got, first) {
		t.Errorf("default routes after stop: %v, want %v", got, first)
	}
}
