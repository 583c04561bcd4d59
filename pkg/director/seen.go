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
	spare map[K]struct{} // an index emptied by reset, to be used again
	hint  int            // how many keys the set may end up with, to size its map
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
		if s.index, s.spare = s.spare, nil; s.index == nil {
			s.index = make(map[K]struct{}, max(2*len(s.keys), s.hint))
		}
		for _, x := range s.keys {
			s.index[x] = struct{}{}
		}
	}
	return true
}

// reset empties s, keeping its memory (its map too, for the next set
// that grows past seenFrom), and sets the hint for the next set.
func (s *seenSet[K]) reset(hint int) {
	s.keys = s.keys[:0]
	if s.index != nil {
		clear(s.index)
		s.spare, s.index = s.index, nil
	}
	s.hint = hint
}
