package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpecExample(t *testing.T) {
	got, err := Parse("lvs-rs.yaml", []byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Source:   "lvs-rs.yaml",
		Director: Director{Interface: "eth0", IPForward: true, DisableRedirects: true}, // a nat real server
		VirtualServers: []VirtualServer{{
			VIP:                ip(t, "10.0.0.100"),
			Port:               80,
			Protocol:           TCP,
			Scheduler:          "wrr",
			PersistenceNetmask: 32,
			Mode:               ModeDR,
			RealServers: []RealServer{
				{Address: ip(t, "10.0.0.11"), Port: 80, Weight: 5, Mode: ModeDR},
				{Address: ip(t, "10.0.0.12"), Port: 8080, Weight: 1, Mode: ModeNAT},
			},
		}},
	}
	if diff := cmpDiff(withDefaults(want), got); diff != "" {
		t.Errorf("Parse(spec example) mismatch (-want +got):\n%s", diff)
	}
	if err := checkConfig(got); err != nil {
		t.Error(err)
	}
}

func TestParseDefaults(t *testing.T) {
	const doc = `
realserver:
  gateway: 10.0.0.1
virtual_servers:
  - vip: 2001:db8::1
    port: 443
    real_servers:
      - address: 2001:db8::11
  - vip: 10.0.0.1
    port: 53
    protocol: udp
    mode: nat
    real_servers:
      - address: 10.0.0.11
      - address: 10.0.0.12
        port: 5353
        weight: 0
      - address: 10.0.0.13
        mode: tun
  - vip: 10.0.0.1
    fwmark: 7
    persistence: 600
    persistence_netmask: 255.255.255.0
  - vip: 10.0.0.1
    port: 0
    persistence: 60
    real_servers: []
`
	got, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Source:     "f.yaml",
		Director:   Director{IPForward: true, DisableRedirects: true},
		RealServer: RealServerSection{Gateways: []netip.Addr{ip(t, "10.0.0.1")}},
		VirtualServers: []VirtualServer{
			{
				VIP: ip(t, "2001:db8::1"), Port: 443, Protocol: TCP, Scheduler: "wlc", PersistenceNetmask: 128, Mode: ModeDR,
				RealServers: []RealServer{{Address: ip(t, "2001:db8::11"), Port: 443, Weight: 1, Mode: ModeDR}},
			},
			{
				VIP: ip(t, "10.0.0.1"), Port: 53, Protocol: UDP, Scheduler: "wlc", PersistenceNetmask: 32, Mode: ModeNAT,
				RealServers: []RealServer{
					{Address: ip(t, "10.0.0.11"), Port: 53, Weight: 1, Mode: ModeNAT},
					{Address: ip(t, "10.0.0.12"), Port: 5353, Weight: 0, Mode: ModeNAT},
					{Address: ip(t, "10.0.0.13"), Port: 53, Weight: 1, Mode: ModeTUN},
				},
			},
			{VIP: ip(t, "10.0.0.1"), Protocol: TCP, FWMark: 7, Scheduler: "wlc", Persistence: 600, PersistenceNetmask: 24, Mode: ModeDR},
			{VIP: ip(t, "10.0.0.1"), Protocol: TCP, Scheduler: "wlc", Persistence: 60, PersistenceNetmask: 32, Mode: ModeDR},
		},
	}
	if diff := cmpDiff(withDefaults(want), got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseIPForward(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want bool
	}{
		{"no services", "virtual_servers: []", false},
		{"dr only", "virtual_servers: [{vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2}]}]", false},
		{"nat", "virtual_servers: [{vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2}]}]", true},
		{"nat, set false", "director: {ip_forward: false}\nvirtual_servers: [{vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2}]}]", false},
		{"dr, set true", "director: {ip_forward: true}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if c.Director.IPForward != tc.want {
				t.Errorf("IPForward = %v, want %v", c.Director.IPForward, tc.want)
			}
		})
	}
}

// TestParseEmptyRefused: a file with nothing in it (caught between being
// truncated and rewritten, as a reload may see it) is refused at 1:1, not
// read as a configuration without services that would unbind every VIP.
func TestParseEmptyRefused(t *testing.T) {
	const empty = "f.yaml:1:1: the file is empty (nothing but whitespace and comments); write virtual_servers: [] for a configuration with no services"
	for doc, want := range map[string]string{
		"":                   empty,
		"\n":                 empty,
		"  \n \n":            empty,
		"# only a comment\n": empty,
		"---\n":              empty,
		"---\n...\n":         empty,
		"\ufeff":             empty,
		"~\n":                "f.yaml:1:1: the file holds nothing but a null value; write virtual_servers: [] for a configuration with no services",
		"# c\nnull\n":        "f.yaml:2:1: the file holds nothing but a null value; write virtual_servers: [] for a configuration with no services",
	} {
		c, err := Parse("f.yaml", []byte(doc))
		if err == nil {
			t.Errorf("Parse(%q) accepted: %d services", doc, len(c.VirtualServers))
			continue
		}
		if err.Error() != want {
			t.Errorf("Parse(%q) = %q, want %q", doc, err, want)
		}
	}
}

// TestParseNoServices: a configuration without services, written as
// such, is accepted.
func TestParseNoServices(t *testing.T) {
	for _, doc := range []string{"virtual_servers: []\n", "director:\nrealserver:\nvirtual_servers:\n", "director: {interface: eth0}\n"} {
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		want := &Config{Source: "f.yaml"}
		if strings.Contains(doc, "eth0") {
			want.Director.Interface = "eth0"
		}
		if diff := cmpDiff(withDefaults(want), c); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", doc, diff)
		}
	}
}

func TestParseAcceptedSpellings(t *testing.T) {
	// Each document is valid; the comment says why it might not look so.
	for _, doc := range []string{
		// a trailing empty document
		"virtual_servers: []\n---\n",
		// integers in YAML's other spellings
		"virtual_servers: [{vip: 10.0.0.1, port: 0x50, real_servers: [{address: 10.0.0.2, weight: 1_000}]}]",
		// a dr real server may repeat the service's port
		"virtual_servers: [{vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2, port: 80}]}]",
		// a nat port 0 is the service's port
		"virtual_servers: [{vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2, port: 0}]}]",
		// one address twice with different nat ports is two real servers
		"virtual_servers: [{vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2, port: 8080}, {address: 10.0.0.2, port: 8081}]}]",
		// same VIP and port with different protocols, and fwmark services of both families
		"virtual_servers: [{vip: 10.0.0.1, port: 53}, {vip: 10.0.0.1, port: 53, protocol: udp}, {vip: 10.0.0.1, fwmark: 1}, {vip: '2001:db8::1', fwmark: 1}]",
		// interface names: VLAN, dashes, numeric
		"director: {interface: eth0.100}", "director: {interface: br-lan}", "director: {interface: 123456789012345}",
		// prefix-length netmasks at the bounds
		"virtual_servers: [{vip: 10.0.0.1, port: 80, persistence: 1, persistence_netmask: 1}, {vip: '2001:db8::1', port: 80, persistence: 1, persistence_netmask: 128}, {vip: '2001:db8::2', port: 80, persistence: 1, persistence_netmask: 1}]",
		// persistence at the bound
		"virtual_servers: [{vip: 10.0.0.1, port: 0, persistence: 2678400}]",
		// fwmark at the bound, and sctp
		"virtual_servers: [{vip: 10.0.0.1, fwmark: 4294967295}, {vip: 10.0.0.1, port: 9, protocol: sctp}]",
		// a top-level x- key holding an anchor, merged with a list of mappings
		"x-a: &a {port: 80}\nx-b: &b {scheduler: rr, port: 81}\nvirtual_servers: [{<<: [*a, *b], vip: 10.0.0.1}]",
		// aliases for whole real server lists
		"virtual_servers:\n- {vip: 10.0.0.1, port: 80, real_servers: &rs [{address: 10.0.0.2}]}\n- {vip: 10.0.0.1, port: 81, real_servers: *rs}\n",
	} {
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
			continue
		}
		if err := checkConfig(c); err != nil {
			t.Errorf("Parse(%q) gave an invalid config: %v", doc, err)
		}
	}
}

func TestParseMerge(t *testing.T) {
	const doc = `x-defaults: &d
  port: 80
  scheduler: rr
  mode: tun
virtual_servers:
  - <<: *d
    vip: 10.0.0.1
    scheduler: sh
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	vs := c.VirtualServers[0]
	if vs.Port != 80 || vs.Scheduler != "sh" || vs.Mode != ModeTUN {
		t.Errorf("merged service = %+v; want port 80 and mode tun from the anchor, scheduler sh written in place", vs)
	}
}

func TestExampleFile(t *testing.T) {
	path := filepath.Join("testdata", "example.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkConfig(c); err != nil {
		t.Fatal(err)
	}
	// As shipped it must not make a director do anything.
	if err := c.CheckDirector(); err == nil {
		t.Error("CheckDirector accepted the shipped example; director.interface must stay commented out")
	}
	str := func(s string) *string { return &s }
	want := &Config{
		Source: path,
		VirtualServers: []VirtualServer{
			{
				VIP: ip(t, "192.0.2.100"), Port: 80, Protocol: TCP, Scheduler: "wrr", PersistenceNetmask: 32, Mode: ModeDR,
				RealServers: []RealServer{
					{Address: ip(t, "192.0.2.11"), Port: 80, Weight: 5, Mode: ModeDR,
						Check: &CheckOverride{Path: str("/other")}, UpperThreshold: 1000, LowerThreshold: 800},
					{Address: ip(t, "192.0.2.12"), Port: 8080, Weight: 1, Mode: ModeNAT},
				},
				Check: &Check{Type: CheckHTTP, Via: ViaDirect, Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 3,
					Path: "/healthz", ExpectStatus: []StatusRange{{200, 399}}},
				SorryServer: ip(t, "192.0.2.99"),
			},
			{
				VIP: ip(t, "192.0.2.101"), Port: 80, Protocol: TCP, Scheduler: "wrr", PersistenceNetmask: 32, Mode: ModeTUN,
				RealServers: []RealServer{
					{Address: ip(t, "192.0.2.21"), Port: 80, Weight: 1, Mode: ModeTUN, Tunnel: Tunnel{Type: TunnelGUE, Port: 6080}},
					{Address: ip(t, "192.0.2.22"), Port: 80, Weight: 0, Mode: ModeTUN},
				},
				Check: &Check{Type: CheckTCP, Via: ViaDirect, Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 3},
			},
			{
				VIP: ip(t, "192.0.2.102"), Port: 0, Protocol: TCP, Scheduler: "wlc", Persistence: 360, PersistenceNetmask: 24, Mode: ModeDR,
				RealServers: []RealServer{{Address: ip(t, "192.0.2.31"), Port: 0, Weight: 1, Mode: ModeDR}},
			},
			{
				VIP: ip(t, "2001:db8::100"), Port: 53, Protocol: UDP, Scheduler: "rr", Persistence: 60, PersistenceNetmask: 64, Mode: ModeDR,
				RealServers: []RealServer{
					{Address: ip(t, "2001:db8::11"), Port: 53, Weight: 1, Mode: ModeDR},
					{Address: ip(t, "2001:db8::12"), Port: 53, Weight: 1, Mode: ModeDR},
				},
			},
			{
				VIP: ip(t, "192.0.2.103"), Protocol: TCP, FWMark: 10, Scheduler: "mh", PersistenceNetmask: 32, Mode: ModeDR,
				RealServers: []RealServer{{Address: ip(t, "192.0.2.41"), Port: 0, Weight: 1, Mode: ModeDR}},
				Check:       &Check{Type: CheckTCP, Port: 443, Via: ViaDirect, Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 3},
				Marks:       []Mark{{TCP, 80}, {TCP, 443}}, SchedulerFlags: []SchedulerFlag{FlagMHPort, FlagMHFallback},
			},
		},
	}
	want.Director.DisableRedirects = true // 192.0.2.12 is nat
	want.Director.IPForward = true        // 192.0.2.12 is nat
	if diff := cmpDiff(withDefaults(want), c); diff != "" {
		t.Errorf("example.yaml (-want +got):\n%s", diff)
	}
	// With an interface set, the example is a working director config.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "  # interface: eth0\n", "  interface: eth0\n", 1)
	c, err = Parse(path, []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckDirector(); err != nil || c.Director.Interface != "eth0" {
		t.Errorf("example with interface uncommented: interface %q, CheckDirector: %v", c.Director.Interface, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v; want an error matching fs.ErrNotExist", err)
	}
	var es Errors
	if errors.As(err, &es) {
		t.Errorf("Load(missing) returned Errors %v; want a plain read error", es)
	}
}

func TestLoadReportsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	if err := os.WriteFile(path, []byte("virtual_servers:\n  - vip: 10.0.0.1\n    port: abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := []string{path + `:3:11: virtual_servers[0].port: must be an integer, got "abc"`}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCheckDirector(t *testing.T) {
	c, err := Parse("f.yaml", []byte("virtual_servers: [{vip: 10.0.0.1, port: 80}]"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.CheckDirector(), "f.yaml: director.interface: missing (the director binds the VIPs on it)"; got == nil || got.Error() != want {
		t.Errorf("CheckDirector() = %v; want %q", got, want)
	}
	if err := (&Config{}).CheckDirector(); err != nil {
		t.Errorf("CheckDirector() without services = %v; want nil", err)
	}
}
