package realserver

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// hopFlags are the next-hop flags lvs-rs records and sets again; the
// others (dead, linkdown, offload) are state the kernel reports.
const hopFlags = unix.RTNH_F_ONLINK

// fromNetlink converts a route the kernel reported; name names a link by
// its index.
func fromNetlink(r netlink.Route, name func(linkIndex int) string) Route {
	dst, _ := netip.AddrFromSlice(r.Dst.IP)
	out := Route{
		Dst:      netip.PrefixFrom(dst.Unmap(), 0),
		Table:    r.Table,
		Type:     r.Type,
		Protocol: int(r.Protocol),
		Scope:    int(r.Scope),
		Tos:      r.Tos,
		Metric:   r.Priority,
		Src:      ipAddr(r.Src),
		Realm:    r.Realm,
		Gateway:  ipAddr(r.Gw),
		Dev:      name(r.LinkIndex),
		OnLink:   r.Flags&hopFlags != 0,
		Metrics: RouteMetrics{
			MTU: r.MTU, MTULock: r.MTULock, Window: r.Window, RTT: r.Rtt, RTTVar: r.RttVar,
			Ssthresh: r.Ssthresh, Cwnd: r.Cwnd, AdvMSS: r.AdvMSS, Reordering: r.Reordering,
			Hoplimit: r.Hoplimit, InitCwnd: r.InitCwnd, Features: r.Features, RTOMin: r.RtoMin,
			RTOMinLock: r.RtoMinLock, InitRwnd: r.InitRwnd, QuickACK: r.QuickACK,
			Congctl: r.Congctl, FastOpenNoCookie: r.FastOpenNoCookie,
		},
	}
	switch {
	case r.Protocol == unix.RTPROT_RA:
		out.Opaque = "its origin in a router advertisement (the kernel updates and expires it, and would not update one put back)"
	case r.Encap != nil:
		out.Opaque = "an encapsulation (" + r.Encap.String() + ")"
	case r.Via != nil || r.NewDst != nil || r.MPLSDst != nil:
		out.Opaque = "a via, MPLS or NAT destination"
	case r.ILinkIndex != 0:
		out.Opaque = "an input interface"
	}
	for _, h := range r.MultiPath {
		out.NextHops = append(out.NextHops, NextHop{
			Gateway: ipAddr(h.Gw), Dev: name(h.LinkIndex), Weight: h.Hops + 1, OnLink: h.Flags&hopFlags != 0,
		})
		if h.Encap != nil || h.Via != nil || h.NewDst != nil {
			out.Opaque = "a next hop with an encapsulation or via"
		}
	}
	return out
}

// errNoDevice is returned when a route names a device that does not
// exist (any more).
type errNoDevice struct{ dev string }

func (e errNoDevice) Error() string { return fmt.Sprintf("device %s no longer exists", e.dev) }

// toNetlink builds the netlink form of r; index resolves device names.
func toNetlink(r Route, index func(string) (int, error)) (*netlink.Route, error) {
	c := r.canon()
	m := c.Metrics
	nr := &netlink.Route{
		Dst: ipNet(c.Dst), Gw: ipSlice(c.Gateway), Src: ipSlice(c.Src),
		Priority: c.Metric, Protocol: netlink.RouteProtocol(c.Protocol), Scope: netlink.Scope(c.Scope),
		Table: c.Table, Type: c.Type, Tos: c.Tos, Realm: c.Realm,
		MTU: m.MTU, MTULock: m.MTULock, Window: m.Window, Rtt: m.RTT, RttVar: m.RTTVar,
		Ssthresh: m.Ssthresh, Cwnd: m.Cwnd, AdvMSS: m.AdvMSS, Reordering: m.Reordering,
		Hoplimit: m.Hoplimit, InitCwnd: m.InitCwnd, Features: m.Features, RtoMin: m.RTOMin,
		RtoMinLock: m.RTOMinLock, InitRwnd: m.InitRwnd, QuickACK: m.QuickACK,
		Congctl: m.Congctl, FastOpenNoCookie: m.FastOpenNoCookie,
	}
	if c.OnLink {
		nr.Flags = unix.RTNH_F_ONLINK
	}
	if c.Dev != "" {
		i, err := index(c.Dev)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = i
	}
	for _, h := range c.NextHops {
		nh := &netlink.NexthopInfo{Gw: ipSlice(h.Gateway), Hops: max(h.Weight-1, 0)}
		if h.OnLink {
			nh.Flags = unix.RTNH_F_ONLINK
		}
		if h.Dev != "" {
			i, err := index(h.Dev)
			if err != nil {
				return nil, err
			}
			nh.LinkIndex = i
		}
		nr.MultiPath = append(nr.MultiPath, nh)
	}
	return nr, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ipSlice(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}

func ipAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}
