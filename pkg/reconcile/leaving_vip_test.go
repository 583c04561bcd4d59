package reconcile

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// bound lists the addresses bound on eth0 in the in-memory kernel.
func (m *memKernel) bound() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, a := range m.addrs["eth0"] {
		out = append(out, a.Prefix.Addr().String())
	}
	slices.Sort(out)
	return out
}

// announced lists the prefixes of the announce table 100 (protocol 250).
func (m *memKernel) announced() []string {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	var out []string
	for _, p := range m.net.tables[director.RouteTable{Table: 100, Protocol: 250}] {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

// TestOverlayLeavingKeepsVIP: the VIP of a real server leaving the file
// stays in the desired VIPs while it drains (a fwmark service's from
// Leaving.VIP, an address service's from its key when the record has
// none), once each, after base's; it is not announced; an idle one's VIP
// is not kept, and base's VIPs are not edited.
func TestOverlayLeavingKeepsVIP(t *testing.T) {
	vip2, vip3, vip4 := netip.MustParseAddr("10.0.0.102"), netip.MustParseAddr("10.0.0.103"), netip.MustParseAddr("10.0.0.104")
	mark := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "wrr", Netmask: 32}
	at3 := web
	at3.Address = vip3
	at4 := web
	at4.Address = vip4
	b := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5)}})
	b.Announce = &director.Announce{Table: 100, Protocol: 250, VIPs: []netip.Addr{vip}}
	b.VIPs = append(make([]netip.Addr, 0, 4), vip) // room after it: Overlay must not write there
	markMember := Member{mark.Key(), ipvs.DestinationKey{Address: rs2}}
	in := Inputs{Now: t0, Policies: map[ipvs.ServiceKey]Policy{webK: {VIP: vip}},
		Leaving: map[Member]Leaving{
			markMember:    {Service: mark, Destination: dest(rs2, 0, 1), Since: t0, VIP: vip2},
			mem(at3, rs3): {Service: at3, Destination: dest(rs3, 80, 1), Since: t0}, // a record without vip
			mem(at3, rs1): {Service: at3, Destination: dest(rs1, 80, 1), Since: t0, VIP: vip3},
			mem(at4, rs1): {Service: at4, Destination: dest(rs1, 80, 1), Since: t0, VIP: vip4}, // idle: deleted
			mem(web, rs2): {Service: web, Destination: dest(rs2, 80, 1), Since: t0, VIP: vip},  // its service stays
		},
		Kernel: map[Member]Observed{markMember: {Conns: 2}, mem(at3, rs3): {Conns: 1}, mem(at3, rs1): {Conns: 1}, mem(at4, rs1): {},
			mem(web, rs2): {Conns: 1}},
	}
	got := Overlay(b, in)
	if diff := cmp.Diff([]netip.Addr{vip, vip2, vip3}, got.Desired.VIPs, addrs); diff != "" {
		t.Errorf("VIPs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Addr{vip}, got.Desired.Announce.VIPs, addrs); diff != "" {
		t.Errorf("announced (-want +got):\n%s", diff)
	}
	if len(b.VIPs) != 1 || b.VIPs[:2][1].IsValid() {
		t.Errorf("base's VIPs edited: %v", b.VIPs)
	}
	// A file without services nor director.interface: no VIP can stay
	// bound (on an interface named ""), the real servers drain without.
	empty := director.Desired{}
	if got := Overlay(empty, in); len(got.Desired.VIPs) != 0 || len(got.Desired.Services) != 3 {
		t.Errorf("without an interface: VIPs %v, services %v", got.Desired.VIPs, weights(got.Desired))
	}
	// Once every one is gone, the VIPs are base's.
	in.Kernel = nil
	if got := Overlay(b, in); !slices.Equal(got.Desired.VIPs, b.VIPs) {
		t.Errorf("VIPs with nothing left draining: %v, want %v", got.Desired.VIPs, b.VIPs)
	}
}

// leavingVIPConfig is a file announcing in table 100 with a service on
// 10.0.0.100:80 and the extra services given.
func leavingVIPConfig(extra string) string {
	return `director:
  interface: eth0
  reconcile_interval: 1s
  announce: {table: 100}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: wrr
    real_servers:
      - {address: 127.0.0.2, weight: 2}
` + extra
}

// TestRemovedServiceDrainKeepsVIP: whole services removed from the file
// while busy (an address service, and a fwmark service whose VIP only it
// had) drain with their VIPs still bound, so their established
// connections still reach IPVS; the VIPs are withdrawn from the announce
// table at once (no new flow is drawn to them) and unbound once the real
// servers are idle and deleted.
func TestRemovedServiceDrainKeepsVIP(t *testing.T) {
	const gone = `  - vip: 10.0.0.101
    port: 81
    scheduler: wrr
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.3, weight: 3}
  - vip: 10.0.0.102
    fwmark: 10
    mark: [{protocol: tcp, port: 82}]
    scheduler: wrr
    mode: dr
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.4, weight: 4}
`
	lp, k, _ := runLoop(t, leavingVIPConfig(gone))
	if got, want := k.announced(), []string{"10.0.0.100/32", "10.0.0.101/32", "10.0.0.102/32"}; !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}
	k.setConns(81, "127.0.0.3", 5)
	k.setConns(0, "127.0.0.4", 5) // the fwmark service's real server (port 0)
	writeConfig(t, lp.opts.File, leavingVIPConfig(""))
	lp.Reload()
	waitUntil(t, "both draining", func() (bool, string) {
		a, b := k.weights(81), k.weights(0)
		return fmt.Sprint(a, b) == fmt.Sprint(map[string]int{"127.0.0.3": 0}, map[string]int{"127.0.0.4": 0}), fmt.Sprint(a, b)
	})
	if got, want := k.bound(), []string{"10.0.0.100", "10.0.0.101", "10.0.0.102"}; !slices.Equal(got, want) {
		t.Fatalf("bound while draining: %v, want %v (a VIP unbound cuts its established connections)", got, want)
	}
	if got, want := k.announced(), []string{"10.0.0.100/32"}; !slices.Equal(got, want) {
		t.Fatalf("announced while draining: %v, want %v", got, want)
	}
	k.setConns(81, "127.0.0.3", 0)
	k.setConns(0, "127.0.0.4", 0)
	lp.Kick()
	waitUntil(t, "the VIPs unbound once idle", func() (bool, string) {
		return slices.Equal(k.bound(), []string{"10.0.0.100"}), fmt.Sprint(k.bound(), k.weights(81), k.weights(0))
	})
	if a, b := k.weights(81), k.weights(0); len(a)+len(b) != 0 {
		t.Fatalf("idle real servers left: %v %v", a, b)
	}
}

// TestMovedServiceDrainKeepsOldVIP: a service whose vip changes (a new
// service key) drains its real servers on the old service with the old
// VIP still bound, beside the new one.
func TestMovedServiceDrainKeepsOldVIP(t *testing.T) {
	svc := func(v string) string {
		return `  - vip: ` + v + `
    port: 81
    scheduler: wrr
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.3, weight: 3}
`
	}
	lp, k, _ := runLoop(t, leavingVIPConfig(svc("10.0.0.101")))
	k.setConns(81, "127.0.0.3", 5)
	writeConfig(t, lp.opts.File, leavingVIPConfig(svc("10.0.0.103")))
	lp.Reload()
	waitUntil(t, "the new service", func() (bool, string) {
		return slices.Equal(k.bound(), []string{"10.0.0.100", "10.0.0.101", "10.0.0.103"}), fmt.Sprint(k.bound())
	})
	if got, want := k.announced(), []string{"10.0.0.100/32", "10.0.0.103/32"}; !slices.Equal(got, want) {
		t.Fatalf("announced: %v, want %v", got, want)
	}
	k.setConns(81, "127.0.0.3", 0)
	lp.Kick()
	waitUntil(t, "the old VIP unbound once idle", func() (bool, string) {
		return slices.Equal(k.bound(), []string{"10.0.0.100", "10.0.0.103"}), fmt.Sprint(k.bound())
	})
}
