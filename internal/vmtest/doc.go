// Package vmtest runs a package's tests inside a qemu VM that boots Debian's
// stock kernel, which has IPVS, ipip, bridge, veth and dummy as modules.
//
// The kernel is Debian's: bookworm's 6.1 by default, trixie's 6.12 or the
// newest in sid with LVSRS_VM_KERNEL=6.12 or sid, each in its own cache.
//
// A VM test package has one TestMain:
//
//	func TestMain(m *testing.M) { vmtest.Main(m) }
//
// (pkg/config, pkg/director, pkg/ipvs, pkg/state and cmd/lvs-rs have one
// under the build tag vmbench, in vm_bench_test.go, so that their
// benchmarks run under the VM's emulated CPU: scripts/bench.sh vm PKG.)
//
// and is run like any package, statically linked:
//
//	CGO_ENABLED=0 go test ./test/vm/smoke/ -run TestName -v
//
// On the host (LVSRS_IN_VM unset) Main does not run the tests. It
//   - checks the prerequisites: root, and the VM cache that
//     scripts/vm-prepare.sh builds (it runs the script, which returns in
//     well under a second when the cache is valid); a non-root run outside
//     CI prints "vmtest: skipping VM suite: ..." and runs no test, while in
//     CI (CI=true) every missing prerequisite is a failure;
//   - builds ./cmd/lvs-rs with CGO_ENABLED=0 (skipped, and said, when the
//     command does not exist yet);
//   - checks that its own test binary is static, appends it, lvs-rs and the
//     command line (-test.run, -test.v, -test.count, ... pass through) to
//     the cached base initramfs as an extra newc archive;
//   - boots qemu-system-x86_64 with KVM when KVM works (probed once and the
//     answer cached) and TCG otherwise, streams the guest's test output to
//     stdout and exits with the guest's exit status. A VM that stops without
//     the exit marker, or outlives -test.timeout, is a failure.
//
// go test never caches a VM package's result: on the host Main exits
// without m.Run, so no inputs are recorded. No -count=1 is needed.
//
// In the VM the /init of the base initramfs runs the test binary with
// LVSRS_IN_VM=1 and LVSRS_BIN=/bin/lvs-rs; there Main just runs m.Run. The
// working directory in the VM holds a copy of the package's testdata/.
//
// Environment on the host:
//
//	LVSRS_VM_KERNEL      6.1 (bookworm, default), 6.12 (trixie) or sid (newest)
//	LVSRS_VM_CACHE       cache dir (default /var/cache/lvs-rs/vm-KERNEL)
//	LVSRS_VM_ACCEL       kvm or tcg: skip the probe and use this
//	LVSRS_VM_KERNEL_LOG  1: print the guest kernel's messages as well
//	LVSRS_VM_NO_LVSRS    1: do not build ./cmd/lvs-rs (tests that do not run it)
//	LVSRS_VM_BASELINE    a static lvs-rs built from another revision: the VM gets
//	                     it as /bin/lvs-rs-baseline, its tests LVSRS_BASELINE_BIN
//	                     (BaselineBin), to compare two revisions in one run
//	LVSRS_TEST_*, CI, GOTRACEBACK, GODEBUG are passed into the VM.
package vmtest
