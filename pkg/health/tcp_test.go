package health

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestTCPUp(t *testing.T) {
	ln := listenCounting(t, nil)
	wantResult(t, runProbe(target(t, TCP, ln.Addr().String(), nil)), true, "connected")
}

func TestTCPRefused(t *testing.T) {
	r := runProbe(target(t, TCP, closedPort(t), nil))
	if r.Up || r.Reason != "connect: connection refused" {
		t.Fatalf("result = %+v, want down, reason exactly %q", r, "connect: connection refused")
	}
}

// loopbackListener returns a TCP socket listening on 127.0.0.1 with
// backlog, closed when tb ends, and its port.
func loopbackListener(tb testing.TB, backlog int) (fd, port int) {
	tb.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		tb.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// stalledListener returns 127.0.0.1:PORT of a listener whose accept
// queue is full (backlog 0, one connection never accepted): the kernel
// drops further handshakes, so a check's connect does not complete. It
// also returns the listener's socket: accepting from it makes room.
func stalledListener(t *testing.T) (string, int) {
	t.Helper()
	fd, port := loopbackListener(t, 0)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for range 2 { // fills the queue of a backlog 0 listener
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr, fd
}

// TestTCPTimeout: a connect that never completes fails at the check's
// timeout, named as such.
func TestTCPTimeout(t *testing.T) {
	addr, _ := stalledListener(t)
	tg := target(t, TCP, addr, func(s *Spec) { s.Timeout = 300 * time.Millisecond })
	start := time.Now()
	wantResult(t, runProbe(tg), false, "connect: timeout after 300ms")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("failed after %v, before its timeout", d)
	}
}

// TestTCPCancel: cancelling a check's context ends a connect in progress
// long before its timeout (a stopping checker does not wait for it).
func TestTCPCancel(t *testing.T) {
	addr, _ := stalledListener(t)
	tg := target(t, TCP, addr, func(s *Spec) { s.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), tg.Spec.Timeout)
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan Result, 1)
	go func() { done <- probe(ctx, tg) }()
	select {
	case r := <-done:
		if r.Up {
			t.Fatalf("cancelled check passed: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled check still waits for its connect")
	}
}

// TestTCPConnectsAfterWaiting: a handshake that completes only after the
// check began to wait passes. The first SYN is dropped by the listener's
// full accept queue; an accept then makes room, and the kernel's
// retransmission (about a second later) connects. So the check is
// decided after a wake-up, not within connect as on an idle loopback.
func TestTCPConnectsAfterWaiting(t *testing.T) {
	addr, ln := stalledListener(t)
	tg := target(t, TCP, addr, func(s *Spec) { s.Timeout = 5 * time.Second })
	time.AfterFunc(100*time.Millisecond, func() {
		if c, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC); err == nil {
			unix.Close(c)
		}
	})
	start := time.Now()
	wantResult(t, runProbe(tg), true, "connected")
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("connected after %v, before the listener had room", d)
	}
}
