package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

// TestAB compares this revision's lvs-rs with a baseline binary built
// from another one (vmtest's LVSRS_VM_BASELINE; scripts/bench.sh ab REV
// builds it): for each shape (LVSRS_TEST_BENCH_SHAPES, default both), each
// round (LVSRS_TEST_BENCH_ROUNDS, default 9) runs the director commands
// TestTable runs (directorCommands, checks included) with one binary,
// then the other, each on a fresh namespace, the order alternating from
// round to round, so that a host whose speed drifts disturbs both alike.
// It prints, per shape and command, both medians and the median of the
// rounds' ratios (this / baseline): a difference that TestTable's runs,
// minutes apart, cannot show under a noisy host. Without a baseline it is
// skipped.
func TestAB(t *testing.T) {
	base := vmtest.BaselineBin()
	if base == "" {
		t.Skip("no baseline binary (" + vmtest.EnvBaseline + "; scripts/bench.sh ab REV sets it)")
	}
	bins := map[string]string{"baseline": base, "this": vmtest.RequireLvsRs(t)}
	rounds := roundsFromEnv(t, "9")
	e := newBed(t)
	for _, s := range shapesFromEnv(t) {
		took := map[string]map[string][]time.Duration{"baseline": {}, "this": {}}
		for r := range rounds {
			order := []string{"baseline", "this"}
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, who := range order {
				tb := &table{t: t, e: e, s: s, bin: bins[who]}
				tb.directorCommands(func(what string, m measurement) {
					took[who][what] = append(took[who][what], m.wall)
				}, nil)
			}
		}
		printAB(s, took)
	}
}

// printAB prints one shape's comparison.
func printAB(s shape, took map[string]map[string][]time.Duration) {
	fmt.Printf("\n%s  (medians of %d rounds, ms; ratio: the median of each round's this/baseline)\n", s, len(took["this"]["start"]))
	fmt.Printf("  %-8s %10s %10s %8s\n", "command", "baseline", "this", "ratio")
	for _, what := range directorSteps {
		b, n := took["baseline"][what], took["this"][what]
		ratios := make([]float64, len(n))
		for i := range n {
			ratios[i] = float64(n[i]) / float64(b[i])
		}
		ratios = slices.Sorted(slices.Values(ratios))
		fmt.Printf("  %-8s %10.1f %10.1f %7.3fx\n", what, medianMS(b), medianMS(n), ratios[len(ratios)/2])
	}
}
