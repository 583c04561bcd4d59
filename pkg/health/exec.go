package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// execWaitDelay bounds how long an exec check waits for its output pipes
// after the process group was killed.
const execWaitDelay = time.Second

// probeExec runs the check's command in its own process group. Exit 0
// passes; 2..255 passes with weight code-2 (keepalived's misc_dynamic);
// 1 fails. At the deadline the whole group is killed with SIGKILL, and
// after any exit whatever the command left behind in its group is killed
// too.
func probeExec(ctx context.Context, t Target) Result {
	s := t.Spec
	args := expandCommand(s.Command, t)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = execWaitDelay
	var out capped
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if cmd.Process != nil {
		_ = killGroup(cmd)
	}
	if ctx.Err() != nil && cmd.ProcessState != nil && !cmd.ProcessState.Success() {
		return Result{Reason: fmt.Sprintf("timeout after %s: process group killed", s.Timeout)}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return Result{Up: true, Reason: "exit 0" + out.reason()}
	case errors.As(err, &ee) && ee.ExitCode() >= 2:
		code := ee.ExitCode()
		return Result{Up: true, Reason: fmt.Sprintf("exit %d (weight %d)%s", code, code-2, out.reason()),
			Weight: Weight{Kind: WeightAbsolute, Value: code - 2}}
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return Result{Reason: "exit 1" + out.reason()}
	case errors.As(err, &ee):
		return Result{Reason: ee.String() + out.reason()}
	}
	return Result{Reason: fmt.Sprintf("run %s: %v", args[0], err)}
}

// killGroup sends SIGKILL to cmd's process group; an empty group is fine.
func killGroup(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// expandCommand replaces {address} and {port} in every argument.
func expandCommand(argv []string, t Target) []string {
	r := strings.NewReplacer("{address}", t.Address.String(), "{port}", strconv.Itoa(int(t.Spec.Port)))
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}

// capped keeps the first bytes a command writes, for the result's reason.
type capped struct{ b bytes.Buffer }

const capBytes = 512

// Write implements io.Writer, keeping at most capBytes.
func (c *capped) Write(p []byte) (int, error) {
	if room := capBytes - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// reason returns ": first line of the output", or "" without output.
func (c *capped) reason() string {
	line, _, _ := strings.Cut(strings.TrimSpace(c.b.String()), "\n")
	if line == "" {
		return ""
	}
	return ": " + strings.TrimSpace(line)
}
