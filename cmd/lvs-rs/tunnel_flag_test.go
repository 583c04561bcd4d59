package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// TestTunnelFlagChecked: a bad or misplaced --tunnel exits 2 with the
// flag, the value and the problem, before anything is made (no state
// directory): a port out of range or missing, a type unknown, without
// --mode tun, next to a config file, on a director; status and doctor
// check it the same way. It runs in a fresh namespace, so that input
// wrongly let through changes nothing on the host.
func TestTunnelFlagChecked(t *testing.T) {
	ns := nstest.New(t)
	cfg := writeFile(t, "virtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: tun, real_servers: [{address: 10.0.0.11, tunnel: {type: gue, port: 6080}}]}\n")
	tun := []string{"--role", "realserver", "--mode", "tun", "--vip", "10.0.0.100"}
	for _, c := range []struct {
		args []string
		errs string
	}{
		{append([]string{"start"}, append(tun, "--tunnel", "gue:70000")...), `--tunnel: "gue:70000": port 70000 is out of range (1-65535)` + "\n"},
		{append([]string{"start"}, append(tun, "--tunnel", "gue")...), `--tunnel: "gue": a gue tunnel needs the UDP port the director sends to: gue:PORT (1-65535)` + "\n"},
		{append([]string{"start"}, append(tun, "--tunnel", "vxlan")...), `--tunnel: unknown tunnel type "vxlan"; valid types are ipip, gre, gue:PORT` + "\n"},
		{[]string{"start", "--role", "realserver", "--vip", "10.0.0.100", "--tunnel", "gre"},
			"--tunnel: only used with --mode tun (the encapsulation the director sends in); this is --mode dr\n"},
		{[]string{"start", "--role", "realserver", "--config", cfg, "--address", "10.0.0.11", "--tunnel", "gre"},
			"lvs-rs: --tunnel: only for a real server without a config file (with --vip); this one takes its tunnels from " + cfg + ": set them there (real_servers[].tunnel)\n"},
		{[]string{"start", "--role", "director", "--config", cfg, "--tunnel", "gre"},
			"lvs-rs: --tunnel: flags of a real server; the director does not use them\n"},
		{append([]string{"status"}, append(tun, "--tunnel", "gue:0")...), `--tunnel: "gue:0": port 0 is out of range (1-65535)` + "\n"},
		{[]string{"status", "--role", "realserver", "--tunnel", "gre"},
			"lvs-rs: --tunnel: only with --vip (the tunnels of the VIPs a real server without a file serves)\n"},
		{append([]string{"doctor"}, append(tun, "--tunnel", "gue:x")...), `--tunnel: "gue:x": "x" is not a port number (1-65535)` + "\n"},
		{[]string{"doctor", "--role", "realserver", "--config", cfg, "--address", "10.0.0.11", "--tunnel", "gre"},
			"lvs-rs: --tunnel: only for a real server without a config file (with --vip); this one takes its tunnels from " + cfg + ": set them there (real_servers[].tunnel)\n"},
	} {
		stateDir := filepath.Join(t.TempDir(), "state")
		args := append([]string{c.args[0], "--state-dir", stateDir}, c.args[1:]...)
		code, out, errs := inNS(t, ns, args...)
		if code != exitUsage || !strings.HasSuffix(errs, c.errs) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q", c.args, code, out, errs, exitUsage, c.errs)
		}
		if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: the state directory exists after bad input (%v)", c.args, err)
		}
	}
}

// TestTunnelFlagPlans: start --mode tun --tunnel gue:PORT,gre plans the
// receiving ends of those tunnels, in a fresh namespace and without
// making them (--dry-run; fou and ip_gre need not be loadable): the GUE
// receive port and the VIP on gre0 besides tunl0; without --tunnel, tun
// is ipip alone.
func TestTunnelFlagPlans(t *testing.T) {
	ns := nstest.New(t)
	plan := func(extra ...string) string {
		t.Helper()
		stateDir := filepath.Join(t.TempDir(), "state")
		args := append([]string{"start", "--dry-run", "--state-dir", stateDir, "--role", "realserver", "--mode", "tun", "--vip", "10.0.0.100"}, extra...)
		code, out, errs := inNS(t, ns, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		return out
	}
	gue, gre := "would add gue receive port 6080\n", "would bind 10.0.0.100/32 dev gre0 label gre0:0\n"
	tunl0 := "would bind 10.0.0.100/32 dev tunl0 label tunl0:0\n"
	if out := plan("--tunnel", "gue:6080,gre"); !strings.Contains(out, gue) || !strings.Contains(out, gre) || !strings.Contains(out, tunl0) {
		t.Errorf("--tunnel gue:6080,gre: the plan lacks the GUE port, gre0 or tunl0:\n%s", out)
	}
	if out := plan("--tunnel", "gre"); strings.Contains(out, gue) || !strings.Contains(out, gre) || strings.Contains(out, tunl0) {
		t.Errorf("--tunnel gre: want the VIP on gre0 alone:\n%s", out)
	}
	if out := plan(); strings.Contains(out, gue) || strings.Contains(out, gre) || !strings.Contains(out, tunl0) {
		t.Errorf("no --tunnel: want ipip alone:\n%s", out)
	}
}
