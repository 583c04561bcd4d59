package topo

import (
	"net/netip"
	"testing"
)

// Preset is a canned LVS topology. Every namespace has its interfaces up
// and addressed; the VIP is NOT bound anywhere, IPVS is empty, and the real
// servers' arp_ignore/arp_announce/rp_filter are left at their defaults.
type Preset struct {
	*Topo
	Client, Director, RS1, RS2 *NS
	Router                     *NS // TUN only, else nil

	VIP           netip.Addr // the virtual address clients talk to
	DirectorIface string     // the director's device where the VIP belongs
	ClientIP      netip.Addr
	DirectorIP    netip.Addr // the director's address facing the real servers
	RS1IP, RS2IP  netip.Addr
	Gateway       netip.Addr // NAT: the real servers' default gateway (the director)
}

func (tp *Topo) must(err error) {
	tp.tb.Helper()
	if err != nil {
		tp.tb.Fatal(err)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// DR: client, director, rs1 and rs2 on one segment "lan", 10.0.0.0/24,
// all on eth0:
//
//	client 10.0.0.2   director 10.0.0.1   rs1 10.0.0.11   rs2 10.0.0.12
//	VIP 10.0.0.100 (for the director's eth0 and the real servers' lo)
func DR(tb testing.TB) *Preset {
	tb.Helper()
	tp := New(tb)
	p := &Preset{
		Topo: tp, Client: tp.AddNS("client"), Director: tp.AddNS("director"),
		RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: addr("10.0.0.100"), DirectorIface: "eth0",
		ClientIP: addr("10.0.0.2"), DirectorIP: addr("10.0.0.1"),
		RS1IP: addr("10.0.0.11"), RS2IP: addr("10.0.0.12"),
	}
	tp.AddSegment("lan")
	tp.Connect("client", "lan", "eth0", "10.0.0.2/24")
	tp.Connect("director", "lan", "eth0", "10.0.0.1/24")
	tp.Connect("rs1", "lan", "eth0", "10.0.0.11/24")
	tp.Connect("rs2", "lan", "eth0", "10.0.0.12/24")
	return p
}

// TUN: three segments joined by a router (forwarding on, rp_filter off);
// the real servers are reached from the director only through the router.
//
//	client  eth0 198.51.100.2/24, default via 198.51.100.1     (segment "front")
//	router  eth0 198.51.100.1, eth1 10.1.0.1/24, eth2 10.2.0.1/24,
//	        route VIP/32 via the director
//	director eth0 10.1.0.2/24, default via 10.1.0.1            (segment "dirnet")
//	rs1 eth0 10.2.0.11/24, rs2 eth0 10.2.0.12/24, default via 10.2.0.1 ("rsnet")
//	VIP 203.0.113.100
func TUN(tb testing.TB) *Preset {
	tb.Helper()
	tp := New(tb)
	p := &Preset{
		Topo: tp, Client: tp.AddNS("client"), Router: tp.AddNS("router"),
		Director: tp.AddNS("director"), RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: addr("203.0.113.100"), DirectorIface: "eth0",
		ClientIP: addr("198.51.100.2"), DirectorIP: addr("10.1.0.2"),
		RS1IP: addr("10.2.0.11"), RS2IP: addr("10.2.0.12"),
	}
	// Replies leave the real servers with the VIP as source, on a path the
	// router's route to the VIP does not take: no reverse-path filter.
	for _, k := range []string{"net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter"} {
		tp.must(p.Router.WriteSysctl(k, "0"))
	}
	tp.must(p.Router.EnableForwarding())
	for _, s := range []string{"front", "dirnet", "rsnet"} {
		tp.AddSegment(s)
	}
	tp.Connect("client", "front", "eth0", "198.51.100.2/24")
	tp.Connect("router", "front", "eth0", "198.51.100.1/24")
	tp.Connect("router", "dirnet", "eth1", "10.1.0.1/24")
	tp.Connect("router", "rsnet", "eth2", "10.2.0.1/24")
	tp.Connect("director", "dirnet", "eth0", "10.1.0.2/24")
	tp.Connect("rs1", "rsnet", "eth0", "10.2.0.11/24")
	tp.Connect("rs2", "rsnet", "eth0", "10.2.0.12/24")
	tp.must(p.Client.SetDefaultRoute("198.51.100.1"))
	tp.must(p.Director.SetDefaultRoute("10.1.0.1"))
	tp.must(p.RS1.SetDefaultRoute("10.2.0.1"))
	tp.must(p.RS2.SetDefaultRoute("10.2.0.1"))
	tp.must(p.Router.AddRoute("203.0.113.100/32", "10.1.0.2"))
	return p
}

// NAT: the client on the front segment, the director with two arms, the
// real servers behind it with the director as their default gateway.
// Forwarding on the director is left off (the product turns it on).
//
//	client   eth0 198.51.100.2/24                               (segment "front")
//	director eth0 198.51.100.1/24, eth1 10.3.0.1/24
//	rs1 eth0 10.3.0.11/24, rs2 eth0 10.3.0.12/24, default via 10.3.0.1 ("back")
//	VIP 198.51.100.100 (for the director's eth0)
func NAT(tb testing.TB) *Preset {
	tb.Helper()
	p := NATUnrouted(tb)
	p.Topo.must(p.RS1.SetDefaultRoute("10.3.0.1"))
	p.Topo.must(p.RS2.SetDefaultRoute("10.3.0.1"))
	return p
}

// NATUnrouted is NAT without the real servers' default routes, for tests
// in which lvs-rs's nat real-server role sets them (realserver.gateway).
func NATUnrouted(tb testing.TB) *Preset {
	tb.Helper()
	tp := New(tb)
	p := &Preset{
		Topo: tp, Client: tp.AddNS("client"), Director: tp.AddNS("director"),
		RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: addr("198.51.100.100"), DirectorIface: "eth0",
		ClientIP: addr("198.51.100.2"), DirectorIP: addr("10.3.0.1"),
		RS1IP: addr("10.3.0.11"), RS2IP: addr("10.3.0.12"), Gateway: addr("10.3.0.1"),
	}
	tp.AddSegment("front")
	tp.AddSegment("back")
	tp.Connect("client", "front", "eth0", "198.51.100.2/24")
	tp.Connect("director", "front", "eth0", "198.51.100.1/24")
	tp.Connect("director", "back", "eth1", "10.3.0.1/24")
	tp.Connect("rs1", "back", "eth0", "10.3.0.11/24")
	tp.Connect("rs2", "back", "eth0", "10.3.0.12/24")
	return p
}
