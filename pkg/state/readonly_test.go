package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadersCreateNothing: TryShared and LockIfPresent on a missing
// directory create neither it (nor its parents) nor a lock file, and
// report the lock free; on an existing directory they lock as before, so
// a dry run still waits for a start and status still sees one.
func TestReadersCreateNothing(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "run")
	s := Store{Dir: filepath.Join(parent, "lvs-rs")}
	unlock, held, err := s.TryShared()
	if err != nil || !held {
		t.Fatalf("TryShared on a missing directory = %v, %v; want held, no error", held, err)
	}
	unlock()
	unlock, err = s.LockIfPresent(time.Second)
	if err != nil {
		t.Fatalf("LockIfPresent on a missing directory: %v", err)
	}
	unlock()
	if _, err := os.Lstat(parent); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after TryShared and LockIfPresent %s: %v; want it still missing", parent, err)
	}

	// An existing directory: a start holds the lock.
	release, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, held, err := s.TryShared(); err != nil || held {
		t.Errorf("TryShared under a start = %v, %v; want not held", held, err)
	}
	if _, err := s.LockIfPresent(100 * time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("LockIfPresent under a start = %v, want ErrLocked after the wait", err)
	}
	release()
	unlock, err = s.LockIfPresent(time.Second)
	if err != nil {
		t.Fatalf("LockIfPresent once the start is done: %v", err)
	}
	if _, err := s.Lock(100 * time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("Lock while a dry run holds the lock = %v, want ErrLocked", err)
	}
	unlock()
}
