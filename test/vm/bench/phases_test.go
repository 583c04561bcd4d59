package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/phase"
)

// envPhases set to 1 makes every timed lvs-rs run write its phases
// (internal/phase, through the hidden LVS_RS_PHASES=FILE), printed as
// PHASE lines after its TABLE line.
const envPhases = "LVSRS_TEST_BENCH_PHASES"

// askPhases makes cmd write its phases to a file when envPhases is set,
// and returns that file ("" otherwise).
func askPhases(t *testing.T, cmd *exec.Cmd) string {
	if os.Getenv(envPhases) != "1" {
		return ""
	}
	path := filepath.Join(t.TempDir(), "phases")
	cmd.Env = append(cmd.Env, "LVS_RS_PHASES="+path)
	return path
}

// readPhases reads what askPhases asked for; nil for "".
func readPhases(t *testing.T, path string) []phase.Timing {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("LVS_RS_PHASES: %v", err)
	}
	defer f.Close()
	out, err := phase.Read(f)
	if err != nil {
		t.Fatalf("LVS_RS_PHASES: %v", err)
	}
	return out
}

// printPhases prints one PHASE line per phase of a run, then what the
// phases do not cover (starting the process until the first phase began,
// and its exit) as "process":
//
//	PHASE SHAPE WHAT NAME SECONDS
func printPhases(shape, what string, wall time.Duration, phases []phase.Timing) {
	if phases == nil {
		return
	}
	rest := wall.Seconds()
	for _, p := range phases {
		fmt.Printf("PHASE %s %s %s %.6f\n", shape, what, p.Name, p.Took.Seconds())
		rest -= p.Took.Seconds()
	}
	fmt.Printf("PHASE %s %s process %.6f\n", shape, what, rest)
}
