package topo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// trampoline is argv[0] of a re-executed binary that must enter a
// namespace and exec a program: argv = [trampoline, nspath, path, argv0, args...].
const trampoline = "lvsrs-topo-netns-exec"

func init() {
	if len(os.Args) >= 4 && os.Args[0] == trampoline {
		execInNetns(os.Args[1], os.Args[2], os.Args[3:])
	}
}

// execInNetns runs during package initialisation, when the main goroutine
// is locked to the main thread: setns(2) that thread into the namespace,
// then execve(2) the program, which inherits the thread's namespace.
func execInNetns(nsPath, path string, argv []string) {
	runtime.LockOSThread()
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
	}
	if err == nil {
		err = unix.Exec(path, argv, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "topo: running %s in %s: %v\n", path, nsPath, err)
	os.Exit(127)
}

// Command returns a command that runs name (looked up in PATH unless it
// contains a slash) with args inside the namespace. Use it like any
// *exec.Cmd (Dir, Env, Stdout, Run, Output, Start/Wait; ctx kills it). It
// runs this binary first, which enters the namespace in its init and execs
// name (see the package doc); cmd.Args shows that form.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path, lookErr := name, error(nil)
	if !strings.Contains(name, "/") {
		path, lookErr = exec.LookPath(name)
	}
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Args = append([]string{trampoline, n.path, path, name}, args...)
	if lookErr != nil {
		cmd.Err = fmt.Errorf("topo: %s: %w", n.name, lookErr)
	}
	return cmd
}

// Start starts cmd from a locked thread inside the namespace, so the child
// is forked into it; use it for commands not made by Command.
func (n *NS) Start(cmd *exec.Cmd) error {
	return n.Do(cmd.Start)
}
