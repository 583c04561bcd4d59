package health

import (
	"context"
	"time"
)

// schedule dispatches due checks to the worker queues until ctx is done.
func (c *Checker) schedule(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := c.dispatchDue(time.Now())
		if wait < 0 {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.wake:
		case <-ctx.Done():
			return
		}
	}
}

// skipped is a slot skipped as an overlap, reported to the observer
// once the checker's lock is released.
type skipped struct {
	ck *check
	o  Observation
}

// dispatchDue queues every check due at now and returns the time until
// the next one is due (-1 when there is none). The slots it skips are
// reported after it releases mu: an observer may log.
func (c *Checker) dispatchDue(now time.Time) time.Duration {
	c.mu.Lock()
	wait, skips := c.dispatchLocked(now)
	c.mu.Unlock()
	for _, s := range skips {
		c.observe(s.ck, s.o)
	}
	return wait
}

// dispatchLocked is dispatchDue under mu; it returns the skipped slots.
func (c *Checker) dispatchLocked(now time.Time) (time.Duration, []skipped) {
	var skips []skipped
	c.regrid(now)
	for len(c.sched) > 0 {
		ck := c.sched[0]
		if ck.due.After(now) {
			return ck.due.Sub(now), skips
		}
		if ck.busy {
			c.counters.Overlap++
			o := Observation{Outcome: OutcomeOverlap, Due: ck.due, Lag: now.Sub(ck.due), Starved: c.starved(ck, now)}
			skips = append(skips, skipped{ck, o})
		} else {
			ck.busy = true
			ck.seq++
			j := job{ck: ck, seq: ck.seq, base: ck.base, due: ck.due, first: ck.m.state == Unknown}
			if ck.t.Spec.Type == Exec {
				c.execQ.push(j)
			} else {
				c.netQ.push(j)
			}
		}
		c.sched.plan(ck, nextBase(ck, ck.base, now))
	}
	return -1, skips
}

// starved reports, once per stretch, how long ck has gone without a
// result when that is longer than twice its interval plus its timeout
// (what no schedule explains: its runs keep being skipped), and 0
// otherwise or when it already did since the last result (caller holds
// mu; see Observation.Starved).
func (c *Checker) starved(ck *check, now time.Time) time.Duration {
	s := ck.t.Spec
	d := now.Sub(ck.heard)
	if ck.warned || ck.gone || d <= 2*s.Interval+s.Timeout {
		return 0
	}
	ck.warned = true
	return d
}

// regrid puts every stale check back on its grid from now when the wall
// clock reads earlier than the latest reading a slot was planned from
// (caller holds mu). Slots are wall-clock instants (time.Unix: no
// monotonic reading), so a clock stepped back (NTP, date -s) would leave
// them in the future by the size of the step and hold every check back
// that long; nextBase handles steps forward. It scans the checks only
// after a step back, and moves only those further away than a run
// planned now can be.
func (c *Checker) regrid(now time.Time) {
	if now.UnixNano() < c.planned {
		for _, ck := range c.checks {
			if stale(ck, now) {
				c.sched.plan(ck, gridAfter(now, ck.t.Spec.Interval, ck.phase))
			}
		}
	}
	c.planned = now.UnixNano()
}

// observe hands o, completed with ck's identity (immutable, rendered
// when the check was made: not an allocation per run), to the observer.
func (c *Checker) observe(ck *check, o Observation) {
	if c.opts.Observer == nil {
		return
	}
	o.Check = ck.info
	c.opts.Observer.Observe(o)
}

// work runs jobs from q until ctx is done.
func (c *Checker) work(ctx context.Context, q *queue) {
	for {
		j, ok := q.pop(ctx)
		if !ok {
			return
		}
		c.run(ctx, j)
		if q == c.execQ && c.shrinkExec() {
			return
		}
	}
}

// run runs one job. A job that could not start within its timeout after
// its due time is late: it does not run and changes nothing; except the
// first run of a check without a result, which runs however late: all of
// them fall due within the prompt window (startup, a reload), more than
// the workers may start in time at scale, and dropping one would leave
// its targets unchecked (and READY=1 waiting) until its next slot, up to
// an interval and a half later.
func (c *Checker) run(ctx context.Context, j job) {
	t := j.ck.t
	start := time.Now()
	if lag := start.Sub(j.due); lag > t.Spec.Timeout && !j.first {
		c.finish(j, Observation{Outcome: OutcomeLate, Due: j.due, Lag: lag}, Result{}, start)
		return
	}
	r := c.probe(ctx, t) // bounded by t.Spec.Timeout: see probe
	if ctx.Err() != nil {
		return // shutting down: the result says nothing about the server
	}
	o := Observation{Outcome: OutcomeDown, Due: j.due, Lag: start.Sub(j.due), Duration: time.Since(start), Reason: r.Reason}
	switch {
	case r.Local:
		o.Outcome, r = OutcomeLocal, Result{} // the director's failure: no result
	case r.Up:
		o.Outcome = OutcomeUp
	}
	c.finish(j, o, r, start)
}

// finish records the result of a job, replans the check's next slot when
// the result changed its mode (fast or normal interval) and no later slot
// was dispatched meanwhile, and then reports the run to the observer.
func (c *Checker) finish(j job, o Observation, r Result, start time.Time) {
	c.mu.Lock()
	o.Transition = c.record(j, o.Outcome, r, start, o.Duration)
	if o.Outcome == OutcomeLate || o.Outcome == OutcomeLocal {
		o.Starved = c.starved(j.ck, time.Now())
	}
	c.mu.Unlock()
	c.observe(j.ck, o)
}

// record applies one outcome to its check (caller holds mu) and reports
// whether the check's state changed.
func (c *Checker) record(j job, out Outcome, r Result, start time.Time, d time.Duration) bool {
	ck := j.ck
	ck.busy = false
	switch {
	case out == OutcomeLate:
		c.counters.Late++
		return false
	case out == OutcomeLocal:
		c.counters.Local++
		return false
	case ck.gone:
		return false
	case r.Up:
		c.counters.Up++
	default:
		c.counters.Down++
	}
	ck.heard, ck.warned = start.Add(d), false
	wasChanging := ck.m.changing()
	ch := ck.m.apply(r, ck.t.Spec.Rise, ck.t.Spec.Fall, start, d)
	if ch.state {
		c.counters.Transitions++
	}
	if ch.state || ch.weight {
		for _, id := range ck.subs {
			c.emit(id, ch.from, ck, start)
		}
	}
	if ck.m.changing() != wasChanging && j.seq == ck.seq && ck.idx >= 0 {
		// The slot after this run was planned in the old mode.
		now := time.Now()
		c.planned = max(c.planned, now.UnixNano())
		c.sched.plan(ck, nextBase(ck, j.base, now))
		c.poke(c.wake)
	}
	return ch.state
}

// deliver hands queued transitions to Notify, in order, until ctx is done.
func (c *Checker) deliver(ctx context.Context) {
	for {
		select {
		case <-c.notify:
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		batch := c.pending
		c.pending = nil
		c.mu.Unlock()
		if c.opts.Notify == nil {
			continue
		}
		for _, t := range batch {
			c.opts.Notify(t)
		}
	}
}
