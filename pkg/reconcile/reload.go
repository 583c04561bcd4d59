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
	var (
		leaving map[Member]Leaving
		moved   map[MovedKey]MovedVIP
	)
	if err == nil {
		leaving, moved, err = l.keepLeavers(s, now)
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
	l.leaving, l.moved = leaving, moved
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
// has, from now on; and the moved VIPs: those kept now and the VIPs of
// the running file's firewall-mark services that next gives another,
// from now on (see movedVIPs). When there are new ones it saves them all
// in the state directory first (called from Run's goroutine, the only
// one that changes l.leaving, l.moved or l.setup).
func (l *Loop) keepLeavers(next Setup, now time.Time) (map[Member]Leaving, map[MovedKey]MovedVIP, error) {
	l.mu.Lock()
	out, moved := maps.Clone(l.leaving), maps.Clone(l.moved)
	if out == nil {
		out = map[Member]Leaving{}
	}
	if moved == nil {
		moved = map[MovedKey]MovedVIP{}
	}
	added := false
	for m, lv := range leavers(l.setup, next.Base, now) {
		if _, already := out[m]; !already {
			out[m], added = lv, true
		}
	}
	added = addMoved(moved, movedVIPs(l.setup.Policies, next.Policies, now)) || added
	l.mu.Unlock()
	if !added {
		return out, moved, nil
	}
	return out, moved, saveLeaving(l.opts.StateDir, out, moved)
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
				out[m] = Leaving{Service: ds.Service, Destination: d, Since: now, DrainTimeout: pol.DrainTimeout, VIP: pol.VIP,
					Forwarding: forwarding(old.Base, ds.Service, d)}
			}
		}
	}
	return out
}

// keepEdited adds to leaving the real servers the file lost while no run
// was active: those of the desired state the state record holds (the
// last start's or pass's, lvs-rs's own) that s no longer has, leaving
// from now (see recordedLeavers); and to moved the recorded VIPs of the
// firewall-mark services s gives another (see recordedMoved). When there
// are new ones it saves them all in the state directory, before any
// pass can delete or unbind them.
func keepEdited(o Options, s Setup, leaving map[Member]Leaving, moved map[MovedKey]MovedVIP, now time.Time) error {
	if o.Director.StateDir == "" {
		return nil
	}
	recorded, err := director.Recorded(o.Director)
	if err != nil {
		return fmt.Errorf("reconcile: the desired state last applied: %w", err)
	}
	if recorded == nil {
		return nil
	}
	added := 0
	for m, lv := range recordedLeavers(*recorded, s, now) {
		if _, already := leaving[m]; !already {
			leaving[m] = lv
			added++
		}
	}
	vips := addMoved(moved, recordedMoved(*recorded, s, now))
	if added == 0 && !vips {
		return nil
	}
	if added > 0 {
		o.Logger.Info("real servers removed from the file while lvs-rs run was not active drain", "real_servers", added)
	}
	return saveLeaving(o.StateDir, leaving, moved)
}

// recordedLeavers are the real servers of recorded, the desired state
// last applied, that next no longer has, as leavers finds them at a
// reload: to drain from now on. recorded holds what that pass made of
// the file, so it is read as such: its probe services (via: vip) and the
// sorry server next still has are not real servers of the file. The
// drain_timeout a real server left with is not recorded: its service's
// in next, or the default when the service is gone too. Its VIP is its
// service's address, or for a fwmark service the VIP of the recorded
// nftables rules of its mark (none without such a rule).
func recordedLeavers(recorded director.Desired, next Setup, now time.Time) map[Member]Leaving {
	keep := map[Member]bool{}
	for _, ds := range next.Base.Services {
		for _, d := range ds.Destinations {
			keep[Member{ds.Service.Key(), d.Key()}] = true
		}
	}
	markVIP := map[uint32]netip.Addr{}
	for _, r := range recorded.Marks {
		if _, ok := markVIP[r.Mark]; !ok {
			markVIP[r.Mark] = r.VIP.Unmap()
		}
	}
	out := map[Member]Leaving{}
	for _, ds := range recorded.Services {
		k := ds.Service.Key()
		if k.FWMark >= ProbeMarkBase && k.FWMark-ProbeMarkBase < ProbeMarks {
			continue // a check's probe, not a service of the file
		}
		pol, stays := next.Policies[k]
		timeout := config.DefaultDrainTimeout
		if stays {
			timeout = pol.DrainTimeout
		}
		v := ds.Service.Address.Unmap()
		if k.FWMark != 0 {
			v = markVIP[k.FWMark]
		}
		for _, d := range ds.Destinations {
			m := Member{k, d.Key()}
			if keep[m] || stays && pol.Sorry != nil && pol.Sorry.Key() == m.Destination {
				continue
			}
			out[m] = Leaving{Service: ds.Service, Destination: d, Since: now, DrainTimeout: timeout, VIP: v,
				Forwarding: forwarding(recorded, ds.Service, d)}
		}
	}
	return out
}
