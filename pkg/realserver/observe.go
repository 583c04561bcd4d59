package realserver

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
)

// Observed is the part of the host Plan looks at.
type Observed struct {
	// Addrs are the addresses Plan looks at, as vip.List reports them:
	// every one on lo, tunl0 and gre0, and on other links those that are
	// a VIP wanted or recorded.
	Addrs []vip.Addr
	// Tunnel is the state of tunl0.
	Tunnel tunnel.Link
	// GRE is the state of gre0.
	GRE tunnel.Link
	// FOU is what the kernel's fou family holds, read only when a gue
	// binding is wanted or a GUE port recorded (zero otherwise).
	FOU FOUState
	// Sysctls maps sysctl.Key.String() to its value, for the parameters
	// the desired state wants and those the record holds; a parameter that
	// does not exist (conf/tunl0 without ipip) is absent.
	Sysctls map[string]string
	// Routes are the default routes of the main table, both families,
	// read only when a nat binding is wanted or a route is recorded (nil
	// otherwise: no other plan looks at them).
	Routes []Route
	// Record is what lvs-rs applied before (zero when nothing).
	Record Record
}

// FOUState is what Plan sees of the GUE receive ports.
type FOUState struct {
	// Loaded: the fou family is registered (its module loaded).
	Loaded bool
	// Ports are the IPv4 FOU and GUE receive ports.
	Ports []tunnel.FOUPort
}

// checkGatewayDevice refuses, before any change, a routed link-local
// gateway whose zone names an interface this host does not have: the
// route goes through that interface. Start checks it; status does not
// (an interface gone since start is drift there: the route is missing).
func checkGatewayDevice(h *netlink.Handle, d Desired) error {
	names := newLinkNames(h)
	for _, gw := range d.Gateways {
		z := gw.Zone()
		if z == "" || !d.routed(gw) {
			continue
		}
		l, err := names.link(z)
		if err != nil {
			return err
		}
		if l == nil {
			return fmt.Errorf("%w: gateway %s: no interface %s on this host", ErrInvalid, gw, z)
		}
	}
	return nil
}

// Observe reads what Plan needs from the namespace of h and the /proc/sys
// tree t (which resolves in the calling thread's network namespace; so
// do the GUE receive ports, read over generic netlink).
func Observe(h *netlink.Handle, t sysctl.Tree, d Desired, rec Record) (Observed, error) {
	o := Observed{Record: rec, Sysctls: map[string]string{}}
	names := newLinkNames(h)
	// lo, tunl0 and gre0 are the devices VIPs are bound on.
	lo, err := names.link("lo")
	if err != nil {
		return o, err
	}
	tun, err := names.link(tunnel.Dev)
	if err != nil {
		return o, err
	}
	gre, err := names.link(tunnel.GREDev)
	if err != nil {
		return o, err
	}
	o.Tunnel, o.GRE = tunnel.Of(tun), tunnel.Of(gre)
	if o.Addrs, err = observeAddrs(h, names, []netlink.Link{lo, tun, gre}, d, rec); err != nil {
		return o, err
	}
	if len(d.canon().guePorts()) > 0 || len(rec.FOU) > 0 { // the only plans that look at them
		if o.FOU, err = observeFOU(); err != nil {
			return o, err
		}
	}
	var keys []string
	for _, w := range d.canon().sysctlWants() {
		keys = append(keys, w.Key.String())
	}
	for _, r := range rec.Sysctls {
		keys = append(keys, r.Key)
	}
	for _, k := range keys {
		v, err := t.Read(sysctl.ParseKey(k))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return o, fmt.Errorf("realserver: %w", err)
		}
		o.Sysctls[k] = v
	}
	if d.canon().anyRouted() || rec.Route != nil { // the only plans that look at routes
		if o.Routes, err = defaultRoutes(h, names); err != nil {
			return o, err
		}
	}
	return o, nil
}

// observeFOU reads the GUE receive ports of the calling thread's
// namespace; none, without loading anything, when fou is not loaded.
func observeFOU() (FOUState, error) {
	f, err := tunnel.DialFOU()
	if err != nil {
		return FOUState{}, fmt.Errorf("realserver: %w", err)
	}
	defer f.Close()
	var s FOUState
	if s.Loaded, err = f.Loaded(); err == nil && s.Loaded {
		s.Ports, err = f.Ports()
	}
	if err != nil {
		return FOUState{}, fmt.Errorf("realserver: %w", err)
	}
	return s, nil
}

// observeAddrs lists, from one dump of every address, those Plan looks at:
// every address on devs (lo, tunl0 and gre0, the devices VIPs are bound on:
// their labels and VIPs; nil for one that does not exist), and on any
// other link those that are a VIP wanted or recorded (Plan warns of a VIP
// bound elsewhere).
func observeAddrs(h *netlink.Handle, names *linkNames, devs []netlink.Link, d Desired, rec Record) ([]vip.Addr, error) {
	on := map[int]bool{}
	for _, l := range devs {
		if l != nil {
			on[l.Attrs().Index] = true
		}
	}
	vips := map[netip.Addr]bool{}
	for _, b := range d.Bindings {
		vips[b.VIP] = true
	}
	for _, a := range rec.Addresses {
		vips[a.Prefix.Addr()] = true
	}
	addrs, err := vip.ListNamed(h, func(i int, ip netip.Addr) string {
		if on[i] || vips[ip] {
			return names.name(i)
		}
		return ""
	})
	if err != nil {
		return nil, fmt.Errorf("realserver: %w", err)
	}
	return addrs, names.err
}

// defaultRoutes lists the default routes of the main table, of every
// type (a blackhole default holds its slot like a unicast one), recorded
// whole.
func defaultRoutes(h *netlink.Handle, names *linkNames) ([]Route, error) {
	nl, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("realserver: list routes: %w", err)
	}
	var out []Route
	for _, r := range nl {
		if r.Dst == nil {
			r.Dst = defaultNet(r.Family)
		}
		if ones, _ := r.Dst.Mask.Size(); ones != 0 || r.Dst.IP == nil {
			continue
		}
		switch r.Type {
		case unix.RTN_UNICAST, unix.RTN_BLACKHOLE, unix.RTN_UNREACHABLE, unix.RTN_PROHIBIT, unix.RTN_THROW:
		default:
			continue
		}
		out = append(out, fromNetlink(r, names.name))
	}
	if names.err != nil {
		return nil, names.err
	}
	slices.SortStableFunc(out, func(a, b Route) int {
		if a.Dst.Addr().Is4() != b.Dst.Addr().Is4() {
			if a.Dst.Addr().Is4() {
				return -1
			}
			return 1
		}
		return a.Metric - b.Metric
	})
	return out, nil
}

// defaultNet is 0.0.0.0/0 or ::/0 for a netlink family.
func defaultNet(family int) *net.IPNet {
	if family == netlink.FAMILY_V6 {
		return ipNet(netip.PrefixFrom(netip.IPv6Unspecified(), 0))
	}
	return ipNet(netip.PrefixFrom(netip.IPv4Unspecified(), 0))
}
