package control

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Protocols a Service selector names besides fwmark.
const (
	ProtoTCP  = "tcp"
	ProtoUDP  = "udp"
	ProtoSCTP = "sctp"
)

// Service selects one virtual service: a protocol, VIP and port, or a
// firewall mark. The zero Service selects nothing; it stands for "no
// selector" in a DrainRequest. Its text form (String, ParseService) is
// tcp:VIP:PORT, udp:VIP:PORT, sctp:VIP:PORT or fwmark:N, with an IPv6 VIP
// in brackets: tcp:[2001:db8::1]:80.
type Service struct {
	// Proto is ProtoTCP, ProtoUDP or ProtoSCTP; empty for a fwmark service.
	Proto string
	// VIP and Port are set for a protocol service, zero for fwmark.
	VIP  netip.Addr
	Port uint16
	// FWMark is set (non-zero) for a firewall-mark service only.
	FWMark uint32
}

// ServiceSyntax is the accepted form of a service selector, for messages.
const ServiceSyntax = "tcp:VIP:PORT, udp:VIP:PORT, sctp:VIP:PORT or fwmark:N"

// ParseService parses a service selector. Errors say exactly which part is
// wrong, and quote the whole selector.
func ParseService(s string) (Service, error) {
	svc, err := parseService(s)
	if err != nil {
		return Service{}, fmt.Errorf("service %q: %w", s, err)
	}
	return svc, nil
}

func parseService(s string) (Service, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || kind == "" {
		return Service{}, fmt.Errorf("want %s", ServiceSyntax)
	}
	switch strings.ToLower(kind) {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
		return parseVIPPort(strings.ToLower(kind), rest)
	case "fwmark":
		return parseMark(rest)
	default:
		return Service{}, fmt.Errorf("%q is not tcp, udp, sctp or fwmark", kind)
	}
}

func parseVIPPort(proto, rest string) (Service, error) {
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Service{}, fmt.Errorf("missing :PORT after the VIP (want %s:VIP:PORT)", proto)
	}
	host, port := rest[:i], rest[i+1:]
	bracketed := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	if bracketed {
		host = host[1 : len(host)-1]
	}
	vip, err := netip.ParseAddr(host)
	switch {
	case host == "":
		return Service{}, errors.New("missing VIP")
	case err != nil && strings.Contains(rest[:i], ":") && !bracketed:
		return Service{}, fmt.Errorf("an IPv6 VIP goes in brackets: %s:[%s]:PORT", proto, rest[:i])
	case err != nil:
		return Service{}, fmt.Errorf("VIP %q is not an IP address", host)
	case vip.Zone() != "":
		return Service{}, fmt.Errorf("VIP %q has a zone", host)
	case vip.Is6() && !bracketed:
		return Service{}, fmt.Errorf("an IPv6 VIP goes in brackets: %s:[%s]:PORT", proto, host)
	case vip.Is4() && bracketed:
		return Service{}, fmt.Errorf("an IPv4 VIP takes no brackets: %s:%s:%s", proto, host, port)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return Service{}, fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return Service{Proto: proto, VIP: vip.Unmap(), Port: uint16(p)}, nil
}

func parseMark(rest string) (Service, error) {
	m, err := strconv.ParseUint(rest, 10, 32)
	if err != nil || m == 0 {
		return Service{}, fmt.Errorf("firewall mark %q is not a number from 1 to 4294967295", rest)
	}
	return Service{FWMark: uint32(m)}, nil
}

// IsZero reports whether s selects nothing (no selector).
func (s Service) IsZero() bool { return s == Service{} }

// String returns the selector's text form; "" for the zero Service.
func (s Service) String() string {
	switch {
	case s.IsZero():
		return ""
	case s.FWMark != 0:
		return "fwmark:" + strconv.FormatUint(uint64(s.FWMark), 10)
	default:
		return s.Proto + ":" + netip.AddrPortFrom(s.VIP, s.Port).String()
	}
}

// Compare orders services by their fields (protocol services before
// fwmark ones), for stable listings.
func (s Service) Compare(o Service) int {
	if c := cmpUint(s.FWMark, o.FWMark); c != 0 {
		return c
	}
	if c := strings.Compare(s.Proto, o.Proto); c != 0 {
		return c
	}
	if c := s.VIP.Compare(o.VIP); c != 0 {
		return c
	}
	return cmpUint(s.Port, o.Port)
}

func cmpUint[T uint16 | uint32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarshalText encodes s in its selector form (so JSON carries a string).
func (s Service) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a selector; empty text is the zero Service.
func (s *Service) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Service{}
		return nil
	}
	v, err := ParseService(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
