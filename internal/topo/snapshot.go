package topo

import (
	"fmt"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
)

// Routes lists the routes of every table of the namespace: RoutesOf its
// handle.
func (n *NS) Routes() ([]netlink.Route, error) {
	rs, err := RoutesOf(n.nl)
	if err != nil {
		return nil, fmt.Errorf("topo: %s: %w", n.name, err)
	}
	return rs, nil
}

// RoutesOf lists the routes of every table (main, local and any other)
// of h's namespace, the dump retried when the kernel interrupts it: what
// a test compares before and after a command. It serves tests whose
// namespace is not a topo.NS.
func RoutesOf(h *netlink.Handle) ([]netlink.Route, error) {
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	return rs, nil
}

// WaitNoTentative waits, at most timeout, until no IPv6 address of the
// namespace is tentative, every one has its route in the local table, and
// every Ethernet link that is up with a carrier (and IPv6 on) has its
// link-local address. The kernel adds that route only when duplicate
// address detection ends, just after it clears the tentative flag, and
// the link-local address only once its link-state worker has seen the
// carrier, after the link went up; so a snapshot taken earlier differs
// from one taken later for no fault of the command under test.
func (n *NS) WaitNoTentative(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		settled, why, err := n.addrsSettled()
		if err != nil || settled {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topo: %s: after %v, %s", n.name, timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// addrsSettled reports whether every IPv6 address is past duplicate
// address detection with its local route in place, and if not, why.
func (n *NS) addrsSettled() (bool, string, error) {
	as, err := nlretry.Dump(func() ([]netlink.Addr, error) { return n.nl.AddrList(nil, netlink.FAMILY_V6) })
	if err != nil {
		return false, "", fmt.Errorf("topo: %s: listing addresses: %w", n.name, err)
	}
	if slices.ContainsFunc(as, func(a netlink.Addr) bool { return a.Flags&unix.IFA_F_TENTATIVE != 0 }) {
		return false, fmt.Sprintf("IPv6 addresses still tentative: %v", as), nil
	}
	if dev, err := n.linkLocalPending(as); err != nil || dev != "" {
		return false, "no link-local address yet on " + dev, err
	}
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return n.nl.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: unix.RT_TABLE_LOCAL}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return false, "", fmt.Errorf("topo: %s: listing local routes: %w", n.name, err)
	}
	for _, a := range as {
		if a.Flags&unix.IFA_F_DADFAILED != 0 {
			continue // never gets one
		}
		if !slices.ContainsFunc(rs, func(r netlink.Route) bool { return r.Dst != nil && r.Dst.IP.Equal(a.IP) }) {
			return false, fmt.Sprintf("no local route yet for %v", a.IP), nil
		}
	}
	return true, "", nil
}

// linkLocalPending names an Ethernet link that is up with a carrier and
// IPv6 on (not disabled, addresses generated) but has no link-local
// address in as yet; "" when there is none.
func (n *NS) linkLocalPending(as []netlink.Addr) (string, error) {
	links, err := nlretry.Dump(n.nl.LinkList)
	if err != nil {
		return "", fmt.Errorf("topo: %s: listing links: %w", n.name, err)
	}
	for _, l := range links {
		a := l.Attrs()
		const upWithCarrier = unix.IFF_UP | unix.IFF_LOWER_UP
		if a.EncapType != "ether" || a.RawFlags&upWithCarrier != upWithCarrier {
			continue
		}
		if slices.ContainsFunc(as, func(x netlink.Addr) bool { return x.LinkIndex == a.Index && x.IP.IsLinkLocalUnicast() }) {
			continue
		}
		off, err := n.ReadSysctl("net/ipv6/conf/" + a.Name + "/disable_ipv6")
		if err != nil {
			return "", err
		}
		mode, err := n.ReadSysctl("net/ipv6/conf/" + a.Name + "/addr_gen_mode")
		if err != nil {
			return "", err
		}
		if off != "1" && mode != "1" { // 1: no link-local address is generated
			return a.Name, nil
		}
	}
	return "", nil
}
