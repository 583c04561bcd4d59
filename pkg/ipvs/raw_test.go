package ipvs

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rawCtrlClient is a client whose "IPVS family" is the generic netlink
// controller (nlctrl), on a real socket with the raw transport: nlctrl
// knows none of the IPVS commands, so the kernel refuses every request
// with EOPNOTSUPP, each answer carrying its request's sequence number.
// This runs the production path (sendto, read, parsing, drain) without
// IPVS, on any Linux host, without privileges.
func rawCtrlClient(t testing.TB) *Client {
	t.Helper()
	conn, err := netlink.Dial(unix.NETLINK_GENERIC, nil)
	if err != nil {
		t.Skipf("no generic netlink socket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	lim := sizeBuffers(conn)
	return &Client{nl: conn, family: unix.GENL_ID_CTRL, version: 1, limits: lim, maxOps: lim.ops, tr: newRawTransport(rc)}
}

func TestRawTransportMapsRefusals(t *testing.T) {
	c := rawCtrlClient(t)
	c.limits.ops = 100
	ops := addDests(batchSvc, 0, 250)
	errs := c.Apply(t.Context(), ops)
	for i, err := range errs {
		if i >= 100 {
			if !errors.Is(err, ErrNotAttempted) {
				t.Fatalf("op %d (second chunk) = %v, want ErrNotAttempted", i, err)
			}
			continue
		}
		var ie *Error
		if !errors.Is(err, unix.EOPNOTSUPP) || !errors.As(err, &ie) || ie.Object != ops[i].object() {
			t.Fatalf("op %d = %v, want EOPNOTSUPP naming %s", i, err, ops[i].object())
		}
	}
}

func TestRawTransportOverflow(t *testing.T) {
	c := rawCtrlClient(t)
	rc, _ := c.nl.SyscallConn()
	_ = rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1) }) // the minimum
	c.limits.ops = 200
	ops := addDests(batchSvc, 0, 300)
	errs := c.Apply(t.Context(), ops)
	var refused, unknown int
	for i, err := range errs {
		switch {
		case i >= 200:
			if !errors.Is(err, ErrNotAttempted) {
				t.Fatalf("op %d (second chunk) = %v, want ErrNotAttempted", i, err)
			}
		case errors.Is(err, unix.EOPNOTSUPP):
			refused++
		case errors.Is(err, unix.ENOBUFS) && strings.Contains(err.Error(), "outcome unknown"):
			unknown++
		default:
			t.Fatalf("op %d = %v", i, err)
		}
	}
	t.Logf("%d refusals read, %d acknowledgements lost", refused, unknown)
	if refused == 0 || unknown == 0 {
		t.Fatalf("%d refusals read, %d lost: want some of each from a minimal receive buffer", refused, unknown)
	}
	if c.limits.ops != 100 {
		t.Fatalf("chunk limit %d after an overflow, want 100", c.limits.ops)
	}
	// Nothing is left queued: the next request reads its own answer.
	c.limits.ops = 1
	if err := c.Apply(t.Context(), ops[:1])[0]; !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("after the overflow: %v", err)
	}
}

// TestRawDump runs the raw transport's dump against nlctrl: its family
// dump lists every generic netlink family, nlctrl among them, over as
// many datagrams as it takes; a command nlctrl does not know is refused
// with its errno, and the socket serves the next request.
func TestRawDump(t *testing.T) {
	c := rawCtrlClient(t)
	var names []string
	err := c.dump(t.Context(), unix.CTRL_CMD_GETFAMILY, nil, func(p []byte) {
		a := attrs{b: p}
		for {
			typ, v, ok := a.next()
			if !ok {
				break
			}
			if typ == unix.CTRL_ATTR_FAMILY_NAME {
				names = append(names, str(v))
			}
		}
	})
	if err != nil || !slices.Contains(names, "nlctrl") {
		t.Fatalf("family dump = %v, %v; want nlctrl among them", names, err)
	}
	if err := c.dump(t.Context(), 200, nil, func([]byte) { t.Fatal("a refused dump has no replies") }); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("dump of an unknown command = %v, want EOPNOTSUPP", err)
	}
	if c.dirty {
		t.Fatal("a refusal left the socket dirty")
	}
	if err := c.dump(t.Context(), unix.CTRL_CMD_GETFAMILY, nil, func([]byte) {}); err != nil {
		t.Fatalf("the next dump: %v", err)
	}
}

// BenchmarkRawDump runs one small dump (the generic netlink families) on
// the production path, as observe runs one per service: what a call costs
// besides the kernel's answer.
func BenchmarkRawDump(b *testing.B) {
	c := rawCtrlClient(b)
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.dump(ctx, unix.CTRL_CMD_GETFAMILY, nil, func([]byte) {}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeldReadWaitsThroughThePoller: a raw read that finds nothing queued
// waits through the runtime's poller, bounded by the call's deadline,
// and the raw calls answer as the poller's do.
func TestHeldReadWaitsThroughThePoller(t *testing.T) {
	c := rawCtrlClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	end, err := c.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rt := c.tr.(*rawTransport)
	err = rt.hold(func() error {
		if rt.fd < 0 {
			t.Error("hold did not set the descriptor")
		}
		_, err := rt.recvDatagram()
		return err
	})
	end()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read with nothing queued = %v, want it to wait until the deadline", err)
	}
	if rt.fd != -1 {
		t.Fatalf("fd %d after hold, want -1", rt.fd)
	}
}
