package main

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// inNS runs lvs-rs inside ns and returns its exit code and output.
func inNS(t *testing.T, ns *nstest.NS, args ...string) (int, string, string) {
	t.Helper()
	var code int
	var out, errs string
	if err := ns.Do(func() error {
		code, out, errs = invoke(t, args...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return code, out, errs
}

func readSysctl(t *testing.T, ns *nstest.NS, dev, key string) string {
	t.Helper()
	var v string
	if err := ns.Do(func() (err error) {
		v, err = sysctl.Proc().Read(sysctl.IPv4Conf(dev, key))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRealServerCLIExitCodes drives start, status (0, 1, 3), stop through
// the command line in a fresh namespace and checks the kernel after each.
func TestRealServerCLIExitCodes(t *testing.T) {
	ns := nstest.New(t)
	state := "--state-dir=" + t.TempDir()
	vipAddr := vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("198.51.100.7/32"), Label: "lo:0", HostScope: true}

	if code, out, _ := inNS(t, ns, "status", "--role", "realserver", state); code != exitNotApplied {
		t.Fatalf("status before start: exit %d (%s), want 3", code, out)
	}
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.7", "--dry-run", state); code != 0 || !strings.Contains(out, "would ") {
		t.Fatalf("dry run: exit %d, %q %q", code, out, errs)
	}
	if got, _ := vip.List(ns.Handle, "lo"); slices.Contains(got, vipAddr) {
		t.Fatal("dry run bound the VIP")
	}
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.7", state); code != 0 {
		t.Fatalf("start: exit %d, %q %q", code, out, errs)
	}
	if got, _ := vip.List(ns.Handle, "lo"); !slices.Contains(got, vipAddr) {
		t.Fatalf("after start lo has %v, want %v", got, vipAddr)
	}
	if v := readSysctl(t, ns, "all", "arp_announce"); v != "2" {
		t.Fatalf("all/arp_announce = %s after start, want 2", v)
	}
	if code, out, _ := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.7", state); code != 0 || !strings.Contains(out, "nothing to change") {
		t.Fatalf("second start: exit %d, %q", code, out)
	}
	if code, out, _ := inNS(t, ns, "status", state); code != 0 {
		t.Fatalf("status after start: exit %d\n%s", code, out)
	}
	if err := vip.Unbind(ns.Handle, vipAddr); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := inNS(t, ns, "status", "--role", "realserver", state); code != exitKernel || !strings.Contains(out, "198.51.100.7") {
		t.Fatalf("status after removing the VIP: exit %d\n%s", code, out)
	}
	if code, out, errs := inNS(t, ns, "stop", "--role", "realserver", state); code != 0 {
		t.Fatalf("stop: exit %d, %q %q", code, out, errs)
	}
	if v := readSysctl(t, ns, "all", "arp_announce"); v != "0" {
		t.Fatalf("all/arp_announce = %s after stop, want 0", v)
	}
	if code, out, _ := inNS(t, ns, "stop", "--role", "realserver", state); code != 0 || !strings.Contains(out, "nothing applied") {
		t.Fatalf("second stop: exit %d, %q", code, out)
	}
}

// TestSorryServerHostFromFile: the host of a dr service's sorry server is
// set up from the cluster file, as the director adds it (in the service's
// mode): the VIP on lo and ARP quieted. Before, start exited 2 ("no
// virtual server lists one of this host's addresses").
func TestSorryServerHostFromFile(t *testing.T) {
	ns := nstest.New(t)
	state := "--state-dir=" + t.TempDir()
	cfg := writeFile(t, "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 198.51.100.7\n    port: 80\n    mode: dr\n    sorry_server: 10.0.0.99\n    real_servers:\n      - address: 10.0.0.12\n")
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--config", cfg, "--address", "10.0.0.99", state); code != 0 {
		t.Fatalf("start on the sorry server's host: exit %d, %q %q", code, out, errs)
	}
	want := vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("198.51.100.7/32"), Label: "lo:0", HostScope: true}
	if got, _ := vip.List(ns.Handle, "lo"); !slices.Contains(got, want) {
		t.Errorf("lo has %v, want %v", got, want)
	}
	for key, want := range map[string]string{"arp_ignore": "1", "arp_announce": "2"} {
		if v := readSysctl(t, ns, "all", key); v != want {
			t.Errorf("all/%s = %s, want %s", key, v, want)
		}
	}
}
