// Package reconcile owns the long-running director's loop (`lvs-rs run`):
// it turns the configuration's desired state, the health checks' results,
// the drains asked for by hand and the real servers leaving the
// configuration into one effective director.Desired, converges the kernel
// to it with the same single pass `lvs-rs start` uses, and repeats that on
// every trigger: a health transition, a reload (SIGHUP), a drain or enable
// over the control socket, a VIP removed by hand (address events), a timer
// (slow start steps, drain deadlines) and every reconcile_interval.
//
// # The loop
//
// New validates the starting configuration into a Setup (NewSetup: the
// base desired state, each service's Policy, one health.Target per
// checked real server, its ID being Member.String()), loads the drains
// and the real servers leaving the file kept in the state directory,
// adds as leaving from now the real servers of the desired state last
// applied (the state record's: director.Recorded) that the file no
// longer has, the file having been edited while no loop ran (saved with
// the others before the first pass), and gives the targets to a
// health.Checker.
// Run owns every goroutine: the checker, the address watcher (restarted a
// second after it fails), the metrics endpoint and the pass loop; it
// returns after its context is cancelled and all have stopped, leaving
// the kernel as it is.
//
// One pass, under the host lock: read the weights and connection counts
// of the real servers of the desired services (and of those leaving)
// from IPVS, snapshot the checks, Overlay, director.Converge, record the
// outcome for status and metrics: each real server's effective weight is
// the one the kernel holds after the pass (director.Result.Kernel, read
// back), not the one planned, so a change that failed shows as not made.
// A pass that fails on one object still makes every change that does not
// depend on it (see package director), so a health transition or a
// withdrawal never waits for an unrelated failure to be fixed. A service
// of the file that another tool created is left out of every pass
// (director.Options.SkipForeign), with a warning logged when it is first
// found and listed in status (control.ReconcileStatus.Warnings); the rest
// is converged. A pass whose effective desired state
// equals the previous successful pass's but still changed the kernel
// repaired drift made by hand: each such change is logged as
// "drift repaired" and counted. A pass logs its first 100 changes one by
// one and then the count of the rest. The next pass is due at the
// earlier of reconcile_interval after the last full pass and
// Outcome.Next, after a failed pass a retry (a second after the first
// failure in a row, twice as late after each next one, up to 30 s), or
// at once on a trigger.
//
// A pass triggered by health transitions alone converges only the
// services whose real servers changed (director.Options.Services): it
// lists those services' real servers, not every service's, and makes the
// one edit. It also overlays only those services (OverlayScoped), on the
// last pass's outcome, whose other services are what the kernel holds:
// it gathers the checks' statuses (health.Checker.StatusesOf), the drains
// and the kernel's weights of those services alone. When that outcome
// cannot be reused (another configuration since, a real server leaving
// the file, a slow-start ramp or drain deadline under way anywhere) it
// overlays every service, as other passes do. The record keeps the whole
// effective state either way. Every other trigger (the first pass, a
// reload, a drain or enable, an address event, a due time, a retry after
// a failed pass) converges every service.
//
// The loop keeps the state record between its passes
// (director.RecordCache): a pass reads the file again only when it is not
// the one the loop's last pass read or wrote, as after a start or stop
// run between two passes.
//
// Readiness (Options.Ready, sd_notify READY=1) comes after the first full
// pass (every service) that began with every check's first result in; a
// pass of touched services alone at that point asks for a full one, as
// the rows of the others may still be pending while their notifications
// wait behind a slow one. The checker runs every new check within 2 s of
// start-up whatever its interval, so that first round is short.
//
// Liveness (Heartbeat, for run's WATCHDOG=1): the loop is idle while it
// waits for a trigger, else it marks progress when it leaves the wait and
// at every step of a pass; a loop busy without progress for StallLimit is
// stuck, and run stops the watchdog's pings.
//
// Reload reads the file again: a file that does not load is rejected
// (status shows the error, FILE:LINE:COLUMN first; the running state
// stays); an accepted one replaces the setup, the checker keeps the state
// of unchanged checks, and real servers no longer in the file become
// Leaving from now, with their service's drain_timeout; the old VIP of a
// firewall-mark service the file gives another vip (same key, same real
// servers: nothing leaves) becomes a MovedVIP from now, with the same
// timeout. The real servers leaving and the moved VIPs are kept in the
// state directory (leaving.json) before the new file takes effect, and
// forgotten there once deleted or unbound, so a loop started again (an
// upgrade, a crash, kill -9) drains them on until idle or their deadline
// instead of deleting or unbinding them at its first pass.
//
// The Loop is the control socket's Handler: Status joins the last pass's
// rows with the checks' last results; Drain and Enable update the drains
// (control.ApplyDrain: a drain without a service covers every service,
// those a later reload adds too, as each pass matches the file's real
// servers against control.DrainSet), save them with the time of each
// drain, from which its drain_timeout counts also after a restart
// (control.SaveDrainsSince), and return after a pass that began after
// the change has succeeded, or has failed on something else with the
// change in the kernel all the same (the real servers' weights read back
// after it: 0 for a drain, the planned weight for an enable); otherwise
// they return its error, saying the change is kept and later passes
// apply it (a retry meanwhile reports the change as made, not as already
// there).
//
// # Overlay
//
// Overlay is the pure part, table-tested: what weight each real server
// gets, which ones are deleted, when the sorry server is in. The rules:
//
//   - no check configured: the configured weight;
//   - not checked yet: the weight the kernel has (so a restart changes no
//     weight), or 0 for a real server the kernel does not have yet;
//   - up: the configured weight, or the check's dynamic weight (exec exit
//     code, agent NN%), ramped from 1 over slow_start after a recovery
//     (from the check's status as each pass reads it, see recoveries, so
//     not only once the transition's notification has arrived);
//   - down: weight 0 (on_failure quiesce), or deleted (on_failure remove);
//   - drained by hand, or removed from the file: weight 0 until it has no
//     connections (ActiveConn+InActConn = 0) or drain_timeout has passed
//     (for one removed from the file, the one its service had then, so
//     also when the service was removed with it), then deleted; UDP real
//     servers leaving the file are deleted at once; a real server leaving
//     the file keeps its service's VIP (Leaving.VIP) bound until it is
//     deleted, so its established connections still reach IPVS, but that
//     VIP is announced only if a service of the file still serves it,
//     and a nat one keeps the director's forwarding settings the file
//     it left set (Leaving.Forwarding, director.Desired.KeepNAT: none
//     the file left alone) so that its replies are still forwarded;
//   - a firewall-mark service's old VIP (Inputs.Moved): bound while a
//     real server of the service has connections (the kernel does not
//     count them by VIP: those to the new VIP count too) until its
//     drain_timeout has passed, never announced nor marked (the nftables
//     rules are the file's, so no new flow is taken), then unbound;
//   - sorry_server: added while no real server of its service has a
//     weight above 0, removed as soon as one has; with announce, its VIP
//     stays announced while it is in service (once no real server of
//     the service waits for its first check).
//
// # Checks through the VIP
//
// A check with via: vip (dr and tun real servers) gets a probe: a
// firewall-mark IPVS service holding only its real server, one per real
// server, VIP and forwarding, shared by its services (Setup.Probes,
// added to every pass's effective desired state by AddProbes together
// with accept_local on the director when a probe's VIP is IPv4), whose
// mark the check's socket
// carries, bound to the director's own address (Options.Source, asked
// again for each configuration a reload sets up) and
// dialling VIP:port. The mark is ProbeMarkBase plus a hash of the real
// server's address, the VIP and the forwarding (the next free one on a
// collision), not of its service, so it and the check's state survive
// edits elsewhere in the file, and a service re-keyed for the same
// traffic (port: 80 made fwmark: 10 with mark: [tcp/80]).
package reconcile
