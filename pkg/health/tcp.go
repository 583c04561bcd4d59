package health

import (
	"context"
	"net"
)

// probeTCP passes when a TCP connection to the check address is accepted
// within the check's timeout (and before ctx ends). The connection is
// closed with a reset (SO_LINGER 0) so thousands of checks leave no
// TIME_WAIT sockets behind, as HAProxy does. An address with an IPv6 zone
// goes through net.Dialer (which maps the zone to an interface), under a
// context with the timeout; every other one through connectTCP, which
// makes no context: a check whose handshake is over within connect (on
// loopback and veth) needs no timer.
func probeTCP(ctx context.Context, t Target) Result {
	if checkAddr(t).Addr().Zone() == "" {
		if err := connectTCP(ctx, t); err != nil {
			return failure("connect", err, t.Spec.Timeout)
		}
		return Result{Up: true, Reason: "connected"}
	}
	ctx, cancel := context.WithTimeout(ctx, t.Spec.Timeout)
	defer cancel()
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
