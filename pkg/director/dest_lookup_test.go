package director

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// randomDests is n destinations with distinct keys from a small space (so
// that lookups of absent keys are common), in random order.
func randomDests(r *rand.Rand, n int) []ipvs.Destination {
	seen := map[ipvs.DestinationKey]bool{}
	var out []ipvs.Destination
	for len(out) < n {
		d := ipvs.Destination{Address: netip.AddrFrom4([4]byte{10, 1, byte(r.IntN(2)), byte(r.IntN(64))}), Port: uint16(80 + r.IntN(2)), Weight: uint32(r.IntN(5))}
		if !seen[d.Key()] {
			seen[d.Key()] = true
			out = append(out, d)
		}
	}
	return out
}

// TestDestLookups: the in-place lookups of plan and settle (destIndexed,
// ownedDests.hasAt, sortDestKeys) answer as a plain map
// and a sort do, for short and long lists in any order, and a long list
// whose lookups all hit the place findAt tries first builds no map.
func TestDestLookups(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 1))
		n := []int{0, 1, destLinear, destLinear + 1, 100}[seed%5]
		ds := randomDests(r, n)
		ref := map[ipvs.DestinationKey]ipvs.Destination{}
		for _, d := range ds {
			ref[d.Key()] = d
		}
		x := destIndex(ds)
		w := destIndex(ds)
		keys := make([]ipvs.DestinationKey, len(ds))
		for i, d := range ds {
			keys[i] = d.Key()
		}
		sorted := slices.Clone(keys)
		slices.SortFunc(sorted, compareDestKeys)
		for range 50 {
			k := randomDests(r, 1)[0].Key()
			want, ok := ref[k]
			if got, gotOK := x.findAt(k, r.IntN(n+1)); gotOK != ok || got != want {
				t.Fatalf("seed %d: findAt(%v) = %v, %v; want %v, %v", seed, k, got, gotOK, want, ok)
			}
			if got := w.has(k); got != ok {
				t.Fatalf("seed %d: has(%v) = %v, want %v", seed, k, got, ok)
			}
			if got := ownedDests(sorted).hasAt(k, r.IntN(n+1), r.IntN(n+1)); got != ok {
				t.Fatalf("seed %d: hasAt(%v) = %v, want %v", seed, k, got, ok)
			}
		}
		reversed := slices.Clone(sorted)
		slices.Reverse(reversed)
		for name, in := range map[string][]ipvs.DestinationKey{
			"random":     keys,
			"ascending":  sorted,
			"descending": reversed,
		} {
			got := slices.Clone(in)
			sortDestKeys(got)
			if !slices.Equal(got, sorted) {
				t.Fatalf("seed %d: sortDestKeys(%s) = %v, want %v", seed, name, got, sorted)
			}
		}
	}
	// A converged service: the kernel lists the desired destinations in
	// reverse, and every lookup hits its mirror.
	ds := randomDests(rand.New(rand.NewPCG(7, 7)), 100)
	kernel := slices.Clone(ds)
	slices.Reverse(kernel)
	x := destIndex(kernel)
	for j, d := range ds {
		if got, ok := x.findAt(d.Key(), j); !ok || got != d {
			t.Fatalf("findAt(%v, %d) = %v, %v", d.Key(), j, got, ok)
		}
	}
	if x.m != nil {
		t.Fatal("a converged service's lookups built a map")
	}
}
