package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// DrainsFile is the file in the state directory that keeps the drains.
const DrainsFile = "drains.json"

// Format versions of DrainsFile: drainsVersion, every drain naming its
// service; everyVersion, written only when a drain covers every service
// or is an exception to one (see Drain), so that an lvs-rs that reads
// only version 1, where each drain names its service, refuses the file
// instead of misreading it; sinceVersion, written when a drain carries
// the time it was made ("since", which drain_timeout counts from), so
// that an lvs-rs that would ignore it, and start every drain's timeout
// over, refuses the file instead.
const (
	drainsVersion = 1
	everyVersion  = 2
	sinceVersion  = 3
)

// Drain is one drain by hand. With Service set, the address is drained
// in that service (`lvs-rs drain ADDRESS --service S`). With Service
// zero, it is drained in every service that has it, including services
// that a later reload adds or re-keys (`lvs-rs drain ADDRESS`). With
// Enabled, it is an exception to such a drain of every service: the
// address is in rotation in Service (`lvs-rs enable ADDRESS --service S`
// while ADDRESS is drained in every service). Use DrainSet to tell
// whether a real server is drained.
type Drain struct {
	Service Service    `json:"service,omitzero"`
	Address netip.Addr `json:"address"`
	Enabled bool       `json:"enabled,omitempty"`
}

// Every reports whether d drains its address in every service.
func (d Drain) Every() bool { return d.Service.IsZero() && !d.Enabled }

// DrainSet indexes a set of drains (see Drain) for lookups.
type DrainSet map[Drain]bool

// NewDrainSet indexes ds.
func NewDrainSet(ds []Drain) DrainSet {
	s := make(DrainSet, len(ds))
	for _, d := range ds {
		s[d] = true
	}
	return s
}

// Drains returns the drain that takes the real server addr of svc out of
// rotation, and whether there is one: the drain of addr in every service
// unless an exception enables addr in svc, else the drain of addr in svc.
func (s DrainSet) Drains(svc Service, addr netip.Addr) (Drain, bool) {
	if every := (Drain{Address: addr}); s[every] {
		return every, !s[Drain{Service: svc, Address: addr, Enabled: true}]
	}
	d := Drain{Service: svc, Address: addr}
	return d, s[d]
}

// drainsRecord is DrainsFile's content.
type drainsRecord struct {
	Version int          `json:"version"`
	Drains  []drainEntry `json:"drains"`
	// Targets (version 3) are the times of real servers of one service
	// drained at another time than the drain that covers them now: a
	// server drained with --service before its address was drained in
	// every service, or drained again after an exception ended.
	Targets []drainEntry `json:"targets,omitempty"`
}

// drainEntry is one drain of DrainsFile, with when it was made (zero:
// not known, in a file of version 1 or 2).
type drainEntry struct {
	Drain
	Since time.Time `json:"since,omitzero"`
}

// LoadDrains reads the drains kept in stateDir, sorted and without
// duplicates; none (and no error) when the file does not exist. A file
// that cannot be read or is not valid is an error naming it, in one line.
func LoadDrains(stateDir string) ([]Drain, error) {
	ds, _, err := LoadDrainsSince(stateDir)
	return ds, err
}

// LoadDrainsSince is LoadDrains with when each drain was made, for those
// the file says (a file of version 3; of a drain listed twice, the
// earlier time).
func LoadDrainsSince(stateDir string) ([]Drain, map[Drain]time.Time, error) {
	p := filepath.Join(stateDir, DrainsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("drains: read %s: %w", p, err)
	}
	ds, since, err := decodeDrains(b)
	if err != nil {
		return nil, nil, fmt.Errorf("drains: %s: %w", p, err)
	}
	return ds, since, nil
}

func decodeDrains(b []byte) ([]Drain, map[Drain]time.Time, error) {
	var rec drainsRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, nil, fmt.Errorf("not a drains record: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("not a drains record: data after the record")
	}
	if rec.Version != drainsVersion && rec.Version != everyVersion && rec.Version != sinceVersion {
		return nil, nil, fmt.Errorf("version %d, want %d, %d or %d", rec.Version, drainsVersion, everyVersion, sinceVersion)
	}
	ds := make([]Drain, len(rec.Drains))
	since := map[Drain]time.Time{}
	for i, e := range rec.Drains {
		if err := e.validate(rec.Version); err != nil {
			return nil, nil, fmt.Errorf("drains[%d]: %w", i, err)
		}
		if !e.Since.IsZero() && rec.Version < sinceVersion {
			return nil, nil, fmt.Errorf("drains[%d]: since in a record of version %d", i, rec.Version)
		}
		ds[i] = e.Drain
		if at, ok := since[e.Drain]; !e.Since.IsZero() && (!ok || e.Since.Before(at)) {
			since[e.Drain] = e.Since
		}
	}
	if len(rec.Targets) > 0 && rec.Version < sinceVersion {
		return nil, nil, fmt.Errorf("targets in a record of version %d", rec.Version)
	}
	for i, e := range rec.Targets {
		if err := e.validate(rec.Version); err != nil || e.Service.IsZero() || e.Enabled || e.Since.IsZero() {
			return nil, nil, fmt.Errorf("targets[%d]: not one real server of one service with its time", i)
		}
		if _, ok := since[e.Drain]; !ok {
			since[e.Drain] = e.Since
		}
	}
	return normalize(ds), since, nil
}

// validate checks a drain of a record of format version v.
func (d Drain) validate(v int) error {
	switch {
	case d.Service.IsZero() && v == drainsVersion:
		return errors.New("no service")
	case d.Service.IsZero() && d.Enabled:
		return errors.New("enabled without a service")
	case !d.Address.IsValid():
		return errors.New("no address")
	case d.Address.Zone() != "":
		return fmt.Errorf("address %s has a zone", d.Address)
	}
	return nil
}

// versionOf is the format version of a record of ds.
func versionOf(ds []Drain) int {
	for _, d := range ds {
		if d.Service.IsZero() || d.Enabled {
			return everyVersion
		}
	}
	return drainsVersion
}

// SaveDrains replaces the drains kept in stateDir with ds, atomically
// (temporary file, fsync, rename, fsync of the directory) and mode 0600.
// It rejects a drain without address, and an exception (Enabled) without
// service. The file is format version 1 unless a drain covers every
// service or is an exception to one (version 2).
func SaveDrains(stateDir string, ds []Drain) error {
	return SaveDrainsSince(stateDir, ds, nil)
}

// SaveDrainsSince is SaveDrains keeping with each drain the time since
// says it was made (none for a drain since does not name), so that
// drain_timeout counts from it across restarts (LoadDrainsSince). A key
// of since that is no drain of ds but one real server of one service
// (Service set, not Enabled) is kept too, as that server's own time
// (LoadDrainsSince returns it under the same key). A file with a time is
// format version 3.
func SaveDrainsSince(stateDir string, ds []Drain, since map[Drain]time.Time) error {
	for i, d := range ds {
		if err := d.validate(everyVersion); err != nil {
			return fmt.Errorf("drains: save drain %d (%s %s): %w", i, d.Service, d.Address, err)
		}
	}
	ds = normalize(ds)
	rec := drainsRecord{Version: versionOf(ds), Drains: make([]drainEntry, len(ds))}
	listed := map[Drain]bool{}
	for i, d := range ds {
		listed[d] = true
		rec.Drains[i] = drainEntry{Drain: d, Since: since[d].UTC().Round(0)}
		if !since[d].IsZero() {
			rec.Version = sinceVersion
		}
	}
	for d, at := range since {
		if listed[d] || at.IsZero() || d.Service.IsZero() || d.Enabled || d.validate(everyVersion) != nil {
			continue
		}
		rec.Targets = append(rec.Targets, drainEntry{Drain: d, Since: at.UTC().Round(0)})
		rec.Version = sinceVersion
	}
	slices.SortFunc(rec.Targets, func(a, b drainEntry) int { return compareDrains(a.Drain, b.Drain) })
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("drains: encode: %w", err)
	}
	return writeAtomic(filepath.Join(stateDir, DrainsFile), append(b, '\n'))
}

// normalize returns ds sorted, without duplicates and without drains
// that say nothing, never nil: a drain of an address in one service is
// left out when the address is drained in every service, and an
// exception when it is not.
func normalize(ds []Drain) []Drain {
	every := map[netip.Addr]bool{}
	for _, d := range ds {
		if d.Every() {
			every[d.Address] = true
		}
	}
	out := slices.DeleteFunc(slices.Clone(ds), func(d Drain) bool {
		return !d.Every() && every[d.Address] != d.Enabled
	})
	slices.SortFunc(out, compareDrains)
	out = slices.Compact(out)
	if out == nil {
		out = []Drain{}
	}
	return out
}

// compareDrains orders drains by service (every service first), address,
// then exceptions last.
func compareDrains(a, b Drain) int {
	if c := a.Service.Compare(b.Service); c != 0 {
		return c
	}
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	switch {
	case a.Enabled == b.Enabled:
		return 0
	case b.Enabled:
		return -1
	}
	return 1
}

// writeAtomic writes b to path through a temporary file in the same
// directory, so a crash leaves the old or the new content, never a mix.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("drains: create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("drains: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("drains: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("drains: write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("drains: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("drains: sync %s: %w", dir, err)
	}
	return nil
}
