package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCompletion checks that each supported shell gets its script from the
// command tree and that an unsupported one is a usage error.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_lvs-rs",
		"zsh":  "#compdef lvs-rs",
		"fish": "complete -c lvs-rs",
	} {
		code, out, errb := invoke(t, "completion", shell)
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, output lacks %q", shell, code, errb, want)
		}
	}
	if code, _, _ := invoke(t, "completion", "ksh"); code != exitUsage {
		t.Errorf("completion ksh: exit %d, want %d", code, exitUsage)
	}
}

// startupHeavy are packages the shipped binary must not link: their
// package initialisation runs before main in every lvs-rs command. The
// man page generator (cobra/doc: md2man, blackfriday, a second YAML
// library) is built only with -tags manpages; pkg/metrics writes the
// Prometheus text format itself instead of client_golang (protobuf,
// procfs, runtime/metrics, expvar, database/sql).
var startupHeavy = []string{
	"github.com/spf13/cobra/doc",
	"github.com/russross/blackfriday/v2",
	"github.com/cpuguy83/go-md2man/v2/md2man",
	"go.yaml.in/yaml/v3",
	"github.com/prometheus/client_golang/prometheus",
	"google.golang.org/protobuf/proto",
	"github.com/prometheus/procfs",
	"runtime/metrics",
	"expvar",
	"database/sql",
}

// TestStartupDeps checks that the default build of lvs-rs links none of
// startupHeavy, and that the man page build has the generator.
func TestStartupDeps(t *testing.T) {
	deps := func(tags string) map[string]bool {
		args := []string{"list", "-deps"}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		out, err := exec.Command(goTool(), append(args, ".")...).Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		m := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			m[p] = true
		}
		return m
	}
	def := deps("")
	for _, p := range startupHeavy {
		if def[p] {
			t.Errorf("lvs-rs links %s", p)
		}
	}
	if !deps("manpages")["github.com/spf13/cobra/doc"] {
		t.Error("the -tags manpages build lacks cobra/doc")
	}
}

// TestNoManCommand checks that the shipped binary has no man command (it
// is a usage error, like any unknown command).
func TestNoManCommand(t *testing.T) {
	if len(extraCommands) > 0 {
		t.Skip("built with -tags manpages (TestManPages covers it)")
	}
	if code, _, _ := invoke(t, "man", t.TempDir()); code != exitUsage {
		t.Errorf("man: exit %d, want %d", code, exitUsage)
	}
}

// goTool is the go command that runs the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
