package vmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestArgsRoundTrip(t *testing.T) {
	args := []string{"-test.run=^TestA$|TestB", "-test.v=test2json", "  spaced  ", `back\slash`, ""}
	b, err := encodeArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeArgs(b); !slices.Equal(got, args) {
		t.Errorf("decode(encode(%q)) = %q", args, got)
	}
	if _, err := encodeArgs([]string{"a\nb"}); err == nil {
		t.Error("an argument with a newline was accepted")
	}
	if got := decodeArgs(nil); got != nil {
		t.Errorf("decode(nil) = %q", got)
	}
}

func TestParseHostArgs(t *testing.T) {
	h, err := parseHostArgs([]string{
		"-test.paniconexit0", "-test.timeout=10m0s", "-test.v=true", "-test.count=1",
		"-test.testlogfile=/tmp/go-build1/b001/testlog.txt", "-test.run", "TestX",
		"-test.coverprofile", "/tmp/c.out", "-test.short",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !h.verbose || h.timeout != 10*time.Minute {
		t.Errorf("verbose %v timeout %v, want true 10m", h.verbose, h.timeout)
	}
	want := []string{"-test.paniconexit0", "-test.v=true", "-test.count=1", "-test.run", "TestX", "-test.short"}
	if !slices.Equal(h.vmArgs, want) {
		t.Errorf("vm args = %q, want %q", h.vmArgs, want)
	}
	if len(h.dropped) != 2 {
		t.Errorf("dropped = %q, want testlogfile and coverprofile", h.dropped)
	}
	if got := h.withTimeout(90 * time.Second); got[len(got)-1] != "-test.timeout=1m30s" {
		t.Errorf("withTimeout: %q", got)
	}
	if got := h.withTimeout(0); !slices.Equal(got, want) {
		t.Errorf("withTimeout(0) = %q", got)
	}

	for _, c := range []struct {
		args    []string
		verbose bool
	}{{[]string{"-test.v"}, true}, {[]string{"-test.v=false"}, false}, {nil, false}, {[]string{"--test.v=test2json"}, true}} {
		h, err := parseHostArgs(c.args)
		if err != nil || h.verbose != c.verbose {
			t.Errorf("%q: verbose %v, %v; want %v", c.args, h.verbose, err, c.verbose)
		}
	}
	if _, err := parseHostArgs([]string{"-test.timeout=soon"}); err == nil {
		t.Error("bad -test.timeout accepted")
	}
}

func TestVMEnv(t *testing.T) {
	got := string(vmEnv([]string{"CI=true", "HOME=/root", "LVSRS_TEST_X=1", "LVSRS_TEST_NL=a\nb", "GOTRACEBACK=all", "LVSRS_VM_CACHE=/x"}))
	if want := "CI=true\nLVSRS_TEST_X=1\nGOTRACEBACK=all\n"; got != want {
		t.Errorf("vmEnv = %q, want %q", got, want)
	}
}

// TestArgsShellDecoding runs /init's decoding loop (scripts/vm-prepare.sh)
// in a POSIX shell, busybox's when there is one.
func TestArgsShellDecoding(t *testing.T) {
	sh := []string{"busybox", "sh"}
	if _, err := exec.LookPath("busybox"); err != nil {
		sh = []string{"sh"}
		if _, err := exec.LookPath("sh"); err != nil {
			t.Skip("no shell")
		}
	}
	args := []string{"-test.run=^TestA$|Test B", "  spaced  ", `back\slash`, "", "$HOME", "'q'"}
	b, err := encodeArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "args")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `set --; while IFS= read -r a; do set -- "$@" "$a"; done <"$0"; printf '%s\0' "$@"`
	out, err := exec.Command(sh[0], append(sh[1:], "-c", script, f)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, args) {
		t.Errorf("shell decoded %q, want %q", got, args)
	}
}
