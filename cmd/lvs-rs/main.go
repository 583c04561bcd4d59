// Command lvs-rs turns a Linux host into a correctly configured member of a
// Linux Virtual Server cluster: a director (kernel IPVS, VIPs, ip_forward)
// or a real server (VIP on lo, tunl0 or gre0, GUE receive ports, ARP and
// rp_filter sysctls, or a route through the director).
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

// oneShotGC is the collector's growth target (GOGC) of the commands that
// run once (start, stop, status, ...) unless GOGC sets one. They live a
// second or less: a heap that may grow to five times its live size
// between collections (Go's default is twice) takes fewer of them, and
// the first comes once the heap reaches 16 MB (4 MB times GOGC/100). A
// start of 11,000 objects allocates about 12 MB in all, so with 400 it
// never collects; with 300 (a first goal of 12 MB) it collected once,
// near its end, for about 20 ms of CPU under emulation (VM, GODEBUG=
// gctrace=1); its peak resident set stays at 23-25 MB either way. With
// Go's default a start of 11,000 objects took 0.55 s against 0.53 s with
// 300, one of 22,000 1.06 s against 1.00 s (VM, medians of 5).
// The long-running director goes back to Go's default (daemonGC).
//
// No soft memory limit is set (GOMEMLIMIT sets one): as the live heap
// nears such a limit the collector runs back to back. The 20 MiB limit
// lvs-rs used to set made a start of 22,000 objects take 1.39 s instead of
// 1.00 s (1.51 s instead of 1.26 s in a second run), and an idle daemon
// holding them collect 83 times in 30 s instead of 4, for 2.9 times the
// CPU; without it the 11,000-object start's peak resident set is about
// the same (24.5 and 23.6 MB against 25.5 and 25.4 MB; VM, medians of 5).
const oneShotGC = 400

func main() {
	endPhases := phases(os.Getenv("LVS_RS_PHASES"))
	setGC(oneShotGC)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	endProfile := cpuProfile(os.Getenv("LVS_RS_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	endProfile()
	stop()
	endPhases()
	os.Exit(code)
}

// setGC sets the collector's growth target to percent unless the GOGC
// environment variable sets one.
func setGC(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
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
