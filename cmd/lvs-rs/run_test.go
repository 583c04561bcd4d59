package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const runConfig = "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers:\n      - address: 10.0.0.11\n"

// TestRunBadInput: run refuses bad input with exit 2 before touching
// anything, not even the state directory.
func TestRunBadInput(t *testing.T) {
	good := writeFile(t, runConfig)
	bad := writeFile(t, "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.300\n    port: 80\n")
	natVIP := writeFile(t, strings.Replace(runConfig, "    port: 80\n", "    port: 80\n    mode: nat\n", 1)+"    check: {type: tcp, via: vip}\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"realserver role", []string{"--role", "realserver", "--config", good}, "run supports only the director role"},
		{"no role", []string{"--config", good}, `required flag(s) "role" not set`},
		{"bad file", []string{"--role", "director", "--config", bad}, bad + ":4:10: virtual_servers[0].vip"},
		{"via vip of nat", []string{"--role", "director", "--config", natVIP}, "check.via: vip is for dr and tun real servers"},
	} {
		stateDir := filepath.Join(t.TempDir(), "state")
		code, _, errs := invoke(t, append([]string{"run", "--state-dir", stateDir}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, errs, exitUsage, c.want)
		}
		if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
			t.Errorf("%s: state dir exists after bad input: %v", c.name, err)
		}
	}
}

// TestRunAndStartRefuseWhileDaemon: with a daemon answering on the control
// socket, a second run and a start of the director exit 1 before any
// kernel access.
func TestRunAndStartRefuseWhileDaemon(t *testing.T) {
	if !hasNetAdmin() {
		t.Skip("needs CAP_NET_ADMIN")
	}
	dir := startFakeDaemon(t, &fakeDaemon{})
	cfg := writeFile(t, runConfig)
	code, _, errs := invoke(t, "run", "--role", "director", "--config", cfg, "--state-dir", dir)
	if code != exitKernel || !strings.Contains(errs, "another lvs-rs run is active") {
		t.Errorf("second run: exit %d, stderr %q; want 1 and another daemon named", code, errs)
	}
	for _, verb := range []string{"start", "stop"} {
		code, _, errs = invoke(t, verb, "--role", "director", "--config", cfg, "--state-dir", dir)
		if code != exitKernel || !strings.Contains(errs, "lvs-rs run is active") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the daemon named", verb, code, errs)
		}
	}
}
