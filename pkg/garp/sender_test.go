package garp

import (
	"context"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// inode is the inode of f's socket: a reopened socket has another one,
// even when it got the same descriptor number.
func inode(t *testing.T, f *os.File) uint64 {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestSenderKeepsOneSocket: one Sender announces several VIPs, each of
// which the peer learns, through the one packet socket it opened first;
// Close closes it.
func TestSenderKeepsOneSocket(t *testing.T) {
	vips := []string{"10.0.0.100", "10.0.0.101", "10.0.0.102"}
	pr := newPair(t, "10.0.0.100/32", "10.0.0.101/32", "10.0.0.102/32")
	c := pr.capture(t)
	// The veth carries frames once a one-shot announcement of the
	// sender's own address gets through.
	var p arp.Packet
	pr.announceAndCapture(t, c, "10.0.0.1", func(f *ethernet.Frame) bool {
		return f.EtherType == ethernet.EtherTypeARP && p.UnmarshalBinary(f.Payload) == nil && p.SenderIP == netip.MustParseAddr("10.0.0.1")
	})
	var s Sender
	var first uint64
	for i, v := range vips {
		err := pr.sender.Do(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.Announce(ctx, "eth0", netip.MustParseAddr(v))
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.f == nil {
			t.Fatalf("announcing %s left no socket open", v)
		}
		if i == 0 {
			first = inode(t, s.f)
		} else if got := inode(t, s.f); got != first {
			t.Fatalf("announcing %s: socket inode %d, want the first one's %d", v, got, first)
		}
	}
	for _, v := range vips {
		pr.neighMAC(t, v, pr.mac)
	}
	if err := s.Close(); err != nil || s.f != nil {
		t.Fatalf("Close: %v, socket %v", err, s.f)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSenderRelease: Release leaves the Sender ready at once (the next
// announcement opens a socket of its own) and closes the old socket
// behind it, reporting the result on its channel.
func TestSenderRelease(t *testing.T) {
	pr := newPair(t, "10.0.0.100/32")
	var s Sender
	announce := func() {
		t.Helper()
		err := pr.sender.Do(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.Announce(ctx, "eth0", netip.MustParseAddr("10.0.0.100"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	announce()
	old := s.f
	first := inode(t, old)
	done := s.Release()
	if s.f != nil {
		t.Fatal("Release left the socket in the Sender")
	}
	announce()
	if s.f == nil || inode(t, s.f) == first {
		t.Fatal("the announcement after Release did not open a socket of its own")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Release never reported")
	}
	if _, err := old.Stat(); err == nil {
		t.Fatal("the released socket is still open")
	}
	if err := <-s.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if err := <-s.Release(); err != nil {
		t.Fatalf("Release with no socket: %v", err)
	}
}

// BenchmarkAnnounce announces 10 VIPs the two ways: a socket each (the
// package's Announce) and one Sender. Closing a packet socket waits for
// an RCU grace period, which ns/op shows.
func BenchmarkAnnounce(b *testing.B) {
	pr := newPair(b, "10.0.0.100/32")
	vips := make([]netip.Addr, 10)
	for i := range vips {
		vips[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + i)})
	}
	ctx := context.Background()
	b.Run("socket-each", func(b *testing.B) {
		for b.Loop() {
			err := pr.sender.Do(func() error {
				for _, v := range vips {
					if err := Announce(ctx, "eth0", v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sender", func(b *testing.B) {
		for b.Loop() {
			err := pr.sender.Do(func() error {
				var s Sender
				for _, v := range vips {
					if err := s.Announce(ctx, "eth0", v); err != nil {
						return err
					}
				}
				return s.Close()
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
