package doctor

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// NameSysctlD is the boot-persistence check: a line in a sysctl.d
// directory or /etc/sysctl.conf that, by systemd-sysctl's rules
// (sysctl.d(5)), sets a parameter lvs-rs manages to a value that undoes
// lvs-rs's when it is applied (at boot, when a device appears, or by
// sysctl --system). A key's own line wins over every glob, and "-key"
// keeps globs off it.
const NameSysctlD = "sysctl.d"

// sysctlDirs are the sysctl.d directories in systemd's precedence order:
// a file name in an earlier directory hides the same name in later ones.
var sysctlDirs = []string{"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d"}

// managed is a parameter lvs-rs sets and the values that undo it.
type managed struct {
	key   string // slash form, net/ipv4/conf/lo/arp_ignore
	want  string
	undo  func(v string) bool
	owner string // what needs it, for the message
}

// assignment is one line of a sysctl.d file: "key = value", or an
// exclusion "-key" (no '='), which sets nothing and keeps every glob off
// the key.
type assignment struct {
	file    string
	line    int
	key     string // normalized slash form, may hold glob characters
	value   string
	exclude bool
}

func checkSysctlD(_ context.Context, h Host, t Target) []Result {
	ms := managedSysctls(t)
	if len(ms) == 0 {
		return []Result{ok(NameSysctlD)}
	}
	as, err := readSysctlFiles(h.EtcRoot)
	if err != nil {
		return []Result{problem(NameSysctlD, fmt.Sprintf("cannot read sysctl configuration: %v", err), "run doctor on the host itself")}
	}
	opts := resolveOptions(as)
	var out []Result
	for _, m := range ms {
		last := appliedOption(opts, m.key)
		if last == nil {
			continue
		}
		if !m.undo(last.value) {
			continue
		}
		fix := fmt.Sprintf("remove that line, or set %s = %s there", dotted(m.key), m.want)
		if isGlob(last.key) {
			fix = fmt.Sprintf("add the line %s = %s to a sysctl.d file (a key named on its own line is never set by a glob), or remove that line", dotted(m.key), m.want)
		}
		out = append(out, problem(NameSysctlD,
			fmt.Sprintf("%s:%d sets %s = %s, undoing lvs-rs's %s (%s) the next time sysctl settings are applied (boot, a new device, sysctl --system)",
				last.file, last.line, dotted(m.key), last.value, m.want, m.owner),
			fix))
	}
	if len(out) == 0 {
		out = append(out, ok(NameSysctlD))
	}
	return out
}

// managedSysctls lists what lvs-rs sets for t: on a director every
// parameter of its desired state, undone by any other value; on a real
// server the ARP policy of each mode with an IPv4 VIP, as start applies
// it, undone by a value start would replace (arp.Enough: arp_ignore 2 or
// 8, and 3 when every VIP is dr, keep the VIPs quiet too; 4 to 7 reply
// as 0 does; arp_announce must be 2, larger acts as 0).
func managedSysctls(t Target) []managed {
	var out []managed
	if t.Role == RoleDirector {
		for _, w := range t.Sysctls {
			want := w.Value
			out = append(out, managed{key: w.Key, want: want, undo: func(v string) bool { return !sameNumber(v, want) }, owner: directorOwner(w.Key)})
			if w.Key == "net/ipv6/conf/all/forwarding" && sameNumber(want, "1") {
				out = append(out, acceptRA(t.Interface)...)
			}
		}
		return out
	}
	hostOnly := !t.hasMode(config.ModeTUN, true) // every IPv4 VIP dr: on lo, scope host
	type policy struct {
		wants []sysctl.Want
		mode  config.Mode
	}
	var ps []policy
	if t.hasMode(config.ModeDR, true) {
		ps = append(ps, policy{arp.Policy(config.ModeDR), config.ModeDR})
	}
	for _, d := range t.tunnelDevices() {
		ps = append(ps, policy{arp.DevicePolicy(d.name, true), config.ModeTUN})
	}
	for _, p := range ps {
		m := p.mode
		for _, w := range p.wants {
			k := w.Key.String()
			if slices.ContainsFunc(out, func(x managed) bool { return x.key == k }) {
				continue
			}
			key, want := w.Key, w.Value
			undo := func(v string) bool { return !arp.Enough(key, want, normalNumber(v), hostOnly) }
			out = append(out, managed{key: k, want: want, undo: undo, owner: string(m) + " real server"})
		}
	}
	return out
}

// acceptRA is what an IPv6 nat director sets with forwarding on: accept_ra
// 2 on conf/default and on its interfaces where it was 1 (forwarding
// makes the kernel ignore router advertisements at 1). A line setting 1
// again there undoes it; the director's own interface and default are
// the ones named (other interfaces are looked at by the plan only).
func acceptRA(iface string) []managed {
	devs := []string{"default"}
	if iface != "" {
		devs = append(devs, iface)
	}
	var out []managed
	for _, d := range devs {
		out = append(out, managed{key: "net/ipv6/conf/" + d + "/accept_ra", want: "2",
			undo: func(v string) bool { return sameNumber(v, "1") }, owner: "an IPv6 nat director forwards and still learns its default route from router advertisements"})
	}
	return out
}

// directorOwner names what a director parameter is set for.
func directorOwner(key string) string {
	switch {
	case key == sysctl.IPForward().String():
		return "nat needs forwarding"
	case strings.HasSuffix(key, "/send_redirects"):
		return "a nat director must not redirect real servers past it"
	case strings.HasSuffix(key, "/accept_local"):
		return "checks via: vip get their answers from the VIP"
	case strings.HasPrefix(key, "net/ipv4/vs/"):
		return "director.ipvs_sysctls"
	}
	return "director"
}

// normalNumber is v as the kernel reads an integer parameter (decimal,
// without leading zeros or a plus sign), or v itself when it is not one.
func normalNumber(v string) string {
	n, err := strconv.Atoi(v)
	if err != nil {
		return v
	}
	return strconv.Itoa(n)
}

// sameNumber reports whether the sysctl.d value v sets what want is.
func sameNumber(v, want string) bool { return normalNumber(v) == normalNumber(want) }

// resolveOptions merges the lines in the order they are read, as
// systemd-sysctl does: one option per key (the key as written, a glob
// included). A line for a key that has an option with the same value (or
// both exclusions) changes nothing; with another value it replaces the
// option and moves it to the end, the order options are applied in.
func resolveOptions(as []assignment) []assignment {
	var out []assignment
	for _, a := range as {
		i := slices.IndexFunc(out, func(o assignment) bool { return o.key == a.key })
		if i >= 0 {
			if out[i].exclude == a.exclude && out[i].value == a.value {
				continue
			}
			out = slices.Delete(out, i, i+1)
		}
		out = append(out, a)
	}
	return out
}

// appliedOption returns the option that sets key when opts are applied, or
// nil: the option for key itself (nil for an exclusion), else the last
// glob that matches key (sysctl.d(5): a key with an explicit line is
// excluded from every glob, whatever the order).
func appliedOption(opts []assignment, key string) *assignment {
	for i := range opts {
		if opts[i].key == key {
			if opts[i].exclude {
				return nil
			}
			return &opts[i]
		}
	}
	for i := len(opts) - 1; i >= 0; i-- {
		o := &opts[i]
		if o.exclude || !isGlob(o.key) {
			continue
		}
		if m, err := path.Match(o.key, key); err == nil && m {
			return o
		}
	}
	return nil
}

func isGlob(key string) bool { return strings.ContainsAny(key, "*?[") }

// readSysctlFiles returns every assignment in the order they are applied:
// the *.conf files of the sysctl.d directories sorted by name (the first
// directory holding a name wins), then etc/sysctl.conf.
func readSysctlFiles(root string) ([]assignment, error) {
	chosen := map[string]string{} // base name -> path
	for _, d := range sysctlDirs {
		ents, err := os.ReadDir(filepath.Join(root, d))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if _, seen := chosen[e.Name()]; !seen && strings.HasSuffix(e.Name(), ".conf") {
				chosen[e.Name()] = filepath.Join(root, d, e.Name())
			}
		}
	}
	var files []string
	for _, name := range slices.Sorted(maps.Keys(chosen)) {
		files = append(files, chosen[name])
	}
	files = append(files, filepath.Join(root, "etc", "sysctl.conf"))
	var out []assignment
	seen := map[string]bool{} // resolved paths: Debian's 99-sysctl.conf links to /etc/sysctl.conf
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		as, err := parseSysctlFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// parseSysctlFile reads the lines of one file as systemd-sysctl does:
// '#' and ';' start comment lines; "key = value", where a leading '-'
// only ignores failures; "-key" without '=' is an exclusion; any other
// line is ignored. Keys are normalized (normalizeKey).
func parseSysctlFile(file string) ([]assignment, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []assignment
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		a := assignment{file: file, line: n}
		k, v, found := strings.Cut(line, "=")
		switch {
		case found:
			k = strings.TrimPrefix(k, "-")
			a.value = strings.TrimSpace(v)
		case line[0] == '-':
			k, a.exclude = line[1:], true
		default:
			continue // systemd warns: not an assignment
		}
		a.key = normalizeKey(strings.TrimSpace(k))
		out = append(out, a)
	}
	return out, sc.Err()
}

// normalizeKey is systemd's sysctl_normalize: when the first separator is
// a dot, dots and slashes swap ("net.ipv4.conf.eth0/100.rp_filter" is
// net/ipv4/conf/eth0.100/rp_filter); when it is a slash the key is taken
// as is. Repeated slashes collapse and a leading slash goes.
func normalizeKey(k string) string {
	if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '.' {
		k = swapSeparators(k)
	}
	for strings.Contains(k, "//") {
		k = strings.ReplaceAll(k, "//", "/")
	}
	if len(k) > 1 {
		k = strings.TrimPrefix(k, "/")
	}
	return k
}
