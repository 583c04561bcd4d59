package config

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wave4BadCases are configurations that were accepted although the
// kernel or the director would not do what they say, or refused at a
// wrong position, with the exact messages.
func wave4BadCases() []struct {
	name string
	doc  string
	want []string
} {
	const persistent = "virtual_servers:\n  - vip: %s\n    port: 80\n    persistence: 60\n    persistence_netmask: %s\n"
	return []struct {
		name string
		doc  string
		want []string
	}{
		// The kernel refuses an IPv6 service's netmask 0 (EINVAL); the
		// director would apply /32 for an IPv4 one, not /0.
		{"persistence_netmask 0, IPv6", fmt.Sprintf(persistent, "'2001:db8::1'", "0"), []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 0 is outside 1..128 for an IPv6 service`}},
		{"persistence_netmask 0, IPv4", fmt.Sprintf(persistent, "10.0.0.1", "0"), []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 0 is outside 1..32 for an IPv4 service`}},
		{"persistence_netmask 0.0.0.0", fmt.Sprintf(persistent, "10.0.0.1", "0.0.0.0"), []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 0.0.0.0 (/0) is outside 1..32 for an IPv4 service`}},
		// An integer too large for 64 bits, which yaml.v3 reads as a
		// float: it is out of range, not "not an integer".
		{"integer beyond 64 bits", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 18446744073709551616\n    real_servers: [{address: 10.0.0.2, weight: -99_999_999_999_999_999_999}]\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 18446744073709551616 is outside 0..65535`,
			`f.yaml:4:48: virtual_servers[0].real_servers[0].weight: -99_999_999_999_999_999_999 is outside 0..65535`}},
		// 0.0.0.0/8 ("this network"): the kernel refuses a real server
		// there (EINVAL: inet_addr_type calls it broadcast), after the
		// VIP is bound, and drops packets to such a VIP as martians.
		{"real server in 0.0.0.0/8", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - address: 0.1.2.3\n", []string{
			`f.yaml:5:18: virtual_servers[0].real_servers[0].address: 0.1.2.3 is in 0.0.0.0/8 (this network), which IPVS refuses for a real server; use a unicast address`}},
		{"gateway in 0.0.0.0/8", "realserver:\n  gateway: 0.1.2.3\n", []string{
			`f.yaml:2:12: realserver.gateway: 0.1.2.3 is in 0.0.0.0/8 (this network), which the kernel refuses as a route's gateway; the gateway is the director's address`}},
		{"sorry server in 0.0.0.0/8", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    sorry_server: 0.0.0.1\n", []string{
			`f.yaml:4:19: virtual_servers[0].sorry_server: 0.0.0.1 is in 0.0.0.0/8 (this network), which IPVS refuses for a sorry server (it is added as a real server); use a unicast address`}},
		{"vip in 0.0.0.0/8", "virtual_servers:\n  - vip: 0.10.0.1\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: 0.10.0.1 is in 0.0.0.0/8 (this network), to which the kernel delivers nothing; a VIP must be reachable by clients`}},
	}
}

func TestParseBadWave4(t *testing.T) {
	for _, tc := range wave4BadCases() {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if c != nil {
				t.Errorf("got a Config with problems")
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("doc:\n%s\n(-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}

// TestSyntaxErrorLaterLine: a scanner error that yaml.v3 names by the
// line where the scalar before it starts (a tab in the indentation, an
// escape on a later line of a quoted scalar) is located at the offending
// line: at the tab, or at the line's first character.
func TestSyntaxErrorLaterLine(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"a tab indenting a key", "virtual_servers:\n- vip: 10.0.0.1\n  port: 80\n\tbogus: 1\n",
			`f.yaml:4:1: invalid YAML: found a tab character that violates indentation`},
		{"a tab after spaces", "virtual_servers:\n- vip: 10.0.0.1\n  port: 80\n  real_servers:\n  - address: 10.0.0.2\n  \t  weight: 3\n",
			`f.yaml:6:3: invalid YAML: found a tab character that violates indentation`},
		{"a tab on a blank last line", "virtual_servers:\n- vip: 10.0.0.1\n  port: 80\n\t\n",
			`f.yaml:4:1: invalid YAML: found a tab character that violates indentation`},
		{"a tab indenting a block scalar", "virtual_servers:\n- vip: 10.0.0.1\n  port: 80\n  scheduler: |\n  \trr\n",
			`f.yaml:5:3: invalid YAML: found a tab character where an indentation space is expected`},
		{"a tab deep in a list", syntaxLines(286, "\t- address: 10.0.9.9"),
			`f.yaml:286:1: invalid YAML: found a tab character that violates indentation`},
		{"an escape on a later line of a quoted scalar", "virtual_servers:\n- vip: 10.0.0.1\n  port: 80\n  scheduler: \"rr\n\n\n   \\q\"\n",
			`f.yaml:7:4: invalid YAML: found unknown escape character`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.doc))
			if diff := cmp.Diff([]string{tc.want}, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
