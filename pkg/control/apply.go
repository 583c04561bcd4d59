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
// result to answer: one target per real server of the running
// configuration the request names (and, for an enable, per drain of a
// service no longer in it), Changed when its state changes.
//
// A request without a service drains (or enables) the address in every
// service: it keeps one drain of every service (see Drain), which also
// covers services that a later reload adds or re-keys, and replaces
// whatever the address had; an enable without a service clears every
// drain of the address, including those of services no longer in the
// configuration. A request with a service applies to that service
// alone: while the address is drained in every service, an enable keeps
// an exception that puts it back in rotation in that service (the drain
// of every other service, present or later, stays) and a drain removes
// that exception.
//
// A request that matches nothing returns an error wrapping ErrNotFound
// and current unchanged; so does a drain of an address that no service
// of the configuration has.
func ApplyDrain(current, members []Drain, req DrainRequest, drain bool) ([]Drain, DrainResult, error) {
	current = normalize(current)
	set := NewDrainSet(current)
	every := Drain{Address: req.Address}
	var hits []Drain // per (service, address), as members are
	for _, d := range members {
		if req.Matches(d.Service, d.Address) {
			hits = append(hits, Drain{Service: d.Service, Address: d.Address})
		}
	}
	if !drain { // the drains of services no longer configured too
		for _, d := range current {
			if !d.Service.IsZero() && !d.Enabled && req.Matches(d.Service, d.Address) {
				hits = append(hits, d)
			}
		}
	}
	hits = slices.Compact(slices.SortedFunc(slices.Values(hits), compareDrains))
	if len(hits) == 0 && (drain || !req.Service.IsZero() || !set[every]) {
		in := "any service"
		if !req.Service.IsZero() {
			in = req.Service.String()
		}
		return current, DrainResult{}, fmt.Errorf("%s is not a real server of %s: %w", req.Address, in, ErrNotFound)
	}
	res := DrainResult{Targets: make([]DrainTarget, 0, len(hits))}
	for _, h := range hits {
		_, drained := set.Drains(h.Service, h.Address)
		res.Targets = append(res.Targets, DrainTarget{Service: h.Service, Address: h.Address, Changed: drained != drain})
	}
	next := slices.Clone(current)
	ofAddress := func(d Drain) bool { return d.Address == req.Address }
	switch {
	case req.Service.IsZero():
		next = slices.DeleteFunc(next, ofAddress)
		if drain {
			next = append(next, every)
		}
	case set[every]: // an exception to the drain of every service
		except := Drain{Service: req.Service, Address: req.Address, Enabled: true}
		next = slices.DeleteFunc(next, func(d Drain) bool { return d == except })
		if !drain {
			next = append(next, except)
		}
	default:
		one := Drain{Service: req.Service, Address: req.Address}
		next = slices.DeleteFunc(next, func(d Drain) bool { return d == one })
		if drain {
			next = append(next, one)
		}
	}
	return normalize(next), res, nil
}

// IsDrained reports whether ds take the real server addr of svc out of
// rotation (see DrainSet.Drains).
func IsDrained(ds []Drain, svc Service, addr netip.Addr) bool {
	_, drained := NewDrainSet(ds).Drains(svc, addr)
	return drained
}
