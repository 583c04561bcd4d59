package rtnl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// announceTable and announceProto are a director's announce routes.
const (
	announceTable = 100
	announceProto = 250
)

// newNS returns a namespace with a veth link (10.1.0.1/16) and the blackhole
// route 10.99.0.1/32 in the announce table.
func newNS(t testing.TB) *nstest.NS {
	ns := nstest.New(t)
	if err := ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "v0"}, PeerName: "v1"}); err != nil {
		t.Fatal(err)
	}
	v0, err := ns.Handle.LinkByName("v0")
	if err == nil {
		err = ns.Handle.LinkSetUp(v0)
	}
	if err == nil {
		err = ns.Handle.AddrAdd(v0, &netlink.Addr{IPNet: prefix("10.1.0.1/16")})
	}
	if err == nil {
		err = ns.Handle.RouteAdd(&netlink.Route{Dst: prefix("10.99.0.1/32"), Table: announceTable, Protocol: announceProto, Type: unix.RTN_BLACKHOLE})
	}
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func prefix(s string) *net.IPNet {
	p := netip.MustParsePrefix(s)
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// listAnnounce lists the announce table's routes, as the director does.
func listAnnounce(h *netlink.Handle) ([]netlink.Route, error) {
	return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: announceTable, Protocol: announceProto}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
}

// TestOpenChecksStrictly: the kernel reads an Open handle's dump requests
// strictly (it refuses a route dump whose header names a destination
// length, which it otherwise ignores), and the requests lvs-rs makes work
// through it.
func TestOpenChecksStrictly(t *testing.T) {
	ns := newNS(t)
	h, err := Open(netns.NsHandle(ns.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	byDst := func(h *netlink.Handle) error {
		_, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: prefix("10.1.0.0/16")}, netlink.RT_FILTER_DST)
		return err
	}
	if err := byDst(ns.Handle); err != nil {
		t.Fatalf("a plain handle's dump by destination: %v", err)
	}
	if err := byDst(h); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Open's dump by destination = %v, want EINVAL (the kernel's strict check)", err)
	}
	rs, err := listAnnounce(h)
	if err != nil || len(rs) != 1 || rs[0].Dst.String() != "10.99.0.1/32" {
		t.Errorf("announce routes through Open's handle: %v, %v", rs, err)
	}
	v0, err := h.LinkByName("v0")
	if err != nil {
		t.Fatal(err)
	}
	as, err := h.AddrList(v0, netlink.FAMILY_ALL)
	if err != nil || len(as) == 0 {
		t.Errorf("addresses of v0 through Open's handle: %v, %v", as, err)
	}
	if _, err := h.LinkList(); err != nil {
		t.Errorf("links through Open's handle: %v", err)
	}
}

// BenchmarkAnnounceRoutes lists a director's announce table (one route)
// on a host holding 20,000 routes in its main table, through a plain
// handle (the kernel dumps every route, the library filters) and through
// Open's (the kernel dumps the table). As root:
// go test -run '^$' -bench AnnounceRoutes ./internal/rtnl/
func BenchmarkAnnounceRoutes(b *testing.B) {
	ns := newNS(b)
	for i := range 20000 {
		dst := prefix(fmt.Sprintf("100.%d.%d.0/24", i/256, i%256))
		if err := ns.Handle.RouteAdd(&netlink.Route{Dst: dst, Gw: net.ParseIP("10.1.0.254")}); err != nil {
			b.Fatal(err)
		}
	}
	strict, err := Open(netns.NsHandle(ns.Fd()))
	if err != nil {
		b.Fatal(err)
	}
	defer strict.Close()
	for _, c := range []struct {
		name string
		h    *netlink.Handle
	}{{"plain", ns.Handle}, {"strict", strict}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if rs, err := listAnnounce(c.h); err != nil || len(rs) != 1 {
					b.Fatalf("%v, %v", rs, err)
				}
			}
		})
	}
}

// TestLinkGone: a lookup of a link that does not exist, by name or by
// index, is LinkGone; another error is not.
func TestLinkGone(t *testing.T) {
	ns := nstest.New(t)
	_, byName := ns.Handle.LinkByName("nosuch0")
	_, byIndex := ns.Handle.LinkByIndex(9999)
	for what, err := range map[string]error{"by name": byName, "by index": byIndex, "wrapped ENODEV": fmt.Errorf("bind: %w", unix.ENODEV)} {
		if !LinkGone(err) {
			t.Errorf("%s: LinkGone(%v) = false", what, err)
		}
	}
	if LinkGone(unix.EPERM) || LinkGone(nil) {
		t.Error("LinkGone holds for EPERM or nil")
	}
}
