package config

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseDirectorWave2(t *testing.T) {
	doc := `director:
  interface: eth0
  reconcile_interval: 30s
  metrics: "[::1]:9597"
  send_redirects: true
  ipvs_sysctls: {sloppy_tcp: 1, expire_nodest_conn: 1, conn_reuse_mode: 0}
  timeouts: {tcp: 15m, udp: 300s}
  sync: {interface: eth1, state: both, syncid: 7, maxlen: 1400, group: 'ff02::81', port: 9000, ttl: 2}
  announce: {table: 100, protocol: 250}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Director{
		Interface: "eth0", ReconcileInterval: 30 * time.Second,
		Metrics:     netip.MustParseAddrPort("[::1]:9597"),
		IPVSSysctls: []IPVSSysctl{{"conn_reuse_mode", 0}, {"expire_nodest_conn", 1}, {"sloppy_tcp", 1}},
		Timeouts:    Timeouts{TCP: 15 * time.Minute, UDP: 300 * time.Second},
		Sync:        &Sync{Interface: "eth1", State: SyncBoth, SyncID: 7, MaxLen: 1400, Group: netip.MustParseAddr("ff02::81"), Port: 9000, TTL: 2},
		Announce:    &Announce{Table: 100, Protocol: 250},
	}
	if diff := cmpDiff(want, c.Director); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseDirectorWave2Defaults(t *testing.T) {
	c, err := Parse("f.yaml", []byte("director:\n  sync: {interface: eth1, state: master}\n  announce: {table: 4294967295}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Director{
		ReconcileInterval: DefaultReconcileInterval,
		Sync:              &Sync{Interface: "eth1", State: SyncMaster, Group: DefaultSyncGroup, Port: DefaultSyncPort, TTL: DefaultSyncTTL},
		Announce:          &Announce{Table: 4294967295, Protocol: DefaultAnnounceProtocol},
	}
	if diff := cmpDiff(want, c.Director); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSendRedirectsDefault: send_redirects (an IPv4 parameter) is turned
// off by default only when an IPv4 service has a nat real server.
func TestSendRedirectsDefault(t *testing.T) {
	const nat4 = "virtual_servers: [{vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2}]}]\n"
	const nat6 = "virtual_servers: [{vip: '2001:db8::1', port: 80, mode: nat, real_servers: [{address: '2001:db8::2'}]}]\n"
	const dr4 = "virtual_servers: [{vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2}]}]\n"
	for _, tc := range []struct {
		name, doc string
		want      bool
	}{
		{"IPv4 nat", nat4, true},
		{"IPv6-only nat", nat6, false},
		{"dr", dr4, false},
		{"IPv4 nat, send_redirects true", "director: {send_redirects: true}\n" + nat4, false},
		{"dr, send_redirects false", "director: {send_redirects: false}\n" + dr4, true},
	} {
		c, err := Parse("f.yaml", []byte(tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Director.DisableRedirects != tc.want {
			t.Errorf("%s: DisableRedirects = %v, want %v", tc.name, c.Director.DisableRedirects, tc.want)
		}
	}
}

func TestCheckDefaultsPerType(t *testing.T) {
	base := Check{Via: ViaDirect, Interval: DefaultCheckInterval, Timeout: DefaultCheckTimeout, Rise: DefaultCheckRise, Fall: DefaultCheckFall}
	with := func(f func(*Check)) *Check { c := base; f(&c); return &c }
	for _, tc := range []struct {
		check string
		want  *Check
	}{
		{"{type: tcp}", with(func(c *Check) { c.Type = CheckTCP })},
		{"{type: http}", with(func(c *Check) { c.Type, c.Path, c.ExpectStatus = CheckHTTP, "/", []StatusRange{{200, 399}} })},
		{"{type: https, host: www.example.com, expect_status: '200,204, 301-302', expect_body: ok, path: /h}", with(func(c *Check) {
			c.Type, c.Host, c.Path, c.ExpectBody = CheckHTTPS, "www.example.com", "/h", "ok"
			c.ExpectStatus = []StatusRange{{200, 200}, {204, 204}, {301, 302}}
		})},
		{"{type: dns, query: www.example.com, via: vip}", with(func(c *Check) { c.Type, c.Query, c.Via = CheckDNS, "www.example.com", ViaVIP })},
		{"{type: exec, command: [/bin/c, '{address}:{port}']}", with(func(c *Check) { c.Type, c.Command = CheckExec, []string{"/bin/c", "{address}:{port}"} })},
		{"{type: agent, port: 9999, interval: 5s, timeout: 4900ms, rise: 1, fall: 100}", with(func(c *Check) {
			c.Type, c.Port, c.Interval, c.Timeout, c.Rise, c.Fall = CheckAgent, 9999, 5*time.Second, 4900*time.Millisecond, 1, 100
		})},
	} {
		c, err := Parse("f.yaml", []byte("virtual_servers: [{vip: 10.0.0.1, port: 80, check: "+tc.check+"}]\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.check, err)
		}
		if diff := cmpDiff(tc.want, c.VirtualServers[0].Check); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.check, diff)
		}
	}
}

// TestCheckFor: an override replaces the fields it names; a different type
// keeps the generic fields and drops the type-specific ones; the port is
// the real server's unless the check names one.
func TestCheckFor(t *testing.T) {
	doc := `virtual_servers:
  - vip: 10.0.0.1
    port: 80
    mode: nat
    check: {type: http, path: /a, host: h, interval: 5s, timeout: 2s, rise: 4}
    real_servers:
      - address: 10.0.0.2
      - address: 10.0.0.3
        port: 8080
        check: {path: /b, fall: 9}
      - address: 10.0.0.4
        check: {type: tcp, port: 22}
      - address: 10.0.0.5
        check: {type: https}
  - vip: 10.0.0.1
    port: 81
    real_servers:
      - address: 10.0.0.2
      - address: 10.0.0.3
        check: {type: dns, query: example.com}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	web := Check{Type: CheckHTTP, Port: 80, Via: ViaDirect, Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 4, Fall: 3,
		Path: "/a", Host: "h", ExpectStatus: []StatusRange{{200, 399}}}
	generic := Check{Via: ViaDirect, Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 4, Fall: 3}
	with := func(c Check, f func(*Check)) *Check { f(&c); return &c }
	vs := c.VirtualServers[0]
	for i, want := range []*Check{
		&web,
		with(web, func(c *Check) { c.Port, c.Path, c.Fall = 8080, "/b", 9 }),
		with(generic, func(c *Check) { c.Type, c.Port = CheckTCP, 22 }),
		with(generic, func(c *Check) {
			c.Type, c.Port, c.Path, c.ExpectStatus = CheckHTTPS, 80, "/", []StatusRange{{200, 399}}
		}),
	} {
		if diff := cmpDiff(want, vs.CheckFor(vs.RealServers[i])); diff != "" {
			t.Errorf("real_servers[%d] (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmpDiff(with(web, func(c *Check) { c.Port = 0 }), vs.Check); diff != "" {
		t.Errorf("the service's check changed (-want +got):\n%s", diff)
	}
	vs = c.VirtualServers[1]
	if got := vs.CheckFor(vs.RealServers[0]); got != nil {
		t.Errorf("unchecked real server: CheckFor = %+v, want nil", got)
	}
	want := &Check{Type: CheckDNS, Port: 81, Via: ViaDirect, Interval: DefaultCheckInterval, Timeout: DefaultCheckTimeout, Rise: 2, Fall: 3, Query: "example.com"}
	if diff := cmpDiff(want, vs.CheckFor(vs.RealServers[1])); diff != "" {
		t.Errorf("check of its own (-want +got):\n%s", diff)
	}
}

func TestParseServiceWave2(t *testing.T) {
	doc := `virtual_servers:
  - vip: 10.0.0.1
    fwmark: 3
    mark: [{port: 80}, {protocol: udp, port: 53}]
    scheduler: mh
    scheduler_flags: [mh-fallback, mh-port, ops]
    on_failure: remove
    drain_timeout: 0s
    slow_start: 90s
    sorry_server: 10.0.0.99
    mode: tun
    real_servers:
      - {address: 10.0.0.2, upper_threshold: 100, lower_threshold: 100}
      - {address: 10.0.0.3, tunnel: {type: gue, port: 6080, flags: [remcsum]}}
      - {address: 10.0.0.4, tunnel: {type: gre, flags: [csum]}}
      - {address: 10.0.0.5, mode: dr, upper_threshold: 4294967295}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	vs := c.VirtualServers[0]
	want := VirtualServer{
		VIP: netip.MustParseAddr("10.0.0.1"), Protocol: TCP, FWMark: 3, Scheduler: "mh", PersistenceNetmask: 32, Mode: ModeTUN,
		OnFailure: OnFailureRemove, SlowStart: 90 * time.Second, SorryServer: netip.MustParseAddr("10.0.0.99"),
		Marks:          []Mark{{TCP, 80}, {UDP, 53}},
		SchedulerFlags: []SchedulerFlag{FlagMHFallback, FlagMHPort, FlagOPS},
		RealServers: []RealServer{
			{Address: netip.MustParseAddr("10.0.0.2"), Weight: 1, Mode: ModeTUN, UpperThreshold: 100, LowerThreshold: 100, Tunnel: Tunnel{Type: TunnelIPIP}},
			{Address: netip.MustParseAddr("10.0.0.3"), Weight: 1, Mode: ModeTUN, Tunnel: Tunnel{Type: TunnelGUE, Port: 6080, Flags: []TunnelFlag{TunnelRemCsum}}},
			{Address: netip.MustParseAddr("10.0.0.4"), Weight: 1, Mode: ModeTUN, Tunnel: Tunnel{Type: TunnelGRE, Flags: []TunnelFlag{TunnelCsum}}},
			{Address: netip.MustParseAddr("10.0.0.5"), Weight: 1, Mode: ModeDR, UpperThreshold: 4294967295},
		},
	}
	if diff := cmpDiff(want, vs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestConfigJSON: a Config survives a JSON round trip, under the file's
// key names.
func TestConfigJSON(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"virtual_servers":`, `"reconcile_interval":`, `"real_servers":`, `"check":`, `"expect_status":`, `"sorry_server":`, `"scheduler_flags":`, `"upper_threshold":`, `"tunnel":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmpDiff(c, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
