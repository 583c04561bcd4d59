package director

// seenFrom is how many keys a seenSet holds before it looks them up in a
// map rather than by a scan.
const seenFrom = 16

// seenSet is a set of keys built one at a time, cheap when it stays
// small (the real servers of one service, the VIPs of most files): a
// scan of a slice, and a map only past seenFrom keys. The zero seenSet
// is empty.
type seenSet[K comparable] struct {
	keys  []K
	index map[K]struct{}
	hint  int // how many keys the set may end up with, to size its map
}

// add adds k and reports whether it was not in the set yet.
func (s *seenSet[K]) add(k K) bool {
	if s.index != nil {
		if _, ok := s.index[k]; ok {
			return false
		}
		s.index[k] = struct{}{}
		return true
	}
	for _, x := range s.keys {
		if x == k {
			return false
		}
	}
	s.keys = append(s.keys, k)
	if len(s.keys) > seenFrom {
		s.index = make(map[K]struct{}, max(2*len(s.keys), s.hint))
		for _, x := range s.keys {
			s.index[x] = struct{}{}
		}
	}
	return true
}

// reset empties s, keeping its memory.
func (s *seenSet[K]) reset() {
	s.keys = s.keys[:0]
	clear(s.index)
	s.index = nil
}
