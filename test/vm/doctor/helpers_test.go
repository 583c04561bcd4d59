package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

// cluster is a topology's nodes sharing one config file.
type cluster struct {
	t      *testing.T
	bin    string
	config string
	dir    string
}

func newCluster(t *testing.T, yaml string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, bin: vmtest.RequireLvsRs(t), config: filepath.Join(dir, "cluster.yaml"), dir: dir}
	if err := os.WriteFile(c.config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// result is one lvs-rs run.
type result struct {
	code           int
	stdout, stderr string
}

// lvsrs runs lvs-rs ARGS in ns with the node's own state directory and
// extra environment ("KEY=VALUE").
func (c *cluster) lvsrs(ns *topo.NS, env []string, args ...string) result {
	c.t.Helper()
	args = append(args, "--state-dir", filepath.Join(c.dir, "state-"+ns.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("%s: lvs-rs %s: %v", ns.Name(), strings.Join(args, " "), err)
	}
	c.t.Logf("%s$ %s lvs-rs %s  (exit %d)\n%s%s", ns.Name(), strings.Join(env, " "), strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// start runs lvs-rs start for role in ns and requires exit 0.
func (c *cluster) start(ns *topo.NS, role string) {
	c.t.Helper()
	if r := c.lvsrs(ns, nil, "start", "--role", role, "--config", c.config); r.code != 0 {
		c.t.Fatalf("%s: start --role %s: exit %d\n%s", ns.Name(), role, r.code, r.stderr)
	}
}

// doctor runs lvs-rs doctor --role role in ns.
func (c *cluster) doctor(ns *topo.NS, role string, env ...string) result {
	c.t.Helper()
	return c.lvsrs(ns, env, "doctor", "--role", role, "--config", c.config)
}

// lines maps each check named in doctor's table output to its lines.
func lines(out string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		name, rest, _ := strings.Cut(l, " ")
		m[name] = append(m[name], strings.TrimSpace(rest))
	}
	return m
}

// wantClean requires exit 0 and every line ok.
func wantClean(t *testing.T, what string, r result) {
	t.Helper()
	if r.code != 0 {
		t.Errorf("%s: doctor exit %d, want 0 on a correct host:\n%s", what, r.code, r.stdout)
	}
	for name, ls := range lines(r.stdout) {
		for _, l := range ls {
			if !strings.HasPrefix(l, "ok") {
				t.Errorf("%s: %s: %q, want ok", what, name, l)
			}
		}
	}
}

// wantOnly requires exit 1, the named check to report a PROBLEM holding
// every phrase in has, and every other check to be ok.
func wantOnly(t *testing.T, what string, r result, check string, has ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("%s: doctor exit %d, want 1:\n%s", what, r.code, r.stdout)
	}
	ls := lines(r.stdout)
	if len(ls[check]) == 0 {
		t.Errorf("%s: no %s line in:\n%s", what, check, r.stdout)
	}
	for name, ls := range ls {
		for _, l := range ls {
			switch {
			case name != check && !strings.HasPrefix(l, "ok"):
				t.Errorf("%s: %s: %q, want ok (only %s is broken)", what, name, l, check)
			case name == check && !strings.HasPrefix(l, "PROBLEM: "):
				t.Errorf("%s: %s: %q, want a PROBLEM", what, name, l)
			}
		}
	}
	all := strings.Join(ls[check], "\n")
	for _, h := range has {
		if !strings.Contains(all, h) {
			t.Errorf("%s: %s lines lack %q:\n%s", what, check, h, all)
		}
	}
}

// set writes a sysctl in ns.
func set(t *testing.T, ns *topo.NS, key, value string) {
	t.Helper()
	if err := ns.WriteSysctl(key, value); err != nil {
		t.Fatal(err)
	}
}

// quiesceSysctls sets what the ipvs-sysctls check wants on a director,
// and conn_reuse_mode=2, which conn-reuse-mode wants with dr or tun.
func quiesceSysctls(t *testing.T, ns *topo.NS) {
	t.Helper()
	set(t, ns, "net/ipv4/vs/expire_nodest_conn", "1")
	set(t, ns, "net/ipv4/vs/expire_quiescent_template", "1")
	set(t, ns, "net/ipv4/vs/conn_reuse_mode", "2")
}

// fakeRoot builds a directory for LVS_RS_DOCTOR_ROOT: proc and sys link
// to the real ones unless modules lists modules to hide, in which case
// proc/modules and sys/module leave them out and everything else links
// through; files are extra files (path -> content).
func fakeRoot(t *testing.T, hide []string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(hide) == 0 {
		must(os.Symlink("/proc", filepath.Join(root, "proc")))
		must(os.Symlink("/sys", filepath.Join(root, "sys")))
	} else {
		hidden := func(name string) bool {
			for _, h := range hide {
				if name == h {
					return true
				}
			}
			return false
		}
		linkAllBut(t, "/proc", filepath.Join(root, "proc"), "modules")
		linkAllBut(t, "/sys", filepath.Join(root, "sys"), "module")
		mods, err := os.ReadFile("/proc/modules")
		must(err)
		var kept []string
		for _, l := range strings.SplitAfter(string(mods), "\n") {
			if name, _, _ := strings.Cut(l, " "); l != "" && !hidden(name) {
				kept = append(kept, l)
			}
		}
		must(os.WriteFile(filepath.Join(root, "proc", "modules"), []byte(strings.Join(kept, "")), 0o644))
		ents, err := os.ReadDir("/sys/module")
		must(err)
		must(os.Mkdir(filepath.Join(root, "sys", "module"), 0o755))
		for _, e := range ents {
			if !hidden(e.Name()) {
				must(os.Symlink(filepath.Join("/sys/module", e.Name()), filepath.Join(root, "sys", "module", e.Name())))
			}
		}
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		must(os.MkdirAll(filepath.Dir(full), 0o755))
		must(os.WriteFile(full, []byte(content), 0o644))
	}
	return root
}

// linkAllBut makes dst a directory of symlinks to every entry of src
// except skip.
func linkAllBut(t *testing.T, src, dst, skip string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == skip {
			continue
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(fmt.Errorf("linking %s: %w", e.Name(), err))
		}
	}
}
