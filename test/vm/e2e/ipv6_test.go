package e2e

import (
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// nat6 is NATUnrouted in IPv6: the client and the director's eth0 on the
// front /64 (the client reaches the VIP on-link, so the director answers
// its neighbour solicitations for the deprecated VIP), the real servers
// behind eth1 without a default route until lvs-rs sets one via the
// director. The director's forwarding is off: lvs-rs turns IPv6
// forwarding on for the nat service (without it the replies are
// dropped), and accept_ra=2 first on its interfaces; stop puts both back
// (the snapshots compare them).
//
//	client   eth0 2001:db8:f::2/64                         (segment "front")
//	director eth0 2001:db8:f::1/64, eth1 2001:db8:b::1/64
//	rs1 eth0 2001:db8:b::11/64, rs2 eth0 2001:db8:b::12/64 ("back")
//	VIP 2001:db8:f::100
func nat6(tb testing.TB) *topo.Preset {
	tb.Helper()
	tp := topo.New(tb)
	p := &topo.Preset{
		Topo: tp, Client: tp.AddNS("client"), Director: tp.AddNS("director"),
		RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: netip.MustParseAddr("2001:db8:f::100"), DirectorIface: "eth0",
		ClientIP: netip.MustParseAddr("2001:db8:f::2"), DirectorIP: netip.MustParseAddr("2001:db8:b::1"),
		RS1IP: netip.MustParseAddr("2001:db8:b::11"), RS2IP: netip.MustParseAddr("2001:db8:b::12"),
		Gateway: netip.MustParseAddr("2001:db8:b::1"),
	}
	tp.AddSegment("front")
	tp.AddSegment("back")
	tp.Connect("client", "front", "eth0", "2001:db8:f::2/64")
	tp.Connect("director", "front", "eth0", "2001:db8:f::1/64")
	tp.Connect("director", "back", "eth1", "2001:db8:b::1/64")
	tp.Connect("rs1", "back", "eth0", "2001:db8:b::11/64")
	tp.Connect("rs2", "back", "eth0", "2001:db8:b::12/64")
	return p
}

// dr6 is DR in IPv6: client, director and real servers on one /64; the
// director's VIP (deprecated) and the real servers' (on lo) share it.
//
//	client 2001:db8:a::2   director 2001:db8:a::1   rs1 ::11   rs2 ::12
//	VIP 2001:db8:a::100
func dr6(tb testing.TB) *topo.Preset {
	tb.Helper()
	tp := topo.New(tb)
	p := &topo.Preset{
		Topo: tp, Client: tp.AddNS("client"), Director: tp.AddNS("director"),
		RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: netip.MustParseAddr("2001:db8:a::100"), DirectorIface: "eth0",
		ClientIP: netip.MustParseAddr("2001:db8:a::2"), DirectorIP: netip.MustParseAddr("2001:db8:a::1"),
		RS1IP: netip.MustParseAddr("2001:db8:a::11"), RS2IP: netip.MustParseAddr("2001:db8:a::12"),
	}
	tp.AddSegment("lan")
	tp.Connect("client", "lan", "eth0", "2001:db8:a::2/64")
	tp.Connect("director", "lan", "eth0", "2001:db8:a::1/64")
	tp.Connect("rs1", "lan", "eth0", "2001:db8:a::11/64")
	tp.Connect("rs2", "lan", "eth0", "2001:db8:a::12/64")
	return p
}

// TestNAT6: an IPv6 nat cluster serves the client through the VIP (the
// director forwards the real servers' replies: IPv6 forwarding on), the
// real servers' default route via the director at metric 1, and stop
// puts every namespace back as it was, forwarding and accept_ra included.
func TestNAT6(t *testing.T) {
	runCluster(t, scenario{
		build: nat6,
		service: func(p *topo.Preset) service {
			return service{mode: "nat", vip: p.VIP.String(), port: 80, iface: p.DirectorIface, scheduler: "wrr",
				gateway: p.Gateway.String(),
				reals:   []real{{p.RS1, p.RS1IP.String(), 1, 80}, {p.RS2, p.RS2IP.String(), 3, 8080}}}
		},
		arp: func(p *topo.Preset) (*topo.NS, netip.Addr) { return p.Client, p.VIP },
	})
}

// TestDR6: an IPv6 dr cluster; the director's VIP and the real servers'
// VIPs on lo are bound deprecated, the client still resolves the VIP to
// the director (which answers its neighbour solicitations) and is served.
func TestDR6(t *testing.T) {
	runCluster(t, scenario{
		build: dr6,
		service: func(p *topo.Preset) service {
			return service{mode: "dr", vip: p.VIP.String(), port: 80, iface: p.DirectorIface, scheduler: "wrr",
				reals: []real{{p.RS1, p.RS1IP.String(), 1, 80}, {p.RS2, p.RS2IP.String(), 3, 80}}}
		},
		arp: func(p *topo.Preset) (*topo.NS, netip.Addr) { return p.Client, p.VIP },
	})
}
