package announce

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	v1 = netip.MustParseAddr("10.0.0.100")
	v2 = netip.MustParseAddr("10.0.0.200")
	v6 = netip.MustParseAddr("2001:db8::100")
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

var cmpPrefix = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		desired  []netip.Addr
		observed []netip.Prefix
		want     []Change
	}{
		{"empty", nil, nil, nil},
		{"announce", []netip.Addr{v6, v2, v1, v1}, nil,
			[]Change{{Add, pfx("10.0.0.100/32")}, {Add, pfx("10.0.0.200/32")}, {Add, pfx("2001:db8::100/128")}}},
		{"in place", []netip.Addr{v1, v6}, []netip.Prefix{pfx("2001:db8::100/128"), pfx("10.0.0.100/32")}, nil},
		{"withdraw one", []netip.Addr{v1}, []netip.Prefix{pfx("10.0.0.200/32"), pfx("10.0.0.100/32")},
			[]Change{{Delete, pfx("10.0.0.200/32")}}},
		{"withdraw all, odd prefixes too", nil, []netip.Prefix{pfx("10.0.0.0/24"), pfx("10.0.0.100/32")},
			[]Change{{Delete, pfx("10.0.0.0/24")}, {Delete, pfx("10.0.0.100/32")}}},
		{"mapped address", []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.100")}, nil, []Change{{Add, pfx("10.0.0.100/32")}}},
		{"swap", []netip.Addr{v2}, []netip.Prefix{pfx("10.0.0.100/32")},
			[]Change{{Delete, pfx("10.0.0.100/32")}, {Add, pfx("10.0.0.200/32")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Plan(tc.desired, tc.observed), cmpPrefix); diff != "" {
				t.Fatalf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}
