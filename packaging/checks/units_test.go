// Package checks tests the systemd units (scripts/systemd) and the Debian
// maintainer scripts (packaging/debian) without booting anything: the
// units' settings against what the code they run needs, the scripts run
// with fake or real helpers. The boot test (scripts/boot-test.sh) is what
// shows them working under systemd.
package checks

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// repo is the repository's top directory, from packaging/checks.
const repo = "../.."

// unitDir is where the units are read from: LVSRS_UNIT_DIR, else
// scripts/systemd (the variable lets the tests run against another
// version of the units).
func unitDir() string {
	if d := os.Getenv("LVSRS_UNIT_DIR"); d != "" {
		return d
	}
	return filepath.Join(repo, "scripts/systemd")
}

// unit is a parsed unit file: section, then key, then every value the key
// was given (in order; an empty assignment resets, as systemd does).
type unit map[string]map[string][]string

func (u unit) get(section, key string) []string { return u[section][key] }

// words is every space-separated word of every value of key.
func (u unit) words(section, key string) []string {
	var out []string
	for _, v := range u.get(section, key) {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// last is the value of key in force (the last one), "" when unset.
func (u unit) last(section, key string) string {
	v := u.get(section, key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func loadUnit(t *testing.T, name string) unit {
	t.Helper()
	f, err := os.Open(filepath.Join(unitDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", name, n, line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if v == "" {
				u[section][k] = nil
			} else {
				u[section][k] = append(u[section][k], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// unitNames is every unit in the unit directory.
func unitNames(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(unitDir(), "*.service"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no units in %s: %v", unitDir(), err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// duration parses a systemd time span of the forms the units use
// ("120s", "5min", "30min", "2s").
func duration(t *testing.T, s string) time.Duration {
	t.Helper()
	s = strings.ReplaceAll(s, "min", "m")
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("time span %q: %v", s, err)
	}
	return d
}

// Defect: the daemon restarted a bad configuration (exit 2) every 2 s
// forever. Exit 2 must not be restarted (README "Exit codes": bad command
// line or config, nothing changed), and a start limit must end any other
// loop, including one of starts that time out.
func TestDaemonRestartPolicy(t *testing.T) {
	u := loadUnit(t, "lvs-rs-director-daemon.service")
	if got := u.last("Service", "Restart"); got != "on-failure" {
		t.Errorf("Restart=%q, want on-failure (a kernel failure, exit 1, or a crash is retried)", got)
	}
	if !slices.Contains(u.words("Service", "RestartPreventExitStatus"), "2") {
		t.Errorf("RestartPreventExitStatus does not hold 2: a bad config (exit 2) is restarted forever")
	}
	for _, k := range []string{"StartLimitIntervalSec", "StartLimitBurst"} {
		if u.last("Service", k) != "" {
			t.Errorf("%s is in [Service]; it belongs in [Unit]", k)
		}
	}
	interval, burst := u.last("Unit", "StartLimitIntervalSec"), u.last("Unit", "StartLimitBurst")
	if interval == "" || burst == "" {
		t.Fatalf("no start limit in [Unit] (StartLimitIntervalSec=%q StartLimitBurst=%q): systemd's default "+
			"(5 in 10 s) never trips with RestartSec=2s", interval, burst)
	}
	b, err := strconv.Atoi(burst)
	if err != nil || b < 1 {
		t.Fatalf("StartLimitBurst=%q", burst)
	}
	restart := duration(t, u.last("Service", "RestartSec"))
	start := duration(t, u.last("Service", "TimeoutStartSec"))
	// Starts that each time out must reach the burst within the interval.
	if need := time.Duration(b-1) * (start + restart); duration(t, interval) <= need {
		t.Errorf("StartLimitIntervalSec=%s: %d starts that time out (TimeoutStartSec=%s, RestartSec=%s) take %s, "+
			"so they restart forever", interval, b, start, restart, need)
	}
	// READY=1 waits for the lock (30 s), the first converge and every
	// check's first result: leave room for checks with long timeouts.
	if start < 3*time.Minute {
		t.Errorf("TimeoutStartSec=%s: too little room for the first results of checks with long timeouts", start)
	}
	if u.last("Service", "Type") != "notify" {
		t.Errorf("Type=%q, want notify", u.last("Service", "Type"))
	}
	for _, k := range []string{"StandardError", "StandardOutput"} {
		if v := u.last("Service", k); v != "" && v != "journal" && v != "inherit" {
			t.Errorf("%s=%s: the configuration errors would not reach the journal", k, v)
		}
	}
}

// What RestartPreventExitStatus=2 relies on: `lvs-rs run` exits 2 on a bad
// configuration, before touching anything (no root needed), and says
// FILE:LINE:COLUMN: field: problem on stderr, which the journal keeps.
func TestDaemonBadConfigExits2(t *testing.T) {
	bin := lvsRS(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "lvs-rs.yaml")
	if err := os.WriteFile(bad, []byte("director:\n  interface: eth0\nvirtual_servers:\n"+
		"  - vip: 192.0.2.100\n    port: 80\n    scheduler: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--role", "director", "--config", bad, "--state-dir", filepath.Join(dir, "state")},
		{"run", "--role", "director", "--config", filepath.Join(dir, "missing.yaml"), "--state-dir", filepath.Join(dir, "state")},
		{"run", "--role", "director", "--no-such-flag"},
	} {
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("lvs-rs %s: %v, want exit status 2", strings.Join(args, " "), err)
		}
		if stderr.Len() == 0 {
			t.Errorf("lvs-rs %s: nothing on stderr", strings.Join(args, " "))
		}
		if args[3] == bad && !strings.Contains(stderr.String(), bad+":6:") {
			t.Errorf("lvs-rs %s: stderr %q does not name FILE:LINE", strings.Join(args, " "), stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Errorf("a bad configuration created the state directory")
	}
}

// Defect: lvs-rs-realserver.service runs before network-pre.target, where
// a nat real server's default route via the director fails with
// ENETUNREACH. The nat unit runs once the network is online.
func TestRealServerUnitsPerMode(t *testing.T) {
	early := loadUnit(t, "lvs-rs-realserver.service")
	if !slices.Contains(early.words("Unit", "Before"), "network-pre.target") ||
		early.last("Unit", "DefaultDependencies") != "no" {
		t.Errorf("lvs-rs-realserver.service must run before network-pre.target (dr, tun: ARP sysctls before any NIC is up)")
	}
	u := loadUnit(t, "lvs-rs-realserver-nat.service")
	for _, k := range []string{"Wants", "After"} {
		if !slices.Contains(u.words("Unit", k), "network-online.target") {
			t.Errorf("lvs-rs-realserver-nat.service: %s= lacks network-online.target", k)
		}
	}
	if u.last("Unit", "DefaultDependencies") == "no" {
		t.Errorf("lvs-rs-realserver-nat.service: DefaultDependencies=no; it must stop before the network goes down")
	}
	for _, k := range []string{"Before"} {
		for _, w := range u.words("Unit", k) {
			if strings.HasPrefix(w, "network") {
				t.Errorf("lvs-rs-realserver-nat.service: %s=%s", k, w)
			}
		}
	}
	if got := u.last("Service", "ExecStart"); !regexp.MustCompile(`/lvs-rs start --role realserver( |$)`).MatchString(got) {
		t.Errorf("lvs-rs-realserver-nat.service: ExecStart=%q", got)
	}
	if got := u.last("Service", "ExecStop"); !strings.HasSuffix(got, "/lvs-rs stop --role realserver") {
		t.Errorf("lvs-rs-realserver-nat.service: ExecStop=%q", got)
	}
	if u.last("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("lvs-rs-realserver-nat.service: WantedBy=%q", u.last("Install", "WantedBy"))
	}
}

// sourceHas reports whether any non-test Go file of dir (from the
// repository's top) matches re.
func sourceHas(t *testing.T, dir string, re *regexp.Regexp) bool {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(repo, dir, "*.go"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	for _, f := range m {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if re.Match(b) {
			return true
		}
	}
	return false
}

// needs is what a unit's sandbox must let the code do.
type needs struct {
	families []string // RestrictAddressFamilies
	caps     []string // CapabilityBoundingSet
	ipAllow  []string // IPAddressAllow, when IPAddressDeny=any
}

// Defect: the one-shot director's sandbox (AF_NETLINK AF_UNIX only,
// IPAddressDeny=any, no CAP_NET_RAW) blocked the gratuitous ARPs and
// neighbour advertisements start sends after binding VIPs. Each unit must
// allow what the code it runs opens, and the units that run no such code
// must not allow it.
func TestSandboxesAllowWhatTheCodeUses(t *testing.T) {
	var announce, healthNet needs
	// pkg/garp: a packet socket for IPv4 (gratuitous ARP)...
	if sourceHas(t, "pkg/garp", regexp.MustCompile(`unix\.Socket\(unix\.AF_PACKET, unix\.SOCK_RAW`)) {
		announce.families = append(announce.families, "AF_PACKET")
		announce.caps = append(announce.caps, "CAP_NET_RAW")
	} else {
		t.Errorf("pkg/garp no longer opens an AF_PACKET raw socket: revisit the units' sandboxes and this test")
	}
	// ...and a raw ICMPv6 socket (mdlayher/ndp's Listen opens
	// "ip6:ipv6-icmp") multicasting to all-nodes for IPv6.
	if sourceHas(t, "pkg/garp", regexp.MustCompile(`ndp\.Listen\(`)) &&
		sourceHas(t, "pkg/garp", regexp.MustCompile(`ff02::1`)) {
		announce.families = append(announce.families, "AF_INET6")
		announce.caps = append(announce.caps, "CAP_NET_RAW")
		announce.ipAllow = append(announce.ipAllow, "ff02::1")
	} else {
		t.Errorf("pkg/garp no longer sends neighbour advertisements through ndp to ff02::1: revisit the units and this test")
	}
	// pkg/health: TCP and UDP checks to any address, SO_MARK for via: vip.
	if !sourceHas(t, "pkg/health", regexp.MustCompile(`unix\.SO_MARK`)) {
		t.Errorf("pkg/health no longer sets SO_MARK: revisit CAP_NET_ADMIN in the daemon unit and this test")
	}
	healthNet = needs{families: []string{"AF_INET", "AF_INET6"}, caps: []string{"CAP_NET_ADMIN"}}
	// Every unit: netlink to the kernel, the notify and control sockets.
	base := needs{families: []string{"AF_NETLINK", "AF_UNIX"}, caps: []string{"CAP_NET_ADMIN", "CAP_SYS_MODULE"}}
	want := map[string][]needs{
		"lvs-rs-director.service":        {base, announce},
		"lvs-rs-director-daemon.service": {base, announce, healthNet},
		"lvs-rs-realserver.service":      {base},
		"lvs-rs-realserver-nat.service":  {base},
	}
	for _, name := range unitNames(t) {
		ns, ok := want[name]
		if !ok {
			t.Errorf("%s: a unit this test does not know: say what its sandbox must allow", name)
			continue
		}
		u := loadUnit(t, name)
		fams, caps := u.words("Service", "RestrictAddressFamilies"), u.words("Service", "CapabilityBoundingSet")
		deny, allow := u.words("Service", "IPAddressDeny"), u.words("Service", "IPAddressAllow")
		var wantFams, wantCaps, wantAllow []string
		for _, n := range ns {
			wantFams, wantCaps, wantAllow = append(wantFams, n.families...), append(wantCaps, n.caps...), append(wantAllow, n.ipAllow...)
		}
		sameSet(t, name, "RestrictAddressFamilies", fams, wantFams)
		sameSet(t, name, "CapabilityBoundingSet", caps, wantCaps)
		if slices.Contains(deny, "any") {
			sameSet(t, name, "IPAddressAllow (with IPAddressDeny=any)", allow, wantAllow)
		} else if !slices.Contains(wantFams, "AF_INET") {
			t.Errorf("%s: no IPAddressDeny=any, though it sends no IP traffic beyond %v", name, wantAllow)
		}
		if u.last("Service", "AmbientCapabilities") != "" || u.last("Service", "NoNewPrivileges") != "yes" {
			t.Errorf("%s: ambient capabilities or new privileges allowed", name)
		}
	}
}

// sameSet reports each value the unit's key lacks from want, and each it
// holds beyond want: a sandbox must allow what the code uses and no more.
func sameSet(t *testing.T, unit, key string, got, want []string) {
	t.Helper()
	want = slices.Compact(slices.Sorted(slices.Values(want)))
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %s=%s lacks %s", unit, key, strings.Join(got, " "), w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: %s holds %s, which the code it runs does not need", unit, key, g)
		}
	}
}

// Every unit is shipped by the package and handled by every maintainer
// script, and nothing else is.
func TestUnitsPackaged(t *testing.T) {
	names := unitNames(t)
	nfpm, err := os.ReadFile(filepath.Join(repo, "packaging/nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(string(nfpm), "dst: /lib/systemd/system/"+n+"\n") {
			t.Errorf("packaging/nfpm.yaml does not install %s", n)
		}
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		b, err := os.ReadFile(filepath.Join(debianDir(), s))
		if err != nil {
			t.Fatal(err)
		}
		listed := regexp.MustCompile(`lvs-rs-[a-z-]+\.service`).FindAllString(string(b), -1)
		for _, n := range names {
			if !slices.Contains(listed, n) {
				t.Errorf("packaging/debian/%s does not handle %s", s, n)
			}
		}
		for _, n := range listed {
			if !slices.Contains(names, n) {
				t.Errorf("packaging/debian/%s names %s, which is not a unit", s, n)
			}
		}
	}
}
