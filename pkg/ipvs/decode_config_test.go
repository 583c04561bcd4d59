package ipvs

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mdlayher/netlink"
)

// kernelDestination is a destination as Linux 6.1 reports it in a dump
// (ip_vs_genl_fill_dest): its configuration, connection counts, both
// counter nests and its family.
func kernelDestination(tb testing.TB) []byte {
	tb.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(destAttrAddr, append([]byte{10, 1, 2, 3}, make([]byte, 12)...))
	ae.Bytes(destAttrPort, []byte{0, 80})
	ae.Uint32(destAttrFwdMethod, uint32(Route))
	ae.Uint32(destAttrWeight, 1)
	ae.Uint8(destAttrTunType, 0)
	ae.Bytes(destAttrTunPort, []byte{0, 0})
	ae.Uint16(destAttrTunFlags, 0)
	ae.Uint32(destAttrUThresh, 0)
	ae.Uint32(destAttrLThresh, 0)
	ae.Uint32(destAttrActiveConns, 0)
	ae.Uint32(destAttrInactConns, 0)
	ae.Uint32(destAttrPersistConns, 0)
	ae.Uint16(destAttrAddrFamily, uint16(Inet))
	stats := func(wide bool) func(*netlink.AttributeEncoder) error {
		return func(n *netlink.AttributeEncoder) error {
			for a := uint16(statsAttrConns); a <= statsAttrOutBPS; a++ {
				if wide || a == statsAttrInBytes || a == statsAttrOutBytes {
					n.Uint64(a, 0)
				} else {
					n.Uint32(a, 0)
				}
			}
			return nil
		}
	}
	ae.Nested(destAttrStats, stats(false))
	ae.Nested(destAttrStats64, stats(true))
	b, err := ae.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecodeDestinationConfig decodes one destination of a dump as a
// converge reads it (configuration only); a no-op start of 1,000 x 10
// decodes 10,000.
func BenchmarkDecodeDestinationConfig(b *testing.B) {
	d := kernelDestination(b)
	for b.Loop() {
		if _, err := decodeDestinationConfig(d, Inet); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeConfigAsFull: decodeDestinationConfig reads what
// decodeDestination reads (the configuration part) and fails where it
// fails, for 20,000 random destinations: configuration attributes of
// random values, left out, repeated, of a wrong size now and then, in
// random order, with the counters intact (damaged counters are
// TestDecodeLegacyStats's), the whole sometimes cut short.
func TestDecodeConfigAsFull(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sizes := map[uint16]int{destAttrAddr: 16, destAttrPort: 2, destAttrFwdMethod: 4, destAttrWeight: 4, destAttrUThresh: 4,
		destAttrLThresh: 4, destAttrAddrFamily: 2, destAttrTunType: 1, destAttrTunPort: 2, destAttrTunFlags: 2,
		destAttrActiveConns: 4, destAttrInactConns: 4, destAttrPersistConns: 4}
	types := slices.Sorted(maps.Keys(sizes))
	full := kernelDestination(t)
	stats := full // the counter nests, as the kernel sends them: the attributes from IPVS_DEST_ATTR_STATS on
	for binary.NativeEndian.Uint16(stats[2:])&nlaTypeMask != destAttrStats {
		stats = stats[(binary.NativeEndian.Uint16(stats)+3)&^3:]
	}
	fails := 0
	for seed := range 20_000 {
		var b []byte
		for range r.IntN(16) {
			typ := types[r.IntN(len(types))]
			n := sizes[typ]
			counter := typ == destAttrActiveConns || typ == destAttrInactConns || typ == destAttrPersistConns
			if r.IntN(20) == 0 && !counter {
				n = r.IntN(18)
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(r.IntN(4))
			}
			if typ == destAttrAddrFamily && n == 2 && r.IntN(3) > 0 {
				binary.NativeEndian.PutUint16(p, uint16([]Family{Inet, Inet6}[r.IntN(2)]))
			}
			b = binary.NativeEndian.AppendUint16(b, uint16(4+n))
			b = binary.NativeEndian.AppendUint16(b, typ)
			b = append(append(b, p...), make([]byte, -n&3)...)
		}
		b = append(b, stats...)
		if r.IntN(20) == 0 {
			b = b[:r.IntN(len(b)+1)]
		}
		fam := []Family{Inet, Inet6}[r.IntN(2)]
		want, werr := decodeDestination(b, fam)
		got, gerr := decodeDestinationConfig(b, fam)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("seed %d: decodeDestinationConfig error %v, decodeDestination's %v\n% x", seed, gerr, werr, b)
		}
		if werr != nil {
			fails++
			continue
		}
		if got != want.Destination {
			type fields Destination // printed field by field, not by String
			t.Fatalf("seed %d: decodeDestinationConfig = %+v, decodeDestination's %+v\n% x", seed, fields(got), fields(want.Destination), b)
		}
	}
	if fails < 1000 || fails > 19_000 {
		t.Fatalf("%d of 20,000 destinations failed to decode: the test exercises too little of one side", fails)
	}
}
