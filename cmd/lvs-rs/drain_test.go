package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/control"
)

// fakeDaemon answers drain and enable for two services of 10.0.0.11 and
// records the requests.
type fakeDaemon struct {
	mu       sync.Mutex
	requests []string
	drained  map[string]bool
	fail     error
}

var fakeServices = []string{"tcp:10.0.0.100:80", "fwmark:10"}

func (d *fakeDaemon) Status(context.Context) (control.Status, error) { return control.Status{}, nil }

func (d *fakeDaemon) Drain(_ context.Context, r control.DrainRequest) (control.DrainResult, error) {
	return d.apply("drain", r, true)
}

func (d *fakeDaemon) Enable(_ context.Context, r control.DrainRequest) (control.DrainResult, error) {
	return d.apply("enable", r, false)
}

func (d *fakeDaemon) apply(op string, r control.DrainRequest, drain bool) (control.DrainResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests = append(d.requests, fmt.Sprintf("%s %s %q", op, r.Address, r.Service.String()))
	if d.fail != nil {
		return control.DrainResult{}, d.fail
	}
	var res control.DrainResult
	for _, s := range fakeServices {
		svc, _ := control.ParseService(s)
		if !r.Matches(svc, netip.MustParseAddr("10.0.0.11")) {
			continue
		}
		res.Targets = append(res.Targets, control.DrainTarget{Service: svc, Address: r.Address, Changed: d.drained[s] != drain})
		d.drained[s] = drain
	}
	if len(res.Targets) == 0 {
		in := "any service"
		if !r.Service.IsZero() {
			in = r.Service.String()
		}
		return res, fmt.Errorf("%s is not a real server of %s: %w", r.Address, in, control.ErrNotFound)
	}
	return res, nil
}

func (d *fakeDaemon) log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...)
}

// startFakeDaemon serves d on a control socket in a new state directory.
func startFakeDaemon(t *testing.T, d *fakeDaemon) string {
	t.Helper()
	d.drained = map[string]bool{}
	dir := t.TempDir()
	ln, err := control.Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, ln, d) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return dir
}

func TestDrainEnable(t *testing.T) {
	d := &fakeDaemon{}
	dir := startFakeDaemon(t, d)
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"drain", "10.0.0.11", "--service", "tcp:10.0.0.100:80"}, "drained 10.0.0.11 in tcp:10.0.0.100:80\n"},
		{[]string{"drain", "10.0.0.11"}, "10.0.0.11 in tcp:10.0.0.100:80 already drained\ndrained 10.0.0.11 in fwmark:10\n"},
		{[]string{"enable", "10.0.0.11", "--service=fwmark:10"}, "enabled 10.0.0.11 in fwmark:10\n"},
		{[]string{"enable", "10.0.0.11"}, "enabled 10.0.0.11 in tcp:10.0.0.100:80\n10.0.0.11 in fwmark:10 was not drained\n"},
	} {
		code, out, errs := invoke(t, append(c.args, "--state-dir", dir)...)
		if code != exitOK || out != c.out || errs != "" {
			t.Errorf("lvs-rs %v: exit %d, stdout %q, stderr %q; want 0, %q, nothing", c.args, code, out, errs, c.out)
		}
	}
	want := []string{
		`drain 10.0.0.11 "tcp:10.0.0.100:80"`, `drain 10.0.0.11 ""`,
		`enable 10.0.0.11 "fwmark:10"`, `enable 10.0.0.11 ""`,
	}
	if diff := cmp.Diff(want, d.log()); diff != "" {
		t.Errorf("requests the daemon got (-want +got):\n%s", diff)
	}
}

func TestDrainWithoutDaemon(t *testing.T) {
	for _, verb := range []string{"drain", "enable"} {
		code, out, errs := invoke(t, verb, "10.0.0.11", "--state-dir", t.TempDir())
		want := "lvs-rs: no lvs-rs run is active (drain and enable act on the running director)\n"
		if code != exitKernel || out != "" || errs != want {
			t.Errorf("%s without a daemon: exit %d, stdout %q, stderr %q; want 1 and %q", verb, code, out, errs, want)
		}
	}
}

func TestDrainErrors(t *testing.T) {
	d := &fakeDaemon{}
	dir := startFakeDaemon(t, d)
	for _, c := range []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"drain"}, exitUsage, "lvs-rs: accepts 1 arg(s), received 0\n"},
		{[]string{"drain", "10.0.0.11", "10.0.0.12"}, exitUsage, "lvs-rs: accepts 1 arg(s), received 2\n"},
		{[]string{"drain", "web1"}, exitUsage, "lvs-rs: ADDRESS: \"web1\" is not an IP address\n"},
		{[]string{"enable", "10.0.0.11", "--service", "tcp:10.0.0.100"}, exitUsage,
			"lvs-rs: --service: service \"tcp:10.0.0.100\": missing :PORT after the VIP (want tcp:VIP:PORT)\n"},
		{[]string{"drain", "10.0.0.99"}, exitUsage,
			"lvs-rs: drain: 10.0.0.99 is not a real server of any service: no such real server\n"},
		{[]string{"drain", "10.0.0.11", "--service", "udp:10.0.0.100:53"}, exitUsage,
			"lvs-rs: drain: 10.0.0.11 is not a real server of udp:10.0.0.100:53: no such real server\n"},
	} {
		code, out, errs := invoke(t, append(c.args, "--state-dir", dir)...)
		if code != c.code || out != "" || errs != c.errs {
			t.Errorf("lvs-rs %v: exit %d, stdout %q, stderr %q; want %d, %q", c.args, code, out, errs, c.code, c.errs)
		}
	}
	// Only the two well-formed requests reached the daemon.
	if n := len(d.log()); n != 2 {
		t.Errorf("the daemon got %d requests, want 2: %v", n, d.log())
	}
}

func TestDrainDaemonFails(t *testing.T) {
	d := &fakeDaemon{fail: errors.New("save drains: /run/lvs-rs/drains.json: no space left on device")}
	dir := startFakeDaemon(t, d)
	code, _, errs := invoke(t, "drain", "10.0.0.11", "--state-dir", dir)
	want := "lvs-rs: drain: save drains: /run/lvs-rs/drains.json: no space left on device\n"
	if code != exitKernel || errs != want {
		t.Errorf("drain with a failing daemon: exit %d, stderr %q; want 1, %q", code, errs, want)
	}
}
