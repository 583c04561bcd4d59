package director

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestSortedDests checks key order whatever order the kernel lists the
// destinations in: ascending, descending (newest first) or mixed, with
// ports breaking ties of address.
func TestSortedDests(t *testing.T) {
	d := func(last byte, port uint16) ipvs.Destination {
		return ipvs.Destination{Address: netip.AddrFrom4([4]byte{10, 1, 0, last}), Port: port, Weight: uint32(last)}
	}
	want := []ipvs.Destination{d(1, 80), d(1, 81), d(2, 80), d(3, 80)}
	for name, in := range map[string][]ipvs.Destination{
		"ascending":  slices.Clone(want),
		"descending": {d(3, 80), d(2, 80), d(1, 81), d(1, 80)},
		"mixed":      {d(2, 80), d(1, 81), d(3, 80), d(1, 80)},
		"mixed-tail": {d(3, 80), d(2, 80), d(1, 80), d(1, 81)},
	} {
		orig := slices.Clone(in)
		got := slices.Collect(sortedDests(in))
		if !slices.Equal(got, want) {
			t.Errorf("%s: sortedDests = %v, want %v", name, got, want)
		}
		if !slices.Equal(in, orig) {
			t.Errorf("%s: sortedDests reordered its argument", name)
		}
		n := 0
		for range sortedDests(in) {
			if n++; n == 2 {
				break
			}
		}
	}
	if got := slices.Collect(sortedDests(nil)); len(got) != 0 {
		t.Errorf("sortedDests(nil) = %v", got)
	}
}
