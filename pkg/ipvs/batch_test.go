package ipvs

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

var batchSvc = Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80, Scheduler: "wrr", Netmask: 32}

// realServer is the n-th destination 10.1.x.y:80.
func realServer(n int) Destination {
	return Destination{Family: Inet, Address: netip.AddrFrom4([4]byte{10, 1, byte(n >> 8), byte(n)}), Port: 80, Forward: Route, Weight: 1}
}

func addDests(s Service, from, to int) []Op {
	var ops []Op
	for n := from; n < to; n++ {
		ops = append(ops, Op{Kind: OpNewDestination, Service: s, Destination: realServer(n)})
	}
	return ops
}

// batchSizes returns the number of requests of each sendmsg after skip.
func batchSizes(sock *fakeSocket, skip int) []int {
	var out []int
	for _, b := range sock.sends[skip:] {
		out = append(out, len(b))
	}
	return out
}

func TestApplyPipelinesOneSendmsg(t *testing.T) {
	f := newFake()
	c, sock := dialFakeSocket(t, f)
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	before := len(sock.sends)
	ops := addDests(batchSvc, 0, 150)
	for i, err := range c.Apply(t.Context(), ops) {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	if diff := cmp.Diff([]int{150}, batchSizes(sock, before)); diff != "" {
		t.Fatalf("sendmsg calls (-want +got):\n%s", diff)
	}
	if got := len(f.dests[batchSvc.Key()]); got != 150 {
		t.Fatalf("kernel holds %d destinations, want 150", got)
	}
	seen := map[uint32]bool{}
	sent := sock.sends[before]
	for i, m := range sent {
		want := netlink.Request // only the chunk's last request asks for an acknowledgement
		if i == len(sent)-1 {
			want |= netlink.Acknowledge
		}
		if m.Header.Type != fakeFamilyID || m.Header.Flags != want {
			t.Fatalf("request %d header %+v: want type %#x, flags %v", i, m.Header, fakeFamilyID, want)
		}
		if m.Header.Sequence == 0 || seen[m.Header.Sequence] {
			t.Fatalf("sequence %d is zero or used twice", m.Header.Sequence)
		}
		seen[m.Header.Sequence] = true
	}
}

// TestApplyMapsAcksBySequence shuffles the refusals that come before the
// chunk's acknowledgement: results follow sequence numbers, not arrival
// order.
func TestApplyMapsAcksBySequence(t *testing.T) {
	f := newFake()
	c, sock := dialFakeSocket(t, f)
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	sock.reorder = func(dgs [][]netlink.Message) { slices.Reverse(dgs[:len(dgs)-1]) }
	ops := addDests(batchSvc, 0, 20)
	ops[13] = ops[4] // duplicates: EEXIST
	ops[16] = ops[2]
	errs := c.Apply(t.Context(), ops)
	for i, err := range errs {
		switch {
		case i == 13 || i == 16:
			want := map[int]string{13: "10.1.0.4", 16: "10.1.0.2"}[i]
			want = "ipvs: add destination " + want + ":80 in tcp 10.0.0.100:80: file exists"
			if !errors.Is(err, unix.EEXIST) || err.Error() != want {
				t.Fatalf("op %d = %v, want %s", i, err, want)
			}
		case err != nil:
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

// TestApplyFailureInTheMiddle: the kernel carries on within the failing
// chunk; the chunks after it are not sent.
func TestApplyFailureInTheMiddle(t *testing.T) {
	f := newFake()
	c, sock := dialFakeSocket(t, f)
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	c.limits.ops = 4
	before := len(sock.sends)
	ops := addDests(batchSvc, 0, 11)
	ops[5] = ops[1] // EEXIST, in the second chunk [4, 8)
	errs := c.Apply(t.Context(), ops)
	for i, err := range errs {
		switch {
		case i == 5:
			var ie *Error
			if !errors.Is(err, unix.EEXIST) || !errors.As(err, &ie) || ie.Op != "add destination" || ie.Object != "10.1.0.1:80 in tcp 10.0.0.100:80" {
				t.Fatalf("op 5 = %#v", err)
			}
		case i < 8:
			if err != nil {
				t.Fatalf("op %d (sent) = %v, want nil", i, err)
			}
		default:
			if !errors.Is(err, ErrNotAttempted) {
				t.Fatalf("op %d (later chunk) = %v, want ErrNotAttempted", i, err)
			}
		}
	}
	if diff := cmp.Diff([]int{4, 4}, batchSizes(sock, before)); diff != "" {
		t.Fatalf("sendmsg calls (-want +got):\n%s", diff)
	}
	if got := len(f.dests[batchSvc.Key()]); got != 7 {
		t.Fatalf("kernel holds %d destinations, want 7 (0-4, 6, 7)", got)
	}
}

func TestApplyChunkBoundaries(t *testing.T) {
	dest := Op{Kind: OpNewDestination, Service: batchSvc, Destination: realServer(0)}
	b, err := dest.appendRequest(nil, fakeFamilyID, genlVersion, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	one := len(b) // every destination request has this size
	for _, tc := range []struct {
		name   string
		limits chunkLimits
		n      int
		want   []int
	}{
		{"by count", chunkLimits{ops: 10, bytes: 1 << 20}, 25, []int{10, 10, 5}},
		{"exact count", chunkLimits{ops: 5, bytes: 1 << 20}, 10, []int{5, 5}},
		{"by bytes", chunkLimits{ops: 1000, bytes: 7*one + one/2}, 20, []int{7, 7, 6}},
		{"exact bytes", chunkLimits{ops: 1000, bytes: 4 * one}, 8, []int{4, 4}},
		{"one per round trip", chunkLimits{ops: 1, bytes: 1 << 20}, 3, []int{1, 1, 1}},
		{"a request larger than the limit goes alone", chunkLimits{ops: 1000, bytes: one / 2}, 2, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			c, sock := dialFakeSocket(t, f)
			if err := c.NewService(t.Context(), batchSvc); err != nil {
				t.Fatal(err)
			}
			c.limits = tc.limits
			before := len(sock.sends)
			for i, err := range c.Apply(t.Context(), addDests(batchSvc, 0, tc.n)) {
				if err != nil {
					t.Fatalf("op %d: %v", i, err)
				}
			}
			if diff := cmp.Diff(tc.want, batchSizes(sock, before)); diff != "" {
				t.Fatalf("sendmsg calls (-want +got):\n%s", diff)
			}
			if got := len(f.dests[batchSvc.Key()]); got != tc.n {
				t.Fatalf("kernel holds %d destinations, want %d", got, tc.n)
			}
		})
	}
}

// TestApplyServicesAndDestinationsTogether: services and their real
// servers share a chunk.
func TestApplyServicesAndDestinationsTogether(t *testing.T) {
	f := newFake()
	c, sock := dialFakeSocket(t, f)
	s2 := batchSvc
	s2.Port = 81
	var ops []Op
	ops = append(ops, Op{Kind: OpNewService, Service: batchSvc})
	ops = append(ops, addDests(batchSvc, 0, 3)...)
	ops = append(ops, Op{Kind: OpNewService, Service: s2})
	ops = append(ops, addDests(s2, 0, 3)...)
	for i, err := range c.Apply(t.Context(), ops) {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	if diff := cmp.Diff([]int{8}, batchSizes(sock, 1)); diff != "" { // sends[0] is the family lookup
		t.Fatalf("sendmsg calls (-want +got):\n%s", diff)
	}
	if len(f.dests[batchSvc.Key()]) != 3 || len(f.dests[s2.Key()]) != 3 {
		t.Fatalf("kernel holds %v", f.dests)
	}
}

// TestApplyFailedServiceSkipsItsDestinations: as with one request per
// round trip, the real servers of a refused service addition are not
// attempted (no ESRCH for each), with the same message as before; the
// rest of the chunk is applied.
func TestApplyFailedServiceSkipsItsDestinations(t *testing.T) {
	f := newFake()
	c, sock := dialFakeSocket(t, f)
	bad := batchSvc
	bad.Scheduler = "xyz"
	good := batchSvc
	good.Port = 81
	ops := append([]Op{{Kind: OpNewService, Service: bad}}, addDests(bad, 0, 5)...)
	ops = append(ops, Op{Kind: OpNewService, Service: good})
	ops = append(ops, addDests(good, 0, 2)...)
	ops = append(ops, addDests(good, 1, 2)...) // a duplicate: EEXIST, reported
	errs := c.Apply(t.Context(), ops)
	const want = `ipvs: add service tcp 10.0.0.100:80: scheduler "xyz" (module ip_vs_xyz): no such file or directory`
	if !errors.Is(errs[0], unix.ENOENT) || errs[0].Error() != want {
		t.Fatalf("add service = %v, want %s", errs[0], want)
	}
	for i, err := range errs[1:6] {
		if !errors.Is(err, ErrNotAttempted) {
			t.Fatalf("destination %d of the failed service = %v, want ErrNotAttempted", i, err)
		}
	}
	for i, err := range errs[6:9] {
		if err != nil {
			t.Fatalf("op %d = %v, want nil", i+6, err)
		}
	}
	if !errors.Is(errs[9], unix.EEXIST) {
		t.Fatalf("duplicate = %v, want EEXIST", errs[9])
	}
	if diff := cmp.Diff([]int{10}, batchSizes(sock, 1)); diff != "" {
		t.Fatalf("sendmsg calls (-want +got):\n%s", diff)
	}
}

// TestApplyRefusedServiceDestinationsPerformed: a service another tool
// created between the caller's read and its Apply: the addition is
// refused with EEXIST, and the kernel still performs the real servers
// behind it in the chunk, into the other tool's service. Apply reports
// them done, as the kernel's table has them (only an ESRCH for that
// reason is rewritten to ErrNotAttempted), so a caller that must not add
// real servers to a service it did not create sends them in a later
// Apply, once its service's addition succeeded (as the director does).
func TestApplyRefusedServiceDestinationsPerformed(t *testing.T) {
	f := newFake()
	f.services = append(f.services, ServiceExtended{Service: batchSvc}) // the other tool's
	c, _ := dialFakeSocket(t, f)
	ops := append([]Op{{Kind: OpNewService, Service: batchSvc}}, addDests(batchSvc, 0, 3)...)
	errs := c.Apply(t.Context(), ops)
	if !errors.Is(errs[0], unix.EEXIST) {
		t.Fatalf("add service = %v, want EEXIST", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Errorf("real server %d = %v, want done: the kernel added it", i, err)
		}
	}
	if n := len(f.dests[batchSvc.Key()]); n != 3 {
		t.Fatalf("the other tool's service holds %d real servers, want the 3 Apply reports done", n)
	}
}

// TestApplyEncodeErrorInTheMiddle: what precedes an Op that cannot be
// encoded is applied, the Op fails naming its object, the rest is not
// attempted.
func TestApplyEncodeErrorInTheMiddle(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	ops := addDests(batchSvc, 0, 5)
	ops[2].Destination.Address = netip.MustParseAddr("2001:db8::1")
	ops[2].Destination.Family = Inet
	errs := c.Apply(t.Context(), ops)
	if errs[0] != nil || errs[1] != nil || errs[2] == nil || !strings.HasPrefix(errs[2].Error(), "ipvs: add destination") ||
		!errors.Is(errs[3], ErrNotAttempted) || !errors.Is(errs[4], ErrNotAttempted) {
		t.Fatalf("Apply = %v", errs)
	}
	if got := len(f.dests[batchSvc.Key()]); got != 2 {
		t.Fatalf("kernel holds %d destinations, want 2", got)
	}
}

// TestApplyLostAcknowledgement: answers dropped by a receive buffer
// overflow (ENOBUFS) make the outcome of every Op of the chunk without a
// refusal unknown, an error; the refusals the kernel kept are read without
// waiting, the following chunks are not sent, and the chunk limit is
// halved.
func TestApplyLostAcknowledgement(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	c := clientOn(t, deadlineSocket{sock})
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	c.limits.ops = 4
	ops := addDests(batchSvc, 0, 6)
	ops[1] = ops[0] // refused with EEXIST, a kept answer
	var n int
	sock.drop = func(uint32) bool { n++; return n == 2 } // the chunk's acknowledgement
	errs := c.Apply(t.Context(), ops)
	for i, err := range errs {
		switch {
		case i == 1:
			if !errors.Is(err, unix.EEXIST) {
				t.Fatalf("op 1 = %v, want the kept refusal (EEXIST)", err)
			}
		case i < 4:
			if !errors.Is(err, unix.ENOBUFS) || !errors.Is(err, ErrOutcomeUnknown) ||
				!strings.HasPrefix(err.Error(), "ipvs: add destination "+realServer(i).Address.String()+":80 in tcp 10.0.0.100:80: ") {
				t.Fatalf("op %d = %v, want an unknown outcome (ENOBUFS)", i, err)
			}
		default:
			if !errors.Is(err, ErrNotAttempted) {
				t.Fatalf("op %d = %v, want ErrNotAttempted", i, err)
			}
		}
	}
	if c.limits.ops != 2 {
		t.Fatalf("chunk limit %d after an overflow, want 2", c.limits.ops)
	}
	if sock.deadline {
		t.Fatal("the read deadline is left set")
	}
	// The socket is usable again.
	if _, err := c.Services(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestApplyLostAcknowledgementNoDeadline: without read deadlines nothing
// can be drained: every Op of the chunk is unknown.
func TestApplyLostAcknowledgementNoDeadline(t *testing.T) {
	f := newFake()
	c, sock := dialFakeSocket(t, f)
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	c.limits.ops = 4
	var n int
	sock.drop = func(uint32) bool { n++; return n == 1 }
	errs := c.Apply(t.Context(), addDests(batchSvc, 0, 6))
	for i, err := range errs[:4] {
		if !errors.Is(err, unix.ENOBUFS) || !strings.Contains(err.Error(), "outcome unknown") {
			t.Fatalf("op %d = %v, want an unknown outcome (ENOBUFS)", i, err)
		}
	}
	for i, err := range errs[4:] {
		if !errors.Is(err, ErrNotAttempted) {
			t.Fatalf("op %d = %v, want ErrNotAttempted", i+4, err)
		}
	}
}

func TestApplyEmpty(t *testing.T) {
	c, sock := dialFakeSocket(t, newFake())
	before := len(sock.sends)
	if errs := c.Apply(t.Context(), nil); len(errs) != 0 || len(sock.sends) != before {
		t.Fatalf("Apply(nil) = %v, %d sends", errs, len(sock.sends)-before)
	}
}

func TestSequencesSkipZero(t *testing.T) {
	c := &Client{seq: ^uint32(0) - 2}
	if got := c.sequences(2); got != ^uint32(0)-2 { // 0xfffffffd, 0xfffffffe
		t.Fatalf("first = %#x", got)
	}
	c.seq += 2
	if got := c.sequences(5); got != 1 { // 0xffffffff, 0, ...: wraps through 0
		t.Fatalf("after wrap = %d, want 1", got)
	}
	c.seq = 6
	if got := c.sequences(1); got != 6 {
		t.Fatalf("next = %d, want 6", got)
	}
	if got := (&Client{}).sequences(1); got == 0 {
		t.Fatal("a new client starts at 0")
	}
}

func TestLimitsFor(t *testing.T) {
	for _, tc := range []struct {
		rcv, snd int
		want     chunkLimits
	}{
		{8 << 20, 2 << 20, chunkLimits{ops: 4096, bytes: 2<<20 - sendSlack}},
		{defaultBuf, defaultBuf, chunkLimits{ops: 208, bytes: defaultBuf - sendSlack}},
		{100, 100, chunkLimits{ops: 1, bytes: 4096}},
	} {
		if got := limitsFor(tc.rcv, tc.snd); got != tc.want {
			t.Errorf("limitsFor(%d, %d) = %+v, want %+v", tc.rcv, tc.snd, got, tc.want)
		}
	}
}
