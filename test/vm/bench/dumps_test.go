package bench

import "testing"

// BenchmarkDumps reads a loaded table of 1,000 services of 10 real servers
// (the services, then each one's destinations) per iteration: floor
// (floor-status: pre-encoded, raw blocking sendto/recvfrom, not decoded),
// dumps (lvs-rs's client, DestinationConfigsOf: one call for every
// service) and dumps-1by1 (the same client, one DestinationConfigs call
// per service). Over floor: the client's own cost of reading.
func BenchmarkDumps(b *testing.B) {
	s := shape{1000, 10}
	e := newBed(b)
	ns := e.fresh()
	c := dial(b, ns)
	defer c.Close()
	applyAll(b, c, s.ops())
	raw := openRaw(b, ns)
	reads := encodeReads(b, s, raw.family)
	want := s.services * (1 + s.perService)
	for _, m := range []struct {
		name string
		read func() int
	}{
		{"floor", func() int { return raw.readAll(b, reads) }},
		{"dumps", func() int { return dumpAll(b, c) }},
		{"dumps-1by1", func() int { return dumpAll1(b, c) }},
	} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if n := m.read(); n != want {
					b.Fatalf("read %d entries, want %d", n, want)
				}
			}
		})
	}
}
