package doctor

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

const (
	director   = "director"
	realserver = "realserver"
)

// clusterYAML is a one-service cluster in mode with both real servers.
func clusterYAML(p *topo.Preset, mode, gateway string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "director:\n  interface: %s\n", p.DirectorIface)
	if gateway != "" {
		fmt.Fprintf(&b, "realserver:\n  gateway: %s\n", gateway)
	}
	fmt.Fprintf(&b, "virtual_servers:\n  - vip: %s\n    port: 80\n    scheduler: rr\n    mode: %s\n    real_servers:\n", p.VIP, mode)
	fmt.Fprintf(&b, "      - address: %s\n      - address: %s\n", p.RS1IP, p.RS2IP)
	return b.String()
}

// TestDirector: a DR cluster set up by lvs-rs. The stock ipvs sysctls
// fire ipvs-sysctls; with them set the director is clean; then, one at a
// time, the stock conn_reuse_mode=1 and conn_reuse_mode=0 fire
// conn-reuse-mode (naming the kernel), and ip_vs hidden from the module
// lists fires modules.
func TestDirector(t *testing.T) {
	p, c := drCluster(t)
	// The stock kernel expires neither connections of removed real
	// servers nor templates of quiesced ones.
	set(t, p.Director, "net/ipv4/vs/conn_reuse_mode", "2")
	wantOnly(t, "stock ipvs sysctls", c.doctor(p.Director, director), "ipvs-sysctls",
		"net/ipv4/vs/expire_nodest_conn is 0", "net.ipv4.vs.expire_nodest_conn=1",
		"net/ipv4/vs/expire_quiescent_template is 0")
	quiesceSysctls(t, p.Director)
	wantClean(t, "director", c.doctor(p.Director, director))

	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	// The stock conn_reuse_mode=1 does not reschedule a reused port of a
	// dr connection, whose entry ends in FIN_WAIT.
	set(t, p.Director, "net/ipv4/vs/conn_reuse_mode", "1")
	wantOnly(t, "conn_reuse_mode=1", c.doctor(p.Director, director), "conn-reuse-mode",
		"kernel "+strings.TrimSpace(string(rel))+": conn_reuse_mode=1 with dr or tun", "conn_reuse_mode: 2 under director.ipvs_sysctls")
	set(t, p.Director, "net/ipv4/vs/conn_reuse_mode", "0")
	wantOnly(t, "conn_reuse_mode=0", c.doctor(p.Director, director), "conn-reuse-mode",
		"kernel "+strings.TrimSpace(string(rel))+": conn_reuse_mode=0", "net.ipv4.vs.conn_reuse_mode=2")
	set(t, p.Director, "net/ipv4/vs/conn_reuse_mode", "2")

	wantOnly(t, "ip_vs missing", c.doctor(p.Director, director, "LVS_RS_DOCTOR_ROOT="+fakeRoot(t, []string{"ip_vs"}, nil)),
		"modules", "kernel module ip_vs is not loaded")
}

// TestARPFlux: on a clean DR cluster, rs1's arp_ignore goes back to 0:
// the director's doctor names rs1's MAC (and not rs2's), and rs1's own
// doctor names its arp_ignore.
func TestARPFlux(t *testing.T) {
	p, c := drCluster(t)
	quiesceSysctls(t, p.Director)
	wantClean(t, "director", c.doctor(p.Director, director))
	wantClean(t, "rs1", c.doctor(p.RS1, realserver))

	set(t, p.RS1, "net/ipv4/conf/all/arp_ignore", "0")
	set(t, p.RS1, "net/ipv4/conf/lo/arp_ignore", "0")
	rs1, err := p.RS1.HardwareAddr("eth0")
	if err != nil {
		t.Fatal(err)
	}
	rs2, err := p.RS2.HardwareAddr("eth0")
	if err != nil {
		t.Fatal(err)
	}
	r := c.doctor(p.Director, director)
	wantOnly(t, "rs1 answers ARP", r, "arp-flux", "VIP "+p.VIP.String(), rs1.String())
	if strings.Contains(r.stdout, rs2.String()) {
		t.Errorf("arp-flux names rs2 (%s), whose arp_ignore is 1:\n%s", rs2, r.stdout)
	}
	wantOnly(t, "rs1 itself", c.doctor(p.RS1, realserver), "arp-sysctls",
		"effective arp_ignore is not 1, 2, 3 or 8 on eth0 0 (all=0, eth0=0)")
}

// drCluster is the DR preset with lvs-rs started on every node.
func drCluster(t *testing.T) (*topo.Preset, *cluster) {
	t.Helper()
	p := topo.DR(t)
	c := newCluster(t, clusterYAML(p, "dr", ""))
	c.start(p.RS1, realserver)
	c.start(p.RS2, realserver)
	c.start(p.Director, director)
	return p, c
}

// TestSysctlD: a file in etc/sysctl.d that sets arp_ignore=0 fires on a
// correct DR real server; without it, all is well.
func TestSysctlD(t *testing.T) {
	p := topo.DR(t)
	c := newCluster(t, clusterYAML(p, "dr", ""))
	c.start(p.RS1, realserver)
	clean := fakeRoot(t, nil, nil)
	wantClean(t, "no sysctl.d file", c.doctor(p.RS1, realserver, "LVS_RS_DOCTOR_ROOT="+clean))
	bad := fakeRoot(t, nil, map[string]string{"etc/sysctl.d/60-net.conf": "# site defaults\nnet.ipv4.conf.all.arp_ignore = 0\n"})
	wantOnly(t, "sysctl.d undoes arp_ignore", c.doctor(p.RS1, realserver, "LVS_RS_DOCTOR_ROOT="+bad), "sysctl.d",
		bad+"/etc/sysctl.d/60-net.conf:2 sets net.ipv4.conf.all.arp_ignore = 0")
}

// TestTUN: a TUN real server set up by lvs-rs passes; ipip hidden from
// the module lists fires modules; tunl0's MTU raised to eth0's fires
// tunnel-mtu; all/rp_filter=1 fires rp-filter.
func TestTUN(t *testing.T) {
	p := topo.TUN(t)
	c := newCluster(t, clusterYAML(p, "tun", ""))
	c.start(p.RS1, realserver)
	r := c.doctor(p.RS1, realserver)
	wantClean(t, "tun real server", r)
	if !strings.Contains(r.stdout, "ok (path MTU risk: a full-size client packet is 1520 bytes") {
		t.Errorf("tunnel-mtu does not report the path MTU risk:\n%s", r.stdout)
	}

	wantOnly(t, "ipip missing", c.doctor(p.RS1, realserver, "LVS_RS_DOCTOR_ROOT="+fakeRoot(t, []string{"ipip"}, nil)),
		"modules", "kernel module ipip is not loaded")

	tunl0, err := p.RS1.Handle().LinkByName("tunl0")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RS1.Handle().LinkSetMTU(tunl0, 1500); err != nil {
		t.Fatal(err)
	}
	wantOnly(t, "tunl0 mtu 1500", c.doctor(p.RS1, realserver), "tunnel-mtu",
		"tunl0 MTU 1500 is larger than eth0's 1500 minus 20", "ip link set tunl0 mtu 1480")
	if err := p.RS1.Handle().LinkSetMTU(tunl0, 1480); err != nil {
		t.Fatal(err)
	}

	set(t, p.RS1, "net/ipv4/conf/all/rp_filter", "1")
	wantOnly(t, "all/rp_filter=1", c.doctor(p.RS1, realserver), "rp-filter",
		"effective rp_filter on tunl0 is 1 (all=1, tunl0=0)")
}

// TestNATGateway: lvs-rs routes the nat real server through the director;
// replacing that default route fires nat-gateway.
func TestNATGateway(t *testing.T) {
	p := topo.NATUnrouted(t)
	c := newCluster(t, clusterYAML(p, "nat", p.Gateway.String()))
	c.start(p.RS1, realserver)
	wantClean(t, "nat real server", c.doctor(p.RS1, realserver))

	if err := p.RS1.SetDefaultRoute(p.RS2IP.String()); err != nil {
		t.Fatal(err)
	}
	wantOnly(t, "own default route", c.doctor(p.RS1, realserver), "nat-gateway",
		"goes via "+p.RS2IP.String()+" dev eth0 (metric 0), not via the director "+p.Gateway.String())
}
