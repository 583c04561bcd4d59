package reconcile

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// doReload reads the configuration file again. A file that does not load
// (or does not suit a director) is rejected: the running state stays and
// status shows the rejection. An accepted one replaces the setup: checks
// whose spec did not change keep their state, and real servers no longer
// in the file start draining. Those are kept in the state directory
// before the new file takes effect (a reload whose leavers cannot be kept
// is rejected), so a daemon stopped or killed from then on leaves them
// for the next one to drain on.
func (l *Loop) doReload() {
	cfg, s, err := l.loadSetup()
	now := time.Now()
	var leaving map[Member]Leaving
	if err == nil {
		leaving, err = l.keepLeavers(s, now)
	}
	if err == nil {
		err = l.checker.Set(s.Targets)
	}
	if l.opts.Metrics != nil {
		l.opts.Metrics.Reloaded(err == nil)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.cfgStatus.Accepted, l.cfgStatus.Rejection, l.cfgStatus.Rejected = false, err.Error(), now
		l.log.Error("configuration rejected, running state kept", "file", l.opts.File, "error", err.Error())
		return
	}
	l.leaving = leaving
	// The checker has the new targets: a check that started afresh is
	// unknown again, and the targets that left are gone.
	l.recovered = l.recovered.rebase(l.checker.Statuses(), now)
	if cfg.Director.Metrics != l.cfg.Director.Metrics {
		l.log.Warn("director.metrics changed: the endpoint moves at the next start of lvs-rs run", "running", l.cfg.Director.Metrics.String())
	}
	l.cfg, l.setup = cfg, s
	l.cfgStatus = acceptedStatus(l.opts.File, now)
	l.log.Info("configuration reloaded", "file", l.opts.File, "services", len(s.Base.Services), "checks", len(s.Targets))
}

// keepLeavers returns the real servers leaving the file once next is in
// force: those leaving now and those of the running file next no longer
// has, from now on. When there are new ones it saves them all in the
// state directory first (called from Run's goroutine, the only one that
// changes l.leaving or l.setup).
func (l *Loop) keepLeavers(next Setup, now time.Time) (map[Member]Leaving, error) {
	l.mu.Lock()
	out := maps.Clone(l.leaving)
	added := false
	for m, lv := range leavers(l.setup, next.Base, now) {
		if _, already := out[m]; !already {
			out[m], added = lv, true
		}
	}
	l.mu.Unlock()
	if !added {
		return out, nil
	}
	return out, saveLeaving(l.opts.StateDir, out)
}

// acceptedStatus is the status of a configuration accepted at t.
func acceptedStatus(file string, t time.Time) control.ConfigStatus {
	return control.ConfigStatus{File: file, Accepted: true, Loaded: t}
}

// loadSetup loads and validates the file.
func (l *Loop) loadSetup() (*config.Config, Setup, error) {
	cfg, err := l.opts.Load(l.opts.File)
	if err != nil {
		return nil, Setup{}, err
	}
	if err := cfg.CheckDirector(); err != nil {
		return nil, Setup{}, err
	}
	if cfg.Director.Interface == "" && len(cfg.VirtualServers) > 0 {
		return nil, Setup{}, fmt.Errorf("%s: director.interface is not set", l.opts.File)
	}
	s, err := newSetup(cfg, l.opts.Source)
	if err != nil {
		return nil, Setup{}, err
	}
	return cfg, s, director.CheckKernel(s.Base)
}

// newSetup is NewSetup with the sources of the checks through the VIP
// set, asked of source for cfg itself.
func newSetup(cfg *config.Config, source func(cfg *config.Config, v6 bool) (netip.Addr, error)) (Setup, error) {
	s, err := NewSetup(cfg)
	if err != nil {
		return Setup{}, err
	}
	if len(s.Probes) > 0 && source == nil {
		return Setup{}, errors.New("reconcile: checks through the VIP need the director's source address")
	}
	if len(s.Probes) > 0 {
		err = s.SetSources(func(v6 bool) (netip.Addr, error) { return source(cfg, v6) })
	}
	return s, err
}

// leavers are the real servers of old that next no longer has, to drain
// from now on for their service's drain_timeout in old, with their
// service's VIP in old (kept bound while they drain).
func leavers(old Setup, next director.Desired, now time.Time) map[Member]Leaving {
	keep := map[Member]bool{}
	for _, ds := range next.Services {
		for _, d := range ds.Destinations {
			keep[Member{ds.Service.Key(), d.Key()}] = true
		}
	}
	out := map[Member]Leaving{}
	for _, ds := range old.Base.Services {
		k := ds.Service.Key()
		for _, d := range ds.Destinations {
			m := Member{k, d.Key()}
			if !keep[m] {
				pol := old.Policies[k]
				out[m] = Leaving{Service: ds.Service, Destination: d, Since: now, DrainTimeout: pol.DrainTimeout, VIP: pol.VIP}
			}
		}
	}
	return out
}
