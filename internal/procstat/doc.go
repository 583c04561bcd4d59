// Package procstat reads a running process's /proc/PID/stat (its parent,
// its user and system CPU time over all its threads, its start time,
// virtual and resident size) and its resident set from /proc/PID/status:
// for the daemon's process_* metrics (pkg/metrics) and for the benchmarks.
package procstat
