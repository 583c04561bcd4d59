package health

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/vishvananda/netlink"
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

// acceptingListener returns the port of a loopback listener that accepts
// and closes every connection with raw system calls, on a thread of its
// own: it allocates nothing in this process.
func acceptingListener(tb testing.TB) uint16 {
	fd, port := loopbackListener(tb, 4096)
	go func() {
		runtime.LockOSThread() // blocking accepts
		for {
			c, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			if errno != 0 {
				return // the listener was shut down
			}
			unix.Close(int(c))
		}
	}()
	tb.Cleanup(func() { unix.Shutdown(fd, unix.SHUT_RDWR) }) // ends the accepts, before the close
	return uint16(port)
}

// TestTCPConnectedAtOnce: on loopback the handshake is over when connect
// returns, and the check is decided then, without the runtime's poller
// (no os.File, deadline or context hook) and without a context or timer
// for its timeout: the whole probe, as a worker runs it, allocates
// nothing. (The average is whole allocations per run, so a rare
// handshake the kernel leaves to ksoftirqd on a loaded machine does not
// fail the test; a check entering the poller makes several.)
func TestTCPConnectedAtOnce(t *testing.T) {
	tg := target(t, TCP, fmt.Sprintf("127.0.0.1:%d", acceptingListener(t)), nil)
	c, ck := oneCheck(t, Options{}, tg)
	ctx := context.Background()
	runOnce := func() { c.run(ctx, job{ck: ck, seq: ck.seq, due: time.Now()}) }
	for range ck.t.Spec.Rise { // up: later runs change no state
		runOnce()
	}
	n := testing.AllocsPerRun(50, runOnce)
	if st := c.counters; st.Up == 0 || st.Down != 0 || n != 0 {
		t.Fatalf("%d passes, %d failures, %v allocations per check; want passes only, and no allocation", st.Up, st.Down, n)
	}
}

// stalledListener returns 127.0.0.1:PORT of a listener whose accept
// queue is full (backlog 0, one connection never accepted): the kernel
// drops further handshakes, so a check's connect does not complete. It
// also returns the listener's socket: accepting from it makes room.
//
// It connects until the kernel reports the queue full. A dial returns
// before the listener has processed its last ACK (on loopback that can
// wait for ksoftirqd), and on a loaded host a dial can time out: either
// way the queue may still have room, and a check would connect
// (TestTCPTimeout once saw "connected").
func stalledListener(t *testing.T) (string, int) {
	t.Helper()
	fd, port := loopbackListener(t, 0)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for !queueFull(t, fd) {
		if time.Now().After(deadline) {
			t.Fatalf("the accept queue of %s is not full after 10 s of connecting", addr)
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			t.Cleanup(func() { c.Close() })
		}
		for range 100 { // the ACK's arrival
			if queueFull(t, fd) {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return addr, fd
}

// queueFull reports whether the accept queue of the listener fd is full:
// for a listener, TCP_INFO's unacked is the queue's length and sacked its
// limit, and the kernel drops SYNs while the length exceeds the limit.
func queueFull(t *testing.T, fd int) bool {
	t.Helper()
	ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		t.Fatal(err)
	}
	return ti.Unacked > ti.Sacked
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

// TestTCPZonedIPv6: a link-local address with a zone (fe80::1%d0, on one
// end of a veth pair) is checked through net.Dialer, which maps the zone to its interface: up
// with a listener there, refused without one.
func TestTCPZonedIPv6(t *testing.T) {
	ns := nstest.New(t)
	if err := ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "d0"}, PeerName: "d1"}); err != nil {
		t.Fatal(err)
	}
	d0, err := ns.Handle.LinkByName("d0")
	if err != nil {
		t.Fatal(err)
	}
	d1, err := ns.Handle.LinkByName("d1")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Handle.LinkSetUp(d1); err != nil { // d0 has carrier only with its peer up
		t.Fatal(err)
	}
	ll, _ := netlink.ParseAddr("fe80::1/64")
	ll.Flags = unix.IFA_F_NODAD // usable at once
	if err := ns.Handle.AddrAdd(d0, ll); err != nil {
		t.Fatal(err)
	}
	if err := ns.Handle.LinkSetUp(d0); err != nil {
		t.Fatal(err)
	}
	waitLocalRoute(t, ns, net.ParseIP("fe80::1"), d0.Attrs().Index)
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", "[fe80::1%d0]:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cl := serveCounting(t, ln, nil)
	addr := netip.AddrPortFrom(netip.MustParseAddr("fe80::1%d0"), uint16(ln.Addr().(*net.TCPAddr).Port))
	check := func(port uint16) (r Result) {
		tg := target(t, TCP, netip.AddrPortFrom(addr.Addr(), port).String(), nil)
		if err := ns.Do(func() error { r = runProbe(tg); return nil }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	wantResult(t, check(addr.Port()), true, "connected")
	for deadline := time.Now().Add(5 * time.Second); cl.accepted.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the check passed, but the listener on fe80::1 (zone d0) accepted nothing")
		}
	}
	ln.Close()
	if r := check(addr.Port()); r.Up || r.Reason != "connect: connection refused" {
		t.Fatalf("without a listener: %+v, want down, connection refused", r)
	}
}

// waitLocalRoute waits (at most 5 s) until the kernel routes ip out of link
// as a local address. Addrconf installs that route from a work queue after
// the link comes up; until then a SYN to ip leaves through the link, finds
// no neighbour, and the check times out (seen in CI under load).
func waitLocalRoute(t *testing.T, ns *nstest.NS, ip net.IP, link int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rs, err := ns.Handle.RouteGetWithOptions(ip, &netlink.RouteGetOptions{OifIndex: link})
		if err == nil && len(rs) > 0 && rs[0].Type == unix.RTN_LOCAL {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on link %d is not a local route after 5 s: %v, %v", ip, link, rs, err)
		}
		time.Sleep(time.Millisecond)
	}
}
