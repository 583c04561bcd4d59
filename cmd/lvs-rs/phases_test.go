package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/internal/phase"
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
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := phase.Read(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.args[0], err)
		}
		var names []string
		for _, p := range got {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("%s: phases %v, want %v", c.args[0], names, c.want)
		}
	}
}
