package reconcile

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// viaSetup is the setup of a director file whose virtual servers are
// given, with the checks' source 192.0.2.1.
func viaSetup(t *testing.T, services string) Setup {
	t.Helper()
	cfg, err := config.Parse("f.yaml", []byte("director:\n  interface: eth0\nvirtual_servers:\n"+services))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSources(func(bool) (netip.Addr, error) { return netip.MustParseAddr("192.0.2.1"), nil }); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkOf is what the checker keys a check by: the target without its ID.
func checkOf(t health.Target) health.Target {
	t.ID = ""
	t.Port = 0 // the check's port is in the spec
	return t
}

// TestViaVIPProbeFollowsTraffic: the probe of a check through the VIP is
// the real server, the VIP and the forwarding, not the service: a service
// converted from port: 80 to fwmark: 10 with mark: [tcp/80] (the same
// traffic) keeps the probe's mark, so the checker keeps the check (the
// same question: same key) and its state instead of starting it over
// while the new service's real server waits at weight 0; two services of
// one real server through one VIP share one probe service; another mode
// or VIP is another probe; every mark is in the reserved range.
func TestViaVIPProbeFollowsTraffic(t *testing.T) {
	svc := func(key string) string {
		return `  - vip: 10.0.0.100
` + key + `
    scheduler: wrr
    mode: tun
    check: {type: tcp, port: 80, via: vip}
    real_servers:
      - {address: 10.0.0.11}
`
	}
	byPort := viaSetup(t, svc("    port: 80"))
	byMark := viaSetup(t, svc("    fwmark: 10\n    mark: [{protocol: tcp, port: 80}]"))
	a, b := byPort.Targets[0], byMark.Targets[0]
	if a.ID == b.ID {
		t.Fatalf("the two services have one target ID %q", a.ID)
	}
	if diff := cmp.Diff(checkOf(a), checkOf(b), addrs); diff != "" {
		t.Fatalf("the check changes with the service key (it starts over, unknown, and the converted service's real server gets weight 0) (-port +fwmark):\n%s", diff)
	}
	if len(byPort.Probes) != 1 || len(byMark.Probes) != 1 || byPort.Probes[0].Service.FWMark != a.Mark ||
		byMark.Probes[0].Destinations[0] != byPort.Probes[0].Destinations[0] {
		t.Fatalf("probes %+v and %+v", byPort.Probes, byMark.Probes)
	}

	// :80 and :443 of one tun real server through one VIP: one probe; the
	// same real server in dr, or through another VIP: one each.
	s := viaSetup(t, svc("    port: 80")+svc("    port: 443")+`  - vip: 10.0.0.100
    port: 8080
    mode: dr
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.11}
  - vip: 10.0.0.200
    port: 80
    mode: tun
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.11}
`)
	if len(s.Targets) != 4 || len(s.Probes) != 3 {
		t.Fatalf("targets %+v, probes %+v: want 4 targets, 3 probes", s.Targets, s.Probes)
	}
	marks := map[uint32]bool{}
	for _, tg := range s.Targets {
		if tg.Mark < ProbeMarkBase || tg.Mark >= ProbeMarkBase+ProbeMarks {
			t.Errorf("target %s: mark %#x outside the reserved range", tg.ID, tg.Mark)
		}
		marks[tg.Mark] = true
	}
	if s.Targets[0].Mark != s.Targets[1].Mark || len(marks) != 3 {
		t.Fatalf("marks %v of targets %+v: want :80 and :443 sharing one, the others one each", marks, s.Targets)
	}
	for _, p := range s.Probes {
		if !marks[p.Service.FWMark] || len(p.Destinations) != 1 || p.Destinations[0].Port != 0 || p.Destinations[0].Weight != 1 {
			t.Errorf("probe %+v", p)
		}
	}
}
