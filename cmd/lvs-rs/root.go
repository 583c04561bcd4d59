package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// Exit codes, as the README's table states them.
const (
	exitOK         = 0
	exitKernel     = 1 // a kernel operation failed; status: drifted
	exitUsage      = 2 // bad command line or config: nothing changed
	exitNotApplied = 3 // status: nothing applied on this host
	exitUnknown    = 4 // status: cannot tell
)

// exitError carries the process exit code up to run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErr marks a command-line or config problem (exit 2).
func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// run executes one lvs-rs invocation and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	var ce config.Errors
	switch {
	case errors.As(err, &ce):
		// FILE:LINE:COLUMN: field: problem, one per line, unprefixed.
		fmt.Fprintln(stderr, ce.Error())
		return exitUsage
	case errors.As(err, &ee):
		if ee.err != errSilent {
			fmt.Fprintf(stderr, "lvs-rs: %v\n", ee.err)
		}
		return ee.code
	default:
		// Cobra's own errors: unknown flag, missing argument.
		fmt.Fprintf(stderr, "lvs-rs: %v\n", err)
		return exitUsage
	}
}

// errSilent is an error whose message was already printed.
var errSilent = errors.New("")

// newRootCmd builds the whole command tree writing to the given streams.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "lvs-rs",
		Short:         "Configure this host as an LVS (kernel IPVS) director or real server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.stateDir, "state-dir", "", "state directory (default $LVS_RS_STATE_DIR or /run/lvs-rs)")
	root.AddCommand(
		newStartCmd(g, stdout, stderr),
		newStopCmd(g, stdout, stderr),
		newStatusCmd(g, stdout, stderr),
		newVersionCmd(stdout),
		newDoctorCmd(stdout),
		newDrainCmd(g, stdout),
		newEnableCmd(g, stdout),
		newCompletionCmd(stdout),
	)
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	root.AddCommand(newRunCmd(g, stderr))
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// extraCommands are commands only some builds have: the hidden man page
// generator (man.go, -tags manpages).
var extraCommands []func() *cobra.Command

// globalFlags are the flags every subcommand shares.
type globalFlags struct {
	stateDir string
}

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "devel"

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the lvs-rs version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(stdout, "lvs-rs %s\n", version)
			return err
		},
	}
}
