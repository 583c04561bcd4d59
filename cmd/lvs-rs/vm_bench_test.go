//go:build vmbench

package main

import (
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

// TestMain, with the vmbench build tag, runs this package's tests and
// benchmarks in the VM test bed, under its emulated CPU, where the table
// of scripts/bench.sh is measured: scripts/bench.sh vm cmd/lvs-rs -bench NAME.
// Without the tag they run on the host as usual.
func TestMain(m *testing.M) { vmtest.Main(m) }
