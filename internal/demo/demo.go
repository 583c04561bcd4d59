package demo

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// Requests is how many HTTP requests the client sends through the VIP.
const Requests = 12

// The real servers' wrr weights: 12 requests split 4:8.
const (
	weightRS1 = 1
	weightRS2 = 2
)

// Run builds the DR cluster, runs lvs-rs (the binary at lvsrsBin) on every
// node, sends Requests requests through the VIP, writes the report to w,
// stops lvs-rs on every node and removes the namespaces. It fails when a
// node's lvs-rs fails, a request fails, or a real server never answered.
// It needs root and IPVS in the kernel.
func Run(w io.Writer, lvsrsBin string) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("demo: must run as root (network namespaces, IPVS)")
	}
	if _, err := os.Stat(lvsrsBin); err != nil {
		return fmt.Errorf("demo: lvs-rs binary: %w", err)
	}
	r := &report{w: w}
	e := newEnv(w)
	var c *cluster
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(fatal)
			if !ok {
				panic(v)
			}
			err = errors.Join(err, f.err)
		}
		e.cleanup()
		if err == nil {
			err = errors.Join(r.err, gone(c))
		}
		if err == nil {
			r.line("")
			r.line("Done: lvs-rs stopped on every node, the namespaces are removed.")
		}
	}()
	c = newCluster(e, lvsrsBin)
	r.header(c)
	if err := c.serve(); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.stopAll(r)) }()
	if err := c.startAll(r); err != nil {
		return err
	}
	seen, err := c.ask(r)
	if err != nil {
		return err
	}
	if err := c.status(r); err != nil {
		return err
	}
	if err := c.again(r); err != nil {
		return err
	}
	for _, n := range c.realServers() {
		if seen[n.ns.Name()] == 0 {
			return fmt.Errorf("demo: %s never answered (answers: %v)", n.ns.Name(), seen)
		}
	}
	return nil
}

// cluster is the demo's DR cluster.
type cluster struct {
	p      *topo.Preset
	bin    string
	dir    string // holds cluster.yaml and the nodes' state directories
	config string
	nodes  []*node // real servers, then the director
}

func newCluster(e *env, bin string) *cluster {
	p := topo.DR(e)
	c := &cluster{p: p, bin: bin, dir: e.TempDir()}
	c.config = filepath.Join(c.dir, "cluster.yaml")
	if err := os.WriteFile(c.config, []byte(c.yaml()), 0o644); err != nil {
		e.Fatalf("demo: writing cluster.yaml: %v", err)
	}
	for _, rs := range []struct {
		ns     *topo.NS
		addr   netip.Addr
		weight int
	}{{p.RS1, p.RS1IP, weightRS1}, {p.RS2, p.RS2IP, weightRS2}} {
		c.nodes = append(c.nodes, &node{ns: rs.ns, role: "realserver", addr: rs.addr, weight: rs.weight, stateDir: filepath.Join(c.dir, rs.ns.Name())})
	}
	c.nodes = append(c.nodes, &node{ns: p.Director, role: "director", addr: p.DirectorIP, stateDir: filepath.Join(c.dir, "director")})
	return c
}

// yaml is the one file every node reads.
func (c *cluster) yaml() string {
	return fmt.Sprintf(`director:
  interface: %s
virtual_servers:
  - vip: %s
    port: 80
    scheduler: wrr
    mode: dr
    real_servers:
      - address: %s
        weight: %d
      - address: %s
        weight: %d
`, c.p.DirectorIface, c.p.VIP, c.p.RS1IP, weightRS1, c.p.RS2IP, weightRS2)
}

func (c *cluster) realServers() []*node { return c.nodes[:2] }

func (c *cluster) director() *node { return c.nodes[2] }

// serve starts an HTTP server on port 80 of each real server that answers
// with the server's name.
func (c *cluster) serve() error {
	for _, n := range c.realServers() {
		if _, err := n.ns.ServeEcho(":80"); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

// startAll runs lvs-rs start on the real servers, then the director.
func (c *cluster) startAll(r *report) error {
	r.section("Starting lvs-rs on every node, all with the same cluster.yaml:")
	for _, n := range c.nodes {
		n.started = true // even a failed start may have changed something
		res, err := n.lvsrs(c.bin, "start", "--config", c.config)
		r.command(n, "lvs-rs start --role "+n.role+" --config cluster.yaml", res.stdout+res.stderr, true)
		if err != nil {
			return err
		}
	}
	return nil
}

// stopAll runs lvs-rs stop on the director, then the real servers (those
// start ran on), and keeps going past a failure.
func (c *cluster) stopAll(r *report) error {
	r.section("Stopping lvs-rs on every node (each node is left as it was):")
	var errs []error
	for i := len(c.nodes) - 1; i >= 0; i-- {
		n := c.nodes[i]
		if !n.started {
			continue
		}
		res, err := n.lvsrs(c.bin, "stop")
		r.command(n, "lvs-rs stop --role "+n.role, lastLine(res.stdout+res.stderr), false)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// again runs start a second time on the director: nothing to do.
func (c *cluster) again(r *report) error {
	d := c.director()
	r.section("Starting again changes nothing (start is idempotent):")
	res, err := d.lvsrs(c.bin, "start", "--config", c.config)
	r.command(d, "lvs-rs start --role director --config cluster.yaml", res.stdout+res.stderr, true)
	return err
}

// gone checks that the namespaces were removed.
func gone(c *cluster) error {
	if c == nil {
		return nil
	}
	for _, ns := range []*topo.NS{c.p.Client, c.p.Director, c.p.RS1, c.p.RS2} {
		if _, err := os.Stat(ns.Path()); err == nil {
			return fmt.Errorf("demo: namespace %s (%s) still exists", ns.Name(), ns.Path())
		}
	}
	return nil
}

// ask sends Requests requests from the client to the VIP and reports who
// answered each.
func (c *cluster) ask(r *report) (map[string]int, error) {
	addr := netip.AddrPortFrom(c.p.VIP, 80).String()
	r.section(fmt.Sprintf("%d HTTP requests from the client to http://%s/ (each a new TCP connection):", Requests, addr))
	seen := map[string]int{}
	for i := range Requests {
		body, err := c.p.Client.Get(addr)
		if err != nil {
			return seen, fmt.Errorf("demo: request %d: %w", i+1, err)
		}
		seen[body]++
		r.line(fmt.Sprintf("  request %2d  answered by %s", i+1, body))
	}
	var parts []string
	for _, n := range c.realServers() {
		parts = append(parts, fmt.Sprintf("%s %d (weight %d)", n.ns.Name(), seen[n.ns.Name()], n.weight))
	}
	r.line("  total: " + strings.Join(parts, ", "))
	return seen, nil
}

// status prints the director's lvs-rs status table.
func (c *cluster) status(r *report) error {
	d := c.director()
	waitCounters(c.p.Director, Requests)
	r.section("The director's view (lvs-rs status --role director):")
	res, err := d.lvsrs(c.bin, "status")
	r.block(res.stdout + res.stderr)
	return err
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
