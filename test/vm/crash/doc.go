// Package crash holds the VM tests that kill lvs-rs (SIGKILL) after every
// kernel write, or fail every write with an injected errno, and prove that
// the next start converges and the next stop restores the host exactly;
// for the long-running director (lvs-rs run), that after a kill at any
// write of its first passes or of a reload, stop restores the host and
// run started again converges to what an uninterrupted run holds.
package crash
