package reconcile

import (
	"fmt"
	"maps"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// leavingRole names the record of the real servers leaving the file in
// the state directory: leaving.json, next to drains.json.
const leavingRole = "leaving"

// leavingVersion is the format version of leaving.json.
const leavingVersion = 1

// leavingRecord is leaving.json: the real servers removed from the file
// that are still draining, each with when it left, its drain_timeout and
// its service's VIP, so that a daemon started again (an upgrade, a crash,
// kill -9) keeps draining them until idle or their deadline instead of
// deleting them. The VIP is optional (omitted when unknown): a record
// without it is read as before, and an lvs-rs that predates it ignores
// it, so the version stays 1. Moved lists the old VIPs of firewall-mark
// services kept bound (see MovedVIP), omitted when there are none, for
// the same reason: an lvs-rs that predates it ignores it (and unbinds
// them, as it did).
type leavingRecord struct {
	Version int        `json:"version"`
	Leaving []Leaving  `json:"leaving"`
	Moved   []MovedVIP `json:"moved_vips,omitempty"`
}

// loadLeaving reads the real servers leaving the file and the moved VIPs
// kept in stateDir; none (and no error) when there is no record. A
// damaged record is an error naming the file, wrapping state.ErrCorrupt.
func loadLeaving(stateDir string) (map[Member]Leaving, map[MovedKey]MovedVIP, error) {
	s := state.Store{Dir: stateDir}
	var rec leavingRecord
	found, err := s.Load(leavingRole, &rec)
	if err == nil && found && rec.Version != leavingVersion {
		err = s.Corrupt(leavingRole, fmt.Errorf("version %d, want %d", rec.Version, leavingVersion))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile: %w", err)
	}
	out := make(map[Member]Leaving, len(rec.Leaving))
	for _, lv := range rec.Leaving {
		out[Member{lv.Service.Key(), lv.Destination.Key()}] = lv
	}
	moved := make(map[MovedKey]MovedVIP, len(rec.Moved))
	for _, mv := range rec.Moved {
		moved[mv.Key()] = mv
	}
	return out, moved, nil
}

// saveLeaving replaces the record of the real servers leaving the file
// and the moved VIPs with ls and mv, atomically (see state.Store.Write),
// sorted.
func saveLeaving(stateDir string, ls map[Member]Leaving, mv map[MovedKey]MovedVIP) error {
	rec := leavingRecord{Version: leavingVersion, Leaving: make([]Leaving, 0, len(ls))}
	for _, m := range slices.SortedFunc(maps.Keys(ls), compareMembers) {
		rec.Leaving = append(rec.Leaving, ls[m])
	}
	for _, k := range slices.SortedFunc(maps.Keys(mv), compareMoved) {
		rec.Moved = append(rec.Moved, mv[k])
	}
	if err := (state.Store{Dir: stateDir}).Save(leavingRole, rec); err != nil {
		return fmt.Errorf("reconcile: keep the real servers leaving the file: %w", err)
	}
	return nil
}
