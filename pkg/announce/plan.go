package announce

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
)

// Kind says what a Change does.
type Kind int

// Route changes.
const (
	Delete Kind = iota + 1 // withdraw: delete the route
	Add                    // announce: add the route
)

// String returns "delete" or "add".
func (k Kind) String() string {
	if k == Delete {
		return "delete"
	}
	return "add"
}

// Change adds or deletes the route of one prefix.
type Change struct {
	Kind   Kind
	Prefix netip.Prefix
}

// String renders "add 10.0.0.100/32".
func (c Change) String() string { return fmt.Sprintf("%s %v", c.Kind, c.Prefix) }

// HostPrefix returns vip/32 or vip/128 (an IPv4-mapped address as IPv4).
func HostPrefix(vip netip.Addr) netip.Prefix {
	vip = vip.Unmap()
	return netip.PrefixFrom(vip, vip.BitLen())
}

// Plan returns the changes that make the routes observed (those of the
// table and protocol, from Routes.Observe) announce exactly desired:
// deletes of the observed prefixes that are not a desired VIP's host
// prefix, then adds of the missing ones, each sorted. Duplicates and
// invalid addresses in desired are ignored.
func Plan(desired []netip.Addr, observed []netip.Prefix) []Change {
	want := map[netip.Prefix]bool{}
	for _, a := range desired {
		if a.IsValid() {
			want[HostPrefix(a)] = true
		}
	}
	have := map[netip.Prefix]bool{}
	var out []Change
	for _, p := range sorted(observed) {
		have[p] = true
		if !want[p] {
			out = append(out, Change{Kind: Delete, Prefix: p})
		}
	}
	for _, p := range sorted(mapKeys(want)) {
		if !have[p] {
			out = append(out, Change{Kind: Add, Prefix: p})
		}
	}
	return out
}

func mapKeys(m map[netip.Prefix]bool) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	return out
}

func sorted(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	sortPrefixes(ps)
	return slices.Compact(ps)
}

// sortPrefixes orders by address, then length.
func sortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
}

// Kernel is what Apply needs; *Routes implements it.
type Kernel interface {
	Add(ctx context.Context, p netip.Prefix) error
	Delete(ctx context.Context, p netip.Prefix) error
}

// Apply performs changes in order, each one kernel write, and stops at
// the first failure.
func Apply(ctx context.Context, k Kernel, changes []Change) error {
	for _, c := range changes {
		err := faultinject.Write("announce: "+c.String(), func() error {
			if c.Kind == Delete {
				return k.Delete(ctx, c.Prefix)
			}
			return k.Add(ctx, c.Prefix)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Sync makes r announce exactly desired: Observe, Plan, Apply. It returns
// the planned changes (on failure, those before the failing one were made).
func Sync(ctx context.Context, r *Routes, desired []netip.Addr) ([]Change, error) {
	observed, err := r.Observe(ctx)
	if err != nil {
		return nil, err
	}
	changes := Plan(desired, observed)
	return changes, Apply(ctx, r, changes)
}
