package director

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

func sampleReport(t *testing.T) *Report {
	t.Helper()
	obs, owned := converged()
	owned.Sysctls = []sysctl.Record{{Key: ipf, Prior: "0", Wrote: "1"}}
	obs.Sysctls[ipf] = "1"
	s := obs.Services[svcKey(80)]
	s.Stats = ipvs.Stats{Connections: 40, PacketsIn: 400, BytesIn: 123456789, CPS: 2}
	s.Destinations[1].Weight = 5                                         // drifted
	s.Destinations = append(s.Destinations, dst(rs3, 80, ipvs.Route, 1)) // foreign
	for _, d := range s.Destinations {
		s.Counters = append(s.Counters, ipvs.DestinationExtended{Destination: d})
	}
	s.Counters[0].ActiveConnections, s.Counters[0].Stats.Connections = 3, 10
	obs.Services[svcKey(80)] = s
	foreign := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: vip2, Port: 53, Scheduler: "rr", Netmask: 32}
	obs.Services[foreign.Key()] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: foreign}}
	cfg := web()
	cfg.Director.IPForward = true
	cfg.VirtualServers[0].Persistence, cfg.VirtualServers[0].PersistenceNetmask = 300, 24
	d := DesiredFrom(cfg)
	return buildReport(ipvs.Info{Version: 0x010201, ConnTableSize: 4096}, d, obs, owned, plan(d, obs, owned), Conflicts(cfg, obs, owned))
}

func TestReportTable(t *testing.T) {
	rep := sampleReport(t)
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	for _, want := range []string{
		"IP Virtual Server version 1.2.1 (size=4096)",
		"TCP  10.0.0.100:80", "-> 10.0.0.11:80", "Route", "123M",
		"vip 10.0.0.100 dev eth0 label eth0:0: present, bound by lvs-rs",
		"sysctl net/ipv4/ip_forward = 1, want 1 (lvs-rs set it to 1; it was 0)",
		"drift (2):", "persistence off -> 300s netmask /24", "weight 5 -> 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	for _, never := range []string{"10.0.0.13", "10.0.0.200"} {
		if strings.Contains(out, never) {
			t.Errorf("table shows %s, which is not lvs-rs's", never)
		}
	}
	if !rep.Drifted() || !rep.IsApplied() {
		t.Fatal("report not applied and drifted")
	}
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport(t))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"applied", "interface", "ipvs_version", "conn_table_size", "vips", "sysctls", "services", "drift"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	svc := m["services"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{"family": "inet", "protocol": "tcp", "address": "10.0.0.100", "port": 80.0, "scheduler": "wrr"} {
		if svc[k] != want {
			t.Errorf("service %s = %v, want %v", k, svc[k], want)
		}
	}
	rs := svc["real_servers"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{"address": "10.0.0.11", "forward": "route", "weight": 1.0, "active_conns": 3.0, "present": true} {
		if rs[k] != want {
			t.Errorf("real server %s = %v, want %v", k, rs[k], want)
		}
	}
	if st := rs["stats"].(map[string]any); st["conns"] != 10.0 {
		t.Errorf("real server stats %v", st)
	}
}
