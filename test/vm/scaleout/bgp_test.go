package scaleout

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/announce"
	"github.com/vishvananda/netlink"
)

// The BIRD 2 configurations the README ships, for a director (kernel
// table 100 learned into table vips, exported over eBGP) and for the
// upstream router (BGP into the kernel, several paths merged into one
// ECMP route).
const directorBird = `router id %[1]s;
ipv4 table vips;
protocol device {}
protocol kernel kvips {
	ipv4 { table vips; import all; export none; };
	kernel table 100;
	learn;
	scan time 2;
}
protocol bgp up {
	local %[1]s as %[2]d;
	neighbor %[3]s as 65000;
	hold time 3;
	graceful restart off;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 3;
	ipv4 { table vips; import none; export all; };
}
`

const routerBird = `router id %[1]s;
protocol device {}
protocol kernel {
	ipv4 { import none; export all; };
	merge paths on;
}
protocol bgp d1 {
	local %[1]s as 65000;
	neighbor %[2]s as 65001;
	hold time 3;
	graceful restart off;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 3;
	ipv4 { import all; export none; };
}
protocol bgp d2 {
	local %[1]s as 65000;
	neighbor %[3]s as 65002;
	hold time 3;
	graceful restart off;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 3;
	ipv4 { import all; export none; };
}
`

// bird runs BIRD in ns with config until the test ends; its output is
// printed when the test fails.
func bird(t *testing.T, ns *topo.NS, config string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	var mu sync.Mutex
	cmd := ns.Command(ctx, binary(t, "bird"), "-f", "-c", conf, "-s", filepath.Join(dir, "bird.ctl"), "-P", filepath.Join(dir, "bird.pid"))
	w := &lockedWriter{mu: &mu, w: &out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("bird in %s: %v", ns.Name(), err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("bird in %s:\n%s", ns.Name(), out.String())
			mu.Unlock()
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// nexthops returns the gateways of the router's main-table route to vip
// (VIP/32 or VIP/128; several for an ECMP route), sorted; nil when there
// is none.
func nexthops(t *testing.T, ns *topo.NS, vip netip.Addr) []netip.Addr {
	t.Helper()
	dst := &net.IPNet{IP: vip.AsSlice(), Mask: net.CIDRMask(vip.BitLen(), vip.BitLen())}
	family := netlink.FAMILY_V4
	if vip.Is6() {
		family = netlink.FAMILY_V6
	}
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return ns.Handle().RouteListFiltered(family, &netlink.Route{Dst: dst}, netlink.RT_FILTER_DST)
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, r := range rs {
		gws := []net.IP{r.Gw}
		for _, nh := range r.MultiPath {
			gws = append(gws, nh.Gw)
		}
		for _, g := range gws {
			if a, ok := netip.AddrFromSlice(g); ok {
				out = append(out, a.Unmap())
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// waitNexthops polls the router until its route to vip has exactly want
// as nexthops and returns how long that took.
func waitNexthops(t *testing.T, ns *topo.NS, vip netip.Addr, limit time.Duration, want ...netip.Addr) time.Duration {
	t.Helper()
	start := time.Now()
	var got []netip.Addr
	for time.Since(start) < limit {
		if got = nexthops(t, ns, vip); slices.Equal(got, want) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("router's nexthops for %v: %v after %v, want %v", vip, got, limit, want)
	return 0
}

func TestBGPAnnounceAndWithdraw(t *testing.T) {
	tp := topo.New(t)
	router, d1, d2 := tp.AddNS("router"), tp.AddNS("d1"), tp.AddNS("d2")
	tp.AddSegment("lan")
	tp.Connect("router", "lan", "eth0", "10.98.0.1/24")
	tp.Connect("d1", "lan", "eth0", "10.98.0.11/24")
	tp.Connect("d2", "lan", "eth0", "10.98.0.12/24")
	for k, v := range map[string]string{"net/ipv4/fib_multipath_hash_policy": "1", "net/ipv4/ip_forward": "1"} {
		if err := router.WriteSysctl(k, v); err != nil {
			t.Fatal(err)
		}
	}
	vip := netip.MustParseAddr("203.0.113.100")
	for i, d := range []*topo.NS{d1, d2} {
		announceOnly(t, d, vip)
		bird(t, d, fmt.Sprintf(directorBird, fmt.Sprintf("10.98.0.%d", 11+i), 65001+i, "10.98.0.1"))
	}
	bird(t, router, fmt.Sprintf(routerBird, "10.98.0.1", "10.98.0.11", "10.98.0.12"))

	ip1, ip2 := netip.MustParseAddr("10.98.0.11"), netip.MustParseAddr("10.98.0.12")
	up := waitNexthops(t, router, vip, 90*time.Second, ip1, ip2)
	t.Logf("router installed the ECMP route via both directors %v after BIRD started", up.Round(time.Millisecond))

	// d1 withdraws: only its route goes, the router keeps d2.
	start := time.Now()
	announceOnly(t, d1)
	waitNexthops(t, router, vip, 30*time.Second, ip2)
	t.Logf("withdrawal: the router dropped director 1's nexthop %v after its route left table 100", time.Since(start).Round(time.Millisecond))

	// d1 announces again: both nexthops come back.
	start = time.Now()
	announceOnly(t, d1, vip)
	waitNexthops(t, router, vip, 30*time.Second, ip1, ip2)
	t.Logf("re-announcement: ECMP over both directors again after %v", time.Since(start).Round(time.Millisecond))

	// Both withdraw: the router has no route left.
	for _, d := range []*topo.NS{d1, d2} {
		announceOnly(t, d)
	}
	waitNexthops(t, router, vip, 30*time.Second)
}

// announceOnly makes table 100 of d hold lvs-rs's announce routes for
// exactly vips, through the functions the director writes them with.
func announceOnly(t *testing.T, d *topo.NS, vips ...netip.Addr) {
	t.Helper()
	tab := announce.Table{Table: 100, Protocol: announce.DefaultProtocol}
	observed, err := announce.List(d.Handle(), tab)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range announce.Plan(vips, observed) {
		if c.Kind == announce.Delete {
			err = announce.DeleteRoute(d.Handle(), tab, c.Prefix)
		} else {
			err = announce.AddRoute(d.Handle(), tab, c.Prefix)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
