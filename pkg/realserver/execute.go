package realserver

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"golang.org/x/sys/unix"
)

// executor applies changes through a kernel, keeping the record in step
// and saving it after every step that leaves it different from what was
// last saved.
type executor struct {
	k   kernel
	rec Record
	// saved is the record as last saved (or loaded); nil when none is.
	saved *Record
	save  func(Record) error
	// teardown: continue past a failure (stop), instead of halting (start).
	teardown bool
	warnings []string
	applied  []Change
}

// run applies changes in order. A start halts at the first failure; a
// teardown continues and returns every failure joined, but never restores
// an ARP sysctl or sets tunl0 down while a VIP it failed to unbind is
// still bound (the host would then answer ARP for the VIP).
func (e *executor) run(ctx context.Context, changes []Change) error {
	var errs []error
	unbindFailed := false
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if unbindFailed && (c.Kind == Sysctl && c.Op.Kind == arp.OpRestore || c.Kind == TunnelDown || c.Kind == DeleteTunnel) {
			e.warnings = append(e.warnings, fmt.Sprintf("skipped %q: a VIP is still bound; run stop again", c.String()))
			continue
		}
		err := e.apply(ctx, c)
		if err == nil {
			err = e.flush()
		}
		if err != nil {
			errs = append(errs, err)
			if c.Kind == Unbind {
				unbindFailed = true
			}
			if !e.teardown {
				break
			}
			continue
		}
		e.applied = append(e.applied, c)
	}
	return errors.Join(errs...)
}

// flush saves the record when it differs from the one last saved.
func (e *executor) flush() error {
	if e.saved != nil && same(*e.saved, e.rec) {
		return nil
	}
	if err := e.save(e.rec); err != nil {
		return fmt.Errorf("realserver: %w", err)
	}
	c := e.rec.clone()
	e.saved = &c
	return nil
}

// apply performs one change and updates e.rec.
func (e *executor) apply(ctx context.Context, c Change) error {
	fail := func(err error) error { return fmt.Errorf("realserver: %s: %w", c, err) }
	r := &e.rec
	switch c.Kind {
	case LoadIPIP:
		created, err := e.k.EnsureTunnel(ctx)
		if err != nil {
			return fail(err)
		}
		if r.Tunnel == nil {
			r.Tunnel = &TunnelRecord{Dev: tunnel.Dev}
		}
		r.Tunnel.Created = r.Tunnel.Created || created
	case TunnelUp:
		if err := e.k.TunnelUp(); err != nil {
			return fail(err)
		}
		if r.Tunnel == nil {
			r.Tunnel = &TunnelRecord{Dev: tunnel.Dev}
		}
	case NoteTunnelUp:
		r.Tunnel = &TunnelRecord{Dev: tunnel.Dev, WasUp: true}
	case TunnelDown, DeleteTunnel:
		do := e.k.TunnelDown
		if c.Kind == DeleteTunnel {
			do = e.k.DeleteTunnel
		}
		if err := do(); err != nil {
			return fail(err)
		}
		r.Tunnel = nil
	case ForgetTunnel:
		r.Tunnel = nil
	case Sysctl:
		recs, warn, err := arp.Apply(e.k, c.Op, r.Sysctls)
		if err != nil {
			return fail(err)
		}
		r.Sysctls = recs
		if warn != "" {
			e.warnings = append(e.warnings, warn)
		}
	case Bind:
		if err := e.k.Bind(c.Addr); err != nil {
			return fail(err)
		}
		if a := addrRecord(c.Addr); !slices.Contains(r.Addresses, a) {
			r.Addresses = append(r.Addresses, a)
		}
	case Unbind, ForgetAddr:
		if c.Kind == Unbind {
			if err := e.k.Unbind(c.Addr); err != nil {
				return fail(err)
			}
		}
		r.Addresses = slices.DeleteFunc(r.Addresses, func(a AddrRecord) bool { return a == addrRecord(c.Addr) })
	case ReplaceRoute:
		if err := e.k.RouteReplace(c.Route); err != nil {
			return fail(err)
		}
		nr := c.Route
		if r.Route == nil {
			r.Route = &RouteRecord{Replaced: c.Old}
		} else if r.Route.Replaced == nil {
			r.Route.Replaced = c.Old
		}
		r.Route.Created = &nr
	case DeleteRoute:
		if err := e.k.RouteDelete(c.Route); err != nil {
			return fail(err)
		}
		r.Route = dropRoute(r.Route, c.Route)
	case RestoreRoute:
		if err := e.k.RouteAdd(c.Route); err != nil {
			if !errors.Is(err, unix.EEXIST) {
				return fail(err)
			}
			e.warnings = append(e.warnings, fmt.Sprintf("route %s not restored: another route took its place", c.Route))
		}
		r.Route = dropRoute(r.Route, c.Route)
	case ForgetRoute:
		r.Route = dropRoute(r.Route, c.Route)
	default:
		return fail(fmt.Errorf("unknown change kind %d", c.Kind))
	}
	return nil
}

// dropRoute removes route from the record, and the record when it is empty.
func dropRoute(rr *RouteRecord, route Route) *RouteRecord {
	if rr == nil {
		return nil
	}
	out := *rr
	switch {
	case out.Created != nil && *out.Created == route:
		out.Created = nil
	case out.Replaced != nil && *out.Replaced == route:
		out.Replaced = nil
	}
	if out.Created == nil && out.Replaced == nil {
		return nil
	}
	return &out
}
