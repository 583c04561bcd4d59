// Package nstest gives a kernel test its own fresh network namespace on the
// host, so tests that bind addresses or write /proc/sys/net never touch the
// machine's own network and never see each other's state.
//
// Outside CI, a non-root run skips these tests with a message; with CI=true
// a missing privilege is a failure.
package nstest
