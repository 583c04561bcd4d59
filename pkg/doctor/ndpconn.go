package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
)

// DialNDP opens the sockets of an NDPConn on iface (needs CAP_NET_RAW): a
// packet socket of protocol 0, which receives nothing, for the
// solicitations, and a raw ICMPv6 socket bound to the interface's
// link-local address, their source, that receives neighbour
// advertisements only. The solicitations are whole Ethernet frames and
// never pass through the director's own IPv6 stack: it holds the VIPs
// and would answer them itself, and sending to a multicast group through
// it leaves a neighbour entry for the group behind.
func DialNDP(iface string) (NDPConn, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("%s is not an Ethernet interface (hardware address %q)", iface, ifi.HardwareAddr)
	}
	// A down interface has lost its link-local address: say why.
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("%s is down", iface)
	}
	ll, err := linkLocal(ifi)
	if err != nil {
		return nil, err
	}
	// The zone by index: the net package caches interface names for the
	// whole process, whichever network namespace they were seen in.
	c, err := net.ListenIP("ip6:ipv6-icmp", &net.IPAddr{IP: ll.AsSlice(), Zone: strconv.Itoa(ifi.Index)})
	if err != nil {
		return nil, fmt.Errorf("ICMPv6 socket on %s: %w", ll, err)
	}
	pc := ipv6.NewPacketConn(c)
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeNeighborAdvertisement)
	if err := pc.SetICMPFilter(&f); err == nil {
		err = pc.SetControlMessage(ipv6.FlagHopLimit, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ICMPv6 socket on %s: %w", ifi.Name, err)
	}
	out, err := packet.Listen(ifi, packet.Raw, 0, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("packet socket on %s: %w", ifi.Name, err)
	}
	return &ndpConn{pc: pc, out: out, ifi: ifi, src: ll, buf: make([]byte, max(ifi.MTU, 1280))}, nil
}

// linkLocal is ifi's first IPv6 link-local address. Without one it says
// whether IPv6 is disabled on ifi (disable_ipv6 removes the address).
func linkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() == nil && n.IP.IsLinkLocalUnicast() {
			ip, _ := netip.AddrFromSlice(n.IP)
			return ip, nil
		}
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + ifi.Name + "/disable_ipv6"); err == nil && strings.TrimSpace(string(b)) == "1" {
		return netip.Addr{}, fmt.Errorf("IPv6 is disabled on %s (net.ipv6.conf.%s.disable_ipv6=1)", ifi.Name, ifi.Name)
	}
	return netip.Addr{}, fmt.Errorf("no IPv6 link-local address on %s", ifi.Name)
}

type ndpConn struct {
	pc  *ipv6.PacketConn // receives advertisements
	out *packet.Conn     // sends solicitations
	ifi *net.Interface
	src netip.Addr // the link-local address pc is bound to
	buf []byte
}

func (c *ndpConn) HardwareAddr() net.HardwareAddr { return c.ifi.HardwareAddr }

func (c *ndpConn) Solicit(target netip.Addr) error {
	dst, b, err := solicitation(c.ifi.HardwareAddr, c.src, target)
	if err != nil {
		return err
	}
	if err := c.out.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	_, err = c.out.WriteTo(b, &packet.Addr{HardwareAddr: dst})
	return err
}

// solicitation returns the Ethernet frame of a neighbour solicitation for
// target from mac and src (RFC 4861 §4.3, §7.2.2: to target's
// solicited-node group, hop limit 255, a source link-layer address
// option), and its destination MAC (RFC 2464 §7: 33:33 and the group's
// last four bytes).
func solicitation(mac net.HardwareAddr, src, target netip.Addr) (net.HardwareAddr, []byte, error) {
	group, err := ndp.SolicitedNodeMulticast(target)
	if err != nil {
		return nil, nil, err
	}
	msg, err := ndp.MarshalMessageChecksum(&ndp.NeighborSolicitation{
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: mac}},
	}, src, group)
	if err != nil {
		return nil, nil, err
	}
	g := group.As16()
	dst := net.HardwareAddr{0x33, 0x33, g[12], g[13], g[14], g[15]}
	f := make([]byte, 0, 14+40+len(msg))
	f = append(append(append(f, dst...), mac...), 0x86, 0xdd)
	f = append(f, 0x60, 0, 0, 0) // version 6, traffic class and flow label 0
	f = binary.BigEndian.AppendUint16(f, uint16(len(msg)))
	f = append(f, 58, ndp.HopLimit) // next header ICMPv6
	f = append(append(f, src.AsSlice()...), group.AsSlice()...)
	return dst, append(f, msg...), nil
}

// Read skips what is not a valid neighbour advertisement: an ICMPv6
// message that does not parse as one, or one that crossed a router (hop
// limit below 255, RFC 4861 §7.1.2).
func (c *ndpConn) Read(deadline time.Time) (NDPAdvert, error) {
	if err := c.pc.SetReadDeadline(deadline); err != nil {
		return NDPAdvert{}, err
	}
	for {
		n, cm, src, err := c.pc.ReadFrom(c.buf)
		if err != nil {
			return NDPAdvert{}, err
		}
		if cm != nil && cm.HopLimit != ndp.HopLimit {
			continue
		}
		m, err := ndp.ParseMessage(c.buf[:n])
		na, isNA := m.(*ndp.NeighborAdvertisement)
		if err != nil || !isNA {
			continue
		}
		adv := NDPAdvert{Target: na.TargetAddress.WithZone("")}
		if ip, ok := src.(*net.IPAddr); ok {
			adv.Source, _ = netip.AddrFromSlice(ip.IP)
		}
		for _, o := range na.Options {
			if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == ndp.Target {
				adv.MAC = l.Addr
			}
		}
		return adv, nil
	}
}

func (c *ndpConn) Close() error { return errors.Join(c.pc.Close(), c.out.Close()) }
