package main

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// fillDatagrams fills the receive queue of the unixgram socket at path
// until a write would block, as a PID 1 too busy to read leaves it.
func fillDatagrams(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		err := unix.Send(fd, []byte("X_FILL=1"), 0)
		if errors.Is(err, unix.EAGAIN) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 1<<20 {
			t.Fatal("the socket's queue never filled")
		}
	}
}

// TestNotifierNeverBlocks: with systemd's notify socket not drained (its
// queue full, PID 1 busy), the daemon's sd_notify calls (STATUS= after
// every pass, WATCHDOG=1) return at once instead of blocking the loop;
// once the socket is read again the latest status arrives, and READY=1,
// queued before thousands of statuses, is not lost to coalescing. The
// notifier stops promptly even while its writes time out.
func TestNotifierNeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	fillDatagrams(t, path)

	sd := newNotifier()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sd.run(ctx) }()

	notified := make(chan struct{})
	go func() {
		defer close(notified)
		sd.Notify(daemon.SdNotifyReady, "STATUS=pass 0")
		for i := range 100000 {
			sd.Notify("STATUS=pass " + strconv.Itoa(i+1))
			if i%1000 == 0 {
				sd.Notify(daemon.SdNotifyWatchdog)
			}
		}
	}()
	select {
	case <-notified:
	case <-time.After(5 * time.Second):
		t.Fatal("100,000 notifications to an undrained socket still not done after 5 s: the caller (the reconcile loop) waits on systemd")
	}

	// PID 1 reads again: the queue's filler, then what the notifier sends.
	var got []string
	_ = ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for !slices.Contains(got, "STATUS=pass 100000") {
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatalf("reading the notify socket: %v; got %q", err, got)
		}
		for l := range strings.SplitSeq(string(buf[:n]), "\n") {
			if l != "X_FILL=1" {
				got = append(got, l)
			}
		}
	}
	if !slices.Contains(got, daemon.SdNotifyReady) {
		t.Errorf("READY=1 never sent; sent %q", got)
	}
	if len(got) > 10 {
		t.Errorf("%d lines sent, want the pending ones coalesced: %q", len(got), got[:10])
	}

	// Stopping while systemd does not read: bounded by the write timeout.
	fillDatagrams(t, path)
	sd.Notify(daemon.SdNotifyStopping)
	stopping := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(4 * notifyTimeout):
		t.Fatal("the notifier did not stop with its socket not drained")
	}
	t.Logf("stopped %s after cancel", time.Since(stopping).Round(time.Millisecond))
}

// TestNotifierCoalesces: lines not sent yet are merged by key (the newest
// STATUS= wins, READY=1 stays); a failed write is retried with what came
// since merged over it, except WATCHDOG=1, which stands for its moment.
func TestNotifierCoalesces(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	fail := true
	sd := &notifier{wake: make(chan struct{}, 1), send: func(msg string) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("timeout")
		}
		sent = append(sent, msg)
		return nil
	}}
	sd.Notify(daemon.SdNotifyReady, "STATUS=a")
	sd.Notify("STATUS=b", daemon.SdNotifyWatchdog)
	if sd.flush() {
		t.Fatal("flush reported a failed write as sent")
	}
	sd.Notify("STATUS=c")
	mu.Lock()
	fail = false
	mu.Unlock()
	if !sd.flush() {
		t.Fatal("flush failed")
	}
	if want := []string{"READY=1\nSTATUS=c"}; !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
	if !sd.flush() || len(sent) != 1 {
		t.Errorf("a flush with nothing pending sent %q", sent)
	}
}
