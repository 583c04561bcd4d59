package control

import (
	"fmt"
	"net/netip"
	"slices"
)

// ApplyDrain works out a Drain (drain true) or Enable (drain false)
// request for a Handler. members are the real servers of the running
// configuration, one per (service, address); current are the drains in
// force. It returns the drains to keep (sorted, for SaveDrains) and the
// result to answer. Enable also clears drains of real servers no longer
// in the configuration. A request that matches nothing returns an error
// wrapping ErrNotFound and current unchanged.
func ApplyDrain(current, members []Drain, req DrainRequest, drain bool) ([]Drain, DrainResult, error) {
	set := make(map[Drain]bool, len(current))
	for _, d := range current {
		set[d] = true
	}
	var hits []Drain
	pick := func(ds []Drain) {
		for _, d := range ds {
			if req.Matches(d.Service, d.Address) {
				hits = append(hits, d)
			}
		}
	}
	pick(members)
	if !drain {
		pick(current)
	}
	hits = normalize(hits)
	if len(hits) == 0 {
		in := "any service"
		if !req.Service.IsZero() {
			in = req.Service.String()
		}
		return normalize(current), DrainResult{}, fmt.Errorf("%s is not a real server of %s: %w", req.Address, in, ErrNotFound)
	}
	res := DrainResult{Targets: make([]DrainTarget, 0, len(hits))}
	for _, h := range hits {
		res.Targets = append(res.Targets, DrainTarget{Service: h.Service, Address: h.Address, Changed: set[h] != drain})
		if drain {
			set[h] = true
		} else {
			delete(set, h)
		}
	}
	next := make([]Drain, 0, len(set))
	for d := range set {
		next = append(next, d)
	}
	return normalize(next), res, nil
}

// IsDrained reports whether the real server addr of svc is among ds.
func IsDrained(ds []Drain, svc Service, addr netip.Addr) bool {
	return slices.Contains(ds, Drain{Service: svc, Address: addr})
}
