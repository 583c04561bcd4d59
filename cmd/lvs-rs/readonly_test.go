package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// TestReadOnlyCommandsCreateNoStateDir: on a fresh host (no state
// directory) status says nothing is applied (exit 3) and start --dry-run
// and stop --dry-run plan, all without creating the state directory or
// its lock; the first real start creates it.
func TestReadOnlyCommandsCreateNoStateDir(t *testing.T) {
	ns := nstest.New(t)
	parent := filepath.Join(t.TempDir(), "run")
	dir := filepath.Join(parent, "lvs-rs")
	stateFlag := "--state-dir=" + dir
	absent := func(step string) {
		t.Helper()
		if _, err := os.Lstat(parent); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("after %s: %s exists (%v); want nothing created", step, parent, err)
		}
	}
	if code, out, errs := inNS(t, ns, "status", stateFlag); code != exitNotApplied {
		t.Fatalf("status: exit %d, %q %q; want 3", code, out, errs)
	}
	absent("status")
	if code, out, errs := inNS(t, ns, "status", "--role", "realserver", stateFlag); code != exitNotApplied {
		t.Fatalf("status --role realserver: exit %d, %q %q; want 3", code, out, errs)
	}
	absent("status --role realserver")
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.21", "--dry-run", stateFlag); code != exitOK || !strings.Contains(out, "would ") {
		t.Fatalf("start --dry-run: exit %d, %q %q", code, out, errs)
	}
	absent("start --dry-run")
	if code, out, errs := inNS(t, ns, "stop", "--role", "realserver", "--dry-run", stateFlag); code != exitOK {
		t.Fatalf("stop --dry-run: exit %d, %q %q", code, out, errs)
	}
	absent("stop --dry-run")
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.21", stateFlag); code != exitOK {
		t.Fatalf("start: exit %d, %q %q", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "lock")); err != nil {
		t.Fatalf("after start: %v; want the state directory and its lock", err)
	}
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.21", "--dry-run", stateFlag); code != exitOK || !strings.Contains(out, "already converged") {
		t.Fatalf("start --dry-run after start: exit %d, %q %q; want nothing to change", code, out, errs)
	}
	if code, out, errs := inNS(t, ns, "stop", "--role", "realserver", stateFlag); code != exitOK {
		t.Fatalf("stop: exit %d, %q %q", code, out, errs)
	}
}
