package director

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// one builds the single-service config of a preset.
func one(p *topo.Preset, mode config.Mode, sched string, port uint16, weights ...int) *config.Config {
	vs := config.VirtualServer{VIP: p.VIP, Port: 80, Protocol: config.TCP, Scheduler: sched, Mode: mode, PersistenceNetmask: 32}
	for i, ip := range []netip.Addr{p.RS1IP, p.RS2IP} {
		vs.RealServers = append(vs.RealServers, config.RealServer{Address: ip, Port: port, Weight: weights[i], Mode: mode})
	}
	return &config.Config{
		Director:       config.Director{Interface: p.DirectorIface, IPForward: mode == config.ModeNAT},
		VirtualServers: []config.VirtualServer{vs},
	}
}

// drRealServers prepares the real servers of a DR preset by hand: the VIP
// on lo, the ARP sysctls, an echo server on VIP:80.
func drRealServers(t *testing.T, p *topo.Preset) {
	t.Helper()
	vip := p.VIP.String()
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		must(t, rs.AddAddr("lo", vip+"/32"))
		for _, k := range []string{"lo", "all"} {
			must(t, rs.WriteSysctl("net/ipv4/conf/"+k+"/arp_ignore", "1"))
			must(t, rs.WriteSysctl("net/ipv4/conf/"+k+"/arp_announce", "2"))
		}
		if _, err := rs.ServeEcho(vip + ":80"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTrafficDR(t *testing.T) {
	p := topo.DR(t)
	drRealServers(t, p)
	h := newHost(t, p.Director)
	h.start(one(p, config.ModeDR, "rr", 80, 1, 1))
	hitBoth(t, p.Client, p.VIP.String()+":80", 6)
	h.stop()
	if hasAddr(t, p.Director, p.DirectorIface, p.VIP) || len(readTable(t, ipvsIn(t, p.Director))) != 0 {
		t.Fatal("stop left the VIP or the service")
	}
}

func TestTrafficTUN(t *testing.T) {
	p := topo.TUN(t)
	vip := p.VIP.String()
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		if _, err := rs.Handle().LinkByName("tunl0"); err != nil {
			// Creating an ipip link loads ipip, which makes tunl0.
			must(t, rs.Handle().LinkAdd(&netlink.Iptun{
				LinkAttrs: netlink.LinkAttrs{Name: "ipip1"},
				Local:     net.ParseIP("192.0.2.1"), Remote: net.ParseIP("192.0.2.2"),
			}))
		}
		must(t, rs.LinkUp("tunl0"))
		must(t, rs.AddAddr("tunl0", vip+"/32"))
		for _, dev := range []string{"tunl0", "all"} {
			must(t, rs.WriteSysctl("net/ipv4/conf/"+dev+"/rp_filter", "0"))
			must(t, rs.WriteSysctl("net/ipv4/conf/"+dev+"/arp_ignore", "1"))
			must(t, rs.WriteSysctl("net/ipv4/conf/"+dev+"/arp_announce", "2"))
		}
		if _, err := rs.ServeEcho(vip + ":80"); err != nil {
			t.Fatal(err)
		}
	}
	h := newHost(t, p.Director)
	h.start(one(p, config.ModeTUN, "rr", 80, 1, 1))
	hitBoth(t, p.Client, vip+":80", 6)
	h.stop()
}

func TestTrafficNAT(t *testing.T) {
	p := topo.NAT(t)
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		if _, err := rs.ServeEcho(":8080"); err != nil {
			t.Fatal(err)
		}
	}
	prior := sysctl(t, p.Director, "net/ipv4/ip_forward")
	h := newHost(t, p.Director)
	h.start(one(p, config.ModeNAT, "rr", 8080, 1, 1))
	if v := sysctl(t, p.Director, "net/ipv4/ip_forward"); v != "1" {
		t.Fatalf("ip_forward = %s after start, want 1", v)
	}
	hitBoth(t, p.Client, p.VIP.String()+":80", 6)
	h.stop()
	if v := sysctl(t, p.Director, "net/ipv4/ip_forward"); v != prior {
		t.Fatalf("ip_forward = %s after stop, want %s", v, prior)
	}
}

// TestDRToNATInPlace switches the forwarding method of live real servers
// (an UpdateDestination, not a delete and re-add).
func TestDRToNATInPlace(t *testing.T) {
	p := topo.NAT(t)
	h := newHost(t, p.Director).counted()
	h.start(one(p, config.ModeDR, "rr", 80, 1, 1))
	res := h.start(one(p, config.ModeNAT, "rr", 80, 1, 1))
	want := []string{"set-sysctl", "edit-destination", "edit-destination"}
	if got := kinds(res.Changes); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("dr -> nat: %v", got)
	}
	for _, e := range readTable(t, ipvsIn(t, p.Director)) {
		for _, d := range e.dests {
			if d.Forward != ipvs.Masq {
				t.Fatalf("%v forwards by %v after the switch", d.Address, d.Forward)
			}
		}
	}
	h.stop()
}

func TestWeightsOneToThree(t *testing.T) {
	p := topo.DR(t)
	drRealServers(t, p)
	h := newHost(t, p.Director)
	h.start(one(p, config.ModeDR, "wrr", 80, 1, 3))
	seen := ask(t, p.Client, p.VIP.String()+":80", 40)
	t.Logf("40 requests with wrr 1:3: %v", seen)
	// wrr with weights 1:3 gives 10:30 exactly; allow for a stray
	// retransmitted SYN or two.
	if seen["rs1"] < 7 || seen["rs1"] > 13 || seen["rs1"]+seen["rs2"] != 40 {
		t.Fatalf("answers %v, want about 10 from rs1 and 30 from rs2", seen)
	}
	h.stop()
}

// TestEditKeepsCounters changes the weight, the scheduler and the
// persistence of a live service and shows its counters survive: the
// service was edited, not re-created.
func TestEditKeepsCounters(t *testing.T) {
	p := topo.DR(t)
	drRealServers(t, p)
	h := newHost(t, p.Director)
	cfg := one(p, config.ModeDR, "rr", 80, 1, 1)
	h.start(cfg)
	hitBoth(t, p.Client, p.VIP.String()+":80", 10)

	c := ipvsIn(t, p.Director)
	key := ipvs.ServiceKey{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: p.VIP, Port: 80}
	before := waitStats(t, c, key, "after 10 requests", func(tb table) bool { return tb[key].svc.Stats.Connections >= 10 })
	conns := before[key].svc.Stats.Connections
	rs1 := before[key].dests[0].Stats.Connections

	cfg.VirtualServers[0].Scheduler = "wlc"
	cfg.VirtualServers[0].Persistence, cfg.VirtualServers[0].PersistenceNetmask = 300, 24
	cfg.VirtualServers[0].RealServers[0].Weight = 5
	res := h.start(cfg)
	if got := kinds(res.Changes); len(got) != 2 || got[0] != string(director.EditService) || got[1] != string(director.EditDestination) {
		t.Fatalf("edit made %v", res.Changes)
	}
	after := readTable(t, c)[key]
	if after.svc.Scheduler != "wlc" || after.svc.Timeout != 300 || after.svc.Netmask != 24 || after.dests[0].Weight != 5 {
		t.Fatalf("kernel after the edit: %+v %+v", after.svc.Service, after.dests[0].Destination)
	}
	if after.svc.Stats.Connections < conns || after.dests[0].Stats.Connections < rs1 {
		t.Fatalf("counters reset by the edit: service %d -> %d, rs1 %d -> %d",
			conns, after.svc.Stats.Connections, rs1, after.dests[0].Stats.Connections)
	}
	// And it still serves.
	if _, err := p.Client.Get(p.VIP.String() + ":80"); err != nil {
		t.Fatal(err)
	}
	rep := h.status(nil)
	if rep.Drifted() || rep.Services[0].Stats.Connections < conns {
		t.Fatalf("status after the edit: drift %q, stats %+v", rep.Drift, rep.Services[0].Stats)
	}
	h.stop()
}
