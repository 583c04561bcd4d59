package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
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

// TestGatewayChecked: a gateway the real server could not use exits 2
// with its reason, before anything is made: a link-local one without its
// interface, or one of a family none of the host's nat VIPs has (it would
// replace that family's default route and route no nat reply), from
// --gateway (with or without a file) and from the file's
// realserver.gateway when --mode nat makes its VIPs nat on this host.
func TestGatewayChecked(t *testing.T) {
	ns := nstest.New(t)
	// An IPv6 subnet with the gateways on it, so the routes would be made.
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
	subnet := &net.IPNet{IP: net.ParseIP("2001:db8::2"), Mask: net.CIDRMask(64, 128)}
	if err := ns.Handle.AddrAdd(link, &netlink.Addr{IPNet: subnet, Flags: unix.IFA_F_NODAD}); err != nil {
		t.Fatal(err)
	}
	natV4 := writeFile(t, "virtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}\n  - {vip: '2001:db8::100', port: 80, mode: nat, real_servers: [{address: '2001:db8::11'}]}\n")
	drOnly := writeFile(t, "realserver: {gateway: '2001:db8::1'}\nvirtual_servers:\n  - {vip: 10.0.0.100, port: 80, real_servers: [{address: 10.0.0.11}]}\n")
	const why = " is IPv6 but every %s is IPv4: nat replies would not route through it, and it would replace the host's IPv6 default route; give the director's IPv4 address\n"
	for _, c := range []struct {
		args []string
		errs string
	}{
		{[]string{"--mode", "nat", "--gateway", "fe80::1"}, "--gateway: fe80::1 is link-local: name the interface it is reached through, such as fe80::1%eth0\n"},
		{[]string{"--mode", "nat", "--vip", "10.0.0.100", "--gateway", "2001:db8::1"}, "--gateway: 2001:db8::1" + fmt.Sprintf(why, "--vip")},
		{[]string{"--config", natV4, "--address", "10.0.0.11", "--gateway", "2001:db8::1"}, "lvs-rs: --gateway: 2001:db8::1" + fmt.Sprintf(why, "nat VIP of this host")},
		{[]string{"--config", drOnly, "--address", "10.0.0.11", "--mode", "nat"}, "lvs-rs: " + drOnly + ": realserver.gateway: 2001:db8::1" + fmt.Sprintf(why, "nat VIP of this host")},
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
