package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// TestEmptyConfigExits2: a config file with nothing in it (caught between
// being truncated and rewritten) makes start exit 2 at FILE:1:1 for either
// role, before anything is made; an explicit virtual_servers: [] is a
// director without services.
func TestEmptyConfigExits2(t *testing.T) {
	for _, body := range []string{"", "# rewritten soon\n\n"} {
		cfg := writeFile(t, body)
		for _, role := range []string{roleDirector, roleRealServer} {
			stateDir := filepath.Join(t.TempDir(), "state")
			code, out, errs := invoke(t, "start", "--role", role, "--config", cfg, "--dry-run", "--state-dir", stateDir)
			want := cfg + ":1:1: the file is empty (nothing but whitespace and comments); write virtual_servers: [] for a configuration with no services\n"
			if code != exitUsage || errs != want {
				t.Errorf("%q, %s: exit %d, stdout %q, stderr %q; want %d, %q", body, role, code, out, errs, exitUsage, want)
			}
			if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%q, %s: the state directory exists after bad input (%v)", body, role, err)
			}
		}
	}
}

// gatewayNS is a namespace with an IPv6 subnet (2001:db8::2/64) and an
// IPv4 one (10.0.0.2/24) on eth0, the gateways on them, so that the
// routes through them would be made.
func gatewayNS(t *testing.T) *nstest.NS {
	ns := nstest.New(t)
	link := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth0peer"}
	if err := ns.Handle.LinkAdd(link); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eth0", "eth0peer"} {
		l, err := ns.Handle.LinkByName(name)
		if err == nil {
			err = ns.Handle.LinkSetUp(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []*net.IPNet{{IP: net.ParseIP("2001:db8::2"), Mask: net.CIDRMask(64, 128)}, {IP: net.ParseIP("10.0.0.2"), Mask: net.CIDRMask(24, 32)}} {
		if err := ns.Handle.AddrAdd(link, &netlink.Addr{IPNet: a, Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// defaultRoutes returns the default routes of ns's main table, as
// "GATEWAY metric N".
func defaultRoutes(t *testing.T, ns *nstest.NS) []string {
	t.Helper()
	var out []string
	if err := ns.Do(func() error {
		routes, err := ns.Handle.RouteList(nil, netlink.FAMILY_ALL)
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				out = append(out, fmt.Sprintf("%s metric %d", r.Gw, r.Priority))
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGatewayOfAnotherFamilyWarns: a real server routes through the
// file's gateway of each family it serves nat VIPs of. An IPv6-only nat
// host of a file with both gateways gets the IPv6 route alone; one of a
// file whose gateway is IPv4 starts (it was refused before), leaves its
// IPv6 default route alone and warns, in start and status, that its
// IPv6 nat VIPs have no gateway; so does a host --mode nat makes nat of
// a file whose gateway is of the other family.
func TestGatewayOfAnotherFamilyWarns(t *testing.T) {
	const vss = "virtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n"
	both := writeFile(t, "realserver: {gateway: [10.0.0.1, '2001:db8::1']}\n"+vss)
	only4 := writeFile(t, "realserver: {gateway: 10.0.0.1}\n"+vss)
	drOnly := writeFile(t, "realserver: {gateway: '2001:db8::1'}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, real_servers: [{address: 10.0.0.11}]}\n")
	const no6 = "warning: no IPv6 gateway for the nat VIPs 2001:db8::100: lvs-rs leaves the host's IPv6 default route as it is"
	for _, c := range []struct {
		args   []string
		warn   string // in start's and status's stderr; "" for none
		routes []string
	}{
		{[]string{"--config", both, "--address", "2001:db8::11"}, "", []string{"2001:db8::1 metric 1"}},
		{[]string{"--config", only4, "--address", "2001:db8::11"}, no6, nil},
		{[]string{"--config", drOnly, "--address", "10.0.0.11", "--mode", "nat"}, "warning: no IPv4 gateway for the nat VIPs 10.0.0.100", nil},
	} {
		ns := gatewayNS(t)
		stateDir := filepath.Join(t.TempDir(), "state")
		common := append([]string{"--role", "realserver", "--state-dir", stateDir}, c.args...)
		code, out, errs := inNS(t, ns, append([]string{"start"}, common...)...)
		if code != 0 || (c.warn == "") != (errs == "") || !strings.Contains(errs, c.warn) {
			t.Errorf("start %v: exit %d, stdout %q, stderr %q; want 0 and a warning %q", c.args, code, out, errs, c.warn)
		}
		if got := defaultRoutes(t, ns); !slices.Equal(got, c.routes) {
			t.Errorf("start %v: default routes %q, want %q", c.args, got, c.routes)
		}
		// status compares with the recorded desired state.
		code, out, errs = inNS(t, ns, "status", "--role", "realserver", "--state-dir", stateDir)
		if code != 0 || !strings.Contains(out+errs, c.warn) || (c.warn == "") == strings.Contains(out+errs, "warning") {
			t.Errorf("status %v: exit %d, stdout %q, stderr %q; want 0 and a warning %q", c.args, code, out, errs, c.warn)
		}
		if code, _, errs := inNS(t, ns, "stop", "--role", "realserver", "--state-dir", stateDir); code != 0 || len(defaultRoutes(t, ns)) != 0 {
			t.Errorf("stop %v: exit %d, stderr %q, default routes %q", c.args, code, errs, defaultRoutes(t, ns))
		}
	}
}

// TestGatewayChecked: a gateway the real server could not use exits 2
// with its reason, before anything is made: a link-local one without its
// interface, two of one family, or one given with --gateway (with or
// without a file) of a family none of the host's nat VIPs has (it would
// replace that family's default route and route no nat reply). A file's
// gateway of a family this host serves no nat VIP of is left unused
// instead, and a nat family without a gateway is warned about: see
// TestGatewayOfAnotherFamilyWarns.
func TestGatewayChecked(t *testing.T) {
	ns := gatewayNS(t)
	natV4 := writeFile(t, "virtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n")
	const why = " is IPv6 but every %s is IPv4: nat replies would not route through it, and it would replace the host's IPv6 default route; give the director's IPv4 address\n"
	for _, c := range []struct {
		args []string
		errs string
	}{
		{[]string{"--mode", "nat", "--gateway", "fe80::1"}, "--gateway: fe80::1 is link-local: name the interface it is reached through, such as fe80::1%eth0\n"},
		{[]string{"--mode", "nat", "--vip", "10.0.0.100", "--gateway", "2001:db8::1"}, "--gateway: 2001:db8::1" + fmt.Sprintf(why, "--vip")},
		{[]string{"--config", natV4, "--address", "10.0.0.11", "--gateway", "2001:db8::1"}, "lvs-rs: --gateway: 2001:db8::1" + fmt.Sprintf(why, "nat VIP of this host")},
		{[]string{"--mode", "nat", "--gateway", "10.0.0.1", "--gateway", "10.0.0.2"}, "--gateway: 10.0.0.2 is a second IPv4 gateway, after 10.0.0.1: give at most one IPv4 and one IPv6 address\n"},
		{[]string{"--config", natV4, "--address", "10.0.0.11", "--gateway", "2001:db8::1,2001:db8::2"}, "lvs-rs: --gateway: 2001:db8::2 is a second IPv6 gateway, after 2001:db8::1: give at most one IPv4 and one IPv6 address\n"},
		{[]string{"--config", natV4, "--address", "10.0.0.11", "--gateway", "10.0.0.1,2001:db8::1"}, "lvs-rs: --gateway: 2001:db8::1" + fmt.Sprintf(why, "nat VIP of this host")},
	} {
		stateDir := filepath.Join(t.TempDir(), "state")
		args := append([]string{"start", "--role", "realserver", "--state-dir", stateDir}, c.args...)
		code, out, errs := inNS(t, ns, args...)
		if code != exitUsage || !strings.HasSuffix(errs, c.errs) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q", c.args, code, out, errs, exitUsage, c.errs)
		}
		var routes []netlink.Route
		if err := ns.Do(func() (err error) {
			routes, err = ns.Handle.RouteList(nil, netlink.FAMILY_V6)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				t.Errorf("%v: a default route was made: %v", c.args, r)
			}
		}
	}
}

// TestStartFlagsNotIgnored: start refuses, exit 2, the flags its role and
// source of services would not use, instead of ignoring them: the
// single-service flags of a director next to a config file (default or
// named), --vip next to an explicit --config (the file was dropped and the
// director converged to the one flag-built service), the real-server flags
// on a director, the director's flags on a real server. --vip alone, with
// LVS_RS_CONFIG set or not, still builds the one service, and a missing
// --port says it is required.
func TestStartFlagsNotIgnored(t *testing.T) {
	cfg := writeFile(t, "director:\n  interface: lo\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    real_servers:\n      - address: 10.0.0.11\n  - vip: 10.0.0.101\n    port: 80\n    real_servers:\n      - address: 10.0.0.11\n")
	single := []string{"--vip", "10.0.0.100", "--interface", "lo", "--port", "80", "--realserver", "10.0.0.11"}
	for _, c := range []struct {
		env  string // LVS_RS_CONFIG
		args []string
		errs string
	}{
		{"", []string{"--role", "director", "--config", cfg, "--mode", "nat", "--scheduler", "rr"},
			"lvs-rs: --mode, --scheduler: flags of a director without a config file (with --vip); this one takes its services from " + cfg + ": set them there\n"},
		{cfg, []string{"--role", "director", "--port", "81", "--protocol", "udp", "--realserver", "10.0.0.12", "--persistence", "60", "--interface", "eth1"},
			"lvs-rs: --interface, --port, --protocol, --realserver, --persistence: flags of a director without a config file (with --vip); this one takes its services from " + cfg + ": set them there\n"},
		{"", append([]string{"--role", "director", "--config", cfg}, single...),
			"lvs-rs: --config, --vip: the director takes its services from a config file or from --vip and the flags of its one service, not both; drop --config to use the flags, or --vip to use the file\n"},
		{"", append([]string{"--role", "director", "--gateway", "10.0.0.1", "--address", "10.0.0.2"}, single...),
			"lvs-rs: --gateway, --address: flags of a real server; the director does not use them\n"},
		{"", []string{"--role", "realserver", "--vip", "10.0.0.100", "--port", "80", "--scheduler", "rr"},
			"lvs-rs: --scheduler, --port: flags of a director without a config file; a real server takes --vip, --mode, --gateway, --tunnel and --address\n"},
		{"", []string{"--role", "director", "--vip", "10.0.0.100", "--interface", "lo", "--realserver", "10.0.0.11"},
			"--port: required (the service's port; 0 with --persistence means every port)\n"},
	} {
		t.Setenv("LVS_RS_CONFIG", c.env)
		stateDir := filepath.Join(t.TempDir(), "state")
		args := append([]string{"start", "--dry-run", "--state-dir", stateDir}, c.args...)
		code, out, errs := invoke(t, args...)
		if code != exitUsage || errs != c.errs {
			t.Errorf("LVS_RS_CONFIG=%s %v: exit %d, stdout %q, stderr %q; want %d, %q", c.env, c.args, code, out, errs, exitUsage, c.errs)
		}
		if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: the state directory exists after bad input (%v)", c.args, err)
		}
	}
	// --vip alone builds its one service, also with LVS_RS_CONFIG set.
	for _, env := range []string{"", cfg} {
		t.Setenv("LVS_RS_CONFIG", env)
		code, out, errs := invoke(t, append([]string{"start", "--role", "director", "--dry-run", "--state-dir", t.TempDir()}, single...)...)
		if code != 0 || !strings.Contains(out, "10.0.0.100") || strings.Contains(out, "10.0.0.101") {
			t.Errorf("LVS_RS_CONFIG=%s, --vip: exit %d, stdout %q, stderr %q; want the flags' one service planned", env, code, out, errs)
		}
	}
}

// TestStatusGatewayFlag: status of a nat real server started from flags
// compares with the same flags, --gateway included: without it the
// route start made would be drift. --gateway without --vip exits 2.
func TestStatusGatewayFlag(t *testing.T) {
	ns := gatewayNS(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	flags := []string{"--role", "realserver", "--state-dir", stateDir, "--mode", "nat", "--vip", "10.0.0.100"}
	if code, out, errs := inNS(t, ns, append(append([]string{"start"}, flags...), "--gateway", "10.0.0.1")...); code != 0 {
		t.Fatalf("start: exit %d, %q %q", code, out, errs)
	}
	if code, out, errs := inNS(t, ns, append(append([]string{"status"}, flags...), "--gateway", "10.0.0.1")...); code != 0 {
		t.Errorf("status with the start's --gateway: exit %d, %q %q; want 0", code, out, errs)
	}
	if code, out, errs := inNS(t, ns, append([]string{"status"}, flags...)...); code != exitKernel {
		t.Errorf("status without --gateway: exit %d, %q %q; want %d, drift (the route is not asked for)", code, out, errs, exitKernel)
	}
	code, _, errs := inNS(t, ns, "status", "--role", "realserver", "--state-dir", stateDir, "--gateway", "10.0.0.1")
	if code != exitUsage || !strings.Contains(errs, "--gateway: only with --vip") {
		t.Errorf("status --gateway without --vip: exit %d, %q; want %d", code, errs, exitUsage)
	}
	if code, _, errs := inNS(t, ns, "stop", "--role", "realserver", "--state-dir", stateDir); code != 0 {
		t.Errorf("stop: exit %d, %q", code, errs)
	}
}
