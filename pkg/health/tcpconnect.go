package health

import (
	"context"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connectTCP opens a TCP connection to t's check address and closes it
// with a reset (SO_LINGER 0), reporting whether the handshake completed
// before ctx ended: a TCP check's whole work. It makes the system calls
// itself instead of going through net.Dialer, which for a connection that
// lives for one handshake costs a third more CPU: no address string built
// and parsed again, no TCP_NODELAY or getsockname, no goroutine watching
// ctx, the socket addresses on the stack. When the handshake is over
// within connect (on loopback and veth), one getpeername decides the
// check; otherwise it waits in the runtime's poller, so thousands of
// checks in flight take no thread each, until t's timeout (t.Spec.Timeout,
// from the call) or until ctx ends. A failure is an *os.SyscallError
// ("connect: connection refused"), or os.ErrDeadlineExceeded when the
// timeout or ctx ended first.
func connectTCP(ctx context.Context, t Target) error {
	deadline := time.Now().Add(t.Spec.Timeout)
	to := checkAddr(t)
	fd, err := unix.Socket(familyOf(to.Addr()), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	if err := prepareCheckSocket(fd, t); err != nil {
		unix.Close(fd)
		return err
	}
	switch err := connect(fd, to); err {
	case nil: // connected at once (loopback can)
		unix.Close(fd)
		return nil
	case unix.EINPROGRESS:
	default:
		unix.Close(fd)
		return os.NewSyscallError("connect", err)
	}
	// On loopback and veth the handshake is over by the time connect
	// returns: one getpeername decides the check, and the socket never
	// enters the poller (no os.File, deadline or context hook: a fifth
	// less CPU per check). Across a real network the handshake is still
	// under way, and this costs one system call more than waiting at once.
	if connected(fd) {
		unix.Close(fd)
		return nil
	}
	// In the poller from here; Close closes fd. The name would show only
	// in an error of the poller itself (a check's failure names the
	// system call), so it is not formatted per check.
	f := os.NewFile(uintptr(fd), "tcp check")
	defer f.Close()
	return awaitConnect(ctx, f, deadline)
}

// familyOf is the address family a check of a connects with: an
// IPv4-mapped IPv6 address is dialled as IPv4, as net.Dial does.
func familyOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// connect is connect(2) of fd to a, and bind is bind(2) of fd to a. They
// build the socket address on the stack: a check allocates none.
func connect(fd int, a netip.AddrPort) error { return sockaddrCall(unix.SYS_CONNECT, fd, a) }

func bind(fd int, a netip.AddrPort) error { return sockaddrCall(unix.SYS_BIND, fd, a) }

// sockaddrCall makes system call nr (connect or bind) with fd and a as a
// sockaddr_in, or a sockaddr_in6 (with no scope: a zoned address never
// gets here, see probeTCP). A failure is the bare errno.
func sockaddrCall(nr uintptr, fd int, a netip.AddrPort) error {
	var sa unix.RawSockaddrInet6 // the larger of the two
	n := uintptr(unix.SizeofSockaddrInet6)
	port := (*[2]byte)(unsafe.Pointer(&sa.Port)) // the same offset in both: network order
	port[0], port[1] = byte(a.Port()>>8), byte(a.Port())
	if ip := a.Addr().Unmap(); ip.Is4() {
		v4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		v4.Family, v4.Addr, n = unix.AF_INET, ip.As4(), unix.SizeofSockaddrInet4
	} else {
		sa.Family, sa.Addr = unix.AF_INET6, ip.As16()
	}
	if _, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&sa)), n); e != 0 {
		return e
	}
	return nil
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
	if err := bind(fd, netip.AddrPortFrom(t.Source, 0)); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

// connected reports whether socket fd has a peer: getpeername(2), its
// address read into a buffer on the stack.
func connected(fd int) bool {
	var sa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.Syscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	return e == 0
}

// connectState reads where the connect on fd is: done, with nil
// (connected) or the failure, or still in progress. A pending error
// failed it (read first: it is where a wake-up usually comes from when it
// is not a connection); a socket with a peer is connected. With neither
// it is still connecting, or woke spuriously.
func connectState(fd int) (bool, error) {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case err != nil:
		return true, os.NewSyscallError("getsockopt", err)
	case v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) || v == int(unix.EINTR):
		return false, nil
	case v != 0:
		return true, os.NewSyscallError("connect", syscall.Errno(v))
	}
	return connected(fd), nil
}

// awaitConnect waits until the connection f is making completes, the
// deadline passes or ctx ends, and returns connect's outcome.
func awaitConnect(ctx context.Context, f *os.File, deadline time.Time) error {
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := f.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var result error
	err = rc.Write(func(fd uintptr) bool {
		// Called before any wait and after each wake-up. Readiness that
		// came before the first call is not remembered, so the state is
		// read, never assumed.
		done, err := connectState(int(fd))
		result = err
		return done
	})
	if err != nil {
		return err
	}
	return result
}
