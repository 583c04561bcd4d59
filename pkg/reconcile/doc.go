// Package reconcile owns the long-running director's loop (`lvs-rs run`):
// it turns the configuration's desired state, the health checks' results,
// the drains asked for by hand and the real servers leaving the
// configuration into one effective director.Desired, converges the kernel
// to it with the same single pass `lvs-rs start` uses, and repeats that on
// every trigger: a health transition, a reload (SIGHUP), a drain or enable
// over the control socket, a VIP removed by hand (address events), a timer
// (slow start steps, drain deadlines) and every reconcile_interval.
//
// Overlay is the pure part, table-tested: what weight each real server
// gets, which ones are deleted, when the sorry server is in. The rules:
//
//   - no check configured: the configured weight;
//   - not checked yet: the weight the kernel has (so a restart changes no
//     weight), or 0 for a real server the kernel does not have yet;
//   - up: the configured weight, or the check's dynamic weight (exec exit
//     code, agent NN%), ramped from 1 over slow_start after a recovery;
//   - down: weight 0 (on_failure quiesce), or deleted (on_failure remove);
//   - drained by hand, or removed from the file: weight 0 until it has no
//     connections (ActiveConn+InActConn = 0) or drain_timeout has passed,
//     then deleted; UDP real servers leaving the file are deleted at once;
//   - sorry_server: added while no real server of its service has a
//     weight above 0, removed as soon as one has.
package reconcile
