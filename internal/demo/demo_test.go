package demo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// These run on the host. The demo itself needs IPVS and runs in the VM
// (test/vm/demo); here a stand-in lvs-rs that changes nothing drives
// Run's failure path: no VIP answers, and Run must still stop every node
// it started and remove every namespace.

func TestEnvFatalAndCleanupOrder(t *testing.T) {
	var order []int
	var buf bytes.Buffer
	e := newEnv(&buf)
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = v.(fatal).err
			}
		}()
		e.Cleanup(func() { order = append(order, 1) })
		e.Cleanup(func() { order = append(order, 2) })
		e.Fatalf("boom %d", 7)
		return nil
	}()
	if err == nil || err.Error() != "boom 7" {
		t.Errorf("Fatalf became %v, want boom 7", err)
	}
	e.cleanup()
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Errorf("cleanups ran in order %v, want [2 1]", order)
	}
	if !e.Failed() {
		t.Errorf("Failed() = false after Fatalf")
	}
}

func TestRunFailsCleanlyWithoutService(t *testing.T) {
	nstest.RequireRoot(t)
	fake := filepath.Join(t.TempDir(), "lvs-rs")
	script := "#!/bin/sh\necho \"fake lvs-rs: $1 done\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before := netnsNames(t)
	var out bytes.Buffer
	err := Run(&out, fake)
	if err == nil || !strings.Contains(err.Error(), "request 1") {
		t.Fatalf("Run = %v, want the first request to fail\n%s", err, out.String())
	}
	report := out.String()
	for _, want := range []string{
		"lvs-rs start --role realserver --config cluster.yaml",
		"lvs-rs start --role director --config cluster.yaml",
		"lvs-rs stop --role director", "lvs-rs stop --role realserver",
		"fake lvs-rs: stop done",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if n := strings.Count(report, "lvs-rs stop --role"); n != 3 {
		t.Errorf("stop ran %d times, want 3 (every node started):\n%s", n, report)
	}
	if strings.Contains(report, "Done:") {
		t.Errorf("a failed demo says Done:\n%s", report)
	}
	if after := netnsNames(t); !slices.Equal(before, after) {
		t.Errorf("namespaces before Run %v, after %v", before, after)
	}
}

// netnsNames lists the demo's namespaces under /run/netns (topo names
// them lt<pid>-<n>-<name>).
func netnsNames(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	mine := regexp.MustCompile(`^lt` + regexp.QuoteMeta(strconv.Itoa(os.Getpid())) + `-`)
	var out []string
	for _, e := range ents {
		if mine.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}
