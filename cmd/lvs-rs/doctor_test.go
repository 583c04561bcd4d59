package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/doctor"
)

func TestDoctorBadInput(t *testing.T) {
	bad := writeFile(t, "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.300\n    port: 80\n")
	code, _, errs := invoke(t, "doctor", "--config", bad)
	if want := bad + ":4:10: virtual_servers[0].vip: \"10.0.0.300\" is not an IP address\n"; code != exitUsage || errs != want {
		t.Errorf("bad config: exit %d, stderr %q; want %d, %q", code, errs, exitUsage, want)
	}
	good := writeFile(t, "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers: [{address: 10.0.0.11}]\n")
	for _, args := range [][]string{
		{"doctor", "--config", good, "--role", "client"},
		{"doctor", "--config", good, "-o", "yaml"},
		{"doctor", "--config", filepath.Join(t.TempDir(), "missing.yaml")},
		{"doctor", "--config", good, "--role", "realserver"}, // no address of this host is a real server
	} {
		if code, _, errs := invoke(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, errs)
		}
	}
}

// TestDoctorRealServerFromTree runs the real-server checks against a
// temporary tree (LVS_RS_DOCTOR_ROOT): one problem gives exit 1 and a
// PROBLEM line naming the check; fixed, exit 0.
func TestDoctorRealServerFromTree(t *testing.T) {
	root := t.TempDir()
	set := func(rel, v string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dev := range []string{"all", "default", "lo", "eth0"} {
		set("proc/sys/net/ipv4/conf/"+dev+"/arp_ignore", "1")
		set("proc/sys/net/ipv4/conf/"+dev+"/arp_announce", "2")
	}
	t.Setenv("LVS_RS_DOCTOR_ROOT", root)
	cfg := writeFile(t, "director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers: [{address: 192.0.2.11}]\n")
	args := []string{"doctor", "--role", "realserver", "--config", cfg, "--address", "192.0.2.11"}
	if code, out, errs := invoke(t, args...); code != exitOK || out != "arp-sysctls  ok\nsysctl.d     ok\n" {
		t.Errorf("correct host: exit %d, stdout %q, stderr %q; want 0 and two ok lines", code, out, errs)
	}
	// The same host without a file: --vip (dr by default).
	if code, out, errs := invoke(t, "doctor", "--vip", "10.0.0.100"); code != exitOK || out != "arp-sysctls  ok\nsysctl.d     ok\n" {
		t.Errorf("--vip: exit %d, stdout %q, stderr %q; want 0 and two ok lines", code, out, errs)
	}
	if code, _, errs := invoke(t, "doctor", "--vip", "10.0.0.300"); code != exitUsage {
		t.Errorf("--vip 10.0.0.300: exit %d, want %d (stderr %q)", code, exitUsage, errs)
	}
	set("etc/sysctl.d/90-local.conf", "net.ipv4.conf.all.arp_ignore = 0")
	code, out, _ := invoke(t, append(args, "-o", "json")...)
	var rep doctor.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if code != exitKernel || rep.OK || len(rep.Results) != 2 || rep.Results[1].Check != doctor.NameSysctlD || rep.Results[1].OK {
		t.Errorf("sysctl.d undoing arp_ignore: exit %d, report %+v; want 1 and a sysctl.d problem", code, rep)
	}
	if !strings.Contains(rep.Results[1].Problem, "90-local.conf:1") {
		t.Errorf("problem %q does not name the file and line", rep.Results[1].Problem)
	}
}
