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

// TestStatusIgnoresConfigEnv: LVS_RS_CONFIG names start's default file;
// a plain status still compares with what the last start applied (here
// the env names a file that cannot be loaded, which status never reads:
// exit 0, not 2), and only --config makes status compare with a file.
func TestStatusIgnoresConfigEnv(t *testing.T) {
	ns := nstest.New(t)
	stateFlag := "--state-dir=" + t.TempDir()
	broken := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	if err := os.WriteFile(broken, []byte("virtual_servers: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.22", stateFlag); code != exitOK {
		t.Fatalf("start: exit %d, %q %q", code, out, errs)
	}
	t.Setenv("LVS_RS_CONFIG", broken)
	for _, args := range [][]string{{"status"}, {"status", "--role", "realserver"}} {
		if code, out, errs := inNS(t, ns, append(args, stateFlag)...); code != exitOK || !strings.Contains(out, "198.51.100.22") {
			t.Errorf("%v with LVS_RS_CONFIG set: exit %d, %q %q; want 0 and the applied VIP", args, code, out, errs)
		}
	}
	if code, _, errs := inNS(t, ns, "status", "--config", broken, stateFlag); code != exitUsage {
		t.Errorf("status --config naming a broken file: exit %d (%q), want 2", code, errs)
	}
	// start still reads the file LVS_RS_CONFIG names when --config is absent.
	if code, _, errs := inNS(t, ns, "start", "--role", "realserver", stateFlag); code != exitUsage || !strings.Contains(errs, broken) {
		t.Errorf("start with LVS_RS_CONFIG naming a broken file: exit %d, %q; want 2 naming the file", code, errs)
	}
	t.Setenv("LVS_RS_CONFIG", "")
	if code, out, errs := inNS(t, ns, "stop", "--role", "realserver", stateFlag); code != exitOK {
		t.Fatalf("stop: exit %d, %q %q", code, out, errs)
	}
}
