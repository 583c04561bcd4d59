package announce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DefaultProtocol is lvs-rs's route protocol number (rtm_protocol). 250
// is unassigned in iproute2's rt_protos and in the kernel's RTPROT_*
// list; `ip route show table N proto 250` shows lvs-rs's routes.
const DefaultProtocol netlink.RouteProtocol = 250

// DefaultTimeout bounds a kernel call when the context has no deadline.
const DefaultTimeout = 5 * time.Second

// Routes reads and writes the announce routes of one table and protocol
// through a netlink handle of its own. Its methods may be called from
// several goroutines; calls are serialised.
type Routes struct {
	mu    sync.Mutex
	h     *netlink.Handle
	table int
	proto netlink.RouteProtocol
}

// Open returns Routes for table (1-0xFFFFFFFF except the main and local
// tables, 254 and 255) and protocol proto (DefaultProtocol when 0) in the
// network namespace ns (netns.None() for the calling thread's). It opens
// its own netlink handle, whose socket timeout follows each call's
// context; Close releases it.
func Open(ns netns.NsHandle, table int, proto netlink.RouteProtocol) (*Routes, error) {
	if table <= 0 || table == unix.RT_TABLE_LOCAL || table == unix.RT_TABLE_MAIN || table > 0xFFFFFFFF {
		return nil, fmt.Errorf("announce: table %d: want 1-%d, not main (254) or local (255)", table, uint32(0xFFFFFFFF))
	}
	if proto == 0 {
		proto = DefaultProtocol
	}
	if proto <= unix.RTPROT_STATIC {
		return nil, fmt.Errorf("announce: route protocol %d is reserved for the kernel and static routes", proto)
	}
	h, err := rtnl.Open(ns)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	return &Routes{h: h, table: table, proto: proto}, nil
}

// Close releases the netlink handle.
func (r *Routes) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Close()
	return nil
}

// Table returns the routing table.
func (r *Routes) Table() int { return r.table }

// Protocol returns the route protocol number.
func (r *Routes) Protocol() netlink.RouteProtocol { return r.proto }

// do runs fn with the handle's socket timeout set from ctx.
func (r *Routes) do(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := DefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	if d < time.Millisecond {
		return context.DeadlineExceeded
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.h.SetSocketTimeout(d); err != nil {
		return fmt.Errorf("set netlink socket timeout: %w", err)
	}
	return fn()
}

// Observe returns the prefixes of the routes in the table with the
// protocol, both families, sorted.
func (r *Routes) Observe(ctx context.Context) ([]netip.Prefix, error) {
	filter := &netlink.Route{Table: r.table, Protocol: r.proto}
	var routes []netlink.Route
	err := r.do(ctx, func() (err error) {
		routes, err = nlretry.Dump(func() ([]netlink.Route, error) {
			return r.h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("announce: list routes of table %d proto %d: %w", r.table, r.proto, err)
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

// route is the kernel route announcing p.
func (r *Routes) route(p netip.Prefix) *netlink.Route {
	a := p.Addr()
	return &netlink.Route{
		Dst:      &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())},
		Table:    r.table,
		Protocol: r.proto,
		Type:     unix.RTN_BLACKHOLE,
	}
}

// Add adds the blackhole route for p; EEXIST when the table has a route
// for p already (then another program's: Plan adds only missing ones).
func (r *Routes) Add(ctx context.Context, p netip.Prefix) error {
	if err := r.do(ctx, func() error { return r.h.RouteAdd(r.route(p)) }); err != nil {
		return fmt.Errorf("announce: add blackhole %v table %d proto %d: %w", p, r.table, r.proto, err)
	}
	return nil
}

// Delete deletes the route for p with the protocol; a route that is
// already gone (ESRCH, ENOENT) is success.
func (r *Routes) Delete(ctx context.Context, p netip.Prefix) error {
	err := r.do(ctx, func() error { return r.h.RouteDel(r.route(p)) })
	if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("announce: delete %v table %d proto %d: %w", p, r.table, r.proto, err)
	}
	return nil
}
