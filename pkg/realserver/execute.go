package realserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"golang.org/x/sys/unix"
)

// executor applies changes through a kernel, keeping the record in step:
// what a write is about to create is recorded and saved before the write
// (the intention), and what a write removes leaves the record only after
// the write is done, so that a crash at any point leaves a record from
// which the next start or stop finishes the job.
type executor struct {
	k   kernel
	rec Record
	// saved is the record's JSON as last saved (or loaded); nil when none is.
	saved []byte
	// save writes the record, b being its JSON.
	save func(r Record, b []byte) error
	// teardown: continue past a failure (stop), instead of halting (start).
	teardown bool
	warnings []string
	applied  []Change
}

// run applies changes in order. A start halts at the first failure (see
// runStart); a teardown continues and returns every failure joined, but
// never restores an ARP sysctl or sets tunl0 down while a VIP it failed
// to unbind is still bound (the host would then answer ARP for the VIP),
// and never restores the replaced route while lvs-rs's route, which it
// failed to delete, still holds the slot.
func (e *executor) run(ctx context.Context, changes []Change) error {
	if !e.teardown {
		return e.runStart(ctx, changes)
	}
	var errs []error
	unbindFailed, deleteFailed := false, false
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if unbindFailed && (c.Kind == Sysctl && c.Op.Kind == arp.OpRestore || c.Kind == TunnelDown || c.Kind == DeleteTunnel || c.Kind == GREDown || c.Kind == DeleteGRE) {
			e.warnings = append(e.warnings, fmt.Sprintf("skipped %q: a VIP is still bound; run stop again", c.String()))
			continue
		}
		if deleteFailed && c.Kind == RestoreRoute {
			e.warnings = append(e.warnings, fmt.Sprintf("skipped %q: lvs-rs's route is still there; run stop again", c.String()))
			continue
		}
		if err := e.apply(ctx, c); err != nil {
			errs = append(errs, err)
			unbindFailed = unbindFailed || c.Kind == Unbind
			deleteFailed = deleteFailed || c.Kind == DeleteRoute
			continue
		}
		e.applied = append(e.applied, c)
	}
	return errors.Join(errs...)
}

// runStart applies a start's changes in order and halts at the first
// failure. Each run of changes that only add (see addsOnly) goes through
// runAhead: their intentions in one save before the first of their
// writes. Every other change goes through apply.
func (e *executor) runStart(ctx context.Context, changes []Change) error {
	for len(changes) > 0 {
		n := 0
		for n < len(changes) && addsOnly(changes[n]) {
			n++
		}
		if n > 0 {
			if err := e.runAhead(ctx, changes[:n]); err != nil {
				return err
			}
			changes = changes[n:]
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.apply(ctx, changes[0]); err != nil {
			return err
		}
		e.applied = append(e.applied, changes[0])
		changes = changes[1:]
	}
	return nil
}

// flush saves the record when its JSON differs from the one last saved:
// one encoding per call, which is also what is written.
func (e *executor) flush() error {
	e.rec.versioned()
	b, err := json.Marshal(e.rec)
	if err != nil {
		return fmt.Errorf("realserver: encode record: %w", err)
	}
	if e.saved != nil && bytes.Equal(e.saved, b) {
		return nil
	}
	if err := e.save(e.rec, b); err != nil {
		return fmt.Errorf("realserver: %w", err)
	}
	e.saved = b
	return nil
}

// step makes one kernel write with its intention: intend updates the
// record and it is saved before write runs (a failed save means no
// write); settle updates it once the write is done, and it is saved
// again. A write that fails did nothing (each is one kernel request), so
// its intention is taken back. Any of the three may be nil.
func (e *executor) step(intend func(*Record), write func() error, settle func(*Record)) error {
	prev := e.rec.clone()
	if intend != nil {
		intend(&e.rec)
		if err := e.flush(); err != nil {
			e.rec = prev
			return err
		}
	}
	if write != nil {
		if err := write(); err != nil {
			e.rec = prev
			return errors.Join(err, e.flush())
		}
	}
	if settle != nil {
		settle(&e.rec)
	}
	return e.flush()
}

// apply performs one change and keeps e.rec in step.
func (e *executor) apply(ctx context.Context, c Change) error {
	err := e.dispatch(ctx, c)
	if err != nil {
		return fmt.Errorf("realserver: %s: %w", c, err)
	}
	return nil
}

func (e *executor) dispatch(ctx context.Context, c Change) error {
	dev := tunnelOf(c.Kind)
	switch c.Kind {
	case LoadIPIP, LoadGRE:
		return e.loadTunnel(ctx, dev)
	case TunnelUp, GREUp:
		return e.step(func(r *Record) {
			if t := tunnelRecord(r, dev); *t == nil {
				*t = &TunnelRecord{Dev: dev}
			}
		}, func() error { return e.k.TunnelUp(dev) }, nil)
	case NoteTunnelUp, NoteGREUp:
		return e.step(nil, nil, func(r *Record) { *tunnelRecord(r, dev) = &TunnelRecord{Dev: dev, WasUp: true} })
	case TunnelDown, GREDown:
		return e.step(nil, func() error { return e.k.TunnelDown(dev) }, func(r *Record) {
			if t := tunnelRecord(r, dev); *t != nil && (*t).Created {
				return // DeleteTunnel follows
			}
			*tunnelRecord(r, dev) = nil
		})
	case DeleteTunnel, DeleteGRE:
		return e.step(nil, func() error { return e.k.DeleteTunnel(dev) }, func(r *Record) { *tunnelRecord(r, dev) = nil })
	case ForgetTunnel, ForgetGRE:
		return e.step(nil, nil, func(r *Record) { *tunnelRecord(r, dev) = nil })
	case LoadFOU:
		// Nothing to record: lvs-rs never unloads a module.
		return e.step(nil, func() error { return e.k.LoadFOU(ctx) }, nil)
	case AddFOU:
		if c.Foreign != "" {
			return fmt.Errorf("UDP port %d already has a fou %s, which does not decapsulate GUE: not replaced (remove it: ip fou del port %d, or give the tunnel another port)", c.Port, c.Foreign, c.Port)
		}
		return e.step(func(r *Record) {
			if p := (FOURecord{Port: c.Port}); !slices.Contains(r.FOU, p) {
				r.FOU = append(r.FOU, p)
			}
		}, func() error { return e.k.AddFOU(c.Port) }, nil)
	case DeleteFOU:
		return e.step(nil, func() error { return e.k.DeleteFOU(c.Port) }, forgetFOU(c.Port))
	case ForgetFOU:
		return e.step(nil, nil, forgetFOU(c.Port))
	case Sysctl:
		return e.sysctl(c.Op)
	case Unbind:
		return e.step(nil, func() error { return e.k.Unbind(c.Addr) }, forgetAddr(c))
	case ForgetAddr:
		return e.step(nil, nil, forgetAddr(c))
	case ReplaceRoute:
		return e.replaceRoute(c)
	case DeleteRoute:
		return e.step(nil, func() error { return e.k.RouteDelete(c.Route) }, forgetRoute(c.Route))
	case RestoreRoute:
		return e.step(nil, func() error { return e.restoreRoute(c.Route) }, forgetRoute(c.Route))
	case ForgetRoute:
		return e.step(nil, nil, forgetRoute(c.Route))
	}
	return fmt.Errorf("unknown change kind %d", c.Kind)
}

// tunnelOf returns the fallback device a change of a tunnel kind is
// about: gre0 for the GRE kinds, tunl0 otherwise.
func tunnelOf(k Kind) string {
	switch k {
	case LoadGRE, GREUp, NoteGREUp, GREDown, DeleteGRE, ForgetGRE:
		return tunnel.GREDev
	}
	return tunnel.Dev
}

// tunnelRecord returns where r records the fallback device dev.
func tunnelRecord(r *Record, dev string) **TunnelRecord {
	if dev == tunnel.GREDev {
		return &r.GRE
	}
	return &r.Tunnel
}

// loadTunnel records that lvs-rs may create the fallback device dev
// (tunl0, gre0) before asking for it: if lvs-rs crashes after creating
// it, stop still deletes it (and sets it down first, in case it turns
// out to be the module's own device, which the kernel does not delete).
func (e *executor) loadTunnel(ctx context.Context, dev string) error {
	t := *tunnelRecord(&e.rec, dev)
	had := t != nil && t.Created
	created := false
	return e.step(func(r *Record) {
		*tunnelRecord(r, dev) = &TunnelRecord{Dev: dev, Created: true}
	}, func() error {
		var err error
		created, err = e.k.EnsureTunnel(ctx, dev)
		return err
	}, func(r *Record) { (*tunnelRecord(r, dev)).Created = had || created })
}

// forgetFOU drops a GUE receive port from the record.
func forgetFOU(port uint16) func(*Record) {
	return func(r *Record) {
		r.FOU = slices.DeleteFunc(r.FOU, func(p FOURecord) bool { return p.Port == port })
	}
}

// sysctl reads the parameter, records the intention (the prior value and
// the value about to be written), writes, and settles the record.
func (e *executor) sysctl(op arp.Op) error {
	s, err := arp.Prepare(e.k, op, e.rec.Sysctls)
	if err != nil {
		return err
	}
	if s.Warning != "" {
		e.warnings = append(e.warnings, s.Warning)
	}
	return e.step(func(r *Record) { r.Sysctls = s.Intent },
		func() error { return s.Do(e.k) },
		func(r *Record) { r.Sysctls = s.After })
}

// replaceRoute records lvs-rs's route and the whole route it replaces,
// in the record of the route's family, then replaces. When it replaces lvs-rs's own route (the gateway
// changed), that one stays recorded as lvs-rs's (Was) until the replace
// is done, and the route lvs-rs replaced first stays the one to restore.
// A route the kernel reports with parts lvs-rs cannot set again is never
// replaced.
func (e *executor) replaceRoute(c Change) error {
	if c.Old != nil && c.Old.Opaque != "" {
		return fmt.Errorf("default route %s has %s, which lvs-rs cannot restore: not replaced (remove it, or give it another metric)", c.Old, c.Old.Opaque)
	}
	nr := c.Route
	v6 := nr.Dst.Addr().Is6()
	return e.step(func(r *Record) {
		rr := r.route(v6).clone()
		if rr == nil {
			rr = &RouteRecord{}
		}
		if c.Old != nil {
			rr.Replaced = c.Old.clone()
		}
		rr.Created, rr.Was = &nr, c.Own.clone()
		r.setRoute(v6, rr)
	}, func() error { return e.k.RouteReplace(c.Route) }, func(r *Record) {
		if rr := r.route(v6).clone(); rr != nil {
			rr.Was = nil
			r.setRoute(v6, rr)
		}
	})
}

// restoreRoute puts back a route lvs-rs replaced. A slot someone filled
// since, or a device that is gone (the kernel deletes a route, multipath
// ones included, with any device it uses), leaves it unrestored with a
// warning naming why; the other items of the record are undone anyway.
func (e *executor) restoreRoute(rt Route) error {
	err := e.k.RouteAdd(rt)
	var nd errNoDevice
	switch {
	case err == nil:
	case errors.Is(err, unix.EEXIST):
		e.warnings = append(e.warnings, fmt.Sprintf("route %s not restored: another route took its place", rt))
	case errors.As(err, &nd):
		e.warnings = append(e.warnings, fmt.Sprintf("route %s not restored: its %s (the kernel would have removed the route with it)", rt, nd))
	default:
		return err
	}
	return nil
}

func forgetAddr(c Change) func(*Record) {
	a := addrRecord(c.Addr)
	return func(r *Record) {
		r.Addresses = slices.DeleteFunc(r.Addresses, func(x AddrRecord) bool { return x == a })
	}
}

// forgetRoute drops rt from the record of its family's route.
func forgetRoute(rt Route) func(*Record) {
	v6 := rt.Dst.Addr().Is6()
	return func(r *Record) { r.setRoute(v6, dropRoute(r.route(v6), rt)) }
}

// dropRoute removes route from the record, and the record when it is empty.
func dropRoute(rr *RouteRecord, route Route) *RouteRecord {
	if rr == nil {
		return nil
	}
	out := *rr
	switch {
	case out.Created != nil && out.Created.Equal(route):
		// While a gateway change is under way, lvs-rs's other route is
		// the one left.
		out.Created, out.Was = out.Was, nil
	case out.Was != nil && out.Was.Equal(route):
		out.Was = nil
	case out.Replaced != nil && out.Replaced.Equal(route):
		out.Replaced = nil
	}
	if out.Created == nil && out.Replaced == nil {
		return nil
	}
	return &out
}
