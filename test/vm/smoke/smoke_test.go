package smoke

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
	"github.com/mdlayher/genetlink"
	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
)

func TestMain(m *testing.M) { vmtest.Main(m) }

// The tests run in file order: the first ones look at module autoload
// before later ones have loaded everything.

func TestIPVSFamilyResolves(t *testing.T) {
	before := moduleLoaded(t, "ip_vs")
	c, err := genetlink.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.GetFamily("IPVS")
	if err != nil {
		t.Fatalf("generic netlink family IPVS: %v", err)
	}
	if f.Name != "IPVS" || f.ID == 0 {
		t.Fatalf("family = %+v", f)
	}
	if !moduleLoaded(t, "ip_vs") {
		t.Errorf("family resolved but ip_vs is not in /proc/modules")
	}
	t.Logf("IPVS family id %d version %d (ip_vs loaded before: %v)", f.ID, f.Version, before)
}

func TestIPVSServiceWithTwoDRRealServers(t *testing.T) {
	tp := topo.New(t)
	d := tp.AddNS("director")
	h := ipvsIn(t, d)
	vip, rs1, rs2 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	svc := tcpService(vip, 80, "wrr")
	addService(t, h, svc, ipvs.ConnectionFlagDirectRoute, 80, rs1, rs2)

	svcs, err := h.GetServices()
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 1 || !svcs[0].Address.Equal(svc.Address) || svcs[0].Port != 80 || svcs[0].SchedName != "wrr" {
		t.Fatalf("dumped services = %+v, want one wrr %s:80", svcs, svc.Address)
	}
	if !moduleLoaded(t, "ip_vs_wrr") {
		t.Errorf("the wrr scheduler works but ip_vs_wrr is not loaded")
	}
	dsts, err := h.GetDestinations(svcs[0])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for _, x := range dsts {
		got[x.Address.String()] = x.ConnectionFlags & ipvs.ConnectionFlagFwdMask
	}
	for _, a := range []string{rs1.String(), rs2.String()} {
		if fwd, ok := got[a]; !ok || fwd != ipvs.ConnectionFlagDirectRoute {
			t.Errorf("real server %s: present %v, forwarding %d; want DR (%d)", a, ok, fwd, ipvs.ConnectionFlagDirectRoute)
		}
	}
	if len(dsts) != 2 {
		t.Errorf("dumped %d real servers, want 2", len(dsts))
	}

	// IPVS tables are per namespace: the root namespace does not see it.
	root, err := ipvs.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if root.IsServicePresent(svc) {
		t.Errorf("the service is visible in the root namespace")
	}
}

func TestIPIPBringsTunl0(t *testing.T) {
	tp := topo.New(t)
	n := tp.AddNS("rs")
	h := n.Handle()
	if !moduleLoaded(t, "ipip") {
		if l, err := h.LinkByName("tunl0"); err == nil {
			t.Fatalf("tunl0 (%s) exists before ipip is loaded", l.Type())
		}
	}
	tun := &netlink.Iptun{
		LinkAttrs: netlink.LinkAttrs{Name: "ipip1"},
		Local:     net.ParseIP("192.0.2.1"), Remote: net.ParseIP("192.0.2.2"),
	}
	if err := h.LinkAdd(tun); err != nil {
		t.Fatalf("creating an ipip link: %v", err)
	}
	for _, name := range []string{"tunl0", "ipip1"} {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatalf("%s after ipip loaded: %v", name, err)
		}
		if l.Type() != "ipip" {
			t.Errorf("%s has type %q, want ipip", name, l.Type())
		}
	}
	if !moduleLoaded(t, "ipip") {
		t.Errorf("ipip links exist but ipip is not in /proc/modules")
	}
}

func TestDRTrafficReachesBothRealServers(t *testing.T) {
	p := topo.DR(t)
	vip := p.VIP.String()
	must(t, p.Director.AddAddr(p.DirectorIface, vip+"/32"))
	addService(t, ipvsIn(t, p.Director), tcpService(p.VIP, 80, "rr"), ipvs.ConnectionFlagDirectRoute, 80, p.RS1IP, p.RS2IP)
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		must(t, rs.AddAddr("lo", vip+"/32"))
		setSysctls(t, rs,
			"net/ipv4/conf/lo/arp_ignore", "1", "net/ipv4/conf/lo/arp_announce", "2",
			"net/ipv4/conf/all/arp_ignore", "1", "net/ipv4/conf/all/arp_announce", "2")
		if _, err := rs.ServeEcho(vip + ":80"); err != nil {
			t.Fatal(err)
		}
	}

	hitBoth(t, p.Client, vip+":80", 6, "rs1", "rs2")

	mac, err := p.Client.NeighMAC(vip)
	if err != nil {
		t.Fatal(err)
	}
	dmac, err := p.Director.HardwareAddr(p.DirectorIface)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mac, dmac) {
		t.Errorf("client resolved the VIP to %s, want the director's %s", mac, dmac)
	}
}

func TestTUNTrafficReachesBothRealServers(t *testing.T) {
	p := topo.TUN(t)
	vip := p.VIP.String()
	must(t, p.Director.AddAddr(p.DirectorIface, vip+"/32"))
	addService(t, ipvsIn(t, p.Director), tcpService(p.VIP, 80, "rr"), ipvs.ConnectionFlagTunnel, 80, p.RS1IP, p.RS2IP)
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		if _, err := rs.Handle().LinkByName("tunl0"); err != nil {
			// ipip not loaded yet: creating an ipip link autoloads it
			// (with endpoints, or it would clash with tunl0 itself).
			must(t, rs.Handle().LinkAdd(&netlink.Iptun{
				LinkAttrs: netlink.LinkAttrs{Name: "ipip1"},
				Local:     net.ParseIP("192.0.2.1"), Remote: net.ParseIP("192.0.2.2"),
			}))
		}
		must(t, rs.LinkUp("tunl0"))
		must(t, rs.AddAddr("tunl0", vip+"/32"))
		setSysctls(t, rs,
			"net/ipv4/conf/tunl0/rp_filter", "0", "net/ipv4/conf/all/rp_filter", "0",
			"net/ipv4/conf/tunl0/arp_ignore", "1", "net/ipv4/conf/all/arp_ignore", "1",
			"net/ipv4/conf/tunl0/arp_announce", "2", "net/ipv4/conf/all/arp_announce", "2")
		if _, err := rs.ServeEcho(vip + ":80"); err != nil {
			t.Fatal(err)
		}
	}
	hitBoth(t, p.Client, vip+":80", 6, "rs1", "rs2")
}

func TestNATTrafficReachesBothRealServers(t *testing.T) {
	p := topo.NAT(t)
	vip := p.VIP.String()
	must(t, p.Director.AddAddr(p.DirectorIface, vip+"/32"))
	must(t, p.Director.WriteSysctl("net/ipv4/ip_forward", "1"))
	addService(t, ipvsIn(t, p.Director), tcpService(p.VIP, 80, "rr"), ipvs.ConnectionFlagMasq, 8080, p.RS1IP, p.RS2IP)
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		if _, err := rs.ServeEcho(":8080"); err != nil {
			t.Fatal(err)
		}
	}
	hitBoth(t, p.Client, vip+":80", 6, "rs1", "rs2")
}
