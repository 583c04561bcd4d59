package health

import (
	"context"
	"net"
)

// probeConnect passes when a TCP connection to the check address (one
// without an IPv6 zone) is accepted within the check's timeout and before
// ctx ends, through connectTCP. Like probeTCP's, the connection is closed
// with a reset.
func probeConnect(ctx context.Context, t Target) Result {
	if err := connectTCP(ctx, t); err != nil {
		return failure("connect", err, t.Spec.Timeout)
	}
	return Result{Up: true, Reason: "connected"}
}

// probeTCP passes when a TCP connection to the check address is accepted
// before ctx ends, through net.Dialer, which maps an IPv6 zone to an
// interface. The connection is closed with a reset (SO_LINGER 0) so
// thousands of checks leave no TIME_WAIT sockets behind, as HAProxy does.
func probeTCP(ctx context.Context, t Target) Result {
	c, stop, err := dial(ctx, "tcp", t)
	if err != nil {
		return failure("connect", err, t.Spec.Timeout)
	}
	stop()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
	return Result{Up: true, Reason: "connected"}
}
