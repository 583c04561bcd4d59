package health

import (
	"context"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// connectTCP opens a TCP connection to t's check address and closes it
// with a reset (SO_LINGER 0), reporting whether the handshake completed
// before ctx ended: a TCP check's whole work. It makes the system calls
// itself instead of going through net.Dialer, which for a connection that
// lives for one handshake costs a third more CPU: no address string built
// and parsed again, no TCP_NODELAY, getsockname or getpeername, no
// goroutine watching ctx. The socket waits in the runtime's poller, so
// thousands of checks in flight take no thread each. A failure is an
// *os.SyscallError ("connect: connection refused"), or
// os.ErrDeadlineExceeded when ctx ended first.
func connectTCP(ctx context.Context, t Target) error {
	to := checkAddr(t)
	sa, family := sockaddrOf(to)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	if err := prepareCheckSocket(fd, t); err != nil {
		unix.Close(fd)
		return err
	}
	switch err := unix.Connect(fd, sa); err {
	case nil: // connected at once (loopback can)
		unix.Close(fd)
		return nil
	case unix.EINPROGRESS:
	default:
		unix.Close(fd)
		return os.NewSyscallError("connect", err)
	}
	f := os.NewFile(uintptr(fd), "tcp check "+to.String()) // in the poller from here; Close closes fd
	defer f.Close()
	return awaitConnect(ctx, f)
}

// sockaddrOf is a as connect(2) takes it, and its address family. An
// IPv4-mapped IPv6 address is dialled as IPv4, as net.Dial does.
func sockaddrOf(a netip.AddrPort) (unix.Sockaddr, int) {
	ip := a.Addr().Unmap()
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: ip.As4()}, unix.AF_INET
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: ip.As16()}, unix.AF_INET6
}

// prepareCheckSocket sets what fd needs before connect: SO_LINGER 0 (the
// close sends a reset, so thousands of checks leave no TIME_WAIT behind),
// and for a check through the VIP the firewall mark and the source
// address (see dialerFor).
func prepareCheckSocket(fd int, t Target) error {
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return os.NewSyscallError("setsockopt SO_LINGER", err)
	}
	if t.Spec.Via != ThroughVIP {
		return nil
	}
	if err := setMark(fd, t.Mark); err != nil {
		return err
	}
	src, _ := sockaddrOf(netip.AddrPortFrom(t.Source, 0))
	if err := unix.Bind(fd, src); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

// awaitConnect waits until the connection f is making completes, or ctx
// ends, and returns connect's outcome.
func awaitConnect(ctx context.Context, f *os.File) error {
	if dl, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(dl); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var result error
	err = rc.Write(func(fd uintptr) bool {
		// Called before any wait (the handshake may be over already: on
		// loopback it usually is) and after each wake-up. Readiness that
		// came before the call is not remembered, so the state is read,
		// never assumed.
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			result = os.NewSyscallError("getsockopt", err)
		case v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) || v == int(unix.EINTR):
			return false
		case v != 0:
			result = os.NewSyscallError("connect", syscall.Errno(v))
		default:
			// No error yet: connected only if there is a peer, else
			// still in progress (or a spurious wake-up).
			if _, err := unix.Getpeername(int(fd)); err == unix.ENOTCONN {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return result
}
