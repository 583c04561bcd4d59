package director

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"testing"
	"time"
)

// packetSockets counts the packet sockets open in ns (its
// /proc/net/packet, one line each after the header).
func packetSockets(t *testing.T, b *bed) int {
	t.Helper()
	var n int
	err := b.ns.Do(func() error {
		p, err := os.ReadFile("/proc/thread-self/net/packet")
		n = bytes.Count(p, []byte("\n")) - 1
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGARPSharesOneSocket: the gratuitous ARPs of one pass go out of one
// packet socket (closing one waits for an RCU grace period), open between
// announcements and released with the kernel: gone once the kernel's
// grace period ended, without closeK waiting for it.
func TestGARPSharesOneSocket(t *testing.T) {
	b := newBed(t)
	o := b.opts()
	o.NetNS = b.ns.Fd()
	ctx := context.Background()
	k, _, closeK, err := openKernel(ctx, o, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := packetSockets(t, b); n != 0 {
		t.Fatalf("before any announcement: %d packet sockets, want none", n)
	}
	for i, a := range []netip.Addr{vip1, vip2, netip.MustParseAddr("10.0.0.201")} {
		if err := k.GARP(ctx, "eth0", a); err != nil {
			t.Fatalf("announce %v: %v", a, err)
		}
		if n := packetSockets(t, b); n != 1 {
			t.Fatalf("after %d announcement(s): %d packet sockets in the namespace, want 1", i+1, n)
		}
	}
	closeK()
	for deadline := time.Now().Add(5 * time.Second); packetSockets(t, b) != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after closing the kernel: %d packet sockets, want none", packetSockets(t, b))
		}
	}
}
