package control

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseService(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Service
		str  string
	}{
		{"tcp:10.0.0.100:80", Service{Proto: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 80}, ""},
		{"udp:10.0.0.1:53", Service{Proto: "udp", VIP: netip.MustParseAddr("10.0.0.1"), Port: 53}, ""},
		{"sctp:10.0.0.1:9", Service{Proto: "sctp", VIP: netip.MustParseAddr("10.0.0.1"), Port: 9}, ""},
		{"TCP:10.0.0.1:65535", Service{Proto: "tcp", VIP: netip.MustParseAddr("10.0.0.1"), Port: 65535}, "tcp:10.0.0.1:65535"},
		{"tcp:[2001:db8::1]:443", Service{Proto: "tcp", VIP: netip.MustParseAddr("2001:db8::1"), Port: 443}, ""},
		{"tcp:[2001:DB8:0::1]:443", Service{Proto: "tcp", VIP: netip.MustParseAddr("2001:db8::1"), Port: 443}, "tcp:[2001:db8::1]:443"},
		{"fwmark:10", Service{FWMark: 10}, ""},
		{"fwmark:4294967295", Service{FWMark: 4294967295}, ""},
	} {
		got, err := ParseService(c.in)
		if err != nil {
			t.Errorf("ParseService(%q): %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("ParseService(%q) (-want +got):\n%s", c.in, diff)
		}
		str := c.str
		if str == "" {
			str = c.in
		}
		if got.String() != str {
			t.Errorf("ParseService(%q).String() = %q, want %q", c.in, got.String(), str)
		}
	}
}

func TestParseServiceErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `service "": want tcp:VIP:PORT, udp:VIP:PORT, sctp:VIP:PORT or fwmark:N`},
		{"10.0.0.1:80", `service "10.0.0.1:80": "10.0.0.1" is not tcp, udp, sctp or fwmark`},
		{"tcp", `service "tcp": want tcp:VIP:PORT, udp:VIP:PORT, sctp:VIP:PORT or fwmark:N`},
		{"http:10.0.0.1:80", `service "http:10.0.0.1:80": "http" is not tcp, udp, sctp or fwmark`},
		{"tcp:10.0.0.1", `service "tcp:10.0.0.1": missing :PORT after the VIP (want tcp:VIP:PORT)`},
		{"tcp::80", `service "tcp::80": missing VIP`},
		{"tcp:10.0.0.300:80", `service "tcp:10.0.0.300:80": VIP "10.0.0.300" is not an IP address`},
		{"tcp:www.example.com:80", `service "tcp:www.example.com:80": VIP "www.example.com" is not an IP address`},
		{"tcp:10.0.0.1:0", `service "tcp:10.0.0.1:0": port "0" is not a number from 1 to 65535`},
		{"tcp:10.0.0.1:65536", `service "tcp:10.0.0.1:65536": port "65536" is not a number from 1 to 65535`},
		{"tcp:10.0.0.1:http", `service "tcp:10.0.0.1:http": port "http" is not a number from 1 to 65535`},
		{"tcp:10.0.0.1:", `service "tcp:10.0.0.1:": port "" is not a number from 1 to 65535`},
		{"tcp:2001:db8::1:80", `service "tcp:2001:db8::1:80": an IPv6 VIP goes in brackets: tcp:[2001:db8::1]:PORT`},
		{"tcp:[10.0.0.1]:80", `service "tcp:[10.0.0.1]:80": an IPv4 VIP takes no brackets: tcp:10.0.0.1:80`},
		{"tcp:[fe80::1%eth0]:80", `service "tcp:[fe80::1%eth0]:80": VIP "fe80::1%eth0" has a zone`},
		{"fwmark:0", `service "fwmark:0": firewall mark "0" is not a number from 1 to 4294967295`},
		{"fwmark:", `service "fwmark:": firewall mark "" is not a number from 1 to 4294967295`},
		{"fwmark:4294967296", `service "fwmark:4294967296": firewall mark "4294967296" is not a number from 1 to 4294967295`},
		{"fwmark:0x10", `service "fwmark:0x10": firewall mark "0x10" is not a number from 1 to 4294967295`},
	} {
		_, err := ParseService(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseService(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestServiceJSON(t *testing.T) {
	type wrap struct {
		S Service `json:"s,omitzero"`
	}
	b, err := json.Marshal(wrap{S: Service{FWMark: 7}})
	if err != nil || string(b) != `{"s":"fwmark:7"}` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	if b, _ := json.Marshal(wrap{}); string(b) != `{}` {
		t.Errorf("zero service marshals as %s, want {}", b)
	}
	var w wrap
	if err := json.Unmarshal([]byte(`{"s":"tcp:[::1]:80"}`), &w); err != nil || w.S.String() != "tcp:[::1]:80" {
		t.Errorf("unmarshal: %v %v", w.S, err)
	}
	if err := json.Unmarshal([]byte(`{"s":"tcp:1.2.3.4"}`), &w); err == nil {
		t.Error("unmarshal of a bad selector succeeded")
	}
}

func TestDrainRequestMatches(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.11")
	web, _ := ParseService("tcp:10.0.0.100:80")
	mark, _ := ParseService("fwmark:3")
	all := DrainRequest{Address: a}
	one := DrainRequest{Address: a, Service: web}
	for _, c := range []struct {
		r    DrainRequest
		s    Service
		a    netip.Addr
		want bool
	}{
		{all, web, a, true}, {all, mark, a, true}, {one, web, a, true}, {one, mark, a, false},
		{all, web, netip.MustParseAddr("10.0.0.12"), false},
	} {
		if got := c.r.Matches(c.s, c.a); got != c.want {
			t.Errorf("%+v.Matches(%s, %s) = %v, want %v", c.r, c.s, c.a, got, c.want)
		}
	}
}
