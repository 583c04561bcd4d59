package config

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGatewayFamilyRefused: a realserver.gateway of a family that no nat
// VIP of the file has routes no nat reply and replaces the host's default
// route of its own family: refused at the gateway.
func TestGatewayFamilyRefused(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"IPv6 gateway, IPv4 nat VIPs", "realserver: {gateway: '2001:db8::1'}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n  - {vip: '2001:db8::100', port: 80, real_servers: [{address: '2001:db8::11'}]}\n", []string{
			`f.yaml:1:23: realserver.gateway: 2001:db8::1 is IPv6 but every nat VIP of this file is IPv4: nat replies would not route through it, and it would replace the host's IPv6 default route; give the director's IPv4 address`}},
		{"IPv4 gateway, IPv6 nat real server", "realserver: {gateway: 10.0.0.1}\nvirtual_servers:\n  - {vip: '2001:db8::100', port: 80, real_servers: [{address: '2001:db8::11', mode: nat}]}\n", []string{
			`f.yaml:1:23: realserver.gateway: 10.0.0.1 is IPv4 but every nat VIP of this file is IPv6: nat replies would not route through it, and it would replace the host's IPv4 default route; give the director's IPv6 address`}},
		{"a list, its IPv4 gateway without IPv4 nat VIPs", "realserver:\n  gateway: [10.0.0.1, '2001:db8::1']\nvirtual_servers:\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n", []string{
			`f.yaml:2:13: realserver.gateway[0]: 10.0.0.1 is IPv4 but every nat VIP of this file is IPv6: nat replies would not route through it, and it would replace the host's IPv4 default route; give the director's IPv6 address`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if c != nil {
				t.Errorf("accepted, gateways %v", c.RealServer.Gateways)
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestGatewayFamilyAccepted: a gateway of a nat VIP's family, also with
// nat VIPs of both families or a nat sorry server, and a gateway in a file
// without nat (it serves real servers started with --mode nat, whose own
// VIPs are checked then) are fine.
func TestGatewayFamilyAccepted(t *testing.T) {
	for name, doc := range map[string]string{
		"both families":     "realserver: {gateway: '2001:db8::1'}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n",
		"nat sorry server":  "realserver: {gateway: '2001:db8::1'}\nvirtual_servers:\n  - {vip: '2001:db8::100', port: 80, mode: nat, sorry_server: '2001:db8::99', real_servers: []}\n",
		"no nat":            "realserver: {gateway: '2001:db8::1'}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, real_servers: [{address: 10.0.0.11}]}\n",
		"link-local, zoned": "realserver: {gateway: 'fe80::1%eth0'}\nvirtual_servers:\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n",
		"one per family":    "realserver: {gateway: ['2001:db8::1', 10.0.0.1]}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n",
		"a list of one":     "realserver: {gateway: [10.0.0.1]}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n",
	} {
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := checkConfig(c); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestGatewayFromFlagsFamily: --mode nat --vip V --gateway G refuses a G
// of a family no V has; without --vip there is nothing to compare.
func TestGatewayFromFlagsFamily(t *testing.T) {
	_, _, err := RealServerFromFlags("nat", []string{"10.0.0.100,10.0.0.101"}, []string{"2001:db8::1"})
	want := []string{`--gateway: 2001:db8::1 is IPv6 but every --vip is IPv4: nat replies would not route through it, and it would replace the host's IPv6 default route; give the director's IPv4 address`}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, vips := range [][]string{nil, {"10.0.0.100", "2001:db8::100"}} {
		cfg, _, err := RealServerFromFlags("nat", vips, []string{"2001:db8::1"})
		if err != nil || !slices.Equal(cfg.RealServer.Gateways, []netip.Addr{netip.MustParseAddr("2001:db8::1")}) {
			t.Errorf("--vip %v: %v, %v", vips, cfg, err)
		}
	}
}

// TestGatewayProblem: a real server's nat bindings decide; without nat
// or without a gateway there is no problem.
func TestGatewayProblem(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("2001:db8::100")
	gw4, gw6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1%eth0")
	for _, tc := range []struct {
		gw   netip.Addr
		bs   []Binding
		want bool
	}{
		{gw6, []Binding{{VIP: v4, Mode: ModeNAT}, {VIP: v6, Mode: ModeDR}}, true},
		{gw4, []Binding{{VIP: v4, Mode: ModeDR}, {VIP: v6, Mode: ModeNAT}}, true},
		{gw6, []Binding{{VIP: v4, Mode: ModeNAT}, {VIP: v6, Mode: ModeNAT}}, false},
		{gw6, []Binding{{VIP: v4, Mode: ModeDR}}, false},
		{gw6, nil, false},
		{netip.Addr{}, []Binding{{VIP: v4, Mode: ModeNAT}}, false},
	} {
		if got := GatewayProblem(tc.gw, tc.bs); (got != "") != tc.want {
			t.Errorf("GatewayProblem(%s, %v) = %q, want a problem: %v", tc.gw, tc.bs, got, tc.want)
		}
	}
}

// TestGatewayZone: a link-local IPv6 gateway is reached through one
// interface, named as its zone and kept on the address; without it the
// message says to add it. A zone on any other address, and on a VIP, a
// real server or the metrics address, is still refused.
func TestGatewayZone(t *testing.T) {
	c, err := Parse("f.yaml", []byte("realserver: {gateway: 'fe80::1%eth0.100'}\nvirtual_servers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if gws := c.RealServer.Gateways; len(gws) != 1 || gws[0] != netip.MustParseAddr("fe80::1%eth0.100") || gws[0].Zone() != "eth0.100" {
		t.Errorf("gateways %v, want fe80::1%%eth0.100", gws)
	}
	for _, tc := range []struct{ gw, want string }{
		{"fe80::1", `f.yaml:1:23: realserver.gateway: fe80::1 is link-local: name the interface it is reached through, such as fe80::1%eth0`},
		{"2001:db8::1%eth0", `f.yaml:1:23: realserver.gateway: "2001:db8::1%eth0" has a zone (%eth0); only a link-local IPv6 gateway (fe80::/10) takes one`},
		{"fe80::1%eth0:1", `f.yaml:1:23: realserver.gateway: "fe80::1%eth0:1": the zone names the interface the gateway is reached through: "eth0:1" is an address label, not an interface; write "eth0" (lvs-rs adds the eth0:N labels itself)`},
		{"fe80::1%abcdefghijklmnop", `f.yaml:1:23: realserver.gateway: "fe80::1%abcdefghijklmnop": the zone names the interface the gateway is reached through: "abcdefghijklmnop" is longer than 15 bytes, the Linux limit for an interface name`},
		{"127.0.0.1", `f.yaml:1:23: realserver.gateway: 127.0.0.1 is a loopback address; the gateway is the director's address`},
		{"ff02::1%eth0", `f.yaml:1:23: realserver.gateway: "ff02::1%eth0" has a zone (%eth0); only a link-local IPv6 gateway (fe80::/10) takes one`},
	} {
		_, err := Parse("f.yaml", []byte("realserver: {gateway: '"+tc.gw+"'}\nvirtual_servers: []\n"))
		if diff := cmp.Diff([]string{tc.want}, problemLines(t, err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.gw, diff)
		}
	}
	_, err = Parse("f.yaml", []byte("virtual_servers:\n  - {vip: 'fe80::1%eth0', port: 80, real_servers: [{address: 'fe80::2%eth0'}]}\n"))
	want := []string{
		`f.yaml:2:11: virtual_servers[0].vip: "fe80::1%eth0" has a zone (%eth0); IPVS addresses cannot have one`,
		`f.yaml:2:62: virtual_servers[0].real_servers[0].address: "fe80::2%eth0" has a zone (%eth0); IPVS addresses cannot have one`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("zones elsewhere (-want +got):\n%s", diff)
	}
	cfg, _, err := RealServerFromFlags("nat", nil, []string{"fe80::1%eth1"})
	if err != nil || len(cfg.RealServer.Gateways) != 1 || cfg.RealServer.Gateways[0].Zone() != "eth1" {
		t.Errorf("--gateway fe80::1%%eth1: %v, %v", cfg, err)
	}
	if _, problem := checkGateway("fe80::1"); problem != "fe80::1 is link-local: name the interface it is reached through, such as fe80::1%eth0" {
		t.Errorf("checkGateway(fe80::1) = %q", problem)
	}
}

// TestGatewayList: realserver.gateway takes a list of at most one IPv4
// and one IPv6 address, each checked as one gateway is, and kept with
// the IPv4 one first; two of a family, an empty list or an item that is
// not an address are refused where they are written.
func TestGatewayList(t *testing.T) {
	c, err := Parse("f.yaml", []byte("realserver:\n  gateway:\n    - 'fe80::1%eth1'\n    - 10.0.0.1\nvirtual_servers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1%eth1")}
	if diff := cmp.Diff(want, c.RealServer.Gateways, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("gateways (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ gw, want string }{
		{"[10.0.0.1, 10.0.0.2]", `f.yaml:1:34: realserver.gateway[1]: 10.0.0.2 is a second IPv4 gateway, after 10.0.0.1 at line 1: give at most one IPv4 and one IPv6 address`},
		{"['2001:db8::1', 'fe80::1%eth0']", `f.yaml:1:39: realserver.gateway[1]: fe80::1%eth0 is a second IPv6 gateway, after 2001:db8::1 at line 1: give at most one IPv4 and one IPv6 address`},
		{"[]", `f.yaml:1:23: realserver.gateway: an empty list; give the director's address, or one IPv4 and one IPv6 address, or leave gateway out`},
		{"[10.0.0.1, fe80::1]", `f.yaml:1:34: realserver.gateway[1]: fe80::1 is link-local: name the interface it is reached through, such as fe80::1%eth0`},
		{"[10.0.0.1, [2001:db8::1]]", `f.yaml:1:34: realserver.gateway[1]: must be an IP address, got a list`},
		{"{a: 1}", `f.yaml:1:23: realserver.gateway: must be an IP address or a list of them, got a mapping`},
	} {
		_, err := Parse("f.yaml", []byte("realserver: {gateway: "+tc.gw+"}\nvirtual_servers: []\n"))
		if diff := cmp.Diff([]string{tc.want}, problemLines(t, err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.gw, diff)
		}
	}
	_, err = Parse("f.yaml", []byte("realserver:\n  gateway:\n    - 10.0.0.1\n    - 10.0.0.2\nvirtual_servers: []\n"))
	if diff := cmp.Diff([]string{`f.yaml:4:7: realserver.gateway[1]: 10.0.0.2 is a second IPv4 gateway, after 10.0.0.1 at line 3: give at most one IPv4 and one IPv6 address`}, problemLines(t, err)); diff != "" {
		t.Errorf("block list (-want +got):\n%s", diff)
	}
	gws, err := ParseGateways([]string{"2001:db8::1", "10.0.0.1"})
	if err != nil || len(gws) != 2 || gws[0] != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("ParseGateways = %v, %v", gws, err)
	}
	if _, err := ParseGateways([]string{"2001:db8::1,2001:db8::2"}); err == nil || err.Error() != "--gateway: 2001:db8::2 is a second IPv6 gateway, after 2001:db8::1: give at most one IPv4 and one IPv6 address" {
		t.Errorf("ParseGateways(two IPv6) = %v", err)
	}
}
