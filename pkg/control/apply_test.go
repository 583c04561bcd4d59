package control

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// in is the drain of a in svc; every the drain of a in every service;
// except the exception to it that enables a in svc.
func in(svc Service, a netip.Addr) Drain     { return Drain{Service: svc, Address: a} }
func every(a netip.Addr) Drain               { return Drain{Address: a} }
func except(svc Service, a netip.Addr) Drain { return Drain{Service: svc, Address: a, Enabled: true} }

func TestApplyDrain(t *testing.T) {
	web, mark, gone := mustService(t, "tcp:10.0.0.100:80"), mustService(t, "fwmark:10"), mustService(t, "udp:10.0.0.100:53")
	a, b, c := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12"), netip.MustParseAddr("10.0.0.13")
	members := []Drain{in(web, a), in(web, b), in(mark, a)}
	for _, tc := range []struct {
		name    string
		current []Drain
		req     DrainRequest
		drain   bool
		next    []Drain
		targets []DrainTarget
		err     string
	}{
		{"drain one service", nil, DrainRequest{Address: a, Service: web}, true,
			[]Drain{in(web, a)}, []DrainTarget{{web, a, true}}, ""},
		{"drain every service of the address: one drain, for later services too", []Drain{in(web, a)}, DrainRequest{Address: a}, true,
			[]Drain{every(a)}, []DrainTarget{{web, a, false}, {mark, a, true}}, ""},
		{"enable one service", []Drain{in(web, a), in(mark, a)}, DrainRequest{Address: a, Service: mark}, false,
			[]Drain{in(web, a)}, []DrainTarget{{mark, a, true}}, ""},
		{"enable what is not drained", []Drain{in(web, b)}, DrainRequest{Address: a}, false,
			[]Drain{in(web, b)}, []DrainTarget{{web, a, false}, {mark, a, false}}, ""},
		{"enable clears a drain of a removed service", []Drain{in(gone, a)}, DrainRequest{Address: a}, false,
			[]Drain{}, []DrainTarget{{web, a, false}, {gone, a, true}, {mark, a, false}}, ""},
		{"enable one service of an address drained in every service: an exception", []Drain{every(a)}, DrainRequest{Address: a, Service: mark}, false,
			[]Drain{every(a), except(mark, a)}, []DrainTarget{{mark, a, true}}, ""},
		{"enable it again", []Drain{every(a), except(mark, a)}, DrainRequest{Address: a, Service: mark}, false,
			[]Drain{every(a), except(mark, a)}, []DrainTarget{{mark, a, false}}, ""},
		{"drain that service again: the exception goes", []Drain{every(a), except(mark, a)}, DrainRequest{Address: a, Service: mark}, true,
			[]Drain{every(a)}, []DrainTarget{{mark, a, true}}, ""},
		{"drain one service of an address drained in every service", []Drain{every(a)}, DrainRequest{Address: a, Service: web}, true,
			[]Drain{every(a)}, []DrainTarget{{web, a, false}}, ""},
		{"enable every service clears the address's drains and exceptions", []Drain{every(a), except(mark, a), in(web, b)}, DrainRequest{Address: a}, false,
			[]Drain{in(web, b)}, []DrainTarget{{web, a, true}, {mark, a, false}}, ""},
		{"enable an address drained in every service that no service has now", []Drain{every(c), in(web, b)}, DrainRequest{Address: c}, false,
			[]Drain{in(web, b)}, []DrainTarget{}, ""},
		{"drain of an unknown address", []Drain{in(web, b)}, DrainRequest{Address: netip.MustParseAddr("10.0.0.99")}, true,
			[]Drain{in(web, b)}, nil, "10.0.0.99 is not a real server of any service: no such real server"},
		{"drain in a service the address is not in", nil, DrainRequest{Address: b, Service: mark}, true,
			[]Drain{}, nil, "10.0.0.12 is not a real server of fwmark:10: no such real server"},
		{"drain of a removed service", []Drain{in(gone, a)}, DrainRequest{Address: a, Service: gone}, true,
			[]Drain{in(gone, a)}, nil, "10.0.0.11 is not a real server of udp:10.0.0.100:53: no such real server"},
		{"enable of a removed service under a drain of every service", []Drain{every(a)}, DrainRequest{Address: a, Service: gone}, false,
			[]Drain{every(a)}, nil, "10.0.0.11 is not a real server of udp:10.0.0.100:53: no such real server"},
	} {
		next, res, err := ApplyDrain(tc.current, members, tc.req, tc.drain)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: error %v, want ErrNotFound %q", tc.name, err, tc.err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.next, next, addrCmp); diff != "" {
			t.Errorf("%s: drains (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.targets, res.Targets, addrCmp); diff != "" {
			t.Errorf("%s: targets (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestIsDrained: a drain of one service covers that service; a drain of
// every service covers every service, one it has never seen too, but
// those its exceptions enable.
func TestIsDrained(t *testing.T) {
	web, mark, later := mustService(t, "tcp:10.0.0.100:80"), mustService(t, "fwmark:1"), mustService(t, "tcp:10.0.0.100:443")
	a, b := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	ds := []Drain{in(web, a)}
	if !IsDrained(ds, web, a) || IsDrained(ds, mark, a) || IsDrained(ds, web, b) {
		t.Error("IsDrained answers wrong for a drain of one service")
	}
	ds = []Drain{every(a), except(mark, a)}
	if !IsDrained(ds, web, a) || !IsDrained(ds, later, a) || IsDrained(ds, mark, a) || IsDrained(ds, web, b) {
		t.Error("IsDrained answers wrong for a drain of every service")
	}
}
