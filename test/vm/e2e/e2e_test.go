package e2e

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// scenario is one cluster: its topology, its service and where to look
// for the VIP's link-layer owner.
type scenario struct {
	// build makes the namespaces (nothing of lvs-rs's in them yet).
	build func(tb testing.TB) *topo.Preset
	// service is the cluster's one virtual service, with weights 1:3.
	service func(p *topo.Preset) service
	// arp names the namespace that resolves the VIP's next hop on the
	// director's segment, and that next hop: the VIP itself when the
	// client shares the director's segment, the director's address when
	// a router forwards to it.
	arp func(p *topo.Preset) (*topo.NS, netip.Addr)
	// silent, when set, names a segment where nobody may answer ARP for
	// the VIP, and an address for a probe there (see checkSilent).
	silent func(p *topo.Preset) (seg, cidr string)
}

// TestDR: client, director, rs1 and rs2 on one segment; the real servers
// hold the VIP on lo and must not answer ARP for it.
func TestDR(t *testing.T) {
	runCluster(t, scenario{
		build: topo.DR,
		service: func(p *topo.Preset) service {
			return service{mode: "dr", vip: p.VIP.String(), port: 80, iface: p.DirectorIface, scheduler: "wrr",
				reals: []real{{p.RS1, p.RS1IP.String(), 1, 80}, {p.RS2, p.RS2IP.String(), 3, 80}}}
		},
		arp: func(p *topo.Preset) (*topo.NS, netip.Addr) { return p.Client, p.VIP },
	})
}

// TestTUN: client | router | director, the real servers in another subnet
// reached only through the router; IP-in-IP to tunl0 on the real servers.
// The client reaches the VIP through the router, so the link-layer check
// is the router's entry for its next hop, the director; and a probe on the
// real servers' segment checks that none of them answers ARP for the VIP.
func TestTUN(t *testing.T) {
	// lvs-rs loads ipip and never unloads it, and loading it creates a
	// (down) tunl0 in every namespace at once. Loaded before the topology
	// exists, tunl0 is part of every "before" snapshot: stop must then put
	// the real servers' tunl0 down again and restore its sysctls.
	loadModule(t, "ipip")
	runCluster(t, scenario{
		build: topo.TUN,
		service: func(p *topo.Preset) service {
			return service{mode: "tun", vip: p.VIP.String(), port: 80, iface: p.DirectorIface, scheduler: "wrr",
				reals: []real{{p.RS1, p.RS1IP.String(), 1, 80}, {p.RS2, p.RS2IP.String(), 3, 80}}}
		},
		arp:    func(p *topo.Preset) (*topo.NS, netip.Addr) { return p.Router, p.DirectorIP },
		silent: func(*topo.Preset) (string, string) { return "rsnet", "10.2.0.99/24" },
	})
}

// TestNAT: a two-armed director; the real servers have no default route
// until lvs-rs sets one through the director (realserver.gateway), and
// rs2 listens on a mapped port.
func TestNAT(t *testing.T) {
	runCluster(t, scenario{
		build: topo.NATUnrouted,
		service: func(p *topo.Preset) service {
			return service{mode: "nat", vip: p.VIP.String(), port: 80, iface: p.DirectorIface, scheduler: "wrr",
				gateway: p.Gateway.String(),
				reals:   []real{{p.RS1, p.RS1IP.String(), 1, 80}, {p.RS2, p.RS2IP.String(), 3, 8080}}}
		},
		arp: func(p *topo.Preset) (*topo.NS, netip.Addr) { return p.Client, p.VIP },
	})
}

// foreignPort is the port of the IPVS service planted in the director
// before start, one lvs-rs did not create (as kube-proxy would have).
const foreignPort = 8443

// planted are non-default sysctls set on the real servers before start,
// which lvs-rs changes in dr or tun and stop must restore. rp_filter=1
// (strict) on rs2 also breaks tun unless lvs-rs turns it off: the
// decapsulated packets arrive on tunl0 from a client routed via eth0.
var planted = []struct {
	ns         func(p *topo.Preset) *topo.NS
	key, value string
}{
	{func(p *topo.Preset) *topo.NS { return p.RS1 }, "net/ipv4/conf/all/arp_announce", "1"},
	{func(p *topo.Preset) *topo.NS { return p.RS2 }, "net/ipv4/conf/all/rp_filter", "1"},
}

func runCluster(t *testing.T, sc scenario) {
	t0 := time.Now()
	p := sc.build(t)
	s := sc.service(p)
	nss := []*topo.NS{p.Client}
	if p.Router != nil {
		nss = append(nss, p.Router)
	}
	nss = append(nss, p.Director, p.RS1, p.RS2)

	serveEchoes(t, s)
	foreign := plantForeignService(t, p)
	for _, ps := range planted {
		if err := ps.ns(p).WriteSysctl(ps.key, ps.value); err != nil {
			t.Fatal(err)
		}
	}
	c := newCluster(t, s.yaml(), p.Director, p.RS1, p.RS2)

	before := snapshotAll(t, nss)
	for _, ns := range []*topo.NS{p.Director, p.RS1} {
		logSnapshot(t, ns.Name(), before[ns.Name()])
	}
	requireLine(t, "before start", p.Director, before, foreign)
	for _, ps := range planted {
		requireLine(t, "before start", ps.ns(p), before, "sysctl "+ps.key+" = "+ps.value)
	}

	c.each("start", false, "change(s) applied", c.withConfig()...)
	running := snapshotAll(t, nss)
	requireLine(t, "after start", p.Director, running, foreign)

	seen := askVIP(t, p.Client, s, requests)
	checkShares(t, s, seen, requests)
	from, addr := sc.arp(p)
	checkNeighbour(t, from, addr, p.Director, p.DirectorIface, s)
	if sc.silent != nil {
		seg, cidr := sc.silent(p)
		checkSilent(t, p, seg, cidr, s)
	}

	c.each("status", false, "", c.withConfig()...) // against the file
	c.each("status", false, "")                    // against the state record
	c.each("start", false, "nothing to change", c.withConfig()...)
	compareSnapshots(t, "second start", running, snapshotAll(t, nss))

	c.each("stop", true, "change(s) applied")
	after := snapshotAll(t, nss)
	compareSnapshots(t, "after stop", before, after)
	c.each("stop", true, "nothing to remove")
	t.Logf("%s cluster: %.1fs in the VM", s.mode, time.Since(t0).Seconds())
}

// plantForeignService adds tcp VIP:8443 (rr, one real server) to the
// director's IPVS table through netlink and returns its snapshot line.
func plantForeignService(t *testing.T, p *topo.Preset) string {
	t.Helper()
	c := ipvsIn(t, p.Director)
	defer c.Close()
	svc := ipvs.Service{Family: ipvs.FamilyOf(p.VIP), Protocol: ipvs.TCP, Address: p.VIP, Port: foreignPort, Scheduler: "rr", Netmask: p.VIP.BitLen()}
	if err := c.NewService(context.Background(), svc); err != nil {
		t.Fatalf("planting a foreign IPVS service: %v", err)
	}
	d := ipvs.Destination{Address: p.RS1IP, Port: foreignPort, Forward: ipvs.Masq, Weight: 1}
	if err := c.NewDestination(context.Background(), svc, d); err != nil {
		t.Fatalf("planting a foreign IPVS real server: %v", err)
	}
	return "ipvs " + svc.Key().String() + " rr "
}

// requireLine fails unless ns's snapshot has a line starting with prefix
// (the whole snapshot is compared later; this names what is missing).
func requireLine(t *testing.T, when string, ns *topo.NS, ss snapshots, prefix string) {
	t.Helper()
	if !slices.ContainsFunc(ss[ns.Name()], func(l string) bool { return strings.HasPrefix(l, prefix) }) {
		t.Fatalf("%s: %s has no %q:\n  %s", when, ns.Name(), prefix, strings.Join(ss[ns.Name()], "\n  "))
	}
}

// loadModule loads a kernel module in the VM (a fixed name, not config).
func loadModule(t *testing.T, name string) {
	t.Helper()
	if out, err := exec.Command("modprobe", name).CombinedOutput(); err != nil {
		t.Fatalf("modprobe %s: %v\n%s", name, err, out)
	}
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), name+" ") {
		t.Fatalf("modprobe %s succeeded but %s is not in /proc/modules", name, name)
	}
}
