package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// checkAddr parses an address of the configuration: a VIP, a real server,
// a gateway. It returns a problem text when s is not usable by IPVS: not
// an IP address, with a zone (IPVS addresses have none), IPv4-mapped IPv6
// (ambiguous family: write the IPv4 form), unspecified, multicast or the
// IPv4 broadcast address.
func checkAddr(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		hint := ""
		switch {
		case strings.Contains(s, "/"):
			hint = " (write the address alone, without a prefix length)"
		case isAddrPort(s):
			hint = " (write the address alone; the port has its own key)"
		}
		return netip.Addr{}, fmt.Sprintf("%s is not an IP address%s", quote(s), hint)
	}
	switch {
	case a.Zone() != "":
		return netip.Addr{}, fmt.Sprintf("%s has a zone (%%%s); IPVS addresses cannot have one", quote(s), a.Zone())
	case a.Is4In6():
		return netip.Addr{}, fmt.Sprintf("%s is an IPv4-mapped IPv6 address; write %s", s, a.Unmap())
	case a.IsUnspecified():
		return netip.Addr{}, fmt.Sprintf("%s is the unspecified address", s)
	case a.IsMulticast():
		return netip.Addr{}, fmt.Sprintf("%s is a multicast address", s)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.Addr{}, fmt.Sprintf("%s is the broadcast address", s)
	}
	return a, ""
}

// checkGateway parses a nat real server's gateway (realserver.gateway,
// --gateway) and returns a problem text when s cannot be one. It is
// checkAddr's rules but for the zone: a link-local IPv6 gateway
// (fe80::/10) is reached through one interface and must name it
// (fe80::1%eth0), and the zone is kept on the address; any other address
// takes none. A loopback address cannot be the director either, nor an
// address in 0.0.0.0/8 (a route through one fails with EINVAL).
func checkGateway(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() == "" {
		a, problem := checkAddr(s)
		switch {
		case problem != "":
			return netip.Addr{}, problem
		case a.IsLoopback():
			return netip.Addr{}, fmt.Sprintf("%s is a loopback address; the gateway is the director's address", a)
		case thisNetwork(a):
			return netip.Addr{}, fmt.Sprintf("%s is in 0.0.0.0/8 (this network), which the kernel refuses as a route's gateway; the gateway is the director's address", a)
		case a.Is6() && a.IsLinkLocalUnicast():
			return netip.Addr{}, fmt.Sprintf("%s is link-local: name the interface it is reached through, such as %s%%eth0", a, a)
		}
		return a, ""
	}
	bare := a.WithZone("")
	if !bare.Is6() || !bare.IsLinkLocalUnicast() || bare.Is4In6() {
		return netip.Addr{}, fmt.Sprintf("%s has a zone (%%%s); only a link-local IPv6 gateway (fe80::/10) takes one", quote(s), a.Zone())
	}
	if problem := checkInterface(a.Zone()); problem != "" {
		return netip.Addr{}, fmt.Sprintf("%s: the zone names the interface the gateway is reached through: %s", quote(s), problem)
	}
	return a, ""
}

// checkVIP returns a problem text when a (valid) address cannot be a VIP
// beyond what checkAddr refuses: a loopback address would be bound on the
// director's interface and never be reached from outside, and the kernel
// drops packets to 0.0.0.0/8 as martians.
func checkVIP(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return fmt.Sprintf("%s is a loopback address; a VIP must be reachable by clients", a)
	case thisNetwork(a):
		return fmt.Sprintf("%s is in 0.0.0.0/8 (this network), to which the kernel delivers nothing; a VIP must be reachable by clients", a)
	}
	return ""
}

// thisNetwork reports whether a is in 0.0.0.0/8, which the kernel takes
// for a broadcast address (inet_addr_type) and never routes to.
func thisNetwork(a netip.Addr) bool {
	return a.Is4() && a.As4()[0] == 0
}

// checkDest returns a problem text when a (valid) address cannot be a
// destination of an IPVS service (a real server, a sorry server) beyond
// what checkAddr refuses: the kernel refuses an IPv6 link-local one, and
// an IPv4 one in 0.0.0.0/8, with EINVAL (ip_vs_ctl.c), which would come
// after the VIP is bound and the service added. what names the
// destination in the message.
func checkDest(a netip.Addr, what string) string {
	switch {
	case a.Is6() && a.IsLinkLocalUnicast():
		return fmt.Sprintf("%s is a link-local address, which IPVS refuses for a %s; use a global or unique local address", a, what)
	case thisNetwork(a):
		return fmt.Sprintf("%s is in 0.0.0.0/8 (this network), which IPVS refuses for a %s; use a unicast address", a, what)
	}
	return ""
}

// isAddrPort reports whether s is ADDR:PORT.
func isAddrPort(s string) bool {
	_, err := netip.ParseAddrPort(s)
	return err == nil
}

// familyOf returns 4 or 6.
func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// familyName renders a family for messages.
func familyName(f int) string {
	return fmt.Sprintf("IPv%d", f)
}

// dottedMask parses a dotted IPv4 netmask and returns its prefix length.
func dottedMask(s string) (int, string) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Sprintf("%s is not a netmask; write a dotted IPv4 mask such as 255.255.255.0 or a prefix length such as 24", quote(s))
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for ones < 32 && m&(1<<(31-ones)) != 0 {
		ones++
	}
	if ones < 32 && m<<ones != 0 {
		return 0, fmt.Sprintf("%s is not a contiguous netmask", s)
	}
	return ones, ""
}

// maxInterfaceName is the longest Linux interface name (IFNAMSIZ - 1).
const maxInterfaceName = 15

// checkInterface returns a problem text when name cannot be a Linux
// network interface, by the kernel's own rules (dev_valid_name): 1 to 15
// bytes, not "." or "..", no '/', ':' or whitespace; control characters
// are refused too. A ':' names an address label (eth0:0), which lvs-rs
// creates itself.
func checkInterface(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case len(name) > maxInterfaceName:
		return fmt.Sprintf("%s is longer than %d bytes, the Linux limit for an interface name", quote(name), maxInterfaceName)
	case name == "." || name == "..":
		return fmt.Sprintf("%s is not a valid interface name", quote(name))
	case strings.Contains(name, ":"):
		dev, _, _ := strings.Cut(name, ":")
		return fmt.Sprintf("%s is an address label, not an interface; write %s (lvs-rs adds the %s:N labels itself)", quote(name), quote(dev), dev)
	case strings.Contains(name, "/"):
		return fmt.Sprintf("%s contains '/', which an interface name cannot", quote(name))
	}
	for i := 0; i < len(name); i++ {
		// The kernel's isspace() also takes the byte 0xA0 for a space.
		if c := name[i]; c <= ' ' || c == 0x7f || c == 0xa0 {
			return fmt.Sprintf("%s contains whitespace or a control character, which an interface name cannot", quote(name))
		}
	}
	return ""
}
