package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// TestPhasesFile: with LVS_RS_PHASES a real server's start and stop write
// their phases, in the order they ran, one "name seconds" line each.
func TestPhasesFile(t *testing.T) {
	ns := nstest.New(t)
	state := "--state-dir=" + t.TempDir()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.9", state},
			[]string{"session", "desired", "record-load", "observe", "plan", "kernel-writes", "record-save", "report"}},
		{[]string{"stop", "--role", "realserver", state},
			[]string{"session", "record-load", "observe", "plan", "kernel-writes", "record-remove", "report"}},
	} {
		path := filepath.Join(t.TempDir(), "phases")
		end := phases(path)
		code, out, errs := inNS(t, ns, c.args...)
		end()
		if code != 0 {
			t.Fatalf("%s: exit %d, %q %q", c.args[0], code, out, errs)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if !regexp.MustCompile(`^[a-z-]+ \d+\.\d{6}$`).MatchString(line) {
				t.Fatalf("%s: phase line %q", c.args[0], line)
			}
			names = append(names, strings.Fields(line)[0])
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("%s: phases %v, want %v", c.args[0], names, c.want)
		}
	}
}
