package crash

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// rsTopo makes one namespace per real server, each with its own state
// directory, on segments lan0 and lan1, with IPv6 off (no link-local
// addresses appearing on their own while snapshots are compared).
func rsTopo(t *testing.T, name string, links map[string]string) *rsHost {
	t.Helper()
	tp := topo.New(t)
	ns := tp.AddNS(name)
	for _, k := range []string{"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"} {
		if err := ns.WriteSysctl(k, "1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, seg := range []string{"lan0", "lan1"} {
		tp.AddSegment(seg)
	}
	for dev, cidr := range links {
		tp.Connect(name, "lan"+dev[3:], dev, cidr)
	}
	return &rsHost{t: t, ns: ns, dir: filepath.Join(t.TempDir(), name)}
}

// TestRealServerNATCrash: a nat real server whose default route is a
// two-nexthop multipath route (weights 1 and 2, one onlink, mtu 1400),
// with a second default route at metric 200. lvs-rs replaces the first
// with the route through the director; a kill -9 or an EINVAL at every
// write of start and of stop still ends, after start and stop, with the
// multipath route back exactly.
func TestRealServerNATCrash(t *testing.T) {
	h := rsTopo(t, "natrs", map[string]string{"eth0": "10.9.0.2/24", "eth1": "10.8.0.2/24"})
	h.conf = []string{"all", "default", "lo", "eth0", "eth1"}
	h.args = []string{"--mode", "nat", "--gateway", "10.9.0.1"}
	nl := h.ns.Handle()
	idx := map[string]int{}
	for _, dev := range []string{"eth0", "eth1"} {
		l, err := nl.LinkByName(dev)
		if err != nil {
			t.Fatal(err)
		}
		idx[dev] = l.Attrs().Index
	}
	_, def, _ := net.ParseCIDR("0.0.0.0/0")
	for _, r := range []*netlink.Route{
		{Dst: def, MTU: 1400, MultiPath: []*netlink.NexthopInfo{
			{LinkIndex: idx["eth0"], Gw: net.ParseIP("10.9.0.254")},
			{LinkIndex: idx["eth1"], Gw: net.ParseIP("10.7.0.254"), Hops: 1, Flags: unix.RTNH_F_ONLINK},
		}},
		{Dst: def, Gw: net.ParseIP("10.9.0.253"), LinkIndex: idx["eth0"], Priority: 200},
	} {
		if err := nl.RouteAdd(r); err != nil {
			t.Fatalf("route %v: %v", r, err)
		}
	}
	before := h.snap()
	if !strings.Contains(strings.Join(before.Routes, "\n"), "Flags: [onlink]") {
		t.Fatalf("the multipath route is not in the snapshot:\n%s", strings.Join(before.Routes, "\n"))
	}
	// Start replaces the multipath route.
	h.must("start", h.args...)
	got := strings.Join(h.snap().Routes, "\n")
	if strings.Contains(got, "10.9.0.254") || !strings.Contains(got, "Gw:10.9.0.1 ") {
		t.Fatalf("routes after start:\n%s", got)
	}
	h.restored("start", before)
	h.crashEveryWrite(before)
}

// TestRealServerDRTUNCrash: one real server with a dr VIP (on lo) and a
// tun VIP (on tunl0, brought up), a non-default all/arp_announce and the
// sysctls of both modes, from one cluster file. A kill -9 or an EINVAL at
// every write of start and of stop still ends, after start and stop,
// with the host exactly as before.
func TestRealServerDRTUNCrash(t *testing.T) {
	// Loading ipip creates tunl0 (down) in every namespace: load it before
	// the host exists, so that tunl0 is part of its "before".
	if out, err := exec.Command("modprobe", "ipip").CombinedOutput(); err != nil {
		t.Fatalf("modprobe ipip: %v: %s", err, out)
	}
	h := rsTopo(t, "drtunrs", map[string]string{"eth0": "10.9.0.3/24"})
	h.conf = []string{"all", "default", "lo", "eth0", "tunl0"}
	cfg := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	yaml := `director:
  interface: eth0
virtual_servers:
  - vip: 10.9.0.100
    port: 80
    scheduler: rr
    mode: dr
    real_servers:
      - address: 10.9.0.3
  - vip: 10.9.0.101
    port: 80
    scheduler: rr
    mode: tun
    real_servers:
      - address: 10.9.0.3
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	h.args = []string{"--config", cfg}
	if err := h.ns.WriteSysctl("net/ipv4/conf/all/arp_announce", "1"); err != nil {
		t.Fatal(err)
	}
	before := h.snap()
	if !strings.Contains(strings.Join(before.Links, "\n"), "tunl0 type=ipip up=false") {
		t.Fatalf("tunl0 is not down before start: %q", before.Links)
	}
	h.must("start", h.args...)
	after := h.snap()
	for _, want := range []string{"10.9.0.100/32 dev lo label lo:0 scope host", "10.9.0.101/32 dev tunl0 label tunl0:0"} {
		if !strings.Contains(strings.Join(after.Addrs, "\n"), want) {
			t.Fatalf("after start, no %s in %q", want, after.Addrs)
		}
	}
	if after.Sysctls["net/ipv4/conf/tunl0/rp_filter"] != "0" || after.Sysctls["net/ipv4/conf/all/arp_announce"] != "2" {
		t.Fatalf("sysctls after start: %v", after.Sysctls)
	}
	h.restored("start", before)
	h.crashEveryWrite(before)
}

// TestRealServerGUEGRECrash: one real server reached through a gue tunnel
// on UDP port 6080, a gre tunnel (csum) and a gue tunnel on 6082, from one
// cluster file; another tool's GUE receive ports on 6081 (not wanted) and
// 6082 (wanted: adopted) are there before. A kill -9 or an EINVAL at every
// write of start and of stop still ends, after start and stop, with the
// host exactly as before: port 6080 gone, 6081 and 6082 kept, tunl0 and
// gre0 down, every parameter back.
func TestRealServerGUEGRECrash(t *testing.T) {
	// Loading ipip and ip_gre creates tunl0 and gre0 (down) in every
	// namespace: load them and fou before the host exists, so that the
	// devices are part of its "before".
	for _, m := range []string{"ipip", "ip_gre", "fou"} {
		if out, err := exec.Command("modprobe", m).CombinedOutput(); err != nil {
			t.Fatalf("modprobe %s: %v: %s", m, err, out)
		}
	}
	h := rsTopo(t, "guegrers", map[string]string{"eth0": "10.9.0.4/24"})
	h.conf = []string{"all", "default", "lo", "eth0", "tunl0", "gre0"}
	for _, port := range []uint16{6081, 6082} {
		err := h.ns.Do(func() error {
			f, err := tunnel.DialFOU()
			if err != nil {
				return err
			}
			defer f.Close()
			if err := f.Load(context.Background()); err != nil {
				return err
			}
			return f.AddGUE(port)
		})
		if err != nil {
			t.Fatalf("GUE port %d by hand: %v", port, err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	yaml := `director:
  interface: eth0
virtual_servers:
  - {vip: 10.9.0.101, port: 80, mode: tun, real_servers: [{address: 10.9.0.4, tunnel: {type: gue, port: 6080}}]}
  - {vip: 10.9.0.102, port: 80, mode: tun, real_servers: [{address: 10.9.0.4, tunnel: {type: gre, flags: [csum]}}]}
  - {vip: 10.9.0.103, port: 80, mode: tun, real_servers: [{address: 10.9.0.4, tunnel: {type: gue, port: 6082, flags: [remcsum]}}]}
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	h.args = []string{"--config", cfg}
	before := h.snap()
	for _, dev := range []string{"tunl0 ", "gre0 "} {
		i := slices.IndexFunc(before.Links, func(l string) bool { return strings.HasPrefix(l, dev) })
		if i < 0 || !strings.Contains(before.Links[i], "up=false") {
			t.Fatalf("%sis not there and down before start: %q", dev, before.Links)
		}
	}
	if len(before.FOU) != 2 {
		t.Fatalf("GUE ports before start: %q, want 6081 and 6082", before.FOU)
	}
	h.must("start", h.args...)
	after := h.snap()
	for _, want := range []string{"10.9.0.101/32 dev tunl0 label tunl0:0", "10.9.0.103/32 dev tunl0 label tunl0:1", "10.9.0.102/32 dev gre0 label gre0:0"} {
		if !strings.Contains(strings.Join(after.Addrs, "\n"), want) {
			t.Fatalf("after start, no %s in %q", want, after.Addrs)
		}
	}
	if !slices.Equal(after.FOU, []string{"port 6080 gue", "port 6081 gue", "port 6082 gue"}) {
		t.Fatalf("GUE ports after start: %q", after.FOU)
	}
	if after.Sysctls["net/ipv4/conf/gre0/rp_filter"] != "0" || after.Sysctls["net/ipv4/conf/tunl0/rp_filter"] != "0" {
		t.Fatalf("sysctls after start: %v", after.Sysctls)
	}
	h.restored("start", before)
	h.crashEveryWrite(before)
}
