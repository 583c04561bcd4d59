package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by Lock when another lvs-rs command held the lock
// for the whole wait.
var ErrLocked = errors.New("another lvs-rs command is running")

// Lock takes the host-wide lvs-rs lock in the store's directory, waiting at
// most wait. The returned function releases it.
func (s Store) Lock(wait time.Duration) (func(), error) {
	if err := s.ensure(); err != nil {
		return nil, err
	}
	p := filepath.Join(s.Dir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: open lock %s: %w", p, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("state: lock %s: %w", p, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("state: lock %s: waited %s: %w", p, wait, ErrLocked)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
