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
	wantResult(t, runProbe(target(t, TCP, closedPort(t), nil)), false, "connect: connection refused")
}

// stalledListener returns 127.0.0.1:PORT of a listener whose accept
// queue is full (backlog 0, one connection never accepted): the kernel
// drops further handshakes, so a check's connect never completes.
func stalledListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	for range 2 { // fills the queue of a backlog 0 listener
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

// TestTCPTimeout: a connect that never completes fails at the check's
// timeout, named as such.
func TestTCPTimeout(t *testing.T) {
	tg := target(t, TCP, stalledListener(t), func(s *Spec) { s.Timeout = 300 * time.Millisecond })
	start := time.Now()
	wantResult(t, runProbe(tg), false, "connect: timeout after 300ms")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("failed after %v, before its timeout", d)
	}
}

// TestTCPCancel: cancelling a check's context ends a connect in progress
// long before its timeout (a stopping checker does not wait for it).
func TestTCPCancel(t *testing.T) {
	tg := target(t, TCP, stalledListener(t), func(s *Spec) { s.Timeout = time.Minute })
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
