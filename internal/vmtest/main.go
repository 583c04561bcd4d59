package vmtest

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// Main is the TestMain of a VM test package. In the VM it runs the tests
// and exits with their status. On the host it boots the VM, runs the same
// test binary (with the same -test.* flags) there and exits with the VM's
// status; see the package documentation.
func Main(m *testing.M) {
	if InVM() {
		os.Exit(m.Run())
	}
	err := runHost()
	var skip skipError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &skip):
		fmt.Fprintf(os.Stderr, "vmtest: skipping VM suite: %s\n", skip.reason)
		// Run no test, so that `go test` says "[no tests to run]".
		os.Args = append(os.Args, "-test.run=^$")
		os.Exit(m.Run())
	default:
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(ex.code)
		}
		fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
		os.Exit(1)
	}
}

// buildTags are the build tags the lvs-rs binary for the VM is built with.
var buildTags string

// MainTags is Main with the VM's lvs-rs built with the given build tags
// (for example "faultinject", whose hooks the shipped binary lacks).
func MainTags(m *testing.M, tags string) {
	buildTags = tags
	Main(m)
}

// skipError makes Main skip the suite (non-root outside CI).
type skipError struct{ reason string }

func (e skipError) Error() string { return "skip: " + e.reason }

// exitError carries the guest's exit status to Main.
type exitError struct{ code int }

func (e exitError) Error() string {
	return fmt.Sprintf("tests in the VM exited with status %d", e.code)
}
