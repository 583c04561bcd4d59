package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// execWaitDelay bounds how long an exec check waits for its output after
// its leader exited and its process group was killed: a child that left
// the group (setsid) may still hold the output pipe open.
const execWaitDelay = time.Second

// probeExec runs the check's command in its own process group. Exit 0
// passes; 2..255 passes with weight code-2 (keepalived's misc_dynamic);
// 1 fails. The leader's exit decides: whatever it left behind in its
// group is killed as soon as it exits, so a background child still
// holding its output neither delays nor fails the check. At the deadline
// the whole group is killed with SIGKILL.
func probeExec(ctx context.Context, t Target) Result {
	s := t.Spec
	args := expandCommand(s.Command, t)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = execWaitDelay
	var out capped
	err := runLeader(cmd, &out)
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
	// Not started: a missing or forbidden program fails the check; a fork
	// or pipe the director could not make (EAGAIN, ENOMEM, EMFILE) is no
	// result.
	return Result{Reason: fmt.Sprintf("run %s: %v", args[0], err), Local: directorLocal(err)}
}

// runLeader starts cmd with its stdout and stderr going to out, waits for
// cmd's own process (not for its output to close), kills what is left of
// its group, and returns cmd's exit error. exec.Cmd.Run with a Writer
// would wait for the pipe to close, which a background child holding it
// delays until execWaitDelay, and then report exec.ErrWaitDelay: so the
// pipe is ours, and its reader is bounded by execWaitDelay after the
// kill.
func runLeader(cmd *exec.Cmd, out io.Writer) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("output pipe: %w", err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close() // the command holds its own copy
	if err != nil {
		return err
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, r) // ends at EOF or at the read deadline
	}()
	err = cmd.Wait()
	_ = killGroup(cmd)
	_ = r.SetReadDeadline(time.Now().Add(execWaitDelay))
	<-copied
	return err
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
