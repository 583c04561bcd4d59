package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultDir is the state directory when neither --state-dir nor
// LVS_RS_STATE_DIR names one.
const DefaultDir = "/run/lvs-rs"

// Dir returns the state directory chosen by flag, then by the
// LVS_RS_STATE_DIR environment variable, then DefaultDir.
func Dir(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("LVS_RS_STATE_DIR"); env != "" {
		return env
	}
	return DefaultDir
}

// Store reads and writes role records in one directory.
type Store struct {
	Dir string
}

func (s Store) path(role string) string { return filepath.Join(s.Dir, role+".json") }

// Path returns the file that holds the record of role.
func (s Store) Path(role string) string { return s.path(role) }

// Load decodes the record of role into v. It reports false, and no error,
// when there is no record. A record that is not valid JSON for v gives an
// error wrapping ErrCorrupt (see Corrupt); an unsafe directory one
// wrapping ErrUnsafeDir.
func (s Store) Load(role string, v any) (bool, error) {
	b, ok, err := s.Read(role)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, s.Corrupt(role, err)
	}
	return true, nil
}

// Read returns the bytes of the record of role, for callers that decode
// it themselves (or compare it with what they would write). It reports
// false, and no error, when there is no record; an unsafe directory is an
// error wrapping ErrUnsafeDir.
func (s Store) Read(role string) ([]byte, bool, error) {
	b, _, ok, err := s.ReadStamped(role)
	return b, ok, err
}

// Save writes v as the record of role, atomically and 0600, as compact
// JSON (one line).
func (s Store) Save(role string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state: encode %s record: %w", role, err)
	}
	return s.Write(role, b)
}

// Write replaces the record of role with the concatenation of parts (a
// JSON document, in pieces the caller need not copy into one), atomically
// and 0600: a temporary file, synced, renamed over the record, and the
// directory synced. The file ends in a newline.
func (s Store) Write(role string, parts ...[]byte) error {
	if err := s.ensure(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, role+".*.tmp")
	if err != nil {
		return fmt.Errorf("state: write %s: %w", s.path(role), err)
	}
	werr := writeAll(tmp, parts)
	serr := tmp.Sync()
	cerr := tmp.Close()
	err = errors.Join(werr, serr, cerr)
	if err == nil {
		err = os.Rename(tmp.Name(), s.path(role))
	}
	if err != nil {
		os.Remove(tmp.Name()) // renamed, there is nothing left to remove
		return fmt.Errorf("state: write %s: %w", s.path(role), err)
	}
	return s.syncDir()
}

// writeAll writes parts to f, then a newline.
func writeAll(f *os.File, parts [][]byte) error {
	for _, p := range parts {
		if _, err := f.Write(p); err != nil {
			return err
		}
	}
	_, err := f.Write([]byte{'\n'})
	return err
}

// syncDir makes a rename in the directory durable.
func (s Store) syncDir() error {
	d, err := os.Open(s.Dir)
	if err != nil {
		return fmt.Errorf("state: sync %s: %w", s.Dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("state: sync %s: %w", s.Dir, err)
	}
	return nil
}

// Remove deletes the record of role; a missing record is not an error.
func (s Store) Remove(role string) error {
	err := os.Remove(s.path(role))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: remove %s: %w", s.path(role), err)
	}
	return nil
}
