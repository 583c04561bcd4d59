package main

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// addAddr adds p to link in ns; deprecated adds it as lvs-rs binds an
// IPv6 VIP (preferred lifetime 0, no DAD).
func addAddr(t *testing.T, ns *nstest.NS, link netlink.Link, p string, deprecated bool) {
	t.Helper()
	pf := netip.MustParsePrefix(p)
	a := &netlink.Addr{IPNet: &net.IPNet{IP: pf.Addr().AsSlice(), Mask: net.CIDRMask(pf.Bits(), pf.Addr().BitLen())}}
	if pf.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
		if deprecated {
			a.PreferedLft, a.ValidLft = 0, 0xFFFFFFFF
		}
	}
	if err := ns.Handle.AddrAdd(link, a); err != nil {
		t.Fatalf("add %s: %v", p, err)
	}
}

// TestDirectorSourceSkipsHeldVIPs: the source of the checks through the
// VIP is the director's own address, never a VIP lvs-rs still keeps bound
// for a service that left the file (held), nor an IPv6 VIP that the
// kernel lists before the director's address because it is newer.
func TestDirectorSourceSkipsHeldVIPs(t *testing.T) {
	ns := nstest.New(t)
	if err := ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	link, err := ns.Handle.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	// The leaving VIP was bound before the director's address was
	// (renumbered), so the kernel lists it first.
	addAddr(t, ns, link, "10.0.0.200/32", false)
	addAddr(t, ns, link, "10.0.0.10/24", false)
	addAddr(t, ns, link, "10.0.0.100/32", false)
	addAddr(t, ns, link, "2001:db8::10/64", false)
	addAddr(t, ns, link, "2001:db8::100/128", true)
	addAddr(t, ns, link, "2001:db8::200/128", true)
	cfg := &config.Config{Director: config.Director{Interface: "eth0"}, VirtualServers: []config.VirtualServer{
		{VIP: netip.MustParseAddr("10.0.0.100")}, {VIP: netip.MustParseAddr("2001:db8::100")},
	}}
	held := []netip.Addr{netip.MustParseAddr("10.0.0.200"), netip.MustParseAddr("2001:db8::200")}
	for _, tc := range []struct {
		v6   bool
		want string
	}{{false, "10.0.0.10"}, {true, "2001:db8::10"}} {
		got, err := directorSource(ns.Handle, cfg, tc.v6, held)
		if err != nil || got != netip.MustParseAddr(tc.want) {
			t.Errorf("source (v6 %v): %v, %v; want %s", tc.v6, got, err, tc.want)
		}
	}
	// Only deprecated addresses besides the VIPs: one of them, rather
	// than no source at all.
	only := &config.Config{Director: config.Director{Interface: "eth0"}, VirtualServers: []config.VirtualServer{
		{VIP: netip.MustParseAddr("2001:db8::10")}, {VIP: netip.MustParseAddr("2001:db8::100")},
	}}
	if got, err := directorSource(ns.Handle, only, true, nil); err != nil || got != netip.MustParseAddr("2001:db8::200") {
		t.Errorf("source with only a deprecated address left: %v, %v; want 2001:db8::200", got, err)
	}
}
