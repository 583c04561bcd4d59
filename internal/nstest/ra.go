package nstest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Advertise sends one IPv6 router advertisement out of dev in ns, to all
// nodes (ff02::1), as a router does: hop limit 255, from dev's link-local
// address (which must be usable: no longer tentative), with the given
// router lifetime in seconds (0 withdraws the default route a host
// learned from earlier ones) and no option. Hosts on the link with
// accept_ra learn, or lose, a default route via that address.
func (ns *NS) Advertise(dev string, lifetime uint16) error {
	err := ns.Do(func() error {
		l, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, l.Index); err != nil {
			return err
		}
		// Type 134, code 0, checksum (the kernel fills it in), current
		// hop limit 64, no flags, router lifetime, reachable time and
		// retransmission timer unspecified.
		ra := make([]byte, 16)
		ra[0], ra[4] = 134, 64
		binary.BigEndian.PutUint16(ra[6:], lifetime)
		to := &unix.SockaddrInet6{ZoneId: uint32(l.Index), Addr: netip.MustParseAddr("ff02::1").As16()}
		return unix.Sendto(fd, ra, 0, to)
	})
	if err != nil {
		return fmt.Errorf("nstest: router advertisement on %s: %w", dev, err)
	}
	return nil
}
