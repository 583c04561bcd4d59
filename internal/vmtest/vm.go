package vmtest

import (
	"fmt"
	"os"
	"testing"
)

// Environment variables shared by the host side, /init and the tests.
const (
	// EnvInVM is set to "1" by /init for the test binary in the VM.
	EnvInVM = "LVSRS_IN_VM"
	// EnvBin is the path of the lvs-rs binary in the VM, set by /init.
	EnvBin = "LVSRS_BIN"
	// EnvCache overrides the VM cache dir on the host.
	EnvCache = "LVSRS_VM_CACHE"
	// EnvKernel names the Debian kernel the VM boots: "6.1" (bookworm, the
	// default), "6.12" (trixie) or "sid" (the newest in unstable).
	EnvKernel = "LVSRS_VM_KERNEL"
	// EnvAccel forces the accelerator ("kvm" or "tcg") on the host.
	EnvAccel = "LVSRS_VM_ACCEL"
	// EnvNoLvsRs set to "1" skips building ./cmd/lvs-rs on the host (for
	// VM tests that do not run it, while the command does not compile).
	EnvNoLvsRs = "LVSRS_VM_NO_LVSRS"
	// EnvKernelLog set to "1" prints the guest kernel's messages too.
	EnvKernelLog = "LVSRS_VM_KERNEL_LOG"
	// EnvBaseline names, on the host, a static lvs-rs binary built from
	// another revision, which the VM gets as /bin/lvs-rs-baseline (for
	// benchmarks that compare two revisions in one run).
	EnvBaseline = "LVSRS_VM_BASELINE"
	// EnvBaselineBin is the baseline binary's path in the VM.
	EnvBaselineBin = "LVSRS_BASELINE_BIN"
)

// baselinePath is where the baseline binary is in the VM.
const baselinePath = "/bin/lvs-rs-baseline"

// defaultKernel is the kernel booted when LVSRS_VM_KERNEL is unset.
const defaultKernel = "6.1"

// Kernels lists the values LVSRS_VM_KERNEL accepts.
var Kernels = []string{"6.1", "6.12", "sid"}

// Kernel returns the kernel named by LVSRS_VM_KERNEL (default "6.1"), or an
// error for a value scripts/vm-prepare.sh does not know.
func Kernel() (string, error) {
	k := os.Getenv(EnvKernel)
	if k == "" {
		return defaultKernel, nil
	}
	for _, ok := range Kernels {
		if k == ok {
			return k, nil
		}
	}
	return "", fmt.Errorf("%s=%q: want one of %v", EnvKernel, k, Kernels)
}

// defaultCache is where scripts/vm-prepare.sh puts the kernel and the base
// initramfs for a kernel unless LVSRS_VM_CACHE says otherwise.
func defaultCache(kernel string) string { return "/var/cache/lvs-rs/vm-" + kernel }

// InVM reports whether this process runs inside the test VM.
func InVM() bool { return os.Getenv(EnvInVM) == "1" }

// LvsRsBin returns the path of the lvs-rs binary inside the VM, or "" when
// there is none (outside the VM, or ./cmd/lvs-rs did not exist when the
// suite was started).
func LvsRsBin() string { return fileIn(EnvBin) }

// fileIn returns the path the environment variable env names when it is
// a file; "" otherwise.
func fileIn(env string) string {
	p := os.Getenv(env)
	if p == "" {
		return ""
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return ""
	}
	return p
}

// BaselineBin returns the path of the baseline lvs-rs binary inside the
// VM (see EnvBaseline), or "" when the run has none.
func BaselineBin() string { return fileIn(EnvBaselineBin) }

// RequireLvsRs returns LvsRsBin() or fails the test when the binary is not
// in the VM.
func RequireLvsRs(tb testing.TB) string {
	tb.Helper()
	p := LvsRsBin()
	if p == "" {
		tb.Fatalf("vmtest: no lvs-rs binary in the VM (%s=%q): was ./cmd/lvs-rs buildable when the suite started?", EnvBin, os.Getenv(EnvBin))
	}
	return p
}

// RequireVM skips the test unless it runs inside the test VM. Packages that
// use Main never need it; it is for tests shared with host packages.
func RequireVM(tb testing.TB) {
	tb.Helper()
	if !InVM() {
		tb.Skip("vmtest: needs the test VM (run the package through vmtest.Main)")
	}
}
