package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
)

// maxIfName is the longest interface (and IPv4 label) name the kernel takes.
const maxIfName = 15

// Addr is an address found on, or wanted on, a device. It is comparable.
type Addr struct {
	Dev    string
	Prefix netip.Prefix
	Label  string // IPv4 only; "" for none
	// HostScope asks for scope host (a VIP on lo); otherwise scope global.
	// IPv4 only: the kernel derives an IPv6 address's scope from the
	// address itself, so List never reports it for IPv6.
	HostScope bool
}

// String renders the address as "10.0.0.100/32 dev lo label lo:0".
func (a Addr) String() string {
	s := fmt.Sprintf("%s dev %s", a.Prefix, a.Dev)
	if a.Label != "" {
		s += " label " + a.Label
	}
	if a.HostScope {
		s += " scope host"
	}
	return s
}

// Normalize returns a as List would report it: no label or host scope on
// an IPv6 address. Planners compare normalized addresses.
func (a Addr) Normalize() Addr {
	if a.Prefix.Addr().Is6() {
		a.Label, a.HostScope = "", false
	}
	return a
}

// HostPrefix returns addr as a single-host prefix, /32 or /128.
func HostPrefix(addr netip.Addr) netip.Prefix {
	return netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
}

// Label returns the alias label DEV:N, or "" when it would exceed the
// kernel's 15 characters (the address is then bound without a label).
func Label(dev string, n int) string {
	l := fmt.Sprintf("%s:%d", dev, n)
	if len(l) > maxIfName {
		return ""
	}
	return l
}

// List returns the addresses on dev.
func List(h *netlink.Handle, dev string) ([]Addr, error) {
	link, err := h.LinkByName(dev)
	if err != nil {
		return nil, fmt.Errorf("vip: list addresses of %s: %w", dev, err)
	}
	nl, err := nlretry.Dump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("vip: list addresses of %s: %w", dev, err)
	}
	return convert(nl, func(int, netip.Addr) string { return dev }), nil
}

// ListNamed returns, from one dump of the addresses on every link, those
// that name(linkIndex, address) gives a device name for ("" skips one):
// the caller looks up only the links whose addresses it wants.
func ListNamed(h *netlink.Handle, name func(linkIndex int, ip netip.Addr) string) ([]Addr, error) {
	nl, err := nlretry.Dump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("vip: list addresses: %w", err)
	}
	return convert(nl, name), nil
}

// convert turns netlink addresses into Addrs, naming each one's device
// (those dev names "" are left out).
func convert(nl []netlink.Addr, dev func(linkIndex int, ip netip.Addr) string) []Addr {
	out := make([]Addr, 0, len(nl))
	for _, a := range nl {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		name := dev(a.LinkIndex, ip.Unmap())
		if name == "" {
			continue
		}
		ones, _ := a.Mask.Size()
		label := a.Label
		if label == name {
			label = ""
		}
		out = append(out, Addr{
			Dev:       name,
			Prefix:    netip.PrefixFrom(ip.Unmap(), ones),
			Label:     label,
			HostScope: ip.Unmap().Is4() && a.Scope == int(netlink.SCOPE_HOST),
		})
	}
	return out
}

// Bind puts a on its device. It never takes over an address that is
// there already, whatever its label or scope: the kernel refuses with
// EEXIST (errors.Is(err, unix.EEXIST)), so a VIP another tool added after
// the caller saw it absent is never taken for the caller's. Callers bind
// only what they observed absent. An IPv6 address is bound deprecated
// (preferred lifetime 0, valid forever) and without duplicate address
// detection, so the host never picks it as the source of its own
// traffic; List reports it as any other address (lifetimes are not part
// of an Addr), so a VIP another tool bound without deprecation is the
// same Addr.
func Bind(h *netlink.Handle, a Addr) error { return new(Links).Bind(h, a) }

// Unbind removes a.Prefix from a.Dev, whatever its label or scope now: a
// device holds one address per prefix, and that is what owns it. An
// address or device that is already gone counts as success.
func Unbind(h *netlink.Handle, a Addr) error { return new(Links).Unbind(h, a) }

// Links binds and unbinds addresses, looking each device up by name once:
// a pass that binds twenty VIPs on one device asks the kernel for it once
// instead of twenty times. A device deleted and created again under its
// name meanwhile is looked up again (the kernel refuses the old index
// with ENODEV). The zero Links is ready to use; it is not safe for
// concurrent use.
type Links struct {
	byName map[string]netlink.Link
}

// Bind is the package's Bind, through l's devices.
func (l *Links) Bind(h *netlink.Handle, a Addr) error {
	err := l.withLink(h, a.Dev, func(link netlink.Link) error { return h.AddrAdd(link, toNetlink(a)) })
	if err != nil {
		return fmt.Errorf("vip: bind %s on %s: %w", a.Prefix, a.Dev, err)
	}
	return nil
}

// Unbind is the package's Unbind, through l's devices. The request names
// no label: the kernel would delete only an address whose label matches
// it and answer EADDRNOTAVAIL, as for one that is gone, when someone has
// re-added the VIP under another label or none.
func (l *Links) Unbind(h *netlink.Handle, a Addr) error {
	del := toNetlink(Addr{Dev: a.Dev, Prefix: a.Prefix})
	err := l.withLink(h, a.Dev, func(link netlink.Link) error { return h.AddrDel(link, del) })
	var nf netlink.LinkNotFoundError
	if err == nil || errors.As(err, &nf) || errors.Is(err, unix.ENODEV) ||
		errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return fmt.Errorf("vip: unbind %s from %s: %w", a.Prefix, a.Dev, err)
}

// withLink runs fn with the device named dev: the one l found before, or
// looked up now; once more with a fresh lookup when the kernel no longer
// knows the one l found (ENODEV).
func (l *Links) withLink(h *netlink.Handle, dev string, fn func(netlink.Link) error) error {
	if link, ok := l.byName[dev]; ok {
		err := fn(link)
		if !errors.Is(err, unix.ENODEV) {
			return err
		}
		delete(l.byName, dev)
	}
	link, err := h.LinkByName(dev)
	if err != nil {
		return err
	}
	if l.byName == nil {
		l.byName = map[string]netlink.Link{}
	}
	l.byName[dev] = link
	return fn(link)
}

func toNetlink(a Addr) *netlink.Addr {
	p := a.Prefix
	nla := &netlink.Addr{IPNet: &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}}
	if p.Addr().Is4() {
		nla.Label = a.Label
		if a.HostScope {
			nla.Scope = int(netlink.SCOPE_HOST)
		}
	}
	if p.Addr().Is6() {
		// A VIP must answer at once: no duplicate address detection.
		// Deprecated (preferred lifetime 0, valid forever): it receives,
		// answers neighbour solicitations and accepts connections as any
		// address does, but source address selection never picks it for
		// the host's own traffic (RFC 6724 rule 3 comes before rule 8,
		// longest matching prefix, which would otherwise make a /128 VIP
		// the source towards every neighbour of its /64, the real servers
		// included).
		nla.Flags = unix.IFA_F_NODAD
		nla.PreferedLft, nla.ValidLft = 0, foreverLft
	}
	return nla
}

// foreverLft is the kernel's infinite address lifetime
// (INFINITY_LIFE_TIME).
const foreverLft = 0xFFFFFFFF
