package doctor

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
)

// fakeNDP answers solicitations from a table of who claims which address.
type fakeNDP struct {
	own    net.HardwareAddr
	claims map[netip.Addr][]net.HardwareAddr
	queue  []NDPAdvert
	asked  []netip.Addr
}

func (f *fakeNDP) HardwareAddr() net.HardwareAddr { return f.own }

func (f *fakeNDP) Solicit(target netip.Addr) error {
	f.asked = append(f.asked, target)
	for _, m := range f.claims[target] {
		f.queue = append(f.queue, NDPAdvert{Target: target, MAC: m, Source: target})
	}
	// Unrelated advertisements on the segment must be ignored.
	f.queue = append(f.queue, NDPAdvert{Target: netip.MustParseAddr("2001:db8::77"), MAC: mac("02:00:00:00:00:77")})
	return nil
}

func (f *fakeNDP) Read(time.Time) (NDPAdvert, error) {
	if len(f.queue) == 0 {
		return NDPAdvert{}, os.ErrDeadlineExceeded
	}
	r := f.queue[0]
	f.queue = f.queue[1:]
	return r, nil
}

func (f *fakeNDP) Close() error { return nil }

// TestNDPFluxCheck: ndp-flux judges advertisements as arp-flux judges ARP
// replies: the director's own MAC is fine, a real server's (the MAC that
// also answers for the real server's own address) is always a problem,
// any other is a problem without director.announce and a peer director's
// note with it.
func TestNDPFluxCheck(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8::100")
	rs1, rs2 := netip.MustParseAddr("2001:db8::21"), netip.MustParseAddr("2001:db8::22")
	own, peer := mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")
	rs1MAC, rs2MAC := mac("02:00:00:00:00:21"), mac("02:00:00:00:00:22")
	var last *fakeNDP
	dial := func(vipClaims ...net.HardwareAddr) NDPDialer {
		return func(string) (NDPConn, error) {
			last = &fakeNDP{own: own, claims: map[netip.Addr][]net.HardwareAddr{
				vip: append([]net.HardwareAddr{own}, vipClaims...), rs1: {rs1MAC}, rs2: {rs2MAC}}}
			return last, nil
		}
	}
	v4 := netip.MustParseAddr("10.0.0.21") // arp-flux's: never solicited
	single := Target{Role: RoleDirector, Interface: "eth0", VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), vip},
		RealServers: []netip.Addr{v4, rs1, rs2}}
	run(t, checkNDPFlux, Host{NDP: dial()}, single, outcome{NameNDPFlux, true, nil})
	for _, a := range last.asked {
		if a != vip {
			t.Errorf("solicited %s; want only the IPv6 VIP %s when nobody else answers", a, vip)
		}
	}
	run(t, checkNDPFlux, Host{NDP: dial(rs1MAC)}, single,
		outcome{NameNDPFlux, false, []string{"VIP 2001:db8::100: 02:00:00:00:00:21 (real server 2001:db8::21) answered neighbour solicitations on eth0 besides the director (02:00:00:00:00:01)", "lo", "proxy_ndp"}})
	run(t, checkNDPFlux, Host{NDP: dial(peer)}, single,
		outcome{NameNDPFlux, false, []string{"02:00:00:00:00:02 answered neighbour solicitations on eth0", "director.announce"}})

	ecmp := single
	ecmp.Announce = true
	run(t, checkNDPFlux, Host{NDP: dial(peer)}, ecmp,
		outcome{NameNDPFlux, true, []string{"VIP 2001:db8::100: also answered by 02:00:00:00:00:02", "not a real server", "not neighbour discovery"}})
	run(t, checkNDPFlux, Host{NDP: dial(peer, rs2MAC)}, ecmp,
		outcome{NameNDPFlux, false, []string{"02:00:00:00:00:22 (real server 2001:db8::22) answered", "02:00:00:00:00:02, not a real server, answered too"}})
}

// TestNDPAnswerWithoutLinkLayer: an advertisement without a target
// link-layer address option is named by its source, not dropped.
func TestNDPAnswerWithoutLinkLayer(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8::100")
	f := &fakeNDP{own: mac("02:00:00:00:00:01"), claims: map[netip.Addr][]net.HardwareAddr{vip: {nil}}}
	tg := Target{Role: RoleDirector, Interface: "eth0", VIPs: []netip.Addr{vip}}
	run(t, checkNDPFlux, Host{NDP: func(string) (NDPConn, error) { return f, nil }}, tg,
		outcome{NameNDPFlux, false, []string{"VIP 2001:db8::100: 2001:db8::100 (no link-layer address option) answered"}})
}

// TestSolicitation: the frame is a neighbour solicitation for the target
// from the link-local address to its solicited-node group, hop limit
// 255, with a valid checksum and a source link-layer address option.
func TestSolicitation(t *testing.T) {
	own := mac("02:00:00:00:00:01")
	src, target := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::12:3456")
	group := netip.MustParseAddr("ff02::1:ff12:3456")
	dst, f, err := solicitation(own, src, target)
	if err != nil {
		t.Fatal(err)
	}
	if want := mac("33:33:ff:12:34:56"); dst.String() != want.String() || net.HardwareAddr(f[0:6]).String() != want.String() ||
		net.HardwareAddr(f[6:12]).String() != own.String() || f[12] != 0x86 || f[13] != 0xdd {
		t.Fatalf("Ethernet header % x (destination %s); want 33:33:ff:12:34:56 from %s, IPv6", f[:14], dst, own)
	}
	ip, msg := f[14:54], f[54:]
	if ip[0]>>4 != 6 || int(ip[4])<<8|int(ip[5]) != len(msg) || ip[6] != 58 || ip[7] != 255 ||
		netip.AddrFrom16([16]byte(ip[8:24])) != src || netip.AddrFrom16([16]byte(ip[24:40])) != group {
		t.Fatalf("IPv6 header % x; want version 6, payload %d, ICMPv6, hop limit 255, %s -> %s", ip, len(msg), src, group)
	}
	if c := icmp6Checksum(src, group, msg); c != 0 {
		t.Errorf("checksum over the message as sent is %#04x, want 0 (valid)", c)
	}
	m, err := ndp.ParseMessage(msg)
	ns, isNS := m.(*ndp.NeighborSolicitation)
	if err != nil || !isNS || ns.TargetAddress != target || len(ns.Options) != 1 {
		t.Fatalf("message %+v (%v); want a solicitation for %s with one option", m, err, target)
	}
	if l, ok := ns.Options[0].(*ndp.LinkLayerAddress); !ok || l.Direction != ndp.Source || l.Addr.String() != own.String() {
		t.Errorf("option %+v; want source link-layer address %s", ns.Options[0], own)
	}
}

// icmp6Checksum is the checksum of ICMPv6 message msg (0 when msg
// carries a valid one; written here, apart from the ndp package that
// computes the product's) from src to dst, over the IPv6 pseudo-header (RFC 8200 §8.1).
func icmp6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	add(binary.BigEndian.AppendUint32(nil, uint32(len(msg))))
	add([]byte{0, 0, 0, 58})
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
