package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// checkAddr is where a check of t connects: the real server, or the VIP
// when the check goes through the forwarding path.
func checkAddr(t Target) netip.AddrPort {
	if t.Spec.Via == ThroughVIP {
		return netip.AddrPortFrom(t.VIP, t.Spec.Port)
	}
	return netip.AddrPortFrom(t.Address, t.Spec.Port)
}

// dialerFor returns the dialer for network ("tcp" or "udp") a check of t
// uses: plain for direct checks; for checks through the VIP, source bound
// to t.Source and SO_MARK set to t.Mark before connect, so the director's
// per-real-server firewall-mark service forwards the packet to exactly
// that real server.
func dialerFor(network string, t Target) *net.Dialer {
	d := &net.Dialer{KeepAlive: -1} // a check connection lives for one exchange
	if t.Spec.Via != ThroughVIP {
		return d
	}
	src := netip.AddrPortFrom(t.Source, 0)
	if network == "udp" {
		d.LocalAddr = net.UDPAddrFromAddrPort(src)
	} else {
		d.LocalAddr = net.TCPAddrFromAddrPort(src)
	}
	d.Control = func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = setMark(int(fd), t.Mark) })
		if err == nil {
			err = serr
		}
		return err
	}
	return d
}

// setMark puts a check through the VIP's firewall mark on socket fd,
// before it connects (policy routing by mark then picks its path).
func setMark(fd int, mark uint32) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(mark)); err != nil {
		return fmt.Errorf("setsockopt SO_MARK %d: %w", mark, err)
	}
	return nil
}

// dial connects a check of t and puts ctx's deadline on the connection;
// cancelling ctx interrupts any read or write in progress. Call the
// returned stop before closing.
func dial(ctx context.Context, network string, t Target) (net.Conn, func() bool, error) {
	c, err := dialerFor(network, t).DialContext(ctx, network, checkAddr(t).String())
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(dl); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return c, stop, nil
}

// failure builds a failing result for step from err: a timeout names the
// check's timeout, anything else the innermost system error (the system
// call not named twice when it is the step). An error of the director's
// own (directorLocal) makes it no result (Result.Local).
func failure(step string, err error, timeout time.Duration) Result {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return Result{Reason: fmt.Sprintf("%s: timeout after %s", step, timeout)}
	}
	local := directorLocal(err)
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se
		if se.Syscall == step {
			err = se.Err // "connect: connection refused", not "connect: connect: ..."
		}
	}
	return Result{Reason: fmt.Sprintf("%s: %v", step, err), Local: local}
}

// directorLocal reports whether err is the director's own failure, one
// that says nothing of the real server: its source address is gone
// (EADDRNOTAVAIL: a via: vip check's source after the director was
// renumbered, or no local port left), or it is out of file descriptors,
// socket buffers, memory or processes (EMFILE, ENFILE, ENOBUFS, ENOMEM,
// EAGAIN). Failing the check for it would take healthy real servers out
// of service for the director's trouble.
func directorLocal(err error) bool {
	for _, e := range []error{unix.EADDRNOTAVAIL, unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
