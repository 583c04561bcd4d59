package checks

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// debianDir is where the maintainer scripts are read from:
// LVSRS_DEBIAN_DIR, else packaging/debian.
func debianDir() string {
	if d := os.Getenv("LVSRS_DEBIAN_DIR"); d != "" {
		return d
	}
	return filepath.Join(repo, "packaging/debian")
}

func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(debianDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Defect: the postrm masks the units on remove and the postinst never
// unmasked them, so after apt remove and apt install they stayed masked
// (links to /dev/null in /etc/systemd/system). Runs the scripts as dpkg
// would, with the real deb-systemd-helper, in a DPKG_ROOT.
func TestReinstallUnmasksAndKeepsEnabled(t *testing.T) {
	if _, err := exec.LookPath("deb-systemd-helper"); err != nil {
		t.Skip("deb-systemd-helper not installed (init-system-helpers)")
	}
	root := t.TempDir()
	units := unitNames(t)
	sysdir := filepath.Join(root, "lib/systemd/system")
	if err := os.MkdirAll(sysdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join(unitDir(), u))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sysdir, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command("sh", append([]string{script(t, name)}, args...)...)
		cmd.Env = append(os.Environ(), "DPKG_ROOT="+root, "DPKG_MAINTSCRIPT_PACKAGE=lvs-rs", "DPKG_MAINTSCRIPT_NAME="+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	helper := func(args ...string) {
		t.Helper()
		cmd := exec.Command("deb-systemd-helper", args...)
		cmd.Env = append(os.Environ(), "DPKG_ROOT="+root, "DPKG_MAINTSCRIPT_PACKAGE=lvs-rs", "DPKG_MAINTSCRIPT_NAME=postinst")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deb-systemd-helper %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	etc := filepath.Join(root, "etc/systemd/system")
	masked := func() []string {
		var m []string
		for _, u := range units {
			if l, err := os.Readlink(filepath.Join(etc, u)); err == nil && l == "/dev/null" {
				m = append(m, u)
			}
		}
		return m
	}
	wants := func(u string) bool {
		_, err := os.Lstat(filepath.Join(etc, "multi-user.target.wants", u))
		return err == nil
	}

	run("postinst", "configure")
	for _, u := range units {
		if wants(u) {
			t.Errorf("installing enabled %s", u)
		}
	}
	// The administrator enables one unit (as systemctl enable would).
	enabled := "lvs-rs-realserver.service"
	helper("enable", enabled)
	run("postinst", "configure", "0.0~old") // an upgrade keeps it
	if !wants(enabled) {
		t.Fatalf("%s not enabled after an upgrade", enabled)
	}

	run("postrm", "remove")
	if m := masked(); len(m) != len(units) {
		t.Errorf("after postrm remove, masked: %v, want every unit (as dh_installsystemd)", m)
	}
	run("postinst", "configure")
	if m := masked(); len(m) != 0 {
		t.Errorf("after remove and a new install, still masked: %v", m)
	}
	if !wants(enabled) {
		t.Errorf("after remove and a new install, %s is no longer enabled", enabled)
	}
	for _, u := range units {
		if u != enabled && wants(u) {
			t.Errorf("after remove and a new install, %s is enabled", u)
		}
	}

	run("postrm", "remove")
	run("postrm", "purge")
	if m := masked(); len(m) != 0 {
		t.Errorf("after purge, still masked: %v", m)
	}
	if wants(enabled) {
		t.Errorf("after purge, %s is still enabled", enabled)
	}
}

// fakeTools writes the fakes the prerm and postrm call: deb-systemd-invoke,
// deb-systemd-helper and systemctl on PATH, and /usr/sbin/lvs-rs (put
// there by an overlay in the test's mount namespace). Each logs its
// arguments to dir/log. The fake lvs-rs refuses `stop --role director`
// while dir/daemon-running exists (as lvs-rs does while `lvs-rs run` is
// active), which the fake deb-systemd-invoke removes when it stops the
// daemon unit; it fails `stop --role ROLE` while dir/fail-ROLE exists, and
// otherwise removes ROLE's record, as a successful stop does.
func fakeTools(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"bin/deb-systemd-invoke": `#!/bin/sh
echo "deb-systemd-invoke $*" >>"$FAKE_DIR/log"
if [ "$1" = stop ]; then
	for u; do [ "$u" = lvs-rs-director-daemon.service ] && rm -f "$FAKE_DIR/daemon-running"; done
fi
exit 0
`,
		"bin/deb-systemd-helper": "#!/bin/sh\necho \"deb-systemd-helper $*\" >>\"$FAKE_DIR/log\"\n",
		"bin/systemctl":          "#!/bin/sh\necho \"systemctl $*\" >>\"$FAKE_DIR/log\"\n",
		"sbin/lvs-rs": `#!/bin/sh
echo "lvs-rs $*" >>"$FAKE_DIR/log"
[ "$1 $2" = "stop --role" ] || exit 0
if [ "$3" = director ] && [ -e "$FAKE_DIR/daemon-running" ]; then
	echo "lvs-rs: lvs-rs run is active and owns the director: stop it first" >&2
	exit 1
fi
if [ -e "$FAKE_DIR/fail-$3" ]; then
	echo "lvs-rs: $3: unbind 10.0.0.100/32 from lo: operation not permitted" >&2
	exit 1
fi
echo "$3: stop: 3 change(s) applied"
rm -f "/run/lvs-rs/$3.json"
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// driver runs a maintainer script in a mount namespace of its own: /run is
// an empty tmpfs (with /run/systemd/system when FAKE_SYSTEMD is set, and
// the records named in FAKE_RECORDS in /run/lvs-rs), and $FAKE_DIR/sbin
// lies over /usr/sbin. It leaves what /run/lvs-rs holds afterwards in
// $FAKE_DIR/left ("gone" when it was removed).
const driver = `set -e
mount -t tmpfs tmpfs /run
mkdir -m 0700 /run/lvs-rs
[ -z "$FAKE_SYSTEMD" ] || mkdir -p /run/systemd/system
for r in $FAKE_RECORDS; do echo '{}' >"/run/lvs-rs/$r.json"; done
mount -t overlay overlay -o "lowerdir=$FAKE_DIR/sbin:/usr/sbin" /usr/sbin
[ -z "$FAKE_SETUP" ] || sh -c "$FAKE_SETUP"
set +e
PATH="$FAKE_DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin" sh "$@"
rc=$?
set -e
[ -z "$FAKE_CHECK" ] || sh -c "$FAKE_CHECK" >"$FAKE_DIR/check" 2>&1 || { cat "$FAKE_DIR/check" >&2; exit 99; }
if [ -d /run/lvs-rs ]; then ls /run/lvs-rs >"$FAKE_DIR/left"; else echo gone >"$FAKE_DIR/left"; fi
exit $rc
`

// needNamespaces skips a test that needs root's mount (and network)
// namespaces and overlayfs.
func needNamespaces(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount namespace over /run and /usr/sbin)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
}

type runResult struct {
	code           int
	stdout, stderr string
	log            []string // the fakes' calls, in order
	left           string   // what /run/lvs-rs held afterwards, or "gone"
}

// runScript runs packaging/debian/NAME ARGS in the driver's namespace.
// setup: the scenario's env (FAKE_SYSTEMD, FAKE_RECORDS, ...) and flag
// files in the fake directory ("daemon-running", "fail-ROLE").
func runScript(t *testing.T, dir string, unshare []string, env, flags []string, name string, args ...string) runResult {
	t.Helper()
	for _, f := range flags {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(dir, "log"))
	cmdArgs := append(append([]string{}, unshare...), "sh", "-c", driver, "driver", script(t, name))
	cmd := exec.Command("unshare", append(cmdArgs, args...)...)
	cmd.Env = append(os.Environ(), "FAKE_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := runResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if r.code == 99 {
		t.Fatalf("%s %v: the scenario's check failed:\n%s", name, args, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "log")); err == nil {
		r.log = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	b, err := os.ReadFile(filepath.Join(dir, "left"))
	if err != nil {
		t.Fatalf("%s %v: the driver did not finish (exit %d): %s", name, args, r.code, r.stderr)
	}
	r.left = strings.TrimSpace(string(b))
	return r
}

// Defect: apt remove on a host running lvs-rs-director-daemon left the
// whole director (VIPs, IPVS, announce routes, nftables, sysctls): stopping
// the daemon leaves the kernel, and the one-shot unit is inactive. On
// remove, the prerm must stop the daemon first, then run lvs-rs stop for
// each role with a record; on upgrade it must touch nothing.
func TestPrermTearsDownOnRemoveOnly(t *testing.T) {
	needNamespaces(t)
	dir := t.TempDir()
	fakeTools(t, dir)
	daemon := "deb-systemd-invoke stop lvs-rs-director-daemon.service"
	stopDirector, stopRealServer := "lvs-rs stop --role director", "lvs-rs stop --role realserver"

	t.Run("daemon then director", func(t *testing.T) {
		r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1", "FAKE_RECORDS=director"},
			[]string{"daemon-running"}, "prerm", "remove")
		if r.code != 0 {
			t.Fatalf("prerm remove exited %d: %s", r.code, r.stderr)
		}
		di, si := slices.Index(r.log, daemon), slices.Index(r.log, stopDirector)
		if di < 0 || si < 0 || di > si {
			t.Fatalf("want %q, then %q; the calls were:\n%s", daemon, stopDirector, strings.Join(r.log, "\n"))
		}
		if slices.Contains(r.log, stopRealServer) {
			t.Errorf("stopped the real server role, which has no record")
		}
		for _, u := range unitNames(t) {
			if !slices.ContainsFunc(r.log, func(l string) bool {
				return strings.HasPrefix(l, "deb-systemd-invoke stop ") && slices.Contains(strings.Fields(l), u)
			}) {
				t.Errorf("%s not stopped; calls:\n%s", u, strings.Join(r.log, "\n"))
			}
		}
		if strings.Contains(r.left, "director.json") {
			t.Errorf("director record left: %s", r.left)
		}
	})

	t.Run("both roles without systemd", func(t *testing.T) {
		r := runScript(t, dir, []string{"-m"}, []string{"FAKE_RECORDS=director realserver"}, nil, "prerm", "remove")
		if r.code != 0 {
			t.Fatalf("prerm remove exited %d: %s", r.code, r.stderr)
		}
		if !slices.Equal(r.log, []string{stopDirector, stopRealServer}) {
			t.Errorf("calls:\n%s\nwant only %q then %q", strings.Join(r.log, "\n"), stopDirector, stopRealServer)
		}
		if !strings.Contains(r.stdout, "removing the director") || !strings.Contains(r.stdout, "removing the realserver") {
			t.Errorf("no message naming what is removed: %q", r.stdout)
		}
	})

	t.Run("nothing recorded", func(t *testing.T) {
		r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1"}, nil, "prerm", "remove")
		if r.code != 0 || slices.ContainsFunc(r.log, func(l string) bool { return strings.HasPrefix(l, "lvs-rs ") }) {
			t.Errorf("exit %d, calls:\n%s", r.code, strings.Join(r.log, "\n"))
		}
	})

	for _, args := range [][]string{{"upgrade", "9.9"}, {"deconfigure", "in-favour", "x", "1"}, {"failed-upgrade", "9.9"}} {
		t.Run(args[0], func(t *testing.T) {
			r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1", "FAKE_RECORDS=director realserver"},
				[]string{"daemon-running"}, "prerm", args...)
			if r.code != 0 || len(r.log) != 0 {
				t.Errorf("prerm %v: exit %d, calls (want none):\n%s", args, r.code, strings.Join(r.log, "\n"))
			}
			if r.left != "director.json\nrealserver.json" {
				t.Errorf("prerm %v changed /run/lvs-rs: %q", args, r.left)
			}
		})
	}
	os.Remove(filepath.Join(dir, "daemon-running"))

	t.Run("DPKG_ROOT", func(t *testing.T) {
		r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1", "FAKE_RECORDS=director", "DPKG_ROOT=/nonexistent"},
			nil, "prerm", "remove")
		if r.code != 0 || len(r.log) != 0 {
			t.Errorf("exit %d, calls (want none):\n%s", r.code, strings.Join(r.log, "\n"))
		}
	})

	t.Run("failed stop aborts the removal", func(t *testing.T) {
		r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1", "FAKE_RECORDS=director realserver"},
			[]string{"fail-realserver"}, "prerm", "remove")
		if r.code == 0 {
			t.Fatalf("prerm remove succeeded though lvs-rs stop --role realserver failed")
		}
		for _, want := range []string{"realserver", "LVS_RS_NO_TEARDOWN=1 apt remove lvs-rs", "operation not permitted"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("message lacks %q:\n%s", want, r.stderr)
			}
		}
		if !slices.Contains(r.log, stopDirector) {
			t.Errorf("the director was not torn down because the real server failed")
		}
		if r.left != "realserver.json" {
			t.Errorf("/run/lvs-rs holds %q, want the failed role's record kept", r.left)
		}
	})

	t.Run("LVS_RS_NO_TEARDOWN", func(t *testing.T) {
		r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1", "FAKE_RECORDS=realserver", "LVS_RS_NO_TEARDOWN=1"},
			nil, "prerm", "remove")
		if r.code != 0 || slices.Contains(r.log, stopRealServer) {
			t.Errorf("exit %d, calls:\n%s", r.code, strings.Join(r.log, "\n"))
		}
		if !strings.Contains(r.stderr, "left as it is") || r.left != "realserver.json" {
			t.Errorf("stderr %q, /run/lvs-rs %q", r.stderr, r.left)
		}
	})
	os.Remove(filepath.Join(dir, "fail-realserver"))
}

// Defect: purge ran rm -rf /run/lvs-rs, losing the record of what a
// removal left in place. postrm purge keeps it while a role's record is
// there, and removes the directory otherwise.
func TestPostrmPurgeKeepsRecords(t *testing.T) {
	needNamespaces(t)
	dir := t.TempDir()
	fakeTools(t, dir)
	r := runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1", "FAKE_RECORDS=director"}, nil, "postrm", "purge")
	if r.code != 0 || r.left != "director.json" {
		t.Errorf("purge with a record: exit %d, /run/lvs-rs %q, stderr %q", r.code, r.left, r.stderr)
	}
	r = runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1"}, nil, "postrm", "purge")
	if r.code != 0 || r.left != "gone" {
		t.Errorf("purge without a record: exit %d, /run/lvs-rs %q", r.code, r.left)
	}
	r = runScript(t, dir, []string{"-m"}, []string{"FAKE_SYSTEMD=1"}, nil, "postrm", "remove")
	for _, u := range unitNames(t) {
		if !slices.ContainsFunc(r.log, func(l string) bool {
			return strings.HasPrefix(l, "deb-systemd-helper mask ") && slices.Contains(strings.Fields(l), u)
		}) {
			t.Errorf("postrm remove did not mask %s; calls:\n%s", u, strings.Join(r.log, "\n"))
		}
	}
}

var (
	buildOnce sync.Once
	binary    string
	buildDir  string // removed by TestMain
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// lvsRS builds lvs-rs from the repository into a directory of its own
// (LVSRS_BIN names a built one instead).
func lvsRS(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if b := os.Getenv("LVSRS_BIN"); b != "" {
			binary = b
			return
		}
		d, err := os.MkdirTemp("", "lvsrs-checks")
		if err != nil {
			buildErr = err
			return
		}
		buildDir, binary = d, filepath.Join(d, "lvs-rs")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/lvs-rs")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building lvs-rs: %v", buildErr)
	}
	return binary
}

// The prerm with the real lvs-rs, in a network namespace: a dr real
// server started by hand (no unit) is torn down on remove: the VIP leaves
// lo, arp_ignore and arp_announce get their prior values back, the record
// goes.
func TestPrermRemovesRealServerForReal(t *testing.T) {
	needNamespaces(t)
	bin := lvsRS(t)
	dir := t.TempDir()
	fakeTools(t, dir)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sbin/lvs-rs"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	sysctls := "cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_ignore " +
		"/proc/sys/net/ipv4/conf/all/arp_announce /proc/sys/net/ipv4/conf/lo/arp_announce"
	setup := sysctls + ` >"$FAKE_DIR/sysctls.before"
ip link set lo up
/usr/sbin/lvs-rs start --role realserver --mode dr --vip 10.99.0.1 >/dev/null
ip -4 -o addr show dev lo | grep -q ' 10.99.0.1/32 '
[ -e /run/lvs-rs/realserver.json ]
[ "$(cat /proc/sys/net/ipv4/conf/lo/arp_ignore)" = 1 ]`
	check := `! ip -4 -o addr show dev lo | grep ' 10.99.0.1/'
` + sysctls + ` | cmp - "$FAKE_DIR/sysctls.before"`
	r := runScript(t, dir, []string{"-m", "-n"}, []string{"FAKE_SETUP=" + setup, "FAKE_CHECK=" + check},
		nil, "prerm", "remove")
	if r.code != 0 {
		t.Fatalf("prerm remove exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.left, "realserver.json") {
		t.Errorf("record left: %s", r.left)
	}
	if !strings.Contains(r.stdout, "realserver: stop:") {
		t.Errorf("lvs-rs stop did not report: %q", r.stdout)
	}
}
