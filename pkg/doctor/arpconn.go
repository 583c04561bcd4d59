package doctor

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// DialARP opens a raw ARP socket on iface (needs CAP_NET_RAW).
func DialARP(iface string) (ARPConn, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	c, err := arp.Dial(ifi)
	if err != nil {
		return nil, fmt.Errorf("arp: %w", err)
	}
	return &arpConn{c: c, hw: ifi.HardwareAddr}, nil
}

type arpConn struct {
	c  *arp.Client
	hw net.HardwareAddr
}

func (a *arpConn) HardwareAddr() net.HardwareAddr { return a.hw }

func (a *arpConn) Request(sender, target netip.Addr) error {
	p, err := arp.NewPacket(arp.OperationRequest, a.hw, sender, ethernet.Broadcast, target)
	if err != nil {
		return err
	}
	if err := a.c.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	return a.c.WriteTo(p, ethernet.Broadcast)
}

func (a *arpConn) Read(deadline time.Time) (ARPReply, error) {
	if err := a.c.SetReadDeadline(deadline); err != nil {
		return ARPReply{}, err
	}
	for {
		p, _, err := a.c.Read()
		if err != nil {
			return ARPReply{}, err
		}
		if p.Operation == arp.OperationReply {
			return ARPReply{IP: p.SenderIP, MAC: p.SenderHardwareAddr}, nil
		}
	}
}

func (a *arpConn) Close() error { return a.c.Close() }
