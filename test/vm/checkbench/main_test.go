package checkbench

import (
	"os"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

// TestMain boots the VM only when the benchmark is asked for: without
// LVSRS_TEST_CHECKBENCH=1 the tests run on the host, where the benchmark
// skips and only the pure tests of its statistics run, so a plain go test
// ./... pays no VM boot for a suite that would only skip.
func TestMain(m *testing.M) {
	if !vmtest.InVM() && os.Getenv(gateEnv) != "1" {
		os.Exit(m.Run())
	}
	vmtest.Main(m)
}
