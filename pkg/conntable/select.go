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
	Port     uint16
	FWMark   uint32
	// For a firewall-mark service: the addresses its VIPs may have and
	// its real servers' addresses (an entry's real-server port is the
	// client's destination port when the real server has none).
	VIPs  []netip.Addr
	Reals []netip.Addr
}

// matches reports whether c belongs to s. A port-0 (every port)
// service's connections have the port the client reached as virtual port
// (only its persistence templates have port 0, like the service): any
// port is the service's. A persistence template of a firewall-mark
// service has protocol IP and the mark as its virtual address
// (markAddr), port 0.
func (s Service) matches(c Conn) bool {
	if s.FWMark == 0 {
		return strings.EqualFold(s.Protocol, c.Protocol) && s.VIP == c.Virtual.Addr() && (s.Port == 0 || s.Port == c.Virtual.Port())
	}
	vipOK, realOK := false, false
	for _, v := range s.VIPs {
		vipOK = vipOK || v == c.Virtual.Addr()
	}
	if strings.EqualFold(c.Protocol, "IP") && c.Virtual.Port() == 0 && c.Virtual.Addr() == markAddr(s.FWMark, c.Virtual.Addr().Is6()) {
		vipOK = true
	}
	for _, r := range s.Reals {
		realOK = realOK || r == c.Real.Addr()
	}
	return vipOK && realOK
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
	out := []Conn{}
	for _, c := range conns {
		for _, s := range svcs {
			if s.matches(c) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
