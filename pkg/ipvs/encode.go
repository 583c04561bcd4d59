package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// familyOf returns f, or the family of a when f is 0.
func familyOf(f Family, a netip.Addr) Family {
	if f != 0 {
		return f
	}
	return FamilyOf(a)
}

// addrBytes renders a as the kernel's union nf_inet_addr: 16 bytes, an
// IPv4 address in the first four.
func addrBytes(fam Family, a netip.Addr) ([]byte, error) {
	a = a.Unmap()
	b := make([]byte, addrLen)
	switch {
	case fam == Inet && a.Is4():
		v := a.As4()
		copy(b, v[:])
	case fam == Inet6 && a.Is6():
		v := a.As16()
		copy(b, v[:])
	default:
		return nil, fmt.Errorf("address %v does not match family %v", a, fam)
	}
	return b, nil
}

// be16 renders a port in network byte order.
func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// netmaskBytes renders a persistence netmask: an IPv4 mask as a u32 in
// network byte order, an IPv6 prefix length as a native u32.
func netmaskBytes(fam Family, bits int) ([]byte, error) {
	switch fam {
	case Inet:
		if bits < 0 || bits > 32 {
			return nil, fmt.Errorf("IPv4 netmask /%d out of range", bits)
		}
		var m uint32
		if bits > 0 {
			m = ^uint32(0) << (32 - bits)
		}
		return binary.BigEndian.AppendUint32(nil, m), nil
	case Inet6:
		if bits < 1 || bits > 128 {
			return nil, fmt.Errorf("IPv6 netmask /%d out of range 1-128", bits)
		}
		return binary.NativeEndian.AppendUint32(nil, uint32(bits)), nil
	}
	return nil, fmt.Errorf("unknown family %v", fam)
}

// flagsBytes renders struct ip_vs_flags {flags, mask}: every flag is set
// or cleared, so an update replaces the flags.
func flagsBytes(f ServiceFlags) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(f&serviceFlagsNoHashed))
	return binary.NativeEndian.AppendUint32(b, serviceFlagsAllMask)
}

// encodeService writes the service's attributes into ae: its key, and with
// full its configuration too (the kernel requires all of it to add or edit).
func encodeService(ae *netlink.AttributeEncoder, s Service, full bool) error {
	fam := familyOf(s.Family, s.Address)
	if fam != Inet && fam != Inet6 {
		return fmt.Errorf("service %v: no address family", s)
	}
	ae.Uint16(svcAttrAF, uint16(fam))
	if s.FWMark != 0 {
		ae.Uint32(svcAttrFWMark, s.FWMark)
	} else {
		addr, err := addrBytes(fam, s.Address)
		if err != nil {
			return fmt.Errorf("service %v: %w", s, err)
		}
		ae.Uint16(svcAttrProtocol, uint16(s.Protocol))
		ae.Bytes(svcAttrAddr, addr)
		ae.Bytes(svcAttrPort, be16(s.Port))
	}
	if !full {
		return nil
	}
	if s.Scheduler == "" {
		return fmt.Errorf("service %v: no scheduler", s)
	}
	mask, err := netmaskBytes(fam, s.Netmask)
	if err != nil {
		return fmt.Errorf("service %v: %w", s, err)
	}
	ae.String(svcAttrSchedName, s.Scheduler)
	if s.PEName != "" {
		ae.String(svcAttrPEName, s.PEName)
	}
	ae.Bytes(svcAttrFlags, flagsBytes(s.Flags))
	ae.Uint32(svcAttrTimeout, s.Timeout)
	ae.Bytes(svcAttrNetmask, mask)
	return nil
}

// encodeDestination writes the destination's attributes into ae: its key,
// and with full its configuration too.
func encodeDestination(ae *netlink.AttributeEncoder, svcFam Family, d Destination, full bool) error {
	fam := d.Family
	if fam == 0 {
		fam = FamilyOf(d.Address)
	}
	if fam == 0 {
		fam = svcFam
	}
	addr, err := addrBytes(fam, d.Address)
	if err != nil {
		return fmt.Errorf("destination %v: %w", d, err)
	}
	ae.Bytes(destAttrAddr, addr)
	ae.Bytes(destAttrPort, be16(d.Port))
	ae.Uint16(destAttrAddrFamily, uint16(fam))
	if !full {
		return nil
	}
	ae.Uint32(destAttrFwdMethod, uint32(d.Forward&fwdMask))
	ae.Uint32(destAttrWeight, d.Weight)
	ae.Uint32(destAttrUThresh, d.UpperThreshold)
	ae.Uint32(destAttrLThresh, d.LowerThreshold)
	if d.Forward == Tunnel {
		ae.Uint8(destAttrTunType, uint8(d.TunnelType))
		ae.Bytes(destAttrTunPort, be16(d.TunnelPort))
		ae.Uint16(destAttrTunFlags, uint16(d.TunnelFlags))
	}
	return nil
}

// serviceAttrs returns the request body naming (and with full, describing)
// s: one nested IPVS_CMD_ATTR_SERVICE.
func serviceAttrs(s Service, full bool) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		return encodeService(nae, s, full)
	})
	return ae.Encode()
}

// destinationAttrs returns the request body naming service s and
// destination d (described in full with full).
func destinationAttrs(s Service, d Destination, full bool) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		return encodeService(nae, s, false)
	})
	ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error {
		return encodeDestination(nae, familyOf(s.Family, s.Address), d, full)
	})
	return ae.Encode()
}
