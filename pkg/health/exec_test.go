package health

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func execTarget(t *testing.T, timeout time.Duration, argv ...string) Target {
	t.Helper()
	return target(t, Exec, "192.0.2.7:8080", func(s *Spec) { s.Command = argv; s.Timeout = timeout })
}

func TestExecExitCodes(t *testing.T) {
	cases := []struct {
		script string
		up     bool
		weight Weight
		reason string
	}{
		{"exit 0", true, Weight{}, "exit 0"},
		{"echo broken >&2; exit 1", false, Weight{}, "exit 1: broken"},
		{"exit 2", true, Weight{WeightAbsolute, 0}, "exit 2 (weight 0)"},
		{"echo busy; exit 7", true, Weight{WeightAbsolute, 5}, "exit 7 (weight 5): busy"},
		{"exit 255", true, Weight{WeightAbsolute, 253}, "exit 255 (weight 253)"},
		{"kill -TERM $$", false, Weight{}, "signal: terminated"},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			r := runProbe(execTarget(t, 5*time.Second, "/bin/sh", "-c", c.script))
			wantResult(t, r, c.up, c.reason)
			if r.Weight != c.weight {
				t.Errorf("weight = %+v, want %+v", r.Weight, c.weight)
			}
		})
	}
}

func TestExecPlaceholders(t *testing.T) {
	r := runProbe(execTarget(t, 5*time.Second, "/bin/sh", "-c", `test "$0 $1" = "192.0.2.7 8080"`, "{address}", "{port}"))
	wantResult(t, r, true, "exit 0")
}

func TestExecMissingCommand(t *testing.T) {
	r := runProbe(execTarget(t, 5*time.Second, "/nonexistent/check"))
	wantResult(t, r, false, "run /nonexistent/check")
}

// TestExecTimeoutKillsGroup: a check that outlives its deadline fails, and
// its background child (same process group) is killed with it.
func TestExecTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	r := runProbe(execTarget(t, 300*time.Millisecond, "/bin/sh", "-c", "sleep 60 & echo $! > "+pidFile+"; wait"))
	wantResult(t, r, false, "timeout after 300ms: process group killed")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the check took %s", took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// TestExecLeftoversKilled: a command that exits 0 but leaves a child in
// its group behind does not leave it running.
func TestExecLeftoversKilled(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	r := runProbe(execTarget(t, 5*time.Second, "/bin/sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $! > "+pidFile))
	wantResult(t, r, true, "exit 0")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitGone(t, pid)
}

// TestExecBackgroundChildHoldsOutput: a command that exits 0 and leaves
// a child holding its output open passes at once (the leader's exit
// decides), with its output, and the child is killed.
func TestExecBackgroundChildHoldsOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	r := runProbe(execTarget(t, 5*time.Second, "/bin/sh", "-c", "echo ready; sleep 60 & echo $! > "+pidFile+"; exit 0"))
	took := time.Since(start)
	wantResult(t, r, true, "exit 0: ready")
	if took >= execWaitDelay/2 {
		t.Errorf("the check took %s", took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitGone(t, pid)
}

// TestExecEscapedChildBounded: a child that left the group (setsid) and
// holds the output open is not killed, but delays the check by at most
// execWaitDelay; the leader's exit still decides.
func TestExecEscapedChildBounded(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	// The leader exits once the child has left its group.
	script := "setsid /bin/sh -c 'echo $$ > " + pidFile + "; exec sleep 60' & until [ -s " + pidFile + " ]; do sleep 0.01; done; exit 0"
	r := runProbe(execTarget(t, 5*time.Second, "/bin/sh", "-c", script))
	took := time.Since(start)
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			defer syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	wantResult(t, r, true, "exit 0")
	if took > execWaitDelay+time.Second {
		t.Errorf("the check took %s", took)
	}
}

// waitGone waits until pid no longer runs (gone or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, os.ErrNotExist) || (err == nil && strings.Contains(string(stat), ") Z ")) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
