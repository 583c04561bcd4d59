// Package faultinject counts lvs-rs's kernel writes and, in test builds
// only, kills the process or fails a write at a chosen count, so tests can
// prove that a crash or an error at any write leaves a host that the next
// start converges and the next stop restores.
//
// Every executor wraps each kernel write (a sysctl write, an address bind,
// a route change, one IPVS request) in Write. The shipped binary is built
// without the faultinject build tag: Write then just calls the function
// and Enabled is false.
//
// With -tags faultinject these environment variables drive it:
//
//	LVS_RS_FAULT_TRACE=1     print "faultinject: write N: WHAT" to stderr before each write
//	LVS_RS_CRASH_AFTER=K     SIGKILL the process right after the K-th write returns
//	LVS_RS_CRASH_AFTER_FILE=PATH  as LVS_RS_CRASH_AFTER, with K read from PATH before each write
//	                         (no crash while PATH is absent): a test arms it while a long-running
//	                         process runs, after counting the writes it traced so far
//	LVS_RS_FAIL_AT=K         make the K-th write fail without doing it
//	LVS_RS_FAIL_ERRNO=NAME   the errno the failed write reports (EIO when unset), e.g. EINVAL
//
// Writes are numbered from 1 per process.
package faultinject
