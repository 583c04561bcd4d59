package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/control"
)

// unreadableDaemon answers on the control socket but fails every status
// request.
type unreadableDaemon struct{ fakeDaemon }

func (*unreadableDaemon) Status(context.Context) (control.Status, error) {
	return control.Status{}, errors.New("status: out of memory")
}

// TestStatusDaemonUnreadable: when a daemon answers on the control socket
// but its status cannot be read, status says so and exits 4 (cannot
// tell); with no daemon there is nothing to say.
func TestStatusDaemonUnreadable(t *testing.T) {
	ns := nstest.New(t)
	code, out, errs := inNS(t, ns, "status", "--role", "director", "--state-dir", t.TempDir())
	if code == exitUnknown || errs != "" {
		t.Fatalf("status without a daemon: exit %d, stdout %q, stderr %q; want no error", code, out, errs)
	}
	dir := t.TempDir()
	ln, err := control.Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, ln, &unreadableDaemon{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	code, out, errs = inNS(t, ns, "status", "--role", "director", "--state-dir", dir)
	want := "lvs-rs: daemon: cannot read the status of lvs-rs run: "
	if code != exitUnknown || !strings.HasPrefix(errs, want) || !strings.HasSuffix(errs, ": status: out of memory\n") {
		t.Errorf("status with an unreadable daemon: exit %d, stdout %q, stderr %q; want 4 and %q...", code, out, errs, want)
	}
}
