package tunnel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// TestEnsureWithoutModule runs on the host, whose kernel may or may not
// provide ipip: either Ensure yields tunl0, or it fails with ErrNoIPIP,
// names the module, tried modprobe exactly once, and left no link behind.
func TestEnsureWithoutModule(t *testing.T) {
	ns := nstest.New(t)
	calls := 0
	orig := modprobe
	modprobe = func(ctx context.Context) error { calls++; return orig(ctx) }
	t.Cleanup(func() { modprobe = orig })

	_, err := Ensure(context.Background(), ns.Handle)
	l, oerr := Observe(ns.Handle)
	if oerr != nil {
		t.Fatal(oerr)
	}
	if err == nil {
		if !l.Exists {
			t.Fatal("Ensure succeeded but tunl0 does not exist")
		}
		t.Logf("this kernel provides ipip (modprobe calls: %d)", calls)
		return
	}
	if !errors.Is(err, ErrNoIPIP) {
		t.Fatalf("Ensure = %v, want ErrNoIPIP", err)
	}
	if !strings.Contains(err.Error(), "ipip") {
		t.Errorf("error %q does not name ipip", err)
	}
	if calls != 1 {
		t.Errorf("modprobe ran %d times, want 1", calls)
	}
	if l.Exists {
		t.Error("tunl0 exists after a failed Ensure")
	}
}

func TestGoneIsSuccess(t *testing.T) {
	ns := nstest.New(t)
	if l, err := Observe(ns.Handle); err != nil || l.Exists {
		t.Fatalf("Observe in a fresh namespace = %+v, %v", l, err)
	}
	if err := SetDown(ns.Handle); err != nil {
		t.Errorf("SetDown without tunl0: %v", err)
	}
	if err := Delete(ns.Handle); err != nil {
		t.Errorf("Delete without tunl0: %v", err)
	}
	if err := SetUp(ns.Handle); err == nil {
		t.Error("SetUp without tunl0 succeeded")
	}
}

// TestModprobeDeadline: a modprobe that never answers is killed at the
// deadline, and the error names the module and the timeout.
func TestModprobeDeadline(t *testing.T) {
	cmd, timeout := modprobeCommand, modprobeTimeout
	t.Cleanup(func() { modprobeCommand, modprobeTimeout = cmd, timeout })
	modprobeCommand, modprobeTimeout = []string{"sleep", "60"}, 100*time.Millisecond
	begin := time.Now()
	err := modprobe(context.Background())
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("modprobe returned after %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ipip") || !strings.Contains(err.Error(), "100ms") {
		t.Errorf("modprobe = %v, want a deadline error naming ipip and 100ms", err)
	}
}
