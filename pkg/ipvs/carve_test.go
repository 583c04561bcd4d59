package ipvs

import (
	"net/netip"
	"slices"
	"testing"
)

// TestCarveIsolates checks that results carved from one slab are copies
// that cannot write into each other.
func TestCarveIsolates(t *testing.T) {
	c := &Client{}
	mk := func(n int, base byte) []DestinationExtended {
		ds := make([]DestinationExtended, n)
		for i := range ds {
			ds[i].Address = netip.AddrFrom4([4]byte{10, base, 0, byte(i)})
		}
		return ds
	}
	src := mk(3, 1)
	a := c.carve(src)
	b := c.carve(mk(2, 2))
	if !slices.Equal(a, src) {
		t.Fatalf("carve = %v, want %v", a, src)
	}
	src[0].Weight = 9
	if a[0].Weight != 0 {
		t.Fatal("the result shares the caller's slice")
	}
	want := slices.Clone(b)
	a = append(a, DestinationExtended{})
	a[0].Weight = 7
	if !slices.Equal(b, want) {
		t.Fatalf("appending to one result changed the next: %v, want %v", b, want)
	}
	long := mk(destSlabMax+1, 3)
	if l := c.carve(long); !slices.Equal(l, long) || len(c.slab) != 5 {
		t.Fatalf("a long result: %d elements, slab at %d", len(l), len(c.slab))
	}
	for range destSlab {
		if got := c.carve(mk(1, 4)); len(got) != 1 || cap(got) != 1 {
			t.Fatalf("carve of one: len %d cap %d", len(got), cap(got))
		}
	}
}
