package vip

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// pair links two namespaces by a veth (dev in a, peer in b), both ends up,
// each with an address of 2001:db8:1::/64 (no duplicate address
// detection, so they are usable at once).
func pair(t *testing.T, a, b *nstest.NS, dev, peer, addrA, addrB string) {
	t.Helper()
	if err := a.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: dev}, PeerName: peer, PeerNamespace: netlink.NsFd(b.Fd())}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		ns   *nstest.NS
		dev  string
		addr string
	}{{a, dev, addrA}, {b, peer, addrB}} {
		l, err := x.ns.Handle.LinkByName(x.dev)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.ns.Handle.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
		p := netip.MustParsePrefix(x.addr)
		ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 128)}
		if err := x.ns.Handle.AddrAdd(l, &netlink.Addr{IPNet: ipn, Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatal(err)
		}
	}
}

// serve listens on [::]:port in ns and accepts until the test ends; each
// connection is sent the local address it was accepted on.
func serve(t *testing.T, ns *nstest.NS, port string) {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp6", "[::]:"+port); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = io.WriteString(c, c.LocalAddr().(*net.TCPAddr).IP.String())
			c.Close()
		}
	}()
}

// dial connects from ns to addr and returns what the server sent (the
// address it accepted on) and the connection's local address.
func dial(ns *nstest.NS, addr string) (got, local string, err error) {
	err = ns.Do(func() error {
		c, err := net.DialTimeout("tcp6", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(c)
		got, local = string(b), c.LocalAddr().(*net.TCPAddr).IP.String()
		return err
	})
	return got, local, err
}

// TestIPv6VIPNeverSource: an IPv6 VIP bound by Bind on the director's
// interface (as the director binds it) is deprecated, so it is not the
// source of the director's own traffic to its /64 (RFC 6724 rule 8 would
// pick it, the longest match), while a connection to the VIP is accepted
// and answered from it. A dr real server holding the VIP on lo, bound by
// Bind too, is then reached by the director: with the VIP as source, its
// SYN-ACK went to its own lo and the connection timed out.
func TestIPv6VIPNeverSource(t *testing.T) {
	dir, rs, client := nstest.New(t), nstest.New(t), nstest.New(t)
	pair(t, dir, rs, "eth0", "eth1", "2001:db8:1::2/64", "2001:db8:1::101/64")
	pair(t, dir, client, "eth2", "eth3", "2001:db8:9::2/64", "2001:db8:9::7/64")
	vipAddr := netip.MustParseAddr("2001:db8:1::100")
	if err := Bind(dir.Handle, Addr{Dev: "eth0", Prefix: HostPrefix(vipAddr)}); err != nil {
		t.Fatal(err)
	}
	// Clients reach the VIP itself: the director answers neighbour
	// solicitations for its deprecated address and accepts and answers a
	// connection to it, from a neighbour (before that neighbour holds the
	// VIP on lo as a dr real server) and from another subnet.
	serve(t, dir, "80")
	if got, _, err := dial(rs, "[2001:db8:1::100]:80"); err != nil || got != vipAddr.String() {
		t.Errorf("neighbour -> VIP: accepted on %q, %v; want %v", got, err, vipAddr)
	}
	if err := client.Handle.RouteAdd(&netlink.Route{Dst: &net.IPNet{IP: net.ParseIP("2001:db8:1::"), Mask: net.CIDRMask(64, 128)}, Gw: net.ParseIP("2001:db8:9::2")}); err != nil {
		t.Fatal(err)
	}
	if err := dir.Do(func() error {
		return writeProc("/proc/sys/net/ipv6/conf/all/forwarding", "1")
	}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := dial(client, "[2001:db8:1::100]:80"); err != nil || got != vipAddr.String() {
		t.Errorf("client -> VIP: accepted on %q, %v; want %v", got, err, vipAddr)
	}

	if err := Bind(rs.Handle, Addr{Dev: "lo", Prefix: HostPrefix(vipAddr), HostScope: true}); err != nil {
		t.Fatal(err)
	}
	// The kernel holds both deprecated, valid forever.
	for _, x := range []struct {
		ns  *nstest.NS
		dev string
	}{{dir, "eth0"}, {rs, "lo"}} {
		l, _ := x.ns.Handle.LinkByName(x.dev)
		as, err := x.ns.Handle.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(as, func(a netlink.Addr) bool { return a.IP.Equal(vipAddr.AsSlice()) })
		if i < 0 {
			t.Fatalf("%s: VIP missing from %v", x.dev, as)
		}
		if a := as[i]; a.Flags&unix.IFA_F_DEPRECATED == 0 || a.PreferedLft != 0 || uint32(a.ValidLft) != 0xFFFFFFFF {
			t.Errorf("VIP on %s: flags %#x preferred_lft %d valid_lft %d; want deprecated, 0, forever", x.dev, a.Flags, a.PreferedLft, a.ValidLft)
		}
	}

	// The kernel's choice of source towards a neighbour of the VIP's /64.
	routes, err := dir.Handle.RouteGet(net.ParseIP("2001:db8:1::101"))
	if err != nil {
		t.Fatal(err)
	}
	if src, _ := netip.AddrFromSlice(routes[0].Src); src != netip.MustParseAddr("2001:db8:1::2") {
		t.Errorf("route get 2001:db8:1::101: src %v, want the interface's 2001:db8:1::2 (never the VIP %v)", src, vipAddr)
	}

	// A direct check from the director to the dr real server, over TCP.
	serve(t, rs, "8080")
	if got, local, err := dial(dir, "[2001:db8:1::101]:8080"); err != nil || local != "2001:db8:1::2" {
		t.Errorf("director -> real server: accepted on %q from %q, %v; want a connection from 2001:db8:1::2", got, local, err)
	}

	// The real server accepts connections to its deprecated VIP on lo, as
	// a dr real server must: a host routing the VIP to it (as the
	// director's dr forwarding does) connects.
	fwd := nstest.New(t)
	pair(t, fwd, rs, "eth4", "eth5", "2001:db8:5::2/64", "2001:db8:5::101/64")
	if err := fwd.Handle.RouteAdd(&netlink.Route{Dst: &net.IPNet{IP: vipAddr.AsSlice(), Mask: net.CIDRMask(128, 128)}, Gw: net.ParseIP("2001:db8:5::101")}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := dial(fwd, "[2001:db8:1::100]:8080"); err != nil || got != vipAddr.String() {
		t.Errorf("-> VIP on the real server's lo: accepted on %q, %v; want %v", got, err, vipAddr)
	}
}

// TestIPv6AdoptedVIPListsAlike: a VIP another tool bound without
// deprecation (valid and preferred forever) lists as the same Addr as one
// Bind made, so callers adopt it by device and prefix; Bind refuses it
// with EEXIST and leaves it as it was.
func TestIPv6AdoptedVIPListsAlike(t *testing.T) {
	ns := nstest.New(t)
	veth(t, ns, "vip0")
	ours := Addr{Dev: "vip0", Prefix: netip.MustParsePrefix("2001:db8::100/128")}
	theirs := Addr{Dev: "vip0", Prefix: netip.MustParsePrefix("2001:db8::200/128")}
	if err := Bind(ns.Handle, ours); err != nil {
		t.Fatal(err)
	}
	l, _ := ns.Handle.LinkByName("vip0")
	foreign := &netlink.Addr{IPNet: &net.IPNet{IP: theirs.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(128, 128)}, Flags: unix.IFA_F_NODAD}
	if err := ns.Handle.AddrAdd(l, foreign); err != nil {
		t.Fatal(err)
	}
	got, err := List(ns.Handle, "vip0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Addr{ours, theirs} {
		if !slices.Contains(got, want) {
			t.Errorf("List(vip0) = %v; missing %v", got, want)
		}
	}
	if err := Bind(ns.Handle, theirs); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Bind over the foreign IPv6 VIP = %v, want EEXIST", err)
	}
	as, _ := ns.Handle.AddrList(l, netlink.FAMILY_V6)
	for _, a := range as {
		if a.IP.Equal(theirs.Prefix.Addr().AsSlice()) && a.Flags&unix.IFA_F_DEPRECATED != 0 {
			t.Errorf("the foreign VIP became deprecated: flags %#x", a.Flags)
		}
	}
}

// writeProc writes a /proc/sys file in the calling thread's namespace.
func writeProc(path, v string) error {
	fd, err := unix.Open(path, unix.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(v+"\n"))
	return err
}
