package reconcile

import (
	"errors"
	"fmt"
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
// in the file start draining.
func (l *Loop) doReload() {
	cfg, s, err := l.loadSetup()
	now := time.Now()
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
	for m, lv := range leavers(l.setup.Base, s.Base, now) {
		if _, already := l.leaving[m]; !already {
			l.leaving[m] = lv
		}
	}
	for id := range l.recovered {
		if _, ok := s.Members[id]; !ok {
			delete(l.recovered, id)
		}
	}
	if cfg.Director.Metrics != l.cfg.Director.Metrics {
		l.log.Warn("director.metrics changed: the endpoint moves at the next start of lvs-rs run", "running", l.cfg.Director.Metrics.String())
	}
	l.cfg, l.setup = cfg, s
	l.cfgStatus = acceptedStatus(l.opts.File, now)
	l.log.Info("configuration reloaded", "file", l.opts.File, "services", len(s.Base.Services), "checks", len(s.Targets))
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
// set.
func newSetup(cfg *config.Config, source func(v6 bool) (netip.Addr, error)) (Setup, error) {
	s, err := NewSetup(cfg)
	if err != nil {
		return Setup{}, err
	}
	if len(s.Probes) > 0 && source == nil {
		return Setup{}, errors.New("reconcile: checks through the VIP need the director's source address")
	}
	if len(s.Probes) > 0 {
		err = s.SetSources(source)
	}
	return s, err
}

// leavers are the real servers of old that next no longer has, to drain
// from now on.
func leavers(old, next director.Desired, now time.Time) map[Member]Leaving {
	keep := map[Member]bool{}
	for _, ds := range next.Services {
		for _, d := range ds.Destinations {
			keep[Member{ds.Service.Key(), d.Key()}] = true
		}
	}
	out := map[Member]Leaving{}
	for _, ds := range old.Services {
		k := ds.Service.Key()
		for _, d := range ds.Destinations {
			m := Member{k, d.Key()}
			if !keep[m] {
				out[m] = Leaving{Service: ds.Service, Destination: d, Since: now}
			}
		}
	}
	return out
}
