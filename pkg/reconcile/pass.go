package reconcile

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Deadlines of one pass.
const (
	readTimeout = 10 * time.Second // reading weights and connection counts
	passTimeout = 60 * time.Second // one Converge
)

// The retries after failed passes: the first a second after the failure,
// each next one twice as late, up to retryMax (and never later than
// reconcile_interval after the last full pass), until a pass succeeds. A
// failure that persists (a service the kernel refuses for good) then
// costs a full pass every 30 s rather than every second; every trigger (a
// health transition, a reload, a drain or enable, an address event)
// still runs a pass at once.
const (
	retryMin = time.Second
	retryMax = 30 * time.Second
)

// nextRetry is the delay of the retry after a failed pass, the one before
// having been last (0: the pass before succeeded).
func nextRetry(last time.Duration) time.Duration {
	if last <= 0 {
		return retryMin
	}
	return min(2*last, retryMax)
}

// pass computes the effective desired state and converges the kernel to
// it once: every service, or after health transitions alone only the
// services they touched (director.Options.Services: a dump of that
// service's real servers and the one edit). It returns when the next pass
// is due without a trigger (the earlier of reconcile_interval after the
// last full pass and Overlay's next time step, or after a failure the
// retry's time: see retryMin), whether it converged
// every service, and the pass's error.
func (l *Loop) pass(ctx context.Context) (time.Time, bool, error) {
	phase.Mark("wait") // since the last pass, or since start-up
	start := time.Now()
	l.mu.Lock()
	s := l.setup
	scope := l.takeScope()
	on := l.onto(scope)
	in := l.inputs(start, on.only)
	l.begun++
	l.mu.Unlock()
	out, res, err := l.converge(ctx, s, in, scope, on)
	l.progressed()
	end := time.Now()
	l.foreignFrom(res, err, scope)
	l.record(out, res, err, start, end)
	l.progressed()
	phase.Mark("pass-record")
	l.mu.Lock()
	if scope == nil {
		l.nextFull = start.Add(s.Interval)
	}
	if err != nil {
		l.full = true // a failed pass is retried whole
		l.retry = nextRetry(l.retry)
	} else {
		l.retry = 0
	}
	next, retry := l.nextFull, l.retry
	l.mu.Unlock()
	if !out.Next.IsZero() && out.Next.Before(next) {
		next = out.Next
	}
	if soon := end.Add(retry); err != nil && soon.Before(next) {
		next = soon // try again soon, later after each failure in a row
	}
	return next, scope == nil, err
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

// onto is what a pass overlays its services on.
type onto struct {
	// only are the services a scoped pass overlays on prev, the last
	// pass's outcome (see OverlayScoped); nil: a pass overlaying every
	// service afresh.
	only map[ipvs.ServiceKey]bool
	prev Outcome
}

// onto decides how the pass of scope overlays (caller holds mu): a
// scoped pass overlays its services alone on the last outcome when that
// can be reused (see Outcome.Reusable), and then gathers the inputs and
// reads the kernel's real servers of those services only.
func (l *Loop) onto(scope []ipvs.ServiceKey) onto {
	if scope == nil || !l.last.Reusable(l.setup.Base, Inputs{Leaving: l.leaving, Moved: l.moved}) {
		return onto{}
	}
	return onto{only: setOf(scope), prev: l.last}
}

// converge reads the kernel, overlays (on on.prev, or afresh) and
// converges (the services of scope; nil: every one) under the host lock.
func (l *Loop) converge(ctx context.Context, s Setup, in Inputs, scope []ipvs.ServiceKey, on onto) (Outcome, director.Result, error) {
	if l.opts.Lock != nil {
		unlock, err := l.opts.Lock(ctx)
		if err != nil {
			return Outcome{}, director.Result{}, err
		}
		defer unlock()
	}
	l.progressed() // the host lock taken (a wait of up to 30 s in run)
	phase.Mark("lock")
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	kernel, err := readKernel(rctx, l.opts.IPVS, kernelNeeded(in, on.only))
	cancel()
	if err != nil {
		return Outcome{}, director.Result{}, err
	}
	l.progressed()
	in.Kernel = kernel
	phase.Mark("weights")
	out, ok := OverlayScoped(on.prev, s.Base, in, on.only)
	if !ok || on.only == nil {
		out = Overlay(s.Base, in)
	}
	s.AddProbes(&out.Desired)
	l.progressed()
	phase.Mark("overlay")
	cctx, cancel := context.WithTimeout(ctx, passTimeout)
	defer cancel()
	o := l.opts.Director
	o.Services = scope
	// Another tool's service named by the file is left out with a
	// warning (see record), never a reason to stop converging the rest.
	o.SkipForeign = true
	res, err := director.Converge(cctx, out.Desired, o)
	var read map[ipvs.ServiceKey]bool // the services Converge read; nil: every one
	if scope != nil {
		read = setOf(scope)
	}
	out.readBack(res.Kernel, read, ok && on.only != nil, l.lastRows())
	return out, res, err
}

// lastRows returns the rows of the last pass (caller does not hold mu).
func (l *Loop) lastRows() []Row {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last.Rows
}

// inputs gathers the overlay's inputs but the kernel's (caller holds
// mu): of every real server, or with only set, of the real servers of
// only's services alone (a pass overlaying them on the last outcome).
func (l *Loop) inputs(now time.Time, only map[ipvs.ServiceKey]bool) Inputs {
	statuses := l.statuses(only)
	in := Inputs{
		Now: now, Policies: l.setup.Policies, Health: make(map[Member]Health, len(statuses)),
		Drained: map[Member]time.Time{}, Leaving: maps.Clone(l.leaving), Moved: maps.Clone(l.moved),
	}
	if in.Leaving == nil {
		in.Leaving = map[Member]Leaving{}
	}
	for _, st := range statuses {
		if m, ok := l.setup.Members[st.ID]; ok {
			in.Health[m] = healthOf(st, l.recovered.observe(st))
		}
	}
	if len(l.drains) == 0 {
		return in
	}
	// A drain of every service covers every service of the file, those
	// added or re-keyed since too.
	set := control.NewDrainSet(l.drains)
	for _, ds := range l.setup.Base.Services {
		k := ds.Service.Key()
		if only != nil && !only[k] {
			continue
		}
		sel := selectorOf(k)
		for _, d := range ds.Destinations {
			if dr, drained := set.Drains(sel, d.Address); drained {
				at, own := l.drainedAt[control.Drain{Service: sel, Address: d.Address}]
				if !own {
					at = l.drainedAt[dr]
				}
				in.Drained[Member{k, d.Key()}] = at
			}
		}
	}
	return in
}

// statuses are the health checks' statuses of the real servers of only's
// services, nil for every one (caller holds mu).
func (l *Loop) statuses(only map[ipvs.ServiceKey]bool) []health.Status {
	if only == nil {
		return l.checker.Statuses()
	}
	var ids []string
	for k := range only {
		ids = append(ids, l.setup.Checked[k]...)
	}
	return l.checker.StatusesOf(ids)
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

// record keeps a pass's outcome for status, metrics and the next pass.
func (l *Loop) record(out Outcome, res director.Result, err error, start, end time.Time) {
	l.mu.Lock()
	repeated := err != nil && l.rec.Error == err.Error()
	// Changes made to the same effective state as the last pass's (the
	// one it recorded, which Converge compares as it renders the new one)
	// repair drift.
	repaired := err == nil && len(res.Changes) > 0 && l.rec.Error == "" && !l.rec.Last.IsZero() && res.SameDesired
	forgot := false
	for _, g := range out.Gone {
		if _, ok := l.leaving[g]; ok {
			delete(l.leaving, g)
			forgot = true
		}
	}
	for _, g := range out.GoneVIPs {
		if _, ok := l.moved[g]; ok {
			delete(l.moved, g)
			forgot = true
		}
	}
	var ( // what leaving.json is to keep, when that changed
		keep      map[Member]Leaving
		keepMoved map[MovedKey]MovedVIP
	)
	if forgot {
		keep, keepMoved = maps.Clone(l.leaving), maps.Clone(l.moved)
	}
	if err == nil || len(out.Rows) > 0 {
		l.last, l.lastOf = out, l.passes+1
	}
	l.rec = passStatus(err, start, end)
	if len(l.foreign) > 0 {
		l.rec.Warnings = l.foreignWarnings()
	}
	if repaired {
		l.repairs += uint64(len(res.Changes))
	}
	l.passes++
	if err == nil {
		l.okPass = l.passes
	}
	l.passErr = err
	close(l.passed)
	l.passed = make(chan struct{})
	l.mu.Unlock()
	// After the pass let them go: a stale entry (a daemon killed before
	// this) only costs the next daemon a look at a real server that is
	// gone or back in the file.
	if forgot {
		if err := saveLeaving(l.opts.StateDir, keep, keepMoved); err != nil {
			l.log.Warn("real servers leaving the file not saved", "error", err)
		}
	}
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

// foreignFrom keeps the services of the file a pass left out because
// another tool created them (director.Result.Foreign): after a full pass
// those it found, after a pass of scope those of scope it found with the
// others kept; a pass that could not read the kernel changes nothing. A
// service newly left out is logged once, as a warning, not at every pass.
func (l *Loop) foreignFrom(res director.Result, err error, scope []ipvs.ServiceKey) {
	if err != nil && res.Kernel == nil {
		return // not read: what was left out is unknown
	}
	l.mu.Lock()
	prev := l.foreign
	next := map[ipvs.ServiceKey]bool{}
	if scope != nil {
		in := setOf(scope)
		for k := range prev {
			if !in[k] {
				next[k] = true
			}
		}
	}
	var added []ipvs.ServiceKey
	for _, k := range res.Foreign {
		next[k] = true
		if !prev[k] {
			added = append(added, k)
		}
	}
	l.foreign = next
	l.mu.Unlock()
	for _, k := range added {
		l.log.Warn("service left alone: it exists and was not created by lvs-rs (delete it by hand, or drop it from the config)",
			"service", k.String())
	}
}

// foreignWarnings renders the services left out for status, in key
// order (caller holds mu).
func (l *Loop) foreignWarnings() []string {
	keys := slices.SortedFunc(maps.Keys(l.foreign), func(a, b ipvs.ServiceKey) int { return strings.Compare(a.String(), b.String()) })
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.String()+": "+foreignNote)
	}
	return out
}

// foreignNote says why a service of the file is left alone.
const foreignNote = "exists and was not created by lvs-rs: left alone (delete it by hand, or drop it from the config)"

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

// setOf is keys as a set.
func setOf(keys []ipvs.ServiceKey) map[ipvs.ServiceKey]bool {
	m := make(map[ipvs.ServiceKey]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
