package ipvs

import (
	"net/netip"
	"testing"
)

// benchOps is a start's IPVS table: services of perService DR real
// servers, each service followed by its real servers, as the director
// hands them to Apply.
func benchOps(services, perService int) []Op {
	ops := make([]Op, 0, services*(1+perService))
	for i := range services {
		s := Service{Protocol: TCP, Address: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Port: 80,
			Scheduler: "wrr", Netmask: 32}
		ops = append(ops, Op{Kind: OpNewService, Service: s})
		for j := range perService {
			d := Destination{Address: netip.AddrFrom4([4]byte{10, 1, byte(j), byte(i)}), Port: 80, Forward: Route, Weight: 1}
			ops = append(ops, Op{Kind: OpNewDestination, Service: s, Destination: d})
		}
	}
	return ops
}

// BenchmarkEncodeRequests encodes the 11,000 requests of a start of 1,000
// services of ten real servers into one reused buffer, as Apply does.
func BenchmarkEncodeRequests(b *testing.B) {
	ops := benchOps(1000, 10)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range ops {
			var err error
			if buf, err = ops[i].appendRequest(buf, 30, 0, uint32(i+1), false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(int64(len(buf)))
}

// TestEncodeAllocatesNothing: encoding a request for a service and a
// destination held in the caller's variables, into a buffer with room,
// allocates nothing: in particular the variables stay off the heap (the
// encoders' error messages format copies of them), as each of a read's
// 1,000 destination dumps encodes its service.
func TestEncodeAllocatesNothing(t *testing.T) {
	ops := benchOps(1, 1)
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		s, d := ops[1].Service, ops[1].Destination
		buf, _ = appendDestinationAttrs(buf[:0], &s, &d, true)
		buf, _ = appendServiceAttrs(buf[:0], &s, true)
	})
	if allocs != 0 {
		t.Fatalf("encoding allocates %v times a request, want 0", allocs)
	}
}
