package director

import (
	"bytes"
	"slices"
)

// desiredIndex describes a desired state's encoding (see appendDesired):
// where its services begin, where each one's bytes end, and the services
// themselves (copies, never changed: callers may change theirs in place).
// With it, a desired state that differs from that one in a few services,
// as after a health transition, is encoded by rendering those alone and
// copying the other services' bytes (encodeDesiredIndexed), instead of
// rendering every service to compare it (encodeDesiredAgainst).
type desiredIndex struct {
	start    int              // where the first service's bytes begin
	ends     []int            // where service i's bytes end (a leading comma, for i > 0, is in them)
	services []DesiredService // the services, as encoded
}

// encodeDesiredIndexed renders d for a record as encodeDesired would,
// given enc, an encoding x describes: when d's services equal x's
// (compared as values, not rendered) and its head and tail render as
// enc's, it returns enc itself and same; otherwise the new encoding in
// one piece: enc's bytes up to the first service that differs, then the
// services that differ rendered and the others' bytes copied from enc,
// with the index of the new encoding. ok is false when x does not fit
// (another number of services, another head) or a section fails to
// render: the caller then renders against enc (encodeDesiredAgainst).
func encodeDesiredIndexed(d *Desired, enc []byte, x *desiredIndex) (out desiredEnc, same bool, next *desiredIndex, ok bool) {
	n := len(d.Services)
	if n == 0 || n != len(x.services) || len(x.ends) != n || x.start > x.ends[0] || x.ends[n-1] > len(enc) {
		return desiredEnc{}, false, nil, false
	}
	head, err := appendDesiredHead(make([]byte, 0, x.start), d)
	if err != nil || !bytes.Equal(head, enc[:x.start]) {
		return desiredEnc{}, false, nil, false
	}
	tail, err := appendDesiredTail(nil, d, nil)
	if err != nil {
		return desiredEnc{}, false, nil, false
	}
	first := n // the first service that differs
	for i := range d.Services {
		if !sameService(&d.Services[i], &x.services[i]) {
			first = i
			break
		}
	}
	if first == n && bytes.Equal(tail, enc[x.ends[n-1]:]) {
		return rawDesired(enc), true, x, true
	}
	cut := x.start
	if first > 0 {
		cut = x.ends[first-1]
	}
	next = &desiredIndex{start: x.start, ends: make([]int, n), services: make([]DesiredService, n)}
	copy(next.ends, x.ends[:first])
	copy(next.services, x.services[:first])
	// One piece, enc's prefix copied: the cache keeps the record's
	// desired state in one piece, and would otherwise join two.
	b := append(make([]byte, 0, len(enc)+len(tail)+256), enc[:cut]...)
	for j := first; j < n; j++ {
		if j > first && sameService(&d.Services[j], &x.services[j]) {
			b = append(b, enc[x.ends[j-1]:x.ends[j]]...) // with its leading comma
			next.services[j] = x.services[j]
		} else {
			b = appendDesiredService(comma(b, j), &d.Services[j])
			next.services[j] = cloneService(d.Services[j])
		}
		next.ends[j] = len(b)
	}
	return rawDesired(append(b, tail...)), false, next, true
}

// indexDesired is the index of d's encoding, given where each service's
// bytes end in it (see encodeDesiredAgainst's ends).
func indexDesired(d *Desired, ends []int) *desiredIndex {
	if len(d.Services) == 0 || len(ends) != len(d.Services) {
		return nil
	}
	head, err := appendDesiredHead(nil, d)
	if err != nil {
		return nil
	}
	x := &desiredIndex{start: len(head), ends: ends, services: make([]DesiredService, len(d.Services))}
	for i, s := range d.Services {
		x.services[i] = cloneService(s)
	}
	return x
}

// sameService reports whether a and b are equal (and so render the same).
func sameService(a, b *DesiredService) bool {
	return a.Service == b.Service && slices.Equal(a.Destinations, b.Destinations) && slices.Equal(a.LastWeights, b.LastWeights)
}

// cloneService is s with destinations of its own.
func cloneService(s DesiredService) DesiredService {
	s.Destinations = slices.Clone(s.Destinations)
	s.LastWeights = slices.Clone(s.LastWeights)
	return s
}
