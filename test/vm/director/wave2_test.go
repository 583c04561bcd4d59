package director

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	moby "github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// wave2YAML sets every host-wide setting and service field of the
// scale-out features. The tcp service's real servers are listed out of
// address order on purpose.
const wave2YAML = `
director:
  interface: eth0
  send_redirects: false
  ipvs_sysctls: {expire_nodest_conn: 1, sloppy_tcp: 1, conn_reuse_mode: 0}
  timeouts: {tcp: 600s, tcp_fin: 30s, udp: 45s}
  sync: {interface: eth0, state: both, syncid: 7}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    protocol: tcp
    scheduler: mh
    scheduler_flags: [mh-port, mh-fallback]
    mode: dr
    real_servers:
      - address: 10.0.0.13
        upper_threshold: 1000
        lower_threshold: 800
      - address: 10.0.0.11
        mode: tun
        tunnel: {type: gue, port: 6080, flags: [csum]}
      - address: 10.0.0.12
        mode: tun
        tunnel: {type: gre}
  - vip: 10.0.0.100
    port: 53
    protocol: udp
    scheduler: rr
    scheduler_flags: [ops]
    mode: nat
    real_servers:
      - address: 10.0.1.11
`

// wave2Sysctls are the parameters wave2YAML sets, with their values.
var wave2Sysctls = map[string]string{
	"net/ipv4/ip_forward":               "1", // a nat real server
	"net/ipv4/conf/all/send_redirects":  "0",
	"net/ipv4/conf/eth0/send_redirects": "0",
	"net/ipv4/vs/expire_nodest_conn":    "1",
	"net/ipv4/vs/sloppy_tcp":            "1",
	"net/ipv4/vs/conn_reuse_mode":       "0",
}

// hostSettings is what a director changes host-wide, read independently:
// /proc/sys, moby/ipvs (timeouts) and the sync daemons.
type hostSettings struct {
	Sysctls  map[string]string
	Timeouts moby.Config
	Daemons  []ipvs.Daemon
	Services int
}

func readSettings(t *testing.T, ns *topo.NS, h *moby.Handle, c *ipvs.Client) hostSettings {
	t.Helper()
	s := hostSettings{Sysctls: map[string]string{}}
	for k := range wave2Sysctls {
		s.Sysctls[k] = sysctl(t, ns, k)
	}
	cfg, err := h.GetConfig()
	must(t, err)
	s.Timeouts = *cfg
	s.Daemons, err = c.Daemons(context.Background())
	must(t, err)
	svcs, err := h.GetServices()
	must(t, err)
	s.Services = len(svcs)
	return s
}

// TestWave2KernelFeatures: start from a config with every kernel feature,
// read it all back independently, status shows no drift and then each
// change made by hand, stop restores the host exactly.
func TestWave2KernelFeatures(t *testing.T) {
	ns := lone(t)
	c := ipvsIn(t, ns) // also loads ip_vs: its sysctls exist from here on
	mh, err := moby.New(ns.Path())
	must(t, err)
	t.Cleanup(mh.Close)
	cfg, err := config.Parse("wave2.yaml", []byte(wave2YAML))
	must(t, err)
	before := readSettings(t, ns, mh, c)
	for k, v := range wave2Sysctls {
		if before.Sysctls[k] == v {
			t.Fatalf("precondition: %s is already %s", k, v)
		}
	}
	h := newHost(t, ns)
	h.start(cfg)

	got := readSettings(t, ns, mh, c)
	if diff := cmp.Diff(wave2Sysctls, got.Sysctls); diff != "" {
		t.Errorf("sysctls in /proc/sys (-want +got):\n%s", diff)
	}
	if want := (moby.Config{TimeoutTCP: 600 * time.Second, TimeoutTCPFin: 30 * time.Second, TimeoutUDP: 45 * time.Second}); got.Timeouts != want {
		t.Errorf("timeouts (moby/ipvs) %+v, want %+v", got.Timeouts, want)
	}
	if len(got.Daemons) != 2 || got.Daemons[0].State != ipvs.DaemonMaster || got.Daemons[1].State != ipvs.DaemonBackup ||
		got.Daemons[0].Interface != "eth0" || got.Daemons[0].SyncID != 7 || got.Daemons[1].SyncID != 7 {
		t.Errorf("sync daemons %v", got.Daemons)
	}
	checkWave2Services(t, mh, c)
	if out, err := ns.Command(context.Background(), "ipvsadm", "-L", "-n", "--timeout").CombinedOutput(); err == nil {
		contains(t, string(out), "Timeout (tcp tcpfin udp): 600 30 45")
	} else {
		t.Logf("ipvsadm --timeout not run: %v %s", err, out)
	}

	rep := h.status(nil)
	if len(rep.Drift) != 0 || len(rep.Sysctls) != 6 || len(rep.Timeouts) != 3 || len(rep.Sync) != 2 || !rep.Sync[1].Owned {
		t.Fatalf("status after start: drift %q, rows %+v %+v %+v", rep.Drift, rep.Sysctls, rep.Timeouts, rep.Sync)
	}
	// By hand: a sysctl, a timeout, a daemon, a scheduler flag, a
	// threshold.
	must(t, ns.WriteSysctl("net/ipv4/vs/sloppy_tcp", "0"))
	must(t, mh.SetConfig(&moby.Config{TimeoutUDP: 300 * time.Second}))
	must(t, c.DeleteDaemon(context.Background(), ipvs.DaemonBackup))
	tcp := &moby.Service{AddressFamily: unix.AF_INET, Protocol: unix.IPPROTO_TCP, Address: net.ParseIP("10.0.0.100"), Port: 80,
		SchedName: "mh", Flags: 0x10, Netmask: 0xffffffff}
	must(t, mh.UpdateService(tcp))
	must(t, mh.UpdateDestination(tcp, &moby.Destination{AddressFamily: unix.AF_INET, Address: net.ParseIP("10.0.0.13"), Port: 80,
		Weight: 1, ConnectionFlags: 3, UpperThreshold: 5, LowerThreshold: 4}))
	rep = h.status(nil)
	want := []string{
		"sysctl net/ipv4/vs/sloppy_tcp is 0, want 1",
		"ipvs timeout udp is 300s, want 45s",
		"sync daemon backup on eth0 syncid 7 is not running",
		`service tcp 10.0.0.100:80: flags "mh-port" -> "mh-fallback,mh-port" (kernel -> config)`,
		"real server 10.0.0.13:80 of tcp 10.0.0.100:80: thresholds 5/4 -> 1000/800 (kernel -> config)",
	}
	if diff := cmp.Diff(want, rep.Drift); diff != "" {
		t.Fatalf("drift after changes by hand (-want +got):\n%s", diff)
	}
	h.start(cfg) // repairs
	if rep := h.status(nil); len(rep.Drift) != 0 {
		t.Fatalf("drift after the second start: %q", rep.Drift)
	}

	h.stop()
	if diff := cmp.Diff(before, readSettings(t, ns, mh, c)); diff != "" {
		t.Fatalf("stop did not restore the host (-before +after):\n%s", diff)
	}
}

// checkWave2Services reads the services back with moby/ipvs (flags,
// thresholds, forwarding, the kernel's list order) and the tunnel fields
// with lvs-rs's client.
func checkWave2Services(t *testing.T, mh *moby.Handle, c *ipvs.Client) {
	t.Helper()
	svcs, err := mh.GetServices()
	must(t, err)
	flags := map[uint16]uint32{}
	var tcp *moby.Service
	for _, s := range svcs {
		flags[s.Port] = s.Flags &^ 0x2 // IP_VS_SVC_F_HASHED
		if s.Port == 80 {
			tcp = s
		}
	}
	if flags[80] != 0x18 || flags[53] != 0x4 || tcp == nil || tcp.SchedName != "mh" {
		t.Fatalf("service flags %#v (want 80: sched1|sched2 0x18, 53: ops 0x4)", flags)
	}
	ds, err := mh.GetDestinations(tcp)
	must(t, err)
	// The kernel puts each new real server at the head of the list (and
	// mh fills its table walking it): added in config order .13, .11,
	// .12, the list reads .12, .11, .13 on every director.
	var order []string
	for _, d := range ds {
		order = append(order, d.Address.String())
	}
	if diff := cmp.Diff([]string{"10.0.0.12", "10.0.0.11", "10.0.0.13"}, order); diff != "" {
		t.Errorf("destination list order (-want +got):\n%s", diff)
	}
	for _, d := range ds {
		fwd := d.ConnectionFlags & 0x7
		switch {
		case d.Address.Equal(net.ParseIP("10.0.0.13")) && (d.UpperThreshold != 1000 || d.LowerThreshold != 800 || fwd != 3):
			t.Errorf("10.0.0.13: thresholds %d/%d forward %d", d.UpperThreshold, d.LowerThreshold, fwd)
		case !d.Address.Equal(net.ParseIP("10.0.0.13")) && fwd != 2:
			t.Errorf("%v: forward %d, want tunnel", d.Address, fwd)
		}
	}
	tun := map[string]ipvs.Destination{}
	for _, s := range readTable(t, c) {
		for _, d := range s.dests {
			tun[d.Address.String()] = d.Destination
		}
	}
	if g := tun["10.0.0.11"]; g.TunnelType != ipvs.TunnelGUE || g.TunnelPort != 6080 || g.TunnelFlags != ipvs.TunnelCsum {
		t.Errorf("10.0.0.11 tunnel %d port %d flags %d, want gue 6080 csum", g.TunnelType, g.TunnelPort, g.TunnelFlags)
	}
	if g := tun["10.0.0.12"]; g.TunnelType != ipvs.TunnelGRE || g.TunnelPort != 0 {
		t.Errorf("10.0.0.12 tunnel %d port %d, want gre", g.TunnelType, g.TunnelPort)
	}
}

// oneArmed is a nat director with one interface: the client's network
// and the real servers' share the segment, the real servers route through
// the director, so every reply enters and leaves the director on eth0.
//
//	client   eth0 198.51.100.2/24, default via 198.51.100.1
//	director eth0 10.0.0.1/24 and 198.51.100.1/24, VIP 198.51.100.100
//	rs1 eth0 10.0.0.11/24, rs2 eth0 10.0.0.12/24, default via 10.0.0.1
func oneArmed(t *testing.T) *topo.Preset {
	tp := topo.New(t)
	p := &topo.Preset{Topo: tp, Client: tp.AddNS("client"), Director: tp.AddNS("director"), RS1: tp.AddNS("rs1"), RS2: tp.AddNS("rs2"),
		VIP: a("198.51.100.100"), DirectorIface: "eth0", ClientIP: a("198.51.100.2"), DirectorIP: a("10.0.0.1"),
		RS1IP: a("10.0.0.11"), RS2IP: a("10.0.0.12"), Gateway: a("10.0.0.1")}
	tp.AddSegment("lan")
	tp.Connect("client", "lan", "eth0", "198.51.100.2/24")
	tp.Connect("director", "lan", "eth0", "10.0.0.1/24", "198.51.100.1/24")
	tp.Connect("rs1", "lan", "eth0", "10.0.0.11/24")
	tp.Connect("rs2", "lan", "eth0", "10.0.0.12/24")
	must(t, p.Client.SetDefaultRoute("198.51.100.1"))
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		must(t, rs.SetDefaultRoute("10.0.0.1"))
	}
	for _, rs := range []struct {
		ns *topo.NS
		ip string
	}{{p.RS1, "10.0.0.11:80"}, {p.RS2, "10.0.0.12:80"}} {
		if _, err := rs.ns.ServeEcho(rs.ip); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// icmpCounter returns the Icmp counter named field (OutRedirects,
// InRedirects) of ns from /proc/net/snmp, which is per namespace.
func icmpCounter(t *testing.T, ns *topo.NS, field string) int {
	t.Helper()
	var b []byte
	must(t, ns.Do(func() (err error) { b, err = os.ReadFile("/proc/thread-self/net/snmp"); return err }))
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Icmp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == field && i < len(f) {
				n, err := strconv.Atoi(f[i])
				must(t, err)
				return n
			}
		}
	}
	t.Fatalf("no Icmp %s in /proc/net/snmp of %s", field, ns.Name())
	return 0
}

// redirects counts the redirects the director sends and the real servers
// receive while the client makes n requests through the VIP (all must be
// answered, by both real servers).
func redirects(t *testing.T, p *topo.Preset, n int) (sent, received int) {
	t.Helper()
	s0, r0 := redirectCounters(t, p)
	hitBoth(t, p.Client, p.VIP.String()+":80", n)
	s1, r1 := redirectCounters(t, p)
	return s1 - s0, r1 - r0
}

// redirectCounters reads the director's OutRedirects and the real servers'
// InRedirects.
func redirectCounters(t *testing.T, p *topo.Preset) (sent, received int) {
	return icmpCounter(t, p.Director, "OutRedirects"),
		icmpCounter(t, p.RS1, "InRedirects") + icmpCounter(t, p.RS2, "InRedirects")
}

// untilRedirected makes up to n requests through the VIP, one at a time,
// until the director has sent a redirect and a real server has received
// one, and returns how many of each. A request may fail: a real server
// that took the redirect answers the client directly, bypassing the
// director's NAT, which is what send_redirects=0 prevents.
func untilRedirected(t *testing.T, p *topo.Preset, n int) (sent, received int) {
	s0, r0 := redirectCounters(t, p)
	for i := range n {
		if _, err := p.Client.Get(p.VIP.String() + ":80"); err != nil {
			t.Logf("request %d with redirects on: %v", i, err)
		}
		if sent, received = redirectCounters(t, p); sent > s0 && received > r0 {
			break
		}
	}
	return sent - s0, received - r0
}

// TestOneArmedNATRedirects: on a one-armed nat director, lvs-rs's
// send_redirects=0 (conf/all and conf/eth0) keeps the real servers from
// being told to bypass the director, traffic flows, and stop restores
// both values; with send_redirects left alone (the negative case, run
// second so that the kernel's redirect rate limit cannot hide anything)
// the real servers receive redirects, and a request may then fail (the
// real server answers the client directly, bypassing the NAT).
func TestOneArmedNATRedirects(t *testing.T) {
	p := oneArmed(t)
	keys := []string{"net/ipv4/conf/all/send_redirects", "net/ipv4/conf/eth0/send_redirects", "net/ipv4/ip_forward"}
	read := func() []string {
		var v []string
		for _, k := range keys {
			v = append(v, sysctl(t, p.Director, k))
		}
		return v
	}
	before := read()
	if diff := cmp.Diff([]string{"1", "1", "0"}, before); diff != "" {
		t.Fatalf("precondition: director sysctls (-want +got):\n%s", diff)
	}
	cfg := one(p, config.ModeNAT, "rr", 80, 1, 1)
	cfg.Director.DisableRedirects = true // what send_redirects: false (and the nat default) resolves to
	h := newHost(t, p.Director)
	h.start(cfg)
	if diff := cmp.Diff([]string{"0", "0", "1"}, read()); diff != "" {
		t.Fatalf("after start (-want +got):\n%s", diff)
	}
	sent, received := redirects(t, p, 10)
	t.Logf("send_redirects=0: director sent %d redirects, real servers received %d", sent, received)
	if sent != 0 || received != 0 {
		t.Fatalf("with send_redirects=0 the director sent %d redirects and the real servers received %d", sent, received)
	}
	h.stop()
	if diff := cmp.Diff(before, read()); diff != "" {
		t.Fatalf("stop did not restore (-before +after):\n%s", diff)
	}

	cfg.Director.DisableRedirects = false // the negative case: left at 1
	h.start(cfg)
	sent, received = untilRedirected(t, p, 10)
	t.Logf("send_redirects=1: director sent %d redirects, real servers received %d", sent, received)
	if sent == 0 || received == 0 {
		t.Fatalf("negative case: with send_redirects=1 the director sent %d redirects and the real servers received %d; "+
			"the test cannot tell redirects from none", sent, received)
	}
	h.stop()
	if diff := cmp.Diff(before, read()); diff != "" {
		t.Fatalf("second stop did not restore (-before +after):\n%s", diff)
	}
}
