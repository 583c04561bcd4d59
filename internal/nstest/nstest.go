package nstest

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NS is a fresh network namespace owned by one test.
type NS struct {
	h      netns.NsHandle
	Handle *netlink.Handle // netlink bound to the namespace
}

// RequireRoot skips t when not root outside CI and fails it inside CI.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nstest: kernel tests need root, and CI=true forbids skipping")
	}
	t.Skip("nstest: skipping kernel test: needs root (run as root, or with CI=true to make this a failure)")
}

// New creates a namespace with lo up, removed when t ends.
func New(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	h, err := create()
	if err != nil {
		t.Fatalf("nstest: %v", err)
	}
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		t.Fatalf("nstest: netlink handle: %v", err)
	}
	ns := &NS{h: h, Handle: nh}
	t.Cleanup(func() { nh.Close(); h.Close() })
	lo, err := nh.LinkByName("lo")
	if err == nil {
		err = nh.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("nstest: lo up: %v", err)
	}
	return ns
}

// create makes a new namespace on a locked thread and switches back.
func create() (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return 0, fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	h, err := netns.New()
	if err != nil {
		return 0, fmt.Errorf("new netns: %w", err)
	}
	if err := netns.Set(orig); err != nil {
		// This thread is stuck in the new namespace; never hand it back.
		runtime.LockOSThread()
		return 0, fmt.Errorf("restore netns: %w", err)
	}
	return h, nil
}

// Do runs fn on an OS thread switched into the namespace, so /proc/sys/net
// and sockets resolve there.
func (ns *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns.h); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime discards it when the
		// goroutine exits.
		return fmt.Errorf("restore netns: %w (fn: %v)", err, ferr)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Fd returns the namespace's file descriptor, for libraries that dial
// netlink sockets inside a namespace.
func (ns *NS) Fd() int { return int(ns.h) }
