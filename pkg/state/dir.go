package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUnsafeDir is wrapped by the error about a state directory that
// lvs-rs refuses to use: not a directory, writable by group or others, or
// owned by someone other than root or the caller.
var ErrUnsafeDir = errors.New("unsafe state directory")

// ensure creates the directory 0700 when it is missing, and checks an
// existing one without changing it (see check).
func (s Store) ensure() error {
	err := os.Mkdir(s.Dir, 0o700)
	if errors.Is(err, fs.ErrNotExist) {
		// The parents are missing: create them with the usual 0755.
		if err := os.MkdirAll(filepath.Dir(s.Dir), 0o755); err != nil {
			return fmt.Errorf("state: create %s: %w", s.Dir, err)
		}
		err = os.Mkdir(s.Dir, 0o700)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("state: create %s: %w", s.Dir, err)
	}
	return s.check()
}

// check refuses a state directory that someone else could change under
// lvs-rs: one writable by group or others (even with the sticky bit, as
// /tmp), or owned by neither root nor the calling user. It never changes
// the directory: --state-dir may name one shared with other programs.
func (s Store) check() error {
	fi, err := os.Stat(s.Dir)
	if err != nil {
		return fmt.Errorf("state: %s: %w", s.Dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state: %s is not a directory: %w", s.Dir, ErrUnsafeDir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("state: %s is writable by group or others (mode %04o); name a directory only its owner can write with --state-dir or LVS_RS_STATE_DIR: %w",
			s.Dir, modeBits(fi.Mode()), ErrUnsafeDir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("state: %s is owned by uid %d, neither root nor this user; name another directory with --state-dir or LVS_RS_STATE_DIR: %w",
			s.Dir, st.Uid, ErrUnsafeDir)
	}
	return nil
}

// modeBits renders a mode as chmod's octal, with setuid, setgid and sticky.
func modeBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}
