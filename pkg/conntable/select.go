package conntable

import (
	"net/netip"
	"strings"
)

// Service is a virtual service whose connections are wanted: either
// Protocol+VIP+Port, or (FWMark set) the family's VIPs and destinations,
// because an entry of a firewall-mark service does not carry the mark.
type Service struct {
	Protocol string // tcp, udp, sctp (any case)
	VIP      netip.Addr
	Port     uint16 // 0: every port
	FWMark   uint32
	// For a firewall-mark service: the addresses its VIPs may have and
	// its real servers' addresses (an entry's real-server port is the
	// client's destination port when the real server has none).
	VIPs  []netip.Addr
	Reals []netip.Addr
}

// Selector tells the entries of a set of services from the others in
// time independent of how many services there are: a service of a
// protocol, VIP and port is found by that key; one of port 0 (every port)
// by protocol and VIP alone, since the kernel records each of its
// connections under the port the client reached (only its persistence
// templates have port 0); a firewall-mark service by the entry's real
// server, then its VIP or, for a persistence template (protocol IP, the
// mark as its virtual address, port 0), its mark. The zero Selector
// selects nothing.
type Selector struct {
	ports   map[svcKey]bool     // protocol, VIP, port -> wanted; port 0 for every port
	anyPort bool                // some service has port 0
	byReal  map[netip.Addr][]fw // a real server's address -> the firewall-mark services holding it
	fwVIPs  map[netip.Addr]bool // every VIP of a firewall-mark service
}

// svcKey is a protocol as the kernel names it (upper case), a virtual
// address and port.
type svcKey struct {
	proto string
	addr  netip.Addr
	port  uint16
}

// fw is one firewall-mark service as the Selector keeps it.
type fw struct {
	mark uint32
	vips map[netip.Addr]bool
}

// NewSelector returns the Selector of svcs.
func NewSelector(svcs []Service) *Selector {
	s := &Selector{ports: map[svcKey]bool{}, byReal: map[netip.Addr][]fw{}, fwVIPs: map[netip.Addr]bool{}}
	for _, sv := range svcs {
		if sv.FWMark == 0 {
			s.ports[svcKey{strings.ToUpper(sv.Protocol), sv.VIP, sv.Port}] = true
			s.anyPort = s.anyPort || sv.Port == 0
			continue
		}
		f := fw{mark: sv.FWMark, vips: map[netip.Addr]bool{}}
		for _, v := range sv.VIPs {
			f.vips[v] = true
			s.fwVIPs[v] = true
		}
		for _, r := range sv.Reals {
			s.byReal[r] = append(s.byReal[r], f)
		}
	}
	return s
}

// Match reports whether c belongs to one of the Selector's services.
func (s *Selector) Match(c Conn) bool {
	return s.matchVirtual(c.Protocol, c.Virtual) || s.maybeFWMark(c.Protocol, c.Virtual) && s.matchFWMark(c)
}

// matchVirtual reports whether an entry of protocol proto to virtual
// belongs to a service of a protocol, VIP and port (or port 0).
func (s *Selector) matchVirtual(proto string, virtual netip.AddrPort) bool {
	if len(s.ports) == 0 {
		return false
	}
	proto = strings.ToUpper(proto) // the kernel's names are upper case already: no copy
	k := svcKey{proto, virtual.Addr(), virtual.Port()}
	if s.ports[k] {
		return true
	}
	k.port = 0
	return s.anyPort && s.ports[k]
}

// maybeFWMark reports whether an entry of protocol proto to virtual may
// belong to a firewall-mark service (its real server decides): its
// virtual address is one of their VIPs, or it is a persistence template.
func (s *Selector) maybeFWMark(proto string, virtual netip.AddrPort) bool {
	if len(s.byReal) == 0 {
		return false
	}
	return s.fwVIPs[virtual.Addr()] || isTemplate(proto, virtual)
}

// isTemplate reports whether an entry is a persistence template of a
// firewall-mark service: protocol IP, virtual port 0.
func isTemplate(proto string, virtual netip.AddrPort) bool {
	return virtual.Port() == 0 && strings.EqualFold(proto, "IP")
}

// matchFWMark reports whether c belongs to a firewall-mark service: one
// holding c's real server whose VIPs include c's virtual address, or
// whose mark that address is when c is a persistence template.
func (s *Selector) matchFWMark(c Conn) bool {
	tmpl := isTemplate(c.Protocol, c.Virtual)
	a := c.Virtual.Addr()
	for _, f := range s.byReal[c.Real.Addr()] {
		if f.vips[a] || tmpl && a == markAddr(f.mark, a.Is6()) {
			return true
		}
	}
	return false
}

// markAddr is the virtual address the kernel gives the persistence
// templates of a firewall-mark service (ip_vs_sched_persist): the mark,
// big-endian, in the first four bytes of the address.
func markAddr(mark uint32, v6 bool) netip.Addr {
	b := [16]byte{byte(mark >> 24), byte(mark >> 16), byte(mark >> 8), byte(mark)}
	if v6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// Select returns the entries of conns that belong to one of svcs, in
// table order.
func Select(conns []Conn, svcs []Service) []Conn {
	s := NewSelector(svcs)
	out := []Conn{}
	for _, c := range conns {
		if s.Match(c) {
			out = append(out, c)
		}
	}
	return out
}
