// Package demo runs the README's demo (internal/demo) inside the VM test
// bed, for hosts whose kernel has no IPVS; scripts/demo.sh uses it. It is
// also a test: TestDemo fails when the demo fails, in particular when
// either real server never answered.
//
// Run as root: CGO_ENABLED=0 go test ./test/vm/demo/ -v -count=1
//
// With LVSRS_TEST_DEMO_PREFIX set (vmtest passes LVSRS_TEST_* into the
// VM), every line of the report starts with that prefix, so that a script
// can pick the report out of go test's output.
package demo
