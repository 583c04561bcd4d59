package scaleout

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// frrDirector is the FRR configuration the README ships for a director
// (/etc/frr/frr.conf), only its addresses and AS made verbs: %[1]s the
// director's IPv4 address (router id), %[2]d its AS, %[3]s and %[4]s the
// router's IPv4 and IPv6 addresses. Table 100 is the table of the VRF
// vips, whose kernel routes (lvs-rs's) BGP leaks into the default
// instance; the table-map keeps them out of the director's main table.
const frrDirector = `route-map ALL permit 10
exit
route-map NOFIB deny 10
exit
router bgp %[2]d vrf vips
 bgp router-id %[1]s
 address-family ipv4 unicast
  redistribute kernel
 exit-address-family
 address-family ipv6 unicast
  redistribute kernel
 exit-address-family
exit
router bgp %[2]d
 bgp router-id %[1]s
 no bgp default ipv4-unicast
 neighbor %[3]s remote-as 65000
 neighbor %[3]s timers 1 3
 neighbor %[4]s remote-as 65000
 neighbor %[4]s timers 1 3
 address-family ipv4 unicast
  import vrf vips
  table-map NOFIB
  neighbor %[3]s activate
  neighbor %[3]s route-map ALL out
 exit-address-family
 address-family ipv6 unicast
  import vrf vips
  table-map NOFIB
  neighbor %[4]s activate
  neighbor %[4]s route-map ALL out
 exit-address-family
exit
`

// routerBirdFRR is the upstream router for FRR directors: BIRD 2 as in
// routerBird, with an IPv6 session to each director beside the IPv4 one
// (FRR's configuration has one neighbor per family).
const routerBirdFRR = `router id %[1]s;
protocol device {}
protocol kernel {
	ipv4 { import none; export all; };
	merge paths on;
}
protocol kernel {
	ipv6 { import none; export all; };
	merge paths on;
}
template bgp dir {
	hold time 3;
	graceful restart off;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 3;
}
protocol bgp d1 from dir { local %[1]s as 65000; neighbor %[3]s as 65001; ipv4 { import all; export none; }; }
protocol bgp d1v6 from dir { local %[2]s as 65000; neighbor %[4]s as 65001; ipv6 { import all; export none; }; }
protocol bgp d2 from dir { local %[1]s as 65000; neighbor %[5]s as 65002; ipv4 { import all; export none; }; }
protocol bgp d2v6 from dir { local %[2]s as 65000; neighbor %[6]s as 65002; ipv6 { import all; export none; }; }
`

// The FRR topology: one LAN in both families.
//
//	router 10.96.0.1, 2001:db8:96::1 (AS 65000)
//	d1 10.96.0.11, 2001:db8:96::11 (AS 65001); d2 .12, ::12 (AS 65002)
//	rs1 10.96.0.21, 2001:db8:96::21
//	VIPs 203.0.113.100 and 2001:db8:100::100, port 80, dr, rs1 checked
var (
	frrRouter = [2]netip.Addr{netip.MustParseAddr("10.96.0.1"), netip.MustParseAddr("2001:db8:96::1")}
	frrDirs   = [2][2]netip.Addr{
		{netip.MustParseAddr("10.96.0.11"), netip.MustParseAddr("2001:db8:96::11")},
		{netip.MustParseAddr("10.96.0.12"), netip.MustParseAddr("2001:db8:96::12")},
	}
	frrRS   = [2]netip.Addr{netip.MustParseAddr("10.96.0.21"), netip.MustParseAddr("2001:db8:96::21")}
	frrVIPs = [2]netip.Addr{netip.MustParseAddr("203.0.113.100"), netip.MustParseAddr("2001:db8:100::100")}
)

// frrConfig is the lvs-rs file both directors run: one checked dr
// service per family, announced in table 100.
func frrConfig() string {
	var b strings.Builder
	b.WriteString("director:\n  interface: eth0\n  announce: {table: 100}\nvirtual_servers:\n")
	for i, vip := range frrVIPs {
		fmt.Fprintf(&b, "  - vip: %v\n    port: 80\n    mode: dr\n    scheduler: rr\n", vip)
		b.WriteString("    check: {type: tcp, interval: 300ms, timeout: 250ms, rise: 1, fall: 2}\n")
		fmt.Fprintf(&b, "    real_servers:\n      - {address: %v, weight: 1}\n", frrRS[i])
	}
	return b.String()
}

// addVRF adds the VRF device vips bound to table 100 and sets it up, as
// the README has the operator do before FRR starts.
func addVRF(t *testing.T, ns *topo.NS) {
	t.Helper()
	vrf := &netlink.Vrf{LinkAttrs: netlink.LinkAttrs{Name: "vips"}, Table: 100}
	if err := ns.Handle().LinkAdd(vrf); err != nil {
		t.Fatalf("VRF vips in %s: %v", ns.Name(), err)
	}
	if err := ns.Handle().LinkSetUp(vrf); err != nil {
		t.Fatalf("VRF vips up in %s: %v", ns.Name(), err)
	}
}

// blackholesTo lists ns's blackhole routes to vip/32 or vip/128 in
// table, of any family.
func blackholesTo(t *testing.T, ns *topo.NS, table int, vip netip.Addr) []netlink.Route {
	t.Helper()
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return ns.Handle().RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []netlink.Route
	for _, r := range rs {
		if r.Type == unix.RTN_BLACKHOLE && r.Dst != nil && r.Dst.IP.Equal(vip.AsSlice()) {
			if ones, bits := r.Dst.Mask.Size(); ones == bits {
				out = append(out, r)
			}
		}
	}
	return out
}

// waitTable100 waits until ns's table 100 holds exactly want of lvs-rs's
// routes (protocol 250), both families counted.
func waitTable100(t *testing.T, ns *topo.NS, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
			return ns.Handle().RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: 100, Protocol: 250},
				netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s's table 100 after %v: %v, want %d route(s)", ns.Name(), limit, rs, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// blockRS makes the real server unreachable from ns in both families (a
// prohibit route to each of its addresses), so that every check fails.
func blockRS(t *testing.T, ns *topo.NS) {
	t.Helper()
	for _, a := range frrRS {
		r := &netlink.Route{Dst: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}, Type: unix.RTN_PROHIBIT}
		if err := ns.Handle().RouteAdd(r); err != nil {
			t.Fatalf("prohibit route to %v in %s: %v", a, ns.Name(), err)
		}
	}
}

// TestFRRAnnounce: two directors run `lvs-rs run` with director.announce
// and FRR (zebra and bgpd, Debian 12's frr) loaded with the README's
// configuration; the router (BIRD) learns both VIPs, IPv4 and IPv6, as
// ECMP routes via both directors, and FRR keeps the VIPs out of the
// directors' main tables. When every real server fails its checks on d1,
// the router keeps only d2 for both VIPs; `lvs-rs stop` on d2 takes the
// last routes away.
func TestFRRAnnounce(t *testing.T) {
	tp := topo.New(t)
	router := tp.AddNS("router")
	rs := tp.AddNS("rs1")
	dirs := [2]*topo.NS{tp.AddNS("d1"), tp.AddNS("d2")}
	tp.AddSegment("lan")
	tp.Connect("router", "lan", "eth0", frrRouter[0].String()+"/24", frrRouter[1].String()+"/64")
	tp.Connect("rs1", "lan", "eth0", frrRS[0].String()+"/24", frrRS[1].String()+"/64")
	for i, d := range dirs {
		tp.Connect(d.Name(), "lan", "eth0", frrDirs[i][0].String()+"/24", frrDirs[i][1].String()+"/64")
	}
	for k, v := range map[string]string{"net/ipv4/fib_multipath_hash_policy": "1", "net/ipv6/fib_multipath_hash_policy": "1"} {
		if err := router.WriteSysctl(k, v); err != nil {
			t.Fatal(err)
		}
	}
	// BGP over IPv6 needs the addresses past duplicate address detection.
	for _, n := range append([]*topo.NS{router, rs}, dirs[:]...) {
		if err := n.WaitNoTentative(20 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	c := &cluster{t: t, tp: tp, base: dir, config: filepath.Join(dir, "lvs-rs.yaml")}
	c.must(os.WriteFile(c.config, []byte(frrConfig()), 0o644))
	c.serveLines(rs, ":80")
	var runs [2]*runProc
	for i, d := range dirs {
		addVRF(t, d)
		runs[i] = c.run(d)
	}
	bird(t, router, fmt.Sprintf(routerBirdFRR, frrRouter[0], frrRouter[1], frrDirs[0][0], frrDirs[0][1], frrDirs[1][0], frrDirs[1][1]))
	start := time.Now()
	var frrs [2]*frrProc
	for i, d := range dirs {
		frrs[i] = startFRR(t, d, fmt.Sprintf(frrDirector, frrDirs[i][0], 65001+i, frrRouter[0], frrRouter[1]))
	}
	version, _ := frrs[0].vtysh("-c", "show version")
	version, _, _ = strings.Cut(strings.TrimSpace(version), "\n")
	t.Logf("%s", version)
	for f, vip := range frrVIPs {
		waitNexthops(t, router, vip, 60*time.Second, frrDirs[0][f], frrDirs[1][f])
	}
	t.Logf("ANNOUNCE: the router has %v and %v via both directors (ECMP) %v after FRR started",
		frrVIPs[0], frrVIPs[1], time.Since(start).Round(time.Millisecond))
	for _, d := range dirs {
		for _, vip := range frrVIPs {
			if rs := blackholesTo(t, d, unix.RT_TABLE_MAIN, vip); len(rs) != 0 {
				t.Fatalf("%s's main table has a blackhole route to %v: %v (the table-map should keep FRR's out)", d.Name(), vip, rs)
			}
		}
	}

	// Every real server fails its checks on d1: it withdraws both VIPs.
	blocked := time.Now()
	blockRS(t, dirs[0])
	local := waitTable100(t, dirs[0], 0, 20*time.Second)
	for f, vip := range frrVIPs {
		waitNexthops(t, router, vip, 30*time.Second, frrDirs[1][f])
	}
	t.Logf("WITHDRAWAL: d1's routes left table 100 %v after its checks began to fail; the router kept only d2 for both VIPs %v after",
		local.Round(time.Millisecond), time.Since(blocked).Round(time.Millisecond))

	// stop on d2 (after SIGTERM of its run) takes the last routes away.
	runs[1].term(t)
	stopped := time.Now()
	c.lvsrs(dirs[1], "stop", "--role", "director")
	for _, vip := range frrVIPs {
		waitNexthops(t, router, vip, 30*time.Second)
	}
	t.Logf("STOP: the router has no route to either VIP %v after lvs-rs stop on d2", time.Since(stopped).Round(time.Millisecond))
}
