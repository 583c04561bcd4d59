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

// NameSysctlD is the boot-persistence check: a file in a sysctl.d
// directory or /etc/sysctl.conf whose last assignment to a parameter
// lvs-rs manages undoes lvs-rs's value when it is applied (at boot, when
// a device appears, or by sysctl --system).
const NameSysctlD = "sysctl.d"

// sysctlDirs are the sysctl.d directories in systemd's precedence order:
// a file name in an earlier directory hides the same name in later ones.
var sysctlDirs = []string{"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d"}

// managed is a parameter lvs-rs sets and the values that undo it.
type managed struct {
	key   string // slash form, net/ipv4/conf/lo/arp_ignore
	want  int
	undo  func(v int) bool
	owner string // what needs it, for the message
}

// assignment is one "key = value" line.
type assignment struct {
	file  string
	line  int
	key   string // slash form, may hold glob characters
	value string
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
	var out []Result
	for _, m := range ms {
		last := lastAssignment(as, m.key)
		if last == nil {
			continue
		}
		v, err := strconv.Atoi(last.value)
		if err == nil && !m.undo(v) {
			continue
		}
		out = append(out, problem(NameSysctlD,
			fmt.Sprintf("%s:%d sets %s = %s, undoing lvs-rs's %d (%s) the next time sysctl settings are applied (boot, a new device, sysctl --system)",
				last.file, last.line, dotted(m.key), last.value, m.want, m.owner),
			fmt.Sprintf("remove that line, or set %s = %d there", dotted(m.key), m.want)))
	}
	if len(out) == 0 {
		out = append(out, ok(NameSysctlD))
	}
	return out
}

// managedSysctls lists what lvs-rs sets for t.
func managedSysctls(t Target) []managed {
	if t.Role == RoleDirector {
		if !t.IPForward {
			return nil
		}
		return []managed{{key: sysctl.IPForward().String(), want: 1, undo: func(v int) bool { return v != 1 }, owner: "nat needs forwarding"}}
	}
	var out []managed
	for _, m := range []config.Mode{config.ModeDR, config.ModeTUN} {
		if !t.hasMode(m, true) {
			continue
		}
		for _, w := range arp.Policy(m) {
			k := w.Key.String()
			if slices.ContainsFunc(out, func(x managed) bool { return x.key == k }) {
				continue
			}
			want, _ := strconv.Atoi(w.Value)
			undo := func(v int) bool { return v < want } // arp_ignore, arp_announce: more is stricter
			if w.Key[len(w.Key)-1] == arp.RPFilter {
				undo = func(v int) bool { return v != want }
			}
			out = append(out, managed{key: k, want: want, undo: undo, owner: string(m) + " real server"})
		}
	}
	return out
}

// lastAssignment returns the last assignment whose key (or glob) names
// key, or nil.
func lastAssignment(as []assignment, key string) *assignment {
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].key == key {
			return &as[i]
		}
		if m, err := path.Match(as[i].key, key); err == nil && m {
			return &as[i]
		}
	}
	return nil
}

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

// parseSysctlFile reads "key = value" lines; '#' and ';' start comments,
// a leading '-' (ignore failures) is dropped, dotted keys become slash
// keys (a key that already holds '/' is taken as is).
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
		k, v, found := strings.Cut(line, "=")
		if !found {
			continue
		}
		k = strings.TrimPrefix(strings.TrimSpace(k), "-")
		if !strings.Contains(k, "/") {
			k = strings.ReplaceAll(k, ".", "/")
		}
		out = append(out, assignment{file: file, line: n, key: k, value: strings.TrimSpace(v)})
	}
	return out, sc.Err()
}
