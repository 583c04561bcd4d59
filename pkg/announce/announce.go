package announce

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
)

// DefaultProtocol is lvs-rs's route protocol number (rtm_protocol). 250
// is unassigned in iproute2's rt_protos and in the kernel's RTPROT_*
// list; `ip route show table N proto 250` shows lvs-rs's routes.
const DefaultProtocol uint8 = 250

// Table names the routes of one routing table and protocol: those
// lvs-rs announces through.
type Table struct {
	Table    uint32
	Protocol uint8
}

// String renders "table 100 proto 250".
func (t Table) String() string { return fmt.Sprintf("table %d proto %d", t.Table, t.Protocol) }

// Route is the kernel route announcing p in t: a blackhole, tagged with
// t's protocol.
func Route(t Table, p netip.Prefix) *netlink.Route {
	a := p.Addr()
	return &netlink.Route{
		Dst:      &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())},
		Table:    int(t.Table),
		Protocol: netlink.RouteProtocol(t.Protocol),
		Type:     unix.RTN_BLACKHOLE,
	}
}

// List returns the prefixes of the routes of t (its table and protocol,
// both families) through h, sorted: the routes lvs-rs owns there. h's
// socket timeout bounds the dump (internal/rtnl handles have one).
func List(h *netlink.Handle, t Table) ([]netip.Prefix, error) {
	filter := &netlink.Route{Table: int(t.Table), Protocol: netlink.RouteProtocol(t.Protocol)}
	routes, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		return nil, fmt.Errorf("announce: list routes of %s: %w", t, err)
	}
	out := make([]netip.Prefix, 0, len(routes))
	for _, rt := range routes {
		if p, ok := prefixOf(rt.Dst); ok {
			out = append(out, p)
		}
	}
	sortPrefixes(out)
	return out, nil
}

// prefixOf converts a route destination (nil for a default route).
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// AddRoute adds the blackhole route for p in t through h; EEXIST when the
// table has a route for p already (another program's: Plan adds only
// missing ones).
func AddRoute(h *netlink.Handle, t Table, p netip.Prefix) error {
	if err := h.RouteAdd(Route(t, p)); err != nil {
		return fmt.Errorf("announce: add blackhole %v %s: %w", p, t, err)
	}
	return nil
}

// DeleteRoute deletes the route for p of t's protocol through h; a route that
// is already gone (ESRCH, ENOENT) is success. The delete names the
// protocol, so another program's route for p is never removed.
func DeleteRoute(h *netlink.Handle, t Table, p netip.Prefix) error {
	err := h.RouteDel(Route(t, p))
	if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("announce: delete %v %s: %w", p, t, err)
	}
	return nil
}
