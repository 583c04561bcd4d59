package realserver

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
)

// IsLocal returns a set membership test for every address on every link of
// h's namespace (both families, any scope), as config.RealServerVIPs wants
// it. The addresses are read once, when IsLocal is called. A nil h means
// the current namespace.
func IsLocal(h *netlink.Handle) (func(netip.Addr) bool, error) {
	if h == nil {
		nh, err := rtnl.Open(netns.None())
		if err != nil {
			return nil, fmt.Errorf("realserver: %w", err)
		}
		defer nh.Close()
		h = nh
	}
	as, err := nlretry.Dump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("realserver: list addresses: %w", err)
	}
	set := map[netip.Addr]bool{}
	for _, a := range as {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			set[ip.Unmap()] = true
		}
	}
	return func(a netip.Addr) bool { return set[a.Unmap()] }, nil
}
