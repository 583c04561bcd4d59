package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by Lock when another lvs-rs command held the lock
// for the whole wait.
var ErrLocked = errors.New("another lvs-rs command is running")

// Lock takes the host-wide lvs-rs lock in the store's directory
// exclusively, waiting at most wait: the commands that change the host
// (start, stop) hold it. The returned function releases it. It is
// LockContext without a context.
func (s Store) Lock(wait time.Duration) (func(), error) {
	return s.LockContext(context.Background(), wait)
}

// LockContext is Lock that also stops waiting when ctx ends, returning
// ctx's error (wrapped): a daemon told to stop while another command
// holds the lock stops at once instead of after the whole wait.
func (s Store) LockContext(ctx context.Context, wait time.Duration) (func(), error) {
	f, err := s.openLock()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		held, err := tryFlock(f, unix.LOCK_EX)
		if err != nil {
			return nil, err
		}
		if held {
			return func() { f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("state: lock %s: waited %s: %w", f.Name(), wait, ErrLocked)
		}
		t.Reset(lockPoll)
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("state: lock %s: %w", f.Name(), context.Cause(ctx))
		case <-t.C:
		}
	}
}

// LockIfPresent is Lock for a command that changes nothing (a dry run):
// when the directory does not exist it creates neither it nor the lock
// file and returns a no-op unlock, since no command holds the lock (one
// that changes the host creates the directory first) and there is no
// record to read. An existing directory is locked as Lock does.
func (s Store) LockIfPresent(wait time.Duration) (func(), error) {
	if missing, err := s.missing(); err != nil || missing {
		return func() {}, err
	}
	return s.Lock(wait)
}

// lockPoll is how often a wait for the lock tries it again.
const lockPoll = 50 * time.Millisecond

// TryShared takes the lock shared, without waiting: readers (status) hold
// it so that no start or stop begins while they read, and never wait
// behind one. held is false, and unlock a no-op, when a start or stop
// holds the lock now; the caller then reads without it (records are
// replaced atomically, so what it reads is whole, if about to change).
// A reader changes nothing: when the directory does not exist, TryShared
// creates neither it nor the lock file, and returns held true (no command
// holds the lock) and a no-op unlock.
func (s Store) TryShared() (unlock func(), held bool, err error) {
	if missing, err := s.missing(); err != nil || missing {
		return func() {}, err == nil, err
	}
	f, err := s.openLock()
	if err != nil {
		return nil, false, err
	}
	held, err = tryFlock(f, unix.LOCK_SH)
	if err != nil {
		return nil, false, err
	}
	if !held {
		f.Close()
		return func() {}, false, nil
	}
	return func() { f.Close() }, true, nil
}

// missing reports whether the directory does not exist (a symbolic link
// to nowhere exists: ensure refuses it).
func (s Store) missing() (bool, error) {
	_, err := os.Lstat(s.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("state: %s: %w", s.Dir, err)
	}
	return false, nil
}

// openLock creates the directory when missing, checks it, and opens the
// lock file (never through a symbolic link).
func (s Store) openLock() (*os.File, error) {
	if err := s.ensure(); err != nil {
		return nil, err
	}
	p := filepath.Join(s.Dir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: open lock %s: %w", p, err)
	}
	return f, nil
}

// tryFlock takes how (LOCK_EX or LOCK_SH) on f without blocking. It
// reports false when another holder conflicts; on error f is closed.
func tryFlock(f *os.File, how int) (bool, error) {
	err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil
	}
	f.Close()
	return false, fmt.Errorf("state: lock %s: %w", f.Name(), err)
}
