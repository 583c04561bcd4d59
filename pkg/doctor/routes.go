package doctor

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
)

// route is one route of the main table.
type route struct {
	Dev     string // "" for a route that sends nowhere (Kind set)
	Dst     netip.Prefix
	Gateway netip.Addr // zero when directly connected
	Metric  uint32
	// Kind is "" for a unicast route, else what the route does with a
	// packet instead: "blackhole", "unreachable", "prohibit" or "throw".
	Kind string
}

// routes returns the IPv4 and IPv6 routes of the main table, the one the
// host routes by unless policy rules say otherwise (/proc/net/ipv6_route
// lists every table: a policy table's default route is not the host's).
// They are read over netlink in the caller's network namespace, through
// h.routeList when set (tests).
func (h Host) routes() ([]route, error) {
	if h.routeList != nil {
		return h.routeList()
	}
	return mainRoutes()
}

// mainRoutes dumps the main table over rtnetlink, the kernel filtering
// it where it can (strict checking).
func mainRoutes() ([]route, error) {
	nh, err := rtnl.Open(netns.None())
	if err != nil {
		return nil, err
	}
	defer nh.Close()
	nl, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return nh.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	links, err := nlretry.Dump(nh.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	var out []route
	for _, r := range nl {
		out = append(out, fromNetlink(r, names)...)
	}
	return out, nil
}

// routeKinds names the route types kept besides unicast: each holds its
// destination like a unicast route (a lower metric wins) but sends
// nowhere.
var routeKinds = map[int]string{
	unix.RTN_BLACKHOLE:   "blackhole",
	unix.RTN_UNREACHABLE: "unreachable",
	unix.RTN_PROHIBIT:    "prohibit",
	unix.RTN_THROW:       "throw",
}

// fromNetlink is r as routes, one per next hop; none for a type other
// than unicast and routeKinds (local, broadcast, ...).
func fromNetlink(r netlink.Route, names map[int]string) []route {
	kind, other := routeKinds[r.Type]
	if r.Type != unix.RTN_UNICAST && !other {
		return nil
	}
	base := route{Metric: uint32(r.Priority), Kind: kind}
	if r.Dst != nil {
		a, _ := netip.AddrFromSlice(r.Dst.IP)
		ones, _ := r.Dst.Mask.Size()
		base.Dst = netip.PrefixFrom(a.Unmap(), ones)
	} else if r.Family == netlink.FAMILY_V6 {
		base.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	} else {
		base.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	hop := func(link int, gw []byte) route {
		x := base
		if kind == "" {
			x.Dev = names[link]
		}
		if a, ok := netip.AddrFromSlice(gw); ok && !a.IsUnspecified() {
			x.Gateway = a.Unmap()
		}
		return x
	}
	if len(r.MultiPath) == 0 {
		return []route{hop(r.LinkIndex, r.Gw)}
	}
	var out []route
	for _, nh := range r.MultiPath {
		out = append(out, hop(nh.LinkIndex, nh.Gw))
	}
	return out
}

// defaultRoute returns the default route that wins (lowest metric, the
// first on a tie) of the family, or nil.
func defaultRoute(rs []route, v6 bool) *route {
	var best *route
	for i := range rs {
		r := &rs[i]
		if r.Dst.Bits() != 0 || r.Dst.Addr().Is6() != v6 {
			continue
		}
		if best == nil || r.Metric < best.Metric {
			best = r
		}
	}
	return best
}

// deviceDefault is the IPv4 default route that wins when it sends
// packets out a device, else nil (none, or a blackhole or the like wins).
func deviceDefault(rs []route) *route {
	if r := defaultRoute(rs, false); r != nil && r.Kind == "" {
		return r
	}
	return nil
}
