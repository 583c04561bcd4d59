package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// requests is how many connections the client opens through the VIP.
const requests = 40

// serveEchoes starts an echo server on every real server's port: each
// answers with its namespace's name.
func serveEchoes(t *testing.T, s service) {
	t.Helper()
	for _, r := range s.reals {
		if _, err := r.ns.ServeEcho(fmt.Sprintf(":%d", r.port)); err != nil {
			t.Fatal(err)
		}
	}
}

// askVIP makes n HTTP requests from client to VIP:port, each on a new TCP
// connection (so each is scheduled afresh), and counts the answers.
func askVIP(t *testing.T, client *topo.NS, s service, n int) map[string]int {
	t.Helper()
	addr := netip.AddrPortFrom(netip.MustParseAddr(s.vip), s.port).String()
	seen, err := client.Tally(addr, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests to %s answered by: %v", n, addr, seen)
	return seen
}

// checkShares fails unless only the real servers answered, each at least
// once, and each within ±25% of its wrr share.
//
// wrr schedules fresh connections deterministically: after a first round
// in which the kernel's current weight starts at 0 and every server gets
// one connection, it cycles through sum(weights) connections per round,
// weight w_i of them to server i. With weights 1:3 and 40 connections the
// split is 10:30 give or take one round's remainder, so ±25% of the
// expected count (±2.5 of 10) cannot flake, yet catches rr (20:20) and a
// missing or zero weight.
func checkShares(t *testing.T, s service, seen map[string]int, n int) {
	t.Helper()
	total := 0
	for _, r := range s.reals {
		total += r.weight
	}
	for body, k := range seen {
		known := false
		for _, r := range s.reals {
			known = known || body == r.ns.Name()
		}
		if !known {
			t.Errorf("%d answer(s) %q from nobody in the cluster", k, body)
		}
	}
	for _, r := range s.reals {
		got := seen[r.ns.Name()]
		want := float64(n*r.weight) / float64(total)
		if got == 0 {
			t.Errorf("%s (weight %d) never answered: %v", r.ns.Name(), r.weight, seen)
			continue
		}
		if math.Abs(float64(got)-want) > 0.25*want {
			t.Errorf("%s (weight %d of %d) answered %d of %d requests, want %.1f ±25%%: %v",
				r.ns.Name(), r.weight, total, got, n, want, seen)
		}
	}
}

// checkNeighbour fails unless from has resolved addr to the director's MAC
// on dev, and to no real server's.
func checkNeighbour(t *testing.T, from *topo.NS, addr netip.Addr, d *topo.NS, dev string, s service) {
	t.Helper()
	got, err := from.NeighMAC(addr.String())
	if err != nil {
		t.Errorf("%s: %v", from.Name(), err)
		return
	}
	want, err := d.HardwareAddr(dev)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.reals {
		rmac, err := r.ns.HardwareAddr("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, rmac) {
			t.Errorf("%s resolved %s to %s, the MAC of real server %s (ARP for the VIP answered by a real server)", from.Name(), addr, got, r.ns.Name())
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s resolved %s to %s, want the director's %s %s", from.Name(), addr, got, dev, want)
		return
	}
	t.Logf("%s resolved %s to %s: the director's %s", from.Name(), addr, got, dev)
}

// checkSilent attaches a probe namespace to segment seg (address cidr,
// the VIP routed on-link) and lets it ask by ARP who has the VIP there.
// On the real servers' own segment in tun mode nobody may answer: the
// real servers hold the VIP on tunl0 with arp_ignore=1.
func checkSilent(t *testing.T, p *topo.Preset, seg, cidr string, s service) {
	t.Helper()
	probe := p.Topo.AddNS("probe")
	p.Topo.Connect("probe", seg, "eth0", cidr)
	l, err := probe.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	vip := netip.MustParseAddr(s.vip)
	dst := &net.IPNet{IP: vip.AsSlice(), Mask: net.CIDRMask(32, 32)}
	if err := probe.Handle().RouteAdd(&netlink.Route{Dst: dst, LinkIndex: l.Attrs().Index, Scope: netlink.SCOPE_LINK}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if c, err := probe.DialContext(ctx, "tcp", netip.AddrPortFrom(vip, s.port).String()); err == nil {
		c.Close()
		t.Errorf("a host on segment %s reached the VIP %s directly (a real server answered ARP for it)", seg, vip)
	}
	e, err := probe.Neigh(vip.String())
	if err != nil {
		t.Fatalf("probe on %s: no neighbour entry for the VIP after asking for it: %v", seg, err)
	}
	if len(e.HardwareAddr) > 0 {
		who := "someone"
		for _, r := range s.reals {
			if rmac, err := r.ns.HardwareAddr("eth0"); err == nil && bytes.Equal(e.HardwareAddr, rmac) {
				who = r.ns.Name()
			}
		}
		t.Errorf("on segment %s, %s (%s) answered ARP for the VIP %s (neighbour state %#x)", seg, who, e.HardwareAddr, vip, e.State)
		return
	}
	t.Logf("on segment %s nobody answered ARP for %s (neighbour state %#x)", seg, vip, e.State)
}
