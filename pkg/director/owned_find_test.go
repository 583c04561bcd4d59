package director

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestOwnedServicesFind: find reports the index of each key of a sorted
// owned list, and for any other key false (at the index it would take).
func TestOwnedServicesFind(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	key := func() ipvs.ServiceKey {
		return ipvs.ServiceKey{Family: ipvs.Inet, Protocol: []ipvs.Protocol{ipvs.TCP, ipvs.UDP}[r.IntN(2)],
			Address: netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(4))}), Port: uint16(r.IntN(8))}
	}
	for range 300 {
		var s OwnedServices
		for range r.IntN(20) {
			k := key()
			if i, ok := slices.BinarySearchFunc(s, k, func(o OwnedService, k ipvs.ServiceKey) int { return compareKeys(o.ServiceKey, k) }); !ok {
				s = slices.Insert(s, i, OwnedService{ServiceKey: k})
			}
		}
		for range 50 {
			k := key()
			want := slices.IndexFunc(s, func(o OwnedService) bool { return o.ServiceKey == k })
			i, ok := s.find(k)
			if ok != (want >= 0) || ok && i != want || !ok && (i < len(s) && compareKeys(s[i].ServiceKey, k) < 0 || i > 0 && compareKeys(s[i-1].ServiceKey, k) > 0) {
				t.Fatalf("find(%v) in %v = %d, %v; want %d", k, s, i, ok, want)
			}
		}
	}
}

// BenchmarkOwnedFind finds each of 1,000 owned services, in a shuffled
// order (as observe does, in the kernel's order).
func BenchmarkOwnedFind(b *testing.B) {
	rec, _ := bigRecord(b)
	s := rec.owned().Services
	keys := make([]ipvs.ServiceKey, len(s))
	for i := range s {
		keys[i] = s[i].ServiceKey
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for b.Loop() {
		for _, k := range keys {
			if _, ok := s.find(k); !ok {
				b.Fatal("not found")
			}
		}
	}
}
