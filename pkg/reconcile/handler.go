package reconcile

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// Loop answers the control socket.
var _ control.Handler = (*Loop)(nil)

// Status reports the daemon and every real server: the last pass's
// weights and states joined with the checks' last results.
func (l *Loop) Status(ctx context.Context) (control.Status, error) {
	snap := map[string]health.Status{}
	for _, st := range l.checker.Snapshot() {
		snap[st.ID] = st
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := control.Status{
		PID: os.Getpid(), Started: l.started, Config: l.cfgStatus, Reconcile: l.rec,
		DriftRepairs: l.repairs, RealServers: []control.RealServer{},
	}
	if l.metrics != nil {
		m := *l.metrics
		st.Metrics = &m
	}
	for _, r := range l.last.Rows {
		st.RealServers = append(st.RealServers, realServerOf(r, snap))
	}
	return st, nil
}

// realServerOf renders one row of the last pass for status.
func realServerOf(r Row, snap map[string]health.Status) control.RealServer {
	rs := control.RealServer{
		Service: selectorOf(r.Service), Address: r.Destination.Address, Port: r.Destination.Port,
		ConfiguredWeight: int(r.Configured), EffectiveWeight: int(r.KernelWeight), State: controlState(r.State),
	}
	if c, ok := snap[r.Member.String()]; ok && c.State != health.Unknown {
		rs.LastResult, rs.Reason = control.ResultFail, c.Last.Reason
		if c.Last.Up {
			rs.LastResult = control.ResultPass
		}
		rs.Consecutive, rs.Since, rs.CheckDuration = c.Consecutive, c.Since, c.Duration
	}
	switch r.State {
	case StatePending:
		rs.Reason = "first check not done yet"
	case StateSorry:
		rs.Reason = "sorry server: no real server is up"
	}
	return rs
}

// controlState maps a row's state onto the states status documents: a
// real server waiting for its first check is unchecked; the sorry server
// in service is sorry, never up (lvsrs_real_server_up 0: an alert on no
// real server up fires while it serves).
func controlState(s RowState) control.State {
	switch s {
	case StateUp:
		return control.StateUp
	case StateSorry:
		return control.StateSorry
	case StateDown:
		return control.StateDown
	case StateDraining:
		return control.StateDraining
	case StateDrained:
		return control.StateDrained
	}
	return control.StateUnchecked
}

// Drain drains the real servers req matches, keeps the drain in the state
// directory and returns after a pass has applied it. When that pass
// fails, it returns the pass's error unless every real server it drains
// has weight 0 in the kernel after that pass (a failure elsewhere, which
// the pass went past): the drain stays kept, and later passes apply it.
func (l *Loop) Drain(ctx context.Context, req control.DrainRequest) (control.DrainResult, error) {
	return l.setDrain(ctx, req, true)
}

// Enable undoes Drain and returns after a pass has applied it, or that
// pass's error unless every real server it enables has in the kernel the
// weight that pass planned for it (the enable is kept, later passes
// apply it).
func (l *Loop) Enable(ctx context.Context, req control.DrainRequest) (control.DrainResult, error) {
	return l.setDrain(ctx, req, false)
}

// drainTimes returns when each drain of next was made and, for a real
// server of one service drained at another time than the drain covering
// it, that server's own time (keyed by the drain of that service alone):
// a drain made now for a target it changed, the time it had for one
// already drained (a drain of every service does not restart the
// timeout of a server drained with --service before; draining a server
// again after an exception ended starts its timeout now, not at the
// drain of every service it was an exception to). prev and at are the
// drains and times before, targets what the request applied to.
func drainTimes(prev []control.Drain, at map[control.Drain]time.Time, next []control.Drain, targets []control.DrainTarget, drain bool, now time.Time) map[control.Drain]time.Time {
	kept := map[control.Drain]time.Time{}
	for _, d := range next {
		kept[d] = now
		if t, ok := at[d]; ok {
			kept[d] = t
		}
	}
	was, is := control.NewDrainSet(prev), control.NewDrainSet(next)
	own := func(d control.Drain) (time.Time, bool) { // a server's time before
		if t, ok := at[d]; ok {
			return t, true
		}
		if cover, drained := was.Drains(d.Service, d.Address); drained {
			t, ok := at[cover]
			return t, ok
		}
		return time.Time{}, false
	}
	// Servers' own times that still hold: still drained, by another
	// drain than their own.
	for d, t := range at {
		if _, listed := kept[d]; listed || d.Service.IsZero() || d.Enabled {
			continue
		}
		if _, drained := is.Drains(d.Service, d.Address); drained {
			kept[d] = t
		}
	}
	if !drain {
		return kept
	}
	for _, tg := range targets {
		d := control.Drain{Service: tg.Service, Address: tg.Address}
		if _, listed := kept[d]; listed && slices.Contains(next, d) {
			continue // its own drain's time
		}
		t, ok := own(d)
		if tg.Changed || !ok {
			t = now
		}
		kept[d] = t
	}
	return kept
}

// setDrain is Drain (drain true) and Enable. A target the drains already
// had as asked, but that no pass has applied yet (its pass failed), is
// reported changed: this call is the one that gets it applied.
func (l *Loop) setDrain(ctx context.Context, req control.DrainRequest, drain bool) (control.DrainResult, error) {
	l.mu.Lock()
	next, res, err := control.ApplyDrain(l.drains, l.drainable(), req, drain)
	// Each drain keeps the time it was made, in drains.json too: its
	// drain_timeout counts from then, across restarts.
	kept := drainTimes(l.drains, l.drainedAt, next, res.Targets, drain, time.Now())
	if err == nil {
		err = control.SaveDrainsSince(l.opts.StateDir, next, kept)
	}
	if err != nil {
		l.mu.Unlock()
		return control.DrainResult{}, err
	}
	l.drains, l.drainedAt = next, kept
	// The pass that applies it (the next to begin) converges every
	// service, even one a health transition triggers before Kick below.
	l.full = true
	want := l.begun + 1
	maps.DeleteFunc(l.pending, func(_ control.Drain, first uint64) bool { return first <= l.okPass })
	for i, t := range res.Targets {
		d := control.Drain{Service: t.Service, Address: t.Address}
		if _, pending := l.pending[d]; pending {
			res.Targets[i].Changed = true
		}
		if res.Targets[i].Changed {
			l.pending[d] = want
		}
	}
	l.mu.Unlock()
	verb, what := "enabled", "enable"
	if drain {
		verb, what = "drained by hand", "drain"
	}
	for _, t := range res.Targets {
		if t.Changed {
			l.log.Info("real server "+verb, "service", t.Service.String(), "real_server", t.Address.String())
		}
	}
	l.Kick()
	reached := func() bool { return l.reached(res.Targets, drain) }
	if err := l.waitPass(ctx, want, reached); err != nil {
		return res, fmt.Errorf("reconcile: %s kept in %s, not applied yet (later passes retry it): %w", what, control.DrainsFile, err)
	}
	// Applied (by a pass that may have failed elsewhere): a repeat of it
	// changes nothing.
	l.mu.Lock()
	for _, t := range res.Targets {
		d := control.Drain{Service: t.Service, Address: t.Address}
		if l.pending[d] == want {
			delete(l.pending, d)
		}
	}
	l.mu.Unlock()
	return res, nil
}

// drainable lists every (service, address) of the configuration (caller
// holds mu).
func (l *Loop) drainable() []control.Drain {
	var out []control.Drain
	for _, ds := range l.setup.Base.Services {
		sel := selectorOf(ds.Service.Key())
		for _, d := range ds.Destinations {
			out = append(out, control.Drain{Service: sel, Address: d.Address})
		}
	}
	return out
}

// waitPass waits until pass number n has completed and returns nil when
// it, or a later one, succeeded, or when it failed but reached, asked
// (under mu) of the outcome of that pass or a later one, says that what
// the caller waits for is in the kernel all the same (a pass goes past
// failures that do not concern it); else the last pass's error.
func (l *Loop) waitPass(ctx context.Context, n uint64, reached func() bool) error {
	for {
		l.mu.Lock()
		ok, done, err, ch := l.okPass >= n, l.passes >= n, l.passErr, l.passed
		if !ok && done && reached != nil && l.lastOf >= n {
			ok = reached()
		}
		l.mu.Unlock()
		switch {
		case ok:
			return nil
		case done:
			return fmt.Errorf("the pass failed: %w", err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the pass: %w", ctx.Err())
		}
	}
}

// reached reports whether the last pass's outcome has the drain (drain
// true) or enable of targets in the kernel: each target's real servers
// drained and at weight 0 as read back, or not drained and at the weight
// the pass planned. An enabled target without a row (a drain of a
// service no longer in the file, cleared) asks nothing of the kernel
// (caller holds mu).
func (l *Loop) reached(targets []control.DrainTarget, drain bool) bool {
	for _, t := range targets {
		found := false
		for _, r := range l.last.Rows {
			if r.Destination.Address != t.Address || selectorOf(r.Service) != t.Service {
				continue
			}
			found = true
			drained := r.State == StateDrained
			if drained != drain || drain && r.KernelWeight != 0 || !drain && r.KernelWeight != r.Effective {
				return false
			}
		}
		if !found && drain {
			return false
		}
	}
	return true
}

// passStatus describes a pass for status.
func passStatus(err error, start, end time.Time) control.ReconcileStatus {
	st := control.ReconcileStatus{Last: end, Duration: end.Sub(start)}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}
