package director

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// TestIPv6VIPDeprecatedOrAdopted: on a real kernel, the director binds
// its IPv6 VIP deprecated, which status and a second start take for the
// VIP (no drift, nothing to do); a VIP another tool bound without
// deprecation is adopted as it is: not bound, not owned, not changed,
// not drift, and left by stop with its lifetimes.
func TestIPv6VIPDeprecatedOrAdopted(t *testing.T) {
	cfg := func(vips ...string) *config.Config {
		c := &config.Config{Director: config.Director{Interface: "eth0"}}
		for _, v := range vips {
			a := netip.MustParseAddr(v)
			c.VirtualServers = append(c.VirtualServers, config.VirtualServer{VIP: a, Port: 80, Protocol: config.TCP, Scheduler: "rr", Mode: config.ModeDR,
				PersistenceNetmask: 128, RealServers: []config.RealServer{{Address: netip.MustParseAddr("2001:db8:1::11"), Port: 80, Weight: 1, Mode: config.ModeDR}}})
		}
		return c
	}
	b := newBed(t)
	eth0, err := b.ns.Handle.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	// Another tool's VIP: valid and preferred forever.
	theirs := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("2001:db8:1::200"), Mask: net.CIDRMask(128, 128)}, Flags: unix.IFA_F_NODAD}
	if err := b.ns.Handle.AddrAdd(eth0, theirs); err != nil {
		t.Fatal(err)
	}
	flags := func(ip string) (int, bool) {
		as, err := b.ns.Handle.AddrList(eth0, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(as, func(a netlink.Addr) bool { return a.IP.Equal(net.ParseIP(ip)) })
		if i < 0 {
			return 0, false
		}
		return as[i].Flags, true
	}
	c := cfg("2001:db8:1::100", "2001:db8:1::200")
	res := b.start(c)
	var binds []string
	for _, ch := range res.Changes {
		if ch.Kind == Bind {
			binds = append(binds, ch.Addr().Prefix.String())
		}
	}
	if !slices.Equal(binds, []string{"2001:db8:1::100/128"}) {
		t.Errorf("start bound %v, want only lvs-rs's 2001:db8:1::100/128", binds)
	}
	if f, ok := flags("2001:db8:1::100"); !ok || f&unix.IFA_F_DEPRECATED == 0 {
		t.Errorf("lvs-rs's VIP: present %v, flags %#x; want deprecated", ok, f)
	}
	if f, _ := flags("2001:db8:1::200"); f&unix.IFA_F_DEPRECATED != 0 {
		t.Errorf("the adopted VIP became deprecated: flags %#x", f)
	}
	if res := b.start(c); len(res.Changes) != 0 {
		t.Errorf("second start: %v", res.Changes)
	}
	rep, err := Status(context.Background(), c, b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drifted() {
		t.Errorf("status drifts: %q", rep.Drift)
	}
	owned := map[string]bool{}
	for _, v := range rep.VIPs {
		if !v.Present {
			t.Errorf("status: %s not present", v.Address)
		}
		owned[v.Address.String()] = v.Owned
	}
	if !owned["2001:db8:1::100"] || owned["2001:db8:1::200"] {
		t.Errorf("status owners %v; want lvs-rs's ::100 owned, ::200 adopted", owned)
	}
	if _, err := Stop(context.Background(), b.opts()); err != nil {
		t.Fatal(err)
	}
	if _, ok := flags("2001:db8:1::100"); ok {
		t.Error("stop left lvs-rs's VIP")
	}
	if f, ok := flags("2001:db8:1::200"); !ok || f&unix.IFA_F_DEPRECATED != 0 {
		t.Errorf("after stop the adopted VIP: present %v, flags %#x; want it as it was", ok, f)
	}
}
