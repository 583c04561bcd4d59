package garp

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

var staleMAC = net.HardwareAddr{0x02, 0, 0, 0, 0xde, 0xad}

// pair is a sender namespace holding the VIPs on eth0 and a peer on the
// same segment that believes the VIPs live at staleMAC.
type pair struct {
	sender, peer *topo.NS
	mac          net.HardwareAddr
}

func newPair(t testing.TB, vips ...string) *pair {
	tp := topo.New(t)
	s, p := tp.AddNS("sender"), tp.AddNS("peer")
	tp.AddSegment("lan")
	tp.Connect("sender", "lan", "eth0", append([]string{"10.0.0.1/24", "fd00::1/64"}, vips...)...)
	tp.Connect("peer", "lan", "eth0", "10.0.0.2/24", "fd00::2/64")
	mac, err := s.HardwareAddr("eth0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := p.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vips {
		pf := netip.MustParsePrefix(v)
		n := &netlink.Neigh{LinkIndex: l.Attrs().Index, IP: pf.Addr().AsSlice(), HardwareAddr: staleMAC, State: netlink.NUD_STALE}
		if err := p.Handle().NeighSet(n); err != nil {
			t.Fatalf("seed neighbour %v: %v", v, err)
		}
	}
	return &pair{sender: s, peer: p, mac: mac}
}

// capture opens an AF_PACKET socket on the peer's eth0 seeing every frame.
func (pr *pair) capture(t *testing.T) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	err := pr.peer.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture socket: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// announceAndCapture announces vip from the sender until the peer's
// capture sees a frame match accepts (a fresh veth drops what it is given
// until the kernel's link watch activates it), for at most 5 s.
func (pr *pair) announceAndCapture(t *testing.T, c *packet.Conn, vip string, match func(*ethernet.Frame) bool) *ethernet.Frame {
	t.Helper()
	buf := make([]byte, 2048)
	for range 20 {
		pr.announce(t, vip)
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			var f ethernet.Frame
			if f.UnmarshalBinary(buf[:n]) == nil && match(&f) {
				return &f
			}
		}
	}
	t.Fatalf("no frame announcing %s captured", vip)
	return nil
}

// neighMAC polls the peer's neighbour entry for vip until it is want.
func (pr *pair) neighMAC(t *testing.T, vip string, want net.HardwareAddr) {
	t.Helper()
	var got net.HardwareAddr
	for range 50 {
		if e, err := pr.peer.Neigh(vip); err == nil {
			if got = e.HardwareAddr; bytes.Equal(got, want) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("peer's neighbour entry for %s is %v, want %v", vip, got, want)
}

func (pr *pair) announce(t *testing.T, vip string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pr.sender.Do(func() error { return Announce(ctx, "eth0", netip.MustParseAddr(vip)) }); err != nil {
		t.Fatal(err)
	}
}

func TestGratuitousARP(t *testing.T) {
	pr := newPair(t, "10.0.0.100/32")
	c := pr.capture(t)
	var p arp.Packet
	f := pr.announceAndCapture(t, c, "10.0.0.100", func(f *ethernet.Frame) bool {
		return f.EtherType == ethernet.EtherTypeARP && p.UnmarshalBinary(f.Payload) == nil && p.SenderIP == netip.MustParseAddr("10.0.0.100")
	})
	if !bytes.Equal(f.Source, pr.mac) || !bytes.Equal(f.Destination, ethernet.Broadcast) {
		t.Errorf("frame %v -> %v, want %v -> broadcast", f.Source, f.Destination, pr.mac)
	}
	if p.Operation != arp.OperationRequest || !bytes.Equal(p.SenderHardwareAddr, pr.mac) || p.TargetIP != p.SenderIP {
		t.Errorf("ARP packet %+v: want a request from %v with target = sender = the VIP", p, pr.mac)
	}
	pr.neighMAC(t, "10.0.0.100", pr.mac)
}

func TestUnsolicitedNA(t *testing.T) {
	pr := newPair(t, "fd00::100/128")
	c := pr.capture(t)
	var na *ndp.NeighborAdvertisement
	var src, dst netip.Addr
	f := pr.announceAndCapture(t, c, "fd00::100", func(f *ethernet.Frame) bool {
		if f.EtherType != ethernet.EtherTypeIPv6 || len(f.Payload) < 40 || f.Payload[6] != unix.IPPROTO_ICMPV6 {
			return false
		}
		src, dst = netip.AddrFrom16([16]byte(f.Payload[8:24])), netip.AddrFrom16([16]byte(f.Payload[24:40]))
		plen := int(binary.BigEndian.Uint16(f.Payload[4:6]))
		m, err := ndp.ParseMessage(f.Payload[40 : 40+plen])
		na, _ = m.(*ndp.NeighborAdvertisement)
		return err == nil && na != nil
	})
	if !bytes.Equal(f.Source, pr.mac) {
		t.Errorf("frame from %v, want %v", f.Source, pr.mac)
	}
	vip := netip.MustParseAddr("fd00::100")
	if src != vip || dst != allNodes || f.Payload[7] != 255 {
		t.Errorf("IPv6 %v -> %v hop limit %d, want %v -> ff02::1 hop limit 255", src, dst, f.Payload[7], vip)
	}
	if na.TargetAddress != vip || !na.Override || na.Solicited || len(na.Options) != 1 {
		t.Fatalf("advertisement %+v", na)
	}
	if ll, ok := na.Options[0].(*ndp.LinkLayerAddress); !ok || ll.Direction != ndp.Target || !bytes.Equal(ll.Addr, pr.mac) {
		t.Errorf("option %+v, want target link-layer address %v", na.Options[0], pr.mac)
	}
	pr.neighMAC(t, "fd00::100", pr.mac)
}

func TestAnnounceErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Announce(ctx, "lo", netip.MustParseAddr("10.0.0.1")); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
	if err := Announce(context.Background(), "no-such-if0", netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("missing interface accepted")
	}
}
