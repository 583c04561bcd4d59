package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// errShort reports an attribute too short for its type.
var errShort = errors.New("attribute too short")

// decodeAddr reads an address attribute of family fam (4 or 16 bytes; the
// kernel sends 16 for both).
func decodeAddr(fam Family, b []byte) (netip.Addr, error) {
	switch fam {
	case Inet:
		if len(b) < 4 {
			return netip.Addr{}, errShort
		}
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case Inet6:
		if len(b) < 16 {
			return netip.Addr{}, errShort
		}
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of unknown family %v", fam)
}

// decodePort reads a port in network byte order.
func decodePort(b []byte) (uint16, error) {
	if len(b) < 2 {
		return 0, errShort
	}
	return binary.BigEndian.Uint16(b), nil
}

// decodeNetmask is the inverse of netmaskBytes. A non-contiguous IPv4 mask
// (which only a hand-made rule can hold) is reported by its leading ones.
func decodeNetmask(fam Family, b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errShort
	}
	if fam == Inet {
		return bits.LeadingZeros32(^binary.BigEndian.Uint32(b)), nil
	}
	return int(binary.NativeEndian.Uint32(b)), nil
}

// decodeStats reads a *_STATS64 nest (every counter a u64) or a legacy
// *_STATS nest (bytes u64, the rest u32).
func decodeStats(nad *netlink.AttributeDecoder, wide bool) (Stats, error) {
	var s Stats
	for nad.Next() {
		var dst *uint64
		switch nad.Type() {
		case statsAttrConns:
			dst = &s.Connections
		case statsAttrInPkts:
			dst = &s.PacketsIn
		case statsAttrOutPkts:
			dst = &s.PacketsOut
		case statsAttrInBytes:
			dst = &s.BytesIn
		case statsAttrOutBytes:
			dst = &s.BytesOut
		case statsAttrCPS:
			dst = &s.CPS
		case statsAttrInPPS:
			dst = &s.PPSIn
		case statsAttrOutPPS:
			dst = &s.PPSOut
		case statsAttrInBPS:
			dst = &s.BPSIn
		case statsAttrOutBPS:
			dst = &s.BPSOut
		default:
			continue
		}
		t := nad.Type()
		if wide || t == statsAttrInBytes || t == statsAttrOutBytes {
			*dst = nad.Uint64()
		} else {
			*dst = uint64(nad.Uint32())
		}
	}
	return s, nad.Err()
}

// decodeService reads the attributes inside an IPVS_CMD_ATTR_SERVICE nest.
func decodeService(b []byte) (ServiceExtended, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ServiceExtended{}, err
	}
	var (
		s              ServiceExtended
		addr, mask     []byte
		stats, stats64 bool
		s32, s64       Stats
	)
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			s.Family = Family(ad.Uint16())
		case svcAttrProtocol:
			s.Protocol = Protocol(ad.Uint16())
		case svcAttrAddr:
			addr = ad.Bytes()
		case svcAttrPort:
			ad.Do(func(b []byte) (err error) { s.Port, err = decodePort(b); return })
		case svcAttrFWMark:
			s.FWMark = ad.Uint32()
		case svcAttrSchedName:
			s.Scheduler = ad.String()
		case svcAttrPEName:
			s.PEName = ad.String()
		case svcAttrFlags:
			ad.Do(func(b []byte) error {
				if len(b) < 4 {
					return errShort
				}
				s.Flags = ServiceFlags(binary.NativeEndian.Uint32(b)) & serviceFlagsNoHashed
				return nil
			})
		case svcAttrTimeout:
			s.Timeout = ad.Uint32()
		case svcAttrNetmask:
			mask = ad.Bytes()
		case svcAttrStats:
			stats = true
			ad.Nested(func(nad *netlink.AttributeDecoder) (err error) { s32, err = decodeStats(nad, false); return })
		case svcAttrStats64:
			stats64 = true
			ad.Nested(func(nad *netlink.AttributeDecoder) (err error) { s64, err = decodeStats(nad, true); return })
		}
	}
	if err := ad.Err(); err != nil {
		return ServiceExtended{}, err
	}
	if s.FWMark != 0 {
		// The kernel keeps fwmark services as tcp internally but reports
		// neither protocol nor address.
		s.Protocol, s.Address, s.Port = 0, netip.Addr{}, 0
	} else if addr != nil {
		if s.Address, err = decodeAddr(s.Family, addr); err != nil {
			return ServiceExtended{}, fmt.Errorf("service address: %w", err)
		}
	}
	if mask != nil {
		if s.Netmask, err = decodeNetmask(s.Family, mask); err != nil {
			return ServiceExtended{}, fmt.Errorf("service netmask: %w", err)
		}
	}
	switch {
	case stats64:
		s.Stats = s64
	case stats:
		s.Stats = s32
	}
	return s, nil
}

// decodeDestination reads the attributes inside an IPVS_CMD_ATTR_DEST
// nest; svcFam is used when the kernel does not report the destination's
// own family (before Linux 3.18).
func decodeDestination(b []byte, svcFam Family) (DestinationExtended, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return DestinationExtended{}, err
	}
	var (
		d              DestinationExtended
		addr           []byte
		stats, stats64 bool
		s32, s64       Stats
	)
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			addr = ad.Bytes()
		case destAttrPort:
			ad.Do(func(b []byte) (err error) { d.Port, err = decodePort(b); return })
		case destAttrFwdMethod:
			d.Forward = ForwardMethod(ad.Uint32() & fwdMask)
		case destAttrWeight:
			d.Weight = ad.Uint32()
		case destAttrUThresh:
			d.UpperThreshold = ad.Uint32()
		case destAttrLThresh:
			d.LowerThreshold = ad.Uint32()
		case destAttrActiveConns:
			d.ActiveConnections = ad.Uint32()
		case destAttrInactConns:
			d.InactiveConnections = ad.Uint32()
		case destAttrPersistConns:
			d.PersistentConnections = ad.Uint32()
		case destAttrAddrFamily:
			d.Family = Family(ad.Uint16())
		case destAttrTunType:
			d.TunnelType = TunnelType(ad.Uint8())
		case destAttrTunPort:
			ad.Do(func(b []byte) (err error) { d.TunnelPort, err = decodePort(b); return })
		case destAttrTunFlags:
			d.TunnelFlags = TunnelFlags(ad.Uint16())
		case destAttrStats:
			stats = true
			ad.Nested(func(nad *netlink.AttributeDecoder) (err error) { s32, err = decodeStats(nad, false); return })
		case destAttrStats64:
			stats64 = true
			ad.Nested(func(nad *netlink.AttributeDecoder) (err error) { s64, err = decodeStats(nad, true); return })
		}
	}
	if err := ad.Err(); err != nil {
		return DestinationExtended{}, err
	}
	if d.Family == 0 {
		d.Family = svcFam
	}
	if addr != nil {
		if d.Address, err = decodeAddr(d.Family, addr); err != nil {
			return DestinationExtended{}, fmt.Errorf("destination address: %w", err)
		}
	}
	if d.Forward != Tunnel {
		// Kernels report the tunnel fields of every destination; they
		// mean nothing unless it tunnels.
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	}
	switch {
	case stats64:
		d.Stats = s64
	case stats:
		d.Stats = s32
	}
	return d, nil
}

// nestedIn returns the payload of the first-level attribute typ in a
// generic netlink message body, or nil.
func nestedIn(body []byte, typ uint16) ([]byte, error) {
	ad, err := netlink.NewAttributeDecoder(body)
	if err != nil {
		return nil, err
	}
	for ad.Next() {
		if ad.Type() == typ {
			return ad.Bytes(), nil
		}
	}
	return nil, ad.Err()
}

// decodeInfo reads an IPVS_CMD_GET_INFO reply body.
func decodeInfo(body []byte) (Info, error) {
	ad, err := netlink.NewAttributeDecoder(body)
	if err != nil {
		return Info{}, err
	}
	var in Info
	for ad.Next() {
		switch ad.Type() {
		case infoAttrVersion:
			in.Version = Version(ad.Uint32())
		case infoAttrConnTabSize:
			in.ConnTableSize = ad.Uint32()
		}
	}
	return in, ad.Err()
}
