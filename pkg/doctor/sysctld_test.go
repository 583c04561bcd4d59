package doctor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
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
	run(t, checkSysctlD, tree(t, fw), Target{Role: RoleDirector, IPForward: true},
		outcome{NameSysctlD, false, []string{"sysctl.conf:1 sets net.ipv4.ip_forward = 0"}})
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
