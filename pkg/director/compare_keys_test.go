package director

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestCompareKeys: compareKeys orders service keys as comparing every
// field in turn does (family, fwmark, protocol, address, port).
func TestCompareKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	key := func() ipvs.ServiceKey {
		return ipvs.ServiceKey{Family: []ipvs.Family{ipvs.Inet, ipvs.Inet6}[r.IntN(2)], FWMark: uint32(r.IntN(3)),
			Protocol: []ipvs.Protocol{0, ipvs.TCP, ipvs.UDP}[r.IntN(3)],
			Address:  []netip.Addr{{}, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), randAddr(r)}[r.IntN(4)],
			Port:     uint16(r.IntN(3))}
	}
	sign := func(c int) int { return cmp.Compare(c, 0) }
	for range 20000 {
		a, b := key(), key()
		want := cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.FWMark, b.FWMark), cmp.Compare(a.Protocol, b.Protocol),
			a.Address.Compare(b.Address), cmp.Compare(a.Port, b.Port))
		if got := compareKeys(a, b); sign(got) != sign(want) {
			t.Fatalf("compareKeys(%v, %v) = %d, want %d", a, b, got, want)
		}
	}
}
