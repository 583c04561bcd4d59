package ipvs

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestApplyLostAcknowledgementIsOutcomeUnknown: a dropped acknowledgement
// is ErrOutcomeUnknown for every Op of its chunk, never a plain failure
// nor a success.
func TestApplyLostAcknowledgementIsOutcomeUnknown(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	c := clientOn(t, deadlineSocket{sock})
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	c.limits.ops = 4
	var n int
	sock.drop = func(uint32) bool { n++; return n == 1 }
	errs := c.Apply(t.Context(), addDests(batchSvc, 0, 4))
	for i, err := range errs {
		if !errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("op %d = %v, want ErrOutcomeUnknown", i, err)
		}
	}
	if got := len(f.dests[batchSvc.Key()]); got != 4 {
		t.Fatalf("the kernel holds %d destinations, want 4 (the unacknowledged one was done)", got)
	}
}

// TestTimeoutLeavesNoReplyForTheNextCall: a read that times out leaves the
// chunk's acknowledgements queued; the next call drains them first and
// reads its own answer instead of failing with "mismatched sequence".
func TestTimeoutLeavesNoReplyForTheNextCall(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	c := clientOn(t, deadlineSocket{sock})
	sock.timeouts = 1
	errs := c.Apply(t.Context(), []Op{{Kind: OpNewService, Service: batchSvc}})
	if !errors.Is(errs[0], ErrOutcomeUnknown) || !errors.Is(errs[0], os.ErrDeadlineExceeded) {
		t.Fatalf("Apply = %v, want an unknown outcome after the deadline", errs[0])
	}
	if len(sock.queue) == 0 {
		t.Fatal("the test needs the acknowledgement left queued")
	}
	svcs, err := c.Services(t.Context())
	if err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if len(svcs) != 1 {
		t.Fatalf("Services = %v, want the service the timed-out request added", svcs)
	}
	// A dump that times out midway: the same.
	sock.timeouts = 1
	if _, err := c.Destinations(t.Context(), batchSvc); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Destinations = %v, want a timeout", err)
	}
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatalf("after a timed-out dump: %v", err)
	}
}

// TestChunkLimitGrowsBack: the limit halved by an overflow doubles again
// after growAfter chunks whose acknowledgements all came, up to what the
// buffers allow.
func TestChunkLimitGrowsBack(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	c := clientOn(t, deadlineSocket{sock})
	if err := c.NewService(t.Context(), batchSvc); err != nil {
		t.Fatal(err)
	}
	c.limits.ops, c.maxOps = 8, 8
	var n int
	sock.drop = func(uint32) bool { n++; return n == 1 }
	c.Apply(t.Context(), addDests(batchSvc, 0, 8))
	if c.limits.ops != 4 {
		t.Fatalf("limit %d after an overflow, want 4", c.limits.ops)
	}
	sock.drop = nil
	c.Apply(t.Context(), addDests(batchSvc, 100, 100+4*growAfter)) // growAfter whole chunks of 4
	if c.limits.ops != 8 {
		t.Fatalf("limit %d after %d whole chunks, want 8", c.limits.ops, growAfter)
	}
	c.Apply(t.Context(), addDests(batchSvc, 200, 200+8*growAfter))
	if c.limits.ops != 8 {
		t.Fatalf("limit %d, want it capped at 8", c.limits.ops)
	}
}

// TestContextBoundsTheSocket: the context's deadline and cancellation end
// a read the kernel never answers, on a real socket.
func TestContextBoundsTheSocket(t *testing.T) {
	c := rawCtrlClient(t)
	recv := func(ctx context.Context) error {
		end, err := c.begin(ctx)
		if err != nil {
			return err
		}
		defer end()
		return c.tr.recv(func(uint32, unix.Errno) {})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := recv(ctx); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("recv past the deadline = %v, want a timeout", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	// The cancellation, not DefaultTimeout, must end the read: a bound
	// far above the 50 ms and far below DefaultTimeout tells them apart.
	got := make(chan error, 1)
	go func() { got <- recv(ctx) }()
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("recv after cancel = %v, want it interrupted", err)
		}
	case <-time.After(DefaultTimeout / 4):
		t.Fatal("recv not interrupted by the cancellation")
	}
	// The deadline is cleared afterwards: a call with a live context works.
	if err := c.Apply(t.Context(), addDests(batchSvc, 0, 1))[0]; !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("after a cancelled call: %v", err)
	}
	done, cancelDone := context.WithCancel(t.Context())
	cancelDone()
	if err := c.Apply(done, addDests(batchSvc, 0, 1))[0]; !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestCancelNamesTheContext: a call cut short by its context says so.
func TestCancelNamesTheContext(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	c := clientOn(t, deadlineSocket{sock})
	sock.timeouts = 1
	ctx, cancel := context.WithCancel(t.Context())
	sock.onTimeout = cancel
	if _, err := c.Services(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Services = %v, want context.Canceled", err)
	}
}

// TestWaitForClientEndsAtDeadline: a request the kernel never finishes
// (Linux 6.1's DEL_DAEMON right after the daemon's start, handled inside
// sendmsg) holds the client; a later call does not wait behind it past
// its own deadline but returns context.DeadlineExceeded, and the client
// serves calls again once the request ends.
func TestWaitForClientEndsAtDeadline(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	inner := sock.fn
	entered, release := make(chan struct{}), make(chan struct{})
	sock.fn = func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if greq.Header.Command == cmdDelDaemon {
			close(entered)
			<-release // the kernel's handler, inside sendmsg
			return nil, genltest.Error(int(unix.ESRCH))
		}
		return inner(greq, nreq)
	}
	c := clientOn(t, sock)
	hung := make(chan error, 1)
	go func() { hung <- c.DeleteDaemon(context.Background(), DaemonMaster) }()
	<-entered

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	waited := make(chan [2]error, 1)
	go func() {
		_, err := c.Services(ctx)
		errs := c.Apply(ctx, []Op{{Kind: OpNewService, Service: batchSvc}})
		waited <- [2]error{err, errs[0]}
	}()
	select {
	case errs := <-waited:
		if !errors.Is(errs[0], context.DeadlineExceeded) || !errors.Is(errs[1], context.DeadlineExceeded) {
			t.Fatalf("calls while another holds the client = %v, %v; want context.DeadlineExceeded", errs[0], errs[1])
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("calls with a 50ms deadline still wait for the client after 5s")
	}
	if len(f.services) != 0 {
		t.Fatalf("the kernel holds %v", f.services)
	}

	close(release)
	if err := <-hung; !errors.Is(err, unix.ESRCH) {
		t.Fatalf("the held request = %v", err)
	}
	if err := c.NewService(t.Context(), batchSvc); err != nil || len(f.services) != 1 {
		t.Fatalf("a call after the request ended = %v (kernel %v)", err, f.services)
	}
}
