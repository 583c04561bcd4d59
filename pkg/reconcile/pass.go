package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Deadlines of one pass.
const (
	readTimeout = 10 * time.Second // reading weights and connection counts
	passTimeout = 60 * time.Second // one Converge
)

// pass computes the effective desired state and converges the kernel to
// it once: every service, or after health transitions alone only the
// services they touched (director.Options.Services: a dump of that
// service's real servers and the one edit). It returns when the next pass
// is due without a trigger (the earlier of reconcile_interval after the
// last full pass and Overlay's next time step) and the pass's error.
func (l *Loop) pass(ctx context.Context) (time.Time, error) {
	phase.Mark("wait") // since the last pass, or since start-up
	start := time.Now()
	l.mu.Lock()
	s := l.setup
	in := l.inputs(start)
	scope := l.takeScope()
	l.begun++
	l.mu.Unlock()
	out, res, err := l.converge(ctx, s, in, scope)
	end := time.Now()
	l.record(out, res, err, start, end)
	phase.Mark("pass-record")
	l.mu.Lock()
	if scope == nil {
		l.nextFull = start.Add(s.Interval)
	}
	if err != nil {
		l.full = true // a failed pass is retried whole
	}
	next := l.nextFull
	l.mu.Unlock()
	if !out.Next.IsZero() && out.Next.Before(next) {
		next = out.Next
	}
	if soon := end.Add(time.Second); err != nil && soon.Before(next) {
		next = soon // try again soon
	}
	return next, err
}

// takeScope returns the services the next pass converges, nil for every
// one, and clears the triggers it takes (caller holds mu).
func (l *Loop) takeScope() []ipvs.ServiceKey {
	defer func() { l.full, l.touched = false, nil }()
	if l.full || len(l.touched) == 0 {
		return nil
	}
	return slices.Collect(maps.Keys(l.touched)) // any order: Converge takes them as a set
}

// converge reads the kernel, overlays and converges (the services of
// scope; nil: every one) under the host lock.
func (l *Loop) converge(ctx context.Context, s Setup, in Inputs, scope []ipvs.ServiceKey) (Outcome, director.Result, error) {
	if l.opts.Lock != nil {
		unlock, err := l.opts.Lock()
		if err != nil {
			return Outcome{}, director.Result{}, err
		}
		defer unlock()
	}
	phase.Mark("lock")
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	kernel, err := readKernel(rctx, l.opts.IPVS, kernelNeeded(in))
	cancel()
	if err != nil {
		return Outcome{}, director.Result{}, err
	}
	in.Kernel = kernel
	phase.Mark("weights")
	out := Overlay(s.Base, in)
	s.AddProbes(&out.Desired)
	phase.Mark("overlay")
	cctx, cancel := context.WithTimeout(ctx, passTimeout)
	defer cancel()
	o := l.opts.Director
	o.Services = scope
	res, err := director.Converge(cctx, out.Desired, o)
	return out, res, err
}

// inputs gathers the overlay's inputs but the kernel's (caller holds mu).
func (l *Loop) inputs(now time.Time) Inputs {
	in := Inputs{
		Now: now, Policies: l.setup.Policies, Health: map[Member]Health{},
		Drained: map[Member]time.Time{}, Leaving: map[Member]Leaving{},
	}
	for m, lv := range l.leaving {
		in.Leaving[m] = lv
	}
	for _, st := range l.checker.Snapshot() {
		m, ok := l.setup.Members[st.ID]
		if !ok {
			continue
		}
		in.Health[m] = healthOf(st, l.recovered[st.ID])
	}
	for _, ds := range l.setup.Base.Services {
		sel := selectorOf(ds.Service.Key())
		for _, d := range ds.Destinations {
			for _, dr := range l.drains {
				if dr.Service == sel && dr.Address == d.Address {
					in.Drained[Member{ds.Service.Key(), d.Key()}] = l.drainedAt[dr]
				}
			}
		}
	}
	return in
}

// healthOf turns a check's status into the overlay's Health; recovered is
// when the real server came back from down (zero: it did not).
func healthOf(st health.Status, recovered time.Time) Health {
	h := Health{State: Pending}
	switch st.State {
	case health.Up:
		h.State = Up
	case health.Down:
		h.State = Down
		return h
	default:
		return h
	}
	if !recovered.IsZero() {
		h.Recovered, h.Since = true, recovered
	}
	switch st.Weight.Kind {
	case health.WeightAbsolute:
		h.Dynamic, h.Weight = true, uint32(max(st.Weight.Value, 0))
	case health.WeightPercent:
		if st.Weight.Value <= 0 {
			h.Dynamic, h.Weight = true, 0 // agent "drain", "0%"
		} else {
			h.Percent = st.Weight.Value
		}
	}
	return h
}

// readKernel reads the weight and connection count of every real server
// of the services in want, as the kernel has them now.
func readKernel(ctx context.Context, x director.IPVS, want map[ipvs.ServiceKey]bool) (map[Member]Observed, error) {
	out := map[Member]Observed{}
	if x == nil || len(want) == 0 {
		return out, nil
	}
	svcs, err := x.Services(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: read IPVS services: %w", err)
	}
	for _, s := range svcs {
		k := s.Service.Key()
		if !want[k] {
			continue
		}
		ds, err := x.Destinations(ctx, s.Service)
		if err != nil {
			return nil, fmt.Errorf("reconcile: read real servers of %v: %w", k, err)
		}
		for _, d := range ds {
			out[Member{k, d.Key()}] = Observed{Weight: d.Weight, Conns: d.ActiveConnections + d.InactiveConnections}
		}
	}
	return out, nil
}

// kernelNeeded lists the services whose real servers Overlay must see in
// the kernel: those with a real server not checked yet (it keeps the
// kernel's weight), drained by hand or leaving the file (deleted once
// idle). A steady pass needs none, so it costs only Converge's own read.
func kernelNeeded(in Inputs) map[ipvs.ServiceKey]bool {
	want := map[ipvs.ServiceKey]bool{}
	for m, h := range in.Health {
		if h.State == Pending {
			want[m.Service] = true
		}
	}
	for m := range in.Drained {
		want[m.Service] = true
	}
	for m := range in.Leaving {
		want[m.Service] = true
	}
	return want
}

// record keeps a pass's outcome for status, metrics and the next pass.
func (l *Loop) record(out Outcome, res director.Result, err error, start, end time.Time) {
	l.mu.Lock()
	repeated := err != nil && l.rec.Error == err.Error()
	// Changes made to the same effective state as the last pass's (the
	// one it recorded, which Converge compares as it renders the new one)
	// repair drift.
	repaired := err == nil && len(res.Changes) > 0 && l.rec.Error == "" && !l.rec.Last.IsZero() && res.SameDesired
	for _, g := range out.Gone {
		delete(l.leaving, g)
	}
	if err == nil || len(out.Rows) > 0 {
		l.last = out
	}
	l.rec = passStatus(err, start, end)
	if repaired {
		l.repairs += uint64(len(res.Changes))
	}
	l.passes++
	close(l.passed)
	l.passed = make(chan struct{})
	l.mu.Unlock()
	for _, w := range res.Warnings {
		l.log.Warn("converge", "warning", w)
	}
	logChanges(l.log, l.opts.Metrics, res.Changes, repaired)
	switch {
	case repeated:
		l.log.Debug("reconcile pass failed again", "error", err)
	case err != nil:
		l.log.Error("reconcile pass failed", "error", err)
	}
	if l.opts.Metrics != nil {
		l.opts.Metrics.Reconciled(end.Sub(start), err)
		l.publishMetrics()
	}
}

// driftObject names what a repairing change put back, for the metrics.
func driftObject(c director.Change) string {
	switch c.Kind {
	case director.Bind, director.Unbind:
		return "vip"
	case director.AddService, director.EditService, director.DeleteService:
		return "service"
	case director.EditDestination:
		from, to := c.FromDestination(), c.Destination
		from.Weight = to.Weight
		if from == to {
			return "weight"
		}
	case director.SetSysctl, director.RestoreSysctl:
		return "sysctl"
	}
	return "real_server"
}
