package reconcile

import (
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// addressChanged is the address watcher's report (Options.Watch): any
// change looks the checks' source address up again (refreshSources), a
// removal also asks for a pass of every service (a VIP deleted by hand
// is bound again).
func (l *Loop) addressChanged(removed bool) {
	trySend(l.addrs, struct{}{})
	if removed {
		l.Kick()
	}
}

// refreshSources looks up again the source address of the checks through
// the VIP for the running configuration (Options.Source) and, when one
// changed, gives the checker the targets with the new one: the director
// renumbered keeps checking from the address it has, instead of failing
// every such check on a bind to the address it had until the next reload.
// A check whose source changes keeps its state (health: Source is not
// part of what a check probes). When no source can be found (the old
// address removed before the new one is added), the checks keep theirs
// until the next change: their runs fail on the director, which is no
// result, so the real servers keep their state. Called from Run's
// goroutine, the only one that replaces the setup.
func (l *Loop) refreshSources() {
	l.mu.Lock()
	cfg, s := l.cfg, l.setup
	l.mu.Unlock()
	if len(s.Probes) == 0 || l.opts.Source == nil {
		return
	}
	next := s
	next.Targets = slices.Clone(s.Targets)
	if err := next.SetSources(func(v6 bool) (netip.Addr, error) { return l.opts.Source(cfg, v6) }); err != nil {
		if err.Error() != l.sourceErr {
			l.log.Warn("checks through the VIP keep their source address", "error", err)
		}
		l.sourceErr = err.Error()
		return
	}
	l.sourceErr = ""
	moved := map[netip.Addr]netip.Addr{}
	for i, t := range next.Targets {
		if t.Spec.Via == health.ThroughVIP && t.Source != s.Targets[i].Source {
			moved[s.Targets[i].Source] = t.Source
		}
	}
	if len(moved) == 0 {
		return
	}
	if err := l.checker.Set(next.Targets); err != nil {
		l.log.Error("checks through the VIP: new source address refused", "error", err)
		return
	}
	l.mu.Lock()
	l.setup = next
	l.mu.Unlock()
	for from, to := range moved {
		l.log.Info("checks through the VIP follow the director's address", "from", from.String(), "to", to.String())
	}
}
