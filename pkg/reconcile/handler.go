package reconcile

import (
	"context"
	"fmt"
	"maps"
	"os"
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
		ConfiguredWeight: int(r.Configured), EffectiveWeight: int(r.Effective), State: controlState(r.State),
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
// real server waiting for its first check is unchecked, the sorry server
// in service is up.
func controlState(s RowState) control.State {
	switch s {
	case StateUp, StateSorry:
		return control.StateUp
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
// fails, it returns the pass's error: the drain stays kept, and later
// passes apply it.
func (l *Loop) Drain(ctx context.Context, req control.DrainRequest) (control.DrainResult, error) {
	return l.setDrain(ctx, req, true)
}

// Enable undoes Drain and returns after a pass has applied it, or that
// pass's error (the enable is kept, later passes apply it).
func (l *Loop) Enable(ctx context.Context, req control.DrainRequest) (control.DrainResult, error) {
	return l.setDrain(ctx, req, false)
}

// setDrain is Drain (drain true) and Enable. A target the drains already
// had as asked, but that no pass has applied yet (its pass failed), is
// reported changed: this call is the one that gets it applied.
func (l *Loop) setDrain(ctx context.Context, req control.DrainRequest, drain bool) (control.DrainResult, error) {
	l.mu.Lock()
	next, res, err := control.ApplyDrain(l.drains, l.drainable(), req, drain)
	if err == nil {
		err = control.SaveDrains(l.opts.StateDir, next)
	}
	if err != nil {
		l.mu.Unlock()
		return control.DrainResult{}, err
	}
	now := time.Now()
	kept := map[control.Drain]time.Time{}
	for _, d := range next {
		kept[d] = now
		if at, ok := l.drainedAt[d]; ok {
			kept[d] = at
		}
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
	if err := l.waitPass(ctx, want); err != nil {
		return res, fmt.Errorf("reconcile: %s kept in %s, not applied yet (later passes retry it): %w", what, control.DrainsFile, err)
	}
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
// it, or a later one, succeeded, else the last pass's error.
func (l *Loop) waitPass(ctx context.Context, n uint64) error {
	for {
		l.mu.Lock()
		ok, done, err, ch := l.okPass >= n, l.passes >= n, l.passErr, l.passed
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

// passStatus describes a pass for status.
func passStatus(err error, start, end time.Time) control.ReconcileStatus {
	st := control.ReconcileStatus{Last: end, Duration: end.Sub(start)}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}
