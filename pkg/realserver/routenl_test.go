package realserver

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestRouteNetlinkRoundTrip: a route the kernel reports comes back as the
// same netlink request, every recorded field included.
func TestRouteNetlinkRoundTrip(t *testing.T) {
	names := map[int]string{2: "eth0", 3: "eth1"}
	index := func(dev string) (int, error) {
		for i, n := range names {
			if n == dev {
				return i, nil
			}
		}
		return 0, errNoDevice{dev}
	}
	in := netlink.Route{
		Dst: ipNet(defaultDst(gw)), Src: net.ParseIP("10.1.0.5").To4(), Protocol: unix.RTPROT_BOOT, Priority: 7,
		Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Scope: netlink.SCOPE_UNIVERSE, Tos: 0, Realm: 3,
		MTU: 1400, AdvMSS: 1360, Hoplimit: 32, InitCwnd: 10, Congctl: "cubic",
		MultiPath: []*netlink.NexthopInfo{
			{LinkIndex: 2, Gw: net.ParseIP("10.1.0.254").To4(), Hops: 0},
			{LinkIndex: 3, Gw: net.ParseIP("10.2.0.254").To4(), Hops: 2, Flags: unix.RTNH_F_ONLINK | unix.RTNH_F_LINKDOWN},
		},
	}
	r := fromNetlink(in, func(i int) string { return names[i] })
	if r.Opaque != "" || len(r.NextHops) != 2 || r.NextHops[1].Weight != 3 || !r.NextHops[1].OnLink {
		t.Fatalf("fromNetlink = %+v", r)
	}
	out, err := toNetlink(r, index)
	if err != nil {
		t.Fatal(err)
	}
	in.MultiPath[1].Flags = unix.RTNH_F_ONLINK // linkdown is state, not set
	if d := cmp.Diff(&in, out); d != "" {
		t.Errorf("round trip (-kernel +request):\n%s", d)
	}
	names = map[int]string{2: "eth0"}
	if _, err := toNetlink(r, index); err == nil || err.Error() != "device eth1 no longer exists" {
		t.Errorf("toNetlink with eth1 gone = %v", err)
	}
	in.Encap = &netlink.MPLSEncap{Labels: []int{100}}
	if r := fromNetlink(in, func(i int) string { return names[i] }); r.Opaque == "" {
		t.Error("a route with an encapsulation is not marked opaque")
	}
}
