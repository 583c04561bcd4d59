package scaleout

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// timeout returns a context for one step of a test.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ipvsIn opens an IPVS client in ns.
func ipvsIn(t *testing.T, ns *topo.NS) *ipvs.Client {
	t.Helper()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		t.Fatalf("ipvs in %s: %v", ns.Name(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// apply runs IPVS ops and fails the test on the first error.
func apply(t *testing.T, c *ipvs.Client, ops ...ipvs.Op) {
	t.Helper()
	for i, err := range c.Apply(context.Background(), ops) {
		if err != nil {
			t.Fatalf("IPVS op %d (%v %v %v): %v", i, ops[i].Kind, ops[i].Service, ops[i].Destination, err)
		}
	}
}

// run runs a tool in ns (for independent observation) and returns its
// output.
func run(t *testing.T, ns *topo.NS, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(timeout(t, 20*time.Second), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), ns.Name(), err, out)
	}
	return string(out)
}

// binary fails the test unless the VM has the program.
func binary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not in the VM image (scripts/vm-prepare.sh copies it): %v", name, err)
	}
	return p
}

// topoless runs a program in the VM's own namespace.
func topoless(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.CommandContext(timeout(t, 20*time.Second), args[0], args[1:]...).CombinedOutput()
	return string(out), err
}
