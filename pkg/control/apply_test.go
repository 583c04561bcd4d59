package control

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyDrain(t *testing.T) {
	web, mark, gone := mustService(t, "tcp:10.0.0.100:80"), mustService(t, "fwmark:10"), mustService(t, "udp:10.0.0.100:53")
	a, b := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	members := []Drain{{web, a}, {web, b}, {mark, a}}
	for _, c := range []struct {
		name    string
		current []Drain
		req     DrainRequest
		drain   bool
		next    []Drain
		targets []DrainTarget
		err     string
	}{
		{"drain one service", nil, DrainRequest{Address: a, Service: web}, true,
			[]Drain{{web, a}}, []DrainTarget{{web, a, true}}, ""},
		{"drain every service of the address", []Drain{{web, a}}, DrainRequest{Address: a}, true,
			[]Drain{{web, a}, {mark, a}}, []DrainTarget{{web, a, false}, {mark, a, true}}, ""},
		{"enable one service", []Drain{{web, a}, {mark, a}}, DrainRequest{Address: a, Service: mark}, false,
			[]Drain{{web, a}}, []DrainTarget{{mark, a, true}}, ""},
		{"enable what is not drained", []Drain{{web, b}}, DrainRequest{Address: a}, false,
			[]Drain{{web, b}}, []DrainTarget{{web, a, false}, {mark, a, false}}, ""},
		{"enable clears a drain of a removed service", []Drain{{gone, a}}, DrainRequest{Address: a}, false,
			[]Drain{}, []DrainTarget{{web, a, false}, {gone, a, true}, {mark, a, false}}, ""},
		{"drain of an unknown address", []Drain{{web, b}}, DrainRequest{Address: netip.MustParseAddr("10.0.0.99")}, true,
			[]Drain{{web, b}}, nil, "10.0.0.99 is not a real server of any service: no such real server"},
		{"drain in a service the address is not in", nil, DrainRequest{Address: b, Service: mark}, true,
			[]Drain{}, nil, "10.0.0.12 is not a real server of fwmark:10: no such real server"},
		{"drain of a removed service", []Drain{{gone, a}}, DrainRequest{Address: a, Service: gone}, true,
			[]Drain{{gone, a}}, nil, "10.0.0.11 is not a real server of udp:10.0.0.100:53: no such real server"},
	} {
		next, res, err := ApplyDrain(c.current, members, c.req, c.drain)
		if c.err != "" {
			if err == nil || err.Error() != c.err || !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: error %v, want ErrNotFound %q", c.name, err, c.err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if diff := cmp.Diff(c.next, next, addrCmp); diff != "" {
			t.Errorf("%s: drains (-want +got):\n%s", c.name, diff)
		}
		if diff := cmp.Diff(c.targets, res.Targets, addrCmp); diff != "" {
			t.Errorf("%s: targets (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestIsDrained(t *testing.T) {
	web := mustService(t, "tcp:10.0.0.100:80")
	a := netip.MustParseAddr("10.0.0.11")
	ds := []Drain{{web, a}}
	if !IsDrained(ds, web, a) || IsDrained(ds, Service{FWMark: 1}, a) || IsDrained(ds, web, netip.MustParseAddr("10.0.0.12")) {
		t.Error("IsDrained answers wrong")
	}
}
