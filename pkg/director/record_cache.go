package director

import (
	"sync"

	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// RecordCache keeps the state record between the passes of a
// long-running director (lvs-rs run), so that a pass does not read and
// decode the record again when its file is the one the last pass read
// or wrote: the same stamp (device, inode, size, modification time;
// every save replaces the file, see state.Stamp). At 11,000 objects
// reading and decoding it is 4.5 ms and 1.9 MB natively, and about 40 ms
// under emulation, in a pass that a health transition makes 90 ms long.
// A save by anyone else (a start or stop run between two passes)
// replaces the file, so the next pass reads it; a failed save forgets
// the record.
//
// With the record it keeps the index of its desired state (see
// desiredIndex), so that a pass renders only the services that differ
// from the recorded ones.
//
// The zero value holds nothing. Passes using one cache must not overlap
// (the host lock serializes them).
type RecordCache struct {
	mu    sync.Mutex
	stamp state.Stamp
	rec   record
	held  bool
	// idx indexes rec's desired state when the pass that saved or
	// compared it could (see desiredIndex); nil otherwise.
	idx *desiredIndex
}

// load is loadRecord, from the cache when the file's stamp is the one
// kept (a nil cache always reads). When the file is not the one the
// cache's last pass left (another command rewrote or removed it), own is
// the desired state that pass recorded; nil otherwise.
func (c *RecordCache) load(s state.Store) (rec record, found bool, own []byte, err error) {
	if c == nil {
		rec, found, err = loadRecord(s)
		return rec, found, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		st, ok, err := s.Stamp(Role)
		if err == nil && ok && st == c.stamp {
			return c.rec, true, nil, nil
		}
		own = c.rec.Desired
		c.held, c.rec, c.idx = false, record{}, nil
	}
	rec, st, found, err := loadStamped(s)
	if err == nil && found {
		c.stamp, c.rec, c.held = st, rec, true
	}
	return rec, found, own, err
}

// saved keeps rec, just written to s, with the file's stamp and idx, the
// index of its desired state (nil for none); it forgets the record when
// the stamp cannot be read.
func (c *RecordCache) saved(s state.Store, rec record, idx *desiredIndex) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok, err := s.Stamp(Role)
	if err != nil || !ok {
		c.held, c.idx = false, nil
		return
	}
	// Kept as a read would return it: the desired state in one piece.
	rec.Desired, rec.desiredRest = rec.desiredEnc().bytes(), nil
	c.stamp, c.rec, c.held, c.idx = st, rec, true, idx
}

// index returns the index of rec's desired state when rec is the record
// held (as load returned it) and one is kept; nil otherwise.
func (c *RecordCache) index(rec record) *desiredIndex {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held || !sameSlice(c.rec.Desired, rec.Desired) {
		return nil
	}
	return c.idx
}

// indexed keeps idx as the index of rec's desired state, when rec is the
// record held.
func (c *RecordCache) indexed(rec record, idx *desiredIndex) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held && sameSlice(c.rec.Desired, rec.Desired) {
		c.idx = idx
	}
}

// sameSlice reports whether a and b are the same bytes in memory, not
// merely equal ones.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// forget drops the record (removed, or a save that failed midway).
func (c *RecordCache) forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held, c.rec, c.idx = false, record{}, nil
}
