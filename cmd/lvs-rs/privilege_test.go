package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// envUnprivileged makes TestNotPrivilegedRefused, run again by itself in a
// child process without privileges, run the command line it names.
const envUnprivileged = "LVSRS_TEST_UNPRIVILEGED_ARGS"

// TestNotPrivilegedRefused runs the commands that read or change the
// host's kernel as an unprivileged user (uid 65534, no capabilities):
// each exits 1 (status 4, "cannot tell") with the one-line message naming
// CAP_NET_ADMIN before it takes the lock, so that not even the state
// directory appears (its parent is writable by anyone: a command that
// went on would create it). Bad input is exit 2 with its own message
// before that check.
func TestNotPrivilegedRefused(t *testing.T) {
	if args := os.Getenv(envUnprivileged); args != "" {
		os.Exit(run(t.Context(), strings.Split(args, "\x1f"), io.Discard, os.Stderr))
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	if !hasNetAdmin() {
		t.Fatal("root without CAP_NET_ADMIN: hasNetAdmin reads the wrong set")
	}
	bin := unprivilegedCopy(t)
	notPrivileged := "lvs-rs: " + errNotPrivileged.Error() + "\n"
	for _, c := range []struct {
		args   []string
		env    string // one more NAME=VALUE
		code   int
		stderr string
	}{
		{[]string{"start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.9"}, "", exitKernel, notPrivileged},
		{[]string{"stop", "--role", "realserver"}, "", exitKernel, notPrivileged},
		{[]string{"status", "--role", "realserver"}, "", exitUnknown, notPrivileged},
		{[]string{"run", "--role", "director", "--config"}, "", exitKernel, notPrivileged},
		{[]string{"start", "--role", "realserver", "--mode", "bogus", "--config"}, "", exitUsage,
			"lvs-rs: --mode: \"bogus\" is not a mode (dr, tun or nat)\n"},
		{[]string{"start", "--role", "realserver", "--mode", "nat", "--gateway", "bogus"}, "", exitUsage,
			"--gateway: \"bogus\" is not an IP address\n"},
		{[]string{"start", "--role", "realserver", "--address", "bogus", "--config"}, "", exitUsage,
			"lvs-rs: --address: \"bogus\" is not an IP address\n"},
		{[]string{"status", "--role", "realserver", "--config"}, "LVS_RS_ADDRESS=bogus", exitUsage,
			"lvs-rs: LVS_RS_ADDRESS: \"bogus\" is not an IP address\n"},
	} {
		args := c.args
		dir := openDir(t, 0o777)
		if args[len(args)-1] == "--config" { // a file the child may read
			cfg := filepath.Join(dir, "lvs-rs.yaml")
			if err := os.WriteFile(cfg, []byte("director:\n  interface: eth0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, cfg)
		}
		state := filepath.Join(dir, "state")
		cmd := exec.Command(bin, "-test.run=^TestNotPrivilegedRefused$")
		cmd.Env = append(os.Environ(), envUnprivileged+"="+strings.Join(append(args, "--state-dir", state), "\x1f"))
		if c.env != "" {
			cmd.Env = append(cmd.Env, c.env)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.code {
			t.Errorf("%s %v as uid 65534: %v, want exit %d (stderr %q)", c.env, args, err, c.code, stderr.String())
		}
		if stderr.String() != c.stderr {
			t.Errorf("%s %v as uid 65534: stderr %q, want %q", c.env, args, stderr.String(), c.stderr)
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s %v as uid 65534: the state directory exists (%v): the command went on", c.env, args, err)
		}
	}
}

// unprivilegedCopy copies this test binary where uid 65534 may run it
// (go test builds it in a directory only root may enter).
func unprivilegedCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(openDir(t, 0o755), "lvs-rs.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// openDir makes a directory with mode perm that any user can reach (the
// test's own temporary directories are root's alone).
func openDir(t *testing.T, perm os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lvs-rs-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}
