package topo

import (
	"fmt"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
)

// Routes lists the routes of every table of the namespace (main, local
// and any other), the dump retried when the kernel interrupts it: what a
// test compares before and after a command.
func (n *NS) Routes() ([]netlink.Route, error) {
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return n.nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("topo: %s: listing routes: %w", n.name, err)
	}
	return rs, nil
}

// WaitNoTentative waits, at most timeout, until no IPv6 address of the
// namespace is tentative: a link-local address's local route appears
// only after duplicate address detection, so a snapshot taken earlier
// differs from one taken later for no fault of the command under test.
func (n *NS) WaitNoTentative(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		as, err := nlretry.Dump(func() ([]netlink.Addr, error) { return n.nl.AddrList(nil, netlink.FAMILY_V6) })
		if err != nil {
			return fmt.Errorf("topo: %s: listing addresses: %w", n.name, err)
		}
		if !slices.ContainsFunc(as, func(a netlink.Addr) bool { return a.Flags&unix.IFA_F_TENTATIVE != 0 }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topo: %s: IPv6 addresses still tentative after %v: %v", n.name, timeout, as)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
