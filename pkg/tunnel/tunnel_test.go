package tunnel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// TestEnsureWithoutModule runs on the host, whose kernel may or may not
// provide ipip: either Ensure yields tunl0, or it fails with ErrNoIPIP,
// names the module, tried modprobe exactly once, and left no link behind.
func TestEnsureWithoutModule(t *testing.T) {
	ns := nstest.New(t)
	calls := 0
	orig := modprobe
	modprobe = func(ctx context.Context, m string) error { calls++; return orig(ctx, m) }
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
	modprobeCommand = func(string) []string { return []string{"sleep", "60"} }
	modprobeTimeout = 100 * time.Millisecond
	begin := time.Now()
	err := modprobe(context.Background(), Module)
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("modprobe returned after %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ipip") || !strings.Contains(err.Error(), "100ms") {
		t.Errorf("modprobe = %v, want a deadline error naming ipip and 100ms", err)
	}
}

// TestGREEnsureWithoutModule is TestEnsureWithoutModule for gre0: either
// Ensure yields gre0, or it fails with ErrNoGRE, tried modprobe ip_gre
// exactly once, and left no link behind.
func TestGREEnsureWithoutModule(t *testing.T) {
	ns := nstest.New(t)
	var mods []string
	orig := modprobe
	modprobe = func(ctx context.Context, m string) error { mods = append(mods, m); return orig(ctx, m) }
	t.Cleanup(func() { modprobe = orig })

	_, err := GRE.Ensure(context.Background(), ns.Handle)
	l, oerr := GRE.Observe(ns.Handle)
	if oerr != nil {
		t.Fatal(oerr)
	}
	if err == nil {
		if !l.Exists {
			t.Fatal("Ensure succeeded but gre0 does not exist")
		}
		t.Logf("this kernel provides ip_gre (modprobe: %q)", mods)
		return
	}
	if !errors.Is(err, ErrNoGRE) || !strings.Contains(err.Error(), "ip_gre") {
		t.Fatalf("Ensure = %v, want ErrNoGRE naming ip_gre", err)
	}
	if len(mods) != 1 || mods[0] != GREModule {
		t.Errorf("modprobe ran for %q, want [ip_gre]", mods)
	}
	if l.Exists {
		t.Error("gre0 exists after a failed Ensure")
	}
}

// TestDeviceKinds: Ensure asks for a link of the module's own kind: an
// IPv4 gre link for gre0 (the netlink library asks for ip6gre when the
// link has no IPv4 address), ipip for tunl0.
func TestDeviceKinds(t *testing.T) {
	for _, c := range []struct {
		d    Device
		kind string
	}{{IPIP, "ipip"}, {GRE, "gre"}} {
		l := c.d.link()
		if l.Type() != c.kind || l.Attrs().Name != c.d.Name {
			t.Errorf("%s: asks for a %s link named %s, want %s", c.d.Name, l.Type(), l.Attrs().Name, c.kind)
		}
	}
	if For(config.TunnelGRE).Name != GREDev || For(config.TunnelGUE).Name != Dev || For("").Name != Dev {
		t.Error("For maps gre to gre0, gue and ipip to tunl0")
	}
}
