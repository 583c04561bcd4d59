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
// it, so the version stays 1.
type leavingRecord struct {
	Version int       `json:"version"`
	Leaving []Leaving `json:"leaving"`
}

// loadLeaving reads the real servers leaving the file kept in stateDir;
// none (and no error) when there is no record. A damaged record is an
// error naming the file, wrapping state.ErrCorrupt.
func loadLeaving(stateDir string) (map[Member]Leaving, error) {
	s := state.Store{Dir: stateDir}
	var rec leavingRecord
	found, err := s.Load(leavingRole, &rec)
	if err == nil && found && rec.Version != leavingVersion {
		err = s.Corrupt(leavingRole, fmt.Errorf("version %d, want %d", rec.Version, leavingVersion))
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	out := make(map[Member]Leaving, len(rec.Leaving))
	for _, lv := range rec.Leaving {
		out[Member{lv.Service.Key(), lv.Destination.Key()}] = lv
	}
	return out, nil
}

// saveLeaving replaces the record of the real servers leaving the file
// with ls, atomically (see state.Store.Write), sorted.
func saveLeaving(stateDir string, ls map[Member]Leaving) error {
	rec := leavingRecord{Version: leavingVersion, Leaving: make([]Leaving, 0, len(ls))}
	for _, m := range slices.SortedFunc(maps.Keys(ls), compareMembers) {
		rec.Leaving = append(rec.Leaving, ls[m])
	}
	if err := (state.Store{Dir: stateDir}).Save(leavingRole, rec); err != nil {
		return fmt.Errorf("reconcile: keep the real servers leaving the file: %w", err)
	}
	return nil
}
