package reconcile

import (
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// OverlayScoped is Overlay(base, in) computed from prev, the outcome of
// the pass before, for a pass that health transitions alone triggered:
// only the services in scope are overlaid again; every other service
// keeps prev's effective state and rows, which are what the kernel holds
// (the pass converges the services of scope alone). So a transition costs
// its own services, not the table. in needs the kernel's real servers
// (Inputs.Kernel) of the services in scope only.
//
// It is Overlay(base, in) whenever the inputs of the services outside
// scope are the ones prev was computed from. ok is false, and the caller
// runs Overlay, when prev cannot be reused (see Reusable).
func OverlayScoped(prev Outcome, base director.Desired, in Inputs, scope map[ipvs.ServiceKey]bool) (out Outcome, ok bool) {
	if !prev.Reusable(base, in) {
		return Outcome{}, false
	}
	n := len(base.Services)
	out = Outcome{Desired: base, from: base.Services}
	out.Desired.Services = slices.Clone(prev.Desired.Services[:n])
	out.Rows = make([]Row, 0, len(prev.Rows)+len(scope))
	off := 0 // prev's rows of base.Services[i]: one per configured real server
	for i, ds := range base.Services {
		m := len(ds.Destinations)
		if scope[ds.Service.Key()] {
			out.Desired.Services[i] = out.service(ds, in)
		} else {
			out.Rows = append(out.Rows, prev.Rows[off:off+m]...)
		}
		off += m
	}
	sorry := prev.Rows[off:] // prev's sorry server rows, in base's order
	for i, ds := range base.Services {
		k := ds.Service.Key()
		var had []Row
		if len(sorry) > 0 && sorry[0].Service == k {
			had, sorry = sorry[:1], sorry[1:]
		}
		if scope[k] {
			out.sorry(&out.Desired.Services[i], in)
		} else {
			out.Rows = append(out.Rows, had...)
		}
	}
	out.announce(base, in)
	out.reusable = out.Next.IsZero()
	return out, true
}

// Reusable reports whether OverlayScoped may start from o for base and
// in: o was computed by Overlay or OverlayScoped from the same base
// services (the same configuration), with no real server leaving the
// file then or now (those join services and rows of their own) nor a
// firewall-mark service's old VIP kept bound (see MovedVIP), and
// nothing in it waits for time to pass (a slow-start ramp, a drain's
// deadline), so that every service outside a scope is as o has it.
func (o Outcome) Reusable(base director.Desired, in Inputs) bool {
	return o.reusable && len(in.Leaving) == 0 && len(in.Moved) == 0 && sameSlice(o.from, base.Services)
}

// sameSlice reports whether a and b are the same slice (same elements in
// the same memory), not merely equal ones.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
