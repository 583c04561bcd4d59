package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// listSvc is the i-th service of the tests of DestinationsOf.
func listSvc(i int) Service {
	return Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: uint16(80 + i), Scheduler: "wrr", Netmask: 32}
}

// listTable adds services 0..n-1 (but not those in absent) to c, service
// i with i destinations, and returns the n services.
func listTable(t *testing.T, c *Client, n int, absent ...int) []Service {
	t.Helper()
	var ops []Op
	svcs := make([]Service, n)
	for i := range n {
		svcs[i] = listSvc(i)
		if slices.Contains(absent, i) {
			continue
		}
		ops = append(ops, Op{Kind: OpNewService, Service: svcs[i]})
		ops = append(ops, addDests(svcs[i], 0, i)...)
	}
	for _, err := range c.Apply(t.Context(), ops) {
		if err != nil {
			t.Fatal(err)
		}
	}
	return svcs
}

// TestDestinationsOfListsEachService: each gets every existing service's
// destinations with its index, in order; a service the kernel does not
// know (ESRCH) is skipped, one dump per service.
func TestDestinationsOfListsEachService(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	svcs := listTable(t, c, 4, 1)
	f.requests = nil
	got := map[int][]Destination{}
	var order []int
	err := c.DestinationConfigsOf(t.Context(), svcs, func(i int, ds []Destination) {
		order = append(order, i)
		got[i] = ds
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []int{0, 2, 3}) {
		t.Fatalf("each called for %v, want [0 2 3] (1 does not exist)", order)
	}
	for _, i := range order {
		want, err := c.DestinationConfigs(t.Context(), svcs[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(got[i]) != i || !slices.Equal(got[i], want) {
			t.Fatalf("service %d: %v, want %d destinations %v", i, got[i], i, want)
		}
	}
	if got[0] == nil {
		t.Fatal("a service without destinations: nil, want an empty list")
	}
	if n := len(f.requests) - len(order); n != len(svcs) {
		t.Fatalf("%d dumps for %d services", n, len(svcs))
	}
	var counted []int
	err = c.DestinationsOf(t.Context(), svcs, func(i int, ds []DestinationExtended) {
		counted = append(counted, i)
		if len(ds) != i {
			t.Errorf("service %d: %d destinations with counters, want %d", i, len(ds), i)
		}
	})
	if err != nil || !slices.Equal(counted, order) {
		t.Fatalf("DestinationsOf: each called for %v, %v; want %v", counted, err, order)
	}
	if err := c.DestinationsOf(t.Context(), nil, nil); err != nil {
		t.Fatalf("no service: %v", err)
	}
}

// TestDestinationsOfStopsAtAFailure: a refusal other than ESRCH stops the
// list, named after its service, with its errno.
func TestDestinationsOfStopsAtAFailure(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	serve := sock.fn
	dumps := 0
	sock.fn = func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if greq.Header.Command == cmdGetDest {
			if dumps++; dumps == 2 {
				return nil, genltest.Error(int(unix.EPERM))
			}
		}
		return serve(greq, nreq)
	}
	c := clientOn(t, sock)
	svcs := listTable(t, c, 3)
	var called []int
	err := c.DestinationConfigsOf(t.Context(), svcs, func(i int, _ []Destination) { called = append(called, i) })
	var ie *Error
	if !errors.Is(err, unix.EPERM) || !errors.As(err, &ie) || ie.Object != svcs[1].String() || ie.Op != "list destinations of" {
		t.Fatalf("err = %v, want EPERM naming %v", err, svcs[1])
	}
	if !slices.Equal(called, []int{0}) || dumps != 2 {
		t.Fatalf("each called for %v after %d dumps, want [0] after 2", called, dumps)
	}
}

// TestDestinationsOfStopsOnCancel: a cancellation stops the list before
// the next dump, and interrupts a read that waits; either way the error
// names the context and the service.
func TestDestinationsOfStopsOnCancel(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	c := clientOn(t, deadlineSocket{sock})
	svcs := listTable(t, c, 4)
	f.requests = nil
	ctx, cancel := context.WithCancel(t.Context())
	var called []int
	err := c.DestinationConfigsOf(ctx, svcs, func(i int, _ []Destination) {
		called = append(called, i)
		if i == 1 {
			cancel()
		}
	})
	var ie *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ie) || ie.Object != svcs[2].String() {
		t.Fatalf("err = %v, want context.Canceled naming %v", err, svcs[2])
	}
	if !slices.Equal(called, []int{0, 1}) || len(f.requests) != 2 {
		t.Fatalf("each called for %v, %d dumps; want [0 1], 2", called, len(f.requests))
	}
	// Cancelled while a read waits (the deadline the cancellation sets
	// ends it).
	ctx, cancel = context.WithCancel(t.Context())
	sock.timeouts, sock.onTimeout = 1, cancel
	err = c.DestinationsOf(ctx, svcs, func(int, []DestinationExtended) { t.Error("each called after the cancellation") })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ie) || ie.Object != svcs[0].String() {
		t.Fatalf("err = %v, want context.Canceled, interrupting the read, naming %v", err, svcs[0])
	}
	// Cancelled before: nothing is sent.
	f.requests = nil
	if err := c.DestinationsOf(ctx, svcs, nil); !errors.Is(err, context.Canceled) || len(f.requests) != 0 {
		t.Fatalf("with a cancelled context: %v after %d requests, want context.Canceled and none", err, len(f.requests))
	}
	// The client works afterwards.
	if err := c.DestinationConfigsOf(t.Context(), svcs, func(int, []Destination) {}); err != nil {
		t.Fatalf("after the cancellations: %v", err)
	}
}

// TestDestinationsOfRawTransport: on a real socket (nlctrl refuses the
// dump with EOPNOTSUPP), the refusal names the first service.
func TestDestinationsOfRawTransport(t *testing.T) {
	c := rawCtrlClient(t)
	svcs := []Service{listSvc(0), listSvc(1)}
	err := c.DestinationConfigsOf(t.Context(), svcs, func(int, []Destination) { t.Error("each called") })
	var ie *Error
	if !errors.Is(err, unix.EOPNOTSUPP) || !errors.As(err, &ie) || ie.Object != svcs[0].String() {
		t.Fatalf("err = %v, want EOPNOTSUPP naming %v", err, svcs[0])
	}
	// The socket holds nothing for the next call.
	if err := c.Apply(t.Context(), addDests(batchSvc, 0, 1))[0]; !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("the next call: %v", err)
	}
}

// TestDestinationsTwoClientsAtOnce: the slices dumps decode into are
// shared by every client, so a result must be copied out before its slice
// goes back. Client a's copy is held up (its slab's lock taken) while
// client b dumps on the same P; before, a's slice was already back and b
// decoded its own real servers into it, which a then returned as its own.
func TestDestinationsTwoClientsAtOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var (
		cs    [2]*Client
		svcs  [2]Service
		wants [2][]Destination
	)
	for g := range 2 {
		cs[g] = dialFake(t, newFake())
		svcs[g] = Service{Family: Inet, Protocol: TCP, Address: netip.AddrFrom4([4]byte{10, 0, byte(g), 100}), Port: 80, Scheduler: "wrr", Netmask: 32}
		ops := append([]Op{{Kind: OpNewService, Service: svcs[g]}}, addDests(svcs[g], 256*g, 256*g+8)...) // 10.1.g.*
		for _, err := range cs[g].Apply(t.Context(), ops) {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, op := range ops[1:] {
			wants[g] = append(wants[g], op.Destination)
		}
	}
	a, b := cs[0], cs[1]
	// Each round leaves to chance only whether the race detector's
	// sync.Pool dropped a's slice (one Put in four).
	for round := range 20 {
		counters := round%2 == 1 // Destinations, else DestinationConfigs
		list := func(c *Client, s Service) ([]Destination, error) {
			if !counters {
				return c.DestinationConfigs(t.Context(), s)
			}
			dx, err := c.Destinations(t.Context(), s)
			var ds []Destination
			for _, d := range dx {
				ds = append(ds, d.Destination)
			}
			return ds, err
		}
		a.slabMu.Lock()
		got := make(chan []Destination, 1)
		go func() {
			ds, err := list(a, svcs[0])
			if err != nil {
				t.Error(err)
			}
			got <- ds
		}()
		time.Sleep(time.Millisecond) // a dumps, then waits for its slab
		if ds, err := list(b, svcs[1]); err != nil || !slices.Equal(ds, wants[1]) {
			t.Fatalf("round %d: b's destinations = %v, %v", round, ds, err)
		}
		a.slabMu.Unlock()
		if ds := <-got; !slices.Equal(ds, wants[0]) {
			t.Fatalf("round %d (counters %v): a's destinations = %v, want %v", round, counters, ds, wants[0])
		}
	}
}
