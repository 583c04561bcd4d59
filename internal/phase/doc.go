// Package phase times the phases of one lvs-rs command by wall clock:
// reading the config, observing the kernel, planning, saving the state
// record, writing to the kernel, reporting. It is for the benchmarks and
// for an operator asking why a command is slow: with the environment
// variable LVS_RS_PHASES=FILE, lvs-rs writes one line per phase to FILE
// as it exits ("config 0.011234", seconds), in the order they ran.
//
// Off (the default) Mark costs one atomic load. A long-running command
// that marks in a loop keeps the first MaxMarks phases only.
package phase
