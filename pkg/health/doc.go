// Package health is the long-running director's health-check engine: it
// decides, for every real server it is given, whether the server is up or
// down, and tells its caller when that changes. It owns the checks (tcp,
// http, https, dns, exec, agent), their schedule, their worker pools and
// the rise/fall state of every check. It knows nothing of IPVS or of the
// configuration file: the caller turns its configuration into Targets and
// turns Transitions into weights.
//
// # Use
//
//	c := health.New(health.Options{
//		Notify:   func(t health.Transition) { ... }, // state or dynamic weight changed
//		Observer: metrics,                          // optional: every run, for histograms
//	})
//	err := c.Set(targets) // validate and apply; again on every reload
//	go c.Run(ctx)         // returns after ctx is cancelled and all goroutines stopped
//	c.Snapshot()          // []Status for status output, sorted by target ID
//	c.Statuses()          // the same, unsorted (cheaper, for lookups by ID)
//	c.StatusesOf(ids)     // the statuses of those targets alone
//	c.Counters()          // totals: up, down, late, overlap, transitions, unchecked
//
// A Target is one real server as one subscriber (a virtual server) sees
// it: an ID chosen by the caller, the real server's address and port, the
// Spec, and for checks through the forwarding path the VIP, the firewall
// mark and the director's source address. Targets whose address, check
// port, Spec and path are equal share one check (deduplicated): it runs
// once per slot and every subscriber gets the same status and its own
// Transition.
//
// # States
//
// A check is Unknown until its first result. The first result decides at
// once: a server that fails its first check is Down, one that passes is
// Up, so a restart changes nothing for a healthy server. After that, Rise
// passes in a row are needed to go from Down to Up and Fall failures in a
// row from Up to Down. exec and agent checks may also return a dynamic
// Weight (absolute, or a percentage of the configured weight; Weight.Apply
// computes it); a change of weight alone is a Transition with From == To.
// Status.From is the state before the current one (Unknown for a first
// result), so a reader of the statuses that missed changes still tells a
// server back from down (Up from Down, since Since: the caller's slow
// start) from a first result (Up from Unknown). Counters.Unchecked
// reaching 0 means every check has a first result (the caller's "first
// round of checks" for readiness).
//
// # Reloads
//
// Set is called again on every reload. A check is identified by all of
// its target (deduplication needs one schedule and one rise/fall per
// check), but its state belongs to what it probes: the type, address,
// check port, path, host, expected status and body, query, command and
// forwarding path (via, VIP, mark): everything but Interval, Timeout,
// Rise, Fall and the director's own Source. A reload that edits only
// those (Source: the director renumbered) carries
// the state (Up or Down, the state before it, last result, count in a
// row, since, dynamic weight) over to the edited check, which goes on its
// new schedule (no prompt first run: it has a state); the
// new Rise and Fall apply from the next result. Without that the edited
// check would start Unknown and its first result would decide at once:
// one failed run would take an Up server down whatever Fall says, and a
// Down one would come back on one pass, from Unknown rather than Down
// (so without the caller's slow start). A reload that changes what is
// probed starts that check Unknown: the old results answered another
// question. A target hears a Transition at a reload only when its state
// changes: when it joins a check that has one (from Unknown, or from its
// own state when its old check probed the same thing and disagreed).
//
// # Schedule
//
// Checks run at a fixed rate on a grid fixed in absolute time: the slots
// of a check are the instants whose Unix time is its phase modulo its
// interval, the phase being a hash of what the check probes. Slots
// therefore never drift however long runs take, different checks are
// spread over the interval, and a check keeps its phase across restarts
// and reloads that change neither its probe nor its interval. Each run is due at its slot plus a random jitter,
// drawn anew every cycle, below a sixteenth of the interval in use and
// below 20 ms (the phases already spread the checks); the
// jitter never moves the slots themselves. A check without a state
// (new at startup, or its probe changed at a reload) first runs promptly,
// off its grid: within min(interval, 2s) of Set, at a delay that is a
// hash of the check (so a round of thousands is spread over that window),
// and then at the first slot of its grid at least half an interval
// later. A first round thus takes at most 2 s whatever the intervals (up
// to 1h), instead of up to an interval, which held the caller's
// readiness. A check that keeps its state across a reload keeps its
// schedule: its next slot, or the fast interval when a reload gave it a
// change in progress.
// The grid is in wall-clock time, so the wall clock stepping forward skips
// the slots in between, and stepping back (NTP, date -s) puts every check
// back on its grid from the new time: no check waits more than an
// interval (plus jitter) for its next run whatever the clock does.
//
// While a check's state is changing (between a first failure and Fall,
// or a first pass and Rise) it runs at the fast interval: a quarter of the
// interval, at least 100ms and at most the interval, counted from the
// previous slot. When the change completes or is abandoned it returns to
// its grid. The switch counts from the slot of the run that caused it, so
// a switch to the fast interval after a run that took longer than that
// makes the next run due at once.
//
// A check never overlaps itself: a slot that arrives while the previous
// run is still queued or running is skipped (OutcomeOverlap). Network
// checks share a pool of Options.Workers goroutines, exec checks a
// separate pool sized from the exec checks at every Set (unless
// Options.ExecWorkers fixes it): as many as may run at once when every
// exec check is changing state or starting and every run takes its whole
// timeout, a quarter more, at least MinExecWorkers, at most one per exec
// check and MaxExecWorkers; a pool that shrinks stops its extra workers
// after their jobs. A run that could not start within
// its timeout after it was due is late (OutcomeLate): it does not run and
// counts as neither pass nor failure, unless the check has no result yet
// (its first run after startup, or after a reload changed its probe): that
// one runs however late, since the prompt first runs of thousands of
// checks fall due together. Observation.Lag measures the delay from due
// time to start for every run. A check whose runs are skipped until it
// has gone without a result for longer than twice its interval plus its
// timeout has that said once (Observation.Starved) until its next
// result: its schedule is no longer kept, and a caller logs it.
//
// # Checks
//
// Timeout is one deadline over the whole run: connect, TLS handshake,
// request and reading the answer (for http, the body up to 1 MiB), so a
// server that trickles its answer past the timeout fails.
//
//   - tcp: the connection is accepted; it is then reset (SO_LINGER 0).
//   - http, https: GET Path with Host as Host header (and SNI); the status
//     must be in ExpectStatus ("200-399", "200,301-302") and the body must
//     contain ExpectBody when set. Certificates are not verified: the
//     check asks whether this server answers, not whether its certificate
//     is trusted (real servers often carry an internal or self-signed
//     certificate, and an expired one must not empty a whole pool).
//   - dns: an A (or AAAA) question for Query over UDP; the answer must be
//     NOERROR with at least one record of that type.
//   - exec: Command with {address} and {port} replaced, in its own process
//     group; exit 0 passes, 2..255 passes with weight code-2, 1 fails; at
//     the deadline the whole group is killed.
//   - agent: HAProxy's agent-check; one line of words such as "up",
//     "down#reason", "drain", "maint", "75%", "weight:5", separated by
//     spaces or commas. "weight:N" is 0..65535, the range of a configured
//     weight; an answer with a number outside it fails (unless it says
//     down, which fails anyway) rather than being clamped.
//
// With Via "vip" (not for exec) a check dials VIP:port with its source
// bound to Target.Source and SO_MARK set to Target.Mark; the director
// holds a firewall-mark IPVS service with only that real server for the
// mark, so the check takes the same forwarding path as a client and fails
// when the real server lost the VIP. Making that service, and
// accept_local on the director's interface, is the caller's job, as is
// following the director's address (Set with the new Source).
//
// A run that fails on the director itself, before it could ask the real
// server anything, is no result (OutcomeLocal): it leaves the check's
// state as it was and counts in Counters.Local. That is a source address
// the director no longer has (bind: EADDRNOTAVAIL, a via: vip check
// after the director was renumbered and before the caller's next Set),
// or no file descriptor, socket buffer, memory or process to be had
// (EMFILE, ENFILE, ENOBUFS, ENOMEM, EAGAIN): failing the check would take
// healthy real servers out of service for the director's trouble.
//
// # Goroutines
//
// Run owns every goroutine of the package (one scheduler, the two worker
// pools, one notifier) and returns only when all have stopped; a run in
// progress is cancelled with ctx and its result discarded, an exec check's
// process group killed. Notify is called from one goroutine, in order; an
// Observer is called from the workers concurrently and must not block.
package health
