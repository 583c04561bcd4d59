// Command lvs-rs turns a Linux host into a correctly configured member of a
// Linux Virtual Server cluster: a director (kernel IPVS, VIPs, ip_forward)
// or a real server (VIP on lo or tunl0, ARP and rp_filter sysctls, or a
// route through the director).
//
// This package is only the command-line wiring; the work lives in pkg/.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"

	"github.com/lvs-rs/lvs-rs/internal/phase"
)

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets one.
// A start with 11,000 IPVS objects keeps under 10 MB alive (config,
// desired state, plan, record), but allocates several times that, and
// without a limit the heap grows to twice its live size between
// collections; 20 MiB keeps the peak resident set (heap, stacks and the
// binary's pages) under 30 MB for a few percent more collector work than
// 24 MiB (scripts/bench.sh: 27.4 MB against 30.7 MB).
const memoryLimit = 20 << 20

// gcPercent is the collector's growth target (GOGC) unless GOGC sets one.
// Under the soft limit above, a heap that may grow to four times its live
// size between collections (instead of two) takes fewer of them while a
// start reads its config and builds its plan: in the VM benchmark the
// 11,000-object start's CPU went from about 0.72-1.03 s to 0.72-0.74 s
// (best wall 0.74-0.85 s to 0.59 s), the peak RSS from 22.6 to 24.7 MB.
const gcPercent = 300

func main() {
	endPhases := phases(os.Getenv("LVS_RS_PHASES"))
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	endProfile := cpuProfile(os.Getenv("LVS_RS_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	endProfile()
	stop()
	endPhases()
	os.Exit(code)
}

// phases times the command's phases (internal/phase) and returns the
// function that ends that and writes them to path (the hidden environment
// variable LVS_RS_PHASES, for the benchmarks and for finding why a command
// is slow); "" does nothing. A file that cannot be written is said on
// stderr.
func phases(path string) func() {
	if path == "" {
		return func() {}
	}
	phase.Enable()
	return func() {
		err := writePhases(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "lvs-rs: LVS_RS_PHASES: %v\n", err)
		}
	}
}

func writePhases(path string) error {
	phases := phase.Disable()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(phase.Write(f, phases), f.Close())
}

// cpuProfile writes a CPU profile of the whole command to path (the hidden
// environment variable LVS_RS_CPUPROFILE, for the benchmarks); "" does
// nothing. LVS_RS_CPUPROFILE_HZ sets a higher sampling rate than the
// default 100 Hz (a 0.3 s command gives 30 samples at 100 Hz). The
// returned function ends the profile.
func cpuProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if hz, _ := strconv.Atoi(os.Getenv("LVS_RS_CPUPROFILE_HZ")); err == nil && hz > 0 {
		runtime.SetCPUProfileRate(hz) // StartCPUProfile keeps it (and says so on stderr)
	}
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lvs-rs: LVS_RS_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
