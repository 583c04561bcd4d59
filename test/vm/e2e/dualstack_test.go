package e2e

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// natDual is NATUnrouted and nat6 at once: every host has an address of
// each family, the real servers no default route of either until lvs-rs
// sets one via the director in each family.
//
//	client   eth0 198.51.100.2/24, 2001:db8:f::2/64          (segment "front")
//	director eth0 198.51.100.1/24, 2001:db8:f::1/64
//	         eth1 10.3.0.1/24, 2001:db8:b::1/64
//	rs1 eth0 10.3.0.11/24, 2001:db8:b::11/64, rs2 ::12 and .12 ("back")
//	VIPs 198.51.100.100 and 2001:db8:f::100
func natDual(tb testing.TB) *topo.Preset {
	tb.Helper()
	tp := topo.New(tb)
	p := &topo.Preset{
		Topo: tp, Client: tp.AddNS("client"), Director: tp.AddNS("director"),
		RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: netip.MustParseAddr("198.51.100.100"), DirectorIface: "eth0",
		ClientIP: netip.MustParseAddr("198.51.100.2"), DirectorIP: netip.MustParseAddr("10.3.0.1"),
		RS1IP: netip.MustParseAddr("10.3.0.11"), RS2IP: netip.MustParseAddr("10.3.0.12"),
		Gateway: netip.MustParseAddr("10.3.0.1"),
	}
	tp.AddSegment("front")
	tp.AddSegment("back")
	tp.Connect("client", "front", "eth0", "198.51.100.2/24", "2001:db8:f::2/64")
	tp.Connect("director", "front", "eth0", "198.51.100.1/24", "2001:db8:f::1/64")
	tp.Connect("director", "back", "eth1", "10.3.0.1/24", "2001:db8:b::1/64")
	tp.Connect("rs1", "back", "eth0", "10.3.0.11/24", "2001:db8:b::11/64")
	tp.Connect("rs2", "back", "eth0", "10.3.0.12/24", "2001:db8:b::12/64")
	return p
}

// dualYAML is the cluster file of natDual: an IPv4 and an IPv6 nat
// service on the same two real servers, and a gateway of each family.
const dualYAML = `# A dual-stack nat cluster: each real server serves an IPv4 and an IPv6 VIP.
director:
  interface: eth0
realserver:
  gateway: [10.3.0.1, '2001:db8:b::1']
virtual_servers:
  - vip: 198.51.100.100
    port: 80
    mode: nat
    scheduler: rr
    real_servers: [{address: 10.3.0.11}, {address: 10.3.0.12}]
  - vip: '2001:db8:f::100'
    port: 80
    mode: nat
    scheduler: rr
    real_servers: [{address: '2001:db8:b::11'}, {address: '2001:db8:b::12'}]
`

// TestNATDualStack: real servers serving an IPv4 and an IPv6 nat VIP of
// one file with a gateway of each family route the replies of both
// through the director: real TCP requests through each VIP are answered
// by the real servers, start and status warn of nothing and find no
// drift, a second start changes nothing, and stop puts every namespace
// back as it was. With one gateway route only (before lvs-rs took one per
// family), the other family's replies had no route and its requests
// timed out.
func TestNATDualStack(t *testing.T) {
	t0 := time.Now()
	p := natDual(t)
	nss := []*topo.NS{p.Client, p.Director, p.RS1, p.RS2}
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		if _, err := rs.ServeEcho(":80"); err != nil {
			t.Fatal(err)
		}
	}
	c := newCluster(t, dualYAML, p.Director, p.RS1, p.RS2)
	before := snapshotAll(t, nss)

	c.each("start", false, "change(s) applied", c.withConfig()...)
	running := snapshotAll(t, nss)
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		for _, want := range []string{"Gw: 10.3.0.1", "Gw: 2001:db8:b::1"} {
			if !hasDefaultVia(t, rs, want) {
				t.Errorf("%s: no default route via %s after start", rs.Name(), want)
			}
		}
	}
	for _, vip := range []string{"198.51.100.100:80", "[2001:db8:f::100]:80"} {
		seen, err := p.Client.Tally(vip, 8)
		if err != nil {
			t.Fatalf("requests through %s: %v", vip, err)
		}
		t.Logf("8 requests to %s answered by: %v", vip, seen)
		if seen["rs1"]+seen["rs2"] != 8 || seen["rs1"] == 0 || seen["rs2"] == 0 {
			t.Errorf("requests through %s answered by %v; want both real servers, 8 in all", vip, seen)
		}
	}

	c.each("status", false, "", c.withConfig()...) // against the file
	c.each("status", false, "")                    // against the state record
	c.each("start", false, "nothing to change", c.withConfig()...)
	compareSnapshots(t, "second start", running, snapshotAll(t, nss))

	c.each("stop", true, "change(s) applied")
	compareSnapshots(t, "after stop", before, snapshotAll(t, nss))
	t.Logf("dual-stack nat cluster: %.1fs in the VM", time.Since(t0).Seconds())
}

// hasDefaultVia reports whether ns has a default route whose netlink
// rendering holds via ("Gw: 10.3.0.1").
func hasDefaultVia(t *testing.T, ns *topo.NS, via string) bool {
	t.Helper()
	rs, err := ns.Routes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && strings.Contains(r.String(), via+" ") {
			return true
		}
	}
	return false
}
