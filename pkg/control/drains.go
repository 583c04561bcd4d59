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
)

// DrainsFile is the file in the state directory that keeps the drains.
const DrainsFile = "drains.json"

// drainsVersion is the format version of DrainsFile.
const drainsVersion = 1

// Drain is one real server drained by hand: an address in one service.
type Drain struct {
	Service Service    `json:"service"`
	Address netip.Addr `json:"address"`
}

// drainsRecord is DrainsFile's content.
type drainsRecord struct {
	Version int     `json:"version"`
	Drains  []Drain `json:"drains"`
}

// LoadDrains reads the drains kept in stateDir, sorted and without
// duplicates; none (and no error) when the file does not exist. A file
// that cannot be read or is not valid is an error naming it, in one line.
func LoadDrains(stateDir string) ([]Drain, error) {
	p := filepath.Join(stateDir, DrainsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drains: read %s: %w", p, err)
	}
	ds, err := decodeDrains(b)
	if err != nil {
		return nil, fmt.Errorf("drains: %s: %w", p, err)
	}
	return ds, nil
}

func decodeDrains(b []byte) ([]Drain, error) {
	var rec drainsRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("not a drains record: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a drains record: data after the record")
	}
	if rec.Version != drainsVersion {
		return nil, fmt.Errorf("version %d, want %d", rec.Version, drainsVersion)
	}
	for i, d := range rec.Drains {
		if err := d.validate(); err != nil {
			return nil, fmt.Errorf("drains[%d]: %w", i, err)
		}
	}
	return normalize(rec.Drains), nil
}

func (d Drain) validate() error {
	switch {
	case d.Service.IsZero():
		return errors.New("no service")
	case !d.Address.IsValid():
		return errors.New("no address")
	case d.Address.Zone() != "":
		return fmt.Errorf("address %s has a zone", d.Address)
	}
	return nil
}

// SaveDrains replaces the drains kept in stateDir with ds, atomically
// (temporary file, fsync, rename, fsync of the directory) and mode 0600.
// It rejects a drain without service or address.
func SaveDrains(stateDir string, ds []Drain) error {
	for i, d := range ds {
		if err := d.validate(); err != nil {
			return fmt.Errorf("drains: save drain %d (%s %s): %w", i, d.Service, d.Address, err)
		}
	}
	b, err := json.MarshalIndent(drainsRecord{Version: drainsVersion, Drains: normalize(ds)}, "", "  ")
	if err != nil {
		return fmt.Errorf("drains: encode: %w", err)
	}
	return writeAtomic(filepath.Join(stateDir, DrainsFile), append(b, '\n'))
}

// normalize returns ds sorted, without duplicates, never nil.
func normalize(ds []Drain) []Drain {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b Drain) int {
		if c := a.Service.Compare(b.Service); c != 0 {
			return c
		}
		return a.Address.Compare(b.Address)
	})
	out = slices.Compact(out)
	if out == nil {
		out = []Drain{}
	}
	return out
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
