package announce

import (
	"fmt"
	"net/netip"
	"slices"
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
// table and protocol, from List) announce exactly desired:
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
