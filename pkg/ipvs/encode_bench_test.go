package ipvs

import (
	"context"
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
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

// ackLast is a transport that acknowledges the last request of each chunk
// at once, as the kernel does after performing a whole chunk: Apply's own
// work, without a kernel.
type ackLast struct{ seq uint32 }

func (a *ackLast) send(buf []byte) error {
	for off := 0; off+nlmsgHeaderLen <= len(buf); {
		a.seq = binary.NativeEndian.Uint32(buf[off+8:])
		off += nlmsgAlign(int(binary.NativeEndian.Uint32(buf[off:])))
	}
	return nil
}

func (a *ackLast) recv(ack func(seq uint32, errno syscall.Errno)) error {
	ack(a.seq, 0)
	return nil
}

func (a *ackLast) drain(func(seq uint32, errno syscall.Errno)) error { return nil }

// BenchmarkApplyOwnWork is Apply's own work for a start's 11,000 requests,
// handed over 1,024 at a time as the director does: encoding, chunking,
// matching the acknowledgements, against ackLast. The rest of a start's
// kernel writes is the kernel's.
func BenchmarkApplyOwnWork(b *testing.B) {
	conn, err := netlink.Dial(unix.NETLINK_GENERIC, nil) // for its deadline only
	if err != nil {
		b.Skipf("no generic netlink socket: %v", err)
	}
	defer conn.Close()
	lim := limitsFor(2*wantRcvBuf, 2*wantSndBuf) // as the kernel doubles them
	c := &Client{nl: conn, family: 30, version: 1, limits: lim, maxOps: lim.ops, tr: &ackLast{}}
	ops := benchOps(1000, 10)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for w := 0; w < len(ops); w += 1024 {
			for _, err := range c.Apply(ctx, ops[w:min(w+1024, len(ops))]) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
