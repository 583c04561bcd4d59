// Package crash holds the VM tests that kill lvs-rs (SIGKILL) after every
// kernel write, or fail every write with an injected errno, and prove that
// the next start converges and the next stop restores the host exactly.
package crash
