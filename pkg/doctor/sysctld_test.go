package doctor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

func TestSysctlD(t *testing.T) {
	dr := rsTarget(config.ModeDR, "10.0.0.100")
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	run(t, checkSysctlD, tree(t, map[string]string{}), dr, outcome{NameSysctlD, true, nil})
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-net.conf": "# comment\nnet.ipv4.conf.all.arp_ignore = 0\n",
	}), dr, outcome{NameSysctlD, false, []string{"etc/sysctl.d/10-net.conf:2 sets net.ipv4.conf.all.arp_ignore = 0", "undoing lvs-rs's 1"}})
	// A later file sets it back: the last assignment wins.
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-net.conf": "net.ipv4.conf.all.arp_ignore = 0\n",
		"etc/sysctl.d/90-lvs.conf": "net.ipv4.conf.all.arp_ignore=1\n",
	}), dr, outcome{NameSysctlD, true, nil})
	// A stricter value does not undo anything.
	run(t, checkSysctlD, tree(t, map[string]string{"etc/sysctl.conf": "net.ipv4.conf.all.arp_ignore = 2\n"}), dr,
		outcome{NameSysctlD, true, nil})
	// The same name in /etc hides the vendor's file in /usr/lib.
	run(t, checkSysctlD, tree(t, map[string]string{
		"usr/lib/sysctl.d/50-default.conf": "net.ipv4.conf.all.arp_announce = 0\n",
		"etc/sysctl.d/50-default.conf":     "kernel.panic = 10\n",
	}), dr, outcome{NameSysctlD, true, nil})
	run(t, checkSysctlD, tree(t, map[string]string{"usr/lib/sysctl.d/50-default.conf": "net.ipv4.conf.all.arp_announce = 0\n"}), dr,
		outcome{NameSysctlD, false, []string{"usr/lib/sysctl.d/50-default.conf:1 sets net.ipv4.conf.all.arp_announce = 0"}})
	// systemd's glob and '-' prefix, and the slash form; rp_filter must be 0.
	run(t, checkSysctlD, tree(t, map[string]string{
		"lib/sysctl.d/50-rp.conf":  "-net.ipv4.conf.*.rp_filter = 2\n",
		"run/sysctl.d/60-tun.conf": "net/ipv4/conf/tunl0/arp_ignore = 0\n",
	}), tun,
		outcome{NameSysctlD, false, []string{"60-tun.conf:1 sets net.ipv4.conf.tunl0.arp_ignore = 0"}},
		outcome{NameSysctlD, false, []string{"50-rp.conf:1 sets net.ipv4.conf.tunl0.rp_filter = 2"}},
		outcome{NameSysctlD, false, []string{"50-rp.conf:1 sets net.ipv4.conf.all.rp_filter = 2"}})
	// The director: ip_forward only when lvs-rs turns it on.
	fw := map[string]string{"etc/sysctl.conf": "net.ipv4.ip_forward=0\n"}
	run(t, checkSysctlD, tree(t, fw), Target{Role: RoleDirector}, outcome{NameSysctlD, true, nil})
	run(t, checkSysctlD, tree(t, fw), Target{Role: RoleDirector, Sysctls: []director.SysctlWant{{Key: "net/ipv4/ip_forward", Value: "1"}}},
		outcome{NameSysctlD, false, []string{"sysctl.conf:1 sets net.ipv4.ip_forward = 0"}})
}

// loadConfig writes a cluster file and loads it.
func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSysctlDDirectorAll: on a director every parameter lvs-rs sets is
// checked — ip_forward and send_redirects (conf/all and the interface)
// of a nat director, director.ipvs_sysctls, and accept_local on the
// interface for a check through the VIP — each reported where a line
// sets another value; a line that sets lvs-rs's own value, or sets
// conf/all/accept_local (which lvs-rs leaves alone), is fine.
func TestSysctlDDirectorAll(t *testing.T) {
	cfg := loadConfig(t, `director:
  interface: eth0
  ipvs_sysctls: {expire_nodest_conn: 1, conn_reuse_mode: 2}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: nat
    real_servers: [{address: 10.0.1.11}]
  - vip: 10.0.0.101
    port: 80
    mode: dr
    check: {type: tcp, via: vip}
    real_servers: [{address: 10.0.0.12}]
`)
	tg := DirectorTarget(cfg)
	h := tree(t, map[string]string{"etc/sysctl.d/90-net.conf": `net.ipv4.ip_forward = 0
net.ipv4.conf.*.send_redirects = 1
net.ipv4.vs.conn_reuse_mode = 1
net.ipv4.vs.expire_nodest_conn = 01
net.ipv4.conf.eth0.accept_local = 0
net.ipv4.conf.all.accept_local = 0
`})
	run(t, checkSysctlD, h, tg,
		outcome{NameSysctlD, false, []string{"90-net.conf:2 sets net.ipv4.conf.all.send_redirects = 1", "undoing lvs-rs's 0"}},
		outcome{NameSysctlD, false, []string{"90-net.conf:5 sets net.ipv4.conf.eth0.accept_local = 0", "undoing lvs-rs's 1", "via: vip"}},
		outcome{NameSysctlD, false, []string{"90-net.conf:2 sets net.ipv4.conf.eth0.send_redirects = 1", "add the line net.ipv4.conf.eth0.send_redirects = 0"}},
		outcome{NameSysctlD, false, []string{"90-net.conf:1 sets net.ipv4.ip_forward = 0", "nat needs forwarding"}},
		outcome{NameSysctlD, false, []string{"90-net.conf:3 sets net.ipv4.vs.conn_reuse_mode = 1", "undoing lvs-rs's 2", "director.ipvs_sysctls"}})
}

// TestSysctlDVLANInterface: a director interface whose name holds a dot
// (a VLAN, eth0.100) is named as sysctl.d reads it, eth0/100 between
// dots: the line the fix gives sets that device's parameter, not
// net/ipv4/conf/eth0/100/accept_local.
func TestSysctlDVLANInterface(t *testing.T) {
	cfg := loadConfig(t, `director:
  interface: eth0.100
virtual_servers:
  - vip: 10.0.0.101
    port: 80
    mode: dr
    check: {type: tcp, via: vip}
    real_servers: [{address: 10.0.0.12}]
`)
	h := tree(t, map[string]string{"etc/sysctl.d/90-net.conf": "net.ipv4.conf.eth0/100.accept_local = 0\n"})
	run(t, checkSysctlD, h, DirectorTarget(cfg),
		outcome{NameSysctlD, false, []string{"90-net.conf:1 sets net.ipv4.conf.eth0/100.accept_local = 0",
			"set net.ipv4.conf.eth0/100.accept_local = 1 there"}})
	if k := normalizeKey(dotted("net/ipv4/conf/eth0.100/accept_local")); k != "net/ipv4/conf/eth0.100/accept_local" {
		t.Errorf("dotted does not read back: %s", k)
	}
}

// TestSysctlDRealServerEnough: a real server's line undoes lvs-rs's
// value when start would replace it (arp.Enough): arp_ignore 4 to 7
// reply as 0 does and arp_announce above 2 acts as 0, so both are
// problems; arp_ignore 2 or 8 is fine, and 3 for dr VIPs (scope host on
// lo) but not for a tun one.
func TestSysctlDRealServerEnough(t *testing.T) {
	dr := rsTarget(config.ModeDR, "10.0.0.100")
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	conf := func(ignore, announce string) Host {
		return tree(t, map[string]string{"etc/sysctl.d/90-net.conf": "net.ipv4.conf.all.arp_ignore = " + ignore + "\nnet.ipv4.conf.all.arp_announce = " + announce + "\n"})
	}
	run(t, checkSysctlD, conf("5", "3"), dr,
		outcome{NameSysctlD, false, []string{"sets net.ipv4.conf.all.arp_ignore = 5", "undoing lvs-rs's 1"}},
		outcome{NameSysctlD, false, []string{"sets net.ipv4.conf.all.arp_announce = 3", "undoing lvs-rs's 2"}})
	for _, v := range []string{"2", "8", "3"} {
		run(t, checkSysctlD, conf(v, "2"), dr, outcome{NameSysctlD, true, nil})
	}
	run(t, checkSysctlD, conf("3", "2"), tun, outcome{NameSysctlD, false, []string{"sets net.ipv4.conf.all.arp_ignore = 3"}})
}

// Debian's /etc/sysctl.d/99-sysctl.conf links to /etc/sysctl.conf: one
// file, reported once.
func TestSysctlDSymlinkReadOnce(t *testing.T) {
	h := tree(t, map[string]string{"etc/sysctl.conf": "net.ipv4.conf.lo.arp_ignore = 0\n"})
	link := filepath.Join(h.EtcRoot, "etc/sysctl.d/99-sysctl.conf")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sysctl.conf", link); err != nil {
		t.Fatal(err)
	}
	as, err := readSysctlFiles(h.EtcRoot)
	if err != nil || len(as) != 1 {
		t.Fatalf("readSysctlFiles = %+v, %v; want one assignment", as, err)
	}
}

// stock50Default is the rp_filter part of systemd's own
// /usr/lib/sysctl.d/50-default.conf: a glob for every device and an
// exclusion (no '=') of conf/all, which it leaves to the kernel.
const stock50Default = `# Source route verification
net.ipv4.conf.default.rp_filter = 2
net.ipv4.conf.*.rp_filter = 2
-net.ipv4.conf.all.rp_filter

# Do not accept source routing
net.ipv4.conf.default.accept_source_route = 0
net.ipv4.conf.*.accept_source_route = 0
-net.ipv4.conf.all.accept_source_route

# Promote secondary addresses when the primary address is removed
net.ipv4.conf.default.promote_secondaries = 1
net.ipv4.conf.*.promote_secondaries = 1
-net.ipv4.conf.all.promote_secondaries
`

// TestSysctlDSystemdRules follows sysctl.d(5) and systemd-sysctl: a key
// with an explicit line (assignment or "-key" exclusion) is never set by a
// glob, whatever the order; "-key" sets nothing; files sort by name across
// the directories, and a name in /etc or /run hides the same name below.
func TestSysctlDSystemdRules(t *testing.T) {
	dr := rsTarget(config.ModeDR, "10.0.0.100")
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	// systemd's stock file excludes conf/all from its glob: only tunl0
	// gets rp_filter=2 (when it appears), all keeps lvs-rs's 0.
	run(t, checkSysctlD, tree(t, map[string]string{"usr/lib/sysctl.d/50-default.conf": stock50Default}), tun,
		outcome{NameSysctlD, false, []string{"50-default.conf:3 sets net.ipv4.conf.tunl0.rp_filter = 2"}})
	run(t, checkSysctlD, tree(t, map[string]string{"usr/lib/sysctl.d/50-default.conf": stock50Default}), dr,
		outcome{NameSysctlD, true, nil})
	// An explicit setting beats a later glob, in another file or the same.
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-lvs.conf": "net.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.tunl0.rp_filter = 0\n",
		"etc/sysctl.d/90-rp.conf":  "net.ipv4.conf.*.rp_filter = 2\n",
	}), tun, outcome{NameSysctlD, true, nil})
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-a.conf": "net.ipv4.conf.all.arp_ignore = 0\n",
		"etc/sysctl.d/90-b.conf": "net.ipv4.conf.*.arp_ignore = 1\n",
	}), dr, outcome{NameSysctlD, false, []string{"10-a.conf:1 sets net.ipv4.conf.all.arp_ignore = 0"}})
	// An exclusion drops an earlier explicit assignment of the same key,
	// and a later assignment replaces an exclusion.
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-a.conf": "net.ipv4.conf.all.arp_ignore = 0\n",
		"etc/sysctl.d/20-b.conf": "  -net.ipv4.conf.all.arp_ignore  \n",
	}), dr, outcome{NameSysctlD, true, nil})
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-a.conf": "-net.ipv4.conf.all.arp_ignore\n",
		"etc/sysctl.d/20-b.conf": "net.ipv4.conf.all.arp_ignore = 0\n",
	}), dr, outcome{NameSysctlD, false, []string{"20-b.conf:1 sets net.ipv4.conf.all.arp_ignore = 0"}})
	// Two globs: the one whose value changed last applies last; repeating
	// an earlier glob with its own value does not move it.
	run(t, checkSysctlD, tree(t, map[string]string{"etc/sysctl.d/10-a.conf": "net.ipv4.conf.*.arp_ignore = 0\n" +
		"net.ipv4.conf.a*.arp_ignore = 1\nnet.ipv4.conf.*.arp_ignore = 0\n"}), dr,
		outcome{NameSysctlD, false, []string{"10-a.conf:1 sets net.ipv4.conf.lo.arp_ignore = 0"}})
	// Files sort by name whatever their directory: /usr/lib's 90 comes
	// after /etc's 10. /run hides the same name in /usr/lib.
	run(t, checkSysctlD, tree(t, map[string]string{
		"etc/sysctl.d/10-a.conf":     "net.ipv4.conf.lo.arp_ignore = 1\n",
		"usr/lib/sysctl.d/90-b.conf": "net.ipv4.conf.lo.arp_ignore = 0\n",
	}), dr, outcome{NameSysctlD, false, []string{"usr/lib/sysctl.d/90-b.conf:1 sets net.ipv4.conf.lo.arp_ignore = 0"}})
	run(t, checkSysctlD, tree(t, map[string]string{
		"run/sysctl.d/50-x.conf":           "net.ipv4.conf.lo.arp_ignore = 1\n",
		"usr/local/lib/sysctl.d/50-x.conf": "net.ipv4.conf.lo.arp_ignore = 0\n",
		"usr/lib/sysctl.d/50-x.conf":       "net.ipv4.conf.lo.arp_ignore = 0\n",
	}), dr, outcome{NameSysctlD, true, nil})
	// Key spellings systemd normalizes: a leading slash, and dots and
	// slashes swapped when the first separator is a dot.
	run(t, checkSysctlD, tree(t, map[string]string{"etc/sysctl.d/10-a.conf": "/net/ipv4/conf/lo/arp_ignore = 0\n"}), dr,
		outcome{NameSysctlD, false, []string{"10-a.conf:1 sets net.ipv4.conf.lo.arp_ignore = 0"}})
}

// TestSysctlDMaskedFile: a link to /dev/null in /etc masks the vendor's
// file of that name.
func TestSysctlDMaskedFile(t *testing.T) {
	h := tree(t, map[string]string{"usr/lib/sysctl.d/50-default.conf": "net.ipv4.conf.all.arp_ignore = 0\n"})
	link := filepath.Join(h.EtcRoot, "etc/sysctl.d/50-default.conf")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	run(t, checkSysctlD, h, rsTarget(config.ModeDR, "10.0.0.100"), outcome{NameSysctlD, true, nil})
}
