package ipvs

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"
)

// Family is an address family: Inet or Inet6.
type Family uint16

// The address families IPVS knows.
const (
	Inet  Family = unix.AF_INET
	Inet6 Family = unix.AF_INET6
)

// FamilyOf returns the family of a (Inet for an IPv4-mapped address), or 0
// for the zero Addr.
func FamilyOf(a netip.Addr) Family {
	switch {
	case !a.IsValid():
		return 0
	case a.Unmap().Is4():
		return Inet
	default:
		return Inet6
	}
}

// String returns "inet", "inet6" or "family(N)".
func (f Family) String() string {
	switch f {
	case Inet:
		return "inet"
	case Inet6:
		return "inet6"
	}
	return fmt.Sprintf("family(%d)", uint16(f))
}

// MarshalText renders f as String does.
func (f Family) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText parses "inet" or "inet6" (and "" as 0).
func (f *Family) UnmarshalText(b []byte) error {
	switch string(b) {
	case "inet":
		*f = Inet
	case "inet6":
		*f = Inet6
	case "":
		*f = 0
	default:
		return fmt.Errorf("ipvs: unknown address family %q", b)
	}
	return nil
}

// Protocol is a virtual service's transport protocol (an IPPROTO_ number).
type Protocol uint16

// The protocols IPVS balances.
const (
	TCP  Protocol = unix.IPPROTO_TCP
	UDP  Protocol = unix.IPPROTO_UDP
	SCTP Protocol = unix.IPPROTO_SCTP
)

// String returns "tcp", "udp", "sctp" or "proto(N)".
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto(%d)", uint16(p))
}

// MarshalText renders p as String does ("" for 0).
func (p Protocol) MarshalText() ([]byte, error) {
	if p == 0 {
		return []byte{}, nil
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses "tcp", "udp", "sctp" (and "" as 0).
func (p *Protocol) UnmarshalText(b []byte) error {
	switch string(b) {
	case "tcp":
		*p = TCP
	case "udp":
		*p = UDP
	case "sctp":
		*p = SCTP
	case "":
		*p = 0
	default:
		return fmt.Errorf("ipvs: unknown protocol %q", b)
	}
	return nil
}

// ServiceFlags are a virtual service's IP_VS_SVC_F_* flags.
type ServiceFlags uint32

// Service flags.
const (
	FlagPersistent      ServiceFlags = 0x0001 // persistent port
	FlagHashed          ServiceFlags = 0x0002 // kernel bookkeeping; never read back
	FlagOnePacket       ServiceFlags = 0x0004 // one-packet scheduling
	FlagSchedSHFallback ServiceFlags = 0x0008 // IP_VS_SVC_F_SCHED1: sh/mh fallback
	FlagSchedSHPort     ServiceFlags = 0x0010 // IP_VS_SVC_F_SCHED2: sh/mh use port
	FlagSched3          ServiceFlags = 0x0020 // IP_VS_SVC_F_SCHED3
)

const (
	serviceFlagsAllMask  uint32 = 0xFFFFFFFF // ip_vs_flags.mask: replace every flag
	serviceFlagsNoHashed        = ^FlagHashed
)

// String lists the set flags the way ipvsadm -L does ("persistent",
// "ops", "sh-fallback", "sh-port", "flag-3"), comma separated.
func (f ServiceFlags) String() string {
	var s []string
	for _, n := range []struct {
		f    ServiceFlags
		name string
	}{
		{FlagPersistent, "persistent"}, {FlagHashed, "hashed"}, {FlagOnePacket, "ops"},
		{FlagSchedSHFallback, "sh-fallback"}, {FlagSchedSHPort, "sh-port"}, {FlagSched3, "flag-3"},
	} {
		if f&n.f != 0 {
			s = append(s, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		s = append(s, fmt.Sprintf("0x%x", uint32(f)))
	}
	return strings.Join(s, ",")
}

// ForwardMethod is how packets reach a destination (IP_VS_CONN_F_*).
type ForwardMethod uint32

// Forwarding methods.
const (
	Masq   ForwardMethod = 0 // NAT (ipvsadm -m)
	Local  ForwardMethod = 1 // local node
	Tunnel ForwardMethod = 2 // IP-in-IP and friends (ipvsadm -i)
	Route  ForwardMethod = 3 // direct routing (ipvsadm -g)
	Bypass ForwardMethod = 4 // cache bypass
)

var forwardNames = [...]string{"Masq", "Local", "Tunnel", "Route", "Bypass"}

// String returns ipvsadm's column name: "Masq", "Local", "Tunnel", "Route",
// "Bypass", or "fwd(N)".
func (m ForwardMethod) String() string {
	if int(m) < len(forwardNames) {
		return forwardNames[m]
	}
	return fmt.Sprintf("fwd(%d)", uint32(m))
}

// MarshalText renders m in lower case: "masq", "tunnel", "route", ...
func (m ForwardMethod) MarshalText() ([]byte, error) {
	return []byte(strings.ToLower(m.String())), nil
}

// UnmarshalText parses what MarshalText writes.
func (m *ForwardMethod) UnmarshalText(b []byte) error {
	for i, n := range forwardNames {
		if strings.EqualFold(n, string(b)) {
			*m = ForwardMethod(i)
			return nil
		}
	}
	return fmt.Errorf("ipvs: unknown forwarding method %q", b)
}

// TunnelType is a tunnel destination's encapsulation
// (IP_VS_CONN_F_TUNNEL_TYPE_*).
type TunnelType uint8

// Tunnel encapsulations.
const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2
)

// TunnelFlags are a tunnel's IP_VS_TUNNEL_ENCAP_FLAG_* flags.
type TunnelFlags uint16

// Tunnel encapsulation flags.
const (
	TunnelCsum    TunnelFlags = 1 << 0
	TunnelRemCsum TunnelFlags = 1 << 1
)

// ServiceKey is how the kernel finds a virtual service: (family, protocol,
// address, port), or (family, fwmark) for a firewall-mark service. It is
// comparable.
type ServiceKey struct {
	Family   Family     `json:"family"`
	Protocol Protocol   `json:"protocol,omitempty"`
	Address  netip.Addr `json:"address,omitzero"`
	Port     uint16     `json:"port,omitempty"`
	FWMark   uint32     `json:"fwmark,omitempty"`
}

// String names the key the way ipvsadm does: "tcp 10.0.0.1:80",
// "udp [2001:db8::1]:53", "fwmark 10 (inet)".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		return fmt.Sprintf("fwmark %d (%s)", k.FWMark, k.Family)
	}
	return fmt.Sprintf("%s %s", k.Protocol, netip.AddrPortFrom(k.Address, k.Port))
}

// Service is a virtual service's identity and configuration, without
// counters. It is comparable.
type Service struct {
	Family   Family     `json:"family,omitempty"` // Inet or Inet6; 0 = derived from Address when sending
	Protocol Protocol   `json:"protocol,omitempty"`
	Address  netip.Addr `json:"address,omitzero"`
	Port     uint16     `json:"port,omitempty"`
	FWMark   uint32     `json:"fwmark,omitempty"` // non-zero: a firewall-mark service (no protocol, address, port)

	Scheduler string       `json:"scheduler"`         // rr, wrr, lc, wlc, ...; module ip_vs_NAME
	Flags     ServiceFlags `json:"flags,omitempty"`   // FlagPersistent, ...; never FlagHashed when read back
	Timeout   uint32       `json:"timeout,omitempty"` // persistence timeout, seconds
	Netmask   int          `json:"netmask"`           // persistence netmask as a prefix length (32/128 = none)
	PEName    string       `json:"pe_name,omitempty"` // persistence engine ("sip"); "" for none
}

// Key returns the service's lookup key. Its receiver is a pointer: a
// Service is 88 bytes, and a converge asks the keys of some 50,000
// services and changes (under the VM's emulated CPU the copy for each call
// of a value receiver was 5% of a start's converge).
func (s *Service) Key() ServiceKey {
	fam := s.Family
	if fam == 0 {
		fam = FamilyOf(s.Address)
	}
	if s.FWMark != 0 {
		return ServiceKey{Family: fam, FWMark: s.FWMark}
	}
	return ServiceKey{Family: fam, Protocol: s.Protocol, Address: s.Address.Unmap(), Port: s.Port}
}

// String names the service by its key.
func (s Service) String() string { return s.Key().String() }

// ServiceExtended is a Service as the kernel reports it, with counters.
type ServiceExtended struct {
	Service
	Stats Stats
}

// DestinationKey is how the kernel finds a destination within its
// service. It is comparable.
type DestinationKey struct {
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port"`
}

// String renders the key as "10.0.0.11:80" or "[2001:db8::11]:80".
func (k DestinationKey) String() string { return netip.AddrPortFrom(k.Address, k.Port).String() }

// Destination is a real server's identity and configuration within a
// service, without counters. It is comparable.
type Destination struct {
	Family  Family     `json:"family,omitempty"` // 0 = the service's family when sending; always set when read back
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port"`

	Forward        ForwardMethod `json:"forward"`
	Weight         uint32        `json:"weight"`                    // 0 = quiesced
	UpperThreshold uint32        `json:"upper_threshold,omitempty"` // 0 = no limit
	LowerThreshold uint32        `json:"lower_threshold,omitempty"`

	// Tunnel encapsulation; meaningful with Forward == Tunnel only.
	TunnelType  TunnelType  `json:"tunnel_type,omitempty"`
	TunnelPort  uint16      `json:"tunnel_port,omitempty"`
	TunnelFlags TunnelFlags `json:"tunnel_flags,omitempty"`
}

// Key returns the destination's lookup key. Its receiver is a pointer,
// as Service.Key's is: even inlined, a value receiver copies the whole
// 64-byte Destination for each call.
func (d *Destination) Key() DestinationKey {
	return DestinationKey{Address: d.Address.Unmap(), Port: d.Port}
}

// String names the destination by its key.
func (d Destination) String() string { return d.Key().String() }

// DestinationExtended is a Destination as the kernel reports it, with
// connection counts and counters.
type DestinationExtended struct {
	Destination
	ActiveConnections     uint32
	InactiveConnections   uint32
	PersistentConnections uint32
	Stats                 Stats
}

// Stats are the kernel's counters of a service or destination: totals
// since creation and the estimator's current rates (per second).
type Stats struct {
	Connections uint64 `json:"conns"`    // connections scheduled
	PacketsIn   uint64 `json:"inpkts"`   // incoming packets
	PacketsOut  uint64 `json:"outpkts"`  // outgoing packets
	BytesIn     uint64 `json:"inbytes"`  // incoming bytes
	BytesOut    uint64 `json:"outbytes"` // outgoing bytes
	CPS         uint64 `json:"cps"`      // current connection rate
	PPSIn       uint64 `json:"inpps"`    // current incoming packet rate
	PPSOut      uint64 `json:"outpps"`   // current outgoing packet rate
	BPSIn       uint64 `json:"inbps"`    // current incoming byte rate
	BPSOut      uint64 `json:"outbps"`   // current outgoing byte rate
}

// Version is the IPVS version code, 0x010201 for 1.2.1.
type Version uint32

// String renders the version as "1.2.1".
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", (v>>16)&0xff, (v>>8)&0xff, v&0xff)
}

// Info is the kernel's general IPVS information.
type Info struct {
	Version       Version
	ConnTableSize uint32 // size of the connection hash table
}
