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
