// Package procstat reads what the benchmarks measure of a running process
// from /proc: its parent, its user and system CPU time (all its threads),
// and its resident set.
package procstat
