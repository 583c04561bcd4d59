package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
)

// env is the testing.TB internal/topo needs, outside a test. Fatal and
// Skip panic with a fatal value, which Run recovers into its error; the
// cleanups run, last first, when Run calls cleanup. The embedded TB is nil
// and only satisfies the interface's unexported method: every method
// topo may call is defined here.
type env struct {
	testing.TB
	cleanups []func()
	log      io.Writer // Log and Error output
	failed   bool
}

// fatal is the panic value of env.Fatal and env.Skip.
type fatal struct{ err error }

func newEnv(log io.Writer) *env { return &env{log: log} }

// cleanup runs the registered cleanups, last registered first.
func (e *env) cleanup() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}

func (e *env) fail(msg string) { e.failed = true; panic(fatal{fmt.Errorf("%s", msg)}) }

// Cleanup registers f to run when the demo ends.
func (e *env) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

// Helper does nothing.
func (e *env) Helper() {}

// Name names the demo (topo does not use it for namespace names).
func (e *env) Name() string { return "demo" }

// Log prints to the log writer.
func (e *env) Log(args ...any) { fmt.Fprintln(e.log, args...) }

// Logf prints to the log writer.
func (e *env) Logf(format string, args ...any) { fmt.Fprintf(e.log, format+"\n", args...) }

// Error logs and marks the demo failed.
func (e *env) Error(args ...any) { e.failed = true; e.Log(args...) }

// Errorf logs and marks the demo failed.
func (e *env) Errorf(format string, args ...any) { e.failed = true; e.Logf(format, args...) }

// Fail marks the demo failed.
func (e *env) Fail() { e.failed = true }

// Failed reports whether Error, Errorf or Fail was called.
func (e *env) Failed() bool { return e.failed }

// FailNow stops the demo.
func (e *env) FailNow() { e.fail("demo: failed") }

// Fatal stops the demo with an error.
func (e *env) Fatal(args ...any) { e.fail(fmt.Sprint(args...)) }

// Fatalf stops the demo with an error.
func (e *env) Fatalf(format string, args ...any) { e.fail(fmt.Sprintf(format, args...)) }

// Skip stops the demo with an error: there is nothing to skip to.
func (e *env) Skip(args ...any) { e.fail(fmt.Sprint(args...)) }

// Skipf stops the demo with an error.
func (e *env) Skipf(format string, args ...any) { e.fail(fmt.Sprintf(format, args...)) }

// SkipNow stops the demo with an error.
func (e *env) SkipNow() { e.fail("demo: skipped") }

// Skipped is always false.
func (e *env) Skipped() bool { return false }

// Context is the background context.
func (e *env) Context() context.Context { return context.Background() }

// Output is the log writer.
func (e *env) Output() io.Writer { return e.log }

// TempDir makes a directory removed by cleanup.
func (e *env) TempDir() string {
	d, err := os.MkdirTemp("", "lvs-rs-demo-")
	if err != nil {
		e.fail(fmt.Sprintf("demo: temp dir: %v", err))
	}
	e.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// ArtifactDir is TempDir.
func (e *env) ArtifactDir() string { return e.TempDir() }

// Setenv sets an environment variable, restored by cleanup.
func (e *env) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	os.Setenv(key, value)
	e.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
}

// Chdir changes the working directory, restored by cleanup.
func (e *env) Chdir(dir string) {
	old, err := os.Getwd()
	if err != nil {
		e.fail(fmt.Sprintf("demo: %v", err))
	}
	if err := os.Chdir(dir); err != nil {
		e.fail(fmt.Sprintf("demo: %v", err))
	}
	e.Cleanup(func() { os.Chdir(old) })
}

// Attr does nothing.
func (e *env) Attr(key, value string) {}
