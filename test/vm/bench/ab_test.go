package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

// abCommands are the commands TestAB times, in the order it runs them on
// one namespace: a start on an empty table, a no-op start, a one-weight
// edit, status and stop.
var abCommands = []string{"start", "noop", "edit", "status", "stop"}

// TestAB compares this revision's lvs-rs with a baseline binary built
// from another one (vmtest's LVSRS_VM_BASELINE; scripts/bench.sh ab REV
// builds it): for each shape (LVSRS_TEST_BENCH_SHAPES, default both), each
// round (LVSRS_TEST_BENCH_ROUNDS, default 9) runs the commands of
// abCommands with one binary, then the other, each on a fresh namespace,
// the order alternating from round to round, so that a host whose speed
// drifts disturbs both alike. It prints, per shape and command, both
// medians and the median of the rounds' ratios (this / baseline): a
// difference that TestTable's runs, minutes apart, cannot show under a
// noisy host. Without a baseline it is skipped.
func TestAB(t *testing.T) {
	base := vmtest.BaselineBin()
	if base == "" {
		t.Skip("no baseline binary (" + vmtest.EnvBaseline + "; scripts/bench.sh ab REV sets it)")
	}
	bins := map[string]string{"baseline": base, "this": vmtest.RequireLvsRs(t)}
	rounds, err := strconv.Atoi(cmpOr(os.Getenv(envRounds), "9"))
	if err != nil || rounds < 1 {
		t.Fatalf("%s=%q", envRounds, os.Getenv(envRounds))
	}
	e := newBed(t)
	for _, s := range abShapes(t) {
		took := map[string]map[string][]time.Duration{"baseline": {}, "this": {}}
		for r := range rounds {
			order := []string{"baseline", "this"}
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, who := range order {
				for what, d := range abRound(t, e, s, bins[who]) {
					took[who][what] = append(took[who][what], d)
				}
			}
		}
		printAB(s, took)
	}
}

// abShapes are the shapes of LVSRS_TEST_BENCH_SHAPES (TestTable's by
// default).
func abShapes(t *testing.T) []shape {
	v := os.Getenv(envShapes)
	if v == "" {
		return tableShapes
	}
	var out []shape
	for _, f := range strings.Split(v, ",") {
		if f == "realserver" {
			continue
		}
		var s shape
		if _, err := fmt.Sscanf(f, "%dx%d", &s.services, &s.perService); err != nil {
			t.Fatalf("%s: %q: %v", envShapes, f, err)
		}
		out = append(out, s)
	}
	return out
}

// abRound runs abCommands with bin on a fresh namespace and returns each
// one's wall time; it checks the table after the start and after the
// stop.
func abRound(t *testing.T, e *bed, s shape, bin string) map[string]time.Duration {
	ns := e.fresh()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lvs-rs.yaml")
	writeFile(t, cfg, s.yaml(-1))
	tb := &table{t: t, e: e, s: s, bin: bin}
	out := map[string]time.Duration{}
	for _, what := range abCommands {
		args := []string{"start", "--role", "director", "--config", cfg}
		switch what {
		case "edit":
			writeFile(t, cfg, s.yaml(s.services/2))
		case "status", "stop":
			args = []string{what, "--role", "director"}
		}
		quiesce(t)
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LVS_RS_STATE_DIR="+filepath.Join(dir, "state"))
		out[what] = tb.run(ns, cmd, "").wall
		switch what {
		case "start":
			c := dial(t, ns)
			checkTable(t, c, s)
			c.Close()
		case "stop":
			c := dial(t, ns)
			svcs, err := c.Services(t.Context())
			c.Close()
			if err != nil || len(svcs) != 0 {
				t.Fatalf("%s: after stop: %d services, %v", bin, len(svcs), err)
			}
		}
	}
	return out
}

// printAB prints one shape's comparison.
func printAB(s shape, took map[string]map[string][]time.Duration) {
	fmt.Printf("\n%s  (medians of %d rounds, ms; ratio: the median of each round's this/baseline)\n", s, len(took["this"]["start"]))
	fmt.Printf("  %-8s %10s %10s %8s\n", "command", "baseline", "this", "ratio")
	for _, what := range abCommands {
		b, n := took["baseline"][what], took["this"][what]
		ratios := make([]float64, len(n))
		for i := range n {
			ratios[i] = float64(n[i]) / float64(b[i])
		}
		fmt.Printf("  %-8s %10.1f %10.1f %7.3fx\n", what, medianMS(b), medianMS(n), medianOf(ratios))
	}
}

func medianMS(d []time.Duration) float64 {
	d = slices.Sorted(slices.Values(d))
	return float64(d[len(d)/2].Microseconds()) / 1000
}

func medianOf(v []float64) float64 {
	v = slices.Sorted(slices.Values(v))
	return v[len(v)/2]
}
