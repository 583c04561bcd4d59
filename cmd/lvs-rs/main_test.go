package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/realserver"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"time"
)

// invoke runs lvs-rs in-process and returns its exit code and output.
func invoke(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadInputExits2BeforeAnything checks the exit code, the exact
// FILE:LINE:COLUMN message and that not even the state directory appears.
func TestBadInputExits2BeforeAnything(t *testing.T) {
	cfg := writeFile(t, "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.300\n    port: 80\n")
	for _, role := range []string{"director", "realserver"} {
		stateDir := filepath.Join(t.TempDir(), "state")
		code, _, errs := invoke(t, "start", "--role", role, "--config", cfg, "--state-dir", stateDir)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d (stderr %q)", role, code, exitUsage, errs)
		}
		want := cfg + ":4:10: virtual_servers[0].vip: \"10.0.0.300\" is not an IP address\n"
		if errs != want {
			t.Errorf("%s: stderr %q, want %q", role, errs, want)
		}
		if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
			t.Errorf("%s: state dir exists after bad input: %v", role, err)
		}
	}
}

// TestRealServerBadInputBeforeSession: the real server's flags and
// LVS_RS_ADDRESS are checked before the privilege check and the lock, as
// the file is: exit 2, its own message, no state directory.
func TestRealServerBadInputBeforeSession(t *testing.T) {
	cfg := writeFile(t, "director:\n  interface: eth0\n")
	for _, c := range []struct {
		env  string // LVS_RS_ADDRESS
		args []string
		errs string
	}{
		{"", []string{"start", "--mode", "bogus", "--config", cfg}, "lvs-rs: --mode: \"bogus\" is not a mode (dr, tun or nat)\n"},
		{"", []string{"start", "--gateway", "bogus", "--config", cfg}, "lvs-rs: --gateway: \"bogus\" is not an IP address\n"},
		{"", []string{"start", "--address", "10.0.0.1,bogus", "--config", cfg}, "lvs-rs: --address: \"bogus\" is not an IP address\n"},
		{"bogus", []string{"start", "--config", cfg}, "lvs-rs: LVS_RS_ADDRESS: \"bogus\" is not an IP address\n"},
		{"bogus", []string{"status", "--config", cfg}, "lvs-rs: LVS_RS_ADDRESS: \"bogus\" is not an IP address\n"},
		{"", []string{"status", "--vip", "198.51.100.9", "--mode", "bogus"}, "--mode: unknown mode \"bogus\"; valid modes are dr, tun, nat\n"},
	} {
		t.Setenv("LVS_RS_ADDRESS", c.env)
		stateDir := filepath.Join(t.TempDir(), "state")
		args := append(c.args, "--role", "realserver", "--state-dir", stateDir)
		code, _, errs := invoke(t, args...)
		if code != exitUsage || !strings.HasSuffix(errs, c.errs) {
			t.Errorf("LVS_RS_ADDRESS=%s %v: exit %d, stderr %q; want %d, %q", c.env, c.args, code, errs, exitUsage, c.errs)
		}
		if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LVS_RS_ADDRESS=%s %v: the state directory exists after bad input (%v)", c.env, c.args, err)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"start"}, "--role: required"},
		{[]string{"start", "--role", "proxy"}, `--role: "proxy" is not a role`},
		{[]string{"stop", "--role", "x"}, `--role: "x" is not a role`},
		{[]string{"start", "--role", "realserver", "--vip", "nope"}, "--vip"},
		{[]string{"start", "--role", "director", "--vip", "10.0.0.1", "--port", "80", "--scheduler", "bogus", "--mode", "dr", "--interface", "eth0", "--realserver", "10.0.0.2"}, "bogus"},
		{[]string{"status", "-o", "yaml"}, `-o: "yaml" is not an output format`},
		{[]string{"start", "--role", "realserver", "--nosuchflag"}, "unknown flag"},
		{[]string{"start", "--role", "realserver", "--config", "/nonexistent/lvs-rs.yaml"}, "/nonexistent/lvs-rs.yaml"},
	} {
		code, _, errs := invoke(t, append(c.args, "--state-dir", t.TempDir())...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("lvs-rs %v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errs, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := invoke(t, "version")
	if code != 0 || !strings.HasPrefix(out, "lvs-rs ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

func TestConfigEnvDefault(t *testing.T) {
	f := &roleFlags{}
	t.Setenv("LVS_RS_CONFIG", "")
	if p := f.resolvedConfigPath(); p != "/etc/lvs-rs/lvs-rs.yaml" {
		t.Errorf("default: %q", p)
	}
	t.Setenv("LVS_RS_CONFIG", "/x.yaml")
	if p := f.resolvedConfigPath(); p != "/x.yaml" {
		t.Errorf("env: %q", p)
	}
	f.configPath = "/flag.yaml"
	if p := f.resolvedConfigPath(); p != "/flag.yaml" {
		t.Errorf("flag: %q", p)
	}
}

// TestNotifyStatus checks the STATUS= datagram systemd would receive.
func TestNotifyStatus(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	var out, errb bytes.Buffer
	report[fakeChange](&out, &errb, "realserver", "start", false, false, []fakeChange{"bind x"}, nil)
	buf := make([]byte, 256)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(buf[:n]), "STATUS=realserver: start: 1 change(s) applied"; got != want {
		t.Fatalf("notify = %q, want %q", got, want)
	}
	if out.String() != "realserver: bind x\nrealserver: start: 1 change(s) applied\n" {
		t.Fatalf("stdout = %q", out.String())
	}
	out.Reset()
	report[fakeChange](&out, &errb, "director", "start", false, true, nil, nil)
	if out.String() != "director: start failed after 0 change(s)\n" {
		t.Fatalf("after a failure stdout = %q", out.String())
	}
}

type fakeChange string

func (c fakeChange) String() string { return string(c) }

func TestKernelErrCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", realserver.ErrInvalid), exitUsage},
		{fmt.Errorf("x: %w", director.ErrNoIPVS), exitKernel},
		{fmt.Errorf("x: %w", tunnel.ErrNoIPIP), exitKernel},
		{fmt.Errorf("x: %w", tunnel.ErrNoGRE), exitKernel},
		{fmt.Errorf("x: %w", tunnel.ErrNoFOU), exitKernel},
		{fmt.Errorf("vip: bind: %w", unix.EPERM), exitKernel},
	} {
		var ee *exitError
		if err := kernelErr(c.err); !errors.As(err, &ee) || ee.code != c.code {
			t.Errorf("kernelErr(%v) = %v, want exit %d", c.err, err, c.code)
		}
	}
	for _, e := range []error{tunnel.ErrNoGRE, tunnel.ErrNoFOU} {
		if got := kernelErr(fmt.Errorf("realserver: x: %w", e)).Error(); got != e.Error() {
			t.Errorf("missing-module message %q, want the sentinel's one line %q", got, e)
		}
	}
	if !strings.Contains(kernelErr(director.ErrNoIPVS).Error(), "ip_vs") {
		t.Errorf("no-IPVS message does not name ip_vs: %v", kernelErr(director.ErrNoIPVS))
	}
}
