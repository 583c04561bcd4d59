package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// BenchmarkDecodeDestination decodes one destination with its counters,
// as status reads it.
func BenchmarkDecodeDestination(b *testing.B) {
	d := kernelDestination(b)
	for b.Loop() {
		if _, err := decodeDestination(d, Inet); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeAsReference: decodeDestination reads what referenceDestination
// reads and fails where it fails, with the same message, and
// decodeDestinationConfig reads the same configuration (where the counters
// are sound), for 30,000 random destinations (see randomDestination).
func TestDecodeAsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	full := kernelDestination(t)
	fails := 0
	for seed := range 30_000 {
		b, countersSound := randomDestination(r, full)
		fam := []Family{Inet, Inet6}[r.IntN(2)]
		want, werr := referenceDestination(b, fam)
		got, gerr := decodeDestination(b, fam)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("seed %d: decodeDestination error %v, the reference's %v\n% x", seed, gerr, werr, b)
		}
		if got != want {
			t.Fatalf("seed %d: decodeDestination = %s, the reference's %s\n% x", seed, plain(got), plain(want), b)
		}
		if werr != nil {
			fails++
		}
		if !countersSound {
			continue
		}
		cfg, cerr := decodeDestinationConfig(b, fam)
		if (werr == nil) != (cerr == nil) || werr != nil && werr.Error() != cerr.Error() || cfg != want.Destination {
			t.Fatalf("seed %d: decodeDestinationConfig = %+v, %v; the reference's %+v, %v\n% x",
				seed, plain(DestinationExtended{Destination: cfg}), cerr, plain(want), werr, b)
		}
	}
	if fails < 1500 || fails > 28_500 {
		t.Fatalf("%d of 30,000 destinations failed to decode: the test exercises too little of one side", fails)
	}
}

// plain renders every field of d (its String shows the key alone).
func plain(d DestinationExtended) string {
	return fmt.Sprintf("{family %d address %v port %d forward %d weight %d thresholds %d/%d tunnel %d/%d/%d conns %d/%d/%d stats %+v}",
		d.Family, d.Address, d.Port, d.Forward, d.Weight, d.UpperThreshold, d.LowerThreshold, d.TunnelType, d.TunnelPort,
		d.TunnelFlags, d.ActiveConnections, d.InactiveConnections, d.PersistentConnections, d.Stats)
}

// randomDestination returns a destination nest of random attributes
// (any of a destination's, left out, repeated, in random order, of a
// random value and now and then of a wrong size; the counters' nests as
// the kernel sends them, or damaged), the whole sometimes cut short; and
// whether its counts and counters are sound (the configuration decoder
// skips them, so it reads a destination with damaged ones).
func randomDestination(r *rand.Rand, kernel []byte) ([]byte, bool) {
	sizes := map[uint16]int{destAttrAddr: 16, destAttrPort: 2, destAttrFwdMethod: 4, destAttrWeight: 4, destAttrUThresh: 4,
		destAttrLThresh: 4, destAttrAddrFamily: 2, destAttrTunType: 1, destAttrTunPort: 2, destAttrTunFlags: 2,
		destAttrActiveConns: 4, destAttrInactConns: 4, destAttrPersistConns: 4, destAttrStats: 0, destAttrStats64: 0}
	nests := map[uint16][]byte{} // the kernel's counter nests' payloads
	for a := kernel; len(a) >= 4; a = a[(binary.NativeEndian.Uint16(a)+3)&^3:] {
		if t := binary.NativeEndian.Uint16(a[2:]) & nlaTypeMask; t == destAttrStats || t == destAttrStats64 {
			nests[t] = a[4:binary.NativeEndian.Uint16(a)]
		}
	}
	types := slices.Sorted(maps.Keys(sizes))
	sound := true
	var b []byte
	for range r.IntN(18) {
		typ := types[r.IntN(len(types))]
		counter := typ >= destAttrActiveConns && typ <= destAttrStats || typ == destAttrStats64
		var p []byte
		switch {
		case sizes[typ] == 0 && r.IntN(10) > 0: // a counters' nest as the kernel sends it
			p = nests[typ]
		default:
			n := sizes[typ]
			if n == 0 || r.IntN(20) == 0 {
				n = r.IntN(18)
				sound = sound && !counter
			}
			p = make([]byte, n)
			for i := range p {
				p[i] = byte(r.IntN(4))
			}
			if typ == destAttrAddrFamily && n == 2 && r.IntN(3) > 0 {
				binary.NativeEndian.PutUint16(p, uint16([]Family{Inet, Inet6}[r.IntN(2)]))
			}
		}
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(p)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(append(b, p...), make([]byte, -len(p)&3)...)
	}
	if r.IntN(20) == 0 {
		b = b[:r.IntN(len(b)+1)]
	}
	return b, sound
}

// referenceDestination is decodeDestination as it was written before
// walkDestination: an attribute walker (attrs) and helpers that report a
// wrong size through a pointer. It is TestDecodeAsReference's oracle.
func referenceDestination(b []byte, svcFam Family) (DestinationExtended, error) {
	var (
		d              DestinationExtended
		addr           []byte
		stats, stats64 []byte
		err            error
	)
	port := func(p []byte) uint16 {
		v, perr := decodePort(p)
		if perr != nil {
			err = perr
		}
		return v
	}
	a := attrs{b: b}
	for {
		t, p, ok := a.next()
		if !ok {
			break
		}
		switch t {
		case destAttrAddr:
			addr = p
		case destAttrPort:
			d.Port = port(p)
		case destAttrTunPort:
			d.TunnelPort = port(p)
		case destAttrFwdMethod:
			d.Forward = ForwardMethod(u32(p, &err) & fwdMask)
		case destAttrWeight:
			d.Weight = u32(p, &err)
		case destAttrUThresh:
			d.UpperThreshold = u32(p, &err)
		case destAttrLThresh:
			d.LowerThreshold = u32(p, &err)
		case destAttrActiveConns:
			d.ActiveConnections = u32(p, &err)
		case destAttrInactConns:
			d.InactiveConnections = u32(p, &err)
		case destAttrPersistConns:
			d.PersistentConnections = u32(p, &err)
		case destAttrAddrFamily:
			d.Family = Family(u16(p, &err))
		case destAttrTunType:
			if len(p) != 1 {
				err = errShort
			} else {
				d.TunnelType = TunnelType(p[0])
			}
		case destAttrTunFlags:
			d.TunnelFlags = TunnelFlags(u16(p, &err))
		case destAttrStats:
			stats = p
		case destAttrStats64:
			stats64 = p
		}
	}
	if err := errors.Join(a.err, err); err != nil {
		return DestinationExtended{}, err
	}
	if d.Family == 0 {
		d.Family = svcFam
	}
	if addr != nil {
		if d.Address, err = decodeAddr(d.Family, addr); err != nil {
			return DestinationExtended{}, fmt.Errorf("destination address: %w", err)
		}
	}
	if d.Forward != Tunnel {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	}
	if d.Stats, err = pickStats(stats, stats64); err != nil {
		return DestinationExtended{}, err
	}
	return d, nil
}
