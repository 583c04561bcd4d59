package ipvs

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// closeCounting is a fakeSocket that counts its Closes.
type closeCounting struct {
	*fakeSocket
	closes *atomic.Int32
}

func (s closeCounting) Close() error { s.closes.Add(1); return nil }

// TestCloseBehindHungRequest: a request the kernel never finishes (a
// handler blocked inside sendmsg) holds the client; CloseContext behind
// it returns at its context's end with an error wrapping it instead of
// waiting for ever, the socket is closed as soon as the request ends
// (once), and calls after it fail with net.ErrClosed.
func TestCloseBehindHungRequest(t *testing.T) {
	f := newFake()
	sock := fakeSocketFor(f)
	inner := sock.fn
	entered, release := make(chan struct{}), make(chan struct{})
	sock.fn = func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if greq.Header.Command == cmdDelDaemon {
			close(entered)
			<-release
			return nil, genltest.Error(int(unix.ESRCH))
		}
		return inner(greq, nreq)
	}
	var closes atomic.Int32
	c := clientOn(t, closeCounting{sock, &closes})
	hung := make(chan error, 1)
	go func() { hung <- c.DeleteDaemon(context.Background(), DaemonMaster) }()
	<-entered

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- c.CloseContext(ctx) }()
	select {
	case err := <-closed:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("CloseContext behind a hung request = %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("CloseContext with a 50ms deadline still waits behind the hung request after 5s")
	}
	if n := closes.Load(); n != 0 {
		t.Fatalf("the socket was closed %d times under the running request", n)
	}

	close(release)
	if err := <-hung; !errors.Is(err, unix.ESRCH) {
		t.Fatalf("the held request = %v", err)
	}
	if n := closes.Load(); n != 1 {
		t.Fatalf("after the request ended the socket was closed %d times, want 1", n)
	}
	if _, err := c.Services(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a call after Close = %v, want net.ErrClosed", err)
	}
	if err := c.Close(); err != nil || closes.Load() != 1 {
		t.Fatalf("a second Close = %v, socket closed %d times", err, closes.Load())
	}
}

// TestCloseIdle: Close of an idle client closes its socket at once.
func TestCloseIdle(t *testing.T) {
	var closes atomic.Int32
	c := clientOn(t, closeCounting{fakeSocketFor(newFake()), &closes})
	if err := c.Close(); err != nil || closes.Load() != 1 {
		t.Fatalf("Close = %v, socket closed %d times", err, closes.Load())
	}
}

// stuckDrain is a transport whose drain (reset's, after a failed call)
// waits for release, then fails: the socket cannot be emptied.
type stuckDrain struct {
	transport
	entered, release chan struct{}
}

func (s stuckDrain) drain(func(uint32, syscall.Errno)) error {
	close(s.entered)
	<-s.release
	return errors.New("drain: not readable")
}

// TestCloseBehindFailingBegin: a Close that gave up waiting for a call
// that then fails before its request (the socket left dirty by an
// earlier call cannot be emptied nor reopened) still closes the socket
// as that call lets the client go, and calls after it fail with
// net.ErrClosed instead of running on a socket Close let go of.
func TestCloseBehindFailingBegin(t *testing.T) {
	var closes atomic.Int32
	c := clientOn(t, closeCounting{fakeSocketFor(newFake()), &closes})
	entered, release := make(chan struct{}), make(chan struct{})
	c.tr = stuckDrain{c.tr, entered, release}
	c.dirty, c.redial = true, true
	c.cfg = Config{NetNS: 1 << 20} // no such descriptor: the reopen fails
	failed := make(chan error, 1)
	go func() { _, err := c.Services(context.Background()); failed <- err }()
	<-entered

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.CloseContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext behind the call = %v, want context.DeadlineExceeded", err)
	}
	close(release)
	if err := <-failed; err == nil {
		t.Fatal("the call behind the stuck reset succeeded")
	}
	if n := closes.Load(); n != 1 {
		t.Fatalf("after the call let the client go the socket was closed %d times, want 1", n)
	}
	if _, err := c.Services(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a call after Close = %v, want net.ErrClosed", err)
	}
}
