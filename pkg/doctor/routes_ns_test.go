package doctor

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// TestNATGatewayMainTable: a default route in a policy table (table
// 100, metric 1) is not the host's default route; nat-gateway judges the
// main table's (via the director), in IPv4 and IPv6. The files under
// /proc/thread-self (this thread's namespace) are there, so a check that
// read /proc/net/ipv6_route, which lists every table, would see table
// 100's route win.
func TestNATGatewayMainTable(t *testing.T) {
	ns := nstest.New(t)
	h := ns.Handle
	la := netlink.NewLinkAttrs()
	la.Name = "eth0"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eth0", "peer0"} {
		l, err := h.LinkByName(name)
		if err == nil {
			err = h.LinkSetUp(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"10.3.0.11/24", "2001:db8:2::11/64"} {
		addr, _ := netlink.ParseAddr(a)
		addr.Flags = 0x02 // IFA_F_NODAD
		if err := h.AddrAdd(eth0, addr); err != nil {
			t.Fatal(err)
		}
	}
	deflt := func(gw string, table, metric int) {
		t.Helper()
		g := netip.MustParseAddr(gw)
		dst := &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}
		if g.Is6() {
			dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
		}
		r := netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: dst, Gw: g.AsSlice(), Table: table, Priority: metric}
		if err := h.RouteAdd(&r); err != nil {
			t.Fatalf("route default via %s table %d metric %d: %v", gw, table, metric, err)
		}
	}
	deflt("10.3.0.1", 254, 100)
	deflt("10.3.0.99", 100, 1)
	deflt("2001:db8:2::1", 254, 1024)
	deflt("2001:db8:2::99", 100, 1)

	host := Host{ProcRoot: "/proc/thread-self", SysRoot: "/sys", EtcRoot: t.TempDir()}
	for _, gw := range []string{"10.3.0.1", "2001:db8:2::1"} {
		tg := rsTarget(config.ModeNAT, "198.51.100.100")
		if netip.MustParseAddr(gw).Is6() {
			tg = rsTarget(config.ModeNAT, "2001:db8:1::100")
		}
		tg.Gateways = []netip.Addr{netip.MustParseAddr(gw)}
		var rs []Result
		if err := ns.Do(func() error {
			rs = checkNATGateway(t.Context(), host, tg)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !AllOK(rs) {
			t.Errorf("gateway %s, the main table's default route: %+v; want ok (table 100's route is not the host's)", gw, rs)
		}
	}
}
