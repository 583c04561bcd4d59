package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The encoder appends netlink attributes straight to a byte slice: Apply
// encodes thousands of requests into one buffer, and an encoder that
// allocates per attribute costs more than the kernel's own work.

// nlaNested is NLA_F_NESTED, set on nest attributes (as netlink.Nested).
const nlaNested = 0x8000

// familyOf returns f, or the family of a when f is 0.
func familyOf(f Family, a netip.Addr) Family {
	if f != 0 {
		return f
	}
	return FamilyOf(a)
}

// attr appends an attribute header for n bytes of data.
func attr(b []byte, typ uint16, n int) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+n))
	return binary.NativeEndian.AppendUint16(b, typ)
}

// pad appends the zeros that align n bytes of data to 4.
func pad(b []byte, n int) []byte {
	return append(b, make([]byte, -n&3)...)
}

func attrU8(b []byte, typ uint16, v uint8) []byte {
	return append(attr(b, typ, 1), v, 0, 0, 0)
}

func attrU16(b []byte, typ uint16, v uint16) []byte {
	return append(binary.NativeEndian.AppendUint16(attr(b, typ, 2), v), 0, 0)
}

func attrU32(b []byte, typ uint16, v uint32) []byte {
	return binary.NativeEndian.AppendUint32(attr(b, typ, 4), v)
}

// attrBE16 appends a port: a u16 in network byte order.
func attrBE16(b []byte, typ uint16, v uint16) []byte {
	return append(binary.BigEndian.AppendUint16(attr(b, typ, 2), v), 0, 0)
}

// attrString appends s NUL-terminated.
func attrString(b []byte, typ uint16, s string) []byte {
	b = append(append(attr(b, typ, len(s)+1), s...), 0)
	return pad(b, len(s)+1)
}

// nest appends the header of a nest attribute; end completes it.
func nest(b []byte) ([]byte, int) { return append(b, 0, 0, 0, 0), len(b) }

func end(b []byte, at int, typ uint16) []byte {
	binary.NativeEndian.PutUint16(b[at:], uint16(len(b)-at))
	binary.NativeEndian.PutUint16(b[at+2:], typ|nlaNested)
	return b
}

// attrAddr appends a as the kernel's union nf_inet_addr: 16 bytes, an
// IPv4 address in the first four.
func attrAddr(b []byte, typ uint16, fam Family, a netip.Addr) ([]byte, error) {
	a = a.Unmap()
	switch {
	case fam == Inet && a.Is4():
		v := a.As4()
		return append(append(attr(b, typ, addrLen), v[:]...), make([]byte, addrLen-4)...), nil
	case fam == Inet6 && a.Is6():
		v := a.As16()
		return append(attr(b, typ, addrLen), v[:]...), nil
	}
	return b, fmt.Errorf("address %v does not match family %v", a, fam)
}

// attrNetmask appends a persistence netmask: an IPv4 mask as a u32 in
// network byte order, an IPv6 prefix length as a native u32.
func attrNetmask(b []byte, typ uint16, fam Family, bits int) ([]byte, error) {
	switch fam {
	case Inet:
		if bits < 0 || bits > 32 {
			return b, fmt.Errorf("IPv4 netmask /%d out of range", bits)
		}
		var m uint32
		if bits > 0 {
			m = ^uint32(0) << (32 - bits)
		}
		return binary.BigEndian.AppendUint32(attr(b, typ, 4), m), nil
	case Inet6:
		if bits < 1 || bits > 128 {
			return b, fmt.Errorf("IPv6 netmask /%d out of range 1-128", bits)
		}
		return attrU32(b, typ, uint32(bits)), nil
	}
	return b, fmt.Errorf("unknown family %v", fam)
}

// attrFlags appends struct ip_vs_flags {flags, mask}: every flag is set or
// cleared, so an update replaces the flags.
func attrFlags(b []byte, typ uint16, f ServiceFlags) []byte {
	b = binary.NativeEndian.AppendUint32(attr(b, typ, 8), uint32(f&serviceFlagsNoHashed))
	return binary.NativeEndian.AppendUint32(b, serviceFlagsAllMask)
}

// appendService appends the service's attributes: its key, and with full
// its configuration too (the kernel requires all of it to add or edit).
func appendService(b []byte, s *Service, full bool) ([]byte, error) {
	fam := familyOf(s.Family, s.Address)
	if fam != Inet && fam != Inet6 {
		return b, fmt.Errorf("service %v: no address family", *s) // a copy: s itself stays off the heap
	}
	b = attrU16(b, svcAttrAF, uint16(fam))
	if s.FWMark != 0 {
		b = attrU32(b, svcAttrFWMark, s.FWMark)
	} else {
		b = attrU16(b, svcAttrProtocol, uint16(s.Protocol))
		var err error
		if b, err = attrAddr(b, svcAttrAddr, fam, s.Address); err != nil {
			return b, fmt.Errorf("service %v: %w", *s, err)
		}
		b = attrBE16(b, svcAttrPort, s.Port)
	}
	if !full {
		return b, nil
	}
	if s.Scheduler == "" {
		return b, fmt.Errorf("service %v: no scheduler", *s)
	}
	b = attrString(b, svcAttrSchedName, s.Scheduler)
	if s.PEName != "" {
		b = attrString(b, svcAttrPEName, s.PEName)
	}
	b = attrFlags(b, svcAttrFlags, s.Flags)
	b = attrU32(b, svcAttrTimeout, s.Timeout)
	b, err := attrNetmask(b, svcAttrNetmask, fam, s.Netmask)
	if err != nil {
		return b, fmt.Errorf("service %v: %w", *s, err)
	}
	return b, nil
}

// appendDestination appends the destination's attributes: its key, and
// with full its configuration too.
func appendDestination(b []byte, svcFam Family, d *Destination, full bool) ([]byte, error) {
	fam := d.Family
	if fam == 0 {
		fam = FamilyOf(d.Address)
	}
	if fam == 0 {
		fam = svcFam
	}
	b, err := attrAddr(b, destAttrAddr, fam, d.Address)
	if err != nil {
		return b, fmt.Errorf("destination %v: %w", *d, err) // a copy, as above
	}
	b = attrBE16(b, destAttrPort, d.Port)
	b = attrU16(b, destAttrAddrFamily, uint16(fam))
	if !full {
		return b, nil
	}
	b = attrU32(b, destAttrFwdMethod, uint32(d.Forward&fwdMask))
	b = attrU32(b, destAttrWeight, d.Weight)
	b = attrU32(b, destAttrUThresh, d.UpperThreshold)
	b = attrU32(b, destAttrLThresh, d.LowerThreshold)
	if d.Forward == Tunnel {
		b = attrU8(b, destAttrTunType, uint8(d.TunnelType))
		b = attrBE16(b, destAttrTunPort, d.TunnelPort)
		b = attrU16(b, destAttrTunFlags, uint16(d.TunnelFlags))
	}
	return b, nil
}

// appendServiceAttrs appends the request body naming (and with full,
// describing) s: one nested IPVS_CMD_ATTR_SERVICE.
func appendServiceAttrs(b []byte, s *Service, full bool) ([]byte, error) {
	b, at := nest(b)
	b, err := appendService(b, s, full)
	if err != nil {
		return b, err
	}
	return end(b, at, cmdAttrService), nil
}

// appendDestinationAttrs appends the request body naming service s and
// destination d (described in full with full).
func appendDestinationAttrs(b []byte, s *Service, d *Destination, full bool) ([]byte, error) {
	b, err := appendServiceAttrs(b, s, false)
	if err != nil {
		return b, err
	}
	b, at := nest(b)
	if b, err = appendDestination(b, familyOf(s.Family, s.Address), d, full); err != nil {
		return b, err
	}
	return end(b, at, cmdAttrDest), nil
}

// serviceAttrs returns the request body naming (and with full, describing)
// s.
func serviceAttrs(s Service, full bool) ([]byte, error) {
	b, err := appendServiceAttrs(nil, &s, full)
	if err != nil {
		return nil, err
	}
	return b, nil
}
