package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRealServerFromFlags(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     string
		vips     []string
		gateways []string
		want     []Binding
		wantGate []string
	}{
		{name: "dr", mode: "dr", vips: []string{"10.0.0.100"}, want: []Binding{{VIP: ip(t, "10.0.0.100"), Mode: ModeDR}}},
		{name: "default mode, lists, duplicates", vips: []string{"10.0.0.2,10.0.0.1", " 10.0.0.1 "},
			want: []Binding{{VIP: ip(t, "10.0.0.1"), Mode: ModeDR}, {VIP: ip(t, "10.0.0.2"), Mode: ModeDR}}},
		{name: "tun, list", mode: "tun", vips: []string{"10.0.0.2, 10.0.0.1"},
			want: []Binding{{VIP: ip(t, "10.0.0.1"), Mode: ModeTUN}, {VIP: ip(t, "10.0.0.2"), Mode: ModeTUN}}},
		{name: "dr, both families", mode: "dr", vips: []string{"2001:db8::1, 10.0.0.1"},
			want: []Binding{{VIP: ip(t, "10.0.0.1"), Mode: ModeDR}, {VIP: ip(t, "2001:db8::1"), Mode: ModeDR}}},
		{name: "nat with gateway, no vip", mode: "nat", gateways: []string{"10.0.0.254"}, wantGate: []string{"10.0.0.254"}},
		{name: "nat with vip", mode: "nat", vips: []string{"10.0.0.1"}, gateways: []string{"10.0.0.254"}, wantGate: []string{"10.0.0.254"},
			want: []Binding{{VIP: ip(t, "10.0.0.1"), Mode: ModeNAT}}},
		{name: "nat, two gateways given twice, no vip", mode: "nat", gateways: []string{"2001:db8::1", "10.0.0.254"},
			wantGate: []string{"10.0.0.254", "2001:db8::1"}},
		{name: "nat, both families, gateways as a list", mode: "nat", vips: []string{"2001:db8::100,10.0.0.1"},
			gateways: []string{"fe80::1%eth0, 10.0.0.254"}, wantGate: []string{"10.0.0.254", "fe80::1%eth0"},
			want: []Binding{{VIP: ip(t, "10.0.0.1"), Mode: ModeNAT}, {VIP: ip(t, "2001:db8::100"), Mode: ModeNAT}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, got, err := RealServerFromFlags(tc.mode, tc.vips, tc.gateways)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmpDiff(tc.want, got); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
			want := &Config{}
			for _, g := range tc.wantGate {
				want.RealServer.Gateways = append(want.RealServer.Gateways, ip(t, g))
			}
			if diff := cmpDiff(want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRealServerFromFlagsBad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    string
		vips    []string
		gateway string
		want    []string
	}{
		{"not an address", "dr", []string{"x"}, "", []string{`--vip: "x" is not an IP address`}},
		{"no vip", "dr", nil, "", []string{`--vip: required with --mode dr (the VIPs this real server accepts traffic for)`}},
		{"no vip, tun", "tun", []string{}, "", []string{`--vip: required with --mode tun (the VIPs this real server accepts traffic for)`}},
		{"unknown mode", "direct", []string{"10.0.0.1"}, "", []string{`--mode: unknown mode "direct"; valid modes are dr, tun, nat`}},
		{"empty list item", "dr", []string{"10.0.0.1,"}, "", []string{`--vip: empty address in "10.0.0.1,"`}},
		{"gateway without nat", "dr", []string{"10.0.0.1"}, "10.0.0.254", []string{
			`--gateway: only used with --mode nat (it routes replies through the director); this is --mode dr`}},
		{"bad gateway", "nat", nil, "gw", []string{`--gateway: "gw" is not an IP address`}},
		{"two IPv4 gateways", "nat", nil, "10.0.0.1,10.0.0.2", []string{
			`--gateway: 10.0.0.2 is a second IPv4 gateway, after 10.0.0.1: give at most one IPv4 and one IPv6 address`}},
		{"empty gateway in a list", "nat", nil, "10.0.0.1,", []string{`--gateway: empty address in "10.0.0.1,"`}},
		{"an IPv6 gateway next to IPv4 VIPs only", "nat", []string{"10.0.0.100"}, "10.0.0.1,2001:db8::1", []string{
			`--gateway: 2001:db8::1 is IPv6 but every --vip is IPv4: nat replies would not route through it, and it would replace the host's IPv6 default route; give the director's IPv4 address`}},
		{"tun IPv6", "tun", []string{"2001:db8::1"}, "", []string{
			`--vip: 2001:db8::1: tun forwards in IPv4-in-IPv4 (ipip) tunnels; an IPv6 service cannot use it (use dr or nat)`}},
		{"loopback", "dr", []string{"127.0.0.1", "::1"}, "", []string{
			`--vip: 127.0.0.1 is a loopback address; a VIP must be reachable by clients`,
			`--vip: ::1 is a loopback address; a VIP must be reachable by clients`}},
		{"several", "tun", []string{"x", "::ffff:1.2.3.4"}, "10.0.0.1%eth0", []string{
			`--vip: "x" is not an IP address`,
			`--vip: ::ffff:1.2.3.4 is an IPv4-mapped IPv6 address; write 1.2.3.4`,
			`--gateway: only used with --mode nat (it routes replies through the director); this is --mode tun`,
			`--gateway: "10.0.0.1%eth0" is not an IP address`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gws []string
			if tc.gateway != "" {
				gws = []string{tc.gateway}
			}
			cfg, b, err := RealServerFromFlags(tc.mode, tc.vips, gws)
			if cfg != nil || b != nil {
				t.Errorf("got a config or bindings with an error: %+v %+v", cfg, b)
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDirectorFromFlags(t *testing.T) {
	got, err := DirectorFromFlags(DirectorFlags{
		VIP: "10.0.0.100", Port: 80, Scheduler: "wrr", Mode: "dr", Interface: "eth0",
		RealServers: []string{"10.0.0.11", "10.0.0.12:80,10.0.0.13"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Director: Director{Interface: "eth0"},
		VirtualServers: []VirtualServer{{
			VIP: ip(t, "10.0.0.100"), Port: 80, Protocol: TCP, Scheduler: "wrr", PersistenceNetmask: 32, Mode: ModeDR,
			RealServers: []RealServer{
				{Address: ip(t, "10.0.0.11"), Port: 80, Weight: 1, Mode: ModeDR},
				{Address: ip(t, "10.0.0.12"), Port: 80, Weight: 1, Mode: ModeDR},
				{Address: ip(t, "10.0.0.13"), Port: 80, Weight: 1, Mode: ModeDR},
			},
		}},
	}
	if diff := cmpDiff(withDefaults(want), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	got, err = DirectorFromFlags(DirectorFlags{
		VIP: "2001:db8::1", Port: 443, Protocol: "tcp", Mode: "nat", Interface: "eth1", Persistence: 300,
		RealServers: []string{"[2001:db8::11]:8443", "2001:db8::12", "[2001:db8::13]"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want = &Config{
		Director: Director{Interface: "eth1"}, // ip_forward is IPv4's: an IPv6 nat service leaves it alone
		VirtualServers: []VirtualServer{{
			VIP: ip(t, "2001:db8::1"), Port: 443, Protocol: TCP, Scheduler: "wlc", Persistence: 300, PersistenceNetmask: 128, Mode: ModeNAT,
			RealServers: []RealServer{
				{Address: ip(t, "2001:db8::11"), Port: 8443, Weight: 1, Mode: ModeNAT},
				{Address: ip(t, "2001:db8::12"), Port: 443, Weight: 1, Mode: ModeNAT},
				{Address: ip(t, "2001:db8::13"), Port: 443, Weight: 1, Mode: ModeNAT},
			},
		}},
	}
	if diff := cmpDiff(withDefaults(want), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDirectorFromFlagsBad(t *testing.T) {
	ok := DirectorFlags{VIP: "10.0.0.100", Port: 80, Interface: "eth0", RealServers: []string{"10.0.0.11"}}
	for _, tc := range []struct {
		name string
		edit func(*DirectorFlags)
		want []string
	}{
		{"nothing given", func(f *DirectorFlags) { *f = DirectorFlags{} }, []string{
			`--interface: required (the director binds the VIP on it)`,
			`--vip: required (every virtual server needs one)`,
			`--port: 0 (every port) needs persistence; set persistence or give the service's port`,
		}},
		{"bad vip", func(f *DirectorFlags) { f.VIP = "x" }, []string{`--vip: "x" is not an IP address`}},
		{"loopback vip", func(f *DirectorFlags) { f.VIP = "127.0.0.1" }, []string{
			`--vip: 127.0.0.1 is a loopback address; a VIP must be reachable by clients`}},
		{"tun IPv6", func(f *DirectorFlags) { f.VIP, f.Mode, f.RealServers = "2001:db8::1", "tun", []string{"2001:db8::11"} }, []string{
			`--mode: tun forwards in IPv4-in-IPv4 (ipip) tunnels; an IPv6 service cannot use it (use dr or nat)`}},
		{"port too big", func(f *DirectorFlags) { f.Port = 70000 }, []string{`--port: 70000 is outside 0..65535`}},
		{"unknown scheduler", func(f *DirectorFlags) { f.Scheduler = "fast" }, []string{
			`--scheduler: unknown scheduler "fast"; valid schedulers are rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf`}},
		{"unknown mode", func(f *DirectorFlags) { f.Mode = "gate" }, []string{`--mode: unknown mode "gate"; valid modes are dr, tun, nat`}},
		{"unknown protocol", func(f *DirectorFlags) { f.Protocol = "icmp" }, []string{
			`--protocol: unknown protocol "icmp"; valid protocols are tcp, udp, sctp`}},
		{"interface label", func(f *DirectorFlags) { f.Interface = "eth0:0" }, []string{
			`--interface: "eth0:0" is an address label, not an interface; write "eth0" (lvs-rs adds the eth0:N labels itself)`}},
		{"dr real server port", func(f *DirectorFlags) { f.RealServers = []string{"10.0.0.11:8080"} }, []string{
			`--realserver "10.0.0.11:8080": 8080 differs from the service's port 80; dr forwards to the VIP's own port, only mode nat can map ports`}},
		{"nat real server port too big", func(f *DirectorFlags) { f.Mode = "nat"; f.RealServers = []string{"10.0.0.11:99999"} }, []string{
			`--realserver "10.0.0.11:99999": 99999 is outside 0..65535`}},
		{"bad real server", func(f *DirectorFlags) { f.RealServers = []string{"10.0.0.300"} }, []string{
			`--realserver: "10.0.0.300" is not an IP address`}},
		{"bad real server port", func(f *DirectorFlags) { f.RealServers = []string{"10.0.0.11:http"} }, []string{
			`--realserver: "10.0.0.11:http" has an invalid port "http" (write ADDR, ADDR:PORT or [IPv6]:PORT)`}},
		{"empty real server port", func(f *DirectorFlags) { f.RealServers = []string{"10.0.0.11:"} }, []string{
			`--realserver: "10.0.0.11:" has an invalid port "" (write ADDR, ADDR:PORT or [IPv6]:PORT)`}},
		{"real server of the other family", func(f *DirectorFlags) { f.RealServers = []string{"2001:db8::11"} }, []string{
			`--realserver: 2001:db8::11 is IPv6 but the vip 10.0.0.100 is IPv4; a service's real servers must be of its family`}},
		{"duplicate real server", func(f *DirectorFlags) { f.RealServers = []string{"10.0.0.11,10.0.0.11:80"} }, []string{
			`--realserver: duplicate real server 10.0.0.11:80 (first given earlier)`}},
		{"empty real server", func(f *DirectorFlags) { f.RealServers = []string{""} }, []string{
			`--realserver: empty address in ""`}},
		{"negative persistence", func(f *DirectorFlags) { f.Persistence = -5 }, []string{
			`--persistence: -5 is outside 0..2678400 seconds (31 days, the ipvsadm limit)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ok
			f.RealServers = append([]string(nil), ok.RealServers...)
			tc.edit(&f)
			cfg, err := DirectorFromFlags(f)
			if cfg != nil {
				t.Errorf("got a config with an error: %+v", cfg)
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDirectorFromFlagsPortZeroWithPersistence(t *testing.T) {
	c, err := DirectorFromFlags(DirectorFlags{VIP: "10.0.0.100", Interface: "eth0", Persistence: 360, RealServers: []string{"10.0.0.11"}})
	if err != nil {
		t.Fatal(err)
	}
	if vs := c.VirtualServers[0]; vs.Port != 0 || vs.Persistence != 360 || vs.RealServers[0].Port != 0 {
		t.Errorf("got %+v; want an every-port persistent service", vs)
	}
}

// TestDirectorFromFlagsPortMissing: a port not given (-1, the flag's
// default) is required, not "-1 is outside 0..65535".
func TestDirectorFromFlagsPortMissing(t *testing.T) {
	_, err := DirectorFromFlags(DirectorFlags{VIP: "10.0.0.100", Port: -1, Interface: "eth0", RealServers: []string{"10.0.0.11"}})
	want := []string{`--port: required (the service's port; 0 with --persistence means every port)`}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRealServerFromFlagsTunnel: --tunnel gives a tun real server
// without a file its encapsulation, one binding per VIP and tunnel (ipip
// is the default, as a binding without a tunnel type).
func TestRealServerFromFlagsTunnel(t *testing.T) {
	v1, v2 := ip(t, "10.0.0.1"), ip(t, "10.0.0.2")
	for _, tc := range []struct {
		name    string
		vips    []string
		tunnels []string
		want    []Binding
	}{
		{"none: ipip", []string{"10.0.0.1"}, nil, []Binding{{VIP: v1, Mode: ModeTUN}}},
		{"ipip", []string{"10.0.0.1"}, []string{"ipip"}, []Binding{{VIP: v1, Mode: ModeTUN}}},
		{"gre", []string{"10.0.0.1"}, []string{"gre"}, []Binding{{VIP: v1, Mode: ModeTUN, Tunnel: TunnelGRE}}},
		{"gue", []string{"10.0.0.1"}, []string{"gue:6080"}, []Binding{{VIP: v1, Mode: ModeTUN, Tunnel: TunnelGUE, TunnelPort: 6080}}},
		{"every VIP, every tunnel, deduplicated", []string{"10.0.0.2,10.0.0.1"}, []string{"GUE:6080, ipip", "gue:6080", "gre"}, []Binding{
			{VIP: v1, Mode: ModeTUN}, {VIP: v1, Mode: ModeTUN, Tunnel: TunnelGRE}, {VIP: v1, Mode: ModeTUN, Tunnel: TunnelGUE, TunnelPort: 6080},
			{VIP: v2, Mode: ModeTUN}, {VIP: v2, Mode: ModeTUN, Tunnel: TunnelGRE}, {VIP: v2, Mode: ModeTUN, Tunnel: TunnelGUE, TunnelPort: 6080},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := RealServerFromFlags("tun", tc.vips, nil, tc.tunnels...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmpDiff(tc.want, got); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRealServerFromFlagsTunnelBad: a bad --tunnel names the flag, the
// value and the problem, and gives no bindings.
func TestRealServerFromFlagsTunnelBad(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		tunnels    []string
		want       []string
	}{
		{"without tun", "dr", []string{"gre"}, []string{
			`--tunnel: only used with --mode tun (the encapsulation the director sends in); this is --mode dr`}},
		{"default mode", "", []string{"gue:6080"}, []string{
			`--tunnel: only used with --mode tun (the encapsulation the director sends in); this is --mode dr`}},
		{"unknown type", "tun", []string{"vxlan"}, []string{`--tunnel: unknown tunnel type "vxlan"; valid types are ipip, gre, gue:PORT`}},
		{"gue without port", "tun", []string{"gue"}, []string{
			`--tunnel: "gue": a gue tunnel needs the UDP port the director sends to: gue:PORT (1-65535)`}},
		{"gue empty port", "tun", []string{"gue:"}, []string{
			`--tunnel: "gue:": a gue tunnel needs the UDP port the director sends to: gue:PORT (1-65535)`}},
		{"port 0", "tun", []string{"gue:0"}, []string{`--tunnel: "gue:0": port 0 is out of range (1-65535)`}},
		{"port too big", "tun", []string{"gue:65536"}, []string{`--tunnel: "gue:65536": port 65536 is out of range (1-65535)`}},
		{"port not a number", "tun", []string{"gue:x"}, []string{`--tunnel: "gue:x": "x" is not a port number (1-65535)`}},
		{"negative port", "tun", []string{"gue:-1"}, []string{`--tunnel: "gue:-1": "-1" is not a port number (1-65535)`}},
		{"port on gre", "tun", []string{"gre:6080"}, []string{`--tunnel: "gre:6080": only a gue tunnel takes a port (gue:PORT); gre takes none`}},
		{"empty item", "tun", []string{"ipip,"}, []string{`--tunnel: empty tunnel in "ipip,"`}},
		{"bad mode", "tunnel", []string{"gue:1"}, []string{`--mode: unknown mode "tunnel"; valid modes are dr, tun, nat`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, b, err := RealServerFromFlags(tc.mode, []string{"10.0.0.1"}, nil, tc.tunnels...)
			if cfg != nil || b != nil {
				t.Errorf("got a config or bindings with an error: %+v %+v", cfg, b)
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
