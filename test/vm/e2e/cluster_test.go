package e2e

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

// Roles, as lvs-rs --role spells them.
const (
	director   = "director"
	realserver = "realserver"
)

// node is one host of the cluster that runs lvs-rs.
type node struct {
	ns       *topo.NS
	role     string
	stateDir string
}

// cluster is the lvs-rs nodes of a topology and their shared config file.
type cluster struct {
	t      *testing.T
	bin    string
	config string  // path of cluster.yaml
	nodes  []*node // start order: real servers, then the director
}

// newCluster writes yaml to cluster.yaml and gives every node its own
// state directory.
func newCluster(t *testing.T, yaml string, d *topo.NS, rss ...*topo.NS) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, bin: vmtest.RequireLvsRs(t), config: filepath.Join(dir, "cluster.yaml")}
	if err := os.WriteFile(c.config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster.yaml:\n%s", yaml)
	for _, ns := range rss {
		c.nodes = append(c.nodes, &node{ns: ns, role: realserver, stateDir: filepath.Join(dir, "state-"+ns.Name())})
	}
	c.nodes = append(c.nodes, &node{ns: d, role: director, stateDir: filepath.Join(dir, "state-"+d.Name())})
	return c
}

// result is one lvs-rs run.
type result struct {
	code           int
	stdout, stderr string
}

// run runs lvs-rs VERB --role ROLE --state-dir DIR [extra...] inside the
// node's namespace.
func (c *cluster) run(n *node, verb string, extra ...string) result {
	c.t.Helper()
	args := append([]string{verb, "--role", n.role, "--state-dir", n.stateDir}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := n.ns.Command(ctx, c.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("%s: running lvs-rs %s: %v", n.ns.Name(), strings.Join(args, " "), err)
	}
	c.t.Logf("%s$ lvs-rs %s  (exit %d, %.1fs)\n%s%s", n.ns.Name(), strings.Join(args, " "), r.code,
		time.Since(t0).Seconds(), indent(r.stdout), indent(r.stderr))
	return r
}

// withConfig is the extra argument naming the cluster file.
func (c *cluster) withConfig() []string { return []string{"--config", c.config} }

// each runs verb on every node (reverse order when reverse), and checks
// the exit code, that the output holds want, and that nothing warned.
func (c *cluster) each(verb string, reverse bool, want string, extra ...string) {
	c.t.Helper()
	for i := range c.nodes {
		n := c.nodes[i]
		if reverse {
			n = c.nodes[len(c.nodes)-1-i]
		}
		r := c.run(n, verb, extra...)
		if r.code != 0 {
			c.t.Fatalf("%s: lvs-rs %s --role %s: exit %d, want 0\nstdout:\n%sstderr:\n%s", n.ns.Name(), verb, n.role, r.code, r.stdout, r.stderr)
		}
		if want != "" && !strings.Contains(r.stdout, want) {
			c.t.Errorf("%s: lvs-rs %s --role %s: output lacks %q:\n%s", n.ns.Name(), verb, n.role, want, r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, "warning") {
			c.t.Errorf("%s: lvs-rs %s --role %s warned, though nobody else changed anything:\n%s%s", n.ns.Name(), verb, n.role, r.stdout, r.stderr)
		}
	}
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// service is the one virtual service of a test cluster.
type service struct {
	mode      string // dr, tun or nat
	vip       string
	port      uint16
	gateway   string // nat: realserver.gateway ("" = none)
	iface     string // director.interface
	reals     []real
	scheduler string
}

// real is one real server: its namespace, address, weight and port.
type real struct {
	ns     *topo.NS
	addr   string
	weight int
	port   uint16 // where it listens; differs from the VIP's port only in nat
}

// yaml renders the cluster file every node reads.
func (s service) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# One file for the whole %s cluster: the director and both real servers read it.\n", s.mode)
	fmt.Fprintf(&b, "director:\n  interface: %s\n", s.iface)
	if s.gateway != "" {
		fmt.Fprintf(&b, "realserver:\n  gateway: %s\n", s.gateway)
	}
	fmt.Fprintf(&b, "virtual_servers:\n  - vip: %s\n    port: %d\n    protocol: tcp\n    scheduler: %s\n    mode: %s\n    real_servers:\n",
		s.vip, s.port, s.scheduler, s.mode)
	for _, r := range s.reals {
		fmt.Fprintf(&b, "      - address: %s\n        weight: %d\n", r.addr, r.weight)
		if r.port != s.port {
			fmt.Fprintf(&b, "        port: %d\n", r.port)
		}
	}
	return b.String()
}
