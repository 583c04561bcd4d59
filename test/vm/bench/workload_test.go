package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// shape is a table of services x real servers per service.
type shape struct{ services, perService int }

func (s shape) String() string { return fmt.Sprintf("%dx%d", s.services, s.perService) }

func (s shape) realServers() int { return s.services * s.perService }

// shapes are the benchmarked tables: 10,000 real servers each.
var shapes = []shape{{100, 100}, {10, 1000}}

// vip is the one VIP; service i listens on port basePort+i (one address
// to bind for director.Start, as many services as wanted).
var vip = netip.MustParseAddr("10.100.0.1")

const basePort = 10000

// realServer is real server j of service i: 172.16.0.0/12, distinct for
// every (i, j) with j < 1024.
func realServer(i, j int) netip.Addr {
	n := 172<<24 | 16<<16 + uint32(i)<<10 + uint32(j) + 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func service(i int) ipvs.Service {
	return ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip, Port: uint16(basePort + i), Scheduler: "wrr", Netmask: 32}
}

func destination(i, j int) ipvs.Destination {
	return ipvs.Destination{Family: ipvs.Inet, Address: realServer(i, j), Port: uint16(basePort + i), Forward: ipvs.Route, Weight: 1}
}

// ops is the table as Ops in the planner's order: each service, then its
// real servers.
func (s shape) ops() []ipvs.Op {
	out := make([]ipvs.Op, 0, s.services+s.realServers())
	for i := range s.services {
		out = append(out, ipvs.Op{Kind: ipvs.OpNewService, Service: service(i)})
		for j := range s.perService {
			out = append(out, ipvs.Op{Kind: ipvs.OpNewDestination, Service: service(i), Destination: destination(i, j)})
		}
	}
	return out
}

// deletes removes the shape's services (and with them their real servers).
func (s shape) deletes() []ipvs.Op {
	out := make([]ipvs.Op, s.services)
	for i := range out {
		out[i] = ipvs.Op{Kind: ipvs.OpDeleteService, Service: service(i)}
	}
	return out
}

// config is the same table as an lvs-rs configuration (dr, weight 1).
func (s shape) config() *config.Config {
	cfg := &config.Config{Director: config.Director{Interface: "eth0"}}
	for i := range s.services {
		vs := config.VirtualServer{VIP: vip, Port: uint16(basePort + i), Protocol: config.TCP, Scheduler: "wrr",
			Mode: config.ModeDR, PersistenceNetmask: 32}
		for j := range s.perService {
			vs.RealServers = append(vs.RealServers, config.RealServer{Address: realServer(i, j), Port: uint16(basePort + i),
				Weight: 1, Mode: config.ModeDR})
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// restore is the same table as an ipvsadm -R file.
func (s shape) restore() string {
	var b strings.Builder
	for i := range s.services {
		vs := netip.AddrPortFrom(vip, uint16(basePort+i))
		fmt.Fprintf(&b, "-A -t %v -s wrr\n", vs)
		for j := range s.perService {
			fmt.Fprintf(&b, "-a -t %v -r %v -g -w 1\n", vs, netip.AddrPortFrom(realServer(i, j), uint16(basePort+i)))
		}
	}
	return b.String()
}

// IPVS generic netlink constants (include/uapi/linux/ip_vs.h), for the
// floor's own encoding: the floor must not use the client's code.
const (
	cmdNewService    = 1
	cmdDelService    = 3
	cmdNewDest       = 5
	cmdAttrService   = 1
	cmdAttrDest      = 2
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	dstAttrAddr      = 1
	dstAttrPort      = 2
	dstAttrFwd       = 3
	dstAttrWeight    = 4
	dstAttrUThresh   = 5
	dstAttrLThresh   = 6
	dstAttrAF        = 11
)

func addr16(a netip.Addr) []byte {
	v := a.As4()
	return append(v[:], make([]byte, 12)...)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// encodeRequests renders ops (new services, new destinations and service
// deletions only) as
// generic netlink requests for family, with consecutive sequence numbers
// from seq, NLM_F_ACK on each when ackEach and on the last otherwise.
func encodeRequests(ops []ipvs.Op, family uint16, seq uint32, ackEach bool) ([][]byte, error) {
	out := make([][]byte, len(ops))
	for k, op := range ops {
		ae := netlink.NewAttributeEncoder()
		svc := op.Service
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
			nae.Uint16(svcAttrAF, unix.AF_INET)
			nae.Uint16(svcAttrProtocol, unix.IPPROTO_TCP)
			nae.Bytes(svcAttrAddr, addr16(svc.Address))
			nae.Bytes(svcAttrPort, be16(svc.Port))
			if op.Kind == ipvs.OpNewService {
				nae.String(svcAttrSchedName, svc.Scheduler)
				nae.Bytes(svcAttrFlags, binary.NativeEndian.AppendUint64(nil, 0xFFFFFFFF<<32)) // flags 0, mask all
				nae.Uint32(svcAttrTimeout, 0)
				nae.Bytes(svcAttrNetmask, []byte{255, 255, 255, 255})
			}
			return nil
		})
		cmd := uint8(cmdNewService)
		if op.Kind == ipvs.OpNewDestination {
			cmd = cmdNewDest
			d := op.Destination
			ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error {
				nae.Bytes(dstAttrAddr, addr16(d.Address))
				nae.Bytes(dstAttrPort, be16(d.Port))
				nae.Uint16(dstAttrAF, unix.AF_INET)
				nae.Uint32(dstAttrFwd, uint32(d.Forward))
				nae.Uint32(dstAttrWeight, d.Weight)
				nae.Uint32(dstAttrUThresh, 0)
				nae.Uint32(dstAttrLThresh, 0)
				return nil
			})
		} else if op.Kind == ipvs.OpDeleteService {
			cmd = cmdDelService
		} else if op.Kind != ipvs.OpNewService {
			return nil, fmt.Errorf("encodeRequests: %v", op)
		}
		body, err := ae.Encode()
		if err != nil {
			return nil, err
		}
		flags := netlink.Request
		if ackEach || k == len(ops)-1 {
			flags |= netlink.Acknowledge
		}
		data := append([]byte{cmd, 1, 0, 0}, body...)
		m := netlink.Message{
			Header: netlink.Header{Length: uint32(16 + len(data)), Type: netlink.HeaderType(family), Flags: flags, Sequence: seq + uint32(k)},
			Data:   data,
		}
		if out[k], err = m.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
