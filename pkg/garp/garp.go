package garp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// DefaultTimeout bounds a send when the context has no deadline.
const DefaultTimeout = 2 * time.Second

// Announce sends one gratuitous ARP (IPv4 vip) or unsolicited neighbour
// advertisement (IPv6 vip) for vip out of interface ifname, which must be
// up with an Ethernet address (and, for IPv6, hold vip). It is a Sender
// used once: announcing several VIPs, use one Sender.
func Announce(ctx context.Context, ifname string, vip netip.Addr) error {
	var s Sender
	err := s.Announce(ctx, ifname, vip)
	if cerr := s.Close(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// frame returns the Ethernet frame of the gratuitous ARP for vip from mac.
func frame(mac net.HardwareAddr, vip netip.Addr) (*ethernet.Frame, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, vip, ethernet.Broadcast, vip)
	if err != nil {
		return nil, err
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: pb}, nil
}

// allNodes is the link-local all-nodes multicast group.
var allNodes = netip.MustParseAddr("ff02::1")

// advertisement returns the unsolicited neighbour advertisement for vip
// from mac.
func advertisement(mac net.HardwareAddr, vip netip.Addr) *ndp.NeighborAdvertisement {
	return &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: vip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
}

// sendNA multicasts the advertisement from vip.
func sendNA(ifi *net.Interface, vip netip.Addr, dl time.Time) error {
	c, _, err := ndp.Listen(ifi, ndp.Addr(vip.String()))
	if err != nil {
		return fmt.Errorf("open ICMPv6 socket on %v: %w", vip, err)
	}
	defer c.Close()
	if err := c.SetWriteDeadline(dl); err != nil {
		return err
	}
	cm := &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: vip.AsSlice(), IfIndex: ifi.Index}
	if err := c.WriteTo(advertisement(ifi.HardwareAddr, vip), cm, allNodes); err != nil {
		return fmt.Errorf("send neighbour advertisement: %w", err)
	}
	return nil
}
