package reconcile

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// addrs compares netip.Addr values.
var addrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestNewSetup(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`director:
  interface: eth0
  reconcile_interval: 3s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: nat
    check: {type: http, host: www.example.com, expect_status: "200-299,301", interval: 500ms, timeout: 400ms}
    on_failure: remove
    drain_timeout: 1m
    slow_start: 10s
    sorry_server: 10.0.0.99
    real_servers:
      - {address: 10.0.0.11, weight: 2}
      - {address: 10.0.0.12, port: 8080, check: {type: dns, query: example.com}}
  - vip: 10.0.0.100
    port: 443
    real_servers:
      - {address: 10.0.0.11}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	web := s.Base.Services[0].Service.Key()
	wantPolicy := Policy{Remove: true, DrainTimeout: time.Minute, SlowStart: 10 * time.Second,
		Sorry: &ipvs.Destination{Family: ipvs.Inet, Address: netip.MustParseAddr("10.0.0.99"), Port: 80, Forward: ipvs.Masq, Weight: 1},
		VIP:   netip.MustParseAddr("10.0.0.100")}
	if diff := cmp.Diff(wantPolicy, s.Policies[web], addrs); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	if s.Interval != 3*time.Second {
		t.Errorf("interval %s", s.Interval)
	}
	rs1, rs2 := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	want := []health.Target{{
		ID: "tcp 10.0.0.100:80 10.0.0.11:80", Address: rs1, Port: 80,
		Spec: health.Spec{Type: health.HTTP, Port: 80, Via: health.Direct, Interval: 500 * time.Millisecond, Timeout: 400 * time.Millisecond,
			Rise: 2, Fall: 3, Path: "/", Host: "www.example.com", ExpectStatus: "200-299,301-301"},
	}, {
		ID: "tcp 10.0.0.100:80 10.0.0.12:8080", Address: rs2, Port: 8080,
		Spec: health.Spec{Type: health.DNS, Port: 8080, Via: health.Direct, Interval: 500 * time.Millisecond, Timeout: 400 * time.Millisecond,
			Rise: 2, Fall: 3, Query: "example.com", QueryType: "A"},
	}}
	if diff := cmp.Diff(want, s.Targets, addrs); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if m := s.Members["tcp 10.0.0.100:80 10.0.0.12:8080"]; m != (Member{web, ipvs.DestinationKey{Address: rs2, Port: 8080}}) {
		t.Errorf("member %v", m)
	}
	if len(s.Members) != 2 {
		t.Errorf("the unchecked service has members: %v", s.Members)
	}
}

func TestHealthOf(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name      string
		st        health.Status
		recovered time.Time
		want      Health
	}{
		{"unknown", health.Status{}, time.Time{}, Health{State: Pending}},
		{"down", health.Status{State: health.Down}, t0, Health{State: Down}},
		{"up", health.Status{State: health.Up}, time.Time{}, Health{State: Up}},
		{"recovered", health.Status{State: health.Up}, t0, Health{State: Up, Recovered: true, Since: t0}},
		{"exec weight", health.Status{State: health.Up, Weight: health.Weight{Kind: health.WeightAbsolute, Value: 5}}, time.Time{},
			Health{State: Up, Dynamic: true, Weight: 5}},
		{"agent percent", health.Status{State: health.Up, Weight: health.Weight{Kind: health.WeightPercent, Value: 50}}, time.Time{},
			Health{State: Up, Percent: 50}},
		{"agent drain", health.Status{State: health.Up, Weight: health.Weight{Kind: health.WeightPercent, Value: 0}}, time.Time{},
			Health{State: Up, Dynamic: true, Weight: 0}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, healthOf(tt.st, tt.recovered)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestLeavers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	old := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 1), dest(rs2, 80, 2)}},
		director.DesiredService{Service: dns, Destinations: []ipvs.Destination{dest(rs1, 53, 1)}})
	next := base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs2, 80, 5), dest(rs3, 80, 1)}})
	pol := map[ipvs.ServiceKey]Policy{webK: {DrainTimeout: time.Hour}, dns.Key(): {}}
	want := map[Member]Leaving{
		mem(web, rs1): {Service: web, Destination: dest(rs1, 80, 1), Since: t0, DrainTimeout: time.Hour},
		mem(dns, rs1): {Service: dns, Destination: dest(rs1, 53, 1), Since: t0},
	}
	if diff := cmp.Diff(want, leavers(Setup{Base: old, Policies: pol}, next, t0), addrs); diff != "" {
		t.Errorf("leavers (-want +got):\n%s", diff)
	}
}

func TestNewSetupViaVIP(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`director:
  interface: eth0
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: tun
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.11, weight: 5}
      - {address: 10.0.0.12, check: {via: direct}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Probes) != 1 || len(s.Targets) != 2 {
		t.Fatalf("probes %+v, targets %+v: want one probe, two targets", s.Probes, s.Targets)
	}
	tg, p := s.Targets[0], s.Probes[0]
	if tg.Spec.Via != health.ThroughVIP || tg.VIP != vip || tg.Mark != p.Service.FWMark || tg.Mark < ProbeMarkBase || tg.Mark >= ProbeMarkBase+ProbeMarks {
		t.Fatalf("target %+v, probe service %v", tg, p.Service)
	}
	want := ipvs.Destination{Family: ipvs.Inet, Address: rs1, Port: 80, Forward: ipvs.Tunnel, Weight: 1}
	if len(p.Destinations) != 1 || p.Destinations[0].Address != want.Address || p.Destinations[0].Forward != ipvs.Tunnel || p.Destinations[0].Weight != 1 {
		t.Fatalf("probe destinations %+v, want only %+v", p.Destinations, want)
	}
	// The mark depends on the real server's identity only.
	again, err := config.Parse("c.yaml", []byte(`director:
  interface: eth0
virtual_servers:
  - vip: 10.0.0.100
    port: 443
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.13}
  - vip: 10.0.0.100
    port: 80
    mode: tun
    check: {type: tcp, via: vip, interval: 5s}
    real_servers:
      - {address: 10.0.0.11, weight: 9}
`))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewSetup(again)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Targets[1].Mark != tg.Mark {
		t.Fatalf("mark %d after an edit, was %d", s2.Targets[1].Mark, tg.Mark)
	}
	d := director.Desired{Interface: "eth0"}
	s.AddProbes(&d)
	if len(d.Services) != 1 || len(d.Sysctls) != 1 {
		t.Fatalf("AddProbes: %+v, want the probe and accept_local on eth0", d)
	}
	if err := s.SetSources(func(bool) (netip.Addr, error) { return netip.MustParseAddr("10.0.0.1"), nil }); err != nil || s.Targets[0].Source.String() != "10.0.0.1" || s.Targets[1].Source.IsValid() {
		t.Fatalf("SetSources: %v, targets %+v", err, s.Targets)
	}
}

func TestProbeMarksReserved(t *testing.T) {
	file := `director:
  interface: eth0
virtual_servers:
  - vip: 10.0.0.100
    fwmark: 1280704512
    real_servers:
      - {address: 10.0.0.11}
`
	if _, err := config.Parse("c.yaml", []byte(file)); err == nil || !strings.Contains(err.Error(), "c.yaml:5:") {
		t.Fatalf("Parse: %v, want the reserved mark refused at its line", err)
	}
	cfg, err := config.Parse("c.yaml", []byte(strings.Replace(file, "1280704512", "7", 1)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.VirtualServers[0].FWMark = ProbeMarkBase // a Config not read from a file
	if _, err := NewSetup(cfg); err == nil || !strings.Contains(err.Error(), "reserved for the checks through the VIP") {
		t.Fatalf("NewSetup: %v, want the reserved marks refused", err)
	}
}
