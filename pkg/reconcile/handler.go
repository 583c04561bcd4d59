package reconcile

import (
	"context"
	"fmt"
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
// directory and returns after a pass has applied it.
func (l *Loop) Drain(ctx context.Context, req control.DrainRequest) (control.DrainResult, error) {
	return l.setDrain(ctx, req, true)
}

// Enable undoes Drain and returns after a pass has applied it.
func (l *Loop) Enable(ctx context.Context, req control.DrainRequest) (control.DrainResult, error) {
	return l.setDrain(ctx, req, false)
}

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
	l.mu.Unlock()
	verb := "enabled"
	if drain {
		verb = "drained by hand"
	}
	for _, t := range res.Targets {
		if t.Changed {
			l.log.Info("real server "+verb, "service", t.Service.String(), "real_server", t.Address.String())
		}
	}
	l.Kick()
	return res, l.waitPass(ctx, want)
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

// waitPass waits until pass number n has completed.
func (l *Loop) waitPass(ctx context.Context, n uint64) error {
	for {
		l.mu.Lock()
		done, ch := l.passes >= n, l.passed
		l.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("reconcile: waiting for the pass that applies it: %w", ctx.Err())
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
