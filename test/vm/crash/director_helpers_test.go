package crash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// dirYAML is the director config of the crash tests: a dr and a nat
// service (so ip_forward is set), two real servers each, two VIPs.
const dirYAML = `director:
  interface: eth0
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    protocol: tcp
    scheduler: wrr
    mode: dr
    real_servers:
      - address: 10.0.0.11
        weight: 1
      - address: 10.0.0.12
        weight: 2
  - vip: 10.0.0.200
    port: 443
    protocol: tcp
    scheduler: rr
    mode: nat
    real_servers:
      - address: 10.0.0.11
        port: 8443
        weight: 1
      - address: 10.0.0.12
        port: 8443
        weight: 1
`

// dirForeign is the IPVS service someone else made before lvs-rs runs.
var dirForeign = ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: netipMust("10.0.0.100"), Port: 53,
	Scheduler: "rr", Netmask: 32}

// dirHost is a director namespace with eth0 on a segment, a foreign IPVS
// service, ip_forward set to 0 by hand, a config file and a state
// directory.
type dirHost struct {
	t      *testing.T
	ns     *topo.NS
	bin    string
	config string
	state  string
	cl     *ipvs.Client // ipvs's, once opened
	// lastRun is the last lvs-rs run started, whose log a failed test
	// shows.
	lastRun *daemonRun
}

func newDirHost(t *testing.T, yaml string) *dirHost {
	t.Helper()
	tp := topo.New(t)
	ns := tp.AddNS("director")
	tp.AddSegment("lan")
	tp.Connect("director", "lan", "eth0", "10.0.0.1/24")
	return newDirHostIn(t, ns, yaml)
}

// newDirHostIn is newDirHost in ns, whose eth0 is on the segment already.
func newDirHostIn(t *testing.T, ns *topo.NS, yaml string) *dirHost {
	t.Helper()
	dir := t.TempDir()
	h := &dirHost{t: t, ns: ns, bin: vmtest.RequireLvsRs(t), config: filepath.Join(dir, "lvs-rs.yaml"), state: filepath.Join(dir, "state")}
	if err := os.WriteFile(h.config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ns.WriteSysctl("net/ipv4/ip_forward", "0"); err != nil {
		t.Fatal(err)
	}
	c := h.ipvs()
	if err := c.NewService(context.Background(), dirForeign); err != nil {
		t.Fatalf("foreign service: %v", err)
	}
	fd := ipvs.Destination{Address: netipMust("10.0.0.11"), Port: 53, Forward: ipvs.Masq, Weight: 1}
	if err := c.NewDestination(context.Background(), dirForeign, fd); err != nil {
		t.Fatalf("foreign real server: %v", err)
	}
	return h
}

// ipvs opens a client in the namespace, closed with the test, on its
// first call, and returns that one on the next.
func (h *dirHost) ipvs() *ipvs.Client {
	h.t.Helper()
	if h.cl != nil {
		return h.cl
	}
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(h.ns.NsHandle())})
	if err != nil {
		h.t.Fatalf("IPVS in %s: %v", h.ns.Name(), err)
	}
	h.t.Cleanup(func() { c.Close() })
	h.cl = c
	return c
}

// dirResult is one lvs-rs run.
type dirResult struct {
	code           int
	killed         bool
	stdout, stderr string
}

// run runs lvs-rs VERB --role director with the host's state directory
// (and config, except for stop) in the namespace, with env added.
func (h *dirHost) run(verb string, env ...string) dirResult {
	h.t.Helper()
	args := []string{verb, "--role", "director", "--state-dir", h.state}
	if verb != "stop" {
		args = append(args, "--config", h.config)
	}
	return h.exec(args, env...)
}

// exec runs lvs-rs with args in the namespace, with env added.
func (h *dirHost) exec(args []string, env ...string) dirResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := h.ns.Command(ctx, h.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := dirResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(interface{ Signaled() bool }); ok && ws.Signaled() {
			r.killed = true
		}
	case err != nil:
		h.t.Fatalf("lvs-rs %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// must runs verb and fails the test unless it exits 0.
func (h *dirHost) must(what, verb string, env ...string) dirResult {
	h.t.Helper()
	r := h.run(verb, env...)
	if r.code != 0 {
		h.t.Fatalf("%s: lvs-rs %s: exit %d\nstdout:\n%s\nstderr:\n%s", what, verb, r.code, r.stdout, r.stderr)
	}
	return r
}

var traceLine = regexp.MustCompile(`(?m)^faultinject: write (\d+): (.*)$`)

// trace runs verb with LVS_RS_FAULT_TRACE=1 and returns its writes in order.
func (h *dirHost) trace(verb string) []string {
	h.t.Helper()
	r := h.must("trace", verb, "LVS_RS_FAULT_TRACE=1")
	var out []string
	for _, m := range traceLine.FindAllStringSubmatch(r.stderr, -1) {
		out = append(out, m[2])
	}
	if len(out) == 0 {
		h.t.Fatalf("lvs-rs %s traced no write:\n%s", verb, r.stderr)
	}
	return out
}

// snapshot is what the director may change in its namespace, one fact a
// line in a stable order: addresses, routes, sysctls, the IPVS table
// (without counters).
func (h *dirHost) snapshot() []string {
	h.t.Helper()
	nl := h.ns.Handle()
	if err := h.ns.WaitNoTentative(15 * time.Second); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	as, err := nlretry.Dump(func() ([]netlink.Addr, error) { return nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range as {
		out = append(out, fmt.Sprintf("addr %d %s scope %d label %q", a.LinkIndex, a.IPNet, a.Scope, a.Label))
	}
	rs, err := h.ns.Routes()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("route table %d type %d dst %v dev %d scope %d proto %d metric %d via %v src %v",
			r.Table, r.Type, r.Dst, r.LinkIndex, r.Scope, r.Protocol, r.Priority, r.Gw, r.Src))
	}
	for _, k := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/arp_ignore", "net/ipv4/conf/all/arp_announce",
		"net/ipv4/conf/eth0/arp_ignore", "net/ipv4/conf/all/rp_filter"} {
		v, err := h.ns.ReadSysctl(k)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, "sysctl "+k+" = "+v)
	}
	out = append(out, h.table()...)
	slices.Sort(out)
	return out
}

// table renders the IPVS table without counters.
func (h *dirHost) table() []string {
	h.t.Helper()
	c := h.ipvs()
	svcs, err := c.Services(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, s := range svcs {
		ds, err := c.Destinations(context.Background(), s.Service)
		if err != nil {
			h.t.Fatal(err)
		}
		var dests []ipvs.Destination
		for _, d := range ds {
			dests = append(dests, d.Destination)
		}
		out = append(out, ipvsLines(s.Service, dests)...)
	}
	slices.Sort(out)
	return out
}

// ipvsLines renders a service and its real servers for a snapshot.
func ipvsLines(s ipvs.Service, ds []ipvs.Destination) []string {
	out := []string{fmt.Sprintf("ipvs %s %s flags %q timeout %d netmask %d", s.Key(), s.Scheduler, s.Flags, s.Timeout, s.Netmask)}
	for _, d := range ds {
		out = append(out, fmt.Sprintf("ipvs %s -> %s %s weight %d", s.Key(), d.Key(), d.Forward, d.Weight))
	}
	return out
}

// dirDiff lists lines only in a (-) or only in b (+); "" when equal.
func dirDiff(a, b []string) string {
	var out strings.Builder
	for _, l := range a {
		if !slices.Contains(b, l) {
			out.WriteString("  - " + l + "\n")
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out.WriteString("  + " + l + "\n")
		}
	}
	return out.String()
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
