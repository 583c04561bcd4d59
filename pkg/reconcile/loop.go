package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// Options configure a Loop.
type Options struct {
	// Config is the accepted configuration to start with; File is where
	// Reload reads the next one.
	Config *config.Config
	File   string
	// StateDir keeps the state record, the drains (drains.json) and the
	// real servers leaving the file (leaving.json).
	StateDir string
	// Director is passed to director.Converge on every pass; give it a
	// long-lived netlink handle and IPVS client. Without Records, the
	// loop keeps the state record between its passes in a cache of its
	// own (director.RecordCache).
	Director director.Options
	// IPVS reads the weights and connection counts of the real servers
	// (the same client as Director.IPVS).
	IPVS director.IPVS
	// Lock takes the host lock for one pass, giving up when ctx (the
	// loop's) ends; nil takes none.
	Lock func(ctx context.Context) (unlock func(), err error)
	// Watch reports address changes by calling changed (removed: an
	// address was removed, or events were lost) until ctx is done
	// (WatchAddresses); nil watches nothing. A removal asks for a pass
	// of every service; any change looks up again the source address of
	// the checks through the VIP (see Source).
	Watch func(ctx context.Context, changed func(removed bool)) error
	// Metrics, when set, receives every event.
	Metrics *metrics.Registry
	// Logger receives one structured line per transition, reload, drift
	// repair and failed pass; nil logs to stderr.
	Logger *slog.Logger
	// Ready is called once, after the first pass that followed the first
	// round of checks; Progress after every pass. Both get a one-line
	// summary (for sd_notify STATUS=).
	Ready, Progress func(summary string)
	// Source returns the director's own address of the VIP's family (IPv6
	// when v6), the source of the checks through the VIP (via: vip), as
	// cfg has it (its director.interface, its VIPs); nil refuses such
	// checks. It is called from the loop's goroutine with the
	// configuration being set up: Config by New, and at a reload the
	// file just read, before it replaces the running one (so reading the
	// running configuration would give the old interface and VIPs).
	Source func(cfg *config.Config, v6 bool) (netip.Addr, error)
	// Load reads a configuration file; nil is config.Load.
	Load func(path string) (*config.Config, error)
	// Checker configures the health checker (its Notify is the loop's).
	Checker health.Options
}

// Loop is the long-running director: it owns the health checker, the
// effective desired state and every converge pass. Create it with New and
// call Run; Reload, and the control.Handler methods, may be called from
// other goroutines while it runs.
type Loop struct {
	opts    Options
	log     *slog.Logger
	checker *health.Checker
	started time.Time // with a monotonic reading: beat counts from it
	// beat is the heartbeat (see Heartbeat): 0 while the loop waits idle
	// for a trigger, else 1 + the time from started to the last progress.
	// An atomic rather than under mu: a pass stuck while holding mu must
	// not hold up the watchdog reading that it is stuck.
	beat atomic.Int64

	kick, reload chan struct{}
	addrs        chan struct{} // an address changed: look the sources up again

	mu        sync.Mutex
	cfg       *config.Config
	setup     Setup
	cfgStatus control.ConfigStatus
	drains    []control.Drain
	drainedAt map[control.Drain]time.Time
	leaving   map[Member]Leaving
	moved     map[MovedKey]MovedVIP // old VIPs of fwmark services kept bound
	recovered recoveries            // since when each target is back from down (slow start)
	last      Outcome               // of the last pass
	lastOf    uint64                // the number of the pass last is of
	rec       control.ReconcileStatus
	repairs   uint64
	begun     uint64 // passes started
	passes    uint64 // passes completed
	okPass    uint64 // the last pass that succeeded (its number)
	passErr   error  // of the last pass
	passed    chan struct{}
	// retry is the delay of the retry after the last pass, 0 when it
	// succeeded (see nextRetry).
	retry time.Duration
	// foreign are the services of the file another tool created, left
	// out of the passes (see foreignFrom).
	foreign map[ipvs.ServiceKey]bool
	// pending are the drains and enables no pass has applied yet: the
	// number of the first pass that applies each (see setDrain).
	pending map[control.Drain]uint64
	// What the next pass converges: every service when full (the first
	// pass, Kick, a reload, a due time, a failed pass), else only the
	// services whose real servers' health changed (touched).
	full     bool
	touched  map[ipvs.ServiceKey]bool
	nextFull time.Time // reconcile_interval after the last full pass

	// metrics is the metrics endpoint's state; nil without one.
	metrics *control.MetricsStatus
	// sourceErr is the last failure to look up the checks' source
	// address (refreshSources; Run's goroutine only).
	sourceErr string
}

// New validates the starting configuration into a Loop. The drains and
// the real servers leaving the file (still draining when an earlier run
// stopped) kept in the state directory are loaded, with the moved VIPs
// of firewall-mark services; a damaged drains or leaving file is an
// error. The real servers of the desired state last applied (the state
// record's) that the configuration no longer has, the file having been
// edited while no run was active, become leaving too, from now, and the
// recorded VIPs of its firewall-mark services that moved, moved VIPs;
// they are saved with the others before the first pass (see
// keepEdited).
func New(o Options) (*Loop, error) {
	if o.Config == nil {
		return nil, errors.New("reconcile: no configuration")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Load == nil {
		o.Load = config.Load
	}
	if o.Director.Records == nil {
		o.Director.Records = new(director.RecordCache)
	}
	s, err := newSetup(o.Config, o.Source)
	if err != nil {
		return nil, err
	}
	drains, since, err := control.LoadDrainsSince(o.StateDir)
	if err != nil {
		return nil, err
	}
	// What an earlier run was draining, removed from the file, drains on.
	leaving, moved, err := loadLeaving(o.StateDir)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	// So does what the file lost while no run was active (edited, then
	// run started again instead of reloaded).
	if err = keepEdited(o, s, leaving, moved, now); err != nil {
		return nil, err
	}
	l := &Loop{
		opts: o, log: o.Logger, started: now,
		kick: make(chan struct{}, 1), reload: make(chan struct{}, 1), addrs: make(chan struct{}, 1),
		cfg: o.Config, setup: s, drains: drains, drainedAt: map[control.Drain]time.Time{}, pending: map[control.Drain]uint64{},
		leaving: leaving, moved: moved, recovered: recoveries{}, passed: make(chan struct{}),
		cfgStatus: control.ConfigStatus{File: o.File, Accepted: true, Loaded: now},
		full:      true,
	}
	l.progressed() // starting: busy until Run waits for its first trigger
	for _, d := range drains {
		l.drainedAt[d] = cmp.Or(since[d], now) // drain_timeout counts from the drain, not the restart
	}
	for d, at := range since { // real servers drained at another time than their drain
		if _, listed := l.drainedAt[d]; !listed {
			l.drainedAt[d] = at
		}
	}
	co := o.Checker
	co.Notify = l.transition
	if co.Observer == nil {
		co.Observer = checkObserver{m: o.Metrics, log: o.Logger}
	}
	l.checker = health.New(co)
	if err := l.checker.Set(s.Targets); err != nil {
		return nil, fmt.Errorf("reconcile: %s: %w", o.File, err)
	}
	if o.Metrics != nil {
		o.Metrics.Reloaded(true)
	}
	return l, nil
}

// Run converges at once and then on every trigger until ctx is done. It
// returns nil after ctx is cancelled, once every goroutine it started has
// stopped, leaving the kernel as it is. When the very first pass finds no
// IPVS, it returns that error (wrapping director.ErrNoIPVS). A service of
// the file that another tool created is never taken over: every pass,
// the first included, leaves it out with a warning (logged once, and in
// status) and converges the rest, so that a restart of run never stops
// the health checks of every other service over one conflict.
func (l *Loop) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before the wait: the goroutines stop on it
	wg.Go(func() { l.checker.Run(ctx) })
	if l.opts.Watch != nil {
		wg.Go(func() { l.watch(ctx) })
	}
	if l.opts.Metrics != nil && l.cfg.Director.Metrics.IsValid() {
		addr := l.cfg.Director.Metrics.String()
		l.setEndpoint(control.MetricsStatus{Address: addr})
		wg.Go(func() { l.serveMetrics(ctx, addr) })
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	ready, first := false, true
	for {
		l.waiting()
		select {
		case <-ctx.Done():
			return nil
		case <-l.reload:
			l.progressed()
			l.doReload()
			l.setFull()
			l.progressed()
		case <-l.kick:
			l.progressed()
		case <-timer.C:
			l.progressed()
			l.setFull() // reconcile_interval, a time step, or a retry
		case <-l.addrs:
			l.progressed()
			l.refreshSources()
			continue // an added address needs no pass; a removal kicked one
		}
		select {
		case <-l.addrs: // the kick of a removal: its sources first
			l.refreshSources()
		default:
		}
		// Readiness needs a pass that saw every check's first result, in
		// every service: a full one. A pass of the services touched by
		// the notifications delivered so far keeps the others' rows from
		// an earlier pass, which may still be pending (the kernel's
		// weights) while their notifications wait behind a slow one; so
		// once every check has a result, ask for a full pass.
		checked := l.checker.Counters().Unchecked == 0
		next, full, err := l.pass(ctx)
		if ctx.Err() != nil {
			return nil // stopping: the pass was cut short (the host lock, a converge)
		}
		if first && errors.Is(err, director.ErrNoIPVS) {
			return err
		}
		first = false
		if !ready && checked && !full {
			l.Kick()
		}
		if !ready && checked && full && l.converged() {
			ready = true
			if l.opts.Ready != nil {
				l.opts.Ready(l.summary())
			}
		}
		if l.opts.Progress != nil {
			l.opts.Progress(l.summary())
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(next), 0))
	}
}

// StallLimit is how long the loop may go without progress, while it is
// not waiting idle, before a watchdog takes it for hung (see Heartbeat).
// It must exceed the longest step a healthy loop takes between two marks
// of progress, or a busy daemon would be killed: a converge, bounded by
// its deadline (passTimeout, 60 s; a full pass of 11,000 objects takes
// well under a second natively and seconds under emulation); the host
// lock, which run waits for 30 s at most before the pass fails; the
// kernel read (readTimeout, 10 s). The 30 s beyond passTimeout cover
// what follows a step without a mark of its own (the overlay, recording
// and logging the outcome, a reload's reading of the file) and a loaded
// or emulated host. A loop that is hung is caught within StallLimit plus
// the unit's WatchdogSec.
const StallLimit = passTimeout + 30*time.Second

// Heartbeat reports the loop's liveness, for a watchdog: idle while it
// waits for a trigger (a kick, a reload, its timer), which is alive
// however long it waits (reconcile_interval may be 24h); otherwise at is
// when the work in hand last made progress: when the loop left its wait,
// and at each step of a pass (the host lock taken, the kernel read, the
// converge done, the outcome recorded) and after a reload. A loop whose
// at grows older than StallLimit is stuck, not busy. It may be called
// from any goroutine.
func (l *Loop) Heartbeat() (at time.Time, idle bool) {
	v := l.beat.Load()
	if v == 0 {
		return time.Time{}, true
	}
	return l.started.Add(time.Duration(v - 1)), false
}

// progressed marks progress of the work in hand (see Heartbeat). It
// counts on the monotonic clock from started, so that a step of the wall
// clock never looks like a hang or hides one.
func (l *Loop) progressed() { l.beat.Store(int64(time.Since(l.started)) + 1) }

// waiting marks the loop idle, about to wait for a trigger.
func (l *Loop) waiting() { l.beat.Store(0) }

// Reload asks the loop to read its configuration file again (SIGHUP).
func (l *Loop) Reload() { trySend(l.reload, struct{}{}) }

// Kick asks the loop for a pass of every service now.
func (l *Loop) Kick() {
	l.setFull()
	trySend(l.kick, struct{}{})
}

// setFull makes the next pass converge every service.
func (l *Loop) setFull() {
	l.mu.Lock()
	l.full = true
	l.mu.Unlock()
}

// watch runs the address watcher, restarting it a second after it fails.
func (l *Loop) watch(ctx context.Context) {
	for ctx.Err() == nil {
		if err := l.opts.Watch(ctx, l.addressChanged); err != nil {
			l.log.Warn("address events", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// transition is the checker's Notify: it logs, counts and kicks a pass.
func (l *Loop) transition(t health.Transition) {
	l.mu.Lock()
	m, known := l.setup.Members[t.ID]
	if known {
		l.recovered.heard(t)
		if l.touched == nil {
			l.touched = map[ipvs.ServiceKey]bool{}
		}
		l.touched[m.Service] = true
	}
	l.mu.Unlock()
	if !known {
		return
	}
	if t.From != t.To {
		l.log.Info("real server health changed", "service", m.Service.String(), "real_server", m.Destination.String(),
			"from", t.From.String(), "to", t.To.String(), "reason", t.Reason)
		if l.opts.Metrics != nil {
			l.opts.Metrics.Transition(stateName(t.From), stateName(t.To))
		}
	} else {
		l.log.Info("real server weight from its check changed", "service", m.Service.String(),
			"real_server", m.Destination.String(), "weight", t.Weight.String())
	}
	trySend(l.kick, struct{}{}) // a pass of the touched services
}

// converged reports whether a pass has succeeded.
func (l *Loop) converged() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.rec.Last.IsZero() && l.rec.Error == ""
}

// summary is a one-line account for sd_notify STATUS=.
func (l *Loop) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	counts := map[RowState]int{}
	for _, r := range l.last.Rows {
		counts[r.State]++
	}
	s := fmt.Sprintf("%d real server(s): %d up, %d down, %d draining, %d drained, %d unchecked",
		len(l.last.Rows), counts[StateUp], counts[StateDown], counts[StateDraining], counts[StateDrained],
		counts[StateUnchecked]+counts[StatePending])
	if counts[StateSorry] > 0 {
		s += fmt.Sprintf(", %d sorry", counts[StateSorry])
	}
	if !l.cfgStatus.Accepted {
		s += "; config rejected"
	}
	if n := len(l.foreign); n > 0 {
		s += fmt.Sprintf("; %d service(s) of another tool left alone", n)
	}
	if l.rec.Error != "" {
		s += "; last pass failed: " + l.rec.Error
	}
	if m := l.metrics; m != nil && !m.Listening && m.Error != "" {
		s += "; metrics endpoint " + m.Address + " not listening"
	}
	return s
}

// stateName names a health state as the metrics' state label does.
func stateName(s health.State) string {
	switch s {
	case health.Up:
		return string(control.StateUp)
	case health.Down:
		return string(control.StateDown)
	}
	return string(control.StateUnchecked)
}

// checkObserver feeds the checker's runs to the metrics (when m is set)
// and logs a check that has gone too long without a result.
type checkObserver struct {
	m   *metrics.Registry
	log *slog.Logger
}

func (o checkObserver) Observe(ob health.Observation) {
	if ob.Starved > 0 {
		o.log.Warn("health check without a result: its runs are skipped or fail on the director", "type", string(ob.Check.Type),
			"real_server", ob.Check.Address, "port", ob.Check.Port, "via", string(ob.Check.Via),
			"for", ob.Starved.Round(time.Millisecond).String(), "skipped", ob.Outcome.String(), "reason", ob.Reason)
	}
	if o.m == nil {
		return
	}
	switch ob.Outcome {
	case health.OutcomeUp:
		o.m.ObserveCheck(string(ob.Check.Type), "pass", ob.Duration)
	case health.OutcomeDown:
		o.m.ObserveCheck(string(ob.Check.Type), "fail", ob.Duration)
	default:
		o.m.CheckSkipped(string(ob.Check.Type), ob.Outcome.String())
	}
}
