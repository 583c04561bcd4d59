package reconcile

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

var (
	t0   = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	vip  = netip.MustParseAddr("10.0.0.100")
	rs1  = netip.MustParseAddr("10.0.0.11")
	rs2  = netip.MustParseAddr("10.0.0.12")
	rs3  = netip.MustParseAddr("10.0.0.13")
	sry  = netip.MustParseAddr("10.0.0.99")
	web  = ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip, Port: 80, Scheduler: "wrr", Netmask: 32}
	dns  = ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: vip, Port: 53, Scheduler: "rr", Netmask: 32}
	webK = web.Key()
)

func dest(a netip.Addr, port uint16, w uint32) ipvs.Destination {
	return ipvs.Destination{Family: ipvs.Inet, Address: a, Port: port, Forward: ipvs.Route, Weight: w}
}

func mem(s ipvs.Service, a netip.Addr) Member {
	return Member{s.Key(), ipvs.DestinationKey{Address: a, Port: s.Port}}
}

func base(services ...director.DesiredService) director.Desired {
	return director.Desired{Interface: "eth0", VIPs: []netip.Addr{vip}, Services: services}
}

// weights renders the effective desired state as service -> address -> weight.
func weights(d director.Desired) map[string]map[string]uint32 {
	out := map[string]map[string]uint32{}
	for _, s := range d.Services {
		m := map[string]uint32{}
		for _, x := range s.Destinations {
			m[x.Address.String()] = x.Weight
		}
		out[s.Service.String()] = m
	}
	return out
}

func TestOverlayWeights(t *testing.T) {
	web3 := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3), dest(rs3, 80, 2)}})
	sorry := dest(sry, 80, 0)
	tests := []struct {
		name string
		base director.Desired
		in   Inputs
		want map[string]map[string]uint32
		next time.Time
	}{{
		name: "no checks: weights as written",
		base: web3,
		in:   Inputs{Now: t0},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 5, "10.0.0.12": 3, "10.0.0.13": 2}},
	}, {
		name: "pending keeps the kernel's weight, or 0 when absent",
		base: web3,
		in: Inputs{Now: t0,
			Health: map[Member]Health{mem(web, rs1): {State: Pending}, mem(web, rs2): {State: Pending}},
			Kernel: map[Member]Observed{mem(web, rs1): {Weight: 0}, mem(web, rs3): {Weight: 7}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 0, "10.0.0.12": 0, "10.0.0.13": 2}},
	}, {
		name: "down quiesces; remove deletes",
		base: base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3)}},
			director.DesiredService{Service: dns, Destinations: []ipvs.Destination{dest(rs1, 53, 1), dest(rs2, 53, 1)}}),
		in: Inputs{Now: t0,
			Policies: map[ipvs.ServiceKey]Policy{dns.Key(): {Remove: true}},
			Health:   map[Member]Health{mem(web, rs1): {State: Down}, mem(dns, rs1): {State: Down}, mem(dns, rs2): {State: Up}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 0, "10.0.0.12": 3}, "udp 10.0.0.100:53": {"10.0.0.12": 1}},
	}, {
		name: "dynamic weight and percent",
		base: web3,
		in: Inputs{Now: t0, Health: map[Member]Health{
			mem(web, rs1): {State: Up, Dynamic: true, Weight: 9},
			mem(web, rs2): {State: Up, Percent: 50},
			mem(web, rs3): {State: Up}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 9, "10.0.0.12": 1, "10.0.0.13": 2}},
	}, {
		name: "slow start ramps after a recovery only",
		base: base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 100), dest(rs2, 80, 100)}}),
		in: Inputs{Now: t0.Add(25 * time.Second),
			Policies: map[ipvs.ServiceKey]Policy{webK: {SlowStart: 100 * time.Second}},
			Health: map[Member]Health{
				mem(web, rs1): {State: Up, Recovered: true, Since: t0},
				mem(web, rs2): {State: Up, Since: t0}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 25, "10.0.0.12": 100}},
		next: t0.Add(26 * time.Second),
	}, {
		name: "drained by hand: weight 0 while busy, deleted when idle",
		base: web3,
		in: Inputs{Now: t0,
			Drained: map[Member]time.Time{mem(web, rs1): t0, mem(web, rs2): t0},
			Kernel:  map[Member]Observed{mem(web, rs1): {Weight: 5, Conns: 3}, mem(web, rs2): {Weight: 3}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 0, "10.0.0.13": 2}},
	}, {
		name: "drain timeout deletes a busy server",
		base: web3,
		in: Inputs{Now: t0.Add(time.Minute),
			Policies: map[ipvs.ServiceKey]Policy{webK: {DrainTimeout: time.Minute}},
			Drained:  map[Member]time.Time{mem(web, rs1): t0, mem(web, rs2): t0.Add(30 * time.Second)},
			Kernel:   map[Member]Observed{mem(web, rs1): {Conns: 3}, mem(web, rs2): {Conns: 3}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.12": 0, "10.0.0.13": 2}},
		next: t0.Add(90 * time.Second),
	}, {
		name: "removed from the file: kept at 0 while busy, UDP at once",
		base: base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5)}}),
		in: Inputs{Now: t0,
			Leaving: map[Member]Leaving{
				mem(web, rs2): {Service: web, Destination: dest(rs2, 80, 3), Since: t0},
				mem(web, rs3): {Service: web, Destination: dest(rs3, 80, 3), Since: t0},
				mem(dns, rs1): {Service: dns, Destination: dest(rs1, 53, 1), Since: t0}},
			Kernel: map[Member]Observed{mem(web, rs2): {Weight: 3, Conns: 1}, mem(web, rs3): {Weight: 3}, mem(dns, rs1): {Weight: 1, Conns: 4}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 5, "10.0.0.12": 0}},
	}, {
		name: "a removed service drains in a service of its own",
		base: base(),
		in: Inputs{Now: t0,
			Leaving: map[Member]Leaving{mem(web, rs2): {Service: web, Destination: dest(rs2, 80, 3), Since: t0}},
			Kernel:  map[Member]Observed{mem(web, rs2): {Weight: 3, Conns: 1}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.12": 0}},
	}, {
		name: "sorry server while nothing is up",
		base: base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3)}}),
		in: Inputs{Now: t0,
			Policies: map[ipvs.ServiceKey]Policy{webK: {Sorry: &sorry}},
			Health:   map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Down}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 0, "10.0.0.12": 0, "10.0.0.99": 1}},
	}, {
		name: "no sorry server while one is up",
		base: base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3)}}),
		in: Inputs{Now: t0,
			Policies: map[ipvs.ServiceKey]Policy{webK: {Sorry: &sorry}},
			Health:   map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Up}}},
		want: map[string]map[string]uint32{"tcp 10.0.0.100:80": {"10.0.0.11": 0, "10.0.0.12": 3}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Overlay(tc.base, tc.in)
			if diff := cmp.Diff(tc.want, weights(got.Desired)); diff != "" {
				t.Errorf("weights (-want +got):\n%s", diff)
			}
			if !got.Next.Equal(tc.next) {
				t.Errorf("Next = %v, want %v", got.Next, tc.next)
			}
			if got.Desired.Interface != tc.base.Interface || !cmp.Equal(got.Desired.VIPs, tc.base.VIPs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
				t.Errorf("Overlay changed the interface or VIPs: %+v", got.Desired)
			}
		})
	}
}

func TestOverlayRowsAndGone(t *testing.T) {
	b := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3)}})
	in := Inputs{Now: t0,
		Health:  map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Up}},
		Drained: map[Member]time.Time{},
		Leaving: map[Member]Leaving{
			mem(web, rs2): {Service: web, Destination: dest(rs2, 80, 3), Since: t0}, // back in the file
			mem(web, rs3): {Service: web, Destination: dest(rs3, 80, 3), Since: t0}, // idle: gone
		},
	}
	got := Overlay(b, in)
	wantRows := []Row{
		{Member: mem(web, rs1), Configured: 5, Effective: 0, State: StateDown, InKernel: true},
		{Member: mem(web, rs2), Configured: 3, Effective: 3, State: StateUp, InKernel: true},
		{Member: mem(web, rs3), State: StateDraining},
	}
	if diff := cmp.Diff(wantRows, got.Rows, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Member{mem(web, rs2), mem(web, rs3)}, got.Gone, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("gone (-want +got):\n%s", diff)
	}
}

// TestOverlayKeepsBase: Overlay never edits the caller's desired state.
func TestOverlayKeepsBase(t *testing.T) {
	b := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5)}})
	Overlay(b, Inputs{Now: t0, Health: map[Member]Health{mem(web, rs1): {State: Down}}})
	if b.Services[0].Destinations[0].Weight != 5 {
		t.Fatalf("base weight changed to %d", b.Services[0].Destinations[0].Weight)
	}
}

// TestOverlayAnnounce: a VIP is announced while one of its real servers
// is in service, or its sorry server (which is in service exactly when
// none is); a VIP whose real servers all failed, without a sorry server,
// is withdrawn, the others stay.
func TestOverlayAnnounce(t *testing.T) {
	vip2 := netip.MustParseAddr("10.0.0.200")
	web2 := ipvs.Service{Family: ipvs.Inet, FWMark: 7, Scheduler: "mh", Netmask: 32}
	sorry := dest(sry, 80, 0)
	b := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3)}},
		director.DesiredService{Service: web2, Destinations: []ipvs.Destination{dest(rs3, 0, 1)}})
	b.VIPs = append(b.VIPs, vip2)
	b.Announce = &director.Announce{Table: 100, Protocol: 250, VIPs: []netip.Addr{vip, vip2}}
	pol := map[ipvs.ServiceKey]Policy{webK: {VIP: vip, Sorry: &sorry}, web2.Key(): {VIP: vip2}}
	m3 := Member{web2.Key(), ipvs.DestinationKey{Address: rs3}}
	tests := []struct {
		name   string
		health map[Member]Health
		want   []netip.Addr
	}{
		{"all up", map[Member]Health{mem(web, rs1): {State: Up}, m3: {State: Up}}, []netip.Addr{vip, vip2}},
		{"one real server left", map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Up}, m3: {State: Up}}, []netip.Addr{vip, vip2}},
		{"only the sorry server", map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Down}, m3: {State: Up}}, []netip.Addr{vip, vip2}},
		{"fwmark service down", map[Member]Health{m3: {State: Down}}, []netip.Addr{vip}},
		{"restart: not checked yet, the kernel's weights kept", map[Member]Health{mem(web, rs1): {State: Pending}, m3: {State: Pending}}, []netip.Addr{vip, vip2}},
		{"nothing checked yet, nothing in the kernel: not the sorry server either", map[Member]Health{mem(web, rs1): {State: Pending}, mem(web, rs2): {State: Pending}, m3: {State: Pending}}, nil},
		{"the sorry server not while a check is pending", map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Pending}, m3: {State: Down}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kernel := map[Member]Observed{}
			if strings.HasPrefix(tc.name, "restart") {
				kernel = map[Member]Observed{mem(web, rs1): {Weight: 5}, m3: {Weight: 1}}
			}
			got := Overlay(b, Inputs{Now: t0, Policies: pol, Health: tc.health, Kernel: kernel})
			if diff := cmp.Diff(tc.want, got.Desired.Announce.VIPs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("announced VIPs (-want +got):\n%s", diff)
			}
			if got.Desired.Announce.Table != 100 || len(b.Announce.VIPs) != 2 {
				t.Errorf("table %d, base VIPs %v", got.Desired.Announce.Table, b.Announce.VIPs)
			}
		})
	}
}

// TestKernelNeeded: a steady pass reads nothing beyond Converge; real
// servers not checked yet, drained or leaving make their service read,
// within the services a scoped pass overlays.
func TestKernelNeeded(t *testing.T) {
	steady := Inputs{Health: map[Member]Health{mem(web, rs1): {State: Up}, mem(web, rs2): {State: Down}}}
	if got := kernelNeeded(steady, nil); len(got) != 0 {
		t.Errorf("steady pass reads %v", got)
	}
	in := Inputs{
		Health:  map[Member]Health{mem(web, rs1): {State: Pending}},
		Drained: map[Member]time.Time{mem(dns, rs1): t0},
		Leaving: map[Member]Leaving{mem(dns, rs2): {}},
	}
	want := map[ipvs.ServiceKey]bool{webK: true, dns.Key(): true}
	if diff := cmp.Diff(want, kernelNeeded(in, nil), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("services read (-want +got):\n%s", diff)
	}
	// A pass overlaying web alone (OverlayScoped) reads web alone.
	only := map[ipvs.ServiceKey]bool{webK: true}
	if diff := cmp.Diff(only, kernelNeeded(in, only), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("services read by a pass of web (-want +got):\n%s", diff)
	}
}

// TestOverlayLeavingTimeout: a real server leaving with its whole service
// (no policy left for it) still drains for its own drain_timeout, not
// forever; one whose service stays keeps the timeout it left with.
func TestOverlayLeavingTimeout(t *testing.T) {
	busy := map[Member]Observed{mem(web, rs2): {Conns: 1}}
	leaving := map[Member]Leaving{mem(web, rs2): {Service: web, Destination: dest(rs2, 80, 3), Since: t0, DrainTimeout: 5 * time.Minute}}
	for _, tc := range []struct {
		name string
		base director.Desired
		now  time.Time
		gone bool
		next time.Time
	}{
		{"service removed, before the deadline", base(), t0.Add(time.Minute), false, t0.Add(5 * time.Minute)},
		{"service removed, a day later", base(), t0.Add(24 * time.Hour), true, time.Time{}},
		{"service kept, a day later", base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5)}}),
			t0.Add(24 * time.Hour), true, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Overlay(tc.base, Inputs{Now: tc.now, Leaving: leaving, Kernel: busy})
			if gone := slices.Contains(got.Gone, mem(web, rs2)); gone != tc.gone {
				t.Errorf("gone = %v, want %v (outcome %+v)", gone, tc.gone, weights(got.Desired))
			}
			if !got.Next.Equal(tc.next) {
				t.Errorf("Next = %v, want %v", got.Next, tc.next)
			}
		})
	}
}
